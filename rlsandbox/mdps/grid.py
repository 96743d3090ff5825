"""Gridworlds from ASCII layouts, and the textbook gridworlds built with them.

A layout is a rectangle of characters (a string with one row per line or rows separated by
``/``, or a sequence of row strings):

==========  ============================================================================
``.``       a free cell
``S``       a start cell (free); ``rho`` is uniform over the start cells, or over all
            non-terminal cells when there is none
``#``       a wall: not a state; moving into it (or off the grid) leaves the agent in place
``G``       a goal: terminal; entering it pays ``step_reward + goal_reward``
``X``       a trap (hole): terminal; entering it pays ``step_reward + trap_reward``
``C``       a cliff: not a state; stepping into it pays ``cliff_reward`` (instead of
            ``step_reward``) and returns the agent to the (single) start cell
==========  ============================================================================

States are the non-wall, non-cliff cells in row-major order (:func:`grid_coordinates` gives
their ``(row, col)``); actions are ``0 = up, 1 = right, 2 = down, 3 = left``
(:data:`ACTIONS`). With ``slip = p`` the intended move happens with probability ``1 - p`` and
each of the two perpendicular moves with probability ``p / 2``. Terminal cells are absorbing
with zero reward, so values count the reward collected up to and including the step that
enters them. Rewards are kept per transition (``R[s, a, s']`` = the expected reward of the
step given that it ends in ``s'``), so a sampled reward matches the layout's rules.

References
----------
[sutton2018]  R. S. Sutton, A. G. Barto. Reinforcement Learning: An Introduction, 2nd ed.,
              2018: Example 3.5 (Fig. 3.2), Example 3.8 (Fig. 3.5), Example 4.1 (Fig. 4.1),
              Example 6.6 (cliff walking).
[russell2010] S. Russell, P. Norvig. Artificial Intelligence: A Modern Approach, 3rd ed.,
              2010, §17.1 (Fig. 17.1-17.3, the 4x3 world).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rlsandbox._validate import check_in_range, check_scalar
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps._build import Outcomes

__all__ = ["ACTIONS", "gridworld", "grid_coordinates", "parse_layout", "cliff_walking",
           "sutton_barto_4x4", "sutton_barto_gridworld", "russell_norvig_4x3",
           "CLIFF_LAYOUT", "SUTTON_BARTO_4X4_LAYOUT", "RUSSELL_NORVIG_4X3_LAYOUT",
           "DEFAULT_LAYOUT"]

#: Action names, in index order.
ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))
_CELLS = ".S#GXC"

#: [sutton2018, Example 6.6]: 4 x 12, start bottom-left, goal bottom-right, cliff in between.
CLIFF_LAYOUT = "\n".join(["." * 12, "." * 12, "." * 12, "S" + "C" * 10 + "G"])
#: [sutton2018, Example 4.1]: 4 x 4, the two shaded corners are (one) terminal state.
SUTTON_BARTO_4X4_LAYOUT = "G...\n....\n....\n...G"
#: [russell2010, Fig. 17.1]: 3 rows x 4 columns, wall at (2, 2), +1 at (4, 3), -1 at (4, 2).
RUSSELL_NORVIG_4X3_LAYOUT = "...G\n.#.X\nS..."
#: A small layout for ``make("gridworld")``: walls, a trap and a goal.
DEFAULT_LAYOUT = "S..#.\n.#...\n...X.\n.#..G"


def parse_layout(layout: str | Sequence[str]) -> np.ndarray:
    """The layout as a 2-D array of single characters ``(rows, cols)``, validated.

    A string is split into rows at newlines or at ``/`` (``"S..#/..XG"``, handy on a command
    line); blank leading/trailing lines and surrounding spaces are dropped. Rows must have
    equal length and use only the characters ``. S # G X C``.

    Examples
    --------
    >>> parse_layout("S.#/..G").shape
    (2, 3)
    """
    if isinstance(layout, str):
        rows = [line.strip() for line in layout.strip().replace("/", "\n").splitlines()]
    elif isinstance(layout, Sequence) and all(isinstance(r, str) for r in layout):
        rows = list(layout)
    else:
        raise TypeError(f"layout must be a string or a sequence of row strings, got "
                        f"{type(layout).__name__}")
    if not rows or not rows[0]:
        raise ValueError("layout is empty; give at least one row such as 'S..G'")
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"layout row {i} {row!r} has {len(row)} cells, row 0 has {width}; "
                             f"all rows must have the same length")
        for j, ch in enumerate(row):
            if ch not in _CELLS:
                raise ValueError(f"layout[{i}][{j}] is {ch!r}; allowed cells are "
                                 f"{' '.join(_CELLS)} (free, start, wall, goal, trap, cliff)")
    return np.array([list(r) for r in rows])


def grid_coordinates(layout: str | Sequence[str]) -> np.ndarray:
    """``(S, 2)`` int64 array: the ``(row, col)`` of each state of ``gridworld(layout)``.

    Examples
    --------
    >>> from rlsandbox.mdps import grid_coordinates, RUSSELL_NORVIG_4X3_LAYOUT
    >>> grid_coordinates(RUSSELL_NORVIG_4X3_LAYOUT)[4:7].tolist()
    [[1, 0], [1, 2], [1, 3]]
    """
    return _coordinates(parse_layout(layout))


def _coordinates(grid: np.ndarray) -> np.ndarray:
    return np.argwhere((grid != "#") & (grid != "C")).astype(np.int64)


def gridworld(layout: str | Sequence[str] = DEFAULT_LAYOUT, *, slip: float = 0.0,
              step_reward: float = 0.0, goal_reward: float = 1.0, trap_reward: float = 0.0,
              cliff_reward: float = -100.0, gamma: float = 0.95) -> TabularMDP:
    """A gridworld MDP from an ASCII layout (cells and rules in the module docstring).

    For a non-terminal state s, action a and each of the (up to) three moves m it may turn
    into (intended with probability ``1 - slip``, each perpendicular with ``slip / 2``):

        target = cell next to s in direction m
        wall or outside -> s' = s,      reward step_reward
        cliff           -> s' = start,  reward cliff_reward
        G / X           -> s' = target, reward step_reward + goal_reward / trap_reward
        otherwise       -> s' = target, reward step_reward

    ``P[s, a, s']`` adds up the moves' probabilities and ``R[s, a, s']`` is the conditional
    mean reward given s'. Terminal states (G, X) are absorbing with zero reward.

    Parameters
    ----------
    layout : str or sequence of str
    slip : float in [0, 1]
        Probability of moving perpendicular to the intended direction (split evenly).
    step_reward, goal_reward, trap_reward, cliff_reward : float
    gamma : float in [0, 1]

    Returns
    -------
    TabularMDP with S = number of non-wall, non-cliff cells, A = 4, ``terminal`` marking G/X.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.gridworld("S.#\\n..G", slip=0.2, step_reward=-0.1)
    >>> mdp.S, mdp.A, mdp.terminal.tolist()
    (5, 4, [False, False, False, False, True])
    """
    grid = parse_layout(layout)
    slip = check_in_range("slip", slip, low=0.0, high=1.0)
    step_reward = check_scalar("step_reward", step_reward)
    goal_reward = check_scalar("goal_reward", goal_reward)
    trap_reward = check_scalar("trap_reward", trap_reward)
    cliff_reward = check_scalar("cliff_reward", cliff_reward)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    n_rows, n_cols = grid.shape
    coords = _coordinates(grid)
    if coords.shape[0] == 0:
        raise ValueError("layout has no states (only walls and cliff cells); add a '.' cell")
    index = -np.ones(grid.shape, dtype=np.int64)
    index[coords[:, 0], coords[:, 1]] = np.arange(coords.shape[0])
    S, A = coords.shape[0], len(ACTIONS)
    cells = grid[coords[:, 0], coords[:, 1]]
    terminal = np.isin(cells, ["G", "X"])
    starts = np.flatnonzero(cells == "S")
    if (grid == "C").any() and starts.size != 1:
        raise ValueError(f"layout has cliff cells 'C' and {starts.size} start cells 'S'; a cliff "
                         f"sends the agent back to the start, so exactly one 'S' is needed")
    if (~terminal).sum() == 0:
        raise ValueError("every state of the layout is terminal (G or X); add a '.' or 'S' cell")
    enter = {"G": goal_reward, "X": trap_reward}

    out = Outcomes(S, A)
    for s in range(S):
        if terminal[s]:
            for a in range(A):
                out.add(s, a, s, 1.0, 0.0)
            continue
        r0, c0 = coords[s]
        for a in range(A):
            for m, p in ((a, 1.0 - slip), ((a + 1) % 4, slip / 2), ((a + 3) % 4, slip / 2)):
                if p == 0.0:
                    continue
                r, c = r0 + _MOVES[m][0], c0 + _MOVES[m][1]
                if not (0 <= r < n_rows and 0 <= c < n_cols) or grid[r, c] == "#":
                    s2, rew = s, step_reward
                elif grid[r, c] == "C":
                    s2, rew = int(starts[0]), cliff_reward
                else:
                    s2 = int(index[r, c])
                    rew = step_reward + enter.get(str(grid[r, c]), 0.0)
                out.add(s, a, s2, p, rew)
    P, R = out.result()
    if starts.size:
        rho = np.zeros(S)
        rho[starts] = 1.0 / starts.size
    else:
        rho = (~terminal) / float((~terminal).sum())
    return TabularMDP(P, R, gamma, rho=rho, terminal=terminal)


def cliff_walking(gamma: float = 1.0) -> TabularMDP:
    """Cliff walking [sutton2018, Example 6.6]: a 4 x 12 grid, reward -1 per step, -100 for
    stepping into the cliff (which returns the agent to the start), undiscounted, episodic.

    Built as ``gridworld(CLIFF_LAYOUT, step_reward=-1, goal_reward=0, cliff_reward=-100)``:
    38 states (the 10 cliff cells are not states), start at the bottom-left, goal (terminal)
    at the bottom-right. The book shows no value table; its optimal path runs along the edge
    of the cliff: up, 11 x right, down, so ``V*(start) = -13`` at gamma = 1.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.cliff_walking()
    >>> mdp.S, mdp.gamma, int(mdp.terminal.sum())
    (38, 1.0, 1)
    """
    return gridworld(CLIFF_LAYOUT, step_reward=-1.0, goal_reward=0.0, cliff_reward=-100.0,
                     gamma=gamma)


def sutton_barto_4x4(gamma: float = 1.0) -> TabularMDP:
    """The 4 x 4 gridworld of [sutton2018, Example 4.1]: reward -1 on every transition,
    deterministic moves (off-grid moves leave the state unchanged), undiscounted.

    The book's terminal state is drawn in two corners; here both corner cells are terminal
    states (16 states, indices row-major, corners 0 and 15), which gives the same values.
    Published: v_pi of the equiprobable random policy in Fig. 4.1 (the k = infinity grid:
    0 -14 -20 -22 / -14 -18 -20 -20 / -20 -20 -18 -14 / -22 -20 -14 0).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.sutton_barto_4x4()
    >>> mdp.S, mdp.terminal.nonzero()[0].tolist()
    (16, [0, 15])
    """
    return gridworld(SUTTON_BARTO_4X4_LAYOUT, step_reward=-1.0, goal_reward=0.0, gamma=gamma)


def russell_norvig_4x3(reward: float = -0.04, gamma: float = 1.0) -> TabularMDP:
    """The 4 x 3 world of [russell2010, §17.1, Fig. 17.1].

    Moves succeed with probability 0.8 and go at right angles with 0.1 each (``slip=0.2``);
    bumping into the wall at (2, 2) or the edge stays put. Reward ``reward`` (-0.04 in the
    book) per step in a non-terminal state; terminals +1 at (4, 3) and -1 at (4, 2).

    Mapping to this library: the book's utility U(s) = R(s) + gamma * max_a sum P U(s') with
    U(terminal) = +-1 equals our V(s) when entering a terminal pays ``reward +- 1`` and
    terminals are absorbing with V = 0; so V(s) = U(s) on the 9 non-terminal states.
    States are the cells of :data:`RUSSELL_NORVIG_4X3_LAYOUT` in row-major order from the top
    row: the book's (x, y) is ``(col + 1, 3 - row)``; the start (1, 1) is state 7.
    Published: utilities for gamma = 1, R = -0.04 in Fig. 17.3 (0.812 0.868 0.918 / 0.762
    0.660 / 0.705 0.655 0.611 0.388), optimal policy in Fig. 17.2(a).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.russell_norvig_4x3()
    >>> mdp.S, mdp.terminal.nonzero()[0].tolist(), mdp.rho.argmax().item()
    (11, [3, 6], 7)
    """
    reward = check_scalar("reward", reward)
    return gridworld(RUSSELL_NORVIG_4X3_LAYOUT, slip=0.2, step_reward=reward, goal_reward=1.0,
                     trap_reward=-1.0, gamma=gamma)


def sutton_barto_gridworld(gamma: float = 0.9) -> TabularMDP:
    """The 5 x 5 gridworld of [sutton2018, Example 3.5 and Example 3.8].

    Deterministic moves; a move off the grid leaves the agent in place with reward -1; every
    action in A = (0, 1) pays +10 and jumps to A' = (4, 1); every action in B = (0, 3) pays +5
    and jumps to B' = (2, 3); all other moves pay 0. Discount 0.9. States are the 25 cells in
    row-major order (state = 5 * row + col), actions as in :data:`ACTIONS`.
    Published: v_pi of the equiprobable random policy in Fig. 3.2 (right) and V* with an
    optimal policy in Fig. 3.5 (V*(A) = 24.4), both printed to one decimal.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> sol = rls.solve(rls.mdps.sutton_barto_gridworld())
    >>> round(float(sol.V[1]), 1)
    24.4
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    n = 5
    S, A = n * n, len(ACTIONS)
    P = np.zeros((S, A, S))
    R = np.zeros((S, A))
    jumps = {(0, 1): ((4, 1), 10.0), (0, 3): ((2, 3), 5.0)}
    for r0 in range(n):
        for c0 in range(n):
            s = n * r0 + c0
            for a in range(A):
                if (r0, c0) in jumps:
                    (r, c), rew = jumps[(r0, c0)]
                else:
                    r, c = r0 + _MOVES[a][0], c0 + _MOVES[a][1]
                    rew = 0.0
                    if not (0 <= r < n and 0 <= c < n):
                        r, c, rew = r0, c0, -1.0
                P[s, a, n * r + c] = 1.0
                R[s, a] = rew
    return TabularMDP(P, R, gamma)
