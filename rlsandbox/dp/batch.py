"""Many tiny discounted MDPs solved in one compiled call.

``solve_batch(P, R, gamma)`` validates the whole stack once (the same rules as
:class:`~rlsandbox.TabularMDP`, vectorised), then runs Howard PI or VI on every model in a
compiled loop over models, parallel (over models) when one round of the batch has
``PARALLEL_WORK`` multiply-adds (the rule of the sweeps in :mod:`rlsandbox.dp.discounted`: a
parallel region waits for the other core's thread, measured at up to ~5e-3 s here after an
idle spell, more than a 1,000-model PI batch of S = 10 takes serially). Each model writes only
its own output slots, so results do not depend on the thread count or on the dispatch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from rlsandbox._validate import (check_choice, check_distribution_rows, check_float_array,
                                 check_in_range, check_int, readonly)
from rlsandbox.dp.discounted import PARALLEL_WORK, TIE_RTOL
from rlsandbox.kernels.bellman import (_policy_iteration_batch, _policy_iteration_batch_par,
                                       _value_iteration_batch)

__all__ = ["BatchSolution", "solve_batch"]


@dataclass(frozen=True, slots=True, eq=False)
class BatchSolution:
    """Solutions of N discounted MDPs.

    Attributes
    ----------
    V : (N, S) values (exact up to LU round-off for PI; the last VI iterate for VI).
    policy : (N, S) int64 greedy policies.
    iterations : (N,) int64 improvements (PI) or sweeps (VI).
    converged : (N,) bool.
    error_bound : (N,) a-posteriori bounds on ||V[n] - V*_n||_inf (VI: gamma/(1-gamma) times the
        last sup-norm difference; PI: 0 in exact arithmetic, reported as the Bellman-residual
        bound ||T V - V|| / (1 - gamma)); both plus the float64 allowance
        2 S eps (max|R| + max|V|) / (1 - gamma) of :func:`rlsandbox.solve`.
    """

    V: np.ndarray
    policy: np.ndarray
    iterations: np.ndarray
    converged: np.ndarray
    error_bound: np.ndarray


def solve_batch(P: Any, R: Any, gamma: Any, *, method: str = "pi", eps: float = 1e-8,
                max_iter: int | None = None) -> BatchSolution:
    """Solve N dense MDPs ``P (N, S, A, S)``, ``R (N, S, A)`` with discount ``gamma``.

    Parameters
    ----------
    P : array (N, S, A, S); every row ``P[n, s, a, :]`` a distribution.
    R : array (N, S, A).
    gamma : float in [0, 1) or array (N,) of them.
    method : "pi" (Howard PI from the greedy policy of ``V0 = max_a R``, exact LU evaluation;
        the start of :func:`rlsandbox.dp.policy_iteration`) or "vi" (Puterman's stopping rule
        ``eps (1 - gamma) / (2 gamma)``, so each V is within eps/2 of V*).
    eps : VI accuracy; ignored by PI.
    max_iter : budget per model (default 10_000 for PI, 1_000_000 for VI).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> rng = np.random.default_rng(0)
    >>> P = rng.dirichlet(np.ones(4), size=(3, 4, 2)); R = rng.random((3, 4, 2))
    >>> rls.solve_batch(P, R, 0.9).policy.shape
    (3, 4)
    """
    method = check_choice("method", method, ("pi", "vi"))
    P = check_float_array("P", P, ndim=4, copy=False, finite=False)   # read only: no copy
    N, S, A, S2 = P.shape
    if S != S2 or min(N, S, A) == 0:
        raise ValueError(f"P has shape {P.shape}; expected (N, S, A, S) with N, S, A >= 1")
    check_distribution_rows("P", P)
    R = check_float_array("R", R, shape=(N, S, A))
    if np.ndim(gamma) == 0:
        g = np.full(N, check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True,
                                      hint="solve_batch needs a discount below 1"))
    else:
        g = check_float_array("gamma", gamma, shape=(N,))
        bad = (g < 0) | (g >= 1)
        if bad.any():
            n = int(np.argmax(bad))
            raise ValueError(f"gamma[{n}] == {g[n]}, must be in [0, 1)")
    eps = check_in_range("eps", eps, low=0.0, low_open=True)
    V = np.zeros((N, S))
    pi = np.zeros((N, S), dtype=np.int64)
    it = np.zeros(N, dtype=np.int64)
    if method == "pi":
        max_iter = check_int("max_iter", 10_000 if max_iter is None else max_iter, low=1)
        # one improvement round: an LU (S^3 / 3) and a greedy step (S A S) per model
        parallel = N * S * (S * S // 3 + A * S) >= PARALLEL_WORK and numba.get_num_threads() > 1
        (_policy_iteration_batch_par if parallel else _policy_iteration_batch)(
            P, R, g, max_iter, TIE_RTOL, V, pi, it)
        converged = it > 0
        it = np.where(converged, it, max_iter)    # the kernel returns -1 when the budget ran out
        Q = R + g[:, None, None] * np.einsum("nsat,nt->nsa", P, V)
        resid = np.abs(Q.max(axis=2) - V).max(axis=1)
        bound = resid / (1.0 - g)
    else:
        max_iter = check_int("max_iter", 1_000_000 if max_iter is None else max_iter, low=1)
        with np.errstate(over="ignore"):      # tiny gamma: tol overflows to inf, as it should
            tol = np.where(g > 0, eps * (1.0 - g) / (2.0 * np.where(g > 0, g, 1.0)), np.inf)
        diff = np.zeros(N)
        _value_iteration_batch(P, R, g, tol, max_iter, V, pi, it, diff)
        converged = it > 0
        bound = g / (1.0 - g) * diff
        # the kernel's pi is greedy w.r.t. V_{k-1}; return the greedy policy of V_k
        Q = R + g[:, None, None] * np.einsum("nsat,nt->nsa", P, V)
        pi = np.argmax(Q, axis=2).astype(np.int64)
    # float64 allowance, as in dp.discounted._certify: the bound itself is computed from sums
    # over S terms, 2 S eps (max|R| + max|V|) / (1 - gamma)
    bound = bound + 2.0 * S * np.finfo(np.float64).eps * (
        np.abs(R).max(axis=(1, 2)) + np.abs(V).max(axis=1)) / (1.0 - g)
    return BatchSolution(readonly(V), readonly(pi), readonly(np.abs(it)), readonly(converged),
                         readonly(bound))
