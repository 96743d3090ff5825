"""Unit tests of rlsandbox/dp/discounted.py and rlsandbox/dp/batch.py on hand-built models:
non-convergence as a result, ties, PI on ties, MPI monotonicity, episodic evaluation by hand,
sparse LU vs dense LU.
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import rlsandbox as rls
from rlsandbox.dp import TIE_RTOL

U = np.finfo(np.float64).eps / 2
METHODS = ("vi", "pi", "mpi", "lp")


def chain(S=6, gamma=0.9):
    """A deterministic chain: action 0 moves left (reward 0), action 1 moves right; the right
    end pays 1 for staying there. From the left end PI needs several improvements."""
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        P[s, 1, min(s + 1, S - 1)] = 1.0
    R[0, 0] = 0.1                      # a small lure at the left end
    R[S - 1, 1] = 1.0
    return rls.TabularMDP(P, R, gamma)


def V_star_chain(S=6, gamma=0.9):
    # by hand: from s, walk right (S-1-s steps, reward 0), then collect 1 forever:
    # V*(s) = gamma^(S-1-s) / (1 - gamma)  (beats the lure 0.1 / (1 - gamma) for these sizes)
    return np.array([gamma ** (S - 1 - s) / (1 - gamma) for s in range(S)])


# ------------------------------------------------------------ non-convergence
@pytest.mark.parametrize("method", ["vi", "pi", "mpi"])
def test_budget_exhausted_is_reported_not_raised(method):
    mdp = chain()
    sol = rls.solve(mdp, method=method, max_iter=1)
    assert sol.converged is False and sol.iterations == 1
    # the certificate stays valid for an unconverged V (it is a residual bound); 8 u max V*:
    # V_star_chain's pow and division (<= 3u relative), this subtraction and addition (u each)
    assert np.all(np.abs(sol.V - V_star_chain()) <= sol.error_bound + 8 * U * V_star_chain().max())
    assert sol.error_bound > 1e-3     # and honest: far from converged
    full = rls.solve(mdp, method=method)
    assert full.converged and full.iterations > 1


def test_pi_needs_several_improvements_on_the_chain():
    sol = rls.dp.policy_iteration(chain())
    assert sol.converged and sol.iterations >= 3
    assert sol.policy.tolist() == [1] * 6
    np.testing.assert_allclose(sol.V, V_star_chain(), rtol=0, atol=sol.error_bound)


@pytest.mark.parametrize("method", ["pi", "vi"])
@pytest.mark.parametrize("max_iter", [1, 2, 3])
def test_solve_batch_budget_exhausted(method, max_iter):
    mdp = chain()
    out = rls.solve_batch(mdp.P[None], mdp.R[None], mdp.gamma, method=method, max_iter=max_iter)
    assert not out.converged[0]
    assert out.iterations[0] == max_iter
    # certified error_bound; 8 u max V*: rounding of V_star_chain and of this test (as above)
    V_star = V_star_chain()
    assert np.all(np.abs(out.V[0] - V_star) <= out.error_bound[0] + 8 * U * V_star.max())


def test_bug_solve_batch_pi_reported_one_iteration_when_budget_ran_out():
    # regression: the PI kernel returns -1 when max_iter runs out, and solve_batch reported
    # abs(-1) == 1 iteration instead of max_iter (per-model policy_iteration reports max_iter)
    mdp = chain()
    out = rls.solve_batch(mdp.P[None], mdp.R[None], mdp.gamma, max_iter=2)
    one = rls.dp.policy_iteration(mdp, max_iter=2)
    assert (out.iterations[0], bool(out.converged[0])) == (one.iterations, one.converged) == (2, False)


# ------------------------------------------------------------------- ties
def tied(S=3, gamma=0.8):
    """Two identical actions everywhere (random kernel, fixed seed): every action is optimal."""
    rng = np.random.default_rng(7)
    P1 = rng.dirichlet(np.ones(S), size=S)
    R1 = rng.random(S)
    P = np.stack([P1, P1], axis=1)
    R = np.stack([R1, R1], axis=1)
    return rls.TabularMDP(P, R, gamma)


@pytest.mark.parametrize("method", METHODS)
def test_ties_produce_masks_with_both_actions(method):
    sol = rls.solve(tied(), method=method)
    assert sol.optimal_actions.all()
    assert sol.policy.tolist() == [0, 0, 0]     # documented rule: lowest index


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_pi_on_a_tie_keeps_its_action_and_stops(sparse):
    mdp = tied()
    if sparse:
        mdp = mdp.replace(P=mdp.csr_P())
    sol = rls.dp.policy_iteration(mdp, pi0=np.array([1, 1, 1]))
    # no switch happens (no action beats the current one), so the first evaluation is final
    assert sol.converged and sol.iterations == 1


def test_pi_on_a_near_tie_below_tie_rtol_does_not_cycle():
    # perturb one action's reward by far less than TIE_RTOL: switching back and forth between
    # two actions whose values differ by round-off is what the tie rule prevents
    mdp = tied()
    R = np.array(mdp.R)
    R[:, 1] += 1e-3 * TIE_RTOL
    sol = rls.dp.policy_iteration(mdp.replace(R=R), pi0=np.array([0, 1, 0]), max_iter=50)
    assert sol.converged and sol.iterations <= 2
    assert sol.optimal_actions.all()


def test_batch_pi_on_a_tie_stops():
    mdp = tied()
    out = rls.solve_batch(mdp.P[None], mdp.R[None], mdp.gamma)
    assert out.converged[0] and out.iterations[0] == 1
    assert out.policy[0].tolist() == [0, 0, 0]


# -------------------------------------------------------------------- MPI
@pytest.mark.parametrize("m", [0, 1, 5])
def test_mpi_increases_monotonically_from_below(m):
    """From V0 = min R / (1 - gamma) (so T V0 >= V0), MPI's iterates increase monotonically to
    V* [puterman2005, §6.5]. The k-th iterate is what modified_policy_iteration returns with
    max_iter = k (unconverged)."""
    mdp = chain()
    V_star = V_star_chain()
    prev = np.full(mdp.S, mdp.R.min() / (1 - mdp.gamma))
    assert np.all(prev <= V_star)
    fp = 8 * U * V_star.max()           # a few roundings per sweep on values <= max V*
    for k in range(1, 40):
        V = rls.dp.modified_policy_iteration(mdp, m=m, max_iter=k).V
        assert np.all(V >= prev - fp), k
        assert np.all(V <= V_star + fp), k
        prev = V
    assert np.abs(prev - V_star).max() < 0.5     # and it does move towards V*


def test_mpi_with_m_zero_is_value_iteration_from_the_same_start():
    # m = 0 sweeps: each iteration is one greedy backup, i.e. VI [puterman2005, §6.5]
    mdp = chain()
    V0 = np.full(mdp.S, mdp.R.min() / (1 - mdp.gamma))
    for k in (1, 3, 10):
        a = rls.dp.modified_policy_iteration(mdp, m=0, max_iter=k, V0=V0).V
        b = rls.dp.value_iteration(mdp, max_iter=k, V0=V0).V
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------- episodic gamma = 1
def three_state_chain(sparse=False):
    """States 0, 1, 2 (terminal). Action 0: 0 -> 1; 1 -> 2 or stays, w.p. 1/2 each.
    Action 1: 0 stays; 1 -> 0. Reward -1 per step in 0 and 1."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = 1.0
    P[0, 1, 0] = 1.0
    P[1, 0, [1, 2]] = 0.5
    P[1, 1, 0] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[-1.0, -1.0], [-1.0, -1.0], [0.0, 0.0]])
    if sparse:
        P = sp.csr_array(P.reshape(6, 3))
    return rls.TabularMDP(P, R, 1.0, terminal=np.array([False, False, True]))


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_episodic_evaluation_by_hand(sparse):
    mdp = three_state_chain(sparse)
    # deterministic pi = (0, 0): V1 = -1 + V1/2 -> V1 = -2; V0 = -1 + V1 = -3
    np.testing.assert_allclose(rls.evaluate(mdp, np.array([0, 0, 0])), [-3.0, -2.0, 0.0],
                               rtol=0, atol=8 * U * 3)
    # stochastic: pi(0) = action 0; pi(1) = (1/2, 1/2):
    # V1 = -1 + 1/2 (V1/2) + 1/2 V0 and V0 = -1 + V1  ->  V1 = -6, V0 = -7
    pi = np.array([[1.0, 0.0], [0.5, 0.5], [0.5, 0.5]])
    np.testing.assert_allclose(rls.evaluate(mdp, pi), [-7.0, -6.0, 0.0], rtol=0, atol=8 * U * 7)
    # advantages at gamma = 1: A(0, 1) = Q(0, stay) - V(0) = (-1 + V0) - V0 = -1
    Adv = rls.advantages(mdp, np.array([0, 0, 0]))
    np.testing.assert_allclose(Adv[0], [0.0, -1.0], rtol=0, atol=8 * U * 3)
    np.testing.assert_allclose(Adv[1], [0.0, -1.0 + -3.0 - -2.0], rtol=0, atol=8 * U * 3)


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_episodic_improper_policy(sparse):
    with pytest.raises(ValueError, match="policy is improper: from state 0"):
        rls.evaluate(three_state_chain(sparse), np.array([1, 0, 0]))


