"""Every fast path returns what its reference path returns (issue 4). No timings here.

Reference paths and what "the same" means:

* Bellman sums (dense and CSR, serial and ``*_par``): the documented order of
  :mod:`rlsandbox.kernels.bellman`, each ``Q[s, a]`` summed over s' in increasing order from
  0.0 (:func:`reference_q` does exactly that with NumPy, one s' at a time), so **bitwise**;
  plus ``np.einsum`` within the summation bound ``FP``.
* Threads: ``numba.set_num_threads(1)`` and ``(2)`` give **bitwise** equal results (no float is
  accumulated across parallel iterations).
* Solvers: :func:`rlsandbox.dp.value_iteration` against the Python loop it replaced
  (**bitwise**: iterations, V, bound); parallel and serial dispatch (**bitwise** Solutions).
* Dense evaluation: LAPACK getrf/getrs on ``eye(S) - gamma P_pi`` (what
  ``scipy.linalg.solve`` runs), **bitwise**.
* LU factorisations that replace LAPACK or SuperLU (the in-kernel LU of the batch solver,
  the static-pattern sparse LU): within ``lu_err``, the forward-error bound of a backward-
  stable LU of ``M = I - gamma P_pi`` used in tests/test_properties.py: backward error
  ``|dM| <= gamma_{3S} rho |L||U|`` with growth ``rho <= 2`` (partial pivoting on a diagonally
  dominant matrix [Higham 2002, Thm 9.4, §9.5]; no pivoting on a row diagonally dominant one
  [Higham 2002, Thm 9.9]), ``||M^{-1}||_inf <= 1/(1 - gamma)``, ``||M||_inf <= 2``; two such
  solves differ by at most ``2 lu_err``. Their ``.py_func`` runs the same loops: **bitwise**.
"""
from __future__ import annotations

import contextlib

import numba
import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from hypothesis import given, settings, strategies as st

import rlsandbox as rls
import rlsandbox.dp.discounted as disc
from rlsandbox.dp import TIE_RTOL
from rlsandbox.kernels import average as KA, bellman as K, finite as KF
from rlsandbox.testing import tabular_mdps

U = np.finfo(np.float64).eps / 2
TWO_THREADS = numba.config.NUMBA_NUM_THREADS >= 2


