"""Preference-learning instances of the card preference_coverage: named bandits, their pair
datasets, and seeded random bandits and token trees.

Named instances (numbers from the card; each builder's docstring gives the card section):

=======================  ===================================================================
builder                  what it is
=======================  ===================================================================
``song_zero_mass``       P1 (card C4): piref = (1/2, 1/2, 0), r* = (1, 0, 0), beta = 0.5;
                         only {a, b} is compared. Global coverage fails (C_glo = inf).
``song_zero_mass_covered``  C4's negative control: the same with piref(c) = delta > 0, mu =
                         piref (c compared): the DPO minimiser is unique.
``song_small_mass``      P2 (card C5): piref = mu = ((1-delta)/2, (1-delta)/2, delta),
                         r* = (1, 0.5, 0), beta = 0.5, R = 1.
``ood_collapse``         L1 (card E3): 4 responses, log-linear features misspecified for y3,
                         beta = 0.1; dataset ``ood_collapse_pairs`` (0>1, 2>1, 0>2, once each).
``extrapolation``        L2 (card C10): 4 responses, features (1,0),(0,0),(2,0),(0,1), piref
                         uniform, beta = 1; dataset ``extrapolation_pairs`` (0>1 once).
``coverage_example``     card C9(iii): piref = [[.6,.3,.1,0],[.25]*4], rho = (1/2, 1/2).
=======================  ===================================================================

Random generators (keyword-only ``rng``, deterministic per seed; card §4 "random instances"):
:func:`random_preference_bandit` (nX in [1, 4], K in [2, 8], piref and mu Dirichlet with
concentration ~ U(0.2, 3), r* ~ U(0, R), beta ~ U(0.05, 2), optional zeros / small masses),
:func:`random_token_tree` (card C14: V = 3, T = 3, random piref per state, dense rewards),
:func:`random_loglinear_bandit` (card C12(e): 20 prompts x 10 responses, d = 4, realisable).

These builders return :class:`~rlsandbox.algorithms.preference.PreferenceBandit` and
:class:`~rlsandbox.algorithms.preference.token.TokenTree` objects, not MDPs, so they are not
entries of the MDP zoo registry (``rlsandbox.mdps.make``); import them from this module.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.algorithms.preference.data import PairData, pairs_from_list
from rlsandbox.algorithms.preference.model import PreferenceBandit
from rlsandbox.algorithms.preference.token import TokenTree

__all__ = ["song_zero_mass", "song_zero_mass_covered", "song_small_mass", "ood_collapse",
           "ood_collapse_pairs", "extrapolation", "extrapolation_pairs", "coverage_example",
           "random_preference_bandit", "random_token_tree", "random_loglinear_bandit", "NAMED"]


def song_zero_mass() -> PreferenceBandit:
    """P1 "song-zero-mass" (card C4): one prompt, responses (a, b, c), piref = (1/2, 1/2, 0),
    r* = (1, 0, 0), beta = 0.5, mu = piref, so only the pair {a, b} is ever compared.

    Card fixtures: pi* = (0.880797, 0.119203, 0); KL(pi* || piref) = 0.327813;
    J(pi*) = 0.716890; minimum DPO loss per labelled pair H(sigma(1)) = 0.582203.

    Examples
    --------
    >>> b = song_zero_mass()
    >>> round(b.J_star, 6)
    0.71689
    """
    return PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5, R=1.0)


def song_zero_mass_covered(delta: float = 0.1) -> PreferenceBandit:
    """C4's negative-control instance: P1 with piref(c) = delta > 0 and mu = piref, so c is
    compared and mu has full support (C_glo = 1/min mu < inf); the DPO minimiser is unique.

    Examples
    --------
    >>> song_zero_mass_covered().piref.tolist()
    [[0.45, 0.45, 0.1]]
    """
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    return PreferenceBandit(piref=[[(1 - delta) / 2, (1 - delta) / 2, delta]],
                            r=[[1.0, 0.0, 0.0]], beta=0.5, R=1.0)


def song_small_mass(delta: float = 1e-4) -> PreferenceBandit:
    """P2 "song-small-mass" (card C5): piref = mu = ((1-delta)/2, (1-delta)/2, delta),
    r* = (1, 0.5, 0), beta = 0.5, R = 1. C_glo = 1/delta.

    Examples
    --------
    >>> song_small_mass(1e-2).piref.tolist()
    [[0.495, 0.495, 0.01]]
    """
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    return PreferenceBandit(piref=[[(1 - delta) / 2, (1 - delta) / 2, delta]],
                            r=[[1.0, 0.5, 0.0]], beta=0.5, R=1.0)


def ood_collapse(beta: float = 0.1) -> PreferenceBandit:
    """L1 "ood-collapse" (card E3): phi = [(1,0), (0,0), (0,1), (2,0.5)],
    piref = (0.45, 0.45, 0.0999, 0.0001), r* = (1.0, 0.0, 0.5, -1.0) (features misspecified for
    y3), beta = 0.1. Pairs: :func:`ood_collapse_pairs`.

    Examples
    --------
    >>> ood_collapse().phi.shape
    (1, 4, 2)
    """
    return PreferenceBandit(piref=[[0.45, 0.45, 0.0999, 0.0001]], r=[[1.0, 0.0, 0.5, -1.0]],
                            beta=beta, phi=[[[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [2.0, 0.5]]])


def ood_collapse_pairs() -> PairData:
    """L1's dataset (card E3): 0 > 1, 2 > 1, 0 > 2, each seen once (counts)."""
    return pairs_from_list(1, 4, [(0, 0, 1), (0, 2, 1), (0, 0, 2)])