# ------------------------------------------------------------ sparse LU vs dense
def test_sparse_lu_path_equals_dense():
    rng = np.random.default_rng(3)
    S, A = 30, 3
    # sparse kernel: 3 successors per (s, a)
    P = np.zeros((S, A, S))
    for s in range(S):
        for a in range(A):
            nxt = rng.choice(S, size=3, replace=False)
            P[s, a, nxt] = rng.dirichlet(np.ones(3))
    R = rng.standard_normal((S, A))
    dense = rls.TabularMDP(P, R, 0.95)
    sparse = rls.TabularMDP(sp.csr_array(P.reshape(S * A, S)), R, 0.95)
    pi = rng.dirichlet(np.ones(A), size=S)
    # both LU solves are within lu_err of V^pi: backward error gamma_{3S} with growth <= 2,
    # ||M|| <= 2, ||M^{-1}|| <= 1/(1-gamma) = 20, |V| <= max|R| / (1-gamma)
    Vmax = np.abs(R).max() / 0.05
    lu = 8 * (3 * S * U) * 20 * Vmax
    np.testing.assert_allclose(rls.evaluate(dense, pi), rls.evaluate(sparse, pi), rtol=0,
                               atol=2 * lu)
    d, s_ = rls.dp.policy_iteration(dense), rls.dp.policy_iteration(sparse)
    assert d.converged and s_.converged
    np.testing.assert_allclose(d.V, s_.V, rtol=0, atol=d.error_bound + s_.error_bound)
    assert sp.issparse(sparse.P_pi(sparse.policy(pi)))


