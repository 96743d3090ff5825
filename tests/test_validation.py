"""One test per validation message (STYLE.md §6, §7.1).

Covers the checkers of rlsandbox/_validate.py and the messages raised by rlsandbox/mdp.py,
rlsandbox/dp/discounted.py, rlsandbox/dp/batch.py and rlsandbox/dp/__init__.py: each test builds
the smallest input that triggers the message and matches its text (the offending value, the
index it names, the fix it suggests). Then the construction contract: arrays read-only, inputs
not mutated, integers become float64.
"""
from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import rlsandbox as rls
from rlsandbox import _validate as V

# A 2-state, 2-action model: action 0 stays, action 1 switches.
P = np.array([[[1.0, 0.0], [0.0, 1.0]],
              [[0.0, 1.0], [1.0, 0.0]]])
R = np.array([[0.0, 1.0],
              [2.0, 0.0]])


def mdp(**kw):
    args = {"P": P, "R": R, "gamma": 0.9}
    args.update(kw)
    return rls.TabularMDP(**args)


def raises(exc, text):
    """pytest.raises matching ``text`` literally (messages hold brackets and dots)."""
    return pytest.raises(exc, match=re.escape(text))


# ===================================================================== _validate.py
class TestCheckFloatArray:
    @pytest.mark.parametrize("bad", ["P", b"P", None], ids=["str", "bytes", "None"])
    def test_not_an_array(self, bad):
        with raises(TypeError, f"P must be an array of real numbers, got {type(bad).__name__}"):
            mdp(P=bad)

    def test_sparse_where_dense_needed(self):
        with raises(TypeError, "R must be a dense array, got a scipy.sparse csr_array; pass R.toarray()"):
            mdp(R=sp.csr_array(R))

    def test_object_with_non_numeric_entries(self):
        bad = np.array([[0.0, [1.0]], [2.0, 0.0]], dtype=object)
        with raises(TypeError, "R has dtype object with non-numeric entries"):
            mdp(R=bad)

    @pytest.mark.parametrize("entry", ["1.0", None], ids=["str", "None"])
    def test_bug_object_array_strings_accepted(self, entry):
        # regression: an object array holding numeric strings ("1.0") was converted silently,
        # and None became NaN with a misleading "is nan" message
        bad = R.astype(object)
        bad[1, 0] = entry
        with raises(TypeError, f"R has dtype object holding {type(entry).__name__} {entry!r}"):
            mdp(R=bad)

    @pytest.mark.parametrize("dtype", [np.complex128, "U3", "datetime64[s]"])
    def test_wrong_dtype(self, dtype):
        with raises(TypeError, f"R has dtype {np.dtype(dtype)}; expected real numbers (float or int)"):
            mdp(R=np.zeros((2, 2), dtype=dtype))

    def test_wrong_ndim(self):
        with raises(ValueError, "P has 2 dimensions (shape (2, 2)); expected 3"):
            mdp(P=np.eye(2))

    def test_wrong_shape(self):
        with raises(ValueError, "V has shape (3,); expected (2)"):
            rls.q_values(mdp(), np.zeros(3))

    def test_wrong_shape_with_free_axis(self):
        with raises(ValueError, "x has shape (2, 3); expected (*, 2)"):
            V.check_float_array("x", np.zeros((2, 3)), shape=(None, 2))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_check_finite_names_first_index(value):
    bad = R.copy()
    bad[1, 0] = value
    with raises(ValueError, f"R[1, 0] is {value}; every entry of R must be finite (no NaN or inf)"):
        mdp(R=bad)


def test_check_finite_in_P():
    bad = P.copy()
    bad[0, 1, 1] = np.nan
    with raises(ValueError, "P[0, 1, 1] is nan; every entry of P must be finite"):
        mdp(P=bad)


def test_check_nonnegative_names_entry():
    bad = P.copy()
    bad[1, 0] = [-0.25, 1.25]                    # row still sums to 1
    with raises(ValueError, "P[1, 0, 0] = -0.25 is negative; probabilities must be >= 0. "
                            "Nothing is clipped"):
        mdp(P=bad)


def test_check_rows_sum_to_one_names_first_row_and_sum():
    bad = P.copy()
    bad[1, 0] = [0.45, 0.48]                     # first bad row is (s, a) = (1, 0), sum 0.93
    bad[1, 1] = [0.5, 0.6]
    with raises(ValueError, "P[1, 0, :] sums to 0.93; every row of P must sum to 1 (atol 1e-09). "
                            "If P holds unnormalised weights, pass P / P.sum(-1, keepdims=True)"):
        mdp(P=bad)


