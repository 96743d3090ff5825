"""MDPO / policy mirror descent algorithms (card shared/papers/mdpo.md, cited [card, §n]).

Unit tests of every update against a hand-computed 2-state case or a closed form,
"reduces to" identities at limiting parameters, the per-iteration inequality C3 on every
iterate of every exact PMD variant (property-based, via rlsandbox.testing), and one test per
error message. Tolerances: float64 round-off with a stated factor, Monte Carlo errors with a
stated number of standard deviations, or a stopping rule's guarantee.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rlsandbox as rls
from rlsandbox.algorithms.mdpo import (QNoise, anneal, apmd, apmd_taus, constant,
                                       euclid_step, evaluate_regularized, exact_trpo,
                                       generative_q, geometric, greedy, greedy_step, kl_ppo,
                                       kl_step, lan_pmd, lan_step, log_normalize, mdpo_off_policy,
                                       mdpo_on_policy, ne_trpo, ne_trpo_step, npg, pmd,
                                       ppo_clip, project_simplex, psi_gradient, reverse_kl_step,
                                       sample_based_trpo, sampled_pmd, shani, shani_regularized,
                                       soft_bellman, soft_optimal, soft_policy_iteration,
                                       softmax_pg, theta_geometric, trpo)
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.sampled import occupancy_states
from rlsandbox.mdps.mdpo import (bandit_loop, coin_flip, delayed_reward, mdpo_chain,
                                 mdpo_random, stationary_start)
from rlsandbox.proofs_check.mdpo import c3_sides
from rlsandbox.testing import tabular_mdps

EPS = np.finfo(np.float64).eps


# ------------------------------------------------------------- the hand-computed 2-state case
def two_state() -> rls.TabularMDP:
    """Action a moves to state a deterministically from either state; R = [[9/10, 0], [0, 2]];
    gamma = 1/2. Under the uniform policy P_pi has equal rows, so with m = mean_s V(s):
    V(s) = r_pi(s) + gamma m and m = mean(r_pi) / (1 - gamma) = 0.725 / 0.5 = 1.45, giving
    V = (0.45 + 0.725, 1 + 0.725) = (1.175, 1.725) and Q(s, a) = R(s, a) + V(a) / 2:
    Q = [[1.4875, 0.8625], [0.5875, 2.8625]] (exact rationals below)."""
    P = np.zeros((2, 2, 2))
    P[:, 0, 0] = P[:, 1, 1] = 1.0
    return rls.TabularMDP(P, np.array([[0.9, 0.0], [0.0, 2.0]]), 0.5)


Q_HAND = [[Fraction(119, 80), Fraction(69, 80)], [Fraction(47, 80), Fraction(229, 80)]]
UNIFORM = np.full((2, 2), 0.5)


def test_two_state_values_by_hand():
    V, Q = evaluate_regularized(two_state(), UNIFORM, 0.0)
    assert V.tolist() == pytest.approx([1.175, 1.725], rel=4 * EPS)
    assert Q == pytest.approx(np.array(Q_HAND, dtype=float), rel=8 * EPS)


def test_kl_step_by_hand():
    """pi_1(.|s) proportional to exp(eta Q(s, .)): with eta = ln 3 / 0.625 the state-0 ratio
    is exp(eta (119 - 69)/80) = 3 and the state-1 ratio exp(eta (229 - 47)/80) = 3^(182/50)."""
    Q = np.array(Q_HAND, dtype=float)
    eta = math.log(3.0) / 0.625
    new = np.exp(kl_step(np.log(UNIFORM), Q, eta))
    r1 = 3.0 ** (182 / 50)
    assert new[0] == pytest.approx([0.75, 0.25], rel=16 * EPS)
    assert new[1] == pytest.approx([1 / (1 + r1), r1 / (1 + r1)], rel=64 * EPS)


def test_euclid_step_by_hand():
    """eta = 1/5: y = pi + eta Q = (0.7975, 0.6725) and (0.6175, 1.0725); subtracting
    (sum y - 1)/2 gives (0.5625, 0.4375) and (0.2725, 0.7275), both inside the simplex.
    eta = 1 at state 1: y = (1.0875, 3.3625) shifted by 1.725 gives (-0.6375, 1.6375), so the
    projection is the vertex (0, 1)."""
    Q = np.array(Q_HAND, dtype=float)
    small = euclid_step(UNIFORM, Q, 0.2)
    assert small == pytest.approx(np.array([[0.5625, 0.4375], [0.2725, 0.7275]]), abs=4 * EPS)
    big = euclid_step(UNIFORM, Q, 1.0)
    assert big[1].tolist() == [0.0, 1.0]


def test_greedy_and_pmd_limit_is_policy_iteration():
    mdp = two_state()
    Q = np.array(Q_HAND, dtype=float)
    assert greedy_step(UNIFORM, Q).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    # eta = inf from action 0 everywhere reproduces Howard PI's values step by step
    run = pmd(mdp, K=4, step=np.inf, pi0=np.zeros(2, dtype=int))
    for k in range(1, 5):
        V_pi = rls.dp.policy_iteration(mdp, pi0=np.zeros(2, dtype=int), max_iter=k).V
        assert run.V[k - 1] == pytest.approx(V_pi, rel=8 * EPS)
    assert run.V[-1] == pytest.approx(rls.solve(mdp).V, rel=8 * EPS)


def test_greedy_keeps_current_action_on_ties():
    pi = np.array([[0.0, 1.0]])
    assert greedy_step(pi, np.array([[2.0, 2.0]])).tolist() == [[0.0, 1.0]]
    # a stochastic current policy is not "kept": the lowest-index maximiser is taken
    assert greedy_step(np.array([[0.5, 0.5]]), np.array([[2.0, 2.0]])).tolist() == [[1.0, 0.0]]


def test_reverse_kl_step_kkt_and_limits():
    """p = beta pi / (nu - A): stationarity of <p, A> - beta KL(pi || p) on the simplex is
    A(a) + beta pi(a)/p(a) = nu for every a with pi(a) > 0."""
    rng = np.random.default_rng(0)
    pi = rng.dirichlet(np.ones(4), size=5)
    A = rng.normal(size=(5, 4))
    for beta in (0.1, 1.0, 10.0):
        p = reverse_kl_step(pi, A, beta)
        nu = A + beta * pi / p
        # bisection to float64 resolution: nu known to ~eps (|A| + beta)
        assert np.ptp(nu, axis=1) == pytest.approx(0.0, abs=64 * EPS * (np.abs(A).max() + beta))
        assert p.sum(axis=1) == pytest.approx(1.0, abs=4 * EPS)
    # a huge penalty keeps pi; zero-probability actions stay at zero
    assert reverse_kl_step(pi, A, 1e9) == pytest.approx(pi, abs=1e-8)
    pz = np.array([[0.5, 0.5, 0.0]])
    assert reverse_kl_step(pz, np.array([[0.0, 1.0, 5.0]]), 1.0)[0, 2] == 0.0


def test_project_simplex_optimality():
    """Projection onto the simplex: x = max(y - c, 0) with sum x = 1, so every positive
    coordinate has y - x = c and every zero coordinate has y <= c (KKT [duchi2008])."""
    rng = np.random.default_rng(1)
    Y = rng.normal(scale=3.0, size=(50, 5))
    X = project_simplex(Y)
    assert (X >= 0).all() and X.sum(axis=1) == pytest.approx(1.0, abs=8 * EPS)
    for y, x in zip(Y, X):
        c = (y - x)[x > 0]
        assert np.ptp(c) <= 16 * EPS * (1 + np.abs(y).max())
        assert (y[x == 0] <= c[0] + 16 * EPS * (1 + np.abs(y).max())).all()
    # points already in the simplex are fixed
    P = rng.dirichlet(np.ones(5), size=10)
    assert project_simplex(P) == pytest.approx(P, abs=4 * EPS)


def test_log_normalize_keeps_tiny_tails():
    """log pi(a*) = -log1p(sum exp(z)) keeps 1e-22-sized corrections (log(sum) would give 0)."""
    out = log_normalize(np.array([[0.0, -50.0, -60.0]]))
    assert out[0, 0] == pytest.approx(-(math.exp(-50) + math.exp(-60)), rel=1e-15)
    assert np.exp(out).sum() == pytest.approx(1.0, abs=2 * EPS)


# ------------------------------------------------------------------ invariances, identities
def test_kl_step_invariant_to_per_state_shift():
    rng = np.random.default_rng(2)
    logpi = np.log(rng.dirichlet(np.ones(3), size=4))
    Q = rng.normal(size=(4, 3))
    a = kl_step(logpi, Q, 2.0)
    b = kl_step(logpi, Q + rng.normal(size=(4, 1)) * 100, 2.0)
    # the exponent differs by rounding of terms of size <= 2 (|Q| + 100 + |logpi|)
    assert np.exp(a) == pytest.approx(np.exp(b), abs=32 * EPS * 2 * (5 + 400))


def test_ne_trpo_lam0_is_kl_and_lam_t1_is_soft_greedy():
    rng = np.random.default_rng(3)
    logpi = np.log(rng.dirichlet(np.ones(3), size=4))
    Q = rng.normal(size=(4, 3))
    assert ne_trpo_step(logpi, Q, 0.7, 0.0) == pytest.approx(kl_step(logpi, Q, 0.7), abs=16 * EPS)
    lam = 0.4
    soft = log_normalize(Q / lam)
    assert ne_trpo_step(logpi, Q, 1 / lam, lam) == pytest.approx(soft, abs=32 * EPS * 10)
    assert lan_step(logpi, Q, np.inf, lam) == pytest.approx(soft, abs=32 * EPS * 10)


def test_lan_mu0_equals_pmd_kl():
    mdp = mdpo_random(S=6, A=3, rng=4)
    a = lan_pmd(mdp, mu=0.0, K=15, eta=1.7)
    b = pmd(mdp, K=15, step=1.7)
    assert a.V == pytest.approx(b.V, rel=1e-12)


def test_npg_is_pmd_with_scaled_step():
    mdp = mdpo_random(S=6, A=3, rng=5)
    a = npg(mdp, K=10, eta=0.2)
    b = pmd(mdp, K=10, step=0.2 / (1 - mdp.gamma))
    assert np.array_equal(a.V, b.V)


def test_soft_pi_three_ways_and_soft_optimum():
    mdp = mdpo_random(S=6, A=3, rng=6)
    lam = 0.3
    a = soft_policy_iteration(mdp, lam=lam, K=30)
    b = ne_trpo(mdp, lam=lam, K=30, step=1 / lam)
    sol = soft_optimal(mdp, lam)
    assert a.V == pytest.approx(b.V, rel=1e-12)
    # soft PI is a gamma-contraction: after 30 steps the error is < gamma^30 * 2 vmax
    vmax = (1 + lam * math.log(3)) / (1 - mdp.gamma)
    assert np.abs(a.V[-1] - sol.V).max() <= mdp.gamma ** 30 * 2 * vmax + sol.error_bound


def test_soft_optimum_closed_form_on_bandit_loop():
    """One state with self loops: V*_lam = lam log(mean_a exp(R(a)/lam)) / (1 - gamma)."""
    mdp = bandit_loop(0.3, gamma=0.8)
    for lam in (0.05, 0.5, 2.0):
        sol = soft_optimal(mdp, lam)
        closed = lam * math.log(0.5 * (math.exp(0.5 / lam) + math.exp(0.8 / lam))) / 0.2
        assert sol.V[0] == pytest.approx(closed, rel=64 * EPS)
        assert sol.error_bound < 1e-12
        TV, logpi = soft_bellman(mdp, sol.V, lam)
        assert TV == pytest.approx(sol.V, rel=64 * EPS)


def test_regularized_value_convention():
    """SAC convention (card §2.3): V_lam = sum_a pi (Q_lam - lam log pi) - lam log A, and the
    uniform policy's regularised value equals its plain value (omega = 0)."""
    mdp = mdpo_random(S=5, A=4, rng=7)
    pi = np.random.default_rng(7).dirichlet(np.ones(4), size=5)
    V, Q = evaluate_regularized(mdp, pi, 0.2)
    rhs = (pi * (Q - 0.2 * np.log(pi))).sum(1) - 0.2 * math.log(4)
    assert V == pytest.approx(rhs, abs=1e-12)
    Vu, _ = evaluate_regularized(mdp, np.full((5, 4), 0.25), 0.2)
    assert Vu == pytest.approx(rls.evaluate(mdp, np.full((5, 4), 0.25)), rel=1e-13)


