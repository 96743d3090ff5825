"""Numba kernels of the HARPG package: trajectory sampling with the estimator statistics.

Private: pure loops on arrays, no validation, results in caller-allocated ``out_*`` arrays
(STYLE.md §4). Randomness comes in pre-drawn (uniforms for categorical draws, standard normals
for the LQR), so each kernel is a pure function of its arrays.

Per trajectory of length H (card §2, "Stochastic estimators") both kernels write

* ``g``        = sum_t R_t   score_t   with R_t  = sum_{h>=t} gamma^h     r_h  (GPOMDP, card §2)
* ``g_from_t`` = sum_t R'_t  score_t   with R'_t = sum_{h>=t} gamma^(h-t) r_h (the biased form of
  the authors' code, card §6 pitfall 2; used as a negative control)
* ``score_sum`` = sum_t score_t = grad log p(tau)
* ``ret``      = sum_t gamma^t r_t
* the curvature statistics of sum_t R_t hess log pi(a_t|s_t): per-state weights
  ``W[s] = sum_{t: s_t = s} R_t`` (log-linear policies, whose log-policy Hessian depends on the
  state only) or the scalar ``sum_t R_t (-s_t^2 / sigma^2)`` (scalar LQR).

Deviation from STYLE.md §4: these kernels live in the algorithm's package, not in
``rlsandbox/kernels/`` (that directory is owned by the core; the lead may move them).
"""
from __future__ import annotations

import numpy as np

from rlsandbox.kernels import kernel


@kernel
def _draw(cdf, u):
    """First k with cdf[k] > u (binary search); cdf is a normalised CDF (last entry 1.0)."""
    lo = 0
    hi = cdf.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@kernel
def _rollout_loglinear(P_cdf, pi_cdf, rho_cdf, R, psi, gamma, u_0, u_a, u_s,
                       out_g, out_g_from_t, out_score_sum, out_ret, out_W, out_s, out_a):
    """Roll out n trajectories of length H = u_a.shape[2] for each of N parameter vectors.

    P_cdf (S*A, S) normalised next-state CDFs (row s*A + a); pi_cdf (N, S, A) normalised policy
    CDFs; rho_cdf (S,); R (S, A) rewards; psi (N, S, A, d) scores grad log pi(a|s) at each of
    the N parameters; u_0 (N, n), u_a (N, n, H), u_s (N, n, H) uniforms in [0, 1).
    Trajectory j of parameter i: s_0 from rho_cdf with u_0[i, j]; a_t from pi_cdf[i, s_t] with
    u_a[i, j, t]; s_{t+1} from P_cdf[s_t*A + a_t] with u_s[i, j, t].
    Writes out_g, out_g_from_t, out_score_sum (N, n, d); out_ret (N, n); out_W (N, n, S);
    out_s, out_a (N, n, H) the visited states and actions.
    """
    N, n, H = u_a.shape
    S, A = R.shape
    d = psi.shape[3]
    r = np.empty(H)
    for i in range(N):
        for j in range(n):
            s = _draw(rho_cdf, u_0[i, j])
            for t in range(H):
                a = _draw(pi_cdf[i, s], u_a[i, j, t])
                out_s[i, j, t] = s
                out_a[i, j, t] = a
                r[t] = R[s, a]
                s = _draw(P_cdf[s * A + a], u_s[i, j, t])
            for k in range(d):
                out_g[i, j, k] = 0.0
                out_g_from_t[i, j, k] = 0.0
                out_score_sum[i, j, k] = 0.0
            for k in range(S):
                out_W[i, j, k] = 0.0
            # backward pass: R_t = gamma^t r_t + R_{t+1}, R'_t = r_t + gamma R'_{t+1}
            Rt = 0.0
            Rp = 0.0
            for t in range(H - 1, -1, -1):
                Rt += gamma ** t * r[t]
                Rp = r[t] + gamma * Rp
                st = out_s[i, j, t]
                at = out_a[i, j, t]
                for k in range(d):
                    p = psi[i, st, at, k]
                    out_g[i, j, k] += Rt * p
                    out_g_from_t[i, j, k] += Rp * p
                    out_score_sum[i, j, k] += p
                out_W[i, j, st] += Rt
            out_ret[i, j] = Rt


@kernel
def _rollout_lqr(K, A_d, B_d, Q_c, R_c, sigma, sqrt_W, sqrt_Sigma0, gamma, z_0, xi, w,
                 out_g, out_g_from_t, out_score_sum, out_ret, out_curv):
    """Roll out n trajectories of the scalar LQR for each of N gains K (N,).

    s_0 = sqrt_Sigma0 z_0[i, j]; a_t = -K s_t + sigma xi[i, j, t];
    s_{t+1} = A_d s_t + B_d a_t + sqrt_W w[i, j, t]; r_t = -(Q_c s_t^2 + R_c a_t^2).
    Score d/dK log pi(a_t|s_t) = -(a_t + K s_t) s_t / sigma^2 = -xi s_t / sigma; log-policy
    Hessian -s_t^2 / sigma^2. Writes out_g, out_g_from_t, out_score_sum, out_ret, out_curv
    (N, n), out_curv = sum_t R_t (-s_t^2 / sigma^2).
    """
    N, n, H = xi.shape
    r = np.empty(H)
    sc = np.empty(H)
    s2 = np.empty(H)
    inv_var = 1.0 / (sigma * sigma)
    for i in range(N):
        k_i = K[i]
        for j in range(n):
            s = sqrt_Sigma0 * z_0[i, j]
            for t in range(H):
                a = -k_i * s + sigma * xi[i, j, t]
                r[t] = -(Q_c * s * s + R_c * a * a)
                sc[t] = -xi[i, j, t] * s / sigma
                s2[t] = s * s
                s = A_d * s + B_d * a + sqrt_W * w[i, j, t]
            g = 0.0
            gt = 0.0
            ss = 0.0
            cv = 0.0
            Rt = 0.0
            Rp = 0.0
            for t in range(H - 1, -1, -1):
                Rt += gamma ** t * r[t]
                Rp = r[t] + gamma * Rp
                g += Rt * sc[t]
                gt += Rp * sc[t]
                ss += sc[t]
                cv -= Rt * s2[t] * inv_var
            out_g[i, j] = g
            out_g_from_t[i, j] = gt
            out_score_sum[i, j] = ss
            out_ret[i, j] = Rt
            out_curv[i, j] = cv


