"""The MDPO card's figures T2, T3, T5-T8 (shared/papers/mdpo.md §5.2) in quick mode: each run's
data shows the card's expected outcome (tests/test_figures.py separately runs every registered
figure end to end). Allowances: gaps and bounds come from exact LU evaluations of values
bounded by 1/(1-gamma) = 10 on S <= 20 states, so their round-off is ~1e-12; 1e-9 covers it."""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.experiments import mdpo_t2_trust_regions as T2
from rlsandbox.experiments import mdpo_t3_soft_mdpo as T3
from rlsandbox.experiments import mdpo_t5_inexact_floor as T5
from rlsandbox.experiments import mdpo_t6_sample_based as T6
from rlsandbox.experiments import mdpo_t7_lan as T7
from rlsandbox.experiments import mdpo_t8_mismatch as T8

TOL = 1e-9


def _run(mod, seed=0):
    return mod.run(mod.QUICK, rng=np.random.default_rng(seed))


@pytest.fixture(scope="module")
def t5():
    return _run(T5)


@pytest.fixture(scope="module")
def t7():
    return _run(T7)


@pytest.fixture(scope="module")
def t8():
    return _run(T8)


def _wide(df, **where):
    sub = df
    for k, v in where.items():
        sub = sub[sub[k] == v]
    return sub.pivot(index="seed", columns="k", values="value")


# ------------------------------------------------------------------------------ T5
def test_t5_gaps_below_c6_and_below_the_floor(t5):
    """Card C6 on every MDP, noise pattern, tau and k before the step cap; the final gap is
    below the asymptotic floor 4 theta_rho tau/(1-gamma) (card T5: plateau below the floor)."""
    K = T5.QUICK.K
    for (noise, tau), sub in t5.groupby(["noise", "tau"]):
        gap, bound = _wide(sub, quantity="gap"), _wide(sub, quantity="bound")
        assert (gap[bound.columns].to_numpy() <= bound.to_numpy() + TOL).all(), (noise, tau)
        floor = _wide(sub, quantity="floor")
        assert (gap[K] <= floor[K]).all(), (noise, tau)
    assert t5.attrs["diagnostics"]["max_gap_over_c6_bound"] <= 1.0


def test_t5_adversarial_plateau_grows_with_tau(t5):
    """The adversarial pattern (-tau on a*) holds the runs on a plateau that grows with tau."""
    K = T5.QUICK.K
    fin = t5[(t5["quantity"] == "gap") & (t5["k"] == K) & (t5["noise"] == "adversarial")]
    means = fin.groupby("tau")["value"].mean().sort_index().to_numpy()
    assert np.all(np.diff(means) > 0), means


# ------------------------------------------------------------------------------ T7
def test_t7_lan_potential_below_gamma_k_bound(t7):
    """Card C12 at every k, every mu and MDP."""
    for mu, sub in t7[t7["algo"] == "lan"].groupby("mu"):
        pot, bound = _wide(sub, quantity="potential"), _wide(sub, quantity="bound")
        assert (pot.to_numpy() <= bound.to_numpy() + TOL).all(), mu
    assert t7.attrs["diagnostics"]["max_potential_over_c12_bound"] <= 1.0


def test_t7_apmd_at_least_as_fast_as_its_reference_slopes(t7):
    """Card T7 / C14: the mean APMD gap at K is below the reference k gamma^k (schedule a) and
    gamma^(k/2) (schedule b) drawn through the mean gap at k = 1."""
    K, g = T7.QUICK.K, T7.QUICK.gamma
    for variant in ("a", "b"):
        gap = _wide(t7, algo=f"apmd-{variant}", quantity="gap").mean()
        ref = T7.apmd_references(g, K, float(gap[1]))[variant]
        assert gap[K] <= ref[K], (variant, gap[K], ref[K])


# ------------------------------------------------------------------------------ T8
def test_t8_pi_steps_respect_both_theta_factors(t8):
    """Card C5 (and, as theta_{k+1} <= theta_rho, C4's factor) on every PI step. Ratios are
    taken only where delta_k > 1e-10; each gap carries round-off ~1e-12 (module docstring), so
    r_k = delta_{k+1}/delta_k gets the allowance 2e-12/delta_k."""
    pi = t8[t8["algo"] == "pi"]
    key = ["instance", "k"]
    r = pi[pi["quantity"] == "ratio"].set_index(key)["value"]
    tf = pi[pi["quantity"] == "theta_factor"].set_index(key)["value"]
    rf = pi[pi["quantity"] == "rho_factor"].set_index(key)["value"]
    gap = pi[pi["quantity"] == "gap"].set_index(key)["value"].reindex(r.index)
    allow = 2e-12 / gap
    assert (r <= tf + allow).all()
    assert (r <= rf + allow).all()
    assert t8.attrs["diagnostics"]["pi_steps"] == len(r)


