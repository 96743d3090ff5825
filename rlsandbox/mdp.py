"""Problem objects: validated, immutable tabular MDPs (discounted, episodic, finite horizon).

A :class:`TabularMDP` holds the transition kernel ``P[s, a, s']``, the expected reward
``R[s, a]``, the discount ``gamma``, the initial distribution ``rho`` and an optional mask of
terminal (absorbing, zero-reward) states. A :class:`FiniteHorizonMDP` holds per-step kernels
``P[h, s, a, s']`` and rewards ``R[h, s, a]`` for ``h = 0, ..., H-1`` [puterman2005, §4.1].

Both are validated once, at construction (:mod:`rlsandbox._validate`); afterwards every array
is a read-only float64 copy and every downstream function trusts it.

Shapes: P dense ``(S, A, S)`` or scipy.sparse CSR ``(S*A, S)`` with row ``s*A + a``;
R ``(S, A)`` (an ``(S, A, S)`` reward is reduced to its expectation ``sum_s' P R`` and kept
as ``R_sas``); rho ``(S,)``; terminal ``(S,)`` bool.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from rlsandbox._validate import (
    ROW_SUM_ATOL, as_stochastic, check_float_array, check_in_range, check_int, check_policy,
    check_stochastic, check_stochastic_csr, check_value_scale, readonly,
)

__all__ = ["TabularMDP", "FiniteHorizonMDP"]

#: Tolerance for "terminal rows are absorbing with zero reward".
TERMINAL_ATOL = 1e-12


def _expected_reward(P: np.ndarray | sp.csr_array, R_sas: np.ndarray, S: int, A: int) -> np.ndarray:
    if sp.issparse(P):
        return np.asarray(P.multiply(R_sas.reshape(S * A, S)).sum(axis=1)).reshape(S, A)
    return np.einsum("sat,sat->sa", P, R_sas)


def _check_rho(rho: Any, S: int) -> np.ndarray:
    if rho is None:
        return readonly(np.full(S, 1.0 / S))
    return check_stochastic("rho", rho, shape=(S,))


@dataclass(frozen=True, slots=True, eq=False)
class TabularMDP:
    """A finite discounted (or episodic) Markov decision process.

    Parameters
    ----------
    P : array (S, A, S) or scipy.sparse (S*A, S)
        Transition kernel; ``P[s, a, s']`` (dense) or row ``s*A + a`` (sparse CSR) is the
        distribution of the next state. Rows must sum to 1 within 1e-9; nothing is renormalised.
    R : array (S, A) or (S, A, S)
        Expected reward ``R[s, a]``, or ``R[s, a, s']`` (reduced to its expectation under P; the
        original stays available as ``R_sas``).
    gamma : float in [0, 1]
        Discount. ``gamma == 1`` is accepted here; solvers that need ``gamma < 1`` refuse it
        with a message naming the alternative (episodic evaluation, average reward).
    rho : array (S,), optional
        Initial-state distribution; uniform by default.
    terminal : array (S,) of bool, optional
        Terminal states: every action must keep the state where it is (``P[s, a, s] == 1``)
        with zero reward.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> mdp = rls.TabularMDP(P, np.array([[0.0, 1.0], [2.0, 0.0]]), gamma=0.9)
    >>> mdp.S, mdp.A
    (2, 2)
    """

    P: np.ndarray | sp.csr_array
    R: np.ndarray
    gamma: float
    rho: np.ndarray | None = None
    terminal: np.ndarray | None = None
    R_sas: np.ndarray | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        gamma = check_in_range("gamma", self.gamma, low=0.0, high=1.0)
        if sp.issparse(self.P):
            if self.P.ndim != 2:
                raise ValueError(f"sparse P has shape {self.P.shape}; expected (S*A, S) with "
                                 f"row s*A + a for state s and action a")
            rows, S = self.P.shape
            if S == 0 or rows % S != 0 or rows == 0:
                raise ValueError(f"sparse P has shape {self.P.shape}; expected (S*A, S) with "
                                 f"row s*A + a for state s and action a")
            A = rows // S
            P = check_stochastic_csr("P", self.P, n_cols=S, A=A)
        else:
            P = check_float_array("P", self.P, ndim=3)
            S, A, S2 = P.shape
            if S != S2 or S == 0 or A == 0:
                raise ValueError(f"P has shape {P.shape}; expected (S, A, S) with S, A >= 1")
            P = check_stochastic("P", P)
        R = check_float_array("R", self.R, ndim=(2, 3))
        if R.ndim == 3:
            if R.shape != (S, A, S):
                raise ValueError(f"R has shape {R.shape}; expected (S, A) = {(S, A)} or "
                                 f"(S, A, S) = {(S, A, S)} to match P")
            set_(self, "R_sas", readonly(R))
            with np.errstate(over="ignore", invalid="ignore"):
                R = _expected_reward(P, R, S, A)
            if not np.isfinite(R).all():     # finite R_sas, but the sum overflowed
                s, a = (int(i) for i in np.argwhere(~np.isfinite(R))[0])
                raise ValueError(f"R[{s}, {a}] = sum_s' P[{s}, {a}, s'] R[{s}, {a}, s'] overflows "
                                 f"to {R[s, a]}; rescale the rewards (max |R| is "
                                 f"{float(np.abs(self.R_sas).max()):.6g})")
        elif R.shape != (S, A):
            raise ValueError(f"R has shape {R.shape}; expected (S, A) = {(S, A)} to match P "
                             f"of shape {P.shape}")
        if gamma < 1.0:
            check_value_scale("R", R, 1.0 / (1.0 - gamma))
        set_(self, "P", P)
        set_(self, "R", readonly(R))
        set_(self, "gamma", gamma)
        set_(self, "rho", _check_rho(self.rho, S))
        set_(self, "terminal", self._check_terminal(self.terminal, S, A))

    def _check_terminal(self, terminal: Any, S: int, A: int) -> np.ndarray:
        if terminal is None:
            return readonly(np.zeros(S, dtype=bool))
        t = np.asarray(terminal)
        if t.dtype != np.bool_:
            raise TypeError(f"terminal has dtype {t.dtype}; expected a boolean mask of shape ({S},)")
        if t.shape != (S,):
            raise ValueError(f"terminal has shape {t.shape}; expected ({S},)")
        t = np.array(t, copy=True)
        for s in np.flatnonzero(t):
            stay = self.P[[s * A + a for a in range(A)], s].toarray().ravel() \
                if sp.issparse(self.P) else self.P[s, :, s]
            bad_a = np.flatnonzero(np.abs(stay - 1.0) > ROW_SUM_ATOL)
            if bad_a.size:
                a = int(bad_a[0])
                raise ValueError(f"terminal state {s} is not absorbing: P[{s}, {a}, {s}] = "
                                 f"{stay[a]:.6g}; a terminal state must return to itself with "
                                 f"probability 1 under every action")
            rew = self.R[s]
            bad_a = np.flatnonzero(np.abs(rew) > TERMINAL_ATOL)
            if bad_a.size:
                a = int(bad_a[0])
                raise ValueError(f"terminal state {s} has reward R[{s}, {a}] = {rew[a]:.6g}; "
                                 f"terminal states must have zero reward")
        return readonly(t)

    # ----------------------------------------------------------------- shape
    @property
    def S(self) -> int:
        """Number of states."""
        return self.R.shape[0]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self.R.shape[1]

    @property
    def is_sparse(self) -> bool:
        """True if ``P`` is stored as scipy.sparse CSR ``(S*A, S)``."""
        return sp.issparse(self.P)

    def dense_P(self) -> np.ndarray:
        """``P`` as a dense ``(S, A, S)`` array (a view for dense models, a new array for sparse)."""
        if self.is_sparse:
            return self.P.toarray().reshape(self.S, self.A, self.S)
        return self.P

    def csr_P(self) -> sp.csr_array:
        """``P`` as CSR ``(S*A, S)`` (converting a dense kernel)."""
        if self.is_sparse:
            return self.P
        return sp.csr_array(self.P.reshape(self.S * self.A, self.S))

    # ------------------------------------------------------------- policies
    def policy(self, pi: Any, name: str = "pi") -> np.ndarray:
        """Validate ``pi`` for this model: ``(S, A)`` stochastic or ``(S,)`` int deterministic."""
        return check_policy(name, pi, self.S, self.A)

    def P_pi(self, pi: np.ndarray) -> np.ndarray | sp.csr_array:
        """State kernel ``P_pi[s, s'] = sum_a pi[s, a] P[s, a, s']`` for a validated policy.

        Dense ``(S, S)`` for dense models, CSR for sparse ones.
        """
        pi = as_stochastic(pi, self.A)
        if self.is_sparse:
            S, A = self.S, self.A
            W = sp.csr_array((pi.ravel(), np.arange(S * A), np.arange(0, S * A + 1, A)),
                             shape=(S, S * A))
            return (W @ self.P).tocsr()
        return np.einsum("sa,sat->st", pi, self.P)

    def R_pi(self, pi: np.ndarray) -> np.ndarray:
        """Reward ``R_pi[s] = sum_a pi[s, a] R[s, a]`` ``(S,)`` for a validated policy."""
        return np.einsum("sa,sa->s", as_stochastic(pi, self.A), self.R)

    def replace(self, **changes: Any) -> "TabularMDP":
        """A new validated model with some of ``P, R, gamma, rho, terminal`` changed."""
        kw = {"P": self.P, "R": self.R if self.R_sas is None else self.R_sas,
              "gamma": self.gamma, "rho": self.rho, "terminal": self.terminal}
        kw.update(changes)
        return TabularMDP(**kw)

    def __repr__(self) -> str:
        kind = "sparse" if self.is_sparse else "dense"
        extra = f", terminal={int(self.terminal.sum())}" if self.terminal.any() else ""
        return f"TabularMDP(S={self.S}, A={self.A}, gamma={self.gamma:g}, {kind}{extra})"


@dataclass(frozen=True, slots=True, eq=False)
class FiniteHorizonMDP:
    """A finite-horizon MDP with per-step kernels and rewards [puterman2005, §4.1].

    Parameters
    ----------
    P : array (H, S, A, S) or (S, A, S)
        Per-step kernels; a stationary ``(S, A, S)`` kernel needs an explicit ``H`` and is
        repeated.
    R : array (H, S, A) or (S, A)
        Per-step expected rewards; ``(S, A)`` is repeated over the ``H`` steps.
    rho : array (S,), optional
        Initial distribution at step 0; uniform by default.
    H : int, optional
        Horizon; required when P is stationary, else must agree with ``P.shape[0]``.

    Values are undiscounted sums ``sum_{h<H} R[h, s_h, a_h]``; ``V[H] = 0``.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> fh = rls.FiniteHorizonMDP(P, np.array([[0.0, 1.0], [2.0, 0.0]]), H=3)
    >>> fh.H, fh.S, fh.A, rls.solve(fh).V[0].tolist()   # by hand: V2 = (1, 2), V1 = (3, 4)
    (3, 2, 2, [5.0, 6.0])
    """

    P: np.ndarray
    R: np.ndarray
    rho: np.ndarray | None = None
    H: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        P = check_float_array("P", self.P, ndim=(3, 4))
        if P.ndim == 3:
            if self.H is None:
                raise ValueError(f"P has shape {P.shape} (stationary); pass H=... for the "
                                 f"horizon, or a per-step P of shape (H, S, A, S)")
            H = check_int("H", self.H, low=1)
            P = np.broadcast_to(P, (H, *P.shape)).copy()
        else:
            H = P.shape[0]
            if self.H is not None and check_int("H", self.H, low=1) != H:
                raise ValueError(f"H == {self.H} but P has shape {P.shape} ({H} steps); "
                                 f"drop H or make them agree")
        _, S, A, S2 = P.shape
        if S != S2 or S == 0 or A == 0 or H == 0:
            raise ValueError(f"P has shape {P.shape}; expected (H, S, A, S) with H, S, A >= 1")
        P = check_stochastic("P", P)
        R = check_float_array("R", self.R, ndim=(2, 3))
        if R.ndim == 2:
            if R.shape != (S, A):
                raise ValueError(f"R has shape {R.shape}; expected (S, A) = {(S, A)} or "
                                 f"(H, S, A) = {(H, S, A)}")
            R = np.broadcast_to(R, (H, S, A)).copy()
        elif R.shape != (H, S, A):
            raise ValueError(f"R has shape {R.shape}; expected (H, S, A) = {(H, S, A)} to match "
                             f"P of shape {P.shape}")
        check_value_scale("R", R, float(H))
        set_(self, "P", P)
        set_(self, "R", readonly(R))
        set_(self, "rho", _check_rho(self.rho, S))
        set_(self, "H", H)

    @property
    def S(self) -> int:
        """Number of states."""
        return self.R.shape[1]

    @property
    def A(self) -> int:
        """Number of actions."""
        return self.R.shape[2]

    def policy(self, pi: Any, name: str = "pi") -> np.ndarray:
        """Validate a policy: non-stationary ``(H, S, A)`` / ``(H, S)``, or stationary
        ``(S, A)`` / ``(S,)`` (broadcast over steps). Returns the ``(H, ...)`` form."""
        arr = np.asarray(pi)
        # An integer (H, S) array is a non-stationary deterministic policy, even when
        # H == S == A makes its shape equal to a stationary stochastic (S, A) one.
        det_h = arr.shape == (self.H, self.S) and np.issubdtype(arr.dtype, np.integer)
        if arr.shape in ((self.S, self.A), (self.S,)) and not det_h:
            pi1 = check_policy(name, arr, self.S, self.A)
            return readonly(np.broadcast_to(pi1, (self.H, *pi1.shape)).copy())
        return check_policy(name, arr, self.S, self.A, leading=(self.H,))

    def __repr__(self) -> str:
        return f"FiniteHorizonMDP(H={self.H}, S={self.S}, A={self.A})"
