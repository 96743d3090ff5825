"""Finite-horizon DP: backward induction and policy evaluation [puterman2005, §4.2-§4.5].

Tolerances. Backward induction and evaluation are exact recursions; their float64 round-off is
bounded by ``e = H (S + 1) eps (max|R| + max|V|)`` per entry (each backup sums S + 1 terms onto
a value carrying the later steps' error), with ``max|V| <= H max|R|``. Two independently
computed values therefore agree within ``2 e`` (``_fp``).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rlsandbox as rls
from rlsandbox.dp.finite_horizon import (FiniteHorizonSolution, backward_induction,
                                         evaluate_finite)
from rlsandbox.dp import TIE_RTOL
from rlsandbox.kernels.finite import _backward_induction, _evaluate_finite, _optimal_mask

EPS = np.finfo(np.float64).eps


def _fp(fh: rls.FiniteHorizonMDP) -> float:
    """2 e, the round-off allowance between two computations of the same value (module doc)."""
    H, S = fh.H, fh.S
    rmax = float(np.abs(fh.R).max())
    return 2.0 * H * (S + 1) * EPS * (rmax + H * rmax) + 1e-300


def _random_fh(rng: np.random.Generator, S: int, A: int, H: int, *,
               integer_rewards: bool = False, ties: bool = False) -> rls.FiniteHorizonMDP:
    """Dirichlet kernel rows; Gaussian rewards, or small integers (which make ties likely).

    ``ties=True`` forces exact ties: the last action copies action 0 everywhere (identical
    backups, so identical floats) and at the last step every action of state 0 has the same
    reward.
    """
    P = rng.dirichlet(np.ones(S), size=(H, S, A))
    R = rng.integers(0, 3, size=(H, S, A)).astype(float) if integer_rewards \
        else rng.standard_normal((H, S, A))
    if ties:
        P[:, :, -1], R[:, :, -1] = P[:, :, 0], R[:, :, 0]
        R[-1, 0, :] = R[-1, 0, 0]
    return rls.FiniteHorizonMDP(P, R, rho=rng.dirichlet(np.ones(S)))


def _numpy_backward(P: np.ndarray, R: np.ndarray):
    """Vectorised reference: the recursion of [puterman2005, §4.5] with np.einsum."""
    H, S, A, _ = P.shape
    V = np.zeros((H + 1, S))
    Q = np.zeros((H, S, A))
    for h in range(H - 1, -1, -1):
        Q[h] = R[h] + np.einsum("sat,t->sa", P[h], V[h + 1])
        V[h] = Q[h].max(axis=1)
    return V, Q


def _numpy_evaluate(P: np.ndarray, R: np.ndarray, pi: np.ndarray) -> np.ndarray:
    H, S, A, _ = P.shape
    V = np.zeros((H + 1, S))
    for h in range(H - 1, -1, -1):
        V[h] = np.einsum("sa,sa->s", pi[h], R[h] + np.einsum("sat,t->sa", P[h], V[h + 1]))
    return V


# --------------------------------------------------------------- hand-computed example
def _hand_example() -> rls.FiniteHorizonMDP:
    """S = 2, A = 2, H = 2; all numbers dyadic so every value below is exact in float64.

    Step 0: P0[0, 0] = (1, 0), P0[0, 1] = (1/2, 1/2), P0[1, 0] = (0, 1), P0[1, 1] = (1, 0);
            R0 = [[1, 0], [0, 2]].
    Step 1: R1 = [[0, 3], [1, 1]] (a tie at s = 1); P1 is irrelevant since V[2] = 0.
    By hand: Q1 = R1, V1 = (3, 1), pi1 = (1, 0 [tie, lowest index]);
    Q0[0] = (1 + V1[0], 0 + (V1[0] + V1[1]) / 2) = (4, 2);  Q0[1] = (0 + V1[1], 2 + V1[0]) = (1, 5);
    V0 = (4, 5), pi0 = (0, 1); value at rho = (1/2, 1/2): 4.5.
    """
    P0 = np.array([[[1.0, 0.0], [0.5, 0.5]], [[0.0, 1.0], [1.0, 0.0]]])
    P1 = np.array([[[0.0, 1.0], [1.0, 0.0]], [[0.5, 0.5], [0.0, 1.0]]])
    R = np.array([[[1.0, 0.0], [0.0, 2.0]], [[0.0, 3.0], [1.0, 1.0]]])
    return rls.FiniteHorizonMDP(np.array([P0, P1]), R)


def test_backward_induction_hand_computed_two_state_two_step():
    sol = backward_induction(_hand_example())
    np.testing.assert_array_equal(sol.V, [[4.0, 5.0], [3.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(sol.Q, [[[4.0, 2.0], [1.0, 5.0]], [[0.0, 3.0], [1.0, 1.0]]])
    np.testing.assert_array_equal(sol.policy, [[0, 1], [1, 0]])
    assert sol.policy.dtype == np.int64
    np.testing.assert_array_equal(sol.optimal_actions,
                                  [[[True, False], [False, True]], [[False, True], [True, True]]])
    assert sol.value == 4.5
    assert sol.H == 2


def test_evaluate_hand_computed_uniform_policy():
    # pi uniform at both steps. By hand: V1 = R1 @ (1/2, 1/2) = (3/2, 1);
    # Q0[0] = (1 + 3/2, (3/2 + 1)/2) = (5/2, 5/4) -> V0[0] = 15/8;
    # Q0[1] = (0 + 1, 2 + 3/2) = (1, 7/2) -> V0[1] = 9/4.
    V = evaluate_finite(_hand_example(), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(V, [[15 / 8, 9 / 4], [1.5, 1.0], [0.0, 0.0]])


def test_evaluate_nonstationary_deterministic_hand_computed():
    # pi0 = (1, 0), pi1 = (0, 1): V1 = (R1[0, 0], R1[1, 1]) = (0, 1);
    # V0[0] = R0[0, 1] + (V1[0] + V1[1]) / 2 = 1/2;  V0[1] = R0[1, 0] + V1[1] = 1.
    V = evaluate_finite(_hand_example(), np.array([[1, 0], [0, 1]]))
    np.testing.assert_array_equal(V, [[0.5, 1.0], [0.0, 1.0], [0.0, 0.0]])


def test_solve_and_evaluate_dispatch_to_finite_horizon():
    fh = _hand_example()
    sol = rls.solve(fh)
    assert isinstance(sol, FiniteHorizonSolution)
    np.testing.assert_array_equal(sol.V, backward_induction(fh).V)
    np.testing.assert_array_equal(rls.evaluate(fh, sol.policy), sol.V)


# --------------------------------------------------------------- kernels
@pytest.mark.parametrize("S, A, H", [(1, 1, 1), (2, 3, 4), (5, 2, 3)])
def test_kernels_match_py_func_and_numpy(S, A, H):
    rng = np.random.default_rng(100 + 10 * S + A + H)
    fh = _random_fh(rng, S, A, H)
    tol = _fp(fh)
    outs = []
    for fn in (_backward_induction, _backward_induction.py_func):
        V, Q, pi = np.empty((H + 1, S)), np.empty((H, S, A)), np.empty((H, S), dtype=np.int64)
        fn(fh.P, fh.R, V, Q, pi)
        outs.append((V, Q, pi))
    # the compiled kernel and its Python source execute the same operations in the same order
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    V_np, Q_np = _numpy_backward(fh.P, fh.R)
    np.testing.assert_allclose(outs[0][0], V_np, rtol=0, atol=tol)
    np.testing.assert_allclose(outs[0][1], Q_np, rtol=0, atol=tol)

    pi = rng.dirichlet(np.ones(A), size=(H, S))
    evals = []
    for fn in (_evaluate_finite, _evaluate_finite.py_func):
        V, Q = np.empty((H + 1, S)), np.empty((H, S, A))
        fn(fh.P, fh.R, pi, V, Q)
        evals.append(V)
    np.testing.assert_array_equal(evals[0], evals[1])
    np.testing.assert_allclose(evals[0], _numpy_evaluate(fh.P, fh.R, pi), rtol=0, atol=tol)


@pytest.mark.parametrize("ties", [False, True])
def test_optimal_mask_kernel_is_the_numpy_expression(ties):
    """The compiled mask is bitwise NumPy's ``Q >= Q.max(axis=2) - tie_tol`` with
    ``tie_tol = TIE_RTOL (1 + max|R| + max|Q|)``, exact ties included."""
    rng = np.random.default_rng(5)
    fh = _random_fh(rng, 6, 4, 5, integer_rewards=ties, ties=ties)
    H, S, A = fh.H, fh.S, fh.A
    V, Q, pi = np.empty((H + 1, S)), np.empty((H, S, A)), np.empty((H, S), dtype=np.int64)
    _backward_induction(fh.P, fh.R, V, Q, pi)
    mask = np.empty((H, S, A), dtype=np.bool_)
    tie_tol = _optimal_mask(Q, fh.R, V, TIE_RTOL, mask)
    want_tol = TIE_RTOL * (1.0 + float(np.abs(fh.R).max()) + float(np.abs(Q).max()))
    assert tie_tol == want_tol
    np.testing.assert_array_equal(mask, Q >= Q.max(axis=2, keepdims=True) - want_tol)
    if ties:
        assert (mask.sum(axis=2) > 1).any()       # the tied actions are all in the mask


# --------------------------------------------------------------- the unrolled model
def _unrolled(fh: rls.FiniteHorizonMDP) -> rls.TabularMDP:
    """The time-augmented episodic model: state h*S + s for (h, s), h < H, plus one absorbing
    zero-reward terminal state H*S; gamma = 1 and the terminal mask [puterman2005, §4.1: a
    finite-horizon MDP is a stationary one on the state space {0..H-1} x S]."""
    H, S, A = fh.H, fh.S, fh.A
    N = H * S + 1
    P = np.zeros((N, A, N))
    R = np.zeros((N, A))
    for h in range(H):
        for s in range(S):
            i = h * S + s
            R[i] = fh.R[h, s]
            if h + 1 < H:
                P[i, :, (h + 1) * S:(h + 2) * S] = fh.P[h, s]
            else:
                P[i, :, H * S] = 1.0
    P[H * S, :, H * S] = 1.0
    terminal = np.zeros(N, dtype=bool)
    terminal[H * S] = True
    return rls.TabularMDP(P, R, 1.0, terminal=terminal)


def _unroll_policy(pi: np.ndarray, fh: rls.FiniteHorizonMDP) -> np.ndarray:
    """(H, S, A) -> (H*S + 1, A); the terminal row's action is irrelevant (uniform)."""
    flat = pi.reshape(fh.H * fh.S, fh.A)
    return np.vstack([flat, np.full((1, fh.A), 1.0 / fh.A)])