def test_t8_gamma_contraction_fails_on_m2_with_point_mass(t8):
    """Card T8: gamma-contraction of the rho-weighted gap is not guaranteed. On M2 with rho at
    state 0, PI's first step leaves V(0) unchanged (r_0 = 1 > gamma): the improvement starts at
    the right end of the chain; with rho uniform no step exceeds gamma."""
    r = t8[(t8["quantity"] == "ratio") & (t8["algo"] == "pi")]
    point = r[r["instance"] == "M2 rho at 0"].set_index("k")["value"]
    assert point[0] == 1.0
    assert (r[r["instance"] == "M2 rho uniform"]["value"] <= T8.QUICK.gamma).all()
    assert t8.attrs["diagnostics"]["pi_steps_above_gamma"] >= 1


# ------------------------------------------------------------------------------ T3


@pytest.fixture(scope="module")
def t3():
    return _run(T3)


def test_t3_soft_pi_and_rates(t3):
    """Card T3: lam t = 1 is soft PI (identical iterates: same map, the diagnostics compare
    the values exactly); the late factor decreases as lam t grows and is <= gamma once
    lam t >= 1 - gamma (C12/C19; 1e-3 allows for the least-squares fit of a log gap whose
    points are above 1e-11, i.e. far above round-off)."""
    g = T3.QUICK.gamma
    assert t3.attrs["diagnostics"]["max_abs_V_diff_lam_t_1_vs_soft_pi"] == 0.0
    lf = t3[t3["quantity"] == "late_factor"].groupby("lam_t")["value"].mean().sort_index()
    assert np.all(np.diff(lf.to_numpy()) < 0), lf
    assert (lf[lf.index >= 1.0 - g - 1e-12] <= g + 1e-3).all(), lf


def test_t3_off_policy_runs_approach_the_soft_optimum(t3):
    """Every m-step off-policy run (both anchors) keeps approaching V*_lam: its sup gap at
    J is below its gap at J/2, which is below the initial gap (the card expects convergence;
    it gives no rate for the gradient version)."""
    off = t3[(t3["family"] == "offpolicy") & (t3["quantity"] == "sup_gap")]
    J = T3.QUICK.J
    for key, sub in off.groupby(["seed", "anchor", "m"]):
        s = sub.set_index("x")["value"]
        mid = s.index[np.argmin(np.abs(s.index - J / 2))]
        assert s[J] < s[mid] < s[0], key


# ------------------------------------------------------------------------------ T2


@pytest.fixture(scope="module")
def t2():
    return _run(T2)


def test_t2_trpo_constraint_ppo_ratios_and_progress(t2):
    """Card T2: TRPO's accepted steps satisfy its constraint (reverse KL <= delta, its exact
    line-search test, up to the round-off of the occupancy-weighted sum: 1e-12); PPO-clip
    lets some ratios leave [1-eps, 1+eps] (exact and sampled); every method ends below its
    initial gap (mean over MDPs)."""
    rev = t2[(t2["algo"] == "trpo") & (t2["quantity"] == "rev_kl")]["value"]
    assert (rev <= T2.DELTA + 1e-12).all()
    out = t2[t2["quantity"] == "outside"].groupby("algo")["value"].max()
    assert out["ppo-clip"] > 0 and out["ppo-sampled"] > 0
    gap = t2[t2["quantity"] == "gap"].groupby(["algo", "k"])["value"].mean()
    for algo in T2.ALGOS:
        assert gap[algo, T2.QUICK.K] < gap[algo, 0], algo


# ------------------------------------------------------------------------------ T6


def _best(df):
    return df.groupby(["estimator", "M", "seed"])["value"].min().groupby(
        ["estimator", "M"]).mean()


def test_t6_floor_shrinks_with_M_quick():
    """Card T6 at quick sizes: the best-iterate gap of Shani's sample-based TRPO, averaged over
    the MDPs and both restart distributions (6 runs per M), is lower with M = 1000 samples per
    iteration than with M = 10. (Per estimator the quick runs are too noisy: with 3 MDPs a
    single lucky M = 10 run can beat M = 1000; the slow test checks each estimator on the
    DEFAULT sizes.)"""
    best = _best(_run(T6))
    shani = best.drop("xiao").groupby("M").mean().sort_index()
    assert shani.iloc[-1] < shani.iloc[0], shani


@pytest.mark.slow
def test_t6_floor_shrinks_with_M_default():
    """Card T6 on the DEFAULT configuration (~90 s): for each estimator (Shani with nu uniform
    and concentrated, Xiao) the mean best-iterate gap at the largest M is below that at the
    smallest M."""
    best = _best(T6.run(T6.DEFAULT, rng=np.random.default_rng(0)))
    for est in T6.ESTIMATORS:
        b = best[est].sort_index()
        assert b.iloc[-1] < b.iloc[0], (est, b)
