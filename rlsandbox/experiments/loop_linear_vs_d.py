"""F4 of the LOOP card: linear AMDPs of growing feature dimension (card shared/papers/loop.md §5.1).

Random linear AMDPs (card §5.2 latent-mixture construction,
:func:`rlsandbox.mdps.linear.random_linear_mdp`: ``phi ~ Dirichlet(1_d)``, factors
``mu_k ~ Dirichlet(1_S)``, ``theta ~ U[0,1]^d``; a fresh instance per seed) with ``S`` states,
two actions and ``d`` in ``ds``. Methods, each for ``T`` steps:

* LOOP-value-linear: planner (b) with LOOP's lazy test (``c_beta = 0.02``, ``c_sw = 4``,
  ridge 1, ``B = sp(V*)``; :func:`rlsandbox.algorithms.loop.loop_value_linear`);
* FOPO: the same confidence set with determinant-doubling re-planning (card §3.7;
  :func:`~rlsandbox.algorithms.loop.fopo`, ``beta_F^2`` = the same radius);
* UCRL2 on the tabular form (paper radii), which ignores the features (``d = S A``);
* OLSVI.FH (card §3.7; :func:`~rlsandbox.algorithms.loop.olsvi_fh`): LSVI-UCB on blocks of
  ``H = ceil(T^{1/4})`` steps with all data, computationally efficient, regret
  ``O~(sqrt(sp(v*)) (d T)^{3/4})`` [R] against FOPO's ``O~(sp(v*) sqrt(d^3 T))``; its bonus
  multiplier ``0.1 H sqrt(d log T)`` is a sandbox choice [S] (the theory constant is not on
  the card).

Panel (a): mean gap-regret ``G(T)`` against ``d`` (95% bootstrap CI); panel (b): re-plans /
episodes (UCRL2) / blocks ``T / H`` (OLSVI.FH, one plan per block) against ``d`` with FOPO's bound
``1 + d log2(1 + T / d)``.

Expected outcome (card §3.5, §3.7, §4 C2, C9): LOOP and FOPO (same set, different schedule) have
comparable regret, far below UCRL2's (which explores all ``S A`` pairs with wide radii); LOOP's
lazy test re-plans no more often than FOPO's determinant doubling, and FOPO stays under its bound.
The card states no outcome for OLSVI.FH; by its rate (T^{3/4} against sqrt(T)) it is expected
above the two enumeration-based learners (the quick test asserts this ordering per d).

Measured (full run, 10 seeds, root seed 0, T = 2^15): mean G = 0.75 / 2.0 / 7.0 / 10.2
(LOOP-value-linear, d = 2 / 3 / 4 / 6), 0.62 / 1.3 / 2.6 / 5.5 (FOPO), 1005 / 858 / 685 / 850
(UCRL2); re-plans 7.7-9.3 (LOOP) against 24.7-50.3 (FOPO) and 55-58 UCRL2 episodes. As the card
expects, the linear learners are two to three orders of magnitude below UCRL2 and LOOP re-plans
far less than FOPO; FOPO's regret is slightly *lower* than LOOP's (about 2x at d = 4, 6): its
more frequent re-plans refresh the optimistic hypothesis sooner. OLSVI.FH (same instances
and seeds): mean G = 61 / 175 / 264 /
413 for d = 2 / 3 / 4 / 6 with T / H = 2341 blocks — between the enumeration-based learners and
UCRL2, growing with d, as its (d T)^{3/4} rate suggests. Full run 108 s on the shared machine.

Deviations: 10 seeds (not 20) to fit the 3-minute budget (FOPO solves 64 SOCPs at each of its
~50 re-plans at d = 6); the quick configuration uses S = 3, d in {2, 3}, T = 2^11 and 3 seeds. The
instances are ergodic with full-support transitions, which makes them easy (regret flattens fast).

Data (tidy): ``method``, ``d``, ``seed``, ``T``, ``gap_regret``, ``plans``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.loop_common import check_rng_config, gap_rows
from rlsandbox.experiments.plotting import bootstrap_ci, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS"]

METHODS = ("LOOP-value-linear", "FOPO", "UCRL2 (tabular)", "OLSVI.FH")


@dataclass(frozen=True)
class Config:
    """Sizes of F4: states ``S`` (A = 2), feature dimensions ``ds``, horizon ``T``, seeds."""

    S: int = 6
    ds: tuple[int, ...] = (2, 3, 4, 6)
    T: int = 2 ** 15
    n_seeds: int = 10

    def __post_init__(self) -> None:
        check_int("S", self.S, low=2, high=8)
        for i, d in enumerate(self.ds):
            check_int(f"ds[{i}]", d, low=1)
        check_int("T", self.T, low=64)
        check_int("n_seeds", self.n_seeds, low=2)


#: The published figure.
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(S=3, ds=(2, 3), T=2 ** 11, n_seeds=3)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Per d and seed: a fresh instance, then every method.

    Examples
    --------
    >>> import numpy as np
    >>> df = run(Config(S=3, ds=(2,), T=128, n_seeds=2), rng=np.random.default_rng(0))
    >>> sorted(df["method"].unique())
    ['FOPO', 'LOOP-value-linear', 'OLSVI.FH', 'UCRL2 (tabular)']
    """
    from rlsandbox.algorithms.loop import fopo, loop_value_linear, olsvi_fh, ucrl2
    from rlsandbox.mdps.linear import random_linear_mdp

    check_rng_config(config, Config, rng, "loop_linear_vs_d")
    rows: dict[str, list] = {}
    times = np.array([config.T])
    for d, child in zip(config.ds, rng.spawn(len(config.ds))):
        for seed, st in enumerate(child.spawn(config.n_seeds)):
            g_inst, *g_runs = st.spawn(1 + len(METHODS))
            lin = random_linear_mdp(config.S, 2, d, rng=np.random.default_rng(g_inst))
            mdp = lin.to_tabular(gamma=1.0)
            for method, g in zip(METHODS, g_runs):
                g = np.random.default_rng(g)
                if method == "LOOP-value-linear":
                    tr = loop_value_linear(lin, config.T, rng=g)
                elif method == "FOPO":
                    tr = fopo(lin, config.T, rng=g)
                elif method == "OLSVI.FH":
                    tr = olsvi_fh(lin, config.T, rng=g)
                else:
                    tr = ucrl2(mdp, config.T, rng=g)
                gap_rows(rows, tr, mdp, times, method=method, d=d, seed=seed)
    df = pd.DataFrame(rows)
    g = df.groupby(["method", "d"])
    df.attrs["diagnostics"] = {
        "mean_G": {f"{m} d={d}": float(v) for (m, d), v in g["gap_regret"].mean().items()},
        "mean_plans": {f"{m} d={d}": float(v) for (m, d), v in g["plans"].mean().items()},
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Panel (a) G(T) vs d per method; panel (b) re-plans vs d with FOPO's bound."""
    from matplotlib.figure import Figure

    require_columns(data, {"method", "d", "seed", "gap_regret", "plans"})
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    offsets = {m: 0.06 * (i - 1) for i, m in enumerate(METHODS)}
    for ax, col in zip(axes, ("gap_regret", "plans")):
        for i, method in enumerate(METHODS):
            sub = data[data["method"] == method].pivot_table(index="seed", columns="d",
                                                             values=col)
            d = sub.columns.to_numpy(dtype=np.float64)
            ci = bootstrap_ci(sub.to_numpy(dtype=np.float64), rng=rng, n_boot=n_boot,
                              statistic="mean")
            ax.errorbar(d + offsets[method], ci.center,
                        yerr=[ci.center - ci.lo, ci.hi - ci.center], marker="os^D"[i],
                        capsize=3, color=f"C{i}", label=method)
        ax.set_xlabel("feature dimension d")
        ax.set_yscale("log")
        ax.grid(True, alpha=0.3)
    ds = np.sort(data["d"].unique()).astype(float)
    T = int(data["T"].iloc[0])
    axes[1].plot(ds, 1 + ds * np.log2(1 + T / ds), color="0.4", linestyle="--",
                 label="FOPO bound 1 + d log2(1 + T/d)")
    axes[0].set_ylabel(f"gap-regret G(T), T = {T}")
    axes[1].set_ylabel("re-plans (LOOP, FOPO) / episodes (UCRL2) / blocks (OLSVI.FH)")
    axes[0].set_title("(a) regret against d")
    axes[1].set_title("(b) number of re-plans against d")
    for ax in axes:
        ax.legend(fontsize=7, loc="best")
    fig.suptitle(f"LOOP card F4: random linear AMDPs, S = {config.S}, A = 2, a fresh instance "
                 f"per seed; mean over {data['seed'].nunique()} seeds, bars: 95% "
                 f"percentile-bootstrap CI (B={n_boot}).", fontsize=9)
    return fig
