"""The quantities of R2PVI's upper bound: estimation errors, the event E, Phi_inst [r2pvi, §4].

The core lemma behind the paper's suboptimality bound (card C5, **[derived]**): fix any beta and
any data set, and let E be the event

    for all h and (s, a):  | phi(s, a) @ (theta_hat_h + w_hat_h) - (B_h V_hat_{h+1})(s, a) |
                           <= beta b_h(s, a),                                                  (E)

with the robust regularized Bellman operator ``(B_h V)(s, a) = r_h(s, a) + sum_i phi_i(s, a)
w_{h,i}[V]`` (exact inner problems for the true factors) and the d-rectangular bonus factor
``b_h(s, a) = sum_i phi_i(s, a) sqrt((Lambda_h^{-1})_ii)``. On E:

    (i)  V_hat_h(s) <= V^{pi_hat,lam}_h(s) for all h, s                      (pessimism)
    (ii) SubOpt(pi_hat, s, lam) <= V^{*,lam}_1(s) - V_hat_1(s)
                                <= 2 beta sup_{P in U^lam} sum_h E^{pi*, P}[b_h(s_h, a_h) | s_1 = s]

where ``U^lam`` is the product of divergence balls of radius ``(H - h)/lam`` (1-based h; TV
capped at 1) around the nominal factors [r2pvi, §2.6]. The right side without ``2 beta`` is
the instance-dependent term ``Phi_inst`` (E4) of the paper's Theorem (card C6).

This module computes, for an :class:`~rlsandbox.algorithms.r2pvi.offline.OfflineSolution`:
:func:`estimation_error` (E5, the per-(h, s, a) error and per-coordinate errors),
:func:`event_holds` (E), :func:`beta_empirical` (the smallest beta for which the per-coordinate
sufficient form of E holds on the active coordinates), :func:`instance_dependent_term`
(``Phi_inst`` with the solution's Gram matrices), and, for the rate check C7,
:func:`population_gram` and :func:`population_instance_term` (``Lambda_h = K Sigma_h +
ridge I`` with the exact behavior covariance ``Sigma_h = E^{pi_b, P0}[phi phi^T]``).

States with a known value (``fail_states``, e.g. x4 of the simulated MDP) are exact in the
algorithm (``V_hat = 0 = V^{pi,lam}``); they are excluded from E and get a zero bonus in
``Phi_inst``, as card P13 prescribes.

Shapes: err (H, S, A), coordinate errors (H, d), Sigma (H, d, d), b (H, S, A).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import as_stochastic, check_choice, check_float_array, check_in_range, \
    check_int, readonly
from rlsandbox.algorithms.r2pvi.divergences import _check_div, _inner_value
from rlsandbox.algorithms.r2pvi.offline import OfflineSolution, bonus_factor
from rlsandbox.algorithms.r2pvi.robust_dp import ball_radii, check_model, instance_term, \
    robust_dp, worst_case_factors
from rlsandbox.linear import LinearMDP
from rlsandbox.mdp import FiniteHorizonMDP

__all__ = ["exact_inner", "estimation_error", "event_holds", "reachable_states", "beta_empirical",
           "instance_dependent_term", "population_gram", "population_instance_term"]


def _check_solution(sol: Any, lin: LinearMDP) -> OfflineSolution:
    if not isinstance(sol, OfflineSolution):
        raise TypeError(f"expected an OfflineSolution (from r2pvi(...)), got {type(sol).__name__}")
    if sol.method != "r2pvi":
        raise ValueError(f"the core lemma (card C5) is stated for R2PVI, got method "
                         f"{sol.method!r}")
    if sol.Q.shape != (lin.H, lin.S, lin.A):
        raise ValueError(f"solution of shape {sol.Q.shape} does not match the model "
                         f"(H, S, A) = {(lin.H, lin.S, lin.A)}")
    return sol


def exact_inner(lin: LinearMDP, V: Any, *, lam: float, divergence: str) -> np.ndarray:
    """``w_{h,i}[V_{h+1}]`` for every step: the exact inner values (true factors) (H, d).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp
    >>> float(exact_inner(simulated_linear_mdp(), np.zeros((4, 5)), lam=0.1,
    ...                   divergence="tv").max())
    0.0
    """
    lin = check_model(lin, "exact_inner")
    div = _check_div(divergence)
    V = check_float_array("V", V, shape=(lin.H + 1, lin.S))
    return readonly(np.array([[_inner_value(div, V[h + 1], lin.mu[h, i], lam)
                               for i in range(lin.d)] for h in range(lin.H)]))


def estimation_error(lin: LinearMDP, sol: OfflineSolution) -> tuple[np.ndarray, np.ndarray]:
    """E5: the one-step errors of R2PVI against the exact robust Bellman operator.

    ``err_h(s, a) = phi(s, a) @ (theta_hat_h + w_hat_h) - (B_h V_hat_{h+1})(s, a)`` and the
    coordinate errors ``delta_{h,i} = theta_hat_{h,i} + w_hat_{h,i} - theta_{h,i} -
    w_{h,i}[V_hat_{h+1}]`` (so ``err = phi @ delta``) [r2pvi, §4 E5].

    Returns
    -------
    err : (H, S, A); delta : (H, d)
    """
    lin = check_model(lin, "estimation_error")
    sol = _check_solution(sol, lin)
    w = exact_inner(lin, sol.V, lam=sol.params["lam"], divergence=sol.divergence)
    delta = sol.theta + sol.w - lin.theta - w
    return readonly(np.einsum("sai,hi->hsa", lin.phi, delta)), readonly(delta)


def _unknown(sol: OfflineSolution, S: int) -> np.ndarray:
    keep = np.ones(S, dtype=bool)
    keep[sol.params["fail_states"]] = False
    return keep


def event_holds(lin: LinearMDP, sol: OfflineSolution, *, slack: float = 0.0) -> tuple[bool, float]:
    """Whether the event E of the core lemma holds for ``sol``'s own beta (card C5).

    E: ``|err_h(s, a)| <= beta b_h(s, a) + slack`` for every h, every (s, a) with s not a known
    state. Returns ``(holds, worst)`` with ``worst = max (|err| - beta b)``.

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> from rlsandbox.algorithms.r2pvi.offline import collect, r2pvi
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=100, rng=0)
    >>> sol = r2pvi(lin, data, divergence="tv", lam=0.3, beta=5.0, fail_states=[FAIL_STATE])
    >>> event_holds(lin, sol)[0]
    True
    """
    err, _ = estimation_error(lin, sol)
    keep = _unknown(sol, lin.S)
    excess = np.abs(err[:, keep]) - sol.bonus[:, keep]
    worst = float(excess.max())
    return worst <= check_in_range("slack", slack, low=0.0), worst


def reachable_states(lin: LinearMDP, sol: OfflineSolution) -> np.ndarray:
    """The states that "matter" at each step [r2pvi, §4 E5]: reachable from ``lin.rho`` under
    the nominal kernel or under the worst-case kernels of the inner problems for ``V_hat``.

    ``R_0 = supp(rho)``; ``R_{h+1}`` = every state in the support of ``P0_h(. | s, a)`` or of
    ``sum_i phi_i(s, a) mu*_{h,i}`` for some ``s in R_h`` and any action, with ``mu*_{h,i}``
    the inner minimizers for ``V_hat_{h+1}`` (:func:`~.robust_dp.worst_case_factors`; for TV
    they add ``argmin_S V_hat_{h+1}``, for KL / chi2 they stay in ``supp(mu0)``).

    Returns
    -------
    mask : bool array (H, S)

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> from rlsandbox.algorithms.r2pvi.offline import collect, r2pvi
    >>> lin = simulated_linear_mdp()
    >>> sol = r2pvi(lin, collect(lin, uniform_behavior(lin), K=100, rng=0), divergence="kl",
    ...             lam=0.3, beta=0.0, fail_states=[FAIL_STATE])
    >>> reachable_states(lin, sol).astype(int).tolist()    # x1; x2, x4, x5; x3, x4, x5
    [[1, 0, 0, 0, 0], [0, 1, 0, 1, 1], [0, 0, 1, 1, 1]]
    """
    lin = check_model(lin, "reachable_states")
    sol = _check_solution(sol, lin)
    mu = worst_case_factors(lin, sol.V, lam=sol.params["lam"], divergence=sol.divergence)
    out = np.zeros((lin.H, lin.S), dtype=bool)
    out[0] = lin.rho > 0.0
    for h in range(lin.H - 1):
        worst = np.einsum("sai,it->sat", lin.phi, mu[h])             # (S, A, S)
        nxt = (lin.P[h] > 0.0) | (worst > 0.0)
        out[h + 1] = nxt[out[h]].any(axis=(0, 1))
    return readonly(out)


def beta_empirical(lin: LinearMDP, sol: OfflineSolution, *, states: str = "all") -> float:
    """``max_{h, i active} |delta_{h,i}| / sqrt((Lambda_h^{-1})_ii)`` [r2pvi, §4 C5, E5].

    Parameters
    ----------
    states : {"all", "reachable"}
        Which states make a coordinate active at step h (``phi_i(s, a) > 0`` for some action
        and some such s that is not a known state). "all" is the card's "fully safe choice":
        for ``beta >= beta_empirical`` the per-coordinate sufficient form of E holds at every
        (s, a) (``|phi @ delta| <= sum_i phi_i |delta_i| <= beta b``). "reachable" is the
        card's definition of the reported beta_emp (E5: the states that matter at step h,
        :func:`reachable_states`); E then holds on those states only. They differ for
        coordinates that no reachable state uses: such a coordinate has no data, and R2PVI-KL
        sets it to the clip value ``H`` while the true inner value can be 0 (simulated MDP,
        step 0, factors 2 and 3: ratio exactly 3 = H), which is what made our earlier KL
        medians 3.0 instead of the card's 0.7 (audit7.md).

    Either way ``delta`` depends on the run's own ``V_hat``, hence on its beta.

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> from rlsandbox.algorithms.r2pvi.offline import collect, r2pvi
    >>> lin = simulated_linear_mdp()
    >>> sol = r2pvi(lin, collect(lin, uniform_behavior(lin), K=100, rng=0), divergence="kl",
    ...             lam=0.3, beta=0.0, fail_states=[FAIL_STATE])
    >>> beta_empirical(lin, sol)                   # an unvisited coordinate: w_hat = H = 3
    3.0
    >>> bool(beta_empirical(lin, sol, states="reachable") < 3.0)
    True
    """
    states = check_choice("states", states, ("all", "reachable"))
    _, delta = estimation_error(lin, sol)
    keep = _unknown(sol, lin.S)
    if states == "all":
        matter = np.broadcast_to(keep, (lin.H, lin.S))
    else:
        matter = reachable_states(lin, sol) & keep[None, :]
    active = np.einsum("hs,sai->hi", matter.astype(float), (lin.phi > 0.0).astype(float)) > 0
    scale = np.sqrt(np.diagonal(sol.Lambda_inv, axis1=1, axis2=2))    # (H, d)
    ratio = np.abs(delta) / scale
    return float(ratio[active].max()) if active.any() else 0.0


def instance_dependent_term(lin: LinearMDP, sol: OfflineSolution, *, policy: Any = None,
                            radii: Any = None, rho: Any = None) -> float:
    """``Phi_inst = sup_{P in U^lam} sum_h E^{pi*, P}[b_h(s_h, a_h)]`` for ``sol``'s Gram
    matrices [r2pvi, §4 C6, E4].

    ``b_h`` is the d-rectangular factor (card §3.1) with ``sol.Lambda_inv``, set to 0 at the known
    states; ``policy`` defaults to the exact robust optimal ``pi*`` (:func:`robust_dp`); radii
    default to :func:`ball_radii` ``(H, lam, divergence)``.
    """
    lin = check_model(lin, "instance_dependent_term")
    sol = _check_solution(sol, lin)
    lam, div = sol.params["lam"], sol.divergence
    b = np.array([bonus_factor(lin.phi, sol.Lambda_inv[h], "d_rect") for h in range(lin.H)])
    b[:, sol.params["fail_states"]] = 0.0
    if policy is None:
        policy = robust_dp(lin, lam=lam, divergence=div).policy
    if radii is None:
        radii = ball_radii(lin.H, lam, div)
    return instance_term(lin, policy, b, divergence=div, radii=radii, rho=rho)[0]


def population_gram(lin: LinearMDP, behavior: Any) -> np.ndarray:
    """``Sigma_h = E^{pi_b, P0}[phi(s_h, a_h) phi(s_h, a_h)^T]`` (H, d, d), exactly.

    The state distribution at step h is propagated from ``lin.rho`` through the nominal kernel
    under the behavior policy.

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> Sigma = population_gram(lin, uniform_behavior(lin))
    >>> round(float(Sigma[0].trace()), 12) <= 1.0
    True
    """
    lin = check_model(lin, "population_gram")
    fh = FiniteHorizonMDP(lin.P, lin.R, rho=lin.rho)
    pi = as_stochastic(fh.policy(behavior), lin.A)
    state = lin.rho.copy()
    out = np.empty((lin.H, lin.d, lin.d))
    for h in range(lin.H):
        occ = state[:, None] * pi[h]                                   # (S, A)
        out[h] = np.einsum("sa,sai,saj->ij", occ, lin.phi, lin.phi)
        state = np.einsum("sa,sat->t", occ, lin.P[h])
    return readonly(out)


def population_instance_term(lin: LinearMDP, *, K: float, lam: float, divergence: str,
                             ridge: float = 1.0, behavior: Any = None, fail_states: Any = (),
                             policy: Any = None) -> float:
    """``Phi_inst`` with the population Gram matrices ``Lambda_h = K Sigma_h + ridge I``
    [r2pvi, §4 C7 (a)]: the deterministic version of the instance-dependent term, whose
    ``K^{-1/2}`` decay is the rate of the paper's Corollary under robust partial coverage.

    Parameters
    ----------
    K : float > 0
        Number of trajectories (any positive real: the formula is smooth in K).
    behavior : policy, optional
        Uniform by default.
    fail_states : states whose bonus is 0 (known values).
    policy : the policy the sup follows; the exact robust optimal ``pi*`` by default.

    Examples
    --------
    Card §4 C7: 0.2608 for the simulated MDP, KL, lam = 0.3, K = 1000.

    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp
    >>> round(population_instance_term(simulated_linear_mdp(), K=1000, lam=0.3, divergence="kl",
    ...                                fail_states=[FAIL_STATE]), 4)
    0.2608
    """
    lin = check_model(lin, "population_instance_term")
    div = _check_div(divergence)
    K = check_in_range("K", K, low=0.0, low_open=True)
    ridge = check_in_range("ridge", ridge, low=0.0, low_open=True)
    if behavior is None:
        behavior = np.full((lin.H, lin.S, lin.A), 1.0 / lin.A)
    Sigma = population_gram(lin, behavior)
    b = np.empty((lin.H, lin.S, lin.A))
    for h in range(lin.H):
        Linv = np.linalg.inv(K * Sigma[h] + ridge * np.eye(lin.d))
        b[h] = bonus_factor(lin.phi, Linv, "d_rect")
    fail = [check_int("fail_states[...]", s, low=0, high=lin.S - 1) for s in fail_states]
    b[:, fail] = 0.0
    if policy is None:
        policy = robust_dp(lin, lam=lam, divergence=div).policy
    return instance_term(lin, policy, b, divergence=div, radii=ball_radii(lin.H, lam, div))[0]
