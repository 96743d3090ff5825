"""Random tabular MDPs: Garnets (sparse random kernels) and dense Dirichlet kernels.

Every builder takes a keyword ``rng`` (a ``numpy.random.Generator``, an int seed or a
``SeedSequence``) and draws everything from it in a fixed, documented order, so the same seed
gives a bitwise-identical instance on every platform numpy supports. A Generator passed in is
advanced (its stream continues), exactly as if the draws were made by the caller.

References
----------
[archibald1995] T. W. Archibald, K. I. M. McKinnon, L. C. Thomas. On the generation of Markov
                decision processes. J. Oper. Res. Soc. 46(3):354-361, 1995 (Garnet: "Generic
                Average Reward Non-stationary Environment Testbed").
[bhatnagar2009] S. Bhatnagar, R. S. Sutton, M. Ghavamzadeh, M. Lee. Natural actor-critic
                algorithms. Automatica 45(11):2471-2482, 2009, §6 (Garnet(n_S, n_A, b): b
                next states per pair, probabilities from b-1 uniform cut points of [0, 1]).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.mdp import TabularMDP

__all__ = ["garnet", "random_dense"]


def garnet(S: int, A: int, branching: int, *, rng: Any, gamma: float = 0.9,
           sparse: bool = False) -> TabularMDP:
    """A Garnet MDP: each (s, a) reaches ``branching`` random states [archibald1995; bhatnagar2009, §6].

    Construction, for every pair (s, a) in row order ``s*A + a``:

    1. the support: ``branching`` distinct next states, a uniformly random subset of the S
       states (the ``branching`` smallest of S i.i.d. uniform keys);
    2. the probabilities: the gaps between ``branching - 1`` sorted uniform cut points of
       [0, 1] (a uniform point of the simplex, i.e. Dirichlet(1, ..., 1));
    3. then the rewards ``R[s, a] ~ Uniform[0, 1)``, drawn after all transitions (our choice:
       the sources use various reward distributions).

    Draw order: keys ``(S*A, S)``, cut points ``(S*A, branching-1)``, rewards ``(S, A)``.
    ``rho`` is uniform. ``sparse=True`` stores P as CSR ``(S*A, S)``.

    Parameters
    ----------
    S, A : int >= 1
    branching : int in [1, S]
    rng : Generator, int seed or SeedSequence (keyword-only, required)
    gamma : float in [0, 1]
    sparse : bool

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.garnet(10, 3, 2, rng=0)
    >>> mdp, int((mdp.P > 0).sum(axis=-1).max())
    (TabularMDP(S=10, A=3, gamma=0.9, dense), 2)
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    b = check_int("branching", branching, low=1, high=S)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    gen = check_rng("rng", rng)
    keys = gen.random((S * A, S))
    support = np.sort(np.argpartition(keys, b - 1, axis=1)[:, :b], axis=1)
    cuts = np.sort(gen.random((S * A, b - 1)), axis=1)
    probs = np.diff(cuts, axis=1, prepend=0.0, append=1.0)
    R = gen.random((S, A))
    rows = np.repeat(np.arange(S * A), b)
    if sparse:
        P = sp.csr_array((probs.ravel(), (rows, support.ravel())), shape=(S * A, S))
    else:
        P = np.zeros((S * A, S))
        np.add.at(P, (rows, support.ravel()), probs.ravel())
        P = P.reshape(S, A, S)
    return TabularMDP(P, R, gamma)


def random_dense(S: int, A: int, *, rng: Any, alpha: float = 1.0, gamma: float = 0.9) -> TabularMDP:
    """A dense random MDP: ``P[s, a, :] ~ Dirichlet(alpha, ..., alpha)``, ``R[s, a] ~ U[0, 1)``.

    ``alpha = 1`` draws kernel rows uniformly from the simplex; small ``alpha`` concentrates
    them near vertices (nearly deterministic transitions), large ``alpha`` near the uniform row.
    Draw order: the ``(S, A)`` Dirichlet rows (row order), then the rewards. ``rho`` is uniform.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> rls.mdps.random_dense(4, 2, rng=1)
    TabularMDP(S=4, A=2, gamma=0.9, dense)
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    gen = check_rng("rng", rng)
    P = gen.dirichlet(np.full(S, alpha), size=(S, A))
    R = gen.random((S, A))
    return TabularMDP(P, R, gamma)
