"""Numba kernels of the stock-grid value iteration (A5) and of stock-policy rollouts, private.

No validation: callers pass C-contiguous arrays of consistent shapes (see
:mod:`rlsandbox.algorithms.distributional.stock_vi`). Compiled with the project decorator
:func:`rlsandbox.kernels.kernel` (cache on, no fastmath). They live in this package rather than
in ``rlsandbox/kernels/`` only because of file ownership in the shared tree; they follow the
same rules (arrays and scalars in, caller-allocated outputs).

Conventions. The outcomes are CSR over rows ``s*A + a``: ``ptr`` (S*A+1,), ``prob``,
``reward`` (n,), ``nxt`` (n,) int64. ``f_kind`` 0 is ``f(x) = f_alpha min(x, 0) + f_beta
max(x, 0)``, 1 is ``1{x >= 0}``. A continuation value ``Vt(s', c')`` is ``f(c')`` at terminal
s', ``lo_slope c' + lo_int[s']`` below the grid, ``hi_slope c' + hi_int[s']`` above it, and the
linear interpolation of ``V[s', :]`` on the uniform grid ``c_lo + j delta`` otherwise; with
``clamp`` the edge node's value replaces the analytic one (the card's C9 negative control).
Ties: values within ``tie_tol`` of the best count as equal, lowest action index wins.
"""
from __future__ import annotations

import numpy as np

from rlsandbox.kernels import kernel


@kernel
def _f(x, f_kind, f_alpha, f_beta):
    if f_kind == 1:
        return 1.0 if x >= 0.0 else 0.0
    if x < 0.0:
        return f_alpha * x
    return f_beta * x


@kernel
def _cont(V, s2, c2, terminal, c_lo, delta, M, lo_slope, lo_int, hi_slope, hi_int,
          f_kind, f_alpha, f_beta, clamp):
    """Continuation value Vt(s2, c2) (module docstring)."""
    if terminal[s2]:
        return _f(c2, f_kind, f_alpha, f_beta)
    pos = (c2 - c_lo) / delta
    if pos < 0.0:
        if clamp:
            return V[s2, 0]
        return lo_slope * c2 + lo_int[s2]
    if pos > M - 1:
        if clamp:
            return V[s2, M - 1]
        return hi_slope * c2 + hi_int[s2]
    j = int(np.floor(pos))
    if j > M - 2:
        j = M - 2
    w = pos - j
    return (1.0 - w) * V[s2, j] + w * V[s2, j + 1]


@kernel
def _grid_sweep(ptr, prob, nxt, available, terminal, cp_idx, cp_w, cp_region, cp_f, rclass,
                V, lo_int, hi_int, lo_slope, hi_slope, cp_val, gamma_d, tie_tol, clamp,
                out_V, out_pi):
    """One Jacobi sweep ``out_V = T V`` and ``out_pi = greedy(V)`` over all (s, j).

    Per outcome k, row ``rclass[k]`` of the precomputed tables gives, for every grid index j,
    the next stock's region (0 interior, -1 below, +1 above), its interpolation index and
    weight, its value ``cp_val`` and ``f(c')`` (``cp_f``). Returns max_j,s |out_V - V|.
    """
    S, M = V.shape
    A = available.shape[1]
    qs = np.empty(A)
    resid = 0.0
    for s in range(S):
        if terminal[s]:
            for j in range(M):
                out_V[s, j] = V[s, j]
                out_pi[s, j] = -1
            continue
        for j in range(M):
            best = -np.inf
            for a in range(A):
                qs[a] = -np.inf
                if not available[s, a]:
                    continue
                q = 0.0
                for k in range(ptr[s * A + a], ptr[s * A + a + 1]):
                    s2 = nxt[k]
                    rc = rclass[k]
                    if terminal[s2]:
                        v = cp_f[rc, j]
                    else:
                        reg = cp_region[rc, j]
                        if reg == 0:
                            i = cp_idx[rc, j]
                            w = cp_w[rc, j]
                            v = (1.0 - w) * V[s2, i] + w * V[s2, i + 1]
                        elif reg < 0:
                            v = V[s2, 0] if clamp else lo_slope * cp_val[rc, j] + lo_int[s2]
                        else:
                            v = V[s2, M - 1] if clamp else hi_slope * cp_val[rc, j] + hi_int[s2]
                    q += prob[k] * v
                q *= gamma_d
                qs[a] = q
                if q > best:
                    best = q
            arg = -1
            for a in range(A):
                if available[s, a] and qs[a] >= best - tie_tol:
                    arg = a
                    break
            out_V[s, j] = best
            out_pi[s, j] = arg
            d = abs(best - V[s, j])
            if d > resid:
                resid = d
    return resid


