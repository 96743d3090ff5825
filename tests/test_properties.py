"""Property-based tests: the theorems behind the exact solvers, on random models.

Models come from :func:`rlsandbox.testing.tabular_mdps` (dense and CSR, rows with zeros, gamma
in [0, 0.95]). Each test states the theorem it checks; every tolerance is either a certified
error bound returned by a solver or a float64 round-off allowance derived in :func:`dot_err`
and :func:`lu_err` below.

Round-off model [Higham 2002]: with u = 2^-53 and gamma_n = n u / (1 - n u),

* a dot product of n terms is computed within gamma_n sum |x_i y_i| (Higham §3.1), so
  an entry of T V (S products plus a reward and a discount) is within
  ``dot_err(S, R, V) = gamma_{S+2} (max|R| + max|V|)`` of its exact value;
* a linear solve by LU with partial pivoting of the diagonally dominant M = I - gamma P_pi has
  backward error |dM| <= gamma_{3S} rho |L||U| with growth rho <= 2 (Higham Thm 9.4, and
  Thm 9.9 for diagonally dominant matrices), and ||M^{-1}||_inf <= 1/(1-gamma), ||M||_inf <= 2,
  so the forward error is at most ``lu_err = 2 * gamma_{3S} * 2 * 2 ||V||/(1-gamma)`` (we
  take ||V|| <= max|R|/(1-gamma) + 1).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra.numpy import arrays

import rlsandbox as rls
from rlsandbox.dp import TIE_RTOL
from rlsandbox.testing import datasets, finite_horizon_mdps, linear_mdps, policies, tabular_mdps

U = np.finfo(np.float64).eps / 2


def gam(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u)."""
    return n * U / (1 - n * U)


def dot_err(S: int, R, *Vs) -> float:
    """Bound on |fl(Bellman backup) - exact| per entry (see module docstring)."""
    return gam(S + 2) * (float(np.abs(R).max()) + max(float(np.abs(V).max()) for V in Vs))


def lu_err(mdp) -> float:
    """Bound on ||fl(V^pi) - V^pi||_inf for the LU evaluation (see module docstring)."""
    g = mdp.gamma
    Vmax = float(np.abs(mdp.R).max()) / (1 - g) + 1.0
    return 8 * gam(3 * mdp.S) * Vmax / (1 - g)


def sub_err(*Vs) -> float:
    """Round-off of an entrywise difference of two computed vectors (one rounding each)."""
    return 2 * U * max(float(np.abs(V).max()) for V in Vs)


mdps = tabular_mdps(S=(1, 5), A=(1, 3), gamma=(0.0, 0.95), sparse=st.booleans())


def vectors(S, lo=-100.0, hi=100.0):
    return arrays(np.float64, S, elements=st.floats(lo, hi))


# ------------------------------------------------------------- operators
@given(mdps, st.data())
def test_T_is_a_monotone_gamma_contraction(mdp, data):
    """(T V)(s) = max_a R + gamma P V is monotone and a gamma-contraction in sup norm
    [puterman2005, §6.2 (Prop 6.2.4: contraction)]."""
    V, W = data.draw(vectors(mdp.S)), data.draw(vectors(mdp.S))
    TV, _ = rls.bellman_optimality(mdp, V)
    TW, _ = rls.bellman_optimality(mdp, W)
    fp = 2 * dot_err(mdp.S, mdp.R, V, W)
    assert np.abs(TV - TW).max() <= mdp.gamma * np.abs(V - W).max() * (1 + 2 * U) + fp
    up = V + np.abs(data.draw(vectors(mdp.S, 0.0, 50.0)))           # up >= V entrywise
    Tup, _ = rls.bellman_optimality(mdp, up)
    assert np.all(Tup >= TV - 2 * dot_err(mdp.S, mdp.R, V, up))


@given(mdps.flatmap(lambda m: st.tuples(st.just(m), policies(m))), st.data())
def test_T_pi_is_a_monotone_gamma_contraction(mdp_pi, data):
    """Same for (T^pi V)(s) = sum_a pi(a|s) (R + gamma P V)(s, a) [puterman2005, §6.2]."""
    mdp, pi = mdp_pi
    V, W = data.draw(vectors(mdp.S)), data.draw(vectors(mdp.S))
    TV = rls.bellman_evaluation(mdp, pi, V)
    TW = rls.bellman_evaluation(mdp, pi, W)
    fp = 2 * (dot_err(mdp.S, mdp.R, V, W) + gam(mdp.A) * (np.abs(mdp.R).max() + 100.0))
    assert np.abs(TV - TW).max() <= mdp.gamma * np.abs(V - W).max() * (1 + 2 * U) + fp
    up = V + np.abs(data.draw(vectors(mdp.S, 0.0, 50.0)))
    assert np.all(rls.bellman_evaluation(mdp, pi, up) >= TV - fp)


