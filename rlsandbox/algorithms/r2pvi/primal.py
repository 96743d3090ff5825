"""Primal solutions of the inner problems with a convex solver (cvxpy), for cross-checks.

The closed forms of :mod:`rlsandbox.algorithms.r2pvi.divergences` are checked against these
primal programs in the tests and in claim ``r2pvi.c1.*`` [r2pvi, §4 C1]:

    regularized:  min_{mu in Delta(S)} E_mu V + lam D_f(mu || mu0)
    ball (inf):   min_{mu in Delta(S)} E_mu V   s.t.  D_f(mu || mu0) <= rho
    ball (sup):   max_{mu in Delta(S)} E_mu G   s.t.  D_f(mu || mu0) <= r

written as cvxpy problems (card C1, C3): TV as ``0.5 * norm1(mu - mu0)`` over all states (an
LP). KL and chi2 live on ``supp(mu0)`` only (``mu = 0`` off the support, card pitfall P9, instead
of dividing by zero) and are written in the likelihood ratio ``y = mu / mu0``:
``KL = sum mu0 y log y = -mu0 @ entr(y)`` (exponential cone) and
``chi2 = sum mu0 (y - 1)^2`` (second-order cone), with ``mu0 @ y == 1``. This is the card's
``sum(kl_div(mu, mu0))`` / ``sum(square(mu - mu0) / mu0)`` after the change of variables
``mu = mu0 y``, which keeps the programs well scaled when ``mu0`` has entries like 1e-5 (the
direct form made CLARABEL stop at "optimal_inaccurate" there).

Solver: CLARABEL (interior point) with tolerances 1e-9 (``tol_gap_abs``, ``tol_gap_rel``,
``tol_feas``); should it report "optimal_inaccurate" there, it is rerun with its default
tolerances (1e-8). The optimal values are then accurate to about 1e-8 on these well-scaled
problems (|V| <= 10, S <= 10; the card observed ~2e-8); the card's cross-check tolerance is
1e-6.
cvxpy is imported on first use (it takes about a second).

Shapes: V, G, mu0 (S,); returned mu (S,).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox.algorithms.r2pvi.divergences import _check_div, _check_lam, _check_pair, \
    _check_radius

__all__ = ["inner_primal", "ball_primal", "joint_step_primal", "SOLVER_OPTIONS"]

#: Options passed to CLARABEL.
SOLVER_OPTIONS = {"tol_gap_abs": 1e-9, "tol_gap_rel": 1e-9, "tol_feas": 1e-9}


def _divergence_expr(cp: Any, div: str, x: Any, mu0: np.ndarray) -> Any:
    """The divergence as a cvxpy expression of the decision variable ``x`` (see _variable)."""
    if div == "tv":
        return 0.5 * cp.norm1(x - mu0)
    p = mu0[mu0 > 0.0]
    if div == "kl":              # sum p y log y = KL(mu || mu0) for mu = p y
        return -(p @ cp.entr(x))
    return p @ cp.square(x - 1.0)   # sum p (y - 1)^2 = chi2(mu || mu0)


def _solve(cp: Any, problem: Any, what: str) -> None:
    import warnings

    with warnings.catch_warnings():
        # "Solution may be inaccurate": handled below by the rerun at default tolerances
        warnings.simplefilter("ignore", UserWarning)
        problem.solve(solver="CLARABEL", **SOLVER_OPTIONS)
        if problem.status == "optimal_inaccurate":
            problem.solve(solver="CLARABEL")
    if problem.status != "optimal":
        raise RuntimeError(f"cvxpy/CLARABEL returned status {problem.status!r} on the {what}; "
                           f"the cross-check has no reference value for this input")


def _variable(cp: Any, div: str, mu0: np.ndarray) -> tuple[Any, Any, list]:
    """Decision variable x and the distribution mu(x) it encodes, with the simplex constraints.

    TV: x = mu over all states. KL, chi2: x = y, the likelihood ratio mu / mu0 on supp(mu0)
    (mu = 0 off the support, P9); this keeps the programs well scaled when mu0 has tiny entries.
    """
    if div == "tv":
        x = cp.Variable(mu0.shape[0], nonneg=True)
        return x, x, [cp.sum(x) == 1]
    supp = np.flatnonzero(mu0 > 0.0)
    p = mu0[supp]
    y = cp.Variable(supp.shape[0], nonneg=True)
    return y, (supp, p, y), [p @ y == 1]


def _mean(cp: Any, div: str, mu: Any, V: np.ndarray) -> Any:
    if div == "tv":
        return mu @ V
    supp, p, y = mu
    return (p * V[supp]) @ y


def _distribution(div: str, mu: Any, S: int) -> np.ndarray:
    if div == "tv":
        return np.asarray(mu.value, dtype=np.float64)
    supp, p, y = mu
    out = np.zeros(S)
    out[supp] = p * np.asarray(y.value, dtype=np.float64)
    return out


def inner_primal(divergence: str, V: Any, mu0: Any, lam: float) -> tuple[float, np.ndarray]:
    """``min_mu E_mu V + lam D_f(mu || mu0)`` solved by cvxpy (CLARABEL).

    Returns
    -------
    value : float
    mu : array (S,), the solver's minimizer (entries may be off by ~1e-10).

    Examples
    --------
    >>> value, mu = inner_primal("tv", [0.0, 1.0], [0.5, 0.5], 0.25)
    >>> round(value, 8)
    0.125
    """
    import cvxpy as cp

    div = _check_div(divergence)
    V, mu0 = _check_pair(V, mu0)
    lam = _check_lam(lam)
    x, mu, cons = _variable(cp, div, mu0)
    obj = _mean(cp, div, mu, V) + lam * _divergence_expr(cp, div, x, mu0)
    problem = cp.Problem(cp.Minimize(obj), cons)
    _solve(cp, problem, f"{div} regularized inner problem")
    return float(problem.value), _distribution(div, mu, V.shape[0])


def ball_primal(divergence: str, V: Any, mu0: Any, radius: float, *,
                sense: str = "inf") -> tuple[float, np.ndarray]:
    """``inf`` (``sense="inf"``) or ``sup`` (``"sup"``) of ``E_mu V`` over the ball
    ``D_f(mu || mu0) <= radius``.

    Examples
    --------
    >>> value, _ = ball_primal("tv", [0.0, 1.0, 2.0], [0.0, 0.5, 0.5], 0.25)
    >>> round(value, 8)
    1.0
    """
    import cvxpy as cp

    div = _check_div(divergence)
    V, mu0 = _check_pair(V, mu0)
    radius = _check_radius("radius", radius)
    if sense not in ("inf", "sup"):
        raise ValueError(f"sense == {sense!r}; expected 'inf' or 'sup'")
    x, mu, cons = _variable(cp, div, mu0)
    cons.append(_divergence_expr(cp, div, x, mu0) <= radius)
    mean = _mean(cp, div, mu, V)
    problem = cp.Problem(cp.Minimize(mean) if sense == "inf" else cp.Maximize(mean), cons)
    _solve(cp, problem, f"{div} ball ({sense})")
    return float(problem.value), _distribution(div, mu, V.shape[0])


def joint_step_primal(divergence: str, phi_sa: Any, V: Any, mu0s: Any,
                      lam: float) -> float:
    """One step of the d-RRMDP objective at a fixed (s, a), solved jointly over all d factors.

    ``min_{mu_1..mu_d in Delta(S)} sum_i phi_i (E_{mu_i} V + lam D_f(mu_i || mu0_i))`` as a
    single cvxpy program (CLARABEL) straight from the definition [r2pvi, §2.3]: no per-factor
    decomposition is assumed, so comparing it with ``phi @ w`` (one inner value per factor,
    card §2.4) checks the linear representation of the robust regularized Q (card C2 (a)).

    Parameters
    ----------
    phi_sa : (d,) nonnegative weights; V : (S,); mu0s : (d, S) nominal factors; lam : > 0.

    Examples
    --------
    >>> round(joint_step_primal("tv", [0.5, 0.5], [0.0, 1.0], [[0.5, 0.5], [0.0, 1.0]], 0.25), 6)
    0.1875
    """
    import cvxpy as cp

    div = _check_div(divergence)
    mu0s = np.asarray(mu0s, dtype=np.float64)
    phi_sa = np.asarray(phi_sa, dtype=np.float64)
    if phi_sa.ndim != 1 or mu0s.ndim != 2 or mu0s.shape[0] != phi_sa.shape[0]:
        raise ValueError(f"phi_sa of shape {phi_sa.shape} and mu0s of shape {mu0s.shape} do "
                         f"not match: expected (d,) and (d, S)")
    if np.any(phi_sa < 0.0):
        raise ValueError(f"phi_sa has negative entries {phi_sa.tolist()}; the d-rectangular "
                         f"objective needs simplex features (card §2.1)")
    lam = _check_lam(lam)
    obj, cons = 0.0, []
    for i in np.flatnonzero(phi_sa > 0.0):
        V_i, mu0 = _check_pair(V, mu0s[i])
        x, mu, c = _variable(cp, div, mu0)
        cons += c
        obj = obj + phi_sa[i] * (_mean(cp, div, mu, V_i) + lam * _divergence_expr(cp, div, x,
                                                                                   mu0))
    if not cons:
        return 0.0
    problem = cp.Problem(cp.Minimize(obj), cons)
    _solve(cp, problem, f"{div} joint one-step d-RRMDP problem")
    return float(problem.value)
