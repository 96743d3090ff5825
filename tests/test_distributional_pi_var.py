"""Distributional policy iteration (card §3 A6, §4 C11), the constraint-satisfaction
objective, and the infinite-horizon VaR search (card §3 A4): hand-computed cases on the
card's instances, exact properties on RG-sized models (card §4, drawn by
rlsandbox.testing.outcome_mdps), and the card's control for C11."""
from __future__ import annotations

from fractions import Fraction as Fr

import pytest
from hypothesis import given, settings

from rlsandbox.algorithms.distributional import (augmented_states,
                                                 best_over_history_policies,
                                                 constraint_satisfaction, cvar, cvar_utility,
                                                 distributional_policy_iteration,
                                                 history_optimum_eu, lattice_var_search,
                                                 stock_dp, threshold)
from rlsandbox.algorithms.distributional.objectives import COMPATIBLE_EU
from rlsandbox.mdps.distributional import instance_a, instance_c
from rlsandbox.testing import initial_stocks, outcome_mdps


def test_augmented_states_instance_a():
    """Instance A (card §4): (0, s0, c0), then s1 with c0 + R0 for R0 in {0, 2} (gamma = 1)."""
    got = augmented_states(instance_a(), Fr(-2))
    assert got == [(0, 0, Fr(-2)), (1, 1, Fr(-2)), (1, 1, Fr(0))]


def test_pi_hand_computed_instance_a():
    """f = min(x, 0), c0 = -2 on Instance A. pi_0 = safe: law(c0 + G) = {-2, 0} w.p. 1/2,
    J_0 = -1. Improvement at (1, s1, -2): risky gives 1/2 min(-5/2, 0) + 1/2 min(1, 0) = -5/4
    > -2 (safe); at (1, s1, 0) safe (0) beats risky (-1/4). J_1 = (-5/4 + 0)/2 = -5/8 = J*
    (card C6: J*(-2) = -5/8), one improvement, and J_1 >= J_0 everywhere."""
    res = distributional_policy_iteration(instance_a(), cvar_utility(), Fr(-2))
    x0, lo, hi = (0, 0, Fr(-2)), (1, 1, Fr(-2)), (1, 1, Fr(0))
    assert res.values[0][x0] == -1 and res.values[0][lo] == -2 and res.values[0][hi] == 0
    assert res.policies[1][lo] == 1 and res.policies[1][hi] == 0
    assert res.value == Fr(-5, 8) and res.improvements == 1 and res.min_improvement() == 0
    # law(c0 + G): R0 = 0 then risky -> -5/2 or 1; R0 = 2 then safe -> 0
    assert res.law.pairs() == [(Fr(-5, 2), Fr(1, 4)), (Fr(0), Fr(1, 2)), (Fr(1), Fr(1, 4))]


def test_pi_control_cvar_stops_suboptimal():
    """Card C11 control on Instance A: greedy PI with F = CVaR_1/2 itself keeps "safe" (CVaR
    is translation-equivariant: risky scores c - 1/2 < c) and stops at CVaR 0, while the
    optimum over history policies is 3/4 (card C3/C4)."""
    F = cvar(Fr(1, 2))
    res = distributional_policy_iteration(instance_a(), F, 0)
    assert res.value == 0 and res.improvements == 0
    assert best_over_history_policies(instance_a(), F)[0] == Fr(3, 4)


@given(outcome_mdps(S=2, A=2, H=2), initial_stocks())
@settings(max_examples=25, deadline=None)
def test_pi_reaches_the_history_optimum(m, c0):
    """Card C11 on RG-sized models (H = 2, gamma in {1, 1/2, 9/10}): for every P1 + P2
    utility, PI is monotone and stops at the history-policy optimum (A3) = A2; exact."""
    for F in COMPATIBLE_EU():
        res = distributional_policy_iteration(m, F, c0)
        assert res.min_improvement() >= 0
        assert res.value == history_optimum_eu(m, F, c0) == stock_dp(m, F, c0).value


def test_pi_input_errors():
    with pytest.raises(ValueError, match="not an available action"):
        distributional_policy_iteration(instance_a(), threshold(), 0, pi0=lambda t, s, c: 1)
    with pytest.raises(ValueError, match="H=None"):
        distributional_policy_iteration(instance_c(), threshold(), 0)
    with pytest.raises(TypeError, match="Objective"):
        distributional_policy_iteration(instance_a(), lambda d: d.mean(), 0)


@pytest.mark.parametrize("lam, expected", [(1, Fr(17, 8)), (10, Fr(13, 8))])
def test_constraint_satisfaction_hand_computed(lam, expected):
    """Instance A, theta = 0 (c0 = 0), f(x) = x + lam min(x, 0). After R0 = 0: safe 0, risky
    3/2 - (1 + lam)/4 (risky iff lam < 5); after R0 = 2: safe 2, risky 13/4. So J* =
    (1/2 + 13/4)/2 = 17/8 at lam = 1 and (0 + 13/4)/2 = 13/8 at lam = 10."""
    F = constraint_satisfaction(lam)
    res = stock_dp(instance_a(), F, 0)
    assert res.value == expected == history_optimum_eu(instance_a(), F, 0)
    law = res.return_law()                  # law(G): E[G] - lam E[(0 - G)^+]
    assert law.mean() - lam * law.expect(lambda g: max(-g, 0 * g)) == expected


