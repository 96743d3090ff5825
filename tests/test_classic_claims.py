"""The classical claims (paper "classic"): each holds on its quick instances and its negative
control is caught, through the claims framework; the adversarial named instances behave as
their docstrings derive (closed forms computed by hand, cited in each test)."""
from __future__ import annotations

import math

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.dp.average import solve_average
from rlsandbox.proofs_check import REGISTRY, check_cell, run_claim
from rlsandbox.proofs_check import classic
from rlsandbox.proofs_check.classic import (VI_EPS_REL, blackwell_two_state, myopic_trap,
                                            pdl_trap, pi_chain, pi_iteration_bound, sim_trap,
                                            singh_yee_tight, tie_trap, vi_trap)

CLASSIC = [cid for cid in REGISTRY if cid.startswith("classic.")]

#: The adversarial named instance of each claim's control (the builder's docstring derives
#: why the control fails there for every seed). Claims whose control fails on every instance
#: (a constant shift attains the contraction modulus; the sign-flipped operator reverses any
#: constant shift) use RiverSwim.
TRAPS = {
    "classic.bellman.contraction": lambda: rls.mdps.riverswim(gamma=0.9),
    "classic.bellman.evaluation_contraction": lambda: rls.mdps.riverswim(gamma=0.9),
    "classic.bellman.monotone": lambda: rls.mdps.riverswim(gamma=0.9),
    "classic.vi.eps_half": lambda: vi_trap(gamma=0.9),
    "classic.vi.greedy_eps_optimal": lambda: vi_trap(gamma=0.99),
    "classic.greedy.singh_yee": lambda: singh_yee_tight(gamma=0.9),
    "classic.pi.monotone": lambda: myopic_trap(gamma=0.9),
    "classic.pi.iteration_bound": lambda: pi_chain(n=8, gamma=0.5),
    "classic.pdl.identity": lambda: pdl_trap(gamma=0.9),
    "classic.simulation_lemma.identity": lambda: sim_trap(gamma=0.9),
    "classic.simulation_lemma.bound": lambda: sim_trap(gamma=0.9),
    "classic.blackwell.gain_limit": lambda: blackwell_two_state(gamma=0.9),
    "classic.certificates.error_bound": lambda: vi_trap(gamma=0.99),
    "classic.certificates.optimal_actions": lambda: tie_trap(gamma=0.5),
}


def test_every_issue_statement_has_a_claim():
    # issue §4 (a)-(h), with (a) split by operator and (b) into value and policy parts
    expected = {"classic.bellman.contraction", "classic.bellman.evaluation_contraction",
                "classic.bellman.monotone", "classic.vi.eps_half",
                "classic.vi.greedy_eps_optimal", "classic.greedy.singh_yee",
                "classic.pi.monotone", "classic.pi.iteration_bound", "classic.pdl.identity",
                "classic.simulation_lemma.identity", "classic.simulation_lemma.bound",
                "classic.blackwell.gain_limit", "classic.certificates.error_bound",
                "classic.certificates.optimal_actions"}
    assert set(CLASSIC) == expected
    assert set(TRAPS) == expected
    assert all(REGISTRY[cid].paper == "classic" for cid in CLASSIC)


@pytest.mark.parametrize("claim_id", CLASSIC)
def test_claim_holds_and_control_is_caught(claim_id):
    result = run_claim(claim_id, quick=True, seed=0)
    assert result.holds, (claim_id, result.verdict)
    assert result.caught, (claim_id, result.control)
    assert len(result.cells) >= 1 + REGISTRY[claim_id].quick


@pytest.mark.parametrize("claim_id", CLASSIC)
def test_claim_holds_with_another_seed(claim_id):
    result = run_claim(claim_id, quick=True, seed=12345)
    assert result.holds and result.caught


