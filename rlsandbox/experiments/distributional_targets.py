"""E4: target reaching and homeostasis on Instance C, exact (stock lattice A5-L).

A sandbox stand-in for the distributional-DP card [card §5.2 E4; §3 A4 "targets"]; it
regenerates no figure of the paper (card §5.1: the paper's §7 is unavailable). On the card's
Instance C (lattice casino, gamma = 1/2, returns in [-2, 2]) and a sweep of targets theta:

* (a) ``P*(G >= theta) = J*_{1{x >= 0}}(playing, -theta)`` (c0 = -theta), against the two
  stationary non-augmented baselines "stop" (``1{theta <= 0}``) and "bet forever" (the
  risk-neutral policy);
* (b) ``min_pi E|G - theta| = -J*_{-|x|}(playing, -theta)`` (homeostasis), against the same
  baselines (``|theta|`` and ``E|G_rn - theta|``), and the value the stationary stock policy
  actually attains, evaluated afterwards from its return law [card A5 "evaluate it
  afterwards", Pitfall 10];
* (c) mean and 10%-90% quantiles of the return achieved by the homeostatic policy against
  theta, with the diagonal ``G = theta``;
* (d) the achieved return laws for a few targets (histograms, bins of width 1/8);
* a Monte Carlo cross-check for those targets: ``n_mc`` episodes of the stock policy (the
  stock carried along, card §2.2), truncated at the same depth, estimate E|G - theta| (error
  bars in panel (b)); ``rng`` draws them (one child stream per target, spawned up front).

All lattice values are exact rationals. The achieved return laws are the laws of the return
truncated after ``depth`` steps (exact forward propagation of (state, stock)); every return
is within ``gamma^depth max|r| / (1 - gamma) = 2^(1 - depth)`` of its truncation, and so are
E|G - theta| and every quantile.

Expected (derived trends; the card gives no numbers for E4): P* is non-increasing in theta,
1 for theta <= 0 (stop) and 0 for theta > G_hi = 2 (card C10); both optima dominate both
baselines; the achieved E|G - theta| equals the optimum up to the truncation; the achieved
return "concentrates near theta as the target moves".

Measured (default run, theta on (1/8)Z, depth 14): the first three hold (achieved vs optimal
E|G - theta| within 2.4e-5 <= 2^-13; Monte Carlo within 1 standard error of the exact law).
The last holds only in part, and we report it as measured rather than as the card's trend:
for theta <= 3/8 the homeostatic optimum is to stop (G = 0, E|G - theta| = |theta|: no
gamble brings the return closer); for theta in [1/2, 7/4] the policy gambles, the 90%
quantile of the achieved return is at most 1/8 below theta (equal to it for theta in
(1/4)Z: the law has an atom at the target) while the 10% quantile stays near -0.87 .. -1.26,
and the mean rises from 0.1 to 0.39; for theta >= 2 it bets forever (mean 0.4). The mean and the 90% quantile are
non-decreasing in theta.

Data (tidy): columns ``quantity``, ``theta``, ``x``, ``value``. Quantities (x = 0 unless
stated): ``p_star``, ``p_stop``, ``p_bet``, ``abs_opt``, ``abs_policy``, ``abs_stop``,
``abs_bet``, ``mean_policy``, ``q10_policy``, ``q90_policy``, ``hist`` (x = bin centre),
``abs_mc`` and ``abs_mc_se`` (Monte Carlo mean and standard error, histogram targets only).

Deviations: none.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """Sizes of the figure.

    Attributes
    ----------
    theta_step : targets theta = k / theta_step over [-5/2, 5/2].
    depth : truncation of the achieved return laws (error <= 2^(1 - depth)).
    hist_thetas : targets whose achieved laws are plotted in panel (d) (on the theta grid).
    n_mc : Monte Carlo episodes per histogram target.
    """

    theta_step: int = 8
    depth: int = 14
    hist_thetas: tuple = ("1/2", "1", "3/2")
    n_mc: int = 4000

    def __post_init__(self) -> None:
        check_int("theta_step", self.theta_step, low=1, high=64)
        check_int("depth", self.depth, low=1, high=24)
        check_int("n_mc", self.n_mc, low=2)
        for t in self.hist_thetas:
            if (Fraction(t) * self.theta_step).denominator != 1:
                raise ValueError(f"hist theta {t} is not on the grid k / {self.theta_step}")


DEFAULT = Config()
QUICK = Config(theta_step=4, depth=10, n_mc=400)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """The quantities of the module docstring; ``rng`` draws only the Monte Carlo episodes.

    P*(G >= theta) at theta = -2, -1, 0, 1, 2 (card C12: 0.6 at c = -1; 0 at G_hi = 2):

    >>> df = run(Config(theta_step=1, depth=6, hist_thetas=("1",), n_mc=20),
    ...          rng=np.random.default_rng(0))
    >>> df.query("quantity == 'p_star'")["value"].tolist()
    [1.0, 1.0, 1.0, 0.6, 0.0]
    """
    from rlsandbox.algorithms.distributional import (build_lattice, sample_episode,
                                                     target_abs, threshold)
    from rlsandbox.experiments.distributional_exact import dyadic_markov_law
    from rlsandbox.mdps.distributional import instance_c

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_targets.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    C = instance_c()
    n = 5 * config.theta_step // 2
    thetas = [Fraction(k, config.theta_step) for k in range(-n, n + 1)]
    stocks = [-t for t in thetas]
    ind = build_lattice(C, threshold(), stocks)
    P, _ = ind.solve()
    hom = build_lattice(C, target_abs(), stocks)
    J, pol = hom.solve()
    rn = dyadic_markov_law([(0.6, 1.0), (0.4, -1.0)], config.depth)
    hist = {Fraction(t) for t in config.hist_thetas}
    edges = np.arange(-2.5, 2.5 + 1e-9, 0.125)
    streams = dict(zip(sorted(hist), rng.spawn(len(hist))))
    rows: list[tuple] = []
    for th in thetas:
        t = float(th)
        law, alive = hom.policy_law(pol, -th, depth=config.depth)
        x, p = (np.array(v, dtype=np.float64) for v in zip(*law.pairs()))
        cdf = np.cumsum(p)
        rows += [("p_star", t, 0.0, float(ind.value(P, 0, -th))),
                 ("p_stop", t, 0.0, float(th <= 0)),
                 ("p_bet", t, 0.0, float(1 - rn.cdf(t - 1e-12))),
                 ("abs_opt", t, 0.0, float(-hom.value(J, 0, -th))),
                 ("abs_policy", t, 0.0, float(np.dot(p, np.abs(x - t)))),
                 ("abs_stop", t, 0.0, abs(t)),
                 ("abs_bet", t, 0.0, float(rn.expect(lambda g, t=t: abs(g - t)))),
                 ("mean_policy", t, 0.0, float(np.dot(p, x))),
                 ("q10_policy", t, 0.0, float(x[np.searchsorted(cdf, 0.1 - 1e-12)])),
                 ("q90_policy", t, 0.0, float(x[np.searchsorted(cdf, 0.9 - 1e-12)]))]
        if th in hist:
            mass, _ = np.histogram(x, bins=edges, weights=p)
            rows += [("hist", t, float(c), float(v))
                     for c, v in zip((edges[:-1] + edges[1:]) / 2, mass)]
            gen = streams[th]
            dev = np.empty(config.n_mc)
            for i in range(config.n_mc):
                ep = sample_episode(C, lambda _t, s, c: hom.action(pol, s, c), c0=-th,
                                    rng=gen, depth=config.depth)
                dev[i] = abs(float(sum(r * C.gamma ** k for k, (_, _, r) in enumerate(ep)))
                             - t)
            rows += [("abs_mc", t, 0.0, float(dev.mean())),
                     ("abs_mc_se", t, 0.0, float(dev.std(ddof=1) / np.sqrt(config.n_mc)))]
    df = pd.DataFrame(rows, columns=["quantity", "theta", "x", "value"])
    df.attrs["diagnostics"] = {"lattice_states_indicator": len(ind),
                               "lattice_states_abs": len(hom),
                               "truncation": 2.0 ** (1 - config.depth)}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """The four panels of the module docstring (``n_boot``, ``rng`` unused: no resampling)."""
    from matplotlib.figure import Figure

    require_columns(data, {"quantity", "theta", "x", "value"})

    def sel(q: str) -> pd.DataFrame:
        return data[data["quantity"] == q].sort_values("theta")

    fig = Figure(figsize=(17, 4.4), layout="constrained", dpi=80)
    axes = fig.subplots(1, 4)
    ax = axes[0]
    for q, label, style in (("p_star", "stock optimum P*", "-"), ("p_bet", "bet forever", "--"),
                            ("p_stop", "stop", ":")):
        d = sel(q)
        # P(G >= theta) is left-continuous: between grid targets it lies between the values
        # at the two ends; the markers are the computed values
        ax.step(d["theta"], d["value"], where="pre", linestyle=style, marker="o",
                markersize=2.5, label=label)
    ax.set_xlabel(r"target $\theta$ (grid; steps drawn to the left)")
    ax.set_ylabel(r"P(G $\geq \theta$)")
    ax.set_title(r"(a) target reaching, c0 = -$\theta$, f = 1{x >= 0}", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    for q, label, style in (("abs_opt", "stock optimum", "-"), ("abs_bet", "bet forever", "--"),
                            ("abs_stop", "stop", ":")):
        d = sel(q)
        ax.plot(d["theta"], d["value"], linestyle=style, label=label)
    d = sel("abs_policy")
    ax.plot(d["theta"], d["value"], "o", markersize=3, label="policy, evaluated")
    mc, se = sel("abs_mc"), sel("abs_mc_se")
    ax.errorbar(mc["theta"], mc["value"], yerr=2 * se["value"].to_numpy(), fmt="s",
                color="k", markersize=3, capsize=3, label="policy, Monte Carlo (+-2 SE)")
    ax.set_xlabel(r"target $\theta$")
    ax.set_ylabel(r"E|G - $\theta$|")
    ax.set_title(r"(b) homeostasis, c0 = -$\theta$, f = -|x|", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[2]
    m, lo, hi = sel("mean_policy"), sel("q10_policy"), sel("q90_policy")
    ax.fill_between(m["theta"], lo["value"], hi["value"], alpha=0.25, step=None,
                    label="10%-90% quantiles")
    ax.plot(m["theta"], m["value"], marker="o", markersize=3, label="mean of achieved G")
    ax.plot(m["theta"], m["theta"], color="0.5", linestyle="--", linewidth=0.8,
            label=r"G = $\theta$")
    ax.set_xlabel(r"target $\theta$")
    ax.set_ylabel("achieved return G")
    ax.set_title("(c) the achieved return follows the target", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[3]
    h = sel("hist")
    thetas = sorted(h["theta"].unique())
    width = 0.125 / max(len(thetas), 1)
    for i, t in enumerate(thetas):
        d = h[h["theta"] == t].sort_values("x")
        ax.bar(d["x"] + (i - (len(thetas) - 1) / 2) * width, d["value"], width=width,
               color=f"C{i}", label=rf"$\theta$ = {t:g}")
        ax.axvline(t, color=f"C{i}", linestyle=":", linewidth=1)
    ax.set_xlabel("return G (bins of 1/8)")
    ax.set_ylabel("probability")
    ax.set_title("(d) achieved return laws (dotted: target)", fontsize=10)
    ax.legend(fontsize=8)
    fig.suptitle(f"E4 (card §5.2) on Instance C (gamma = 1/2), exact lattice; laws truncated "
                 f"at depth {config.depth} (error <= 2^{1 - config.depth}); sandbox stand-in, "
                 f"not the paper's", fontsize=10)
    return fig
