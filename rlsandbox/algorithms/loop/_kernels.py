"""Numba kernels of the LOOP package: the interaction loops and extended value iteration.

Private: pure loops on arrays, no validation, results in caller-allocated ``out_*`` arrays
(STYLE.md §4). Randomness comes in as pre-drawn uniforms: ``u_s[i]`` draws the next state of
step ``i`` and ``u_r[i]`` its Bernoulli reward (noisy rewards only), so every kernel is a pure
function of its arrays and a run is bitwise reproducible from its seed.

Environment step (shared by every kernel). ``cdf`` is the ``(S*A, S)`` table of normalised
cumulative next-state probabilities (last entry of each row exactly 1.0); the next state of
``(s, a)`` is the first ``s'`` with ``cdf[s*A + a, s'] > u`` (inverse-CDF sampling, the
convention of :mod:`rlsandbox.kernels.sampling`). The observed reward is ``R[s, a]`` (mean
rewards) or ``1[u_r < R[s, a]]`` (Bernoulli rewards with that mean).

Deviation from STYLE.md §4: these kernels live in the algorithm's package, not in
``rlsandbox/kernels/`` (that directory is owned by the core; the lead may move them).
"""
from __future__ import annotations

import numpy as np

from rlsandbox.kernels import kernel


@kernel
def _next_state(cdf, row, u):
    """First s' with cdf[row, s'] > u (binary search)."""
    lo = 0
    hi = cdf.shape[1] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cdf[row, mid] > u:
            hi = mid
        else:
            lo = mid + 1
    return lo


@kernel
def _reward(R, s, a, noisy, u):
    if noisy:
        return 1.0 if u < R[s, a] else 0.0
    return R[s, a]


@kernel
def _tabular_term(N, Rsum, Nsas, Q, J, V, s, a):
    """N(s,a) (Q(s,a) + J - rhat(s,a) - phat(s,a) V)^2, 0 for an unvisited pair."""
    n = N[s, a]
    if n == 0:
        return 0.0
    pv = 0.0
    for t in range(V.shape[0]):
        pv += Nsas[s, a, t] * V[t]
    e = Q[s, a] + J - (Rsum[s, a] + pv) / n
    return n * e * e


@kernel
def _tabular_excess(N, Rsum, Nsas, Q, J, V, out_terms):
    """Fill out_terms[s, a] with the per-pair excess loss of (Q, J, V); return their sum."""
    S, A = N.shape
    total = 0.0
    for s in range(S):
        for a in range(A):
            out_terms[s, a] = _tabular_term(N, Rsum, Nsas, Q, J, V, s, a)
            total += out_terms[s, a]
    return total


@kernel
def _segment_tabular(i0, T, cdf, R, noisy, u_s, u_r, pi, Q, J, V, threshold, every_step,
                     N, Rsum, Nsas, terms, out_s, out_a, out_r):
    """Run steps i0, i0+1, ... of value-based tabular LOOP with a fixed hypothesis (Q, J, V, pi).

    Before each step after the first of the segment the lazy test is applied: return the step
    index i (the caller re-plans, then calls again with i0 = i) if ``every_step`` or if the
    excess loss sum(terms) exceeds ``threshold`` (= c_sw * beta). Otherwise act a = pi[s],
    draw (r, s'), update the statistics N, Rsum, Nsas (in place) and the pair's excess term.
    Returns T when the horizon is reached. out_s has T + 1 entries (out_s[i0] is set).
    """
    S, A = N.shape
    exc = 0.0
    for s in range(S):
        for a in range(A):
            exc += terms[s, a]
    for i in range(i0, T):
        if i > i0 and (every_step or exc > threshold):
            return i
        s = out_s[i]
        a = pi[s]
        s2 = _next_state(cdf, s * A + a, u_s[i])
        r = _reward(R, s, a, noisy, u_r[i])
        out_a[i] = a
        out_r[i] = r
        out_s[i + 1] = s2
        N[s, a] += 1
        Rsum[s, a] += r
        Nsas[s, a, s2] += 1
        terms[s, a] = _tabular_term(N, Rsum, Nsas, Q, J, V, s, a)
        exc = 0.0                          # summed afresh (O(SA)): no drift, same order always
        for s3 in range(S):
            for a3 in range(A):
                exc += terms[s3, a3]
    return T