@pytest.mark.parametrize("claim_id", CLASSIC)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_control_fails_on_its_named_instance_for_any_seed(claim_id, seed):
    claim = REGISTRY[claim_id]
    problem = TRAPS[claim_id]()
    rng_measure, rng_control = (np.random.default_rng(s) for s in
                                np.random.SeedSequence(seed).spawn(2))
    assert check_cell(claim.kind, claim.measure(problem, rng_measure), claim.options).holds
    assert not check_cell(claim.kind, claim.negative_control(problem, rng_control),
                          claim.options).holds


@pytest.mark.parametrize("claim_id", ["classic.pdl.identity", "classic.greedy.singh_yee"])
def test_measure_is_deterministic_given_the_rng(claim_id):
    claim = REGISTRY[claim_id]
    mdp = rls.mdps.random_dense(6, 3, rng=7, gamma=0.8)
    a = claim.measure(mdp, np.random.default_rng(3)).to_json()
    b = claim.measure(mdp, np.random.default_rng(3)).to_json()
    assert a == b


# ------------------------------------------------------- the named instances, by hand
def test_vi_trap_values_and_broken_greedy():
    gamma, L = 0.9, 10
    mdp = vi_trap(gamma=gamma, L=L)
    V_star = np.asarray(rls.solve(mdp).V)
    # far state: reward 1 forever; chain start: L steps away (vi_trap docstring)
    assert V_star[L + 2] == pytest.approx(1 / (1 - gamma), rel=1e-12)
    assert V_star[2] == pytest.approx(gamma ** L / (1 - gamma), rel=1e-12)
    assert V_star[1] < V_star[2]                          # action 0 is optimal at state 0
    eps = VI_EPS_REL / (1 - gamma)                        # max|R| = 1
    broken = rls.dp.value_iteration(mdp, eps=eps * 2 * gamma / (1 - gamma))
    assert broken.policy[0] == 1                          # greedy takes the near state
    loss = V_star[0] - np.asarray(rls.evaluate(mdp, broken.policy))[0]
    assert loss > eps                                     # ... and is not eps-optimal
    good = rls.dp.value_iteration(mdp, eps=eps)
    assert V_star[0] - np.asarray(rls.evaluate(mdp, good.policy))[0] <= eps


def test_pi_chain_needs_n_plus_one_evaluations():
    # pi_chain docstring: from "exit everywhere" one state switches per iteration
    for n in (3, 8):
        sol = rls.dp.policy_iteration(pi_chain(n=n, gamma=0.5), pi0=np.zeros(n + 2, dtype=int))
        assert sol.iterations == n + 1
        assert np.asarray(sol.policy)[:n].tolist() == [1] * n


def test_pi_iteration_bound_formula():
    # H = ln 2 / 0.5 = 1.386..., ceil 2: (20 - 10)(2 + 1) + 1 = 31
    assert pi_iteration_bound(10, 2, 0.5) == 31
    # gamma = 0.9: H = 10 ln 10 = 23.03, ceil 24: (12 - 6)(25) + 1 = 151
    assert pi_iteration_bound(6, 2, 0.9) == 151
    assert pi_iteration_bound(5, 1, 0.99) == 1           # one action: pi_0 is optimal


def test_myopic_trap_values():
    gamma = 0.9
    mdp = myopic_trap(gamma)
    V0 = np.asarray(rls.evaluate(mdp, np.zeros(3, dtype=int)))
    V1 = np.asarray(rls.evaluate(mdp, np.array([1, 0, 0])))
    assert V0[0] == pytest.approx(gamma / (1 - gamma), rel=1e-12)
    assert V1[0] == pytest.approx(1.0, rel=1e-12)


def test_singh_yee_tight_attains_the_bound():
    gamma = 0.9
    g = gamma / 2
    mdp = singh_yee_tight(gamma)
    V_star = np.asarray(rls.solve(mdp).V)
    eps = g / (2 * gamma) * (1 + 1e-9)
    V = V_star + eps * np.array([1.0, -1.0])
    greedy = rls.bellman_optimality(mdp, V)[1]
    loss = float((V_star - np.asarray(rls.evaluate(mdp, greedy))).max())
    assert loss == pytest.approx(g / (1 - gamma), rel=1e-12)          # docstring: g/(1-gamma)
    assert loss == pytest.approx(2 * gamma * eps / (1 - gamma), rel=1e-8)


