"""Exact dynamic programming for finite-horizon MDPs: backward induction and policy evaluation.

For a :class:`~rlsandbox.mdp.FiniteHorizonMDP` with steps ``h = 0, ..., H-1`` the optimal
values satisfy [puterman2005, §4.5, the backward induction algorithm]

    V[H, s]    = 0
    Q[h, s, a] = R[h, s, a] + sum_s' P[h, s, a, s'] V[h+1, s']
    V[h, s]    = max_a Q[h, s, a]

and a deterministic Markov policy that is greedy at every step is optimal among all
history-dependent randomised policies [puterman2005, §4.4]. A fixed policy ``pi[h, s, a]``
is evaluated by the same recursion with ``V^pi[h, s] = sum_a pi[h, s, a] Q^pi[h, s, a]``
[puterman2005, §4.2]. Values are undiscounted sums ``E sum_{h<H} R[h, s_h, a_h]``.

The recursion is exact: it makes ``H S A`` backups of ``S`` terms each, with no iteration and
no stopping rule, so the only error is float64 round-off (see :data:`TIE_RTOL` below for how
ties are treated).

Deviations: none. Time runs ``0..H-1`` here where Puterman writes ``1..N`` with terminal
reward ``r_N``; our terminal reward is 0 (fold a terminal reward into ``R[H-1]``).
Shapes: P (H, S, A, S), R (H, S, A), V (H+1, S), Q (H, S, A), policy (H, S).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np

from rlsandbox._validate import as_stochastic, readonly
from rlsandbox.dp.discounted import PARALLEL_WORK, TIE_RTOL
from rlsandbox.kernels.finite import (_backward_induction, _backward_induction_par,
                                      _evaluate_finite, _optimal_mask)
from rlsandbox.mdp import FiniteHorizonMDP

__all__ = ["FiniteHorizonSolution", "backward_induction", "evaluate_finite", "TIE_RTOL"]


@dataclass(frozen=True, slots=True, eq=False)
class FiniteHorizonSolution:
    """The exact solution of a finite-horizon MDP (backward induction).

    Attributes
    ----------
    V : (H+1, S) optimal values, ``V[H] = 0``.
    Q : (H, S, A) optimal action values ``R[h] + P[h] V[h+1]``.
    policy : (H, S) int64, the lowest-index maximiser of ``Q[h, s, :]`` (an optimal policy).
    optimal_actions : (H, S, A) bool, ``Q[h, s, a] >= max_b Q[h, s, b] - tie_tol``: every
        optimal action, plus actions tied with the best within the float tolerance.
    tie_tol : float, ``TIE_RTOL * (1 + max|R| + max|Q|)`` (absolute), the tie tolerance used.
    value : float, ``sum_s rho[s] V[0, s]``, the optimal expected return from ``rho``.
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    optimal_actions: np.ndarray
    tie_tol: float
    value: float

    @property
    def H(self) -> int:
        """Horizon."""
        return self.Q.shape[0]

    def __repr__(self) -> str:
        H, S, A = self.Q.shape
        return f"FiniteHorizonSolution(H={H}, S={S}, A={A}, value={self.value:.6g})"


def _require_finite_horizon(fh: Any, where: str) -> None:
    if not isinstance(fh, FiniteHorizonMDP):
        raise TypeError(f"{where} expects a FiniteHorizonMDP, got {type(fh).__name__}; build one "
                        f"with rlsandbox.FiniteHorizonMDP(P, R) (P of shape (H, S, A, S)), or use "
                        f"rlsandbox.solve / rlsandbox.evaluate for a TabularMDP")


