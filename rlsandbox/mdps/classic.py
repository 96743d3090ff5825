"""Small named MDPs from the literature: RiverSwim, the Chain problem, Puterman's two-state MDP.

Each builder returns a validated :class:`~rlsandbox.TabularMDP` and states, in its docstring,
the source it follows, the source's parameters, and every place where it departs from the
source (padding of action sets, the choice of ``gamma`` when the source uses none).
Rewards that depend on the next state are stored as ``R[s, a, s']`` (the model keeps them as
``R_sas`` and reduces ``R`` to the expectation), so a sampled reward matches the source.

References
----------
[strehl2008]  A. L. Strehl, M. L. Littman. An analysis of model-based Interval Estimation for
              Markov decision processes. J. Comput. Syst. Sci. 74(8):1309-1331, 2008.
[osband2013]  I. Osband, D. Russo, B. Van Roy. (More) efficient reinforcement learning via
              posterior sampling. NeurIPS 2013, §6 (simulation results, RiverSwim figure);
              numbers as in the authors' experiment code (psrl_2013, SetRiverSwim.m).
[strens2000]  M. Strens. A Bayesian framework for reinforcement learning. ICML 2000.
[dearden1998] R. Dearden, N. Friedman, S. Russell. Bayesian Q-learning. AAAI 1998.
[puterman2005] M. L. Puterman. Markov Decision Processes. Wiley, 2005 (1994 original), §3.1.
"""
from __future__ import annotations

import numpy as np

from rlsandbox._validate import check_choice, check_in_range, check_int, check_scalar
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps._build import Outcomes

__all__ = ["riverswim", "chain", "puterman_two_state", "RIVERSWIM_VARIANTS"]

#: RiverSwim parameter sets, keyed by source. Per state kind, the distribution of the move
#: under "right" (against the current) as (P[left], P[stay], P[right]) and the rewards.
RIVERSWIM_VARIANTS = {
    # Osband, Russo, Van Roy (2013), §6 and the authors' experiment code: rewards in [0, 1].
    "osband2013": {
        "first": (0.0, 0.4, 0.6),       # state 0: stay 0.4, right 0.6
        "middle": (0.05, 0.6, 0.35),
        "last": (0.4, 0.6, 0.0),        # state S-1: left 0.4, stay 0.6
        "r_left": 0.005,                # R[0, left]: taking "left" in state 0
        "r_right": 1.0,                 # R[S-1, right]: taking "right" in state S-1
        "reward_on_stay": False,
        "start": (0,),
    },
    # Strehl & Littman (2008), the RiverSwim figure of the experiments section.
    "strehl2008": {
        "first": (0.0, 0.7, 0.3),
        "middle": (0.1, 0.6, 0.3),
        "last": (0.7, 0.3, 0.0),
        "r_left": 5.0,
        "r_right": 10000.0,             # paid on the transition (S-1, right, S-1) only
        "reward_on_stay": True,
        "start": (0, 1),                # "states 1 or 2" (1-based), uniformly
    },
}


def riverswim(n_states: int = 6, *, variant: str = "osband2013", gamma: float = 0.95) -> TabularMDP:
    """RiverSwim: a chain where swimming right (against the current) pays off but often fails.

    States ``0 .. n_states-1`` from the left bank to the right; actions ``0 = left`` (with the
    current: always moves to ``s-1``, stays at 0) and ``1 = right``. Under "right" the swimmer
    moves left / stays / moves right with probabilities that depend on whether ``s`` is the
    first, a middle or the last state:

    ======================  ===================  =====================
    ``variant``              ``"osband2013"``      ``"strehl2008"``
    ======================  ===================  =====================
    first state  (l, s, r)   (0, 0.4, 0.6)         (0, 0.7, 0.3)
    middle state (l, s, r)   (0.05, 0.6, 0.35)     (0.1, 0.6, 0.3)
    last state   (l, s, r)   (0.4, 0.6, 0)         (0.7, 0.3, 0)
    reward, left at 0        0.005                 5
    reward, right at S-1     1 (any outcome)       10000 (when it stays)
    start state              0                     0 or 1, uniformly
    ======================  ===================  =====================

    The default follows [osband2013, §6, RiverSwim figure] (rewards in [0, 1], which the
    theory in this library assumes; the same numbers are in the authors' experiment code). ``"strehl2008"``
    follows the original benchmark [strehl2008, RiverSwim figure in the experiments section].
    Both sources use six states; other ``n_states`` extend the middle part.

    Neither source fixes a discount (they report regret / cumulative reward); ``gamma`` is
    ours. With the defaults the optimal policy swims right everywhere.

    Parameters
    ----------
    n_states : int >= 2
    variant : {"osband2013", "strehl2008"}
    gamma : float in [0, 1]

    Returns
    -------
    TabularMDP with S = n_states, A = 2.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> mdp
    TabularMDP(S=6, A=2, gamma=0.95, dense)
    >>> rls.solve(mdp).policy.tolist()
    [1, 1, 1, 1, 1, 1]
    """
    S = check_int("n_states", n_states, low=2)
    check_choice("variant", variant, tuple(RIVERSWIM_VARIANTS))
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    par = RIVERSWIM_VARIANTS[variant]
    LEFT, RIGHT = 0, 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2, S))
    for s in range(S):
        P[s, LEFT, max(s - 1, 0)] = 1.0
        kind = "first" if s == 0 else "last" if s == S - 1 else "middle"
        p_left, p_stay, p_right = par[kind]
        if p_left:
            P[s, RIGHT, s - 1] += p_left
        P[s, RIGHT, s] += p_stay
        if p_right:
            P[s, RIGHT, s + 1] += p_right
    R[0, LEFT, 0] = par["r_left"]
    if par["reward_on_stay"]:
        R[S - 1, RIGHT, S - 1] = par["r_right"]
    else:
        R[S - 1, RIGHT, :] = par["r_right"]      # the same reward whatever the outcome
    rho = np.zeros(S)
    rho[list(par["start"])] = 1.0 / len(par["start"])
    return TabularMDP(P, R, gamma, rho=rho)


