"""Random linear MDPs and linear mixture MDPs, valid by construction.

:func:`random_linear_mdp` is the latent-mixture construction of the loop card (§5.2, "Random
linear AMDP") and the setting of the r2pvi card (§2.1, simplex features and factor
distributions):

    phi[s, a, :] ~ Dirichlet(1_d)                (features in the simplex)
    mu[h, i, :]  ~ Dirichlet(concentration 1_S)  (factor distributions)
    theta[h, :]  ~ Uniform[0, 1]^d

so every row ``P[h, s, a, :] = phi[s, a] @ mu[h]`` is a convex combination of distributions and
``R = phi @ theta`` lies in [0, 1]. With ``d_rectangular=False`` the same model is rewritten in a
rotated basis (signed features and measures, same ``P`` up to round-off; see the function).

:func:`random_linear_mixture` follows the loop card's "Random linear mixture" (§5.2): basis
kernels with Dirichlet rows, ``theta`` in the simplex, rewards Uniform[0, 1].

Randomness comes only from the keyword-only ``rng`` (a ``numpy.random.Generator``, or a seed /
``SeedSequence`` turned into one); the same ``rng`` state gives the same instance.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.linear import LinearMDP, LinearMixtureMDP

__all__ = ["random_linear_mdp", "random_linear_mixture"]


def _check_sizes(S: Any, A: Any, d: Any, H: Any, gamma: Any, concentration: Any):
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=1)
    d = check_int("d", d, low=1)
    H = None if H is None else check_int("H", H, low=1)
    if H is not None and gamma is not None:
        raise ValueError(f"gamma == {gamma!r} and H == {H} were both given; a finite-horizon model "
                         f"is undiscounted. Pass H for a finite-horizon model or gamma for a "
                         f"discounted one")
    gamma = None if gamma is None else check_in_range("gamma", gamma, low=0.0, high=1.0)
    concentration = check_in_range("concentration", concentration, low=0.0, low_open=True)
    return S, A, d, H, gamma, concentration


def random_linear_mdp(S: int, A: int, d: int, *, rng: Any, H: int | None = None,
                      gamma: float | None = None, d_rectangular: bool = True,
                      concentration: float = 1.0) -> LinearMDP:
    """A random linear MDP with simplex features and factor distributions [loop, §5.2; r2pvi, §2.1].

    Draws ``phi[s, a] ~ Dirichlet(1_d)``, then for each step (one step if ``H`` is None)
    ``mu[h, i] ~ Dirichlet(concentration 1_S)`` and ``theta[h] ~ U[0, 1]^d``, in that order.
    The result is d-rectangular, ``P = phi @ mu`` is a valid kernel and ``R = phi @ theta`` is in
    [0, 1], all by construction. Small ``concentration`` (e.g. 0.3) gives peaked factors.

    Parameters
    ----------
    S, A, d : int
        States, actions, feature dimension.
    rng : numpy.random.Generator or seed, keyword-only, required
    H : int, optional
        Horizon: per-step ``mu (H, d, S)``, ``theta (H, d)``; the model is finite horizon.
    gamma : float, optional
        Discount of a stationary model (may also be given later to ``to_tabular``).
    d_rectangular : bool
        If False, the model is rewritten in a random orthonormal basis ``Q``:
        ``phi' = phi @ Q``, ``mu' = Q.T @ mu``, ``theta' = Q.T @ theta`` (for ``d == 1``,
        ``Q = -1``), with ``mu`` first mixed half-and-half with the uniform distribution so that
        every ``P`` entry is at least ``1 / (2 S)``, far above the rotation's round-off (a small
        multiple of ``d**2 eps_mach``), so the rotated kernel stays >= 0. Features and measures
        are then signed: a generic linear MDP that is not d-rectangular. (Should the rotation
        leave the model d-rectangular, a probability-zero event, the coordinate holding the
        largest feature is negated, which makes that feature negative.)
    concentration : float > 0
        Dirichlet parameter of the factor distributions.

    Returns
    -------
    LinearMDP

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.linear import random_linear_mdp
    >>> lin = random_linear_mdp(5, 2, 3, rng=np.random.default_rng(7), gamma=0.9)
    >>> lin, lin.is_d_rectangular
    (LinearMDP(S=5, A=2, d=3, gamma=0.9), True)
    >>> random_linear_mdp(5, 2, 3, rng=np.random.default_rng(7), gamma=0.9,
    ...                   d_rectangular=False).is_d_rectangular
    False
    """
    S, A, d, H, gamma, concentration = _check_sizes(S, A, d, H, gamma, concentration)
    rng = check_rng("rng", rng)
    n_steps = 1 if H is None else H
    phi = rng.dirichlet(np.ones(d), size=(S, A))
    mu = rng.dirichlet(np.full(S, concentration), size=(n_steps, d))
    theta = rng.random((n_steps, d))
    if not d_rectangular:
        mu = 0.5 * mu + 0.5 / S
        if d == 1:
            Q = -np.ones((1, 1))
        else:
            Q, upper = np.linalg.qr(rng.standard_normal((d, d)))
            Q = Q * np.sign(np.diag(upper))          # Haar-distributed orthogonal matrix
        phi = phi @ Q
        mu = np.einsum("ij,hjt->hit", Q.T, mu)
        theta = theta @ Q
    lin = _build(phi, mu, theta, H, gamma)
    if not d_rectangular and lin.is_d_rectangular:   # a probability-zero event; see docstring
        j = int(np.argmax(phi.reshape(-1, d).max(axis=0)))
        phi[..., j] *= -1.0
        mu[:, j] *= -1.0
        theta[:, j] *= -1.0
        lin = _build(phi, mu, theta, H, gamma)
    return lin


def _build(phi, mu, theta, H, gamma) -> LinearMDP:
    if H is None:
        return LinearMDP(phi, mu[0], theta[0], gamma=gamma)
    return LinearMDP(phi, mu, theta, H=H)


def random_linear_mixture(S: int, A: int, d: int, *, rng: Any, H: int | None = None,
                          gamma: float | None = None,
                          concentration: float = 1.0) -> LinearMixtureMDP:
    """A random convex linear mixture MDP [loop, §5.2 "Random linear mixture"].

    Draws basis kernels ``psi[j, s, a] ~ Dirichlet(concentration 1_S)`` (shared by all steps),
    then for each step (one if ``H`` is None) ``theta[h] ~ Dirichlet(1_d)`` and
    ``R[h] ~ U[0, 1]^(S x A)``, in that order. ``P = sum_j theta[h, j] psi[j]`` is a valid kernel
    by construction and the model is a convex mixture.

    Parameters
    ----------
    S, A, d : int
        States, actions, number of basis kernels.
    rng : numpy.random.Generator or seed, keyword-only, required
    H : int, optional
        Horizon: per-step ``theta (H, d)`` and ``R (H, S, A)``; the model is finite horizon.
    gamma : float, optional
        Discount of a stationary model.
    concentration : float > 0
        Dirichlet parameter of the basis kernels' rows.

    Returns
    -------
    LinearMixtureMDP

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.linear import random_linear_mixture
    >>> mix = random_linear_mixture(4, 2, 3, rng=np.random.default_rng(0), H=3)
    >>> mix, mix.is_convex_mixture
    (LinearMixtureMDP(S=4, A=2, d=3, H=3), True)
    """
    S, A, d, H, gamma, concentration = _check_sizes(S, A, d, H, gamma, concentration)
    rng = check_rng("rng", rng)
    n_steps = 1 if H is None else H
    psi = rng.dirichlet(np.full(S, concentration), size=(d, S, A))
    theta = rng.dirichlet(np.ones(d), size=n_steps)
    R = rng.random((n_steps, S, A))
    if H is None:
        return LinearMixtureMDP(psi, theta[0], R[0], gamma=gamma)
    return LinearMixtureMDP(psi, theta, R, H=H)