@kernel
def _grid_vi(ptr, prob, nxt, available, terminal, cp_idx, cp_w, cp_region, cp_f, rclass,
             V0, lo_int, hi_int, lo_slope, hi_slope, cp_val, gamma_d, tie_tol, clamp, tol,
             max_iter, out_V, out_pi, out_info):
    """Value iteration ``V_{k+1} = T V_k`` from ``V0`` until ``max |V_{k+1} - V_k| < tol`` or
    ``max_iter`` sweeps. ``out_V`` = the last iterate, ``out_pi`` = greedy w.r.t. the one before
    (so ``out_V = T^{out_pi} V_prev``); ``out_info = [sweeps, last residual]``."""
    S, M = V0.shape
    V = V0.copy()
    W = np.empty_like(V0)
    resid = np.inf
    k = 0
    while k < max_iter:
        resid = _grid_sweep(ptr, prob, nxt, available, terminal, cp_idx, cp_w, cp_region, cp_f,
                            rclass, V, lo_int, hi_int, lo_slope, hi_slope, cp_val, gamma_d,
                            tie_tol, clamp, W, out_pi)
        k += 1
        V, W = W, V
        if resid < tol:
            break
    for s in range(S):
        for j in range(M):
            out_V[s, j] = V[s, j]
    out_info[0] = k
    out_info[1] = resid


@kernel
def _q_at(ptr, prob, reward, nxt, available, terminal, V, s, c, gamma, gamma_d, c_lo, delta,
          lo_slope, lo_int, hi_slope, hi_int, f_kind, f_alpha, f_beta, clamp, out_q):
    """``out_q[a] = gamma^d sum_k p_k Vt(s'_k, (c + r_k)/gamma)`` at the exact stock c
    (-inf for unavailable actions) [card A5: "evaluate Q at the exact current stock"]."""
    M = V.shape[1]
    A = available.shape[1]
    for a in range(A):
        if not available[s, a]:
            out_q[a] = -np.inf
            continue
        q = 0.0
        for k in range(ptr[s * A + a], ptr[s * A + a + 1]):
            c2 = (c + reward[k]) / gamma
            q += prob[k] * _cont(V, nxt[k], c2, terminal, c_lo, delta, M, lo_slope, lo_int,
                                 hi_slope, hi_int, f_kind, f_alpha, f_beta, clamp)
        out_q[a] = gamma_d * q


@kernel
def _rollout_stock(ptr, prob, reward, nxt, available, terminal, V, gamma, gamma_d, c_lo,
                   delta, lo_slope, lo_int, hi_slope, hi_int, f_kind, f_alpha, f_beta, clamp,
                   tie_tol, s0, c0, u, out_G, out_steps, out_final):
    """Episodes of the greedy stock policy from (s0, c0) with pre-drawn uniforms ``u``
    (n, max_steps). The stock is carried un-normalised, ``z_t = c0 + sum_{i<t} gamma^i r_i``,
    and ``c_t = z_t / gamma^t`` is formed only to act [card Pitfall 2]. An episode stops at a
    terminal state or after max_steps steps (``out_final`` = last state)."""
    n, T = u.shape
    A = available.shape[1]
    q = np.empty(A)
    for e in range(n):
        s = s0
        z = c0
        disc = 1.0
        G = 0.0
        t = 0
        while t < T and not terminal[s]:
            c = z / disc
            _q_at(ptr, prob, reward, nxt, available, terminal, V, s, c, gamma, gamma_d, c_lo,
                  delta, lo_slope, lo_int, hi_slope, hi_int, f_kind, f_alpha, f_beta, clamp, q)
            best = -np.inf
            for a in range(A):
                if q[a] > best:
                    best = q[a]
            a_star = 0
            for a in range(A):
                if available[s, a] and q[a] >= best - tie_tol:
                    a_star = a
                    break
            row = s * A + a_star
            acc = 0.0
            k_sel = ptr[row + 1] - 1
            for k in range(ptr[row], ptr[row + 1]):
                acc += prob[k]
                if u[e, t] < acc:
                    k_sel = k
                    break
            G += disc * reward[k_sel]
            z += disc * reward[k_sel]
            disc *= gamma
            s = nxt[k_sel]
            t += 1
        out_G[e] = G
        out_steps[e] = t
        out_final[e] = s


@kernel
def _rollout_markov(ptr, prob, reward, nxt, available, terminal, policy, gamma, s0, u, out_G,
                    out_steps, out_final):
    """Episodes of a stationary deterministic Markov policy ``policy[s]`` (same conventions
    as :func:`_rollout_stock`)."""
    n, T = u.shape
    A = available.shape[1]
    for e in range(n):
        s = s0
        disc = 1.0
        G = 0.0
        t = 0
        while t < T and not terminal[s]:
            row = s * A + policy[s]
            acc = 0.0
            k_sel = ptr[row + 1] - 1
            for k in range(ptr[row], ptr[row + 1]):
                acc += prob[k]
                if u[e, t] < acc:
                    k_sel = k
                    break
            G += disc * reward[k_sel]
            disc *= gamma
            s = nxt[k_sel]
            t += 1
        out_G[e] = G
        out_steps[e] = t
        out_final[e] = s