@pytest.mark.parametrize("where", ["P", "P-csr", "rho", "batch", "distribution"])
def test_bug_row_sum_overflow_warning_escapes(where):
    # regression: rows of huge entries (1e308 + 1e308) made the row-sum check emit
    # "RuntimeWarning: overflow encountered in reduce" (an exception under -W error) before
    # its ValueError; the sum is now inf and the row is refused with the usual message
    huge = np.full((2, 1, 2), 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if where == "P":
            with raises(ValueError, "P[0, 0, :] sums to inf; every row of P must sum to 1"):
                mdp(P=huge, R=np.zeros((2, 1)))
        elif where == "P-csr":
            with raises(ValueError, "P[0, 0, :] (row 0) sums to inf; every row must sum to 1"):
                mdp(P=sp.csr_array(huge.reshape(2, 2)), R=np.zeros((2, 1)))
        elif where == "rho":
            with raises(ValueError, "rho sums to inf"):
                mdp(rho=[1e308, 1e308])
        elif where == "batch":
            with raises(ValueError, "P[0, 0, 0, :] sums to inf"):
                rls.solve_batch(huge[None], np.zeros((1, 2, 1)), 0.5)
        else:
            with raises(ValueError, "mu sums to inf over its last 2 axes"):
                V.check_distribution("mu", np.full((2, 2), 1e308), shape=(2, 2))


def test_row_sum_tolerance_is_1e_9():
    # 2e-9 off is refused, 5e-10 off is accepted (atol 1e-9, ROW_SUM_ATOL)
    assert V.ROW_SUM_ATOL == 1e-9
    off = P.copy()
    off[0, 0] = [1.0 - 5e-10, 0.0]
    mdp(P=off)
    off[0, 0] = [1.0 - 2e-9, 0.0]
    with raises(ValueError, "P[0, 0, :] sums to"):
        mdp(P=off)


class TestSparseP:
    def Pcsr(self, M=None):
        return sp.csr_array(P.reshape(4, 2) if M is None else M)

    def test_not_sparse(self):
        with raises(TypeError, "P must be a scipy.sparse matrix, got ndarray"):
            V.check_stochastic_csr("P", P.reshape(4, 2))

    def test_wrong_number_of_columns(self):
        with raises(ValueError, "P has shape (4, 2); expected (*, 3)"):
            V.check_stochastic_csr("P", self.Pcsr(), n_cols=3)

    def test_rows_not_multiple_of_S(self):
        with raises(ValueError, "sparse P has shape (5, 2); expected (S*A, S) with row s*A + a"):
            mdp(P=sp.csr_array(np.vstack([P.reshape(4, 2), [[1.0, 0.0]]])))

    def test_bug_sparse_1d_unpack_error(self):
        # regression: a 1-D scipy.sparse array crashed with "not enough values to unpack"
        with raises(ValueError, "sparse P has shape (2,); expected (S*A, S)"):
            mdp(P=sp.coo_array(np.array([0.5, 0.5])))

    def test_bug_sparse_complex_imaginary_part_dropped(self):
        # regression: a complex sparse P was cast to float64, silently dropping imaginary parts
        M = self.Pcsr().astype(np.complex128)
        with raises(TypeError, "P has dtype complex128; expected real numbers (float or int)"):
            mdp(P=M)

    def test_nan_in_data(self):
        M = self.Pcsr()
        M.data[2] = np.nan
        with raises(ValueError, "P.data[2] is nan; every entry of P.data must be finite"):
            mdp(P=M)

    def test_negative_entry(self):
        M = sp.csr_array(np.array([[1.0, 0.0], [0.0, 1.0], [-0.5, 1.5], [1.0, 0.0]]))
        with raises(ValueError, "P[1, 0, :] (row 2) has entry -0.5 in column 0, which is negative; probabilities must be >= 0"):
            mdp(P=M)

    def test_row_sum(self):
        M = sp.csr_array(np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.4], [1.0, 0.0]]))
        with raises(ValueError, "P[1, 0, :] (row 2) sums to 0.9; every row must sum to 1 (atol 1e-09)"):
            mdp(P=M)

    def test_empty_row_is_not_a_distribution(self):
        M = sp.csr_array(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]))
        with raises(ValueError, "P[0, 1, :] (row 1) sums to 0; every row must sum to 1"):
            mdp(P=M)