@given(mdps.flatmap(lambda m: st.tuples(st.just(m), policies(m))))
def test_V_pi_is_the_fixed_point_of_T_pi(mdp_pi):
    """V^pi = (I - gamma P_pi)^{-1} R_pi is the unique fixed point of T^pi, and the limit of
    T^pi iterated from 0: ||(T^pi)^k 0 - V^pi|| <= gamma^k ||V^pi|| [puterman2005, Thm 6.1.1]."""
    mdp, pi = mdp_pi
    V = rls.evaluate(mdp, pi)
    g, S = mdp.gamma, mdp.S
    fp_step = dot_err(S, mdp.R, V) + gam(mdp.A) * (np.abs(mdp.R).max() + np.abs(V).max())
    # fixed point: ||T^pi V - V|| <= (1 + gamma) lu_err + one evaluation's round-off
    residual = np.abs(rls.bellman_evaluation(mdp, pi, V) - V).max()
    assert residual <= (1 + g) * lu_err(mdp) + fp_step
    # independent of any LU: Neumann/iteration with NumPy, k steps until gamma^k < 1e-13
    P_pi = mdp.P_pi(mdp.policy(pi))
    P_pi = P_pi.toarray() if sp.issparse(P_pi) else P_pi
    R_pi = mdp.R_pi(mdp.policy(pi))
    k = 1 if g == 0 else max(1, math.ceil(math.log(1e-13) / math.log(g)))
    W = np.zeros(S)
    for _ in range(k):
        W = R_pi + g * (P_pi @ W)
    # truncation gamma^k ||V^pi|| + accumulated round-off (each step's error is damped by
    # gamma afterwards, so the total is at most fp_step / (1 - gamma)) + LU error of V
    Vmax = np.abs(mdp.R).max() / (1 - g)
    tol = g ** k * Vmax + fp_step / (1 - g) + lu_err(mdp)
    np.testing.assert_allclose(V, W, rtol=0, atol=tol)


# ------------------------------------------------------------- solvers agree
METHODS = ("vi", "pi", "mpi", "lp")


def _mask_contains(sol_Y, policy_X) -> np.ndarray:
    return sol_Y.optimal_actions[np.arange(policy_X.shape[0]), policy_X]


@given(mdps)
def test_solvers_agree_within_their_certificates(mdp):
    """VI, PI, MPI and LP all bound ||V - V*|| by their error_bound, so any two differ by at
    most the sum of the two bounds (triangle inequality)."""
    sols = {m: rls.solve(mdp, method=m) for m in METHODS}
    for m, sol in sols.items():
        assert sol.converged, m
        assert sol.method == m and sol.V.shape == (mdp.S,) and sol.Q.shape == (mdp.S, mdp.A)
    for a in METHODS:
        for b in METHODS:
            X, Y = sols[a], sols[b]
            diff = np.abs(X.V - Y.V).max()
            assert diff <= X.error_bound + Y.error_bound + sub_err(X.V, Y.V), (a, b)


@given(mdps)
@example(mdp=rls.TabularMDP(np.ones((1, 2, 1)), np.array([[0.0, 1e-9]]), 0.5))  # PI near-tie
def test_optimal_action_masks_contain_greedy_policies_of_accurate_solves(mdp):
    """The mask of solver Y keeps every action a with Q_Y[s,a] >= max Q_Y - 2 gamma e_Y - tie,
    tie = TIE_RTOL (1 + max|Q_Y|). If X's policy is greedy w.r.t. V_X with ||V_X - V*|| <= e_X,
    then Q*[s, pi_X(s)] >= max Q* - 2 gamma e_X, hence
    Q_Y[s, pi_X(s)] >= max Q_Y - 2 gamma e_Y - 2 gamma e_X: the mask holds pi_X whenever
    2 gamma e_X <= tie / 2 (the other half of tie covers the round-off in Q_Y).
    PI's certificate is usually that small, but not always: PI stops on a near-tie (an action
    better by less than TIE_RTOL (1 + max|Q|) does not replace the current one), and then its
    certified error is the gap / (1 - gamma); the @example pins such a model."""
    sols = {m: rls.solve(mdp, method=m) for m in METHODS}
    g = mdp.gamma
    for a in METHODS:
        X = sols[a]
        for b in METHODS:
            Y = sols[b]
            if 2 * g * X.error_bound <= TIE_RTOL * (1 + np.abs(Y.Q).max()) / 2:
                assert _mask_contains(Y, X.policy).all(), (a, b)
        assert _mask_contains(X, X.policy).all()