def test_exact_trpo_full_support_equals_pmd_and_zero_weight_states_frozen():
    mdp = mdpo_random(S=6, A=3, rng=8)
    a = exact_trpo(mdp, K=8, step=0.9, nu=np.full(6, 1 / 6))
    b = pmd(mdp, K=8, step=0.9)
    assert a.V == pytest.approx(b.V, rel=1e-13)
    # delayed_reward from the bad absorbing state only: d_nu^pi is the point mass there, so
    # every other state keeps the uniform policy
    dr = delayed_reward(2, gamma=0.9)
    run = exact_trpo(dr, K=5, step=1.0, nu=np.eye(dr.S)[dr.S - 1])
    assert np.array_equal(run.pi[-1][:-1], np.full((dr.S - 1, 2), 0.5))


def test_apmd_taus_and_runs():
    assert apmd_taus(0.9, 3, variant="a", tau0=2.0) == pytest.approx([2.0, 1.8, 1.62])
    # l = ceil(log_0.9(1/4)) = 14
    taus = apmd_taus(0.9, 30, variant="b")
    assert taus[0] == 0.5 and taus[13] == 0.5 and taus[14] == 0.25 and taus[28] == 0.125
    mdp = mdpo_random(S=6, A=3, rng=9)
    run = apmd(mdp, K=60, variant="a")
    ref = T.reference(mdp)
    gaps = T.gaps(ref, run.V)
    # Lan Thm 3: the gap decays (O(k gamma^k)); checked loosely: it shrinks by 10^3
    assert gaps[-1] < 1e-3 * gaps[0]
    assert np.allclose(run.eta, (1 - mdp.gamma) / (mdp.gamma * apmd_taus(mdp.gamma, 60)))


