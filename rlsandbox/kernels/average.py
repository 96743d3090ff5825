"""Average-reward kernels: relative value iteration and chain-structure enumeration, private.

No validation: callers pass C-contiguous arrays of consistent shapes (float64 kernels,
int64 index arrays, bool supports). Greedy ties go to the lowest action index.
"""
from __future__ import annotations

import numpy as np

from numba import prange

from rlsandbox.kernels import kernel
from rlsandbox.kernels.bellman import (AE_GROUP, CHUNK, _abs_max_update, _ae_margin,
                                       _ae_start, _ae_states, _bellman_max_csr,
                                       _bellman_max_dense, _qmax_csr_state, _sup_diff,
                                       _sweep_dense_ae)


@kernel
def _union_support_dense(P, out):
    """out[s, s'] = True iff P[s, a, s'] > 0 for some a; P (S, A, S), out (S, S) bool zeros.

    One pass over P without the (S, A, S) boolean temporary that ``(P > 0).any(axis=1)``
    allocates.
    """
    S, A, _ = P.shape
    for s in range(S):
        for a in range(A):
            for t in range(S):
                if P[s, a, t] > 0.0:
                    out[s, t] = True


@kernel(inline="always")
def _rvi_advance(M, w, tau, s_ref, eps):
    """From M = max_a R + tau P w: the span sp(T_tau w - w), and unless it is below eps,
    w <- T_tau w - (T_tau w)[s_ref] in place. Returns the span.

    T_tau w = M + (1 - tau) w is the optimality operator of the transformed kernel
    tau P + (1 - tau) I (rewards unchanged). Each new w[s] reads only M[s], the old w[s] and
    the reference value, which is computed first, so the update can overwrite w; on
    convergence w keeps the last iterate, whose span certificate was just computed.
    """
    S = w.shape[0]
    lo = np.inf
    hi = -np.inf
    for s in range(S):
        d = M[s] + (1.0 - tau) * w[s] - w[s]
        if d < lo:
            lo = d
        if d > hi:
            hi = d
    if hi - lo < eps:
        return hi - lo
    ref = M[s_ref] + (1.0 - tau) * w[s_ref]
    for s in range(S):
        w[s] = M[s] + (1.0 - tau) * w[s] - ref
    return hi - lo


@kernel
def _rvi_dense(P, R, tau, eps, max_iter, s_ref, w, out_pi):
    """Relative value iteration on tau P + (1 - tau) I, in place on ``w`` (S,).

    Iterates w <- T_tau w - (T_tau w)[s_ref] until sp(T_tau w - w) < eps. Returns
    (iterations, last span); iterations is negative if max_iter ran out. ``w`` holds the
    last relative values, ``out_pi`` the greedy policy of the last backup.
    """
    M = np.empty(w.shape[0])
    sp = np.inf
    for it in range(1, max_iter + 1):
        _bellman_max_dense(P, R, w, tau, M, out_pi)
        sp = _rvi_advance(M, w, tau, s_ref, eps)
        if sp < eps:
            return it, sp
    return -max_iter, sp


@kernel
def _rvi_dense_ae(P, R, tau, eps, max_iter, s_ref, row_sum_tol, w, out_pi):
    """``_rvi_dense`` with action elimination: bitwise its iterates, reading fewer rows of P.

    The backup M = max_a R + tau P w is the discounted backup with gamma = tau, and
    |tau P[s, a] (w_k - w_k0)| <= tau (1 + row_sum_tol) sum_{j=k0+1..k} ||w_j - w_{j-1}||_inf,
    so the elimination test of :func:`rlsandbox.kernels.bellman._vi_dense_ae` applies with
    gamma = tau and d_j = ||w_j - w_{j-1}||_inf. Relative values move by at most
    sp(T_tau w - w) per sweep (w_{j+1} - w_j = e - e(s_ref) with e = T_tau w_j - w_j), which RVI
    drives to 0 [puterman2005, §8.5.5], so late sweeps compute about one row per state.
    Returns (iterations, last span, rows computed); iterations negative if max_iter ran out.
    """
    S, A = R.shape
    M = np.empty(S)
    w_old = np.empty(S)
    Q_last, C_last, R_max, V_max = _ae_start(R, w, out_pi)
    C = 0.0
    sp = np.inf
    rows = 0
    for it in range(1, max_iter + 1):
        margin = _ae_margin(S, R_max, V_max, tau, C, it, row_sum_tol)
        rows += _sweep_dense_ae(P, R, w, tau, C, margin, Q_last, C_last, out_pi, M)
        w_old[:] = w
        sp = _rvi_advance(M, w, tau, s_ref, eps)
        if sp < eps:
            return it, sp, rows
        C += _sup_diff(w, w_old)
        V_max = _abs_max_update(V_max, w)
    return -max_iter, sp, rows


@kernel
def _rvi_csr(data, indices, indptr, R, tau, eps, max_iter, s_ref, w, out_pi):
    """Sparse twin of ``_rvi_dense``; row ``s*A + a`` of the CSR kernel is P[s, a, :]."""
    M = np.empty(w.shape[0])
    sp = np.inf
    for it in range(1, max_iter + 1):
        _bellman_max_csr(data, indices, indptr, R, w, tau, M, out_pi)
        sp = _rvi_advance(M, w, tau, s_ref, eps)
        if sp < eps:
            return it, sp
    return -max_iter, sp


