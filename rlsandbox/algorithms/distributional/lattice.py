"""Infinite horizon on an exact stock lattice: A5-L, VI iterates, and policy iteration (A6).

For an expected utility f and an infinite-horizon model, the scalar stock-augmented Bellman
equation reads [card §2.4]

    J*(s, c) = max_a sum_{(p, r, s')} p gamma^d J~(s', (c + r)/gamma),
    J~(⊥, c) = f(c),   J~(s', c') = J*(s', c') otherwise,

with d the degree of f. Outside the **band** the answer is analytic [card C10]: writing
``G_lo <= G <= G_hi`` for the return bounds,

* f = alpha min(x, 0) + beta max(x, 0) (degree 1): for ``c >= -G_lo`` (c + G >= 0 surely)
  ``J* = beta c + beta V*(s)``, and for ``c <= -G_hi`` ``J* = alpha c + alpha V*(s)``, where
  V* is the risk-neutral optimum (maximal expected return) if the coefficient is >= 0 and the
  *minimal* expected return if it is negative;
* f = 1{x >= 0} (degree 0): ``J* = 1`` for ``c >= -G_lo`` and ``J* = 0`` for ``c < -G_hi``.

**A5-L** [card §3 A5-L]: when gamma = 1/2 and the rewards lie on a dyadic lattice, the stocks
``c' = 2(c + r)`` reachable from lattice points stay on the lattice, so the in-band augmented
space is finite. :func:`build_lattice` finds it by breadth-first search from the given initial
stocks (exact Fractions; it raises if the set grows beyond ``max_states``, i.e. if the model is
not a lattice instance) and turns the equation into a finite MDP with terminal payoffs
(analytic values and ``f`` at ⊥). On it:

* :meth:`StockLattice.value_iteration`: ``V_{k+1} = T V_k`` from ``V_0(s, c) = f(c)`` [card A5,
  C8], exactly;
* :meth:`StockLattice.distributional_iterates`: the distributional version of that VI,
  ``zeta_{k+1}(s, c) = Pi Phi_{a*} zeta_k(s, c)`` from ``delta_c`` [card A5], exact or with the
  quantile projection (the projected approximate VI of card C8 (iii));
* :meth:`StockLattice.policy_iteration`: distributional PI for EU [card §3 A6]: evaluate the
  current stationary stock policy exactly (a linear solve; for EU, F(zeta^pi) is linear in the
  continuation values), improve greedily keeping pi_k's action on ties, stop when the policy
  repeats. Degree 0 (indicator) needs proper policies (``I - P_pi`` nonsingular); an improper
  policy raises.

The risk-neutral values come from :func:`solve_risk_neutral` (exact PI on the expected-reward
model).

* :func:`lattice_var_search`: sup_pi VaR_tau by bisection on the target with the indicator
  inner problem [card §3 A4 "VaR"], the infinite-horizon counterpart of ``outer.var_outer``.

Deviations: the card lists A6 with general distributional evaluation; here PI is for
expected utilities, where F(zeta^pi) needs only the expected utility (exact linear algebra).
Distributional PI with any criterion F (including the card's C11 control, F = CVaR) on the
finite augmented space of a finite horizon is
:func:`~rlsandbox.algorithms.distributional.policy_iteration.distributional_policy_iteration`;
on an infinite horizon the stationary policies' return laws have infinite support and are
not evaluated exactly here.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox.algorithms.distributional.evaluation import next_stock
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import ExpectedUtility
from rlsandbox.algorithms.distributional.stock_dp import greedy_choice

__all__ = ["solve_risk_neutral", "linear_solve", "analytic_value", "AnalyticContinuation",
           "continuation", "zero_continuation", "StockLattice", "build_lattice", "PIStep",
           "LatticeVaRResult", "lattice_var_search"]


def linear_solve(M: list[list[Any]], b: list[Any]) -> list[Any]:
    """Solve ``M x = b`` by Gauss-Jordan elimination with exact arithmetic (Fractions) or
    numpy (floats). Raises ``ValueError`` for a singular system.

    >>> from fractions import Fraction as Fr
    >>> linear_solve([[Fr(2), Fr(1)], [Fr(1), Fr(3)]], [Fr(3), Fr(5)])
    [Fraction(4, 5), Fraction(7, 5)]
    """
    n = len(b)
    if n == 0:
        return []
    if not isinstance(b[0], Fraction):
        x = np.linalg.solve(np.array(M, dtype=np.float64), np.array(b, dtype=np.float64))
        return [float(v) for v in x]
    A = [list(row) + [bi] for row, bi in zip(M, b)]
    for col in range(n):
        piv = next((r for r in range(col, n) if A[r][col] != 0), None)
        if piv is None:
            raise ValueError(f"the linear system is singular (no pivot in column {col}); for a "
                             f"policy evaluation this means the policy is improper")
        A[col], A[piv] = A[piv], A[col]
        pv = A[col][col]
        A[col] = [v / pv for v in A[col]]
        for r in range(n):
            if r != col and A[r][col] != 0:
                fac = A[r][col]
                A[r] = [vr - fac * vc for vr, vc in zip(A[r], A[col])]
    return [A[r][n] for r in range(n)]


def solve_risk_neutral(model: OutcomeMDP, *, maximize: bool = True) -> tuple[list, list]:
    """Exact optimal expected return per state, ``V*(s) = max_a sum p (r + gamma V*(s'))``
    (or the minimum with ``maximize=False``), by policy iteration [puterman2005, §6.4].

    Returns (V, policy) as lists over states (0 and -1 at terminal states). Ties keep the
    current action, else the lowest index.

    >>> from rlsandbox.mdps.distributional import instance_c
    >>> solve_risk_neutral(instance_c())[0]
    [Fraction(2, 5), Fraction(0, 1)]
    """
    if model.H is not None:
        raise ValueError("solve_risk_neutral is for infinite-horizon models (H=None)")
    S, g = model.S, model.gamma
    zero = model.zero()
    sign = 1 if maximize else -1
    pol = [model.actions(s)[0] if model.actions(s) else -1 for s in range(S)]
    for _ in range(10_000):
        live = [s for s in range(S) if not model.terminal[s]]
        idx = {s: i for i, s in enumerate(live)}
        M = [[zero] * len(live) for _ in live]
        b = [zero] * len(live)
        for s in live:
            i = idx[s]
            M[i][i] += 1
            for p, r, s2 in model.transitions(s, pol[s]):
                b[i] += p * r
                if not model.terminal[s2]:
                    M[i][idx[s2]] -= g * p
        x = linear_solve(M, b)
        V = [zero] * S
        for s in live:
            V[s] = x[idx[s]]
        new = list(pol)
        for s in live:
            acts = model.actions(s)
            qs = [sign * sum((p * (r + g * V[s2]) for p, r, s2 in model.transitions(s, a)), zero)
                  for a in acts]
            best = max(qs)
            cur = qs[acts.index(pol[s])]
            if cur < best and (model.exact or cur < best - 1e-12 * (1 + abs(best))):
                new[s] = acts[qs.index(best)]
        if new == pol:
            return V, pol
        pol = new
    raise RuntimeError("policy iteration did not stop within 10000 improvements")


@dataclass(frozen=True)
class AnalyticContinuation:
    """The analytic values outside the band [card C10] for one model and EU.

    ``c_lo = -G_hi`` and ``c_hi = -G_lo``; ``lo_slope c + lo_int[s]`` is J* for
    ``c <= c_lo`` (``c < c_lo`` for the indicator), ``hi_slope c + hi_int[s]`` for ``c >= c_hi``;
    ``lo_action``/``hi_action`` are optimal actions there (-1 at terminal states).
    """

    c_lo: Any
    c_hi: Any
    lo_slope: Any
    lo_int: list
    hi_slope: Any
    hi_int: list
    lo_action: list
    hi_action: list
    indicator: bool

    def region(self, c: Any) -> int:
        """-1 below the band (analytic), +1 above it (analytic), 0 inside."""
        if c >= self.c_hi:
            return 1
        if (c < self.c_lo) if self.indicator else (c <= self.c_lo):
            return -1
        return 0

    def value(self, s: int, c: Any) -> Any:
        """J*(s, c) for c outside the band."""
        side = self.region(c)
        if side == 0:
            raise ValueError(f"stock c={c} is inside the band ({self.c_lo}, {self.c_hi}); the "
                             f"value there is not analytic")
        if side > 0:
            return self.hi_slope * c + self.hi_int[s]
        return self.lo_slope * c + self.lo_int[s]

    def action(self, s: int, c: Any) -> int:
        """An optimal action outside the band."""
        return self.hi_action[s] if self.region(c) > 0 else self.lo_action[s]


def continuation(model: OutcomeMDP, objective: ExpectedUtility) -> AnalyticContinuation:
    """Build the analytic continuation of card C10 for a piecewise-linear EU or the indicator.

    >>> from rlsandbox.mdps.distributional import instance_c
    >>> from rlsandbox.algorithms.distributional.objectives import cvar_utility
    >>> ac = continuation(instance_c(), cvar_utility())
    >>> ac.c_lo, ac.c_hi, ac.value(0, -3), ac.value(0, 5)
    (Fraction(-2, 1), Fraction(2, 1), Fraction(-13, 5), Fraction(0, 1))
    """
    if not isinstance(objective, ExpectedUtility) or objective.kernel_form is None:
        raise ValueError(f"the analytic continuation is known for a min(x,0) + b max(x,0) and "
                         f"1{{x >= 0}} (card C10); got {getattr(objective, 'name', objective)}")
    G_lo, G_hi = model.return_bounds()
    zero = model.zero()
    kind = objective.kernel_form
    S = model.S
    if kind[0] == "indicator":
        one = model.one()
        return AnalyticContinuation(-G_hi, -G_lo, zero, [zero] * S, zero, [one] * S,
                                    [(model.actions(s) or [-1])[0] for s in range(S)],
                                    [(model.actions(s) or [-1])[0] for s in range(S)], True)
    alpha, beta = (model.number("alpha", Fraction(kind[1]).limit_denominator(10**6)
                                if model.exact else kind[1]),
                   model.number("beta", Fraction(kind[2]).limit_denominator(10**6)
                                if model.exact else kind[2]))
    Vmax, pmax = solve_risk_neutral(model, maximize=True)
    Vmin, pmin = solve_risk_neutral(model, maximize=False)

    def side(coef):
        V, pol = (Vmax, pmax) if coef >= 0 else (Vmin, pmin)
        return coef, [coef * v for v in V], [int(a) for a in pol]

    lo_s, lo_i, lo_a = side(alpha)
    hi_s, hi_i, hi_a = side(beta)
    if beta == 0:      # every action ties at 0 above the band: lowest index (card Pitfall 6)
        hi_a = [(model.actions(s) or [-1])[0] for s in range(S)]
    if alpha == 0:
        lo_a = [(model.actions(s) or [-1])[0] for s in range(S)]
    return AnalyticContinuation(-G_hi, -G_lo, lo_s, lo_i, hi_s, hi_i, lo_a, hi_a, False)


def analytic_value(model: OutcomeMDP, objective: ExpectedUtility, s: int, c: Any) -> Any:
    """J*(s, c) outside the band (card C10); see :func:`continuation`."""
    return continuation(model, objective).value(s, c)


@dataclass(frozen=True)
class PIStep:
    """One policy-iteration step: the policy (dict (s, c) -> a) and its exact value J^pi."""

    policy: dict
    J: dict


class StockLattice:
    """The finite in-band augmented MDP of an infinite-horizon lattice instance [card A5-L].

    Built by :func:`build_lattice`. ``states`` lists the in-band (s, c) (non-terminal s);
    ``rows[i][a]`` lists ``(p, j, const)``: a transition to lattice state j (``j >= 0``) or a
    terminal payoff ``const`` (``j == -1``: f(c') at ⊥ or the analytic J* outside the band);
    every continuation is multiplied by ``beta = gamma^d``.
    """

    def __init__(self, model: OutcomeMDP, objective: ExpectedUtility, states: list,
                 rows: list, ac: AnalyticContinuation) -> None:
        self.model = model
        self.objective = objective
        self.states = states
        self.index = {x: i for i, x in enumerate(states)}
        self.rows = rows
        self.ac = ac
        d = objective.degree
        self.beta = model.gamma ** int(d)
        self.tie_tol = 0 if model.exact else 1e-9

    def __len__(self) -> int:
        return len(self.states)

    def _q(self, i: int, a: int, V: list) -> Any:
        zero = self.model.zero()
        return sum((p * self.beta * (V[j] if j >= 0 else const)
                    for p, j, const in self.rows[i][a]), zero)

    def f_values(self) -> list:
        """``V_0(s, c) = f(c)`` on the lattice (the card's zero continuation)."""
        return [self.objective.f(c) for _, c in self.states]

    def bellman(self, V: list) -> tuple[list, list]:
        """One optimality backup: (T V, greedy actions) with the tie rule of A2."""
        out, pol = [], []
        for i, (s, _c) in enumerate(self.states):
            acts = sorted(self.rows[i])
            a, v = greedy_choice([self._q(i, a, V) for a in acts], acts, self.tie_tol)
            out.append(v)
            pol.append(a)
        return out, pol

    def value_iteration(self, n_iter: int, V0: list | None = None) -> list[list]:
        """Iterates ``[V_0, V_1, ..., V_n]`` of ``V_{k+1} = T V_k`` from ``V_0 = f(c)``."""
        V = self.f_values() if V0 is None else list(V0)
        out = [V]
        for _ in range(n_iter):
            V, _ = self.bellman(V)
            out.append(V)
        return out

    def outside_law(self, s: int, c: Any):
        """A law of ``c + G`` from (s, c) outside the band attaining the analytic value: the
        point mass at ``c + V(s)`` (V the risk-neutral extreme of the continuation, card C10),
        or ``delta_c`` where the coefficient is 0 (every law of the sure sign scores 0) and
        for the indicator. Valid because outside the band ``c + G`` has a sure sign, so F is
        affine on the laws there and only the mean matters."""
        from rlsandbox.algorithms.distributional.dists import point

        ac = self.ac
        side = ac.region(c)
        if side == 0:
            raise ValueError(f"stock c={c} is inside the band; its law is not analytic")
        slope, ints = (ac.hi_slope, ac.hi_int) if side > 0 else (ac.lo_slope, ac.lo_int)
        loc = c if (ac.indicator or slope == 0) else c + ints[s] / slope
        return point(loc, exact=self.model.exact)

    def distributional_iterates(self, n_iter: int, *, m: int | None = None) -> list[dict]:
        """Distributional VI on the lattice [card §3 A5 "distributional version", C8 (iii)]:
        ``zeta_0(s, c) = delta_c`` and ``zeta_{k+1}(s, c) = Pi (Phi_{a*} zeta_k)(s, c)`` with
        ``a* = argmax_a F((Phi_a zeta_k)(s, c))`` (tie rule of A2), Pi the identity or the
        quantile projection onto ``m`` atoms; outside the band :meth:`outside_law`.

        Without projection ``F(zeta_k) = V_k`` of :meth:`value_iteration` exactly (card A5: "for
        EU, F(zeta_k) equals the scalar V_k"); ``zeta_k`` is the law of ``c + G`` under the
        k-step optimal non-stationary policy, not under the stationary greedy one (card
        Pitfall 10). With projection every step errs by at most ``L w_1(Pi_Q nu, nu) <=
        L (G_hi - G_lo) / (2 m)`` in value (the laws live on ``[c + G_lo, c + G_hi]``; card
        B4's derived bound), the delta of card C8 (iii).

        Returns the list ``[zeta_0, ..., zeta_n]`` of dicts (s, c) -> FiniteDist.
        """
        from rlsandbox.algorithms.distributional.dists import point
        from rlsandbox.algorithms.distributional.evaluation import phi
        from rlsandbox.algorithms.distributional.representations import quantile_projection

        model, F = self.model, self.objective
        zeta = {x: point(x[1], exact=model.exact) for x in self.states}
        out = [zeta]
        for _ in range(n_iter):
            def law(s2: int, c2: Any, zeta: dict = zeta):
                return zeta[(s2, c2)] if self.ac.region(c2) == 0 else self.outside_law(s2, c2)

            new = {}
            for i, (s, c) in enumerate(self.states):
                acts = sorted(self.rows[i])
                nus = [phi(model, a, law, s, c) for a in acts]
                a, _ = greedy_choice([F(nu) for nu in nus], acts, self.tie_tol)
                nu = nus[acts.index(a)]
                new[(s, c)] = nu if m is None else quantile_projection(nu, m)
            zeta = new
            out.append(zeta)
        return out

    def evaluate(self, policy: list) -> list:
        """Exact ``J^pi`` of a stationary lattice policy (list of actions per lattice state):
        ``(I - beta P_pi) J = b_pi`` with the terminal payoffs in ``b_pi``."""
        zero = self.model.zero()
        n = len(self.states)
        M = [[zero] * n for _ in range(n)]
        b = [zero] * n
        for i in range(n):
            M[i][i] += 1
            for p, j, const in self.rows[i][policy[i]]:
                if j >= 0:
                    M[i][j] -= p * self.beta
                else:
                    b[i] += p * self.beta * const
        return linear_solve(M, b)

    def policy_iteration(self, pi0: list | None = None, max_iter: int = 1000) -> list[PIStep]:
        """Distributional PI for EU [card §3 A6]: the sequence of (policy, J^pi) until the
        policy repeats (its last entry is optimal). Ties keep pi_k's action."""
        pol = [sorted(self.rows[i])[0] for i in range(len(self.states))] if pi0 is None \
            else list(pi0)
        steps = []
        for _ in range(max_iter):
            J = self.evaluate(pol)
            steps.append(PIStep({x: a for x, a in zip(self.states, pol)},
                                {x: v for x, v in zip(self.states, J)}))
            new = []
            for i in range(len(self.states)):
                acts = sorted(self.rows[i])
                qs = [self._q(i, a, J) for a in acts]
                best = max(qs)
                cur = qs[acts.index(pol[i])]
                new.append(pol[i] if cur >= best - self.tie_tol
                           else greedy_choice(qs, acts, self.tie_tol)[0])
            if new == pol:
                return steps
            pol = new
        raise RuntimeError(f"policy iteration did not stop within {max_iter} improvements")

    def solve(self) -> tuple[dict, dict]:
        """(J*, greedy policy) as dicts over the lattice states, by policy iteration."""
        last = self.policy_iteration()[-1]
        return last.J, last.policy

    def action(self, policy: dict, s: int, c: Any) -> int:
        """The stationary stock policy extended off the lattice: ``policy[(s, c)]`` in the
        band, the analytic optimal action outside it (card C10)."""
        if self.ac.region(c) != 0:
            return self.ac.action(s, c)
        return policy[(s, c)]

    def policy_law(self, policy: dict, c0: Any, *, depth: int,
                   s0: int | None = None) -> tuple:
        """Law of the return truncated after ``depth`` steps of the stationary stock policy
        (extended by :meth:`action`) from (s0, c0), by exact forward propagation of the joint
        law of (state, stock) [card A5: "evaluate it afterwards ... by depth-D enumeration"].

        Returns ``(law, alive)``: a FiniteDist of ``sum_{t<depth} gamma^t R_t`` and the
        probability of the paths still running at ``depth``; every return differs from its
        truncation by at most ``gamma^depth max|r| / (1 - gamma)`` (so do CVaR and the mean).
        """
        from rlsandbox.algorithms.distributional.dists import FiniteDist

        m = self.model
        g = m.gamma
        c0 = m.number("c0", c0)
        start = m.s0 if s0 is None else s0
        front = {(start, c0, m.zero()): m.one()}       # (state, stock, partial return)
        done: dict = {}
        disc = m.one()
        for _ in range(depth):
            nxt: dict = {}
            for (s, c, z), p in front.items():
                a = self.action(policy, s, c)
                for q, r, s2 in m.transitions(s, a):
                    key = z + disc * r
                    if m.terminal[s2]:
                        done[key] = done.get(key, 0) + p * q
                    else:
                        k2 = (s2, next_stock(c, r, g), key)
                        nxt[k2] = nxt.get(k2, 0) + p * q
            front = nxt
            disc = disc * g
            if not front:
                break
        alive = sum(front.values(), m.zero())
        for (_s, _c, z), p in front.items():
            done[z] = done.get(z, 0) + p
        return FiniteDist._raw(done.items(), m.exact), alive

    def value(self, J: dict, s: int, c: Any) -> Any:
        """J(s, c) anywhere: the lattice value, the analytic value outside the band, or f(c) at
        terminal states."""
        c = self.model.number("c", c)
        if self.model.terminal[s]:
            return self.objective.f(c)
        if self.ac.region(c) != 0:
            return self.ac.value(s, c)
        if (s, c) not in J:
            raise KeyError(f"(s={s}, c={c}) is in the band but not on the lattice; build the "
                           f"lattice from this stock")
        return J[(s, c)]


def zero_continuation(ac: AnalyticContinuation) -> AnalyticContinuation:
    """``ac`` with every value outside the band replaced by 0: what the clamped stock grid
    converges to ("losses beyond the grid are free", card C9 negative control, Pitfall 3).
    A deliberately wrong continuation, for negative controls only."""
    zeros = [0 * v for v in ac.lo_int]
    return AnalyticContinuation(ac.c_lo, ac.c_hi, 0 * ac.lo_slope, zeros, 0 * ac.hi_slope,
                                list(zeros), ac.lo_action, ac.hi_action, ac.indicator)


def build_lattice(model: OutcomeMDP, objective: ExpectedUtility, stocks: Any, *,
                  max_states: int = 100_000,
                  continuation_: AnalyticContinuation | None = None) -> StockLattice:
    """The finite in-band augmented MDP reachable from ``stocks`` at every non-terminal state
    [card A5-L]. ``model`` should be exact (Fractions) so that lattice points compare exactly.
    ``continuation_`` replaces the analytic values outside the band (default
    :func:`continuation`; :func:`zero_continuation` is the card's clamping control).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_c
    >>> from rlsandbox.algorithms.distributional.objectives import cvar_utility
    >>> lat = build_lattice(instance_c(), cvar_utility(), [Fr(k, 4) for k in range(-7, 8)])
    >>> len(lat), lat.solve()[0][(0, Fr(-1))]
    (15, Fraction(-18, 25))
    """
    if model.H is not None:
        raise ValueError("build_lattice is for infinite-horizon models (H=None)")
    if objective.degree is None:
        raise ValueError(f"{objective.name} has no homogeneity degree; the scalar stock "
                         f"equation needs one (card §2.4)")
    ac = continuation(model, objective) if continuation_ is None else continuation_
    g = model.gamma
    start = [model.number("stock", c) for c in stocks]
    states: list = []
    index: dict = {}
    queue: deque = deque()

    def visit(s: int, c: Any) -> None:
        if (s, c) not in index:
            if len(states) >= max_states:
                raise ValueError(f"more than max_states={max_states} in-band augmented states; "
                                 f"the reachable stocks are not a finite lattice (card A5-L "
                                 f"needs e.g. gamma = 1/2 and dyadic rewards)")
            index[(s, c)] = len(states)
            states.append((s, c))
            queue.append((s, c))

    for s in range(model.S):
        if not model.terminal[s]:
            for c in start:
                if ac.region(c) == 0:
                    visit(s, c)
    rows_by_state: dict = {}
    while queue:
        s, c = queue.popleft()
        acts = {}
        for a in model.actions(s):
            out = []
            for p, r, s2 in model.transitions(s, a):
                c2 = next_stock(c, r, g)
                if model.terminal[s2]:
                    out.append((p, None, objective.f(c2)))
                elif ac.region(c2) != 0:
                    out.append((p, None, ac.value(s2, c2)))
                else:
                    visit(s2, c2)
                    out.append((p, (s2, c2), None))
            acts[a] = out
        rows_by_state[(s, c)] = acts
    rows = []
    for x in states:
        rows.append({a: [(p, -1 if y is None else index[y], const) for p, y, const in out]
                     for a, out in rows_by_state[x].items()})
    return StockLattice(model, objective, states, rows, ac)


@dataclass(frozen=True)
class LatticeVaRResult:
    """Bisection for ``sup_pi VaR_tau(G^pi)`` on an exact lattice instance.

    ``lo`` has ``P*(G >= lo) > 1 - tau`` (so some stock policy has VaR_tau >= lo) and ``hi``
    has ``P*(G >= hi) <= 1 - tau`` (no policy reaches hi): the optimum is in [lo, hi).
    ``p_lo``/``p_hi`` are those P*; ``lattice``/``J``/``policy`` solve the indicator problem
    at c0 = -lo (run the policy from stock -lo).
    """

    lo: Any
    hi: Any
    p_lo: Any
    p_hi: Any
    lattice: StockLattice
    J: dict
    policy: dict
    tau: Any


def lattice_var_search(model: OutcomeMDP, tau: Any, *, n_bisect: int = 12,
                       max_states: int = 100_000) -> LatticeVaRResult:
    """Infinite-horizon VaR maximisation by bisection on the target [card §3 A4 "VaR"].

    ``P*(theta) = sup_pi P(G^pi >= theta)`` is A5-L with ``f = 1{x >= 0}`` and c0 = -theta
    (exact on lattice instances); it is non-increasing in theta, and for the left-continuous
    quantile ``VaR_tau(G) >= theta`` iff ``P(G >= theta) > 1 - tau`` (derivation in
    :mod:`~rlsandbox.algorithms.distributional.outer`). Bisection keeps ``P*(lo) > 1 - tau >=
    P*(hi)``, starting from ``lo = G_lo`` (P* = 1) and ``hi = G_lo + W`` with W the smallest
    power of 2 above ``G_hi - G_lo`` (P* = 0 beyond G_hi), so every midpoint is dyadic and
    stays on the lattice. After ``n_bisect`` halvings ``hi - lo = W / 2^n_bisect``.

    Deviations: the card suggests bisection without fixing the bracket; the power-of-2 bracket
    is ours (it keeps the midpoints on the dyadic lattice of A5-L).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_c
    >>> res = lattice_var_search(instance_c(), Fr(1, 2), n_bisect=6)
    >>> res.lo, res.hi - res.lo, res.p_lo        # bracket 8 / 2^6; P*(G >= 1) = 0.6 (C12)
    (Fraction(1, 1), Fraction(1, 8), Fraction(3, 5))
    """
    from rlsandbox.algorithms.distributional.objectives import threshold

    if model.H is not None:
        raise ValueError("lattice_var_search is for infinite-horizon models (H=None); use "
                         "outer.var_outer on finite horizons")
    tau = model.number("tau", tau)
    if not 0 < tau <= 1:
        raise ValueError(f"tau == {tau}; VaR needs tau in (0, 1]")
    F = threshold()
    G_lo, G_hi = model.return_bounds()
    W = model.one()
    while W <= G_hi - G_lo:
        W = W * 2

    def solve(theta: Any) -> tuple:
        lat = build_lattice(model, F, [-theta], max_states=max_states)
        J, pol = lat.solve()
        return lat.value(J, model.s0, -theta), lat, J, pol

    lo, hi = G_lo, G_lo + W
    p_lo, lat, J, pol = solve(lo)
    p_hi = solve(hi)[0]
    if not (p_lo > 1 - tau >= p_hi):
        raise AssertionError(f"bracket [{lo}, {hi}] does not bracket the VaR: P* = {p_lo}, "
                             f"{p_hi}")
    for _ in range(n_bisect):
        mid = (lo + hi) / 2
        p, lat_m, J_m, pol_m = solve(mid)
        if p > 1 - tau:
            lo, p_lo, lat, J, pol = mid, p, lat_m, J_m, pol_m
        else:
            hi, p_hi = mid, p
    return LatticeVaRResult(lo, hi, p_lo, p_hi, lat, J, pol, tau)