@given(mdps)
def test_certificate_against_independent_pi(mdp):
    """||V - V*|| <= error_bound for every solver, with V* from policy iteration. V_PI itself
    is within e_PI of V* (its certificate: the Bellman residual / (1 - gamma) plus the float
    allowance 2 S u_mach (max|R| + max|V|) / (1 - gamma) for computing that residual), so the
    justified comparison is ||V - V_PI|| <= error_bound + e_PI (+ one subtraction's rounding)."""
    ref = rls.dp.policy_iteration(mdp)
    for m in ("vi", "mpi", "lp"):
        sol = rls.solve(mdp, method=m)
        assert np.abs(sol.V - ref.V).max() <= sol.error_bound + ref.error_bound + sub_err(sol.V, ref.V), m


# ------------------------------------------------ exact rational reference
def _exact_policy_iteration(mdp):
    """Howard PI in exact rational arithmetic on the float64 data (every float is a rational),
    returning V* exactly as Fractions. Exact arithmetic: no ties issue, strict improvement."""
    S, A = mdp.S, mdp.A
    P = [[[Fraction(float(x)) for x in row] for row in ps] for ps in mdp.dense_P()]
    R = [[Fraction(float(x)) for x in r] for r in mdp.R]
    g = Fraction(mdp.gamma)

    def evaluate(pi):
        M = [[(1 if i == j else 0) - g * P[i][pi[i]][j] for j in range(S)] + [R[i][pi[i]]]
             for i in range(S)]
        for c in range(S):                                  # Gauss-Jordan, exact
            p = next(r for r in range(c, S) if M[r][c] != 0)
            M[c], M[p] = M[p], M[c]
            inv = 1 / M[c][c]
            M[c] = [x * inv for x in M[c]]
            for r in range(S):
                if r != c and M[r][c] != 0:
                    f = M[r][c]
                    M[r] = [x - f * y for x, y in zip(M[r], M[c])]
        return [M[i][S] for i in range(S)]

    pi = [0] * S
    while True:
        V = evaluate(pi)
        Q = [[R[s][a] + g * sum(P[s][a][t] * V[t] for t in range(S)) for a in range(A)]
             for s in range(S)]
        new = [pi[s] if Q[s][pi[s]] >= max(Q[s]) else max(range(A), key=lambda a: Q[s][a])
               for s in range(S)]
        if new == pi:
            return V
        pi = new


exact_mdps = tabular_mdps(S=(1, 3), A=(1, 2), gamma=(0.0, 0.95), sparse=st.booleans())


@settings(max_examples=30)
@given(exact_mdps)
@example(  # bug found here: solve_batch's PI bound had no float allowance (reported 0.0 with
           # an actual error of 1.1e-16); fixed in rlsandbox/dp/batch.py
    rls.TabularMDP(np.ones((1, 1, 1)), np.array([[0.796875]]), gamma=0.08084999753498084))
def test_certificates_hold_against_exact_rational_V_star(mdp):
    """The strict form of the certificate: |V - V*| <= error_bound entrywise with V* exact (up to
    the final rounding of V* to float64, half an ulp), for every solver and for solve_batch."""
    V_star = np.array([float(v) for v in _exact_policy_iteration(mdp)])
    half_ulp = U * np.abs(V_star)
    for m in METHODS:
        sol = rls.solve(mdp, method=m)
        assert np.all(np.abs(sol.V - V_star) <= sol.error_bound + half_ulp), m
    P = mdp.dense_P()[None]
    for m in ("pi", "vi"):
        out = rls.solve_batch(P, mdp.R[None], mdp.gamma, method=m)
        assert np.all(np.abs(out.V[0] - V_star) <= out.error_bound[0] + half_ulp), m