@kernel(parallel=True)
def _rvi_dense_ae_par(P, R, tau, eps, max_iter, s_ref, row_sum_tol, w, out_pi):
    """``_rvi_dense_ae`` with each sweep's states split over threads (bitwise-equal results);
    the sweep is written here, not called (numba/numba#8578)."""
    S, A = R.shape
    M = np.empty(S)
    w_old = np.empty(S)
    Q_last, C_last, R_max, V_max = _ae_start(R, w, out_pi)
    n_chunks = (S + CHUNK - 1) // CHUNK
    rows_chunk = np.zeros(n_chunks, dtype=np.int64)
    C = 0.0
    sp = np.inf
    for it in range(1, max_iter + 1):
        margin = _ae_margin(S, R_max, V_max, tau, C, it, row_sum_tol)
        for c in prange(n_chunks):
            ss = np.empty(AE_GROUP * A, dtype=np.int64)
            aa = np.empty(AE_GROUP * A, dtype=np.int64)
            q = np.empty(AE_GROUP * A)
            rows_chunk[c] += _ae_states(P, R, w, tau, c * CHUNK, min(S, (c + 1) * CHUNK), C,
                                        margin, Q_last, C_last, out_pi, ss, aa, q, M)
        w_old[:] = w
        sp = _rvi_advance(M, w, tau, s_ref, eps)
        if sp < eps:
            return it, sp, rows_chunk.sum()
        C += _sup_diff(w, w_old)
        V_max = _abs_max_update(V_max, w)
    return -max_iter, sp, rows_chunk.sum()


@kernel(parallel=True)
def _rvi_csr_par(data, indices, indptr, R, tau, eps, max_iter, s_ref, w, out_pi):
    """``_rvi_csr`` with each sweep's states split over threads (bitwise-equal results)."""
    S = R.shape[0]
    M = np.empty(S)
    sp = np.inf
    n_chunks = (S + CHUNK - 1) // CHUNK
    for it in range(1, max_iter + 1):
        for c in prange(n_chunks):
            for s in range(c * CHUNK, min(S, (c + 1) * CHUNK)):
                M[s], out_pi[s] = _qmax_csr_state(data, indices, indptr, R, w, tau, s)
        sp = _rvi_advance(M, w, tau, s_ref, eps)
        if sp < eps:
            return it, sp
    return -max_iter, sp


@kernel(inline="always")
def _reach_from(adj, s, backward, seen, stack):
    """seen[t] = t is reachable from s in >= 0 steps of ``adj`` (S, S) bool (``backward``:
    s is reachable from t); depth-first with the caller's ``stack`` (S,) int64."""
    S = adj.shape[0]
    for t in range(S):
        seen[t] = False
    seen[s] = True
    stack[0] = s
    top = 1
    while top > 0:
        top -= 1
        u = stack[top]
        for v in range(S):
            if (adj[v, u] if backward else adj[u, v]) and not seen[v]:
                seen[v] = True
                stack[top] = v
                top += 1


@kernel
def _reach(adj, out_reach):
    """out_reach[s, t] = t is reachable from s in >= 0 steps of the graph ``adj`` (S, S) bool."""
    S = adj.shape[0]
    stack = np.empty(S, dtype=np.int64)
    for s in range(S):
        _reach_from(adj, s, False, out_reach[s], stack)


@kernel
def _strongly_connected_dense(adj):
    """True iff the graph ``adj`` (S, S) bool is strongly connected: every state reaches
    state 0 and is reached from it (two depth-first searches, O(S^2))."""
    S = adj.shape[0]
    seen = np.empty(S, dtype=np.bool_)
    stack = np.empty(S, dtype=np.int64)
    for backward in (False, True):
        _reach_from(adj, 0, backward, seen, stack)
        for t in range(S):
            if not seen[t]:
                return False
    return True


@kernel
def _chain_structure(adj, reach):
    """(number of recurrent classes, number of transient states) of the chain graph ``adj``.

    A state s is recurrent iff every state reachable from s reaches s back; a recurrent
    class is counted at its lowest-index member. ``reach`` is (S, S) bool scratch space.
    """
    S = adj.shape[0]
    _reach(adj, reach)
    n_classes = 0
    n_transient = 0
    for s in range(S):
        rec = True
        for t in range(S):
            if reach[s, t] and not reach[t, s]:
                rec = False
                break
        if not rec:
            n_transient += 1
            continue
        first = True
        for t in range(s):
            if reach[s, t] and reach[t, s]:
                first = False
                break
        if first:
            n_classes += 1
    return n_classes, n_transient


@kernel
def _enumerate_chain_structure(supp, n_choice, out_multi, out_reducible):
    """Scan every deterministic policy's chain for recurrent classes and transient states.

    ``supp[s, c, :]`` (S, C, S) bool is the support of the c-th distinct action row at s,
    ``n_choice[s]`` how many distinct rows state s has. Policies are visited in mixed-radix
    order (state 0 fastest). Stops at the first policy with two or more recurrent classes.

    Returns (policies visited, found a multichain policy, found a reducible policy); the
    first such policies' choice indices are written to ``out_multi`` / ``out_reducible``.
    """
    S = supp.shape[0]
    choice = np.zeros(S, dtype=np.int64)
    adj = np.empty((S, S), dtype=np.bool_)
    reach = np.empty((S, S), dtype=np.bool_)
    found_reducible = False
    count = 0
    while True:
        for s in range(S):
            for t in range(S):
                adj[s, t] = supp[s, choice[s], t]
        n_classes, n_transient = _chain_structure(adj, reach)
        count += 1
        if n_classes > 1:
            for s in range(S):
                out_multi[s] = choice[s]
            if not found_reducible:
                for s in range(S):
                    out_reducible[s] = choice[s]
            return count, True, True
        if n_transient > 0 and not found_reducible:
            found_reducible = True
            for s in range(S):
                out_reducible[s] = choice[s]
        # next policy (mixed radix increment)
        s = 0
        while s < S:
            choice[s] += 1
            if choice[s] < n_choice[s]:
                break
            choice[s] = 0
            s += 1
        if s == S:
            return count, False, found_reducible
