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
sandbox, the fitted slope of the in-class gap against trajectories on the weak-GD-tight instance
(I2 monotone, the setup of figure F3 panel (a): theta_0 = (2, 2), M = 16 trajectories per
estimate, T iterations; slope on the last 5 of 10 log-spaced checkpoints, 95% bootstrap CI over
seeds), to set beside ``gap_slope``; "not run" elsewhere. Each method runs with its own paper's
schedule *shape* (column ``measured_schedule``); the constants are ours:

* vanilla PG, N-PG-IGT, N-HARPG: the code shapes of card §3.5 with alpha_0 = 1 (F3(a));
* STORM-PG (constant alpha, eta), PAGE-PG (constant alpha, restart probability p), SRVR-PG and
  HAPG (constant alpha, restart every ``epoch``): alpha = 0.25, STORM eta = 0.1, p = 0.1,
  epoch = 10, big batch 160 = 10 M (restarts at t = 0 and as stated). alpha = 0.25 is the largest
  of {1, 0.5, 0.25} at which no method's replicate wandered to theta < 0 (where the weak-GD
  constant collapses, card pitfall 8) in the quick run: at alpha = 1 the importance-weighted
  recursions diverge (theta down to -160, positive slopes), at 0.5 PAGE-PG still does;
* IS-MBPG and HA-MBPG (Huang et al. 2020): alpha_t = k/(m+t)^{1/3}, eta_{t+1} = c alpha_t^2 with
  k = 2, m = 8, c = 1 (alpha_0 = 1 as for vanilla PG, eta_1 = 1), a mini-batch of M = 16 (their
  own setting is one trajectory; M = 16 keeps the budget family of the column).

The card gives no expected slope for the §3.4 baselines (their complexities are for
stationarity, not the gap), so their rows are measured only; the quick test asserts no more
than that each of their gaps decreases with the budget (bootstrap CI of the slope below 0).
Measured (DEFAULT: T = 1e4, 64 seeds, root seed 0): vanilla PG -0.299 [-0.310, -0.289],
N-PG-IGT -0.481 [-0.508, -0.451], N-HARPG -0.532 [-0.597, -0.467] (card prototype at T = 5e4,
200 seeds: -0.333, -0.451, -0.575), against the complexities' -1/3 (Yuan et al.), -2/5, -1/2;
the §3.4 baselines (same T and seeds): STORM-PG -0.787 [-0.927, -0.676], IS-MBPG -0.638
[-0.721, -0.553], HA-MBPG -0.627 [-0.683, -0.568], PAGE-PG -0.613 [-0.724, -0.526], SRVR-PG
-0.735 [-0.860, -0.647], HAPG -0.757 [-0.855, -0.675]. These are steeper than N-HARPG's -0.53 on
this instance: the exponents of the theorems are worst cases under weak gradient domination,
and a non-normalised step that does not decay (or decays like t^{-1/3}) with a low-variance
direction behaves like gradient ascent, whose gap on J* - J ~ e^{-theta} falls like 1/t. We
make no claim from this (other step constants change it, and the literature rates are for
stationarity); it says that on this instance the slope ordering of card §3.4's complexities
does not extend to the variance-reduced baselines. The quick test asserts that both new methods'
slopes are steeper than vanilla PG's and within 0.1 of their exponents.

Deviations: the measured column is our addition (the card's F5 is static). HA-MBPG is listed
with the complexity of the paper's abstract (O(eps^-3) stationarity, one trajectory per
iteration as counted there); its update rule is read in the authors' code (see
:mod:`rlsandbox.algorithms.harpg.baselines`), which also uses clipped importance weights
(the column "IS" says so).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.plotting import require_columns

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
    ("HA-MBPG", "Huang, Gao, Pei, Huang 2020", "stationary", "O(eps^-3)", 3.0,
     "no (code: clipped IS)", "yes (HVP)", "no", "yes", _B,
     "unverified (card §3.4 names it; rate: the paper's abstract; update: authors' code)"),
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
            "HARPG / N-HARPG (this paper)": "n_harpg", "STORM-PG": "storm_pg",
            "IS-MBPG": "is_mbpg", "HA-MBPG": "ha_mbpg", "PAGE-PG": "page_pg",
            "HAPG": "hapg", "SRVR-PG": "srvr_pg"}

#: this paper's methods and vanilla PG (card-stated exponents), then the §3.4 baselines
OURS = ("vanilla_pg", "n_pg_igt", "n_harpg")
BASELINE_KEYS = ("storm_pg", "is_mbpg", "ha_mbpg", "page_pg", "srvr_pg", "hapg")

#: method key -> (function name in algorithms.harpg.baselines, its schedule keywords); M = 16
BASELINE_SETUP = {
    "storm_pg": ("storm_pg", {"alpha": 0.25, "eta": 0.1, "big_batch": 160}),
    "is_mbpg": ("is_mbpg", {"k": 2.0, "m": 8.0, "c": 1.0}),
    "ha_mbpg": ("ha_mbpg", {"k": 2.0, "m": 8.0, "c": 1.0}),
    "page_pg": ("page_pg", {"alpha": 0.25, "p": 0.1, "big_batch": 160}),
    "srvr_pg": ("srvr_pg", {"alpha": 0.25, "epoch": 10, "big_batch": 160}),
    "hapg": ("hapg", {"alpha": 0.25, "epoch": 10, "big_batch": 160}),
}
#: the "step schedule (measured)" column: this paper's methods (CODE_POWERS' shapes), then the
#: baselines formatted from BASELINE_SETUP's numbers
SCHEDULE_TEXT = {
    "vanilla_pg": "alpha_t = (2/(t+2))^(2/3)", "n_pg_igt": "2/(t+2), eta (2/(t+2))^(4/5)",
    "n_harpg": "2/(t+2), eta 2/(t+2)",
    **{key: text.format(**BASELINE_SETUP[key][1]) for key, text in {
        "storm_pg": "alpha {alpha:g}, eta {eta:g}, d_0: {big_batch}",
        "is_mbpg": "{k:g}/({m:g}+t)^(1/3), eta c alpha^2",
        "ha_mbpg": "{k:g}/({m:g}+t)^(1/3), eta c alpha^2",
        "page_pg": "alpha {alpha:g}, p {p:g}, batch {big_batch}",
        "srvr_pg": "alpha {alpha:g}, epoch {epoch}, batch {big_batch}",
        "hapg": "alpha {alpha:g}, epoch {epoch}, batch {big_batch}"}.items()}}


