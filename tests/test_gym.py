"""gymnasium bridge: exact import of toy-text tables, export of any model, round trips.

Skipped as a whole when gymnasium (the optional ``gym`` extra) is not installed.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest
import scipy.stats

gymnasium = pytest.importorskip("gymnasium")

import rlsandbox as rls                                            # noqa: E402
from rlsandbox.mdps import (ZOO, cliff_walking, from_gymnasium, garnet, gridworld,  # noqa: E402
                            grid_coordinates, riverswim, russell_norvig_4x3, to_gymnasium)

EPS = np.finfo(np.float64).eps
GYM_TO_OURS = np.array([3, 2, 1, 0])     # gym FrozenLake LEFT, DOWN, RIGHT, UP -> our indices


def _latest(name):
    versions = [s.version for s in gymnasium.registry.values()
                if s.name == name and s.namespace is None and s.version is not None]
    return f"{name}-v{max(versions)}"


# ------------------------------------------------------------------ import
def test_frozenlake_equals_our_gridworld():
    """Two independent constructions of FrozenLake 4x4 agree: gymnasium's table, read by
    from_gymnasium, and our ASCII gridworld with slip 2/3 (1/3 intended, 1/3 each side)."""
    imported = from_gymnasium("FrozenLake-v1")
    layout = ZOO["frozenlake"].layout({})
    ours = gridworld(layout, slip=2 / 3, goal_reward=1.0, trap_reward=0.0, gamma=1.0)
    assert imported.S == ours.S == 16 and imported.A == 4
    assert np.array_equal(imported.terminal, ours.terminal)
    assert np.array_equal(imported.rho, ours.rho)
    P_gym = imported.dense_P()[:, np.argsort(GYM_TO_OURS)]          # reorder actions to ours
    R_gym = imported.R_sas[:, np.argsort(GYM_TO_OURS)]
    # ours computes 1 - 2/3 and 2/3 / 2, gymnasium 1/3: equal up to a few eps per entry
    np.testing.assert_allclose(P_gym, ours.dense_P(), rtol=0, atol=4 * EPS)
    np.testing.assert_allclose(R_gym, ours.R_sas, rtol=0, atol=4 * EPS)


def test_frozenlake_terminal_states_are_the_holes_and_goal():
    mdp = from_gymnasium("FrozenLake-v1")
    desc = "SFFFFHFHFFFHHFFG"
    assert np.flatnonzero(mdp.terminal).tolist() == [i for i, c in enumerate(desc) if c in "HG"]
    # the goal is reached only by entering it: R_sas pays 1 exactly on those transitions
    P, Rs = mdp.dense_P(), mdp.R_sas
    assert set(np.unique(Rs[P > 0])) == {0.0, 1.0}
    assert set(np.argwhere((Rs == 1.0) & (P > 0))[:, 2]) == {15}


def test_taxi_table_read_exactly():
    env = gymnasium.make(_latest("Taxi"))
    table = env.unwrapped.P
    kept = copy.deepcopy(table)
    mdp = from_gymnasium(env, gamma=0.9)
    assert table == kept                                  # the env's table is not mutated
    S_env, END = 500, 500
    assert mdp.S == S_env + 1 and np.flatnonzero(mdp.terminal).tolist() == [END]
    P = mdp.dense_P()
    for s in range(S_env):
        for a in range(6):
            want = np.zeros(S_env + 1)
            expected_reward = 0.0
            for p, s2, r, done in table[s][a]:
                want[END if done else s2] += p
                expected_reward += p * r
            assert np.array_equal(P[s, a], want)
            assert mdp.R[s, a] == pytest.approx(expected_reward, abs=64 * EPS)
    np.testing.assert_array_equal(mdp.rho[:S_env], env.unwrapped.initial_state_distrib)


def test_gym_cliffwalking_matches_ours():
    """gymnasium's CliffWalking keeps the 10 cliff cells as (unreachable) states and moves on
    from the goal, so it imports with 48 + 1 states; on the cells both models share, V* agrees
    within the two certified error bounds."""
    gym_mdp = from_gymnasium(_latest("CliffWalking"), gamma=0.9)
    ours = cliff_walking(gamma=0.9)
    assert gym_mdp.S == 49 and np.flatnonzero(gym_mdp.terminal).tolist() == [48]
    sol_g, sol_o = rls.solve(gym_mdp), rls.solve(ours)
    cells = grid_coordinates(rls.mdps.CLIFF_LAYOUT)
    gym_index = cells[:, 0] * 12 + cells[:, 1]
    live = ~ours.terminal
    diff = np.abs(sol_g.V[gym_index[live]] - sol_o.V[live]).max()
    assert diff <= sol_g.error_bound + sol_o.error_bound


def test_rho_argument_and_errors():
    env = gymnasium.make("FrozenLake-v1")
    rho = np.full(16, 1 / 16)
    kept = rho.copy()
    mdp = from_gymnasium(env, rho=rho)
    assert np.array_equal(rho, kept) and np.array_equal(mdp.rho, kept)
    with pytest.raises(ValueError, match=r"rho has shape \(3,\); expected \(16\)"):
        from_gymnasium(env, rho=np.ones(3) / 3)
    with pytest.raises(ValueError, match="env_kwargs is only used with an environment id"):
        from_gymnasium(env, env_kwargs={"is_slippery": False})
    with pytest.raises(ValueError, match="has no transition table env.unwrapped.P"):
        from_gymnasium("Blackjack-v1")
    with pytest.raises(TypeError, match="must be a gymnasium.Env or an environment id"):
        from_gymnasium(3.0)
    with pytest.raises(ValueError, match="fickle_passenger"):
        from_gymnasium(_latest("Taxi"), env_kwargs={"fickle_passenger": True})


class _TableEnv(gymnasium.Env):
    """A hand-written toy-text style env for the import rules."""

    def __init__(self, table, n_states=2, rho=True):
        self.observation_space = gymnasium.spaces.Discrete(n_states)
        self.action_space = gymnasium.spaces.Discrete(1)
        self.P = table
        if rho:
            self.initial_state_distrib = np.eye(n_states)[0]


def test_import_rules_on_a_hand_table():
    # state 0 pays 2 and ends the episode (to 1, which moves on: not absorbing -> end state);
    # the same outcome listed twice is merged.
    table = {0: {0: [(0.5, 1, 2.0, True), (0.25, 0, 1.0, False), (0.25, 0, 3.0, False)]},
             1: {0: [(1.0, 0, 0.0, False)]}}
    mdp = from_gymnasium(_TableEnv(table), gamma=0.5)
    assert mdp.S == 3 and mdp.terminal.tolist() == [False, False, True]
    assert mdp.dense_P()[0, 0].tolist() == [0.5, 0.0, 0.5]
    assert mdp.R_sas[0, 0, 0] == 2.0 and mdp.R_sas[0, 0, 2] == 2.0     # mean of 1 and 3; 2
    assert mdp.R[0, 0] == 2.0
    # an absorbing zero-reward target becomes terminal itself: no extra state
    table = {0: {0: [(1.0, 1, 5.0, True)]}, 1: {0: [(1.0, 1, 0.0, True)]}}
    mdp = from_gymnasium(_TableEnv(table))
    assert mdp.S == 2 and mdp.terminal.tolist() == [False, True] and mdp.R[0, 0] == 5.0


@pytest.mark.parametrize("table, match", [
    ({0: {0: [(1.0, 0, 0.0)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "has 3 fields"),
    ({0: {0: [(1.0, 5, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, r"s_next = 5; expected an int in \[0, 2\)"),
    ({0: {0: [(-0.5, 0, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "probability -0.5"),
    ({0: {0: [(1.0, 0, np.nan, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "reward nan"),
    ({0: {0: []}, 1: {0: [(1.0, 1, 0.0, False)]}}, r"P\[0\]\[0\] is empty"),
    ({0: {0: [(1.0, 0, 0.0, False)]}}, "no entry for state 1"),
    ({0: {0: [(0.7, 0, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, r"P\[0, 0, :\] sums to 0.7"),
])
def test_import_refuses_bad_tables(table, match):
    with pytest.raises(ValueError, match=match):
        from_gymnasium(_TableEnv(table))


def test_import_needs_rho_without_initial_state_distrib():
    table = {0: {0: [(1.0, 1, 0.0, False)]}, 1: {0: [(1.0, 0, 0.0, False)]}}
    with pytest.raises(ValueError, match="has no initial_state_distrib; pass rho="):
        from_gymnasium(_TableEnv(table, rho=False))
    assert from_gymnasium(_TableEnv(table, rho=False), rho=[0.5, 0.5]).rho.tolist() == [0.5, 0.5]


def test_import_refuses_non_discrete_spaces():
    env = _TableEnv({0: {0: [(1.0, 0, 0.0, False)]}}, n_states=1)
    env.observation_space = gymnasium.spaces.Box(0, 1, (1,))
    with pytest.raises(TypeError, match="needs a Discrete space"):
        from_gymnasium(env)
    env.observation_space = gymnasium.spaces.Discrete(1, start=3)
    with pytest.raises(ValueError, match="starting at 0"):
        from_gymnasium(env)


def test_sparse_import_keeps_expected_rewards():
    dense = from_gymnasium("FrozenLake-v1", gamma=0.9)
    sparse = from_gymnasium("FrozenLake-v1", gamma=0.9, sparse=True)
    assert sparse.is_sparse and sparse.R_sas is None
    assert np.array_equal(sparse.dense_P(), dense.dense_P())
    np.testing.assert_allclose(sparse.R, dense.R, rtol=0, atol=4 * EPS)


# ------------------------------------------------------------------ export
@pytest.mark.parametrize("make_mdp", [
    lambda: riverswim(), lambda: riverswim(variant="strehl2008"), lambda: russell_norvig_4x3(),
    lambda: cliff_walking(), lambda: garnet(15, 3, 4, rng=2),
    lambda: garnet(15, 3, 4, rng=2, sparse=True), lambda: from_gymnasium("FrozenLake-v1"),
], ids=["riverswim", "riverswim-strehl", "russell_norvig", "cliff", "garnet", "garnet-sparse",
        "frozenlake"])
def test_round_trip_is_exact(make_mdp):
    mdp = make_mdp()
    back = from_gymnasium(to_gymnasium(mdp), gamma=mdp.gamma)
    assert back.S == mdp.S and back.A == mdp.A
    assert np.array_equal(back.dense_P(), mdp.dense_P())
    assert np.array_equal(back.rho, mdp.rho) and np.array_equal(back.terminal, mdp.terminal)
    # rewards: R_sas comes back exactly where P > 0 (elsewhere it is not part of the model)
    R_sas = mdp.R_sas if mdp.R_sas is not None else np.broadcast_to(mdp.R[..., None], back.R_sas.shape)
    live = mdp.dense_P() > 0
    assert np.array_equal(back.R_sas[live], R_sas[live])


def test_exported_env_passes_gymnasium_checker():
    from gymnasium.utils.env_checker import check_env
    check_env(to_gymnasium(russell_norvig_4x3(), horizon=50), skip_render_check=True)


def test_seeded_reset_and_steps_are_reproducible():
    env = to_gymnasium(garnet(20, 3, 5, rng=1), horizon=30)

    def rollout(seed):
        s, _ = env.reset(seed=seed)
        out = [s]
        for k in range(30):
            s, r, term, trunc, info = env.step(k % 3)
            out += [s, r]
        return out
    assert rollout(4) == rollout(4)
    assert rollout(4) != rollout(5)


def test_steps_follow_the_model():
    mdp = russell_norvig_4x3()
    env = to_gymnasium(mdp, horizon=7)
    rng = np.random.default_rng(0)
    s, info = env.reset(seed=3)
    assert info["prob"] == mdp.rho[s]
    steps = 0
    for _ in range(500):
        a = int(rng.integers(4))
        s2, r, terminated, truncated, info = env.step(a)
        steps += 1
        assert mdp.dense_P()[s, a, s2] == info["prob"] > 0
        assert r == mdp.R_sas[s, a, s2]
        assert terminated == bool(mdp.terminal[s2])
        assert truncated == (steps >= 7)
        if terminated or truncated:
            s, _ = env.reset()
            steps = 0
        else:
            s = s2


def test_transition_frequencies_match_frozenlake():
    """Export the imported FrozenLake, drive it with uniformly random actions, and compare the
    empirical next-state frequencies of every visited (s, a) with P by one chi-square test
    over all pairs (significance 1e-6: with a fixed seed the outcome is deterministic, and a
    correct sampler fails it with probability 1e-6 over seeds)."""
    mdp = from_gymnasium("FrozenLake-v1")
    env = to_gymnasium(mdp)
    P = mdp.dense_P()
    counts = np.zeros_like(P)
    rng = np.random.default_rng(11)
    s, _ = env.reset(seed=11)
    for _ in range(60_000):
        a = int(rng.integers(4))
        s2, _, terminated, _, _ = env.step(a)
        counts[s, a, s2] += 1
        s = env.reset()[0] if terminated else s2
    stat, dof = 0.0, 0
    for s in np.flatnonzero(~mdp.terminal):
        for a in range(4):
            n = counts[s, a].sum()
            support = P[s, a] > 0
            assert counts[s, a, ~support].sum() == 0          # never an impossible outcome
            assert n >= 50, (s, a)       # every live pair is visited often (chi2 needs n p >= 5)
            expected = n * P[s, a, support]
            stat += float(((counts[s, a, support] - expected) ** 2 / expected).sum())
            dof += int(support.sum()) - 1
    assert scipy.stats.chi2.sf(stat, dof) > 1e-6


def test_export_table_is_toy_text_format():
    mdp = riverswim(variant="strehl2008")
    env = to_gymnasium(mdp)
    table = env.unwrapped.P
    assert table[5][1] == [(0.7, 4, 0.0, False), (0.3, 5, 10000.0, False)]
    assert np.array_equal(env.unwrapped.initial_state_distrib, mdp.rho)


def test_export_errors():
    env = to_gymnasium(riverswim())
    with pytest.raises(gymnasium.error.ResetNeeded):
        env.step(0)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action 2 is not in Discrete\(2\)"):
        env.step(2)
    with pytest.raises(TypeError, match="to_gymnasium expects a TabularMDP"):
        to_gymnasium(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match=r"horizon == 0, must be in \[1, inf\]"):
        to_gymnasium(riverswim(), horizon=0)
