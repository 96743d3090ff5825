"""Average-reward DP: rlsandbox/dp/average.py, kernels/average.py and mdps/average.py.

Reference values carry their provenance in a comment; hand derivations are written out.
Tolerances: "exact" results (policy_gain, PI, LP, diameter) are compared with a float64
allowance stated where used; RVI through its certificate (|gain - g*| <= error_bound).
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st
from scipy.sparse import csgraph

import rlsandbox as rls
from rlsandbox import TabularMDP
from rlsandbox.dp.average import (
    AverageSolution, MultichainSolution, PolicyGain, average_linear_programming,
    average_policy_iteration, classify, diameter, is_communicating, is_weakly_communicating,
    policy_gain, relative_value_iteration, solve_average, solve_multichain, span,
)
from rlsandbox.kernels.average import (_chain_structure, _enumerate_chain_structure, _rvi_dense,
                                       _strongly_connected_dense)
from rlsandbox.mdps.average import random_communicating, random_weakly_communicating

EPS = np.finfo(np.float64).eps
METHODS = ("pi", "rvi", "lp")
HYP = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------- instances
def puterman_31() -> TabularMDP:
    """The two-state model of [puterman2005, §3.1, Fig. 3.1.1].

    s1: a11 reward 5, to s1 / s2 w.p. 0.5 / 0.5; a12 reward 10, to s2 w.p. 1.
    s2: a21 reward -1, stays. (The book gives s2 one action; a copy pads A = 2.)
    """
    P = np.zeros((2, 2, 2))
    P[0, 0] = [0.5, 0.5]
    P[0, 1] = [0.0, 1.0]
    P[1, :] = [0.0, 1.0]
    return TabularMDP(P, [[5.0, 10.0], [-1.0, -1.0]], gamma=1.0)


def two_cycle() -> TabularMDP:
    """One action, 0 <-> 1 deterministically, r = (1, 0): the periodic chain (LOOP card §5.2)."""
    return TabularMDP(np.array([[[0.0, 1.0]], [[1.0, 0.0]]]), [[1.0], [0.0]], gamma=1.0)


def stay_or_swap(R=((0.0, 0.0), (1.0, 0.0))) -> TabularMDP:
    """Two states; action 0 stays, action 1 swaps. Communicating, not unichain (stay/stay)."""
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    return TabularMDP(P, np.array(R, dtype=float), gamma=1.0)


def two_traps() -> TabularMDP:
    """State 0 chooses trap 1 (reward 1) or trap 2 (reward 2); multichain."""
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = 1.0
    P[2, :, 2] = 1.0
    return TabularMDP(P, [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]], gamma=1.0)


def lingering_start() -> TabularMDP:
    """State 0 may stay forever (action 0) or fall into absorbing state 1; one closed class
    in the union graph, yet the policy 'stay' has two recurrent classes: multichain."""
    P = np.zeros((2, 2, 2))
    P[0, 0, 0] = 1.0
    P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    return TabularMDP(P, [[0.0, 0.0], [1.0, 1.0]], gamma=1.0)


def riverswim(n: int) -> TabularMDP:
    """RiverSwim-n as defined on the LOOP card (shared/papers/loop.md §5.2, the
    Osband-Russo-Van Roy variant); built here so these tests do not depend on the zoo."""
    P = np.zeros((n, 2, n))
    R = np.zeros((n, 2))
    for s in range(n):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0], P[s, 1, 1] = 0.4, 0.6
        elif s == n - 1:
            P[s, 1, s - 1], P[s, 1, s] = 0.4, 0.6
        else:
            P[s, 1, s - 1], P[s, 1, s], P[s, 1, s + 1] = 0.05, 0.6, 0.35
    R[0, 0], R[n - 1, 1] = 0.005, 1.0
    return TabularMDP(P, R, gamma=1.0)


def howard_taxicab() -> TabularMDP:
    """The taxicab example of [howard1960] (R. A. Howard, Dynamic Programming and Markov
    Processes, MIT Press 1960; policy-iteration chapter): towns A, B, C; alternatives cruise / cab
    stand / radio call, per-trip rewards r_ij. Town B has no radio alternative; a copy of
    its alternative 1 pads A = 3 (a duplicate action changes no gain or bias)."""
    P = np.array([[[1 / 2, 1 / 4, 1 / 4], [1 / 16, 3 / 4, 3 / 16], [1 / 4, 1 / 8, 5 / 8]],
                  [[1 / 2, 0, 1 / 2], [1 / 16, 7 / 8, 1 / 16], [1 / 2, 0, 1 / 2]],
                  [[1 / 4, 1 / 4, 1 / 2], [1 / 8, 3 / 4, 1 / 8], [3 / 4, 1 / 16, 3 / 16]]])
    R = np.array([[[10, 4, 8], [8, 2, 4], [4, 6, 4]],
                  [[14, 0, 18], [8, 16, 8], [14, 0, 18]],
                  [[10, 2, 8], [6, 4, 2], [4, 0, 8]]], dtype=float)
    return TabularMDP(P, R, gamma=1.0)


def hard_mixture(delta: float, Delta: float) -> TabularMDP:
    """The two-state core of the Wu-Zhou-Gu hard instance (LOOP card §5.2) with d = 2:
    x0 (reward 0) reaches x1 w.p. delta + Delta (action 1) or delta - Delta (action 0);
    x1 (reward 1) returns to x0 w.p. delta under both actions."""
    P = np.zeros((2, 2, 2))
    P[0, 0] = [1 - (delta - Delta), delta - Delta]
    P[0, 1] = [1 - (delta + Delta), delta + Delta]
    P[1, :] = [delta, 1 - delta]
    return TabularMDP(P, [[0.0, 0.0], [1.0, 1.0]], gamma=1.0)


def random_mdp(S: int, A: int, seed: int, max_support: int = 2) -> TabularMDP:
    """Sparse random kernels (1..max_support successors): often multichain. Test-only."""
    rng = np.random.default_rng(seed)
    P = np.zeros((S, A, S))
    for s, a in itertools.product(range(S), range(A)):
        k = int(rng.integers(1, max_support + 1))
        succ = rng.choice(S, size=min(k, S), replace=False)
        P[s, a, succ] = rng.dirichlet(np.ones(succ.size))
    return TabularMDP(P, rng.random((S, A)), gamma=1.0)


def all_policies(mdp: TabularMDP):
    return (np.array(p, dtype=np.int64) for p in itertools.product(range(mdp.A), repeat=mdp.S))


def deviation_matrix(P: np.ndarray, P_star: np.ndarray) -> np.ndarray:
    """H_P = (I - P + P*)^{-1} (I - P*) [puterman2005, Appendix A], computed in the test."""
    I = np.eye(P.shape[0])
    return np.linalg.solve(I - P + P_star, I - P_star)


# --------------------------------------------------------------------------- span
def test_span_values_and_errors():
    assert span([3.0, -1.0, 2.0]) == 4.0
    assert span(np.array([7])) == 0.0
    with pytest.raises(ValueError, match="empty"):
        span([])
    with pytest.raises(ValueError, match="finite"):
        span([0.0, np.nan])
    with pytest.raises(ValueError, match="dimensions"):
        span(np.zeros((2, 2)))


# --------------------------------------------------------------------------- policy_gain
def test_policy_gain_puterman_31_by_hand():
    # pi = a11: P = [[.5, .5], [0, 1]], r = (5, -1). s2 is the only recurrent class, so
    # P* = [[0, 1], [0, 1]], g = (-1, -1). Bias: h(s2) = 0 from P* h = 0; at s1
    # g + h1 = 5 + .5 h1  =>  h1 = 12.  pi = a12: g + h1 = 10 + h2 => h1 = 11.
    mdp = puterman_31()
    pg = policy_gain(mdp, np.array([0, 0]))
    np.testing.assert_allclose(pg.P_star, [[0.0, 1.0], [0.0, 1.0]], atol=1e-15)
    np.testing.assert_allclose(pg.gain, [-1.0, -1.0], atol=1e-14)
    np.testing.assert_allclose(pg.bias, [12.0, 0.0], atol=1e-13)
    assert [c.tolist() for c in pg.recurrent_classes] == [[1]]
    assert pg.transient.tolist() == [True, False] and pg.is_unichain
    np.testing.assert_allclose(policy_gain(mdp, np.array([1, 0])).bias, [11.0, 0.0], atol=1e-13)


def test_policy_gain_periodic_chain_by_hand():
    # P* of the 2-cycle is [[.5, .5], [.5, .5]], g = .5; (I - P + P*) h = r - g gives
    # h = (1/4, -1/4), which satisfies g + h = r + P h and P* h = 0.
    pg = policy_gain(two_cycle(), np.zeros(2, dtype=int))
    np.testing.assert_allclose(pg.P_star, np.full((2, 2), 0.5), atol=1e-15)
    np.testing.assert_allclose(pg.gain, [0.5, 0.5], atol=1e-15)
    np.testing.assert_allclose(pg.bias, [0.25, -0.25], atol=1e-15)


def test_policy_gain_multichain_absorption_by_hand():
    # State 0 stays w.p. .5, enters trap 1 w.p. .2, trap 2 w.p. .3; traps pay 1 and 2.
    # Absorption probabilities .2/.5 = .4 and .3/.5 = .6, so g(0) = .4 + 1.2 = 1.6 and
    # P*[0] = (0, .4, .6). Bias: h = 0 on the traps; g0 + h0 = 0 + .5 h0 => h0 = -3.2.
    P = np.zeros((3, 1, 3))
    P[0, 0] = [0.5, 0.2, 0.3]
    P[1, 0, 1] = P[2, 0, 2] = 1.0
    pg = policy_gain(TabularMDP(P, [[0.0], [1.0], [2.0]], gamma=1.0), np.zeros(3, dtype=int))
    np.testing.assert_allclose(pg.P_star[0], [0.0, 0.4, 0.6], atol=1e-15)
    np.testing.assert_allclose(pg.gain, [1.6, 1.0, 2.0], atol=1e-14)
    np.testing.assert_allclose(pg.bias, [-3.2, 0.0, 0.0], atol=1e-14)
    assert len(pg.recurrent_classes) == 2 and not pg.is_unichain


def test_policy_gain_accepts_stochastic_and_sparse():
    mdp = random_communicating(5, 3, rng=3)
    pi = np.random.default_rng(0).dirichlet(np.ones(3), size=5)
    dense = policy_gain(mdp, pi)
    sparse = policy_gain(mdp.replace(P=sp.csr_array(mdp.P.reshape(15, 5))), pi)
    # same arithmetic up to summation order: float64 allowance 1e3 eps * scale
    np.testing.assert_allclose(sparse.gain, dense.gain, atol=1e3 * EPS)
    np.testing.assert_allclose(sparse.bias, dense.bias, atol=1e3 * EPS * 10)


@HYP
@given(S=st.integers(1, 6), A=st.integers(1, 3), seed=st.integers(0, 2**31 - 1),
       stochastic=st.booleans())
def test_cesaro_identity_and_poisson_equation(S, A, seed, stochastic):
    # For any stochastic P: sum_{t<T} (P^t - P*) = (I - P^T) H_P   (from (I - P) H = I - P*
    # and P^t H = H P^t), so the Cesaro averages converge to P* at rate 2 ||H|| / T. The bias
    # is characterised by g + h = r + P h, (I - P) g = 0, P* h = 0 [puterman2005, §8.2].
    mdp = random_mdp(S, A, seed)
    rng = np.random.default_rng(seed + 1)
    pi = rng.dirichlet(np.ones(A), size=S) if stochastic else rng.integers(0, A, size=S)
    pg = policy_gain(mdp, pi)
    P, r = np.asarray(mdp.P_pi(mdp.policy(pi))), mdp.R_pi(mdp.policy(pi))
    H = deviation_matrix(P, pg.P_star)
    T = 64
    acc, Pt = np.zeros((S, S)), np.eye(S)
    for _ in range(T):
        acc += Pt
        Pt = Pt @ P
    lhs = acc - T * pg.P_star
    rhs = (np.eye(S) - Pt) @ H
    # float64: T products of stochastic matrices, S-term sums each; factor 10 for the solves
    tol = 10 * T * T * S * EPS * (1.0 + np.abs(H).max())
    np.testing.assert_allclose(lhs, rhs, atol=tol)
    np.testing.assert_allclose(pg.P_star.sum(axis=1), 1.0, atol=1e3 * EPS)
    scale = 1.0 + np.abs(r).max() + np.abs(pg.bias).max()
    np.testing.assert_allclose(pg.gain + pg.bias, r + P @ pg.bias, atol=1e3 * S * EPS * scale)
    np.testing.assert_allclose(P @ pg.gain, pg.gain, atol=1e3 * S * EPS * scale)
    np.testing.assert_allclose(pg.P_star @ pg.bias, 0.0, atol=1e3 * S * EPS * scale)


@HYP
@given(S=st.integers(1, 6), A=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_laurent_expansion_of_discounted_value(S, A, seed):
    # [puterman2005, Thm 8.2.3]: with rho = (1 - gamma)/gamma and rho ||H|| < 1,
    #   V_gamma = (1 + rho) (g / rho + h + sum_{n>=1} rho^n y_n),  y_n = (-1)^n H^{n+1} r,
    # so V_gamma - g/(1-gamma) - h - rho (h - H h) = rho^2 y_1 + (1 + rho) sum_{n>=2} rho^n y_n
    # whose sup norm is <= rho^2 ||H|| ||h|| + (1 + rho) (rho ||H||)^2 ||h|| / (1 - rho ||H||).
    mdp = random_mdp(S, A, seed)
    pi = np.random.default_rng(seed + 7).integers(0, A, size=S)
    pg = policy_gain(mdp, pi)
    P = np.asarray(mdp.P_pi(pi))
    H = deviation_matrix(P, pg.P_star)
    nH, nh = np.abs(H).sum(axis=1).max(), np.abs(pg.bias).max()
    for c in (0.1, 0.01):
        rho = c / max(nH, 1.0)
        gamma = 1.0 / (1.0 + rho)
        V = rls.evaluate(mdp.replace(gamma=gamma), pi)
        first = pg.gain / (1 - gamma) + pg.bias + rho * (pg.bias - H @ pg.bias)
        bound = rho**2 * nH * nh + (1 + rho) * (rho * nH) ** 2 * nh / (1 - rho * nH)
        # float64: LU of I - gamma P has cond <= 2/(1-gamma); |V| <= max|r|/(1-gamma)
        fp = 10 * S * EPS * 2 / (1 - gamma) * (1 + np.abs(mdp.R).max()) / (1 - gamma)
        assert np.abs(V - first).max() <= bound + fp


# --------------------------------------------------------------------------- reference values
@pytest.mark.parametrize("method", METHODS)
def test_puterman_31_optimal(method):
    # Every policy is absorbed in s2 (reward -1): g* = -1. OE with h(s2) = 0:
    # h1 = max(5 + .5 h1, 10) + 1  =>  h1 = 12 (a11 attains it; a12 gives 11 < 12).
    # a12 is gain-optimal but not conserving, so the mask excludes it (documented).
    sol = solve_average(puterman_31(), method=method)
    # error_bound certifies |gain - g*| (its fp covers T h - h); 2 eps |g*|: midpoint, test rounding
    assert abs(sol.gain - (-1.0)) <= sol.error_bound + 2 * EPS
    np.testing.assert_allclose(sol.bias, [12.0, 0.0], atol=1e-8)
    assert sol.policy.tolist() == [0, 0] and sol.span == pytest.approx(12.0, abs=1e-8)
    assert sol.optimal_actions.tolist() == [[True, False], [True, True]]


@pytest.mark.parametrize("method", METHODS)
def test_howard_taxicab(method):
    # [howard1960, taxicab example]: the optimal policy uses alternative 2 (cab stand)
    # in every town, with gain g = 13.34 and relative values v_A = -1.18, v_B = 12.66,
    # v_C = 0 (two decimals published: tolerance 0.005, half a unit in the last place).
    sol = solve_average(howard_taxicab(), method=method)
    assert sol.policy.tolist() == [1, 1, 1]
    assert abs(sol.gain - 13.34) <= 0.005
    v = sol.bias - sol.bias[2]
    np.testing.assert_allclose(v, [-1.18, 12.66, 0.0], atol=0.005)
    assert sol.optimal_actions.sum() == 3            # unique optimal actions


def test_howard_taxicab_initial_policy():
    # [howard1960, taxicab example]: the starting policy (alternative 1 everywhere) has g = 9.2 and
    # relative values v = (1.33, 7.47, 0) (two decimals published).
    pg = policy_gain(howard_taxicab(), np.zeros(3, dtype=int))
    np.testing.assert_allclose(pg.gain, 9.2, atol=0.005)
    np.testing.assert_allclose(pg.bias - pg.bias[2], [1.33, 7.47, 0.0], atol=0.005)


@pytest.mark.parametrize("method", METHODS)
def test_riverswim6_card_values(method):
    # Reference values of the LOOP card (shared/papers/loop.md, claim C0 and the §5.2 table,
    # tagged [D]: computed independently by the card author): J* = 0.4286224338,
    # V* = (0, 0.714371, 2.041059, 3.455222, 4.881880, 6.310324), sp(V*) = 6.310324,
    # optimal policy "always right", gaps at "left" (0.423622, 1.142993, 1.755311, 1.842785,
    # 1.855281, 1.857066). Tolerance: half a unit in the last printed digit.
    sol = solve_average(riverswim(6), method=method)
    assert abs(sol.gain - 0.4286224338) <= 5e-11 + sol.error_bound
    np.testing.assert_allclose(sol.bias, [0, 0.714371, 2.041059, 3.455222, 4.881880, 6.310324],
                               atol=5e-7)
    assert sol.policy.tolist() == [1] * 6
    np.testing.assert_allclose(sol.gaps[:, 0], [0.423622, 1.142993, 1.755311, 1.842785,
                                                1.855281, 1.857066], atol=5e-7 + 1e-8)


def test_riverswim_card_table_and_left_policy():
    # LOOP card §5.2 table [D]: (n, J*, sp(V*), D). Printed to 6 / 4 / 3 decimals.
    table = [(3, 0.446809, 2.1277, 4.762), (4, 0.431085, 3.4751, 8.061),
             (5, 0.428929, 4.8854, 11.390), (8, 0.428572, 9.1667, 21.389)]
    for n, J, sp_h, D in table:
        mdp = riverswim(n)
        sol = solve_average(mdp)
        assert abs(sol.gain - J) <= 5e-7 and abs(sol.span - sp_h) <= 5e-5
        assert abs(diameter(mdp) - D) <= 5e-4
    # "always left": state 0 becomes absorbing with reward 0.005 (hand): g = 0.005 everywhere
    np.testing.assert_allclose(policy_gain(riverswim(6), np.zeros(6, dtype=int)).gain, 0.005,
                               atol=1e-15)
    assert diameter(riverswim(6)) == pytest.approx(14.7223, abs=5e-5)


@pytest.mark.parametrize("delta, Delta", [(0.1, 0.05), (0.2, 0.1), (1 / 3, 0.01)])
def test_hard_mixture_closed_forms(delta, Delta):
    # Best action p = delta + Delta. Stationary mass of x1: p / (p + delta) = J*.
    # OE at x0: J + h0 = p h1 + (1 - p) h0  =>  h1 - h0 = J / p = 1 / (p + delta) = sp(h*).
    # Fastest route x0 -> x1 is geometric(p), x1 -> x0 geometric(delta): D = 1/delta since
    # p > delta. (LOOP card §5.2 quotes d = 3, delta = .1, Delta = .05: J* = .6, sp = 4, D = 10.)
    mdp = hard_mixture(delta, Delta)
    p = delta + Delta
    for method in METHODS:
        sol = solve_average(mdp, method=method)
        # error_bound, plus: stored 1 - p rounded (<= u a row: moves T h - h by <= u sp(h)), the
        # reference rounded twice, midpoint and test roundings (J* <= 1): <= eps (sp(h) + 4)
        assert abs(sol.gain - p / (p + delta)) <= sol.error_bound + EPS * (sol.span + 4)
        assert sol.span == pytest.approx(1 / (p + delta), abs=1e-7)
        assert sol.policy[0] == 1
    assert diameter(mdp) == pytest.approx(1 / delta, rel=1e-12)
    assert classify(mdp) == "ergodic"


@pytest.mark.parametrize("method", METHODS)
def test_stay_or_swap_by_hand(method):
    # r(1, stay) = 1, else 0: g* = 1 (go to 1 and stay). OE: 1 + h0 = max(h0, h1) and
    # 1 + h1 = max(1 + h1, h0)  =>  h1 = h0 + 1; with min h = 0, h = (0, 1).
    sol = solve_average(stay_or_swap(), method=method)
    # exact 0/1 model: certified error_bound plus 2 eps |g*| for the midpoint and test roundings
    assert abs(sol.gain - 1.0) <= sol.error_bound + 2 * EPS
    np.testing.assert_allclose(sol.bias, [0.0, 1.0], atol=1e-8)
    assert sol.policy.tolist() == [1, 0]


# --------------------------------------------------------------------------- RVI and periodicity
def test_rvi_aperiodicity_transform_on_two_cycle():
    # Plain RVI (tau = 1) from w = 0 alternates between T w - w = (1, 0) and (0, 1): span 1
    # forever. With tau = 1/2: w1 = (0, -1), then T w1 - w1 = (1/2, 1/2): converged at k = 2;
    # the bias tau w = (0, -1/2) shifted to min 0 is (1/2, 0) (LOOP card §5.2).
    mdp = two_cycle()
    plain = relative_value_iteration(mdp, tau=1.0, max_iter=1000)
    assert not plain.converged and plain.iterations == 1000
    assert plain.residual == pytest.approx(1.0)
    # the certificate stays valid without convergence: g* = 1/2 in [0, 1]
    assert abs(plain.gain - 0.5) <= plain.error_bound
    sol = relative_value_iteration(mdp, tau=0.5)
    assert sol.converged and sol.iterations == 2
    assert sol.gain == 0.5 and sol.bias.tolist() == [0.5, 0.0]


@pytest.mark.parametrize("tau", [0.2, 0.5, 0.9])
def test_rvi_tau_leaves_gain_and_bias_unchanged(tau):
    mdp = riverswim(5)
    ref = solve_average(mdp, method="pi")
    sol = relative_value_iteration(mdp, tau=tau, eps=1e-11)
    assert sol.converged and abs(sol.gain - ref.gain) <= sol.error_bound + ref.error_bound
    # RiverSwim is unichain: the OE fixes h up to a constant. The bias error of RVI is not
    # certified; 1e-8 is the residual 1e-11 times a generous 1e3 for the mixing time.
    np.testing.assert_allclose(sol.bias, ref.bias, atol=1e-8)


@pytest.mark.parametrize("max_iter", [1, 3, 10, 30])
def test_rvi_certificate_holds_before_convergence(max_iter):
    # min(T h - h) <= g* <= max(T h - h) for every h [puterman2005, §8.5]
    mdp = riverswim(8)
    g_star = solve_average(mdp, method="pi").gain
    sol = relative_value_iteration(mdp, max_iter=max_iter)
    assert not sol.converged
    assert abs(sol.gain - g_star) <= sol.error_bound + 1e-13


def test_rvi_kernel_matches_py_func_and_sparse():
    mdp = random_communicating(6, 3, rng=11)
    w1, w2 = np.zeros(6), np.zeros(6)
    pi1, pi2 = np.empty(6, dtype=np.int64), np.empty(6, dtype=np.int64)
    out1 = _rvi_dense(mdp.P, mdp.R, 0.5, 1e-12, 10_000, 0, w1, pi1)
    out2 = _rvi_dense.py_func(mdp.P, mdp.R, 0.5, 1e-12, 10_000, 0, w2, pi2)
    assert out1[0] == out2[0] and np.array_equal(w1, w2) and np.array_equal(pi1, pi2)
    sparse = mdp.replace(P=sp.csr_array(mdp.P.reshape(18, 6)))
    a, b = relative_value_iteration(mdp), relative_value_iteration(sparse)
    assert a.iterations == b.iterations
    # bitwise: dense and CSR kernels sum the same terms in the same order (kernels/bellman.py)
    np.testing.assert_array_equal(a.bias, b.bias)


# --------------------------------------------------------------------------- methods agree
@HYP
@given(S=st.integers(2, 7), A=st.integers(1, 3), b=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1), transient=st.booleans())
def test_methods_agree_and_solve_the_optimality_equation(S, A, b, seed, transient):
    mdp = (random_weakly_communicating(S, A, rng=seed, branching=b) if transient
           else random_communicating(S, A, rng=seed, branching=b))
    sols = {m: solve_average(mdp, method=m) for m in METHODS}
    ref = sols["pi"]
    scale = 1.0 + np.abs(mdp.R).max() + ref.span
    # converged means the OE holds: RVI by its stopping rule sp(T h - h) < eps = 1e-10; PI
    # and LP are exact up to float64 solves (1e-9 scale) / HiGHS's 1e-7 feasibility tolerance
    max_residual = {"rvi": 1e-10, "pi": 1e-9 * scale, "lp": 1e-7 * scale}
    for m, sol in sols.items():
        assert sol.converged and sol.residual <= max_residual[m], m
        # error_bound = residual / 2 + 2 (S + 2) eps scale (AverageSolution docstring)
        assert sol.error_bound <= 0.5 * sol.residual + 1e-13 * scale, m
        assert abs(sol.gain - ref.gain) <= sol.error_bound + ref.error_bound, m
        # OE residual of the returned bias: T h - h - gain within the certificate
        e = sol.Q.max(axis=1) - sol.bias - sol.gain
        assert np.abs(e).max() <= sol.residual + sol.error_bound + 1e-15, m
        assert sol.bias.min() == 0.0 and sol.span == pytest.approx(sol.bias.max())
        assert sol.optimal_actions[np.arange(mdp.S), sol.policy].all(), m
        # every policy drawn from the mask is near-optimal (module docstring guarantee)
        tol = sol.residual + TIE_TOL(mdp, sol)
        first = np.argmax(sol.optimal_actions, axis=1)
        last = mdp.A - 1 - np.argmax(sol.optimal_actions[:, ::-1], axis=1)
        for pick in (first, last):
            g_pick = policy_gain(mdp, pick.astype(np.int64)).gain
            assert g_pick.min() >= ref.gain - sol.residual - tol - 1e-9, m
    # brute force: g* = max over deterministic policies of the gain, from every state
    # (a deterministic stationary policy is optimal [puterman2005, §9.1]);
    # 1e-9: float64 solves in policy_gain on these small chains.
    if mdp.A ** mdp.S <= 512:
        best = np.max([policy_gain(mdp, p).gain for p in all_policies(mdp)], axis=0)
        np.testing.assert_allclose(best, ref.gain, atol=1e-9)
    # in unichain models the OE fixes h up to a constant: exact methods agree pointwise, within
    # the hitting-time bound of bias_gap_bound (OE residuals times expected hitting times)
    if mdp.A ** mdp.S <= 4096 and classify(mdp) in ("ergodic", "unichain"):
        np.testing.assert_allclose(sols["lp"].bias, ref.bias,
                                   atol=bias_gap_bound(mdp, sols["lp"], ref))


def bias_gap_bound(mdp: TabularMDP, a: AverageSolution, b: AverageSolution) -> float:
    """A bound on max|h_a - h_b| for two OE solutions of a unichain model (min h = 0 each).

    With pi_i greedy for h_i and e_i = T h_i - h_i - g_i (|e_i| <= max of the computed e_i plus
    fp_i = 2 (S + 2) eps (max|R| + sp(h_i)), as in the certificate), d = h_a - h_b satisfies
    (I - P_a) d <= w <= (I - P_b) d with w = (g_b - g_a) + e_b - e_a. Pick z recurrent under both
    policies (two disjoint recurrent classes would combine into a multichain policy). Summing
    up to the hitting time tau of z (optional stopping) gives
    -W E^b_s[tau] <= d(s) - d(z) <= W E^a_s[tau], W = max|w|, so sp(d) <= W (max_s E^a_s[tau] +
    max_s E^b_s[tau]); min d <= 0 <= max d (both minima are 0) turns this into max|d| <= sp(d).
    The hitting times are computed in float64 (relative error far below the slack of W).
    """
    pols, W = [], abs(a.gain - b.gain)
    for sol in (a, b):
        pols.append(np.argmax(sol.Q, axis=1).astype(np.int64))
        W += np.abs(sol.Q.max(axis=1) - sol.bias - sol.gain).max()
        W += 2.0 * (mdp.S + 2) * EPS * (np.abs(mdp.R).max() + sol.span)
    common = set.intersection(*(set(policy_gain(mdp, p).recurrent_classes[0].tolist())
                                for p in pols))
    z = min(common)
    keep = np.arange(mdp.S) != z
    K = 0.0
    for p in pols:
        P = np.asarray(mdp.P_pi(p))
        K += np.linalg.solve(np.eye(mdp.S - 1) - P[np.ix_(keep, keep)], np.ones(mdp.S - 1)).max()
    return W * K


def TIE_TOL(mdp: TabularMDP, sol: AverageSolution) -> float:
    """The mask's tolerance beyond the residual (AverageSolution docstring)."""
    from rlsandbox.dp.discounted import TIE_RTOL
    scale = 1.0 + np.abs(mdp.R).max() + sol.span
    return 2.0 * (mdp.S + 2) * EPS * (scale - 1.0) + TIE_RTOL * scale