def test_pdl_trap_sides():
    gamma = 0.9
    mdp = pdl_trap(gamma)
    pi, pi_p = np.zeros(3, dtype=int), np.ones(3, dtype=int)
    diff = float(mdp.rho @ (np.asarray(rls.evaluate(mdp, pi_p))
                            - np.asarray(rls.evaluate(mdp, pi))))
    assert diff == pytest.approx(gamma / (1 - gamma), rel=1e-12)
    from rlsandbox.measures import state_occupancy
    assert np.asarray(state_occupancy(mdp, pi))[2] == 0.0                # pi never reaches 2
    assert np.asarray(state_occupancy(mdp, pi_p))[2] == pytest.approx(gamma, rel=1e-12)


def test_sim_trap_closed_form():
    gamma, lam = 0.9, 0.1
    mdp = sim_trap(gamma)
    Q = np.array([[[1 - lam, lam]], [[0.0, 1.0]]])
    V_P = np.asarray(rls.evaluate(mdp, np.zeros(2, dtype=int)))
    V_Q = np.asarray(rls.evaluate(rls.TabularMDP(Q, mdp.R, gamma), np.zeros(2, dtype=int)))
    expected = gamma * lam / ((1 - gamma) * (1 - gamma + gamma * lam))
    assert V_P[0] - V_Q[0] == pytest.approx(expected, rel=1e-12)


def test_tie_trap_has_an_exact_tie_that_vi_separates():
    mdp = tie_trap(0.5)
    Q_star = np.asarray(rls.solve(mdp).Q)
    assert Q_star[0, 0] == Q_star[0, 1]                                  # both equal 1
    sol = rls.dp.value_iteration(mdp, eps=1e-2)
    Q = np.asarray(sol.Q)
    assert Q[0, 0] - Q[0, 1] == pytest.approx(0.5 ** sol.iterations, rel=1e-12)
    assert np.asarray(sol.optimal_actions)[0].all()                      # the certificate keeps both


def test_blackwell_two_state_closed_form():
    gamma, p = 0.9, 0.2
    mdp = blackwell_two_state(gamma, p)
    avg = solve_average(mdp)
    assert avg.gain == pytest.approx(0.5, rel=1e-12)
    assert avg.span == pytest.approx(1 / (2 * p), rel=1e-12)
    V = np.asarray(rls.solve(mdp).V)
    expected = (1 - gamma) / (2 * (1 - gamma + 2 * gamma * p))
    assert (1 - gamma) * V[0] - 0.5 == pytest.approx(expected, rel=1e-10)
    assert (1 - gamma) * V[1] - 0.5 == pytest.approx(-expected, rel=1e-10)


def test_named_instances_are_json_params_and_rebuild_equal():
    claim = REGISTRY["classic.vi.eps_half"]
    insts = claim.instances(2, np.random.default_rng(0))
    again = claim.instances(2, np.random.default_rng(0))
    assert [i.params for i in insts] == [i.params for i in again]
    for inst in insts:
        a, b = inst.build(), inst.build()
        assert np.array_equal(a.dense_P(), b.dense_P()) and np.array_equal(a.R, b.R)
    assert any(i.params.get("builder", "").endswith("vi_trap") for i in insts)


def test_tolerances_are_round_off_sized():
    # the allowances are float64 round-off (module docstring), far below the quantities
    mdp = rls.mdps.riverswim(gamma=0.9)
    V = np.asarray(rls.solve(mdp).V)
    assert classic._backup_err(mdp, V) < 1e-12 * (1 + np.abs(V).max())
    assert classic._solve_err(mdp.S, mdp.gamma, 1.0) < 1e-12
    assert math.isclose(classic._value_scale(mdp), 1.0 / (1 - 0.9))