def test_schedules():
    assert geometric(1.0, 0.5, cap=10.0).steps(6).tolist() == [1, 2, 4, 8, 10, 10]
    assert geometric(1.0, 0.5, cap=10.0).uncapped_until(6) == 3
    assert anneal(4).steps(4).tolist() == [1.0, 0.8, 0.6, 0.4]
    assert shani(0.9).steps(2) == pytest.approx([0.1, 0.1 / math.sqrt(2)])
    assert shani(0.9, mirror="euclid", A=4)(0) == pytest.approx(0.05)
    assert shani_regularized(2.0).steps(2).tolist() == [0.25, 1 / 6]
    assert theta_geometric(1.0, 4.0)(2) == pytest.approx((4 / 3) ** 2)
    assert greedy()(5) == math.inf
    # no overflow far beyond float64's range of 1/gamma^k
    assert geometric(1.0, 0.9)(10 ** 6) == 1e12


def test_qnoise_is_bounded_and_directed():
    rng = np.random.default_rng(10)
    Q = rng.normal(size=(5, 3))
    for noise in (QNoise(0.1), QNoise(0.1, "toward_worst"),
                  QNoise(0.1, "adversarial", (0, 1, 2, 0, 1))):
        assert np.abs(noise(Q, rng) - Q).max() <= 0.1 * (1 + 4 * EPS)
    worst = QNoise(10.0, "toward_worst")(Q, None)
    assert (np.argmax(worst, axis=1) == np.argmin(Q, axis=1)).all()