@given(tabular_mdps(S=(1, 5), A=(1, 3), gamma=(0.05, 0.95)), st.sampled_from([1e-2, 1e-4, 1e-8]))
def test_vi_greedy_policy_is_eps_optimal(mdp, eps):
    """Puterman's stopping rule ||V_k - V_{k-1}|| < eps (1-gamma)/(2 gamma) makes the greedy
    policy of V_k eps-optimal and ||V_k - V*|| < eps/2 [puterman2005, Thm 6.3.1]."""
    sol = rls.dp.value_iteration(mdp, eps=eps)
    ref = rls.dp.policy_iteration(mdp)
    assert sol.converged
    V_greedy = rls.evaluate(mdp, sol.policy)
    assert np.all(V_greedy >= ref.V - eps - ref.error_bound - lu_err(mdp))
    assert np.all(np.abs(sol.V - ref.V) <= eps / 2 + ref.error_bound + sub_err(sol.V, ref.V))


@given(mdps)
def test_advantages_of_the_optimal_policy_are_nonpositive(mdp):
    """For pi* optimal, A*(s, a) = Q*(s, a) - V*(s) <= 0. PI's policy is greedy w.r.t. V with
    ||V - V*|| <= e, so V^pi >= V* - 2 gamma e / (1 - gamma) [Singh & Yee 1994, "An upper
    bound on the loss from approximate optimal-value functions", Machine Learning 16] and
    A^pi(s, a) <= Q*(s, a) - V^pi(s) <= 2 gamma e / (1 - gamma); and A^pi(s, pi(s)) = 0
    exactly, up to the LU error of V^pi and of Q^pi."""
    sol = rls.dp.policy_iteration(mdp)
    Adv = rls.advantages(mdp, sol.policy)
    g = mdp.gamma
    fp = (1 + g) * lu_err(mdp) + dot_err(mdp.S, mdp.R, sol.V)
    assert np.all(Adv <= 2 * g * sol.error_bound / (1 - g) + fp)
    assert np.all(np.abs(Adv[np.arange(mdp.S), sol.policy]) <= fp)


# ------------------------------------------------------------ LP vs cvxpy
def _cvxpy_lp(mdp):
    cp = pytest.importorskip("cvxpy")
    S, A = mdp.S, mdp.A
    P, g = mdp.dense_P(), mdp.gamma
    V = cp.Variable(S)
    cons = [V >= mdp.R[:, a] + g * (P[:, a, :] @ V) for a in range(A)]
    prob = cp.Problem(cp.Minimize(cp.sum(V)), cons)
    prob.solve(solver=cp.CLARABEL)
    assert prob.status == cp.OPTIMAL, prob.status
    return np.asarray(V.value, dtype=np.float64)


def clarabel_tol(mdp, V) -> float:
    """Accuracy of Clarabel's LP solution implied by its documented default stopping criteria
    (tol_feas = tol_gap_abs = tol_gap_rel = 1e-8; Clarabel settings documentation).

    LP: min 1'V s.t. V >= R_a + gamma P_a V. With constraint violation at most
    delta = 1e-8 (1 + ||b|| + ||x|| + ||slack||) <= 1e-8 (1 + 2 max|R| + 3 max|V|), V >= T V - delta
    gives V >= V* - delta / (1 - gamma) componentwise; the objective exceeds the optimum by at
    most the gap tolerance plus the dual residual times ||V*||_1 (weak duality with a dual
    residual eps_d = 1e-8 (2 + S / (1 - gamma)), ||z||_1 = S / (1 - gamma) being the occupancy
    mass). A component can exceed V* by at most that excess plus the others' deficits, so
    ||V - V*|| <= gap + S eps_d max|V| + S delta / (1 - gamma).
    """
    S, g = mdp.S, mdp.gamma
    Vm, Rm = float(np.abs(V).max()), float(np.abs(mdp.R).max())
    delta = 1e-8 * (1 + 2 * Rm + 3 * Vm)
    gap = 1e-8 * (1 + S * Vm)
    eps_d = 1e-8 * (2 + S / (1 - g))
    return gap + S * eps_d * Vm + S * delta / (1 - g)


