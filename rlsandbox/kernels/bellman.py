"""Bellman-operator kernels (dense ``(S, A, S)`` and CSR ``(S*A, S)``), private.

No validation: callers pass C-contiguous float64 arrays of consistent shapes. Greedy ties go
to the lowest action index (strict ``>`` when scanning actions in order).
"""
from __future__ import annotations

import numpy as np
from numba import prange

from rlsandbox.kernels import kernel


@kernel
def _bellman_max_dense(P, R, V, gamma, out_V, out_pi):
    """out_V[s] = max_a R[s,a] + gamma sum_s' P[s,a,s'] V[s']; out_pi = lowest argmax."""
    S, A, S_next = P.shape
    for s in range(S):
        best = -np.inf
        arg = 0
        for a in range(A):
            q = 0.0
            for s2 in range(S_next):
                q += P[s, a, s2] * V[s2]
            q = R[s, a] + gamma * q
            if q > best:
                best = q
                arg = a
        out_V[s] = best
        out_pi[s] = arg


@kernel
def _bellman_max_csr(data, indices, indptr, R, V, gamma, out_V, out_pi):
    """Sparse twin of ``_bellman_max_dense``; row ``s*A + a`` of the CSR kernel is P[s, a, :]."""
    S, A = R.shape
    for s in range(S):
        best = -np.inf
        arg = 0
        for a in range(A):
            row = s * A + a
            q = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                q += data[k] * V[indices[k]]
            q = R[s, a] + gamma * q
            if q > best:
                best = q
                arg = a
        out_V[s] = best
        out_pi[s] = arg


@kernel
def _q_dense(P, R, V, gamma, out_Q):
    """out_Q[s, a] = R[s, a] + gamma sum_s' P[s, a, s'] V[s']."""
    S, A, S_next = P.shape
    for s in range(S):
        for a in range(A):
            q = 0.0
            for s2 in range(S_next):
                q += P[s, a, s2] * V[s2]
            out_Q[s, a] = R[s, a] + gamma * q


@kernel
def _q_csr(data, indices, indptr, R, V, gamma, out_Q):
    """Sparse twin of ``_q_dense``."""
    S, A = R.shape
    for s in range(S):
        for a in range(A):
            row = s * A + a
            q = 0.0
            for k in range(indptr[row], indptr[row + 1]):
                q += data[k] * V[indices[k]]
            out_Q[s, a] = R[s, a] + gamma * q


@kernel
def _policy_iteration_one(P, R, gamma, max_iter, tie_rtol, out_V, out_pi):
    """Howard PI on one dense MDP from out_pi's initial policy; returns iterations used.

    Evaluation solves (I - gamma P_pi) V = R_pi by LU (LAPACK gesv). The improvement step
    switches state s to the lowest-index maximiser only if it beats the current action by
    more than tie_rtol * (1 + max|Q|); this is what makes PI stop on ties instead of cycling.
    Returns -1 if max_iter improvements did not reach a fixed policy.
    """
    S, A, _ = P.shape
    M = np.empty((S, S))
    r = np.empty(S)
    for it in range(1, max_iter + 1):
        for s in range(S):
            a = out_pi[s]
            for s2 in range(S):
                M[s, s2] = -gamma * P[s, a, s2]
            M[s, s] += 1.0
            r[s] = R[s, a]
        V = np.linalg.solve(M, r)
        changed = False
        qmax = 0.0
        for s in range(S):
            for a in range(A):
                q = 0.0
                for s2 in range(S):
                    q += P[s, a, s2] * V[s2]
                q = abs(R[s, a] + gamma * q)
                if q > qmax:
                    qmax = q
        thresh = tie_rtol * (1.0 + qmax)
        for s in range(S):
            best = -np.inf
            arg = 0
            cur = 0.0
            for a in range(A):
                q = 0.0
                for s2 in range(S):
                    q += P[s, a, s2] * V[s2]
                q = R[s, a] + gamma * q
                if a == out_pi[s]:
                    cur = q
                if q > best:
                    best = q
                    arg = a
            if best > cur + thresh:
                out_pi[s] = arg
                changed = True
        for s in range(S):
            out_V[s] = V[s]
        if not changed:
            return it
    return -1


@kernel(parallel=True)
def _policy_iteration_batch(P, R, gamma, max_iter, tie_rtol, out_V, out_pi, out_iter):
    """Howard PI on N independent MDPs P (N, S, A, S); each n writes only its own slots."""
    N = P.shape[0]
    for n in prange(N):
        out_iter[n] = _policy_iteration_one(P[n], R[n], gamma[n], max_iter, tie_rtol,
                                            out_V[n], out_pi[n])


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
        diff = 0.0
        for s in range(S):
            d = abs(W[s] - out_V[s])
            if d > diff:
                diff = d
            out_V[s] = W[s]
        if diff < tol:
            return it, diff
    return -max_iter, diff


@kernel(parallel=True)
def _value_iteration_batch(P, R, gamma, tol, max_iter, out_V, out_pi, out_iter, out_diff):
    """VI on N independent dense MDPs; per-MDP stopping threshold tol[n]."""
    N = P.shape[0]
    for n in prange(N):
        it, diff = _value_iteration_one(P[n], R[n], gamma[n], tol[n], max_iter, out_V[n], out_pi[n])
        out_iter[n] = it
        out_diff[n] = diff
