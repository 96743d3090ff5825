"""Bellman-operator kernels (dense ``(S, A, S)`` and CSR ``(S*A, S)``), private.

No validation: callers pass C-contiguous float64 arrays of consistent shapes (int32 or int64
index arrays, as scipy.sparse stores them). Greedy ties go to the lowest action index (strict
``>`` when scanning actions in order).

Summation order is part of the contract. Every action value is

    Q[s, a] = R[s, a] + gamma * q,   q = (((0 + P[s,a,0] V[0]) + P[s,a,1] V[1]) + ...)

summed from 0.0 over s' in increasing order (CSR: over the stored entries, whose column
indices are sorted). Adding an exact zero does not change a float sum, so dense and CSR
kernels give bitwise-equal results on the same model. The fast paths keep this order:

* whole sweeps compute the rows of four states together (:func:`_q_span_dense`,
  :func:`_q_rows4_dense`): four running sums, each over its own block ``P[s]`` read front to
  back, so the loop has four independent dependency chains and four sequential memory
  streams (bound by memory, not by the latency of one chain; P out of cache, A = 10, sweeps
  back to back: 22 -> 33 GB/s on two threads at S = 2000, 9 -> 24 GB/s serial at S = 200);
* row helpers are inlined into their callers (``inline="always"``), so the loops over states
  pay no call overhead;
* dense value iteration skips actions whose Q is provably below the current best
  (:func:`_vi_dense_ae`, action elimination with rigorous round-off margins; relative value
  iteration does the same in :mod:`rlsandbox.kernels.average`): it reads a fraction of P per
  sweep, computes the surviving rows of a few states together (:func:`_q_pairs_dense`: long
  rows streamed together, 4 terms of each running sum per step) and returns bitwise the
  iterates of the full sweeps;
* ``*_par`` twins split the *states* over threads (``prange`` over chunks of states); each
  state writes only its own slots and no float is accumulated across threads, so results
  are bitwise independent of the thread count (STYLE.md §4);
* :func:`_policy_iteration_one` (tiny batched models) solves with an in-kernel LU with
  partial pivoting (:func:`_lu_factor`), the algorithm of LAPACK ``dgetf2``, which avoids the
  per-call overhead of ``np.linalg.solve`` on 10 x 10 systems;
* sparse policy iteration factorises ``I - gamma P_pi`` on a static fill pattern computed
  once per model (:func:`_symbolic_lu`, :func:`_lu_numeric`, :func:`_lu_solve_perm`): the
  sparsity of ``P_pi`` changes with pi only within the union pattern of all actions, and
  ``I - gamma P_pi`` is strictly diagonally dominant by rows for gamma < 1, so Gaussian
  elimination without pivoting is stable with growth factor at most 2 [higham2002, Thm 9.9]
  and a symmetric fill-reducing permutation can be fixed in advance.

References: [puterman2005] M. L. Puterman, Markov Decision Processes, Wiley 2005 (§6.7.2,
action elimination); [macqueen1967] J. MacQueen, A test for suboptimal actions in Markovian
decision problems, Operations Research 15(3), 1967; [higham2002] N. J. Higham, Accuracy and
Stability of Numerical Algorithms, 2nd ed., SIAM 2002; [davis2006] T. A. Davis, Direct
Methods for Sparse Linear Systems, SIAM 2006.
"""
from __future__ import annotations

import numpy as np
from numba import prange

from rlsandbox.kernels import kernel

#: States per parallel work item in the ``*_par`` kernels (static split over threads).
CHUNK = 16
#: Row length from which dense rows are summed several at a time (memory-bound regime: the
#: four-state groups of ``_q_span_dense``, the streamed batches of ``_q_pairs_dense``);
#: shorter rows are summed one action at a time, which is faster in cache. Same results.
ROW_STREAM = 64


# ----------------------------------------------------------------------- row kernels
# The row helpers are inlined into their callers at Numba-IR level (inline="always"): a call
# between compiled functions passes its arrays with reference counting, which costs more than
# the work of a short row. Indices read from memory (CSR columns, permutations) are used as
# np.uintp: Numba wraps negative signed indices around, a check per access that halves the
# speed of a CSR row loop; unsigned indices skip it (every index here is >= 0).
@kernel(inline="always")
def _q_row_dense(P, R, V, gamma, s, out_row):
    """out_row[a] = R[s, a] + gamma sum_s' P[s, a, s'] V[s'] for all a (reference order).

    One state alone, one action at a time: whole sweeps go through :func:`_q_span_dense`,
    which leaves this kernel at most three states per span.
    """
    A = P.shape[1]
    S_next = P.shape[2]
    for a in range(A):
        q = 0.0
        for t in range(S_next):
            q += P[s, a, t] * V[t]
        out_row[a] = R[s, a] + gamma * q


