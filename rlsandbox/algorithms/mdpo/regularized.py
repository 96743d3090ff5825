"""Entropy-regularised values, the soft optimum, and the one convention used throughout.

Convention [mdpo-card, §2.3] (reward form, strength lam >= 0, omega(p) = KL(p || uniform) =
sum_a p log p + log A in [0, log A]):

    V_lam^pi = (I - gamma P_pi)^{-1} (R_pi - lam omega_pi)
    Q_lam^pi(s, a) = R(s, a) + gamma sum_s' P(s'|s, a) V_lam^pi(s')          (SAC convention:
                                                    the regulariser starts at the next state)
    V_lam^pi(s) = sum_a pi(a|s) [Q_lam^pi(s, a) - lam log pi(a|s)] - lam log A   ([mdpo-card, C20])

Shani and Lan put the current-state regulariser inside q (``q = Q_lam - lam omega_pi(s)``): it
is constant in a, so the PMD updates are the same, but value comparisons are not
([mdpo-card, Pitfall 6]); this module only uses the SAC convention.

Regularised optimum: pi*_lam(a|s) proportional to exp(Q*_lam(s, a) / lam) with
V*_lam(s) = lam log((1/A) sum_a exp(Q*_lam(s, a) / lam)) (the soft Bellman operator T_lam, a
gamma-contraction in the sup norm). :func:`soft_optimal` finds it by soft policy iteration
(pi_{k+1} = softmax(Q_lam^{pi_k} / lam), each evaluation an exact linear solve) and certifies
the result by the residual: ||V - V*_lam|| <= ||T_lam V - V|| / (1 - gamma) plus a float64
allowance.

Shapes: pi (S, A); logpi (S, A); V (S,); Q (S, A). Deviations: none.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rlsandbox._validate import check_in_range, check_int, readonly
from rlsandbox.algorithms.mdpo.policies import log_normalize, omega_rows, probabilities
from rlsandbox.dp.discounted import q_values
from rlsandbox.mdp import TabularMDP

__all__ = ["SoftSolution", "evaluate_regularized", "soft_bellman", "soft_optimal",
           "policy_logpi"]

_EPS = float(np.finfo(np.float64).eps)


def _require(mdp, what: str) -> None:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{what} expects a TabularMDP, got {type(mdp).__name__}; build one with "
                        f"rlsandbox.TabularMDP(P, R, gamma)")
    if not mdp.gamma < 1.0:
        raise ValueError(f"mdp.gamma == {mdp.gamma}, must be in [0, 1) for {what} (discounted "
                         f"policy mirror descent)")


def policy_logpi(mdp: TabularMDP, pi) -> np.ndarray:
    """A validated policy (stochastic (S, A) or deterministic (S,)) as log-probabilities
    (S, A); zero probabilities become -inf."""
    p = np.asarray(mdp.policy(pi))
    if p.ndim == 1:
        out = np.full((mdp.S, mdp.A), -np.inf)
        out[np.arange(mdp.S), p] = 0.0
        return out
    with np.errstate(divide="ignore"):
        return np.log(p)


def _eval_lam(mdp: TabularMDP, pi: np.ndarray, logpi: np.ndarray,
              lam: float) -> tuple[np.ndarray, np.ndarray]:
    """(V_lam, Q_lam) for a validated stochastic pi with matching logpi (no checks).

    Dense models: V solves (I - gamma P_pi) V = R_pi - lam omega_pi by LAPACK's LU
    (numpy.linalg.solve, the same factorisation as rlsandbox.evaluate without its per-call
    validation, which dominates for small S); Q = R + gamma P V. Sparse models go through
    :func:`rlsandbox.dp.discounted.evaluate_discounted` / :func:`q_values`.
    """
    b = np.einsum("sa,sa->s", pi, mdp.R)
    if lam != 0.0:
        b = b - lam * omega_rows(logpi)
    if mdp.is_sparse:
        V = _solve(mdp, pi, b)
        return V, np.asarray(q_values(mdp, V))
    P = mdp.P
    M = np.eye(mdp.S) - mdp.gamma * np.einsum("sa,sat->st", pi, P)
    V = np.linalg.solve(M, b)
    return V, mdp.R + mdp.gamma * (P @ V)


def _solve(mdp: TabularMDP, pi: np.ndarray, b: np.ndarray) -> np.ndarray:
    import scipy.linalg
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla
    P_pi = mdp.P_pi(pi)
    if sp.issparse(P_pi):
        M = sp.identity(mdp.S, format="csc") - mdp.gamma * P_pi.tocsc()
        return spla.splu(M).solve(b)
    return scipy.linalg.solve(np.eye(mdp.S) - mdp.gamma * P_pi, b, check_finite=False)


def evaluate_regularized(mdp: TabularMDP, pi, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact regularised value and soft Q of a policy, SAC convention [mdpo-card, §2.3].

        V_lam^pi = (I - gamma P_pi)^{-1} (R_pi - lam omega_pi),
        Q_lam^pi = R + gamma P V_lam^pi

    Parameters
    ----------
    mdp : TabularMDP with gamma < 1
    pi : array (S, A) stochastic or (S,) deterministic
    lam : float >= 0 (lam = 0 gives the ordinary V^pi, Q^pi)

    Returns
    -------
    (V (S,), Q (S, A)), read-only

    Examples
    --------
    The uniform policy has omega = 0, so its regularised and plain values agree:

    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> V, Q = evaluate_regularized(mdp, np.full((6, 2), 0.5), lam=0.3)
    >>> bool(np.allclose(V, rls.evaluate(mdp, np.full((6, 2), 0.5)), rtol=1e-13, atol=0))
    True
    """
    _require(mdp, "evaluate_regularized")
    lam = check_in_range("lam", lam, low=0.0)
    p = np.asarray(mdp.policy(pi))
    logpi = policy_logpi(mdp, p)
    V, Q = _eval_lam(mdp, probabilities(logpi), logpi, lam)
    return readonly(V), readonly(Q)


