"""Tests of rlsandbox.measures: occupancies, stationary distributions, divergences,
coverage / mismatch coefficients and the performance-difference identity.

Tolerances (float64 round-off, eps = 2.2e-16). An occupancy solves M x = rho with
M = I - gamma P_pi^T by LU. LU's backward error is |dM| <= gamma_S |L||U| with
gamma_S ~ S eps [higham2002, Thm 9.3]; for a column diagonally dominant M (no pivoting, growth
factor <= 2 [higham2002, Thm 9.9]) ||L||U||| <= 2 S ||M|| <= 4 S, so ||dM||_1 <= 4 S^2 eps.
Hence the residual of the flow equations is <= 4 S^2 eps ||x||_1 and the error in x is
<= ||M^{-1}||_1 4 S^2 eps ||x||_1 with ||M^{-1}||_1 <= 1/(1-gamma). The helper ``lu_tol``
doubles these bounds (triangular solves and the final sums add errors of the same order).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsandbox as rls
from rlsandbox.measures import (PerformanceDifference, chi2, concentrability,
                                distribution_mismatch, hellinger, kl, max_ratio, occupancy,
                                performance_difference, state_occupancy,
                                stationary_distribution, tv)
from rlsandbox.testing import finite_horizon_mdps, policies, simplex, tabular_mdps

EPS = np.finfo(np.float64).eps


def lu_tol(S: int, scale: float = 1.0) -> float:
    """2 x (4 S^2 eps) x scale: the LU residual bound of the module docstring."""
    return 8.0 * S * S * EPS * scale


def mdp_and_policy(**kw):
    return tabular_mdps(**kw).flatmap(lambda m: st.tuples(st.just(m), policies(m)))


def random_mdp(rng, S, A, gamma, *, sparse=False, rho=None):
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.uniform(-1, 1, size=(S, A))
    if sparse:
        P = sp.csr_array(P.reshape(S * A, S))
    return rls.TabularMDP(P, R, gamma, rho=rho)


# ============================================================== occupancy: references
def test_two_state_occupancy_matches_exact_fractions():
    # Reference: d^T = (1-g) rho^T (I - g P)^{-1} for a 2x2 chain, computed in exact rational
    # arithmetic by the adjugate formula (I - g P)^{-1} = adj(I - g P) / det(I - g P).
    p, q, g = Fraction(3, 10), Fraction(1, 5), Fraction(9, 10)
    Pf = [[1 - p, p], [q, 1 - q]]
    M = [[1 - g * Pf[0][0], -g * Pf[0][1]], [-g * Pf[1][0], 1 - g * Pf[1][1]]]
    det = M[0][0] * M[1][1] - M[0][1] * M[1][0]
    inv_row0 = [M[1][1] / det, -M[0][1] / det]           # rho = e_0: row 0 of the inverse
    d_exact = [float((1 - g) * v) for v in inv_row0]
    P = np.zeros((2, 1, 2))
    P[:, 0, :] = np.array(Pf, dtype=float)
    mdp = rls.TabularMDP(P, np.zeros((2, 1)), float(g), rho=np.array([1.0, 0.0]))
    d = state_occupancy(mdp, np.zeros(2, dtype=int))
    np.testing.assert_allclose(d, d_exact, rtol=0, atol=lu_tol(2))
    x = state_occupancy(mdp, np.zeros(2, dtype=int), normalized=False)
    np.testing.assert_allclose(x, np.array(d_exact) / 0.1, rtol=0, atol=lu_tol(2, 10.0))


@settings(max_examples=50, deadline=None)
@given(mdp_and_policy(S=(1, 6), A=(1, 3), gamma=(0.0, 0.95), sparse=st.booleans()))
def test_occupancy_sums_flow_and_value(mdp_pi):
    mdp, pi = mdp_pi
    S, A, g = mdp.S, mdp.A, mdp.gamma
    d = occupancy(mdp, pi)
    x = occupancy(mdp, pi, normalized=False)
    assert d.shape == (S, A) and (d >= 0).all()
    # sums: 1 and 1/(1-gamma); ||dM|| ||x|| bound with ||x||_1 = 1/(1-gamma)
    assert abs(d.sum() - 1.0) <= lu_tol(S, 1.0 / (1 - g))
    assert abs(x.sum() - 1.0 / (1 - g)) <= lu_tol(S, 1.0 / (1 - g) ** 2)
    # flow: sum_a d(s', a) = (1-g) rho(s') + g sum_{s,a} P(s'|s,a) d(s,a)
    P = mdp.dense_P()
    flow = (1 - g) * mdp.rho + g * np.einsum("sa,sat->t", d, P)
    np.testing.assert_allclose(d.sum(axis=1), flow, rtol=0, atol=lu_tol(S))
    # V^pi(rho) = <d, R> / (1 - g); both sides carry the 1/(1-g) conditioning of the solves
    V = rls.evaluate(mdp, pi)
    scale = (1 + np.abs(mdp.R).max()) / (1 - g) ** 2
    assert abs(mdp.rho @ V - (d * mdp.R).sum() / (1 - g)) <= 2 * lu_tol(S, scale)
    # the state occupancy is the marginal, and d(s, a) = d(s) pi(a|s)
    ds = state_occupancy(mdp, pi)
    np.testing.assert_allclose(d.sum(axis=1), ds, rtol=2 * A * EPS, atol=0)
    pi_sto = np.eye(A)[pi] if pi.ndim == 1 else pi
    np.testing.assert_array_equal(d, ds[:, None] * pi_sto)


@settings(max_examples=30, deadline=None)
@given(mdp_and_policy(S=(2, 6), A=(1, 3), gamma=0.9))
def test_dense_and_sparse_occupancies_agree(mdp_pi):
    mdp, pi = mdp_pi
    other = mdp.replace(P=mdp.csr_P()) if not mdp.is_sparse else mdp.replace(P=mdp.dense_P())
    np.testing.assert_allclose(state_occupancy(mdp, pi), state_occupancy(other, pi), rtol=0,
                               atol=2 * lu_tol(mdp.S, 10.0))


def test_occupancy_is_exactly_zero_off_the_reachable_set():
    # states 2 and 3 cannot be reached from state 0 (0 <-> 1 only)
    P = np.zeros((4, 1, 4))
    P[0, 0, [0, 1]] = [0.5, 0.5]
    P[1, 0, [0, 1]] = [0.3, 0.7]
    P[2, 0, [0, 3]] = [0.5, 0.5]
    P[3, 0, 2] = 1.0
    mdp = rls.TabularMDP(P, np.zeros((4, 1)), 0.9, rho=np.array([1.0, 0, 0, 0]))
    d = state_occupancy(mdp, np.zeros(4, dtype=int))
    assert d[2] == 0.0 and d[3] == 0.0 and (d[:2] > 0).all()


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "csr"])
def test_occupancy_nonnegative_with_tiny_probabilities(sparse):
    # probabilities down to 1e-300: an LU that loses the sign structure would return entries
    # of order -1e-17 here; the M-matrix solve keeps them >= 0 (module docstring).
    S = 5
    P = np.zeros((S, 2, S))
    for s in range(S):
        P[s, 0, (s + 1) % S] = 1e-300
        P[s, 0, s] = 1.0 - 1e-300          # == 1.0 in float64; the row still sums to 1
        P[s, 1, 0] = 1.0 - 1e-200
        P[s, 1, s % (S - 1) + 1] = 1e-200  # a state other than 0
    mdp = rls.TabularMDP(sp.csr_array(P.reshape(S * 2, S)) if sparse else P, np.zeros((S, 2)),
                         0.99, rho=np.eye(S)[0])
    for pi in (np.zeros(S, dtype=int), np.ones(S, dtype=int), np.full((S, 2), 0.5)):
        d = state_occupancy(mdp, pi)
        assert (d >= 0).all()
        assert abs(d.sum() - 1.0) <= lu_tol(S, 100.0)


# ============================================================== occupancy: episodic, gamma == 1
def _episodic_chain():
    """Live states 0, 1, 2 and terminal 3; every live state exits w.p. >= 0.2 per step."""
    P = np.zeros((4, 2, 4))
    P[0, 0] = [0.0, 0.5, 0.3, 0.2]
    P[0, 1] = [0.1, 0.0, 0.0, 0.9]
    P[1, 0] = [0.4, 0.0, 0.4, 0.2]
    P[1, 1] = [0.0, 0.0, 0.5, 0.5]
    P[2, 0] = [0.3, 0.3, 0.0, 0.4]
    P[2, 1] = [0.0, 0.8, 0.0, 0.2]
    P[3, :, 3] = 1.0
    R = np.array([[1.0, 0.5], [-0.5, 2.0], [0.25, 1.0], [0.0, 0.0]])
    term = np.array([False, False, False, True])
    return rls.TabularMDP(P, R, 1.0, rho=np.array([0.5, 0.3, 0.2, 0.0]), terminal=term)


def test_episodic_visit_counts_give_the_value_and_expected_length():
    mdp = _episodic_chain()
    pi = np.array([[0.6, 0.4], [0.5, 0.5], [0.2, 0.8], [1.0, 0.0]])
    x = occupancy(mdp, pi, normalized=False)
    assert (x[3] == 0).all()                     # terminal states are never "visited before"
    V = rls.evaluate(mdp, pi)
    # Expected length bounded by 1/0.2 = 5 per start state: ||M^{-1}||_1 <= 5.
    assert abs(mdp.rho @ V - (x * mdp.R).sum()) <= lu_tol(4, 5.0 * 5.0 * 2.0)
    # sum of visits = expected episode length = V of the all-ones reward on live states
    ones = mdp.replace(R=np.where(mdp.terminal[:, None], 0.0, 1.0) * np.ones((4, 2)))
    assert abs(mdp.rho @ rls.evaluate(ones, pi) - x.sum()) <= lu_tol(4, 5.0 * 5.0 * 2.0)


@settings(max_examples=30, deadline=None)
@given(mdp_and_policy(S=(2, 6), A=(1, 3), gamma=1.0, terminal="proper", sparse=st.booleans()))
def test_episodic_value_identity_on_random_proper_models(mdp_pi):
    mdp, pi = mdp_pi
    x = occupancy(mdp, pi, normalized=False)
    V = rls.evaluate(mdp, pi)
    # ||M^{-1}||_1 = max expected length L; error <= L * (4 S^2 eps) * L * max|R|, doubled
    ones = mdp.replace(R=np.where(mdp.terminal[:, None], 0.0, 1.0) * np.ones((mdp.S, mdp.A)))
    L = float(np.max(rls.evaluate(ones, pi)))
    tol = lu_tol(mdp.S, 2.0 * L * L * (1 + np.abs(mdp.R).max()))
    assert abs(mdp.rho @ V - (x * mdp.R).sum()) <= tol


def test_gamma_one_errors():
    mdp = _episodic_chain()
    pi = np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="pass normalized=False"):
        state_occupancy(mdp, pi)
    no_term = mdp.replace(terminal=None)
    with pytest.raises(ValueError, match="no terminal states"):
        state_occupancy(no_term, pi, normalized=False)
    # improper: state 1 with action 1 loops to itself... build one explicitly
    P = np.array(mdp.P)
    P[1, 1] = [0.0, 1.0, 0.0, 0.0]
    loop = mdp.replace(P=P)
    with pytest.raises(ValueError, match="improper from rho: state 1"):
        state_occupancy(loop, np.array([0, 1, 0, 0]), normalized=False)
    # ... but the same policy is fine from a start that cannot reach state 1
    P2 = np.array(P)
    P2[2, 0] = [0.0, 0.0, 0.5, 0.5]
    ok = mdp.replace(P=P2, rho=np.array([0.0, 0.0, 1.0, 0.0]))
    x = state_occupancy(ok, np.array([0, 1, 0, 0]), normalized=False)
    assert x[1] == 0.0 and abs(x[2] - 2.0) <= lu_tol(4, 4.0)     # geometric(1/2): 2 visits


def test_occupancy_validation_messages():
    mdp = rls.mdps.riverswim()
    with pytest.raises(ValueError, match=r"rho sums to"):
        state_occupancy(mdp, np.zeros(mdp.S, dtype=int), rho=np.full(mdp.S, 0.1))
    with pytest.raises(TypeError, match="normalized must be True or False"):
        state_occupancy(mdp, np.zeros(mdp.S, dtype=int), normalized=1)
    with pytest.raises(TypeError, match="expects a TabularMDP or FiniteHorizonMDP"):
        occupancy(np.zeros((2, 2, 2)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="expected"):
        occupancy(mdp, np.zeros((mdp.S + 1, mdp.A)))


# ============================================================== finite horizon
@settings(max_examples=30, deadline=None)
@given(finite_horizon_mdps(H=(1, 4), S=(1, 4), A=(1, 3)).flatmap(
    lambda m: st.tuples(st.just(m), policies(m))))
def test_finite_horizon_marginals_give_the_value(fh_pi):
    fh, pi = fh_pi
    d = occupancy(fh, pi)
    assert d.shape == (fh.H, fh.S, fh.A)
    np.testing.assert_allclose(d.sum(axis=(1, 2)), 1.0, rtol=0, atol=4 * fh.H * fh.S * EPS * fh.A)
    # forward marginals vs the backward-induction value: V_0(rho) = sum_h <d_h, R_h>; each
    # side is a sum of H S A products of magnitude <= max|R|
    V = rls.evaluate(fh, pi)
    tol = 8 * fh.H * fh.S * fh.A * EPS * fh.H * (1 + np.abs(fh.R).max())
    assert abs(fh.rho @ V[0] - (d * fh.R).sum()) <= tol
    np.testing.assert_array_equal(state_occupancy(fh, pi, normalized=False),
                                  state_occupancy(fh, pi))


# ============================================================== stationary distributions
def test_two_state_stationary_closed_form():
    # nu = (q, p) / (p + q) for P = [[1-p, p], [q, 1-q]]
    p, q = 0.3, 0.05
    nu = stationary_distribution(np.array([[1 - p, p], [q, 1 - q]]))
    np.testing.assert_allclose(nu, [q / (p + q), p / (p + q)], rtol=4 * EPS, atol=0)


def test_gth_keeps_relative_accuracy_for_tiny_probabilities():
    # P = [[1 - e, e], [1, 0]]: nu = (1, e) / (1 + e). With e = 1e-20 an LU solve would give
    # nu[1] with absolute error ~1e-16, i.e. no correct digit; GTH subtracts nothing.
    e = 1e-20
    nu = stationary_distribution(np.array([[1.0 - e, e], [1.0, 0.0]]))
    assert nu[1] == pytest.approx(e / (1 + e), rel=8 * EPS)


def test_periodic_chain():
    nu = stationary_distribution(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(nu, 1 / 3, rtol=4 * EPS)


@settings(max_examples=40, deadline=None)
@given(simplex((1, 7), shape=(7,), zeros=False).map(lambda P: P[: P.shape[1]]),
       st.booleans())
def test_stationary_of_positive_chains_against_matrix_powers(P, sparse):
    # P > 0 entrywise: irreducible and aperiodic. Every entry is >= m = e^-8 / S >= 4.8e-5
    # (strategy logits in [-4, 4]), so the Dobrushin coefficient is <= 1 - m and
    # ||e_0^T P^t - nu||_1 <= 2 (1 - m)^t <= 2 exp(-50) for t = 2^20: only round-off remains.
    # Repeated squaring inflates the row sums (relative error doubling per squaring), so the
    # reference row is renormalised; mixing damps the other error directions.
    S = P.shape[0]
    P = P / P.sum(axis=1, keepdims=True)
    nu = stationary_distribution(sp.csr_array(P) if sparse else P)
    row = np.linalg.matrix_power(P, 2 ** 20)[0]
    ref = row / row.sum()
    assert (nu >= 0).all() and abs(nu.sum() - 1) <= 4 * S * EPS
    np.testing.assert_allclose(nu, ref, rtol=0, atol=64 * S * S * EPS)
    np.testing.assert_allclose(nu @ P, nu, rtol=0, atol=8 * S * EPS)


def test_unichain_with_transient_states():
    # 0 -> {1, 2} transient start; {1, 2} is the only recurrent class
    P = np.array([[0.2, 0.5, 0.3], [0.0, 0.1, 0.9], [0.0, 0.6, 0.4]])
    nu = stationary_distribution(P)
    assert nu[0] == 0.0
    np.testing.assert_allclose(nu[1:], [0.6 / 1.5, 0.9 / 1.5], rtol=8 * EPS)
    np.testing.assert_array_equal(stationary_distribution(P, rho=[1.0, 0.0, 0.0]), nu)


def test_multichain_cesaro_limit_from_rho():
    # state 0 transient, absorbed in class {1} w.p. 0.5/0.75 = 2/3 and in class {2, 3} w.p. 1/3;
    # class {2, 3} flips deterministically (periodic): its stationary law is (1/2, 1/2).
    P = np.array([[0.25, 0.5, 0.25, 0.0],
                  [0.0, 1.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 1.0],
                  [0.0, 0.0, 1.0, 0.0]])
    with pytest.raises(ValueError, match=r"2 recurrent classes \(\{1\}, \{2, 3\}\).*rho="):
        stationary_distribution(P)
    nu = stationary_distribution(P, rho=[1.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(nu, [0.0, 2 / 3, 1 / 6, 1 / 6], rtol=0, atol=16 * EPS)
    # Cesàro average (1/N) sum_{t<N} rho P^t: the transient state contributes
    # (1/N) sum_t 0.25^t = (4/3)/N, the absorbed classes lag by at most that and the flip in
    # {2, 3} by at most 1/N, so every entry is within 2/N of the limit.
    N = 4096
    avg, row = np.zeros(4), np.array([1.0, 0, 0, 0])
    for _ in range(N):
        avg += row
        row = row @ P
    np.testing.assert_allclose(nu, avg / N, rtol=0, atol=2.0 / N)
    nu2 = stationary_distribution(sp.csr_array(P), rho=[0.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(nu2, [0.0, 0.0, 0.5, 0.5], rtol=0, atol=4 * EPS)


def test_stationary_from_mdp_and_policy():
    mdp = random_mdp(np.random.default_rng(3), 5, 3, 0.9)
    pi = np.full((5, 3), 1 / 3)
    np.testing.assert_array_equal(stationary_distribution(mdp, pi),
                                  stationary_distribution(np.asarray(mdp.P_pi(mdp.policy(pi)))))


def test_stationary_validation_messages():
    mdp = rls.mdps.riverswim()
    with pytest.raises(TypeError, match="needs a policy pi"):
        stationary_distribution(mdp)
    with pytest.raises(TypeError, match="pi is only used with a TabularMDP"):
        stationary_distribution(np.eye(2), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match="must be square"):
        stationary_distribution(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match=r"P\[1, :\] sums to"):
        stationary_distribution(np.array([[1.0, 0.0], [0.5, 0.4]]))


# ============================================================== divergences
def test_divergence_reference_values():
    p, q = [0.5, 0.5], [0.25, 0.75]
    # KL = 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75); TV = 0.25; chi2 = 1/4 + 1/12 = 1/3;
    # h^2 = 1 - (sqrt(1/8) + sqrt(3/8))
    assert kl(p, q) == pytest.approx(0.5 * math.log(2) + 0.5 * math.log(2 / 3), rel=4 * EPS)
    assert tv(p, q) == 0.25
    assert chi2(p, q) == pytest.approx(1 / 3, rel=4 * EPS)
    h2 = 1 - (math.sqrt(1 / 8) + math.sqrt(3 / 8))
    assert hellinger(p, q) == pytest.approx(math.sqrt(h2), rel=64 * EPS)
    assert kl(p, p) == 0.0 and tv(p, p) == 0.0 and chi2(p, p) == 0.0 and hellinger(p, p) == 0.0
    assert hellinger([1.0, 0.0], [0.0, 1.0]) == 1.0 and tv([1.0, 0.0], [0.0, 1.0]) == 1.0


def test_support_conventions():
    p, q = [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]
    assert kl(p, q) == math.inf and chi2(p, q) == math.inf        # p has mass where q has none
    assert kl(q, p) == pytest.approx(math.log(2), rel=4 * EPS)     # 0 log 0 = 0 on q's zeros
    assert chi2(q, p) == pytest.approx(1.0, rel=4 * EPS)           # (1-.5)^2/.5 + (0-.5)^2/.5
    assert tv(p, q) == 0.5 and 0 < hellinger(p, q) < 1


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 8).flatmap(lambda n: st.tuples(simplex(n), simplex(n))))
def test_divergence_inequalities(pq):
    p, q = pq
    n = p.shape[0]
    # n terms, each of magnitude <= 40 for this strategy (|log(p/q)| <= 16 + log 8), with a
    # relative error of a few eps each: 1e-12 covers 8 * 40 * 4 * eps ~ 3e-13.
    tol = 1e-12
    k, t, c, h = kl(p, q), tv(p, q), chi2(p, q), hellinger(p, q)
    assert k >= -tol and c >= -tol and 0 <= t <= 1 + tol and 0 <= h <= 1 + tol
    # TV as the largest difference of event probabilities: sum of positive parts of p - q
    assert abs(t - np.clip(p - q, 0, None).sum()) <= n * 4 * EPS
    assert k >= 2 * t * t - tol                                    # Pinsker [tsybakov2009, L2.5]
    assert h * h <= t + tol and t <= h * math.sqrt(max(2 - h * h, 0)) + tol   # [tsybakov2009, L2.3]
    assert t <= math.sqrt(2) * h + tol
    assert k <= math.log1p(c) + tol and math.log1p(c) <= c + tol   # [tsybakov2009, L2.7]
    support_ok = not ((p > 0) & (q == 0)).any()
    assert math.isfinite(k) == support_ok and math.isfinite(c) == support_ok


def test_divergences_are_row_wise_and_broadcast():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(4), size=(3, 2))
    q = rng.dirichlet(np.ones(4), size=(2,))
    for f in (kl, tv, chi2, hellinger):
        out = f(p, q)
        assert out.shape == (3, 2)
        for i in range(3):
            for j in range(2):
                assert out[i, j] == f(p[i, j], q[j])
    assert isinstance(kl(p[0, 0], q[0]), float)


def test_divergence_validation_messages():
    with pytest.raises(ValueError, match=r"p sums to 0.9"):
        kl([0.5, 0.4], [0.5, 0.5])
    with pytest.raises(ValueError, match=r"q\[0\] = -0.1 is negative"):
        tv([0.5, 0.5], [-0.1, 1.1])
    with pytest.raises(ValueError, match="share the last axis"):
        chi2([0.5, 0.5], [1 / 3, 1 / 3, 1 / 3])
    with pytest.raises(ValueError, match="do not broadcast"):
        hellinger(np.full((2, 2), 0.5), np.full((3, 2), 0.5))
    with pytest.raises(ValueError, match="is a scalar"):
        kl(1.0, 1.0)


# ============================================================== ratios and coefficients
def test_max_ratio_conventions():
    assert max_ratio([0.2, 0.8, 0.0], [0.5, 0.4, 0.0]) == 2.0      # 0/0 ignored
    assert max_ratio([0.0, 1.0], [1.0, 0.0]) == math.inf
    assert max_ratio([0.0, 0.0], [1.0, 0.0]) == 0.0
    with pytest.raises(ValueError, match="compares entry by entry"):
        max_ratio([1.0], [0.5, 0.5])
    with pytest.raises(ValueError, match="is negative"):
        max_ratio([1.0, -1.0], [0.5, 0.5])


@settings(max_examples=40, deadline=None)
@given(mdp_and_policy(S=(1, 6), A=(1, 3), gamma=(0.0, 0.95), zeros=False, sparse=st.booleans()))
def test_distribution_mismatch_variants(mdp_pi):
    mdp, pi = mdp_pi
    pi_star = rls.solve(mdp).policy
    d_star = state_occupancy(mdp, pi_star)
    C = distribution_mismatch(mdp, pi_star)
    assert C == max_ratio(d_star, mdp.rho)
    # both sum to 1, so the max ratio is >= 1 (up to the sum's round-off); rho > 0 here
    assert C >= 1 - lu_tol(mdp.S, 1 / (1 - mdp.gamma)) and C <= 1 / mdp.rho.min() * (1 + 1e-12)
    # d^pi_rho >= (1-gamma) rho, so theta_k = ||d*/d^pi|| <= C / (1 - gamma) (card mdpo.md §2.4)
    theta_k = distribution_mismatch(mdp, pi_star, pi=pi)
    # relative slack: the absolute occupancy error bound over the smallest denominator
    rel = lu_tol(mdp.S, 1 / (1 - mdp.gamma)) / ((1 - mdp.gamma) * mdp.rho.min())
    assert theta_k <= C / (1 - mdp.gamma) * (1 + 2 * rel)
    mu = np.full(mdp.S, 1.0 / mdp.S)
    assert distribution_mismatch(mdp, pi_star, mu=mu) == max_ratio(d_star, mu)


def test_distribution_mismatch_infinite_and_errors():
    mdp = rls.mdps.riverswim()
    pi_star = rls.solve(mdp).policy
    assert distribution_mismatch(mdp, pi_star, rho=np.eye(mdp.S)[0]) == math.inf
    with pytest.raises(ValueError, match="at most one of pi"):
        distribution_mismatch(mdp, pi_star, pi=pi_star, mu=np.full(mdp.S, 1 / mdp.S))
    with pytest.raises(TypeError, match="expects a TabularMDP"):
        distribution_mismatch(rls.FiniteHorizonMDP(mdp.dense_P(), mdp.R, H=2), pi_star)


def test_concentrability_properties():
    rng = np.random.default_rng(1)
    mdp = random_mdp(rng, 5, 3, 0.9)
    pi = rng.dirichlet(np.ones(3), size=5)
    pi_b = rng.dirichlet(np.ones(3), size=5)
    # on-policy data: C = 1 (up to the occupancy's round-off)
    assert concentrability(mdp, pi, occupancy(mdp, pi)) == pytest.approx(1.0, abs=lu_tol(5, 10))
    # behaviour data mu = nu x pi_b: the state-action coefficient dominates the state one
    nu = state_occupancy(mdp, pi_b)
    mu = nu[:, None] * pi_b
    C_sa, C_s = concentrability(mdp, pi, mu), concentrability(mdp, pi, nu)
    assert C_sa >= C_s * (1 - 4 * EPS) and C_s >= 1 - lu_tol(5, 10)
    assert C_sa == max_ratio(occupancy(mdp, pi), mu)
    # data that never takes an action pi takes: infinite
    mu0 = np.array(mu)
    mu0[2, 1], mu0[2, 0] = 0.0, mu0[2, 0] + mu0[2, 1]
    assert concentrability(mdp, pi, mu0) == math.inf
    with pytest.raises(ValueError, match=r"mu sums to 2 .*sum\(axis=\(0, 1\)"):
        concentrability(mdp, pi, 2 * mu)
    with pytest.raises(ValueError, match=r"mu has shape \(3,\)"):
        concentrability(mdp, pi, np.full(3, 1 / 3))


def test_concentrability_finite_horizon_per_step():
    fh = rls.FiniteHorizonMDP(np.random.default_rng(2).dirichlet(np.ones(3), size=(4, 3, 2)),
                              np.zeros((4, 3, 2)))
    pi = np.full((3, 2), 0.5)
    mu = occupancy(fh, pi)
    assert concentrability(fh, pi, mu) == pytest.approx(1.0, abs=16 * EPS)
    mu_bad = np.array(mu)
    mu_bad[3] = np.eye(6)[0].reshape(3, 2)          # step 3 data only at (0, 0)
    assert concentrability(fh, pi, mu_bad) == math.inf
    with pytest.raises(ValueError, match=r"mu\[1\] sums to"):
        concentrability(fh, pi, np.concatenate([mu[:1], 2 * mu[1:2], mu[2:]]))


# ============================================================== performance difference
@settings(max_examples=50, deadline=None)
@given(tabular_mdps(S=(1, 6), A=(1, 3), gamma=(0.0, 0.95), sparse=st.booleans()).flatmap(
    lambda m: st.tuples(st.just(m), policies(m), policies(m))))
def test_performance_difference_identity(mdp_pi_pi2):
    mdp, pi, pi2 = mdp_pi_pi2
    out = performance_difference(mdp, pi, pi2)
    assert isinstance(out, PerformanceDifference)
    # each side: values with error <= ||M^{-1}|| ||dM|| ||V|| <= lu_tol * |V|/(1-g), and the
    # rhs multiplies advantages by visits summing to 1/(1-g)
    g = mdp.gamma
    scale = (1 + np.abs(mdp.R).max()) / (1 - g) ** 2
    assert abs(out.lhs - out.rhs) <= 4 * lu_tol(mdp.S, scale)
    assert out.lhs == out.V_pi_prime - out.V_pi


@settings(max_examples=30, deadline=None)
@given(tabular_mdps(S=(2, 5), A=(1, 3), gamma=1.0, terminal="proper").flatmap(
    lambda m: st.tuples(st.just(m), policies(m), policies(m))))
def test_performance_difference_episodic(mdp_pi_pi2):
    mdp, pi, pi2 = mdp_pi_pi2
    out = performance_difference(mdp, pi, pi2)
    ones = mdp.replace(R=np.where(mdp.terminal[:, None], 0.0, 1.0) * np.ones((mdp.S, mdp.A)))
    L = max(float(np.max(rls.evaluate(ones, p))) for p in (pi, pi2))   # ||M^{-1}||
    assert abs(out.lhs - out.rhs) <= 4 * lu_tol(mdp.S, L * L * L * (1 + np.abs(mdp.R).max()))


def test_performance_difference_detects_the_wrong_occupancy():
    # The identity weights A^pi by the occupancy of pi' (not of pi): with the occupancy of pi
    # the right side is exactly 0 (E_{a~pi}[A^pi] = 0), so it cannot match a nonzero gap.
    mdp = rls.mdps.riverswim()
    pi, pi2 = np.zeros(mdp.S, dtype=int), np.ones(mdp.S, dtype=int)
    out = performance_difference(mdp, pi, pi2)
    wrong = (occupancy(mdp, pi, normalized=False) * rls.advantages(mdp, pi)).sum()
    scale = (1 + np.abs(mdp.R).max()) / (1 - mdp.gamma) ** 2
    assert abs(out.lhs) > 1e-3 and abs(wrong) < 1e-12
    assert abs(out.lhs - out.rhs) <= 4 * lu_tol(mdp.S, scale)
