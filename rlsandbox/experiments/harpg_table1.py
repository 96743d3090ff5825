"""F5 ``harpg_table1``: the sample-complexity comparison of card §3.4, as a table.

Card n_harpg.md §5.2 F5: "static complexity table of §3.4 (mark which entries need IS,
second-order information, large batches)". Nothing is run: the rows restate card §3.4 and the
card's summary. Provenance per row: this paper's three methods are [paper] statements (card §1,
§4.1 N11); every other entry is, in the card's words, "as recalled, **unverified**". Where the
card's description of a method does not say whether it needs a large batch (or a double loop),
the cell says "not stated" instead of guessing.

Columns: ``method``, ``reference``, ``criterion`` ("global" = J* - E J(theta_T) <= eps under
Fisher non-degeneracy, card §3.4 last item; "stationary" = E||grad J|| <= eps), ``complexity``
(trajectories, as printed on the card), ``exponent`` k of eps^-k, ``gap_slope`` = -1/k (the
slope of the gap against trajectories that complexity implies; compare figure F3's measured
slopes on the weak-GD-tight instance), ``importance_sampling``, ``second_order``,
``large_batch``, ``single_loop``, ``in_sandbox`` (implemented in
:mod:`rlsandbox.algorithms.harpg`; "yes (baselines)": in :mod:`~rlsandbox.algorithms.harpg.baselines`,
not run for this table), ``provenance``.

The one computed column, ``measured_gap_slope``: for the rows whose method runs in the
sandbox (vanilla PG, N-PG-IGT, N-HARPG), the fitted slope of the in-class gap against
trajectories on the weak-GD-tight instance (I2 monotone, the setup of figure F3 panel (a):
theta_0 = (2, 2), code schedules with alpha_0 = 1, M = 16; slope on the last 5 of 10 log-spaced
checkpoints, 95% bootstrap CI over seeds), to set beside ``gap_slope``; "not run" elsewhere.
Measured (DEFAULT: T = 1e4, 64 seeds, root seed 0): vanilla PG -0.299 [-0.310, -0.289],
N-PG-IGT -0.481 [-0.508, -0.451], N-HARPG -0.532 [-0.597, -0.467] (card prototype at T = 5e4,
200 seeds: -0.333, -0.451, -0.575), against the complexities' -1/3 (Yuan et al.), -2/5, -1/2.
The quick test asserts that both new methods' slopes are steeper than vanilla PG's and within
0.1 of their exponents.

Deviations: the card lists the Hessian-aided momentum HA-MBPG (Huang et al. 2020) without a
rate; it is omitted. The measured column is our addition (the card's F5 is static).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "ROWS", "measured_slopes"]

_U = "as recalled, unverified (card §3.4)"
_P = "paper (card §1, §4.1 N11)"
_NS = "not stated"
_B = "yes (baselines)"
# (method, reference, criterion, complexity, exponent, IS, second order, large batch,
#  single loop, in sandbox, provenance)
ROWS = (
    ("Vanilla PG (REINFORCE/GPOMDP)", "e.g. Yuan et al. 2022", "stationary", "O(eps^-4)", 4.0,
     "no", "no", _NS, "yes", "yes", _U),
    ("STORM-PG", "Yuan, Lian, Liu, Zhou 2020", "stationary", "O(eps^-3)", 3.0, "yes", "no",
     "yes (d_0)", "yes", _B, _U),
    ("IS-MBPG", "Huang, Gao, Pei, Huang 2020", "stationary", "O(eps^-3)", 3.0, "yes", "no",
     "no", "yes", _B, _U),
    ("PAGE-PG", "Gargiani et al. 2022", "stationary", "O(eps^-3)", 3.0, "yes", "no",
     "yes (w.p. p)", "yes", _B, _U),
    ("HAPG", "Shen et al. 2019", "stationary", "O(eps^-3)", 3.0, "no", "yes (HVP)",
     "yes (epochs)", "no", _B, _U),
    ("SRVR-PG", "Xu, Gao, Gu 2020", "stationary", "O(eps^-3)", 3.0, "yes", "no", _NS, _NS,
     _B, _U),
    ("PG", "Liu, Zhang, Basar, Yin 2020", "global", "O~(eps^-4)", 4.0, "no", "no", _NS, "yes",
     "yes", _U),
    ("SRVR-PG", "Liu, Zhang, Basar, Yin 2020", "global", "O~(eps^-3)", 3.0, "yes", "no", _NS,
     _NS, _B, _U),
    ("momentum / STORM-type PG", "Ding, Zhang, Lavaei 2022", "global", "O~(eps^-3)", 3.0, "yes",
     "no", _NS, "yes", "no", _U),
    ("Vanilla PG", "Yuan et al. 2022", "global", "O~(eps^-3)", 3.0, "no", "no", _NS, "yes",
     "yes", _U),
    ("stochastic cubic-regularised Newton", "Masiha et al. 2022", "global", "O~(eps^-2.5)", 2.5,
     "no", "yes (Hessian)", _NS, "yes", "no", _U),
    ("  ... with variance reduction (average iterate)", "Masiha et al. 2022", "global",
     "O~(eps^-2)", 2.0, "no", "yes (Hessian)", "yes (growing)", "yes", "no", _U),
    ("N-PG-IGT (this paper)", "Fatkhullin et al. 2023", "global", "O~(eps^-2.5)", 2.5, "no",
     "no", "no (1 trajectory)", "yes", "yes", _P),
    ("HARPG / N-HARPG (this paper)", "Fatkhullin et al. 2023", "global", "O~(eps^-2)", 2.0,
     "no", "yes (HVP)", "no (2 trajectories)", "yes", "yes", _P),
)
COLUMNS = ("method", "reference", "criterion", "complexity", "exponent", "importance_sampling",
           "second_order", "large_batch", "single_loop", "in_sandbox", "provenance")


#: table method -> (sandbox method key) for the measured column
MEASURED = {"Vanilla PG (REINFORCE/GPOMDP)": "vanilla_pg", "PG": "vanilla_pg",
            "Vanilla PG": "vanilla_pg", "N-PG-IGT (this paper)": "n_pg_igt",
            "HARPG / N-HARPG (this paper)": "n_harpg"}


@dataclass(frozen=True)
class Config:
    """Sizes of the measured column: iterations T and seeds of the F3(a) setup."""

    T: int = 10_000
    n_seeds: int = 64

    def __post_init__(self) -> None:
        check_int("T", self.T, low=20)
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(T=1000, n_seeds=32)


def measured_slopes(config: Config, rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    """{method key: (slope, ci_lo, ci_hi)} of the gap against trajectories on I2 monotone (one
    child stream per method, in the order vanilla_pg, n_pg_igt, n_harpg)."""
    from rlsandbox.algorithms.harpg.methods import code_schedule, log_checkpoints
    from rlsandbox.algorithms.harpg.methods import run as run_method
    from rlsandbox.experiments.harpg_tracking_error import fit_slope
    from rlsandbox.mdps.harpg import logistic_monotone

    mono = logistic_monotone()
    ck = log_checkpoints(config.T, 10)
    out = {}
    keys = ("vanilla_pg", "n_pg_igt", "n_harpg")
    for key, child in zip(keys, rng.spawn(len(keys))):
        tr = run_method(mono, key, theta0=np.array([2.0, 2.0]), T=config.T, H=1, M=16,
                        replicates=config.n_seeds, schedule=code_schedule(key, alpha0=1.0),
                        rng=child, checkpoints=ck)
        gap = 1.0 - np.asarray(mono.J(tr.theta.reshape(-1, 2))).reshape(config.n_seeds, -1)
        out[key] = fit_slope(tr.trajectories.astype(np.float64), gap, rng=child, n_boot=200,
                             fit_last=5)
    return out


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """The table of :data:`ROWS` with ``gap_slope`` = -1/exponent and ``measured_gap_slope``.

    Examples
    --------
    >>> df = run(Config(T=40, n_seeds=2), rng=np.random.default_rng(0))
    >>> df.loc[df["method"].str.startswith("HARPG"), "gap_slope"].item()
    -0.5
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a harpg_table1.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    df = pd.DataFrame(list(ROWS), columns=list(COLUMNS))
    df.insert(5, "gap_slope", -1.0 / df["exponent"])
    fitted = measured_slopes(config, rng)
    df.insert(6, "measured_gap_slope", [
        "{:.3f} [{:.3f}, {:.3f}]".format(*fitted[MEASURED[m]]) if m in MEASURED else "not run"
        for m in df["method"]])
    df.attrs["diagnostics"] = {"measured_slopes": {k: list(v) for k, v in fitted.items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """The table as a figure; this paper's rows in bold. ``n_boot``, ``rng`` unused."""
    from matplotlib.figure import Figure

    missing = set(COLUMNS) - set(data.columns)
    if missing:
        raise ValueError(f"data lacks columns {sorted(missing)}; pass the DataFrame from run()")
    fig = Figure(figsize=(17, 6.2), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    shown = ["method", "reference", "criterion", "complexity", "gap_slope",
             "measured_gap_slope", "importance_sampling", "second_order", "large_batch",
             "single_loop", "in_sandbox"]
    head = ["method", "reference", "criterion", "trajectories", "gap slope -1/k",
            "measured slope (I2 monotone)", "IS", "2nd order", "large batch", "single loop",
            "in sandbox"]
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in row]
             for row in data[shown].itertuples(index=False)]
    t = ax.table(cellText=cells, colLabels=head, loc="center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(8)
    t.scale(1.0, 1.5)
    t.auto_set_column_width(list(range(len(head))))
    for i, row in enumerate(data.itertuples(index=False), start=1):
        if "this paper" in row.method:
            for j in range(len(head)):
                t[i, j].set_text_props(weight="bold")
        for j, col in enumerate(shown):
            if col in ("importance_sampling", "second_order", "large_batch") and \
                    str(getattr(row, col)).startswith("yes"):
                t[i, j].set_facecolor("#f6d5c8")
    ax.set_title("F5: sample complexity to reach eps (card §3.4). Shaded: needs importance "
                 "sampling, second-order information or large batches. Literature rows: as "
                 "recalled on the card, unverified; bold: this paper [paper].\nMeasured: gap "
                 f"slope vs trajectories on I2 monotone (F3(a) setup, T = {config.T}, "
                 f"{config.n_seeds} seeds, 95% bootstrap CI)", fontsize=10)
    return fig