@kernel(inline="always")
def _q_rows4_dense(P, R, V, gamma, s0, s1, s2, s3, out_Q, off):
    """out_Q[s_i - off, a] for four states s_0..s_3 and all a, each row in reference order.

    Four running sums, one per state, advance together over s': four independent
    dependency chains, each reading its own block ``P[s_i]`` front to back (four sequential
    memory streams, which the hardware prefetchers follow; streaming the A rows of one state
    block together instead makes A short streams when the rows are short, which ran at a
    third of the memory bandwidth once P is out of cache).
    """
    A = P.shape[1]
    S_next = P.shape[2]
    for a in range(A):
        q0 = 0.0
        q1 = 0.0
        q2 = 0.0
        q3 = 0.0
        for t in range(S_next):
            v = V[t]
            q0 += P[s0, a, t] * v
            q1 += P[s1, a, t] * v
            q2 += P[s2, a, t] * v
            q3 += P[s3, a, t] * v
        out_Q[s0 - off, a] = R[s0, a] + gamma * q0
        out_Q[s1 - off, a] = R[s1, a] + gamma * q1
        out_Q[s2 - off, a] = R[s2, a] + gamma * q2
        out_Q[s3 - off, a] = R[s3, a] + gamma * q3


@kernel(inline="always")
def _q_span_dense(P, R, V, gamma, lo, hi, out_Q, off):
    """Rows out_Q[s - off] of the states lo <= s < hi (reference order, bitwise ``_q_row_dense``).

    States are taken four at a time a quarter of the span apart (``lo + j``, ``lo + m + j``,
    ... with ``m = (hi - lo) // 4``), so each of :func:`_q_rows4_dense`'s streams runs through
    a quarter of the span's blocks in order; the remainder one state at a time.
    """
    m = (hi - lo) // 4
    for j in range(m):
        _q_rows4_dense(P, R, V, gamma, lo + j, lo + m + j, lo + 2 * m + j, lo + 3 * m + j,
                       out_Q, off)
    for s in range(lo + 4 * m, hi):
        _q_row_dense(P, R, V, gamma, s, out_Q[s - off])


@kernel(inline="always")
def _argmax_row(q):
    """(max, lowest argmax) of a 1-D array, scanning in order with strict ``>``."""
    best = -np.inf
    arg = 0
    for a in range(q.shape[0]):
        if q[a] > best:
            best = q[a]
            arg = a
    return best, arg


@kernel(inline="always")
def _qmax_dense_state(P, R, V, gamma, s):
    """(max_a Q[s, a], lowest argmax) for one state of a dense model, no scratch (short rows)."""
    A = P.shape[1]
    S_next = P.shape[2]
    best = -np.inf
    arg = 0
    for a in range(A):
        q = 0.0
        for t in range(S_next):
            q += P[s, a, t] * V[t]
        q = R[s, a] + gamma * q
        if q > best:
            best = q
            arg = a
    return best, arg


@kernel(inline="always")
def _qmax_csr_state(data, indices, indptr, R, V, gamma, s):
    """(max_a Q[s, a], lowest argmax) for one state of a CSR model (reference order)."""
    A = R.shape[1]
    best = -np.inf
    arg = 0
    one = np.uintp(1)
    two = np.uintp(2)
    three = np.uintp(3)
    k = np.uintp(indptr[s * A])     # rows s*A .. s*A + A - 1 are consecutive: each row's end
    for a in range(A):              # is the next one's start (A + 1 loads of indptr, not 2A)
        end = np.uintp(indptr[s * A + a + 1])
        n = end - k
        q = 0.0
        # rows of 1 to 4 entries (gridworlds, few-successor models) without loop control: a
        # sweep over such rows is bound by its instruction count (98 -> 83 us per sweep of
        # the 10,000-state slippery grid); the same additions in the same order. (Written
        # here, not in a helper: an inlined helper with this many branches keeps the
        # reference counting of its array arguments inside the loop, 10x slower.)
        if n == three:
            q += data[k] * V[np.uintp(indices[k])]
            q += data[k + one] * V[np.uintp(indices[k + one])]
            q += data[k + two] * V[np.uintp(indices[k + two])]
        elif n == np.uintp(4):
            q += data[k] * V[np.uintp(indices[k])]
            q += data[k + one] * V[np.uintp(indices[k + one])]
            q += data[k + two] * V[np.uintp(indices[k + two])]
            q += data[k + three] * V[np.uintp(indices[k + three])]
        elif n == two:
            q += data[k] * V[np.uintp(indices[k])]
            q += data[k + one] * V[np.uintp(indices[k + one])]
        elif n == one:
            q += data[k] * V[np.uintp(indices[k])]
        else:
            while k < end:
                q += data[k] * V[np.uintp(indices[k])]
                k += one
        k = end
        q = R[s, a] + gamma * q
        better = q > best           # as a select, not a branch: the argmax is unpredictable
        best = q if better else best
        arg = a if better else arg
    return best, arg


@kernel(inline="always")
def _q_row_csr(data, indices, indptr, R, V, gamma, s, out_row):
    """out_row[a] = Q[s, a] for one state of a CSR model (reference order)."""
    A = R.shape[1]
    k = np.uintp(indptr[s * A])
    for a in range(A):
        q = 0.0
        end = np.uintp(indptr[s * A + a + 1])
        while k < end:
            q += data[k] * V[np.uintp(indices[k])]
            k += np.uintp(1)
        out_row[a] = R[s, a] + gamma * q


