"""Instances of the distributional-DP card (Pires et al. 2025; card ``distributional_dp.md``).

Every builder returns an :class:`~rlsandbox.algorithms.distributional.OutcomeMDP` (random,
transition-dependent rewards), exact (Fractions) where the card's checks used rationals.
Named instances exactly as on the card, §4 "Named instances" and §5.2:

=================  ==========================================================================
builder            instance
=================  ==========================================================================
instance_a         A, gamble after a loss: gamma = 1, H = 2 (C3, C4, C6, E1)
instance_t1        T1, target: gamma = 1, H = 2; objective P(G >= 1) (C3, E1)
instance_b         B, gamma-incompatibility: gamma = 1/2, H = 2, f = -exp(-x) (C5)
instance_c         C, lattice casino: gamma = 1/2, infinite horizon, exact (C3, C6, C8, C11, C12)
instance_c9        C9, grid casino: as C with gamma = 0.9 (C9)
casino             the casino family of C and C9 (win probabilities, gamma as parameters)
instance_m         M, acyclic background MRP, gamma = 0.9 (B3, B4)
self_loop          one state with a zero-reward self-loop (B1 tightness, TV control)
control_pair       x -> y with two terminal actions at y (B2)
slippery_cliff     E3 stand-in for the paper's §7 gridworld (not the paper's layout)
random_rg          the card's random generator RG (§4); random_c0 draws its c0
random_mrp         random small MRPs with random rewards (B1, B3)
random_casino      random casinos (C8, C9, C10)
=================  ==========================================================================

State 0 is the start state unless stated; terminal states are the card's ``⊥`` (absorbing,
reward 0). Action names follow the card.
"""
from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox._validate import check_int, check_rng
from rlsandbox.algorithms.distributional.model import OutcomeMDP

__all__ = ["instance_a", "instance_t1", "instance_b", "instance_c", "instance_c9",
           "instance_m", "self_loop", "control_pair", "slippery_cliff", "random_rg", "casino",
           "random_c0", "random_mrp", "random_casino",
           "CLIFF_ROWS", "CLIFF_COLS", "CLIFF_ACTIONS", "RG_REWARDS", "RG_GAMMAS"]

_HALF = Fraction(1, 2)


def instance_a() -> OutcomeMDP:
    """Instance A, "gamble after a loss" [card §4]: gamma = 1, H = 2, exact.

    s0 (state 0, one action): R_0 in {0, 2} w.p. 1/2 each, go to s1. s1 (state 1): action 0
    "safe" R_1 = 0; action 1 "risky" R_1 in {-1/2, 3} w.p. 1/2; then the episode ends (state
    2 = ⊥). Card C3/C6: optimal CVaR_1/2 = 3/4 (risky after R_0 = 0, safe after R_0 = 2).

    >>> instance_a()
    OutcomeMDP(S=3, A=2, gamma=1, H=2, s0=0, exact)
    """
    return OutcomeMDP([[[(_HALF, 0, 1), (_HALF, 2, 1)]],
                       [[(1, 0, 2)], [(_HALF, Fraction(-1, 2), 2), (_HALF, 3, 2)]],
                       []], gamma=1, H=2, exact=True, state_names=("s0", "s1", "end"),
                      action_names=("safe", "risky"))


def instance_t1() -> OutcomeMDP:
    """Instance T1, target [card §4]: gamma = 1, H = 2, exact.

    s0: R_0 in {0, 1} w.p. 1/2, go to s1. s1: action 0 "safe" R_1 = 1/2; action 1 "risky"
    R_1 in {-1, +1} w.p. 1/2. Objective P(G >= 1): c0 = -1, f = 1{x >= 0}; optimum 3/4.
    """
    return OutcomeMDP([[[(_HALF, 0, 1), (_HALF, 1, 1)]],
                       [[(1, _HALF, 2)], [(_HALF, -1, 2), (_HALF, 1, 2)]],
                       []], gamma=1, H=2, exact=True, state_names=("s0", "s1", "end"),
                      action_names=("safe", "risky"))


def instance_b() -> OutcomeMDP:
    """Instance B, gamma-incompatibility [card §4, C5]: gamma = 1/2, H = 2, exact.

    s0: one action, R_0 = 0, go to s1. s1: action 0 "safe" R_1 = 1; action 1 "risky"
    R_1 in {0, 4} w.p. 1/2. With f(x) = -exp(-x), c0 = 0 the optimum is risky,
    E f = -(1 + e^{-2})/2; plain A2 picks safe (-e^{-1/2}).
    """
    return OutcomeMDP([[[(1, 0, 1)]],
                       [[(1, 1, 2)], [(_HALF, 0, 2), (_HALF, 4, 2)]],
                       []], gamma=_HALF, H=2, exact=True, state_names=("s0", "s1", "end"),
                      action_names=("safe", "risky"))


