"""The quantities and bounds of the PMD theory, computed exactly [mdpo-card, §2.4, §4].

Reward form, delta_k = V*(rho) - V^{pi_k}(rho) >= 0, d normalised discounted occupancies
(sum to 1), pi* a deterministic optimal policy (the library's policy iteration, lowest-index
ties), d* = d_rho^{pi*}:

    C*_rho   = || d* / rho ||_inf,  theta_rho = C*_rho / (1 - gamma)    (Xiao; the extra
               1/(1-gamma) is part of the definition, [mdpo-card, Pitfall 7])
    theta_k  = || d* / d_rho^{pi_k} ||_inf <= theta_rho
    Dstar_k  = sum_s d*(s) D(pi*(.|s), pi_k(.|s));  KL: -sum_s d*(s) log pi_k(a*(s)|s) (from
               log-probabilities, finite even when pi_k(a*) underflows); Euclid:
               sum_s d*(s) 1/2 ||e_{a*(s)} - pi_k(.|s)||^2

Bounds (each function returns the right-hand side; provenance as the card marks it):

=============================  ===========================================================  ========
function                       bound                                                        card
=============================  ===========================================================  ========
xiao_sublinear_bound           delta_k <= (Dstar_0/((1-g) eta) + R/(1-g)^2) / (k+1)          C2 derived
xiao_per_iteration             theta_{k+1}(delta_{k+1} - delta_k) + delta_k                 C3 derived
                               <= (Dstar_k - Dstar_{k+1}) / ((1-g) eta_k)
xiao_linear_bound              delta_k <= (1 - 1/theta_rho)^k (delta_0 + Dstar_0/(g eta_0))  C4 derived
xiao_inexact_bound             C4's bound + 4 theta_rho tau / (1-g)                          C6 derived
shani_unregularized_bound      max_s (V* - V^{pi_N}) <= (log A + h^2/2 sum_{k<=N} t_k^2)     C8 derived
                               / ((1-g) sum_{k<=N} t_k),  h = R_max/(1-g)
shani_regularized_bound        max_s (V*_lam - V_lam^{pi_N}) <= (lam log A +                C9 derived
                               (1/(2 lam)) sum_{k<=N} h_k^2/(k+2)) / ((1-g)(N+1))
lan_linear_bound               [f* - f_k] + c E_{nu*} KL(pi*||pi_k) <= g^k [f* - f_0 +       C12 derived
                               c log A],  c = (1 + eta mu)/eta
lan_sublinear_bound            f* - f_k <= (f* - f_0 + log A / eta) / ((1-g)(k+1))           C13 derived
=============================  ===========================================================  ========

(g = gamma; R = reward span, 1 for rewards in [0, 1], [mdpo-card, Pitfall 2].)

Round-off. :func:`eval_roundoff` is the allowance for one exact policy evaluation by LU used
throughout the claims: relative sup-norm error <= 8 S eps_mach (1+gamma)/(1-gamma), the
first-order forward-error bound of [higham2002, Thm 9.5] with growth factor <= 2 for the
diagonally dominant I - gamma P_pi (the same constant as rlsandbox.proofs_check.classic).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsandbox._validate import readonly
from rlsandbox.algorithms.mdpo.regularized import _require
from rlsandbox.dp.discounted import policy_iteration, q_values
from rlsandbox.mdp import TabularMDP
from rlsandbox.measures import state_occupancy, stationary_distribution

__all__ = ["Reference", "reference", "eval_roundoff", "gaps", "dstar_kl", "dstar_euclid",
           "thetas", "occupancies", "nu_star", "check_unit_rewards", "xiao_sublinear_bound", "xiao_per_iteration", "xiao_linear_bound",
           "xiao_inexact_bound", "shani_unregularized_bound", "shani_regularized_bound",
           "shani_h", "lan_setup", "late_factor", "lan_linear_bound", "lan_sublinear_bound", "EPS"]

EPS = float(np.finfo(np.float64).eps)


def eval_roundoff(S: int, gamma: float, scale: float) -> float:
    """Round-off allowance of one exact evaluation whose result has sup norm ``scale``:
    8 S eps (1 + gamma) / (1 - gamma) * scale (module docstring)."""
    return 8.0 * S * EPS * (1.0 + gamma) / (1.0 - gamma) * scale


@dataclass(frozen=True, eq=False)
class Reference:
    """Everything the bounds need about the optimum, for one MDP and one rho.

    Attributes
    ----------
    rho : (S,) evaluation distribution
    V_star : (S,) V* (policy iteration, exact LU evaluation)
    Q_star : (S, A)
    pi_star : (S,) int64 deterministic optimal policy (lowest-index ties)
    d_star : (S,) d_rho^{pi*}
    C_rho : || d* / rho ||_inf (inf if rho misses a state d* visits)
    theta_rho : C_rho / (1 - gamma)
    V_err : certified ||V_star - V*||_inf (residual / (1 - gamma) + backup round-off)
    """

    rho: np.ndarray
    V_star: np.ndarray
    Q_star: np.ndarray
    pi_star: np.ndarray
    d_star: np.ndarray
    C_rho: float
    theta_rho: float
    V_err: float


def reference(mdp: TabularMDP, rho=None) -> Reference:
    """The optimum and Xiao's mismatch coefficients for ``mdp`` and ``rho`` (default
    ``mdp.rho``) [mdpo-card, §2.4 and "Universal exact quantities"].

    Examples
    --------
    >>> import rlsandbox as rls
    >>> ref = reference(rls.mdps.riverswim(gamma=0.9))
    >>> ref.theta_rho >= 1 / (1 - 0.9)
    True
    """
    _require(mdp, "reference")
    rho = mdp.rho if rho is None else np.asarray(mdp.replace(rho=rho).rho)
    sol = policy_iteration(mdp)
    V = np.array(sol.V)
    Q = np.array(q_values(mdp, V))
    residual = float(np.abs(Q.max(axis=1) - V).max())
    backup = (mdp.S + 2) * EPS * (float(np.abs(mdp.R).max()) + float(np.abs(V).max()))
    err = (residual + backup) / (1.0 - mdp.gamma)
    pi_star = np.array(sol.policy)
    d_star = np.array(state_occupancy(mdp, pi_star, rho=rho))
    pos = d_star > 0
    C = float("inf") if (rho[pos] == 0).any() else float(np.max(d_star[pos] / rho[pos]))
    return Reference(readonly(np.array(rho)), readonly(V), readonly(Q), readonly(pi_star),
                     readonly(d_star), C, C / (1.0 - mdp.gamma), float(err))


def gaps(ref: Reference, V: np.ndarray) -> np.ndarray:
    """delta_k = rho . (V* - V_k) for values V (K+1, S) -> (K+1,)."""
    return (ref.V_star[None, :] - np.atleast_2d(V)) @ ref.rho


def dstar_kl(ref: Reference, logpi: np.ndarray) -> np.ndarray:
    """Dstar_k = -sum_s d*(s) log pi_k(a*(s)|s) for logpi (K+1, S, A) -> (K+1,)
    (KL(pi* || pi_k) for deterministic pi*, from log-probabilities: [mdpo-card, Pitfall 11])."""
    L = np.atleast_3d(logpi) if logpi.ndim == 3 else logpi[None]
    S = L.shape[1]
    return -(L[:, np.arange(S), ref.pi_star] * ref.d_star[None, :]).sum(axis=1)


def dstar_euclid(ref: Reference, pi: np.ndarray) -> np.ndarray:
    """Dstar_k = sum_s d*(s) 1/2 ||e_{a*(s)} - pi_k(.|s)||^2 for pi (K+1, S, A) -> (K+1,)."""
    P = pi if pi.ndim == 3 else pi[None]
    S, A = P.shape[1:]
    E = np.zeros((S, A))
    E[np.arange(S), ref.pi_star] = 1.0
    return (0.5 * ((P - E[None]) ** 2).sum(axis=2) * ref.d_star[None, :]).sum(axis=1)


def occupancies(mdp: TabularMDP, pi: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """d_rho^{pi_k} (K+1, S) for policies pi (K+1, S, A) of a validated model.

    With rho > 0 everywhere every state is reached, and d = (1 - gamma) x with
    (I - gamma P_pi)^T x = rho is solved directly by dense LU (the same M-matrix system as
    :func:`rlsandbox.measures.state_occupancy`, without its reachability search, which
    dominates the cost for small S); otherwise each iterate goes through
    :func:`rlsandbox.measures.state_occupancy`, which returns exact zeros on unreachable
    states.
    """
    K1, S, _ = pi.shape
    out = np.empty((K1, S))
    fast = bool((rho > 0).all()) and not mdp.is_sparse
    P = mdp.P if fast else None
    for k in range(K1):
        if fast:
            P_pi = np.einsum("sa,sat->st", pi[k], P)
            x = np.linalg.solve((np.eye(S) - mdp.gamma * P_pi).T, rho)
            out[k] = (1.0 - mdp.gamma) * x
        else:
            out[k] = np.asarray(state_occupancy(mdp, pi[k], rho=rho))
    return out


def thetas(mdp: TabularMDP, ref: Reference, pi: np.ndarray) -> np.ndarray:
    """theta_k = || d* / d_rho^{pi_k} ||_inf for pi (K+1, S, A) -> (K+1,) (inf where d_rho^{pi_k}
    misses a state d* visits)."""
    d = occupancies(mdp, pi, ref.rho)
    pos = ref.d_star > 0
    out = np.empty(pi.shape[0])
    for k in range(pi.shape[0]):
        dk = d[k, pos]
        out[k] = np.inf if (dk <= 0).any() else float(np.max(ref.d_star[pos] / dk))
    return out


# ------------------------------------------------------------------------- Xiao
def xiao_sublinear_bound(gamma: float, D0: float, eta: float, k, r_span: float = 1.0):
    """C2 [Xiao Thm 8; derived form]: delta_k <= (Dstar_0/((1-gamma) eta) + R/(1-gamma)^2)/(k+1)
    for constant eta > 0, rewards with span R (1 for [0, 1], [mdpo-card, Pitfall 2]).

    Examples
    --------
    >>> xiao_sublinear_bound(0.5, 0.0, 1.0, 0)       # 1 / (1 - 0.5)^2
    4.0
    """
    k = np.asarray(k, dtype=np.float64)
    out = (D0 / ((1.0 - gamma) * eta) + r_span / (1.0 - gamma) ** 2) / (k + 1.0)
    return float(out) if out.ndim == 0 else out


def xiao_per_iteration(gamma: float, delta: np.ndarray, D: np.ndarray, theta: np.ndarray,
                       eta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """C3 [Xiao Prop. 9; derived form], both sides for k = 0 .. K-1:

        lhs_k = theta_{k+1} (delta_{k+1} - delta_k) + delta_k
        rhs_k = (Dstar_k - Dstar_{k+1}) / ((1 - gamma) eta_k)     (0 for eta_k = inf)

    Parameters: delta, D, theta (K+1,); eta (K,). theta_{k+1} = inf makes lhs = -inf when
    delta_{k+1} < delta_k (the inequality is then vacuous) and is only allowed then.

    Examples
    --------
    >>> import numpy as np
    >>> lhs, rhs = xiao_per_iteration(0.5, np.array([1.0, 0.5]), np.array([2.0, 1.0]),
    ...                               np.array([2.0, 2.0]), np.array([1.0]))
    >>> lhs.tolist(), rhs.tolist()
    ([0.0], [2.0])
    """
    delta, D, theta, eta = (np.asarray(x, dtype=np.float64) for x in (delta, D, theta, eta))
    with np.errstate(invalid="ignore"):
        drop = delta[1:] - delta[:-1]
        lhs = np.where(np.isinf(theta[1:]) & (drop == 0.0), 0.0, theta[1:] * drop) + delta[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        rhs = np.where(np.isinf(eta), 0.0, (D[:-1] - D[1:]) / ((1.0 - gamma) * eta))
    return lhs, rhs


def xiao_linear_bound(theta_rho: float, delta0: float, D0: float, eta0: float, gamma: float, k):
    """C4 [Xiao Thm 10; derived final form]:
    delta_k <= (1 - 1/theta_rho)^k (delta_0 + Dstar_0 / (gamma eta_0)), for eta_0 > 0 and
    eta_{k+1} >= eta_k theta_rho/(theta_rho - 1) (implied by eta_{k+1} >= eta_k / gamma).

    Examples
    --------
    >>> xiao_linear_bound(2.0, 1.0, 0.5, 1.0, 0.5, 2)       # 0.25 * (1 + 1)
    0.5
    """
    k = np.asarray(k, dtype=np.float64)
    out = (1.0 - 1.0 / theta_rho) ** k * (delta0 + D0 / (gamma * eta0))
    return float(out) if out.ndim == 0 else out


def xiao_inexact_bound(theta_rho: float, delta0: float, D0: float, eta0: float, gamma: float,
                       tau: float, k):
    """C6 general form [Xiao Thm 13; derived]: C4's bound + 4 theta_rho tau / (1 - gamma), for
    ||Qhat_k - Q_k||_inf <= tau and eta_{k+1} >= eta_k / gamma."""
    return xiao_linear_bound(theta_rho, delta0, D0, eta0, gamma, k) + \
        4.0 * theta_rho * tau / (1.0 - gamma)


# ------------------------------------------------------------------------- Shani
def shani_unregularized_bound(gamma: float, A: int, r_max: float, t: np.ndarray) -> np.ndarray:
    """C8 [Shani Thm 2(1); explicit version derived on the card, any positive steps]:

        max_s (V*(s) - V^{pi_N}(s)) <= (log A + (h^2/2) sum_{k=0}^N t_k^2)
                                        / ((1 - gamma) sum_{k=0}^N t_k),   h = R_max/(1-gamma)

    for rewards in [0, R_max], KL, uniform pi_0. ``t`` = (t_0, ..., t_N') gives the bound for
    every N = 0 .. N' (array (N'+1,)).

    Examples
    --------
    >>> import numpy as np
    >>> shani_unregularized_bound(0.5, 2, 1.0, np.array([1.0])).round(6).tolist()
    [5.386294]
    """
    t = np.asarray(t, dtype=np.float64)
    h = r_max / (1.0 - gamma)
    return (np.log(A) + 0.5 * h * h * np.cumsum(t * t)) / ((1.0 - gamma) * np.cumsum(t))


def shani_h(Q_lam: np.ndarray, logpi: np.ndarray, lam: float) -> np.ndarray:
    """h_k = max_s [max_a g_k(s,a) - min_a g_k(s,a)] / 2, g_k = Q_lam^{pi_k} - lam log pi_k
    (C9), for Q_lam, logpi (K+1, S, A) -> (K+1,)."""
    g = Q_lam - lam * logpi
    return (g.max(axis=2) - g.min(axis=2)).max(axis=1) / 2.0


def shani_regularized_bound(gamma: float, A: int, lam: float, h: np.ndarray) -> np.ndarray:
    """C9 [Shani Thm 2(2); explicit version derived on the card; t_k = 1/(lam (k+2))]:

        max_s (V*_lam(s) - V_lam^{pi_N}(s)) <= (lam log A + (1/(2 lam)) sum_{k=0}^N h_k^2/(k+2))
                                               / ((1 - gamma)(N + 1))

    for every N = 0 .. len(h)-1 (array).
    """
    h = np.asarray(h, dtype=np.float64)
    N = np.arange(h.shape[0], dtype=np.float64)
    return (lam * np.log(A) + np.cumsum(h * h / (N + 2.0)) / (2.0 * lam)) / \
        ((1.0 - gamma) * (N + 1.0))


# ------------------------------------------------------------------------- Lan
def nu_star(mdp: TabularMDP, pi_star) -> np.ndarray:
    """Stationary distribution of P_{pi*} (GTH elimination), Lan's weighting
    [mdpo-card, §2.4]; raises if it is not unique (several recurrent classes)."""
    return np.asarray(stationary_distribution(mdp, pi_star))


def lan_setup(mdp: TabularMDP, lam: float) -> tuple[float, np.ndarray, np.ndarray | None, float]:
    """Lan's weighting [mdpo-card, §2.4, C12-C14]: ``(f*, nu*, log pi*, err)`` with pi* =
    pi*_lam (soft policy iteration, certified) when ``lam > 0`` or the unregularised
    deterministic pi* (``log pi*`` is then None) when ``lam == 0``; nu* its stationary
    distribution; f* = nu* . V*_lam; err the certified sup-norm error of V*_lam.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> f, nu, logpi, err = lan_setup(rls.mdps.riverswim(gamma=0.9), 0.0)
    >>> round(float(nu.sum()), 12), logpi is None, err < 1e-9
    (1.0, True, True)
    """
    from rlsandbox.algorithms.mdpo.policies import probabilities
    from rlsandbox.algorithms.mdpo.regularized import soft_optimal
    if lam > 0.0:
        sol = soft_optimal(mdp, lam)
        logpi_star, V_star, err = np.asarray(sol.logpi), np.asarray(sol.V), sol.error_bound
        pi_star = probabilities(logpi_star)
    else:
        ref = reference(mdp)
        pi_star, V_star, err = ref.pi_star, ref.V_star, ref.V_err
        logpi_star = None
    nu = nu_star(mdp, pi_star)
    return float(nu @ V_star), nu, logpi_star, float(err)


def lan_linear_bound(gamma: float, A: int, mu: float, eta: float, f_gap0: float, k):
    """C12 right-hand side [Lan Thm 1; derived final form]:
    gamma^k [f(pi*) - f(pi_0) + c log A], c = (1 + eta mu)/eta (= mu/(1-gamma) at Lan's
    eta = (1-gamma)/(gamma mu)), valid when 1 + eta mu >= 1/gamma."""
    k = np.asarray(k, dtype=np.float64)
    c = (1.0 + eta * mu) / eta
    out = gamma ** k * (f_gap0 + c * np.log(A))
    return float(out) if out.ndim == 0 else out


def lan_sublinear_bound(gamma: float, A: int, eta: float, f_gap0: float, k):
    """C13 [Lan Thm 2; derived form]: f(pi*) - f(pi_k) <= (f(pi*) - f(pi_0) + log A / eta)
    / ((1 - gamma)(k + 1)), mu = 0, constant eta, f = nu* . V."""
    k = np.asarray(k, dtype=np.float64)
    out = (f_gap0 + np.log(A) / eta) / ((1.0 - gamma) * (k + 1.0))
    return float(out) if out.ndim == 0 else out


def late_factor(gap: np.ndarray, floor: float) -> tuple[float, int]:
    """The late per-step factor of a linearly converging sequence: exp of the least-squares
    slope of log gap_k against k over the later half of the iterations whose gap exceeds
    ``floor`` (all of them if that half has < 2 points); 0.0 when fewer than 2 iterations
    are above the floor (the run reached the floor at once). Returns (factor, points used).
    Used for the rate checks of C14 and the figure T3 [mdpo-card, §4, §5.2].

    Examples
    --------
    >>> f, n = late_factor(0.5 ** np.arange(20.0), 1e-12)
    >>> round(f, 12), n
    (0.5, 10)
    """
    gap = np.asarray(gap, dtype=np.float64)
    ks = np.flatnonzero(gap > floor)
    if ks.size < 2:
        return 0.0, int(ks.size)
    late = ks[ks >= ks[ks.size // 2]]
    use = late if late.size >= 2 else ks
    slope = float(np.polyfit(use.astype(np.float64), np.log(gap[use]), 1)[0])
    return float(np.exp(slope)), int(use.size)


def check_unit_rewards(mdp: TabularMDP, what: str) -> None:
    """Raise unless every R[s, a] is in [0, 1] (the constants of Xiao's / Shani's bounds)."""
    lo, hi = float(mdp.R.min()), float(mdp.R.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{what} assumes rewards in [0, 1]; R ranges over [{lo:.6g}, {hi:.6g}]. "
                         f"Rescale: R' = (R - min R) / (max R - min R) [mdpo-card, Pitfall 2]")
