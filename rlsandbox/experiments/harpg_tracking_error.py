"""F2 ``harpg_tracking_error``: how fast each method's direction d_t tracks grad J_H(theta_t).

Card n_harpg.md §5.2 F2 and claim N10: on the I2 logistic bump (m = 2, b = 0.5, c = (1, -0.5),
w = 1, theta_0 = 0), with normalised steps alpha_t = 0.5 * 2/(t+2) (HARPG: 0.5 sqrt(2/(t+2)))
and M = 16 trajectories per estimate, the tracking error E||d_t - grad J_H(theta_t)|| decays like

    t^{-1/3} (N-MPG, eta_t = (2/(t+2))^{2/3}),   t^{-2/5} (N-PG-IGT, (2/(t+2))^{4/5}),
    t^{-1/2} (HARPG and N-HARPG, eta_t = 2/(t+2)),

[card §4.1 N10; the N-PG-IGT rate is the paper's variance lemma], and the two controls are slower:
N-PG-IGT without look-ahead and N-HARPG without the Hessian correction (v_t = 0). Card prototype
slopes (M = 16, 200 seeds, T = 5e4): N-MPG -0.335, N-PG-IGT -0.402, N-HARPG -0.499, HARPG -0.520
(M = 1), no look-ahead -0.321, no HVP -0.241.

The curve of each method is the mean over seeds at 10 log-spaced checkpoints, with a 95%
percentile-bootstrap band over seeds; the slope is fitted on the last 5 checkpoints of the mean
curve (log-log least squares) with a bootstrap CI over seeds (the card's recipe, pitfall 10).

Deviations: QUICK uses 64 seeds (card: 20) so that the slope ordering asserted by the quick test
is stable. The exact gradient is computed by quadrature (:class:`LogisticBandit`); gamma = 0,
so grad J_H = grad J.

Data (tidy): columns ``method`` (see :data:`METHODS`), ``seed``, ``t``, ``value`` (the error
||d_t - grad J(theta_t)|| of one seed at iteration t). ``attrs["diagnostics"]["slopes"]`` holds
each method's fitted slope and its bootstrap CI.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS", "fit_slope", "slopes"]

#: (label, method, schedule kind, switches): the curves of the figure.
METHODS = {
    "N-MPG": ("n_mpg", {}),
    "N-PG-IGT": ("n_pg_igt", {}),
    "HARPG": ("harpg", {}),
    "N-HARPG": ("n_harpg", {}),
    "N-PG-IGT, no look-ahead": ("n_pg_igt", {"lookahead": False}),
    "N-HARPG, no HVP": ("n_harpg", {"hvp": "none"}),
}
#: Theory exponents of card §4.1 N10 for the reference lines.
EXPONENTS = {"N-MPG": -1 / 3, "N-PG-IGT": -2 / 5, "HARPG": -1 / 2, "N-HARPG": -1 / 2}


@dataclass(frozen=True)
class Config:
    """Sizes of F2.

    Attributes
    ----------
    T : iterations; n_seeds : independent runs per method (replicates); M : trajectories per
    estimate; alpha0 : step constant (alpha_t = 2 alpha0/(t+2) normalised, alpha0 sqrt(2/(t+2))
    for HARPG); n_checkpoints : log-spaced iterations recorded; fit_last : checkpoints used by
    the slope fit (the last ones).
    """

    T: int = 50_000
    n_seeds: int = 200
    M: int = 16
    alpha0: float = 0.5
    n_checkpoints: int = 10
    fit_last: int = 5

    def __post_init__(self) -> None:
        check_int("T", self.T, low=10)
        check_int("n_seeds", self.n_seeds, low=2)
        check_int("M", self.M, low=1)
        check_in_range("alpha0", self.alpha0, low=0.0, low_open=True)
        check_int("n_checkpoints", self.n_checkpoints, low=3)
        check_int("fit_last", self.fit_last, low=2, high=self.n_checkpoints)


#: The published figure (card sizes: T = 5e4, 200 seeds, M = 16).
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(T=2000, n_seeds=64)


def fit_slope(x: np.ndarray, Y: np.ndarray, *, rng: np.random.Generator, n_boot: int,
              fit_last: int) -> tuple[float, float, float]:
    """Slope of log(mean_seeds Y) against log x over the last ``fit_last`` columns, and its 95%
    percentile-bootstrap CI over seeds (rows of Y resampled with replacement).

    Examples
    --------
    >>> x = np.array([1.0, 10.0, 100.0])
    >>> s, lo, hi = fit_slope(x, np.vstack([x ** -0.5, 2 * x ** -0.5]),
    ...                       rng=np.random.default_rng(0), n_boot=50, fit_last=3)
    >>> round(s, 12), round(lo, 12), round(hi, 12)
    (-0.5, -0.5, -0.5)
    """
    lx = np.log(np.asarray(x, dtype=np.float64)[-fit_last:])
    Y = np.asarray(Y, dtype=np.float64)[:, -fit_last:]
    slope = float(np.polyfit(lx, np.log(Y.mean(axis=0)), 1)[0])
    idx = rng.integers(0, Y.shape[0], size=(n_boot, Y.shape[0]))
    boot = np.array([np.polyfit(lx, np.log(Y[i].mean(axis=0)), 1)[0] for i in idx])
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return slope, float(lo), float(hi)


def slopes(data: pd.DataFrame, *, rng: np.random.Generator, n_boot: int = 200,
           fit_last: int = 5, x: str = "t") -> dict[str, tuple[float, float, float]]:
    """Fitted slope and bootstrap CI per method of a tidy table (columns method, seed, x, value)."""
    out = {}
    for method, sub in data.groupby("method", sort=False):
        table = sub.pivot(index="seed", columns=x, values="value")
        out[str(method)] = fit_slope(table.columns.to_numpy(dtype=np.float64),
                                     table.to_numpy(), rng=rng, n_boot=n_boot, fit_last=fit_last)
    return out


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run every curve of :data:`METHODS` on the I2 bump; one child stream per curve
    (``rng.spawn``, in the order of :data:`METHODS`). Returns the tidy error table.

    Examples
    --------
    >>> df = run(Config(T=60, n_seeds=3, M=2), rng=np.random.default_rng(0))
    >>> sorted(df["method"].unique())[:2], int(df["seed"].max())
    (['HARPG', 'N-HARPG'], 2)
    """
    from rlsandbox.algorithms.harpg.methods import code_schedule, log_checkpoints
    from rlsandbox.algorithms.harpg.methods import run as run_method
    from rlsandbox.mdps.harpg import logistic_bump

    if not isinstance(config, Config):
        raise TypeError(f"config must be a harpg_tracking_error.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    bump = logistic_bump()
    ck = log_checkpoints(config.T, config.n_checkpoints)
    frames = []
    for (label, (method, switches)), child in zip(METHODS.items(), rng.spawn(len(METHODS))):
        tr = run_method(bump, method, theta0=np.zeros(2), T=config.T, H=1, M=config.M,
                        replicates=config.n_seeds,
                        schedule=code_schedule(method, alpha0=config.alpha0), rng=child,
                        checkpoints=ck, **switches)
        grad = bump.grad_J(tr.theta.reshape(-1, 2)).reshape(tr.theta.shape)
        err = np.linalg.norm(tr.d - grad, axis=-1)                     # (seeds, K)
        frames.append(pd.DataFrame({
            "method": label, "seed": np.repeat(np.arange(config.n_seeds), ck.size),
            "t": np.tile(ck, config.n_seeds), "value": err.ravel()}))
    df = pd.concat(frames, ignore_index=True)
    fitted = slopes(df, rng=np.random.default_rng(0), fit_last=config.fit_last)
    df.attrs["diagnostics"] = {"slopes": {k: list(v) for k, v in fitted.items()},
                               "card_prototype_slopes": {"N-MPG": -0.335, "N-PG-IGT": -0.402,
                                                         "N-HARPG": -0.499, "HARPG": -0.520,
                                                         "N-PG-IGT, no look-ahead": -0.321,
                                                         "N-HARPG, no HVP": -0.241}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Log-log mean tracking error per method with bootstrap bands and t^p reference lines;
    the legend gives each fitted slope with its bootstrap CI (computed from ``data``)."""
    from matplotlib.figure import Figure

    require_columns(data, {"method", "seed", "t", "value"})
    fitted = slopes(data, rng=rng, n_boot=n_boot, fit_last=config.fit_last)
    fig = Figure(figsize=(8.5, 5.5), layout="constrained")
    ax = fig.subplots()
    styles = {"N-MPG": ("C0", "-"), "N-PG-IGT": ("C1", "-"), "HARPG": ("C2", "-"),
              "N-HARPG": ("C3", "-"), "N-PG-IGT, no look-ahead": ("C1", ":"),
              "N-HARPG, no HVP": ("C3", ":")}
    n = int(data["seed"].nunique())
    t_max = float(data["t"].max())
    for label, sub in data.groupby("method", sort=False):
        table = sub.pivot(index="seed", columns="t", values="value")
        t = table.columns.to_numpy(dtype=np.float64)
        ci = bootstrap_ci(table.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
        s, lo, hi = fitted[str(label)]
        color, ls = styles.get(str(label), ("k", "-"))
        plot_band(ax, t, ci, color=color, linestyle=ls,
                  label=f"{label}: slope {s:.3f} [{lo:.3f}, {hi:.3f}]")
    ref = data[data["method"] == "N-MPG"].groupby("t")["value"].mean()
    t0, y0 = float(ref.index[len(ref) // 2]), float(ref.iloc[len(ref) // 2])
    for p, name in ((-1 / 3, "t^-1/3"), (-2 / 5, "t^-2/5"), (-1 / 2, "t^-1/2")):
        tt = np.array([t0, t_max])
        ax.plot(tt, 1.6 * y0 * (tt / t0) ** p, color="0.4", linewidth=0.8, linestyle="--")
        # the label sits right of the line's end, past the last checkpoint: no curve there
        ax.annotate(name, (t_max, 1.6 * y0 * (t_max / t0) ** p), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize=8, color="0.3")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(right=t_max * 4.0)          # room for those labels inside the frame
    ax.set_xlabel("iteration t")
    ax.set_ylabel(r"$E\,\|d_t - \nabla J_H(\theta_t)\|$")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(f"F2: tracking error on the I2 logistic bump (M = {config.M}, {n} seeds, "
                 f"T = {config.T})", fontsize=10)
    fig.suptitle("lines: mean over seeds; bands: 95% percentile bootstrap over seeds "
                 f"(B = {n_boot}); slopes fitted on the last {config.fit_last} of "
                 f"{config.n_checkpoints} log-spaced checkpoints", fontsize=8)
    return fig
