"""Published reference values (STYLE.md §7.2).

Every model is built inline from the book's description (so the test does not depend on the
zoo), each table is copied from the printed figure with its provenance in a comment, and the
tolerance is the printing precision (half a unit in the last printed digit) plus the solver's
certified error bound. A final test checks that the zoo builders in :mod:`rlsandbox.mdps`
reproduce the same published tables.

Books:
  [sutton2018]  R. S. Sutton, A. G. Barto, Reinforcement Learning: An Introduction, 2nd ed. (2018)
  [puterman2005] M. L. Puterman, Markov Decision Processes, Wiley (1994/2005)
  [russell2010] S. Russell, P. Norvig, Artificial Intelligence: A Modern Approach, 3rd ed. (2010)
"""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

import rlsandbox as rls

U = np.finfo(np.float64).eps / 2
UP, RIGHT, DOWN, LEFT = range(4)
MOVES = {UP: (-1, 0), RIGHT: (0, 1), DOWN: (1, 0), LEFT: (0, -1)}


def lu_err(S: int, Minv_norm: float, Vmax: float) -> float:
    """Forward error of an LU solve of (I - gamma P_pi) V = R_pi: backward error gamma_{3S}
    times growth <= 2 (diagonally dominant) times ||M|| <= 2, amplified by ||M^{-1}||
    [Higham 2002, Thm 9.4; Thm 9.9 for the growth factor of diagonally dominant matrices]."""
    gam = 3 * S * U / (1 - 3 * S * U)
    return 2 * gam * 2 * 2 * Minv_norm * Vmax


# ============================================================ Sutton & Barto 5x5
def sutton_barto_5x5(gamma=0.9):
    """[sutton2018, Example 3.5]: 5x5 grid, actions up/right/down/left (deterministic). A move
    off the grid leaves the state unchanged with reward -1; from A = (0, 1) every action gives
    +10 and moves to A' = (4, 1); from B = (0, 3) every action gives +5 and moves to
    B' = (2, 3); all other moves give 0. State = 5 * row + col."""
    n = 5
    P = np.zeros((n * n, 4, n * n))
    R = np.zeros((n * n, 4))
    for r0 in range(n):
        for c0 in range(n):
            s = n * r0 + c0
            for a, (dr, dc) in MOVES.items():
                if (r0, c0) == (0, 1):
                    (r, c), rew = (4, 1), 10.0
                elif (r0, c0) == (0, 3):
                    (r, c), rew = (2, 3), 5.0
                elif 0 <= r0 + dr < n and 0 <= c0 + dc < n:
                    (r, c), rew = (r0 + dr, c0 + dc), 0.0
                else:
                    (r, c), rew = (r0, c0), -1.0
                P[s, a, n * r + c] = 1.0
                R[s, a] = rew
    return rls.TabularMDP(P, R, gamma)


# [sutton2018, Fig. 3.2 (right)]: v_pi of the equiprobable random policy, gamma = 0.9,
# printed to one decimal.
SB_FIG_3_2 = np.array([
    [3.3, 8.8, 4.4, 5.3, 1.5],
    [1.5, 3.0, 2.3, 1.9, 0.5],
    [0.1, 0.7, 0.7, 0.4, -0.4],
    [-1.0, -0.4, -0.4, -0.6, -1.2],
    [-1.9, -1.3, -1.2, -1.4, -2.0],
])

# [sutton2018, Fig. 3.5 (middle)]: v*, gamma = 0.9, printed to one decimal.
SB_FIG_3_5 = np.array([
    [22.0, 24.4, 22.0, 19.4, 17.5],
    [19.8, 22.0, 19.8, 17.8, 16.0],
    [17.8, 19.8, 17.8, 16.0, 14.4],
    [16.0, 17.8, 16.0, 14.4, 13.0],
    [14.4, 16.0, 14.4, 13.0, 11.7],
])
PRINTED_1DP = 0.05      # half a unit of the last printed digit


def test_sutton_barto_fig_3_2_random_policy_values():
    mdp = sutton_barto_5x5()
    V = rls.evaluate(mdp, np.full((25, 4), 0.25))
    # exact evaluation: LU round-off (||M^{-1}|| <= 1/(1-gamma) = 10, |V| <= 10 / (1-gamma))
    # is ~1e-11, negligible next to the printing precision
    np.testing.assert_allclose(V.reshape(5, 5), SB_FIG_3_2, rtol=0,
                               atol=PRINTED_1DP + lu_err(25, 10.0, 100.0))


