"""Instances of the MDPO / policy-mirror-descent card (``shared/papers/mdpo.md``).

The card's protocol families [mdpo-card, §5.2]:

* M1 = :func:`mdpo_random`: random dense MDP, |S| = 20, |A| = 4, gamma = 0.9, kernel rows
  Dirichlet(0.5), rewards U[0, 1) (the zoo's ``random_dense`` with alpha = 0.5);
* M2 = :func:`mdpo_chain`: a river-swim-like chain of n = 10 states, |A| = 2 (action 1 = R
  moves right w.p. 0.9 else stays; action 0 = L moves left deterministically), reward 1 for
  (n-1, R), 0.05 for (0, L), 0 otherwise, gamma = 0.9, rho uniform or a point mass at 0;
* M3: M1 with entropy regularisation lam in {0.01, 0.1, 1} (a property of the algorithm, not
  of the model: use M1 with ``lam=...``).

And small named instances on which a claim's negative control fails by construction (the
derivation is in each docstring), so that every control is caught whatever the seed:

* :func:`bandit_loop`: one state, two self-loop actions with rewards 0.5 and 0.5 + gap;
* :func:`delayed_reward`: a start state choosing between an immediate reward 1 and a reward
  of 1 per step after ``delay`` steps (optionally with a uniform teleport, making every chain
  ergodic);
* :func:`coin_flip`: a fair coin between a rewarding and a dead absorbing state (returns
  of maximal variance, for the sampling claims);
* :func:`stationary_start`: M1-like with rho = nu*, the stationary distribution of pi*, so
  that d*_rho = rho (C*_rho = 1 and theta_rho = 1/(1-gamma), the dimension-free case of C4);
* :func:`two_islands`: two disjoint random dense MDPs with rho on the first only, so that
  d_rho^pi = 0 on the second island for every pi (the unvisited states of Shani's Exact
  TRPO, C10).

Builders to register in the zoo (the lead's call): ``mdpo_chain``, ``bandit_loop``,
``delayed_reward``, ``coin_flip`` (deterministic), ``mdpo_random``, ``stationary_start``,
``two_islands`` (random, ``rng``).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_in_range, check_int, check_rng
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps.random_mdps import random_dense

__all__ = ["mdpo_random", "mdpo_chain", "bandit_loop", "delayed_reward", "stationary_start",
           "coin_flip", "two_islands"]


def mdpo_random(S: int = 20, A: int = 4, *, rng: Any, gamma: float = 0.9,
                alpha: float = 0.5) -> TabularMDP:
    """M1 of [mdpo-card, §5.2]: ``random_dense(S, A, alpha=0.5)``, rewards U[0, 1), rho uniform.

    Dirichlet(0.5) rows put positive mass on every state almost surely (dense P), so every
    policy's chain is irreducible and aperiodic: Lan's nu* exists and is unique.

    Examples
    --------
    >>> mdpo_random(rng=0)
    TabularMDP(S=20, A=4, gamma=0.9, dense)
    """
    return random_dense(S, A, rng=rng, alpha=alpha, gamma=gamma)


def mdpo_chain(n: int = 10, *, gamma: float = 0.9, start: str = "uniform") -> TabularMDP:
    """M2 of [mdpo-card, §5.2]: a river-swim-like chain.

    States 0 .. n-1; action 0 (L) moves to max(s-1, 0) deterministically; action 1 (R) moves
    to min(s+1, n-1) with probability 0.9 and stays with probability 0.1. Rewards: 1 for
    (n-1, R), 0.05 for (0, L), 0 otherwise. ``start="uniform"`` (rho uniform) or ``"left"``
    (rho = point mass at 0). With ``"left"`` the optimal policy (R everywhere) carries d*
    along the whole chain while rho sits on state 0, so C*_rho = ||d*/rho||_inf = inf and
    Xiao's linear bound is vacuous [mdpo-card, Pitfall 18]; the per-iteration coefficients
    theta_k = ||d*/d^{pi_k}||_inf stay finite for interior pi_k.

    Examples
    --------
    >>> mdp = mdpo_chain()
    >>> mdp.S, mdp.A, float(mdp.R[9, 1]), float(mdp.R[0, 0])
    (10, 2, 1.0, 0.05)
    """
    n = check_int("n", n, low=2)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    start = check_choice("start", start, ("uniform", "left"))
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, n - 1)] += 0.9
        P[s, 1, s] += 0.1
    R[n - 1, 1] = 1.0
    R[0, 0] = 0.05
    rho = np.full(n, 1.0 / n) if start == "uniform" else np.eye(n)[0]
    return TabularMDP(P, R, gamma, rho=rho)


def bandit_loop(gap: float = 0.05, *, gamma: float = 0.9) -> TabularMDP:
    """One state, two actions, both self-loops, rewards 0.5 (action 0) and 0.5 + gap (action 1).

    Everything is in closed form: V^pi = (0.5 + gap pi(1)) / (1 - gamma), Q^pi(a) = R(a) +
    gamma V^pi, and the action gap of Q is exactly ``gap``. Negative controls built on it:

    * Q-noise of size tau > gap / 2 that adds +tau to the worse action and -tau to the better
      one (``QNoise(tau, "toward_worst")``) reverses the order of Qhat, so every KL step with
      any eta > 0 moves probability to action 0: V strictly decreases at every step (C1 and
      Xiao Lemma 11 without its slack fail), and pi_k(1) -> 0, so the gap tends to
      gap / (1 - gamma) > 0 while the noise-free linear bound (C4, C6 control) tends to 0.
    * With lam = 1 and gap = 0.5 the soft optimum pi*_lam(0) = 1/(1 + e^0.5) = 0.3775 loses
      0.3775 * 0.5 / (1 - gamma) = 1.89 (gamma = 0.9) against V*, more than lam log 2 = 0.69
      (C15's bias bound with its 1/(1-gamma) dropped) and less than 6.93 (the bound).
    * NE-TRPO with lam t = 2.5 from uniform: pi_1 = softmax(2.5 R / lam) overshoots the soft
      optimum softmax(R / lam) and pi_2 = softmax(-1.25 R / lam) undershoots below uniform;
      the regularised value decreases from pi_1 to pi_2 (the regularised objective
      <p, R> - lam omega(p) along p = softmax(x R / lam) is maximal at x = 1 and, for small
      gap / lam, equals lam (D/2 + D^2 (x/4 - x^2/8)) + O(D^3), D = gap / lam: -0.156 D^2 at
      x = 2.5 versus -0.508 D^2 at x = -1.25).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = bandit_loop(0.05)
    >>> round(float(rls.evaluate(mdp, np.array([1]))[0]), 12)    # (0.5 + 0.05) / (1 - 0.9)
    5.5
    """
    gap = check_in_range("gap", gap, low=0.0, high=0.5)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    P = np.ones((1, 2, 1))
    R = np.array([[0.5, 0.5 + gap]])
    return TabularMDP(P, R, gamma)


def delayed_reward(delay: int = 2, *, gamma: float = 0.9, teleport: float = 0.0) -> TabularMDP:
    """A start state choosing between an immediate reward and a delayed stream of rewards.

    States: 0 (start), 1 .. delay (a chain), G = delay + 1 (good: reward 1 per step,
    absorbing), B = delay + 2 (bad: reward 0, absorbing). At 0, action 0 enters the chain
    (reward 0) and action 1 goes to B with reward 1; elsewhere both actions are identical.
    Without teleport the first reward of action 0 arrives at time delay + 1, so
    Q*(0, 0) = gamma^(delay+1)/(1-gamma) and Q*(0, 1) = 1: for delay = 2 and gamma = 0.9,
    7.29 > 1 and action 0 is optimal. Evaluated with the wrong discount 0.5 instead,
    Q(0, 0) = 0.125/0.5 = 0.25 < 1 = Q(0, 1): a PMD run fed those Q values converges to action 1
    at state 0 and keeps the gap rho(0) (7.29 - 1) forever (other states have no choice),
    which the sublinear bound (C2) and the per-iteration inequality (C3) detect.

    ``teleport`` in [0, 1): every transition is mixed with the uniform distribution with this
    weight (rewards unchanged), making every policy's chain irreducible (Lan's nu* exists).

    Examples
    --------
    >>> mdp = delayed_reward(2, gamma=0.9)
    >>> mdp.S, float(mdp.R[0, 1]), float(mdp.R[3, 0])
    (5, 1.0, 1.0)
    """
    delay = check_int("delay", delay, low=1)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    teleport = check_in_range("teleport", teleport, low=0.0, high=1.0, high_open=True)
    S = delay + 3
    G, B = delay + 1, delay + 2
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    P[0, 0, 1] = 1.0
    P[0, 1, B] = 1.0
    R[0, 1] = 1.0
    for s in range(1, delay + 1):
        P[s, :, s + 1] = 1.0          # the last chain state moves to G
    P[G, :, G] = 1.0
    R[G, :] = 1.0
    P[B, :, B] = 1.0
    if teleport > 0.0:
        P = (1.0 - teleport) * P + teleport / S
    return TabularMDP(P, R, gamma)


def stationary_start(S: int = 8, A: int = 3, *, rng: Any, gamma: float = 0.9,
                     alpha: float = 0.5) -> TabularMDP:
    """M1-like MDP whose rho is nu*, the stationary distribution of P_{pi*}.

    Then d*_rho = (1-gamma) rho (I - gamma P_{pi*})^{-1} = rho exactly (nu* P_{pi*} = nu*), so
    Xiao's C*_rho = 1 and theta_rho = 1/(1-gamma): the linear rate of C4 is gamma^k,
    dimension-free [mdpo-card, C4 corollary]. A bound written with C*_rho in place of theta_rho
    (the C4 control) claims (1 - 1/C*_rho)^k = 0 for k >= 1 and fails as soon as pi_1 is not
    optimal. Built as ``random_dense(S, A, alpha)`` (its draws first), then pi* by policy
    iteration and nu* by GTH elimination (rlsandbox.measures.stationary_distribution).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import state_occupancy
    >>> mdp = stationary_start(rng=0)
    >>> d = state_occupancy(mdp, rls.solve(mdp).policy)
    >>> bool(np.allclose(d, mdp.rho, rtol=1e-12, atol=0))
    True
    """
    from rlsandbox.dp import policy_iteration
    from rlsandbox.measures import stationary_distribution
    base = random_dense(S, A, rng=check_rng("rng", rng), alpha=alpha, gamma=gamma)
    nu = np.asarray(stationary_distribution(base, policy_iteration(base).policy))
    return base.replace(rho=nu / nu.sum())


def coin_flip(*, gamma: float = 0.5) -> TabularMDP:
    """Returns of maximal variance: a fair coin between a rewarding and a dead absorbing state.

    States 0 (start, reward 0), G = 1 (reward 1 per step, absorbing), B = 2 (reward 0,
    absorbing); from 0 both actions go to G or B with probability 1/2 each. A rollout of
    horizon H from (0, a) returns gamma (1 - gamma^(H-1))/(1 - gamma) or 0 with probability
    1/2 each: the largest variance a return in [0, 1/(1-gamma)] can have, up to the factor
    (1 - gamma^(H-1)) ([mdpo-card, C7]: the Hoeffding step of Xiao Lemma 14 is nearly tight
    here, so too few rollouts violate its bound often). From G the truncated return misses
    exactly gamma^H/(1-gamma) (the largest truncation bias).

    Examples
    --------
    >>> mdp = coin_flip()
    >>> mdp.P[0, 0].tolist(), mdp.R[:, 0].tolist()
    ([0.0, 0.5, 0.5], [0.0, 1.0, 0.0])
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    P = np.zeros((3, 2, 3))
    P[0, :, 1] = P[0, :, 2] = 0.5
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    R = np.zeros((3, 2))
    R[1, :] = 1.0
    return TabularMDP(P, R, gamma)