# ---------------------------------------------------------------- theory helpers
def test_occupancies_match_measures_and_dstar_from_logs():
    mdp = mdpo_random(S=7, A=3, rng=11)
    pi = np.random.default_rng(11).dirichlet(np.ones(3), size=7)
    d = T.occupancies(mdp, pi[None], mdp.rho)[0]
    assert d == pytest.approx(rls.measures.state_occupancy(mdp, pi), abs=1e-14)
    ref = T.reference(mdp)
    assert ref.theta_rho >= 1 / (1 - mdp.gamma) and ref.C_rho >= 1.0
    # Dstar from log-probabilities stays finite when pi(a*) underflows to 0
    logpi = np.full((1, 7, 3), -np.log(3))
    logpi[0, :, :] = -800.0
    logpi[0, np.arange(7), (ref.pi_star + 1) % 3] = 0.0
    assert np.isfinite(T.dstar_kl(ref, logpi)).all()
    assert T.dstar_kl(ref, logpi)[0] == pytest.approx(800.0, rel=1e-12)


def test_stationary_start_has_unit_mismatch():
    ref = T.reference(stationary_start(rng=3))
    assert ref.C_rho == pytest.approx(1.0, abs=1e-12)


# ------------------------------------------------------------- C3 on every exact PMD variant
def _c3_holds(mdp, run, mirror):
    lhs, rhs, tol = c3_sides(mdp, run, mirror)
    assert np.all(lhs <= rhs + tol), (run.method, float((lhs - rhs - tol).max()))


