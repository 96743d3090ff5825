"""E5: categorical and quantile fixed points against their bounds on Instance M.

A sandbox background figure for the distributional-DP card [card §5.2 E5, §4 B3, B4]; it
regenerates no figure of the paper (card §5.1). On the card's Instance M (acyclic MRP, exact
return laws eta^pi by A1) at gamma in {1/2, 9/10}, with the card's support
``[-2/(1 - gamma), 2/(1 - gamma)]``:

* (a) ``sup_s l_2^2(eta_C, eta^pi)`` of the categorical fixed point ``eta_C = Pi_C T^pi eta_C``
  against K, with the bound ``Delta_z / (1 - gamma)`` [rowland2018; card B3];
* (b) ``sup_s w_1(eta_Q, eta^pi)`` of the quantile fixed point against m, with the derived
  bound ``(V_max - V_min) / (2 m (1 - gamma))`` [dabney2018; card B4, constant 1];
* (c) the mean bias ``sup_s |E eta(s) - V^pi(s)|`` of both fixed points: 0 for the
  categorical one up to round-off (Lyle et al. 2019), positive for the quantile one (the
  card's B4 negative control for "quantile DP preserves means");
* (d) the same two bounds on ``n_random`` random acyclic MRPs (card B1's generator, acyclic,
  gamma uniform on [0.1, 0.99], support ``[-max|r|/(1 - gamma), max|r|/(1 - gamma)]``): the
  ratio distance / bound for every K and m, which must stay <= 1.

Log-log axes (a distance of exactly 0 -- every return atom on the grid, e.g. gamma = 1/2
with K = 321, 641 -- is not drawn). Everything on Instance M is deterministic (acyclic: each projected iteration
reaches its fixed point exactly, a zero step); ``rng`` draws the random MRPs of panel (d)
(one child stream per MRP, spawned up front).

Card's numbers (B3/B4 tables), all reproduced: categorical 0.195, 0.0815, 0.026, 0.00015
(gamma = 1/2) and 0.413, 0.3075, 0.13, 0.0066 (gamma = 9/10) at K = 5, 11, 41, 161;
quantile 0.2175, 0.050, 0.0126 (1/2) and 0.397, 0.061, 0.023 (9/10) at m = 4, 16, 64;
quantile mean bias 0.20 (m = 4) and 0.0125 (m = 64) at gamma = 1/2. **Difference**: at
gamma = 9/10, m = 4 we get 0.39645, which rounds to 0.396, not the card's 0.397 (0.00055
apart; within one unit of the card's last digit).

Data (tidy): columns ``gamma``, ``representation`` ("categorical", "quantile"), ``quantity``
(``distance``, ``bound``, ``mean_bias`` on Instance M; ``random_ratio`` on random MRP number
``instance``, -1 for Instance M), ``n`` (K or m), ``value``.

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

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "CARD_K", "CARD_M"]

CARD_K = (5, 11, 41, 161)
CARD_M = (4, 16, 64)


@dataclass(frozen=True)
class Config:
    """Sizes of the figure.

    Attributes
    ----------
    K : categorical atom counts (the card's four are always included).
    m : quantile atom counts (the card's three are always included).
    gammas : discounts, as strings of rationals (the card: "1/2", "9/10").
    n_random : random acyclic MRPs of panel (d).
    """

    K: tuple = (3, 5, 7, 11, 21, 41, 81, 161, 321, 641)
    m: tuple = (2, 4, 8, 16, 32, 64, 128, 256)
    gammas: tuple = ("1/2", "9/10")
    n_random: int = 100

    def __post_init__(self) -> None:
        for name, vals, low in (("K", self.K, 2), ("m", self.m, 1)):
            if not vals or any(not isinstance(v, int) or isinstance(v, bool) or v < low
                               for v in vals):
                raise ValueError(f"{name} == {vals!r}; give a non-empty tuple of ints >= {low}")
        for g in self.gammas:
            if not 0 < Fraction(g) < 1:
                raise ValueError(f"gamma {g!r} must be a rational in (0, 1)")
        check_int("n_random", self.n_random, low=0)


DEFAULT = Config()
QUICK = Config(K=CARD_K, m=CARD_M, n_random=6)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """The quantities of the module docstring (``rng`` unused: everything is exact).

    >>> df = run(Config(K=(5,), m=(4,), gammas=("1/2",)), rng=np.random.default_rng(0))
    >>> round(float(df.query("representation == 'categorical' and quantity == 'distance'")
    ...             ["value"].iloc[0]), 4)
    0.195
    """
    from rlsandbox.algorithms.distributional import (categorical_evaluation,
                                                     categorical_support, cramer_sq,
                                                     quantile_evaluation, wasserstein)
    from rlsandbox.algorithms.distributional.representations import acyclic_return_laws
    from rlsandbox.algorithms.distributional.lattice import solve_risk_neutral
    from rlsandbox.mdps.distributional import instance_m, random_mrp

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_representations.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    rows: list[tuple] = []
    diag: dict[str, Any] = {}
    Ks, ms = sorted(set(config.K) | set(CARD_K)), sorted(set(config.m) | set(CARD_M))

    def distances(m, vmax):
        """(K, l_2^2, mean bias) and (m, w_1, mean bias) of both fixed points."""
        pi = np.zeros(m.S, dtype=np.int64)
        exact = acyclic_return_laws(m, pi)
        V = [float(v) for v in solve_risk_neutral(m)[0]]
        cat, qua = [], []
        for K in Ks:
            fp = categorical_evaluation(m, pi, categorical_support(-vmax, vmax, K))
            if fp.error != 0.0:
                raise AssertionError(f"categorical iteration not exact on acyclic {m} "
                                     f"({fp.error})")
            cat.append((K, max(float(cramer_sq(fp.law(s), b)) for s, b in enumerate(exact)),
                        float(np.max(np.abs(fp.means() - V)))))
        for n_q in ms:
            fp = quantile_evaluation(m, pi, n_q)
            if fp.error != 0.0:
                raise AssertionError(f"quantile iteration not exact on acyclic {m} "
                                     f"({fp.error})")
            qua.append((n_q, max(float(wasserstein(a, b)) for a, b in zip(fp.eta, exact)),
                        float(np.max(np.abs(fp.means() - V)))))
        return cat, qua, V

    for gs in config.gammas:
        m = instance_m(gamma=Fraction(gs))
        g = float(m.gamma)
        vmax = 2.0 / (1.0 - g)             # the card's support [-2/(1-gamma), 2/(1-gamma)]
        cat, qua, V = distances(m, vmax)
        for K, d, bias in cat:
            rows += [(g, "categorical", "distance", K, -1, d),
                     (g, "categorical", "bound", K, -1, 2 * vmax / (K - 1) / (1 - g)),
                     (g, "categorical", "mean_bias", K, -1, bias)]
        for n_q, d, bias in qua:
            rows += [(g, "quantile", "distance", n_q, -1, d),
                     (g, "quantile", "bound", n_q, -1, 2 * vmax / (2 * n_q * (1 - g))),
                     (g, "quantile", "mean_bias", n_q, -1, bias)]
        diag[f"V_pi(gamma={gs})"] = V
    for i, child in enumerate(rng.spawn(config.n_random)):
        m = random_mrp(rng=child, acyclic=True)
        g = float(m.gamma)
        # [-vmax, vmax] contains every return and is preserved by x -> r + gamma x (card B4)
        vmax = max(abs(float(v)) for v in m.reward_range()) / (1.0 - g)
        if vmax == 0.0:
            continue                       # all rewards 0: both distances are 0
        cat, qua, _ = distances(m, vmax)
        rows += [(g, "categorical", "random_ratio", K, i, d / (2 * vmax / (K - 1) / (1 - g)))
                 for K, d, _ in cat]
        rows += [(g, "quantile", "random_ratio", n_q, i, d / (2 * vmax / (2 * n_q * (1 - g))))
                 for n_q, d, _ in qua]
    df = pd.DataFrame(rows, columns=["gamma", "representation", "quantity", "n", "instance",
                                     "value"])
    df.attrs["diagnostics"] = diag
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """The four panels of the module docstring (``n_boot``, ``rng`` unused: no resampling)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    require_columns(data, {"gamma", "representation", "quantity", "n", "instance", "value"})
    rnd = data[data["quantity"] == "random_ratio"]
    data = data[data["instance"] == -1]              # Instance M
    fig = Figure(figsize=(19, 4.6), layout="constrained", dpi=80)
    axes = fig.subplots(1, 4)
    titles = {"categorical": r"(a) categorical: sup$_s\ \ell_2^2(\eta_C, \eta^\pi)$ vs K",
              "quantile": r"(b) quantile: sup$_s\ w_1(\eta_Q, \eta^\pi)$ vs m"}
    for ax, rep in zip(axes[:2], ("categorical", "quantile")):
        for i, g in enumerate(sorted(data["gamma"].unique())):
            sub = data[(data["gamma"] == g) & (data["representation"] == rep)]
            dist = sub[sub["quantity"] == "distance"].sort_values("n")
            bnd = sub[sub["quantity"] == "bound"].sort_values("n")
            ax.loglog(dist["n"], dist["value"], marker="o", color=f"C{i}",
                      label=rf"measured, $\gamma$ = {g:g}")
            ax.loglog(bnd["n"], bnd["value"], linestyle="--", color=f"C{i}",
                      label=rf"bound, $\gamma$ = {g:g}")
        ns = sorted(data[data["representation"] == rep]["n"].unique())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(ns, [str(int(n)) for n in ns], fontsize=8)
        ax.set_xlabel("K (atoms)" if rep == "categorical" else "m (quantiles)")
        ax.set_title(titles[rep], fontsize=10)
        ax.legend(fontsize=8)
    ax = axes[2]
    for i, g in enumerate(sorted(data["gamma"].unique())):
        for rep, marker in (("categorical", "s"), ("quantile", "o")):
            sub = data[(data["gamma"] == g) & (data["representation"] == rep)
                       & (data["quantity"] == "mean_bias")].sort_values("n")
            # the categorical bias is 0 up to round-off: floor it for the log axis
            ax.loglog(sub["n"], np.maximum(sub["value"], 1e-17), marker=marker,
                      color=f"C{i}", linestyle="-" if rep == "quantile" else ":",
                      label=rf"{rep}, $\gamma$ = {g:g}")
    ax.set_xlabel("K or m")
    ax.set_ylabel(r"sup$_s$ |mean - V$^\pi$(s)| (floored at 1e-17)")
    ax.set_title("(c) mean bias: categorical 0 (round-off), quantile > 0", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[3]
    for i, (rep, marker) in enumerate((("categorical", "s"), ("quantile", "o"))):
        sub = rnd[rnd["representation"] == rep]
        # jitter the representations apart on the x axis so both are visible
        ax.scatter(sub["n"] * (0.93 if i == 0 else 1.07), sub["value"], s=9, marker=marker,
                   alpha=0.5, color=f"C{i + 2}", label=f"{rep} (K or m)")
    ax.axhline(1.0, color="k", linestyle="--", linewidth=1, label="bound")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-3)
    # headroom above the bound line: the legend goes there, clear of the bound and the points
    ax.set_ylim(0, 30)
    ax.set_xlabel("K or m")
    ax.set_ylabel("distance / bound")
    n_inst = rnd["instance"].nunique()
    ax.set_title(f"(d) {n_inst} random acyclic MRPs: ratio <= 1", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", ncol=3, columnspacing=1.0, handletextpad=0.3)
    fig.suptitle("E5 (card §5.2): representation fixed points on Instance M vs the B3/B4 "
                 "bounds; sandbox background figure, not the paper's", fontsize=10)
    return fig
