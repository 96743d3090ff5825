"""R2PVI paper, Figure 1(a): average reward against the perturbation q on the simulated MDP.

Regenerates [r2pvi, §5.1 Figure 1(a)] (Tang, Liu, Xu, ICML 2025; card shared/papers/r2pvi.md):
PEVI and R2PVI (TV, KL, chi2; lam = 0.1) trained on K = 100 trajectories of the uniform behavior
policy in the nominal simulated linear MDP (delta = 0.3, xi_norm = 0.2, beta = 1, ridge 0.1,
20 replications), then scored in the test models where step-0 factor 4 sends mass q to the fail
state, ``q in {0, 0.1, ..., 1}``. Methods run in ``mode="reference_code"`` (the official code's
choices, card §5.3 item 2, including its chi2 sign slip P3), which is what the panel shows.

Two data sources (:mod:`rlsandbox.experiments.r2pvi_common`): ``DEFAULT`` replays the official
code's data streams (replication r = legacy seed r), so its agents are those of the published
runs; it also records the code's Monte-Carlo test average (``legacy_mc``) next to the exact
expected return (``exact``). ``QUICK`` (the test suite's run) draws data from the run's
Generator and evaluates exactly.

What matches (card §5.1, numbers in ``diagnostics``): with the replayed streams the code's
Monte-Carlo averages are reproduced exactly (PEVI 1.542 ... 0.734, R2PVI-TV 1.400 ... 0.994, KL
1.480 ... 0.845, chi2 1.326 ... 1.120 at q = 0 ... 1; tests/test_r2pvi_offline.py). Largest
deviation from the published panel over the 11 q (DEFAULT, exact evaluation / the code's Monte
Carlo): PEVI 0.022 / 0.027, R2PVI-TV 0.015 / 0.018, R2PVI-KL 0.144 / 0.155, R2PVI-chi2 0.041 /
0.036. Deviation kept as found: the panel's KL and chi2 curves came from a different code state
(card: "[unverified which]"). The trend holds: PEVI is best at q = 0 and drops steeply; every
R2PVI variant loses at q = 0 and wins at q = 1, the curves crossing near q = 0.3-0.4.

Deviations: exact evaluation replaces Monte Carlo in the plotted curves (card §5.3); bands are
95% percentile-bootstrap intervals of the mean over replications (STYLE §9), where the paper
drew plain means.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range
from rlsandbox.experiments.plotting import require_columns
from rlsandbox.experiments.r2pvi_common import check_sweep_config, LABELS, Spec, deviation, \
    plot_curves, run_grid, summary

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "CARD_PANEL", "CARD_CODE"]

QS = tuple(round(0.1 * k, 1) for k in range(11))

#: The published panel, read from the figure file (card §5.1 Figure 1(a)).
CARD_PANEL = {
    "PEVI": (1.545, 1.474, 1.391, 1.302, 1.228, 1.162, 1.090, 0.998, 0.913, 0.828, 0.748),
    "R2PVI-TV": (1.390, 1.345, 1.310, 1.283, 1.246, 1.208, 1.167, 1.125, 1.079, 1.046, 1.005),
    "R2PVI-KL": (1.397, 1.355, 1.315, 1.274, 1.227, 1.188, 1.154, 1.115, 1.071, 1.037, 1.000),
    r"R2PVI-$\chi^2$": (1.350, 1.329, 1.308, 1.291, 1.265, 1.238, 1.199, 1.168, 1.134, 1.109,
                        1.084),
}
#: The official code's own output at q = 0 and q = 1 (card §5.1, "[reproduced]").
CARD_CODE = {"PEVI": (1.542, 0.734), "R2PVI-TV": (1.400, 0.994), "R2PVI-KL": (1.480, 0.845),
             r"R2PVI-$\chi^2$": (1.326, 1.120)}


@dataclass(frozen=True)
class Config:
    """Figure 1(a) settings (the official code's defaults, card §1.2).

    Attributes
    ----------
    lam : R2PVI regularization strength lambda. beta : bonus multiplier. ridge : the paper's
    gamma. K : trajectories per data set. replications : data sets (seeds 0..R-1 when
    ``data == "legacy"``). qs : perturbation levels. xi_norm, delta : simulated-MDP parameters.
    mode : "reference_code" or "paper". data : "legacy" or "generator". mc_episodes : episodes
    of the code's Monte-Carlo evaluator per (agent, q) (0 = off).
    """

    lam: float = 0.1
    beta: float = 1.0
    ridge: float = 0.1
    K: int = 100
    replications: int = 20
    qs: tuple = QS
    xi_norm: float = 0.2
    delta: float = 0.3
    mode: str = "reference_code"
    data: str = "legacy"
    mc_episodes: int = 100

    def __post_init__(self) -> None:
        check_in_range("lam", self.lam, low=0.0, low_open=True)
        check_sweep_config(self)


#: The published configuration (replays the official code's streams).
DEFAULT = Config()
#: What the test suite runs: Generator data, exact evaluation only (~2 s).
QUICK = Config(data="generator", mc_episodes=0)


def _specs(config: Config) -> list[Spec]:
    return [Spec("pevi", float("nan"), LABELS["pevi"])] + \
        [Spec(div, config.lam, LABELS[div]) for div in ("tv", "kl", "chi2")]


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Train and score every method; tidy rows (method, replication, q, evaluator, value).

    ``attrs["diagnostics"]``: the mean curves, the largest deviation from the published panel
    per method (exact and, if run, legacy Monte Carlo), and the legacy Monte-Carlo means at
    q = 0 and 1 next to the code's numbers recorded on the card.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(replications=2, qs=(0.0, 1.0), data="generator", mc_episodes=0)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> list(df["method"].unique())[:2], len(df)          # 4 methods x 2 data sets x 2 q
    (['PEVI', 'R2PVI-TV'], 16)
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a r2pvi_perturbation.Config, got "
                        f"{type(config).__name__}")
    df = run_grid(_specs(config), qs=config.qs, K=config.K, replications=config.replications,
                  beta=config.beta, ridge=config.ridge, mode=config.mode, data=config.data,
                  xi_norm=config.xi_norm, delta=config.delta,
                  mc_episodes=config.mc_episodes, rng=rng)
    diag: dict = {"mean_exact": {m: [round(v, 6) for v in row]
                                 for m, row in summary(df).iterrows()}}
    if config.qs == QS:
        diag["max_abs_dev_from_panel_exact"] = deviation(df, CARD_PANEL, QS, "exact")
        if config.mc_episodes:
            diag["max_abs_dev_from_panel_legacy_mc"] = deviation(df, CARD_PANEL, QS,
                                                                 "legacy_mc")
    if config.mc_episodes and {0.0, 1.0} <= set(config.qs):
        s = summary(df, "legacy_mc")
        diag["legacy_mc_q0_q1"] = {m: [round(float(s.loc[m, 0.0]), 4),
                                       round(float(s.loc[m, 1.0]), 4)] for m in s.index}
        diag["card_code_q0_q1"] = {m: list(v) for m, v in CARD_CODE.items()}
    df.attrs["diagnostics"] = diag
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator):
    """Average reward vs q: exact means with 95% bootstrap bands; the panel's numbers as x."""
    from matplotlib.figure import Figure

    require_columns(data, {"method", "replication", "q", "evaluator", "value"})
    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.subplots()
    colors = {"PEVI": "0.45", "R2PVI-TV": "C0", "R2PVI-KL": "C1", r"R2PVI-$\chi^2$": "C2"}
    plot_curves(ax, data, card=CARD_PANEL, qs_card=QS, n_boot=n_boot, rng=rng, colors=colors)
    n = int(data["replication"].nunique())
    ax.set_xlabel("perturbation q (mass of step-1 factor 4 sent to the fail state)")
    ax.set_ylabel("average reward in the test model")
    ax.set_title(f"R2PVI Figure 1(a): simulated linear MDP, lam = {config.lam:g}, "
                 f"beta = {config.beta:g}, K = {config.K}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    source = "official-code streams" if config.data == "legacy" else "seeded"
    fig.suptitle(f"{n} data sets ({source}"
                 f"), {config.mode} mode\nlines: mean of the exact expected return, bands: 95% "
                 f"bootstrap CI of the mean (B={n_boot})", fontsize=8)
    return fig
