"""F6 of the LOOP card: regret and coverage against the radius multiplier c_beta (card §5.1).

Value-based tabular LOOP (exact planner (a), ``beta = c_beta (B+1)^2 log T``, ``B = sp(V*)``,
``c_sw = 4``) on RiverSwim-n (Osband et al. variant, start 0, mean rewards) for every
``c_beta`` in ``c_betas``, ``n_seeds`` runs each. Panel (a): gap-regret ``G(T)`` (card §2.2),
mean with 95% bootstrap CI, against ``c_beta`` on a log axis. Panel (b): the coverage frequency
of claim C3 — the fraction of runs in which the true ``f*`` stayed in the confidence set at
every step, ``max_t Exc_t(f*) <= beta`` (checked anytime with
:func:`rlsandbox.algorithms.loop.excess_path`), with a 95% Wilson interval. The vertical line
marks the derived anytime-coverage radius :func:`~rlsandbox.algorithms.loop.value_beta_theory`
(delta = 0.05) expressed as a ``c_beta``.

Expected outcome (card §3.9 prototype, §6 pitfall 14): a small ``c_beta`` gives low regret but
loses coverage (the theory's guarantee no longer applies); coverage reaches 1 well below the
theory value (which is conservative: ~9 on RiverSwim-4, ~12 on RiverSwim-6), while the regret
grows with ``c_beta`` (prototype on RiverSwim-6: ``c_beta = 0.02`` gives ~200, ``0.1`` ~1000-1300 at
T = 4e4).

Measured (full run, 10 seeds, root seed 0; RiverSwim-6, T = 2^15): coverage 0, 0, 0.5, 1, 1,
1, 1 and mean G = 24, 47, 128, 349, 1096, 1836, 4864 for c_beta = 0.001 ... 1; the derived
radius corresponds to c_beta = 12.3. So coverage is complete from c_beta = 0.03, 400x below the
derived radius, and the card's prototype value 0.02 (F1, F2) sits at the coverage transition.
G at c_beta = 0.1 (1096) matches the card's prototype (~1000-1300 at T = 4e4).

Deviations: the quick configuration uses RiverSwim-3, T = 2^11, 4 seeds and four ``c_beta``.

Data (tidy): ``c_beta``, ``seed``, ``T``, ``gap_regret``, ``plans``, ``covered`` (0/1),
``max_exc_over_beta``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.loop_common import check_rng_config
from rlsandbox.experiments.plotting import bootstrap_ci, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "wilson"]


@dataclass(frozen=True)
class Config:
    """Sizes of F6: RiverSwim size ``n``, horizon ``T``, ``n_seeds``, the ``c_betas``."""

    n: int = 6
    T: int = 2 ** 15
    n_seeds: int = 10
    c_betas: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0)

    def __post_init__(self) -> None:
        check_int("n", self.n, low=3, high=8)
        check_int("T", self.T, low=64)
        check_int("n_seeds", self.n_seeds, low=2)
        for i, c in enumerate(self.c_betas):
            check_in_range(f"c_betas[{i}]", c, low=0.0, low_open=True)


#: The published figure.
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(n=3, T=2 ** 11, n_seeds=4, c_betas=(1e-3, 1e-2, 0.1, 1.0))


def wilson(k: Any, n: int, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval of a binomial proportion k / n [wilson1927].

    Examples
    --------
    >>> lo, hi = wilson(np.array([0, 5]), 5)
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.0, 0.5655], [0.4345, 1.0])
    """
    k = np.asarray(k, dtype=np.float64)
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    # the interval contains p; rounding of mid - half at p = 0 (or mid + half at p = 1) could
    # put an end a few ulps on the wrong side of p
    return np.minimum(np.clip(mid - half, 0.0, 1.0), p), np.maximum(np.clip(mid + half, 0.0, 1.0), p)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """One run per ``c_beta`` and seed.

    Examples
    --------
    >>> import numpy as np
    >>> df = run(Config(n=3, T=128, n_seeds=2, c_betas=(0.1,)), rng=np.random.default_rng(0))
    >>> len(df), sorted(df.columns)[:3]
    (2, ['T', 'c_beta', 'covered'])
    """
    from rlsandbox.algorithms.loop import (excess_path, gap_regret, loop_value, true_hypothesis,
                                           value_beta_theory)
    from rlsandbox.mdps.loop import riverswim_model

    check_rng_config(config, Config, rng, "loop_beta_sensitivity")
    mdp = riverswim_model(config.n)
    f = true_hypothesis(mdp)
    B = float(f.V.max() - f.V.min())
    rows: dict[str, list] = {k: [] for k in ("c_beta", "seed", "T", "gap_regret", "plans",
                                             "covered", "max_exc_over_beta")}
    for c, child in zip(config.c_betas, rng.spawn(len(config.c_betas))):
        for seed, st in enumerate(child.spawn(config.n_seeds)):
            tr = loop_value(mdp, config.T, rng=np.random.default_rng(st), c_beta=c, reference=f)
            ratio = float(excess_path(tr, f).max() / tr.beta)
            for k, v in (("c_beta", c), ("seed", seed), ("T", config.T),
                         ("gap_regret", float(gap_regret(tr, mdp)[-1])), ("plans", tr.n_plans),
                         ("covered", int(ratio <= 1.0)), ("max_exc_over_beta", ratio)):
                rows[k].append(v)
    df = pd.DataFrame(rows)
    theory = value_beta_theory(mdp.S, mdp.A, B, config.T, 0.05) / \
        ((B + 1.0) ** 2 * np.log(config.T))
    g = df.groupby("c_beta")
    df.attrs["diagnostics"] = {
        "theory_c_beta": float(theory),
        "coverage_by_c_beta": {float(k): float(v) for k, v in g["covered"].mean().items()},
        "mean_G_by_c_beta": {float(k): float(v) for k, v in g["gap_regret"].mean().items()},
        "mean_plans_by_c_beta": {float(k): float(v) for k, v in g["plans"].mean().items()},
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Panel (a) G(T) vs c_beta; panel (b) coverage frequency vs c_beta (Wilson 95%)."""
    from matplotlib.figure import Figure

    from rlsandbox.algorithms.loop import true_hypothesis, value_beta_theory
    from rlsandbox.mdps.loop import riverswim_model

    require_columns(data, {"c_beta", "seed", "gap_regret", "covered"})
    fig = Figure(figsize=(11, 4.4), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    table = data.pivot_table(index="seed", columns="c_beta", values="gap_regret")
    c = table.columns.to_numpy(dtype=np.float64)
    ci = bootstrap_ci(table.to_numpy(dtype=np.float64), rng=rng, n_boot=n_boot,
                      statistic="mean")
    ax_a.errorbar(c, ci.center, yerr=[ci.center - ci.lo, ci.hi - ci.center], marker="o",
                  capsize=3, color="C0", label="LOOP-value G(T)")
    ax_a.set_yscale("log")
    ax_a.set_ylabel("gap-regret G(T)")
    cov = data.groupby("c_beta")["covered"]
    k, n = cov.sum().to_numpy(), int(cov.count().iloc[0])
    lo, hi = wilson(k, n)
    p = k / n
    ax_b.errorbar(c, p, yerr=[p - lo, hi - p], marker="s", capsize=3, color="C1",
                  label="coverage frequency (Wilson 95%)")
    ax_b.axhline(0.95, color="0.5", linestyle=":", linewidth=0.9, label="1 - delta = 0.95")
    ax_b.set_ylim(-0.05, 1.05)
    ax_b.set_ylabel("fraction of runs with f* in every confidence set")
    mdp = riverswim_model(config.n)
    f = true_hypothesis(mdp)
    B = float(f.V.max() - f.V.min())
    T = int(data["T"].iloc[0])
    theory = value_beta_theory(mdp.S, mdp.A, B, T, 0.05) / ((B + 1.0) ** 2 * np.log(T))
    for ax in (ax_a, ax_b):
        ax.axvline(theory, color="C3", linestyle="--", linewidth=1.0,
                   label=f"derived coverage radius (c_beta = {theory:.3g})")
        ax.set_xscale("log")
        ax.set_xlabel("c_beta  (beta = c_beta (B+1)^2 log T)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    ax_a.set_title(f"(a) regret at T = {T}")
    ax_b.set_title("(b) coverage of f* (claim C3), anytime")
    fig.suptitle(f"LOOP card F6: RiverSwim-{config.n}; {n} seeds per c_beta, bars: 95% "
                 f"percentile-bootstrap CI of the mean (B={n_boot}) / Wilson interval.",
                 fontsize=9)
    return fig
