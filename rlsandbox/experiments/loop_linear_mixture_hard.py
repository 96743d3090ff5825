"""F5 of the LOOP card: the hard linear-mixture instance (card shared/papers/loop.md §5.1, §5.2).

The two-state instance of :func:`rlsandbox.mdps.loop.hard_linear_mixture` (Wu-Zhou-Gu lower-bound
construction; ``delta_inst = 0.1``, hidden signs all +1, so the best action is all +1).

* Panel (a), fixed gap ``gap = 0.05``: gap-regret ``G(T)`` (card §2.2) against ``T`` for
  model-based LOOP with planner (c) exact in closed form
  (:func:`rlsandbox.algorithms.loop.loop_model_hard`, radius ``mixture_beta``, ``c_sw = 4``),
  UCRL2-VTR (Hoeffding, :func:`~rlsandbox.algorithms.loop.ucrl2_vtr`) and UCRL2 on the
  tabular form (S = 2, A = 2^{d-1}), for each ``d``; mean over seeds with 95% bootstrap CIs.
* Panel (b), the ``sqrt(T)`` regime: each horizon ``T`` has its own instance with
  ``gap(T) = c_gap (d - 1) sqrt(delta_inst / T)`` (card §5.2), LOOP-model (c) only; ``G(T)``
  at the horizon against ``T``, log-log, with the fitted slope in the legend.

Expected outcome (card §3.5, §4 C1 (ii), C9): with a fixed gap the optimistic learners flatten
(slope <= 1/2); LOOP-model (c), whose planner uses a single theta, explores less than the relaxed
per-pair EVI of UCRL2-VTR; with the T-scaled gap the regret grows like ``sqrt(T)`` (slope in
[0.35, 0.65]) and increases with ``d``.

Measured (full run, 20 seeds, root seed 0) and where it differs from the card: panel (b)'s
slopes are 0.42, 0.44, 0.46 for d = 2, 3, 4 (inside the card's [0.35, 0.65]; the quick run's
4 horizons give 0.27-0.44). Panel (a) at T = 2^16: mean G = 29 / 1960 / 2220 (LOOP-model (c),
d = 2 / 3 / 4), 2345 / 4349 / 5625 (UCRL2), 6316 / 5355 / 8564 (UCRL2-VTR): the ordering holds,
but for d >= 3 every method is still in its burn-in at 2^16 (upper-half slopes 0.73-0.94, not
<= 1/2 as the card expects for a fixed gap; UCRL2-VTR reaches 0.3-0.5 only at T = 2^18, claim
``loop.wu2022.ucrl2vtr``).

Deviations: the paper has no experiments (card §1); the card's ``c_gap`` is unverified, ``1`` is
used (``gap <= delta_inst`` for T >= 2^10 and d <= 4). The quick configuration uses d in {2, 3},
T = 2^13, 5 seeds, and T-scaled horizons 2^10..2^13.

Data (tidy): ``panel`` ("fixed" or "scaled"), ``method``, ``d``, ``seed``, ``T``, ``gap_regret``,
``plans``; for panel "scaled" one row per horizon (its own instance), ``gap`` the instance's gap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.loop_common import band_by, check_rng_config, gap_rows
from rlsandbox.experiments.loop_regret_vs_T import time_grid, upper_half_slope
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS"]

#: Methods of panel (a), in legend order.
METHODS = ("LOOP-model (c)", "UCRL2-VTR", "UCRL2")


@dataclass(frozen=True)
class Config:
    """Sizes and parameters of F5.

    Attributes
    ----------
    ds : feature dimensions d (actions 2^{d-1}).
    delta_inst : the instance's delta.
    gap : fixed gap of panel (a).
    T : horizon of panel (a).
    n_seeds : runs per method and d.
    scaled_T : horizons of panel (b) (each its own instance).
    c_gap : constant of the T-scaled gap.
    """

    ds: tuple[int, ...] = (2, 3, 4)
    delta_inst: float = 0.1
    gap: float = 0.05
    T: int = 2 ** 16
    n_seeds: int = 20
    scaled_T: tuple[int, ...] = tuple(2 ** k for k in range(10, 17))
    c_gap: float = 1.0

    def __post_init__(self) -> None:
        for i, d in enumerate(self.ds):
            check_int(f"ds[{i}]", d, low=2, high=6)
        check_in_range("delta_inst", self.delta_inst, low=0.0, high=1 / 3, low_open=True)
        check_in_range("gap", self.gap, low=0.0, high=self.delta_inst, low_open=True)
        check_int("T", self.T, low=64)
        check_int("n_seeds", self.n_seeds, low=2)
        for i, t in enumerate(self.scaled_T):
            check_int(f"scaled_T[{i}]", t, low=64)
        check_in_range("c_gap", self.c_gap, low=0.0, low_open=True)
        worst = self.c_gap * (max(self.ds) - 1) * np.sqrt(self.delta_inst / min(self.scaled_T))
        if worst > self.delta_inst:
            raise ValueError(f"c_gap (d-1) sqrt(delta_inst / T) = {worst:.4g} exceeds delta_inst = "
                             f"{self.delta_inst} at the smallest scaled_T; lower c_gap or raise "
                             f"min(scaled_T)")


#: The published figure.
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(ds=(2, 3), T=2 ** 13, n_seeds=5, scaled_T=(2 ** 10, 2 ** 11, 2 ** 12, 2 ** 13))


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run panel (a) (every method, d, seed) and panel (b) (LOOP-model per d, T, seed).

    Seed ``i`` of ``d`` gets its own spawned stream per method and per scaled horizon.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(ds=(2,), T=128, n_seeds=2, scaled_T=(2 ** 10,))
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["method"].unique()), sorted(df["panel"].unique())
    (['LOOP-model (c)', 'UCRL2', 'UCRL2-VTR'], ['fixed', 'scaled'])
    """
    from rlsandbox.algorithms.loop import loop_model_hard, ucrl2, ucrl2_vtr
    from rlsandbox.mdps.loop import hard_linear_mixture

    check_rng_config(config, Config, rng, "loop_linear_mixture_hard")
    rows: dict[str, list] = {}
    grid = time_grid(config.T, 2)
    for d, child in zip(config.ds, rng.spawn(len(config.ds))):
        mix = hard_linear_mixture(d, config.delta_inst, config.gap)
        mdp = mix.to_tabular(gamma=1.0)
        for seed, sc in enumerate(child.spawn(config.n_seeds)):
            streams = sc.spawn(len(METHODS) + len(config.scaled_T))
            for method, st in zip(METHODS, streams):
                g = np.random.default_rng(st)
                if method == "LOOP-model (c)":
                    tr = loop_model_hard(d, config.delta_inst, config.gap, config.T, rng=g)
                elif method == "UCRL2-VTR":
                    tr = ucrl2_vtr(mix, config.T, rng=g)
                else:
                    tr = ucrl2(mdp, config.T, rng=g)
                gap_rows(rows, tr, mdp, grid, panel="fixed", method=method, d=d, seed=seed,
                         gap=config.gap)
            for T, st in zip(config.scaled_T, streams[len(METHODS):]):
                gap_T = config.c_gap * (d - 1) * float(np.sqrt(config.delta_inst / T))
                m_T = hard_linear_mixture(d, config.delta_inst, gap_T).to_tabular(gamma=1.0)
                tr = loop_model_hard(d, config.delta_inst, gap_T, T,
                                     rng=np.random.default_rng(st))
                gap_rows(rows, tr, m_T, np.array([T]), panel="scaled", method="LOOP-model (c)",
                         d=d, seed=seed, gap=gap_T)
    df = pd.DataFrame(rows)
    slopes = {}
    for d in config.ds:
        sub = df[(df["panel"] == "scaled") & (df["d"] == d)].groupby("T")["gap_regret"].mean()
        slopes[int(d)] = _slope(sub)
    fixed = df[(df["panel"] == "fixed") & (df["T"] == config.T)]
    df.attrs["diagnostics"] = {
        "scaled_gap_slope_by_d": slopes,
        "mean_G_at_T": {f"{m} d={d}": float(v) for (m, d), v in
                        fixed.groupby(["method", "d"])["gap_regret"].mean().items()},
        "upper_half_slope_fixed": {
            f"{m} d={d}": upper_half_slope(s.index.to_numpy(dtype=float), s.to_numpy())
            for (m, d), s in ((k, v.groupby("T")["gap_regret"].mean()) for k, v in
                              df[df["panel"] == "fixed"].groupby(["method", "d"]))},
    }
    return df