@dataclass(frozen=True)
class Config:
    """Sizes of the measured column: iterations T and seeds of the F3(a) setup, for this
    paper's methods (``T``, ``n_seeds``) and for the §3.4 baselines (``T_baselines``,
    ``n_seeds_baselines``; 0 skips them)."""

    T: int = 10_000
    n_seeds: int = 64
    T_baselines: int = 10_000
    n_seeds_baselines: int = 64

    def __post_init__(self) -> None:
        check_int("T", self.T, low=20)
        check_int("n_seeds", self.n_seeds, low=2)
        check_int("T_baselines", self.T_baselines, low=20)
        check_int("n_seeds_baselines", self.n_seeds_baselines, low=0)
        if self.n_seeds_baselines == 1:
            raise ValueError("n_seeds_baselines == 1: the slopes' bootstrap CIs need >= 2 seeds; "
                             "pass 0 to skip the baselines or >= 2")


DEFAULT = Config()
QUICK = Config(T=1000, n_seeds=32, T_baselines=1000, n_seeds_baselines=32)


def measured_slopes(config: Config, rng: np.random.Generator) -> dict[str, tuple[float, ...]]:
    """{method key: (slope, ci_lo, ci_hi)} of the gap against trajectories on I2 monotone (one
    child stream per method, in the order vanilla_pg, n_pg_igt, n_harpg, then, when
    ``config.n_seeds_baselines`` > 0, the keys of :data:`BASELINE_KEYS`)."""
    from rlsandbox.algorithms.harpg import baselines
    from rlsandbox.algorithms.harpg.methods import code_schedule, log_checkpoints
    from rlsandbox.algorithms.harpg.methods import run as run_method
    from rlsandbox.experiments.harpg_tracking_error import fit_slope
    from rlsandbox.mdps.harpg import logistic_monotone

    mono = logistic_monotone()
    keys = OURS + (BASELINE_KEYS if config.n_seeds_baselines > 0 else ())
    out = {}
    for key, child in zip(keys, rng.spawn(len(keys))):
        if key in OURS:
            R, ck = config.n_seeds, log_checkpoints(config.T, 10)
            tr = run_method(mono, key, theta0=np.array([2.0, 2.0]), T=config.T, H=1, M=16,
                            replicates=R, schedule=code_schedule(key, alpha0=1.0),
                            rng=child, checkpoints=ck)
        else:
            R, ck = config.n_seeds_baselines, log_checkpoints(config.T_baselines, 10)
            name, kw = BASELINE_SETUP[key]
            tr = getattr(baselines, name)(mono, theta0=np.array([2.0, 2.0]),
                                          T=config.T_baselines, H=1, M=16, replicates=R,
                                          rng=child, checkpoints=ck, **kw)
        gap = 1.0 - np.asarray(mono.J(tr.theta.reshape(-1, 2))).reshape(R, -1)
        out[key] = fit_slope(tr.trajectories.astype(np.float64), gap, rng=child, n_boot=200,
                             fit_last=5)
    return out


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """The table of :data:`ROWS` with ``gap_slope`` = -1/exponent and ``measured_gap_slope``.

    Examples
    --------
    >>> df = run(Config(T=40, n_seeds=2, n_seeds_baselines=0), rng=np.random.default_rng(0))
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
        "{:.3f} [{:.3f}, {:.3f}]".format(*fitted[MEASURED[m]])
        if MEASURED.get(m) in fitted else "not run" for m in df["method"]])
    df.insert(7, "measured_schedule", [SCHEDULE_TEXT[MEASURED[m]] if MEASURED.get(m) in fitted
                                       else "" for m in df["method"]])
    df.attrs["diagnostics"] = {"measured_slopes": {k: list(v) for k, v in fitted.items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """The table as a figure; this paper's rows in bold. ``n_boot``, ``rng`` unused."""
    from matplotlib.figure import Figure

    require_columns(data, COLUMNS)
    fig = Figure(figsize=(19, 6.8), layout="constrained")
    ax = fig.subplots()
    ax.axis("off")
    shown = ["method", "reference", "criterion", "complexity", "gap_slope",
             "measured_gap_slope", "measured_schedule", "importance_sampling", "second_order", "large_batch",
             "single_loop", "in_sandbox"]
    head = ["method", "reference", "criterion", "trajectories", "gap slope -1/k",
            "measured slope (I2 monotone)", "step schedule (measured)", "IS", "2nd order", "large batch", "single loop",
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
                 f"slope vs trajectories on I2 monotone (F3(a) setup, M = 16; this paper and "
                 f"vanilla PG: T = {config.T}, {config.n_seeds} seeds; §3.4 baselines, measured "
                 f"only, no card value: T = {config.T_baselines}, {config.n_seeds_baselines} "
                 f"seeds; 95% bootstrap CI)", fontsize=10)
    return fig
