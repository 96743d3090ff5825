"""Exact dynamic programming in d-rectangular robust regularized (and constrained) linear MDPs.

Model [r2pvi, §2.1-2.4]. A finite-horizon d-rectangular :class:`~rlsandbox.linear.LinearMDP`:
simplex features ``phi[s, a]``, factor distributions ``mu0[h, i, :]`` and rewards
``R[h] = phi @ theta[h]``. The adversary replaces each factor ``mu0[h, i]`` by any
``mu[h, i]`` in Delta(S), independently per (h, i), and pays ``lam * sum_i phi_i(s, a)
D_f(mu[h, i] || mu0[h, i])`` at every visited (s, a). The robust regularized Bellman equations

    Q_h(s, a) = phi(s, a) @ (theta_h + w_h),    w_{h,i} = inner_f(V_{h+1}, mu0[h, i], lam)
    V_h(s)    = max_a Q_h(s, a)   (optimal)  or  sum_a pi_h(a|s) Q_h(s, a)  (policy pi),
    V_H = 0,

are exact because the inner problem decouples over (h, i) [r2pvi, §2.4]; the inner values are
the closed forms of :mod:`~rlsandbox.algorithms.r2pvi.divergences` (card §2.5). This module
computes, on a known model (card §4):

* E1 :func:`robust_dp` -- ``V^{*,lam}``, ``Q``, the per-step vectors ``w_h``, a deterministic
  optimal policy (lowest-index maximizer) and its margin to the second-best action;
* E2 :func:`robust_evaluate` -- ``V^{pi,lam}`` of any Markov policy;
* E3 :func:`suboptimality` -- ``V^{*,lam}(rho) - V^{pi,lam}(rho)``;
* the worst-case kernel (:func:`worst_case_factors`) and the regularized return of any
  factor choice (:func:`regularized_return`), which reproduces ``V^{pi,lam}`` at the worst case
  (card C2 (c));
* E4 :func:`instance_term` -- the DP ``G_h(s) = b_h(s, pi_h(s)) + sum_i phi_i sup_{D(mu||mu0) <=
  r_h} E_mu G_{h+1}`` along a policy, i.e. ``sup_{P in U} sum_h E^{pi, P}[b_h]`` over the product
  of divergence balls of radius ``r_h = (H - h)/lam`` (1-based h; TV capped at 1) (card §2.6);
* the constrained d-DRMDP counterpart :func:`constrained_dp` (factors in balls
  ``D_f(mu[h, i] || mu0[h, i]) <= rho[h, i]``, no payment; TV and KL) used by DRPVI / DRVI-L
  [r2pvi, §2.7].

Conventions. Steps are 0-based here (``h = 0..H-1``); the card writes 1..H, so its
``(H - h)/lam`` radius is ``(H - 1 - h)/lam`` in this module's indexing. Values are undiscounted
sums. Ties between actions go to the lowest index (``numpy.argmax``) and the margin
``Q_best - Q_second`` is reported so that near ties are visible.

Deviations: none from the card's E1-E4; the ball radius is the card's conservative
``(H - h)/lam`` (the paper's exact radius is **[unverified]**, card §2.6), exposed as a
parameter.

Shapes: phi (S, A, d), mu (H, d, S), theta (H, d); V (H+1, S), Q (H, S, A), w (H, d),
policy (H, S) int64.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import as_stochastic, check_float_array, check_in_range, readonly
from rlsandbox.algorithms.r2pvi.divergences import _ball_sup, _check_div, _check_lam, \
    _divergence, _inner_minimizer, _inner_value
from rlsandbox.linear import LinearMDP
from rlsandbox.mdp import FiniteHorizonMDP

__all__ = ["RobustSolution", "robust_dp", "robust_evaluate", "suboptimality",
           "worst_case_factors", "regularized_return", "instance_term", "ball_radii",
           "constrained_dp", "check_model"]


def check_model(lin: Any, where: str) -> LinearMDP:
    """Refuse anything but a finite-horizon d-rectangular :class:`LinearMDP`."""
    if not isinstance(lin, LinearMDP):
        raise TypeError(f"{where} expects a rlsandbox.linear.LinearMDP, got "
                        f"{type(lin).__name__}; build one with LinearMDP(phi, mu, theta, H=...)")
    if lin.H is None:
        raise ValueError(f"{where} needs a finite-horizon LinearMDP (H given or per-step mu), "
                         f"got {lin!r}; pass H=... when building it")
    lin.require_d_rectangular(where)
    return lin


def _policy(lin: LinearMDP, pi: Any) -> np.ndarray:
    """Validated stochastic (H, S, A) form of a policy."""
    fh = FiniteHorizonMDP(lin.P, lin.R, rho=lin.rho)
    return as_stochastic(fh.policy(pi), lin.A)


@dataclass(frozen=True, slots=True, eq=False)
class RobustSolution:
    """Exact robust regularized values of a d-RRMDP (optimal or of a fixed policy).

    Attributes
    ----------
    V : (H+1, S) values, ``V[H] = 0``.
    Q : (H, S, A) action values ``phi @ (theta_h + w_h)``.
    w : (H, d) inner values ``w_{h,i} = inner_f(V[h+1], mu0[h, i], lam)``.
    policy : (H, S) int64: the lowest-index maximizer of ``Q[h, s]`` (for :func:`robust_dp`),
        or the argmax of the evaluated policy's probabilities (for :func:`robust_evaluate`).
    margin : (H, S) ``Q_best - Q_second_best`` (inf when A == 1); a small margin is a near tie.
    value : float, ``rho @ V[0]``.
    lam : float; divergence : str.
    """

    V: np.ndarray
    Q: np.ndarray
    w: np.ndarray
    policy: np.ndarray
    margin: np.ndarray
    value: float
    lam: float
    divergence: str

    def __repr__(self) -> str:
        H, S, A = self.Q.shape
        return (f"RobustSolution({self.divergence}, lam={self.lam:g}, H={H}, S={S}, A={A}, "
                f"value={self.value:.6g})")


def _margin(Q: np.ndarray) -> np.ndarray:
    if Q.shape[-1] == 1:
        return np.full(Q.shape[:-1], np.inf)
    top2 = np.sort(Q, axis=-1)[..., -2:]
    return top2[..., 1] - top2[..., 0]


def _backup(lin: LinearMDP, h: int, V_next: np.ndarray, div: str, lam: float
            ) -> tuple[np.ndarray, np.ndarray]:
    w = np.array([_inner_value(div, V_next, lin.mu[h, i], lam) for i in range(lin.d)])
    return w, lin.phi @ (lin.theta[h] + w)


def _backward(lin: LinearMDP, div: str, lam: float, value_of) -> tuple[np.ndarray, ...]:
    """Backward induction with the robust backup; ``value_of(h, Q[h]) -> V[h]`` (S,) is the max
    (control) or the policy average (evaluation). Returns V (H+1, S), Q (H, S, A), w (H, d)."""
    H, S, A, d = lin.H, lin.S, lin.A, lin.d
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    w = np.empty((H, d))
    for h in range(H - 1, -1, -1):
        w[h], Q[h] = _backup(lin, h, V[h + 1], div, lam)
        V[h] = value_of(h, Q[h])
    return V, Q, w


def robust_dp(lin: LinearMDP, *, lam: float, divergence: str) -> RobustSolution:
    """E1: the robust regularized optimal values and a deterministic optimal policy.

    ``V_H = 0``; for ``h = H-1, ..., 0``: ``w_{h,i} = inner_f(V_{h+1}, mu0[h, i], lam)``,
    ``Q_h = phi @ (theta_h + w_h)``, ``V_h = max_a Q_h`` [r2pvi, §2.4, §4 E1]. The greedy
    deterministic policy is optimal among all Markov policies (card C2 (b)).

    Parameters
    ----------
    lin : LinearMDP
        Finite horizon and d-rectangular (refused otherwise).
    lam : float > 0
        Regularization strength lambda.
    divergence : {"tv", "kl", "chi2"}

    Returns
    -------
    RobustSolution

    Examples
    --------
    The paper's simulated MDP (card §5.1): the reference values of card C11.

    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> round(robust_dp(lin, lam=0.3, divergence="tv").value, 4)
    0.2998
    >>> round(robust_dp(lin, lam=0.3, divergence="kl").value, 4)
    1.6155
    """
    lin = check_model(lin, "robust_dp")
    div = _check_div(divergence)
    lam = _check_lam(lam, div)
    V, Q, w = _backward(lin, div, lam, lambda h, Q_h: Q_h.max(axis=1))
    policy = Q.argmax(axis=2).astype(np.int64)
    return RobustSolution(readonly(V), readonly(Q), readonly(w), readonly(policy),
                          readonly(_margin(Q)), float(lin.rho @ V[0]), lam, div)


def robust_evaluate(lin: LinearMDP, pi: Any, *, lam: float, divergence: str) -> RobustSolution:
    """E2: the robust regularized value ``V^{pi,lam}`` of a Markov policy [r2pvi, §2.4, §4 E2].

    Same recursion as :func:`robust_dp` with ``V_h(s) = sum_a pi_h(a|s) Q_h(s, a)``.

    Parameters
    ----------
    pi : array (H, S) int, (H, S, A), or stationary (S,) / (S, A)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> best = robust_dp(lin, lam=0.1, divergence="kl")
    >>> ev = robust_evaluate(lin, best.policy, lam=0.1, divergence="kl")
    >>> bool(np.allclose(ev.V, best.V, rtol=0, atol=1e-12))
    True
    """
    lin = check_model(lin, "robust_evaluate")
    div = _check_div(divergence)
    lam = _check_lam(lam, div)
    pi = _policy(lin, pi)
    V, Q, w = _backward(lin, div, lam, lambda h, Q_h: np.sum(pi[h] * Q_h, axis=1))
    return RobustSolution(readonly(V), readonly(Q), readonly(w),
                          readonly(pi.argmax(axis=2).astype(np.int64)), readonly(_margin(Q)),
                          float(lin.rho @ V[0]), lam, div)


def suboptimality(lin: LinearMDP, pi: Any, *, lam: float, divergence: str,
                  rho: Any = None) -> float:
    """E3: ``SubOpt(pi, rho, lam) = V^{*,lam}(rho) - V^{pi,lam}(rho)`` [r2pvi, §2.3, §4 E3].

    ``rho`` defaults to the model's initial distribution.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()

    With TV and ``lam >= max V - min V = 2`` the inner problem is the nominal expectation, so
    this is the nominal gap: 1.624250 (optimum) - 0.460658 (always ``<xi, a> = -0.2``).

    >>> pi = np.zeros((lin.H, lin.S), dtype=int)     # always <xi, a> = -0.2
    >>> round(suboptimality(lin, pi, lam=2.0, divergence="tv"), 6)
    1.163592
    """
    best = robust_dp(lin, lam=lam, divergence=divergence)
    ev = robust_evaluate(lin, pi, lam=lam, divergence=divergence)
    r0 = lin.rho if rho is None else check_float_array("rho", rho, shape=(lin.S,))
    return float(r0 @ best.V[0] - r0 @ ev.V[0])


def worst_case_factors(lin: LinearMDP, V: Any, *, lam: float, divergence: str) -> np.ndarray:
    """The adversary's factors: ``mu*[h, i]`` minimizes the inner problem for ``V[h+1]``.

    Parameters
    ----------
    V : array (H+1, S)
        Values (e.g. ``robust_evaluate(...).V``); ``V[h+1]`` is used at step h.

    Returns
    -------
    mu : array (H, d, S)

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> sol = robust_dp(lin, lam=0.3, divergence="tv")
    >>> worst_case_factors(lin, sol.V, lam=0.3, divergence="tv")[0, 3].tolist()  # x5 -> x4
    [0.0, 0.0, 0.0, 1.0, 0.0]
    """
    lin = check_model(lin, "worst_case_factors")
    div = _check_div(divergence)
    lam = _check_lam(lam, div)
    V = check_float_array("V", V, shape=(lin.H + 1, lin.S))
    return readonly(np.array([[_inner_minimizer(div, V[h + 1], lin.mu[h, i], lam)
                               for i in range(lin.d)] for h in range(lin.H)]))


def regularized_return(lin: LinearMDP, pi: Any, mu: Any, *, lam: float,
                       divergence: str) -> np.ndarray:
    """The regularized return of ``pi`` when the adversary plays the factors ``mu``.

    ``E^{pi, P(mu)} [ sum_h r_h + lam sum_i phi_i(s_h, a_h) D_f(mu[h, i] || mu0[h, i]) ]``
    with ``P(mu)[h, s, a] = phi[s, a] @ mu[h]`` [r2pvi, §2.3]: the objective the adversary
    minimizes. Its minimum over ``mu`` is ``V^{pi,lam}`` (attained by
    :func:`worst_case_factors` of ``V^{pi,lam}``, card C2 (c)). Entries are ``+inf`` where the
    adversary pays an infinite KL / chi2 divergence with positive probability.

    Returns
    -------
    V : array (H+1, S)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> ev = robust_evaluate(lin, np.zeros((3, 5), dtype=int), lam=0.3, divergence="chi2")
    >>> mu = worst_case_factors(lin, ev.V, lam=0.3, divergence="chi2")
    >>> V = regularized_return(lin, np.zeros((3, 5), dtype=int), mu, lam=0.3, divergence="chi2")
    >>> bool(abs(V[0, 0] - ev.V[0, 0]) < 1e-12)
    True
    """
    lin = check_model(lin, "regularized_return")
    div = _check_div(divergence)
    lam = _check_lam(lam, div)
    pi = _policy(lin, pi)
    mu = check_float_array("mu", mu, shape=lin.mu.shape)
    H, S, d = lin.H, lin.S, lin.d
    D = np.array([[_divergence(div, mu[h, i], lin.mu[h, i]) for i in range(d)]
                  for h in range(H)])                       # (H, d), may hold +inf
    V = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        # a zero feature weight times an infinite divergence costs nothing (the factor is unused)
        pay = np.where(lin.phi > 0.0, lin.phi * np.where(np.isinf(D[h]), np.inf, D[h]), 0.0)
        P = np.einsum("sai,it->sat", lin.phi, mu[h])
        Vn = np.where(np.isinf(V[h + 1]), np.inf, V[h + 1])
        with np.errstate(invalid="ignore"):
            nxt = np.where(P > 0.0, P * Vn[None, None, :], 0.0).sum(axis=2)
        Q = lin.R[h] + lam * pay.sum(axis=2) + nxt
        V[h] = np.sum(np.where(pi[h] > 0.0, pi[h] * Q, 0.0), axis=1)
    return readonly(V)


def ball_radii(H: int, lam: float, divergence: str) -> np.ndarray:
    """Radii ``r_h`` of the robustly admissible balls [r2pvi, §2.6], 0-based steps.

    ``r_h = (H - 1 - h) / lam`` (the card's ``(H - h)/lam`` in 1-based steps): the inner
    minimizer for a value in ``[0, H - 1 - h]`` pays ``lam D <= max V - min V``. TV radii are
    capped at 1 (every TV distance is <= 1).

    Examples
    --------
    >>> ball_radii(3, 0.5, "kl").tolist(), ball_radii(3, 0.5, "tv").tolist()
    ([4.0, 2.0, 0.0], [1.0, 1.0, 0.0])
    """
    div = _check_div(divergence)
    lam = _check_lam(lam, div)
    steps = (H - 1 - np.arange(H)).astype(np.float64)
    if lam == 0.0:                                       # TV only: the ball is unconstrained
        return np.where(steps > 0.0, 1.0, 0.0)
    r = steps / lam
    return np.minimum(r, 1.0) if div == "tv" else r


def instance_term(lin: LinearMDP, pi: Any, b: Any, *, divergence: str, radii: Any,
                  rho: Any = None) -> tuple[float, np.ndarray]:
    """E4: ``sup_{P in U} sum_h E^{pi, P}[ b_h(s_h, a_h) ]`` over a product of divergence balls.

    ``G_H = 0``; ``G_h(s) = sum_a pi_h(a|s) [ b_h(s, a) + sum_i phi_i(s, a) sup_{D_f(mu ||
    mu0[h, i]) <= r_h} E_mu G_{h+1} ]`` [r2pvi, §4 E4]. The DP is exact for the sup because the
    set is a product over (h, i). With ``b_h(s, a) = sum_i phi_i(s, a) sqrt((Lambda_h^{-1})_ii)``
    and ``pi = pi*`` this is ``Phi_inst`` of the upper bound (card C6); the ball sups are those of
    :func:`~rlsandbox.algorithms.r2pvi.divergences.ball_sup`.

    Parameters
    ----------
    pi : policy, as for :func:`robust_evaluate`
    b : array (H, S, A) >= 0
        Per-step bonus factors (set them to 0 at states whose value is known exactly).
    radii : array (H,) >= 0
        Ball radius per step, e.g. :func:`ball_radii`.
    rho : array (S,), optional
        Initial distribution (the model's by default).

    Returns
    -------
    value : float, ``rho @ G_0``
    G : array (H+1, S)

    Examples
    --------
    With radius 0 the sup is the nominal expectation: ``b = 1`` everywhere gives H.

    >>> import numpy as np
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> instance_term(lin, np.zeros((3, 5), dtype=int), np.ones((3, 5, 16)), divergence="kl",
    ...               radii=np.zeros(3))[0]
    3.0
    """
    lin = check_model(lin, "instance_term")
    div = _check_div(divergence)
    pi = _policy(lin, pi)
    H, S, A, d = lin.H, lin.S, lin.A, lin.d
    b = check_float_array("b", b, shape=(H, S, A))
    if np.any(b < 0.0):
        raise ValueError(f"b has a negative entry ({float(b.min()):.6g}); bonus factors are >= 0")
    radii = check_float_array("radii", radii, shape=(H,))
    for h in range(H):
        check_in_range(f"radii[{h}]", radii[h], low=0.0)
    G = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        up = np.array([_ball_sup(div, G[h + 1], lin.mu[h, i], float(radii[h]))[0]
                       for i in range(d)])
        G[h] = np.sum(pi[h] * (b[h] + lin.phi @ up), axis=1)
    r0 = lin.rho if rho is None else check_float_array("rho", rho, shape=(S,))
    return float(r0 @ G[0]), readonly(G)


def constrained_dp(lin: LinearMDP, *, rho: Any, divergence: str) -> RobustSolution:
    """Optimal values of the constrained d-DRMDP (the baselines' model) [r2pvi, §2.7].

    ``w_{h,i} = inf { E_mu V_{h+1} : D_f(mu || mu0[h, i]) <= rho[h, i] }`` (exact, via
    :func:`~rlsandbox.algorithms.r2pvi.divergences.ball_inf`), then the same Bellman recursion
    as :func:`robust_dp`. ``rho`` is a scalar or an ``(H, d)`` table (the simulated-MDP code
    perturbs only factor 4 at step 1, card §3.3).

    Returns
    -------
    RobustSolution
        with ``lam`` set to nan (not a regularized model).

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> lin = simulated_linear_mdp()
    >>> round(constrained_dp(lin, rho=0.0, divergence="tv").value, 6)   # nominal optimum
    1.62425
    """
    lin = check_model(lin, "constrained_dp")
    div = _check_div(divergence)
    if div == "chi2":
        raise ValueError("constrained_dp supports divergence 'tv' and 'kl' (the baselines DRPVI "
                         "and DRVI-L); chi2 balls are not used by any baseline of the card")
    H, S, A, d = lin.H, lin.S, lin.A, lin.d
    table = np.broadcast_to(check_float_array("rho", rho, ndim=(0, 2)), (H, d))
    for h, i in np.ndindex(H, d):
        check_in_range(f"rho[{h}, {i}]", table[h, i], low=0.0)
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    w = np.empty((H, d))
    for h in range(H - 1, -1, -1):
        w[h] = [-_ball_sup(div, -V[h + 1], lin.mu[h, i], float(table[h, i]))[0]
                for i in range(d)]
        Q[h] = lin.phi @ (lin.theta[h] + w[h])
        V[h] = Q[h].max(axis=1)
    policy = Q.argmax(axis=2).astype(np.int64)
    return RobustSolution(readonly(V), readonly(Q), readonly(w), readonly(policy),
                          readonly(_margin(Q)), float(lin.rho @ V[0]), float("nan"), div)