def soft_bellman(mdp: TabularMDP, V, lam: float) -> tuple[np.ndarray, np.ndarray]:
    """The soft Bellman optimality operator and its soft-greedy policy.

        Q = R + gamma P V,  (T_lam V)(s) = lam log((1/A) sum_a exp(Q(s, a) / lam)),
        log pi(a|s) = Q(s, a) / lam - logsumexp_a(Q(s, .) / lam)

    Returns ``(T_lam V (S,), logpi (S, A))``.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> TV, logpi = soft_bellman(rls.mdps.riverswim(gamma=0.9), np.zeros(6), 1.0)
    >>> TV.shape, bool(np.allclose(np.exp(logpi).sum(1), 1.0))
    ((6,), True)
    """
    _require(mdp, "soft_bellman")
    lam = check_in_range("lam", lam, low=0.0, low_open=True,
                         hint="lam = 0 is the ordinary operator: rlsandbox.bellman_optimality")
    Q = np.asarray(q_values(mdp, V))
    return _soft_backup(Q, lam)


def _soft_backup(Q: np.ndarray, lam: float) -> tuple[np.ndarray, np.ndarray]:
    z = Q / lam
    m = z.max(axis=1)
    logpi = log_normalize(z)
    # logsumexp(z) = z_a - logpi_a for any a; use the argmax entry (logpi = -log1p(small))
    a = np.argmax(z, axis=1)
    lse = m - logpi[np.arange(Q.shape[0]), a]
    return lam * (lse - np.log(Q.shape[1])), logpi


@dataclass(frozen=True, slots=True, eq=False)
class SoftSolution:
    """The entropy-regularised optimum, certified.

    Attributes
    ----------
    V : (S,) V*_lam (soft policy iteration's last evaluation)
    Q : (S, A) Q*_lam = R + gamma P V
    logpi : (S, A) log pi*_lam = soft-greedy policy of Q (a fixed point of every update of
        [mdpo-card, §3.3], C15)
    lam : the regularisation strength
    iterations : soft policy-iteration steps
    residual : ||T_lam V - V||_inf
    error_bound : residual / (1 - gamma) + float64 allowance >= ||V - V*_lam||_inf
    """

    V: np.ndarray
    Q: np.ndarray
    logpi: np.ndarray
    lam: float
    iterations: int
    residual: float
    error_bound: float


def soft_optimal(mdp: TabularMDP, lam: float, *, max_iter: int = 1000) -> SoftSolution:
    """pi*_lam, V*_lam and Q*_lam by soft policy iteration, certified by the residual.

    Iterates pi_{k+1} = softmax(Q_lam^{pi_k} / lam) from the uniform policy (exact
    evaluations; the iteration is monotone and a gamma-contraction of Q_lam in the sup norm,
    [mdpo-card, C17(c)]) until the soft Bellman residual stops decreasing (float64 floor) or
    ``max_iter`` steps; then ||V - V*_lam||_inf <= residual / (1 - gamma) [puterman2005,
    §6.6 argument for any gamma-contraction] plus ``2 S eps (max|R| + lam log A + max|V|) /
    (1 - gamma)`` for the round-off of the residual itself.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> sol = soft_optimal(rls.mdps.riverswim(gamma=0.9), lam=0.1)
    >>> sol.error_bound < 1e-12
    True
    """
    _require(mdp, "soft_optimal")
    lam = check_in_range("lam", lam, low=0.0, low_open=True,
                         hint="lam = 0 is the unregularised problem: use rlsandbox.solve")
    max_iter = check_int("max_iter", max_iter, low=1)
    S, A = mdp.S, mdp.A
    logpi = np.full((S, A), -np.log(A))
    best = None
    k = 0
    for k in range(1, max_iter + 1):
        V, Q = _eval_lam(mdp, probabilities(logpi), logpi, lam)
        TV, new = _soft_backup(Q, lam)
        residual = float(np.abs(TV - V).max())
        if best is None or residual < best[0]:
            best = (residual, V, Q, new, k)
        elif k > best[4] + 2:          # no progress for 3 steps: at the float64 floor
            break
        if residual == 0.0:
            break
        logpi = new
    residual, V, Q, logpi, k_best = best
    scale = float(np.abs(mdp.R).max()) + lam * np.log(A) + float(np.abs(V).max())
    err = (residual + 2.0 * S * _EPS * scale) / (1.0 - mdp.gamma)
    return SoftSolution(readonly(V), readonly(Q), readonly(logpi), float(lam), int(k_best),
                        residual, float(err))