@pytest.mark.parametrize("seed", range(4))
def test_evaluate_finite_equals_unrolled_episodic_evaluation(seed):
    rng = np.random.default_rng(seed)
    S, A, H = 3, 2, 4
    fh = _random_fh(rng, S, A, H)
    pi = rng.dirichlet(np.ones(A), size=(H, S))
    V = evaluate_finite(fh, pi)
    V_aug = rls.evaluate(_unrolled(fh), _unroll_policy(pi, fh))
    # LU on M = I - N (N the nilpotent block kernel, n = H S unknowns): forward error
    # <= c n eps cond_inf(M) max|V| with ||M||_inf <= 2 and ||M^-1||_inf <= H (M^-1 = sum_{k<H} N^k);
    # c = 10 is a conservative constant for partial pivoting on such systems. Plus our own 2 e.
    n = H * S
    tol = 10 * n * EPS * (2 * H) * float(np.abs(V).max()) + _fp(fh)
    np.testing.assert_allclose(V_aug[:-1].reshape(H, S), V[:H], rtol=0, atol=tol)
    assert V_aug[-1] == 0.0


# --------------------------------------------------------------- enumeration
@pytest.mark.parametrize("S, A, H, ties, seed", [
    (2, 2, 3, False, 0), (3, 2, 2, False, 1), (2, 3, 2, False, 2),
    (2, 2, 3, True, 3), (3, 2, 2, True, 4), (2, 3, 2, True, 5),     # forced exact ties
])
def test_backward_induction_equals_enumeration_of_deterministic_policies(S, A, H, ties, seed):
    """V*[h, s] = max over all A^(H S) deterministic Markov policies of V^pi[h, s], attained
    by the returned policy; a policy attains V* everywhere iff it picks only actions marked in
    optimal_actions (exact DP: the greedy policies are exactly the optimal ones, up to the tie
    tolerance)."""
    rng = np.random.default_rng(seed)
    fh = _random_fh(rng, S, A, H, ties=ties)
    sol = backward_induction(fh)
    tol = _fp(fh)
    best = np.full((H + 1, S), -np.inf)
    n_optimal = 0
    for actions in itertools.product(range(A), repeat=H * S):
        pi = np.array(actions, dtype=np.int64).reshape(H, S)
        V = evaluate_finite(fh, pi)
        best = np.maximum(best, V)
        attains = bool(np.all(np.abs(V - sol.V) <= tol))
        uses_marked = bool(np.all(sol.optimal_actions[np.arange(H)[:, None], np.arange(S), pi]))
        assert attains == uses_marked, pi
        n_optimal += attains
    np.testing.assert_allclose(sol.V, best, rtol=0, atol=tol)
    np.testing.assert_allclose(evaluate_finite(fh, sol.policy), sol.V, rtol=0, atol=tol)
    assert n_optimal == int(np.prod(sol.optimal_actions.sum(axis=2)))
    if ties:
        assert n_optimal >= A         # at least the A-way tie at (H-1, state 0)