@settings(max_examples=25)
@given(tabular_mdps(S=(1, 5), A=(1, 3), gamma=(0.0, 0.95)))
def test_lp_matches_cvxpy_formulation(mdp):
    """rlsandbox's LP (scipy HiGHS) against the same LP written in cvxpy and solved by the
    interior-point solver Clarabel. Two checks: the rigorous one via each solution's Bellman
    residual (||V - V*|| <= ||T V - V|| / (1 - gamma) [puterman2005, Prop 6.6.1]), and the
    documented accuracy of Clarabel (see clarabel_tol), which a wrong formulation would miss."""
    sol = rls.dp.linear_programming(mdp)
    V_cvx = _cvxpy_lp(mdp)
    TV, _ = rls.bellman_optimality(mdp, V_cvx)
    g = mdp.gamma
    fp = 2 * mdp.S * 2 * U * (np.abs(mdp.R).max() + np.abs(V_cvx).max())
    cert_cvx = np.abs(TV - V_cvx).max() / (1 - g) + fp / (1 - g)
    diff = np.abs(sol.V - V_cvx).max()
    assert diff <= sol.error_bound + cert_cvx + sub_err(sol.V, V_cvx)
    assert diff <= sol.error_bound + clarabel_tol(mdp, V_cvx)


# ------------------------------------------------------------ sparse vs dense
@given(tabular_mdps(S=(1, 5), A=(1, 3), gamma=(0.0, 0.95)), st.data())
def test_sparse_and_dense_models_give_the_same_results(mdp, data):
    sparse = mdp.replace(P=mdp.csr_P())
    assert sparse.is_sparse and not mdp.is_sparse
    for m in METHODS:
        d, s = rls.solve(mdp, method=m), rls.solve(sparse, method=m)
        assert np.abs(d.V - s.V).max() <= d.error_bound + s.error_bound + sub_err(d.V, s.V), m
        assert d.converged and s.converged
    pi = data.draw(policies(mdp))
    # dense LU and SuperLU each within lu_err of the exact V^pi
    np.testing.assert_allclose(rls.evaluate(mdp, pi), rls.evaluate(sparse, pi), rtol=0,
                               atol=2 * lu_err(mdp))
    V = data.draw(vectors(mdp.S))
    # the dense and CSR kernels add the same nonzero products in the same order: bitwise
    np.testing.assert_array_equal(rls.q_values(mdp, V), rls.q_values(sparse, V))
    np.testing.assert_array_equal(rls.bellman_optimality(mdp, V)[0],
                                  rls.bellman_optimality(sparse, V)[0])


# ------------------------------------------------------------ batch vs per model
@st.composite
def same_shape_models(draw):
    S, A, N = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 4))
    return [draw(tabular_mdps(S=S, A=A, gamma=(0.0, 0.95))) for _ in range(N)]


@given(same_shape_models(), st.sampled_from(["pi", "vi"]))
@example(  # bug found here: a subnormal gamma made solve_batch(method="vi") raise
           # "RuntimeWarning: overflow" computing its threshold; fixed in rlsandbox/dp/batch.py
    [rls.TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), gamma=5e-324)], "vi")
def test_solve_batch_agrees_with_per_model_solves(models, method):
    P = np.stack([m.dense_P() for m in models])
    R = np.stack([m.R for m in models])
    g = np.array([m.gamma for m in models])
    out = rls.solve_batch(P, R, g, method=method)
    assert out.converged.all()
    for n, m in enumerate(models):
        sol = rls.solve(m, method=method)
        assert np.abs(out.V[n] - sol.V).max() <= out.error_bound[n] + sol.error_bound \
            + sub_err(out.V[n], sol.V)
        # each batch policy is optimal up to its own certificate: in the per-model mask when
        # accurate enough (see test_optimal_action_masks_contain_greedy_policies...)
        if 2 * m.gamma * out.error_bound[n] <= TIE_RTOL * (1 + np.abs(sol.Q).max()) / 2:
            assert _mask_contains(sol, out.policy[n]).all()


# ------------------------------------------------- the strategies' own guarantees
@given(tabular_mdps(S=(1, 4), A=(1, 3), gamma=1.0, terminal="proper"), st.data())
def test_strategy_proper_terminal_models_make_every_policy_proper(mdp, data):
    """terminal="proper": every non-terminal row enters a terminal state with positive
    probability, so every policy is proper and its gamma == 1 value exists (evaluate would
    raise "policy is improper" otherwise) and is the fixed point of T^pi."""
    assert mdp.terminal.any() and mdp.gamma == 1.0
    pi = data.draw(policies(mdp))
    V = rls.evaluate(mdp, pi)
    assert np.all(V[mdp.terminal] == 0.0)
    # the residual of a backward-stable solve is small whatever the conditioning:
    # ||M V - R_pi|| <= gamma_{3S} * 2 * ||M|| ||V|| (Higham Thm 9.4), ||M|| <= 2
    resid = np.abs(rls.bellman_evaluation(mdp, pi, V) - V).max()
    assert resid <= 4 * gam(3 * mdp.S) * np.abs(V).max() + 2 * dot_err(mdp.S, mdp.R, V)