# ------------------------------------------------------------------ operators, serial
@kernel(inline="always")
def _bellman_max_dense(P, R, V, gamma, out_V, out_pi):
    """out_V[s] = max_a R[s,a] + gamma sum_s' P[s,a,s'] V[s']; out_pi = lowest argmax."""
    S, A = R.shape
    if P.shape[2] >= ROW_STREAM:
        Q = np.empty((S, A))
        _q_span_dense(P, R, V, gamma, 0, S, Q, 0)
        for s in range(S):
            best, arg = _argmax_row(Q[s])
            out_V[s] = best
            out_pi[s] = arg
        return
    for s in range(S):
        best, arg = _qmax_dense_state(P, R, V, gamma, s)
        out_V[s] = best
        out_pi[s] = arg


@kernel(inline="always")
def _bellman_max_csr(data, indices, indptr, R, V, gamma, out_V, out_pi):
    """Sparse twin of ``_bellman_max_dense``; row ``s*A + a`` of the CSR kernel is P[s, a, :]."""
    S = R.shape[0]
    for s in range(S):
        best, arg = _qmax_csr_state(data, indices, indptr, R, V, gamma, s)
        out_V[s] = best
        out_pi[s] = arg


@kernel
def _q_dense(P, R, V, gamma, out_Q):
    """out_Q[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] V[s']."""
    _q_span_dense(P, R, V, gamma, 0, R.shape[0], out_Q, 0)


@kernel
def _q_csr(data, indices, indptr, R, V, gamma, out_Q):
    """Sparse twin of ``_q_dense``."""
    S = R.shape[0]
    for s in range(S):
        _q_row_csr(data, indices, indptr, R, V, gamma, s, out_Q[s])


