"""LOOP's linear classes (card §3.7-§3.9 (b), (c)), FOPO, UCRL2-VTR and the AGEC diagnostics:
closed forms, brute-force statistics and the exact regret identity on every new learner."""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.algorithms.loop import (LinearStats, agec_ratios, bellman_error, decompose,
                                       fopo, loop_model_hard, loop_model_rectangular,
                                       loop_model_relaxed, loop_value,
                                       loop_value_linear, mixture_beta, mixture_evi, ucrl2_vtr)
from rlsandbox.algorithms.loop.hypotheses import Hypothesis
from rlsandbox.algorithms.loop.linear import _regression_stats
from rlsandbox.mdps.linear import random_linear_mdp, random_linear_mixture
from rlsandbox.mdps.loop import hard_instance_values, hard_linear_mixture, riverswim_model

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def lin():
    return random_linear_mdp(3, 2, 2, rng=np.random.default_rng(3))


@pytest.mark.parametrize("d, delta_inst, gap", [(2, 0.1, 0.05), (3, 0.1, 0.05), (4, 0.2, 0.1)])
def test_mixture_evi_true_theta_gives_card_values(d, delta_inst, gap):
    # card §5.2: J* = (delta + gap) / (2 delta + gap), sp(V*) = 1 / (2 delta + gap); beta = 0 and
    # the true theta make the relaxed EVI plain relative value iteration on the true model,
    # stopped at sp(Tu - u) < 1e-11 (gain within 1e-11 / 2)
    mix = hard_linear_mixture(d, delta_inst, gap)
    out = mixture_evi(mix.R, mix.psi, mix.theta, np.zeros((d, d)), 0.0, eps=1e-11)
    ref = hard_instance_values(delta_inst, gap)
    assert out["converged"]
    assert out["gain"] == pytest.approx(ref["J"], abs=1e-11)
    assert np.ptp(out["u"]) == pytest.approx(ref["span"], abs=1e-9)


def test_value_targeted_loss_is_an_ellipsoid():
    # card §3.9 (c), §4 C6 (ii): L(theta) - min L = ||theta - theta_hat||^2_Lam, brute force
    rng = np.random.default_rng(0)
    mix = random_linear_mixture(3, 2, 3, rng=rng)
    S, A, d, lam = 3, 2, 3, 1.0
    V = [rng.normal(size=S) for _ in range(2)]
    X = [np.einsum("jsat,t->saj", mix.psi, v) for v in V]
    s, a, s2 = rng.integers(0, S, 40), rng.integers(0, A, 40), rng.integers(0, S, 40)
    epoch = np.repeat([0, 1], 20)
    C = [np.zeros((S, A))] * 2
    Lam, b = _regression_stats(X, V, C, epoch, s, a, s2, lam, d)
    xs = np.stack([X[k][s[i], a[i]] for i, k in enumerate(epoch)])
    ys = np.array([V[k][s2[i]] for i, k in enumerate(epoch)])

    def loss(th):
        return float(((xs @ th - ys) ** 2).sum() + lam * th @ th)
    th_hat = np.linalg.solve(Lam, b)
    for _ in range(5):
        th = rng.normal(size=d)
        lhs = loss(th) - loss(th_hat)
        rhs = float((th - th_hat) @ Lam @ (th - th_hat))
        # float64: both sides are sums of 40 + d squares of O(|loss|) terms
        assert lhs == pytest.approx(rhs, abs=200 * EPS * loss(th))


def test_hard_closed_form_first_plan():
    # no data: Lam = lam I, vartheta_hat = 0, so p+ = delta + sqrt(beta) alpha sqrt(d - 1) for
    # every action (tie: the first action) [card §3.9 (c)]
    d, delta, gap = 3, 0.1, 0.05
    tr = loop_model_hard(d, delta, gap, 50, rng=0, beta=0.01)
    alpha = np.sqrt(gap / ((d - 1) * (1 + gap)))
    p = min(1.0, delta + 0.1 * alpha * np.sqrt(d - 1))
    assert tr.J[0] == pytest.approx(p / (p + delta), abs=1e-14)
    assert tr.pi[0, 0] == 0
    assert tr.V[0, 1] == pytest.approx(1 / (p + delta), abs=1e-13)


@pytest.mark.parametrize("learner", ["hard", "hard_doubling", "relaxed", "vtr", "linear", "fopo",
                                     "rectangular"])
def test_regret_identity_holds_for_every_learner(learner, lin):
    # card §3.4: the decomposition is exact for any hypothesis sequence with a_t = pi_f(s_t)
    if learner.startswith("hard"):
        mdp = hard_linear_mixture(3, 0.1, 0.05).to_tabular(gamma=1.0)
        tr = loop_model_hard(3, 0.1, 0.05, 800, rng=1,
                             switching="doubling" if learner.endswith("doubling") else "lazy")
    elif learner in ("relaxed", "vtr"):
        mix = random_linear_mixture(3, 2, 2, rng=np.random.default_rng(2))
        mdp = mix.to_tabular(gamma=1.0)
        tr = (loop_model_relaxed if learner == "relaxed" else ucrl2_vtr)(mix, 600, rng=1)
    elif learner == "rectangular":
        mdp = riverswim_model(3)
        tr = loop_model_rectangular(mdp, 800, rng=1)
        assert tr.n_plans >= 2
    else:
        mdp = lin.to_tabular(gamma=1.0)
        tr = (loop_value_linear if learner == "linear" else fopo)(lin, 600, rng=1)
    dec = decompose(tr, mdp)
    assert abs(dec.regret - dec.loop_rhs) <= dec.tol_loop
    assert abs(dec.regret - dec.gap_rhs) <= dec.tol_gap


