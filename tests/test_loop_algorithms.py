"""LOOP package: hand-computed cases, reference values of the card, "reduces to" identities,
kernels against their pure-Python versions, and property tests over random MDPs.

Reference values cite the card (shared/papers/loop.md, section given in each test); tolerances
come from float64 round-off with the stated factor, a solver's accuracy, or a stopping rule.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.optimize
from hypothesis import example, given, settings, strategies as st

import rlsandbox as rls
from rlsandbox.algorithms.loop import (FiniteClass, Hypothesis, LinearStats, TabularStats, bellman_error, check_enumeration, decompose, episode_bound,
                                       evi_inner_max, excess_path, expected_regret_fixed_policy,
                                       extended_value_iteration, finite_beta, gap_regret,
                                       loop_finite, loop_value, optimal_gaps,
                                       plan_certainty_equivalent, plan_finite, plan_value_linear,
                                       plan_value_tabular, regret, tabular_excess,
                                       true_hypothesis, ucrl2, value_beta, value_beta_theory,
                                       ValuePlanner)
from rlsandbox.algorithms.loop import _kernels as K
from rlsandbox.dp.average import diameter, relative_value_iteration, solve_average
from rlsandbox.mdps.loop import (hard_instance_values, hard_linear_mixture, periodic_two_cycle,
                                 riverswim_class, riverswim_model)
from rlsandbox.testing import tabular_mdps

EPS = np.finfo(np.float64).eps
#: CLARABEL's default accuracy is ~1e-8 (relative gap / feasibility); we allow 1e-6 on J,
#: the card's optimism tolerance (card §4 C3, §6 pitfall 11).
SOLVER_TOL = 1e-6


def riverswim(n):
    return rls.mdps.riverswim(n, gamma=1.0)


# ------------------------------------------------------------------ reference values (card)
def test_riverswim6_reference_values_card_C0():
    # card §4 C0: J* = 0.4286224338, V*, sp(V*) = 6.310324, gaps at "left"; "always left" 0.005
    mdp = riverswim(6)
    f = true_hypothesis(mdp)
    assert f.J == pytest.approx(0.4286224338, abs=5e-11)
    assert np.allclose(f.V, [0, 0.714371, 2.041059, 3.455222, 4.881880, 6.310324], atol=5e-7)
    assert np.allclose(optimal_gaps(mdp)[:, 0],
                       [0.423622, 1.142993, 1.755311, 1.842785, 1.855281, 1.857066], atol=5e-7)
    assert f.pi.tolist() == [1] * 6
    left = rls.dp.average.policy_gain(mdp, np.zeros(6, dtype=int))
    assert np.allclose(left.gain, 0.005, atol=1e-15)


@pytest.mark.parametrize("n, J, span, D", [(3, 0.446809, 2.1277, 4.762),
                                           (4, 0.431085, 3.4751, 8.061),
                                           (5, 0.428929, 4.8854, 11.390),
                                           (6, 0.428622, 6.3103, 14.722),
                                           (8, 0.428572, 9.1667, 21.389)])
def test_riverswim_table_card_5_2(n, J, span, D):
    # card §5.2 table (printed to 6 / 4 / 3 decimals: tolerances are half a unit of the last one)
    f = true_hypothesis(riverswim(n))
    assert f.J == pytest.approx(J, abs=5e-7)
    assert f.V.max() - f.V.min() == pytest.approx(span, abs=5e-5)
    assert diameter(riverswim(n)) == pytest.approx(D, abs=5e-4)


def test_hard_instance_card_5_2():
    # card §5.2: d = 3, delta = 0.1, gap = 0.05 -> J* = 0.6, sp(V*) = 4, D = 10
    mix = hard_linear_mixture(3, 0.1, 0.05)
    mdp = mix.to_tabular(gamma=1.0)
    f = true_hypothesis(mdp)
    assert f.J == pytest.approx(0.6, abs=1e-12)
    assert f.V.max() - f.V.min() == pytest.approx(4.0, abs=1e-12)
    assert diameter(mdp) == pytest.approx(10.0, abs=1e-9)
    assert hard_instance_values(0.1, 0.05) == {"J": 0.6, "span": 4.0, "D": 10.0}


@pytest.mark.parametrize("d, delta, gap, seed", [(2, 0.2, 0.1, 0), (4, 0.1, 0.03, 1),
                                                 (5, 1 / 3, 0.2, 2)])
def test_hard_instance_closed_form(d, delta, gap, seed):
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=d - 1)
    mix = hard_linear_mixture(d, delta, gap, signs)
    acts = np.array(list(itertools.product((-1.0, 1.0), repeat=d - 1)))
    theta = signs * gap / (d - 1)
    assert np.allclose(mix.P[0, :, 1], delta + acts @ theta, atol=1e-15)
    assert np.allclose(mix.P[1, :, 0], delta, atol=1e-15)
    mdp = mix.to_tabular(gamma=1.0)
    f = true_hypothesis(mdp)
    ref = hard_instance_values(delta, gap)
    assert f.J == pytest.approx(ref["J"], abs=1e-12)
    assert f.V.max() - f.V.min() == pytest.approx(ref["span"], abs=1e-11)
    assert np.array_equal(acts[f.pi[0]], signs)            # the best action is sign(theta)


def test_periodic_two_cycle_card_5_2():
    mdp = periodic_two_cycle()
    sol = solve_average(mdp)
    assert (sol.gain, sol.bias.tolist()) == (0.5, [0.5, 0.0])
    assert relative_value_iteration(mdp, tau=0.5).converged
    assert not relative_value_iteration(mdp, tau=1.0, max_iter=200).converged


def test_riverswim_model_defaults_are_riverswim():
    assert np.array_equal(riverswim_model(6).P, riverswim(6).P)
    assert np.array_equal(riverswim_model(6).R, riverswim(6).R)


# ------------------------------------------------------------------ hypotheses, excess loss
def test_bellman_error_and_identity_hand_case():
    # 2 states, 1 action, swap; r = (1, 0); f = (Q, J) with Q = (1, 0), J = 0.25, pi = 0
    mdp = periodic_two_cycle()
    f = Hypothesis(np.array([[1.0], [0.0]]), 0.25, np.array([0, 0]))
    # E(f)(0) = 1 + 0.25 - 1 - V(1) = 0.25 ; E(f)(1) = 0 + 0.25 - 0 - V(0) = -0.75
    assert bellman_error(f, mdp).ravel().tolist() == [0.25, -0.75]
    # identity J_f - r(s, a) = E(f) + P V_f - V_f(s)
    lhs = f.J - mdp.R[:, 0]
    rhs = bellman_error(f, mdp)[:, 0] + f.V[::-1] - f.V
    assert np.array_equal(lhs, rhs)


def _golf_excess_bruteforce(S, A, s, a, r, s_next, f):
    """(L(f, f), inf_g L(f, g)) over all tabular g, from the raw transitions (card §3.1)."""
    y = r + f.V[s_next] - f.J
    L_ff = float(((f.Q[s, a] - y) ** 2).sum())
    L_best = 0.0
    for si in range(S):
        for ai in range(A):
            m = (s == si) & (a == ai)
            if m.any():
                L_best += float(((y[m] - y[m].mean()) ** 2).sum())
    return L_ff, L_best


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 4), st.integers(1, 3), st.integers(1, 60))
def test_tabular_excess_equals_golf_definition(seed, S, A, n):
    rng = np.random.default_rng(seed)
    s, a, s_next = rng.integers(0, S, n), rng.integers(0, A, n), rng.integers(0, S, n)
    r = rng.random(n)
    f = Hypothesis(rng.uniform(-1, 3, (S, A)), rng.random(), rng.integers(0, A, S))
    stats = TabularStats.from_data(S, A, s=s, a=a, r=r, s_next=s_next)
    L_ff, L_best = _golf_excess_bruteforce(S, A, s, a, r, s_next, f)
    # Each residual e = Q + J - r - V(s') (or its per-pair mean form) is formed with <= S + 6
    # roundings of quantities of size <= M, so |de| <= (S + 6) eps M and |d(e^2)| <= 2 |e| de;
    # sum |e| <= sqrt(n sum e^2). The sums of n squares add (n - 1) u of their total
    # (recursive summation, [higham2002, §4.2]). We allow twice the sum of both.
    M = np.abs(f.Q).max() + abs(f.J) + 1.0 + np.abs(f.V).max()
    tol = 4 * (n + S + 6) * EPS * (M * np.sqrt(n * (L_ff + L_best)) + L_ff + L_best)
    assert tabular_excess(stats, f) == pytest.approx(L_ff - L_best, abs=tol)


def test_tabular_excess_hand_case():
    # two visits of (0, 1): rewards 0 and 1, both to state 1. f: Q(0,1) = 1, J = 0, V(1) = 0.
    # rhat = 0.5, phat V = 0: Exc = 2 (1 + 0 - 0.5 - 0)^2 = 0.5
    st_ = TabularStats.from_data(2, 2, s=[0, 0], a=[1, 1], r=[0.0, 1.0], s_next=[1, 1])
    f = Hypothesis(np.array([[0.0, 1.0], [0.0, -0.5]]), 0.0, np.array([1, 0]))
    assert tabular_excess(st_, f) == 0.5


def test_excess_path_matches_stats_at_every_prefix():
    mdp = riverswim(3)
    tr = loop_finite(mdp, FiniteClass(mdp.P[None], mdp.R[None]), 60, rng=4)
    f = true_hypothesis(mdp)
    path = excess_path(tr, f)
    for t in (0, 1, 7, 33, 60):
        stats = TabularStats.from_data(3, 2, s=tr.s[:t], a=tr.a[:t], r=tr.r[:t],
                                       s_next=tr.s[1:t + 1])
        # same terms, summed in a different order: 4 (S A + t) eps relative
        assert path[t] == pytest.approx(tabular_excess(stats, f), rel=4 * (6 + t) * EPS,
                                        abs=1e-15)


# ------------------------------------------------------------------ kernels vs py_func
def test_kernels_match_python():
    rng = np.random.default_rng(0)
    cdf = np.cumsum(rng.dirichlet(np.ones(5), 4), axis=1)
    cdf /= cdf[:, -1:]
    cdf[:, -1] = 1.0
    for u in rng.random(50):
        row = int(rng.integers(0, 4))
        ref = int(np.searchsorted(cdf[row], u, side="right"))
        assert K._next_state(cdf, row, u) == ref == K._next_state.py_func(cdf, row, u)
    p_hat = rng.dirichlet(np.ones(5))
    u = rng.random(5)
    order = np.argsort(-u, kind="mergesort")
    out1, out2 = np.empty(5), np.empty(5)
    K._inner_max(p_hat, 0.3, order, out1)
    K._inner_max.py_func(p_hat, 0.3, order, out2)
    assert np.array_equal(out1, out2)


# ------------------------------------------------------------------ EVI
def _lp_inner(p_hat, rad, u):
    """max p.u s.t. p in simplex, ||p - p_hat||_1 <= rad, as an LP in (p, t), t >= |p - p_hat|."""
    S = p_hat.size
    c = np.concatenate([-u, np.zeros(S)])
    I = np.eye(S)
    A_ub = np.block([[I, -I], [-I, -I], [np.zeros((1, S)), np.ones((1, S))]])
    b_ub = np.concatenate([p_hat, -p_hat, [rad]])
    A_eq = np.concatenate([np.ones(S), np.zeros(S)])[None]
    res = scipy.optimize.linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=[1.0],
                                 bounds=[(0, None)] * (2 * S), method="highs",
                                 options={"primal_feasibility_tolerance": 1e-10,
                                          "dual_feasibility_tolerance": 1e-10})
    return -res.fun


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 7), st.floats(0.0, 2.5))
def test_evi_inner_max_equals_lp(seed, S, rad):
    # card §4 C8: the inner maximum equals the LP max{p.u : p in simplex, ||p - p_hat||_1 <= d}
    rng = np.random.default_rng(seed)
    p_hat = rng.dirichlet(np.full(S, 0.5))
    u = rng.normal(size=S) * 3
    p = evi_inner_max(p_hat, rad, u)
    assert p.min() >= 0 and abs(p.sum() - 1) <= S * EPS
    assert np.abs(p - p_hat).sum() <= rad + 4 * S * EPS
    # LP tolerances 1e-10 (set above) on a problem with |u| <= ~10: 1e-8 covers them
    assert p @ u == pytest.approx(_lp_inner(p_hat, rad, u), abs=1e-8)


def test_evi_reduces_to_value_iteration_with_zero_radius():
    # with rad = 0 the extended MDP is the model itself: EVI's gain is J* within eps / 2
    mdp = riverswim(6)
    out = extended_value_iteration(mdp.R, mdp.P, np.zeros((6, 2)), eps=1e-9)
    assert out["converged"]
    assert out["gain"] == pytest.approx(true_hypothesis(mdp).J, abs=0.5e-9 + 1e-12)
    assert out["policy"].tolist() == [1] * 6


def test_evi_optimistic_when_true_model_inside():
    # radius 0.3 around the true kernel: the optimistic gain is >= J* (up to eps / 2)
    mdp = riverswim(6)
    out = extended_value_iteration(mdp.R, mdp.P, np.full((6, 2), 0.3), eps=1e-8)
    assert out["gain"] >= true_hypothesis(mdp).J - 0.5e-8


# ------------------------------------------------------------------ planners
def test_planner_single_state_closed_form():
    # one state, one action, self-loop, reward r observed N times: Exc = N (J - r)^2, so the
    # optimistic gain is min(1, r + sqrt(beta / N)) (V = Q cancels)
    st_ = TabularStats.from_data(1, 1, s=[0] * 9, a=[0] * 9, r=[0.3] * 9, s_next=[0] * 9)
    f, info = plan_value_tabular(st_, B=1.0, beta=0.36)
    assert f.J == pytest.approx(0.3 + np.sqrt(0.36 / 9), abs=SOLVER_TOL)
    assert info.excess <= 0.36 * (1 + 1e-6)
    f, _ = plan_value_tabular(st_, B=1.0, beta=100.0)
    assert f.J == pytest.approx(1.0, abs=SOLVER_TOL)


def test_planner_tiny_beta_reduces_to_empirical_optimal_gain():
    # every pair visited with the exact kernel (counts 10 P on a grid-valued model), beta tiny:
    # the confidence set shrinks to solutions of the empirical optimality equation, whose gain is
    # J*; each residual is <= sqrt(beta / N) = 1e-5, and J* lies in [min, max] of residuals'
    # effect, so |J - J*| <= 1e-5 + solver tolerance.
    P = np.array([[[0.5, 0.5], [0.1, 0.9]], [[0.7, 0.3], [0.2, 0.8]]])
    R = np.array([[0.1, 0.0], [0.9, 0.4]])
    mdp = rls.TabularMDP(P, R, 1.0)
    N = np.full((2, 2), 10.0)
    st_ = TabularStats(N, R * N, P * N[:, :, None])
    f, _ = plan_value_tabular(st_, B=5.0, beta=1e-9)
    assert f.J == pytest.approx(true_hypothesis(mdp).J, abs=1e-5 + SOLVER_TOL)


def test_planner_is_optimistic_when_truth_covered():
    mdp = riverswim(3)
    f_star = true_hypothesis(mdp)
    tr = loop_value(mdp, 400, rng=1)
    stats = TabularStats.from_data(3, 2, s=tr.s[:-1], a=tr.a, r=tr.r, s_next=tr.s[1:])
    beta = 2.0 * tabular_excess(stats, f_star) + 0.1
    f, info = plan_value_tabular(stats, B=f_star.V.max(), beta=beta)
    assert f.J >= f_star.J - SOLVER_TOL
    assert info.excess <= beta * (1 + 1e-6) and info.failed == 0
    assert info.optimal + info.inaccurate + info.infeasible == 8


@pytest.mark.parametrize("seed, beta", [(0, 0.3), (1, 2.0), (2, 20.0)])
def test_planner_backends_agree(seed, beta):
    # the direct CLARABEL standard form and the cvxpy statement are two encodings of one SOCP
    rng = np.random.default_rng(seed)
    S, A, n = 3, 2, 30
    st_ = TabularStats.from_data(S, A, s=rng.integers(0, S, n), a=rng.integers(0, A, n),
                                 r=rng.random(n), s_next=rng.integers(0, S, n))
    out = {}
    for backend in ("clarabel", "cvxpy"):
        out[backend] = plan_value_tabular(st_, B=2.0, beta=beta,
                                          planner=ValuePlanner(S, A, 2.0, backend=backend))
    (f1, i1), (f2, i2) = out["clarabel"], out["cvxpy"]
    assert f1.J == pytest.approx(f2.J, abs=SOLVER_TOL)
    assert (i1.infeasible, i1.failed, i2.failed) == (i2.infeasible, 0, 0)


def test_linear_planner_with_one_hot_features_is_tabular_planner():
    # card §4 C6 (i): one-hot features (d = S A), lam = 0 -> planner (b) == planner (a)
    rng = np.random.default_rng(3)
    S, A, n = 3, 2, 40
    data = dict(s=rng.integers(0, S, n), a=rng.integers(0, A, n), r=rng.random(n),
                s_next=rng.integers(0, S, n))
    phi = np.eye(S * A).reshape(S, A, S * A)
    for beta in (0.5, 5.0):
        f_lin, _ = plan_value_linear(phi, LinearStats.from_data(phi, **data), B=2.0, beta=beta)
        f_tab, _ = plan_value_tabular(TabularStats.from_data(S, A, **data), B=2.0, beta=beta)
        assert f_lin.J == pytest.approx(f_tab.J, abs=SOLVER_TOL)


def test_complexity_guard_message():
    assert check_enumeration(12, 2) == 4096
    with pytest.raises(ValueError,
                       match=r"A\*\*S = 3\*\*8 = 6561 greedy policies.*smaller instance"):
        check_enumeration(8, 3)
    with pytest.raises(ValueError, match="greedy policies"):
        loop_value(rls.mdps.random_communicating(13, 2, rng=0), 10, rng=0)


def test_plan_finite_and_certainty_equivalent():
    assert plan_finite([5.0, 0.0, 0.5], [0.9, 0.1, 0.4], beta=1.0) == 2
    assert plan_finite([5.0, 0.0, 0.5], [0.9, 0.1, 0.4], beta=10.0) == 0
    assert plan_finite([5.0, 0.0, 0.5], [0.9, 0.1, 0.4], beta=1.0, optimistic=False) == 1
    # RiverSwim data of "left at 0" only: the empirical model keeps "left" at 0 (card §4 C1)
    st_ = TabularStats.from_data(6, 2, s=[0] * 5, a=[0] * 5, r=[0.005] * 5, s_next=[0] * 5)
    f = plan_certainty_equivalent(st_, 0)
    assert f.pi[0] == 0 and f.J == pytest.approx(0.005, abs=1e-15)


def test_finite_class_refuses_rewards_outside_unit_interval():
    m = riverswim(3)
    with pytest.raises(ValueError, match=r"model 1 of the finite class has rewards in \[0, 2\]"):
        FiniteClass(np.stack([m.P, m.P]), np.stack([m.R, 2.0 * m.R]))


def test_finite_class_refuses_multichain_model():
    P = np.zeros((1, 2, 1, 2))
    P[0, 0, 0, 0] = P[0, 1, 0, 1] = 1.0            # two absorbing states
    with pytest.raises(ValueError, match="model 0 .* invalid.*not weakly communicating"):
        FiniteClass(P, np.zeros((1, 2, 1)))


# ------------------------------------------------------------------ LOOP runs
def test_loop_value_run_is_consistent_and_reproducible():
    mdp = riverswim(3)
    tr = loop_value(mdp, 1500, rng=7)
    tr2 = loop_value(mdp, 1500, rng=7)
    for name in ("s", "a", "r", "epoch", "starts", "pi", "J", "V", "Q"):
        assert np.array_equal(getattr(tr, name), getattr(tr2, name))
    assert tr.starts[0] == 0 and np.all(np.diff(tr.starts) > 0)
    assert np.array_equal(tr.epoch, np.searchsorted(tr.starts, np.arange(tr.T), side="right") - 1)
    assert np.array_equal(tr.pi[tr.epoch, tr.s[:-1]], tr.a)               # a_t = pi_f(s_t)
    assert np.array_equal(tr.V, tr.Q[np.arange(tr.n_plans)[:, None], np.arange(3), tr.pi])
    assert tr.info["failed"] == 0 and tr.s[0] == 0
    # re-plans happen exactly when the lazy test fires: Exc_t(f^k) > c_sw beta just before
    # each switch (except t = 1), and never above it inside an epoch
    for k in range(tr.n_plans):
        f = Hypothesis(tr.Q[k], tr.J[k], tr.pi[k])
        e = excess_path(tr, f)
        end = tr.starts[k + 1] if k + 1 < tr.n_plans else tr.T
        inside = e[tr.starts[k] + 1:end]
        assert np.all(inside <= 4.0 * tr.beta * (1 + 1e-12))
        if k + 1 < tr.n_plans:
            assert e[end] > 4.0 * tr.beta


def test_loop_value_no_low_switching_replans_every_step():
    tr = loop_value(riverswim(3), 12, rng=0, c_sw=0.0)
    assert tr.n_plans == 12 and tr.starts.tolist() == list(range(12))


def test_loop_value_without_optimism_locks_onto_left():
    # card §4 C1 control: certainty equivalence from state 0 never tries "right"
    mdp = riverswim(6)
    tr = loop_value(mdp, 3000, rng=0, planner="certainty_equivalent")
    assert np.all(tr.a == 0)
    G = gap_regret(tr, mdp)
    assert G[-1] == pytest.approx(3000 * 0.4286224338 - 3000 * 0.005, rel=1e-9)


def test_loop_finite_losses_match_bruteforce():
    hc, k = riverswim_class(4)
    mdp = riverswim_model(4)
    tr = loop_finite(mdp, hc, 3000, rng=5, true_index=k)
    # L(g) = sum_i (r_g + P_g V_{f_i} - r_i - V_{f_i}(s_{i+1}))^2, f_i = plan in force at i
    V = tr.V[tr.epoch]
    s, a, s1 = tr.s[:-1], tr.a, tr.s[1:]
    y = tr.r + V[np.arange(tr.T), s1]
    pred = hc.R[:, s, a] + np.einsum("gij,ij->gi", hc.P[:, s, a], V)
    L = ((pred - y) ** 2).sum(axis=1)
    # same squares summed in another order: 4 T eps relative, on values up to (B + 2)^2
    assert np.allclose(tr.info["final_losses"], L, rtol=4 * tr.T * EPS, atol=1e-9)
    # every plan is optimistic over the covered models; the true model is covered (beta of [D])
    assert np.all(tr.exc_star <= tr.beta)
    assert np.all(tr.J >= hc.J[k])


def test_loop_finite_no_low_switching():
    hc, k = riverswim_class(4)
    tr = loop_finite(riverswim_model(4), hc, 300, rng=0, c_sw=0.0)
    assert tr.n_plans == 300


def test_radii():
    assert value_beta(100, 2.0, 0.5) == pytest.approx(0.5 * 9 * np.log(100), rel=1e-15)
    assert finite_beta(12, 2.0, 0.05) == pytest.approx(4.5 * np.log(240), rel=1e-15)
    assert value_beta_theory(3, 2, 1.0, 8, 0.1) == pytest.approx(24 * np.log(180), rel=1e-15)


# ------------------------------------------------------------------ regret bookkeeping
@pytest.mark.parametrize("which", ["value", "finite"])
def test_decompositions_hold_exactly(which):
    # card §4 C4: both identities hold path-wise up to float64 round-off
    mdp = riverswim(3) if which == "value" else riverswim_model(4)
    if which == "value":
        tr = loop_value(mdp, 2000, rng=3)
    else:
        hc, k = riverswim_class(4)
        tr = loop_finite(mdp, hc, 2000, rng=3)
    dec = decompose(tr, mdp)
    assert abs(dec.regret - dec.loop_rhs) <= dec.tol_loop
    assert abs(dec.regret - dec.gap_rhs) <= dec.tol_gap
    assert dec.tol_loop < 1e-9 * tr.T                   # the card's 1e-9 T is looser
    assert dec.n_switch_terms >= 1
    assert abs(dec.switching) <= tr.info["B"] * tr.n_plans + 1e-9    # card §4 C4


def test_gap_regret_and_regret_agree_with_definitions():
    mdp = riverswim(4)
    tr = ucrl2(mdp, 500, rng=1)
    f = true_hypothesis(mdp)
    G = gap_regret(tr, mdp)
    assert np.all(np.diff(G) >= -1e-15)                               # monotone
    gaps = f.V[:, None] - f.Q
    assert G[-1] == pytest.approx(sum(gaps[s, a] for s, a in zip(tr.s[:-1], tr.a)), rel=1e-12)
    assert regret(tr, mdp)[-1] == pytest.approx(500 * f.J - mdp.R[tr.s[:-1], tr.a].sum(),
                                                rel=1e-12)


def test_simulator_matches_exact_expected_regret_of_a_fixed_policy():
    # card §2.2: for a fixed policy E[Reg(T)] = T J* - sum_t mu_1^T P_pi^{t-1} r_pi. The
    # one-model class plays its optimal policy; 400 runs of T = 50 steps: the standard error of
    # the mean regret is at most sp(V*) sqrt(T) / sqrt(400) (martingale bound of card §2.2),
    # and we allow 5 of them.
    mdp = riverswim(4)
    hc = FiniteClass(mdp.P[None], mdp.R[None])
    T = 50
    reg = np.array([regret(loop_finite(mdp, hc, T, rng=seed), mdp)[-1] for seed in range(400)])
    exact = expected_regret_fixed_policy(mdp, hc.pi[0], T)[-1]
    se = 3.4751 * np.sqrt(T) / np.sqrt(400)
    assert abs(reg.mean() - exact) <= 5 * se


_P_SUB = 1.0 / (1.0 + np.exp(-1.0))


@settings(max_examples=25, deadline=None)
@given(tabular_mdps(S=(2, 4), A=(1, 3), zeros=False, reward=(0.0, 1.0)), st.integers(0, 2**32 - 1))
@example(mdp=rls.TabularMDP(np.array([[[_P_SUB, 1.0 - _P_SUB]], [[0.5, 0.5]]]),
                            np.array([[5e-324], [0.0]]), 0.0), seed=0)   # subnormal rewards
@example(mdp=rls.TabularMDP(np.full((2, 2, 2), 0.5),
                            np.array([[0.0, 2.21703883e-294], [2.21703883e-294] * 2]), 0.0),
         seed=0)   # tiny normal rewards: the PI solver's f* has a Bellman error ~ the rewards
def test_property_identities_on_random_ergodic_mdps(mdp, seed):
    # every P entry > 0: every policy's chain is irreducible and aperiodic, so the BOE holds and
    # EVI (= relative VI here) converges. (i) with radius 0 EVI's gain is J* within eps / 2;
    # (ii) finite-class LOOP with the true model and a reward-perturbed one satisfies both
    # regret identities path-wise (card §2.2, §3.4) within the summation round-off bound.
    f = true_hypothesis(mdp)
    out = extended_value_iteration(mdp.R, mdp.P, np.zeros((mdp.S, mdp.A)), eps=1e-9)
    assert out["converged"] and abs(out["gain"] - f.J) <= 0.5e-9 + 1e-12
    other = np.clip(mdp.R + 0.3 * np.random.default_rng(seed).random(mdp.R.shape), 0.0, 1.0)
    hc = FiniteClass(np.stack([mdp.dense_P(), mdp.dense_P()]), np.stack([other, mdp.R]))
    tr = loop_finite(mdp, hc, 300, rng=seed, true_index=1)
    dec = decompose(tr, mdp)
    assert abs(dec.regret - dec.loop_rhs) <= dec.tol_loop
    # the gap identity is exact when f* solves the BOE; the solver's f* does so only up to its
    # Bellman error E(f*), which enters the identity term by term: Reg(T) - gap_rhs =
    # sum_t E(f*)(s_t, a_t) exactly (negligible at O(1) rewards, ~the rewards themselves when
    # they are ~1e-294, below the solver's absolute tie threshold)
    # (the sum of |E| itself: S + 4 roundings per term and T - 1 in the sum, factor below)
    bell_star = float(np.abs(bellman_error(f, mdp)[tr.s[:-1], tr.a]).sum())
    assert abs(dec.regret - dec.gap_rhs) <= \
        dec.tol_gap + bell_star * (1 + (tr.T + mdp.S + 4) * EPS)
    assert np.all(tr.J >= f.J - 1e-12) or np.any(tr.exc_star > tr.beta)   # optimism if covered


# ------------------------------------------------------------------ UCRL2
def test_ucrl2_episode_rule_and_bound():
    mdp = riverswim(6)
    tr = ucrl2(mdp, 5000, rng=2)
    assert tr.n_plans <= episode_bound(5000, 6, 2)
    # recompute the doubling rule: an episode ends exactly when the played pair's in-episode
    # count reaches max(1, its count before the episode)
    N = np.zeros((6, 2))
    for k in range(tr.n_plans):
        lo = tr.starts[k]
        hi = tr.starts[k + 1] if k + 1 < tr.n_plans else tr.T
        v = np.zeros((6, 2))
        for i in range(lo, hi):
            s, a = tr.s[i], tr.a[i]
            assert a == tr.pi[k, s] and v[s, a] < max(1.0, N[s, a])
            v[s, a] += 1
        if hi < tr.T:
            s = tr.s[hi]
            a = tr.pi[k, s]
            assert v[s, a] >= max(1.0, N[s, a])
        N += v
    assert all(tr.info["evi_converged"])
    # episode_factor = 0: an episode ends once the current pair was played in it, so it lasts
    # at most S A steps
    short = ucrl2(mdp, 300, rng=2, episode_factor=0.0)
    assert np.diff(np.append(short.starts, 300)).max() <= 12 and short.n_plans >= 300 / 12


def test_ucrl2_prototype_numbers_card_C7():
    # card §4 C7 prototype: 52 episodes at T = 5000, 71 at 2e4 (one seed; the count depends on
    # the run, so we check the same order: within +-30%), and Reg ~ 0.43 T at 2e4
    mdp = riverswim(6)
    tr = ucrl2(mdp, 20000, rng=0)
    assert 0.7 * 71 <= tr.n_plans <= 1.3 * 71
    assert 0.3 <= regret(tr, mdp, realised=True)[-1] / 20000 <= 0.45
