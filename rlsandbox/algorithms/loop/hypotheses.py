"""Hypotheses, Bellman errors and excess losses of LOOP [he2024; card §2.3, §3.2, §3.9].

A **value-based hypothesis** is ``f = (Q_f, J_f)`` with ``Q_f`` ``(S, A)`` and a scalar gain
``J_f``; its bias is ``V_f(s) = max_a Q_f(s, a)`` and its policy ``pi_f`` greedy w.r.t. ``Q_f``
(card §2.3). Here a hypothesis is stored with the greedy policy it was planned for, and
``V_f(s) := Q_f(s, pi_f(s))`` exactly, so the identity

    J_f - r(s_t, a_t) = E(f)(s_t, a_t) + (P V_f)(s_t, a_t) - V_f(s_t)      for a_t = pi_f(s_t)

(card §2.3, [D]) holds to round-off, whichever way ``f`` was obtained. A **model-based
hypothesis** ``(P_f, r_f)`` is stored in the same form, with ``(J_f, V_f)`` the solution of
its own Bellman optimality equation and ``Q_f = r_f + P_f V_f - J_f``
(:meth:`Hypothesis.from_model`).

Bellman error (card §2.3) of ``f`` in the true model ``(P, r)``:

    E(f)(s, a) = Q_f(s, a) + J_f - r(s, a) - (P V_f)(s, a).

For a model-based hypothesis this equals ``(r_f - r) + ((P_f - P) V_f)`` up to the residual of
``f``'s own optimality equation. ``E(f*) = 0`` for the true ``f* = (Q*, J*)``.

Excess loss, value-based tabular [card §3.9 (a); R]. With counts ``N(s, a)``, reward sums
``Rsum(s, a)`` and transition counts ``Nsas(s, a, s')`` of the data so far
(:class:`TabularStats`), the GOLF-type excess loss ``L(f, f) - inf_g L(f, g)`` over the class
``G`` of all tabular functions is

    Exc(f) = sum_{s,a} N(s, a) (Q_f(s, a) + J_f - rhat(s, a) - phat(s, a) . V_f)^2

(the infimum over ``g`` is the per-pair mean of the targets ``r_i + V_f(s_{i+1}) - J_f``).

Shapes: Q (S, A), V (S,), pi (S,) int64, P (S, A, S), R (S, A).

References
----------
[he2024] J. He, H. Zhong, Z. Yang. Sample-efficient learning of infinite-horizon average-reward
         MDPs with general function approximation. ICLR 2024 (card shared/papers/loop.md).
[puterman2005] M. L. Puterman. Markov Decision Processes. Wiley, 2005, §8.4 (optimality eq.).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import check_float_array, check_policy, check_scalar, readonly
from rlsandbox.algorithms.loop._kernels import _tabular_excess
from rlsandbox.dp.average import solve_average
from rlsandbox.mdp import TabularMDP

__all__ = ["Hypothesis", "TabularStats", "bellman_error", "tabular_excess", "true_hypothesis"]


@dataclass(frozen=True, slots=True, eq=False)
class Hypothesis:
    """A value-based hypothesis ``f = (Q_f, J_f)`` with its greedy policy [card §2.3].

    Parameters
    ----------
    Q : (S, A) float64
    J : float
    pi : (S,) int64
        The greedy policy ``f`` was planned for (``Q[s, pi[s]] >= Q[s, a]`` up to solver
        tolerance; ties resolved by the planner).

    Attributes
    ----------
    V : (S,) ``V[s] = Q[s, pi[s]]`` (exactly).

    Examples
    --------
    >>> import numpy as np
    >>> f = Hypothesis(np.array([[0.0, 1.0], [2.0, 0.5]]), 0.5, np.array([1, 0]))
    >>> f.V.tolist()
    [1.0, 2.0]
    """

    Q: np.ndarray
    J: float
    pi: np.ndarray
    V: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        Q = check_float_array("Q", self.Q, ndim=2)
        S, A = Q.shape
        pi = check_policy("pi", self.pi, S, A)
        if pi.ndim != 1:
            raise ValueError(f"pi has shape {pi.shape}; a hypothesis' greedy policy is "
                             f"deterministic, shape ({S},) of integer actions")
        object.__setattr__(self, "Q", readonly(Q))
        object.__setattr__(self, "J", check_scalar("J", self.J))
        object.__setattr__(self, "pi", pi)
        object.__setattr__(self, "V", readonly(Q[np.arange(S), pi].copy()))

    @classmethod
    def from_model(cls, P: Any, R: Any) -> "Hypothesis":
        """The model-based hypothesis of ``(P, R)``: its optimal gain, bias and policy.

        Solves the model's optimality equation exactly (multichain policy iteration,
        :func:`rlsandbox.dp.average.solve_average`; the model must be weakly communicating,
        card §6 pitfall 17), then ``Q_f = R + P h - J_f`` with ``h`` the bias (``min h = 0``)
        and ``pi_f`` the solver's optimal policy.

        Examples
        --------
        >>> import rlsandbox as rls
        >>> f = Hypothesis.from_model(*(lambda m: (m.P, m.R))(rls.mdps.riverswim(6, gamma=1.0)))
        >>> round(f.J, 10), f.pi.tolist()          # card §4 C0: J* = 0.4286224338
        (0.4286224338, [1, 1, 1, 1, 1, 1])
        """
        mdp = TabularMDP(P, R, 1.0)
        sol = solve_average(mdp, method="pi")
        h = np.asarray(sol.bias)
        Q = np.asarray(mdp.R) + np.einsum("sat,t->sa", mdp.dense_P(), h) - sol.gain
        return cls(Q, sol.gain, np.asarray(sol.policy))

    @property
    def S(self) -> int:
        return self.Q.shape[0]

    @property
    def A(self) -> int:
        return self.Q.shape[1]

    def __repr__(self) -> str:
        return f"Hypothesis(S={self.S}, A={self.A}, J={self.J:.6g}, pi={self.pi.tolist()})"


def true_hypothesis(mdp: TabularMDP) -> Hypothesis:
    """``f* = (Q*, J*)`` of a weakly communicating model, ``min V* = 0`` (card §2.1).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> f = true_hypothesis(rls.mdps.riverswim(6, gamma=1.0))
    >>> f.V.round(6).tolist()                  # card §4 C0 reference V*
    [0.0, 0.714371, 2.041059, 3.455222, 4.88188, 6.310324]
    """
    return Hypothesis.from_model(mdp.dense_P(), mdp.R)


def bellman_error(f: Hypothesis, mdp: TabularMDP) -> np.ndarray:
    """``E(f)(s, a) = Q_f(s, a) + J_f - r(s, a) - (P V_f)(s, a)``, shape (S, A) [card §2.3].

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(4, gamma=1.0)
    >>> bool(np.abs(bellman_error(true_hypothesis(mdp), mdp)).max() < 1e-12)
    True
    """
    _check_match(f, mdp)
    return f.Q + f.J - mdp.R - np.einsum("sat,t->sa", mdp.dense_P(), f.V)


def _check_match(f: Hypothesis, mdp: TabularMDP) -> None:
    if not isinstance(f, Hypothesis):
        raise TypeError(f"expected a Hypothesis, got {type(f).__name__}")
    if (f.S, f.A) != (mdp.S, mdp.A):
        raise ValueError(f"the hypothesis has (S, A) = {(f.S, f.A)} but the model has "
                         f"{(mdp.S, mdp.A)}; use a hypothesis of the same model")


@dataclass(frozen=True, slots=True, eq=False)
class TabularStats:
    """Sufficient statistics of tabular data ``(s_i, a_i, r_i, s_{i+1})`` [card §3.9 (a)].

    Attributes
    ----------
    N : (S, A) float64 visit counts
    Rsum : (S, A) float64 sums of observed rewards
    Nsas : (S, A, S) float64 transition counts

    Examples
    --------
    >>> import numpy as np
    >>> st = TabularStats.from_data(2, 2, s=[0, 0, 1], a=[1, 1, 0], r=[0.0, 1.0, 0.5],
    ...                             s_next=[0, 1, 1])
    >>> st.N.tolist(), float(st.rhat[0, 1]), st.phat[0, 1].tolist()
    ([[0.0, 2.0], [1.0, 0.0]], 0.5, [0.5, 0.5])
    """

    N: np.ndarray
    Rsum: np.ndarray
    Nsas: np.ndarray

    @classmethod
    def empty(cls, S: int, A: int) -> "TabularStats":
        return cls(np.zeros((S, A)), np.zeros((S, A)), np.zeros((S, A, S)))

    @classmethod
    def from_data(cls, S: int, A: int, *, s: Any, a: Any, r: Any, s_next: Any) -> "TabularStats":
        """Statistics of the given transitions (equal-length 1-D arrays)."""
        s, a, s_next = (np.asarray(x, dtype=np.int64) for x in (s, a, s_next))
        r = np.asarray(r, dtype=np.float64)
        if not (s.shape == a.shape == r.shape == s_next.shape) or s.ndim != 1:
            raise ValueError(f"s, a, r, s_next must be 1-D of equal length; got shapes "
                             f"{s.shape}, {a.shape}, {r.shape}, {s_next.shape}")
        N = np.zeros((S, A))
        Rsum = np.zeros((S, A))
        Nsas = np.zeros((S, A, S))
        np.add.at(N, (s, a), 1.0)
        np.add.at(Rsum, (s, a), r)
        np.add.at(Nsas, (s, a, s_next), 1.0)
        return cls(N, Rsum, Nsas)

    @property
    def rhat(self) -> np.ndarray:
        """Empirical mean reward (S, A); 0 on unvisited pairs."""
        return self.Rsum / np.maximum(self.N, 1.0)

    @property
    def phat(self) -> np.ndarray:
        """Empirical kernel (S, A, S); the zero vector on unvisited pairs."""
        return self.Nsas / np.maximum(self.N, 1.0)[:, :, None]


def tabular_excess(stats: TabularStats, f: Hypothesis) -> float:
    """``Exc(f) = sum_{s,a} N (Q_f + J_f - rhat - phat V_f)^2`` [card §3.9 (a)].

    Examples
    --------
    One visit of (0, 1) with reward 1 landing in state 1; f predicts Q(0,1) + J = 1 + V(1):

    >>> import numpy as np
    >>> st = TabularStats.from_data(2, 2, s=[0], a=[1], r=[1.0], s_next=[1])
    >>> f = Hypothesis(np.array([[0.0, 1.5], [0.0, 0.0]]), 0.25, np.array([1, 0]))
    >>> tabular_excess(st, f)                  # (1.5 + 0.25 - 1 - 0)^2
    0.5625
    """
    if not isinstance(stats, TabularStats):
        raise TypeError(f"stats must be a TabularStats, got {type(stats).__name__}")
    terms = np.empty_like(stats.N)
    return float(_tabular_excess(stats.N, stats.Rsum, stats.Nsas, np.ascontiguousarray(f.Q),
                                 f.J, np.ascontiguousarray(f.V), terms))
