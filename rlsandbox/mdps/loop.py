"""Instances of the LOOP card (shared/papers/loop.md §5.2) not already in the zoo.

* :func:`periodic_two_cycle` — the RVI pitfall: one action, ``P(1|0) = P(0|1) = 1``,
  ``r = (1, 0)``; ``J* = 0.5``, ``V* = (0.5, 0)``, ``sp(V*) = 0.5`` [card §5.2, D]. Plain
  relative value iteration oscillates on it; RVI on the ``tau = 1/2`` transform converges.
* :func:`hard_linear_mixture` — the two-state linear-mixture AMDP of the Wu-Zhou-Gu lower bound
  (card §5.2), as a :class:`~rlsandbox.linear.LinearMixtureMDP` with the card's features;
  :func:`hard_instance_values` gives its exact ``J*, sp(V*), D``.
* :func:`riverswim_class` — a finite class of RiverSwim models around the true one, the
  hypothesis class of model-based LOOP with planner (d-i) [card §3.9 (d)(i); S].
* :func:`two_state_switch` — two states, two actions, diameter 1 and gain near 1: the smallest
  ``D S sqrt(A)`` with the largest ``J*``, where UCRL2's regret bound is *not* vacuous at
  affordable horizons (claim ``loop.jaksch2010.thm2.bound``; not on the card) [S].

RiverSwim itself is the zoo's ``riverswim`` (Osband et al. 2013 variant, card §5.2; pass
``gamma=1.0`` for average reward); the random communicating / weakly communicating MDPs are the
zoo's ``random_communicating`` / ``random_weakly_communicating``; random linear AMDPs are
``random_linear_mdp``.

References
----------
[wu2022]     Y. Wu, D. Zhou, Q. Gu. Nearly minimax optimal regret for learning infinite-horizon
             average-reward MDPs with linear function approximation. AISTATS 2022 (hard instance).
[osband2013] I. Osband, D. Russo, B. Van Roy. (More) efficient reinforcement learning via
             posterior sampling. NeurIPS 2013 (RiverSwim variant).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rlsandbox._validate import check_float_array, check_in_range, check_int
from rlsandbox.linear import LinearMDP, LinearMixtureMDP
from rlsandbox.mdp import TabularMDP

__all__ = ["periodic_two_cycle", "hard_linear_mixture", "hard_instance_values",
           "riverswim_model", "riverswim_class", "riverswim_onehot", "two_state_switch"]


def periodic_two_cycle(gamma: float = 1.0) -> TabularMDP:
    """One action, states swap every step, reward 1 in state 0 [card §5.2 "Periodic 2-cycle"].

    ``J* = 0.5``, ``V* = (0.5, 0)`` (min 0), ``sp(V*) = 0.5``; the chain has period 2, so plain
    relative value iteration oscillates forever (card §6 pitfall 5).

    Examples
    --------
    >>> from rlsandbox.dp.average import solve_average
    >>> sol = solve_average(periodic_two_cycle())
    >>> sol.gain, sol.bias.tolist()
    (0.5, [0.5, 0.0])
    """
    P = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])
    return TabularMDP(P, np.array([[1.0], [0.0]]), gamma, rho=np.array([1.0, 0.0]))


def _hard_actions(d: int) -> np.ndarray:
    """All a in {-1, +1}^{d-1}, in lexicographic order of the bits (-1 < +1), (2^{d-1}, d-1)."""
    return np.array(list(itertools.product((-1.0, 1.0), repeat=d - 1))).reshape(-1, d - 1)


def hard_linear_mixture(d: int = 3, delta_inst: float = 0.1, gap: float = 0.05,
                        signs: Any = None) -> LinearMixtureMDP:
    """The hard two-state linear-mixture AMDP [wu2022; card §5.2 "Hard linear-mixture AMDP"].

    States ``x0 = 0`` (reward 0) and ``x1 = 1`` (reward 1); actions ``a in {-1, +1}^{d-1}``
    (index ``j`` is the ``j``-th vector in lexicographic order, -1 before +1); hidden
    ``theta = signs * gap / (d - 1)``:

        P(x1 | x0, a) = delta_inst + <a, theta>,      P(x0 | x1, a) = delta_inst.

    Linear-mixture form (card §5.2): with ``alpha = sqrt(gap / ((d-1)(1+gap)))``,
    ``beta0 = sqrt(1 / (1 + gap))`` and ``theta~ = (theta / alpha, 1 / beta0)``,
    ``phi(x0|x0,a) = (-alpha a, beta0 (1 - delta_inst))``, ``phi(x1|x0,a) = (alpha a,
    beta0 delta_inst)``, ``phi(x0|x1,a) = (0, beta0 delta_inst)``, ``phi(x1|x1,a) = (0,
    beta0 (1 - delta_inst))``; ``P(x'|x,a) = <phi(x'|x,a), theta~>``. Stored as
    ``psi[j, s, a, s'] = phi(s'|s,a)_j`` (signed; only the mixture is a kernel).

    Parameters
    ----------
    d : int >= 2
    delta_inst : float in (0, 1/3]
    gap : float in (0, delta_inst]
    signs : (d-1,) entries +-1, optional (default all +1, so the best action is all +1)

    Examples
    --------
    >>> mix = hard_linear_mixture(3, 0.1, 0.05)
    >>> mix, mix.P[0, 3, 1].round(12)            # best action (+1, +1): delta + gap
    (LinearMixtureMDP(S=2, A=4, d=3, gamma=1), np.float64(0.15))
    """
    d = check_int("d", d, low=2)
    delta_inst = check_in_range("delta_inst", delta_inst, low=0.0, high=1.0 / 3.0,
                                low_open=True)
    gap = check_in_range("gap", gap, low=0.0, high=delta_inst, low_open=True,
                         hint="the card requires 0 < gap <= delta_inst")
    sg = np.ones(d - 1) if signs is None else check_float_array("signs", signs, shape=(d - 1,))
    if not np.all(np.abs(sg) == 1.0):
        raise ValueError(f"signs == {sg.tolist()}; every entry must be +1 or -1")
    acts = _hard_actions(d)
    nA = acts.shape[0]
    theta = sg * gap / (d - 1)
    alpha = np.sqrt(gap / ((d - 1) * (1.0 + gap)))
    beta0 = np.sqrt(1.0 / (1.0 + gap))
    psi = np.zeros((d, 2, nA, 2))
    psi[:d - 1, 0, :, 0] = -alpha * acts.T
    psi[:d - 1, 0, :, 1] = alpha * acts.T
    psi[d - 1, 0, :, 0] = beta0 * (1.0 - delta_inst)
    psi[d - 1, 0, :, 1] = beta0 * delta_inst
    psi[d - 1, 1, :, 0] = beta0 * delta_inst
    psi[d - 1, 1, :, 1] = beta0 * (1.0 - delta_inst)
    theta_full = np.append(theta / alpha, 1.0 / beta0)
    R = np.zeros((2, nA))
    R[1, :] = 1.0
    return LinearMixtureMDP(psi, theta_full, R, gamma=1.0, rho=np.array([1.0, 0.0]))


def hard_instance_values(delta_inst: float, gap: float) -> dict[str, float]:
    """Exact ``J*, sp(V*), D`` of :func:`hard_linear_mixture` [card §5.2, D].

    With ``p = delta_inst + gap`` (best action): ``J* = p / (p + delta_inst)``,
    ``sp(V*) = 1 / (2 delta_inst + gap)``, ``D = 1 / delta_inst``.

    Examples
    --------
    >>> hard_instance_values(0.1, 0.05)          # card §5.2: J* = 0.6, sp = 4, D = 10
    {'J': 0.6, 'span': 4.0, 'D': 10.0}
    """
    p = delta_inst + gap
    return {"J": round(p / (p + delta_inst), 15), "span": round(1.0 / (2 * delta_inst + gap), 15),
            "D": round(1.0 / delta_inst, 15)}


def riverswim_model(n: int = 6, *, q: float = 0.35, r_right: float = 1.0,
                    r_left: float = 0.005, gamma: float = 1.0) -> TabularMDP:
    """A RiverSwim model with a chosen success probability and rewards [card §5.2; S].

    As the zoo's ``riverswim`` (Osband et al. 2013 variant) except that "right" in a middle
    state moves right with probability ``q``, left with 0.05 and stays with ``0.95 - q``, and
    the two rewards are ``r_right = r(n-1, right)`` and ``r_left = r(0, left)``. The defaults are
    the true RiverSwim.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> m = riverswim_model(6)
    >>> bool(np.allclose(m.P, rls.mdps.riverswim(6, gamma=1.0).P)), m.R[5, 1], m.R[0, 0]
    (True, np.float64(1.0), np.float64(0.005))
    """
    n = check_int("n", n, low=3)
    q = check_in_range("q", q, low=0.0, high=0.95, low_open=True)
    r_right = check_in_range("r_right", r_right, low=0.0, high=1.0)
    r_left = check_in_range("r_left", r_left, low=0.0, high=1.0)
    P = np.zeros((n, 2, n))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
    P[0, 1, 0], P[0, 1, 1] = 0.4, 0.6
    for s in range(1, n - 1):
        P[s, 1, s - 1], P[s, 1, s], P[s, 1, s + 1] = 0.05, 0.95 - q, q
    P[n - 1, 1, n - 2], P[n - 1, 1, n - 1] = 0.4, 0.6
    R = np.zeros((n, 2))
    R[0, 0] = r_left
    R[n - 1, 1] = r_right
    rho = np.zeros(n)
    rho[0] = 1.0
    return TabularMDP(P, R, gamma, rho=rho)


def riverswim_onehot(n: int = 3, q: float = 0.35, r_right: float = 1.0) -> LinearMDP:
    """RiverSwim-n (card §5.2, :func:`rlsandbox.mdps.loop.riverswim_model`) as a linear AMDP
    with one-hot features, ``d = S A = 2 n`` (``phi(s, a) = e_{sA+a}``, ``||phi|| = 1``).

    The FOPO instance of claim C9 (:mod:`rlsandbox.proofs_check.loop`) and of figure F1: the
    card's random linear AMDPs need no exploration (every policy mixes fast, so FOPO's and the
    greedy control's regret are both flat there, and the card's control cannot fail); this
    linear AMDP keeps RiverSwim's deep-exploration difficulty.

    Examples
    --------
    >>> lin = riverswim_onehot(3)
    >>> lin.d, bool((lin.to_tabular(gamma=1.0).P == riverswim_model(3).P).all())
    (6, True)
    """
    return LinearMDP.from_tabular(riverswim_model(n, q=q, r_right=r_right))


def riverswim_class(n: int = 6, *, q_grid: Any = (0.3, 0.35, 0.4),
                    r_right_grid: Any = (0.9, 1.0), r_left_grid: Any = (0.005, 0.8)):
    """A finite hypothesis class of RiverSwim models, the true one included [card §3.9 (d-i); S].

    The grid ``q_grid x r_right_grid x r_left_grid`` of :func:`riverswim_model` (in that
    nested order). The defaults (12 models) put "tempting" models in the class: with
    ``r_left = 0.8`` swimming left pays more than any right-swimming model, so the optimistic
    planner starts by playing left and must rule them out from data; neighbours of the truth
    (``q = 0.3, 0.4``; ``r_right = 0.9``) make coverage a non-trivial event.

    Returns
    -------
    (FiniteClass, int)
        The class and the index of the true RiverSwim (q = 0.35, r_right = 1, r_left = 0.005),
        which must be on the grid.

    Examples
    --------
    >>> hc, k = riverswim_class(6)
    >>> hc.m, k, hc.names[k]
    (12, 6, 'q=0.35,r_right=1,r_left=0.005')
    """
    from rlsandbox.algorithms.loop.planners import FiniteClass

    models, names, true_index = [], [], None
    for q in q_grid:
        for rr in r_right_grid:
            for rl in r_left_grid:
                m = riverswim_model(n, q=q, r_right=rr, r_left=rl)
                if (q, rr, rl) == (0.35, 1.0, 0.005):
                    true_index = len(models)
                models.append(m)
                names.append(f"q={q:g},r_right={rr:g},r_left={rl:g}")
    if true_index is None:
        raise ValueError("the grids must contain the true RiverSwim parameters q = 0.35, "
                         "r_right = 1.0, r_left = 0.005 (realizability)")
    hc = FiniteClass(np.stack([m.P for m in models]), np.stack([m.R for m in models]),
                     tuple(names))
    return hc, true_index


def two_state_switch(q: float = 0.05, r_stay: float = 0.1, gamma: float = 1.0) -> TabularMDP:
    """Two states, two actions, diameter 1, gain ``1 / (1 + q)``, start in state 0 [S].

    State 0: action 0 ("stay") keeps state 0 and pays ``r_stay``; action 1 ("go") moves to
    state 1 and pays 0. State 1: action 0 pays 1 and stays with probability ``1 - q`` (returns
    to 0 with ``q``); action 1 moves to 0 and pays 0. Every transition is deterministic except
    ``(1, 0)``, so each state reaches the other in one step: ``D = 1``. The optimal policy is
    (go, action 0) with ``J* = 1 / (1 + q)`` (stationary mass ``1 / (1 + q)`` on state 1) as long
    as ``r_stay < J*``; its bias satisfies ``V*(1) - V*(0) = J*`` (state 0's equation), so
    ``sp(V*) = J*``. The policy "stay" has gain ``r_stay``: a learner that never tries "go"
    pays ``(J* - r_stay) T``.

    Not on the card: the card asks for UCRL2's ``34 D S sqrt(A T log(T / delta))`` bound on
    RiverSwim-3 and the hard instance, where it exceeds ``T J*`` at every affordable ``T``;
    with ``D = 1, S = A = 2, J* ~ 1`` it drops below ``T J*`` near ``T = 2^17``.

    Examples
    --------
    >>> from rlsandbox.dp.average import diameter, solve_average
    >>> m = two_state_switch(0.05, 0.1)
    >>> sol = solve_average(m)
    >>> round(sol.gain, 12) == round(1 / 1.05, 12), round(float(diameter(m)), 12)
    (True, 1.0)
    """
    q = check_in_range("q", q, low=0.0, high=1.0, low_open=True, high_open=True)
    r_stay = check_in_range("r_stay", r_stay, low=0.0, high=1.0)
    if r_stay >= 1.0 / (1.0 + q):
        raise ValueError(f"r_stay = {r_stay} must be below the gain 1 / (1 + q) = "
                         f"{1.0 / (1.0 + q):.6g} of (go, stay-in-1), else 'stay' is optimal; "
                         "lower r_stay or q")
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, 0, 1], P[1, 0, 0] = 1.0 - q, q
    P[1, 1, 0] = 1.0
    R = np.array([[r_stay, 0.0], [1.0, 0.0]])
    return TabularMDP(P, R, gamma, rho=np.array([1.0, 0.0]))