def casino(p_bet: Any = "0.6", p_small: Any = "0.5", *, gamma: Any = "1/2",
           exact: bool = True) -> OutcomeMDP:
    """The casino family of Instances C and C9 [card §4]: states 0 "playing", 1 "done".

    Actions at playing: 0 "stop" (reward 0, go to done); 1 "bet" (+1 w.p. ``p_bet``, -1
    otherwise, stay); 2 "small" (+1/2 w.p. ``p_small``, -1/2 otherwise, stay). Instance C is
    ``casino()`` (gamma = 1/2, a dyadic lattice instance); C9 is ``casino(gamma=0.9)``.
    Probabilities and gamma are strings or Fractions for exact models.

    >>> casino(p_bet="0.9").transitions(0, 1)
    ((Fraction(1, 10), Fraction(-1, 1), 0), (Fraction(9, 10), Fraction(1, 1), 0))
    """
    def q(x: Any) -> Any:
        if exact:
            return x if isinstance(x, Fraction) else Fraction(str(x))
        return float(Fraction(str(x))) if isinstance(x, str) else float(x)
    pb, ps = q(p_bet), q(p_small)
    return OutcomeMDP([[[(1, 0, 1)],
                        [(pb, 1, 0), (1 - pb, -1, 0)],
                        [(ps, q("0.5"), 0), (1 - ps, q("-0.5"), 0)]],
                       []], gamma=q(gamma), H=None, exact=exact,
                      state_names=("playing", "done"), action_names=("stop", "bet", "small"))


def _casino(gamma: Any, exact: bool) -> OutcomeMDP:
    return casino(gamma=gamma, exact=exact)


def instance_c(exact: bool = True) -> OutcomeMDP:
    """Instance C, lattice casino [card §4]: gamma = 1/2, infinite horizon.

    States 0 "playing", 1 "done" (absorbing, reward 0). Actions at playing: 0 "stop" (reward
    0, go to done); 1 "bet" (+1 w.p. 0.6, -1 w.p. 0.4, stay); 2 "small" (+-1/2 w.p. 1/2,
    stay). G_lo = -2, G_hi = 2; on the band the stocks live in (1/4)Z; the risk-neutral optimum
    bets forever with V*_rn(playing) = 0.4.
    """
    return _casino(_HALF if exact else 0.5, exact)


def instance_c9(exact: bool = False) -> OutcomeMDP:
    """Instance C9, grid casino [card §4, C9]: Instance C with gamma = 0.9 (band [-10, 10],
    V*_rn(playing) = 2.0). Float by default (it is solved on a stock grid)."""
    return _casino(Fraction(9, 10) if exact else 0.9, exact)


def instance_m(gamma: Any = Fraction(9, 10), exact: bool = True) -> OutcomeMDP:
    """Instance M, acyclic background MRP [card §4; B3, B4]: states 0..3, 3 terminal, one
    action; at gamma = 0.9, V = (0.4414, 0.681, 0.3, 0).

    state 0: 1/2 -> (r=+1, next 1), 1/2 -> (r=-1, next 2);
    state 1: 0.3 -> (r=+2, next 2), 0.7 -> (r=0, next 3);
    state 2: 0.6 -> (r=-1/2, next 3), 0.4 -> (r=+3/2, next 3).
    """
    q = (lambda x: Fraction(x)) if exact else float
    if exact and isinstance(gamma, float):
        raise TypeError(f"gamma == {gamma!r} is a float for an exact model; pass a Fraction "
                        f"or a string such as '0.9'")
    return OutcomeMDP([[[(q("0.5"), 1, 1), (q("0.5"), -1, 2)]],
                       [[(q("0.3"), 2, 2), (q("0.7"), 0, 3)]],
                       [[(q("0.6"), q("-0.5"), 3), (q("0.4"), q("1.5"), 3)]],
                       []], gamma=gamma, H=None, exact=exact)