@HYP
@given(S=st.integers(2, 6), A=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_span_bounded_by_gain_times_diameter(S, A, seed):
    # Any OE solution h satisfies h >= R - g* + P_a h >= min R - g* + P_a h; following the
    # policy that reaches s' fastest from s gives h(s') - h(s) <= (g* - min R) E[tau], so
    # sp(h*) <= (g* - min R) D  ([jaksch2010, §4.3] for R in [0, 1]). 1e-9: solve round-off.
    mdp = random_communicating(S, A, rng=seed, branching=2)
    D = diameter(mdp)
    for m in METHODS:
        sol = solve_average(mdp, method=m)
        assert sol.span <= (sol.gain + sol.error_bound - mdp.R.min()) * D + 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_blackwell_limit_of_discounted_optimum(seed):
    # With h* an OE solution, min h* = 0, W = g*/(1-gamma) + h*: T_gamma W = g*/(1-gamma) +
    # max_a (R + P h* - (1-gamma) P h*) lies in [W - (1-gamma) sp(h*), W], so by monotonicity
    # and contraction W - sp(h*) <= V*_gamma <= W, i.e.
    # |(1 - gamma) V*_gamma - g*| <= (1 - gamma) sp(h*)  (cf. [puterman2005, Cor 8.2.4]).
    mdp = random_communicating(6, 3, rng=seed, branching=2)
    avg = solve_average(mdp)
    assert avg.error_bound < 1e-12
    for gamma in (0.9, 0.99, 0.999):
        disc = rls.solve(mdp.replace(gamma=gamma), method="pi")
        W = avg.gain / (1 - gamma) + avg.bias
        slack = disc.error_bound + avg.error_bound / (1 - gamma) + 1e-9
        assert np.all(disc.V <= W + slack)
        assert np.all(disc.V >= W - avg.span - slack)
        err = np.abs((1 - gamma) * disc.V - avg.gain).max()
        assert err <= (1 - gamma) * (avg.span + 1e-6) + 1e-9


# --------------------------------------------------------------------------- multichain
def test_solve_multichain_two_traps_by_hand():
    # g*(0) = 2 (choose trap 2), g* = (2, 1, 2); bias of that policy with P* h = 0:
    # h = 0 on the traps and g0 + h0 = 0 + h(2) => h0 = -2.
    sol = solve_multichain(two_traps())
    assert isinstance(sol, MultichainSolution) and sol.converged
    np.testing.assert_allclose(sol.gain, [2.0, 1.0, 2.0], atol=1e-14)
    np.testing.assert_allclose(sol.bias, [-2.0, 0.0, 0.0], atol=1e-14)
    assert sol.policy[0] == 1 and sol.residual < 1e-12
    # (1 - gamma) V*_gamma(0) = 2 gamma exactly (hand): tends to g*(0) = 2
    for gamma in (0.9, 0.999):
        V = rls.solve(two_traps().replace(gamma=gamma)).V
        assert (1 - gamma) * V[0] == pytest.approx(2 * gamma, rel=1e-12)


@HYP
@given(S=st.integers(1, 5), A=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_multichain_pi_matches_brute_force(S, A, seed):
    # [puterman2005, §9.1]: some deterministic stationary policy attains max_pi g^pi(s) in
    # every state at once, so g* is the elementwise max of the deterministic gains.
    mdp = random_mdp(S, A, seed)
    sol = solve_multichain(mdp)
    best = np.max([policy_gain(mdp, p).gain for p in all_policies(mdp)], axis=0)
    np.testing.assert_allclose(sol.gain, best, atol=1e-9)
    np.testing.assert_allclose(policy_gain(mdp, sol.policy).gain, best, atol=1e-9)
    assert sol.converged and sol.residual < 1e-9
    if is_weakly_communicating(mdp):                 # then g* is constant [puterman2005, §8.3]
        assert np.ptp(sol.gain) < 1e-9
        assert abs(solve_average(mdp).gain - sol.gain[0]) < 1e-9


# --------------------------------------------------------------------------- classification
def test_classify_hand_made_instances():
    # ergodic by the shortcut: all transitions positive
    full = TabularMDP(np.full((2, 2, 2), 0.5), np.zeros((2, 2)), gamma=1.0)
    assert classify(full) == "ergodic"
    # ergodic by enumeration: state 0 moves to 1 or to 2, states 1 and 2 split over the
    # others; every policy's chain is irreducible, yet no edge of 0 exists under both actions
    P = np.zeros((3, 2, 3))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :] = [0.5, 0.0, 0.5]
    P[2, :] = [0.5, 0.5, 0.0]
    assert classify(TabularMDP(P, np.zeros((3, 2)), gamma=1.0)) == "ergodic"
    # unichain, not communicating: Puterman §3.1 (s2 absorbing, s1 transient)
    assert classify(puterman_31()) == "unichain" and not is_communicating(puterman_31())
    # unichain and communicating, by enumeration (the LOOP card: every policy unichain)
    assert classify(riverswim(5)) == "unichain" and is_communicating(riverswim(5))
    # communicating, not unichain: "stay, stay" has two recurrent classes
    assert classify(stay_or_swap()) == "communicating"
    # weakly communicating: the stay-or-swap core plus a state that only leads into it
    P = np.zeros((3, 2, 3))
    P[:2, :, :2] = stay_or_swap().P
    P[2, 0, 0] = P[2, 1, 1] = 1.0
    weak = TabularMDP(P, np.zeros((3, 2)), gamma=1.0)
    assert classify(weak) == "weakly_communicating"
    assert is_weakly_communicating(weak) and not is_communicating(weak)
    assert diameter(weak) == float("inf")
    # multichain: two closed classes; and a single closed class plus a lingering state
    assert classify(two_traps()) == "multichain"
    assert classify(lingering_start()) == "multichain"
    assert not is_weakly_communicating(lingering_start())
    # one state: trivially ergodic, diameter 0
    one = TabularMDP(np.ones((1, 2, 1)), [[0.0, 1.0]], gamma=1.0)
    assert classify(one) == "ergodic" and diameter(one) == 0.0


@HYP
@given(S=st.integers(1, 5), A=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_classify_matches_brute_force_definitions(S, A, seed):
    # Definitions of [puterman2005, §8.3.1], checked policy by policy with policy_gain.
    mdp = random_mdp(S, A, seed)
    chains = [policy_gain(mdp, p) for p in all_policies(mdp)]
    ergodic = all(c.is_unichain and not c.transient.any() for c in chains)
    unichain = all(c.is_unichain for c in chains)
    reach = np.zeros((S, S), dtype=bool)             # s' accessible from s under some policy
    for p in all_policies(mdp):
        G = sp.csr_array((np.asarray(mdp.P_pi(p)) > 0).astype(np.int8))
        reach |= np.isfinite(csgraph.shortest_path(G, unweighted=True))
    communicating = reach.all()
    assert is_communicating(mdp) == communicating
    label = classify(mdp)
    expected = ("ergodic" if ergodic else "unichain" if unichain else
                "communicating" if communicating else None)
    if expected is not None:
        assert label == expected
    else:
        assert label in ("weakly_communicating", "multichain")
        assert (label == "weakly_communicating") == is_weakly_communicating(mdp)
        if label == "weakly_communicating":          # optimal gain is constant
            assert np.ptp(solve_multichain(mdp).gain) < 1e-9


def test_enumeration_kernels_match_py_func():
    ring = np.roll(np.eye(4, dtype=bool), 1, axis=1)
    reach = np.empty((4, 4), dtype=bool)
    assert _chain_structure(ring, reach) == _chain_structure.py_func(ring, reach) == (1, 0)
    two = np.eye(3, dtype=bool)                      # three absorbing states
    two[2] = [True, True, False]                      # 2 -> {0, 1}: transient
    assert _chain_structure(two, reach[:3, :3].copy()) == (2, 1)
    supp = np.zeros((2, 2, 2), dtype=bool)
    supp[0, 0, 0] = supp[0, 1, 1] = supp[1, 0, 1] = supp[1, 1, 0] = True
    n_choice = np.array([2, 2])
    out = [np.empty(2, dtype=np.int64) for _ in range(4)]
    a = _enumerate_chain_structure(supp, n_choice, out[0], out[1])
    b = _enumerate_chain_structure.py_func(supp, n_choice, out[2], out[3])
    assert a == b and a[1] and np.array_equal(out[0], out[2])


@given(S=st.integers(1, 12), density=st.floats(0.0, 0.5), seed=st.integers(0, 2**16))
@HYP
def test_strong_connectivity_kernel_matches_scipy(S, density, seed):
    """The two-search test of the dense fast path agrees with scipy's strongly connected
    components (sparse random graphs, so both answers occur)."""
    adj = np.random.default_rng(seed).random((S, S)) < density
    n, _ = csgraph.connected_components(sp.csr_array(adj.astype(np.int8)), directed=True,
                                        connection="strong")
    assert _strongly_connected_dense(adj) == _strongly_connected_dense.py_func(adj) == (n == 1)


def test_classify_refuses_large_enumeration():
    # 18 states on a ring, each may also stay: 2**18 policies with distinct supports and no
    # edge common to both actions, so neither graph shortcut applies.
    S = 18
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, (np.arange(S) + 1) % S] = 1.0
    P[np.arange(S), 1, np.arange(S)] = 1.0
    mdp = TabularMDP(P, np.zeros((S, 2)), gamma=1.0)
    with pytest.raises(ValueError, match=r"262144 deterministic policies.*max_policies=100000"):
        classify(mdp)
    assert classify(mdp, max_policies=2**18) == "communicating"


# --------------------------------------------------------------------------- diameter
def test_diameter_deterministic_chains_equal_graph_distance():
    # directed ring 0 -> 1 -> ... -> 4 -> 0: from s to s - 1 takes 4 steps
    ring = np.roll(np.eye(5), 1, axis=1)[:, None, :]
    assert diameter(TabularMDP(ring, np.zeros((5, 1)), gamma=1.0)) == 4.0
    # line with deterministic left / right moves (walls at the ends): D = S - 1
    S = 6
    P = np.zeros((S, 2, S))
    P[np.arange(S), 0, np.maximum(np.arange(S) - 1, 0)] = 1.0
    P[np.arange(S), 1, np.minimum(np.arange(S) + 1, S - 1)] = 1.0
    assert diameter(TabularMDP(P, np.zeros((S, 2)), gamma=1.0)) == S - 1


@pytest.mark.parametrize("seed", range(5))
def test_diameter_random_deterministic_equals_bfs_distance(seed):
    rng = np.random.default_rng(seed)
    S, A = 7, 3
    nxt = rng.integers(0, S, size=(S, A))
    nxt[:, 0] = (np.arange(S) + 1) % S                # a ring keeps it communicating
    P = np.zeros((S, A, S))
    P[np.arange(S)[:, None], np.arange(A)[None, :], nxt] = 1.0
    G = sp.csr_array(P.max(axis=1))
    dist = csgraph.shortest_path(G, unweighted=True, directed=True)
    assert diameter(TabularMDP(P, np.zeros((S, A)), gamma=1.0)) == dist.max()


def test_diameter_geometric_two_state():
    # one action: 0 -> 1 w.p. p, 1 -> 0 w.p. q; hitting times are geometric: D = max(1/p, 1/q)
    p, q = 0.3, 0.125
    P = np.array([[[1 - p, p]], [[q, 1 - q]]])
    assert diameter(TabularMDP(P, np.zeros((2, 1)), gamma=1.0)) == pytest.approx(8.0, rel=1e-13)
    assert diameter(two_traps()) == float("inf")


@HYP
@given(S=st.integers(2, 4), A=st.integers(1, 2), seed=st.integers(0, 2**31 - 1))
def test_diameter_matches_brute_force_over_policies(S, A, seed):
    # For each target t, min over deterministic stationary policies of E[hitting time]
    # (policies that never reach t from s count as infinite); the SSP optimum is attained by
    # such a policy [bertsekas1991]. 1e-9: LU round-off on these small systems.
    mdp = random_communicating(S, A, rng=seed, branching=2)
    best = np.zeros((S, S))
    for t in range(S):
        live = np.arange(S) != t
        times = []
        for p in all_policies(mdp):
            M = np.eye(S - 1) - np.asarray(mdp.P_pi(p))[np.ix_(live, live)]
            try:
                T = np.linalg.solve(M, np.ones(S - 1))
            except np.linalg.LinAlgError:
                continue
            if np.all(T >= 1 - 1e-9) and np.all(np.isfinite(T)) and np.linalg.cond(M) < 1e12:
                times.append(T)
        best[live, t] = np.min(times, axis=0)
    assert diameter(mdp) == pytest.approx(best.max(), rel=1e-9)


# --------------------------------------------------------------------------- generators
@HYP
@given(S=st.integers(1, 9), A=st.integers(1, 3), b=st.integers(1, 4),
       seed=st.integers(0, 2**31 - 1))
def test_random_communicating_is_communicating_and_reproducible(S, A, b, seed):
    mdp = random_communicating(S, A, rng=seed, branching=b)
    assert is_communicating(mdp) and np.isfinite(diameter(mdp))
    assert mdp.gamma == 1.0 and mdp.R.min() >= 0.0 and mdp.R.max() < 1.0
    assert ((mdp.P > 0).sum(axis=-1) <= min(b, S)).all()
    assert (mdp.P[np.arange(S), 0, (np.arange(S) + 1) % S] > 0).all()
    again = random_communicating(S, A, rng=np.random.default_rng(seed), branching=b)
    assert np.array_equal(mdp.P, again.P) and np.array_equal(mdp.R, again.R)


@HYP
@given(S=st.integers(2, 8), A=st.integers(1, 3), k=st.integers(1, 3),
       seed=st.integers(0, 2**31 - 1))
def test_random_weakly_communicating_structure(S, A, k, seed):
    k = min(k, S - 1)
    mdp = random_weakly_communicating(S, A, rng=seed, n_transient=k)
    assert is_weakly_communicating(mdp) and not is_communicating(mdp)
    assert diameter(mdp) == float("inf")
    assert (mdp.P[:, :, S - k:] == 0).all()          # nothing enters the transient states
    sol = solve_average(mdp, method="rvi")
    assert sol.converged
    assert abs(sol.gain - solve_average(mdp).gain) <= 2 * sol.error_bound + 1e-12


# --------------------------------------------------------------------------- sparse and errors
@pytest.mark.parametrize("method", METHODS)
def test_sparse_model_matches_dense(method):
    mdp = riverswim(6)
    sparse = mdp.replace(P=sp.csr_array(mdp.P.reshape(12, 6)))
    a, b = solve_average(mdp, method=method), solve_average(sparse, method=method)
    assert abs(a.gain - b.gain) <= a.error_bound + b.error_bound
    # bitwise: rvi/certificate kernels keep the dense summation order; one-hot P_pi rows are exact
    # copies (pi); HiGHS gets the same CSR data (lp). Same floats in, same floats out.
    np.testing.assert_array_equal(a.bias, b.bias)
    assert classify(sparse) == classify(mdp) and diameter(sparse) == pytest.approx(diameter(mdp))


def test_results_are_read_only_and_inputs_unchanged():
    mdp = riverswim(4)
    P0, R0 = mdp.P.copy(), mdp.R.copy()
    sol = solve_average(mdp, method="rvi")
    pg = policy_gain(mdp, sol.policy)
    assert isinstance(pg, PolicyGain) and isinstance(sol, AverageSolution)
    for arr in (sol.bias, sol.policy, sol.optimal_actions, sol.Q, pg.gain, pg.bias, pg.P_star):
        assert not arr.flags.writeable
    assert np.array_equal(mdp.P, P0) and np.array_equal(mdp.R, R0)
    assert "AverageSolution(method='rvi'" in repr(sol) and "PolicyGain(S=4" in repr(pg)


def test_errors_name_the_value_and_the_fix():
    with pytest.raises(ValueError, match=r"not weakly communicating: the state sets \{1\} and "
                                         r"\{2\}.*solve_multichain"):
        solve_average(two_traps())
    with pytest.raises(ValueError, match=r"states \{0\} can be kept away.*solve_multichain"):
        solve_average(lingering_start(), method="rvi")
    with pytest.raises(ValueError, match="not weakly communicating"):
        average_linear_programming(two_traps())
    with pytest.raises(ValueError, match=r"method == 'vi'; expected one of 'rvi', 'lp', 'pi'"):
        solve_average(riverswim(3), method="vi")
    with pytest.raises(ValueError, match=r"tau == 0.0, must be in \(0, 1\]"):
        relative_value_iteration(riverswim(3), tau=0.0)
    with pytest.raises(ValueError, match=r"tau == 1.5"):
        relative_value_iteration(riverswim(3), tau=1.5)
    with pytest.raises(ValueError, match=r"eps == 0.0"):
        relative_value_iteration(riverswim(3), eps=0.0)
    with pytest.raises(ValueError, match=r"s_ref == 3, must be in \[0, 2\]"):
        relative_value_iteration(riverswim(3), s_ref=3)
    with pytest.raises(ValueError, match=r"h0 has shape \(2,\); expected \(3\)"):
        relative_value_iteration(riverswim(3), h0=np.zeros(2))
    with pytest.raises(TypeError, match="expects a rlsandbox.TabularMDP, got ndarray"):
        solve_average(np.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="policy_gain expects a rlsandbox.TabularMDP"):
        policy_gain("mdp", [0, 0])
    with pytest.raises(ValueError, match=r"pi has shape \(3,\); expected \(2, 2\)"):
        policy_gain(puterman_31(), np.zeros(3, dtype=int))
    with pytest.raises(TypeError, match="deterministic policies are integer arrays"):
        policy_gain(puterman_31(), np.zeros(2))
    with pytest.raises(ValueError, match=r"pi0 has shape \(2, 2\); policy iteration starts"):
        average_policy_iteration(puterman_31(), pi0=np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="max_iter == 0"):
        diameter(riverswim(3), max_iter=0)


def test_generator_errors():
    with pytest.raises(TypeError, match="rng is None"):
        random_communicating(3, 2, rng=None)
    with pytest.raises(ValueError, match=r"S == 0, must be in \[1, inf\]"):
        random_communicating(0, 2, rng=0)
    with pytest.raises(ValueError, match=r"branching == 0"):
        random_communicating(3, 2, rng=0, branching=0)
    with pytest.raises(ValueError, match=r"n_transient == 3 leaves no core state for S == 3"):
        random_weakly_communicating(3, 2, rng=0, n_transient=3)
    with pytest.raises(ValueError, match=r"gamma == 1.5"):
        random_communicating(3, 2, rng=0, gamma=1.5)