class TestScalars:
    @pytest.mark.parametrize("bad", ["0.9", None, True, 0.5 + 0j, [0.9], np.array([0.9])],
                             ids=["str", "None", "bool", "complex", "list", "1d-array"])
    def test_gamma_not_a_real(self, bad):
        with raises(TypeError, f"gamma must be a real number, got {type(bad).__name__}"):
            mdp(gamma=bad)

    @pytest.mark.parametrize("bad", [np.nan, np.inf])
    def test_gamma_not_finite(self, bad):
        with raises(ValueError, f"gamma is {bad}; expected a finite real number"):
            mdp(gamma=bad)

    @pytest.mark.parametrize("bad", [-0.1, 1.0000001, 2])
    def test_gamma_outside_unit_interval(self, bad):
        with raises(ValueError, f"gamma == {float(bad)!r}, must be in [0, 1]"):
            mdp(gamma=bad)

    def test_gamma_zero_dim_array_and_numpy_scalar_accepted(self):
        assert mdp(gamma=np.array(0.5)).gamma == 0.5
        assert type(mdp(gamma=np.float32(0.5)).gamma) is float

    def test_int_refuses_float(self):
        with raises(TypeError, "max_iter must be an integer, got float 10.0"):
            rls.dp.value_iteration(mdp(), max_iter=10.0)

    def test_int_refuses_bool(self):
        with raises(TypeError, "max_iter must be an integer, got bool True"):
            rls.dp.policy_iteration(mdp(), max_iter=True)

    def test_int_below_low(self):
        with raises(ValueError, "max_iter == 0, must be in [1, inf]"):
            rls.dp.policy_iteration(mdp(), max_iter=0)

    def test_eps_must_be_positive(self):
        with raises(ValueError, "eps == 0.0, must be in (0, inf)"):
            rls.dp.value_iteration(mdp(), eps=0.0)

    def test_choice(self):
        with raises(ValueError, "method == 'qlearning'; expected one of 'vi', 'pi', 'mpi', 'lp'"):
            rls.solve(mdp(), method="qlearning")


class TestPolicies:
    def test_action_out_of_range(self):
        with raises(ValueError, "pi[1] = 2 is not an action; actions are integers in [0, 2)"):
            rls.evaluate(mdp(), np.array([0, 2]))

    def test_negative_action(self):
        with raises(ValueError, "pi[0] = -1 is not an action"):
            rls.evaluate(mdp(), np.array([-1, 0]))

    def test_float_deterministic_policy(self):
        with raises(TypeError, "pi has shape (2,) (a deterministic policy) but dtype float64; "
                               "deterministic policies are integer arrays. Pass pi.astype(int)"):
            rls.evaluate(mdp(), np.array([0.0, 1.0]))

    def test_bool_deterministic_policy(self):
        with raises(TypeError, "but dtype bool; deterministic policies are integer arrays"):
            rls.evaluate(mdp(), np.array([False, True]))

    def test_wrong_shape(self):
        with raises(ValueError, "pi has shape (3,); expected (2, 2) (stochastic) or (2,) "
                                "(deterministic, integer actions)"):
            rls.evaluate(mdp(), np.array([0, 1, 1]))

    def test_stochastic_rows(self):
        with raises(ValueError, "pi[1, :] sums to 0.8; every row of pi must sum to 1"):
            rls.evaluate(mdp(), np.array([[0.5, 0.5], [0.4, 0.4]]))

    def test_stochastic_negative(self):
        with raises(ValueError, "pi[0, 0] = -0.5 is negative"):
            rls.evaluate(mdp(), np.array([[-0.5, 1.5], [0.5, 0.5]]))

    def test_stochastic_nan(self):
        with raises(ValueError, "pi[0, 1] is nan"):
            rls.evaluate(mdp(), np.array([[0.5, np.nan], [0.5, 0.5]]))

    def test_pi0_must_be_deterministic(self):
        with raises(ValueError, "pi0 must be a deterministic policy (S,) of integer actions"):
            rls.dp.policy_iteration(mdp(), pi0=np.full((2, 2), 0.5))

    def test_finite_horizon_policy_shape(self):
        fh = rls.FiniteHorizonMDP(np.stack([P, P, P]), np.stack([R, R, R]))
        with raises(ValueError, "pi has shape (2, 2, 2); expected (3, 2, 2) (stochastic) or "
                                "(3, 2) (deterministic"):
            fh.policy(np.full((2, 2, 2), 0.5))