def self_loop(gamma: float = 0.5) -> OutcomeMDP:
    """One state with a zero-reward self-loop [card B1]: ``(T eta)(s) = (m_gamma)# eta(s)``,
    so the Cramér ratio is exactly sqrt(gamma) and total variation is not contracted."""
    return OutcomeMDP([[[(1.0, 0.0, 0)]]], gamma=gamma, H=None)


def control_pair(gamma: Any = _HALF) -> OutcomeMDP:
    """B2's instance [card B2]: x (state 0, one action) -> y (state 1) with reward 0; y has
    two actions a1, a2, both ending the episode (state 2) with reward 0. The laws eta(y, .)
    of the card are inputs to the control operator, not part of the model."""
    return OutcomeMDP([[[(1, 0, 1)]], [[(1, 0, 2)], [(1, 0, 2)]], []], gamma=gamma, H=None,
                      exact=isinstance(gamma, Fraction), state_names=("x", "y", "end"),
                      action_names=("a1", "a2"))


# ------------------------------------------------------------------ slippery cliff
CLIFF_ROWS, CLIFF_COLS = 3, 5
#: Action order of the slippery cliff (card §5.2 E3): up, right, down, left.
CLIFF_ACTIONS = ("up", "right", "down", "left")
_MOVES = ((-1, 0), (0, 1), (1, 0), (0, -1))


def slippery_cliff(gamma: float = 0.95, slip: float = 0.1, step_reward: float = -1.0,
                   cliff_reward: float = -20.0, goal_reward: float = -1.0) -> OutcomeMDP:
    """E3 "slippery cliff" gridworld [card §5.2 E3; a stand-in, NOT the paper's §7 layout].

    ::

        row 0:  .  .  .  .  .
        row 1:  .  .  .  .  .
        row 2:  S  C  C  C  G

    State ``row * 5 + col`` (S = 10, cliff 11-13, goal 14). Actions up/right/down/left; the
    intended move happens w.p. ``1 - slip`` and a uniformly random one of the four (the
    intended one included) w.p. ``slip`` (so the intended move has total probability
    ``1 - 3 slip / 4``); walls leave the agent in place. Every step pays ``step_reward``;
    entering a cliff cell pays ``cliff_reward`` instead and ends the episode; entering G pays
    ``goal_reward`` and ends it. Defaults: the card's gamma = 0.95, slip 0.1, -1, -20, -1.

    >>> m = slippery_cliff()
    >>> m.S, m.A, m.s0, m.terminal.nonzero()[0].tolist()
    (15, 4, 10, [11, 12, 13, 14])
    """
    def cell(rw: int, cl: int) -> int:
        return rw * CLIFF_COLS + cl

    cliff = {cell(2, 1), cell(2, 2), cell(2, 3)}
    goal = cell(2, 4)
    rows = []
    for rw in range(CLIFF_ROWS):
        for cl in range(CLIFF_COLS):
            s = cell(rw, cl)
            if s in cliff or s == goal:
                rows.append([])
                continue
            acts = []
            for a in range(4):
                out = []
                for b, (dr, dc) in enumerate(_MOVES):
                    p = slip / 4 + (1 - slip if b == a else 0.0)
                    r2, c2 = rw + dr, cl + dc
                    if not (0 <= r2 < CLIFF_ROWS and 0 <= c2 < CLIFF_COLS):
                        r2, c2 = rw, cl
                    s2 = cell(r2, c2)
                    rew = cliff_reward if s2 in cliff else goal_reward if s2 == goal \
                        else step_reward
                    out.append((p, rew, s2))
                acts.append(out)
            rows.append(acts)
    names = tuple(("S" if (rw, cl) == (2, 0) else "C" if cell(rw, cl) in cliff
                   else "G" if cell(rw, cl) == goal else ".") + f"({rw},{cl})"
                  for rw in range(CLIFF_ROWS) for cl in range(CLIFF_COLS))
    return OutcomeMDP(rows, gamma=gamma, H=None, s0=cell(2, 0), state_names=names,
                      action_names=CLIFF_ACTIONS)


# ---------------------------------------------------------------------- generator RG
#: RG's reward set and discounts [card §4].
RG_REWARDS = (-2, -1, 0, 1, 2, 3)
RG_GAMMAS = (Fraction(1), Fraction(1, 2), Fraction(9, 10))