@given(outcome_mdps(S=2, A=2, H=2), initial_stocks())
@settings(max_examples=25, deadline=None)
def test_constraint_satisfaction_is_dp_optimisable(m, c0):
    """P1 + P2 (degree 1): A2 = A3 on RG at every gamma (card C2); and the shortfall
    E[(theta - G)^+] of the A2 policy does not increase with the penalty (Lagrangian
    monotonicity: lam1 < lam2 optimal policies satisfy S(lam2) <= S(lam1))."""
    shortfalls = []
    for lam in (0, 1, 10):
        F = constraint_satisfaction(lam)
        res = stock_dp(m, F, c0)
        assert res.value == history_optimum_eu(m, F, c0)
        zeta = res.return_law().shift(c0)                       # law(c0 + G)
        shortfalls.append(zeta.expect(lambda x: max(-x, 0 * x)))
    assert shortfalls[0] >= shortfalls[1] >= shortfalls[2]


def test_constraint_satisfaction_rejects_negative_penalty():
    with pytest.raises(ValueError, match="lam"):
        constraint_satisfaction(-1)


def test_lattice_var_search_instance_c():
    """Instance C, tau = 1/2: card C12 gives P*(G >= 1) = 0.6 > 1/2 and P*(G >= 5/4) = 0.36,
    so sup VaR_1/2 is in [1, 5/4); the bracket halves n_bisect times from width 8 (the power
    of 2 above G_hi - G_lo = 4). The policy run from -lo attains VaR >= lo up to the
    truncation 2^(1 - depth) of its return law."""
    n = 8
    res = lattice_var_search(instance_c(), Fr(1, 2), n_bisect=n)
    assert 1 <= res.lo < res.hi <= Fr(5, 4) and res.hi - res.lo == Fr(8, 2 ** n)
    assert res.p_lo > Fr(1, 2) >= res.p_hi
    depth = 14
    law, _ = res.lattice.policy_law(res.policy, -res.lo, depth=depth)
    assert law.quantile(Fr(1, 2)) >= res.lo - Fr(2, 2 ** depth)


def test_lattice_var_search_tau_one_is_the_best_case():
    """tau = 1: VaR_1 = max of the support; P*(G >= theta) > 0 for every theta < G_hi = 2
    (win often enough) and = 0 at 2 (card C10: G <= 2), so the bracket closes on 2."""
    res = lattice_var_search(instance_c(), 1, n_bisect=6)
    assert res.hi == 2 and res.lo == 2 - Fr(8, 2 ** 6) and res.p_hi == 0 < res.p_lo


def test_lattice_var_search_errors():
    with pytest.raises(ValueError, match="finite horizons"):
        lattice_var_search(instance_a(), Fr(1, 2))
    with pytest.raises(ValueError, match="tau"):
        lattice_var_search(instance_c(), 0)


@pytest.mark.parametrize("name", ["min", "abs", "indicator"])
def test_distributional_vi_iterates_match_scalar_vi(name):
    """Card §3 A5: "For EU, F(zeta_k) equals the scalar V_k" -- exact on Instance C's lattice
    for min(x, 0), -|x| and the indicator, k = 0..6; zeta_0 = delta_c."""
    from rlsandbox.algorithms.distributional import build_lattice, target_abs
    F = {"min": cvar_utility(), "abs": target_abs(), "indicator": threshold()}[name]
    lat = build_lattice(instance_c(), F, [Fr(k, 4) for k in range(-8, 9)])
    zetas, Vs = lat.distributional_iterates(6), lat.value_iteration(6)
    assert all(zetas[0][x].pairs() == [(x[1], 1)] for x in lat.states)
    for zeta, V in zip(zetas, Vs):
        assert [F(zeta[x]) for x in lat.states] == V


def test_quantile_projected_vi_within_the_c8_bound():
    """Card C8 (iii) with the quantile projection: every step errs by <= L (G_hi - G_lo)/(2m)
    (card B4), so sup |F(zeta^_k) - J*| <= gamma^k L Gbar + that / (1 - gamma); exact,
    Instance C (L = 1, Gbar = 2, G_hi - G_lo = 4), m = 2, 8."""
    from rlsandbox.algorithms.distributional import build_lattice
    F = cvar_utility()
    lat = build_lattice(instance_c(), F, [Fr(k, 4) for k in range(-8, 9)])
    J, _ = lat.solve()
    for m in (2, 8):
        for k, zeta in enumerate(lat.distributional_iterates(8, m=m)):
            assert all(len(zeta[x]) <= m for x in lat.states)
            err = max(abs(F(zeta[x]) - J[x]) for x in lat.states)
            assert err <= Fr(1, 2) ** k * 2 + Fr(4, 2 * m) / (1 - Fr(1, 2))


def test_outside_law_attains_the_analytic_value():
    """Outside the band c + G has a sure sign (card C10): the point mass at c + V*_rn scores
    J* below it (Instance C: -3 + 0.4) and delta_c scores 0 above it."""
    from rlsandbox.algorithms.distributional import build_lattice
    lat = build_lattice(instance_c(), cvar_utility(), [Fr(0)])
    assert lat.outside_law(0, Fr(-3)).pairs() == [(Fr(-13, 5), 1)]
    assert lat.outside_law(0, Fr(5)).pairs() == [(Fr(5), 1)]
    with pytest.raises(ValueError, match="inside the band"):
        lat.outside_law(0, Fr(0))