def two_islands(S: int = 5, A: int = 3, *, rng: Any, gamma: float = 0.9,
                alpha: float = 0.5) -> TabularMDP:
    """Two disjoint M1-like MDPs side by side, rho uniform on the first island only.

    States 0 .. S-1 form island 0 and S .. 2S-1 island 1; each island is
    ``random_dense(S, A, alpha)`` (island 0 drawn first) and no transition crosses between
    them (block-diagonal P). Every policy's occupancy d_rho^pi is positive on island 0 (dense
    rows) and exactly 0 on island 1: Shani's Exact TRPO with restart distribution rho updates
    island 0 only ([mdpo-card, §3.2, C10]), and an evaluation distribution with mass on
    island 1 violates Assumption 1 (C^{pi*} = inf).

    Examples
    --------
    >>> import numpy as np
    >>> mdp = two_islands(rng=0)
    >>> mdp.S, float(mdp.P[:5, :, 5:].sum()), mdp.rho.tolist()[4:6]
    (10, 0.0, [0.2, 0.0])
    """
    gen = check_rng("rng", rng)
    S = check_int("S", S, low=1)
    first = random_dense(S, A, rng=gen, alpha=alpha, gamma=gamma)
    second = random_dense(S, A, rng=gen, alpha=alpha, gamma=gamma)
    P = np.zeros((2 * S, A, 2 * S))
    P[:S, :, :S] = first.P
    P[S:, :, S:] = second.P
    R = np.concatenate([first.R, second.R])
    rho = np.concatenate([np.full(S, 1.0 / S), np.zeros(S)])
    return TabularMDP(P, R, gamma, rho=rho)
