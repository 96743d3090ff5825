"""Finite-outcome MDPs: the model of distributional DP with random rewards [card §2.1].

The card's MDP is M = (S, A, p, gamma, s0) with a kernel p(r, s' | s, a) of *finite support
over (reward, next-state) pairs*: the reward may be random and may depend on the transition
(Instance A draws R_0 in {0, 2} and always moves to s_1, which a ``TabularMDP`` with expected
rewards cannot represent). :class:`OutcomeMDP` stores, for every available action ``a`` of a
state ``s``, the list of outcomes ``(p, r, s')``; states without actions are terminal
(absorbing, reward 0: the card's ``⊥``). The horizon is finite (``H`` decisions at
t = 0..H-1, gamma in (0, 1]) or infinite (``H = None``, gamma in (0, 1)).

Exact arithmetic. With ``exact=True`` every probability, reward and gamma is a
``fractions.Fraction`` (give ints, Fractions or strings such as ``"0.6"`` or ``"1/3"``; floats
are refused because ``Fraction(0.6)`` is not 3/5), and the finite-horizon algorithms of this
package then compute in rationals end to end: the card's "exact rational-arithmetic path for
tests" [card §3 A1, Pitfall 7]. Float models hold Python floats and float64 arrays.

Return bounds [card §2.1]: ``G_lo = min(0, R_min) * L`` and ``G_hi = max(0, R_max) * L`` with
``L = sum_{t<H} gamma^t`` (finite H) or ``1/(1-gamma)`` (infinite); they hold with termination.

Deviations: the card allows a different action set per state ("s0: one action"); here
``available[s, a]`` marks the actions of ``s`` and the other slots are simply not actions.
Outcomes of one (s, a) with equal (r, s') are merged (they are the same observable event).
Shapes: ``ptr`` (S*A + 1,), ``prob``/``reward`` (n,) float64, ``next_state`` (n,) int64 (CSR
over rows ``s*A + a``), ``available`` (S, A) bool, ``terminal`` (S,) bool.
"""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox._validate import ROW_SUM_ATOL, check_bool, check_in_range, check_int, readonly

__all__ = ["OutcomeMDP", "to_number"]

Number = Any     # float, or fractions.Fraction in exact models


def to_number(name: str, x: Any, exact: bool) -> Number:
    """``x`` as a Fraction (exact) or a finite float; names the value in errors.

    Exact mode accepts int, Fraction and str (``"0.6"``, ``"3/5"``); a float is refused since
    its binary value is not the decimal the user meant (``Fraction(0.6) != Fraction(3, 5)``).

    Examples
    --------
    >>> to_number("p", "0.6", exact=True)
    Fraction(3, 5)
    >>> to_number("p", 1, exact=False)
    1.0
    """
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got bool {x!r}")
    if exact:
        if isinstance(x, Fraction):
            return x
        if isinstance(x, numbers.Integral):
            return Fraction(int(x))
        if isinstance(x, str):
            try:
                return Fraction(x.strip())
            except (ValueError, ZeroDivisionError):
                raise ValueError(f"{name} == {x!r} is not a rational number; give e.g. '0.6' "
                                 f"or '3/5'") from None
        if isinstance(x, numbers.Real):
            raise TypeError(f"{name} == {x!r} is a float but the model is exact; pass "
                            f"Fraction('{x!r}') or the string '{x!r}' (a float's binary value "
                            f"is not the decimal you meant)")
        raise TypeError(f"{name} must be an int, Fraction or str in an exact model, got "
                        f"{type(x).__name__} {x!r}")
    if isinstance(x, str):
        raise TypeError(f"{name} == {x!r} is a str; strings are for exact models "
                        f"(exact=True); pass a number")
    if not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    v = float(x)
    if not np.isfinite(v):
        raise ValueError(f"{name} is {v}; expected a finite real number")
    return v


