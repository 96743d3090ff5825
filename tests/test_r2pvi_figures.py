"""R2PVI figures (rlsandbox/experiments/r2pvi_*.py): the card's expected outcomes in quick mode,
and the committed DEFAULT runs' diagnostics against the card (shared/papers/r2pvi.md §5.1).

Quick mode draws its data sets from a Generator (not the official code's streams), so only the
card's trends are asserted there; the mean over 20 data sets has a standard error of about
0.15 / sqrt(20) = 0.034 per point (card: per-replication std up to ~0.15), and every asserted
gap below is several times that."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rlsandbox.experiments import r2pvi_lambda_sweep as sweep
from rlsandbox.experiments import r2pvi_perturbation as pert
from rlsandbox.experiments.r2pvi_common import summary

GALLERY = Path(__file__).resolve().parents[1] / "figures"


@pytest.fixture(scope="module")
def fig1a():
    return summary(pert.run(pert.QUICK, rng=np.random.default_rng(11)))


@pytest.fixture(scope="module")
def fig1b():
    return summary(sweep.run(sweep.QUICK, rng=np.random.default_rng(12)))


def test_figure_1a_trend(fig1a):
    """Card §5.1 Figure 1(a): PEVI is best at q = 0 and drops steeply; every R2PVI variant loses
    at q = 0 (by ~0.15-0.2 on the panel) and wins at q = 1 (by ~0.25-0.34); the PEVI curve
    crosses the R2PVI-TV curve between q = 0.3 and 0.4 on the panel (we allow 0.2-0.5)."""
    pevi = fig1a.loc["PEVI"]
    robust = [m for m in fig1a.index if m != "PEVI"]
    assert pevi[0.0] - pevi[1.0] > 0.6                       # panel: 1.545 -> 0.748
    for m in robust:
        assert fig1a.loc[m, 0.0] < pevi[0.0] - 0.03
        assert fig1a.loc[m, 1.0] > pevi[1.0] + 0.05
    diff = (fig1a.loc["R2PVI-TV"] - pevi).to_numpy()
    q = fig1a.columns.to_numpy()
    cross = q[np.argmax(diff > 0)]
    assert 0.2 <= cross <= 0.5
    # R2PVI-TV's curve is flatter than PEVI's (panel slopes -0.39 vs -0.80)
    assert fig1a.loc["R2PVI-TV", 0.0] - fig1a.loc["R2PVI-TV", 1.0] < 0.6 * (pevi[0.0] - pevi[1.0])


def test_figure_1b_fan(fig1b):
    """Card §5.1 Figure 1(b): the q = 0 ordering 0.6 > 0.3 > 0.2 > 0.1 reverses at q = 1, and
    smaller lam gives a flatter curve."""
    lams = ["lam = 0.1", "lam = 0.2", "lam = 0.3", "lam = 0.6"]
    at0 = fig1b.loc[lams, 0.0].to_numpy()
    at1 = fig1b.loc[lams, 1.0].to_numpy()
    assert np.all(np.diff(at0) > 0) and np.all(np.diff(at1) < 0)
    drop = at0 - at1
    assert np.all(np.diff(drop) > 0)


def test_committed_figure_1a_matches_the_card():
    """The committed DEFAULT run (replayed official-code streams): the code's Monte-Carlo
    endpoints equal the card's '[reproduced]' numbers (3 decimals), and PEVI / R2PVI-TV stay
    within 0.03 of the published panel (the card's Monte-Carlo noise, P14)."""
    meta = json.loads((GALLERY / "r2pvi_perturbation.json").read_text())
    diag = meta["diagnostics"]
    for m, (q0, q1) in pert.CARD_CODE.items():
        got = diag["legacy_mc_q0_q1"][m]
        assert abs(got[0] - q0) <= 5e-4 + 1e-9 and abs(got[1] - q1) <= 5e-4 + 1e-9, m
    dev = diag["max_abs_dev_from_panel_exact"]
    assert dev["PEVI"] <= 0.03 and dev["R2PVI-TV"] <= 0.03
    # not reproduced (card: the panel's KL curve came from another code state): recorded
    assert dev["R2PVI-KL"] > 0.1


def test_committed_figure_1b_close_to_the_panel():
    """Card §5.1 Figure 1(b), xi_norm = 0.3 'reproduces it within ~0.03': measured 0.035 at
    worst (exact evaluation); asserted at 0.05 so that the finding is recorded, not hidden."""
    diag = json.loads((GALLERY / "r2pvi_lambda_sweep.json").read_text())["diagnostics"]
    dev = diag["max_abs_dev_from_panel_exact"]
    assert max(dev.values()) <= 0.05
    assert sorted(dev) == ["lam = 0.1", "lam = 0.2", "lam = 0.3", "lam = 0.6"]


@pytest.mark.parametrize("mod, kwargs, match", [
    (pert, {"lam": 0.0}, r"lam == 0.0, must be in \(0, inf\)"),
    (pert, {"data": "numpy"}, r"data == 'numpy'; expected one of 'legacy', 'generator'"),
    (sweep, {"qs": (0.0, 1.5)}, r"qs\[1\] == 1.5, must be in \[0, 1\]"),
    (sweep, {"replications": 1}, r"replications == 1, must be in \[2, inf\]"),
])
def test_config_errors(mod, kwargs, match):
    with pytest.raises(ValueError, match=match):
        mod.Config(**kwargs)


# ---------------------------------------------------------------- Figure 1(d), option task
def test_figure_1d_quick_ordering():
    """Card §5.2: more regularization is more conservative (lam plays 1/rho): with seeded data
    the R2PVI-TV curves are ordered lam = 5 >= 3 >= 1 at p = 0.2 and reversed at p = 0.8."""
    from rlsandbox.experiments import r2pvi_option as opt

    m = opt.run(opt.QUICK, rng=np.random.default_rng(13)).attrs["diagnostics"]["mean_exact"]
    tv = [m[f"R2PVI-TV lam={lam}"] for lam in (5, 3, 1)]
    i02, i08 = opt.PS.index(0.2), opt.PS.index(0.8)
    assert tv[0][i02] >= tv[1][i02] >= tv[2][i02] and tv[0][i02] > tv[2][i02]
    assert tv[0][i08] <= tv[1][i08] <= tv[2][i08] and tv[0][i08] < tv[2][i08]


def test_committed_figure_1d_matches_the_card():
    """The committed DEFAULT run: all 35 Monte-Carlo means within half a unit of the card's
    third decimal; the stds too except R2PVI-TV lam = 5 (0.009 vs the card's 0.214 at p = 0.2,
    reported in the module docstring)."""
    from rlsandbox.experiments import r2pvi_option as opt

    diag = json.loads((GALLERY / "r2pvi_option.json").read_text())["diagnostics"]
    assert max(diag["max_abs_dev_mean_from_card_legacy_mc"].values()) <= 5e-4 + 1e-9
    stds = diag["max_abs_dev_std_from_card_legacy_mc"]
    assert all(v <= 5e-4 + 1e-9 for k, v in stds.items() if k != "R2PVI-TV lam=5")
    got = diag["std_legacy_mc"]["R2PVI-TV lam=5"]
    assert abs(got[0] - 0.009) <= 5e-4 and abs(got[0] - opt.CARD["R2PVI-TV lam=5"][1][0]) > 0.2


# ---------------------------------------------------------------- Figure 1(c), rho vs lambda
def test_figure_1c_quick_inverse_roles():
    """Card §5.1 Figure 1(c) / C4: DRPVI's test value (q = 1) rises with rho and R2PVI-TV's
    falls with lambda; the curves cross (DRPVI below at x = 0, above at x = 1). Full-run gaps
    between x = 0 and x = 1: +0.42 (DRPVI) and -0.31 (R2PVI-TV); asserted at 0.15, about three
    standard errors of a 10-data-set mean (per-data-set std up to ~0.15, card)."""
    from rlsandbox.experiments import r2pvi_rho_lambda as fig1c

    df = fig1c.run(fig1c.QUICK, rng=np.random.default_rng(14))
    m = df[df["evaluator"] == "exact"].groupby(["family", "x"])["value"].mean()
    dr, tv = m["DRPVI"].to_numpy(), m["R2PVI-TV"].to_numpy()
    assert dr[-1] - dr[0] > 0.15 and tv[0] - tv[-1] > 0.15
    assert dr[0] < tv[0] and dr[-1] > tv[-1]


# ---------------------------------------------------------------- Figures 2(a), 2(b), C9
def test_timing_quick_counts_dual_evaluations():
    """Card §4 C9 / Figures 2(a), 2(b), the deterministic part: PEVI and the closed forms (TV,
    KL) and DRPVI's exact breakpoint oracle make no scalar dual evaluations; DRPVI and DRVI-L
    (Nelder-Mead) make d (H - 1) searches, each of at least 2 and at most scipy's default
    maxfev (200 per parameter) + 1 evaluations; the numeric-TV control searches too.
    Wall-clock times are never asserted (machine load); the quick run does not report them
    and the timed path is exercised below."""
    from rlsandbox.experiments import r2pvi_timing as timing

    cfg = timing.QUICK
    df = timing.run(cfg, rng=np.random.default_rng(15))
    assert set(df["method"]) == {m for m, *_ in timing.METHODS}
    assert "min_seconds" not in df.attrs["diagnostics"]                   # QUICK is untimed
    n = df.groupby(["method", "K", "d"])["n_evals"].max()
    for label in ("PEVI", "R2PVI-TV", "R2PVI-KL", "DRPVI (exact)"):
        assert (n[label] == 0).all(), label
    for label in ("DRPVI", "DRVI-L", "R2PVI-TV (numeric)"):
        for (K, d), count in n[label].items():
            searches = d * (cfg.H - 1)
            assert 2 * searches <= count <= 201 * searches, (label, K, d, count)


def test_timing_timed_run_records_clocks():
    """The timed path (DEFAULT's): both clocks recorded, positive wall time; ratios to PEVI in
    the diagnostics. Nothing about their sizes is asserted."""
    from rlsandbox.experiments import r2pvi_timing as timing

    cfg = timing.Config(Ks=(30,), ds=(3,), K_base=30, d_base=3, H=3, repeats=2)
    df = timing.run(cfg, rng=np.random.default_rng(16))
    assert len(df) == len(timing.METHODS)                     # one row per method: counts
    diag = df.attrs["diagnostics"]
    walls = diag["min_seconds"]["K=30,d=3"]
    assert set(walls) == set(df["method"]) and all(t > 0.0 for t in walls.values())
    assert all(t >= 0.0 for t in diag["min_cpu_seconds"]["K=30,d=3"].values())
    assert diag["ratio_to_pevi"]["K=30,d=3"]["PEVI"] == 1.0
