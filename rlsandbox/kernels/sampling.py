"""Sampling kernels: inverse-CDF draws from pre-drawn uniforms, private.

A categorical distribution p over K outcomes is stored as its normalised CDF

    c[k] = (p[0] + ... + p[k]) / (p[0] + ... + p[K-1]),      so c[K-1] == 1.0 exactly,

and a uniform u in [0, 1) draws the first k with c[k] > u (``np.searchsorted(c, u,
side="right")``), found by binary search. Outcome k then has probability
c[k] - c[k-1] = p[k] / sum(p), and outcomes with p[k] == 0 are never drawn (c is flat there).
Many distributions share one CSR table: row r's outcomes are ``indices[indptr[r]:indptr[r+1]]``
with CDF values ``cdf[indptr[r]:indptr[r+1]]``.

Kernels never draw random numbers: the caller passes the uniforms, so each kernel is a pure
function of its arrays. No validation happens here.
"""
from __future__ import annotations

from rlsandbox.kernels import kernel


@kernel
def _search(cdf, lo, hi, u):
    """First k in [lo, hi) with cdf[k] > u; hi - 1 if there is none (never happens for a
    normalised CDF, whose last entry is 1.0 > u)."""
    left = lo
    right = hi - 1
    while left < right:
        mid = (left + right) // 2
        if cdf[mid] > u:
            right = mid
        else:
            left = mid + 1
    return left


@kernel
def _csr_cdf(data, indptr, out):
    """out[k] = running sum of ``data`` within each CSR row, divided by the row total."""
    for r in range(indptr.shape[0] - 1):
        acc = 0.0
        for k in range(indptr[r], indptr[r + 1]):
            acc += data[k]
            out[k] = acc
        for k in range(indptr[r], indptr[r + 1]):
            out[k] = out[k] / acc


@kernel
def _categorical_dense(cdf, rows, u, out):
    """out[i] = draw from row ``rows[i]`` of the dense (n_rows, K) CDF table with u[i]."""
    K = cdf.shape[1]
    for i in range(u.shape[0]):
        out[i] = _search(cdf[rows[i]], 0, K, u[i])


@kernel
def _categorical_csr(cdf, indices, indptr, rows, u, out):
    """out[i] = draw from row ``rows[i]`` of the CSR CDF table (an outcome index) with u[i]."""
    for i in range(u.shape[0]):
        r = rows[i]
        out[i] = indices[_search(cdf, indptr[r], indptr[r + 1], u[i])]


@kernel
def _rollouts(P_cdf, P_indices, P_indptr, A, pi_cdf, rho_cdf, terminal, u_0, u_a, u_s,
              out_s, out_a, out_len):
    """Roll out n episodes of at most T = u_a.shape[1] steps.

    Kernel rows are ``(h * S + s) * A + a`` with h = min(t, H_P - 1), H_P the number of
    per-step kernel blocks in the table (1 for a stationary model); the policy at step t is
    ``pi_cdf[min(t, H_pi - 1), s]``. Episode i starts from a draw of rho_cdf with u_0[i];
    step t draws the action with u_a[i, t] and the next state with u_s[i, t], and the episode
    stops at a terminal state. After the stop, out_a is -1 and out_s repeats the last state.
    """
    n, T = u_a.shape
    S = rho_cdf.shape[0]
    H_P = (P_indptr.shape[0] - 1) // (S * A)
    H_pi = pi_cdf.shape[0]
    for i in range(n):
        s = _search(rho_cdf, 0, S, u_0[i])
        out_s[i, 0] = s
        t = 0
        while t < T and not terminal[s]:
            a = _search(pi_cdf[min(t, H_pi - 1), s], 0, A, u_a[i, t])
            out_a[i, t] = a
            row = (min(t, H_P - 1) * S + s) * A + a
            s = P_indices[_search(P_cdf, P_indptr[row], P_indptr[row + 1], u_s[i, t])]
            t += 1
            out_s[i, t] = s
        out_len[i] = t
        for k in range(t, T):
            out_a[i, k] = -1
            out_s[i, k + 1] = s
