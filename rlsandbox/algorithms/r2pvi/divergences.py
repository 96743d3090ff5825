"""The inner problems of d-rectangular robust (regularized) MDPs, in closed form.

For a value vector ``V`` on the states, a nominal factor distribution ``mu0`` and a strength
``lam > 0`` (the paper's lambda), the *regularized* inner problem of a d-RRMDP is
[r2pvi, §2.4]

    w[V] = inf_{mu in Delta(S)}  E_mu V + lam * D_f(mu || mu0),

with the f-divergences of [r2pvi, §2.2] (the constants matter)

    TV  : D = (1/2) ||mu - mu0||_1        (mass may move OUTSIDE supp(mu0))
    KL  : D = sum mu log(mu / mu0)        (+inf unless supp(mu) is inside supp(mu0))
    chi2: D = sum (mu - mu0)^2 / mu0      (+inf unless supp(mu) is inside supp(mu0))

Closed forms [r2pvi, §2.5], implemented by :func:`inner_value` / :func:`inner_minimizer`:

    TV  : w = E_mu0 [V]_alpha,  alpha = min_{s in S} V(s) + lam  (min over the WHOLE state space);
          minimizer: every state with V > alpha gives its mu0-mass to argmin_S V.
    KL  : w = m - lam log E_mu0 exp(-(V - m)/lam),  m = min_{supp mu0} V;
          minimizer mu* proportional to mu0 exp(-V/lam).
    chi2: w = sup_alpha { E_mu0 [V]_alpha - Var_mu0([V]_alpha) / (4 lam) };
          minimizer mu*(s) = mu0(s) (tau - V(s))^+ / (2 lam) with sum mu* = 1.

Here ``[x]_alpha = min(x, alpha)``. For chi2 the derivative of the dual objective is
``P(V > alpha) (1 - E(alpha - V)^+ / (2 lam))`` (differentiate ``E[V]_alpha`` and
``E[V]_alpha^2``), so the sup is attained at the ``tau`` of the minimizer, the root of
``E_mu0 (tau - V)^+ = 2 lam``; both are computed exactly by a sort (no iterative search).

The *constrained* inner problems of a d-DRMDP (the baselines DRPVI and DRVI-L) [r2pvi, §2.7]:

    TV ball : inf_{TV(mu, mu0) <= rho} E_mu V = max_alpha { E_mu0 [V]_alpha - rho (alpha - min_S V) }
    KL ball : inf_{KL(mu || mu0) <= rho} E_mu V = sup_{b > 0} { -b log E_mu0 exp(-V/b) - b rho }

(:func:`ball_inf`), and the divergence-ball *suprema* ``sup_{D(mu||mu0) <= r} E_mu G`` used by
the instance-dependent term of the upper bound [r2pvi, §4 E4] (:func:`ball_sup`).

Status (card tags): the closed forms are **[math]** on the card (confirmed there with a convex
solver to ~1e-8); the tests of this package re-check them against cvxpy primal solutions
(:mod:`rlsandbox.algorithms.r2pvi.primal`).

Numerics. KL work is shifted by the minimum (log-sum-exp form, card pitfall P10), so nothing
underflows for small ``lam``, and uses ``log1p``/``expm1`` so that large ``lam`` loses no
digits. Exact ties are broken by the lowest state index. Every function validates its inputs (a
distribution ``mu0`` over the states, finite ``V``, ``lam > 0``) and raises ``ValueError``
naming the value and the fix.

Shapes: V (S,), mu0 (S,), G (S,); minimizers (S,).

References
----------
[r2pvi] the paper card shared/papers/r2pvi.md: C. Tang, Z. Liu, P. Xu, Robust offline
reinforcement learning with linearly structured f-divergence regularization, ICML 2025.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_float_array, check_in_range, \
    check_stochastic

__all__ = ["DIVERGENCES", "divergence", "inner_value", "inner_minimizer", "inner_values",
           "chi2_threshold", "ball_inf", "ball_sup", "ball_maximizer"]

#: The f-divergences of the card (§2.2), by name.
DIVERGENCES = ("tv", "kl", "chi2")

#: Support threshold: an entry of ``mu0`` is in the support iff it is > 0 (exactly).
_SUPPORT = 0.0


# ------------------------------------------------------------------ validation helpers
def _check_div(divergence: Any) -> str:
    return check_choice("divergence", divergence, DIVERGENCES)


def _check_pair(V: Any, mu0: Any, vname: str = "V") -> tuple[np.ndarray, np.ndarray]:
    V = check_float_array(vname, V, ndim=1)
    mu0 = check_stochastic("mu0", mu0, shape=V.shape)
    return V, mu0


def _check_lam(lam: Any, div: str = "kl") -> float:
    """lam > 0; for TV also lam == 0 (the limit lam -> 0: w = min_S V, card §2.5)."""
    return check_in_range("lam", lam, low=0.0, low_open=div != "tv",
                          hint="lam is the regularization strength lambda of the d-RRMDP (> 0; "
                               "only TV has the limit lam = 0); for the unregularized nominal "
                               "value use E_mu0 V directly")


# ------------------------------------------------------------------ the divergences
def divergence(divergence: str, mu: Any, mu0: Any) -> float:
    """``D_f(mu || mu0)`` with the card's conventions [r2pvi, §2.2].

    TV = (1/2) ||mu - mu0||_1; KL = sum mu log(mu/mu0) (0 log 0 = 0); chi2 = sum (mu - mu0)^2/mu0.
    KL and chi2 are ``+inf`` when ``mu`` puts mass outside ``supp(mu0)``.

    Parameters
    ----------
    divergence : {"tv", "kl", "chi2"}
    mu, mu0 : array (S,)
        Distributions (rows sum to 1 within 1e-9).

    Returns
    -------
    float

    Examples
    --------
    >>> divergence("tv", [1.0, 0.0], [0.5, 0.5]), divergence("chi2", [1.0, 0.0], [0.5, 0.5])
    (0.5, 1.0)
    >>> divergence("kl", [0.5, 0.5], [1.0, 0.0])
    inf
    """
    div = _check_div(divergence)
    mu0 = check_stochastic("mu0", mu0, ndim=1)
    mu = check_stochastic("mu", mu, shape=mu0.shape)
    return _divergence(div, mu, mu0)


def _divergence(div: str, mu: np.ndarray, mu0: np.ndarray) -> float:
    if div == "tv":
        return float(0.5 * np.abs(mu - mu0).sum())
    supp = mu0 > _SUPPORT
    if np.any(mu[~supp] > 0.0):
        return math.inf
    m, m0 = mu[supp], mu0[supp]
    if div == "kl":
        pos = m > 0.0
        return float(np.sum(m[pos] * np.log(m[pos] / m0[pos])))
    return float(np.sum((m - m0) ** 2 / m0))


# ------------------------------------------------------------------ the regularized inner problem
def chi2_threshold(V: Any, mu0: Any, lam: float) -> float:
    """The root ``tau`` of ``E_mu0 (tau - V)^+ = 2 lam`` (chi2 minimizer and dual maximizer).

    ``tau`` is the level of the chi2 minimizer ``mu*(s) = mu0(s) (tau - V(s))^+ / (2 lam)`` and
    the maximizer alpha of the dual ``E[V]_alpha - Var([V]_alpha) / (4 lam)`` (module
    docstring). Computed exactly: ``g(tau) = E (tau - V)^+`` is piecewise linear and increasing
    on ``tau >= min_{supp} V``, with breakpoints at the sorted support values.

    Examples
    --------
    >>> chi2_threshold([0.0, 1.0], [0.5, 0.5], 0.1)     # 0.5 tau = 0.2
    0.4
    """
    V, mu0 = _check_pair(V, mu0)
    return _chi2_tau(V, mu0, _check_lam(lam))


def _chi2_tau(V: np.ndarray, mu0: np.ndarray, lam: float) -> float:
    supp = mu0 > _SUPPORT
    v, p = V[supp], mu0[supp]
    order = np.argsort(v, kind="stable")
    v, p = v[order], p[order]
    P = np.cumsum(p)                 # mass at or below v_k
    A = np.cumsum(p * v)             # sum of p v at or below v_k
    # tau in [v_k, v_{k+1}) solves P_k tau - A_k = 2 lam; g(v_{k+1}) = P_k v_{k+1} - A_k
    g_next = P[:-1] * v[1:] - A[:-1]
    k = int(np.searchsorted(g_next, 2.0 * lam, side="right"))   # first k with g(v_{k+1}) > 2 lam
    return float((2.0 * lam + A[k]) / P[k])


def inner_value(divergence: str, V: Any, mu0: Any, lam: float) -> float:
    """``w[V] = inf_mu E_mu V + lam D_f(mu || mu0)`` in closed form [r2pvi, §2.5].

    Parameters
    ----------
    divergence : {"tv", "kl", "chi2"}
    V : array (S,)
        Values of the next states (any finite reals).
    mu0 : array (S,)
        Nominal factor distribution.
    lam : float > 0
        Regularization strength lambda (TV also accepts 0, the limit ``w = min_S V``).

    Returns
    -------
    float
        TV: ``E_mu0 min(V, min_S V + lam)``; KL: ``-lam log E_mu0 exp(-V/lam)`` (shifted form);
        chi2: ``sup_alpha E[V]_alpha - Var([V]_alpha)/(4 lam)`` at its exact maximizer.

    Examples
    --------
    Two states with values 0 and 1, mu0 uniform, lam = 0.25: TV caps the value at 0.25
    (``0.5 * 0 + 0.5 * 0.25``), KL gives ``-0.25 log((1 + e^-4)/2)``.

    >>> round(inner_value("tv", [0.0, 1.0], [0.5, 0.5], 0.25), 12)
    0.125
    >>> round(inner_value("kl", [0.0, 1.0], [0.5, 0.5], 0.25), 6)
    0.168749
    """
    div = _check_div(divergence)
    V, mu0 = _check_pair(V, mu0)
    return _inner_value(div, V, mu0, _check_lam(lam, div))


def _inner_value(div: str, V: np.ndarray, mu0: np.ndarray, lam: float) -> float:
    if div == "tv":
        alpha = float(V.min()) + lam
        return float(mu0 @ np.minimum(V, alpha))
    supp = mu0 > _SUPPORT
    if div == "kl":
        m = float(V[supp].min())
        # log E exp(-(V - m)/lam) = log1p(E expm1(...)): accurate also for large lam, where
        # the argument is 1 - O(1/lam) and a plain log would lose ~lam * eps_mach
        return m - lam * math.log1p(float(mu0[supp] @ np.expm1(-(V[supp] - m) / lam)))
    tau = _chi2_tau(V, mu0, lam)
    x = np.minimum(V[supp], tau)
    p = mu0[supp]
    mean = float(p @ x)
    var = float(p @ (x - mean) ** 2)
    return mean - var / (4.0 * lam)


def inner_minimizer(divergence: str, V: Any, mu0: Any, lam: float) -> np.ndarray:
    """A minimizer ``mu*`` of ``E_mu V + lam D_f(mu || mu0)`` [r2pvi, §2.5].

    TV: states with ``V > min_S V + lam`` give their mass to the lowest-index minimizer of
    ``V`` over all states (ties at the threshold keep their mass; every such choice attains the
    value). KL: ``mu* ~ mu0 exp(-V/lam)``. chi2: ``mu0 (tau - V)^+ / (2 lam)``. KL and chi2
    minimizers are unique and supported in ``supp(mu0)``.

    Returns
    -------
    mu : array (S,), a distribution.

    Examples
    --------
    >>> inner_minimizer("tv", [0.0, 1.0, 0.1], [0.0, 0.5, 0.5], 0.25).tolist()
    [0.5, 0.0, 0.5]
    """
    div = _check_div(divergence)
    V, mu0 = _check_pair(V, mu0)
    return _inner_minimizer(div, V, mu0, _check_lam(lam, div))


def _inner_minimizer(div: str, V: np.ndarray, mu0: np.ndarray, lam: float) -> np.ndarray:
    if div == "tv":
        alpha = float(V.min()) + lam
        move = V > alpha
        mu = np.where(move, 0.0, mu0)
        mu[int(np.argmin(V))] += float(mu0[move].sum())
        return mu
    supp = mu0 > _SUPPORT
    mu = np.zeros_like(mu0)
    if div == "kl":
        m = float(V[supp].min())
        x = mu0[supp] * np.exp(-(V[supp] - m) / lam)
        mu[supp] = x / x.sum()
        return mu
    tau = _chi2_tau(V, mu0, lam)
    x = mu0[supp] * np.maximum(tau - V[supp], 0.0) / (2.0 * lam)
    mu[supp] = x / x.sum()          # sums to 1 exactly in exact arithmetic; removes round-off
    return mu


def inner_values(divergence: str, V: Any, mu0: Any, lam: float) -> np.ndarray:
    """:func:`inner_value` for every row of ``mu0 (d, S)``: the vector ``w[V]`` of a step.

    Examples
    --------
    >>> inner_values("tv", [0.0, 1.0], [[0.5, 0.5], [0.0, 1.0]], 0.25).tolist()
    [0.125, 0.25]
    """
    div = _check_div(divergence)
    V = check_float_array("V", V, ndim=1)
    mu0 = check_stochastic("mu0", mu0, ndim=2)
    if mu0.shape[1] != V.shape[0]:
        raise ValueError(f"mu0 has shape {mu0.shape}; expected (d, S) with S = {V.shape[0]} "
                         f"to match V of shape {V.shape}")
    lam = _check_lam(lam, div)
    return np.array([_inner_value(div, V, row, lam) for row in mu0])


# ------------------------------------------------------------------ divergence balls
def _check_radius(name: str, r: Any) -> float:
    return check_in_range(name, r, low=0.0)


def ball_inf(divergence: str, V: Any, mu0: Any, rho: float) -> float:
    """``inf { E_mu V : D_f(mu || mu0) <= rho }``: the constrained inner problem [r2pvi, §2.7].

    Exact: TV moves mass ``min(rho, ...)`` from the highest-value states to ``argmin_S V``
    (equal to the dual ``max_alpha E[V]_alpha - rho (alpha - min_S V)``); KL and chi2 are
    ``-ball_sup(-V)`` (see :func:`ball_sup`).

    Examples
    --------
    >>> ball_inf("tv", [0.0, 1.0, 2.0], [0.0, 0.5, 0.5], 0.25)   # 0.25 moved from 2 to 0
    1.0
    """
    div = _check_div(divergence)
    V, mu0 = _check_pair(V, mu0)
    rho = _check_radius("rho", rho)
    return -_ball_sup(div, -V, mu0, rho)[0]


def ball_sup(divergence: str, G: Any, mu0: Any, r: float) -> float:
    """``sup { E_mu G : D_f(mu || mu0) <= r }`` [r2pvi, §4 E4].

    TV (exact, an LP solved greedily): move mass ``min(r, 1)`` from the lowest-value states of
    ``supp(mu0)`` to ``argmax_S G`` (any state: TV balls leave the support).
    KL: restricted to ``supp(mu0)``; if ``r >= -log mu0(argmax)`` the point mass on the best
    support state is feasible and the sup is ``max_{supp} G``; otherwise the tilted
    distributions ``mu_t ~ mu0 exp(t G)`` have KL increasing in t, the t with ``KL = r`` is found
    by bisection (to relative 1e-15 in t), and the returned value is the dual
    ``(log E_mu0 exp(t G) + r) / t``, an upper bound on the sup by weak duality that equals it
    at the exact root (the bisection's error enters at second order).
    chi2: restricted to ``supp(mu0)``; the maximizers are ``mu_tau ~ mu0 (G - tau)^+`` (KKT),
    ``chi2(mu_tau || mu0)`` is nondecreasing in tau, the tau with ``chi2 = r`` is found by
    bisection, and the value returned is ``E_{mu_tau} G`` at the feasible end of the final
    bracket (a feasible point, within 1e-12 relative of the sup).

    Returns
    -------
    float

    Examples
    --------
    >>> ball_sup("tv", [0.0, 1.0, 5.0], [0.5, 0.5, 0.0], 0.25)     # 0.25 of the 0 moved to 5
    1.75
    >>> ball_sup("kl", [0.0, 1.0], [0.5, 0.5], 10.0)                # log 2 < 10: point mass
    1.0
    """
    div = _check_div(divergence)
    G, mu0 = _check_pair(G, mu0, "G")
    r = _check_radius("r", r)
    return _ball_sup(div, G, mu0, r)[0]


def ball_maximizer(divergence: str, G: Any, mu0: Any, r: float) -> np.ndarray:
    """A (feasible) maximizer of ``E_mu G`` over ``D_f(mu || mu0) <= r`` (see :func:`ball_sup`).

    Examples
    --------
    >>> ball_maximizer("tv", [0.0, 1.0, 5.0], [0.5, 0.5, 0.0], 0.25).tolist()
    [0.25, 0.5, 0.25]
    """
    div = _check_div(divergence)
    G, mu0 = _check_pair(G, mu0, "G")
    r = _check_radius("r", r)
    return _ball_sup(div, G, mu0, r)[1]


def _ball_sup(div: str, G: np.ndarray, mu0: np.ndarray, r: float) -> tuple[float, np.ndarray]:
    if div == "tv":
        return _tv_ball_sup(G, mu0, r)
    supp = mu0 > _SUPPORT
    g, p = G[supp], mu0[supp]
    gmax = float(g.max())
    top = g == gmax
    if r == 0.0 or np.all(top):
        mu = mu0.copy()
        return float(mu0 @ G) if r == 0.0 else gmax, mu
    if div == "kl":
        val, m = _kl_ball_sup(g, p, r, top)
    else:
        val, m = _chi2_ball_sup(g, p, r, top)
    mu = np.zeros_like(mu0)
    mu[supp] = m
    return val, mu


def _tv_ball_sup(G: np.ndarray, mu0: np.ndarray, r: float) -> tuple[float, np.ndarray]:
    best = int(np.argmax(G))
    mu = mu0.copy()
    budget = min(r, 1.0)
    # take mass from the lowest-value states first (stable order: lowest index first on ties)
    for s in np.argsort(G, kind="stable"):
        if budget <= 0.0 or G[s] >= G[best]:
            break
        take = min(budget, mu[s])
        mu[s] -= take
        mu[best] += take
        budget -= take
    return float(mu @ G), mu


def _kl_ball_sup(g: np.ndarray, p: np.ndarray, r: float,
                 top: np.ndarray) -> tuple[float, np.ndarray]:
    p_top = float(p[top].sum())
    if r >= -math.log(p_top):                        # the point mass on the top set is feasible
        m = np.where(top, p / p_top, 0.0)
        return float(g.max()), m
    span = float(g.max() - g.min())

    def tilt(t: float) -> tuple[np.ndarray, float, float]:
        """mu_t, log E exp(t (g - max g)), KL(mu_t || p)."""
        x = p * np.exp(t * (g - g.max()))
        Z = float(x.sum())
        m = x / Z
        pos = m > 0.0
        return m, math.log(Z), float(np.sum(m[pos] * np.log(m[pos] / p[pos])))

    lo, hi = 0.0, 1.0 / span
    while tilt(hi)[2] < r:                           # KL(mu_t) -> -log p_top > r as t -> inf
        lo, hi = hi, 2.0 * hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if tilt(mid)[2] < r:
            lo = mid
        else:
            hi = mid
    t = hi
    m, logZ, _ = tilt(t)
    # dual at b = 1/t: b log E exp(g/b) + b r = max g + (log E exp(t (g - max g)) + r) / t
    return float(g.max()) + (logZ + r) / t, m


def _chi2_ball_sup(g: np.ndarray, p: np.ndarray, r: float,
                   top: np.ndarray) -> tuple[float, np.ndarray]:
    def member(tau: float) -> tuple[np.ndarray, float]:
        x = p * np.maximum(g - tau, 0.0)
        m = x / x.sum()
        return m, float(np.sum((m - p) ** 2 / p))

    p_top = float(p[top].sum())
    m_top = np.where(top, p / p_top, 0.0)
    if float(np.sum((m_top - p) ** 2 / p)) <= r:    # the top set alone is feasible
        return float(g.max()), m_top
    span = float(g.max() - g.min())
    lo, hi = float(g.min()) - span, float(g.max())
    while member(lo)[1] > r:                         # chi2(mu_tau) -> 0 as tau -> -inf
        lo -= 2.0 * (hi - lo)
    for _ in range(200):                             # chi2(mu_tau) is nondecreasing in tau
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if member(mid)[1] <= r:
            lo = mid
        else:
            hi = mid
    m, _ = member(lo)
    return float(m @ g), m