@given(tabular_mdps(S=(1, 4), A=(1, 3), zeros=False, sparse=True, terminal=True))
def test_strategy_flags(mdp):
    assert mdp.is_sparse
    live = ~mdp.terminal
    assert 1 <= mdp.terminal.sum() <= max(1, mdp.S - 1)
    assert np.all(mdp.dense_P()[live] > 0)              # zeros=False: full supports
    assert np.all(mdp.R[mdp.terminal] == 0)


def test_strategy_options_do_what_they_say():
    # zeros=True (the default) does produce rows with zeros; d_rectangular=False does produce
    # signed features -- and both stay valid models
    from hypothesis import find
    m = find(tabular_mdps(S=3, A=1), lambda m: (m.dense_P() == 0).any())
    # a row w / sum(w) sums to 1 within gamma_{S-1} + u; this test's sum adds gamma_{S-1}
    assert np.all(np.abs(m.dense_P().sum(-1) - 1) <= gam(2 * m.S))
    lin = find(linear_mdps(S=2, A=2, d=2, d_rectangular=False), lambda l: not l.is_d_rectangular)
    # phi M, M mu, phi' mu' (gamma_d each), M M - I (2 gamma_{d+4}), the simplex rows (gamma_S,
    # gamma_d) and this sum (gamma_S), amplified by || |M| ||_inf^2 <= (1 + 2 sqrt(d))^2
    lin_tol = gam(6 * lin.d + 2 * lin.S + 8) * (1 + 2 * np.sqrt(lin.d)) ** 2
    assert np.all(np.abs(lin.P.sum(-1) - 1) <= lin_tol)


@pytest.mark.parametrize("kwargs,exc,msg", [
    ({"S": (3, 1)}, ValueError, "S[1] == 1, must be in [3, inf]"),
    ({"S": 0}, ValueError, "S == 0, must be in [1, inf]"),
    ({"A": (1, 2, 3)}, ValueError, "a range is a pair (lo, hi)"),
    ({"gamma": (0.5, 1.5)}, ValueError, "gamma[1] == 1.5, must be in [0.5, 1]"),
    ({"sparse": "yes"}, TypeError, "sparse must be a bool or a strategy of bools"),
    ({"terminal": "always"}, ValueError, "terminal == 'always'; expected False, True or 'proper'"),
    ({"reward": (1.0, 0.0)}, ValueError, "reward == (1.0, 0.0); expected finite lo <= hi"),
])
def test_strategy_arguments_are_validated_eagerly(kwargs, exc, msg):
    import re
    with pytest.raises(exc, match=re.escape(msg)):
        tabular_mdps(**kwargs)


@given(finite_horizon_mdps(H=(1, 3), S=(1, 3), A=(1, 2)).flatmap(
    lambda fh: st.tuples(st.just(fh), policies(fh))))
def test_strategy_finite_horizon_models_and_policies(fh_pi):
    fh, pi = fh_pi
    assert fh.P.shape == (fh.H, fh.S, fh.A, fh.S)
    # rows w / sum(w): gamma_{S-1} + u, plus gamma_{S-1} for this sum (as for tabular_mdps)
    assert np.all(np.abs(fh.P.sum(-1) - 1) <= gam(2 * fh.S))
    assert pi.shape[:2] == (fh.H, fh.S)
    np.testing.assert_array_equal(fh.policy(pi), pi)     # accepted as is: valid by construction


@given(tabular_mdps(S=(1, 4), A=(1, 3)).flatmap(lambda m: st.tuples(st.just(m), datasets(m))))
def test_strategy_datasets_are_consistent_with_the_model(mdp_data):
    mdp, data = mdp_data
    P = mdp.dense_P()
    assert 1 <= len(data) <= 50
    assert np.all(P[data.s, data.a, data.s_next] > 0)    # only transitions in P's support
    np.testing.assert_array_equal(data.r, mdp.R[data.s, data.a])
    assert np.all(data.mu[data.s, data.a] > 0)
