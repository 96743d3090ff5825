"""HARPG methods and theory helpers (card n_harpg.md §3, §2 constants, §4.1 N9).

The update rules are checked against hand computations on a fake quadratic problem
J(theta) = -||theta - a||^2 / 2 whose "sampler" returns known values: the k-th sampling call
returns g = (a - theta) + k (1, -1) for every trajectory, score_sum = e_0 and the diagonal
log-policy curvature -1, so B u = g u_0 - u. Each expected value below is the card's pseudo-code
(§3.1, §3.2) written out for the first iterations. Float comparisons allow a few roundings of
O(1) numbers (64 eps).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from rlsandbox.algorithms.harpg import _kernels as K
from rlsandbox.algorithms.harpg.methods import (Schedule, code_schedule, log_checkpoints, run,
                                                theory_schedule, trajectories_before)
from rlsandbox.algorithms.harpg.models import Rollouts
from rlsandbox.algorithms.harpg.theory import (c_num, constants, horizon, harpg_alpha0,
                                               momentum_ratio, recursion_bound, sequence_ratio)
from rlsandbox.mdps import harpg as inst

EPS = np.finfo(np.float64).eps
TOL = 64 * EPS
A_VEC = np.array([3.0, 4.0])
E1 = np.array([1.0, -1.0])


class FakeQuadratic:
    """J = -||theta - a||^2/2 with a scripted sampler (module docstring)."""

    d = 2
    gamma = 0.0

    def __init__(self, zero: bool = False):
        self.calls: list[np.ndarray] = []
        self.zero = zero

    def grad_J_H(self, theta, H):
        return A_VEC - np.asarray(theta)

    def sample(self, theta, *, H, n, rng):
        k = len(self.calls)
        th = np.atleast_2d(theta)
        self.calls.append(th.copy())
        g = np.zeros((th.shape[0], n, 2)) if self.zero else \
            np.repeat(((A_VEC - th) + k * E1)[:, None, :], n, axis=1)
        score = np.zeros_like(g)
        score[..., 0] = 1.0
        curv = -np.ones_like(g)
        return Rollouts(g, g, score, np.zeros(g.shape[:2]), "diag", curv, None, H)


def _unit(x):
    return x / np.linalg.norm(x)


def test_n_harpg_hand_computation():
    prob = FakeQuadratic()
    sched = Schedule(alpha0=1.0, alpha_power=1.0, eta0=1.0, eta_power=1.0)
    tr = run(prob, "n_harpg", theta0=np.zeros(2), T=3, H=1, schedule=sched, rng=0)
    q = np.random.default_rng(0)
    q1 = q.random(1)[0]            # t = 1 draws q first, then samples at theta_1, theta^_1
    q2 = q.random(1)[0]
    # t = 0: call 0 at theta_0: d_0 = a; theta_1 = theta_0 + 1 * d_0/||d_0||
    d0 = A_VEC.copy()
    th1 = _unit(d0)
    # t = 1 (eta = 2/3, alpha = 2/3): call 1 at theta_1 (g), call 2 at theta^_1 (HVP)
    g1 = A_VEC - th1 + 1 * E1
    delta = th1
    th_hat = q1 * th1
    g_hat = A_VEC - th_hat + 2 * E1
    v1 = g_hat * delta[0] - delta
    d1 = (1 / 3) * (d0 + v1) + (2 / 3) * g1
    th2 = th1 + (2 / 3) * _unit(d1)
    # t = 2 (eta = 1/2): call 3 at theta_2, call 4 at theta^_2
    g2 = A_VEC - th2 + 3 * E1
    delta2 = th2 - th1
    th_hat2 = q2 * th2 + (1 - q2) * th1
    v2 = (A_VEC - th_hat2 + 4 * E1) * delta2[0] - delta2
    d2 = 0.5 * (d1 + v2) + 0.5 * g2
    th3 = th2 + 0.5 * _unit(d2)
    assert len(prob.calls) == 5
    assert np.allclose(prob.calls[2][0], th_hat, atol=TOL)
    assert np.allclose(tr.d[0], [d0, d1, d2], atol=TOL)
    assert np.allclose(tr.theta[0], [np.zeros(2), th1, th2], atol=TOL)
    assert np.allclose(tr.theta_final[0], th3, atol=TOL)
    assert tr.trajectories.tolist() == [0, 1, 3] and tr.trajectories_total == 5


def test_harpg_unnormalised_hand_computation():
    prob = FakeQuadratic()
    sched = Schedule(alpha0=0.1, alpha_power=0.5, eta0=1.0, eta_power=1.0)
    tr = run(prob, "harpg", theta0=np.zeros(2), T=2, H=1, schedule=sched, rng=3, hvp="endpoint")
    # hvp="endpoint": theta^_1 = theta_1 (q = 1), no q drawn
    th1 = 0.1 * A_VEC
    g1 = A_VEC - th1 + E1
    v1 = (A_VEC - th1 + 2 * E1) * th1[0] - th1
    d1 = (1 / 3) * (A_VEC + v1) + (2 / 3) * g1
    th2 = th1 + 0.1 * math.sqrt(2 / 3) * d1
    assert np.allclose(prob.calls[2][0], th1, atol=TOL)
    assert np.allclose(tr.theta_final[0], th2, atol=TOL)


def test_n_pg_igt_hand_computation():
    prob = FakeQuadratic()
    sched = Schedule(alpha0=0.5, alpha_power=1.0, eta0=1.0, eta_power=0.8)
    tr = run(prob, "n_pg_igt", theta0=np.zeros(2), T=3, H=1, schedule=sched, rng=0)
    eta = [(2 / (t + 2)) ** 0.8 for t in range(3)]
    alpha = [0.5 * 2 / (t + 2) for t in range(3)]
    # t = 0: theta~_0 = theta_0 (theta_{-1} = theta_0), eta_0 = 1: d_0 = g(theta_0) = a
    d0 = A_VEC.copy()
    th1 = alpha[0] * _unit(d0)
    # t = 1: look-ahead theta~_1 = theta_1 + ((1 - eta_1)/eta_1)(theta_1 - theta_0)
    tl1 = th1 + (1 - eta[1]) / eta[1] * th1
    d1 = (1 - eta[1]) * d0 + eta[1] * (A_VEC - tl1 + E1)
    th2 = th1 + alpha[1] * _unit(d1)
    tl2 = th2 + (1 - eta[2]) / eta[2] * (th2 - th1)
    d2 = (1 - eta[2]) * d1 + eta[2] * (A_VEC - tl2 + 2 * E1)
    th3 = th2 + alpha[2] * _unit(d2)
    assert np.allclose(prob.calls[1][0], tl1, atol=TOL)
    assert np.allclose(prob.calls[2][0], tl2, atol=TOL)
    assert np.allclose(tr.d[0], [d0, d1, d2], atol=TOL)
    assert np.allclose(tr.theta_final[0], th3, atol=TOL)


def test_vanilla_pg_hand_computation():
    prob = FakeQuadratic()
    tr = run(prob, "vanilla_pg", theta0=np.zeros(2), T=2, H=1,
             schedule=code_schedule("vanilla_pg", alpha0=0.2), rng=0)
    th1 = 0.2 * A_VEC
    th2 = th1 + 0.2 * (2 / 3) ** (2 / 3) * (A_VEC - th1 + E1)
    assert np.allclose(tr.theta_final[0], th2, atol=TOL)


def test_zero_direction_keeps_theta():
    # card §3: normalised steps keep theta_{t+1} = theta_t when d_t = 0
    tr = run(FakeQuadratic(zero=True), "n_mpg", theta0=np.array([1.0, 2.0]), T=4, H=1,
             schedule=code_schedule("n_mpg", alpha0=1.0), rng=0)
    assert np.array_equal(tr.theta_final[0], [1.0, 2.0])


# ------------------------------------------------------------------ "reduces to" identities
def test_igt_without_lookahead_is_nmpg_with_same_schedule():
    bump = inst.logistic_bump()
    sched = Schedule(0.5, 1.0, 1.0, 0.8)
    a = run(bump, "n_pg_igt", theta0=np.zeros(2), T=50, H=1, M=2, replicates=3, schedule=sched,
            rng=4, lookahead=False)
    b = run(bump, "n_mpg", theta0=np.zeros(2), T=50, H=1, M=2, replicates=3, schedule=sched, rng=4)
    assert np.array_equal(a.theta, b.theta) and np.array_equal(a.d, b.d)


def test_eta_one_reduces_momentum_methods_to_normalised_pg():
    bump = inst.logistic_bump()
    sched = Schedule(0.5, 1.0, 1.0, 0.0)          # eta_t = 1: no memory, no look-ahead shift
    a = run(bump, "n_pg_igt", theta0=np.zeros(2), T=30, H=1, M=2, schedule=sched, rng=1)
    b = run(bump, "n_mpg", theta0=np.zeros(2), T=30, H=1, M=2, schedule=sched, rng=1)
    assert np.array_equal(a.theta_final, b.theta_final)


def test_oracle_harpg_with_eta_one_is_oracle_vanilla_pg():
    lqr = inst.lqr_reference()
    a = run(lqr, "harpg", theta0=np.array([0.8]), T=20, H=40,
            schedule=Schedule(0.05, 0.5, 1.0, 0.0), rng=0, oracle=True)
    b = run(lqr, "vanilla_pg", theta0=np.array([0.8]), T=20, H=40,
            schedule=Schedule(0.05, 0.5, 1.0, 0.0), rng=0, oracle=True)
    assert np.array_equal(a.theta, b.theta)


def test_oracle_recursion_is_exact_card_N4():
    # card §4.1 N4: with exact g and v, d_t = grad J_H(theta_t) (prototype: 5e-18 over 2e4 steps)
    p = inst.harpg_three_state()
    tr = run(p, "n_harpg", theta0=np.zeros(p.d), T=100, H=20,
             schedule=code_schedule("n_harpg", alpha0=0.3), rng=0, oracle=True)
    grads = p.grad_J_H(tr.theta[0], 20)
    G = np.linalg.norm(grads, axis=1).max()
    assert np.linalg.norm(tr.d[0] - grads, axis=1).max() <= 8 * 100 * 3 * EPS * G
    ctrl = run(p, "n_harpg", theta0=np.zeros(p.d), T=100, H=20,
               schedule=code_schedule("n_harpg", alpha0=0.3), rng=0, oracle=True, hvp="none")
    assert np.linalg.norm(ctrl.d[0] - p.grad_J_H(ctrl.theta[0], 20), axis=1).max() > 1e-4 * G


def test_trajectory_counts_card_convention():
    # card §2 / pitfall 14: 1 per iteration (N-PG-IGT, N-MPG, vanilla), 2 for (N-)HARPG (1 at t=0)
    assert trajectories_before("n_pg_igt", [0, 1, 5], M=3).tolist() == [0, 3, 15]
    assert trajectories_before("harpg", [0, 1, 5], M=3).tolist() == [0, 3, 27]
    bump = inst.logistic_bump()
    for method, total in (("n_pg_igt", 4 * 10), ("n_harpg", 4 * 19)):
        tr = run(bump, method, theta0=np.zeros(2), T=10, H=1, M=4,
                 schedule=code_schedule(method, alpha0=0.5), rng=0)
        assert tr.trajectories_total == total


def test_runs_are_deterministic_and_replicates_independent():
    bump = inst.logistic_bump()
    kw = dict(theta0=np.zeros(2), T=40, H=1, M=2, replicates=4,
              schedule=code_schedule("n_harpg", alpha0=0.5))
    a = run(bump, "n_harpg", rng=9, **kw)
    b = run(bump, "n_harpg", rng=9, **kw)
    assert np.array_equal(a.theta, b.theta)
    assert len({tuple(r) for r in a.theta_final}) == 4


def test_projection_is_applied():
    lqr = inst.lqr_reference()
    tr = run(lqr, "n_pg_igt", theta0=np.array([0.8]), T=30, H=20, M=2,
             schedule=code_schedule("n_pg_igt", alpha0=2.0), rng=0,
             project=lambda th: np.clip(th, 0.5, 1.0))
    assert 0.5 <= tr.theta_final[0, 0] <= 1.0


def test_schedules_card_table():
    # card §3.5: code shapes and theory schedules
    assert code_schedule("vanilla_pg", alpha0=0.1).alpha(1) == pytest.approx(0.1 * (2 / 3) ** (2 / 3))
    assert code_schedule("n_mpg", alpha0=0.1).eta(1) == pytest.approx((2 / 3) ** (2 / 3))
    assert code_schedule("harpg", alpha0=0.1).alpha(2) == pytest.approx(0.1 * math.sqrt(0.5))
    s = theory_schedule("n_pg_igt", M_g=2.0, mu_F=0.5)
    assert s.alpha(3) == pytest.approx(6 * 2.0 / (0.5 * 5)) and s.eta(3) == pytest.approx(0.4 ** 0.8)
    assert log_checkpoints(1000, 4).tolist() == [1, 10, 100, 999]


def test_run_validation():
    bump = inst.logistic_bump()
    kw = dict(theta0=np.zeros(2), T=3, H=1, schedule=code_schedule("harpg", alpha0=0.1), rng=0)
    with pytest.raises(ValueError, match="control of n_pg_igt"):
        run(bump, "harpg", lookahead=False, **kw)
    with pytest.raises(ValueError, match="control of harpg/n_harpg"):
        run(bump, "n_mpg", hvp="none", **kw)
    with pytest.raises(ValueError, match="method"):
        run(bump, "adam", **kw)
    with pytest.raises(ValueError, match=r"theta0 has shape \(3,\)"):
        run(bump, "harpg", **{**kw, "theta0": np.zeros(3)})
    with pytest.raises(TypeError, match="schedule must be a Schedule"):
        run(bump, "harpg", **{**kw, "schedule": 0.1})


def test_lqr_kernel_matches_py_func():
    rng = np.random.default_rng(0)
    K_ = np.array([0.8, 1.2])
    z0, xi, w = rng.normal(size=(2, 3)), rng.normal(size=(2, 3, 5)), rng.normal(size=(2, 3, 5))
    args = (K_, 1.0, 0.5, 1.0, 0.1, 0.3, 0.2, 1.0, 0.9, z0, xi, w)
    out = [np.empty((2, 3)) for _ in range(5)]
    py = [np.empty((2, 3)) for _ in range(5)]
    K._rollout_lqr(*args, *out)
    K._rollout_lqr.py_func(*args, *py)
    for a, b in zip(out, py):   # gamma ** t: ulps between Numba and CPython (16 H eps relative)
        assert np.allclose(a, b, rtol=16 * 5 * EPS, atol=0)


# ------------------------------------------------------------------------------- theory
def test_constants_card_formulas():
    c = constants(r_max=2.0, M_g=1.5, M_h=0.25, gamma=0.9, H=10, mu_F=0.5)
    assert c.L_g == pytest.approx(2.0 * (2.25 + 0.25) / 0.01)
    assert c.sigma_g2 == pytest.approx(4.0 * 2.25 / 0.001)
    assert c.sigma_h2 == pytest.approx(4.0 * (100 * 1.5 ** 4 + 0.0625) / 1e-4)
    assert c.D_g == pytest.approx(1.5 * 2.0 / 0.1 * math.sqrt(10 + 10))
    assert c.D_h == pytest.approx(2.0 * (0.25 + 2.25) / 0.1 * 20)
    assert c.mu == pytest.approx(0.25 / (2 * 2.25))
    assert harpg_alpha0(c) > 0
    assert horizon(0.9, 1000, factor=1.0) == 70 and horizon(0.9, 1000) == 139


def test_sequence_constants_card_N9_prototype():
    # card §4.1 N9(b) [prototype, T <= 2e5]: C_num = 1.40, 1.18, 1.08, 0.96, 1.15 (2 decimals)
    for (p, q), ref in (((1.6, 0.8), 1.40), ((1.2, 0.8), 1.18), ((1.0, 0.8), 1.08),
                        ((0.0, 0.8), 0.96)):
        assert c_num(p, q, 200_000) == pytest.approx(ref, abs=0.005)
    # The card prints C_num(1, 2/3) ~ 1.15, but the sup is attained at T = 1, where the ratio
    # is alpha_0 eta_1 / alpha_1 = (2/3)^(2/3) / (2/3) = (3/2)^(1/3) = 1.1447 (1.14 to two
    # decimals): a rounding slip on the card (reported).
    assert c_num(1.0, 2 / 3, 200_000) == pytest.approx(1.5 ** (1 / 3), rel=8 * EPS)
    # N9(a) [prototype]: max prod/eta_T = 0.22, 0.31, 0.38, 0.50 for q = 1/2, 2/3, 4/5, 1
    for q, ref in ((0.5, 0.22), (2 / 3, 0.31), (0.8, 0.38), (1.0, 0.50)):
        assert momentum_ratio(q, 200_000)[1].max() == pytest.approx(ref, abs=0.005)


def test_sequence_ratio_recursion_matches_direct_sum():
    p, q, T = 1.2, 0.8, 40
    t = np.arange(T + 1.0)
    alpha, eta = (2 / (t + 2)) ** p, (2 / (t + 2)) ** q
    direct = sum(alpha[s] * np.prod(1 - eta[s + 1:T]) for s in range(T))
    assert sequence_ratio(p, q, T)[-1] == pytest.approx(direct * eta[T] / alpha[T], rel=1e-13)


@settings(max_examples=50, deadline=None)
@given(st.floats(0.0, 1.0))
def test_momentum_lemma_property(q):
    # card N9(a): both ratios <= 1 for every q in [0, 1] (round-off 8 eps)
    a, b = momentum_ratio(q, 3000)
    assert a.max() <= 1 + 8 * EPS and b.max() <= 1 + 8 * EPS


@settings(max_examples=50, deadline=None)
@given(st.floats(2.0, 30.0), st.integers(1, 50), st.integers(0, 200), st.floats(0.0, 5.0))
def test_recursion_lemma_property(tau, t0, extra, r0):
    # card N9(c), worst case (equality in the recursion), beta_t = 1/(t + tau)^2
    T = t0 + extra
    beta = 1.0 / (np.arange(T + 1) + tau) ** 2
    r = r0
    for t in range(t0, T):
        r = (1 - 2 / (t + tau)) * r + beta[t]
    assert r <= recursion_bound(r0, beta, t0, T, tau) * (1 + 8 * T * EPS) + 8 * T * EPS