@settings(max_examples=25, deadline=None, database=None)
@given(mdp=tabular_mdps(S=(2, 6), A=(2, 4), gamma=(0.3, 0.95), zeros=False, reward=(0.0, 1.0)),
       eta=st.floats(0.05, 20.0), seed=st.integers(0, 2**16))
def test_c3_on_every_exact_pmd_variant(mdp, eta, seed):
    """Xiao Prop. 9 (card C3) on every iterate: constant, geometric, Shani, annealed and random
    steps for both mirror maps, exact TRPO with a full-support restart distribution, NPG,
    tabular TRPO (PMD-KL with adaptive steps) and MDPO with m = inf."""
    rng = np.random.default_rng(seed)
    K = 12
    g = mdp.gamma
    for mirror in ("kl", "euclid"):
        for step in (constant(eta), geometric(eta, g), shani(g), anneal(K)):
            _c3_holds(mdp, pmd(mdp, K=K, step=step, mirror=mirror), mirror)
    t = rng.uniform(0.05, 5.0, size=K)
    from rlsandbox.algorithms.mdpo.pmd import _loop, _start
    from rlsandbox.algorithms.mdpo.policies import _kl_step
    run = _loop(mdp, _start(mdp, None, interior=True), K,
                lambda k, lp, p, Q: (_kl_step(lp, Q, float(t[k])), float(t[k])), lam=0.0,
                method="pmd-kl-random-steps")
    _c3_holds(mdp, run, "kl")
    _c3_holds(mdp, exact_trpo(mdp, K=K, step=eta, nu=mdp.rho), "kl")
    _c3_holds(mdp, npg(mdp, K=K, eta=eta), "kl")
    _c3_holds(mdp, mdpo_on_policy(mdp, K=K, m=np.inf, step=anneal(K)).run, "kl")
    tr = trpo(mdp, K=K, delta=0.05)
    if (tr.eta > 0).all():                    # a rejected step (eta = 0) is no PMD step
        _c3_holds(mdp, tr, "kl")