# ========================================================================= mdp.py
class TestTabularMDP:
    def test_P_not_square(self):
        with raises(ValueError, "P has shape (2, 2, 3); expected (S, A, S) with S, A >= 1"):
            mdp(P=np.full((2, 2, 3), 1 / 3))

    def test_P_empty(self):
        with raises(ValueError, "P has shape (0, 1, 0); expected (S, A, S) with S, A >= 1"):
            mdp(P=np.zeros((0, 1, 0)), R=np.zeros((0, 1)))

    def test_R_wrong_2d_shape(self):
        with raises(ValueError, "R has shape (3, 2); expected (S, A) = (2, 2) to match P of "
                                "shape (2, 2, 2)"):
            mdp(R=np.zeros((3, 2)))

    def test_R_wrong_3d_shape(self):
        with raises(ValueError, "R has shape (2, 2, 3); expected (S, A) = (2, 2) or (S, A, S) = "
                                "(2, 2, 2) to match P"):
            mdp(R=np.zeros((2, 2, 3)))

    def test_R_wrong_ndim(self):
        with raises(ValueError, "R has 1 dimensions (shape (2,)); expected 2 or 3"):
            mdp(R=np.zeros(2))

    def test_R_sas_reduced_to_expectation(self):
        P_mix = np.full((2, 2, 2), 0.5)
        R_sas = np.arange(8.0).reshape(2, 2, 2)       # R[s, a, s'] = 4s + 2a + s'
        m = mdp(P=P_mix, R=R_sas)
        # sum_s' 0.5 R[s, a, s'] = 4s + 2a + 0.5
        np.testing.assert_array_equal(m.R, [[0.5, 2.5], [4.5, 6.5]])
        np.testing.assert_array_equal(m.R_sas, R_sas)

    @pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
    def test_bug_R_sas_expectation_overflows_to_inf(self, sparse):
        # regression: finite R[s, a, s'] near the float64 maximum, with rows of P summing to
        # 1 + 8e-10 (inside the 1e-9 tolerance), reduced to an expected reward of inf that the
        # model then held
        P_up = np.full((2, 1, 2), 0.5 + 4e-10)
        P_ = sp.csr_array(P_up.reshape(2, 2)) if sparse else P_up
        big = np.finfo(np.float64).max
        with raises(ValueError, "R[0, 0] = sum_s' P[0, 0, s'] R[0, 0, s'] overflows to inf; "
                                "rescale the rewards"):
            mdp(P=P_, R=np.full((2, 1, 2), big))

    def test_rho_shape(self):
        with raises(ValueError, "rho has shape (3,); expected (2)"):
            mdp(rho=np.full(3, 1 / 3))

    def test_rho_not_a_distribution(self):
        with raises(ValueError, "rho sums to 1.1; every row of rho must sum to 1 (atol 1e-09)"):
            mdp(rho=[0.5, 0.6])

    def test_rho_negative(self):
        with raises(ValueError, "rho[0] = -0.5 is negative"):
            mdp(rho=[-0.5, 1.5])

    def test_rho_nan(self):
        with raises(ValueError, "rho[1] is nan"):
            mdp(rho=[0.5, np.nan])

    def test_terminal_wrong_dtype(self):
        with raises(TypeError, "terminal has dtype int64; expected a boolean mask of shape (2,)"):
            mdp(terminal=np.array([1, 0]))

    def test_terminal_wrong_shape(self):
        with raises(ValueError, "terminal has shape (3,); expected (2,)"):
            mdp(terminal=np.array([True, False, False]))

    @pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
    def test_terminal_not_absorbing(self, sparse):
        P_ = sp.csr_array(P.reshape(4, 2)) if sparse else P
        with raises(ValueError, "terminal state 0 is not absorbing: P[0, 1, 0] = 0; a terminal "
                                "state must return to itself with probability 1 under every action"):
            mdp(P=P_, R=np.zeros((2, 2)), terminal=np.array([True, False]))

    @pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
    def test_terminal_nonzero_reward(self, sparse):
        P_abs = P.copy()
        P_abs[0, 1] = [1.0, 0.0]
        P_ = sp.csr_array(P_abs.reshape(4, 2)) if sparse else P_abs
        with raises(ValueError, "terminal state 0 has reward R[0, 1] = 1; terminal states must "
                                "have zero reward"):
            mdp(P=P_, R=np.array([[0.0, 1.0], [2.0, 0.0]]), terminal=np.array([True, False]))

    def test_replace_revalidates(self):
        with raises(ValueError, "gamma == 1.5, must be in [0, 1]"):
            mdp().replace(gamma=1.5)