def backward_induction(fh: FiniteHorizonMDP) -> FiniteHorizonSolution:
    """Solve a finite-horizon MDP exactly by backward induction [puterman2005, §4.5].

    ``V[H] = 0``; for ``h = H-1, ..., 0``: ``Q[h] = R[h] + P[h] V[h+1]`` and
    ``V[h, s] = max_a Q[h, s, a]``, ``policy[h, s]`` = the lowest-index maximiser.

    Ties. The values are exact up to float64 round-off: each ``Q[h]`` sums ``S + 1`` terms
    onto a ``V[h+1]`` that carries the error of the later steps, so every computed entry of
    ``Q`` is within ``e = H (S + 1) eps_mach (max|R| + max|Q|)`` of the exact one, and a
    computed difference ``max_b Q[h, s, b] - Q[h, s, a]`` within ``2 e``. Actions within
    ``tie_tol = TIE_RTOL (1 + max|R| + max|Q|)`` (``TIE_RTOL = 1e-9``, as in the discounted
    solvers) of the best are all marked in ``optimal_actions``; for ``H (S + 1) <= 2e6`` this
    exceeds ``2 e``, so no optimal action is ever missing from the mask.

    Parameters
    ----------
    fh : FiniteHorizonMDP
        The model: P (H, S, A, S), R (H, S, A), rho (S,).

    Returns
    -------
    FiniteHorizonSolution
        V (H+1, S), Q (H, S, A), policy (H, S) int64, optimal_actions (H, S, A), value.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])   # (S, A, S)
    >>> fh = rls.FiniteHorizonMDP(P, np.array([[0.0, 1.0], [2.0, 0.0]]), H=2)
    >>> sol = rls.solve(fh)
    >>> sol.V[0].tolist(), sol.policy.tolist()
    ([3.0, 4.0], [[1, 0], [1, 0]])
    """
    _require_finite_horizon(fh, "backward_induction")
    H, S, A = fh.H, fh.S, fh.A
    V = np.empty((H + 1, S))
    Q = np.empty((H, S, A))
    policy = np.empty((H, S), dtype=np.int64)
    # each step's states split over threads when one step's work pays for a parallel region
    # (the rule of the discounted sweeps, dp.discounted.PARALLEL_WORK); bitwise the serial
    # results either way
    parallel = S * A * S >= PARALLEL_WORK and numba.get_num_threads() > 1
    (_backward_induction_par if parallel else _backward_induction)(fh.P, fh.R, V, Q, policy)
    optimal = np.empty((H, S, A), dtype=np.bool_)
    tie_tol = _optimal_mask(Q, fh.R, V, TIE_RTOL, optimal)
    value = float(fh.rho @ V[0])
    return FiniteHorizonSolution(readonly(V), readonly(Q), readonly(policy), readonly(optimal),
                                 tie_tol, value)


def evaluate_finite(fh: FiniteHorizonMDP, pi: Any) -> np.ndarray:
    """Exact value ``V^pi`` (H+1, S) of a policy in a finite-horizon MDP [puterman2005, §4.2].

    ``V[H] = 0``; ``V[h, s] = sum_a pi[h, s, a] (R[h, s, a] + sum_s' P[h, s, a, s'] V[h+1, s'])``.

    Parameters
    ----------
    fh : FiniteHorizonMDP
    pi : array
        Non-stationary ``(H, S, A)`` stochastic or ``(H, S)`` integer deterministic, or
        stationary ``(S, A)`` / ``(S,)`` (used at every step); validated by ``fh.policy``.

    Returns
    -------
    V : (H+1, S) read-only float64; ``rho @ V[0]`` is the expected return.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> fh = rls.FiniteHorizonMDP(P, np.array([[0.0, 1.0], [2.0, 0.0]]), H=2)
    >>> rls.evaluate(fh, np.zeros(2, dtype=int)).tolist()    # always action 0
    [[0.0, 4.0], [0.0, 2.0], [0.0, 0.0]]
    """
    _require_finite_horizon(fh, "evaluate_finite")
    pi = as_stochastic(fh.policy(pi), fh.A)
    V = np.empty((fh.H + 1, fh.S))
    Q = np.empty((fh.H, fh.S, fh.A))
    _evaluate_finite(fh.P, fh.R, np.ascontiguousarray(pi), V, Q)
    return readonly(V)
