"""HARPG models (card n_harpg.md §4.0): reference values, exact derivatives, samplers, kernels.

Tolerances:
* central finite differences with step h have truncation error <= h^2 M3 / 6 (M3 a bound on the
  third derivative along the coordinate) plus round-off ~ 2 eps |f| / h; with h = 1e-5 and the
  O(1)-scaled instances below that is < 1e-9 + 1e-10, checked at 1e-7 (a factor 100 above the
  estimate, since M3 is not computed);
* Monte Carlo: |mean - exact| <= 4.5 s.e. per coordinate (two-sided normal tail 7e-6 each);
* exact identities: float64 round-off with the factor stated at each assertion.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.algorithms.harpg import _kernels as K
from rlsandbox.algorithms.harpg.estimators import enumerate_expectations, hessian, hvp
from rlsandbox.algorithms.harpg.models import (GaussianBandit, LogisticBandit, LogLinearMDP,
                                               ScalarLQR, logistic_expectation_rule)
from rlsandbox.mdps import harpg as inst

EPS = np.finfo(np.float64).eps
FD_H, FD_TOL = 1e-5, 1e-7


def fd_grad(f, x, h=FD_H):
    return np.array([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in np.eye(x.size)])


# ------------------------------------------------------------------ I4: reference values
def test_lqr_reference_values_card_I4():
    # card §4.0 I4 "Reference values" (A_d=1, B_d=0.5, Q_c=1, R_c=0.1, gamma=0.9, sigma=0.3,
    # Sigma0=1, W=0); the card prints 7-8 significant digits (K*, Lambda* 16)
    lqr = inst.lqr_reference()
    assert lqr.K_star == pytest.approx(1.489852340880128, rel=4 * EPS)
    assert lqr.Lambda_star == pytest.approx(1.2979704681760256, rel=4 * EPS)
    assert lqr.J([0.8]) == pytest.approx(-1.9826923, abs=5e-8)
    assert lqr.dJ(0.8) == pytest.approx(1.2272986, abs=5e-8)
    assert lqr.d2J(0.8) == pytest.approx(-3.5764704, abs=5e-8)
    assert lqr.fisher([0.8])[0, 0] == pytest.approx(1.97650, abs=5e-6)
    assert lqr.mu_F == pytest.approx(1.33611, abs=5e-6)
    lo, hi = lqr.stabilizing_interval()
    assert (lo, hi) == pytest.approx((-0.108185, 4.108185), abs=5e-7)


def test_lqr_gap_and_relaxed_wgd_table_card_I4_N7():
    # card §4.0 I4 (W = 0.05): J* - J(K) at K = 0.5, 1, K*, 2, 3; card §4.1 N7: the pointwise
    # relaxed-WGD bound values 4.98, 0.914, 0.353, 0.929, 12.10 (equality at K*)
    lqr = inst.lqr_reference(W=0.05)
    Ks = [0.5, 1.0, lqr.K_star, 2.0, 3.0]
    gaps = [lqr.J_star - lqr.J(K) for K in Ks]
    assert gaps == pytest.approx([1.63845, 0.55343, 0.35284, 0.52144, 2.25923], abs=5e-6)
    bounds = [math.sqrt(lqr.eps_bias(K)) / (1 - lqr.gamma)
              + abs(lqr.w_star(K)) * lqr.optimal_score_norm(K) for K in Ks]
    assert bounds == pytest.approx([4.98, 0.914, 0.353, 0.929, 12.10], abs=6e-3)
    # at K*: the bound equals the gap (both ~0.353; a few roundings of O(1) numbers)
    assert bounds[2] == pytest.approx(gaps[2], abs=64 * EPS * 2)
    assert gaps[2] == pytest.approx(lqr.sigma ** 2 * (lqr.R_c + lqr.gamma * lqr.B_d ** 2
                                                      * lqr.Lambda_star) / (1 - lqr.gamma),
                                    rel=16 * EPS)


def test_lqr_riccati_root_is_fixed_point():
    lqr = ScalarLQR(A_d=1.3, B_d=0.7, Q_c=0.4, R_c=0.9, gamma=0.97)
    lam, g = lqr.Lambda_star, lqr.gamma
    T = lqr.Q_c + g * lqr.A_d ** 2 * lam - (g * lqr.A_d * lqr.B_d * lam) ** 2 / (
        lqr.R_c + g * lqr.B_d ** 2 * lam)
    assert T == pytest.approx(lam, rel=8 * EPS)
    # K* maximises J within the class: J'(K*) = 0 up to round-off of the closed form
    assert abs(lqr.dJ(lqr.K_star)) < 1e-10 * abs(lqr.J(lqr.K_star))


def test_lqr_derivatives_and_truncation():
    lqr = inst.lqr_reference(W=0.05)
    K = np.array([1.1])
    assert lqr.dJ(K) == pytest.approx(fd_grad(lambda x: lqr.J(x), K)[0], abs=FD_TOL)
    assert lqr.d2J(K) == pytest.approx(fd_grad(lambda x: lqr.dJ(x), K)[0], abs=FD_TOL)
    for H in (1, 7, 30):
        assert lqr.grad_J_H(K, H)[0] == pytest.approx(
            fd_grad(lambda x: lqr.J_H(x, H), K)[0], abs=FD_TOL)
        assert lqr.hess_J_H(K, H)[0, 0] == pytest.approx(
            fd_grad(lambda x: lqr.grad_J_H(x, H)[0], K)[0], abs=FD_TOL)
    # J_H -> J geometrically: gamma^H l^(2H) terms; at H = 400, gamma^H = 5e-19
    assert lqr.J_H(K, 400) == pytest.approx(lqr.J(K), abs=1e-12)
    assert lqr.grad_J_H(K, 400)[0] == pytest.approx(lqr.dJ(K), abs=1e-12)


def test_lqr_compatible_weight_is_natural_gradient():
    # card §4.0 I4: w*(K) = F^{-1} J'(K) (checked on the card); here at several K
    lqr = inst.lqr_reference(W=0.05)
    for K in (0.3, 1.0, 2.5):
        assert lqr.w_star(K) == pytest.approx(lqr.dJ(K) / lqr.fisher(K)[0, 0], rel=64 * EPS)


def test_lqr_monte_carlo_matches_closed_forms():
    lqr = inst.lqr_reference()
    H, n = 60, 200_000
    ro = lqr.sample([0.8], H=H, n=n, rng=11)
    for samples, exact in ((ro.ret, lqr.J_H([0.8], H)), (ro.g[:, 0], lqr.grad_J_H([0.8], H)[0])):
        se = samples.std(ddof=1) / math.sqrt(n)
        assert abs(samples.mean() - exact) <= 4.5 * se


def test_lqr_refuses_unstable_gain():
    with pytest.raises(ValueError, match="does not stabilise"):
        inst.lqr_reference().J([4.5])
    with pytest.raises(ValueError, match="does not stabilise"):
        inst.lqr_reference().sample([-1.0], H=3, n=2, rng=0)


# --------------------------------------------------------------------------- I1 softmax
@pytest.fixture(scope="module")
def garnet_softmax():
    return inst.softmax_garnet(4, 3, 2, gamma=0.8, rng=1)


def test_softmax_constants_card_I1(garnet_softmax):
    # card §4.0 I1: M_g = sqrt 2, M_h = 1/2 for the tabular softmax
    assert garnet_softmax.M_g == pytest.approx(math.sqrt(2.0), rel=EPS)
    assert garnet_softmax.M_h == pytest.approx(0.5, rel=4 * EPS)
    assert garnet_softmax.mu_F is None


def test_softmax_gradient_and_hessian_finite_differences(garnet_softmax):
    p = garnet_softmax
    th = np.random.default_rng(0).normal(size=p.d)
    assert np.abs(p.grad_J(th) - fd_grad(p.J, th)).max() < FD_TOL
    assert np.abs(p.hess_J(th) - fd_grad(p.grad_J, th)).max() < FD_TOL
    for H in (1, 6):
        assert np.abs(p.grad_J_H(th, H) - fd_grad(lambda x: p.J_H(x, H), th)).max() < FD_TOL
        assert np.abs(p.hess_J_H(th, H) - fd_grad(lambda x: p.grad_J_H(x, H), th)).max() < FD_TOL
    # symmetric Hessian (exact in exact arithmetic; a few roundings of entries <= 1/(1-g)^3)
    assert np.abs(p.hess_J(th) - p.hess_J(th).T).max() < 64 * EPS * 125


def test_softmax_policy_gradient_theorem_reduces(garnet_softmax):
    # card §4.0 I1: dJ/dtheta_{s,a} = d(s) pi(a|s) A(s,a)/(1-gamma)
    p = garnet_softmax
    th = np.random.default_rng(1).normal(size=p.d)
    pgt = p.occupancy(th)[:, None] * p.policy(th) * p.advantage(th) / (1 - p.gamma)
    assert np.abs(pgt.ravel() - p.grad_J(th)).max() < 64 * EPS * p.S / (1 - p.gamma) ** 2


def test_softmax_truncated_tends_to_infinite_horizon(garnet_softmax):
    p = garnet_softmax
    th = np.zeros(p.d)
    # J - J_H is a sum of gamma^t terms (t >= H), |J - J_H| <= gamma^H r_max/(1-gamma)
    for H in (5, 20, 80):
        assert abs(p.J(th) - p.J_H(th, H)) <= p.gamma ** H * p.r_max / (1 - p.gamma) + 1e-14
    assert np.abs(p.hess_J_H(th, 200) - p.hess_J(th)).max() < 1e-12


def test_softmax_value_matches_library_evaluate(garnet_softmax):
    p = garnet_softmax
    th = np.random.default_rng(2).normal(size=p.d)
    V = rls.evaluate(p.mdp, p.policy(th))
    assert p.J(th) == pytest.approx(float(p.mdp.rho @ V), abs=1e-13)
    assert p.J_star == pytest.approx(float(p.mdp.rho @ rls.solve(p.mdp).V), abs=1e-10)


def test_loglinear_onehot_equals_softmax(garnet_softmax):
    p = garnet_softmax
    q = LogLinearMDP(p.mdp, np.eye(p.d).reshape(p.S, p.A, p.d))
    th = np.random.default_rng(3).normal(size=p.d)
    assert q.J(th) == p.J(th)
    assert np.array_equal(q.hess_J(th), p.hess_J(th))


def test_softmax_fisher_is_degenerate(garnet_softmax):
    # card §4.0 I1: each block annihilates the all-ones vector -> lambda_min = 0 (A3 fails)
    p = garnet_softmax
    F = p.fisher(np.random.default_rng(4).normal(size=p.d))
    ones_s = np.zeros(p.d)
    ones_s[:p.A] = 1.0
    assert np.abs(F @ ones_s).max() < 16 * EPS


def test_enumeration_matches_exact_truncated_derivatives():
    # card §4.1 N1/N2 prototype: max error 5e-12 (g) and ~1e-7 (FD Hessian); here both sides
    # are exact, so the difference is round-off: 1024 paths of terms <= H r_max M_g ~ 10
    p = inst.harpg_two_state()
    th = np.random.default_rng(5).normal(size=p.d)
    E = enumerate_expectations(p, th, 5)
    assert E["prob_total"] == pytest.approx(1.0, abs=2048 * EPS)
    assert np.abs(E["g"] - p.grad_J_H(th, 5)).max() < 1e-12
    assert np.abs(E["reinforce"] - p.grad_J_H(th, 5)).max() < 1e-12
    assert np.abs(E["B"] - p.hess_J_H(th, 5)).max() < 1e-12
    # the controls are biased (card: 0.114 and 0.10 on its random instance)
    assert np.abs(E["g_from_t"] - p.grad_J_H(th, 5)).max() > 1e-3
    assert np.abs(E["B_no_outer"] - p.hess_J_H(th, 5)).max() > 1e-3


def test_softmax_sampler_matches_python_recomputation(garnet_softmax):
    """The kernel's statistics equal a NumPy recomputation from the states and actions it
    visited (same formulas, different summation order: 16 H eps relative)."""
    p = garnet_softmax
    th = np.random.default_rng(6).normal(size=(2, p.d))
    H, n = 7, 5
    rng = np.random.default_rng(0)
    pis = np.stack([p.policy(t) for t in th])
    pi_cdf = np.cumsum(pis, axis=2)
    pi_cdf /= pi_cdf[:, :, -1:]
    psi = np.stack([p.score(t) for t in th])
    u0, ua, us = rng.random((2, n)), rng.random((2, n, H)), rng.random((2, n, H))
    outs = [np.empty((2, n, p.d)) for _ in range(3)] + [np.empty((2, n)), np.empty((2, n, p.S)),
                                                         np.empty((2, n, H), np.int64),
                                                         np.empty((2, n, H), np.int64)]
    args = (p.P_cdf, pi_cdf, p.rho_cdf, np.ascontiguousarray(p.mdp.R), psi, p.gamma, u0, ua, us)
    K._rollout_loglinear(*args, *outs)
    py = [np.empty_like(o) for o in outs]
    K._rollout_loglinear.py_func(*args, *py)
    for a, b in zip(outs, py):
        if a.dtype == np.int64:
            assert np.array_equal(a, b)          # the same path
        else:   # gamma ** t differs by ulps between Numba and CPython pow: 16 H eps relative
            assert np.allclose(a, b, rtol=0, atol=16 * H * EPS * max(1.0, np.abs(b).max()))
    g, gt, ss, ret, W, s, a = outs
    disc = p.gamma ** np.arange(H)
    for i in range(2):
        for j in range(n):
            r = p.mdp.R[s[i, j], a[i, j]]
            Rt = np.cumsum((disc * r)[::-1])[::-1]
            sc = psi[i, s[i, j], a[i, j]]
            assert np.allclose(g[i, j], Rt @ sc, rtol=0, atol=16 * H * EPS * 10)
            assert np.allclose(ss[i, j], sc.sum(0), rtol=0, atol=16 * H * EPS)
            assert ret[i, j] == pytest.approx(Rt[0], abs=16 * H * EPS)
            assert np.allclose(W[i, j], np.bincount(s[i, j], Rt, minlength=p.S), atol=16 * H * EPS)


def test_softmax_monte_carlo_unbiased(garnet_softmax):
    p = garnet_softmax
    th = np.random.default_rng(7).normal(size=p.d)
    H, n = 6, 60_000
    ro = p.sample(th, H=H, n=n, rng=3)
    u = np.random.default_rng(8).normal(size=p.d)
    for samples, exact in ((ro.g, p.grad_J_H(th, H)), (hvp(ro, u), p.hess_J_H(th, H) @ u),
                           (hessian(ro).reshape(n, -1), p.hess_J_H(th, H).ravel())):
        se = samples.std(axis=0, ddof=1) / math.sqrt(n)
        ok = se > 0
        # Bonferroni over d^2 + 2d entries at family level 1e-3: z < 4.4
        assert np.all(np.abs(samples.mean(0) - exact)[ok] <= 4.4 * se[ok])


def test_sampler_is_deterministic_given_seed(garnet_softmax):
    a = garnet_softmax.sample(np.zeros(garnet_softmax.d), H=4, n=3, rng=5)
    b = garnet_softmax.sample(np.zeros(garnet_softmax.d), H=4, n=3, rng=5)
    assert np.array_equal(a.g, b.g) and np.array_equal(a.curv, b.curv)


def test_loglinear_validation():
    with pytest.raises(ValueError, match="gamma"):
        LogLinearMDP.softmax(rls.TabularMDP(np.ones((1, 2, 1)), np.zeros((1, 2)), 1.0))
    p = inst.harpg_two_state()
    with pytest.raises(ValueError, match=r"theta has shape \(3,\); expected \(4,\)"):
        p.J(np.zeros(3))
    with pytest.raises(ValueError, match="phi has shape"):
        LogLinearMDP(p.mdp, np.zeros((2, 3, 1)))


def test_eps_bias_softmax_zero_loglinear_positive():
    p = inst.harpg_three_state()
    th = np.random.default_rng(9).normal(size=p.d)
    assert p.eps_bias(th) < 1e-25
    q = inst.loglinear_garnet(rng=1)
    assert q.eps_bias(np.random.default_rng(9).normal(size=q.d)) > 1e-3


# ----------------------------------------------------------------------------- I2 bandit
def test_logistic_rule_moments():
    x, w = logistic_expectation_rule()
    # E 1 = 1, E X^2 = pi^2/3, E X^4 = 7 pi^4/15 (standard logistic moments)
    assert w.sum() == pytest.approx(1.0, abs=8 * EPS)
    assert w @ x ** 2 == pytest.approx(math.pi ** 2 / 3, rel=1e-13)
    assert w @ x ** 4 == pytest.approx(7 * math.pi ** 4 / 15, rel=1e-13)
    x2, w2 = logistic_expectation_rule(120, 30, 45.0)
    for th in (-3.0, 0.0, 2.5):
        f = lambda z: 1.0 / (1.0 + np.exp(-(th + 0.5 * z)))   # noqa: E731
        assert w @ f(x) == pytest.approx(w2 @ f(x2), abs=1e-14)


def test_logistic_bandit_constants_and_derivatives():
    b = inst.logistic_bump()
    assert b.M_g == pytest.approx(math.sqrt(2) / 0.5)
    assert b.mu_F == pytest.approx(1 / 0.75)
    assert b.l_2 == pytest.approx(1 / (3 * math.sqrt(3) * 0.125))
    for prob in (b, inst.logistic_monotone()):
        th = np.array([0.3, -0.7])
        assert np.abs(prob.grad_J(th) - fd_grad(prob.J, th)).max() < FD_TOL
        assert np.abs(prob.hess_J(th) - fd_grad(prob.grad_J, th)).max() < FD_TOL
    # in-class maximiser at c: gradient 0 and J(c) = (E exp(-b^2 X^2 / (2 w^2)))^m
    x, w = logistic_expectation_rule()
    assert np.abs(b.grad_J(b.c)).max() < 1e-15
    assert b.J_star_class == pytest.approx((w @ np.exp(-0.25 * x ** 2 / 2)) ** 2, rel=1e-14)
    # monotone: J(0) = 1/2 by the symmetry of X
    assert inst.logistic_monotone().J(np.zeros(2)) == pytest.approx(0.5, abs=4 * EPS)


def test_logistic_weak_gd_ratio_card_prototype():
    # card §4.0 I2 (monotone, b = 0.5): ||grad J||/(J* - J) = 0.30, 0.54, 0.68, 0.71 at
    # theta = (0,0), (2,2), (5,5), (8,8) [prototype, 2 digits]
    m = inst.logistic_monotone()
    ratios = [np.linalg.norm(m.grad_J(np.full(2, t))) / (1 - m.J(np.full(2, t)))
              for t in (0.0, 2.0, 5.0, 8.0)]
    assert ratios == pytest.approx([0.30, 0.54, 0.68, 0.71], abs=0.006)


def test_logistic_kernel_matches_py_func_and_closed_forms():
    rng = np.random.default_rng(0)
    th = rng.normal(size=(3, 2))
    U = rng.random((3, 4, 2))
    c = np.array([1.0, -0.5])
    for bump in (True, False):
        outs = [np.empty((3, 4, 2)), np.empty((3, 4, 2)), np.empty((3, 4)), np.empty((3, 4, 2)),
                np.empty((3, 4, 2))]
        py = [np.empty_like(o) for o in outs]
        K._sample_logistic(th, U, 0.5, c, 1.0, bump, *outs)
        K._sample_logistic.py_func(th, U, 0.5, c, 1.0, bump, *py)
        for a, b in zip(outs, py):     # libm exp/log may differ by an ulp: 16 eps relative
            assert np.allclose(a, b, rtol=16 * EPS, atol=0)
        X = np.log(U / (1 - U))
        score = np.tanh(X / 2) / 0.5                     # card §4.0 I2 score
        assert np.allclose(outs[1], score, rtol=0, atol=16 * EPS / 0.5)
        assert np.allclose(outs[3], outs[2][..., None] * (-1 / (2 * 0.25)) / np.cosh(X / 2) ** 2,
                           rtol=1e-13, atol=0)
        # actions a = theta + b X, each within a few ulps of |a| + b|X| (one log, one fma)
        assert np.allclose(outs[4], th[:, None, :] + 0.5 * X, rtol=0,
                           atol=16 * EPS * (np.abs(th).max() + 0.5 * np.abs(X).max()))


def test_logistic_monte_carlo_unbiased():
    b = inst.logistic_bump()
    th = np.array([0.2, 0.4])
    n = 200_000
    ro = b.sample(th, n=n, rng=4)
    u = np.array([0.6, -1.1])
    for samples, exact in ((ro.ret, b.J(th)), (ro.g, b.grad_J(th)), (hvp(ro, u), b.hess_J(th) @ u)):
        se = np.atleast_1d(samples.std(axis=0, ddof=1)) / math.sqrt(n)
        assert np.all(np.abs(np.atleast_1d(samples.mean(0) - exact)) <= 4.5 * se)


def test_gaussian_bandit_closed_form_matches_quadrature():
    # card §4.0 I3: J = w/sqrt(w^2 + sigma^2) exp(-(theta - c)^2 / (2 (w^2 + sigma^2)))
    gb = GaussianBandit(m=1, sigma=0.7, c=[0.3], w=1.2)
    xs, ws = np.polynomial.hermite_e.hermegauss(80)       # E over N(0, 1)
    ws = ws / ws.sum()
    for th in (-1.0, 0.3, 2.0):
        quad = ws @ gb.r((th + 0.7 * xs)[:, None])
        assert gb.J([th]) == pytest.approx(quad, abs=1e-14)
    th = np.array([0.9])
    assert gb.grad_J(th)[0] == pytest.approx(fd_grad(gb.J, th)[0], abs=FD_TOL)
    assert gb.hess_J(th)[0, 0] == pytest.approx(fd_grad(lambda x: gb.grad_J(x)[0], th)[0],
                                                abs=FD_TOL)


def test_bandit_validation():
    with pytest.raises(ValueError, match="b == 0.0"):
        LogisticBandit(m=2, b=0.0)
    with pytest.raises(ValueError, match="reward"):
        LogisticBandit(m=2, b=1.0, reward="linear")
    with pytest.raises(ValueError, match="monotone reward has none"):
        inst.logistic_monotone().eps_bias(np.zeros(2))
    with pytest.raises(TypeError, match="rng is None"):
        inst.logistic_bump().sample(np.zeros(2), n=2, rng=None)


def test_transposed_hvp_is_also_unbiased_in_mean():
    # card pitfall 5 calls B^T u wrong; E B is symmetric, so E[B^T] u = hess J_H u exactly:
    # checked by enumeration (round-off: 1024 paths, terms <= (H r_max M_g)^2 ~ 100)
    p = inst.harpg_two_state()
    th = np.random.default_rng(10).normal(size=p.d)
    E = enumerate_expectations(p, th, 5)
    assert np.abs(E["B"].T - p.hess_J_H(th, 5)).max() < 1e-12
    ro = p.sample(th, H=5, n=4, rng=0)
    u = np.array([1.0, -0.5, 0.3, 2.0])      # not in the softmax null space (per-state ones)
    from rlsandbox.algorithms.harpg.estimators import hvp_transposed
    assert not np.allclose(hvp(ro, u), hvp_transposed(ro, u))     # per-sample they differ


# ------------------------------------------------------------- I5: logistic actions, finite S
def test_i5_exact_derivatives_match_finite_differences():
    # card §4.0 I5: tabular formulas on the quadrature-averaged model; central differences with
    # step 1e-5 have error O(h^2 J''') + O(eps J / h) ~ 1e-9 here
    from rlsandbox.mdps.harpg import logistic_state_mdp
    p = logistic_state_mdp()
    th, h = np.array([0.3, -0.2]), 1e-5
    E = np.eye(2)
    fd_g = np.array([(p.J(th + h * u) - p.J(th - h * u)) / (2 * h) for u in E])
    fd_H = np.array([(p.grad_J(th + h * u) - p.grad_J(th - h * u)) / (2 * h) for u in E])
    fd_HH = np.array([(p.grad_J_H(th + h * u, 7) - p.grad_J_H(th - h * u, 7)) / (2 * h)
                      for u in E])
    np.testing.assert_allclose(p.grad_J(th), fd_g, rtol=0, atol=1e-8)
    np.testing.assert_allclose(p.hess_J(th), fd_H, rtol=0, atol=1e-8)
    np.testing.assert_allclose(p.hess_J_H(th, 7), fd_HH, rtol=0, atol=1e-8)
    # J_H -> J geometrically: |J_H - J| <= r_max gamma^H/(1-gamma) (rewards in [0, 1])
    assert abs(p.J_H(th, 300) - p.J(th)) <= 0.9 ** 300 / 0.1 + 1e-12


def test_i5_monte_carlo_matches_exact_values():
    # the compiled sampler against the exact J_H, grad J_H, hess J_H: z-tests at family level
    # 1e-3 (Bonferroni over 1 + 2 + 4 entries)
    from scipy import stats
    from rlsandbox.algorithms.harpg import estimators as est
    from rlsandbox.mdps.harpg import logistic_state_mdp
    p = logistic_state_mdp()
    th, H, n = np.array([0.3, -0.2]), 10, 40_000
    ro = p.sample(th, H=H, n=n, rng=np.random.default_rng(4))
    z_crit = stats.norm.isf(1e-3 / 14)
    for x, exact in ((ro.ret[:, None], np.array([p.J_H(th, H)])),
                     (est.gpomdp(ro), p.grad_J_H(th, H)),
                     (est.hessian(ro).reshape(n, -1), p.hess_J_H(th, H).ravel())):
        z = np.abs(x.mean(0) - exact) / (x.std(0, ddof=1) / np.sqrt(n))
        assert z.max() <= z_crit


def test_i5_kernel_matches_py_func():
    from rlsandbox.algorithms.harpg._kernels import _rollout_logistic_states
    from rlsandbox.mdps.harpg import logistic_state_mdp
    p = logistic_state_mdp()
    rng = np.random.default_rng(0)
    mu = rng.normal(size=(2, 3))
    args = [mu, 0.5, np.array(p.kappa), np.array(p.beta), np.array(p.c), 1.0, 0.9,
            np.cumsum(p.rho) / np.cumsum(p.rho)[-1], rng.random((2, 3)), rng.random((2, 3, 6)),
            rng.random((2, 3, 6))]
    outs = [[np.empty((2, 3, 6)) for _ in range(3)] + [np.empty((2, 3, 6), dtype=np.int64)]
            for _ in range(2)]
    _rollout_logistic_states(*args, *outs[0])
    _rollout_logistic_states.py_func(*args, *outs[1])
    # visited states identical; floats to a few ulps (compiled libm tanh/exp/log may differ in
    # the last bit from NumPy's)
    np.testing.assert_array_equal(outs[0][3], outs[1][3])
    for a, b in zip(outs[0][:3], outs[1][:3]):
        np.testing.assert_allclose(a, b, rtol=8 * np.finfo(float).eps, atol=1e-300)


def test_i5_fisher_and_constants():
    # card §4.0 I5: F = sum_s d(s) phi phi^T/(3 b^2) >= mu_F = (1-gamma) lambda_min(E_rho phi phi^T)
    # /(3 b^2); with unit-norm features M_g = 1/b, M_h = 1/(2 b^2)
    from rlsandbox.mdps.harpg import logistic_state_mdp
    p = logistic_state_mdp()
    assert p.M_g == pytest.approx(2.0, rel=1e-15) and p.M_h == pytest.approx(2.0, rel=1e-15)
    rng = np.random.default_rng(1)
    for _ in range(5):
        th = rng.normal(scale=2.0, size=2)
        ev = np.linalg.eigvalsh(p.fisher(th))
        assert ev.min() >= p.mu_F
        F_exact = np.einsum("s,sd,se->de", p.occupancy(th), p.phi, p.phi) / (3 * p.b ** 2)
        np.testing.assert_allclose(p.fisher(th), F_exact, rtol=1e-13)
    # J* on an action grid: every state can earn reward 1 (a = c_s), so J* = 1/(1-gamma) and
    # the grid (spacing 0.02) reaches it up to exp(-0.01^2/2) per step
    assert 10.0 * np.exp(-0.01 ** 2 / 2) - 1e-9 <= p.J_star <= 10.0 + 1e-9


def test_i5_validation():
    from rlsandbox.algorithms.harpg.models import LogisticStateMDP
    phi = np.eye(2)
    with pytest.raises(ValueError, match="kappa"):
        LogisticStateMDP(phi, np.zeros((3, 3)), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="rho sums to"):
        LogisticStateMDP(phi, np.zeros((2, 2)), np.zeros((2, 2)), np.zeros(2), rho=[0.5, 0.6])


def test_i5_performance_difference_and_relaxed_wgd_pieces():
    # card §2 proof skeleton on I5: J(pi*) - J(theta) = (1/(1-gamma)) E_{d*}[A^theta(s, a*(s))]
    # exactly for the deterministic grid comparator pi* (so J_star = J(pi*)); round-off of a
    # 3x3 solve and sums of O(1/(1-gamma)) terms: 64 eps / (1-gamma)^2
    p = inst.logistic_state_mdp()
    rng = np.random.default_rng(0)
    for theta in rng.normal(scale=2.0, size=(5, 2)):
        adv, psi, d_star = p._star_terms(theta)
        lhs = p.J_star - p.J(theta)
        assert lhs == pytest.approx(d_star @ adv / (1 - p.gamma),
                                    abs=64 * EPS / (1 - p.gamma) ** 2)
        # Cauchy-Schwarz step of the lemma: E[resid] <= sqrt(E[resid^2]) = sqrt(eps_bias)
        resid = adv - (1 - p.gamma) * psi @ p.compatible_weight(theta)
        assert d_star @ resid <= np.sqrt(p.eps_bias(theta)) + 64 * EPS
        assert d_star.sum() == pytest.approx(1.0, abs=16 * EPS)
    # at the class maximiser grad J = 0, so w* = 0 and eps_bias = E_{d*}[A^2] > 0 (A4 > 0)
    th = p.class_maximiser()
    assert np.linalg.norm(p.grad_J(th)) <= 1e-12
    assert p.eps_bias(th) > 0.01


def test_truncated_derivatives_one_pass_equals_separate_calls(garnet_softmax):
    # the single forward pass records the same floating-point operations as H separate calls
    theta = np.random.default_rng(1).normal(size=garnet_softmax.d)
    grads, hessians = garnet_softmax.truncated_derivatives(theta, 7)
    for H in (1, 4, 7):
        assert np.array_equal(grads[H - 1], garnet_softmax.grad_J_H(theta, H))
        assert np.array_equal(hessians[H - 1], garnet_softmax.hess_J_H(theta, H))