def test_c3_detects_noise_and_wrong_discount():
    """The sharp detector fails on inexact PMD (card C3 negative controls): noise larger than
    half the action gap of bandit_loop reverses the step (delta grows while Dstar grows), and
    Q with discount 0.5 on delayed_reward converges to the myopic action (see the builders)."""
    mdp = bandit_loop(0.05, gamma=0.9)
    noisy = pmd(mdp, K=10, step=1.0, noise=QNoise(0.1, "toward_worst"))
    lhs, rhs, tol = c3_sides(mdp, noisy, "kl")
    assert (lhs > rhs + tol).all()
    from rlsandbox.algorithms.mdpo.pmd import _loop, _mirror_update, _start
    from rlsandbox.algorithms.mdpo.regularized import _eval_lam
    dr = delayed_reward(2, gamma=0.9)
    myopic = dr.replace(gamma=0.5)
    wrong = _loop(dr, _start(dr, None, interior=True), 30, _mirror_update(constant(1.0), "kl"),
                  lam=0.0, method="wrong", evaluator=lambda k, p, lp: _eval_lam(myopic, p, lp, 0))
    lhs, rhs, tol = c3_sides(dr, wrong, "kl")
    assert (lhs > rhs + tol).any()


# ------------------------------------------------------------------------ MDPO updates
def test_psi_gradient_matches_complex_step():
    from rlsandbox.proofs_check.mdpo import _complex_grad, _psi
    rng = np.random.default_rng(12)
    logpi_k = np.log(rng.dirichlet(np.ones(3), size=4))
    A = rng.normal(size=(4, 3))
    w = rng.dirichlet(np.ones(4))
    theta = rng.normal(size=(4, 3))
    G = _complex_grad(lambda x: _psi(x, logpi_k, A, w, 0.7), theta)
    assert psi_gradient(theta, logpi_k, A, w, 0.7) == pytest.approx(G, abs=1e-13)


def test_mdpo_m1_is_a_policy_gradient_step_and_m_inf_is_pmd():
    mdp = mdpo_random(S=5, A=3, rng=13)
    one = mdpo_on_policy(mdp, K=1, m=1, step=0.8, weights="on_policy", alpha_scale=0.5)
    pi0 = one.run.pi[0]
    V, Q = evaluate_regularized(mdp, pi0, 0.0)
    d = rls.measures.state_occupancy(mdp, pi0)
    alpha = 0.5 * 0.8 / d.max()
    expected = log_normalize(np.log(pi0) + alpha * d[:, None] * pi0 * (Q - V[:, None]))
    assert one.run.logpi[1] == pytest.approx(expected, abs=1e-13)
    exact = mdpo_on_policy(mdp, K=6, m=np.inf, step=anneal(6))
    assert exact.run.V == pytest.approx(pmd(mdp, K=6, step=anneal(6)).V, rel=1e-13)
    assert np.array_equal(exact.inner_error, np.zeros(6))


