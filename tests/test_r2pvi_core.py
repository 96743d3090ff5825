"""R2PVI card, model layer: inner problems, exact robust DP, the simulated MDP.

References: the paper card shared/papers/r2pvi.md (cited as [r2pvi, §...]). Tolerances:

* closed form vs cvxpy primal: 1e-6, the card's cross-check tolerance (C1); CLARABEL runs at
  1e-9 gap/feasibility tolerances, the observed agreement is ~1e-7 at worst (KL balls);
* identities between two float64 evaluations of the same exact quantity: ``ROUND`` = 64 eps
  times the scale of the values (a few dozen flops per entry, each rounding by eps/2);
* hand-computed values are compared at 1e-12 absolute (they involve a handful of flops).
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsandbox as rls
from rlsandbox.algorithms.r2pvi import divergences as dv
from rlsandbox.algorithms.r2pvi.primal import ball_primal, inner_primal
from rlsandbox.algorithms.r2pvi.robust_dp import (ball_radii, constrained_dp, instance_term,
                                                  regularized_return, robust_dp,
                                                  robust_evaluate, suboptimality,
                                                  worst_case_factors)
from rlsandbox.linear import LinearMDP
from rlsandbox.mdps.r2pvi import (FAIL_STATE, SIM_ACTIONS, X1, simulated_linear_mdp,
                                  simulated_test_mdp)
from rlsandbox.testing import linear_mdps, simplex

EPS = np.finfo(np.float64).eps
ROUND = 64 * EPS
CARD_TOL = 1e-6


def _random_case(rng, zeros=True):
    S = int(rng.integers(2, 8))
    V = rng.random(S) * 3.0
    mu0 = rng.dirichlet(np.full(S, 0.7))
    if zeros and rng.random() < 0.5:
        mu0[rng.integers(S)] = 0.0
        mu0 /= mu0.sum()
    lam = float(np.exp(rng.uniform(np.log(0.03), np.log(10.0))))
    return V, mu0, lam


# ====================================================================== inner problems (C1)
@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_closed_form_equals_cvxpy_primal(div):
    """[r2pvi, §2.5, §4 C1]: closed form == primal optimum; the stated minimizer attains it."""
    rng = np.random.default_rng(11)
    for _ in range(12):
        V, mu0, lam = _random_case(rng)
        closed = dv.inner_value(div, V, mu0, lam)
        primal, _ = inner_primal(div, V, mu0, lam)
        assert abs(closed - primal) <= CARD_TOL
        mu = dv.inner_minimizer(div, V, mu0, lam)
        attained = mu @ V + lam * dv.divergence(div, mu, mu0)
        assert abs(attained - closed) <= ROUND * (1.0 + lam) * (1.0 + np.abs(V).max())
        # admissible radius [r2pvi, §2.5]: lam D(mu*) <= E_mu0 V - E_mu* V <= max V - min V
        D = dv.divergence(div, mu, mu0)
        assert lam * D <= mu0 @ V - mu @ V + ROUND * 10
        assert D <= (V.max() - V.min()) / lam + ROUND * 10


@pytest.mark.parametrize("lam", [0.05, 0.25, 0.4, 3.0])
def test_two_state_hand_values(lam):
    """V = (0, 1), mu0 = (1/2, 1/2). By hand: TV 0.5 min(1, lam); KL -lam log((1 + e^{-1/lam})/2);
    chi2: mu = (1 - p, p), chi2 = 4 (p - 1/2)^2, min_p p + 4 lam (p - 1/2)^2 gives
    p = 1/2 - 1/(8 lam) when lam >= 1/4 (value 1/2 - 1/(16 lam)) and p = 0 otherwise (value lam)."""
    V, mu0 = np.array([0.0, 1.0]), np.array([0.5, 0.5])
    assert dv.inner_value("tv", V, mu0, lam) == pytest.approx(0.5 * min(1.0, lam), abs=1e-12)
    kl = -lam * math.log((1.0 + math.exp(-1.0 / lam)) / 2.0)
    assert dv.inner_value("kl", V, mu0, lam) == pytest.approx(kl, abs=1e-12)
    chi2 = 0.5 - 1.0 / (16.0 * lam) if lam >= 0.25 else lam
    assert dv.inner_value("chi2", V, mu0, lam) == pytest.approx(chi2, abs=1e-12)
    p = 0.5 - 1.0 / (8.0 * lam) if lam >= 0.25 else 0.0
    assert dv.inner_minimizer("chi2", V, mu0, lam) == pytest.approx([1.0 - p, p], abs=1e-12)


def test_tv_threshold_uses_the_whole_state_space():
    """[r2pvi, §2.5]: TV may move mass outside supp(mu0), so the minimum is over all of S.
    V = (5, 1, 0) with mu0 = (1/2, 1/2, 0), lam = 0.5: alpha = 0 + 0.5, w = 0.5 (both states
    capped); with the minimum over supp(mu0) alpha would be 1.5 and w = 1.25."""
    V, mu0 = np.array([5.0, 1.0, 0.0]), np.array([0.5, 0.5, 0.0])
    assert dv.inner_value("tv", V, mu0, 0.5) == pytest.approx(0.5, abs=1e-15)
    assert dv.inner_minimizer("tv", V, mu0, 0.5).tolist() == [0.0, 0.0, 1.0]
    # KL / chi2 cannot leave the support (P9): the 0-value state is unreachable, and
    # w = 1 - lam log(1/2 + e^{-4/lam}/2) = 1 + lam log 2 (e^{-4000} underflows to 0 exactly)
    assert dv.inner_value("kl", V, mu0, 1e-3) == pytest.approx(1.0 + 1e-3 * math.log(2.0),
                                                                abs=1e-12)


@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_limits_in_lam(div):
    """[r2pvi, §2.5 limits]: lam -> inf gives E_mu0 V (TV exactly once lam >= max V - min_S V);
    lam -> 0 gives min_S V (TV) or min_{supp} V (KL, chi2)."""
    rng = np.random.default_rng(3)
    for _ in range(10):
        V, mu0, _ = _random_case(rng)
        mean = float(mu0 @ V)
        if div == "tv":
            assert dv.inner_value(div, V, mu0, V.max() - V.min()) == pytest.approx(mean, abs=1e-12)
            assert dv.inner_value(div, V, mu0, 0.0) == pytest.approx(V.min(), abs=1e-12)
        else:
            # 0 <= E V - w <= (max V - min V)^2 / (8 lam) for KL (Hoeffding's lemma) and
            # <= Var(V)/(4 lam) <= 9/(16 lam) for chi2 (alpha = max V); V in [0, 3]
            big = 1e6
            assert 0.0 <= mean - dv.inner_value(div, V, mu0, big) <= 9.0 / big + 1e-12
            low = float(V[mu0 > 0].min())
            p_min = float(mu0[mu0 > 0].min())
            # lam -> 0, with m = min_supp V: KL w <= m - lam log mu0(argmin) (keep one term of the
            # sum); chi2 w <= tau and mu0(argmin) (tau - m) <= E (tau - V)^+ = 2 lam
            small = 1e-4
            gap = dv.inner_value(div, V, mu0, small) - low
            bound = -small * math.log(p_min) if div == "kl" else 2.0 * small / p_min
            assert -1e-12 <= gap <= bound + 1e-12


_VALUES = st.lists(st.floats(0.0, 3.0, allow_nan=False), min_size=2, max_size=6)


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_monotone_and_concave_in_lam(data):
    """[r2pvi, §2.5]: lam -> w^lam[V] is nondecreasing and concave (an infimum of affine
    functions of lam). Checked on lam in {0.05, 0.1, 0.2, 0.4, ...}: increments are >= -round-off
    and the slopes between consecutive points are nonincreasing."""
    V = np.array(data.draw(_VALUES))
    mu0 = data.draw(simplex(V.size))
    div = data.draw(st.sampled_from(dv.DIVERGENCES))
    lams = 0.05 * 2.0 ** np.arange(8)
    w = np.array([dv.inner_value(div, V, mu0, lam) for lam in lams])
    tol = ROUND * (1.0 + V.max()) * 10
    assert np.all(np.diff(w) >= -tol)
    slopes = np.diff(w) / np.diff(lams)
    assert np.all(np.diff(slopes) <= tol / 0.05)


@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_ball_inf_and_sup_equal_cvxpy(div):
    """[r2pvi, §2.7, §4 C3/E4]: the ball inf (baselines' dual oracle) and sup (E4) are exact."""
    rng = np.random.default_rng(5)
    for _ in range(8):
        V, mu0, _ = _random_case(rng)
        r = float(rng.uniform(0.0, 1.5))
        assert dv.ball_inf(div, V, mu0, r) == pytest.approx(
            ball_primal(div, V, mu0, r, sense="inf")[0], abs=CARD_TOL)
        assert dv.ball_sup(div, V, mu0, r) == pytest.approx(
            ball_primal(div, V, mu0, r, sense="sup")[0], abs=CARD_TOL)
        mu = dv.ball_maximizer(div, V, mu0, r)
        assert dv.divergence(div, mu, mu0) <= r + 1e-9


def test_tv_ball_dual_with_fail_state():
    """[r2pvi, §2.7]: with min_S V = 0, inf_{TV <= rho} E V = max_alpha E[V]_alpha - rho alpha,
    the formula DRPVI uses; checked on a dense alpha grid that contains every breakpoint."""
    rng = np.random.default_rng(8)
    for _ in range(20):
        S = int(rng.integers(2, 7))
        V = rng.random(S) * 3.0
        V[0] = 0.0
        mu0 = rng.dirichlet(np.ones(S))
        rho = float(rng.uniform(0.0, 1.0))
        alphas = np.unique(np.concatenate([np.linspace(0.0, 3.0, 301), V]))
        dual = max(mu0 @ np.minimum(V, a) - rho * a for a in alphas)
        assert dv.ball_inf("tv", V, mu0, rho) == pytest.approx(dual, abs=1e-12)


def test_input_errors():
    with pytest.raises(ValueError, match=r"divergence == 'hellinger'; expected one of 'tv'"):
        dv.inner_value("hellinger", [0.0, 1.0], [0.5, 0.5], 1.0)
    with pytest.raises(ValueError, match=r"lam == 0.0, must be in \(0, inf\)"):
        dv.inner_value("kl", [0.0, 1.0], [0.5, 0.5], 0.0)
    with pytest.raises(ValueError, match=r"mu0 sums to|mu0\[:\] sums to|sums to 0.9"):
        dv.inner_value("tv", [0.0, 1.0], [0.5, 0.4], 1.0)
    with pytest.raises(ValueError, match=r"V\[1\] is nan|V has|nan"):
        dv.inner_value("tv", [0.0, np.nan], [0.5, 0.5], 1.0)


# ====================================================================== the simulated MDP
def test_simulated_mdp_reference_values():
    """[r2pvi, §5.1] (hand derivation in the card): nominal-optimal earns 1.624875 - q in the
    test model; the best policy at q = 1 earns 0.9 * 1.24975 = 1.124775 (<xi, a> = -0.2 at x1,
    then a = (1, 1, 1, 1)); the nominal optimum is 0.5 * 0.999 * 1.24975 + 1."""
    lin = simulated_linear_mdp()
    assert lin.is_d_rectangular and lin.H == 3 and lin.rho[X1] == 1.0
    assert rls.solve(lin.to_tabular()).value == pytest.approx(0.5 * 0.999 * 1.24975 + 1.0,
                                                              abs=1e-12)
    best = np.full((3, 5), 15)
    for q in (0.0, 0.3, 1.0):
        fh = simulated_test_mdp(q).to_tabular()
        assert float(rls.evaluate(fh, best)[0, 0]) == pytest.approx(1.624875 - q, abs=1e-12)
    sol = rls.solve(simulated_test_mdp(1.0).to_tabular())
    assert sol.value == pytest.approx(0.9 * 1.24975, abs=1e-12)
    assert SIM_ACTIONS[sol.policy[0, X1]] @ np.full(4, 0.05) == pytest.approx(-0.2)


# card §4 C11: V^{*,lam}_1(x1) for lam = 0.05, 0.1, 0.3, 0.6, 1.0 (TV) and 0.05, 0.1, 0.3, 1.0
# (KL, chi2)
C11 = {"tv": {0.05: 0.0500, 0.1: 0.0999, 0.3: 0.2998, 0.6: 0.5997, 1.0: 0.9995},
       "kl": {0.05: 1.1727, 0.1: 1.3452, 0.3: 1.6155, 1.0: 1.6236},
       "chi2": {0.05: 1.6200, 0.1: 1.6221, 0.3: 1.6235, 1.0: 1.6240}}


@pytest.mark.parametrize("div, lam", [(d, l) for d in C11 for l in C11[d]])
def test_c11_reference_values(div, lam):
    """[r2pvi, §4 C11]: values to the card's 4 decimals; the optimal policy is the nominal one
    (a = (1, 1, 1, 1), action 15) at x1 and x2. TV's margin at x1 is tiny (0.0001 lam per
    step in <xi, a>, the near tie the card describes)."""
    sol = robust_dp(simulated_linear_mdp(), lam=lam, divergence=div)
    assert sol.value == pytest.approx(C11[div][lam], abs=5e-5)
    assert sol.policy[0, X1] == 15 and sol.policy[1, 1] == 15
    if div == "tv":
        assert sol.margin[0, X1] == pytest.approx(1e-4 * lam, rel=1e-6)


# ====================================================================== exact DP (E1-E4, C2)
def _tiny(seed, S=3, A=2, d=2, H=3):
    return rls.mdps.linear.random_linear_mdp(S, A, d, rng=np.random.default_rng(seed), H=H,
                                              concentration=0.5)


@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_brute_force_deterministic_policies(div):
    """[r2pvi, §4 C2 (b)]: the max over all deterministic Markov policies equals E1, and random
    stochastic policies never exceed it (|S| = 3, |A| = 2, H = 3: 2^9 policies)."""
    lin = _tiny(1)
    best = robust_dp(lin, lam=0.4, divergence=div)
    values = []
    for flat in itertools.product(range(2), repeat=9):
        pi = np.array(flat).reshape(3, 3)
        values.append(robust_evaluate(lin, pi, lam=0.4, divergence=div).value)
    assert max(values) == pytest.approx(best.value, abs=ROUND * 10)
    rng = np.random.default_rng(0)
    for _ in range(100):
        pi = rng.dirichlet(np.ones(2), size=(3, 3))
        assert robust_evaluate(lin, pi, lam=0.4, divergence=div).value <= best.value + ROUND * 10


@pytest.mark.parametrize("div", dv.DIVERGENCES)
def test_worst_case_kernel_attains_the_value(div):
    """[r2pvi, §4 C2 (c)]: the inner minimizers for V^{pi,lam} reproduce V^{pi,lam} as a
    regularized return, and random factor choices (on supp(mu0) for KL/chi2) never go below."""
    lin = _tiny(2, S=4, A=3, d=3)
    rng = np.random.default_rng(1)
    pi = rng.dirichlet(np.ones(3), size=(3, 4))
    ev = robust_evaluate(lin, pi, lam=0.3, divergence=div)
    mu_star = worst_case_factors(lin, ev.V, lam=0.3, divergence=div)
    V = regularized_return(lin, pi, mu_star, lam=0.3, divergence=div)
    assert np.allclose(V, ev.V, rtol=0.0, atol=ROUND * 10)
    for _ in range(50):
        mu = np.zeros_like(lin.mu)
        for h, i in np.ndindex(lin.H, lin.d):
            supp = lin.mu[h, i] > 0 if div != "tv" else np.ones(lin.S, bool)
            mu[h, i, supp] = rng.dirichlet(np.ones(int(supp.sum())))
        assert regularized_return(lin, pi, mu, lam=0.3, divergence=div)[0].min() >= \
            (ev.V[0] - ROUND * 10).min()


@settings(max_examples=30, deadline=None)
@given(linear_mdps(S=(2, 4), A=(1, 3), d=(1, 3), H=(1, 3), reward=(0.0, 1.0)),
       st.sampled_from(dv.DIVERGENCES), st.floats(0.05, 5.0))
def test_robust_value_between_zero_and_nominal(lin, div, lam):
    """[r2pvi, §2.4 ranges]: 0 <= V^{pi,lam} <= V^pi_nominal (mu = mu0 is feasible and costs 0;
    rewards and the regularizer are >= 0), and V^{*,lam} >= V^{pi,lam}; with TV and
    lam >= H (>= max V - min V) the robust value is the nominal one exactly."""
    pi = np.zeros((lin.H, lin.S), dtype=np.int64)
    ev = robust_evaluate(lin, pi, lam=lam, divergence=div)
    nominal = rls.evaluate(lin.to_tabular(), pi)
    tol = ROUND * lin.H * 10
    assert np.all(ev.V >= -tol) and np.all(ev.V <= nominal + tol)
    assert np.all(robust_dp(lin, lam=lam, divergence=div).V >= ev.V - tol)
    big = robust_evaluate(lin, pi, lam=float(lin.H), divergence="tv")
    assert np.allclose(big.V, nominal, rtol=0.0, atol=tol)


def test_instance_term_radius_zero_is_nominal_expectation():
    """[r2pvi, §4 E4]: with radius 0 the sup is the nominal kernel, so G is the policy's
    nominal expected sum of b (a policy evaluation with reward b)."""
    lin = _tiny(4, S=4, A=2, d=3)
    rng = np.random.default_rng(2)
    b = rng.random((3, 4, 2))
    pi = np.zeros((3, 4), dtype=np.int64)
    value, G = instance_term(lin, pi, b, divergence="kl", radii=np.zeros(3))
    fh = rls.FiniteHorizonMDP(lin.P, b, rho=lin.rho)
    assert np.allclose(G, rls.evaluate(fh, pi), rtol=0.0, atol=ROUND * 10)
    # a larger ball can only increase the sup
    bigger, _ = instance_term(lin, pi, b, divergence="kl", radii=ball_radii(3, 0.5, "kl"))
    assert bigger >= value - ROUND


def test_c7_reference_instance_term():
    """[r2pvi, §4 C7 (a)]: simulated MDP, uniform behavior, population Gram K Sigma_b + I,
    lam = 0.3, bonus 0 at x4. The card gives K Phi_inst^2 = 68.0, 70.1, 70.35, 70.38 for
    K = 1e3 .. 1e6 (KL and chi2 alike: both balls can move factor 1's leak mass back to x2),
    i.e. Phi_inst = 0.2608, 0.0838, 0.0265, 0.0084; we match K Phi^2 to the card's digits
    (Phi(1e4) = 0.083745, so the card's 0.0838 is a rounding of 70.1). TV: Phi_inst = 1.208,
    1.067, 1.021, 1.007 (it does not vanish: the TV ball reaches uncovered states)."""
    from rlsandbox.algorithms.r2pvi.bounds import population_instance_term

    lin = simulated_linear_mdp()
    k_phi2 = [(1e3, 68.0, 0.05), (1e4, 70.1, 0.05), (1e5, 70.35, 0.005), (1e6, 70.38, 0.005)]
    for div in ("kl", "chi2"):
        for K, want, half_ulp in k_phi2:
            phi = population_instance_term(lin, K=K, lam=0.3, divergence=div, ridge=1.0,
                                           fail_states=[FAIL_STATE])
            assert K * phi ** 2 == pytest.approx(want, abs=half_ulp)
    for K, want in zip([1e3, 1e4, 1e5, 1e6], [1.208, 1.067, 1.021, 1.007]):
        phi = population_instance_term(lin, K=K, lam=0.3, divergence="tv", ridge=1.0,
                                       fail_states=[FAIL_STATE])
        assert phi == pytest.approx(want, abs=5e-4)


def test_constrained_dp_zero_radius_is_nominal_and_monotone():
    """[r2pvi, §2.7]: rho = 0 gives the nominal optimum; values are nonincreasing in rho."""
    lin = simulated_linear_mdp()
    nominal = rls.solve(lin.to_tabular()).value
    prev = math.inf
    for rho in (0.0, 0.05, 0.2, 0.5):
        for div in ("tv", "kl"):
            v = constrained_dp(lin, rho=rho, divergence=div).value
            if rho == 0.0:
                assert v == pytest.approx(nominal, abs=1e-12)
        v = constrained_dp(lin, rho=rho, divergence="tv").value
        assert v <= prev + 1e-12
        prev = v


def test_suboptimality_and_errors():
    lin = simulated_linear_mdp()
    pi = np.zeros((3, 5), dtype=int)
    # TV with lam >= 2 is the nominal problem: 1.624250125 - 0.460658081 (module doctest, by hand)
    gap = 0.5 * 0.999 * 1.24975 + 1.0 - (0.9 * 0.999 * (0.1 + 0.9 * 0.999 * 0.1 + 0.1) + 0.2)
    assert suboptimality(lin, pi, lam=2.0, divergence="tv") == pytest.approx(gap, abs=1e-12)
    with pytest.raises(TypeError, match="expects a rlsandbox.linear.LinearMDP"):
        robust_dp(lin.to_tabular(), lam=1.0, divergence="tv")
    stationary = LinearMDP(lin.phi, lin.mu[0], lin.theta[1], gamma=0.9)
    with pytest.raises(ValueError, match="needs a finite-horizon LinearMDP"):
        robust_dp(stationary, lam=1.0, divergence="tv")
    with pytest.raises(ValueError, match="constrained_dp supports divergence 'tv' and 'kl'"):
        constrained_dp(lin, rho=0.1, divergence="chi2")
