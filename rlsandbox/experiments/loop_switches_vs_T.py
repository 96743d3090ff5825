"""F2 of the LOOP card: number of re-plans N(T) against log T (card shared/papers/loop.md §5.1).

LOOP keeps its hypothesis until its own excess loss exceeds ``c_sw * beta`` (card §3.1); the
switching lemma (card §3.4, [R]) says ``N(T) = O(kappa_G log T)`` with ``kappa_G = O~(SA)`` for a
tabular class. UCRL2 re-plans at every episode start and has at most ``S A log2(8 T / (S A))``
episodes [jaksch2010, Prop. 18]. Without the lazy test (``c_sw = 0``) LOOP re-plans at every
step: ``N(T) = T``.

On RiverSwim-n (Osband et al. variant, start 0): value-based tabular LOOP with the exact planner
(a), ``c_beta = 0.02``, for each ``c_sw`` in ``c_sws``; UCRL2 (paper radii); the episode bound;
and LOOP with ``c_sw = 0`` for ``T <= T_no_switch`` (one seed: N(T) = T does not depend on it;
each of its re-plans solves A^S SOCPs, which is why it runs only for a short horizon).
Panel (a): N(T) against T on a log x-axis (a straight line means N(T) = a + b log T), mean over
seeds with a 95% bootstrap CI. Panel (b): the same on log-log axes with ``N(T) = T``.

Expected outcome (card §4 C2, §3.9 prototype): LOOP's N(T) grows like ``a + b log T``, far
below UCRL2's episode count (prototype on RiverSwim-6: 13-15 re-plans at T = 4e4 against 71
episodes at 2e4) and below ``S A log T``; a larger ``c_sw`` re-plans less.

FOPO [wei2021; card §3.7] re-plans on determinant doubling of ``Lam_t = I + sum phi phi^T``;
with ``||phi|| <= 1``, ``det Lam_T <= (1 + T / d)^d``, so ``N(T) <= 1 + d log2(1 + T / d)``
(drawn in panel (a)). It runs on the card's linear instance (a random linear AMDP, §5.2, with
``S = fopo_S``, ``A = 2``, ``d = fopo_d``; instance drawn once from the figure's rng) for
``fopo_seeds`` seeds (fewer than LOOP's: each FOPO re-plan enumerates A^S SOCPs). Note that its
N(T) is on a different MDP than LOOP's and UCRL2's (RiverSwim): the comparison is of growth
shapes, not levels.

Deviations: the quick configuration uses RiverSwim-3 (8 SOCPs per re-plan) with 5 seeds and
T = 2^13, and FOPO on S = 3, d = 2 with 2 seeds.

Data (tidy): one row per method x seed x T: ``method``, ``seed``, ``T``, ``plans``,
``policy_changes`` (re-plans whose policy differs from the previous plan's, up to T).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.loop_regret_vs_T import time_grid
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "fopo_bound", "fopo_label"]


@dataclass(frozen=True)
class Config:
    """Sizes and parameters of F2.

    Attributes
    ----------
    n : RiverSwim size.
    T : horizon of the runs.
    n_seeds : runs per method (>= 2).
    c_beta : radius multiplier of value-based LOOP.
    c_sws : switching multipliers (> 0) of the lazy test.
    T_no_switch : horizon of the single ``c_sw = 0`` run.
    points_per_octave : recording times per doubling of T.
    fopo_S, fopo_d : size and feature dimension of FOPO's random linear AMDP (A = 2).
    fopo_seeds : FOPO runs (>= 2).
    """

    n: int = 6
    T: int = 2 ** 17
    n_seeds: int = 20
    c_beta: float = 0.02
    c_sws: tuple[float, ...] = (2.0, 4.0, 8.0)
    T_no_switch: int = 2 ** 6
    points_per_octave: int = 2
    fopo_S: int = 6
    fopo_d: int = 4
    fopo_seeds: int = 5

    def __post_init__(self) -> None:
        check_int("n", self.n, low=3)
        check_int("T", self.T, low=64)
        check_int("n_seeds", self.n_seeds, low=2)
        check_in_range("c_beta", self.c_beta, low=0.0, low_open=True)
        if not isinstance(self.c_sws, tuple) or not self.c_sws:
            raise TypeError(f"c_sws must be a non-empty tuple of floats, got {self.c_sws!r}")
        for i, c in enumerate(self.c_sws):
            check_in_range(f"c_sws[{i}]", c, low=0.0, low_open=True)
        check_int("T_no_switch", self.T_no_switch, low=2, high=self.T)
        check_int("points_per_octave", self.points_per_octave, low=1)
        check_int("fopo_S", self.fopo_S, low=2)
        check_int("fopo_d", self.fopo_d, low=1)
        check_int("fopo_seeds", self.fopo_seeds, low=2)


#: The published figure: about 4 minutes on one core.
DEFAULT = Config()
#: What the test suite runs.
QUICK = Config(n=3, T=2 ** 13, n_seeds=5, T_no_switch=2 ** 4, fopo_S=3, fopo_d=2,
               fopo_seeds=2)


def fopo_bound(T: Any, d: int, lam: float = 1.0) -> np.ndarray:
    """FOPO's re-plan bound ``1 + d log2(1 + T / (d lam))`` for ``||phi|| <= 1`` (module
    docstring; [wei2021]; card §4 C2).

    >>> float(fopo_bound(8, 2))
    5.643856189774724
    """
    return 1.0 + d * np.log2(1.0 + np.asarray(T, dtype=np.float64) / (d * lam))


def fopo_label(config: Config) -> str:
    """The method name of FOPO's rows."""
    return f"FOPO (linear AMDP S={config.fopo_S}, d={config.fopo_d})"


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run LOOP for every ``c_sw``, UCRL2, one LOOP run with ``c_sw = 0``, and FOPO.

    Seed ``i`` gets ``rng.spawn(n_seeds)[i]``, spawning one child per method (legend order);
    the ``c_sw = 0`` run uses seed 0's last child. Then ``rng.spawn(1 + fopo_seeds)``: the
    linear instance, then one child per FOPO seed.

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(n=3, T=128, n_seeds=2, c_sws=(4.0,), T_no_switch=4, fopo_S=2, fopo_d=2,
    ...              fopo_seeds=2)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> df[df["method"] == "LOOP c_sw=0"]["plans"].tolist()      # N(T) = T
    [1, 2, 3, 4]
    """
    from rlsandbox.algorithms.loop import (episode_bound, fopo, loop_value, true_hypothesis,
                                           ucrl2)
    from rlsandbox.mdps.linear import random_linear_mdp
    from rlsandbox.mdps.loop import riverswim_model

    if not isinstance(config, Config):
        raise TypeError(f"config must be a loop_switches_vs_T.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    mdp = riverswim_model(config.n)
    f_star = true_hypothesis(mdp)
    grid = time_grid(config.T, config.points_per_octave)
    methods = [f"LOOP c_sw={c:g}" for c in config.c_sws] + ["UCRL2"]
    rows: dict[str, list] = {k: [] for k in ("method", "seed", "T", "plans", "policy_changes")}

    def record(method: str, seed: int, tr: Any, times: np.ndarray) -> None:
        N = tr.plans_by(times)
        changed = np.concatenate([[0], (tr.pi[1:] != tr.pi[:-1]).any(axis=1).astype(int)])
        rows["method"] += [method] * times.size
        rows["seed"] += [seed] * times.size
        rows["T"] += times.tolist()
        rows["plans"] += N.tolist()
        rows["policy_changes"] += np.cumsum(changed)[N - 1].tolist()

    children = rng.spawn(config.n_seeds)
    for seed, child in enumerate(children):
        streams = child.spawn(len(methods) + 1)
        for method, stream in zip(methods, streams):
            g = np.random.default_rng(stream)
            if method == "UCRL2":
                tr = ucrl2(mdp, config.T, rng=g)
            else:
                tr = loop_value(mdp, config.T, rng=g, c_beta=config.c_beta,
                                c_sw=float(method.split("=")[1]), reference=f_star)
            record(method, seed, tr, grid)
        if seed == 0:
            tr = loop_value(mdp, config.T_no_switch, rng=np.random.default_rng(streams[-1]),
                            c_beta=config.c_beta, c_sw=0.0, reference=f_star)
            record("LOOP c_sw=0", 0, tr, np.arange(1, config.T_no_switch + 1))
    inst, *fopo_children = rng.spawn(1 + config.fopo_seeds)
    lin = random_linear_mdp(config.fopo_S, 2, config.fopo_d, rng=np.random.default_rng(inst))
    for seed, child in enumerate(fopo_children):
        record(fopo_label(config), seed, fopo(lin, config.T, rng=np.random.default_rng(child)),
               grid)
    df = pd.DataFrame(rows)
    final = df[df["T"] == config.T].groupby("method")["plans"].mean()
    SA = mdp.S * mdp.A
    df.attrs["diagnostics"] = {
        "mean_plans_at_T": {k: float(v) for k, v in final.items()},
        "ucrl2_episode_bound_at_T": float(episode_bound(config.T, mdp.S, mdp.A)),
        "SA_log_T": float(SA * np.log(config.T)),
        "fopo_bound_at_T": float(fopo_bound(config.T, config.fopo_d)),
        "fopo_max_feature_norm": float(np.linalg.norm(lin.phi, axis=-1).max()),
    }
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Panel (a) N(T) vs log T with the UCRL2 bound; panel (b) log-log with N(T) = T."""
    import matplotlib
    from matplotlib.figure import Figure

    from rlsandbox.algorithms.loop import episode_bound

    require_columns(data, {"method", "seed", "T", "plans", "policy_changes"})
    methods = [m for m in dict.fromkeys(data["method"]) if m != "LOOP c_sw=0"]
    colors = matplotlib.colormaps["tab10"](np.arange(len(methods) + 1) % 10)
    fig = Figure(figsize=(12.5, 4.8), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    for method, color in zip(methods, colors):
        sub = data[data["method"] == method].pivot(index="seed", columns="T", values="plans")
        T = sub.columns.to_numpy(dtype=np.float64)
        ci = bootstrap_ci(sub.to_numpy(dtype=np.float64), rng=rng, n_boot=n_boot,
                          statistic="mean")
        for ax in (ax_a, ax_b):
            plot_band(ax, T, ci, color=color, label=method + (" episodes" if method == "UCRL2"
                                                              else " re-plans"))
    T = np.sort(data.loc[data["method"] != "LOOP c_sw=0", "T"].unique()).astype(np.float64)
    S, A = config.n, 2
    T_b = T[T >= S * A]
    for ax in (ax_a, ax_b):
        ax.plot(T_b, episode_bound(T_b, S, A), color="0.3", linestyle="--", linewidth=1.0,
                label="UCRL2 bound S A log2(8T/SA)")
        ax.plot(T, fopo_bound(T, config.fopo_d), color="0.5", linestyle="-.", linewidth=1.0,
                label=f"FOPO bound 1 + d log2(1 + T/d), d={config.fopo_d}")
    zero = data[data["method"] == "LOOP c_sw=0"]
    if not zero.empty:
        ax_b.plot(zero["T"], zero["plans"], color=colors[-1], marker=".", linestyle="none",
                  label="LOOP c_sw=0 (no low switching)")
        ax_b.plot(T, T, color="0.6", linestyle=":", linewidth=0.9, label="N(T) = T")
    ax_a.set_xscale("log")
    ax_a.set_xlabel("T (log scale)")
    ax_a.set_ylabel("number of re-plans N(T)")
    ax_a.set_title("(a) N(T) against log T (straight line: a + b log T)")
    ax_b.set_xscale("log")
    ax_b.set_yscale("log")
    ax_b.set_xlabel("T")
    ax_b.set_ylabel("N(T)")
    ax_b.set_title("(b) log-log, with the no-low-switching ablation")
    for ax in (ax_a, ax_b):
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    n = int(data.loc[data["method"] != "LOOP c_sw=0", "seed"].nunique())
    fig.suptitle(f"LOOP card F2: RiverSwim-{config.n}, value-based LOOP (exact planner, "
                 f"c_beta = {config.c_beta:g}) and UCRL2, mean over {n} seeds; FOPO on a random "
                 f"linear AMDP, {config.fopo_seeds} seeds;\nbands: 95% "
                 f"percentile-bootstrap CI of the mean (B={n_boot}).", fontsize=9)
    return fig