def extrapolation() -> PreferenceBandit:
    """L2 "extrapolation" (card C10): phi = [(1,0), (0,0), (2,0), (0,1)], piref uniform,
    beta = 1, r* = (1, 0, 2, 0) (the unseen y2 is the best response and aligned with
    phi(y0) - phi(y1); the card fixes only phi, piref, the pair and beta -- this r* is linear in
    the first feature, r* = 1 * phi[:, 0], so the features are right). Pairs:
    :func:`extrapolation_pairs`.

    Examples
    --------
    >>> extrapolation().K
    4
    """
    return PreferenceBandit(piref=[[0.25] * 4], r=[[1.0, 0.0, 2.0, 0.0]], beta=1.0,
                            phi=[[[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, 1.0]]])


def extrapolation_pairs() -> PairData:
    """L2's dataset (card C10): the single comparison y0 > y1."""
    return pairs_from_list(1, 4, [(0, 0, 1)])


def coverage_example(beta: float = 1.0) -> PreferenceBandit:
    """Card C9(iii): piref = mu = [[.6, .3, .1, 0], [.25, .25, .25, .25]], rho = (1/2, 1/2);
    C_glo = inf but C_loc(0.01) = 1.649, C_loc(0.1) = 3.325, C_loc(1) = 9.511, C_loc(10) = 10.
    The reward (not used by C9) is r*(x, y) = y / 3.

    Examples
    --------
    >>> coverage_example().nX
    2
    """
    r = np.tile(np.arange(4) / 3.0, (2, 1))
    return PreferenceBandit(piref=[[0.6, 0.3, 0.1, 0.0], [0.25, 0.25, 0.25, 0.25]], r=r,
                            beta=beta, rho=[0.5, 0.5])


