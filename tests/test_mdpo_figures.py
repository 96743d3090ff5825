"""The MDPO card's figures (shared/papers/mdpo.md §5.2) in quick mode: each run's data shows the
card's expected outcome (tests/test_figures.py separately runs every registered figure end to
end: files, CSV round trip, replot, CLI)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from rlsandbox.experiments import mdpo_t1_inner_steps as T1
from rlsandbox.experiments import mdpo_t4_pmd_rates as T4
from rlsandbox.experiments.mdpo_common import t_interval


@pytest.fixture(scope="module")
def t4():
    return T4.run(T4.QUICK, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def t1():
    return T1.run(T1.QUICK, rng=np.random.default_rng(0))


def _wide(df, **where):
    sub = df
    for k, v in where.items():
        sub = sub[sub[k] == v]
    return sub.pivot(index="seed", columns="k", values="value")


def test_t4_every_gap_below_its_bound(t4):
    """Card C2 (constant) and C4 (geometric, uncapped iterations) on every seed and iterate;
    the allowance 1e-9 covers the evaluation round-off (V <= 1/(1-gamma) = 10, S = 8: about
    1e-12, see rlsandbox.proofs_check.mdpo)."""
    for (mirror, schedule, eta), sub in t4.groupby(["mirror", "schedule", "eta"]):
        gap = _wide(sub, quantity="gap")
        bound = _wide(sub, quantity="bound")
        cols = bound.columns
        assert (gap[cols].to_numpy() <= bound.to_numpy() + 1e-9).all(), (mirror, schedule, eta)
    d = t4.attrs["diagnostics"]
    assert d["max_gap_over_c2_bound"] <= 1.0 and d["max_gap_over_c4_bound"] <= 1.0


def test_t4_geometric_beats_constant_and_euclid_reaches_optimum(t4):
    """Card T4: geometric steps end below every constant step (per seed), and Euclidean PMD
    hits pi* exactly in finite time on some runs (its iterates are vertices of the simplex
    once the steps are large)."""
    K = int(t4["k"].max())
    fin = t4[(t4["quantity"] == "gap") & (t4["k"] == K)]
    for mirror in ("kl", "euclid"):
        geo = fin[(fin["mirror"] == mirror) & (fin["schedule"] == "geometric")].set_index("seed")
        const = fin[(fin["mirror"] == mirror) & (fin["schedule"] == "constant")]
        for eta, sub in const.groupby("eta"):
            assert (geo["value"] <= sub.set_index("seed")["value"]).all(), (mirror, eta)
    euclid_geo = fin[(fin["mirror"] == "euclid") & (fin["schedule"] == "geometric")]
    assert (euclid_geo["value"] == 0.0).any()
    assert t4.attrs["diagnostics"]["runs_ending_at_exact_optimum"] >= 1


def test_t4_constant_steps_keep_improving(t4):
    """Exact PMD improves monotonically (card C1): every run's gap at K is at most its gap at
    K/2 (the allowance is the round-off of two evaluations, ~1e-12 here)."""
    K = int(t4["k"].max())
    gap = t4[(t4["quantity"] == "gap") & (t4["schedule"] == "constant")]
    for _, sub in gap.groupby(["mirror", "eta", "seed"]):
        v = sub.set_index("k")["value"]
        assert v[K] <= v[K // 2] + 1e-12


def test_t1_more_inner_steps_is_closer_to_exact_md(t1):
    """Card T1 trend: for every schedule and weighting, the mean final gap decreases with m,
    and exact MD (m = inf) is best; the inner error of the first update decreases with m."""
    K = int(t1["k"].max())
    fin = t1[(t1["quantity"] == "gap") & (t1["k"] == K)]
    exact = fin[fin["exact"]].groupby("schedule")["value"].mean()
    for (sch, w), sub in fin[~fin["exact"]].groupby(["schedule", "weights"]):
        means = sub.groupby("m")["value"].mean().sort_index()
        assert np.all(np.diff(means.to_numpy()) <= 1e-12), (sch, w, means)
        assert exact[sch] <= means.iloc[-1] + 1e-12
    inner = t1[(t1["quantity"] == "inner_error") & (t1["k"] == 0) & ~t1["exact"]]
    for (sch, w), sub in inner.groupby(["schedule", "weights"]):
        means = sub.groupby("m")["value"].mean().sort_index().to_numpy()
        assert np.all(np.diff(means) < 0), (sch, w)


def test_t1_schedule_order(t1):
    """Card T1: geometric >> constant > anneal >> Shani, on the mean final gap of exact MD and
    of every m (a larger gap is a slower schedule)."""
    K = int(t1["k"].max())
    fin = t1[(t1["quantity"] == "gap") & (t1["k"] == K) & (t1["weights"] == "on_policy")]
    for m, sub in fin.groupby("m"):          # m = 0: the exact update
        mean = sub.groupby("schedule")["value"].mean()
        assert mean["geometric"] < mean["constant"] < mean["anneal"] < mean["shani"], (m, mean)


def test_t1_m1_is_a_policy_gradient_step(t1):
    """m = 1 moves the policy by one gradient step: its per-iteration KL is far below the
    exact update's for the constant schedule."""
    kl = t1[(t1["quantity"] == "kl") & (t1["schedule"] == "constant")
            & (t1["weights"] == "on_policy")]
    first = kl[kl["k"] == 0].groupby("m")["value"].mean()
    assert first[1] < first[0]                  # m = 0 codes the exact update


def test_t_interval_half_width():
    """2.776 sd / sqrt(5) for 5 seeds [card §5.2 protocol]."""
    x = np.random.default_rng(0).normal(size=(5, 3))
    ci = t_interval(x)
    half = 2.7764451051977987 * x.std(axis=0, ddof=1) / math.sqrt(5)
    assert ci.hi - ci.mean == pytest.approx(half, rel=1e-12)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        t_interval(x[:1])
