"""E2: the CVaR frontier and the target curve of the lattice casino (Instance C), exact.

A sandbox figure for the distributional-DP card [card §5.2 E2]; no figure of the paper is
regenerated (card §5.1). Instance C (gamma = 1/2, stop / bet / small) is a lattice instance:
the stock-augmented equation is solved exactly on the in-band lattice (1/4)Z (A5-L) with the
analytic continuation outside the band (card C10).

* (a) ``opt CVaR_tau`` = max over c0 in (1/4)Z ∩ [-4, 4] of ``-c0 + J*_min(c0)/tau`` against
  tau, with the CVaR of the risk-neutral policy (bet forever) overlaid, and c0*(tau) on a
  second axis (card C6 table).
* (b) ``P*(c0 + G >= 0)`` against c0 (card C12), a step function.

The risk-neutral policy's return ``sum_t 2^-t R_t`` (R = +-1, P(+1) = 0.6) has infinite
support; its law is computed on the dyadic grid to depth ``depth`` (every truncated return
is within 2^(1 - depth) of the full one; so is its CVaR).

Card values: opt CVaR_tau = 0, 0, 0, 0.04, 0.2380, 0.4 at tau = 0.1, 0.25, 0.5, 0.75, 0.9, 1
with c0* = 0, 0, 0, -1, -7/4, -2 (at tau = 1 every c0 <= -2 is optimal; our tie rule reports
the smallest); risk-neutral -1.5764, -1.1527, -0.5782, -0.0518, 0.2300, 0.4; P* = 0.216,
0.36, 0.36, 0.6, 0.6, 0.6, 0.68, 1 at c0 = -7/4 .. 0.

Data (tidy): ``quantity`` in {"opt_cvar", "c0_star", "risk_neutral_cvar"} (x = tau) and
"p_star" (x = c0); ``value``.

Deviations: none.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "dyadic_markov_law"]


@dataclass(frozen=True)
class Config:
    """``n_tau``: levels tau = k / n_tau, k = 1..n_tau (plus the card's six); ``depth``: the
    truncation of the risk-neutral law (error <= 2^(1 - depth))."""

    n_tau: int = 40
    depth: int = 18

    def __post_init__(self) -> None:
        check_int("n_tau", self.n_tau, low=1)
        check_int("depth", self.depth, low=1, high=24)


DEFAULT = Config()
QUICK = Config(n_tau=10, depth=14)
CARD_TAUS = (Fraction(1, 10), Fraction(1, 4), Fraction(1, 2), Fraction(3, 4), Fraction(9, 10),
             Fraction(1))


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
    """All quantities of the module docstring (deterministic; ``rng`` is unused).

    >>> df = run(QUICK, rng=np.random.default_rng(0))
    >>> df.query("quantity == 'opt_cvar' and x == 0.75")["value"].tolist()
    [0.04]
    """
    from rlsandbox.algorithms.distributional import build_lattice, cvar_utility, threshold
    from rlsandbox.mdps.distributional import instance_c

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_casino.Config, got "
                        f"{type(config).__name__}")
    C = instance_c()
    stocks = [Fraction(k, 4) for k in range(-16, 17)]
    lat = build_lattice(C, cvar_utility(), stocks)
    J, _ = lat.solve()
    ind = build_lattice(C, threshold(), stocks)
    P, _ = ind.solve()
    rn = dyadic_markov_law([(0.6, 1.0), (0.4, -1.0)], config.depth)
    taus = sorted(set(CARD_TAUS) | {Fraction(k, config.n_tau) for k in range(1, config.n_tau + 1)})
    rows: list[tuple] = []
    for tau in taus:
        h = [(-c + lat.value(J, 0, c) / tau, c) for c in stocks]
        best = max(v for v, _ in h)
        c_star = min(c for v, c in h if v == best)
        rows += [("opt_cvar", float(tau), float(best)), ("c0_star", float(tau), float(c_star)),
                 ("risk_neutral_cvar", float(tau), float(rn.cvar(float(tau))))]
    for c in stocks:
        rows.append(("p_star", float(c), float(ind.value(P, 0, c))))
    df = pd.DataFrame(rows, columns=["quantity", "x", "value"])
    df.attrs["diagnostics"] = {"lattice_states": len(lat), "truncation": 2.0 ** (1 - config.depth)}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """(a) CVaR frontier with c0* on a second axis; (b) P*(c0 + G >= 0) step curve."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.2), layout="constrained", dpi=90)
    ax, bx = fig.subplots(1, 2)
    q = lambda name: data[data["quantity"] == name]            # noqa: E731
    ax.plot(q("opt_cvar")["x"], q("opt_cvar")["value"], marker="o", markersize=3,
            label="optimal (stock-augmented, A4 + A5-L)")
    ax.plot(q("risk_neutral_cvar")["x"], q("risk_neutral_cvar")["value"], marker="s",
            markersize=3, label="risk-neutral policy (bet forever)")
    ax.set_xlabel(r"level $\tau$")
    ax.set_ylabel(r"CVaR$_\tau$(G)")
    twin = ax.twinx()
    twin.step(q("c0_star")["x"], q("c0_star")["value"], where="mid", color="0.5",
              linestyle=":", label="c0*(tau)")
    twin.set_ylabel("c0* (dotted)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("(a) Instance C: CVaR frontier (exact lattice)")
    bx.step(q("p_star")["x"], q("p_star")["value"], where="post")
    bx.set_xlabel("initial stock c0 (target theta = -c0)")
    bx.set_ylabel("P*(c0 + G >= 0)")
    bx.set_title("(b) optimal probability of reaching the target")
    fig.suptitle(f"E2 (card §5.2), Instance C, gamma = 1/2; risk-neutral law truncated at depth "
                 f"{config.depth}", fontsize=10)
    return fig