def _slope(mean_by_T: pd.Series) -> float | None:
    """Least-squares log-log slope of a mean curve indexed by T (None with < 2 horizons)."""
    if mean_by_T.size < 2:
        return None
    return float(np.polyfit(np.log(mean_by_T.index.to_numpy(dtype=float)),
                            np.log(mean_by_T.to_numpy()), 1)[0])


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Panel (a) fixed gap, G(T) vs T per method and d; panel (b) T-scaled gap."""
    import matplotlib
    from matplotlib.figure import Figure

    require_columns(data, {"panel", "method", "d", "seed", "T", "gap_regret"})
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    fixed = data[data["panel"] == "fixed"].copy()
    fixed["curve"] = fixed["method"] + " d=" + fixed["d"].astype(str)
    base = matplotlib.colormaps["tab10"](np.arange(3))
    styles = ["-", "--", ":", "-."]
    for mi, method in enumerate(METHODS):
        for di, d in enumerate(sorted(fixed["d"].unique())):
            sub = fixed[(fixed["method"] == method) & (fixed["d"] == d)]
            if sub.empty:
                continue
            band_by(ax_a, sub, "curve", "T", "gap_regret", rng=rng, n_boot=n_boot,
                    colors=[base[mi]])
            ax_a.lines[-1].set_linestyle(styles[di % len(styles)])
    ax_a.set_xscale("log")
    ax_a.set_yscale("log")
    ax_a.set_xlabel("T")
    ax_a.set_ylabel("gap-regret G(T)")
    ax_a.set_title(f"(a) fixed gap {config.gap:g}, delta_inst {config.delta_inst:g} "
                   f"(colour: method; line style: d)")
    ax_a.legend(fontsize=6, loc="upper left")
    scaled = data[data["panel"] == "scaled"]
    for d, color in zip(sorted(scaled["d"].unique()), matplotlib.colormaps["viridis"](
            np.linspace(0.1, 0.8, max(1, scaled["d"].nunique())))):
        sub = scaled[scaled["d"] == d]
        slope = _slope(sub.groupby("T")["gap_regret"].mean())
        lab = f"d={d}" + ("" if slope is None else f": slope {slope:.2f}")
        band_by(ax_b, sub.assign(lab=lab), "lab", "T", "gap_regret",
                rng=rng, n_boot=n_boot, colors=[color])
    T = np.sort(scaled["T"].unique()).astype(float)
    if T.size:
        top = float(scaled.groupby("T")["gap_regret"].mean().max())
        ax_b.plot(T, top * np.sqrt(T / T[-1]), color="0.4", linestyle=":", label="slope 1/2")
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_xlabel("T (each T its own instance)")
    ax_b.set_ylabel("G(T)")
    ax_b.set_title(f"(b) LOOP-model (c), gap(T) = {config.c_gap:g} (d-1) sqrt(delta_inst/T)")
    ax_b.legend(fontsize=7, loc="upper left")
    for ax in (ax_a, ax_b):
        ax.grid(True, which="major", alpha=0.3)
    n = int(data["seed"].nunique())
    fig.suptitle(f"LOOP card F5: hard linear-mixture instance; mean over {n} seeds, bands: 95% "
                 f"percentile-bootstrap CI of the mean (B={n_boot}).", fontsize=9)
    return fig
