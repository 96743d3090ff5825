"""LOOP card figures F1 and F2 at their quick size: the outcomes the card expects (card §4 C1,
C2, C7 and the §3.9 prototype), asserted on the data the figures plot."""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.experiments import loop_regret_vs_T as f1, loop_switches_vs_T as f2
from rlsandbox.experiments.loop_regret_vs_T import upper_half_slope


@pytest.fixture(scope="module")
def f1_data():
    return f1.run(f1.QUICK, rng=np.random.default_rng(7))


@pytest.fixture(scope="module")
def f2_data():
    return f2.run(f2.QUICK, rng=np.random.default_rng(7))


def _final(df, method, col):
    sub = df[(df["method"] == method) & (df["T"] == df["T"].max())]
    return sub[col].to_numpy()


def _mean_curve(df, method, col="gap_regret"):
    m = df[df["method"] == method].groupby("T")[col].mean()
    return m.index.to_numpy(dtype=float), m.to_numpy()


def test_f1_no_optimism_is_linear(f1_data):
    # card §4 C1 control: from state 0 certainty equivalence plays "left" forever, so
    # G(T) = (J* - 0.005) T exactly (float64 sum of T equal terms: T^2 eps relative at most)
    J = f1_data.attrs["diagnostics"]["J_star"]
    ce = f1_data[f1_data["method"] == "no optimism (CE)"]
    expected = (J - 0.005) * ce["T"].to_numpy()
    assert np.allclose(ce["gap_regret"], expected, rtol=ce["T"].max() * 1e-15)


def test_f1_loop_is_sublinear_and_beats_ucrl2(f1_data):
    T, G = _mean_curve(f1_data, "LOOP-value c_beta=0.02")
    assert upper_half_slope(T, G) <= 0.6                      # card §4 C1 (i)
    # UCRL2 with theory radii is still exploring at T = 2^13 (card §4 C7: Reg ~ 0.43 T at
    # 2e4 on RiverSwim-6); every LOOP seed has less gap-regret than every UCRL2 seed
    assert _final(f1_data, "LOOP-value c_beta=0.02", "gap_regret").max() < \
        _final(f1_data, "UCRL2", "gap_regret").min()
    T, G_u = _mean_curve(f1_data, "UCRL2")
    assert upper_half_slope(T, G_u) > 0.6


def test_f1_regret_and_gap_regret_differ_by_at_most_martingale(f1_data):
    # card §2.2: Reg(T) - G(T) = V*(s_{T+1}) - V*(s_1) + sum xi_t with |xi_t| <= sp(V*): the
    # difference is at most sp(V*) (T + 1) per run (a deterministic bound)
    sp = f1_data.attrs["diagnostics"]["span"]
    diff = (f1_data["regret"] - f1_data["gap_regret"]).abs()
    assert (diff <= sp * (f1_data["T"] + 1)).all()


def test_f2_switching(f2_data):
    zero = f2_data[f2_data["method"] == "LOOP c_sw=0"]
    assert (zero["plans"].to_numpy() == zero["T"].to_numpy()).all()   # N(T) = T
    N = {c: _final(f2_data, f"LOOP c_sw={c:g}", "plans").mean() for c in (2.0, 4.0, 8.0)}
    episodes = _final(f2_data, "UCRL2", "plans").mean()
    # card §3.9 prototype / §4 C2: LOOP re-plans far less than UCRL2 and below S A log T
    assert max(N.values()) < episodes
    assert max(N.values()) <= f2_data.attrs["diagnostics"]["SA_log_T"]
    assert N[2.0] >= N[4.0] >= N[8.0]                                  # lazier test, fewer plans
    T, Nc = _mean_curve(f2_data, "LOOP c_sw=4", "plans")
    assert upper_half_slope(T, Nc) <= 0.2                              # card §4 C2
    # FOPO (card F2): determinant doubling with ||phi|| <= 1 gives N(T) <= 1 + d log2(1 + T/d)
    # at every T and seed (deterministic), and its count grows like log T as well
    fo = f2_data[f2_data["method"] == f2.fopo_label(f2.QUICK)]
    assert f2_data.attrs["diagnostics"]["fopo_max_feature_norm"] <= 1.0
    assert (fo["plans"].to_numpy() <= f2.fopo_bound(fo["T"].to_numpy(), f2.QUICK.fopo_d)).all()
    T, Nf = _mean_curve(f2_data, f2.fopo_label(f2.QUICK), "plans")
    assert upper_half_slope(T, Nf) <= 0.2


def test_f1_fopo_and_rectangular_planner(f1_data):
    # the two convex-program methods added to F1 (session 3), on the first n_seeds_planners seeds
    diag = f1_data.attrs["diagnostics"]
    assert diag["seeds"][f1.FOPO] == diag["seeds"][f1.RECT] == f1.QUICK.n_seeds_planners
    ucrl2_min = _final(f1_data, "UCRL2", "gap_regret").min()
    for method in (f1.FOPO, f1.RECT):
        T, G = _mean_curve(f1_data, method)
        assert upper_half_slope(T, G) <= 0.6          # card §4 C9 (FOPO), C1 (i) (LOOP)
        assert _final(f1_data, method, "gap_regret").max() < ucrl2_min
    # (d-ii) is optimistic at every plan up to EVI's stopping accuracy eps_k / 2 (card §3.9
    # (d)(ii): the per-pair sets contain LOOP's set); 1e-6: the QCQP solver's accuracy
    assert diag["rectangular_min_optimism_margin"] >= -1e-6
