"""Finite-horizon dynamic-programming kernels (dense ``(H, S, A, S)``), private.

No validation: callers pass C-contiguous float64 arrays of consistent shapes and
caller-allocated outputs. Steps run backwards from ``h = H-1`` to ``0`` with ``V[H] = 0``
written by the kernel. Each row of Q is :func:`rlsandbox.kernels.bellman._q_row_dense` with
gamma = 1 (the same summation order as the discounted kernels). Greedy ties go to the lowest action index (strict ``>`` when scanning
actions in order), as in :mod:`rlsandbox.kernels.bellman`.
"""
from __future__ import annotations

import numpy as np

from rlsandbox.kernels import kernel
from rlsandbox.kernels.bellman import _q_row_dense


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
        for s in range(S):
            _q_row_dense(P[h], R[h], out_V[h + 1], 1.0, s, out_Q[h, s])
            best = -np.inf
            arg = 0
            for a in range(A):
                q = out_Q[h, s, a]
                if q > best:
                    best = q
                    arg = a
            out_V[h, s] = best
            out_pi[h, s] = arg


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
        for s in range(S):
            _q_row_dense(P[h], R[h], out_V[h + 1], 1.0, s, out_Q[h, s])
            v = 0.0
            for a in range(A):
                v += pi[h, s, a] * out_Q[h, s, a]
            out_V[h, s] = v
