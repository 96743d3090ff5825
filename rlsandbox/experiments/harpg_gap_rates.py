"""F3 ``harpg_gap_rates``: in-class optimality gap against the number of sampled trajectories.

Card n_harpg.md §5.2 F3 and claim N11. Three panels, log-log, mean over seeds with a 95%
bootstrap band, x = trajectories (2 per HARPG iteration, 1 otherwise: card pitfall 14):

(a) I2 monotone (m = 2, b = 0.5, theta_0 = (2, 2), alpha_0 = 1, M = 16): weak gradient
    domination is tight, so the theorems' worst-case exponents show: vanilla PG -1/3
    (alpha_t = (2/(t+2))^{2/3}), N-MPG -1/3, N-PG-IGT -2/5, N-HARPG -1/2 (card prototype, T = 5e4,
    200 seeds: -0.333, -0.380, -0.451, -0.575; ordering of the *slopes*, not of the levels).
(b) I2 bump (theta_0 = 0, alpha_0 = 0.5, M = 16): a PL-type instance where the gap behaves like
    the squared tracking error: about -2/3, -4/5, -1 for N-MPG, N-PG-IGT, N-HARPG (prototype
    -0.667, -0.794, -0.997; no look-ahead -0.633, no HVP -0.482).
(c) I4 scalar LQR (card reference coefficients, K_0 = 0.8, H = 2 log(T+1)/(1-gamma), alpha_0 =
    0.3, K projected into the stabilising interval shrunk by 5% of its width): the gap
    J(K*) - J(K_t) in closed form. The card states no expected slopes for this panel.

Slopes: least squares on the last ``fit_last`` of ``n_checkpoints`` log-spaced checkpoints of
the mean curve, bootstrap CI over seeds (:func:`~rlsandbox.experiments.harpg_tracking_error.fit_slope`).

Deviations: QUICK uses 64 seeds (card: 20) for panels (a), (b) so that the slope ordering the
quick test asserts is stable; panel (c) uses smaller sizes than (a), (b) (long trajectories).

Data (tidy): columns ``panel`` ("a_monotone", "b_bump", "c_lqr"), ``method``, ``seed``, ``t``,
``trajectories``, ``value`` (the gap of one seed at iteration t).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.harpg_tracking_error import fit_slope
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "PANELS", "panel_slopes"]

#: panel -> list of (label, method, switches); the schedules are the code shapes (card §3.5).
PANELS = {
    "a_monotone": [("vanilla PG", "vanilla_pg", {}), ("N-MPG", "n_mpg", {}),
                   ("N-PG-IGT", "n_pg_igt", {}), ("N-HARPG", "n_harpg", {})],
    "b_bump": [("N-MPG", "n_mpg", {}), ("N-PG-IGT", "n_pg_igt", {}), ("N-HARPG", "n_harpg", {}),
               ("N-PG-IGT, no look-ahead", "n_pg_igt", {"lookahead": False}),
               ("N-HARPG, no HVP", "n_harpg", {"hvp": "none"})],
    "c_lqr": [("N-MPG", "n_mpg", {}), ("N-PG-IGT", "n_pg_igt", {}), ("N-HARPG", "n_harpg", {})],
}


@dataclass(frozen=True)
class Config:
    """Sizes of F3: T, n_seeds, M for panels (a)-(b) and T_lqr, n_seeds_lqr, M_lqr for (c);
    step constants alpha0_monotone, alpha0_bump, alpha0_lqr; checkpoints and fit window."""

    T: int = 50_000
    n_seeds: int = 200
    M: int = 16
    T_lqr: int = 5000
    n_seeds_lqr: int = 64
    M_lqr: int = 16
    alpha0_monotone: float = 1.0
    alpha0_bump: float = 0.5
    alpha0_lqr: float = 0.3
    n_checkpoints: int = 10
    fit_last: int = 5

    def __post_init__(self) -> None:
        for name in ("T", "T_lqr"):
            check_int(name, getattr(self, name), low=10)
        for name in ("n_seeds", "n_seeds_lqr"):
            check_int(name, getattr(self, name), low=2)
        for name in ("M", "M_lqr"):
            check_int(name, getattr(self, name), low=1)
        for name in ("alpha0_monotone", "alpha0_bump", "alpha0_lqr"):
            check_in_range(name, getattr(self, name), low=0.0, low_open=True)
        check_int("n_checkpoints", self.n_checkpoints, low=3)
        check_int("fit_last", self.fit_last, low=2, high=self.n_checkpoints)


DEFAULT = Config()
QUICK = Config(T=2000, n_seeds=64, T_lqr=300, n_seeds_lqr=16, M_lqr=4)


def _lqr_projection(lqr: Any) -> Any:
    lo, hi = lqr.stabilizing_interval()
    pad = 0.05 * (hi - lo)
    return lambda th: np.clip(th, lo + pad, hi - pad)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run every curve of :data:`PANELS`; one child stream per (panel, curve), spawned in the
    order of :data:`PANELS`. Returns the tidy gap table.

    Examples
    --------
    >>> cfg = Config(T=30, n_seeds=2, M=2, T_lqr=20, n_seeds_lqr=2, M_lqr=1)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["panel"].unique())
    ['a_monotone', 'b_bump', 'c_lqr']
    """
    from rlsandbox.algorithms.harpg.methods import code_schedule, log_checkpoints
    from rlsandbox.algorithms.harpg.methods import run as run_method
    from rlsandbox.algorithms.harpg.theory import horizon
    from rlsandbox.mdps.harpg import logistic_bump, logistic_monotone, lqr_reference

    if not isinstance(config, Config):
        raise TypeError(f"config must be a harpg_gap_rates.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    lqr = lqr_reference()
    setups = {
        "a_monotone": (logistic_monotone(), np.array([2.0, 2.0]), config.alpha0_monotone,
                       config.T, config.n_seeds, config.M, 1, None),
        "b_bump": (logistic_bump(), np.zeros(2), config.alpha0_bump, config.T, config.n_seeds,
                   config.M, 1, None),
        "c_lqr": (lqr, np.array([0.8]), config.alpha0_lqr, config.T_lqr, config.n_seeds_lqr,
                  config.M_lqr, horizon(lqr.gamma, config.T_lqr, 2.0), _lqr_projection(lqr)),
    }
    n_curves = sum(len(v) for v in PANELS.values())
    children = iter(rng.spawn(n_curves))
    frames = []
    for panel, curves in PANELS.items():
        prob, theta0, alpha0, T, R, M, H, project = setups[panel]
        ck = log_checkpoints(T, config.n_checkpoints)
        for label, method, switches in curves:
            tr = run_method(prob, method, theta0=theta0, T=T, H=H, M=M, replicates=R,
                            schedule=code_schedule(method, alpha0=alpha0), rng=next(children),
                            checkpoints=ck, project=project, **switches)
            J = np.asarray(prob.J(tr.theta.reshape(-1, prob.d))).reshape(R, -1)
            gap = prob.J_star_class - J
            frames.append(pd.DataFrame({
                "panel": panel, "method": label, "seed": np.repeat(np.arange(R), ck.size),
                "t": np.tile(ck, R), "trajectories": np.tile(tr.trajectories, R),
                "value": gap.ravel()}))
    df = pd.concat(frames, ignore_index=True)
    df.attrs["diagnostics"] = {
        "slopes": {p: {m: list(s) for m, s in d.items()}
                   for p, d in panel_slopes(df, rng=np.random.default_rng(0),
                                            fit_last=config.fit_last).items()},
        "card_prototype_slopes": {"a_monotone": {"vanilla PG": -0.333, "N-MPG": -0.380,
                                                 "N-PG-IGT": -0.451, "N-HARPG": -0.575},
                                  "b_bump": {"N-MPG": -0.667, "N-PG-IGT": -0.794,
                                             "N-HARPG": -0.997,
                                             "N-PG-IGT, no look-ahead": -0.633,
                                             "N-HARPG, no HVP": -0.482}}}
    return df


def panel_slopes(data: pd.DataFrame, *, rng: np.random.Generator, n_boot: int = 200,
                 fit_last: int = 5) -> dict[str, dict[str, tuple[float, float, float]]]:
    """{panel: {method: (slope, ci_lo, ci_hi)}} of the gap against trajectories."""
    out: dict[str, dict[str, tuple[float, float, float]]] = {}
    for (panel, method), sub in data.groupby(["panel", "method"], sort=False):
        table = sub.pivot(index="seed", columns="trajectories", values="value")
        out.setdefault(str(panel), {})[str(method)] = fit_slope(
            table.columns.to_numpy(dtype=np.float64), table.to_numpy(), rng=rng,
            n_boot=n_boot, fit_last=fit_last)
    return out


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Three log-log panels of the mean gap against trajectories (bands: bootstrap over seeds);
    legends give the fitted slopes with bootstrap CIs, dashed lines the reference exponents."""
    from matplotlib.figure import Figure

    require_columns(data, {"panel", "method", "seed", "t", "trajectories", "value"})
    fitted = panel_slopes(data, rng=rng, n_boot=n_boot, fit_last=config.fit_last)
    colors = {"vanilla PG": "C7", "N-MPG": "C0", "N-PG-IGT": "C1", "N-HARPG": "C3",
              "N-PG-IGT, no look-ahead": "C1", "N-HARPG, no HVP": "C3"}
    refs = {"a_monotone": (-1 / 3, -2 / 5, -1 / 2), "b_bump": (-2 / 3, -4 / 5, -1.0), "c_lqr": ()}
    titles = {"a_monotone": "(a) I2 monotone: weak GD tight",
              "b_bump": "(b) I2 bump: PL-type", "c_lqr": "(c) I4 scalar LQR"}
    fig = Figure(figsize=(15, 5.2), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, (panel, sub) in zip(axes, data.groupby("panel", sort=False)):
        n = int(sub["seed"].nunique())
        for label, cur in sub.groupby("method", sort=False):
            table = cur.pivot(index="seed", columns="trajectories", values="value")
            x = table.columns.to_numpy(dtype=np.float64)
            ci = bootstrap_ci(table.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
            s, lo, hi = fitted[str(panel)][str(label)]
            plot_band(ax, x, ci, color=colors.get(str(label), "k"),
                      linestyle=":" if "no " in str(label) else "-",
                      label=f"{label}: {s:.3f} [{lo:.3f}, {hi:.3f}]")
        x_all = np.sort(sub["trajectories"].unique().astype(np.float64))
        x0, x1 = x_all[len(x_all) // 2], x_all[-1]
        y0 = float(sub[sub["trajectories"] == x0]["value"].mean())
        for p in refs[str(panel)]:
            ax.plot([x0, x1], [y0, y0 * (x1 / x0) ** p], color="0.4", linestyle="--",
                    linewidth=0.8)
            # the label sits right of the line's end, past the last checkpoint: no curve there
            ax.annotate(f"{p:.2g}", (x1, y0 * (x1 / x0) ** p), xytext=(3, 0),
                        textcoords="offset points", va="center", fontsize=8, color="0.3")
        ax.set_xscale("log")
        ax.set_yscale("log")
        if refs[str(panel)]:
            ax.set_xlim(right=x1 * 5.0)     # room for those labels inside the frame
        ax.set_xlabel("trajectories sampled")
        ax.set_ylabel("in-class gap  J*_class - E J(theta_t)")
        ax.set_title(f"{titles.get(str(panel), panel)} ({n} seeds)", fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    fig.suptitle("F3: gap vs trajectories (2 per HARPG iteration). Lines: mean over seeds; "
                 f"bands: 95% bootstrap (B = {n_boot}); slopes on the last {config.fit_last} "
                 f"of {config.n_checkpoints} log-spaced checkpoints, dashed: reference exponents",
                 fontsize=9)
    return fig