# --------------------------------------------------------------- operators, parallel
@kernel(parallel=True)
def _bellman_max_dense_par(P, R, V, gamma, out_V, out_pi):
    """``_bellman_max_dense`` with states split over threads (bitwise-equal results)."""
    S, A = R.shape
    n_chunks = (S + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        lo = c * CHUNK
        hi = min(S, lo + CHUNK)
        Q = np.empty((CHUNK, A))
        _q_span_dense(P, R, V, gamma, lo, hi, Q, lo)
        for s in range(lo, hi):
            best, arg = _argmax_row(Q[s - lo])
            out_V[s] = best
            out_pi[s] = arg


@kernel(parallel=True)
def _bellman_max_csr_par(data, indices, indptr, R, V, gamma, out_V, out_pi):
    """``_bellman_max_csr`` with states split over threads (bitwise-equal results)."""
    S = R.shape[0]
    n_chunks = (S + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        for s in range(c * CHUNK, min(S, (c + 1) * CHUNK)):
            best, arg = _qmax_csr_state(data, indices, indptr, R, V, gamma, s)
            out_V[s] = best
            out_pi[s] = arg


@kernel(parallel=True)
def _q_dense_par(P, R, V, gamma, out_Q):
    """``_q_dense`` with states split over threads (bitwise-equal results)."""
    S = R.shape[0]
    n_chunks = (S + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        _q_span_dense(P, R, V, gamma, c * CHUNK, min(S, (c + 1) * CHUNK), out_Q, 0)


@kernel(parallel=True)
def _q_csr_par(data, indices, indptr, R, V, gamma, out_Q):
    """``_q_csr`` with states split over threads (bitwise-equal results)."""
    S = R.shape[0]
    n_chunks = (S + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        for s in range(c * CHUNK, min(S, (c + 1) * CHUNK)):
            _q_row_csr(data, indices, indptr, R, V, gamma, s, out_Q[s])


# ------------------------------------------------------------------ value iteration
@kernel(inline="always")
def _sup_diff_copy(W, V):
    """Returns max_s |W[s] - V[s]| (:func:`_sup_diff`) and copies W into V."""
    diff = _sup_diff(W, V)
    for s in range(V.shape[0]):
        V[s] = W[s]
    return diff


@kernel
def _value_iteration_one(P, R, gamma, tol, max_iter, out_V, out_pi):
    """VI on one dense MDP from out_V; stops when ||V_k - V_{k-1}||_inf < tol.

    Leaves V_k in out_V, the greedy policy w.r.t. V_{k-1} in out_pi, and returns
    (iterations, last sup-norm difference); iterations is negative if max_iter ran out.
    """
    S = P.shape[0]
    W = np.empty(S)
    diff = np.inf
    for it in range(1, max_iter + 1):
        _bellman_max_dense(P, R, out_V, gamma, W, out_pi)
        diff = _sup_diff_copy(W, out_V)
        if diff < tol:
            return it, diff
    return -max_iter, diff


@kernel
def _value_iteration_csr(data, indices, indptr, R, gamma, tol, max_iter, out_V, out_pi):
    """CSR twin of ``_value_iteration_one``."""
    S = R.shape[0]
    W = np.empty(S)
    diff = np.inf
    for it in range(1, max_iter + 1):
        _bellman_max_csr(data, indices, indptr, R, out_V, gamma, W, out_pi)
        diff = _sup_diff_copy(W, out_V)
        if diff < tol:
            return it, diff
    return -max_iter, diff


@kernel(parallel=True)
def _value_iteration_csr_par(data, indices, indptr, R, gamma, tol, max_iter, out_V, out_pi):
    """``_value_iteration_csr`` with each sweep's states split over threads (bitwise-equal).

    The sweep is written here, not called: a cached serial kernel calling a parallel one
    can crash when loaded from Numba's cache (numba/numba#8578).
    """
    S = R.shape[0]
    W = np.empty(S)
    diff = np.inf
    n_chunks = (S + CHUNK - 1) // CHUNK
    for it in range(1, max_iter + 1):
        for c in prange(n_chunks):
            for s in range(c * CHUNK, min(S, (c + 1) * CHUNK)):
                best, arg = _qmax_csr_state(data, indices, indptr, R, out_V, gamma, s)
                W[s] = best
                out_pi[s] = arg
        diff = _sup_diff_copy(W, out_V)
        if diff < tol:
            return it, diff
    return -max_iter, diff


# ------------------------------------------------- value iteration, action elimination
#: States whose rows the eliminating sweeps compute together (independent running sums, so a
#: sweep that keeps one action per state is bound by memory, not by one addition chain).
AE_GROUP = 4
#: Most rows streamed at once by :func:`_q_pairs_dense` (more streams than the prefetchers
#: follow only slow the loop down).
AE_BATCH = 16


@kernel(inline="always")
def _q_pairs_dense(P, R, V, gamma, ss, aa, lo, hi, out):
    """out[i] = R[ss[i], aa[i]] + gamma sum_s' P[ss[i], aa[i], s'] V[s'] for lo <= i < hi.

    Any set of (state, action) rows in the reference order of each: long rows streamed
    together (one running sum per row, 4 terms each per step), short rows one at a time.
    """
    S_next = P.shape[2]
    if S_next < ROW_STREAM or hi - lo == 1:
        for i in range(lo, hi):
            s = ss[i]
            a = aa[i]
            q = 0.0
            for t in range(S_next):
                q += P[s, a, t] * V[t]
            out[i] = R[s, a] + gamma * q
        return
    for i in range(lo, hi):
        out[i] = 0.0
    t = 0
    while t + 4 <= S_next:
        v0 = V[t]
        v1 = V[t + 1]
        v2 = V[t + 2]
        v3 = V[t + 3]
        for i in range(lo, hi):
            s = ss[i]
            a = aa[i]
            q = out[i]
            q += P[s, a, t] * v0
            q += P[s, a, t + 1] * v1
            q += P[s, a, t + 2] * v2
            q += P[s, a, t + 3] * v3
            out[i] = q
        t += 4
    while t < S_next:
        v = V[t]
        for i in range(lo, hi):
            out[i] += P[ss[i], aa[i], t] * v
        t += 1
    for i in range(lo, hi):
        out[i] = R[ss[i], aa[i]] + gamma * out[i]


@kernel(inline="always")
def _q_pairs_batched(P, R, V, gamma, ss, aa, n, out):
    """:func:`_q_pairs_dense` over rows 0..n-1, at most ``AE_BATCH`` rows at a time."""
    for lo in range(0, n, AE_BATCH):
        _q_pairs_dense(P, R, V, gamma, ss, aa, lo, min(n, lo + AE_BATCH), out)


@kernel(inline="always")
def _ae_states(P, R, V, gamma, lo, hi, C, margin, Q_last, C_last, pi, ss, aa, q, out_V):
    """Eliminating backup of states lo..hi-1 into out_V and pi; returns the rows computed.

    For each group of ``AE_GROUP`` states: first v0 = Q[s, a0] of every state's previous
    greedy action a0 = pi[s] (computed together), then, together, every other action whose
    upper bound ``Q_last[s, a] + gamma (C - C_last[s, a]) + margin`` is not below its state's
    v0 (see ``_vi_dense_ae``). A skipped action's value would be strictly below v0, so it
    changes neither the max nor the lowest argmax. Q_last = +inf marks a row never computed.
    Scratch: ss, aa (AE_GROUP * A,) int64, q (AE_GROUP * A,).
    """
    A = R.shape[1]
    rows = 0
    for g in range(lo, hi, AE_GROUP):
        g_hi = min(hi, g + AE_GROUP)
        n = 0
        for s in range(g, g_hi):
            ss[n] = s
            aa[n] = pi[s]
            n += 1
        _q_pairs_dense(P, R, V, gamma, ss, aa, 0, n, q)
        for i in range(n):
            s = ss[i]
            Q_last[s, aa[i]] = q[i]
            C_last[s, aa[i]] = C
            out_V[s] = q[i]
        m = 0
        for s in range(g, g_hi):
            a0 = pi[s]
            v0 = out_V[s]
            for a in range(A):
                if a != a0 and not (Q_last[s, a] + gamma * (C - C_last[s, a]) + margin < v0):
                    ss[m] = s
                    aa[m] = a
                    m += 1
        _q_pairs_batched(P, R, V, gamma, ss, aa, m, q)
        for i in range(m):
            s = ss[i]
            a = aa[i]
            v = q[i]
            Q_last[s, a] = v
            C_last[s, a] = C
            if v > out_V[s] or (v == out_V[s] and a < pi[s]):   # lowest-index maximiser
                out_V[s] = v
                pi[s] = a
        rows += n + m
    return rows


@kernel(inline="always")
def _ae_margin(S, R_max, V_max, gamma, C, it, row_sum_tol):
    """Round-off allowance of the elimination test (derivation in ``_vi_dense_ae``)."""
    u = 1.1102230246251565e-16                       # unit round-off 2^-53
    n = S + 2
    gamma_n = n * u / (1.0 - n * u)
    return 8.0 * gamma_n * (R_max + 2.0 * V_max) + \
        gamma * C * (4.0 * row_sum_tol + 8.0 * (it + 4) * u)


@kernel(inline="always")
def _abs_max(X):
    """max |X| over a 2-D array (0 if empty)."""
    m = 0.0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            m = max(m, abs(X[i, j]))
    return m


@kernel(inline="always")
def _abs_max_update(m, V):
    """max(m, max_s |V[s]|) for a 1-D array V."""
    for s in range(V.shape[0]):
        m = max(m, abs(V[s]))
    return m


@kernel(inline="always")
def _ae_start(R, V, out_pi):
    """A fresh elimination state: (Q_last (S, A) = +inf, i.e. never computed and never
    skipped; C_last (S, A) = 0; max|R|; max|V|), with out_pi set to action 0."""
    S, A = R.shape
    for s in range(S):
        out_pi[s] = 0
    return np.full((S, A), np.inf), np.zeros((S, A)), _abs_max(R), _abs_max_update(0.0, V)


@kernel(inline="always")
def _sup_diff(W, V):
    """max_s |W[s] - V[s]| (a max is order-free)."""
    diff = 0.0
    for s in range(V.shape[0]):
        d = abs(W[s] - V[s])
        if d > diff:
            diff = d
    return diff


@kernel
def _sweep_dense_ae(P, R, V, gamma, C, margin, Q_last, C_last, pi, out_V):
    """One eliminating sweep (:func:`_ae_states`) over all states; returns the rows computed.
    (Serial only: see ``_vi_dense_ae_par`` for the parallel sweep.)"""
    S, A = R.shape
    ss = np.empty(AE_GROUP * A, dtype=np.int64)
    aa = np.empty(AE_GROUP * A, dtype=np.int64)
    q = np.empty(AE_GROUP * A)
    return _ae_states(P, R, V, gamma, 0, S, C, margin, Q_last, C_last, pi, ss, aa, q, out_V)


@kernel
def _vi_dense_ae(P, R, gamma, tol, max_iter, row_sum_tol, out_V, out_pi):
    """Value iteration with action elimination; the same iterates as ``_value_iteration_one``.

    Sweep k computes V_{k+1}(s) = max_a Q_k(s, a) with Q_k = R + gamma P V_k. An action whose
    Q was last computed at sweep k0 obeys, exactly,

        |Q_k(s, a) - Q_k0(s, a)| <= gamma ||P[s, a]||_1 ||V_k - V_k0||_inf
                                 <= gamma (1 + row_sum_tol) sum_{j=k0+1..k} d_j,

    d_j = ||V_j - V_{j-1}||_inf, accumulated in C [puterman2005, §6.7.2: bounds for action
    elimination; macqueen1967]. So any Q_k(s, a) is at most ``Q_last(s, a) + gamma (C -
    C_last(s, a))``; when that upper bound, plus ``margin``, is below the computed Q_k(s, a0)
    of the previous greedy action a0, the computed Q_k(s, a) would be strictly below it too:
    skipping a cannot change the max or the lowest-index argmax, so V_{k+1}, the differences
    d and the sweep count are bitwise those of the full sweep.

    ``margin`` (:func:`_ae_margin`) = 8 gamma_{S+2} (max|R| + 2 max_j ||V_j||) + gamma C
    (4 row_sum_tol + 8 (k + 4) u), at least twice what the test needs: each computed Q is
    within gamma_{S+2} (|R| + ||V||) of its exact value [higham2002, eq. (3.5)] and two of
    them enter the test (the stored Q_last and the compared v0), with the rounding of the
    test's own additions; then the rounding of the running sum C, of d_j and of C - C_last
    (each a relative u per operation), and rows summing to 1 only within row_sum_tol.

    Leaves V_k in out_V and the greedy policy w.r.t. V_{k-1} in out_pi; returns (iterations,
    last difference, rows computed), iterations negative if max_iter ran out.
    """
    S, A = R.shape
    W = np.empty(S)
    Q_last, C_last, R_max, V_max = _ae_start(R, out_V, out_pi)
    C = 0.0
    diff = np.inf
    rows = 0
    for it in range(1, max_iter + 1):
        margin = _ae_margin(S, R_max, V_max, gamma, C, it, row_sum_tol)
        rows += _sweep_dense_ae(P, R, out_V, gamma, C, margin, Q_last, C_last, out_pi, W)
        diff = _sup_diff_copy(W, out_V)
        V_max = _abs_max_update(V_max, out_V)
        C += diff
        if diff < tol:
            return it, diff, rows
    return -max_iter, diff, rows


@kernel(parallel=True)
def _vi_dense_ae_par(P, R, gamma, tol, max_iter, row_sum_tol, out_V, out_pi):
    """``_vi_dense_ae`` with each sweep's states split over threads (bitwise-equal results).

    Every state updates only its own slots (W[s], pi[s], Q_last[s], C_last[s]) and counts
    its rows in its chunk's slot; the sweep is written here, not called, because a cached
    serial kernel calling a parallel one can crash when loaded from Numba's cache
    (numba/numba#8578).
    """
    S, A = R.shape
    W = np.empty(S)
    Q_last, C_last, R_max, V_max = _ae_start(R, out_V, out_pi)
    n_chunks = (S + CHUNK - 1) // CHUNK
    rows_chunk = np.zeros(n_chunks, dtype=np.int64)
    C = 0.0
    diff = np.inf
    for it in range(1, max_iter + 1):
        margin = _ae_margin(S, R_max, V_max, gamma, C, it, row_sum_tol)
        for c in prange(n_chunks):
            ss = np.empty(AE_GROUP * A, dtype=np.int64)
            aa = np.empty(AE_GROUP * A, dtype=np.int64)
            q = np.empty(AE_GROUP * A)
            rows_chunk[c] += _ae_states(P, R, out_V, gamma, c * CHUNK, min(S, (c + 1) * CHUNK),
                                        C, margin, Q_last, C_last, out_pi, ss, aa, q, W)
        diff = _sup_diff_copy(W, out_V)
        V_max = _abs_max_update(V_max, out_V)
        C += diff
        if diff < tol:
            return it, diff, rows_chunk.sum()
    return -max_iter, diff, rows_chunk.sum()


@kernel(parallel=True)
def _value_iteration_batch(P, R, gamma, tol, max_iter, out_V, out_pi, out_iter, out_diff):
    """VI on N independent dense MDPs; per-MDP stopping threshold tol[n]."""
    N = P.shape[0]
    for n in prange(N):
        it, diff = _value_iteration_one(P[n], R[n], gamma[n], tol[n], max_iter, out_V[n], out_pi[n])
        out_iter[n] = it
        out_diff[n] = diff


# ------------------------------------------------------------- dense LU, small systems
@kernel(inline="always")
def _lu_factor(M, piv):
    """In-place LU with partial pivoting, ``M[piv-swapped] = L U`` (LAPACK ``dgetf2``).

    Row-oriented right-looking elimination; ``piv[k]`` is the row swapped with row k at
    step k. L (unit diagonal) is stored below the diagonal, U on and above it. M must be
    nonsingular (callers pass I - gamma P_pi, gamma < 1).
    """
    n = M.shape[0]
    for k in range(n):
        p = k
        big = abs(M[k, k])
        for i in range(k + 1, n):
            if abs(M[i, k]) > big:
                big = abs(M[i, k])
                p = i
        piv[k] = p
        if p != k:
            for j in range(n):
                tmp = M[k, j]
                M[k, j] = M[p, j]
                M[p, j] = tmp
        d = M[k, k]
        for i in range(k + 1, n):
            l = M[i, k] / d
            M[i, k] = l
            if l != 0.0:
                for j in range(k + 1, n):
                    M[i, j] -= l * M[k, j]


@kernel(inline="always")
def _lu_solve(M, piv, b):
    """Solve with the factors of :func:`_lu_factor`, in place on ``b`` (S,)."""
    n = M.shape[0]
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = b[k]
            b[k] = b[p]
            b[p] = tmp
    for i in range(n):
        acc = b[i]
        for j in range(i):
            acc -= M[i, j] * b[j]
        b[i] = acc
    for i in range(n - 1, -1, -1):
        acc = b[i]
        for j in range(i + 1, n):
            acc -= M[i, j] * b[j]
        b[i] = acc / M[i, i]


# -------------------------------------------------------------- policy iteration, batch
@kernel
def _policy_iteration_one(P, R, gamma, max_iter, tie_rtol, out_V, out_pi):
    """Howard PI on one dense MDP from out_pi's initial policy; returns iterations used.

    Evaluation solves (I - gamma P_pi) V = R_pi by LU with partial pivoting
    (:func:`_lu_factor`). The improvement step switches state s to the lowest-index maximiser
    only if it beats the current action by more than tie_rtol * (1 + max|Q|); this is what
    makes PI stop on ties instead of cycling. Returns -1 if max_iter improvements did not
    reach a fixed policy.
    """
    S, A, _ = P.shape
    M = np.empty((S, S))
    V = np.empty(S)
    piv = np.empty(S, dtype=np.int64)
    Q = np.empty((S, A))
    for it in range(1, max_iter + 1):
        for s in range(S):
            a = out_pi[s]
            for s2 in range(S):
                M[s, s2] = -gamma * P[s, a, s2]
            M[s, s] += 1.0
            V[s] = R[s, a]
        _lu_factor(M, piv)
        _lu_solve(M, piv, V)
        _q_span_dense(P, R, V, gamma, 0, S, Q, 0)
        qmax = 0.0
        for s in range(S):
            for a in range(A):
                q = abs(Q[s, a])
                if q > qmax:
                    qmax = q
        thresh = tie_rtol * (1.0 + qmax)
        changed = False
        for s in range(S):
            best, arg = _argmax_row(Q[s])
            if best > Q[s, out_pi[s]] + thresh:
                out_pi[s] = arg
                changed = True
        for s in range(S):
            out_V[s] = V[s]
        if not changed:
            return it
    return -1


@kernel(inline="always")
def _greedy_on_max_reward(P, R, gamma, scratch_V, scratch_Q, out_pi):
    """out_pi = greedy policy w.r.t. V0(s) = max_a R[s, a] (lowest index on ties).

    The initial policy of Howard PI here and in ``dp.policy_iteration``; it is the default
    start of QuantEcon's ``DiscreteDP.policy_iteration`` as well [quantecon2024].
    Scratch: scratch_V (S,), scratch_Q (S, A).
    """
    S, A, _ = P.shape
    for s in range(S):
        best, _ = _argmax_row(R[s])
        scratch_V[s] = best
    _q_span_dense(P, R, scratch_V, gamma, 0, S, scratch_Q, 0)
    for s in range(S):
        _, arg = _argmax_row(scratch_Q[s])
        out_pi[s] = arg


@kernel(parallel=True)
def _policy_iteration_batch_par(P, R, gamma, max_iter, tie_rtol, out_V, out_pi, out_iter):
    """Howard PI on N independent MDPs P (N, S, A, S) from the greedy policy w.r.t. max_a R
    (:func:`_greedy_on_max_reward`); each n writes only its own slots."""
    N, S, A, _ = P.shape
    for n in prange(N):
        _greedy_on_max_reward(P[n], R[n], gamma[n], out_V[n], np.empty((S, A)), out_pi[n])
        out_iter[n] = _policy_iteration_one(P[n], R[n], gamma[n], max_iter, tie_rtol,
                                            out_V[n], out_pi[n])


@kernel
def _policy_iteration_batch(P, R, gamma, max_iter, tie_rtol, out_V, out_pi, out_iter):
    """Serial twin of ``_policy_iteration_batch_par`` (bitwise the same results)."""
    N, S, A, _ = P.shape
    scratch = np.empty((S, A))
    for n in range(N):
        _greedy_on_max_reward(P[n], R[n], gamma[n], out_V[n], scratch, out_pi[n])
        out_iter[n] = _policy_iteration_one(P[n], R[n], gamma[n], max_iter, tie_rtol,
                                            out_V[n], out_pi[n])


# ---------------------------------------------- dense policy-evaluation matrix (gather)
@kernel(inline="always")
def _eval_matrix_block(P, R, pi, gamma, b, out_Mt, out_r):
    """Columns 8b .. 8b+7 of out_Mt = (I - gamma P_pi)^T and the same entries of R_pi.

    Entry by entry the same expressions as ``eye(S) - gamma * P_pi`` (``0.0 - gamma p`` off
    the diagonal, ``1.0 - gamma p`` on it), so bitwise equal to it; only the rows
    P[s, pi[s], :] are read, and each output row gets one 64-byte line per block.
    """
    S = P.shape[0]
    lo = 8 * b
    hi = min(S, lo + 8)
    for t in range(S):
        for s in range(lo, hi):
            out_Mt[t, s] = 0.0 - gamma * P[s, pi[s], t]
    for s in range(lo, hi):
        out_Mt[s, s] = 1.0 - gamma * P[s, pi[s], s]
        out_r[s] = R[s, pi[s]]


@kernel
def _eval_matrix_dense(P, R, pi, gamma, out_Mt, out_r):
    """out_Mt = (I - gamma P_pi)^T, out_r = R_pi for a deterministic pi (S,), P (S, A, S).

    ``out_Mt`` (S, S) C-ordered is I - gamma P_pi in Fortran order, the layout LAPACK
    factorises in place (pass ``out_Mt.T``). Serial on purpose: it moves S^2 numbers, a few
    percent of the O(S^3) factorisation that follows, and a parallel region here would leave
    Numba's OpenMP threads spinning while LAPACK's own threads start.
    """
    for b in range((P.shape[0] + 7) // 8):
        _eval_matrix_block(P, R, pi, gamma, b, out_Mt, out_r)


# ----------------------------------------------------- sparse LU on a static pattern
@kernel
def _etree(indptr, indices):
    """Elimination tree of a structurally symmetric pattern (CSR, both triangles).

    parent[i] = -1 for roots. Liu's algorithm with path compression through ``ancestor``
    [davis2006, §4.1].
    """
    n = indptr.shape[0] - 1
    parent = np.full(n, -1, dtype=np.int64)
    ancestor = np.full(n, -1, dtype=np.int64)
    for i in range(n):
        for p in range(indptr[i], indptr[i + 1]):
            r = indices[p]
            if r >= i:
                continue
            while ancestor[r] != -1 and ancestor[r] != i:
                nxt = ancestor[r]
                ancestor[r] = i
                r = nxt
            if ancestor[r] == -1:
                ancestor[r] = i
                parent[r] = i
    return parent


@kernel
def _symbolic_lu(indptr, indices):
    """Fill pattern of the LU factors (no pivoting) of a structurally symmetric pattern.

    Returns ``(Lp, Li, Up, Ui)``: row ``i`` of the strictly lower factor L has its columns in
    ``Li[Lp[i]:Lp[i+1]]`` and row ``k`` of the strictly upper factor U in
    ``Ui[Up[k]:Up[k+1]]``, both sorted ascending. Row i of L is the row subtree of i in the
    elimination tree [davis2006, §4.2]; U's pattern is L's transpose.
    """
    n = indptr.shape[0] - 1
    parent = _etree(indptr, indices)
    mark = np.full(n, -1, dtype=np.int64)
    count = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        mark[i] = i
        for p in range(indptr[i], indptr[i + 1]):
            k = indices[p]
            while k < i and mark[k] != i:
                mark[k] = i
                count[i + 1] += 1
                k = parent[k]
    Lp = np.cumsum(count)
    Li = np.empty(Lp[n], dtype=np.int64)
    mark[:] = -1
    for i in range(n):
        mark[i] = i
        top = Lp[i]
        for p in range(indptr[i], indptr[i + 1]):
            k = indices[p]
            while k < i and mark[k] != i:
                mark[k] = i
                Li[top] = k
                top += 1
                k = parent[k]
        Li[Lp[i]:Lp[i + 1]] = np.sort(Li[Lp[i]:Lp[i + 1]])
    ucount = np.zeros(n + 1, dtype=np.int64)
    for p in range(Lp[n]):
        ucount[Li[p] + 1] += 1
    Up = np.cumsum(ucount)
    Ui = np.empty(Up[n], dtype=np.int64)
    nxt = Up[:n].copy()
    for i in range(n):
        for p in range(Lp[i], Lp[i + 1]):
            k = Li[p]
            Ui[nxt[k]] = i
            nxt[k] += 1
    return Lp, Li, Up, Ui


@kernel
def _lu_numeric(data, indices, indptr, A, pi, gamma, perm, pinv, Lp, Li, Up, Ui,
                out_Lx, out_Ux, out_Ud, w):
    """Numeric LU, without pivoting, of ``M = perm (I - gamma P_pi) perm^T`` on a static pattern.

    Row-oriented (IKJ) Doolittle elimination: row i of M is scattered into the dense work
    vector ``w`` (S,), all zeros on entry and on exit, then for k in L's row pattern in
    increasing order ``L[i, k] = w[k] / U[k, k]`` and ``w -= L[i, k] U[k, :]``. Row i of M
    (old state s = perm[i], CSR row s*A + pi[s]) is formed with the same expressions as
    ``I - gamma P_pi``: ``1.0 - gamma p`` on the diagonal, ``-(gamma p)`` elsewhere. The
    pattern (``_symbolic_lu`` of the union of all actions' patterns under ``perm``) contains
    every entry of M and of its factors, whatever pi is.
    """
    n = perm.shape[0]
    one = np.uintp(1)
    for i in range(n):
        s = perm[i]
        row = s * A + pi[s]
        w[i] = 1.0
        p = np.uintp(indptr[row])
        end = np.uintp(indptr[row + 1])
        while p < end:
            w[np.uintp(pinv[np.uintp(indices[p])])] -= gamma * data[p]
            p += one
        p = np.uintp(Lp[i])
        end = np.uintp(Lp[i + 1])
        while p < end:
            k = np.uintp(Li[p])
            l = w[k] / out_Ud[k]
            out_Lx[p] = l
            w[k] = 0.0
            if l != 0.0:
                q = np.uintp(Up[k])
                q_end = np.uintp(Up[k + one])
                while q < q_end:
                    w[np.uintp(Ui[q])] -= l * out_Ux[q]
                    q += one
            p += one
        out_Ud[i] = w[i]
        w[i] = 0.0
        q = np.uintp(Up[i])
        q_end = np.uintp(Up[i + 1])
        while q < q_end:
            j = np.uintp(Ui[q])
            out_Ux[q] = w[j]
            w[j] = 0.0
            q += one


@kernel
def _lu_solve_perm(R, pi, perm, Lp, Li, Lx, Up, Ui, Ux, Ud, out_V):
    """Solve ``(I - gamma P_pi) V = R_pi`` with the factors of ``_lu_numeric``; V into out_V."""
    n = perm.shape[0]
    one = np.uintp(1)
    x = np.empty(n)
    for i in range(n):
        s = perm[i]
        acc = R[s, pi[s]]
        p = np.uintp(Lp[i])
        end = np.uintp(Lp[i + 1])
        while p < end:
            acc -= Lx[p] * x[np.uintp(Li[p])]
            p += one
        x[i] = acc
    for i in range(n - 1, -1, -1):
        acc = x[i]
        q = np.uintp(Up[i])
        end = np.uintp(Up[i + 1])
        while q < end:
            acc -= Ux[q] * x[np.uintp(Ui[q])]
            q += one
        x[i] = acc / Ud[i]
    for i in range(n):
        out_V[perm[i]] = x[i]


# ------------------------------------------------------------- streaming reference
@kernel(parallel=True)
def _stream_sum(x, out_parts):
    """Sums of ``len(out_parts)`` contiguous chunks of x (1-D), one chunk per work item.

    The streaming-read reference of the bandwidth figures in :mod:`rlsandbox.bench`: it
    reads x once with the same threads as the ``*_par`` kernels. Four running sums per chunk
    keep the loop bound by memory, not by one addition chain; each chunk writes its own slot.
    """
    n = x.shape[0]
    m = out_parts.shape[0]
    for c in prange(m):
        lo = c * n // m
        hi = (c + 1) * n // m
        s0 = 0.0
        s1 = 0.0
        s2 = 0.0
        s3 = 0.0
        i = lo
        while i + 4 <= hi:
            s0 += x[i]
            s1 += x[i + 1]
            s2 += x[i + 2]
            s3 += x[i + 3]
            i += 4
        while i < hi:
            s0 += x[i]
            i += 1
        out_parts[c] = (s0 + s1) + (s2 + s3)