@kernel
def _segment_finite(i0, T, cdf, R, noisy, u_s, u_r, pi, V, pred, k_idx, threshold,
                    every_step, L, N, Rsum, Nsas, out_s, out_a, out_r):
    """Run steps i0, ... of model-based LOOP over a finite class with a fixed hypothesis.

    ``pred[g, s, a] = r_g(s, a) + (P_g V)(s, a)`` for the bias V of the hypothesis in force;
    each step adds the squared value-targeted residual (pred[g, s, a] - r - V(s'))^2 to
    ``L[g]`` for every g (in place). Lazy test before each step after the first: return i if
    ``every_step`` or ``L[k_idx] - min(L) > threshold``. The tabular statistics N, Rsum,
    Nsas are updated too (diagnostics). Returns T at the horizon.
    """
    m = L.shape[0]
    A = N.shape[1]
    for i in range(i0, T):
        if i > i0:
            if every_step:
                return i
            lmin = L[0]
            for g in range(1, m):
                if L[g] < lmin:
                    lmin = L[g]
            if L[k_idx] - lmin > threshold:
                return i
        s = out_s[i]
        a = pi[s]
        s2 = _next_state(cdf, s * A + a, u_s[i])
        r = _reward(R, s, a, noisy, u_r[i])
        out_a[i] = a
        out_r[i] = r
        out_s[i + 1] = s2
        N[s, a] += 1
        Rsum[s, a] += r
        Nsas[s, a, s2] += 1
        y = r + V[s2]
        for g in range(m):
            e = pred[g, s, a] - y
            L[g] += e * e
    return T


@kernel
def _excess_path(s, a, r, s_next, Q, J, V, out):
    """out[t] = Exc of (Q, J, V) on the first t transitions (out[0] = 0), t = 0..T.

    Per pair the accumulator acc = sum (Q + J - r_i - V(s_{i+1})) over its visits gives the
    term acc^2 / N; only the visited pair's term changes at each step.
    """
    S, A = Q.shape
    acc = np.zeros((S, A))
    N = np.zeros((S, A))
    terms = np.zeros((S, A))
    out[0] = 0.0
    for i in range(a.shape[0]):
        si = s[i]
        ai = a[i]
        acc[si, ai] += Q[si, ai] + J - r[i] - V[s_next[i]]
        N[si, ai] += 1.0
        terms[si, ai] = acc[si, ai] * acc[si, ai] / N[si, ai]
        tot = 0.0
        for s2 in range(S):
            for a2 in range(A):
                tot += terms[s2, a2]
        out[i + 1] = tot


# ---------------------------------------------------------------- extended value iteration
@kernel
def _inner_max(p_hat, rad, order, out_p):
    """max_p p @ u over {p in simplex: ||p - p_hat||_1 <= rad} [jaksch2010, §3.1 (EVI)].

    ``order`` lists the states by u descending. Put min(1, p_hat[best] + rad/2) on the best
    state, keep p_hat elsewhere, then remove the excess mass from the worst states first.
    For p_hat = 0 (an unvisited pair, rad >= 2) all mass goes to the best state.
    """
    S = p_hat.shape[0]
    for j in range(S):
        out_p[j] = p_hat[j]
    best = order[0]
    out_p[best] = min(1.0, p_hat[best] + rad / 2.0)
    total = 0.0
    for j in range(S):
        total += out_p[j]
    if total < 1.0:                        # only possible for p_hat summing to < 1 (p_hat = 0)
        out_p[best] += 1.0 - total
        return
    l = S - 1
    while total > 1.0 and l > 0:
        w = order[l]
        rest = total - out_p[w]
        new = max(0.0, 1.0 - rest)
        total = rest + new
        out_p[w] = new
        l -= 1


