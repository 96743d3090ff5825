"""R2PVI claims (rlsandbox/proofs_check/r2pvi.py): each holds on its quick instances and its
negative control is caught; the adversarial instances behave as their docstrings derive."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rlsandbox.algorithms.r2pvi.bounds import beta_empirical, event_holds
from rlsandbox.algorithms.r2pvi.robust_dp import robust_dp, robust_evaluate
from rlsandbox.proofs_check import REGISTRY, run_claim
from rlsandbox.proofs_check import r2pvi as claims

IDS = [c.id for c in claims.CLAIMS]


def test_every_claim_is_registered_with_the_card_provenance():
    for c in claims.CLAIMS:
        assert REGISTRY[c.id] is c and c.paper == "r2pvi"
    prov = {c.id: c.provenance for c in claims.CLAIMS}
    assert prov["r2pvi.c6.suboptimality_bound"] == "unverified"      # card: constants unverified
    assert prov["r2pvi.c5.pessimism"] == prov["r2pvi.c5.suboptimality"] == "derived"
    assert prov["r2pvi.c2.worst_case_attains"] == prov["r2pvi.c2.linear_q"] == "paper"
    # card C5 "[derived]": its controls (2) and (3) are registered on these two claims
    assert prov["r2pvi.c5.event_at_beta_emp"] == prov["r2pvi.c5.pessimism_tv_threshold"] \
        == "derived"
    # card §4: C8 "[paper form; constants and construction unverified]", C9 "[paper]",
    # C10 "[math]", C12 "[reproduced]" (a soft trend of the paper's experiment)
    assert prov["r2pvi.c8.lower_bound_two_point"] == "unverified"
    assert prov["r2pvi.c9.closed_form_cost"] == prov["r2pvi.c12.robustness_trend"] == "paper"
    assert prov["r2pvi.c10.kl_chi2_large_lam_nonrobust"] == "derived"
    # every card id C1-C12 has at least one registered claim
    assert {c.id.split(".")[1] for c in claims.CLAIMS} == {f"c{k}" for k in range(1, 13)}


@pytest.mark.parametrize("cid", IDS)
def test_claim_holds_and_control_is_caught(cid):
    res = run_claim(cid, quick=True, seed=0)
    assert res.holds, f"{cid} violated: {res.verdict}"
    assert res.caught, f"{cid}: negative control not caught: {res.control}"


def test_lucky_data_breaks_pessimism_without_bonus():
    """lucky_data (docstring derivation): beta = 0 gives V_hat_0(s0) = 100/101 and
    V^{pi_hat}(s0) = 0.5 (TV, lam = 1: the nominal value of the risky action)."""
    p = claims.lucky_data(divergence="tv", lam=1.0)
    sol = p.run(p.data, 0.0)
    assert sol.policy[0, 0] == 0                                     # the lucky, risky action
    assert sol.V[0, 0] == pytest.approx(100 / 101, abs=1e-12)
    ev = robust_evaluate(p.lin, sol.policy, lam=1.0, divergence="tv")
    assert ev.V[0, 0] == pytest.approx(0.5, abs=1e-12)
    assert not event_holds(p.lin, sol)[0]
    # beta_emp ~ 0.49 sqrt(101): the risky coordinate's error 100/101 - 1/2 over sqrt(1/101)
    assert beta_empirical(p.lin, sol) == pytest.approx((100 / 101 - 0.5) * math.sqrt(101),
                                                       rel=1e-12)


def test_hidden_state_gap_and_bounds():
    """hidden_state (docstring): V*_0(s0) = 1; with beta = 1 the unseen states get V_hat_1 = 0,
    so V_hat_0(s0) = max(0, (100/101) lam - 1/sqrt(101)) = 0 and the gap is 1; the TV-ball bound
    2 (1 + 2/sqrt(101))... holds while the nominal-kernel bound 2 * 2/sqrt(101) = 0.398 does not."""
    p = claims.hidden_state()
    assert robust_dp(p.lin, lam=p.lam, divergence="tv").V[0, 0] == pytest.approx(1.0)
    cells = {c["beta"]: c for c in claims._c5_cells(p, np.random.default_rng(0))}
    c = cells[1.0]
    assert c["E"] and c["gap"] == pytest.approx(1.0, abs=1e-12)
    assert c["bound_nominal"] == pytest.approx(2 * 2 / math.sqrt(101), rel=1e-12)
    assert c["bound"] >= c["gap"] > c["bound_nominal"]


def test_theory_beta_values():
    """Card §3.7 formulas (constants [unverified]) at xi = 1."""
    assert claims.theory_beta("tv", d=4, H=3, K=100, lam=0.3, xi=1.0) == 16 * 3 * 4
    kl = claims.theory_beta("kl", d=4, H=3, K=100, lam=0.3, xi=1.0)
    assert kl == pytest.approx(16 * 4 * 0.3 * math.exp(10.0) * math.sqrt(10.0 + 1.0))
    assert claims.theory_beta("chi2", d=4, H=3, K=100, lam=0.5, xi=1.0) == 8 * 4 * 9 * 3


def test_le_cam_tv_and_gaps():
    """C8's ingredients: the binomial TV bound equals the direct sum over (n, x) for small K
    (scipy.stats.binom), and the two instances have opposite optimal actions at s0."""
    from scipy.stats import binom

    K, p1, p2 = 40, 0.66, 0.58
    direct = sum(binom.pmf(n, K, 0.5) * 0.5 * np.abs(binom.pmf(np.arange(n + 1), n, p1)
                                                      - binom.pmf(np.arange(n + 1), n, p2)).sum()
                 for n in range(K + 1))
    assert claims._binomial_tv(K, p1, p2) == pytest.approx(direct, abs=1e-12)
    p_mid = 1.0 / (1.0 + math.exp(-0.5))
    acts = [robust_dp(claims.le_cam_pair(p), lam=1.0, divergence="kl").policy[0, 0]
            for p in (p_mid + 0.01, p_mid - 0.01)]
    assert acts == [0, 1]
