"""The per-iteration inequality (card C3, the sharp detector) on every PMD variant of
rlsandbox.algorithms.mdpo that is not already covered by tests/test_mdpo_algorithms.py
(exact KL/Euclid with constant, geometric, Shani, anneal and random steps, exact TRPO with
full-support nu, NPG, tabular TRPO, MDPO m = inf) and tests/test_mdpo_algorithms_more.py
(Tsallis PMD). Three forms, each on every iterate of every run:

* exact C3 [xiao2022, Prop. 9; card C3]: theta-geometric schedule and policy iteration;
* inexact C3 [derived here, Xiao's Lemma 11 / Thm 13 argument per step] for variants whose
  step uses an estimate Qhat_k (bounded noise, generative model, Shani's sampler, exact TRPO
  with zero-weight states);
* regularised C3 [derived here, the per-step inequality inside Lan Thm 1's proof] for the
  entropy-regularised variants (NE-TRPO, Lan's PMD with any eta, soft PI = tabular SAC), and
  step by step for APMD, whose update k is Lan's step for the problem regularised by tau_k
  (so step k is checked against that problem's optimum and values).

Inexact form. Let e_k = Qhat_k - Q_k and tau_k = max_s (max_a e_k(s, a) - min_a e_k(s, a))/2
(a per-state constant shift of Qhat changes neither the KL nor the Euclidean step, and on a
state whose policy is kept the step is the one for Qhat(s, .) = const). For p, q in the
simplex |<e_k(s, .), p - q>| <= 2 tau_k. The three-point inequality for Qhat with p = pi*
gives eta_k <Qhat, pi* - pi_{k+1}>(s) <= D_k(s) - D_{k+1}(s); with p = pi_k it gives
<Qhat, pi_{k+1} - pi_k> >= 0, so a(s) = <Q_k, pi_{k+1} - pi_k>(s) >= -2 tau_k and
E_{d*} a <= theta_{k+1} E_{d_{k+1}}(a + 2 tau_k) - 2 tau_k
       = theta_{k+1} (1-gamma)(delta_k - delta_{k+1}) + 2 tau_k (theta_{k+1} - 1).
With E_{d*} <Q_k, pi* - pi_k> = (1-gamma) delta_k this yields

    theta_{k+1}(delta_{k+1} - delta_k) + delta_k
        <= (Dstar_k - Dstar_{k+1})/((1-gamma) eta_k) + 2 tau_k theta_{k+1}/(1-gamma).

Regularised form. Lan's step maximises eta <Q_k(s,.), p> - eta mu omega(p) - KL(p||pi_k),
omega = KL(.||uniform); the objective is (1 + eta mu)-strongly concave relative to KL
(exact three-point identity), and with g_k(s, p) = <Q_k(s, .), p> - mu omega(p) the regularised
performance difference gives g_k(s, pi_{k+1}) <= V_{k+1}(s) and
E_{nu*}[g_k(s, pi*) - V_k(s)] = (1-gamma)(f* - f_k) (nu* stationary for pi* = pi*_mu,
f = nu* . V_mu). Together, for every eta_k > 0 (no condition on eta_k):

    (f* - f_{k+1}) + ((1 + eta_k mu)/eta_k) D_{k+1} <= gamma (f* - f_k) + D_k / eta_k,

D_k = E_{nu*} KL(pi*(.|s) || pi_k(.|s)); eta_k = inf (soft PI) drops D_k/eta_k and leaves
mu D_{k+1}. Telescoped with 1 + eta mu >= 1/gamma it is C12. NE-TRPO (t, lam) is Lan's step
with mu = lam and eta = t/(1 - lam t) (card C19).

Tolerances: c3_sides' round-off allowance (module docstring of rlsandbox.proofs_check.mdpo)
for the first two forms; for the regularised form each of the four f values carries one
evaluation allowance ev (plus the certified error of V*_mu), each D the round-off of an
S-term sum of logs (4 S eps (max|log pi| + 1)) plus the effect of pi*_mu's certified error
on the logs (|d log pi*| <= 2 err/mu per entry), scaled by its coefficient.
"""
from __future__ import annotations

import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlsandbox.algorithms.mdpo import (
    QNoise,
    apmd,
    apmd_taus,
    constant,
    exact_trpo,
    geometric,
    lan_pmd,
    ne_trpo,
    pmd,
    sample_based_trpo,
    sampled_pmd,
    soft_policy_iteration,
    theta_geometric,
)
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.regularized import _eval_lam
from rlsandbox.algorithms.mdpo.policies import kl_rows
from rlsandbox.mdps.mdpo import bandit_loop, two_islands
from rlsandbox.proofs_check.mdpo import _ev, c3_sides
from rlsandbox.testing import tabular_mdps

EPS = T.EPS
MDPS = tabular_mdps(S=(2, 6), A=(2, 4), gamma=(0.3, 0.95), zeros=False, reward=(0.0, 1.0))