@kernel
def _evi(r_opt, p_hat, rad_p, eps, max_iter, u, out_pi, out_Q, work_p):
    """Extended value iteration [jaksch2010, §3.1] from u (in place), until sp(T u - u) < eps.

    T u(s) = max_a r_opt[s, a] + max_{p in P(s, a)} p @ u. After ``max_iter // 2`` plain sweeps
    without convergence it switches to the damped update u <- (u + T u) / 2 (aperiodicity
    fallback, card §6 pitfall 6); the stopping test is always on T u - u. On exit out_pi is
    greedy w.r.t. the returned u (lowest index on ties), out_Q[s, a] the optimistic backup.
    Returns (sweeps, converged, min(T u - u), max(T u - u)).
    """
    S, A = r_opt.shape
    Tu = np.empty(S)
    lo = 0.0
    hi = 0.0
    for it in range(1, max_iter + 1):
        order = np.argsort(-u, kind="mergesort")
        for s in range(S):
            best = -np.inf
            arg = 0
            for a in range(A):
                _inner_max(p_hat[s, a], rad_p[s, a], order, work_p)
                q = r_opt[s, a]
                for t in range(S):
                    q += work_p[t] * u[t]
                out_Q[s, a] = q
                if q > best:
                    best = q
                    arg = a
            Tu[s] = best
            out_pi[s] = arg
        lo = np.inf
        hi = -np.inf
        for s in range(S):
            d = Tu[s] - u[s]
            lo = min(lo, d)
            hi = max(hi, d)
        if hi - lo < eps:
            return it, True, lo, hi
        damped = it > max_iter // 2
        shift = Tu[0]
        for s in range(S):
            if damped:
                u[s] = 0.5 * (u[s] + Tu[s]) - 0.5 * shift
            else:
                u[s] = Tu[s] - shift       # relative: keeps u bounded, same greedy policy
    return max_iter, False, lo, hi


@kernel
def _ucrl2(T, s0, cdf, R, noisy, u_s, u_r, delta, scale_r, scale_p, r_clip, evi_max_iter,
           episode_factor, out_s, out_a, out_r, out_ep, ep_start, ep_pi, ep_gain, ep_u,
           ep_sweeps, ep_conv):
    """UCRL2 [jaksch2010, the UCRL2 algorithm] for T steps; returns the number of episodes.

    Episode k starts at t_k (1-based time; index i = t_k - 1): counts N_k, empirical r_hat,
    p_hat frozen; radii
        rad_r = scale_r * sqrt(7 log(2 S A t_k / delta) / (2 max(1, N_k)))
        rad_p = scale_p * sqrt(14 S log(2 A t_k / delta) / max(1, N_k));
    optimistic rewards min(r_hat + rad_r, r_clip); EVI with eps = 1 / sqrt(t_k) from u = 0;
    play the greedy policy until v_k(s, pi(s)) >= max(1, episode_factor * N_k(s, pi(s)))
    (episode_factor = 1 is the paper's doubling rule).
    """
    S, A = R.shape
    N = np.zeros((S, A))
    Rsum = np.zeros((S, A))
    Nsas = np.zeros((S, A, S))
    v = np.zeros((S, A))
    r_opt = np.empty((S, A))
    p_hat = np.empty((S, A, S))
    rad_p = np.empty((S, A))
    Qw = np.empty((S, A))
    work_p = np.empty(S)
    u = np.empty(S)
    pi = np.empty(S, dtype=np.int64)
    out_s[0] = s0
    i = 0
    k = 0
    while i < T:
        t_k = i + 1.0
        lr = np.log(2.0 * S * A * t_k / delta)
        lp = np.log(2.0 * A * t_k / delta)
        for s in range(S):
            for a in range(A):
                n = max(1.0, N[s, a])
                r_opt[s, a] = min(Rsum[s, a] / n + scale_r * np.sqrt(7.0 * lr / (2.0 * n)),
                                  r_clip)
                rad_p[s, a] = scale_p * np.sqrt(14.0 * S * lp / n)
                for t in range(S):
                    p_hat[s, a, t] = Nsas[s, a, t] / n
                v[s, a] = 0.0
        for s in range(S):
            u[s] = 0.0
        sweeps, conv, lo, hi = _evi(r_opt, p_hat, rad_p, 1.0 / np.sqrt(t_k), evi_max_iter, u,
                                    pi, Qw, work_p)
        ep_start[k] = i
        umin = u.min()
        for s in range(S):
            ep_pi[k, s] = pi[s]
            ep_u[k, s] = u[s] - umin
        ep_gain[k] = 0.5 * (lo + hi)
        ep_sweeps[k] = sweeps
        ep_conv[k] = conv
        while i < T:
            s = out_s[i]
            a = pi[s]
            if v[s, a] >= max(1.0, episode_factor * N[s, a]):
                break
            s2 = _next_state(cdf, s * A + a, u_s[i])
            r = _reward(R, s, a, noisy, u_r[i])
            out_a[i] = a
            out_r[i] = r
            out_s[i + 1] = s2
            out_ep[i] = k
            v[s, a] += 1.0
            Rsum[s, a] += r
            Nsas[s, a, s2] += 1.0
            i += 1
        for s in range(S):
            for a in range(A):
                N[s, a] += v[s, a]
        k += 1
    return k


