"""The instance zoo: shared checks on every builder, published facts, the registry.

Shared checks (STYLE §7.3): rows stochastic, arrays read-only, inputs not mutated, same seed ->
same instance. Published facts: each builder against the numbers printed in its source (the
source is cited next to the numbers), with tolerances from the printed rounding plus the
solver's certified error bound.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsandbox as rls
from rlsandbox.mdps import (ZOO, ZooEntry, chain, cliff_walking, garnet, grid_coordinates, gridworld,
                            make, names, parse_layout, puterman_two_state, random_dense,
                            register_instance, riverswim, russell_norvig_4x3, sutton_barto_4x4,
                            sutton_barto_gridworld)

EPS = np.finfo(np.float64).eps
UP, RIGHT, DOWN, LEFT = range(4)

# Every registry entry with its defaults, plus parameter variants that take other code paths.
CASES = [(name, {}) for name in names()] + [
    ("riverswim", {"variant": "strehl2008"}),
    ("riverswim", {"n_states": 12}),
    ("garnet", {"S": 30, "A": 4, "branching": 5, "sparse": True, "rng": 7}),
    ("random_dense", {"S": 7, "A": 2, "alpha": 0.3, "rng": 3}),
    ("gridworld", {"layout": "S.#\n..X\nC.G", "slip": 0.3, "step_reward": -1.0}),
    ("frozenlake", {"map_name": "8x8"}),
    ("gymnasium", {"env_id": "FrozenLake-v1"}),
]


def _case_id(case):
    name, params = case
    return name + "".join(f"-{k}={v}" for k, v in params.items() if k != "layout")


def _build(name, params):
    """The instance as a TabularMDP (linear entries are materialised with .to_tabular())."""
    entry = ZOO[name]
    if not entry.available():
        pytest.skip(f"{name} needs {entry.requires}")
    obj = make(name, **params)
    return obj.to_tabular() if entry.kind == "linear" else obj


def _arrays(mdp):
    P = mdp.P
    out = {"R": mdp.R, "rho": mdp.rho, "terminal": mdp.terminal}
    if sp.issparse(P):
        out.update(P_data=P.data, P_indices=P.indices, P_indptr=P.indptr)
    else:
        out["P"] = P
    if mdp.R_sas is not None:
        out["R_sas"] = mdp.R_sas
    return out


# ------------------------------------------------------------------ shared checks
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_rows_are_distributions(case):
    mdp = _build(*case)
    P = mdp.dense_P()
    assert P.shape == (mdp.S, mdp.A, mdp.S)
    assert (P >= 0).all()
    # A row sum of S float64 terms in [0, 1] is exact up to S * eps (standard summation bound).
    np.testing.assert_allclose(P.sum(axis=-1), 1.0, rtol=0, atol=mdp.S * EPS)
    np.testing.assert_allclose(mdp.rho.sum(), 1.0, rtol=0, atol=mdp.S * EPS)
    assert mdp.R.shape == (mdp.S, mdp.A) and np.isfinite(mdp.R).all()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_arrays_are_read_only(case):
    mdp = _build(*case)
    for key, arr in _arrays(mdp).items():
        assert not arr.flags.writeable, key
        with pytest.raises(ValueError, match="read-only"):
            arr.flat[0] = arr.flat[0]


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_terminal_states_absorb_with_zero_reward(case):
    mdp = _build(*case)
    P = mdp.dense_P()
    for s in np.flatnonzero(mdp.terminal):
        assert (P[s, :, s] == 1.0).all()
        assert (mdp.R[s] == 0.0).all()
        if mdp.R_sas is not None:
            assert (mdp.R_sas[s] == 0.0).all()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_same_parameters_same_instance(case):
    a, b = _build(*case), _build(*case)
    arr_a, arr_b = _arrays(a), _arrays(b)
    assert arr_a.keys() == arr_b.keys() and a.gamma == b.gamma
    for key in arr_a:
        assert np.array_equal(arr_a[key], arr_b[key]), key      # bitwise, not approximately


@pytest.mark.parametrize("builder", [
    lambda rng: garnet(12, 3, 4, rng=rng),
    lambda rng: garnet(12, 3, 4, rng=rng, sparse=True),
    lambda rng: random_dense(6, 2, rng=rng),
], ids=["garnet", "garnet-sparse", "random_dense"])
def test_random_builders_follow_the_seed(builder):
    def P_of(mdp):
        return mdp.dense_P()
    seeded = builder(5)
    same = builder(np.random.default_rng(5))
    via_seq = builder(np.random.SeedSequence(5))
    other = builder(6)
    assert np.array_equal(P_of(seeded), P_of(same)) and np.array_equal(seeded.R, same.R)
    assert np.array_equal(P_of(seeded), P_of(via_seq))
    assert not np.array_equal(seeded.R, other.R)
    gen = np.random.default_rng(5)          # a Generator's stream continues across calls
    first, second = builder(gen), builder(gen)
    assert np.array_equal(first.R, seeded.R) and not np.array_equal(second.R, first.R)


@pytest.mark.parametrize("rng, exc, match", [
    (None, TypeError, "rng is None"),
    (1.5, TypeError, "rng must be"),
    (True, TypeError, "rng must be"),
    (-1, ValueError, "must be >= 0"),
    (np.random.RandomState(0), TypeError, "rng must be"),
])
def test_random_builders_refuse_bad_rng(rng, exc, match):
    with pytest.raises(exc, match=match):
        garnet(4, 2, 2, rng=rng)


def test_inputs_not_mutated():
    layout = ["S..", ".#G"]
    kept = copy.deepcopy(layout)
    gridworld(layout, slip=0.1)
    assert layout == kept
    mdp = riverswim()
    P_before = np.array(mdp.P)
    to_replace = mdp.replace(gamma=0.5)               # builders' models are not shared state
    assert np.array_equal(mdp.P, P_before) and mdp.gamma == 0.95 and to_replace.gamma == 0.5


# ------------------------------------------------------------------ RiverSwim
def test_riverswim_osband2013_parameters():
    # Osband, Russo, Van Roy (2013), §6 RiverSwim figure / experiment code SetRiverSwim.m: "right" moves
    # left/stays/right with 0.05/0.6/0.35 in the middle, stays 0.4 / moves 0.6 at the left
    # end, moves left 0.4 / stays 0.6 at the right end; "left" always moves left; rewards
    # 5/1000 for "left" in the leftmost state and 1 for "right" in the rightmost; start left.
    mdp = riverswim()
    P = mdp.dense_P()
    expected_right = {0: {0: 0.4, 1: 0.6}, 3: {2: 0.05, 3: 0.6, 4: 0.35}, 5: {4: 0.4, 5: 0.6}}
    for s, row in expected_right.items():
        want = np.zeros(6)
        for s2, p in row.items():
            want[s2] = p
        assert np.array_equal(P[s, 1], want)
    for s in range(6):
        assert P[s, 0, max(s - 1, 0)] == 1.0
    R = np.zeros((6, 2))
    R[0, 0], R[5, 1] = 0.005, 1.0
    assert np.array_equal(mdp.R, R)
    assert mdp.rho.tolist() == [1.0, 0, 0, 0, 0, 0]


def test_riverswim_strehl2008_parameters():
    # Strehl & Littman (2008), RiverSwim figure: "right" succeeds 0.3, stays 0.6, drifts back
    # 0.1 in the middle; 0.7 stay / 0.3 right at the left end; 0.3 stay (reward 10000) /
    # 0.7 back at the right end; "left" pays 5 in the leftmost state; start in state 1 or 2.
    mdp = riverswim(variant="strehl2008")
    P = mdp.dense_P()
    assert P[0, 1, :2].tolist() == [0.7, 0.3]
    assert P[2, 1, 1:4].tolist() == [0.1, 0.6, 0.3]
    assert P[5, 1, 4:].tolist() == [0.7, 0.3]
    assert mdp.R_sas[5, 1, 5] == 10000.0 and mdp.R_sas[5, 1, 4] == 0.0
    assert mdp.R[5, 1] == pytest.approx(3000.0, rel=4 * EPS)   # 0.3 * 10000, one product
    assert mdp.R_sas[0, 0, 0] == 5.0
    assert mdp.rho.tolist() == [0.5, 0.5, 0, 0, 0, 0]


def test_riverswim_bad_variant():
    with pytest.raises(ValueError, match="variant == 'x'; expected one of 'osband2013'"):
        riverswim(variant="x")


# ------------------------------------------------------------------ Chain
def test_chain_strens2000_dynamics():
    # Strens (2000) / Dearden et al. (1998, Fig. 1): action a (index 0) moves forward with
    # reward 0 (10 at the end, staying), b (index 1) returns to the start with reward 2, and
    # with probability 0.2 the other action is executed.
    mdp = chain()
    P, Rs = mdp.dense_P(), mdp.R_sas
    assert P[1, 0, 2] == 0.8 and P[1, 0, 0] == pytest.approx(0.2, abs=EPS)
    assert P[4, 0, 4] == 0.8 and Rs[4, 0, 4] == 10.0 and Rs[4, 0, 0] == 2.0
    assert P[1, 1, 0] == 0.8 and P[1, 1, 2] == pytest.approx(0.2, abs=EPS)
    assert Rs[1, 1, 0] == 2.0 and Rs[1, 1, 2] == 0.0
    # at state 0 "forward" and "back" outcomes that both land in 0 are merged: E[r | s' = 0] = 2
    assert P[0, 1, 0] == 0.8 and Rs[0, 1, 0] == 2.0
    # The sources' point: for a discount near 1 the optimal policy always goes forward.
    assert rls.solve(mdp).policy.tolist() == [0, 0, 0, 0, 0]


# ------------------------------------------------------------------ Puterman §3.1
@pytest.mark.parametrize("gamma", [0.5, 0.9, 10 / 11 + 0.01, 0.95, 0.99])
def test_puterman_two_state_closed_form(gamma):
    # [puterman2005, §3.1]: V*(s2) = -1/(1-gamma); at s1 the better of a1,1 and a1,2 (derived
    # from the Bellman equation, see the builder's docstring); a1,1 wins iff gamma > 10/11.
    sol = rls.solve(puterman_two_state(gamma))
    v2 = -1.0 / (1.0 - gamma)
    v11 = (5.0 + 0.5 * gamma * v2) / (1.0 - 0.5 * gamma)
    v12 = 10.0 + gamma * v2
    assert abs(sol.V[1] - v2) <= sol.error_bound
    assert abs(sol.V[0] - max(v11, v12)) <= sol.error_bound
    assert sol.policy[0] == (0 if gamma > 10 / 11 else 1)


# ------------------------------------------------------------------ Sutton & Barto
def test_sutton_barto_gridworld_rules_and_figure_3_5():
    mdp = sutton_barto_gridworld()
    P = mdp.dense_P()
    for a in range(4):                  # A = (0, 1) -> A' = (4, 1) with +10, B -> B' with +5
        assert P[1, a, 21] == 1.0 and mdp.R[1, a] == 10.0
        assert P[3, a, 13] == 1.0 and mdp.R[3, a] == 5.0
    assert P[0, UP, 0] == 1.0 and mdp.R[0, UP] == -1.0      # off the grid: stay, -1
    assert P[6, UP, 1] == 1.0 and mdp.R[6, UP] == 0.0
    # Sutton & Barto (2018), Figure 3.5 (middle): V*, printed to one decimal.
    fig_3_5 = np.array([[22.0, 24.4, 22.0, 19.4, 17.5],
                        [19.8, 22.0, 19.8, 17.8, 16.0],
                        [17.8, 19.8, 17.8, 16.0, 14.4],
                        [16.0, 17.8, 16.0, 14.4, 13.0],
                        [14.4, 16.0, 14.4, 13.0, 11.7]])
    sol = rls.solve(mdp)
    assert np.abs(sol.V - fig_3_5.ravel()).max() <= 0.05 + sol.error_bound   # printed rounding


def test_sutton_barto_4x4_figure_4_1():
    # Sutton & Barto (2018), Figure 4.1, k = infinity: v_pi of the equiprobable random policy,
    # printed as integers (exact values are integers up to LU round-off).
    fig_4_1 = np.array([[0, -14, -20, -22], [-14, -18, -20, -20],
                        [-20, -20, -18, -14], [-22, -20, -14, 0]], dtype=float)
    mdp = sutton_barto_4x4()
    V = rls.evaluate(mdp, np.full((16, 4), 0.25))
    # LU on a 14x14 system with condition number ~ 1e2: 1e-9 is a generous round-off allowance
    np.testing.assert_allclose(V, fig_4_1.ravel(), rtol=0, atol=1e-9)


def test_cliff_walking_rules_and_optimal_path():
    # Sutton & Barto (2018), Example 6.6: -1 per step, -100 and back to start for the cliff.
    mdp = cliff_walking()
    start = int(mdp.rho.argmax())
    coords = grid_coordinates(rls.mdps.CLIFF_LAYOUT)
    assert coords[start].tolist() == [3, 0] and mdp.S == 48 - 10
    P = mdp.dense_P()
    assert P[start, RIGHT, start] == 1.0 and mdp.R[start, RIGHT] == -100.0
    assert mdp.R[start, UP] == -1.0
    # The optimal path along the cliff edge (up, 11 x right, down) takes 13 steps; under
    # discount gamma its value is -(1 - gamma^13) / (1 - gamma) (derived; -13 at gamma = 1).
    sol = rls.solve(mdp.replace(gamma=0.95))
    assert abs(sol.V[start] + (1 - 0.95 ** 13) / (1 - 0.95)) <= sol.error_bound
    path = np.zeros(mdp.S, dtype=np.int64)           # the book's path as a proper policy
    for s, (r, c) in enumerate(coords):
        path[s] = UP if r == 3 else (DOWN if c == 11 or r < 2 else RIGHT)
    assert rls.evaluate(mdp, path)[start] == pytest.approx(-13.0, abs=1e-12)


def test_russell_norvig_figure_17_3():
    mdp = russell_norvig_4x3()
    P = mdp.dense_P()
    # start (1,1) = state 7; "up" -> (1,2) w.p. 0.8, right -> (2,1) w.p. 0.1, left bumps w.p. 0.1
    assert P[7, UP, 4] == 0.8 and P[7, UP, 8] == 0.1 and P[7, UP, 7] == 0.1
    # Russell & Norvig (AIMA 3rd ed.), Fig. 17.2(a) optimal policy for R(s) = -0.04 and
    # Fig. 17.3 utilities (gamma = 1), printed to three decimals; cells in row-major order.
    policy = np.array([RIGHT, RIGHT, RIGHT, UP, UP, UP, UP, UP, LEFT, LEFT, LEFT])
    fig_17_3 = {0: 0.812, 1: 0.868, 2: 0.918, 4: 0.762, 5: 0.660,
                7: 0.705, 8: 0.655, 9: 0.611, 10: 0.388}
    V = rls.evaluate(mdp, policy)
    for s, u in fig_17_3.items():
        assert abs(V[s] - u) <= 0.0005 + 1e-12, s       # printed rounding + LU round-off


# ------------------------------------------------------------------ gridworld builder
def test_gridworld_slip_and_rewards():
    mdp = gridworld("S.G\n#.X", slip=0.2, step_reward=-0.5, goal_reward=3.0, trap_reward=-2.0)
    # states (row-major, wall skipped): 0 (0,0) S, 1 (0,1), 2 (0,2) G, 3 (1,1), 4 (1,2) X
    P, Rs = mdp.dense_P(), mdp.R_sas
    assert mdp.terminal.tolist() == [False, False, True, False, True]
    assert mdp.rho.tolist() == [1.0, 0, 0, 0, 0]
    # 1, right: into G w.p. 0.8 (pays -0.5 + 3); up leaves the grid (stay), down reaches 3
    assert P[1, RIGHT].tolist() == [0.0, 0.1, 0.8, 0.1, 0.0]
    assert Rs[1, RIGHT, 2] == 2.5 and Rs[1, RIGHT, 1] == Rs[1, RIGHT, 3] == -0.5
    # 3, right: into X w.p. 0.8 (pays -0.5 - 2); 3, left: the wall keeps the agent in place
    assert P[3, RIGHT, 4] == 0.8 and Rs[3, RIGHT, 4] == -2.5
    assert P[3, LEFT, 3] == pytest.approx(0.9, abs=EPS) and P[3, LEFT, 1] == 0.1
    # expected reward of one step: a sum of three products, exact up to a few eps
    assert mdp.R[1, RIGHT] == pytest.approx(0.8 * 2.5 + 0.2 * -0.5, abs=4 * EPS)


@pytest.mark.parametrize("layout, match", [
    ("S.?", r"layout\[0\]\[2\] is '\?'; allowed cells are"),
    ("S..\n.G", "row 1 '.G' has 2 cells, row 0 has 3"),
    ("", "layout is empty"),
    ("##\n##", "has no states"),
    ("GX", "every state of the layout is terminal"),
    (".C.\n...", "exactly one 'S' is needed"),
])
def test_gridworld_layout_errors(layout, match):
    with pytest.raises(ValueError, match=match):
        gridworld(layout)


def test_layout_row_separators_are_equivalent():
    a = gridworld("S.#\n.XG", slip=0.2)
    b = gridworld("S.#/.XG", slip=0.2)
    c = gridworld(["S.#", ".XG"], slip=0.2)
    assert np.array_equal(a.P, b.P) and np.array_equal(a.P, c.P)
    assert np.array_equal(a.R_sas, b.R_sas) and np.array_equal(a.terminal, c.terminal)


def test_gridworld_type_errors():
    with pytest.raises(TypeError, match="layout must be a string"):
        gridworld(42)
    with pytest.raises(ValueError, match=r"slip == 1.5, must be in \[0, 1\]"):
        gridworld("S.G", slip=1.5)


@settings(max_examples=50, deadline=None)
@given(rows=st.integers(1, 4), cols=st.integers(1, 5), data=st.data(),
       slip=st.floats(0.0, 1.0))
def test_gridworld_random_layouts(rows, cols, data, slip):
    cells = data.draw(st.lists(st.sampled_from(".#GX"), min_size=rows * cols,
                               max_size=rows * cols))
    cells[data.draw(st.integers(0, rows * cols - 1))] = "S"      # one live start cell
    layout = ["".join(cells[r * cols:(r + 1) * cols]) for r in range(rows)]
    mdp = gridworld(layout, slip=slip, step_reward=-1.0)
    grid = parse_layout(layout)
    assert mdp.S == int((grid != "#").sum()) == grid_coordinates(layout).shape[0]
    np.testing.assert_allclose(mdp.dense_P().sum(-1), 1.0, rtol=0, atol=4 * EPS)
    live = ~mdp.terminal
    # every live step pays step_reward (-1) plus a goal reward of 1 when it enters G
    assert (mdp.R[live] >= -1.0 - 4 * EPS).all() and (mdp.R[live] <= 4 * EPS).all()


# ------------------------------------------------------------------ random builders
@settings(max_examples=50, deadline=None)
@given(S=st.integers(1, 12), A=st.integers(1, 4), data=st.data(), seed=st.integers(0, 2**32))
def test_garnet_support_size(S, A, data, seed):
    b = data.draw(st.integers(1, S))
    dense = garnet(S, A, b, rng=seed)
    sparse = garnet(S, A, b, rng=seed, sparse=True)
    # b distinct next states per pair; a probability is 0 only if two of the continuous
    # uniform cut points coincide (probability 0), so the support has exactly b states.
    assert ((dense.dense_P() > 0).sum(-1) == b).all()
    assert np.array_equal(dense.dense_P(), sparse.dense_P())
    assert np.array_equal(dense.R, sparse.R) and ((dense.R >= 0) & (dense.R < 1)).all()


def test_garnet_argument_errors():
    with pytest.raises(ValueError, match=r"branching == 5, must be in \[1, 4\]"):
        garnet(4, 2, 5, rng=0)
    with pytest.raises(TypeError, match="S must be an integer"):
        garnet(4.0, 2, 2, rng=0)


def test_random_dense_rows_positive():
    mdp = random_dense(8, 3, rng=2)
    assert (mdp.dense_P() > 0).all()      # Dirichlet(1) rows are positive almost surely
    with pytest.raises(ValueError, match="alpha == 0"):
        random_dense(3, 2, rng=0, alpha=0.0)


# ------------------------------------------------------------------ registry
def test_registry_descriptions_are_one_line():
    assert len(names()) == len(ZOO) >= 10
    for name, entry in ZOO.items():
        assert entry.name == name
        assert "\n" not in entry.description and 10 < len(entry.description) <= 110, name
        assert set(entry.defaults) <= set(entry.parameters())


def test_make_uses_defaults_and_overrides():
    assert np.array_equal(make("garnet").dense_P(), garnet(10, 3, 3, rng=0).dense_P())
    assert make("garnet", rng=1).R.tolist() == garnet(10, 3, 3, rng=1).R.tolist()
    assert make("riverswim", gamma=0.5).gamma == 0.5


def test_make_errors():
    with pytest.raises(ValueError, match="unknown zoo instance 'rivrswim'. Did you mean 'riverswim'"):
        make("rivrswim")
    with pytest.raises(ValueError, match="'riverswim' has no parameter 'S'; its parameters are "
                                         "n_states, variant, gamma"):
        make("riverswim", S=3)
    with pytest.raises(TypeError, match="instance name must be a str"):
        make(3)


def test_registry_is_read_only_and_refuses_duplicates():
    with pytest.raises(TypeError):
        ZOO["x"] = ZOO["chain"]              # type: ignore[index]
    with pytest.raises(ValueError, match="'chain' is already registered"):
        register_instance(ZooEntry("chain", chain, "a duplicate"))
    with pytest.raises(ValueError, match=r"name parameters \['nope'\]"):
        register_instance(ZooEntry("chain2", chain, "bad defaults", defaults={"nope": 1}))
    assert "chain2" not in ZOO