class TestFiniteHorizonMDP:
    def test_stationary_P_needs_H(self):
        with raises(ValueError, "P has shape (2, 2, 2) (stationary); pass H=... for the horizon"):
            rls.FiniteHorizonMDP(P, R)

    def test_H_disagrees_with_P(self):
        with raises(ValueError, "H == 3 but P has shape (2, 2, 2, 2) (2 steps); drop H or make "
                                "them agree"):
            rls.FiniteHorizonMDP(np.stack([P, P]), R, H=3)

    def test_H_not_positive(self):
        with raises(ValueError, "H == 0, must be in [1, inf]"):
            rls.FiniteHorizonMDP(P, R, H=0)

    def test_P_not_square(self):
        with raises(ValueError, "P has shape (1, 2, 2, 3); expected (H, S, A, S) with H, S, A >= 1"):
            rls.FiniteHorizonMDP(np.full((1, 2, 2, 3), 1 / 3), R)

    def test_per_step_row_sum(self):
        bad = np.stack([P, P])
        bad[1, 0, 1] = [0.5, 0.3]
        with raises(ValueError, "P[1, 0, 1, :] sums to 0.8"):
            rls.FiniteHorizonMDP(bad, np.stack([R, R]))

    def test_R_2d_wrong(self):
        with raises(ValueError, "R has shape (3, 2); expected (S, A) = (2, 2) or (H, S, A) = "
                                "(2, 2, 2)"):
            rls.FiniteHorizonMDP(np.stack([P, P]), np.zeros((3, 2)))

    def test_R_3d_wrong(self):
        with raises(ValueError, "R has shape (3, 2, 2); expected (H, S, A) = (2, 2, 2) to match P"):
            rls.FiniteHorizonMDP(np.stack([P, P]), np.zeros((3, 2, 2)))

    def test_bug_integer_HS_policy_read_as_stationary_stochastic(self):
        # regression: with H == S == A an integer (H, S) deterministic policy was read as a
        # stationary stochastic (S, A) one (rows [0, 1] -> "action 1 w.p. 1" at every step)
        fh = rls.FiniteHorizonMDP(np.stack([P, P]), np.stack([R, R]))
        pi = fh.policy(np.array([[0, 1], [1, 1]]))        # h=0: s0->0, s1->1; h=1: both ->1
        np.testing.assert_array_equal(pi, [[0, 1], [1, 1]])


# ========================================================================= dp
class TestDiscountRequired:
    @pytest.mark.parametrize("method,what", [("vi", "value iteration"),
                                             ("pi", "policy iteration"),
                                             ("mpi", "modified policy iteration"),
                                             ("lp", "the linear program")])
    def test_gamma_one_refused_with_alternatives(self, method, what):
        with raises(ValueError, f"mdp.gamma == 1.0, must be in [0, 1) for {what}. For average "
                                f"reward use rlsandbox.solve_average; for an episodic task "
                                f"evaluate a proper policy with rlsandbox.evaluate"):
            rls.solve(mdp(gamma=1.0), method=method)

    def test_evaluate_gamma_one_without_terminal(self):
        with raises(ValueError, "gamma == 1 and the model has no terminal states, so V^pi is not "
                                "defined. Pass terminal=... for an episodic task, use gamma < 1"):
            rls.evaluate(mdp(gamma=1.0), np.array([0, 0]))

    def test_improper_policy_at_gamma_one(self):
        # 3 states, state 2 terminal. Action 0 moves right (0 -> 1 -> 2); action 1 stays.
        # The policy (0, 1, *) leaves state 1 forever: improper from states 0 and 1, and the
        # first such state is 0.
        P3 = np.zeros((3, 2, 3))
        P3[0, 0, 1] = P3[1, 0, 2] = P3[2, :, 2] = 1.0
        P3[0, 1, 0] = P3[1, 1, 1] = 1.0
        R3 = np.array([[-1.0, -1.0], [-1.0, -1.0], [0.0, 0.0]])
        m = rls.TabularMDP(P3, R3, 1.0, terminal=np.array([False, False, True]))
        with raises(ValueError, "policy is improper: from state 0 no terminal state is ever "
                                "reached (2 such states), so its gamma == 1 value is undefined. "
                                "Use a proper policy, or gamma < 1"):
            rls.evaluate(m, np.array([0, 1, 0]))
        with raises(ValueError, "policy is improper"):
            rls.advantages(m, np.array([0, 1, 0]))
        np.testing.assert_array_equal(rls.evaluate(m, np.array([0, 0, 0])), [-2.0, -1.0, 0.0])


