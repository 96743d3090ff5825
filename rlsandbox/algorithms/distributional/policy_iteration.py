"""A6: distributional policy iteration on the finite augmented space of a finite horizon.

[card §3 A6] For a criterion F on ``zeta = law(c + G)`` and a deterministic stock policy
``pi(t, s, c)``:

    evaluate   zeta^{pi_k}(t, s, c) = (Phi_{pi_k(t,s,c)} zeta^{pi_k}(t+1, .))(s, c),
               zeta(H, s, c) = zeta(t, ⊥, c) = delta_c                           (exact, A1)
    improve    pi_{k+1}(t, s, c) = argmax_a F((Phi_a zeta^{pi_k}(t+1, .))(s, c))
               (keep pi_k's action when it is within the tie tolerance of the best)
    stop       when pi_{k+1} = pi_k

with ``(Phi_a zeta)(s, c) = sum_{(p, r, s')} p (m_gamma)# zeta(s', (c + r)/gamma)`` [card §2.4].
The augmented space is the set of (t, s, c) reachable from (0, s0, c0) under *any* actions (a
finite set on a finite horizon), so every policy the iteration can produce is defined there and
evaluated exactly (Fractions on exact models).

Card C11: for F with P1 and P2 (every gamma-compatible EU) the values ``J_k = F(zeta^{pi_k})``
increase pointwise and the iteration stops after finitely many improvements at J*. With a
criterion that violates P1 (CVaR used directly as F) the greedy step can stop at a strictly
suboptimal policy (Instance A: CVaR_1/2 = 0 against the optimum 3/4) -- the card's C11 control.

Deviations: the card states A6 for stationary stock policies on an infinite horizon; here the
horizon is finite, so the policy is Markov on (t, s, c) (the finite-horizon augmented state,
card §2.2). Infinite-horizon PI for expected utilities on exact lattices is
:meth:`~rlsandbox.algorithms.distributional.lattice.StockLattice.policy_iteration`. The
initial policy is the lowest available action everywhere unless ``pi0`` is given.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rlsandbox.algorithms.distributional.dists import FiniteDist, point
from rlsandbox.algorithms.distributional.evaluation import next_stock, phi
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import Objective
from rlsandbox.algorithms.distributional.stock_dp import (_check_finite_horizon, _tie_tol,
                                                          greedy_choice)

__all__ = ["PolicyIterationResult", "augmented_states", "evaluate_stock_policy",
           "distributional_policy_iteration"]


def augmented_states(model: OutcomeMDP, c0: Any = 0) -> list[tuple]:
    """Every non-terminal (t, s, c), t < H, reachable from (0, s0, c0) under some actions,
    in order of increasing t.

    >>> from rlsandbox.mdps.distributional import instance_a
    >>> [(t, s, str(c)) for t, s, c in augmented_states(instance_a(), 0)]
    [(0, 0, '0'), (1, 1, '0'), (1, 1, '2')]
    """
    _check_finite_horizon(model, "augmented_states")
    g = model.gamma
    layer = {(model.s0, model.number("c0", c0))}
    out: list[tuple] = []
    for t in range(model.H):
        live = sorted((x for x in layer if not model.terminal[x[0]]),
                      key=lambda x: (x[0], x[1]))
        out.extend((t, s, c) for s, c in live)
        layer = {(s2, next_stock(c, r, g)) for s, c in live for a in model.actions(s)
                 for _, r, s2 in model.transitions(s, a)}
    return out


def evaluate_stock_policy(model: OutcomeMDP, policy: Callable[[int, int, Any], int],
                          states: list[tuple]) -> dict:
    """``zeta^pi(t, s, c) = law(c + G_t)`` under the deterministic stock policy ``policy``
    at every augmented state of ``states`` (exact backward recursion, card §2.4, §3 A1)."""
    zeta: dict = {}

    def at(t: int, s: int, c: Any) -> FiniteDist:
        if t == model.H or model.terminal[s]:
            return point(c, exact=model.exact)
        return zeta[(t, s, c)]

    for t, s, c in sorted(states, key=lambda x: -x[0]):
        zeta[(t, s, c)] = phi(model, policy(t, s, c), lambda s2, c2, t=t: at(t + 1, s2, c2),
                              s, c)
    return zeta


@dataclass(frozen=True)
class PolicyIterationResult:
    """Distributional PI (A6) from one initial stock.

    Attributes
    ----------
    policies : list of dict (t, s, c) -> action, pi_0 .. pi_K (pi_K is the final policy).
    values : list of dict (t, s, c) -> F(zeta^{pi_k}(t, s, c)), k = 0 .. K.
    value : F(zeta^{pi_K}(0, s0, c0)).
    law : zeta^{pi_K}(0, s0, c0) = law(c0 + G) of the final policy.
    improvements : K, the number of policy changes before the policy repeated.
    """

    policies: list
    values: list
    value: Any
    law: FiniteDist
    improvements: int

    def min_improvement(self) -> Any:
        """``min_k min_x (J_{k+1}(x) - J_k(x))`` (>= 0 under P1 + P2, card C11); 0 if K = 0."""
        diffs = [min(b[x] - a[x] for x in a) for a, b in zip(self.values, self.values[1:])]
        return min(diffs) if diffs else 0 * self.value


def distributional_policy_iteration(model: OutcomeMDP, objective: Objective, c0: Any = 0, *,
                                    pi0: Callable[[int, int, Any], int] | None = None,
                                    tie_tol: Any = None,
                                    max_iter: int = 1000) -> PolicyIterationResult:
    """Distributional policy iteration on the finite augmented space [card §3 A6, §4 C11].

    Parameters
    ----------
    model : OutcomeMDP, finite horizon.
    objective : criterion F on law(c + G) (EU or not; without P1 the result may be suboptimal).
    c0 : initial stock.
    pi0 : initial deterministic stock policy ``pi0(t, s, c) -> a``; default lowest action.
    tie_tol : values within it of the best count as equal (keep pi_k's action); default 0 on
        exact models, 1e-9 on float models (card §5.2 E3 rule).
    max_iter : improvements allowed before ``RuntimeError``.

    Examples
    --------
    Instance A, f = min(x, 0) from c0 = -2: PI reaches the A2 value J* = -5/8 (card C6);
    with F = CVaR_1/2 itself it stops at "always safe", CVaR 0 < 3/4 (card C4, C11 control).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> from rlsandbox.algorithms.distributional.objectives import cvar, cvar_utility
    >>> res = distributional_policy_iteration(instance_a(), cvar_utility(), -2)
    >>> res.value, res.improvements, res.min_improvement() >= 0
    (Fraction(-5, 8), 1, True)
    >>> distributional_policy_iteration(instance_a(), cvar(Fr(1, 2)), 0).value
    Fraction(0, 1)
    """
    _check_finite_horizon(model, "distributional_policy_iteration")
    if not isinstance(objective, Objective):
        raise TypeError(f"objective must be an Objective (see objectives.py), got "
                        f"{type(objective).__name__}")
    tol = _tie_tol(model, tie_tol)
    c0 = model.number("c0", c0)
    if model.terminal[model.s0]:
        raise ValueError(f"the start state s0={model.s0} is terminal: there is nothing to "
                         f"optimise (zeta = delta_c0)")
    states = augmented_states(model, c0)
    if pi0 is None:
        pol = {x: model.actions(x[1])[0] for x in states}
    else:
        pol = {x: int(pi0(*x)) for x in states}
        bad = [x for x, a in pol.items() if not (0 <= a < model.A and model.available[x[1], a])]
        if bad:
            raise ValueError(f"pi0{bad[0]} = {pol[bad[0]]} is not an available action of state "
                             f"{bad[0][1]}; available: {model.actions(bad[0][1])}")
    policies, values = [], []
    for _ in range(max_iter + 1):
        zeta = evaluate_stock_policy(model, lambda t, s, c: pol[(t, s, c)], states)
        policies.append(dict(pol))
        values.append({x: objective(zeta[x]) for x in states})

        def nxt(t: int, s: int, c: Any) -> FiniteDist:
            return point(c, exact=model.exact) if t == model.H or model.terminal[s] \
                else zeta[(t, s, c)]

        new = {}
        for t, s, c in states:
            acts = model.actions(s)
            qs = [objective(phi(model, a, lambda s2, c2, t=t: nxt(t + 1, s2, c2), s, c))
                  for a in acts]
            cur = qs[acts.index(pol[(t, s, c)])]
            keep = cur >= max(qs) - tol
            new[(t, s, c)] = pol[(t, s, c)] if keep else greedy_choice(qs, acts, tol)[0]
        if new == pol:
            x0 = states[0]
            return PolicyIterationResult(policies, values, values[-1][x0], zeta[x0],
                                         len(policies) - 1)
        pol = new
    raise RuntimeError(f"distributional policy iteration did not stop within {max_iter} "
                       f"improvements")