def _tau(run) -> np.ndarray:
    """tau_k = max_s half-range over actions of Qhat_k - Q_k, shape (K,)."""
    e = np.asarray(run.Q_used) - np.asarray(run.Q[:-1])
    return ((e.max(axis=2) - e.min(axis=2)) / 2.0).max(axis=1)


def _inexact_c3(mdp, run, mirror, ref=None):
    """(violation of the inexact C3 per step, tau) ; violation <= 0 means it holds."""
    ref = T.reference(mdp) if ref is None else ref
    lhs, rhs, tol = c3_sides(mdp, run, mirror, ref)
    tau = _tau(run)
    th = T.thetas(mdp, ref, run.pi)[1:]
    return lhs - rhs - tol - 2.0 * tau * th / (1.0 - mdp.gamma), tau


# ----------------------------------------------------------------------------- exact C3
@settings(max_examples=15, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mdp=MDPS, eta=st.floats(0.05, 10.0))
def test_c3_on_theta_geometric_and_policy_iteration(mdp, eta):
    """Xiao Thm 10's exact schedule eta_{k+1} = eta_k theta_rho/(theta_rho - 1) (both maps)
    and the greedy limit (policy iteration; Euclidean Dstar, rhs 0) satisfy C3 at every k."""
    ref = T.reference(mdp)
    ratio = ref.theta_rho / (ref.theta_rho - 1.0)
    for mirror in ("kl", "euclid"):
        run = pmd(mdp, K=10, step=theta_geometric(eta, ratio), mirror=mirror)
        lhs, rhs, tol = c3_sides(mdp, run, mirror, ref)
        assert np.all(lhs <= rhs + tol), (mirror, float((lhs - rhs - tol).max()))
    run = pmd(mdp, K=6, step=np.inf, mirror="euclid")
    lhs, rhs, tol = c3_sides(mdp, run, "euclid", ref)
    assert np.all(lhs <= rhs + tol), float((lhs - rhs - tol).max())


# --------------------------------------------------------------------------- inexact C3
@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mdp=MDPS, eta=st.floats(0.1, 10.0), tau=st.sampled_from([1e-3, 1e-2, 1e-1, 0.3]),
       seed=st.integers(0, 2**16))
def test_inexact_c3_on_noisy_pmd(mdp, eta, tau, seed):
    """Inexact PMD [card §3.5(a)] with uniform and adversarial noise, both maps, constant and
    geometric steps: the inexact C3 holds at every step with the realised tau_k <= tau."""
    ref = T.reference(mdp)
    noises = (QNoise(tau, "uniform"), QNoise(tau, "adversarial", tuple(ref.pi_star)))
    for noise in noises:
        for mirror in ("kl", "euclid"):
            for step in (constant(eta), geometric(eta, mdp.gamma)):
                run = pmd(mdp, K=10, step=step, mirror=mirror, noise=noise, rng=seed)
                viol, t = _inexact_c3(mdp, run, mirror, ref)
                assert np.all(t <= tau * (1.0 + 1e-12))
                assert np.all(viol <= 0.0), (noise.kind, mirror, float(viol.max()))