@pytest.mark.parametrize("method", ["vi", "pi", "mpi", "lp"])
def test_sutton_barto_fig_3_5_optimal_values(method):
    sol = rls.solve(sutton_barto_5x5(), method=method)
    assert sol.converged
    np.testing.assert_allclose(sol.V.reshape(5, 5), SB_FIG_3_5, rtol=0,
                               atol=PRINTED_1DP + sol.error_bound)
    # [sutton2018, Example 3.8]: "v*(A) = 10 + 0.9 v*(A') = 10 + 0.9 * 16.0 = 24.4" -- from A
    # every action is optimal (all four jump to A'); at B likewise
    assert sol.optimal_actions[1].all() and sol.optimal_actions[3].all()
    # Fig. 3.5 (right): from the bottom-left cell (4, 0) the optimal moves are up and right
    assert sol.optimal_actions[20].tolist() == [True, True, False, False]


# ========================================================= Sutton & Barto 4x4 (Ex. 4.1)
def sutton_barto_4x4():
    """[sutton2018, Example 4.1]: 4x4 grid, the two shaded corner cells are terminal, reward
    -1 on every transition, deterministic moves, off-grid moves leave the state unchanged,
    undiscounted episodic task. Both corners (states 0 and 15) are modelled as terminal
    states (absorbing, zero reward); the book draws them as one state, with the same values."""
    n = 4
    S = n * n
    P = np.zeros((S, 4, S))
    R = np.full((S, 4), -1.0)
    terminal = np.zeros(S, dtype=bool)
    terminal[[0, S - 1]] = True
    for r0 in range(n):
        for c0 in range(n):
            s = n * r0 + c0
            for a, (dr, dc) in MOVES.items():
                if terminal[s]:
                    P[s, a, s], R[s, a] = 1.0, 0.0
                    continue
                r, c = r0 + dr, c0 + dc
                if not (0 <= r < n and 0 <= c < n):
                    r, c = r0, c0
                P[s, a, n * r + c] = 1.0
    return rls.TabularMDP(P, R, 1.0, terminal=terminal)


# [sutton2018, Fig. 4.1, left column, k = infinity]: v_pi of the equiprobable random policy,
# printed as whole numbers.
SB_FIG_4_1 = np.array([
    [0, -14, -20, -22],
    [-14, -18, -20, -20],
    [-20, -20, -18, -14],
    [-22, -20, -14, 0],
], dtype=float)


def _exact_solve(M, b):
    """Solve M x = b exactly by Gauss-Jordan elimination over Fractions."""
    n = len(b)
    A = [list(row) + [bi] for row, bi in zip(M, b)]
    for c in range(n):
        p = next(r for r in range(c, n) if A[r][c] != 0)
        A[c], A[p] = A[p], A[c]
        piv = A[c][c]
        A[c] = [x / piv for x in A[c]]
        for r in range(n):
            if r != c and A[r][c] != 0:
                f = A[r][c]
                A[r] = [x - f * y for x, y in zip(A[r], A[c])]
    return [A[i][n] for i in range(n)]


def test_sutton_barto_fig_4_1_random_policy_values_exact_rationals():
    """The k = infinity values are whole numbers *exactly*: solving (I - P_pi) v = -1 on the 14
    non-terminal states in rational arithmetic gives -14, -18, -20, -22 with no remainder."""
    mdp = sutton_barto_4x4()
    P_pi = mdp.P.mean(axis=1)                    # equiprobable policy: entries 0, 1/4, 1/2, ...
    live = np.flatnonzero(~mdp.terminal)
    # entries of P_pi are multiples of 1/4, exact in float64, so Fraction(float) is exact
    M = [[(1 if i == j else 0) - Fraction(float(P_pi[i, j])) for j in live] for i in live]
    v = _exact_solve(M, [Fraction(-1)] * len(live))
    V_exact = np.zeros(16)
    V_exact[live] = [float(x) for x in v]
    assert all(x.denominator == 1 for x in v)
    np.testing.assert_array_equal(V_exact.reshape(4, 4), SB_FIG_4_1)


def test_sutton_barto_fig_4_1_random_policy_values_float():
    """rls.evaluate at gamma == 1 (episodic: terminal states, a proper policy)."""
    V = rls.evaluate(sutton_barto_4x4(), np.full((16, 4), 0.25))
    # the published values are exact integers (previous test); the float solve is within LU
    # round-off: ||(I - P_pi)^{-1}||_inf = max expected steps to termination = 22 = max|V|
    np.testing.assert_allclose(V.reshape(4, 4), SB_FIG_4_1, rtol=0, atol=lu_err(14, 22.0, 22.0))