def _linear_excess(phi, tr, k, i, lam):
    st = LinearStats.from_data(phi, s=tr.s[:i], a=tr.a[:i], r=tr.r[:i], s_next=tr.s[1:i + 1])
    F = phi.reshape(-1, phi.shape[-1])
    w = np.linalg.lstsq(F, tr.Q[k].reshape(-1), rcond=None)[0]
    Lam = st.Lambda + lam * np.eye(F.shape[1])
    z = Lam @ w - (st.b_r - tr.J[k] * st.c + st.Nphi @ tr.V[k])
    return float(z @ np.linalg.solve(Lam, z))


def test_lazy_test_of_linear_loop_matches_bruteforce(lin):
    # each re-plan k >= 1 happens at the first step where the previous hypothesis' excess loss
    # (recomputed from scratch) exceeds c_sw beta [card §3.1]
    tr = loop_value_linear(lin, 3000, rng=4, c_beta=0.05)
    phi = np.asarray(lin.phi)
    thr = 4.0 * tr.beta
    assert tr.n_plans >= 2
    for k in range(1, tr.n_plans):
        i = int(tr.starts[k])
        assert _linear_excess(phi, tr, k - 1, i, 1.0) > thr * (1 - 1e-9)
        assert _linear_excess(phi, tr, k - 1, i - 1, 1.0) <= thr * (1 + 1e-9)


def test_fopo_replans_at_most_d_log_doubling(lin):
    # determinant doubling: det Lam_T <= (lam + T / d)^d for ||phi|| <= 1 (Dirichlet features),
    # so N(T) <= 1 + d log2(1 + T / (d lam)) [wei2021; card §4 C2]
    T, d = 3000, lin.d
    assert np.linalg.norm(lin.phi, axis=-1).max() <= 1.0
    tr = fopo(lin, T, rng=5)
    assert tr.n_plans <= 1 + d * np.log2(1 + T / d)


def test_mixture_beta_formula():
    # (span/2 sqrt(2 log(1/delta) + d log(1 + T x^2/(d lam))) + sqrt(lam) S)^2 [abbasi2011]
    got = mixture_beta(2, 100, 4.0, lam=2.0, delta=0.1, x_max=1.5, theta_norm=0.5)
    root = 2.0 * np.sqrt(2 * np.log(10) + 2 * np.log(1 + 100 * 2.25 / 4)) + np.sqrt(2) * 0.5
    assert got == pytest.approx(root ** 2, rel=1e-14)


def test_agec_ratios_match_bruteforce():
    mdp = riverswim_model(3)
    tr = loop_value(mdp, 120, rng=0)
    out = agec_ratios(tr, mdp)
    E = [bellman_error(Hypothesis(tr.Q[k], tr.J[k], tr.pi[k]), mdp) for k in range(tr.n_plans)]
    e, denom = [], 0.0
    for t in range(tr.T):
        Ek = E[tr.epoch[t]]
        e.append(Ek[tr.s[t], tr.a[t]])
        for i in range(t):                     # sum over the earlier samples, one by one
            denom += Ek[tr.s[i], tr.a[i]] ** 2
    tot = sum(e)
    burn = out["burn_in"]
    assert out["dominance_denominator"] == pytest.approx(denom, rel=1e-12)
    assert out["dominance"] == pytest.approx(max(tot - burn, 0) ** 2 / denom, rel=1e-10)
    assert out["transferability"] == pytest.approx(
        sum(x * x for x in e) / (tr.beta * np.log(tr.T)), rel=1e-12)


def test_bad_inputs():
    with pytest.raises(TypeError, match="stationary rlsandbox.LinearMDP"):
        loop_value_linear(riverswim_model(3), 10, rng=0)
    with pytest.raises(TypeError, match="LinearMixtureMDP"):
        ucrl2_vtr(riverswim_model(3), 10, rng=0)
    with pytest.raises(TypeError, match="fopo fixes switching"):
        fopo(random_linear_mdp(3, 2, 2, rng=0), 10, rng=0, switching="lazy")


def test_rectangular_relaxation_is_optimistic_on_riverswim():
    # card §3.9 (d)(ii): a superset of LOOP's set, so its gain is optimistic while f* is covered;
    # with the practical radius on RiverSwim-3 every plan has J >= J* (EVI accuracy: the gain is
    # the midpoint of [min, max](T u - u), within eps / 2 = 1 / (2 sqrt(t)) of the optimum)
    from rlsandbox.algorithms.loop import true_hypothesis
    mdp = riverswim_model(3)
    tr = loop_model_rectangular(mdp, 2000, rng=2)
    eps = 1.0 / np.sqrt(tr.starts + 1.0)
    assert np.all(tr.J >= true_hypothesis(mdp).J - eps / 2)


def test_olsvi_fh_blocks_and_first_plan(lin):
    # card §3.7: blocks of H steps; with no data every w_h = 0, so Q_h = min(bonus ||phi||/sqrt(lam),
    # H - h + 1) whatever V_{h+1} is, and the first block's J = V_1(s_1) / H is
    # max_a bonus ||phi(s_1, a)|| / H when that is below the first step's cap H
    from rlsandbox.algorithms.loop import olsvi_fh
    T, H = 256, 4
    tr = olsvi_fh(lin, T, rng=0, H=H)
    assert tr.n_plans == T // H and np.array_equal(tr.starts, np.arange(0, T, H))
    bonus = tr.info["bonus"]
    assert bonus == pytest.approx(0.1 * H * np.sqrt(lin.d * np.log(T)), rel=1e-15)
    widths = bonus * np.linalg.norm(lin.phi[tr.s[0]], axis=-1)
    assert widths.max() < H                             # the first step's cap is not active
    assert tr.J[0] == pytest.approx(widths.max() / H, rel=1e-12)