class TestDpArguments:
    def test_solve_wrong_type(self):
        with raises(TypeError, "solve expects a TabularMDP or FiniteHorizonMDP, got tuple; build "
                               "one with rlsandbox.TabularMDP(P, R, gamma)"):
            rls.solve((P, R, 0.9))

    def test_evaluate_wrong_type(self):
        with raises(TypeError, "evaluate expects a TabularMDP or FiniteHorizonMDP, got dict"):
            rls.evaluate({"P": P}, np.array([0, 0]))

    def test_mpi_m_negative(self):
        with raises(ValueError, "m == -1, must be in [0, inf]"):
            rls.dp.modified_policy_iteration(mdp(), m=-1)

    @pytest.mark.parametrize("fn", ["value_iteration", "modified_policy_iteration"])
    def test_V0_shape(self, fn):
        with raises(ValueError, "V0 has shape (3,); expected (2)"):
            getattr(rls.dp, fn)(mdp(), V0=np.zeros(3))

    def test_V0_nan(self):
        with raises(ValueError, "V0[1] is nan"):
            rls.dp.value_iteration(mdp(), V0=np.array([0.0, np.nan]))

    def test_bellman_evaluation_policy_checked(self):
        with raises(ValueError, "pi[0] = 5 is not an action"):
            rls.bellman_evaluation(mdp(), np.array([5, 0]), np.zeros(2))


class TestSolveBatch:
    Pb = np.stack([P, P])
    Rb = np.stack([R, R])

    def test_P_shape(self):
        with raises(ValueError, "P has shape (2, 2, 2, 3); expected (N, S, A, S) with N, S, A >= 1"):
            rls.solve_batch(np.full((2, 2, 2, 3), 1 / 3), self.Rb, 0.9)

    def test_P_ndim(self):
        with raises(ValueError, "P has 3 dimensions (shape (2, 2, 2)); expected 4"):
            rls.solve_batch(P, R, 0.9)

    def test_P_rows(self):
        bad = self.Pb.copy()
        bad[1, 1, 0] = [0.2, 0.2]
        with raises(ValueError, "P[1, 1, 0, :] sums to 0.4"):
            rls.solve_batch(bad, self.Rb, 0.9)

    def test_P_negative(self):
        bad = self.Pb.copy()
        bad[0, 1, 1] = [1.5, -0.5]
        with raises(ValueError, "P[0, 1, 1, 1] = -0.5 is negative"):
            rls.solve_batch(bad, self.Rb, 0.9)

    def test_R_shape(self):
        with raises(ValueError, "R has shape (2, 2); expected (2, 2, 2)"):
            rls.solve_batch(self.Pb, R, 0.9)

    def test_scalar_gamma_one(self):
        with raises(ValueError, "gamma == 1.0, must be in [0, 1). solve_batch needs a discount below 1"):
            rls.solve_batch(self.Pb, self.Rb, 1.0)

    def test_vector_gamma_entry(self):
        with raises(ValueError, "gamma[1] == 1.0, must be in [0, 1)"):
            rls.solve_batch(self.Pb, self.Rb, [0.5, 1.0])

    def test_vector_gamma_shape(self):
        with raises(ValueError, "gamma has shape (3,); expected (2)"):
            rls.solve_batch(self.Pb, self.Rb, [0.5, 0.5, 0.5])

    @pytest.mark.parametrize("bad,dtype", [(["a", "b"], "<U1"), ([0.5j, 0.5], "complex128")],
                             ids=["str", "complex"])
    def test_bug_batch_gamma_raw_numpy_errors(self, bad, dtype):
        # regression: gamma was first passed through np.asarray(gamma, dtype=float64), which
        # raised NumPy's own "could not convert string to float" (or a ComplexWarning)
        with raises(TypeError, f"gamma has dtype {dtype}; expected real numbers"):
            rls.solve_batch(self.Pb, self.Rb, bad)

    def test_zero_dim_gamma_is_a_scalar(self):
        out = rls.solve_batch(self.Pb, self.Rb, np.array(0.5))
        assert out.converged.all()

    def test_method(self):
        with raises(ValueError, "method == 'lp'; expected one of 'pi', 'vi'"):
            rls.solve_batch(self.Pb, self.Rb, 0.9, method="lp")


