"""A3: brute-force references over history-dependent policies (tiny instances) [card §3 A3].

These references do not use the stock: they work on the tree of histories
``(s_0, a_0, r_0, s_1, ..., s_t)``, so they check A2 independently.

* :func:`history_optimum_eu`: for an expected utility, backward induction on the history tree
  with terminal value ``f(c0 + sum_t gamma^t r_t)`` and a max over actions at every decision
  history: ``sup over Pi_H`` exactly (randomisation cannot beat the best action of an
  expectation).
* :func:`history_return_laws`: the return laws of *all deterministic history-dependent
  policies* (a policy picks an action at every decision history it reaches; duplicates
  removed). For a finite horizon, a randomised history-dependent policy induces a mixture of
  these laws (Kuhn's theorem), so ``max_i F(law_i)`` is the sup over Pi_H for criteria that are
  convex along mixtures: CVaR (a max of affine functionals) and mean - lam Var (Var is
  concave) [card §3 A3]. It is also exact for VaR/quantiles, since ``P(G >= theta)`` is linear
  along mixtures (derived here). For other criteria it is "best deterministic" [card
  Pitfall 13].
* :func:`markov_policies` / :func:`best_markov`: all deterministic (t, s)-Markov (or
  stationary) policies, evaluated by A1; :func:`randomized_markov_curve` sweeps a mixing
  probability (card C3, E1).
* :func:`reachable_returns`: every value ``sum_t gamma^t r_t`` some path can produce (the
  candidate set of the finite-horizon CVaR search, card A4).

Sizes: for A actions and K outcomes per step the tree has (A K)^H leaves; the policy count
grows doubly exponentially, so keep H <= 3 with A = K = 2 (the card's RG), and use
``max_laws`` as a guard.
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rlsandbox.algorithms.distributional.dists import FiniteDist, mixture, point
from rlsandbox.algorithms.distributional.evaluation import return_distribution
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import ExpectedUtility, Objective

__all__ = ["history_optimum_eu", "history_return_laws", "best_over_history_policies",
           "markov_policies", "best_markov", "randomized_markov_curve", "reachable_returns"]


def _check(model: Any, where: str) -> None:
    if not isinstance(model, OutcomeMDP):
        raise TypeError(f"{where} expects an OutcomeMDP, got {type(model).__name__}")
    if model.H is None:
        raise ValueError(f"{where} enumerates a finite horizon; the model has H=None")


def history_optimum_eu(model: OutcomeMDP, objective: ExpectedUtility, c0: Any = 0) -> Any:
    """``sup_{pi in Pi_H} E f(c0 + G^pi)`` by backward induction on the history tree [card A3].

    No memo on stocks: every history is its own node.

    Examples
    --------
    >>> from rlsandbox.mdps.distributional import instance_t1
    >>> from rlsandbox.algorithms.distributional.objectives import threshold
    >>> history_optimum_eu(instance_t1(), threshold(), c0=-1)
    Fraction(3, 4)
    """
    _check(model, "history_optimum_eu")
    if not isinstance(objective, ExpectedUtility):
        raise TypeError("history_optimum_eu needs an ExpectedUtility; for other criteria use "
                        "best_over_history_policies")
    f = objective.f
    g = model.gamma
    c0 = model.number("c0", c0)

    def node(t: int, s: int, acc: Any, disc: Any) -> Any:
        # acc = c0 + sum_{i<t} gamma^i r_i ; disc = gamma^t
        if t == model.H or model.terminal[s]:
            return f(acc)
        best = None
        for a in model.actions(s):
            q = 0
            for p, r, s2 in model.transitions(s, a):
                q = q + p * node(t + 1, s2, acc + disc * r, disc * g)
            if best is None or q > best:
                best = q
        return best

    return node(0, model.s0, c0, model.one())


def _key(d: FiniteDist) -> tuple:
    return (d.atoms, d.probs)


def history_return_laws(model: OutcomeMDP, *, max_laws: int = 200_000) -> list[FiniteDist]:
    """The distinct laws of G over all deterministic history-dependent policies [card A3].

    Recursion on the history tree: the laws achievable from a history are, for each action,
    every combination of one achievable law per outcome, mixed with the outcome
    probabilities after the shift-scale ``(b_r o m_gamma)#``. Raises ``ValueError`` if more than
    ``max_laws`` laws would be built (the enumeration is doubly exponential in H).

    Examples
    --------
    Instance A: always safe, or risky after each of the two first rewards: 4 laws.

    >>> from rlsandbox.mdps.distributional import instance_a
    >>> len(history_return_laws(instance_a()))
    4
    """
    _check(model, "history_return_laws")
    g = model.gamma
    zero = point(0, exact=model.exact)
    memo: dict = {}

    def laws(t: int, s: int) -> list[FiniteDist]:
        if t == model.H or model.terminal[s]:
            return [zero]
        if (t, s) in memo:
            return memo[(t, s)]
        out: dict = {}
        for a in model.actions(s):
            outs = model.transitions(s, a)
            children = [[d.affine(r, g) for d in laws(t + 1, s2)] for _, r, s2 in outs]
            n = 1
            for ch in children:
                n *= len(ch)
            if n + len(out) > max_laws:
                raise ValueError(f"more than max_laws={max_laws} policy laws at t={t}, s={s}; "
                                 f"the enumeration is doubly exponential in H (H={model.H}). "
                                 f"Use a smaller instance or raise max_laws")
            probs = [p for p, _, _ in outs]
            for combo in itertools.product(*children):
                d = mixture(probs, list(combo))
                out.setdefault(_key(d), d)
        memo[(t, s)] = list(out.values())
        return memo[(t, s)]

    # (t, s) alone determines the achievable set: the return-to-go laws do not depend on how
    # the history reached s, and a history-dependent policy may pick any of them per history.
    return laws(0, model.s0)


def best_over_history_policies(model: OutcomeMDP, objective: Objective, c0: Any = 0, *,
                               laws: list[FiniteDist] | None = None) -> tuple[Any, FiniteDist]:
    """``max_i F(law(c0 + G_i))`` over the deterministic history-policy laws [card A3].

    Exact sup over Pi_H for EU, CVaR, mean - lam Var and VaR (module docstring); "best
    deterministic" otherwise. Returns (value, law of G of a maximiser); ties: the first law in
    enumeration order. ``laws`` re-uses a precomputed :func:`history_return_laws`.
    """
    _check(model, "best_over_history_policies")
    c0 = model.number("c0", c0)
    laws = history_return_laws(model) if laws is None else laws
    best, arg = None, None
    for d in laws:
        v = objective(d.shift(c0))
        if best is None or v > best:
            best, arg = v, d
    return best, arg


def markov_policies(model: OutcomeMDP, *, stationary: bool = False):
    """Yield every deterministic Markov policy: ``(H, S)`` int arrays (or ``(S,)`` if
    ``stationary``), with action 0 at terminal states [card A3 "Markov baselines"]."""
    _check(model, "markov_policies")
    choices = [model.actions(s) or [0] for s in range(model.S)]
    if stationary:
        for combo in itertools.product(*choices):
            yield np.array(combo, dtype=np.int64)
        return
    per_t = list(itertools.product(*choices))
    for combo in itertools.product(per_t, repeat=model.H):
        yield np.array(combo, dtype=np.int64)


def best_markov(model: OutcomeMDP, objective: Objective, c0: Any = 0, *,
                stationary: bool = False) -> tuple[Any, np.ndarray, FiniteDist]:
    """Best deterministic Markov policy for ``F(law(c0 + G))`` by enumeration + A1.

    Returns (value, policy, law of G); ties: the first policy in enumeration order.

    Examples
    --------
    Instance A, CVaR_1/2: 1/2 (always risky), against 3/4 with stock (card C3).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> from rlsandbox.algorithms.distributional.objectives import cvar
    >>> best_markov(instance_a(), cvar(Fr(1, 2)))[0]
    Fraction(1, 2)
    """
    c0 = model.number("c0", c0)
    best = None
    for pi in markov_policies(model, stationary=stationary):
        law = return_distribution(model, pi)
        v = objective(law.shift(c0))
        if best is None or v > best[0]:
            best = (v, pi, law)
    return best


def randomized_markov_curve(model: OutcomeMDP, objective: Objective, pi0: np.ndarray,
                            pi1: np.ndarray, ps: Any, c0: Any = 0) -> list:
    """``F(law(c0 + G))`` of the Markov policy playing ``pi1`` w.p. p and ``pi0`` w.p. 1 - p at
    every state independently, for each p in ``ps`` [card C3: "randomized Markov with
    P(risky) = p: CVaR = p/2"]. ``pi0``, ``pi1`` are stationary ``(S,)`` int policies."""
    c0 = model.number("c0", c0)
    out = []
    for p in ps:
        p = model.number("p", p)

        def pol(t, s, c, p=p):
            probs = [model.zero()] * model.A
            a0, a1 = int(pi0[s]), int(pi1[s])
            probs[a0] += 1 - p
            probs[a1] += p
            return probs
        out.append(objective(return_distribution(model, pol).shift(c0)))
    return out


def reachable_returns(model: OutcomeMDP) -> list:
    """Sorted distinct values of ``sum_t gamma^t r_t`` over all paths and actions [card A4].

    >>> from rlsandbox.mdps.distributional import instance_a
    >>> [str(x) for x in reachable_returns(instance_a())]
    ['-1/2', '0', '3/2', '2', '3', '5']
    """
    _check(model, "reachable_returns")
    g = model.gamma
    frontier = {(model.s0, model.zero())}
    done: set = set()
    disc = model.one()
    for _t in range(model.H):
        nxt = set()
        for s, z in frontier:
            if model.terminal[s]:
                done.add(z)
                continue
            for a in model.actions(s):
                for _, r, s2 in model.transitions(s, a):
                    nxt.add((s2, z + disc * r))
        frontier = nxt
        disc = disc * g
    done |= {z for _, z in frontier}
    return sorted(done)
