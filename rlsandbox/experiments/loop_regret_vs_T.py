"""F1 of the LOOP card: regret against T on RiverSwim (card shared/papers/loop.md §5.1, F1).

The paper [he2024] has no experiments; this figure is the card's design. On RiverSwim-n
(Osband et al. variant, start state 0, mean rewards) every method runs ``n_seeds`` times for
``T`` steps, and the exact bookkeeping of card §2.2 records at log-spaced times

* the gap-regret ``G(T) = sum_t Delta*(s_t, a_t)`` (solid; monotone, low variance), and
* the regret ``Reg(T) = sum_t (J* - r_t)`` (dashed; equal to G(T) plus a martingale and a
  boundary term, so it can be negative or decrease).

Methods: value-based tabular LOOP with exact planner (a) for each ``c_beta`` in ``c_betas``
(``beta = c_beta (B+1)^2 log T``, ``B = sp(V*)``, ``c_sw = 4``); model-based LOOP over the finite
RiverSwim class of :func:`rlsandbox.mdps.loop.riverswim_class` (planner (d-i), derived radius
with delta = 0.05); UCRL2 with the paper's radii and with radii x ``ucrl2_scales``; and the
no-optimism control (certainty equivalence inside LOOP's skeleton). Two methods the card's F1
text does not list are added (session 3) on the first ``n_seeds_planners`` seeds only, since
each of their re-plans solves convex programs: FOPO [wei2021; card §3.7] on RiverSwim as a
linear AMDP with one-hot features (``riverswim_onehot``, d = 2n; the card's planner (b) set with
``beta = 0.02 (B+1)^2 log T`` and determinant-doubling re-plans, as claim ``loop.wei2021.fopo``),
and model-based LOOP with the rectangular relaxation and the exact QCQP inner step, planner
(d-ii) (:func:`~rlsandbox.algorithms.loop.loop_model_rectangular`, default radius; its
optimism at every plan, ``J_k >= J* - eps_k / 2``, is recorded in the diagnostics). Panel (a): mean over seeds
with a 95% percentile-bootstrap CI, log-log, with reference slopes 1/2 and 1. Panel (b):
``G(T) / sqrt(T)``, which decreases when regret grows slower than sqrt(T).

Expected outcome (card §4 C1, §3.9 prototype): LOOP's gap-regret flattens (slope well below
1/2 on a fixed instance with a gap, card §6 pitfall 8); the no-optimism control grows linearly
at ``Delta*(0, left) = J* - 0.005`` per step; UCRL2 with theory radii is still exploring at
these horizons (card §4 C7: ``Reg ~ 0.43 T`` at ``T = 2e4`` on RiverSwim-6).

Measured (session 3, full run, root seed 0, 113 s): mean G(2^17) = 276 (LOOP-value c_beta = 0.02),
1401 (0.1), 427 (finite class), 32382 (UCRL2, upper-half slope 0.91: still exploring), 910
(UCRL2 radii x 0.1), 55525 (no optimism, slope 1), FOPO 285 (6 seeds, range 103-431, slope
0.01) and (d-ii) 3628 (6 seeds, 3160-4161; linear up to ~1e4 steps, then flat; upper-half slope
0.36; optimistic at every plan, smallest J_k - J* + eps_k / 2 = 0.024, no infeasible QCQP). The
relaxed (d-ii) set explores longer than the exact planners (a) and (d-i), as a superset should;
FOPO, with the same confidence set as planner (b), matches LOOP-value at c_beta = 0.02.

Deviations: the quick configuration uses RiverSwim-3 (exact planning solves A^S = 8 SOCPs per re-plan instead
of 64) with 5 seeds and T = 2^13, the card's quick size. Rates are fitted on the mean G(T) over
the upper half of the grid (card §6 pitfall 8) and recorded in the diagnostics.

Data (tidy): one row per method x seed x T with columns ``method``, ``seed``, ``T``,
``gap_regret``, ``regret``, ``plans`` (re-plans / episodes up to T).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "time_grid", "upper_half_slope", "FOPO",
           "RECT"]


@dataclass(frozen=True)
class Config:
    """Sizes and parameters of F1.

    Attributes
    ----------
    n : RiverSwim size (S = n states, A = 2).
    T : horizon of every run.
    n_seeds : runs per method (>= 2).
    c_betas : radius multipliers of value-based LOOP.
    ucrl2_scales : radius multipliers of UCRL2 (1 = the paper).
    finite_class : include model-based LOOP over the finite RiverSwim class.
    no_optimism : include the certainty-equivalence control.
    points_per_octave : log-spaced recording times per doubling of T.
    fopo : include FOPO on the one-hot RiverSwim features.
    rectangular : include model-based LOOP with planner (d-ii) (rectangular relaxation, exact
        QCQP inner step).
    n_seeds_planners : seeds (the first ones) of FOPO and (d-ii), 2 <= . <= n_seeds;
        default (None) min(6, n_seeds).
    """

    n: int = 6
    T: int = 2 ** 17
    n_seeds: int = 20
    c_betas: tuple[float, ...] = (0.02, 0.1)
    ucrl2_scales: tuple[float, ...] = (1.0, 0.1)
    finite_class: bool = True
    no_optimism: bool = True
    points_per_octave: int = 2
    fopo: bool = True
    rectangular: bool = True
    n_seeds_planners: int | None = None

    def __post_init__(self) -> None:
        check_int("n", self.n, low=3)
        check_int("T", self.T, low=64)
        check_int("n_seeds", self.n_seeds, low=2)
        check_int("points_per_octave", self.points_per_octave, low=1)
        if self.n_seeds_planners is None:
            object.__setattr__(self, "n_seeds_planners", min(6, self.n_seeds))
        check_int("n_seeds_planners", self.n_seeds_planners, low=2, high=self.n_seeds)
        for name in ("c_betas", "ucrl2_scales"):
            vals = getattr(self, name)
            if not isinstance(vals, tuple):
                raise TypeError(f"{name} must be a tuple of floats, got {vals!r}")
            for i, v in enumerate(vals):
                check_in_range(f"{name}[{i}]", v, low=0.0, low_open=True)


#: The published figure (figures/loop_regret_vs_T.png): 113 s (session 3, loaded 2-core machine);
#: FOPO and (d-ii) on RiverSwim-6 at T = 2^17 cost ~5.5 s and ~8.5 s per seed, hence 6 seeds.
DEFAULT = Config()
#: What the test suite runs (card §5.1: 5 seeds, T <= 2^13).
QUICK = Config(n=3, T=2 ** 13, n_seeds=5, n_seeds_planners=3)


def time_grid(T: int, points_per_octave: int, start: int = 16) -> np.ndarray:
    """Log-spaced integer times in [start, T], T included, strictly increasing.

    Examples
    --------
    >>> time_grid(256, 1).tolist()
    [16, 32, 64, 128, 256]
    """
    k = np.arange(np.log2(start) * points_per_octave, np.log2(T) * points_per_octave + 1)
    grid = np.unique(np.round(2.0 ** (k / points_per_octave)).astype(np.int64))
    return np.unique(np.append(grid[grid <= T], T))


def upper_half_slope(T: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of log y on log T over the upper half of the grid (y > 0).

    Examples
    --------
    >>> T = np.array([1.0, 2, 4, 8, 16, 32]); round(upper_half_slope(T, T ** 0.5), 12)
    0.5
    """
    T, y = np.asarray(T, dtype=np.float64), np.asarray(y, dtype=np.float64)
    half = slice(T.size // 2, None)
    return float(np.polyfit(np.log(T[half]), np.log(y[half]), 1)[0])


def _methods(config: Config) -> list[str]:
    out = [f"LOOP-value c_beta={c:g}" for c in config.c_betas]
    if config.finite_class:
        out.append("LOOP-model finite class")
    out += ["UCRL2" if s == 1.0 else f"UCRL2 radii x{s:g}" for s in config.ucrl2_scales]
    if config.no_optimism:
        out.append("no optimism (CE)")
    # appended last: the earlier methods keep their random streams (see run)
    if config.fopo:
        out.append(FOPO)
    if config.rectangular:
        out.append(RECT)
    return out


#: Legend labels of the two methods run on the first ``n_seeds_planners`` seeds only.
FOPO = "FOPO (one-hot features)"
RECT = "LOOP-model (d-ii) rectangular"


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run every method for ``n_seeds`` seeds; return the tidy regret table.

    Seed ``i`` gets ``rng.spawn(n_seeds)[i]``, which spawns one child per method in the order
    of the legend (all spawned before any run), so adding a method changes no other curve.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(n=3, T=128, n_seeds=2, c_betas=(0.1,), ucrl2_scales=(1.0,), fopo=False,
    ...              rectangular=False)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["method"].unique())
    ['LOOP-model finite class', 'LOOP-value c_beta=0.1', 'UCRL2', 'no optimism (CE)']
    """
    from rlsandbox.algorithms.loop import (fopo, gap_regret, loop_finite, loop_model_rectangular,
                                           loop_value, optimal_gaps, regret, true_hypothesis,
                                           ucrl2)
    from rlsandbox.mdps.loop import riverswim_class, riverswim_model
    from rlsandbox.algorithms.loop.linear import plan_accuracy
    from rlsandbox.mdps.loop import riverswim_onehot

    if not isinstance(config, Config):
        raise TypeError(f"config must be a loop_regret_vs_T.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    mdp = riverswim_model(config.n)
    f_star = true_hypothesis(mdp)
    gaps = optimal_gaps(mdp, f_star)
    hclass, _ = riverswim_class(config.n) if config.finite_class else (None, None)
    lin = riverswim_onehot(config.n) if config.fopo else None
    rect_margin: list[float] = []
    rect_infeasible: list[int] = []
    grid = time_grid(config.T, config.points_per_octave)
    methods = _methods(config)
    rows: dict[str, list] = {k: [] for k in ("method", "seed", "T", "gap_regret", "regret",
                                             "plans")}
    wall: dict[str, float] = {m: 0.0 for m in methods}
    plans_final: dict[str, list] = {m: [] for m in methods}
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        streams = dict(zip(methods, child.spawn(len(methods))))
        for method in methods:
            if method in (FOPO, RECT) and seed >= config.n_seeds_planners:
                continue
            t0 = time.perf_counter()
            g = np.random.default_rng(streams[method])
            if method.startswith("LOOP-value"):
                c = float(method.split("=")[1])
                tr = loop_value(mdp, config.T, rng=g, c_beta=c, reference=f_star)
            elif method == "LOOP-model finite class":
                tr = loop_finite(mdp, hclass, config.T, rng=g)
            elif method.startswith("UCRL2"):
                scale = 1.0 if method == "UCRL2" else float(method.split("x")[-1])
                tr = ucrl2(mdp, config.T, rng=g, radius_scale=scale)
            elif method == FOPO:
                tr = fopo(lin, config.T, rng=g)
            elif method == RECT:
                tr = loop_model_rectangular(mdp, config.T, rng=g)
                # optimism at every plan up to EVI's stopping accuracy eps_k / 2 (claim
                # loop.he2024.lem.optimism.rectangular)
                rect_margin.append(float(np.min(tr.J - f_star.J
                                                + 0.5 * plan_accuracy(tr.starts))))
                rect_infeasible.append(int(tr.info["qcqp_infeasible"]))
            else:
                tr = loop_value(mdp, config.T, rng=g, planner="certainty_equivalent",
                                reference=f_star)
            wall[method] += time.perf_counter() - t0
            G = gap_regret(tr, mdp, gaps=gaps)
            Reg = regret(tr, mdp, realised=True, J_star=f_star.J)
            N = tr.plans_by(grid)
            plans_final[method].append(tr.n_plans)
            rows["method"] += [method] * grid.size
            rows["seed"] += [seed] * grid.size
            rows["T"] += grid.tolist()
            rows["gap_regret"] += G[grid - 1].tolist()
            rows["regret"] += Reg[grid - 1].tolist()
            rows["plans"] += N.tolist()
    df = pd.DataFrame(rows)
    slopes = {}
    for method in methods:
        mean = df[df["method"] == method].groupby("T")["gap_regret"].mean()
        if (mean.to_numpy()[grid.size // 2:] > 0).all():
            slopes[method] = upper_half_slope(mean.index.to_numpy(), mean.to_numpy())
    df.attrs["diagnostics"] = {
        "J_star": f_star.J, "span": float(f_star.V.max() - f_star.V.min()),
        "upper_half_slope_of_mean_gap_regret": slopes,
        "mean_wall_time_per_run_s": {m: wall[m] / max(len(plans_final[m]), 1)
                                     for m in methods},
        "mean_plans": {m: float(np.mean(v)) for m, v in plans_final.items() if v},
        "seeds": {m: len(plans_final[m]) for m in methods},
        "rectangular_min_optimism_margin": min(rect_margin) if rect_margin else None,
        "rectangular_qcqp_infeasible": rect_infeasible,
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Panel (a) G(T) and Reg(T) log-log with reference slopes; panel (b) G(T)/sqrt(T)."""
    import matplotlib
    from matplotlib.figure import Figure

    require_columns(data, {"method", "seed", "T", "gap_regret", "regret", "plans"})
    methods = list(dict.fromkeys(data["method"]))
    colors = matplotlib.colormaps["tab10"](np.arange(len(methods)) % 10)
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    n = int(data["seed"].nunique())
    for method, color in zip(methods, colors):
        sub = data[data["method"] == method]
        G = sub.pivot(index="seed", columns="T", values="gap_regret")
        Reg = sub.pivot(index="seed", columns="T", values="regret")
        T = G.columns.to_numpy(dtype=np.float64)
        ci_G = bootstrap_ci(G.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
        ci_R = bootstrap_ci(Reg.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
        pos = ci_G.center > 0
        if pos.any():
            # log axis: a band edge at 0 (possible only if some seed has G = 0) is drawn at
            # 1e-3 of the mean instead of being dropped
            band = _sub(ci_G, pos)
            band = band.__class__(band.center, np.maximum(band.lo, 1e-3 * band.center),
                                  band.hi, band.n, band.n_boot, band.level, band.statistic)
            plot_band(ax_a, T[pos], band, color=color, label=method)
        posr = ci_R.center > 0
        if posr.any():
            ax_a.plot(T[posr], ci_R.center[posr], color=color, linestyle="--", linewidth=0.9)
        if pos.any():
            norm = band.__class__(band.center / np.sqrt(T[pos]), band.lo / np.sqrt(T[pos]),
                                  band.hi / np.sqrt(T[pos]), band.n, band.n_boot, band.level,
                                  band.statistic)
            plot_band(ax_b, T[pos], norm, color=color, label=method)
    T_all = np.sort(data["T"].unique()).astype(np.float64)
    top = float(data["gap_regret"].max())
    for slope, style in ((0.5, ":"), (1.0, "-.")):
        ref = top * (T_all / T_all[-1]) ** slope
        ax_a.plot(T_all, ref, color="0.4", linestyle=style, linewidth=0.9,
                  label=f"slope {slope:g} (reference)")
    ax_a.set_xscale("log")
    ax_a.set_yscale("log")
    ax_a.set_xlabel("T")
    ax_a.set_ylabel("regret up to T")
    ax_a.set_title("(a) gap-regret G(T) (solid, 95% CI) and regret Reg(T) (dashed, mean)")
    ax_a.legend(fontsize=7, loc="upper left")
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_xlabel("T")
    ax_b.set_ylabel(r"$G(T)/\sqrt{T}$")
    ax_b.set_title(r"(b) normalised gap-regret $G(T)/\sqrt{T}$ "
                   r"(decreasing: slower than $\sqrt{T}$)")
    for ax in (ax_a, ax_b):
        ax.grid(True, which="major", alpha=0.3)
    few = [m for m in methods if m in (FOPO, RECT)]
    n_few = int(data[data["method"].isin(few)]["seed"].nunique()) if few else n
    per = f" ({', '.join(few)}: {n_few})" if few and n_few != n else ""
    fig.suptitle(f"LOOP card F1: RiverSwim-{config.n}, start state 0, mean rewards; mean over "
                 f"{n} seeds per method{per},\nbands: 95% percentile-bootstrap CI of the mean "
                 f"(B={n_boot}); non-positive means are not drawn on the log axes.", fontsize=9)
    return fig


def _sub(ci: Any, mask: np.ndarray) -> Any:
    return ci.__class__(ci.center[mask], ci.lo[mask], ci.hi[mask], ci.n, ci.n_boot, ci.level,
                        ci.statistic)
