"""The distributional card's figures E4 (targets, homeostasis) and E5 (representations) in
quick mode reproduce the card's expected outcomes (card ``distributional_dp.md`` §5.2, §4
B3/B4). The generic checks (files, CSV = plotted data, replot, seeds) are in test_figures.py,
which runs every registered figure."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from rlsandbox.experiments import FIGURES
from rlsandbox.experiments import distributional_representations as e5
from rlsandbox.experiments import distributional_targets as e4


def test_registered():
    assert {"distributional_targets", "distributional_representations"} <= set(FIGURES)


@pytest.fixture(scope="module")
def targets():
    df = e4.run(e4.QUICK, rng=np.random.default_rng(0))
    wide = df[df["quantity"] != "hist"].pivot(index="theta", columns="quantity",
                                               values="value")
    return df, wide


def test_e4_target_probability(targets):
    """P*(G >= theta) is non-increasing in theta, 1 for theta <= 0 (stopping gives G = 0),
    0 above G_hi = 2 (card C10: J* = 0 for c < -G_hi), and dominates both stationary
    non-augmented baselines (the bet-forever law is truncated: slack 2^(1 - depth))."""
    _, w = targets
    trunc = 2.0 ** (1 - e4.QUICK.depth)
    p = w["p_star"].to_numpy()
    assert (np.diff(p) <= 0).all()
    assert (w.loc[w.index <= 0, "p_star"] == 1.0).all()
    assert (w.loc[w.index > 2, "p_star"] == 0.0).all()
    assert (w["p_star"] >= w["p_stop"]).all()
    assert (w["p_star"] >= w["p_bet"] - trunc).all()


def test_e4_homeostasis(targets):
    """min E|G - theta| is below both baselines, and the stationary stock policy evaluated
    afterwards attains it up to the truncation 2^(1 - depth) (card A5, Pitfall 10)."""
    _, w = targets
    trunc = 2.0 ** (1 - e4.QUICK.depth)
    assert (w["abs_opt"] <= w["abs_stop"]).all()
    assert (w["abs_opt"] <= w["abs_bet"] + trunc).all()
    assert np.abs(w["abs_policy"] - w["abs_opt"]).max() <= trunc
    assert w.loc[0.0, "abs_opt"] == 0.0          # theta = 0: stop, G = 0 exactly


def test_e4_achieved_return_follows_the_target(targets):
    """Card E4 trend (derived): as theta moves up, the achieved return law moves with it --
    its mean and its 90% quantile are non-decreasing in theta (within the truncation), and
    the mean goes from 0 (stop, theta <= 0) to the risk-neutral 0.4 (card §4 Instance C)
    for theta beyond G_hi."""
    _, w = targets
    trunc = 2.0 ** (1 - e4.QUICK.depth)
    assert (np.diff(w["mean_policy"].to_numpy()) >= -trunc).all()
    assert (np.diff(w["q90_policy"].to_numpy()) >= -trunc).all()
    assert w.loc[w.index <= 0, "mean_policy"].abs().max() == 0.0
    assert abs(w.loc[2.5, "mean_policy"] - 0.4) <= trunc


def test_e4_monte_carlo_agrees_with_the_exact_law(targets):
    """Episodes of the stock policy (stock carried along, truncated at the same depth)
    estimate the exact E|G - theta| of its truncated law within 4 standard errors."""
    _, w = targets
    for t in (float(Fraction(x)) for x in e4.QUICK.hist_thetas):
        assert abs(w.loc[t, "abs_mc"] - w.loc[t, "abs_policy"]) <= 4 * w.loc[t, "abs_mc_se"]
        assert w.loc[t, "abs_mc_se"] > 0


def test_e4_histograms_are_laws(targets):
    df, _ = targets
    h = df[df["quantity"] == "hist"]
    assert set(h["theta"]) == {float(Fraction(t)) for t in e4.QUICK.hist_thetas}
    for _, g in h.groupby("theta"):
        assert g["value"].sum() == pytest.approx(1.0, abs=1e-12)     # float sum of <= 2^10


# card §4 B3 / B4 tables (Instance M, support [-2/(1-gamma), 2/(1-gamma)])
# (as printed on the card: the last printed digit sets the tolerance)
CARD_CAT = {0.5: ("0.195", "0.0815", "0.026", "0.00015"),
            0.9: ("0.413", "0.3075", "0.13", "0.0066")}
CARD_QUANT = {0.5: ("0.2175", "0.050", "0.0126"), 0.9: ("0.397", "0.061", "0.023")}


def _ulp(card: str) -> float:
    """One unit of the last digit the card prints (its rounding, either convention)."""
    return 10.0 ** -len(card.split(".")[1])


@pytest.fixture(scope="module")
def reps():
    return e5.run(e5.QUICK, rng=np.random.default_rng(0))


def _get(df, g, rep, q, n):
    sub = df[(df["instance"] == -1) & np.isclose(df["gamma"], g) & (df["representation"] == rep)
             & (df["quantity"] == q) & (df["n"] == n)]
    assert len(sub) == 1
    return float(sub["value"].iloc[0])


def test_e5_card_tables(reps):
    """The card's B3/B4 numbers within one unit of their last printed digit (the card's
    rounding; gamma = 0.9, m = 4 is 0.39645 against the card's 0.397, see the docstring)."""
    for g, vals in CARD_CAT.items():
        for K, card in zip(e5.CARD_K, vals):
            assert abs(_get(reps, g, "categorical", "distance", K) - float(card)) <= _ulp(card)
    for g, vals in CARD_QUANT.items():
        for m, card in zip(e5.CARD_M, vals):
            assert abs(_get(reps, g, "quantile", "distance", m) - float(card)) <= _ulp(card)


def test_e5_bounds_hold_and_distances_fall(reps):
    """B3/B4: every distance is below its bound and decreases with K and m; the categorical
    fixed point preserves means (round-off: 64 eps of |V| <= 2/(1-gamma)) and the quantile
    one does not (card: bias 0.20 at m = 4, 0.0125 at m = 64, gamma = 1/2)."""
    M = reps[reps["instance"] == -1]
    for (g, rep), sub in M.groupby(["gamma", "representation"]):
        d = sub[sub["quantity"] == "distance"].sort_values("n")["value"].to_numpy()
        b = sub[sub["quantity"] == "bound"].sort_values("n")["value"].to_numpy()
        assert (d <= b).all() and (np.diff(d) < 0).all(), (g, rep)
        bias = sub[sub["quantity"] == "mean_bias"]["value"].to_numpy()
        if rep == "categorical":
            assert (bias <= 64 * np.finfo(float).eps * 2 / (1 - g)).all()
        else:
            assert (bias > 0.01).all()
    assert abs(_get(reps, 0.5, "quantile", "mean_bias", 4) - 0.20) <= _ulp("0.20")
    assert abs(_get(reps, 0.5, "quantile", "mean_bias", 64) - 0.0125) <= _ulp("0.0125")


def test_e5_bounds_hold_on_random_acyclic_mrps(reps):
    """B3/B4 quantify over MRPs: distance / bound <= 1 (+ round-off 1e-9, the measure's
    float64 sums over < 1000 atoms of size <= vmax) on every random acyclic MRP, K and m."""
    rnd = reps[reps["quantity"] == "random_ratio"]
    assert rnd["instance"].nunique() >= e5.QUICK.n_random - 1      # all-zero rewards skipped
    assert (rnd["value"] <= 1.0 + 1e-9).all()