# ---------------------------------------------------------------- linear classes (b), (c)
@kernel
def _segment_linear(i0, T, cdf, R, noisy, u_s, u_r, pi, X, W, C, c_r, theta, mode, threshold,
                    Linv, z, b, logdet, out_s, out_a, out_r):
    """Run steps i0, ... of a linear-class learner with a fixed policy ``pi`` and parameter
    ``theta`` (d,), updating ridge-regression statistics in place.

    Step i plays a = pi[s], draws (r, s'), and with the regression feature x = X[s, a] (d,)
    and target y = c_r r + W[s'] - C[s, a] adds x x^T to Lambda (Sherman-Morrison update of
    ``Linv`` = Lambda^{-1}; ``logdet[0]`` += log(1 + x^T Linv x), the matrix determinant
    lemma), x y to ``b`` and x e to ``z`` with e = x^T theta - y, so that
    ``z^T Linv z = ||theta - theta_hat||^2_Lambda`` (theta_hat = Linv b) is the excess loss of
    ``theta``. Before each step after the first: return i if mode == 0 (every step), mode == 1
    and z^T Linv z > threshold (LOOP's lazy test), or mode == 2 and logdet[0] > threshold
    (determinant doubling: the caller passes log det at the re-plan + log 2). Returns T at the
    horizon.
    """
    A = R.shape[1]
    d = X.shape[2]
    v = np.empty(d)
    for i in range(i0, T):
        if i > i0:
            if mode == 0:
                return i
            if mode == 1:
                q = 0.0
                for j in range(d):
                    acc = 0.0
                    for k in range(d):
                        acc += Linv[j, k] * z[k]
                    q += z[j] * acc
                if q > threshold:
                    return i
            elif logdet[0] > threshold:
                return i
        s = out_s[i]
        a = pi[s]
        s2 = _next_state(cdf, s * A + a, u_s[i])
        r = _reward(R, s, a, noisy, u_r[i])
        out_a[i] = a
        out_r[i] = r
        out_s[i + 1] = s2
        y = c_r * r + W[s2] - C[s, a]
        e = -y
        for j in range(d):
            e += X[s, a, j] * theta[j]
        quad = 0.0
        for j in range(d):
            acc = 0.0
            for k in range(d):
                acc += Linv[j, k] * X[s, a, k]
            v[j] = acc
            quad += X[s, a, j] * acc
        for j in range(d):
            for k in range(d):
                Linv[j, k] -= v[j] * v[k] / (1.0 + quad)
            b[j] += X[s, a, j] * y
            z[j] += X[s, a, j] * e
        logdet[0] += np.log1p(quad)
    return T