def random_preference_bandit(*, rng: Any, nX: int | None = None, K: int | None = None,
                             R: float = 1.0, beta: float | None = None,
                             zero_prob: float = 0.0, small_mass: float | None = None,
                             separate_mu: bool = False, d: int | None = None,
                             min_zeros: int = 0) -> PreferenceBandit:
    """A random bandit of the card's §4 distribution.

    nX ~ U{1..4} and K ~ U{2..8} unless given; each row of piref ~ Dirichlet(c 1), c ~
    U(0.2, 3); r* ~ U(0, R) (so R bounds every span); beta ~ U(0.05, 2) unless given.
    Coverage-failure options: ``zero_prob`` sets each piref entry to 0 with that probability
    (at least two responses per prompt keep mass) and renormalises; ``min_zeros`` then zeroes
    further random entries until piref has at least that many zeros (K >= 3 is drawn in that
    case, and every prompt keeps two responses); ``small_mass`` gives one
    random response per prompt exactly that reference mass (the rest rescaled). mu = piref
    unless ``separate_mu`` (then mu ~ Dirichlet on piref's support). ``d`` adds standard normal
    features phi (nX, K, d) / sqrt(d).

    Examples
    --------
    >>> b = random_preference_bandit(rng=0)
    >>> np.array_equal(b.piref, random_preference_bandit(rng=0).piref)     # same seed, same draw
    True
    """
    rng = check_rng("rng", rng)
    min_zeros = check_int("min_zeros", min_zeros, low=0)
    nX = int(rng.integers(1, 5)) if nX is None else check_int("nX", nX, low=1)
    K = int(rng.integers(3 if min_zeros else 2, 9)) if K is None else check_int("K", K, low=2)
    if min_zeros > nX * (K - 2):
        raise ValueError(f"min_zeros == {min_zeros} but only nX (K - 2) = {nX * (K - 2)} entries "
                         f"can be zero while every prompt keeps two responses")
    R = check_in_range("R", R, low=0.0, low_open=True)
    zero_prob = check_in_range("zero_prob", zero_prob, low=0.0, high=1.0, high_open=True)
    conc = rng.uniform(0.2, 3.0)
    piref = rng.dirichlet(np.full(K, conc), size=nX)
    # tiny Dirichlet entries are legal; exact underflow to 0 would silently shrink the support
    piref = np.maximum(piref, 1e-300)
    if zero_prob > 0:
        keep = rng.random((nX, K)) >= zero_prob
        for x in range(nX):
            if keep[x].sum() < 2:
                keep[x, rng.choice(K, size=2, replace=False)] = True
        piref = piref * keep
    while (piref == 0).sum() < min_zeros:
        x = int(rng.choice(np.flatnonzero((piref > 0).sum(axis=1) > 2)))
        piref[x, int(rng.choice(np.flatnonzero(piref[x] > 0)))] = 0.0
    piref = piref / piref.sum(axis=1, keepdims=True)
    if small_mass is not None:
        small_mass = check_in_range("small_mass", small_mass, low=0.0, high=1.0, low_open=True,
                                    high_open=True)
        for x in range(nX):
            y = int(rng.choice(np.flatnonzero(piref[x] > 0)))
            rest = piref[x].copy()
            rest[y] = 0.0
            piref[x] = rest / rest.sum() * (1.0 - small_mass)
            piref[x, y] = small_mass
    r = rng.uniform(0.0, R, size=(nX, K))
    beta = float(rng.uniform(0.05, 2.0)) if beta is None else beta
    mu = None
    if separate_mu:
        mu = rng.dirichlet(np.full(K, rng.uniform(0.2, 3.0)), size=nX)
        mu = np.maximum(mu, 1e-300) * (piref > 0)
        mu = mu / mu.sum(axis=1, keepdims=True)
    phi = None
    if d is not None:
        d = check_int("d", d, low=1)
        phi = rng.normal(size=(nX, K, d)) / np.sqrt(d)
    return PreferenceBandit(piref=piref, r=r, beta=beta, mu=mu, R=R, phi=phi)


def random_token_tree(*, rng: Any, V: int = 3, T: int = 3, nX: int = 1, beta: float = 0.7,
                      concentration: float = 1.0) -> TokenTree:
    """A random token tree (card C14): piref(.|s) ~ Dirichlet(concentration 1) at every
    non-terminal state, dense per-token rewards ~ N(0, 1), the given beta.

    Examples
    --------
    >>> random_token_tree(rng=0)
    TokenTree(nX=1, V=3, T=3, beta=0.7)
    """
    rng = check_rng("rng", rng)
    V = check_int("V", V, low=2)
    T = check_int("T", T, low=1)
    nX = check_int("nX", nX, low=1)
    log_piref, r = [], []
    for t in range(T):
        shape = (nX,) + (V,) * t
        p = rng.dirichlet(np.full(V, concentration), size=shape)
        log_piref.append(np.log(np.maximum(p, 1e-300) / np.maximum(p, 1e-300).sum(-1,
                                                                                  keepdims=True)))
        r.append(rng.normal(size=shape + (V,)))
    return TokenTree(log_piref, r, beta)


#: Named builders by card name.
NAMED = {"song_zero_mass": song_zero_mass, "song_zero_mass_covered": song_zero_mass_covered,
         "song_small_mass": song_small_mass, "ood_collapse": ood_collapse,
         "extrapolation": extrapolation, "coverage_example": coverage_example}


def random_loglinear_bandit(*, rng: Any, nX: int = 20, K: int = 10, d: int = 4,
                            beta: float = 1.0) -> tuple[PreferenceBandit, np.ndarray]:
    """The card's C12(e) log-linear instance: features phi ~ N(0, I/d) of shape (nX, K, d),
    theta* uniform on the unit sphere (||theta*|| = 1), piref uniform, r* = beta phi theta*
    (realisable: pi* = pi_{theta*}). Returns (bandit, theta*).

    Examples
    --------
    >>> b, theta = random_loglinear_bandit(rng=0)
    >>> b.phi.shape, round(float(np.linalg.norm(theta)), 12)
    ((20, 10, 4), 1.0)
    """
    rng = check_rng("rng", rng)
    nX = check_int("nX", nX, low=1)
    K = check_int("K", K, low=2)
    d = check_int("d", d, low=1)
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    phi = rng.normal(size=(nX, K, d)) / np.sqrt(d)
    theta = rng.normal(size=d)
    theta = theta / np.linalg.norm(theta)
    b = PreferenceBandit(piref=np.full((nX, K), 1.0 / K), r=beta * phi @ theta, beta=beta,
                         phi=phi)
    return b, theta
