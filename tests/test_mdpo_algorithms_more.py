"""MDPO-Tsallis, sample-based MDPO / PPO-clip from rollouts (GAE), Shani's estimator and the
APMD control schedule (card shared/papers/mdpo.md §3.5-§3.8). Hand-computed cases, closed
forms and "reduces to" identities; C3 on every iterate of Tsallis PMD. Tolerances: float64
round-off with a stated factor, or the bisection's resolution."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsandbox as rls
from rlsandbox.algorithms.mdpo import (
    anneal,
    apmd,
    apmd_taus,
    collect_batch,
    constant,
    euclid_step,
    gae,
    geometric,
    kl_step,
    mdpo_on_policy,
    psi_gradient,
    sampled_mdpo,
    sampled_ppo_clip,
    shani_q,
    tsallis_divergence,
    tsallis_pmd,
    tsallis_step,
)
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.baselines import _ppo_grad
from rlsandbox.algorithms.mdpo.regularized import _eval_lam
from rlsandbox.mdps.mdpo import mdpo_random
from rlsandbox.proofs_check.mdpo import _complex_grad, c3_sides
from rlsandbox.sampling import trajectories
from rlsandbox.testing import tabular_mdps

EPS = np.finfo(np.float64).eps


# ------------------------------------------------------------------------------ Tsallis
def test_tsallis_step_by_hand():
    """q = 1.5, pi = (1/2, 1/2), G = (0, 1), eta = 0.6: the KKT form p_a = (sqrt(pi_a) +
    (eta G_a + nu)/3)^2 with u = sqrt(1/2) + nu/3 gives u^2 + (u + 0.2)^2 = 1, u = 0.6:
    p = (0.36, 0.64). Bisection to float64 resolution: a few ulps."""
    p = tsallis_step(np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]]), 0.6, 1.5)
    assert p[0] == pytest.approx([0.36, 0.64], abs=16 * EPS)


def test_tsallis_q2_is_euclid_half_step_and_divergence_is_squared_distance():
    rng = np.random.default_rng(0)
    pi = rng.dirichlet(np.ones(4), size=5)
    G = rng.normal(size=(5, 4))
    # q = 2 is dispatched to the Euclidean projection: identical floats
    assert (tsallis_step(pi, G, 0.8, 2.0) == euclid_step(pi, G, 0.4)).all()
    p = rng.dirichlet(np.ones(4), size=5)
    assert tsallis_divergence(p, pi, 2.0) == pytest.approx(((p - pi) ** 2).sum(axis=1),
                                                            rel=1e-12)


@settings(max_examples=30, deadline=None, database=None)
@given(q=st.floats(1.05, 1.95), eta=st.floats(0.01, 20.0), seed=st.integers(0, 2**16))
def test_tsallis_step_maximises_the_proximal_objective(q, eta, seed):
    """The step's objective eta <G, p> - D_q(p, pi) is at least that of 200 random points of
    the simplex and of the mixtures (1-e) p + e pi, e = 1e-3 (first-order optimality along a
    feasible direction); allowance: eps times the objective's terms."""
    rng = np.random.default_rng(seed)
    pi = rng.dirichlet(np.ones(3), size=1)
    G = rng.normal(size=(1, 3))
    p = tsallis_step(pi, G, eta, q)
    assert p.min() >= 0 and p.sum() == pytest.approx(1.0, abs=1e-14)

    def obj(x):
        return eta * (x * G).sum(axis=1) - tsallis_divergence(x, np.repeat(pi, len(x), 0), q)

    best = obj(p)[0]
    others = np.vstack([rng.dirichlet(np.ones(3), size=200), 0.999 * p + 0.001 * pi])
    allow = 64 * EPS * (eta * np.abs(G).max() + 4.0 / (q - 1.0))
    assert (obj(others) <= best + allow).all()


def test_tsallis_approaches_kl_as_q_tends_to_one():
    """D_q -> KL as q -> 1: the q = 1 + 1e-6 step agrees with the KL step to O(q - 1)
    (the difference of the two maximisers is first order in q - 1; 1e-4 is a factor 100 above
    it for these O(1) inputs)."""
    rng = np.random.default_rng(3)
    pi = rng.dirichlet(np.ones(3), size=4)
    G = rng.normal(size=(4, 3))
    kl = np.exp(kl_step(np.log(pi), G, 1.5))
    assert np.abs(tsallis_step(pi, G, 1.5, 1.0 + 1e-6) - kl).max() < 1e-4


@settings(max_examples=5, deadline=None, database=None)
@given(mdp=tabular_mdps(S=(2, 6), A=(2, 4), gamma=(0.3, 0.95), zeros=False, reward=(0.0, 1.0)),
       q=st.floats(1.1, 2.0), eta=st.floats(0.05, 10.0))