def test_sutton_barto_4x4_gamma_one_refused_by_solvers_but_evaluable():
    mdp = sutton_barto_4x4()
    with pytest.raises(ValueError, match="must be in \\[0, 1\\) for policy iteration"):
        rls.solve(mdp, method="pi")
    # optimal: the number of steps to the nearest corner [sutton2018, Fig. 4.1 right column
    # shows the greedy policy; its value is -distance]
    dist = np.array([[min(r + c, 6 - r - c) for c in range(4)] for r in range(4)], dtype=float)
    greedy = np.array([LEFT if (r + c <= 6 - r - c and c > 0) else UP if r + c <= 6 - r - c
                       else RIGHT if c < 3 else DOWN for r in range(4) for c in range(4)])
    V = rls.evaluate(mdp, greedy)
    np.testing.assert_allclose(V.reshape(4, 4), -dist, rtol=0, atol=lu_err(14, 6.0, 6.0))


# ============================================================== Puterman two-state
def puterman_two_state(gamma):
    """[puterman2005, §3.1, Fig. 3.1.1]: s1 has a1,1 (reward 5; to s1 or s2 w.p. 1/2 each) and
    a1,2 (reward 10; to s2); s2 has a2,1 (reward -1; stays). s2's single action is duplicated
    because every state here has the same number of actions."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :] = [0.0, 1.0]
    R = np.array([[5.0, 10.0], [-1.0, -1.0]])
    return rls.TabularMDP(P, R, gamma)


def puterman_closed_form(g: Fraction) -> tuple[Fraction, Fraction, Fraction]:
    """V*(s2) = -1/(1-g); the two actions at s1 give (from the Bellman equation)
    q11 = (5 - (g/2)/(1-g)) / (1 - g/2) and q12 = 10 - g/(1-g); a1,1 is optimal iff g > 10/11
    (their difference is (g-1)(11g/2 - 5)/((1-g)(1-g/2)) up to sign) [puterman2005, §6.2-6.4
    solve this model at lambda = 0.95: v* = (-8.57, -20), a1,1 optimal]."""
    v2 = -1 / (1 - g)
    q11 = (5 + g / 2 * v2) / (1 - g / 2)
    q12 = 10 + g * v2
    return q11, q12, v2


@pytest.mark.parametrize("gamma", [Fraction(0), Fraction(1, 2), Fraction(9, 10), Fraction(19, 20),
                                   Fraction(99, 100)], ids=str)
@pytest.mark.parametrize("method", ["vi", "pi", "mpi", "lp"])
def test_puterman_two_state_closed_form(gamma, method):
    q11, q12, v2 = puterman_closed_form(gamma)
    sol = rls.solve(puterman_two_state(float(gamma)), method=method)
    V_star = np.array([float(max(q11, q12)), float(v2)])
    # gamma is exactly representable in none of these but 0 and 1/2: the model's float gamma
    # differs from the Fraction by half an ulp, changing V* by ~ |dV/dgamma| u ~ 1e-13
    dgamma = abs(float(gamma) - gamma)
    # |dq12/dg| = 1/(1-g)^2 and, differentiating q11, |dq11/dg| <= 2/(1-g)^2 + 10 + 1/(1-g)
    # <= 13/(1-g)^2; v2^2 = 1/(1-g)^2
    sens = float(v2 ** 2) * 13
    assert np.all(np.abs(sol.V - V_star) <= sol.error_bound + float(dgamma) * sens
                  + 2 * U * np.abs(V_star))
    best = 0 if q11 > q12 else 1
    assert int(sol.policy[0]) == best
    assert sol.optimal_actions[0].tolist() == [best == 0, best == 1]
    assert sol.optimal_actions[1].all()       # the duplicated action at s2


def test_puterman_two_state_exact_at_0_95():
    # [puterman2005, §6.3-6.4] at lambda = 0.95: v*(s1) = -8.57..., v*(s2) = -20; in exact
    # rationals v*(s1) = (5 - 9.5) / 0.525 = -60/7
    q11, q12, v2 = puterman_closed_form(Fraction(19, 20))
    assert (q11, v2) == (Fraction(-60, 7), Fraction(-20)) and q11 > q12
    sol = rls.dp.policy_iteration(puterman_two_state(0.95))
    np.testing.assert_allclose(sol.V, [-60 / 7, -20.0], rtol=0, atol=sol.error_bound + 1e-13)


def test_puterman_two_state_tie_at_10_over_11_keeps_both_actions():
    # at gamma = 10/11 both actions at s1 are optimal (q11 == q12 exactly in rationals; by
    # hand: v2 = -11, q12 = 10 + (10/11)(-11) = 0): the mask must keep both, whichever one the
    # float computation happens to favour
    q11, q12, _ = puterman_closed_form(Fraction(10, 11))
    assert q11 == q12 == 0
    for method in ("vi", "pi", "mpi", "lp"):
        sol = rls.solve(puterman_two_state(10 / 11), method=method)
        assert sol.optimal_actions[0].tolist() == [True, True], method


# ========================================================== Russell & Norvig 4x3
def russell_norvig_4x3(step_reward=-0.04):
    """[russell2010, §17.1, Fig. 17.1]: 4 columns x 3 rows, wall at (2, 2), terminals +1 at
    (4, 3) and -1 at (4, 2), start (1, 1). The intended move happens w.p. 0.8, each right angle
    w.p. 0.1; hitting the wall or the edge leaves the agent in place. U(s) = R(s) + max_a
    sum P U with U(terminal) = +-1 and R(s) = -0.04, undiscounted.

    Mapping: terminals become absorbing zero-reward states, and the +-1 is paid on entering
    them, so R[s, a] = -0.04 + sum_{s' terminal} P(s' | s, a) r(s'); then V(s) = U(s) on the 9
    non-terminal cells. States are the 11 cells ordered by (x, y) as listed in CELLS."""
    cells = [(x, y) for y in (3, 2, 1) for x in (1, 2, 3, 4) if (x, y) != (2, 2)]
    idx = {c: i for i, c in enumerate(cells)}
    term = {(4, 3): 1.0, (4, 2): -1.0}
    move = {UP: (0, 1), RIGHT: (1, 0), DOWN: (0, -1), LEFT: (-1, 0)}
    S = len(cells)
    P = np.zeros((S, 4, S))
    R = np.zeros((S, 4))
    for (x, y), s in idx.items():
        for a in range(4):
            if (x, y) in term:
                P[s, a, s] = 1.0
                continue
            R[s, a] = step_reward
            for m, p in ((a, 0.8), ((a + 1) % 4, 0.1), ((a + 3) % 4, 0.1)):
                nxt = (x + move[m][0], y + move[m][1])
                if nxt not in idx:
                    nxt = (x, y)
                P[s, a, idx[nxt]] += p
                R[s, a] += p * term.get(nxt, 0.0)
    terminal = np.array([c in term for c in cells])
    return rls.TabularMDP(P, R, 1.0, terminal=terminal), cells


# [russell2010, Fig. 17.3]: utilities for gamma = 1, R(s) = -0.04, printed to three decimals.
RN_FIG_17_3 = {(1, 3): 0.812, (2, 3): 0.868, (3, 3): 0.918,
               (1, 2): 0.762, (3, 2): 0.660,
               (1, 1): 0.705, (2, 1): 0.655, (3, 1): 0.611, (4, 1): 0.388}
# [russell2010, Fig. 17.2(a)]: the optimal policy for R(s) = -0.04.
RN_FIG_17_2A = {(1, 3): RIGHT, (2, 3): RIGHT, (3, 3): RIGHT,
                (1, 2): UP, (3, 2): UP,
                (1, 1): UP, (2, 1): LEFT, (3, 1): LEFT, (4, 1): LEFT}


def test_russell_norvig_4x3_utilities():
    mdp, cells = russell_norvig_4x3()
    pi = np.array([RN_FIG_17_2A.get(c, UP) for c in cells])      # any action at terminals
    V = rls.evaluate(mdp, pi)
    got = np.array([V[cells.index(c)] for c in RN_FIG_17_3])
    want = np.array(list(RN_FIG_17_3.values()))
    # printed to 3 decimals: half a unit is 5e-4; the LU error (expected episode length < 30)
    # is ~1e-13
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-4 + lu_err(9, 30.0, 1.0))
    # the printed policy is optimal: V satisfies the Bellman optimality equation at gamma = 1
    # (up to round-off), so no action improves on it. Round-off: V is within lu_err of V^pi, with
    # ||(I - P_pi)^{-1}||_inf = the longest expected episode (computed: reward 1 per live step);
    # a backup adds gamma_{S+1} (max|R| + max|V|) <= 12 u * 2. So each V, Q is within fp of exact.
    live = ~mdp.terminal
    steps = rls.evaluate(mdp.replace(R=np.where(live[:, None], 1.0, 0.0) * np.ones(4)), pi).max()
    fp = lu_err(9, steps, 1.0) + 12 * U * 2.0
    TV, _ = rls.bellman_optimality(mdp, V)
    np.testing.assert_allclose(TV, V, rtol=0, atol=2 * fp)      # T V* = V*, T non-expansive
    Q = rls.q_values(mdp, V)
    assert np.all(Q[live, pi[live]] >= Q[live].max(axis=1) - 2 * fp)
    # and at every live cell the printed action is the unique maximiser, by a margin that survives
    # the printing precision: moving V by 5e-4 moves every Q by <= 5e-4 (rows of P sum to 1)
    gaps = np.sort(Q[live], axis=1)
    assert np.all(gaps[:, -1] - gaps[:, -2] > 2 * (5e-4 + fp))


# =================================================== exact rationals, random small MDP
def test_exact_rational_value_of_a_small_mdp():
    """A 3-state, 2-action MDP with rational data, solved by policy iteration in exact
    arithmetic (fractions.Fraction, Howard's rule with strict improvement); the float solvers
    must match V* within their certificates. The data are dyadic rationals, so the float64
    model holds them exactly."""
    P = np.array([[[0.5, 0.25, 0.25], [0.0, 0.75, 0.25]],
                  [[0.125, 0.875, 0.0], [1.0, 0.0, 0.0]],
                  [[0.25, 0.25, 0.5], [0.0, 0.5, 0.5]]])
    R = np.array([[1.0, 0.5], [0.0, 2.0], [-1.0, 0.25]])
    g = Fraction(7, 8)
    mdp = rls.TabularMDP(P, R, float(g))
    Pf = [[[Fraction(float(x)) for x in row] for row in ps] for ps in P]
    Rf = [[Fraction(float(x)) for x in r] for r in R]
    pi = [0, 0, 0]
    while True:
        M = [[(1 if i == j else 0) - g * Pf[i][pi[i]][j] for j in range(3)] for i in range(3)]
        v = _exact_solve(M, [Rf[i][pi[i]] for i in range(3)])
        Q = [[Rf[s][a] + g * sum(Pf[s][a][t] * v[t] for t in range(3)) for a in range(2)]
             for s in range(3)]
        new = [pi[s] if Q[s][pi[s]] >= max(Q[s]) else Q[s].index(max(Q[s])) for s in range(3)]
        if new == pi:
            break
        pi = new
    V_star = np.array([float(x) for x in v])
    for method in ("vi", "pi", "mpi", "lp"):
        sol = rls.solve(mdp, method=method)
        # float(V*) is the exact value rounded to nearest: half an ulp
        assert np.all(np.abs(sol.V - V_star) <= sol.error_bound + U * np.abs(V_star)), method
        assert sol.optimal_actions[np.arange(3), pi].all(), method


# ============================================================= the zoo builders
def _zoo(name):
    # a missing builder is a failure, never a skip: these tables are the zoo's reference values
    return getattr(rls.mdps, name)


def test_zoo_sutton_barto_gridworld_matches_fig_3_5():
    sol = rls.solve(_zoo("sutton_barto_gridworld")())
    np.testing.assert_allclose(sol.V.reshape(5, 5), SB_FIG_3_5, rtol=0,
                               atol=PRINTED_1DP + sol.error_bound)


def test_zoo_sutton_barto_4x4_matches_fig_4_1():
    mdp = _zoo("sutton_barto_4x4")()
    V = rls.evaluate(mdp, np.full((mdp.S, mdp.A), 1.0 / mdp.A))
    np.testing.assert_allclose(V.reshape(4, 4), SB_FIG_4_1, rtol=0, atol=lu_err(14, 22.0, 22.0))


def test_zoo_russell_norvig_4x3_matches_fig_17_3():
    mdp = _zoo("russell_norvig_4x3")()
    ours, cells = russell_norvig_4x3()
    # the zoo orders states row-major from the top row with the wall left out: the same order
    # as ``cells`` above (x = col + 1, y = 3 - row)
    pi = np.array([RN_FIG_17_2A.get(c, UP) for c in cells])
    np.testing.assert_allclose(rls.evaluate(mdp, pi), rls.evaluate(ours, pi), rtol=0, atol=1e-12)


def test_zoo_puterman_two_state_matches_closed_form():
    sol = rls.solve(_zoo("puterman_two_state")(0.95))
    np.testing.assert_allclose(sol.V, [-60 / 7, -20.0], rtol=0, atol=sol.error_bound + 1e-13)