def random_rg(*, rng: Any, H: int = 3, gamma: Any = None) -> OutcomeMDP:
    """The card's random generator RG [card §4], exact.

    S = 2 non-terminal states (0 = s0, 1) plus a terminal state 2; A = 2; horizon ``H``
    (card: 3, or 2 where policies are enumerated). Each (s, a) has 1 or 2 outcomes (fair coin)
    with probabilities (1/2, 1/2) or (1/4, 3/4) (fair coin); rewards uniform on
    {-2, -1, 0, 1, 2, 3}; next states uniform on {0, 1, 2}. ``gamma`` defaults to a uniform
    draw from {1, 1/2, 9/10}. The card draws c0 in (1/2)Z ∩ [-4, 4] separately (the claims do).

    >>> random_rg(rng=0).H, random_rg(rng=0).exact
    (3, True)
    """
    gen = check_rng("rng", rng)
    H = check_int("H", H, low=1)
    if gamma is None:
        gamma = RG_GAMMAS[int(gen.integers(0, len(RG_GAMMAS)))]
    rows = []
    for _s in range(2):
        acts = []
        for _a in range(2):
            two = bool(gen.integers(0, 2))
            rewards = gen.integers(0, len(RG_REWARDS), size=2)
            nxt = gen.integers(0, 3, size=2)
            if two:
                probs = (_HALF, _HALF) if gen.integers(0, 2) == 0 else \
                    (Fraction(1, 4), Fraction(3, 4))
                out = [(probs[k], RG_REWARDS[int(rewards[k])], int(nxt[k])) for k in range(2)]
                if (out[0][1], out[0][2]) == (out[1][1], out[1][2]):
                    out = [(Fraction(1), out[0][1], out[0][2])]
            else:
                out = [(Fraction(1), RG_REWARDS[int(rewards[0])], int(nxt[0]))]
            acts.append(out)
        rows.append(acts)
    rows.append([])
    return OutcomeMDP(rows, gamma=gamma, H=H, exact=True)


def random_c0(rng: np.random.Generator) -> Fraction:
    """c0 uniform on (1/2)Z ∩ [-4, 4] [card §4, RG]."""
    return Fraction(int(rng.integers(-8, 9)), 2)


def random_mrp(*, rng: Any, S: int | None = None, gamma: float | None = None,
               acyclic: bool = False) -> OutcomeMDP:
    """A random Markov reward process for the background claims [card B1: "random MRPs,
    S <= 3, gamma in (0.1, 0.99)"], float.

    S in {1, 2, 3} non-terminal states (drawn unless given) plus one terminal state (index S);
    one action; each state has 1 to 3 outcomes with Dirichlet(1) probabilities, rewards uniform
    on [-1, 1] (rounded to 2 decimals) and next states uniform over all S + 1 states (over the
    later states s+1..S if ``acyclic``, so every path ends within S steps and return laws are
    finite); gamma uniform on [0.1, 0.99] (rounded to 3 decimals) unless given.

    >>> m = random_mrp(rng=0)
    >>> m.A, bool(m.terminal[-1])
    (1, True)
    """
    gen = check_rng("rng", rng)
    S = int(gen.integers(1, 4)) if S is None else check_int("S", S, low=1)
    if gamma is None:
        gamma = round(float(gen.uniform(0.1, 0.99)), 3)
    rows = []
    for s in range(S):
        k = int(gen.integers(1, 4))
        probs = gen.dirichlet(np.ones(k))
        probs[-1] = 1.0 - probs[:-1].sum()
        rewards = np.round(gen.uniform(-1.0, 1.0, size=k), 2)
        nxt = gen.integers(s + 1 if acyclic else 0, S + 1, size=k)
        rows.append([[(float(p), float(r), int(s2)) for p, r, s2 in zip(probs, rewards, nxt)
                      if p > 0]])
    rows.append([])
    return OutcomeMDP(rows, gamma=gamma, H=None)


def random_casino(*, rng: Any, gamma: Any = None, exact: bool = False) -> OutcomeMDP:
    """A casino (see :func:`casino`) with random win probabilities, for the infinite-horizon
    claims: p_bet and p_small uniform on {0.05, 0.10, ..., 0.95}; gamma = 1/2 for exact
    (lattice) models, else uniform on [0.8, 0.95] (2 decimals) unless given.

    >>> random_casino(rng=0, exact=True).gamma
    Fraction(1, 2)
    """
    gen = check_rng("rng", rng)
    pb = Fraction(int(gen.integers(1, 20)), 20)
    ps = Fraction(int(gen.integers(1, 20)), 20)
    if gamma is None:
        gamma = _HALF if exact else round(float(gen.uniform(0.8, 0.95)), 2)
    return casino(pb, ps, gamma=gamma, exact=exact)
