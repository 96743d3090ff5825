"""R2PVI paper, Figure 1(c): DRPVI against its radius rho and R2PVI-TV against lambda.

Regenerates [r2pvi, §5.1 Figure 1(c); §4 C4] (card shared/papers/r2pvi.md): on the simulated
linear MDP, the average reward in the perturbed test model at one fixed perturbation level q,
for x = k/9, k = 0..9, where x is rho for DRPVI (applied, as in the official code, to factor 4
at the first step only, card P4) and lambda for R2PVI-TV. The card's reading: DRPVI becomes
more robust as rho grows, R2PVI as lambda shrinks (the inverse roles of C4). The panel's q
level, divergence and environment are **[unverified]** (card P15); this module uses the code's
defaults (xi_norm = 0.2, delta = 0.3, K = 100, beta = 1, ridge 0.1, 20 replications,
``reference_code`` mode, R2PVI with TV) at q = 1 and q = 0.9, the two levels the card names.
Data sources and evaluators as in :mod:`rlsandbox.experiments.r2pvi_common` (DEFAULT: the
official code's replayed streams with its Monte-Carlo test average and the exact value;
QUICK: Generator data, exact evaluation, q = 1, four values of x, 10 data sets).

**Not reproduced** (reported as found, not tuned). The shape matches: DRPVI's value rises with
rho and R2PVI-TV's falls with lambda, the curves crossing near x = 0.25. The numbers match for
R2PVI-TV only. DEFAULT (replayed streams), the code's Monte Carlo at q = 1: DRPVI 0.681, 0.760,
0.835, 0.955, 1.048, 1.095, 1.120, 1.120, 1.120, 1.120 against the panel's 0.769 ... 1.029
(largest deviation 0.182; exact evaluation 0.193); R2PVI-TV 1.028, 0.990, 0.926, 0.842, 0.757,
0.737, 0.714, 0.708, 0.708, 0.708 against 1.066 ... 0.760 (0.052; exact 0.035). At q = 0.9:
DRPVI 0.765 ... 1.132 (0.206; exact 0.221), R2PVI-TV 1.054 ... 0.787 (0.035; exact 0.052).
So the panel's DRPVI curve, which saturates near 1.03 instead of 1.12, came from another
setting (its q, radius table or environment are unverified, card P15). The q = 1 endpoints
equal the card's "code defaults" numbers (R2PVI-TV 1.028, 0.990, 0.757, 0.708 at lambda = 0,
1/9, 4/9, 1; DRPVI 0.681, 1.048, 1.120 at rho = 0, 4/9, 1; tests/test_r2pvi_figures.py).
Full run: 18 s.

Deviations: the plot shows exact means with 95% bootstrap bands (the paper: mean +- 1 std).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns
from rlsandbox.experiments.r2pvi_common import Spec, check_sweep_config, run_grid

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "CARD_PANEL", "XS"]

XS = tuple(k / 9 for k in range(10))
#: The published panel (card §5.1 Figure 1(c)), at x = k/9.
CARD_PANEL = {
    "DRPVI": (0.769, 0.786, 0.800, 0.830, 0.866, 0.913, 0.961, 1.011, 1.022, 1.029),
    "R2PVI-TV": (1.066, 1.018, 0.950, 0.877, 0.800, 0.778, 0.766, 0.760, 0.760, 0.760),
}


@dataclass(frozen=True)
class Config:
    """Figure 1(c) settings; ``xs`` the values of rho (DRPVI) and lambda (R2PVI-TV), ``qs`` the
    perturbation levels (one panel each); other fields as in
    :class:`rlsandbox.experiments.r2pvi_perturbation.Config`."""

    xs: tuple = XS
    qs: tuple = (0.9, 1.0)
    beta: float = 1.0
    ridge: float = 0.1
    K: int = 100
    replications: int = 20
    xi_norm: float = 0.2
    delta: float = 0.3
    mode: str = "reference_code"
    data: str = "legacy"
    mc_episodes: int = 100

    def __post_init__(self) -> None:
        if not isinstance(self.xs, tuple) or not self.xs:
            raise TypeError(f"xs must be a non-empty tuple of floats >= 0, got {self.xs!r}")
        for i, x in enumerate(self.xs):
            check_in_range(f"xs[{i}]", x, low=0.0)
        check_sweep_config(self)


DEFAULT = Config()
QUICK = Config(xs=(0.0, 3 / 9, 6 / 9, 1.0), qs=(1.0,), replications=10, data="generator",
               mc_episodes=0)


def _specs(config: Config) -> list[tuple[Spec, str, float]]:
    out = []
    for x in config.xs:
        out.append((Spec("drpvi", float("nan"), f"DRPVI rho={x:.4f}", rho=float(x)), "DRPVI", x))
        out.append((Spec("tv", float(x), f"R2PVI-TV lam={x:.4f}"), "R2PVI-TV", x))
    return out


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Train DRPVI and R2PVI-TV for every x; tidy rows (family, x, method, replication, q,
    evaluator, value). ``attrs["diagnostics"]``: mean curves per (q, evaluator) and, on the
    card's grid, the largest deviation from the panel.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(xs=(0.0, 1.0), qs=(1.0,), replications=2, data="generator",
    ...              mc_episodes=0)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["family"].unique()), len(df)
    (['DRPVI', 'R2PVI-TV'], 8)
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a r2pvi_rho_lambda.Config, got {type(config).__name__}")
    specs = _specs(config)
    df = run_grid([s for s, _, _ in specs], qs=config.qs, K=config.K,
                  replications=config.replications, beta=config.beta, ridge=config.ridge,
                  mode=config.mode, data=config.data, xi_norm=config.xi_norm,
                  delta=config.delta, mc_episodes=config.mc_episodes, rng=rng)
    family = {s.label: f for s, f, _ in specs}
    xval = {s.label: float(x) for s, _, x in specs}
    df.insert(0, "x", df["method"].map(xval))
    df.insert(0, "family", df["method"].map(family))
    means = df.groupby(["evaluator", "q", "family", "x"])["value"].mean()
    diag: dict = {"mean": {f"{ev}, q={q:g}, {fam}": [round(float(v), 4) for v in g.to_numpy()]
                           for (ev, q, fam), g in means.groupby(level=[0, 1, 2])}}
    if config.xs == XS:
        for (ev, q, fam), g in means.groupby(level=[0, 1, 2]):
            dev = float(np.max(np.abs(g.to_numpy() - np.array(CARD_PANEL[fam]))))
            diag.setdefault(f"max_abs_dev_from_panel_{ev}", {})[f"q={q:g}, {fam}"] = round(dev, 4)
    df.attrs["diagnostics"] = diag
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator):
    """One panel per q: mean exact value against x with 95% bootstrap bands, the code's Monte
    Carlo (dashed) when present, and the published panel as x markers."""
    from matplotlib.figure import Figure

    require_columns(data, {"family", "x", "replication", "q", "evaluator", "value"})
    qs = sorted(data["q"].unique())
    fig = Figure(figsize=(max(7.0, 5.5 * len(qs)), 4.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(qs), sharey=True))
    for ax, q in zip(axes, qs):
        for k, fam in enumerate(("DRPVI", "R2PVI-TV")):
            color = f"C{k}"
            d = data[(data["q"] == q) & (data["family"] == fam)]
            ex = d[d["evaluator"] == "exact"].pivot(index="replication", columns="x",
                                                    values="value")
            ci = bootstrap_ci(ex.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
            xname = "rho" if fam == "DRPVI" else "lambda"
            plot_band(ax, ex.columns.to_numpy(dtype=float), ci, color=color,
                      label=f"{fam} (x = {xname}; exact, mean)")
            mc = d[d["evaluator"] == "legacy_mc"].groupby("x")["value"].mean()
            if not mc.empty:
                ax.plot(mc.index.to_numpy(dtype=float), mc.to_numpy(), "--", color=color,
                        label=f"{fam} (code Monte Carlo)")
            ax.plot(XS, CARD_PANEL[fam], linestyle="none", marker="x", color=color)
        ax.plot([], [], linestyle="none", marker="x", color="k",
                label="published panel (card; q unknown)")
        ax.set_xlabel("x = rho (DRPVI) / lambda (R2PVI-TV)")
        ax.set_title(f"q = {q:g}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("average reward in the test model")
    # the panels share their entries: one legend below them, where it covers no data (inside
    # the q = 1 panel it hid the published-panel crosses)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=5,
               fontsize=7)
    n = int(data["replication"].nunique())
    source = "official-code streams" if config.data == "legacy" else "seeded"
    fig.suptitle(f"R2PVI Figure 1(c) (not reproduced: see docstring): simulated MDP, "
                 f"xi_norm = {config.xi_norm:g}, beta = {config.beta:g}, K = {config.K},\n"
                 f"{n} data sets ({source}), {config.mode} mode; bands: 95% bootstrap CI "
                 f"(B={n_boot})", fontsize=8)
    return fig