def gam(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u)."""
    return n * U / (1 - n * U)


def FP(S: int) -> float:
    """Two evaluations of the same S-term sum plus reward and discount, in different orders,
    differ by at most 2 gamma_{S+2} (|R| + |V|) [Higham 2002, Lemma 3.1]; this is the factor."""
    return 2 * gam(S + 2)


def lu_err(R: np.ndarray, gamma: float, S: int) -> float:
    """Forward-error bound of an LU solve of (I - gamma P_pi) V = R_pi (module docstring)."""
    Vmax = float(np.abs(R).max()) / (1 - gamma) + 1.0
    return 8 * gam(3 * S) * Vmax / (1 - gamma)


@contextlib.contextmanager
def threads(n: int):
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(old)


def random_model(S: int, A: int, seed: int, *, zeros: float = 0.3):
    """Dense P (S, A, S) with about a ``zeros`` fraction of exact zeros per row, R in [-1, 1)."""
    rng = np.random.default_rng(seed)
    P = rng.random((S, A, S)) * (rng.random((S, A, S)) >= zeros)
    P[:, :, 0] += (P.sum(axis=2) == 0)          # no empty row
    P /= P.sum(axis=2, keepdims=True)
    return P, rng.uniform(-1, 1, size=(S, A))


def csr_parts(P: np.ndarray):
    S, A, _ = P.shape
    M = sp.csr_array(P.reshape(S * A, S))
    return M.data, M.indices, M.indptr


def reference_q(P: np.ndarray, R: np.ndarray, V: np.ndarray, gamma: float) -> np.ndarray:
    """Q[s, a] = R + gamma * (((0 + P[s,a,0] V[0]) + P[s,a,1] V[1]) + ...), in that order."""
    acc = np.zeros(R.shape)
    for t in range(P.shape[2]):
        acc += P[:, :, t] * V[t]
    return R + gamma * acc


def reference_max(Q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """max over actions and the lowest index attaining it (NumPy's argmax rule)."""
    return Q.max(axis=1), Q.argmax(axis=1)


# rows shorter and longer than ROW_STREAM; S = 67 and 130 leave remainders after the groups of
# four states of _q_span_dense (whole span and chunks of CHUNK = 16)
SIZES = [(1, 1), (3, 2), (17, 3), (40, 7), (67, 5), (130, 4)]


# ------------------------------------------------------------------ Bellman kernels
@pytest.mark.parametrize("S, A", SIZES)
@pytest.mark.parametrize("seed", [0, 1])
def test_dense_and_csr_operators_match_reference_order_bitwise(S, A, seed):
    P, R = random_model(S, A, seed)
    V = np.random.default_rng(seed + 100).uniform(-50, 50, S)
    g = 0.93
    Q_ref = reference_q(P, R, V, g)
    TV_ref, pi_ref = reference_max(Q_ref)
    data, idx, ptr = csr_parts(P)
    for fn_max, fn_q, args in [(K._bellman_max_dense, K._q_dense, (P,)),
                               (K._bellman_max_dense_par, K._q_dense_par, (P,)),
                               (K._bellman_max_csr, K._q_csr, (data, idx, ptr)),
                               (K._bellman_max_csr_par, K._q_csr_par, (data, idx, ptr))]:
        TV, pi = np.full(S, np.nan), np.full(S, -1, dtype=np.int64)
        fn_max(*args, R, V, g, TV, pi)
        Q = np.full((S, A), np.nan)
        fn_q(*args, R, V, g, Q)
        np.testing.assert_array_equal(Q, Q_ref, err_msg=fn_q.__name__)
        np.testing.assert_array_equal(TV, TV_ref, err_msg=fn_max.__name__)
        np.testing.assert_array_equal(pi, pi_ref, err_msg=fn_max.__name__)
    # and the reference order itself is a correct sum: einsum within the summation bound
    tol = FP(S) * (np.abs(R).max() + g * np.abs(V).max())
    np.testing.assert_allclose(Q_ref, R + g * np.einsum("sat,t->sa", P, V), rtol=0, atol=tol)


@pytest.mark.parametrize("S, A, H", [(3, 2, 2), (67, 5, 3), (130, 4, 2)])
def test_finite_horizon_kernels_match_reference_order_bitwise(S, A, H):
    """Backward induction and finite-horizon evaluation, serial and ``*_par``: each step's Q is
    the reference order with gamma = 1 on P[h] and V[h+1]."""
    rng = np.random.default_rng(S + A + H)
    parts = [random_model(S, A, int(seed)) for seed in rng.integers(0, 2**31, H)]
    Pf, Rf = np.stack([p for p, _ in parts]), np.stack([r for _, r in parts])
    pi = rng.dirichlet(np.ones(A), size=(H, S))
    for fn in (KF._backward_induction, KF._backward_induction_par):
        V, Q, pol = np.empty((H + 1, S)), np.empty((H, S, A)), np.empty((H, S), dtype=np.int64)
        fn(Pf, Rf, V, Q, pol)
        assert not V[H].any()
        for h in range(H):
            Q_ref = reference_q(Pf[h], Rf[h], V[h + 1], 1.0)
            V_ref, pi_ref = reference_max(Q_ref)
            np.testing.assert_array_equal(Q[h], Q_ref, err_msg=fn.__name__)
            np.testing.assert_array_equal(V[h], V_ref, err_msg=fn.__name__)
            np.testing.assert_array_equal(pol[h], pi_ref, err_msg=fn.__name__)
    V, Q = np.empty((H + 1, S)), np.empty((H, S, A))
    KF._evaluate_finite(Pf, Rf, pi, V, Q)
    for h in range(H):
        Q_ref = reference_q(Pf[h], Rf[h], V[h + 1], 1.0)
        np.testing.assert_array_equal(Q[h], Q_ref)
        V_ref = np.zeros(S)
        for a in range(A):                      # the kernel's order: sum over a from 0.0
            V_ref = V_ref + pi[h, :, a] * Q_ref[:, a]
        np.testing.assert_array_equal(V[h], V_ref)


def test_csr_rows_of_every_short_length_match_reference_order_bitwise():
    """The CSR max kernels sum rows of 1 to 4 stored entries without a loop: rows of every
    length 1..7 (and with exact zeros stored), serial, ``*_par`` and the VI / RVI kernels."""
    rng = np.random.default_rng(11)
    S, A = 90, 5
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            n = 1 + (s * A + a) % 7                          # every length 1..7
            cols = rng.choice(S, size=n, replace=False)
            P[s, a, cols] = rng.random(n) + 0.1
    P /= P.sum(axis=2, keepdims=True)
    R = rng.uniform(-1, 1, (S, A))
    V = rng.uniform(-20, 20, S)
    data, idx, ptr = csr_parts(P)
    assert set(np.diff(ptr)) == set(range(1, 8))
    TV_ref, pi_ref = reference_max(reference_q(P, R, V, 0.9))
    for fn in (K._bellman_max_csr, K._bellman_max_csr_par):
        TV, pi = np.empty(S), np.empty(S, dtype=np.int64)
        fn(data, idx, ptr, R, V, 0.9, TV, pi)
        np.testing.assert_array_equal(TV, TV_ref, err_msg=fn.__name__)
        np.testing.assert_array_equal(pi, pi_ref, err_msg=fn.__name__)
    # whole solvers: the CSR VI / RVI kernels against the dense ones (same reference order)
    Vd, pid = np.zeros(S), np.empty(S, dtype=np.int64)
    Vc, pic = np.zeros(S), np.empty(S, dtype=np.int64)
    it_d, diff_d, _ = K._vi_dense_ae(P, R, 0.9, 1e-9, 10_000, 1e-9, Vd, pid)   # + rows computed
    assert (it_d, diff_d) == K._value_iteration_csr(data, idx, ptr, R, 0.9, 1e-9, 10_000, Vc, pic)
    np.testing.assert_array_equal(Vd, Vc)
    np.testing.assert_array_equal(pid, pic)


@given(tabular_mdps(S=(1, 6), A=(1, 4), gamma=(0.0, 0.99)), st.data())
@settings(max_examples=50, deadline=None)
def test_row_kernels_match_py_func_and_reference(mdp, data):
    P, R, g = mdp.dense_P(), mdp.R, mdp.gamma
    V = np.asarray(data.draw(st.lists(st.floats(-100, 100), min_size=mdp.S, max_size=mdp.S)))
    Q_ref = reference_q(P, R, V, g)
    Q = np.empty((mdp.S, mdp.A))
    K._q_dense.py_func(P, R, V, g, Q)
    np.testing.assert_array_equal(Q, Q_ref)
    for s in range(mdp.S):
        row = np.empty(mdp.A)
        K._q_row_dense(P, R, V, g, s, row)
        np.testing.assert_array_equal(row, Q_ref[s])
        best, arg = K._argmax_row(Q_ref[s])
        assert (best, arg) == (Q_ref[s].max(), Q_ref[s].argmax())


@pytest.mark.skipif(not TWO_THREADS, reason="needs 2 Numba threads")
@pytest.mark.parametrize("S, A", [(130, 4), (257, 3)])
def test_parallel_kernels_do_not_depend_on_thread_count(S, A):
    P, R = random_model(S, A, 7)
    V = np.random.default_rng(8).uniform(-5, 5, S)
    data, idx, ptr = csr_parts(P)
    results = []
    for n in (1, 2):
        with threads(n):
            TV, pi, Q = np.empty(S), np.empty(S, dtype=np.int64), np.empty((S, A))
            K._bellman_max_dense_par(P, R, V, 0.9, TV, pi)
            K._q_dense_par(P, R, V, 0.9, Q)
            TVc, pic, Qc = np.empty(S), np.empty(S, dtype=np.int64), np.empty((S, A))
            K._bellman_max_csr_par(data, idx, ptr, R, V, 0.9, TVc, pic)
            K._q_csr_par(data, idx, ptr, R, V, 0.9, Qc)
            Vd, pid = np.zeros(S), np.empty(S, dtype=np.int64)
            it = K._vi_dense_ae_par(P, R, 0.9, 1e-9, 10_000, 1e-9, Vd, pid)
            Vc, pisc = np.zeros(S), np.empty(S, dtype=np.int64)
            itc = K._value_iteration_csr_par(data, idx, ptr, R, 0.9, 1e-9, 10_000, Vc, pisc)
            wd, pwd = np.zeros(S), np.empty(S, dtype=np.int64)
            itw = KA._rvi_dense_ae_par(P, R, 0.5, 1e-9, 10_000, 0, 1e-9, wd, pwd)
            wc, pwc = np.zeros(S), np.empty(S, dtype=np.int64)
            itwc = KA._rvi_csr_par(data, idx, ptr, R, 0.5, 1e-9, 10_000, 0, wc, pwc)
            Pf, Rf = np.stack([P, P[::-1]]), np.stack([R, -R])          # H = 2, non-stationary
            Vf, Qf, pif = np.empty((3, S)), np.empty((2, S, A)), np.empty((2, S), dtype=np.int64)
            KF._backward_induction_par(Pf, Rf, Vf, Qf, pif)
            results.append((TV, pi, Q, TVc, pic, Qc, it, Vd, pid, itc, Vc, pisc,
                            itw, wd, pwd, itwc, wc, pwc, Vf, Qf, pif))
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif(not TWO_THREADS, reason="needs 2 Numba threads")
def test_batch_solvers_do_not_depend_on_thread_count():
    rng = np.random.default_rng(3)
    N, S, A = 37, 6, 3
    P = rng.dirichlet(np.ones(S), size=(N, S, A))
    R = rng.random((N, S, A))
    outs = []
    for n in (1, 2):
        with threads(n):
            outs.append([rls.solve_batch(P, R, 0.9, method=m) for m in ("pi", "vi")])
    for a, b in zip(*outs):
        for f in ("V", "policy", "iterations", "converged", "error_bound"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    # the serial and parallel batch-PI kernels (dispatched on the batch's work)
    res = []
    for fn in (K._policy_iteration_batch, K._policy_iteration_batch_par):
        V, pi, it = np.zeros((N, S)), np.zeros((N, S), dtype=np.int64), np.zeros(N, dtype=np.int64)
        fn(P, R, np.full(N, 0.9), 10_000, TIE_RTOL, V, pi, it)
        res.append((V, pi, it))
    for a, b in zip(*res):
        np.testing.assert_array_equal(a, b)


def test_stream_sum_matches_numpy():
    x = np.random.default_rng(0).random(100_003)
    parts = np.empty(7)
    K._stream_sum(x, parts)
    parts_py = np.empty(7)
    K._stream_sum.py_func(x, parts_py)
    np.testing.assert_array_equal(parts, parts_py)
    # a sum of n non-negative terms in any order is within gamma_{n-1} sum|x| of the exact one
    assert abs(parts.sum() - x.sum()) <= 2 * gam(x.size) * x.sum()


# ---------------------------------------------------------------- value iteration
def vi_reference(P, R, gamma, eps, max_iter, V0=None):
    """The Python loop dp.value_iteration ran before its loop moved into a kernel."""
    S = R.shape[0]
    tol = eps * (1 - gamma) / (2 * gamma) if gamma > 0 else np.inf
    V = np.zeros(S) if V0 is None else V0.copy()
    diff, k = np.inf, 0
    for k in range(1, max_iter + 1):
        TV, _ = reference_max(reference_q(P, R, V, gamma))
        diff = float(np.max(np.abs(TV - V)))
        V = TV
        if diff < tol:
            break
    return V, k, diff < tol, gamma / (1 - gamma) * diff


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("S, A, gamma, eps, max_iter",
                         [(1, 1, 0.5, 1e-8, 1000), (12, 3, 0.9, 1e-4, 10_000),
                          (40, 5, 0.95, 1e-3, 10_000), (25, 2, 0.95, 1e-12, 30),
                          (9, 4, 0.0, 1e-3, 5)])
def test_value_iteration_matches_the_python_loop(monkeypatch, sparse, parallel, S, A, gamma,
                                                 eps, max_iter):
    monkeypatch.setattr(disc, "PARALLEL_WORK", 0 if parallel else 1 << 62)
    P, R = random_model(S, A, S)
    mdp = rls.TabularMDP(sp.csr_array(P.reshape(S * A, S)) if sparse else P, R, gamma)
    V0 = np.linspace(-1, 1, S)
    for start in (None, V0):
        sol = rls.dp.value_iteration(mdp, eps=eps, max_iter=max_iter, V0=start)
        V, k, converged, bound = vi_reference(P, R, gamma, eps, max_iter, start)
        assert (sol.iterations, sol.converged) == (k, converged)
        np.testing.assert_array_equal(sol.V, V)
        # the certificate adds its float allowance to the same gamma/(1-gamma) * diff
        fp = 2.0 * S * np.finfo(float).eps * (np.abs(R).max() + np.abs(V).max()) / (1 - gamma)
        assert sol.error_bound == min(bound, sol.residual / (1 - gamma)) + fp


def tied_model(S: int, A: int, seed: int):
    """A model whose action 1 duplicates action 0 (exact ties in every state), so the
    lowest-index tie rule is exercised, plus a few near-duplicate actions."""
    P, R = random_model(S, A, seed)
    P[:, 1], R[:, 1] = P[:, 0], R[:, 0]
    if A > 3:
        R[:, 3] = R[:, 2] + 1e-13
        P[:, 3] = P[:, 2]
    return P, R


@pytest.mark.parametrize("model", ["random", "tied"])
@pytest.mark.parametrize("S, A, gamma, eps", [(1, 2, 0.5, 1e-8), (8, 3, 0.9, 1e-10),
                                              (70, 5, 0.95, 1e-8), (150, 4, 0.99, 1e-6)])
def test_action_elimination_gives_the_full_sweeps_iterates(model, S, A, gamma, eps):
    P, R = (random_model if model == "random" else tied_model)(S, A, S + A)
    tol = eps * (1 - gamma) / (2 * gamma)
    V_ref, pi_ref = np.zeros(S), np.zeros(S, dtype=np.int64)
    it_ref, diff_ref = K._value_iteration_one(P, R, gamma, tol, 100_000, V_ref, pi_ref)
    runs = [(n, fn) for n in ((1, 2) if TWO_THREADS else (1,))
            for fn in (K._vi_dense_ae, K._vi_dense_ae_par)]
    for n, fn in runs:
        with threads(n):
            V, pi = np.zeros(S), np.empty(S, dtype=np.int64)
            it, diff, rows = fn(P, R, gamma, tol, 100_000, 1e-9, V, pi)
        assert (it, diff) == (it_ref, diff_ref)
        np.testing.assert_array_equal(V, V_ref)
        np.testing.assert_array_equal(pi, pi_ref)
        assert S * it <= rows <= S * A * it
    V, pi = np.zeros(S), np.empty(S, dtype=np.int64)
    assert K._vi_dense_ae.py_func(P, R, gamma, tol, 100_000, 1e-9, V, pi)[:2] == \
        (it_ref, diff_ref)
    np.testing.assert_array_equal(V, V_ref)


def test_action_elimination_skips_rows_on_a_model_with_clear_gaps():
    """The fast path is taken, not just correct: on a random model with gamma = 0.9 the
    remaining drift gamma^k / (1 - gamma) falls below the action gaps long before eps = 1e-8
    is reached, so most sweeps compute one action per state."""
    P, R = random_model(60, 6, 3)
    tol = 1e-8 * 0.1 / 1.8
    V, pi = np.zeros(60), np.empty(60, dtype=np.int64)
    it, _, rows = K._vi_dense_ae(P, R, 0.9, tol, 100_000, 1e-9, V, pi)
    assert rows < 0.5 * 60 * 6 * it


@pytest.mark.parametrize("model", ["random", "tied"])
@pytest.mark.parametrize("S, A, tau, eps", [(1, 2, 0.5, 1e-8), (8, 3, 0.5, 1e-12),
                                            (70, 5, 0.9, 1e-10), (150, 4, 1.0, 1e-9)])
def test_rvi_action_elimination_gives_the_full_sweeps_iterates(model, S, A, tau, eps):
    """Relative VI: the eliminating kernels return bitwise the iterates, span, sweep count
    and greedy policy of the full sweeps (``_rvi_dense``), serial and on two threads."""
    P, R = (random_model if model == "random" else tied_model)(S, A, 2 * S + A)
    w_ref, pi_ref = np.zeros(S), np.zeros(S, dtype=np.int64)
    it_ref, sp_ref = KA._rvi_dense(P, R, tau, eps, 5_000, 0, w_ref, pi_ref)
    runs = [(n, fn) for n in ((1, 2) if TWO_THREADS else (1,))
            for fn in (KA._rvi_dense_ae, KA._rvi_dense_ae_par)]
    for n, fn in runs:
        with threads(n):
            w, pi = np.zeros(S), np.empty(S, dtype=np.int64)
            it, sp_, rows = fn(P, R, tau, eps, 5_000, 0, 1e-9, w, pi)
        assert (it, sp_) == (it_ref, sp_ref)
        np.testing.assert_array_equal(w, w_ref)
        np.testing.assert_array_equal(pi, pi_ref)
        assert S * abs(it) <= rows <= S * A * abs(it)
    w, pi = np.zeros(S), np.empty(S, dtype=np.int64)
    assert KA._rvi_dense_ae.py_func(P, R, tau, eps, 5_000, 0, 1e-9, w, pi)[:2] == (it_ref, sp_ref)
    np.testing.assert_array_equal(w, w_ref)


def test_rvi_action_elimination_skips_rows_on_a_model_with_clear_gaps():
    """The fast path is taken, not just correct: on a random dense model the relative values
    settle geometrically, so after a few sweeps most states compute one action."""
    P, R = random_model(60, 6, 5, zeros=0.0)
    w, pi = np.zeros(60), np.empty(60, dtype=np.int64)
    it, _, rows = KA._rvi_dense_ae(P, R, 0.5, 1e-12, 10_000, 0, 1e-9, w, pi)
    assert it > 0 and rows < 0.5 * 60 * 6 * it


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_parallel_and_serial_dispatch_give_identical_solutions(monkeypatch, sparse):
    P, R = random_model(60, 4, 11)
    mdp = rls.TabularMDP(sp.csr_array(P.reshape(240, 60)) if sparse else P, R, 0.95)
    V = np.random.default_rng(2).uniform(-3, 3, 60)
    out = {}
    for par in (False, True):
        monkeypatch.setattr(disc, "PARALLEL_WORK", 0 if par else 1 << 62)
        out[par] = ([rls.solve(mdp, method=m) for m in ("vi", "pi", "mpi")],
                    rls.q_values(mdp, V), rls.bellman_optimality(mdp, V))
    for a, b in zip(out[False][0], out[True][0]):
        for f in ("V", "Q", "policy", "optimal_actions", "iterations", "converged",
                  "error_bound", "residual"):
            np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    np.testing.assert_array_equal(out[False][1], out[True][1])
    for a, b in zip(out[False][2], out[True][2]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_average_and_finite_horizon_parallel_dispatch_is_bitwise_serial(monkeypatch, sparse):
    """Relative VI and backward induction: the ``*_par`` kernels (forced by a zero work
    threshold) return bitwise the serial kernels' results."""
    import rlsandbox.dp.finite_horizon as fhm
    from rlsandbox.dp.average import relative_value_iteration
    P, R = random_model(60, 4, 12, zeros=0.0)          # all entries positive: communicating
    mdp = rls.TabularMDP(sp.csr_array(P.reshape(240, 60)) if sparse else P, R, 1.0)
    fh = rls.FiniteHorizonMDP(np.stack([P, P[::-1], P]), np.stack([R, -R, 2 * R]))
    out = {}
    for par in (False, True):
        monkeypatch.setattr(disc, "PARALLEL_WORK", 0 if par else 1 << 62)
        monkeypatch.setattr(fhm, "PARALLEL_WORK", 0 if par else 1 << 62)
        out[par] = (relative_value_iteration(mdp, eps=1e-11), rls.solve(fh))
    (a, fa), (b, fb) = out[False], out[True]
    for f in ("gain", "bias", "policy", "Q", "iterations", "residual"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    for f in ("V", "Q", "policy", "optimal_actions"):
        np.testing.assert_array_equal(getattr(fa, f), getattr(fb, f))


@pytest.mark.parametrize("seed", range(3))
def test_union_support_kernel_matches_numpy(seed):
    P, _ = random_model(23, 3, seed, zeros=0.8)
    P[0, :, 5] = 0.0
    P[0, 1, 5] = 5e-324                       # a subnormal entry is still an edge
    want = (P > 0).any(axis=1)
    for fn in (KA._union_support_dense, KA._union_support_dense.py_func):
        got = np.zeros((23, 23), dtype=bool)
        fn(P, got)
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------- dense evaluation
@pytest.mark.parametrize("S, A, gamma", [(1, 1, 0.5), (5, 2, 0.0), (37, 3, 0.9), (300, 4, 0.99)])
def test_dense_evaluation_matrix_and_solve_match_lapack_reference(S, A, gamma):
    P, R = random_model(S, A, S + 1)
    mdp = rls.TabularMDP(P, R, gamma)
    pi = np.random.default_rng(S).integers(0, A, size=S)
    # the matrix: bitwise eye(S) - gamma P_pi, with P_pi from the one-hot einsum of mdp.P_pi
    Mt, r = np.full((S, S), np.nan), np.full(S, np.nan)
    K._eval_matrix_dense(mdp.P, mdp.R, pi, gamma, Mt, r)
    M_ref = np.eye(S) - gamma * mdp.P_pi(mdp.policy(pi))
    np.testing.assert_array_equal(Mt.T, M_ref)
    np.testing.assert_array_equal(r, mdp.R_pi(mdp.policy(pi)))
    # the solve: getrf/getrs on that matrix (scipy's lu_factor/lu_solve), bitwise
    V_ref = scipy.linalg.lu_solve(scipy.linalg.lu_factor(M_ref), r)
    V = rls.evaluate(mdp, pi)
    np.testing.assert_array_equal(V, V_ref)
    # the modified-PI gather P[s, pi[s], :] is what mdp.P_pi's one-hot einsum returns
    np.testing.assert_array_equal(mdp.P[np.arange(S), pi], mdp.P_pi(mdp.policy(pi)))


# ------------------------------------------------------------ small in-kernel LU
@pytest.mark.parametrize("S", [1, 2, 7, 31])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_small_lu_matches_lapack_and_py_func(S, seed):
    P, R = random_model(S, 1, seed)
    g = 0.97
    M = np.eye(S) - g * P[:, 0, :]
    b = R[:, 0].copy()
    out = {}
    for name, fac, sol in [("jit", K._lu_factor, K._lu_solve),
                           ("py", K._lu_factor.py_func, K._lu_solve.py_func)]:
        LU, piv, x = M.copy(), np.empty(S, dtype=np.int64), b.copy()
        fac(LU, piv)
        sol(LU, piv, x)
        out[name] = (LU, piv, x)
    for a, c in zip(out["jit"], out["py"]):
        np.testing.assert_array_equal(a, c)
    x = out["jit"][2]
    np.testing.assert_allclose(x, scipy.linalg.solve(M, b), rtol=0, atol=2 * lu_err(R, g, S))
    # the factors reproduce the row-permuted matrix (backward stability, same bound's terms)
    LU, piv = out["jit"][:2]
    L, Uf = np.tril(LU, -1) + np.eye(S), np.triu(LU)
    Mp = M.copy()
    for k, p in enumerate(piv):
        Mp[[k, p]] = Mp[[p, k]]
    np.testing.assert_allclose(L @ Uf, Mp, rtol=0, atol=4 * gam(3 * S) * 2)


@given(st.integers(1, 6), st.integers(0, 10**6))
@settings(max_examples=30, deadline=None)
def test_batch_pi_matches_per_model_exact_pi(N, seed):
    rng = np.random.default_rng(seed)
    S, A = int(rng.integers(1, 8)), int(rng.integers(1, 4))
    P = rng.dirichlet(np.ones(S), size=(N, S, A))
    R = rng.uniform(-1, 1, size=(N, S, A))
    g = rng.uniform(0, 0.97, size=N)
    out = rls.solve_batch(P, R, g, method="pi")
    for n in range(N):
        sol = rls.dp.policy_iteration(rls.TabularMDP(P[n], R[n], g[n]))
        # continuous random models have a unique optimum: same policy; values: both within
        # lu_err of V^pi, plus each stop rule's tie allowance (see tests/test_kernels.py)
        np.testing.assert_array_equal(out.policy[n], sol.policy)
        thr = TIE_RTOL * (1 + np.abs(sol.Q).max()) / (1 - g[n])
        np.testing.assert_allclose(out.V[n], sol.V, rtol=0,
                                   atol=2 * lu_err(R[n], g[n], S) + sol.error_bound + thr)


# -------------------------------------------------------- static-pattern sparse LU
def brute_force_fill(pattern: np.ndarray) -> np.ndarray:
    """Boolean Gaussian elimination without pivoting: the pattern of L + U."""
    F = pattern.copy()
    n = F.shape[0]
    for k in range(n):
        rows = np.flatnonzero(F[k + 1:, k]) + k + 1
        cols = np.flatnonzero(F[k, k + 1:]) + k + 1
        F[np.ix_(rows, cols)] = True
    return F


@pytest.mark.parametrize("seed", range(6))
def test_symbolic_lu_matches_brute_force_elimination(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    B = rng.random((n, n)) < rng.uniform(0.05, 0.3)
    G = B | B.T | np.eye(n, dtype=bool)
    Gs = sp.csr_array(G.astype(float))
    Gs.sort_indices()
    ptr, idx = Gs.indptr.astype(np.int64), Gs.indices.astype(np.int64)
    Lp, Li, Up, Ui = K._symbolic_lu(ptr, idx)
    for a, b in zip((Lp, Li, Up, Ui), K._symbolic_lu.py_func(ptr, idx)):
        np.testing.assert_array_equal(a, b)
    F = brute_force_fill(G)
    for i in range(n):
        np.testing.assert_array_equal(Li[Lp[i]:Lp[i + 1]], np.flatnonzero(F[i, :i]))
        np.testing.assert_array_equal(Ui[Up[i]:Up[i + 1]], np.flatnonzero(F[i, i + 1:]) + i + 1)


def _static_lu_solve(mdp, pi, perm):
    """Factorise with the kernels under the given permutation; returns (V, factors)."""
    S, A, P = mdp.S, mdp.A, mdp.P
    state = np.repeat(np.arange(S * A), np.diff(P.indptr)) // A
    G = sp.csr_array((np.ones(P.nnz), (state, P.indices)), shape=(S, S))
    G = (G + G.T + sp.identity(S, format="csr")).tocsr()
    Gp = G[perm][:, perm].tocsr()
    Gp.sort_indices()
    Lp, Li, Up, Ui = K._symbolic_lu(Gp.indptr.astype(np.int64), Gp.indices.astype(np.int64))
    pinv = np.empty(S, dtype=np.int64)
    pinv[perm] = np.arange(S)
    out = {}
    for name, num, sol in [("jit", K._lu_numeric, K._lu_solve_perm),
                           ("py", K._lu_numeric.py_func, K._lu_solve_perm.py_func)]:
        Lx, Ux, Ud, w = np.empty(Li.size), np.empty(Ui.size), np.empty(S), np.zeros(S)
        num(P.data, P.indices, P.indptr, A, pi, mdp.gamma, perm, pinv, Lp, Li, Up, Ui,
            Lx, Ux, Ud, w)
        assert not w.any()                     # the work vector is left all zero
        V = np.empty(S)
        sol(mdp.R, pi, perm, Lp, Li, Lx, Up, Ui, Ux, Ud, V)
        out[name] = (V, Lx, Ux, Ud)
    for a, b in zip(out["jit"], out["py"]):
        np.testing.assert_array_equal(a, b)
    return out["jit"]


@pytest.mark.parametrize("seed", range(4))
def test_static_sparse_lu_matches_superlu_under_any_permutation(seed):
    rng = np.random.default_rng(seed)
    S, A, g = int(rng.integers(2, 40)), int(rng.integers(1, 4)), float(rng.uniform(0.5, 0.99))
    P, R = random_model(S, A, seed, zeros=0.8)
    mdp = rls.TabularMDP(sp.csr_array(P.reshape(S * A, S)), R, g)
    for _ in range(3):
        pi = rng.integers(0, A, size=S)
        P_pi = mdp.P_pi(mdp.policy(pi))
        V_ref = spla.splu(sp.identity(S, format="csc") - g * P_pi.tocsc()).solve(mdp.R_pi(pi))
        for perm in (np.arange(S), np.arange(S)[::-1].copy(), rng.permutation(S)):
            V, *_ = _static_lu_solve(mdp, pi, perm.astype(np.int64))
            np.testing.assert_allclose(V, V_ref, rtol=0, atol=2 * lu_err(R, g, S))
        # the class used by policy_iteration (SuperLU's minimum-degree ordering)
        np.testing.assert_allclose(disc._StaticLU(mdp).solve(pi), V_ref, rtol=0,
                                   atol=2 * lu_err(R, g, S))


def test_static_lu_ordering_is_superlus_minimum_degree():
    """_StaticLU takes SuperLU's MMD(A^T + A) ordering from an incomplete LU that drops every
    off-diagonal entry (no numeric work); on the bench's grid family it is the ordering of the
    complete factorisation, so the fill (and the run time it decides) is that ordering's."""
    from rlsandbox.bench import slippery_grid
    P, R, g, terminal = slippery_grid(12)
    mdp = rls.TabularMDP(P, R, g, terminal=terminal)
    lu = disc._StaticLU(mdp)
    G = disc._union_pattern(mdp)
    # the union pattern itself: every stored entry of every action, both directions, diagonal
    Pd = mdp.P.toarray().reshape(mdp.S, mdp.A, mdp.S).sum(axis=1) > 0
    np.testing.assert_array_equal(G.toarray() > 0, Pd | Pd.T | np.eye(mdp.S, dtype=bool))
    full = spla.splu((sp.identity(mdp.S, format="csc") * 10.0 - G).tocsc(),
                     permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                     options={"SymmetricMode": True})
    np.testing.assert_array_equal(lu.perm, np.argsort(full.perm_c))


@pytest.mark.parametrize("case", ["random", "gridworld"])
def test_sparse_policy_iteration_matches_superlu_policy_iteration(case):
    if case == "random":
        P, R = random_model(50, 3, 5, zeros=0.9)
        dense = rls.TabularMDP(P, R, 0.95)
    else:
        layout = "S....#....\n.##.....X.\n....#.....\n.#....##.G"
        dense = rls.mdps.gridworld(layout, slip=0.2, step_reward=-0.04, gamma=0.97)
    mdp = dense.replace(P=dense.csr_P())
    sol = rls.dp.policy_iteration(mdp)
    # the reference: the same Howard PI with SuperLU evaluation (what it ran before), from the
    # documented start: the greedy policy of V0 = max_a R (lowest index on ties)
    Q0 = mdp.R + mdp.gamma * (mdp.csr_P() @ mdp.R.max(axis=1)).reshape(mdp.S, mdp.A)
    pi, k = np.argmax(Q0, axis=1).astype(np.int64), 0
    for k in range(1, 1000):
        V = spla.splu(sp.identity(mdp.S, format="csc") - mdp.gamma *
                      mdp.P_pi(pi).tocsc()).solve(mdp.R_pi(pi))
        new = disc._improve(disc._q(mdp, V), pi)
        if np.array_equal(new, pi):
            break
        pi = new
    assert sol.converged and sol.iterations == k
    np.testing.assert_array_equal(sol.policy, disc._certify(mdp, V, method="pi", iterations=k,
                                                            converged=True).policy)
    np.testing.assert_allclose(sol.V, V, rtol=0, atol=2 * lu_err(mdp.R, mdp.gamma, mdp.S))
    # and the dense model (LAPACK evaluation) reaches the same optimum
    dsol = rls.dp.policy_iteration(dense)
    np.testing.assert_array_equal(dsol.policy, sol.policy)
    np.testing.assert_allclose(dsol.V, sol.V, rtol=0, atol=2 * lu_err(mdp.R, mdp.gamma, mdp.S))


# ---------------------------------------------------------------------- the bench
def test_bench_instances_and_usage_errors():
    from rlsandbox import bench
    P, R, gamma, terminal = bench.slippery_grid(4)
    mdp = rls.TabularMDP(P, R, gamma, terminal=terminal)     # validates rows and terminals
    assert (mdp.S, mdp.A) == (16, 4) and terminal.sum() == 1
    with pytest.raises(ValueError, match="at least 5 timed runs"):
        bench.run(repeats=3)
    with pytest.raises(ValueError, match="unknown workload 'nope'"):
        bench.run(only=["nope"])
    from rlsandbox.cli import main
    assert main(["bench", "--repeats", "2"]) == 64


def test_bench_evaluation_workload_checks_its_answers():
    """The quick evaluation workload compares rlsandbox.evaluate with LAPACK gesv inside
    (an AssertionError if they disagree); only the presence of a row is asserted here."""
    from rlsandbox import bench
    rows, skipped = bench.run(quick=True, only=["evaluation"])
    assert not skipped and [r.workload for r in rows] == ["4 evaluation"]


def test_stream_bandwidth_times_blocks_of_calls(monkeypatch):
    """Each timed run of ``stream_bandwidth`` is ``block`` back-to-back calls (after one
    warm-up call), and the time reported is per call, not per block."""
    import time
    from rlsandbox import bench
    monkeypatch.setattr(bench, "PAUSE", 0.0)
    calls = []
    d = 0.02

    def probe():
        calls.append(1)
        time.sleep(d)

    out = bench.stream_bandwidth(np.ones(1000), 5, also={"probe": probe}, block=3)
    assert len(calls) == 1 + 5 * 3
    # time.sleep(d) lasts at least d; a block's time not divided by 3 would be >= 3 d
    assert d <= out["probe"] < 2 * d
