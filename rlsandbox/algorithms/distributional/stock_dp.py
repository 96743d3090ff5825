"""A2: exact backward distributional DP over (time, state, stock), finite horizon [card §3 A2].

The core algorithm of the card. For a criterion F on ``zeta = law(c + G)``:

    zeta(H, s, c) = delta_c,  zeta(t, ⊥, c) = delta_c
    nu_a(t, s, c) = sum_{(p, r, s')} p (m_gamma)# zeta(t+1, s', (c + r)/gamma)      (Phi_a)
    a*(t, s, c)   = argmax_a F(nu_a)        (tie rule below)
    zeta(t, s, c) = nu_{a*}

memoised on (t, s, c): only the stocks reachable from c0 are visited, so no grid is needed and
the result is exact on rational models. For F with P1 (indifference to mixtures) and P2
(indifference to gamma) the greedy Markov policy on (t, s, c) attains
``J*_F(s0, c0) = sup over history-dependent policies`` [card §4 C2, the paper's sufficiency
theorem as reconstructed by the card; exact form unverified].

**A2-T** (``time_aware=True``) [card §3 A2-T]: at time t use ``F_t = F o (m_{gamma^t})#``,
i.e. ``f_t(y) = f(gamma^t y)`` for EU, because ``c0 + G0 = gamma^t (c_t + G_t)``; this repairs
every EU at gamma < 1, including f without P2 (card C5), at the price of a time-dependent
policy (which A2 already is on a finite horizon).

**Scalar version** (:func:`stock_dp_scalar`) for EU: store ``V = F(zeta)`` only. Plain A2 needs
f positively homogeneous of degree d: ``V(t, s, c) = max_a sum p gamma^d V(t+1, s', c')``,
``V = f(c)`` at the horizon and at ⊥ [card §2.4]; A2-T works for every f:
``W(t, s, c) = max_a sum p W(t+1, s', c')`` with ``W = f(gamma^t c)`` at the end. The card
states that for EU the scalar version gives the same policy; the tests check it.

**Without stock** (:func:`markov_greedy_dp`) [card C3 negative control]: the memo is keyed on
(t, s) only and the stock stays frozen at c0, i.e. action a at (t, s) is scored by
``F(law(c0 + G_t))`` with ``G_t`` the return-to-go under the greedy continuation. This is
the non-augmented greedy DP of the card ("key the memo on (t, s) only").

**Ties** [card §5.2 E3, Pitfall 6]: values within ``tie_tol`` of the best count as equal and
the lowest action index among them is chosen. ``tie_tol`` is 0 on exact models and
:data:`TIE_ATOL` = 1e-9 (the card's E3 rule) on float models. Under P1 tie-breaking never
changes the value, but it changes the return law and side statistics (E3).

Deviations: none in the recursion. The policy is returned as a table over the visited
(t, s, c) only (:class:`StockPolicy` raises on other keys); the card's pseudo-code returns
"the greedy policy table" without saying where it is defined.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox.algorithms.distributional.dists import FiniteDist, mixture, point
from rlsandbox.algorithms.distributional.evaluation import next_stock
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import ExpectedUtility, Objective

__all__ = ["StockPolicy", "StockDPResult", "StockDP", "stock_dp", "stock_dp_scalar",
           "markov_greedy_dp", "MarkovGreedyResult", "TIE_ATOL", "greedy_choice"]

#: Absolute tie tolerance on float models (card §5.2 E3: "values within 1e-9 count as equal").
TIE_ATOL = 1e-9


def greedy_choice(values: list, actions: list[int], tie_tol: Any) -> tuple[int, Any]:
    """The lowest-index action whose value is within ``tie_tol`` of the best, and the best
    value [card Pitfall 6].

    >>> greedy_choice([1.0, 3.0, 3.0 - 1e-12], [0, 1, 2], 1e-9)
    (1, 3.0)
    >>> greedy_choice([0.0, 0.0], [2, 3], 0)
    (2, 0.0)
    """
    best = max(values)
    for a, v in zip(actions, values):
        if v >= best - tie_tol:
            return a, best
    raise AssertionError("unreachable: the best value is within tolerance of itself")


def _tie_tol(model: OutcomeMDP, tie_tol: Any) -> Any:
    if tie_tol is None:
        return 0 if model.exact else TIE_ATOL
    if tie_tol < 0:
        raise ValueError(f"tie_tol == {tie_tol}; must be >= 0")
    return tie_tol


def _check_finite_horizon(model: Any, where: str) -> None:
    if not isinstance(model, OutcomeMDP):
        raise TypeError(f"{where} expects an OutcomeMDP, got {type(model).__name__}")
    if model.H is None:
        raise ValueError(f"{where} is the finite-horizon algorithm A2 and the model has H=None; "
                         f"give a finite horizon (model.replace(H=...)) or use the "
                         f"infinite-horizon solvers (stock_vi, lattice)")


@dataclass(frozen=True)
class StockPolicy:
    """A deterministic Markov policy on the augmented state (t, s, c) [card §2.2, Pi_SA].

    Attributes
    ----------
    table : mapping (t, s, c) -> action, over the augmented states A2 visited.
    c0 : the initial stock the table was solved from.

    Calling ``policy(t, s, c)`` returns the action; keys outside the table raise a
    ``KeyError`` naming the key (A2 solves only the stocks reachable from c0).
    """

    table: Mapping[tuple, int]
    c0: Any

    def __call__(self, t: int, s: int, c: Any) -> int:
        try:
            return self.table[(t, s, c)]
        except KeyError:
            raise KeyError(f"the stock policy has no action at (t={t}, s={s}, c={c}); it covers "
                           f"the {len(self.table)} augmented states reachable from "
                           f"c0={self.c0}") from None


@dataclass(frozen=True)
class StockDPResult:
    """The output of A2 for one initial stock.

    Attributes
    ----------
    value : F(zeta), the greedy policy's criterion value (J*_F(s0, c0) under P1 + P2).
    zeta : FiniteDist, law(c0 + G) under the greedy policy.
    policy : StockPolicy on the visited (t, s, c).
    c0 : the initial stock.
    n_states : number of (t, s, c) solved (memo size, shared across c0 by :class:`StockDP`).
    """

    value: Any
    zeta: FiniteDist
    policy: StockPolicy
    c0: Any
    n_states: int

    def return_law(self) -> FiniteDist:
        """law(G) = law(zeta - c0)."""
        return self.zeta.shift(-self.c0)


class StockDP:
    """A2 / A2-T with a memo shared across initial stocks (the outer searches of A4 call it
    for many c0; ``zeta(t, s, c)`` does not depend on c0).

    Parameters
    ----------
    model : OutcomeMDP with a finite horizon H.
    objective : Objective (any F; optimal under P1 + P2, or every EU with ``time_aware``).
    time_aware : bool, A2-T.
    tie_tol : tie tolerance (default 0 exact / 1e-9 float).

    Examples
    --------
    Instance A, f = min(x, 0), c0 = -2: J* = -5/8 (card C6); risky after R_0 = 0 (stock
    c_1 = -2), safe after R_0 = 2 (c_1 = 0).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> from rlsandbox.algorithms.distributional.objectives import cvar_utility
    >>> res = StockDP(instance_a(), cvar_utility()).solve(-2)
    >>> res.value, res.policy(1, 1, Fr(-2)), res.policy(1, 1, Fr(0))
    (Fraction(-5, 8), 1, 0)
    """

    def __init__(self, model: OutcomeMDP, objective: Objective, *, time_aware: bool = False,
                 tie_tol: Any = None) -> None:
        _check_finite_horizon(model, "StockDP")
        if not isinstance(objective, Objective):
            raise TypeError(f"objective must be an Objective (see objectives.py), got "
                            f"{type(objective).__name__}")
        self.model = model
        self.objective = objective
        self.time_aware = bool(time_aware)
        self.tie_tol = _tie_tol(model, tie_tol)
        self._memo: dict = {}
        self._policy: dict = {}
        g = model.gamma
        self._F = [objective.time_scaled(g ** t) if self.time_aware else objective
                   for t in range(model.H + 1)]

    def zeta(self, t: int, s: int, c: Any) -> FiniteDist:
        """law(c + G_t) from (t, s, c) under the greedy continuation (memoised)."""
        key = (t, s, c)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        m = self.model
        if t == m.H or m.terminal[s]:
            out = point(c, exact=m.exact)
        else:
            acts = m.actions(s)
            nus = [self._backup(t, s, c, a) for a in acts]
            F = self._F[t]
            a_star, _ = greedy_choice([F(nu) for nu in nus], acts, self.tie_tol)
            self._policy[key] = a_star
            out = nus[acts.index(a_star)]
        self._memo[key] = out
        return out

    def _backup(self, t: int, s: int, c: Any, a: int) -> FiniteDist:
        m = self.model
        g = m.gamma
        weights, parts = [], []
        for p, r, s2 in m.transitions(s, a):
            weights.append(p)
            parts.append(self.zeta(t + 1, s2, next_stock(c, r, g)).scale(g))
        return mixture(weights, parts)

    def action_values(self, t: int, s: int, c: Any) -> dict[int, Any]:
        """``{a: F_t(Phi_a zeta)(t, s, c)}`` for the available actions (diagnostics)."""
        c = self.model.number("c", c)
        return {a: self._F[t](self._backup(t, s, c, a)) for a in self.model.actions(s)}

    def solve(self, c0: Any = 0) -> StockDPResult:
        """Run A2 from (0, s0, c0)."""
        m = self.model
        c0 = m.number("c0", c0)
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 4 * m.H + 200))
        try:
            z = self.zeta(0, m.s0, c0)
        finally:
            sys.setrecursionlimit(limit)
        return StockDPResult(self._F[0](z), z, StockPolicy(dict(self._policy), c0), c0,
                             len(self._memo))


def stock_dp(model: OutcomeMDP, objective: Objective, c0: Any = 0, *, time_aware: bool = False,
             tie_tol: Any = None) -> StockDPResult:
    """A2 (or A2-T) from (0, s0, c0): exact stock-augmented distributional DP [card §3 A2].

    Parameters
    ----------
    model : OutcomeMDP, finite horizon.
    objective : Objective; optimal for P1 + P2 criteria (card C2), and for every EU with
        ``time_aware=True`` (card C5). With a P1-violating F (CVaR, median, ...) this is the
        card's "greedy with F" negative control (C4).
    c0 : initial stock.
    time_aware : A2-T.
    tie_tol : see the module docstring.

    Returns
    -------
    StockDPResult

    Examples
    --------
    Instance T1, P(G >= 1) with c0 = -1 and f = 1{x >= 0}: 3/4 (card C3).

    >>> from rlsandbox.mdps.distributional import instance_t1
    >>> from rlsandbox.algorithms.distributional.objectives import threshold
    >>> stock_dp(instance_t1(), threshold(), c0=-1).value
    Fraction(3, 4)
    """
    return StockDP(model, objective, time_aware=time_aware, tie_tol=tie_tol).solve(c0)


def stock_dp_scalar(model: OutcomeMDP, objective: ExpectedUtility, c0: Any = 0, *,
                    time_aware: bool = False, tie_tol: Any = None) -> tuple[Any, StockPolicy]:
    """Scalar A2 for an expected utility: the value ``F(zeta)`` without the laws [card §2.4].

    Plain (``time_aware=False``) needs ``objective.degree`` (f positively homogeneous):
    ``V(t,s,c) = max_a sum p gamma^d V(t+1, s', (c+r)/gamma)``, ``V = f(c)`` at H and at ⊥.
    A2-T: ``W(t,s,c) = max_a sum p W(t+1, s', (c+r)/gamma)``, ``W = f(gamma^t c)`` at the end.

    Returns
    -------
    (value, StockPolicy)

    Examples
    --------
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> from rlsandbox.algorithms.distributional.objectives import cvar_utility
    >>> stock_dp_scalar(instance_a(), cvar_utility(), -2)[0]
    Fraction(-5, 8)
    """
    _check_finite_horizon(model, "stock_dp_scalar")
    if not isinstance(objective, ExpectedUtility):
        raise TypeError(f"the scalar A2 needs an ExpectedUtility, got {type(objective).__name__}")
    if not time_aware and objective.degree is None:
        raise ValueError(f"{objective.name} is not positively homogeneous (degree None); the "
                         f"scalar recursion V = max_a sum p gamma^d V' does not hold. Use "
                         f"time_aware=True or the distributional stock_dp")
    tol = _tie_tol(model, tie_tol)
    g = model.gamma
    f = objective.f
    d = objective.degree
    gd = None if d is None else (g ** int(d) if float(d).is_integer() else float(g) ** d)
    memo: dict = {}
    policy: dict = {}

    def V(t: int, s: int, c: Any) -> Any:
        key = (t, s, c)
        if key in memo:
            return memo[key]
        if t == model.H or model.terminal[s]:
            out = f(g ** t * c) if time_aware else f(c)
        else:
            acts = model.actions(s)
            vals = []
            for a in acts:
                q = 0
                for p, r, s2 in model.transitions(s, a):
                    v = V(t + 1, s2, next_stock(c, r, g))
                    q = q + p * (v if time_aware else gd * v)
                vals.append(q)
            a_star, out = greedy_choice(vals, acts, tol)
            policy[key] = a_star
        memo[key] = out
        return out

    c0 = model.number("c0", c0)
    value = V(0, model.s0, c0)
    return value, StockPolicy(policy, c0)


@dataclass(frozen=True)
class MarkovGreedyResult:
    """Non-augmented greedy DP: value ``F(law(c0 + G))``, the (t, s) policy (H, S) int."""

    value: Any
    zeta: FiniteDist
    policy: np.ndarray


def markov_greedy_dp(model: OutcomeMDP, objective: Objective, c0: Any = 0, *,
                     tie_tol: Any = None) -> MarkovGreedyResult:
    """Greedy distributional DP without stock: memo on (t, s), stock frozen at c0 [card C3
    negative control; module docstring].

    ``eta(t, s) = law(G_t)``; at (t, s) action a is scored by ``F(law(c0 + G_t^a))`` with
    ``G_t^a`` the return of a followed by the greedy continuation. Returns the value
    ``F(law(c0 + G))`` of the resulting (t, s)-Markov policy.

    Examples
    --------
    Instance T1: 1/2 instead of the stock-augmented 3/4 (card C3).

    >>> from rlsandbox.mdps.distributional import instance_t1
    >>> from rlsandbox.algorithms.distributional.objectives import threshold
    >>> markov_greedy_dp(instance_t1(), threshold(), c0=-1).value
    Fraction(1, 2)
    """
    _check_finite_horizon(model, "markov_greedy_dp")
    tol = _tie_tol(model, tie_tol)
    c0 = model.number("c0", c0)
    g = model.gamma
    H, S = model.H, model.S
    pol = np.zeros((H, S), dtype=np.int64)
    eta = [point(0, exact=model.exact)] * S
    for t in range(H - 1, -1, -1):
        new = []
        for s in range(S):
            if model.terminal[s]:
                new.append(point(0, exact=model.exact))
                continue
            acts = model.actions(s)
            laws = [mixture([p for p, _, _ in model.transitions(s, a)],
                            [eta[s2].affine(r, g) for _, r, s2 in model.transitions(s, a)])
                    for a in acts]
            a_star, _ = greedy_choice([objective(law.shift(c0)) for law in laws], acts, tol)
            pol[t, s] = a_star
            new.append(laws[acts.index(a_star)])
        eta = new
    zeta = eta[model.s0].shift(c0)
    return MarkovGreedyResult(objective(zeta), zeta, pol)