def test_optimal_actions_tie_tolerance_does_not_merge_distinct_actions():
    """Two actions whose values differ by 1e-6 (far above tie_tol ~ 1e-9) are not tied."""
    P = np.ones((1, 1, 2, 1))
    R = np.array([[[1.0, 1.0 - 1e-6]]])
    sol = backward_induction(rls.FiniteHorizonMDP(P, R))
    np.testing.assert_array_equal(sol.optimal_actions, [[[True, False]]])
    assert sol.tie_tol < 1e-6


# --------------------------------------------------------------- properties
@st.composite
def _instance_and_policy(draw):
    S = draw(st.integers(1, 4))
    A = draw(st.integers(1, 3))
    H = draw(st.integers(1, 5))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    fh = _random_fh(rng, S, A, H, integer_rewards=draw(st.booleans()))
    if draw(st.booleans()):
        pi = rng.dirichlet(np.ones(A), size=(H, S))
    else:
        pi = rng.integers(0, A, size=(H, S))
    return fh, pi


@settings(max_examples=50, deadline=None)
@given(_instance_and_policy())
def test_optimal_value_dominates_every_policy(case):
    fh, pi = case
    sol = backward_induction(fh)
    V = evaluate_finite(fh, pi)
    assert np.all(sol.V >= V - _fp(fh))
    # the greedy policy achieves V*, and V* satisfies its own optimality equation exactly
    np.testing.assert_allclose(evaluate_finite(fh, sol.policy), sol.V, rtol=0, atol=_fp(fh))
    np.testing.assert_array_equal(sol.V[fh.H], 0.0)
    assert sol.value == float(fh.rho @ sol.V[0])