@kernel
def _sample_logistic(theta, U, b, c, w, bump, out_g, out_score, out_r, out_curv, out_a):
    """One-step logistic-location bandit (card §4.0 I2) for N parameter vectors theta (N, m).

    X = log(U / (1 - U)) (U (N, n, m) uniforms in (0, 1)); a = theta + b X;
    r = exp(-||a - c||^2 / (2 w^2)) if bump else mean_i sigmoid(a_i);
    score_i = tanh(X_i / 2) / b = (2 U_i - 1) / b (since tanh(logit(U)/2) = 2U - 1 exactly);
    curv_i = r (-(1 - tanh^2(X_i / 2)) / (2 b^2)) = -r 4 U_i (1 - U_i) / (2 b^2); g = r score.
    Writes out_g, out_score, out_curv, out_a (the actions a) (N, n, m) and out_r (N, n).
    """
    N, n, m = U.shape
    inv_2w2 = 1.0 / (2.0 * w * w)
    inv_2b2 = 1.0 / (2.0 * b * b)
    for i in range(N):
        for j in range(n):
            acc = 0.0
            for k in range(m):
                u = U[i, j, k]
                x = np.log(u / (1.0 - u))
                a = theta[i, k] + b * x
                out_a[i, j, k] = a
                if bump:
                    z = a - c[k]
                    acc += z * z
                else:
                    if a >= 0.0:
                        acc += 1.0 / (1.0 + np.exp(-a))
                    else:
                        e = np.exp(a)
                        acc += e / (1.0 + e)
                out_score[i, j, k] = (2.0 * u - 1.0) / b
                out_curv[i, j, k] = -4.0 * u * (1.0 - u) * inv_2b2
            r = np.exp(-acc * inv_2w2) if bump else acc / m
            out_r[i, j] = r
            for k in range(m):
                out_g[i, j, k] = r * out_score[i, j, k]
                out_curv[i, j, k] *= r


@kernel
def _affine_recursion(a, b, out):
    """out[0] = 0, out[k + 1] = a[k] out[k] + b[k] for k < len(a) (out has len(a) + 1 entries)."""
    out[0] = 0.0
    for k in range(a.shape[0]):
        out[k + 1] = a[k] * out[k] + b[k]


@kernel
def _rollout_logistic_states(mu, b, kappa, beta, c, w, gamma, rho_cdf, u_0, u_a, u_s,
                             out_psi, out_h, out_r, out_s):
    """I5 trajectories: N parameter vectors (location mu (N, S) = phi theta), n trajectories each.

    s_0 from rho_cdf with u_0[i, j]; X_t = log(u/(1-u)), u = u_a[i, j, t]; a_t = mu[i, s_t] +
    b X_t; r_t = exp(-(a_t - c[s_t])^2 / (2 w^2)); s_{t+1} drawn from softmax_{s'}(kappa[s_t, s']
    a_t + beta[s_t, s']) with u_s[i, j, t]. Writes per step the scalar location score
    out_psi = tanh(X_t/2)/b, the log-density curvature out_h = -(1 - tanh^2(X_t/2))/(2 b^2),
    out_r and the state out_s, all (N, n, H); the caller forms the estimators.
    """
    N, n, H = u_a.shape
    S = kappa.shape[0]
    p = np.empty(S)
    inv_2w2 = 1.0 / (2.0 * w * w)
    for i in range(N):
        for j in range(n):
            s = _draw(rho_cdf, u_0[i, j])
            for t in range(H):
                u = u_a[i, j, t]
                x = np.log(u / (1.0 - u))
                a = mu[i, s] + b * x
                th = np.tanh(0.5 * x)
                out_psi[i, j, t] = th / b
                out_h[i, j, t] = -(1.0 - th * th) / (2.0 * b * b)
                z = a - c[s]
                out_r[i, j, t] = np.exp(-z * z * inv_2w2)
                out_s[i, j, t] = s
                m = -np.inf
                for k in range(S):
                    p[k] = kappa[s, k] * a + beta[s, k]
                    if p[k] > m:
                        m = p[k]
                tot = 0.0
                for k in range(S):
                    p[k] = np.exp(p[k] - m)
                    tot += p[k]
                acc = 0.0
                nxt = S - 1
                target = u_s[i, j, t] * tot
                for k in range(S):
                    acc += p[k]
                    if target < acc:
                        nxt = k
                        break
                s = nxt