def test_c3_on_tsallis_pmd(mdp, q, eta):
    """Xiao Prop. 9 (card C3) holds for any Bregman mirror map; here D*_k is the Tsallis
    divergence from the deterministic pi*. The allowance is c3_sides' round-off allowance
    (it does not depend on the mirror map except through eta_k)."""
    K = 10
    for step in (constant(eta), geometric(eta, mdp.gamma)):
        run = tsallis_pmd(mdp, K=K, step=step, q=q)
        ref = T.reference(mdp)
        E = np.eye(mdp.A)[ref.pi_star]
        D = np.array([ref.d_star @ tsallis_divergence(E, run.pi[k], q) for k in range(K + 1)])
        lhs, rhs = T.xiao_per_iteration(mdp.gamma, T.gaps(ref, run.V), D,
                                        T.thetas(mdp, ref, run.pi), run.eta)
        tol = c3_sides(mdp, run, "euclid", ref)[2]
        assert np.all(lhs <= rhs + tol), float((lhs - rhs - tol).max())


def test_tsallis_pmd_errors():
    mdp = rls.mdps.riverswim(gamma=0.9)
    with pytest.raises(ValueError, match="q = 1 is the KL map"):
        tsallis_pmd(mdp, K=2, step=1.0, q=1.0)
    with pytest.raises(ValueError, match="policy iteration"):
        tsallis_pmd(mdp, K=2, step=np.inf, q=1.5)


# --------------------------------------------------------------- rollouts, GAE, batches
def test_gae_limits_by_hand():
    """lam = 0: delta_t; lam = 1 with V = 0: the discounted return-to-go of each step."""
    mdp = rls.mdps.riverswim(gamma=0.9)
    tr = trajectories(mdp, np.full((6, 2), 0.5), n=3, horizon=6, rng=1)
    V = np.arange(6, dtype=float)
    d = tr.r + 0.9 * V[tr.s[:, 1:]] - V[tr.s[:, :-1]]
    assert gae(tr, V, 0.9, 0.0) == pytest.approx(d, abs=1e-14)
    G = np.zeros_like(tr.r)
    for t in range(5, -1, -1):
        G[:, t] = tr.r[:, t] + (0.9 * G[:, t + 1] if t < 5 else 0.0)
    assert gae(tr, np.zeros(6), 0.9, 1.0) == pytest.approx(G, abs=1e-13)


def _samples(mdp, pi, N, H, seed, lam):
    """The raw samples collect_batch(rng=default_rng(seed)) uses (same single draw call)."""
    tr = trajectories(mdp, pi, n=N, horizon=H, rng=np.random.default_rng(seed))
    V = _eval_lam(mdp, pi, np.log(pi), 0.0)[0]
    adv = gae(tr, V, mdp.gamma, lam)
    m = tr.mask
    return tr.s[:, :-1][m], tr.a[m], adv[m]


def test_grouped_batch_gives_the_per_sample_surrogate_gradients():
    """The module's identity: the per-sample MDPO surrogate (1/n) sum_i [ratio_i Ahat_i -
    KL_{s_i}/t] and PPO's clipped surrogate have, in the logits, the gradients
    psi_gradient(theta, log pi_k, Atilde, w, t) and _ppo_grad(theta, pi_k, A+, A-, w, eps)
    (complex-step derivatives of the per-sample forms; PPO's at a theta where no ratio sits
    on a clip boundary). Allowance: eps times the sum of |terms|."""
    mdp = mdpo_random(S=4, A=3, gamma=0.8, rng=2)
    rng = np.random.default_rng(5)
    pi = rng.dirichlet(np.ones(3), size=4)
    logpi = np.log(pi)
    s, a, x = _samples(mdp, pi, 6, 15, 11, 0.9)
    b = collect_batch(mdp, pi, N=6, H=15, rng=np.random.default_rng(11), gae_lambda=0.9)
    theta = logpi + rng.normal(scale=0.3, size=pi.shape)
    t, eps, n = 0.7, 0.2, s.size

    def logsm(z):
        zz = z - z.real.max(axis=1, keepdims=True)
        return zz - np.log(np.exp(zz).sum(axis=1, keepdims=True))

    def mdpo_obj(z):
        lp = logsm(z)
        kl = (np.exp(lp) * (lp - logpi)).sum(axis=1)
        return (np.exp(lp[s, a] - logpi[s, a]) * x - kl[s] / t).sum() / n

    scale = (np.abs(x).sum() / pi.min() + 10.0 * n / t) / n
    assert np.abs(_complex_grad(mdpo_obj, theta) -
                  psi_gradient(theta, logpi, b.A, b.w, t)).max() < 64 * EPS * scale

    def ppo_obj(z):
        r = np.exp(logsm(z)[s, a] - logpi[s, a])
        # min(r A, clip(r) A) written as its active branch, decided on the real part
        rr = r.real
        clipped = ((x > 0) & (rr > 1 + eps)) | ((x < 0) & (rr < 1 - eps))
        return np.where(clipped, np.clip(rr, 1 - eps, 1 + eps) * x, r * x).sum() / n

    r_all = np.exp(logsm(theta) - logpi)
    assert np.abs(np.abs(r_all - 1.0) - eps).min() > 1e-6          # no sample on a boundary
    assert np.abs(_complex_grad(ppo_obj, theta) -
                  _ppo_grad(theta, pi, b.A_pos, b.A_neg, b.w, eps)).max() < 64 * EPS * scale