# ============================================================ construction contract
def test_arrays_read_only_after_construction():
    m = mdp(rho=[0.25, 0.75], terminal=np.array([False, False]))
    for name in ("P", "R", "rho", "terminal"):
        arr = getattr(m, name)
        assert not arr.flags.writeable, name
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 0
    ms = mdp(P=sp.csr_array(P.reshape(4, 2)))
    for arr in (ms.P.data, ms.P.indices, ms.P.indptr):
        assert not arr.flags.writeable
    with pytest.raises(Exception):            # frozen dataclass
        m.gamma = 0.5


def test_solution_arrays_read_only():
    sol = rls.solve(mdp())
    for name in ("V", "Q", "policy", "optimal_actions"):
        assert not getattr(sol, name).flags.writeable, name
    out = rls.solve_batch(np.stack([P]), np.stack([R]), 0.9)
    for name in ("V", "policy", "iterations", "converged", "error_bound"):
        assert not getattr(out, name).flags.writeable, name


def test_inputs_not_mutated_and_not_aliased():
    P_in, R_in, rho_in = P.copy(), R.copy(), np.array([0.25, 0.75])
    m = rls.TabularMDP(P_in, R_in, 0.9, rho=rho_in)
    np.testing.assert_array_equal(P_in, P)
    np.testing.assert_array_equal(R_in, R)
    assert P_in.flags.writeable and R_in.flags.writeable and rho_in.flags.writeable
    P_in[0, 0] = [0.5, 0.5]                   # changing the caller's array later ...
    assert m.P[0, 0].tolist() == [1.0, 0.0]   # ... does not change the model
    M = sp.csr_array(P.reshape(4, 2))
    ms = rls.TabularMDP(M, R, 0.9)
    M.data[0] = 0.5
    assert ms.P.data[0] == 1.0
    Pb, Rb = np.stack([P]), np.stack([R])
    rls.solve_batch(Pb, Rb, 0.9)
    np.testing.assert_array_equal(Pb[0], P)
    pi = np.array([1, 0])
    rls.evaluate(m, pi)
    assert pi.tolist() == [1, 0] and pi.flags.writeable
    # warm starts are copied before the solvers iterate in place
    V0 = np.array([1.0, 2.0])
    for fn in (rls.dp.value_iteration, rls.dp.modified_policy_iteration):
        fn(m, V0=V0, max_iter=3)
        assert V0.tolist() == [1.0, 2.0], fn.__name__
    pi0 = np.array([1, 1])
    rls.dp.policy_iteration(m, pi0=pi0)
    assert pi0.tolist() == [1, 1]


def test_ints_become_float64():
    m = rls.TabularMDP(P.astype(np.int32), R.astype(np.int64), 1 - 0.5, rho=np.array([1, 0]))
    assert m.P.dtype == m.R.dtype == m.rho.dtype == np.float64
    assert isinstance(m.gamma, float)
    mb = rls.TabularMDP(P.astype(bool), R.astype(np.int8), 0)
    assert mb.P.dtype == np.float64 and mb.gamma == 0.0 and isinstance(mb.gamma, float)
    ms = rls.TabularMDP(sp.csr_array(P.reshape(4, 2).astype(np.int64)), R, 0.9)
    assert ms.P.dtype == np.float64
    assert rls.evaluate(m, np.array([1, 0], dtype=np.int32)).dtype == np.float64
    assert m.policy(np.array([1, 0], dtype=np.uint8)).dtype == np.int64
    assert m.policy(np.array([[1, 0], [0, 1]])).dtype == np.float64     # one-hot ints: stochastic


