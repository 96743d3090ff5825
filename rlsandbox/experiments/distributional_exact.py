"""E1 + E2: exact CVaR and target objectives on the card's Instances A, T1 and C, and the
Markov gap on random instances.

A sandbox figure for the distributional-DP card [card §5.2 E1, E2]; it regenerates no figure
of the paper (card §5.1). Everything is computed in exact rationals except the risk-neutral
law of Instance C (dyadic, exact in float64, truncated).

* (a) Instance A, CVaR_1/2 of the return: the optimum by the outer search over c0 with A2
  (A4, card C6), the best deterministic Markov policy (enumeration + A1), the non-augmented
  greedy DP (memo on (t, s), card C3 control) and A2 greedy with F = CVaR itself (card C4).
* (b) Instance T1, P(G >= 1): the optimum (A2 with f = 1{x >= 0}, c0 = -1), the best Markov
  policy and the non-augmented greedy DP.
* (c) Randomised Markov policies "risky w.p. p at s1" on A (CVaR = p/2) and T1 (1/2 for
  every p), against the stock-augmented optimum (card C3).
* (d) The outer function h(c0) = -c0 + 2 J*_min(c0) on A (card C6 table): not concave.
* (e) Instance C (gamma = 1/2, lattice, A5-L): opt CVaR_tau = max over c0 in (1/4)Z ∩ [-4, 4]
  against tau, with the CVaR of the risk-neutral policy (bet forever; its law on the dyadic
  grid to depth ``depth``, error <= 2^(1 - depth)) and c0*(tau) (card E2, C6).
* (f) Instance C: P*(c0 + G >= 0) against c0 (card C12).
* (g) Card C3 on ``n_random`` RG instances (gamma = 1, H = 3, f = 1{x >= 0}, c0 drawn from
  (1/2)Z ∩ [-4, 4]): the stock-augmented optimum against the best deterministic (t, s)-Markov
  policy.

Card's expected values: 3/4, 1/2, <= 1/2, 0, 0 (A); 3/4, 1/2, 1/2 (T1); h maximal (3/4) at
c0 = -2; Instance C opt CVaR_tau = 0, 0, 0, 0.04, 0.2380, 0.4 at tau = 0.1, 0.25, 0.5, 0.75,
0.9, 1 (c0* = 0, 0, 0, -1, -7/4, -2; at tau = 1 every c0 <= -2 is optimal, our tie rule gives
the smallest), risk-neutral -1.5764, -1.1527, -0.5782, -0.0518, 0.2300, 0.4; P* = 0.216,
0.36, 0.36, 0.6, 0.6, 0.6, 0.68, 1 at c0 = -7/4 .. 0; on RG "strictly worse on 7/200
instances (worst gap 1/8)". **Difference**: with RG as the card describes it (next states
uniform on all three states, c0 uniform on (1/2)Z ∩ [-4, 4]) we find far fewer strict gaps:
0 of 200 in the published figure (seed 0), 1 of 200 (worst gap 3/64) in another draw, 2-3 of
200 when next states avoid the terminal state; the card's RG details (the next-state and c0
distributions) are not specified precisely enough to reproduce its count.

Data (tidy): columns ``instance`` ("A", "T1", "C", "RG"), ``quantity``, ``x``, ``value``.
Quantities: ``optimum``, ``best_markov``, ``no_stock_greedy``, ``greedy_F`` (x = 0),
``randomized_markov`` (x = p), ``h`` (x = c0), ``opt_cvar`` / ``c0_star`` /
``risk_neutral_cvar`` (x = tau), ``p_star`` (x = c0), and for RG ``stock_optimum`` /
``best_markov`` (x = instance index).

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

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "dyadic_markov_law", "CARD_TAUS"]

CARD_TAUS = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(9, 10),
             Fraction(1))


@dataclass(frozen=True)
class Config:
    """Sizes of the figure.

    Attributes
    ----------
    n_p : points of the randomised-Markov sweep p in [0, 1].
    c0_quarters : h(c0) on A at c0 = k/4, k = -c0_quarters .. 2 (the card's table spans
        [-4, 1/2]).
    n_tau : levels tau = k / n_tau (plus the card's six) of the Instance C frontier.
    depth : truncation of the risk-neutral law on Instance C (error <= 2^(1 - depth)).
    n_random : RG instances of panel (g) (card: 200).
    """

    n_p: int = 21
    c0_quarters: int = 20
    n_tau: int = 40
    depth: int = 18
    n_random: int = 200

    def __post_init__(self) -> None:
        check_int("n_p", self.n_p, low=2)
        check_int("c0_quarters", self.c0_quarters, low=1)
        check_int("n_tau", self.n_tau, low=1)
        check_int("depth", self.depth, low=1, high=24)
        check_int("n_random", self.n_random, low=1)


DEFAULT = Config()
QUICK = Config(n_p=11, c0_quarters=16, n_tau=10, depth=14, n_random=20)


def dyadic_markov_law(outcomes: list[tuple[float, float]], depth: int):
    """Law of ``sum_{t<depth} 2^-t R_t`` for i.i.d. rewards with ``outcomes`` [(p, r)] (r a
    multiple of 1/2, |r| <= 1), on the grid k / 2^depth (exact in float64); a FiniteDist.

    >>> law = dyadic_markov_law([(0.5, 1.0), (0.5, -1.0)], 2)      # R_0 + R_1 / 2
    >>> law.pairs()
    [(-1.5, 0.25), (-0.5, 0.25), (0.5, 0.25), (1.5, 0.25)]
    """
    from rlsandbox.algorithms.distributional.dists import FiniteDist

    scale = 2 ** depth
    n = 4 * scale + 1
    p = np.zeros(n)
    p[2 * scale] = 1.0
    for t in range(depth):
        new = np.zeros(n)
        for q, r in outcomes:
            k = int(round(r * scale / 2 ** t))
            new[max(k, 0):n + min(k, 0)] += q * p[max(-k, 0):n - max(k, 0)]
        p = new
    keep = np.flatnonzero(p > 0)
    return FiniteDist._raw(zip(((keep - 2 * scale) / scale).tolist(), p[keep].tolist()),
                           False)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All quantities of the module docstring. ``rng`` draws the RG instances of panel (g)
    (one child stream per instance, spawned up front); everything else is deterministic.

    >>> df = run(Config(n_p=3, c0_quarters=8, n_tau=2, depth=8, n_random=2),
    ...          rng=np.random.default_rng(0))
    >>> df.query("instance == 'A' and quantity == 'optimum'")["value"].tolist()
    [0.75]
    """
    from rlsandbox.algorithms.distributional import (best_markov, build_lattice, cvar,
                                                     cvar_outer, cvar_utility,
                                                     markov_greedy_dp,
                                                     randomized_markov_curve, stock_dp,
                                                     threshold)
    from rlsandbox.mdps.distributional import (instance_a, instance_c, instance_t1,
                                               random_c0, random_rg)

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_exact.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    rows: list[tuple] = []

    def add(inst: str, q: str, x: Any, v: Any) -> None:
        rows.append((inst, q, float(x), float(v)))

    half = Fraction(1, 2)
    # ---- E1: Instances A and T1
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
    # ---- E2: Instance C on the exact lattice
    C = instance_c()
    stocks = [Fraction(k, 4) for k in range(-16, 17)]
    lat = build_lattice(C, cvar_utility(), stocks)
    J, _ = lat.solve()
    ind = build_lattice(C, threshold(), stocks)
    P, _ = ind.solve()
    rn = dyadic_markov_law([(0.6, 1.0), (0.4, -1.0)], config.depth)
    taus = sorted(set(CARD_TAUS) | {Fraction(k, config.n_tau)
                                    for k in range(1, config.n_tau + 1)})
    for tau in taus:
        h = [(-c + lat.value(J, 0, c) / tau, c) for c in stocks]
        best = max(v for v, _ in h)
        add("C", "opt_cvar", tau, best)
        add("C", "c0_star", tau, min(c for v, c in h if v == best))
        add("C", "risk_neutral_cvar", tau, rn.cvar(float(tau)))
    for c in stocks:
        add("C", "p_star", c, ind.value(P, 0, c))
    # ---- C3 on RG: stock-augmented optimum - best (t, s)-Markov, f = 1{x >= 0}, gamma = 1
    gaps = []
    for i, child in enumerate(rng.spawn(config.n_random)):
        m = random_rg(rng=child, H=3, gamma=Fraction(1))
        c0 = random_c0(child)
        stock, markov = stock_dp(m, f, c0).value, best_markov(m, f, c0)[0]
        gaps.append(stock - markov)
        add("RG", "stock_optimum", i, stock)
        add("RG", "best_markov", i, markov)
    df = pd.DataFrame(rows, columns=["instance", "quantity", "x", "value"])
    df.attrs["diagnostics"] = {
        "A_c0_star": float(res.c0), "A_optimum": float(res.value),
        "C_lattice_states": len(lat), "C_truncation": 2.0 ** (1 - config.depth),
        "RG_strict_gaps": int(sum(g > 0 for g in gaps)), "RG_instances": config.n_random,
        "RG_worst_gap": str(max(gaps)), "card_RG": "7/200 strictly worse, worst gap 1/8",
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """The seven panels of the module docstring (``n_boot`` and ``rng`` unused: exact)."""
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "quantity", "x", "value"})
    fig = Figure(figsize=(16, 7.6), layout="constrained", dpi=80)
    axes = fig.subplots(2, 4)
    labels = {"optimum": "stock\noptimum", "best_markov": "best\nMarkov",
              "no_stock_greedy": "greedy DP\nno stock", "greedy_F": "A2 greedy\nwith F"}

    def sel(inst: str, q: str) -> pd.DataFrame:
        return data[(data["instance"] == inst) & (data["quantity"] == q)]

    for ax, inst, title in ((axes[0, 0], "A", "(a) Instance A: CVaR$_{1/2}$(G)"),
                            (axes[0, 1], "T1", "(b) Instance T1: P(G >= 1)")):
        names = [q for q in labels if len(sel(inst, q))]
        vals = [float(sel(inst, q)["value"].iloc[0]) for q in names]
        ax.bar(range(len(names)), vals, color=[f"C{i}" for i in range(len(names))])
        for i, v in enumerate(vals):
            ax.text(i, v + 0.01, f"{v:g}", ha="center", va="bottom", fontsize=9)
        ax.set_xticks(range(len(names)), [labels[q] for q in names], fontsize=8)
        ax.set_ylim(0, 0.9)
        ax.set_title(title)
    ax = axes[0, 2]
    for inst, color, style in (("A", "C0", "--"), ("T1", "C1", ":")):
        rnd = sel(inst, "randomized_markov")
        ax.plot(rnd["x"], rnd["value"], color=color, marker="o", markersize=3,
                label=f"{inst}: randomized Markov")
        ax.axhline(float(sel(inst, "optimum")["value"].iloc[0]), color=color,
                   linestyle=style, linewidth=1.2, label=f"{inst}: stock optimum")
    ax.set_xlabel("p = P(risky) at s1")
    ax.set_ylim(0, 0.9)
    ax.set_title("(c) randomized Markov policies")
    ax.legend(fontsize=7, loc="lower right")
    ax = axes[0, 3]
    h = sel("A", "h")
    ax.plot(h["x"], h["value"], marker="o", markersize=3)
    ax.axhline(h["value"].max(), color="0.6", linestyle="--", linewidth=0.8)
    ax.set_xlabel("initial stock c0")
    ax.set_ylabel(r"h(c0) = -c0 + J*(c0) / $\tau$")
    ax.set_title(r"(d) h(c0) on A, $\tau$ = 1/2: not concave")
    ax = axes[1, 0]
    ax.plot(sel("C", "opt_cvar")["x"], sel("C", "opt_cvar")["value"], marker="o",
            markersize=3, label="optimal (A4 + A5-L)")
    ax.plot(sel("C", "risk_neutral_cvar")["x"], sel("C", "risk_neutral_cvar")["value"],
            marker="s", markersize=3, label="risk-neutral (bet forever)")
    ax.set_xlabel(r"level $\tau$")
    ax.set_ylabel(r"CVaR$_\tau$(G)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("(e) Instance C: CVaR frontier (exact)")
    ax = axes[1, 1]
    ax.step(sel("C", "c0_star")["x"], sel("C", "c0_star")["value"], where="mid")
    ax.set_xlabel(r"level $\tau$")
    ax.set_ylabel("c0*")
    ax.set_title(r"(e') Instance C: optimal initial stock c0*($\tau$)")
    ax = axes[1, 2]
    ax.step(sel("C", "p_star")["x"], sel("C", "p_star")["value"], where="post")
    ax.set_xlabel("initial stock c0 (target theta = -c0)")
    ax.set_ylabel("P*(c0 + G >= 0)")
    ax.set_title("(f) Instance C: optimal target probability")
    ax = axes[1, 3]
    stock = sel("RG", "stock_optimum")["value"].to_numpy()
    markov = sel("RG", "best_markov")["value"].to_numpy()
    strict = int((stock > markov).sum())
    ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.8)
    ax.scatter(markov, stock, s=12, c=np.where(stock > markov, "C3", "C2"))
    ax.set_xlabel("best (t, s)-Markov P(G >= -c0)")
    ax.set_ylabel("stock-augmented optimum")
    ax.set_title(f"(g) RG: {strict}/{stock.size} strict gaps (card: 7/200)")
    fig.suptitle("E1 + E2 (card §5.2): exact values; sandbox instances, not the paper's "
                 "experiments", fontsize=10)
    return fig