def test_sampled_mdpo_infinite_m_is_the_kl_step_on_visited_states():
    mdp = mdpo_random(S=5, A=3, gamma=0.8, rng=4)
    out = sampled_mdpo(mdp, K=1, m=np.inf, step=0.5, N=1, H=2, rng=7)
    b = collect_batch(mdp, out.run.pi[0], N=1, H=2, rng=np.random.default_rng(7))
    vis = b.w > 0
    assert (~vis).any()                                 # 2 samples cannot visit 5 states
    lp0 = out.run.logpi[0]
    assert (out.run.logpi[1][~vis] == lp0[~vis]).all()
    assert out.run.logpi[1][vis] == pytest.approx(kl_step(lp0, b.A, 0.5)[vis], abs=1e-13)
    assert out.inner_error[0] == 0.0


def test_sampled_versions_approach_the_exact_ones_with_large_batches():
    """With N H = 64 x 60 samples per iteration and the exact critic, sampled MDPO (m = 10)
    and PPO-clip improve V(rho) as their exact-advantage versions do: after 15 iterations both
    are within 0.1 of the exact runs' final value (Monte-Carlo: the per-iteration estimates
    have relative error ~ 1/sqrt(#samples per state) ~ 5%, and the steps are averaged over
    iterations; a loose trend check, not an equality)."""
    mdp = mdpo_random(S=6, A=3, gamma=0.8, rng=1)
    K = 15
    exact = mdpo_on_policy(mdp, K=K, m=10, step=anneal(K)).run.values(mdp.rho)[-1]
    samp = sampled_mdpo(mdp, K=K, m=10, step=anneal(K), N=64, H=60, rng=3).run
    assert abs(samp.values(mdp.rho)[-1] - exact) < 0.1
    ppo = sampled_ppo_clip(mdp, K=K, N=64, H=60, rng=3).run.values(mdp.rho)
    ppo_exact = rls.algorithms.mdpo.ppo_clip(mdp, K=K).values(mdp.rho)
    assert abs(ppo[-1] - ppo_exact[-1]) < 0.1
    # reproducible: same seed, same bits
    again = sampled_mdpo(mdp, K=K, m=10, step=anneal(K), N=64, H=60, rng=3).run
    assert (again.pi == samp.pi).all()


def test_mc_critic_and_standardisation_run():
    mdp = mdpo_random(S=5, A=2, gamma=0.7, rng=0)
    out = sampled_mdpo(mdp, K=10, m=5, step=1.0, N=16, H=30, rng=0, critic="mc",
                       standardize=True)
    v = out.run.values(mdp.rho)
    assert v[-1] > v[0]


# ------------------------------------------------------------- Shani's estimator, APMD
def test_shani_q_matches_sample_based_trpo_draws():
    """sample_based_trpo's first update uses exactly shani_q's estimate (same draws)."""
    from rlsandbox.algorithms.mdpo import sample_based_trpo
    mdp = mdpo_random(S=4, A=2, gamma=0.5, rng=0)
    run = sample_based_trpo(mdp, K=1, step=1.0, M=30, T=10, rng=4)
    Qt, n = shani_q(mdp, run.pi[0], M=30, T=10, rng=4)
    assert (run.Q_used[0] == Qt).all() and n.sum() == 30


def test_apmd_constant_tau_converges_to_the_regularised_optimum():
    """tau_k = tau0 constant is Lan's regularised PMD at mu = tau0 with eta = (1-gamma)/(gamma
    tau0): its iterates converge to pi*_tau0 (C12), so the unregularised gap plateaus at
    V*(rho) - V^{pi*_tau}(rho) > 0 (C15) -- the C14 control."""
    from rlsandbox.algorithms.mdpo import soft_optimal
    assert apmd_taus(0.9, 3, variant="constant", tau0=0.5).tolist() == [0.5, 0.5, 0.5]
    mdp = mdpo_random(S=4, A=3, gamma=0.6, rng=1)
    run = apmd(mdp, K=80, variant="constant", tau0=0.5)
    sol = soft_optimal(mdp, 0.5)
    assert np.abs(run.logpi[-1] - np.asarray(sol.logpi)).max() < 1e-9
    ref = T.reference(mdp)
    plateau = T.gaps(ref, run.V)[-1]
    assert plateau > 1e-3 and math.isfinite(plateau)