@dataclass(frozen=True, slots=True, eq=False)
class OutcomeMDP:
    """A finite MDP whose kernel has finitely many (probability, reward, next state) outcomes.

    Parameters
    ----------
    outcomes : nested sequence
        ``outcomes[s][a]`` is a sequence of ``(p, r, s_next)`` triples (probabilities > 0
        summing to 1), or ``None`` when ``a`` is not an action of ``s``. A state whose list is
        empty (or all ``None``) is terminal: absorbing with reward 0. ``A`` is the longest
        action list.
    gamma : number
        Discount; in (0, 1] with a finite horizon, (0, 1) without.
    H : int or None
        Number of decisions (t = 0..H-1); ``None`` for the infinite discounted horizon.
    s0 : int
        Initial state (the card's single start state).
    exact : bool
        Hold Fractions and compute exactly (see the module docstring).
    state_names, action_names : sequence of str, optional
        Labels for reports and figures.

    Examples
    --------
    Instance A of the card (§4): gamma = 1, H = 2; from s0 a reward 0 or 2, then at s1 the
    safe action pays 0 and the risky one -1/2 or 3.

    >>> m = OutcomeMDP([[[("1/2", 0, 1), ("1/2", 2, 1)]],
    ...                 [[(1, 0, 2)], [("1/2", "-1/2", 2), ("1/2", 3, 2)]],
    ...                 []], gamma=1, H=2, exact=True)
    >>> m.S, m.A, m.terminal.tolist(), m.actions(0), m.actions(1)
    (3, 2, [False, False, True], [0], [0, 1])
    >>> m.return_bounds()
    (Fraction(-1, 1), Fraction(6, 1))
    """

    outcomes: Any
    gamma: Any
    H: int | None = None
    s0: int = 0
    exact: bool = False
    state_names: Sequence[str] | None = None
    action_names: Sequence[str] | None = None
    S: int = field(init=False)
    A: int = field(init=False)
    ptr: np.ndarray = field(init=False)
    prob: np.ndarray = field(init=False)
    reward: np.ndarray = field(init=False)
    next_state: np.ndarray = field(init=False)
    available: np.ndarray = field(init=False)
    terminal: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        exact = check_bool("exact", self.exact)
        if isinstance(self.outcomes, (str, bytes)) or not isinstance(self.outcomes, Sequence):
            raise TypeError(f"outcomes must be a nested sequence outcomes[s][a] = [(p, r, s'), "
                            f"...], got {type(self.outcomes).__name__}")
        S = len(self.outcomes)
        if S == 0:
            raise ValueError("outcomes is empty; give at least one state")
        A = max((len(row) for row in self.outcomes if row is not None), default=0)
        if A == 0:
            raise ValueError("no state has an action; give outcomes[s][a] for some s")
        if self.H is None:
            gamma = to_number("gamma", self.gamma, exact)
            check_in_range("gamma", float(gamma), low=0.0, high=1.0, low_open=True,
                           high_open=True, hint="an infinite horizon (H=None) needs gamma < 1; "
                           "give a finite H for gamma == 1")
        else:
            set_(self, "H", check_int("H", self.H, low=1))
            gamma = to_number("gamma", self.gamma, exact)
            check_in_range("gamma", float(gamma), low=0.0, high=1.0, low_open=True)
        set_(self, "gamma", gamma)
        set_(self, "s0", check_int("s0", self.s0, low=0, high=S - 1))
        table: list[tuple] = []
        available = np.zeros((S, A), dtype=bool)
        for s in range(S):
            row = self.outcomes[s]
            if row is None:
                row = ()
            if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
                raise TypeError(f"outcomes[{s}] must be a sequence of per-action outcome lists, "
                                f"got {type(row).__name__}")
            acts = []
            for a in range(A):
                out = row[a] if a < len(row) else None
                if out is None:
                    acts.append(None)
                    continue
                acts.append(self._check_action(s, a, out, S, exact))
                available[s, a] = True
            table.append(tuple(acts))
        set_(self, "outcomes", tuple(table))
        set_(self, "S", S)
        set_(self, "A", A)
        set_(self, "available", readonly(available))
        set_(self, "terminal", readonly(~available.any(axis=1)))
        ptr = np.zeros(S * A + 1, dtype=np.int64)
        prob, reward, nxt = [], [], []
        for s in range(S):
            for a in range(A):
                out = table[s][a] or ()
                for p, r, s2 in out:
                    prob.append(float(p))
                    reward.append(float(r))
                    nxt.append(s2)
                ptr[s * A + a + 1] = len(prob)
        set_(self, "ptr", readonly(ptr))
        set_(self, "prob", readonly(np.array(prob, dtype=np.float64)))
        set_(self, "reward", readonly(np.array(reward, dtype=np.float64)))
        set_(self, "next_state", readonly(np.array(nxt, dtype=np.int64)))
        for nm, names, n in (("state_names", self.state_names, S),
                             ("action_names", self.action_names, A)):
            if names is not None:
                names = tuple(names)
                if len(names) != n or not all(isinstance(x, str) for x in names):
                    raise ValueError(f"{nm} must be {n} strings, got {names!r}")
                set_(self, nm, names)

    @staticmethod
    def _check_action(s: int, a: int, out: Any, S: int, exact: bool) -> tuple:
        where = f"outcomes[{s}][{a}]"
        if isinstance(out, (str, bytes)) or not isinstance(out, Sequence) or len(out) == 0:
            raise ValueError(f"{where} must be a non-empty sequence of (p, r, s_next) triples "
                             f"(or None if {a} is not an action of state {s}), got {out!r}")
        merged: dict[tuple, Any] = {}
        for k, item in enumerate(out):
            if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 3:
                raise ValueError(f"{where}[{k}] == {item!r}; expected a (p, r, s_next) triple")
            p = to_number(f"{where}[{k}] probability", item[0], exact)
            r = to_number(f"{where}[{k}] reward", item[1], exact)
            s2 = check_int(f"{where}[{k}] next state", item[2], low=0, high=S - 1)
            if not p > 0:
                raise ValueError(f"{where}[{k}] has probability {p}; outcome probabilities must "
                                 f"be > 0 (drop outcomes that cannot happen)")
            merged[(r, s2)] = merged.get((r, s2), 0) + p
        total = sum(merged.values())
        if (total != 1) if exact else abs(total - 1.0) > ROW_SUM_ATOL:
            raise ValueError(f"{where} probabilities sum to {total}; they must sum to 1"
                             f"{'' if exact else f' (atol {ROW_SUM_ATOL:g})'}. Nothing is "
                             f"renormalised: fix the probabilities at their source")
        return tuple((p, r, s2) for (r, s2), p in sorted(merged.items(),
                                                           key=lambda kv: (kv[0][1], kv[0][0])))

    # ------------------------------------------------------------------ access
    def actions(self, s: int) -> list[int]:
        """The available actions of state ``s`` (empty for terminal states)."""
        return [int(a) for a in np.flatnonzero(self.available[s])]

    def transitions(self, s: int, a: int) -> tuple:
        """Outcomes ``((p, r, s_next), ...)`` of action ``a`` in state ``s``."""
        out = self.outcomes[s][a]
        if out is None:
            raise ValueError(f"action {a} is not available in state {s}; available: "
                             f"{self.actions(s)}")
        return out

    def zero(self) -> Number:
        """0 in the model's number type."""
        return Fraction(0) if self.exact else 0.0

    def one(self) -> Number:
        """1 in the model's number type."""
        return Fraction(1) if self.exact else 1.0

    def number(self, name: str, x: Any) -> Number:
        """``x`` converted to the model's number type (see :func:`to_number`)."""
        return to_number(name, x, self.exact)

    @property
    def horizon_length(self) -> Number:
        """``sum_{t<H} gamma^t`` (finite H) or ``1/(1-gamma)`` (infinite)."""
        g = self.gamma
        if self.H is None:
            return 1 / (1 - g)
        return sum((g ** t for t in range(self.H)), self.zero())

    def reward_range(self) -> tuple[Number, Number]:
        """(R_min, R_max) over all outcomes (terminal states contribute reward 0)."""
        rs = [r for row in self.outcomes for out in row if out for _, r, _ in out]
        if self.terminal.any():
            rs.append(self.zero())
        return min(rs), max(rs)

    def return_bounds(self) -> tuple[Number, Number]:
        """(G_lo, G_hi) = (min(0, R_min) L, max(0, R_max) L) [card §2.1]."""
        lo, hi = self.reward_range()
        L = self.horizon_length
        return min(self.zero(), lo) * L, max(self.zero(), hi) * L

    def replace(self, **changes: Any) -> "OutcomeMDP":
        """A new validated model with some of ``outcomes, gamma, H, s0, exact`` changed.

        Switching ``exact`` converts the stored numbers: float -> exact is refused (give the
        rationals), exact -> float converts.
        """
        kw = {"outcomes": self.outcomes, "gamma": self.gamma, "H": self.H, "s0": self.s0,
              "exact": self.exact, "state_names": self.state_names,
              "action_names": self.action_names}
        kw.update(changes)
        if self.exact and not kw["exact"]:
            conv = lambda x: float(x)        # noqa: E731
            kw["outcomes"] = [[None if out is None else [(conv(p), conv(r), s2)
                                                         for p, r, s2 in out] for out in row]
                              for row in kw["outcomes"]]
            if isinstance(kw["gamma"], Fraction):
                kw["gamma"] = float(kw["gamma"])
        return OutcomeMDP(**kw)

    def to_float(self) -> "OutcomeMDP":
        """The same model with float numbers (identity for float models)."""
        return self if not self.exact else self.replace(exact=False)

    # -------------------------------------------------------------- conversions
    def to_tabular(self):
        """The expected-reward :class:`~rlsandbox.TabularMDP` of this model.

        ``P[s, a, s'] = sum p`` over the outcomes to s', and the reward is kept per transition
        as the conditional mean ``R[s, a, s'] = sum p r / P[s, a, s']`` (so ``R_sas`` recovers
        transition-dependent rewards and ``R[s, a] = sum p r``); an unavailable action copies
        the lowest available action of its state (so the optimal value and the optimal actions
        among the available ones are unchanged); terminal states become absorbing zero-reward
        states in ``terminal``; ``rho`` is the point mass on ``s0``.
        Requires an infinite-horizon model (a finite-horizon one is turned into the
        stationary discounted model; use ``H`` yourself for backward induction).
        """
        from rlsandbox.mdp import TabularMDP

        S, A = self.S, self.A
        P = np.zeros((S, A, S))
        PR = np.zeros((S, A, S))
        for s in range(S):
            acts = self.actions(s)
            for a in range(A):
                if not acts:
                    P[s, a, s] = 1.0
                    continue
                src = a if self.available[s, a] else acts[0]
                for p, r, s2 in self.outcomes[s][src]:
                    P[s, a, s2] += float(p)
                    PR[s, a, s2] += float(p) * float(r)
        R = np.divide(PR, P, out=np.zeros_like(PR), where=P > 0)
        rho = np.zeros(S)
        rho[self.s0] = 1.0
        return TabularMDP(P, R, float(self.gamma), rho=rho, terminal=self.terminal.copy())

    @classmethod
    def from_tabular(cls, mdp: Any, *, H: int | None = None, s0: int = 0,
                     gamma: Any = None) -> "OutcomeMDP":
        """A float OutcomeMDP from a :class:`~rlsandbox.TabularMDP` (deterministic rewards).

        Outcomes are the next states with ``P[s, a, s'] > 0``, with reward ``R_sas[s, a, s']``
        if the model keeps one, else ``R[s, a]``. ``mdp.terminal`` states become terminal.
        """
        from rlsandbox.mdp import TabularMDP

        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"from_tabular expects a TabularMDP, got {type(mdp).__name__}")
        P = mdp.dense_P()
        rows = []
        for s in range(mdp.S):
            if mdp.terminal[s]:
                rows.append([])
                continue
            acts = []
            for a in range(mdp.A):
                nz = np.flatnonzero(P[s, a] > 0)
                r = (lambda s2: mdp.R_sas[s, a, s2]) if mdp.R_sas is not None \
                    else (lambda s2: mdp.R[s, a])
                acts.append([(float(P[s, a, s2]), float(r(s2)), int(s2)) for s2 in nz])
            rows.append(acts)
        return cls(rows, mdp.gamma if gamma is None else gamma, H=H, s0=s0)

    def __repr__(self) -> str:
        hor = "inf" if self.H is None else str(self.H)
        return (f"OutcomeMDP(S={self.S}, A={self.A}, gamma={self.gamma}, H={hor}, s0={self.s0}"
                f"{', exact' if self.exact else ''})")