# ============================================ checkers used by sampling / measures
class TestRngBoolDistribution:
    def test_rng_none(self):
        with raises(TypeError, "rng is None; pass rng=<int seed> or a numpy.random.Generator"):
            V.check_rng("rng", None)

    @pytest.mark.parametrize("bad", [1.5, "0", True, np.random.RandomState(0)],
                             ids=["float", "str", "bool", "RandomState"])
    def test_rng_wrong_type(self, bad):
        with raises(TypeError, "rng must be a numpy.random.Generator, an int seed or a "
                               f"numpy.random.SeedSequence, got {type(bad).__name__}"):
            V.check_rng("rng", bad)

    def test_rng_negative_seed(self):
        with raises(ValueError, "rng == -1; an int seed must be >= 0"):
            V.check_rng("rng", -1)

    def test_rng_accepted_forms(self):
        g = np.random.default_rng(0)
        assert V.check_rng("rng", g) is g              # the stream continues
        a = V.check_rng("rng", 5).random()
        b = V.check_rng("rng", np.random.SeedSequence(5)).random()
        assert a == b == np.random.default_rng(5).random()

    def test_bool(self):
        with raises(TypeError, "flag must be True or False, got int 1"):
            V.check_bool("flag", 1)
        assert V.check_bool("flag", np.bool_(True)) is True

    def test_distribution_sum_over_all_axes(self):
        with raises(ValueError, "mu sums to 0.9 over its last 2 axes; a distribution must sum "
                                "to 1 (atol 1e-09). If mu holds counts or weights, pass "
                                "mu / mu.sum(axis=(0, 1), keepdims=True)"):
            V.check_distribution("mu", np.full((3, 3), 0.1), shape=(3, 3))

    def test_distribution_per_leading_index(self):
        mu = np.full((2, 2, 2), 0.25)
        mu[1, 0, 0] = 0.5
        with raises(ValueError, "mu[1] sums to 1.25 over its last 2 axes"):
            V.check_distribution("mu", mu, shape=(2, 2, 2), event_ndim=2)

    def test_distribution_negative_and_shape(self):
        with raises(ValueError, "mu[0, 1] = -0.5 is negative"):
            V.check_distribution("mu", np.array([[1.0, -0.5], [0.25, 0.25]]), shape=(2, 2))
        with raises(ValueError, "mu has shape (2,); expected (2, 2)"):
            V.check_distribution("mu", np.array([0.5, 0.5]), shape=(2, 2))


@pytest.mark.parametrize("seed", range(6))
def test_compiled_row_check_never_accepts_what_numpy_refuses(seed):
    """The one-pass kernel behind check_distribution_rows may only answer "certainly valid":
    whenever it accepts, the elementwise NumPy checks (authoritative) accept too; on clean
    distributions it accepts; and NaN, inf, negative entries and rows off by more than atol
    are refused with the usual messages."""
    from rlsandbox.kernels.checks import _rows_are_distributions
    rng = np.random.default_rng(seed)
    x = rng.dirichlet(np.ones(7), size=(50, 3))               # (50, 3, 7), clean
    assert _rows_are_distributions(x.reshape(-1, 7), V.ROW_SUM_ATOL)
    V.check_distribution_rows("P", x)
    # every row moved off 1, on its largest entry, by just inside / just outside the tolerance
    # (by 1% of it, 1e-11: above the kernel's any-order slack 2 n u (t + 1) <= 4.5e-13 at
    # n = 1000); short rows and long rows (n = 1000: NumPy's pairwise sum and the kernel's
    # two running sums then add in different orders)
    for n in (7, 1000):
        z = x if n == 7 else rng.dirichlet(np.ones(n), size=(4, 2))
        top = np.expand_dims(z.argmax(axis=-1), -1)
        for off, inside in ((V.ROW_SUM_ATOL * (1 - 1e-2), True),
                            (-V.ROW_SUM_ATOL * (1 - 1e-2), True),
                            (V.ROW_SUM_ATOL * (1 + 1e-2), False),
                            (-V.ROW_SUM_ATOL * (1 + 1e-2), False)):
            y = z.copy()
            np.put_along_axis(y, top, np.take_along_axis(y, top, axis=-1) + off, axis=-1)
            assert _rows_are_distributions(y.reshape(-1, n), V.ROW_SUM_ATOL) == inside
            if inside:
                V.check_rows_sum_to_one("P", y)                 # NumPy accepts as well
            else:
                with pytest.raises(ValueError, match="sums to"):
                    V.check_distribution_rows("P", y)
    for bad, msg in ((np.nan, "must be finite"), (np.inf, "must be finite"),
                     (-0.25, "is negative"), (0.5, "sums to")):
        y = x.copy()
        y[7, 1, 3] = bad if bad != 0.5 else y[7, 1, 3] + 0.5
        with pytest.raises(ValueError, match=msg):
            V.check_distribution_rows("P", y)
    assert _rows_are_distributions.py_func(x.reshape(-1, 7), V.ROW_SUM_ATOL)