@settings(max_examples=50, deadline=None)
@given(_instance_and_policy())
def test_stationary_policy_equals_its_broadcast(case):
    fh, pi = case
    pi0 = pi[0]
    V_stat = evaluate_finite(fh, pi0)
    V_broad = evaluate_finite(fh, np.broadcast_to(pi0, (fh.H, *pi0.shape)))
    np.testing.assert_array_equal(V_stat, V_broad)


# --------------------------------------------------------------- contracts and errors
def test_outputs_are_read_only_and_inputs_not_mutated():
    fh = _hand_example()
    P_before = fh.P.copy()
    pi = np.full((2, 2, 2), 0.5)
    sol = backward_induction(fh)
    V = evaluate_finite(fh, pi)
    for arr in (sol.V, sol.Q, sol.policy, sol.optimal_actions, V):
        assert not arr.flags.writeable
    np.testing.assert_array_equal(fh.P, P_before)
    np.testing.assert_array_equal(pi, 0.5)


def test_backward_induction_refuses_a_tabular_mdp():
    mdp = rls.TabularMDP(np.ones((1, 1, 1)), np.zeros((1, 1)), 0.5)
    with pytest.raises(TypeError, match=r"backward_induction expects a FiniteHorizonMDP, got "
                                        r"TabularMDP"):
        backward_induction(mdp)
    with pytest.raises(TypeError, match=r"evaluate_finite expects a FiniteHorizonMDP"):
        evaluate_finite(mdp, np.zeros(1, dtype=int))


def test_evaluate_finite_bad_policy_messages():
    fh = _hand_example()
    with pytest.raises(ValueError, match=r"pi has shape \(3, 2\); expected \(2, 2, 2\)"):
        evaluate_finite(fh, np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"pi\[1, 0\] = 2 is not an action"):
        evaluate_finite(fh, np.array([[0, 0], [2, 0]]))
    with pytest.raises(ValueError, match=r"pi\[0, 1, :\] sums to 0.9"):
        evaluate_finite(fh, np.array([[[0.5, 0.5], [0.4, 0.5]], [[0.5, 0.5], [0.5, 0.5]]]))
