"""F7 of the LOOP card: empirical AGEC ratios against T (card shared/papers/loop.md §2.4, §5.1).

Along value-based LOOP runs the dominance ratio ``rho_dom(T)`` and the transferability ratio
``rho_tr(T)`` (:func:`rlsandbox.algorithms.loop.agec_ratios`; card §4 C5) are lower estimates of
the AGEC components ``d_G, kappa_G``. The card expects both ``<= C d log T`` with ``d = S A``
(tabular) or the feature dimension (linear). Runs: tabular LOOP (planner (a), ``c_beta = 0.02``)
on RiverSwim-n, and linear LOOP (planner (b)) on a random linear AMDP (card §5.2,
``S = 6, A = 2``, ``d``), each for every horizon of ``Ts`` (one run per horizon and seed: the
ratios depend on ``T`` through ``beta`` and ``log T``). Mean over seeds with 95% bootstrap CIs;
dashed: the reference ``d log T`` (constant 1), dotted: ``log T`` (d' = 1).

Measured: both ratios stay below ``0.26 d log T`` and below ``0.82 log T`` (full run, 10 seeds,
T up to 2^15; quick: 0.26 and 0.62), i.e. *below* ``log T`` itself, so the card's d' = 1
negative control does not fail on these runs (claim ``loop.he2024.agec.linear`` uses a shrunken
radius as its control instead).

Data (tidy): ``run`` ("tabular" / "linear"), ``d``, ``seed``, ``T``, ``dominance``,
``transferability``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.loop_common import band_by, check_rng_config
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """Sizes of F7: RiverSwim size ``n``, random linear AMDP ``(S_lin, d_lin)``, horizons, seeds."""

    n: int = 4
    S_lin: int = 6
    d_lin: int = 3
    Ts: tuple[int, ...] = tuple(2 ** k for k in range(9, 16))
    n_seeds: int = 10

    def __post_init__(self) -> None:
        check_int("n", self.n, low=3, high=8)
        check_int("S_lin", self.S_lin, low=2, high=8)
        check_int("d_lin", self.d_lin, low=1)
        for i, t in enumerate(self.Ts):
            check_int(f"Ts[{i}]", t, low=16)
        check_int("n_seeds", self.n_seeds, low=2)


#: The published figure.
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(n=3, S_lin=3, d_lin=2, Ts=(2 ** 9, 2 ** 10), n_seeds=3)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Ratios of one run per (class, T, seed).

    Examples
    --------
    >>> import numpy as np
    >>> df = run(Config(n=3, S_lin=3, d_lin=2, Ts=(64,), n_seeds=2), rng=np.random.default_rng(0))
    >>> sorted(df["run"].unique()), sorted(int(d) for d in df["d"].unique())
    (['linear', 'tabular'], [2, 6])
    """
    from rlsandbox.algorithms.loop import agec_ratios, loop_value, loop_value_linear
    from rlsandbox.mdps.linear import random_linear_mdp
    from rlsandbox.mdps.loop import riverswim_model

    check_rng_config(config, Config, rng, "loop_agec_diagnostics")
    inst_rng, run_rng = rng.spawn(2)
    tab = riverswim_model(config.n)
    lin = random_linear_mdp(config.S_lin, 2, config.d_lin, rng=np.random.default_rng(inst_rng))
    lin_tab = lin.to_tabular(gamma=1.0)
    rows: dict[str, list] = {k: [] for k in ("run", "d", "seed", "T", "dominance",
                                             "transferability")}
    for seed, child in enumerate(run_rng.spawn(config.n_seeds)):
        for T, st in zip(config.Ts, child.spawn(len(config.Ts))):
            g_tab, g_lin = st.spawn(2)
            for name, tr, mdp, d in (
                    ("tabular", loop_value(tab, T, rng=np.random.default_rng(g_tab)), tab,
                     tab.S * tab.A),
                    ("linear", loop_value_linear(lin, T, rng=np.random.default_rng(g_lin)),
                     lin_tab, config.d_lin)):
                out = agec_ratios(tr, mdp, d=d)
                for k, v in (("run", name), ("d", d), ("seed", seed), ("T", T),
                             ("dominance", out["dominance"]),
                             ("transferability", out["transferability"])):
                    rows[k].append(v)
    df = pd.DataFrame(rows)
    df.attrs["diagnostics"] = {
        "max_ratio_over_d_log_T": float((df[["dominance", "transferability"]].max(axis=1)
                                         / (df["d"] * np.log(df["T"]))).max()),
        "max_ratio_over_log_T": float((df[["dominance", "transferability"]].max(axis=1)
                                       / np.log(df["T"])).max()),
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """One panel per class: rho_dom and rho_tr vs T, with d log T and log T."""
    from matplotlib.figure import Figure

    require_columns(data, {"run", "d", "seed", "T", "dominance", "transferability"})
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, name in zip(axes, ("tabular", "linear")):
        sub = data[data["run"] == name]
        long = pd.concat([sub.assign(ratio="dominance rho_dom", v=sub["dominance"]),
                          sub.assign(ratio="transferability rho_tr", v=sub["transferability"])])
        band_by(ax, long, "ratio", "T", "v", rng=rng, n_boot=n_boot)
        T = np.sort(sub["T"].unique()).astype(float)
        d = int(sub["d"].iloc[0])
        ax.plot(T, d * np.log(T), color="0.3", linestyle="--", label=f"d log T (d = {d})")
        ax.plot(T, np.log(T), color="0.6", linestyle=":", label="log T (d' = 1)")
        ax.set_xscale("log")
        ax.set_xlabel("T")
        ax.set_ylabel("ratio")
        what = (f"RiverSwim-{config.n}, planner (a)" if name == "tabular" else
                f"random linear AMDP S={config.S_lin}, d={config.d_lin}, planner (b)")
        ax.set_title(f"{name}: {what}", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"LOOP card F7: empirical AGEC ratios; mean over {data['seed'].nunique()} "
                 f"seeds, bands: 95% percentile-bootstrap CI (B={n_boot}).", fontsize=9)
    return fig
