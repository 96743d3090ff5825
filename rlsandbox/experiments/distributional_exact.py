"""E1: exact CVaR and target objectives on the card's Instances A and T1.

A sandbox figure for the distributional-DP card [card §5.2 E1]; it regenerates no figure of
the paper (card §5.1). Everything is computed in exact rationals.

* Instance A, CVaR_1/2 of the return: the optimum by the outer search over c0 with A2
  (A4, card C6), the best deterministic Markov policy (enumeration + A1), the randomised
  Markov policies "risky w.p. p at s1" (CVaR = p/2, card C3), the non-augmented greedy DP
  (memo on (t, s), card C3 control) and A2 greedy with F = CVaR itself (card C4).
* Instance T1, P(G >= 1): the optimum (A2 with f = 1{x >= 0}, c0 = -1), the best Markov
  policy (including randomisation at s1) and the non-augmented greedy DP.
* The outer function h(c0) = -c0 + 2 J*_min(c0) on Instance A (card C6 table), which is not
  concave.

Card's expected values: 3/4, 1/2, <= 1/2, 0, 0 (A); 3/4, 1/2, 1/2 (T1); h maximal (3/4) at
c0 = -2. Data (tidy): columns ``instance``, ``quantity``, ``x``, ``value``; quantities
``optimum``, ``best_markov``, ``randomized_markov`` (x = p), ``no_stock_greedy``,
``greedy_F``, ``h`` (x = c0).

Deviations: none.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """``n_p``: points of the randomised-Markov sweep p in [0, 1]; ``c0_quarters``: h(c0) is
    evaluated at c0 = k/4 for k in [-c0_quarters, c0_quarters // 4] (the card's table spans
    [-4, 1/2])."""

    n_p: int = 21
    c0_quarters: int = 20

    def __post_init__(self) -> None:
        check_int("n_p", self.n_p, low=2)
        check_int("c0_quarters", self.c0_quarters, low=1)


DEFAULT = Config()
QUICK = Config(n_p=11, c0_quarters=16)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All quantities of the module docstring (deterministic; ``rng`` is unused).

    >>> df = run(QUICK, rng=np.random.default_rng(0))
    >>> df.query("instance == 'A' and quantity == 'optimum'")["value"].tolist()
    [0.75]
    """
    from rlsandbox.algorithms.distributional import (best_markov, cvar, cvar_outer,
                                                     markov_greedy_dp,
                                                     randomized_markov_curve, stock_dp,
                                                     threshold)
    from rlsandbox.mdps.distributional import instance_a, instance_t1

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_exact.Config, got "
                        f"{type(config).__name__}")
    rows: list[tuple] = []

    def add(inst: str, q: str, x: Any, v: Any) -> None:
        rows.append((inst, q, float(x), float(v)))

    half = Fraction(1, 2)
    A, T1 = instance_a(), instance_t1()
    F = cvar(half)
    c0s = [Fraction(k, 4) for k in range(-config.c0_quarters, 3)]
    res = cvar_outer(A, half, candidates=c0s)
    add("A", "optimum", 0, res.value)
    add("A", "best_markov", 0, best_markov(A, F)[0])
    ps = [Fraction(k, config.n_p - 1) for k in range(config.n_p)]
    for p, v in zip(ps, randomized_markov_curve(A, F, np.array([0, 0, 0]),
                                                np.array([0, 1, 0]), ps)):
        add("A", "randomized_markov", p, v)
    add("A", "no_stock_greedy", 0, markov_greedy_dp(A, F).value)
    add("A", "greedy_F", 0, stock_dp(A, F, 0).value)
    for c, h in zip(res.candidates, res.h):
        add("A", "h", c, h)
    f = threshold()
    add("T1", "optimum", 0, stock_dp(T1, f, -1).value)
    add("T1", "best_markov", 0, best_markov(T1, f, -1)[0])
    for p, v in zip(ps, randomized_markov_curve(T1, f, np.array([0, 0, 0]),
                                                np.array([0, 1, 0]), ps, c0=-1)):
        add("T1", "randomized_markov", p, v)
    add("T1", "no_stock_greedy", 0, markov_greedy_dp(T1, f, -1).value)
    df = pd.DataFrame(rows, columns=["instance", "quantity", "x", "value"])
    df.attrs["diagnostics"] = {"A_c0_star": float(res.c0), "A_optimum": float(res.value)}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """(a, b) bars per method on A and T1; (c) the randomised-Markov curves against the
    stock-augmented optimum; (d) h(c0) on A. ``n_boot`` and ``rng`` are unused (exact)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 4.2), layout="constrained", dpi=90)
    axes = fig.subplots(1, 4)
    labels = {"optimum": "stock\noptimum", "best_markov": "best\nMarkov",
              "no_stock_greedy": "greedy DP\nno stock", "greedy_F": "A2 greedy\nwith F"}
    for ax, inst, title in ((axes[0], "A", "(a) Instance A: CVaR$_{1/2}$(G)"),
                            (axes[1], "T1", "(b) Instance T1: P(G >= 1)")):
        sub = data[data["instance"] == inst]
        names = [q for q in labels if (sub["quantity"] == q).any()]
        vals = [float(sub[sub["quantity"] == q]["value"].iloc[0]) for q in names]
        ax.bar(range(len(names)), vals, color=[f"C{i}" for i in range(len(names))])
        for i, v in enumerate(vals):
            ax.text(i, v + 0.01, f"{v:g}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(range(len(names)), [labels[q] for q in names], fontsize=8)
        ax.set_ylim(0, 0.9)
        ax.set_title(title)
    ax = axes[2]
    for inst, color in (("A", "C0"), ("T1", "C1")):
        sub = data[data["instance"] == inst]
        rnd = sub[sub["quantity"] == "randomized_markov"]
        ax.plot(rnd["x"], rnd["value"], color=color, marker="o", markersize=3,
                label=f"{inst}: randomized Markov")
        opt = float(sub[sub["quantity"] == "optimum"]["value"].iloc[0])
        ax.axhline(opt, color=color, linestyle="--", linewidth=1, label=f"{inst}: stock optimum")
    ax.set_xlabel("p = P(risky) at s1")
    ax.set_ylabel("objective")
    ax.set_ylim(0, 0.9)
    ax.set_title("(c) randomized Markov policies")
    ax.legend(fontsize=7)
    ax = axes[3]
    h = data[(data["instance"] == "A") & (data["quantity"] == "h")]
    ax.plot(h["x"], h["value"], marker="o", markersize=3)
    ax.axhline(h["value"].max(), color="0.6", linestyle="--", linewidth=0.8)
    ax.set_xlabel("initial stock c0")
    ax.set_ylabel(r"h(c0) = -c0 + J*(c0) / $\tau$")
    ax.set_title(r"(d) outer function on A, $\tau$ = 1/2 (not concave)")
    fig.suptitle("E1 (card §5.2): exact values in rationals; sandbox instances, not the "
                 "paper's experiments", fontsize=10)
    return fig
