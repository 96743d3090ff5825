"""Random average-reward MDPs: communicating by construction, and a weakly communicating variant.

Garnet-style kernels [archibald1995] with a ring that makes them communicating: action 0
of state s always reaches (s + 1) mod S with positive probability, so the union graph
contains the cycle 0 -> 1 -> ... -> S-1 -> 0 and every state is accessible from every other
under some deterministic policy [puterman2005, §8.3.1]. The optimal gain g*, bias h* and the
diameter D are then finite and computable exactly (:mod:`rlsandbox.dp.average`). The
construction follows the random communicating MDP of the LOOP card (shared/papers/loop.md,
§5.2), except that the ring successor is part of the drawn support rather than added and
renormalised afterwards.

The weakly communicating variant appends states that only lead into the communicating core
and are entered from nowhere: they are transient under every policy, so D = inf while the
optimal gain is still constant and the optimality equation still has a solution.

``gamma`` plays no role in average reward; it defaults to 1.0 (``TabularMDP`` accepts it;
the discounted solvers refuse it with a message). Pass ``gamma < 1`` to use the same instance
with discounted solvers, e.g. for Blackwell / Laurent-series checks.

References
----------
[archibald1995] T. W. Archibald, K. I. M. McKinnon, L. C. Thomas. On the generation of Markov
                decision processes. J. Oper. Res. Soc. 46(3):354-361, 1995.
[puterman2005]  M. L. Puterman. Markov Decision Processes. Wiley, 2005, §8.3.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.mdp import TabularMDP

__all__ = ["random_communicating", "random_weakly_communicating"]


def _build(S: int, A: int, n_transient: int, branching: int, gen: np.random.Generator,
           gamma: float) -> TabularMDP:
    """Core of S - n_transient ring-connected states, then n_transient states feeding it."""
    n_core = S - n_transient
    b = min(branching, n_core)
    # 1. supports: the b smallest of n_core uniform keys per (s, a) of the core; the ring
    #    successor of (s, 0) gets key -1, so it is always among them.
    keys = gen.random((S * A, n_core))
    ring = (np.arange(n_core) + 1) % n_core
    keys[np.arange(n_core) * A, ring] = -1.0
    support = np.argpartition(keys, b - 1, axis=1)[:, :b] if b < n_core else \
        np.broadcast_to(np.arange(n_core), (S * A, n_core))
    # 2. probabilities: Dirichlet(1, ..., 1) on each support (all entries > 0 almost surely)
    weights = gen.dirichlet(np.ones(b), size=S * A)
    # 3. rewards R[s, a] ~ Uniform[0, 1)
    R = gen.random((S, A))
    P = np.zeros((S * A, S))
    np.put_along_axis(P, support, weights, axis=1)
    ring_mass = P[np.arange(n_core) * A, ring]
    if not (ring_mass > 0).all():       # a Dirichlet coordinate of exactly 0: p ~ 1e-16
        s = int(np.flatnonzero(ring_mass <= 0)[0])
        raise RuntimeError(f"drew P[{s}, 0, {ring[s]}] == 0.0 (an event of probability "
                           f"~1e-16), so the ring is broken; use another seed")
    return TabularMDP(P.reshape(S, A, S), R, gamma)


def random_communicating(S: int, A: int, *, rng: Any, branching: int = 3,
                         gamma: float = 1.0) -> TabularMDP:
    """A random MDP that is communicating by construction (finite diameter).

    For every pair (s, a), in row order ``s*A + a``: a support of ``b = min(branching, S)``
    distinct next states, uniformly random except that the support of (s, 0) always contains
    (s + 1) mod S; probabilities Dirichlet(1_b) on the support; then ``R ~ Uniform[0, 1)``.
    Draw order: keys (S*A, S), Dirichlet weights (S*A, b), rewards (S, A). The ring edges
    s -> s+1 under action 0 make the union graph strongly connected, hence the model is
    communicating [puterman2005, §8.3.1]; it need not be unichain.

    Parameters
    ----------
    S, A : int >= 1
    rng : Generator, int seed or SeedSequence (keyword-only, required)
    branching : int >= 1, successors per (s, a) (capped at S)
    gamma : float in [0, 1], irrelevant for average reward (default 1.0)

    Examples
    --------
    >>> from rlsandbox.mdps.average import random_communicating
    >>> from rlsandbox.dp.average import is_communicating, diameter
    >>> mdp = random_communicating(6, 2, rng=0)
    >>> mdp, is_communicating(mdp), diameter(mdp) < float("inf")
    (TabularMDP(S=6, A=2, gamma=1, dense), True, True)
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    branching = check_int("branching", branching, low=1)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    return _build(S, A, 0, branching, check_rng("rng", rng), gamma)


def random_weakly_communicating(S: int, A: int, *, rng: Any, n_transient: int = 1,
                                branching: int = 3, gamma: float = 1.0) -> TabularMDP:
    """A random weakly communicating, non-communicating MDP (D = inf, constant optimal gain).

    States ``0 .. S - n_transient - 1`` form a core built as in :func:`random_communicating`;
    the last ``n_transient`` states have supports inside the core only, and nothing enters
    them, so they are transient under every policy [puterman2005, §8.3.1]. Same draw order
    as :func:`random_communicating` (keys over the core columns).

    Parameters
    ----------
    S, A : int >= 1; S - n_transient >= 1
    rng : Generator, int seed or SeedSequence (keyword-only, required)
    n_transient : int >= 1, number of states outside the core
    branching : int >= 1, successors per (s, a) (capped at the core size)
    gamma : float in [0, 1], irrelevant for average reward (default 1.0)

    Examples
    --------
    >>> from rlsandbox.mdps.average import random_weakly_communicating
    >>> from rlsandbox.dp.average import is_communicating, is_weakly_communicating
    >>> mdp = random_weakly_communicating(5, 2, rng=1)
    >>> is_communicating(mdp), is_weakly_communicating(mdp)
    (False, True)
    """
    S = check_int("S", S, low=2)
    A = check_int("A", A, low=1)
    n_transient = check_int("n_transient", n_transient, low=1)
    if n_transient >= S:
        raise ValueError(f"n_transient == {n_transient} leaves no core state for S == {S}; "
                         f"use n_transient <= S - 1")
    branching = check_int("branching", branching, low=1)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    return _build(S, A, n_transient, branching, check_rng("rng", rng), gamma)
