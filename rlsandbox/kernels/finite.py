"""Finite-horizon dynamic-programming kernels (dense ``(H, S, A, S)``), private.

No validation: callers pass C-contiguous float64 arrays of consistent shapes and
caller-allocated outputs. Steps run backwards from ``h = H-1`` to ``0`` with ``V[H] = 0``
written by the kernel. Each step's rows of Q are
:func:`rlsandbox.kernels.bellman._q_span_dense` with gamma = 1 (the summation order of the
discounted kernels, four states' rows at a time). Greedy ties go to the lowest action index
(strict ``>`` when scanning actions in order), as in :mod:`rlsandbox.kernels.bellman`. The
``*_par`` twins split each step's states over threads; every state writes only its own slots,
so their results are bitwise those of the serial kernels whatever the thread count.
"""
from __future__ import annotations

from numba import prange

from rlsandbox.kernels import kernel
from rlsandbox.kernels.bellman import CHUNK, _abs_max, _argmax_row, _q_span_dense


@kernel(inline="always")
def _backup_span(P, R, h, lo, hi, out_V, out_Q, out_pi):
    """Rows out_Q[h, lo:hi] and their max / lowest argmax into out_V[h], out_pi[h]."""
    _q_span_dense(P[h], R[h], out_V[h + 1], 1.0, lo, hi, out_Q[h], 0)
    for s in range(lo, hi):
        best, arg = _argmax_row(out_Q[h, s])
        out_V[h, s] = best
        out_pi[h, s] = arg


@kernel
def _backward_induction(P, R, out_V, out_Q, out_pi):
    """Optimal backward induction.

    out_V[H] = 0;  out_Q[h, s, a] = R[h, s, a] + sum_s' P[h, s, a, s'] out_V[h+1, s'];
    out_V[h, s] = max_a out_Q[h, s, a];  out_pi[h, s] = lowest argmax.
    Shapes: P (H, S, A, S), R (H, S, A), out_V (H+1, S), out_Q (H, S, A), out_pi (H, S) int64.
    """
    H, S, A, S_next = P.shape
    for s in range(S_next):
        out_V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        _backup_span(P, R, h, 0, S, out_V, out_Q, out_pi)


@kernel(parallel=True)
def _backward_induction_par(P, R, out_V, out_Q, out_pi):
    """``_backward_induction`` with each step's states split over threads (bitwise-equal)."""
    H, S, A, S_next = P.shape
    for s in range(S_next):
        out_V[H, s] = 0.0
    n_chunks = (S + CHUNK - 1) // CHUNK
    for h in range(H - 1, -1, -1):
        for c in prange(n_chunks):
            _backup_span(P, R, h, c * CHUNK, min(S, (c + 1) * CHUNK), out_V, out_Q, out_pi)


@kernel
def _evaluate_finite(P, R, pi, out_V, out_Q):
    """Policy evaluation backwards in time for a stochastic non-stationary policy.

    out_V[H] = 0;  out_Q[h, s, a] = R[h, s, a] + sum_s' P[h, s, a, s'] out_V[h+1, s'];
    out_V[h, s] = sum_a pi[h, s, a] out_Q[h, s, a].
    Shapes: P (H, S, A, S), R (H, S, A), pi (H, S, A), out_V (H+1, S), out_Q (H, S, A).
    """
    H, S, A, S_next = P.shape
    for s in range(S_next):
        out_V[H, s] = 0.0
    for h in range(H - 1, -1, -1):
        _q_span_dense(P[h], R[h], out_V[h + 1], 1.0, 0, S, out_Q[h], 0)
        for s in range(S):
            v = 0.0
            for a in range(A):
                v += pi[h, s, a] * out_Q[h, s, a]
            out_V[h, s] = v


@kernel
def _optimal_mask(Q, R, V, tie_rtol, out_mask):
    """Mask of the actions within ``tie_tol`` of the best; returns ``tie_tol``.

    tie_tol = tie_rtol (1 + max|R| + max|Q|);
    out_mask[h, s, a] = Q[h, s, a] >= V[h, s] - tie_tol,
    with V[h, s] = max_a Q[h, s, a] as written by :func:`_backward_induction`. No temporaries
    (NumPy's abs / max / max(axis=2) / compare make three). Shapes: Q (H, S, A), R (H, S, A),
    V (H+1, S), out_mask (H, S, A) bool.
    """
    H, S, A = Q.shape
    tie_tol = tie_rtol * (1.0 + _abs_max(R.reshape(H * S, A)) + _abs_max(Q.reshape(H * S, A)))
    for h in range(H):
        for s in range(S):
            lim = V[h, s] - tie_tol
            for a in range(A):
                out_mask[h, s, a] = Q[h, s, a] >= lim
    return tie_tol