# ------------------------------------------------------------- other contracts
@pytest.mark.parametrize("method", METHODS)
def test_gamma_zero_gives_max_reward(method):
    mdp = chain(gamma=0.0)
    sol = rls.solve(mdp, method=method)
    # gamma = 0: V* = max_a R exactly and error_bound certifies |V - V*| (its fp covers the
    # residual); the factor 1 + 4u covers this test's own subtraction and comparison
    np.testing.assert_allclose(sol.V, mdp.R.max(axis=1), rtol=0, atol=sol.error_bound * (1 + 4 * U))
    assert sol.converged


def test_vi_warm_started_at_V_star_stops_after_one_sweep():
    mdp = chain()
    sol = rls.dp.value_iteration(mdp, V0=V_star_chain())
    assert sol.converged and sol.iterations == 1


def test_solve_dispatches_and_defaults_to_pi():
    mdp = chain()
    assert rls.solve(mdp).method == "pi"
    for m in METHODS:
        assert rls.solve(mdp, method=m).method == m


def test_batch_vi_policy_is_greedy_for_the_returned_values():
    mdp = chain()
    out = rls.solve_batch(mdp.P[None], mdp.R[None], mdp.gamma, method="vi", eps=1e-6)
    Q = rls.q_values(mdp, out.V[0])
    np.testing.assert_array_equal(out.policy[0], Q.argmax(axis=1))


def test_error_bound_shrinks_with_eps():
    mdp = chain()
    sols = [rls.dp.value_iteration(mdp, eps=e) for e in (1e-2, 1e-5, 1e-8)]
    bounds = [s.error_bound for s in sols]
    # Puterman's rule gives ||V - V*|| < eps / 2 [puterman2005, Thm 6.3.1]; error_bound adds the
    # documented allowance fp = 2 S eps_mach (max|R| + max|V|) / (1 - gamma) (~2.9e-13 here), and
    # eps / 2 picks up <= 6 roundings (tol, gamma / (1 - gamma), the product): factor 1 + 8u
    for s, e in zip(sols, (1e-2, 1e-5, 1e-8)):
        fp = 4 * mdp.S * U * (np.abs(mdp.R).max() + np.abs(s.V).max()) / (1 - mdp.gamma)
        assert s.error_bound <= e / 2 * (1 + 8 * U) + fp
    assert bounds[0] > bounds[1] > bounds[2]