def chain(n_states: int = 5, *, slip: float = 0.2, small: float = 2.0, large: float = 10.0,
          gamma: float = 0.99) -> TabularMDP:
    """The Chain problem of [strens2000] (from [dearden1998, Fig. 1]).

    States ``0 .. n_states-1``; action ``0 = forward`` ("a") moves to ``s+1`` with reward 0,
    and at the last state stays there with reward ``large``; action ``1 = back`` ("b")
    returns to state 0 with reward ``small``. With probability ``slip`` the *other* action is
    executed, and the reward is that of the executed action:

        P[s, a, next(s, a)] = 1 - slip,   P[s, a, next(s, 1-a)] = slip
        R[s, a, s']         = reward of the executed move that leads to s'

    Source parameters: 5 states, slip 0.2, small 2, large 10, start in state 0. The sources
    report total reward over a fixed number of steps; ``gamma`` is ours. The optimal policy
    (for gamma close to 1) goes forward everywhere; "back" is the myopic trap.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.chain()
    >>> (mdp.S, mdp.A), rls.solve(mdp).policy.tolist()
    ((5, 2), [0, 0, 0, 0, 0])
    """
    S = check_int("n_states", n_states, low=2)
    slip = check_in_range("slip", slip, low=0.0, high=1.0)
    small = check_scalar("small", small)
    large = check_scalar("large", large)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    FORWARD, BACK = 0, 1
    out = Outcomes(S, 2)
    for s in range(S):
        fwd = (min(s + 1, S - 1), large if s == S - 1 else 0.0)
        back = (0, small)
        for a, (p_fwd, p_back) in ((FORWARD, (1.0 - slip, slip)), (BACK, (slip, 1.0 - slip))):
            for p, (s2, r) in ((p_fwd, fwd), (p_back, back)):
                if p > 0:
                    out.add(s, a, s2, p, r)
    P, R = out.result()                         # R[s, a, s'] = E[r | s, a, s']
    rho = np.zeros(S)
    rho[0] = 1.0
    return TabularMDP(P, R, gamma, rho=rho)


def puterman_two_state(gamma: float = 0.95) -> TabularMDP:
    """The two-state MDP of [puterman2005, §3.1, Fig. 3.1.1].

    State ``s1`` (index 0) has two actions: ``a1,1`` (index 0) pays 5 and moves to s1 or s2
    with probability 0.5 each; ``a1,2`` (index 1) pays 10 and moves to s2. State ``s2``
    (index 1) has one action ``a2,1``: pays -1 and stays in s2.

    Deviation: :class:`~rlsandbox.TabularMDP` needs the same action count in every state, so
    s2 gets a second action, an exact copy of ``a2,1``; values and optimal policies are those
    of the book's model (at s2 both indices are optimal).

    Closed form (derived from the Bellman equation): ``V*(s2) = -1 / (1 - gamma)`` and

        V*(s1) = max( (5 - gamma/2 / (1 - gamma)) / (1 - gamma/2),  10 - gamma / (1 - gamma) ),

    the first term (action a1,1) winning iff ``gamma > 10/11``. Puterman solves this model with
    discount 0.95 in §6.3-6.4 (value and policy iteration): ``V* = (-8.571..., -20)``,
    the optimal action in s1 being a1,1.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> sol = rls.solve(rls.mdps.puterman_two_state(0.95))
    >>> sol.V.round(4).tolist(), int(sol.policy[0])
    ([-8.5714, -20.0], 0)
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    P = np.zeros((2, 2, 2))
    P[0, 0] = (0.5, 0.5)
    P[0, 1] = (0.0, 1.0)
    P[1, 0] = P[1, 1] = (0.0, 1.0)
    R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return TabularMDP(P, R, gamma)