def test_mdpo_inner_error_decreases_with_m():
    """Card C16(b), reference trend: with alpha = t/max w the inner error falls with m (the
    card's example: 5e-2, 1.4e-2, 1e-3, 4e-5 for m = 1, 10, 100, 1000)."""
    mdp = mdpo_random(S=8, A=3, rng=14)
    errs = [mdpo_on_policy(mdp, K=1, m=m, step=1.0, weights="uniform",
                           alpha_scale=1.0).inner_error[0] for m in (1, 10, 100, 1000)]
    assert all(b < a for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-6


def test_mdpo_adam_runs_and_improves():
    mdp = mdpo_chain(6, gamma=0.9)
    out = mdpo_on_policy(mdp, K=10, m=10, step=anneal(10), optimizer="adam", lr=0.05)
    vals = out.run.values(mdp.rho)
    assert vals[-1] > vals[0]


def test_off_policy_uniform_anchor_is_sac_target():
    """anchor uniform, lam t = 1, many steps: each block converges to softmax(Q_lam^{old}/lam),
    i.e. soft policy iteration's next iterate (card C17(b), (c))."""
    mdp = mdpo_random(S=4, A=3, rng=15)
    lam = 0.5
    out = mdpo_off_policy(mdp, J=3000, m=1000, lam=lam, t=1 / lam, alpha=2.0, anchor="uniform")
    spi = soft_policy_iteration(mdp, lam=lam, K=3)
    assert out.run.pi == pytest.approx(spi.pi, abs=1e-9)
    assert out.inner_error.max() < 1e-9


# -------------------------------------------------------------------------- baselines
def test_softmax_pg_gradient_step():
    mdp = mdpo_random(S=5, A=3, rng=16)
    run = softmax_pg(mdp, K=1, alpha=0.3)
    pi0 = run.pi[0]
    V, Q = evaluate_regularized(mdp, pi0, 0.0)
    d = rls.measures.state_occupancy(mdp, pi0)
    grad = d[:, None] * pi0 * (Q - V[:, None]) / (1 - mdp.gamma)
    assert run.logpi[1] == pytest.approx(log_normalize(np.log(pi0) + 0.3 * grad), abs=1e-13)


def test_trpo_respects_trust_region():
    mdp = mdpo_random(S=6, A=3, rng=17)
    run = trpo(mdp, K=8, delta=0.01)
    for k in range(8):
        d = rls.measures.state_occupancy(mdp, run.pi[k])
        rev = float(d @ (run.pi[k] * (run.logpi[k] - run.logpi[k + 1])).sum(1))
        assert rev <= 0.01 * (1 + 1e-12)
    assert np.all(np.diff(run.values(mdp.rho)) > -1e-12)


def test_ppo_and_kl_ppo_improve_and_adapt():
    mdp = mdpo_chain(6, gamma=0.9)
    for run in (ppo_clip(mdp, K=15), kl_ppo(mdp, K=15)):
        vals = run.values(mdp.rho)
        assert vals[-1] > vals[0]
    betas = kl_ppo(mdp, K=15, d_targ=1e-6).eta     # tiny target: beta must grow
    assert betas[-1] > betas[0]


# ------------------------------------------------------------------ sample-based variants
def test_generative_q_unbiased_up_to_truncation():
    """coin_flip, pi uniform: Qhat(0, a) is a mean of M returns in {0, gamma(1-gamma^(H-1))/
    (1-gamma)} (probability 1/2 each) whose expectation is Q(0, a) - gamma^H/(2(1-gamma))
    (the tail of the G branch); with M = 4000 its standard deviation is
    gamma(1-gamma^(H-1))/(2(1-gamma) sqrt(M)); we allow 5 standard deviations."""
    mdp = coin_flip(gamma=0.5)
    H, M = 6, 4000
    Qhat = generative_q(mdp, np.full((3, 2), 0.5), M=M, H=H, rng=3)
    Q = rls.q_values(mdp, rls.evaluate(mdp, np.full((3, 2), 0.5)))
    hi = 0.5 * (1 - 0.5 ** (H - 1)) / 0.5
    mean = 0.5 * hi
    assert Q[0] - 0.5 ** H / (2 * 0.5) == pytest.approx([mean, mean], rel=1e-12)
    assert np.abs(Qhat[0] - mean).max() <= 5 * hi / 2 / math.sqrt(M)
    # deterministic returns from G (bias exactly gamma^H/(1-gamma)) and B (0)
    assert Qhat[1] == pytest.approx((1 - 0.5 ** H) / 0.5, rel=1e-12)
    assert Qhat[2].tolist() == [0.0, 0.0]
    assert np.array_equal(Qhat, generative_q(mdp, np.full((3, 2), 0.5), M=M, H=H, rng=3))


def test_occupancy_states_follow_d_nu():
    """Frequencies of s ~ d_nu^pi (T = 200, truncation mass gamma^T negligible) against the
    exact occupancy: 5 binomial standard deviations per state."""
    mdp = mdpo_chain(5, gamma=0.8)
    pi = np.full((5, 2), 0.5)
    n = 20000
    s = occupancy_states(mdp, pi, mdp.rho, n=n, T=200, rng=np.random.default_rng(4))
    freq = np.bincount(s, minlength=5) / n
    d = rls.measures.state_occupancy(mdp, pi)
    assert np.all(np.abs(freq - d) <= 5 * np.sqrt(d * (1 - d) / n))


def test_sampled_variants_converge_and_are_reproducible():
    mdp = mdpo_random(S=4, A=2, rng=18, gamma=0.5)
    ref = T.reference(mdp)
    a = sampled_pmd(mdp, K=8, step=geometric(1.0, 0.5), M=400, H=12, rng=5)
    b = sampled_pmd(mdp, K=8, step=geometric(1.0, 0.5), M=400, H=12, rng=5)
    assert np.array_equal(a.pi, b.pi)
    # C6 with the Lemma 14 radius as tau (exceeded with probability < 1e-6 here) bounds the
    # final gap by 4 theta tau/(1-gamma) plus the vanishing geometric term
    assert T.gaps(ref, a.V)[-1] < T.gaps(ref, a.V)[0]
    tr = sample_based_trpo(mdp, K=8, step=0.5, M=300, T=12, rng=6)
    assert T.gaps(ref, tr.V).min() < T.gaps(ref, tr.V)[0]
    unvisited = tr.Q_used.sum(axis=2) == 0
    for k in range(8):        # states without samples keep their policy
        assert np.array_equal(tr.pi[k + 1][unvisited[k]], tr.pi[k][unvisited[k]])


# ---------------------------------------------------------------------- error messages
@pytest.mark.parametrize("call, exc, match", [
    (lambda: ne_trpo(bandit_loop(), lam=1.0, K=2, step=2.0), ValueError,
     r"lam \* t_0 == 2.0 > 1: NE-TRPO needs lam t_k <= 1"),
    (lambda: ne_trpo_step(np.log([[0.5, 0.5]]), np.zeros((1, 2)), 3.0, 1.0), ValueError,
     r"lam \* t == 3.0 > 1"),
    (lambda: pmd(bandit_loop(), K=2, step=1.0, pi0=np.array([[1.0, 0.0]])), ValueError,
     r"pi0\[0, 1\] == 0, but the KL mirror map needs pi0 in the interior"),
    (lambda: QNoise(0.1, "adversarial"), ValueError, r"needs a_star"),
    (lambda: QNoise(0.1, "gaussian"), ValueError, r"kind == 'gaussian'"),
    (lambda: pmd(bandit_loop(gamma=1.0), K=1, step=1.0), ValueError,
     r"mdp.gamma == 1.0, must be in \[0, 1\)"),
    (lambda: lan_pmd(bandit_loop(), mu=0.0, K=1, eta=np.inf), ValueError,
     r"eta = inf with mu = 0 is policy iteration"),
    (lambda: kl_step(np.log([[0.5, 0.5]]), np.zeros((1, 2)), np.inf), ValueError,
     r"eta == inf: the infinite step is the greedy step; use greedy_step"),
    (lambda: kl_step(np.array([[0.0, 0.0]]), np.zeros((1, 2)), 1.0), ValueError,
     r"exp\(logpi\[0, :\]\) sums to 2"),
    (lambda: pmd(bandit_loop(), K=1, step="big"), TypeError, r"step must be a Schedule"),
    (lambda: mdpo_on_policy(bandit_loop(), K=1, m=0, step=1.0), ValueError,
     r"m == 0, must be in \[1, inf\]"),
    (lambda: mdpo_off_policy(bandit_loop(), J=10, m=5, lam=1.0, t=2.0), ValueError,
     r"lam \* t == 2.0 > 1"),
    (lambda: soft_optimal(bandit_loop(), 0.0), ValueError, r"lam == 0.0, must be in \(0, inf\)"),
    (lambda: shani(0.9, mirror="euclid"), ValueError, r"needs A"),
    (lambda: generative_q(bandit_loop(), np.full((1, 2), 0.5), M=1, H=1, rng=None), TypeError,
     r"rng is None"),
    (lambda: T.check_unit_rewards(rls.mdps.riverswim(variant="strehl2008"), "C2"), ValueError,
     r"C2 assumes rewards in \[0, 1\]"),
])
def test_error_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