@settings(max_examples=8, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mdp=MDPS, eta=st.floats(0.1, 5.0), seed=st.integers(0, 2**16))
def test_inexact_c3_on_sample_based_variants(mdp, eta, seed):
    """Generative-model PMD [card §3.5(b)] (both maps) and Shani's Sample-Based TRPO
    [card §3.5(c)] (kept states = constant Qhat row): the inexact C3 holds at every step with
    the realised estimation error, however large it is at these small sample sizes."""
    ref = T.reference(mdp)
    H = 8
    for mirror in ("kl", "euclid"):
        run = sampled_pmd(mdp, K=6, step=constant(eta), M=5, H=H, rng=seed, mirror=mirror)
        viol, _ = _inexact_c3(mdp, run, mirror, ref)
        assert np.all(viol <= 0.0), (mirror, float(viol.max()))
    run = sample_based_trpo(mdp, K=6, step=eta, M=6, T=H, rng=seed)
    viol, _ = _inexact_c3(mdp, run, "kl", ref)
    assert np.all(viol <= 0.0), float(viol.max())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inexact_c3_on_exact_trpo_with_unvisited_states(seed):
    """Exact TRPO with nu = rho of two_islands (island 1 never updated): exact C3 is not
    implied there (its Dstar sums over d* = d_rho^{pi*}, which is 0 on island 1, so it does
    hold); with the evaluation weight rho = uniform over both islands the plain inequality
    fails (by 1.1-1.6 on these seeds: island 1 never improves) while the inexact form with
    tau_k = half-range of Q_k on the kept states holds."""
    mdp = two_islands(S=4, A=3, gamma=0.9, rng=seed)
    run = exact_trpo(mdp, K=12, step=1.0, nu=mdp.rho)
    lhs, rhs, tol = c3_sides(mdp, run, "kl")
    assert np.all(lhs <= rhs + tol)
    flat = mdp.replace(rho=np.full(mdp.S, 1.0 / mdp.S))
    run_flat = exact_trpo(flat, K=12, step=1.0, nu=mdp.rho)
    lhs, rhs, tol = c3_sides(flat, run_flat, "kl")
    assert np.any(lhs > rhs + tol)
    # the run as an inexact PMD run on `flat`: Qhat = Q on island 0, a constant on island 1
    Q_used = np.array(run_flat.Q[:-1])
    Q_used[:, mdp.S // 2:, :] = 0.0
    inexact = type(run_flat)(run_flat.pi, run_flat.logpi, run_flat.V, run_flat.Q, Q_used,
                             run_flat.eta, run_flat.lam, run_flat.method)
    viol, tau = _inexact_c3(flat, inexact, "kl")
    assert np.all(tau > 0.0)
    assert np.all(viol <= 0.0), float(viol.max())


def test_inexact_allowance_is_needed():
    """Without the 2 tau theta/(1-gamma) term the noisy run of bandit_loop violates C3 at
    every step (card C3 control (i)), with it every step holds."""
    mdp = bandit_loop(0.05, gamma=0.9)
    run = pmd(mdp, K=10, step=1.0, noise=QNoise(0.1, "toward_worst"))
    lhs, rhs, tol = c3_sides(mdp, run, "kl")
    assert np.all(lhs > rhs + tol)
    viol, _ = _inexact_c3(mdp, run, "kl")
    assert np.all(viol <= 0.0)


# ------------------------------------------------------------------------ regularised C3
def _regularised_c3(mdp, run, mu, eta):
    """(lhs - rhs - tol) per step of the regularised per-step inequality; eta (K,) Lan steps."""
    f_star, nu, logpi_star, err = T.lan_setup(mdp, mu)
    f = run.V @ nu
    logs = np.asarray(run.logpi)
    D = np.array([nu @ kl_rows(logpi_star, logs[k]) for k in range(logs.shape[0])])
    gap = f_star - f
    g = mdp.gamma
    with np.errstate(divide="ignore"):
        inv = np.where(np.isinf(eta), 0.0, 1.0 / eta)
    coef = inv + mu
    lhs = gap[1:] + coef * D[1:]
    rhs = g * gap[:-1] + inv * D[:-1]
    ev = _ev(mdp, err, mu)
    Lmax = float(np.abs(logs).max()) + float(np.abs(logpi_star).max()) + 1.0
    dD = 4.0 * mdp.S * EPS * Lmax + 2.0 * err / mu
    tol = 4.0 * ev + (coef + inv) * dD
    return lhs - rhs - tol


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mdp=MDPS, mu=st.sampled_from([0.01, 0.1, 1.0]), r=st.floats(0.05, 20.0),
       lam_t=st.floats(0.05, 0.95))
def test_regularised_c3_on_lan_ne_trpo_and_soft_pi(mdp, mu, r, lam_t):
    """Lan's PMD with constant eta = r (1-gamma)/(gamma mu) (below and above the C12
    threshold r = 1) and with geometric eta, NE-TRPO with lam t in (0, 1) (eta = t/(1-lam t))
    and soft policy iteration (eta = inf, = tabular SAC): the regularised per-step
    inequality holds at every step."""
    g, K = mdp.gamma, 10
    eta = r * (1.0 - g) / (g * mu)
    for sched in (constant(eta), geometric(eta, g)):
        run = lan_pmd(mdp, mu=mu, K=K, eta=sched)
        v = _regularised_c3(mdp, run, mu, np.asarray(run.eta))
        assert np.all(v <= 0.0), ("lan", sched.name, float(v.max()))
    t = lam_t / mu
    run = ne_trpo(mdp, lam=mu, K=K, step=t)
    v = _regularised_c3(mdp, run, mu, np.full(K, t / (1.0 - lam_t)))
    assert np.all(v <= 0.0), ("ne-trpo", float(v.max()))
    run = soft_policy_iteration(mdp, lam=mu, K=K)
    v = _regularised_c3(mdp, run, mu, np.full(K, np.inf))
    assert np.all(v <= 0.0), ("soft-pi", float(v.max()))


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(mdp=MDPS, variant=st.sampled_from(["a", "b"]))
def test_regularised_c3_per_step_on_apmd(mdp, variant):
    """APMD's update k is Lan's step with mu = tau_k on Q_{tau_k}^{pi_k}: the regularised
    per-step inequality of that tau_k-problem holds for (pi_k, pi_{k+1}) at every k."""
    K = 6
    run = apmd(mdp, K=K, variant=variant)
    taus = apmd_taus(mdp.gamma, K, variant=variant)
    pis, logs = np.asarray(run.pi), np.asarray(run.logpi)
    for k in range(K):
        mu = float(taus[k])
        V = np.stack([_eval_lam(mdp, pis[j], logs[j], mu)[0] for j in (k, k + 1)])
        step = types.SimpleNamespace(V=V, logpi=logs[k:k + 2])
        v = _regularised_c3(mdp, step, mu, np.asarray(run.eta)[k:k + 1])
        assert np.all(v <= 0.0), (variant, k, float(v.max()))
