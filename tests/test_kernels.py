"""Unit tests of the Bellman kernels (rlsandbox/kernels/bellman.py).

Each kernel is checked three ways (STYLE.md §4, §7.1): against a hand computation on a
two-state MDP, against its own ``.py_func`` (the same code run as plain Python), and against a
vectorised NumPy form (``np.einsum`` / ``max`` / ``argmax``). The batch kernels are checked
against per-model ``rlsandbox.dp`` solves.

Tolerances. Kernel and NumPy forms sum the same ``S`` products in possibly different orders:
the difference is at most ``2 * gamma_S * (max|R| + gamma * max|V|)`` with
``gamma_S = S u / (1 - S u)`` [Higham 2002, §3.1], which we bound by ``FP(S) * scale`` below.
The jitted kernel and its ``.py_func`` run the same loops in the same order without fastmath,
so they must agree bitwise.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import arrays

import rlsandbox as rls
from rlsandbox.dp import TIE_RTOL
from rlsandbox.kernels.bellman import (
    _bellman_max_csr, _bellman_max_dense, _greedy_on_max_reward, _policy_iteration_batch,
    _policy_iteration_one, _q_csr, _q_dense, _value_iteration_batch, _value_iteration_one,
)
from rlsandbox.testing import tabular_mdps

EPS = np.finfo(np.float64).eps


def FP(S: int) -> float:
    """Two summation-error bounds ``gamma_{S+2}`` (Higham 2002, Lemma 3.1), for a difference
    of two float evaluations of the same sum over S terms plus the reward and discount."""
    n = S + 2
    return 2.0 * n * EPS / (1.0 - n * EPS)


# the two-state MDP of the hand computations: action 0 stays, action 1 switches
P2 = np.array([[[1.0, 0.0], [0.0, 1.0]],
               [[0.0, 1.0], [1.0, 0.0]]])
R2 = np.array([[0.0, 1.0],
               [2.0, 0.0]])


def _csr(P):
    S, A, _ = P.shape
    M = sp.csr_array(P.reshape(S * A, S))
    return M.data, M.indices, M.indptr


def _run_max(fn, P, R, V, gamma, sparse=False):
    S = R.shape[0]
    out_V, out_pi = np.full(S, np.nan), np.full(S, -1, dtype=np.int64)
    args = (*_csr(P), R, V, gamma) if sparse else (P, R, V, gamma)
    fn(*args, out_V, out_pi)
    return out_V, out_pi


def _run_q(fn, P, R, V, gamma, sparse=False):
    out = np.full(R.shape, np.nan)
    args = (*_csr(P), R, V, gamma) if sparse else (P, R, V, gamma)
    fn(*args, out)
    return out


# ------------------------------------------------------------- hand computations
@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_bellman_max_two_state_by_hand(sparse):
    # V = (10, 20), gamma = 0.5:
    #   s=0: a=0 stays: 0 + 0.5*10 = 5;  a=1 switches: 1 + 0.5*20 = 11  -> 11, action 1
    #   s=1: a=0 stays: 2 + 0.5*20 = 12; a=1 switches: 0 + 0.5*10 = 5  -> 12, action 0
    fn = _bellman_max_csr if sparse else _bellman_max_dense
    TV, pi = _run_max(fn, P2, R2, np.array([10.0, 20.0]), 0.5, sparse)
    assert TV.tolist() == [11.0, 12.0]
    assert pi.tolist() == [1, 0]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_q_two_state_by_hand(sparse):
    # same numbers as above, all four action values
    fn = _q_csr if sparse else _q_dense
    Q = _run_q(fn, P2, R2, np.array([10.0, 20.0]), 0.5, sparse)
    assert Q.tolist() == [[5.0, 11.0], [12.0, 5.0]]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_bellman_max_ties_go_to_lowest_action(sparse):
    # at s=0 both actions give exactly 1 + 0.5 * 0 = 1: the documented rule picks action 0
    P = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[1.0, 1.0], [0.0, 3.0]])
    fn = _bellman_max_csr if sparse else _bellman_max_dense
    TV, pi = _run_max(fn, P, R, np.zeros(2), 0.5, sparse)
    assert TV.tolist() == [1.0, 3.0]
    assert pi.tolist() == [0, 1]


def test_policy_iteration_one_two_state_by_hand():
    # gamma = 0.5. Optimal: s=1 stays collecting 2 (V = 2 / (1 - 0.5) = 4); s=0 switches
    # (V = 1 + 0.5 * 4 = 3) since staying gives 0. From pi = (0, 0): V = (0, 4);
    # improvement: s=0: max(0 + 0, 1 + 2) -> switch; s=1: max(2 + 2, 0 + 0) -> stay.
    V, pi = np.empty(2), np.zeros(2, dtype=np.int64)
    it = _policy_iteration_one(P2, R2, 0.5, 100, TIE_RTOL, V, pi)
    assert pi.tolist() == [1, 0]
    np.testing.assert_allclose(V, [3.0, 4.0], rtol=0, atol=4 * FP(2) * 4.0)  # LU round-off
    assert it == 2          # one improvement, then a second evaluation confirms it


def test_value_iteration_one_two_state_by_hand():
    # gamma = 0: one sweep gives V_1 = max_a R = (1, 2) and diff = 2 (from V_0 = 0), a second
    # gives the same values, diff 0 < tol.
    V, pi = np.zeros(2), np.zeros(2, dtype=np.int64)
    it, diff = _value_iteration_one(P2, R2, 0.0, 1e-12, 10, V, pi)
    assert (it, diff) == (2, 0.0)
    assert V.tolist() == [1.0, 2.0] and pi.tolist() == [1, 0]


# ------------------------------------------------------- jit vs .py_func vs NumPy
small_mdps = tabular_mdps(S=(1, 4), A=(1, 3), gamma=(0.0, 0.99))


def _V_for(mdp, data):
    return data.draw(arrays(np.float64, mdp.S, elements=st.floats(-50, 50)), label="V")


@given(small_mdps, st.data())
def test_bellman_max_dense_matches_py_func_and_numpy(mdp, data):
    V = _V_for(mdp, data)
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    TV, pi = _run_max(_bellman_max_dense, P, R, V, g)
    TV_py, pi_py = _run_max(_bellman_max_dense.py_func, P, R, V, g)
    np.testing.assert_array_equal(TV, TV_py)
    np.testing.assert_array_equal(pi, pi_py)
    Q_np = R + g * np.einsum("sat,t->sa", P, V)
    tol = FP(mdp.S) * (np.abs(R).max() + g * np.abs(V).max())
    np.testing.assert_allclose(TV, Q_np.max(axis=1), rtol=0, atol=tol)
    # the chosen action attains the max (up to the same round-off); exact argmax when no near tie
    assert np.all(Q_np[np.arange(mdp.S), pi] >= Q_np.max(axis=1) - 2 * tol)
    gap = np.sort(Q_np, axis=1)[:, -2] if mdp.A > 1 else np.full(mdp.S, -np.inf)
    clear = Q_np.max(axis=1) - gap > 4 * tol
    np.testing.assert_array_equal(pi[clear], Q_np.argmax(axis=1)[clear])


@given(small_mdps, st.data())
def test_bellman_max_csr_matches_py_func_and_dense(mdp, data):
    V = _V_for(mdp, data)
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    TV, pi = _run_max(_bellman_max_csr, P, R, V, g, sparse=True)
    TV_py, pi_py = _run_max(_bellman_max_csr.py_func, P, R, V, g, sparse=True)
    np.testing.assert_array_equal(TV, TV_py)
    np.testing.assert_array_equal(pi, pi_py)
    TV_d, _ = _run_max(_bellman_max_dense, P, R, V, g)
    # CSR skips the zero entries; adding exact zeros does not change a float sum, so the two
    # loops add the same nonzero products in the same order: bitwise equal.
    np.testing.assert_array_equal(TV, TV_d)


@given(small_mdps, st.data())
def test_q_dense_and_csr_match_py_func_and_einsum(mdp, data):
    V = _V_for(mdp, data)
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    Q = _run_q(_q_dense, P, R, V, g)
    np.testing.assert_array_equal(Q, _run_q(_q_dense.py_func, P, R, V, g))
    Q_csr = _run_q(_q_csr, P, R, V, g, sparse=True)
    np.testing.assert_array_equal(Q_csr, _run_q(_q_csr.py_func, P, R, V, g, sparse=True))
    np.testing.assert_array_equal(Q_csr, Q)    # same nonzero products, same order (see above)
    tol = FP(mdp.S) * (np.abs(R).max() + g * np.abs(V).max())
    np.testing.assert_allclose(Q, R + g * np.einsum("sat,t->sa", P, V), rtol=0, atol=tol)


@given(tabular_mdps(S=(1, 4), A=(1, 3), gamma=(0.0, 0.95)))
def test_policy_iteration_one_matches_py_func_and_dp(mdp):
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    V, pi = np.empty(mdp.S), np.zeros(mdp.S, dtype=np.int64)
    it = _policy_iteration_one(P, R, g, 1000, TIE_RTOL, V, pi)
    V_py, pi_py = np.empty(mdp.S), np.zeros(mdp.S, dtype=np.int64)
    it_py = _policy_iteration_one.py_func(P, R, g, 1000, TIE_RTOL, V_py, pi_py)
    # same loops, but the jitted np.linalg.solve and NumPy's may order LAPACK work differently:
    # compare policies exactly and values to LU round-off (backward-stable solve of the
    # diagonally dominant I - gamma P_pi, condition number <= (1+g)/(1-g) [Higham 2002, §9]).
    assert it > 0 and it == it_py
    np.testing.assert_array_equal(pi, pi_py)
    scale = (np.abs(R).max() + 1.0) / (1.0 - g)
    lu = 8 * FP(mdp.S) * scale * (1 + g) / (1 - g)
    np.testing.assert_allclose(V, V_py, rtol=0, atol=lu)
    # NumPy one-liners: V is the value of the returned policy, and no action beats it by more
    # than the kernel's tie threshold TIE_RTOL (1 + max|Q|) (Howard's stopping rule)
    s = np.arange(mdp.S)
    V_np = np.linalg.solve(np.eye(mdp.S) - g * P[s, pi], R[s, pi])
    np.testing.assert_allclose(V, V_np, rtol=0, atol=2 * lu)
    Q_np = R + g * np.einsum("sat,t->sa", P, V)
    fp = FP(mdp.S) * (np.abs(R).max() + np.abs(V).max())
    assert np.all(Q_np.max(axis=1) <= Q_np[s, pi] + TIE_RTOL * (1 + np.abs(Q_np).max()) + 2 * fp)
    # The kernel stops when no action beats the current one by more than
    # thr = TIE_RTOL (1 + max|Q|), so V^pi >= V* - thr / (1 - gamma); dp's V is within its
    # certified error_bound of V*.
    sol = rls.dp.policy_iteration(mdp)
    assert sol.converged
    thr = TIE_RTOL * (1 + np.abs(sol.Q).max()) / (1 - g)
    np.testing.assert_allclose(V, sol.V, rtol=0, atol=sol.error_bound + thr + lu)


@given(tabular_mdps(S=(1, 4), A=(1, 3), gamma=(0.05, 0.95)))
def test_value_iteration_one_matches_py_func_and_dp(mdp):
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    eps = 1e-6
    tol = eps * (1 - g) / (2 * g)
    V, pi = np.zeros(mdp.S), np.zeros(mdp.S, dtype=np.int64)
    it, diff = _value_iteration_one(P, R, g, tol, 100_000, V, pi)
    V_py, pi_py = np.zeros(mdp.S), np.zeros(mdp.S, dtype=np.int64)
    it_py, diff_py = _value_iteration_one.py_func(P, R, g, tol, 100_000, V_py, pi_py)
    assert (it, diff) == (it_py, diff_py) and it > 0 and diff < tol
    np.testing.assert_array_equal(V, V_py)
    np.testing.assert_array_equal(pi, pi_py)
    # NumPy one-liner V <- max_a (R + gamma P V), the same number of sweeps: each sweep adds at
    # most one backup's round-off, damped by gamma afterwards (sum <= fp / (1 - gamma))
    W = np.zeros(mdp.S)
    for _ in range(it):
        W = (R + g * np.einsum("sat,t->sa", P, W)).max(axis=1)
    fp = FP(mdp.S) * (np.abs(R).max() + np.abs(V).max())
    np.testing.assert_allclose(V, W, rtol=0, atol=fp / (1 - g))
    # dp.value_iteration runs the same recursion (it calls _bellman_max_dense) from the same
    # V_0 = 0 with the same threshold: same sweeps, bitwise-equal values
    sol = rls.dp.value_iteration(mdp, eps=eps)
    assert sol.iterations == it
    np.testing.assert_array_equal(V, sol.V)


# ----------------------------------------------------------------- batch kernels
@st.composite
def batches(draw, N=(1, 4), S=(1, 4), A=(1, 3)):
    """N models of one shape (S, A), each with its own gamma."""
    S, A, N = draw(st.integers(*S)), draw(st.integers(*A)), draw(st.integers(*N))
    return [draw(tabular_mdps(S=S, A=A, gamma=(0.0, 0.95))) for _ in range(N)]


def _stack(models):
    return (np.stack([m.dense_P() for m in models]), np.stack([m.R for m in models]),
            np.array([m.gamma for m in models]))


@given(batches())
def test_policy_iteration_batch_matches_per_model_pi(models):
    P, R, g = _stack(models)
    N, S = R.shape[:2]
    V, pi, it = np.empty((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64)
    _policy_iteration_batch(P, R, g, 1000, TIE_RTOL, V, pi, it)
    V_py, pi_py, it_py = np.empty((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64)
    _policy_iteration_batch.py_func(P, R, g, 1000, TIE_RTOL, V_py, pi_py, it_py)
    # the Python loop calls the same compiled per-model kernel: bitwise equal
    np.testing.assert_array_equal(V, V_py)
    np.testing.assert_array_equal(pi, pi_py)
    np.testing.assert_array_equal(it, it_py)
    for n, mdp in enumerate(models):
        sol = rls.dp.policy_iteration(mdp)
        one_V, one_pi = np.empty(S), np.zeros(S, dtype=np.int64)
        # the batch starts each model from the greedy policy of max_a R, as dp.policy_iteration
        _greedy_on_max_reward(P[n], R[n], g[n], np.empty(S), np.empty(R.shape[1:]), one_pi)
        # ...that is, a maximiser of R + gamma P max_a R, up to the summation order (FP)
        Q0 = R[n] + g[n] * P[n] @ R[n].max(axis=1)
        slack = FP(S) * 2 * np.abs(R[n]).max()          # |Q0| <= (1 + gamma) max|R|
        assert (Q0[np.arange(S), one_pi] >= Q0.max(axis=1) - slack).all()
        assert _policy_iteration_one(P[n], R[n], g[n], 1000, TIE_RTOL, one_V, one_pi) == it[n]
        np.testing.assert_array_equal(V[n], one_V)       # prange slot n = the serial call
        np.testing.assert_array_equal(pi[n], one_pi)
        # dp.policy_iteration (scipy LU, NumPy improvement) vs the kernel: dp's V is within its
        # certified error_bound of V*; the kernel's V^pi within thr / (1 - gamma) of V* (its tie
        # threshold, see above) plus LU round-off.
        lu = 8 * FP(S) * (np.abs(R[n]).max() + 1) * (1 + g[n]) / (1 - g[n]) ** 2
        thr = TIE_RTOL * (1 + np.abs(sol.Q).max()) / (1 - g[n])
        np.testing.assert_allclose(V[n], sol.V, rtol=0, atol=sol.error_bound + thr + lu)


@given(batches())
def test_value_iteration_batch_matches_per_model_vi(models):
    P, R, g = _stack(models)
    N, S = R.shape[:2]
    eps = 1e-6
    with np.errstate(over="ignore"):      # subnormal gamma: the threshold is +inf
        tol = np.where(g > 0, eps * (1 - g) / (2 * np.where(g > 0, g, 1)), np.inf)
    out = [np.zeros((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64),
           np.zeros(N)]
    _value_iteration_batch(P, R, g, tol, 100_000, *out)
    out_py = [np.zeros((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64),
              np.zeros(N)]
    _value_iteration_batch.py_func(P, R, g, tol, 100_000, *out_py)
    for a, b in zip(out, out_py):
        np.testing.assert_array_equal(a, b)
    V, _, it, diff = out
    assert np.all(it > 0) and np.all(diff < tol)
    for n, mdp in enumerate(models):
        sol = rls.dp.value_iteration(mdp, eps=eps)
        # same recursion from V_0 = 0 and the same stopping rule: same sweep count, values
        # equal up to the per-sweep reordering of sums between kernel and dp (none here: dp
        # calls the same dense kernel), so bitwise.
        assert sol.iterations == it[n]
        np.testing.assert_array_equal(V[n], sol.V)


@given(batches())
def test_solve_batch_public_matches_kernels(models):
    P, R, g = _stack(models)
    out = rls.solve_batch(P, R, g, method="pi")
    N, S = R.shape[:2]
    V, pi, it = np.empty((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64)
    _policy_iteration_batch(P, R, g, 10_000, TIE_RTOL, V, pi, it)
    np.testing.assert_array_equal(out.V, V)
    np.testing.assert_array_equal(out.policy, pi)
    np.testing.assert_array_equal(out.iterations, it)
    assert out.converged.all()
