"""Instances of the HARPG card (shared/papers/n_harpg.md, §4.0 and §5.2): named and random.

Every builder returns a problem object of :mod:`rlsandbox.algorithms.harpg.models` (not a bare
TabularMDP: the policy class is part of the instance), deterministic given its arguments.

Named (card §4.0 / §5.2 parameters):

* :func:`harpg_two_state` — a fixed 2-state, 2-action softmax MDP (gamma = 0.8), the size at
  which the card's enumeration checks run (S A = 4, H <= 6);
* :func:`harpg_three_state` — a 3x3 softmax garnet (gamma = 0.9), claim N4's instance;
* :func:`harpg_absorbing` — one absorbing state with constant reward 1, A actions, gamma = 0.95
  (card N5's control instance: the score variance accumulates over ~1/(1-gamma) steps);
* :func:`logistic_bump` — I2 bump, m = 2, b = 0.5, c = (1, -0.5), w = 1 (claims N10, N11 PL);
* :func:`logistic_monotone` — I2 monotone, m = 2, b = 0.5 (weak gradient domination tight; N11);
* :func:`gaussian_bump` — I3 with the card's closed form;
* :func:`logistic_state_mdp` — I5: 3 states, features phi(s) in R^2, logistic actions (b = 0.5),
  action-dependent transitions (our choice of kappa, beta; the card gives only the form);
* :func:`lqr_reference` — I4 with A_d = 1, B_d = 0.5, Q_c = 1, R_c = 0.1, gamma = 0.9,
  sigma = 0.3, Sigma0 = 1 (W = 0 by default; the card's gap table uses W = 0.05).

Random (keyword ``rng``): :func:`random_tiny_softmax` (enumerable sizes), :func:`softmax_garnet`,
:func:`loglinear_garnet` (fewer features than S (A - 1): eps_bias > 0 in general).

Not registered in the zoo (``rlsandbox.mdps.make``) because they are not TabularMDPs; import
them from this module.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.algorithms.harpg.models import (GaussianBandit, LogisticBandit, LogisticStateMDP,
                                               LogLinearMDP, ScalarLQR)
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps.random_mdps import garnet

__all__ = ["harpg_two_state", "harpg_three_state", "harpg_absorbing", "logistic_bump", "logistic_monotone",
           "gaussian_bump", "lqr_reference", "logistic_state_mdp", "random_tiny_softmax", "softmax_garnet",
           "loglinear_garnet"]


def harpg_two_state(gamma: float = 0.8) -> LogLinearMDP:
    """A fixed 2-state, 2-action MDP with the tabular softmax class (d = 4).

    P[0, 0] = (0.7, 0.3), P[0, 1] = (0.2, 0.8), P[1, 0] = (0.5, 0.5), P[1, 1] = (0.9, 0.1);
    R = [[1, 0], [0.5, 2]]; rho = (0.6, 0.4). Our choice (the card's prototype used a random
    instance of this size); small enough for exact path enumeration (4^H paths).

    Examples
    --------
    >>> harpg_two_state().d
    4
    """
    P = np.array([[[0.7, 0.3], [0.2, 0.8]], [[0.5, 0.5], [0.9, 0.1]]])
    R = np.array([[1.0, 0.0], [0.5, 2.0]])
    return LogLinearMDP.softmax(TabularMDP(P, R, gamma, rho=np.array([0.6, 0.4])))


def harpg_three_state(gamma: float = 0.9) -> LogLinearMDP:
    """A 3-state, 3-action softmax garnet (branching 2, ``rng=2023``), card N4's 3x3 instance.

    Examples
    --------
    >>> harpg_three_state().d
    9
    """
    return LogLinearMDP.softmax(garnet(3, 3, 2, rng=2023, gamma=gamma))


def harpg_absorbing(A: int = 2, gamma: float = 0.95) -> LogLinearMDP:
    """One absorbing state, A actions, reward 1 for every action, tabular softmax (d = A).

    J(theta) = 1/(1-gamma) for every theta (grad J = 0), yet the GPOMDP estimate
    g = sum_t R_t psi_t has E||g||^2 = (1 - ||pi||^2) sum_t R_t^2 ~ (1 - ||pi||^2) /
    (2 (1-gamma)^3) for long horizons: the (1-gamma)^{-3} of sigma_g^2 is attained up to a
    constant (card §4.1 N5, its negative-control instance).

    Examples
    --------
    >>> p = harpg_absorbing()
    >>> p.d, round(p.J([0.3, -1.0]), 12)
    (2, 20.0)
    """
    A = check_int("A", A, low=2)
    check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True)
    return LogLinearMDP.softmax(TabularMDP(np.ones((1, A, 1)), np.ones((1, A)), gamma))


def logistic_bump(m: int = 2, b: float = 0.5, c: Any = (1.0, -0.5), w: float = 1.0) -> LogisticBandit:
    """I2 with the bump reward (card §4.1 N10 setup: m = 2, b = 0.5, c = (1, -0.5), w = 1).

    Examples
    --------
    >>> round(logistic_bump().J_star_class, 6)
    0.576292
    """
    c = np.asarray(c, dtype=np.float64)
    if c.shape != (m,):
        c = np.resize(c, m)
    return LogisticBandit(m=m, b=b, reward="bump", c=c, w=w)


def logistic_monotone(m: int = 2, b: float = 0.5) -> LogisticBandit:
    """I2 with the monotone reward (1/m) sum_i sigmoid(a_i) (card §4.1 N11(b), weak GD tight).

    Examples
    --------
    >>> round(float(logistic_monotone().J([0.0, 0.0])), 12)
    0.5
    """
    return LogisticBandit(m=m, b=b, reward="monotone")


def gaussian_bump(m: int = 1, sigma: float = 1.0, c: Any = None, w: float = 1.0) -> GaussianBandit:
    """I3: a = theta + sigma xi with the Gaussian bump reward (closed form, card §4.0 I3)."""
    return GaussianBandit(m=m, sigma=sigma, c=c, w=w)


def lqr_reference(W: float = 0.0, sigma: float = 0.3) -> ScalarLQR:
    """I4 with the card's reference coefficients (card §4.0 I4).

    Examples
    --------
    >>> round(lqr_reference().K_star, 12)
    1.48985234088
    """
    return ScalarLQR(A_d=1.0, B_d=0.5, Q_c=1.0, R_c=0.1, gamma=0.9, sigma=sigma, Sigma0=1.0, W=W)


def logistic_state_mdp(b: float = 0.5, gamma: float = 0.9) -> LogisticStateMDP:
    """I5 (card §4.0): S = 3, d = 2, phi = [[1, 0], [0, 1], [0.6, 0.8]] (unit norms, so M_g = 1/b),
    kappa = [[1, -1, 0], [0, 1, -1], [-1, 0, 1]] (larger actions push s to s + 1 mod 3 and away
    from s - 1), beta = 0, reward centres c = (1, -0.5, 0.3), w = 1, rho uniform. Our choice:
    the card specifies the form of I5, not its numbers.

    Examples
    --------
    >>> p = logistic_state_mdp()
    >>> p.d, round(p.M_g, 12), bool(p.mu_F > 0)
    (2, 2.0, True)
    """
    phi = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    kappa = np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [-1.0, 0.0, 1.0]])
    return LogisticStateMDP(phi, kappa, np.zeros((3, 3)), np.array([1.0, -0.5, 0.3]), b=b,
                            w=1.0, gamma=gamma)


def random_tiny_softmax(*, rng: Any) -> LogLinearMDP:
    """A random softmax MDP with S A <= 4 (enumerable): (S, A) uniform on {(1, 2), (1, 3),
    (1, 4), (2, 2)}, gamma ~ U[0.5, 0.95], P rows ~ Dirichlet(1), R ~ U[-1, 1], rho ~ Dirichlet(1).

    Draws, in order: the size index, gamma, P, R, rho.
    """
    rng = check_rng("rng", rng)
    S, A = [(1, 2), (1, 3), (1, 4), (2, 2)][int(rng.integers(0, 4))]
    gamma = float(rng.uniform(0.5, 0.95))
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.uniform(-1.0, 1.0, size=(S, A))
    rho = rng.dirichlet(np.ones(S))
    return LogLinearMDP.softmax(TabularMDP(P, R, gamma, rho=rho))


def softmax_garnet(S: int = 10, A: int = 4, branching: int = 3, gamma: float = 0.95, *,
                   rng: Any) -> LogLinearMDP:
    """Softmax on a garnet (card §5.2 F4 defaults: S = 10, A = 4, branching 3, gamma = 0.95,
    rho uniform)."""
    return LogLinearMDP.softmax(garnet(S, A, branching, rng=rng, gamma=gamma))


def loglinear_garnet(S: int = 5, A: int = 3, d: int = 3, branching: int = 2,
                     gamma: float = 0.9, *, rng: Any) -> LogLinearMDP:
    """A log-linear class on a garnet with Gaussian features phi (S, A, d) ~ N(0, 1).

    With d < S (A - 1) the class cannot represent every policy and eps_bias(theta) > 0 in
    general (card §4.0 I1). Draws: the garnet (from ``rng``), then phi.
    """
    S = check_int("S", S, low=1)
    A = check_int("A", A, low=2)
    d = check_int("d", d, low=1)
    check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True)
    rng = check_rng("rng", rng)
    mdp = garnet(S, A, branching, rng=rng, gamma=gamma)
    return LogLinearMDP(mdp, rng.standard_normal((S, A, d)))
