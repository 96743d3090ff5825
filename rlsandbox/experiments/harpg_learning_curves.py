"""F4 ``harpg_learning_curves``: exact J(theta_t) against trajectories on a softmax garnet.

Card n_harpg.md §5.2 F4, the sandbox analog of the paper's CartPole/MuJoCo curves (card §5.1):
a garnet MDP (S = 10, A = 4, branching 3, gamma = 0.95, rho uniform; ``rng`` = ``garnet_seed``),
the tabular softmax class with theta_0 = 0, and the five methods of card §3 with the official
code's schedule shapes (card §3.5, :func:`~rlsandbox.algorithms.harpg.methods.code_schedule`,
eta_0 = 1), one trajectory per estimate (M = 1, the paper's batch-free setting), truncation
H = 2 log(T+1)/(1-gamma) (card pitfall 9). The step constant alpha_0 is chosen per method from
the grid ``alpha0_grid`` by the mean J at the end of the budget (same seeds for every method,
so the selection's optimism is shared); the CSV keeps every grid point.

Equal sample budget: every method gets ``budget`` trajectories; vanilla PG, N-MPG and N-PG-IGT
run ``budget`` iterations, HARPG and N-HARPG (two trajectories per iteration, one at t = 0)
run (budget + 1) // 2 (card pitfall 14). J(theta_t) is exact (linear solve), at log-spaced
checkpoints; J* from policy iteration.

Expected (card §5.1, a qualitative trend, not a number): the new methods are at least
competitive with vanilla PG at equal sample budget. Measured (root seed 0, DEFAULT: 4000
trajectories, 20 seeds; J(theta_0) = 10.73, J* = 15.94), final mean J with the selected alpha_0:
N-MPG 13.03 (alpha_0 = 3), N-PG-IGT 13.02 (3), vanilla PG 12.07 (0.3), N-HARPG 11.60 (1),
HARPG 11.13 (0.3). So N-PG-IGT (and plain N-MPG) beat vanilla PG, but **(N-)HARPG do not** at
this budget: this differs from the card's expectation. HARPG's curve is flat after ~15
trajectories: with unnormalised steps and GPOMDP estimates of size ~1/(1-gamma) = 20, even
alpha_0 = 0.3 (the smallest grid value) throws some replicates into saturated softmax regions
(card pitfall 8); N-HARPG pays two trajectories per iteration and its single-trajectory HVP is
heavy-tailed (pitfall 10). Not tuned further. The quick test asserts only that the best of
N-PG-IGT, HARPG, N-HARPG is at least vanilla PG's final mean J. Tabular softmax violates A3
(card pitfall 11): these curves illustrate the methods, they do not test the theorems.
Full run: 228 s wall on a loaded 2-core machine (52 s of CPU).

Deviations: the card's "mean +- s.e." is drawn as the mean with a 95% percentile-bootstrap band
over seeds (STYLE §9); QUICK uses a budget of 300 trajectories, 8 seeds and the grid {1}.

Data (tidy): ``method``, ``alpha0``, ``seed``, ``t``, ``trajectories``, ``J``, ``selected``
(the alpha_0 plotted for that method).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_float_array, check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "LABELS", "final_means"]

#: method key -> legend label (card §3 order).
LABELS = {"vanilla_pg": "Vanilla PG", "n_mpg": "N-MPG", "n_pg_igt": "N-PG-IGT",
          "harpg": "HARPG", "n_harpg": "N-HARPG"}


@dataclass(frozen=True)
class Config:
    """Sizes of F4: ``budget`` trajectories per run, ``n_seeds`` runs per (method, alpha_0),
    ``alpha0_grid``, ``n_checkpoints`` log-spaced checkpoints, the garnet (S, A, branching,
    gamma, garnet_seed)."""

    budget: int = 4000
    n_seeds: int = 20
    alpha0_grid: tuple[float, ...] = (0.3, 1.0, 3.0)
    n_checkpoints: int = 12
    S: int = 10
    A: int = 4
    branching: int = 3
    gamma: float = 0.95
    garnet_seed: int = 0

    def __post_init__(self) -> None:
        check_int("budget", self.budget, low=10)
        check_int("n_seeds", self.n_seeds, low=2)
        grid = check_float_array("alpha0_grid", self.alpha0_grid, ndim=1)
        if grid.size == 0 or np.any(grid <= 0):
            raise ValueError(f"alpha0_grid must hold positive step constants, got "
                             f"{self.alpha0_grid!r}")
        check_int("n_checkpoints", self.n_checkpoints, low=2)
        check_int("S", self.S, low=1)
        check_int("A", self.A, low=2)
        check_int("branching", self.branching, low=1, high=self.S)
        check_in_range("gamma", self.gamma, low=0.0, high=1.0, high_open=True)
        check_int("garnet_seed", self.garnet_seed, low=0)


DEFAULT = Config()
QUICK = Config(budget=300, n_seeds=8, alpha0_grid=(1.0,), n_checkpoints=6)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """One child stream per (method, alpha_0), spawned in the order of :data:`LABELS` x grid.

    Examples
    --------
    >>> df = run(Config(budget=20, n_seeds=2, alpha0_grid=(1.0,), n_checkpoints=3),
    ...          rng=np.random.default_rng(0))
    >>> sorted(df["method"].unique())[:2], bool(df["selected"].all())
    (['HARPG', 'N-HARPG'], True)
    """
    from rlsandbox.algorithms.harpg.methods import code_schedule, log_checkpoints
    from rlsandbox.algorithms.harpg.methods import run as run_method
    from rlsandbox.algorithms.harpg.theory import horizon
    from rlsandbox.mdps.harpg import softmax_garnet

    if not isinstance(config, Config):
        raise TypeError(f"config must be a harpg_learning_curves.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    prob = softmax_garnet(config.S, config.A, config.branching, config.gamma,
                          rng=config.garnet_seed)
    H = horizon(config.gamma, config.budget, 2.0)
    grid = [float(a) for a in config.alpha0_grid]
    children = iter(rng.spawn(len(LABELS) * len(grid)))
    frames = []
    for method, label in LABELS.items():
        T = (config.budget + 1) // 2 if method in ("harpg", "n_harpg") else config.budget
        ck = np.unique(np.concatenate([[0], log_checkpoints(T, config.n_checkpoints)]))
        for alpha0 in grid:
            tr = run_method(prob, method, theta0=np.zeros(prob.d), T=T, H=H, M=1,
                            replicates=config.n_seeds,
                            schedule=code_schedule(method, alpha0=alpha0), rng=next(children),
                            checkpoints=ck)
            J = np.asarray(prob.J(tr.theta.reshape(-1, prob.d))).reshape(config.n_seeds, -1)
            J_final = np.asarray(prob.J(tr.theta_final))
            x = np.append(tr.trajectories, tr.trajectories_total)
            vals = np.hstack([J, J_final[:, None]])
            frames.append(pd.DataFrame({
                "method": label, "alpha0": alpha0,
                "seed": np.repeat(np.arange(config.n_seeds), x.size),
                "t": np.tile(np.append(ck, T), config.n_seeds),
                "trajectories": np.tile(x, config.n_seeds), "J": vals.ravel()}))
    df = pd.concat(frames, ignore_index=True)
    last = df[df["trajectories"] == df.groupby("method")["trajectories"].transform("max")]
    best = last.groupby(["method", "alpha0"], sort=False)["J"].mean().reset_index()
    chosen = best.loc[best.groupby("method", sort=False)["J"].idxmax()]
    pick = dict(zip(chosen["method"], chosen["alpha0"]))
    df["selected"] = df["alpha0"] == df["method"].map(pick)
    df.attrs["diagnostics"] = {"J_star": float(prob.J_star), "J_theta0": float(prob.J(
        np.zeros(prob.d))), "H": H, "alpha0_selected": pick,
        "final_mean_J": final_means(df)}
    return df


def final_means(data: pd.DataFrame) -> dict[str, float]:
    """{method: mean over seeds of J at the end of the budget} for the selected alpha_0."""
    sel = data[data["selected"]]
    out = {}
    for method, sub in sel.groupby("method", sort=False):
        out[str(method)] = float(sub[sub["trajectories"] == sub["trajectories"].max()]["J"].mean())
    return out


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: mean J(theta_t) vs trajectories with bootstrap bands and the line J*; right: J* - J
    on a log scale. Only the selected alpha_0 of each method is drawn."""
    from matplotlib.figure import Figure

    from rlsandbox.mdps.harpg import softmax_garnet

    require_columns(data, {"method", "alpha0", "seed", "trajectories", "J", "selected"})
    prob = softmax_garnet(config.S, config.A, config.branching, config.gamma,
                          rng=config.garnet_seed)
    J_star = float(prob.J_star)
    fig = Figure(figsize=(13, 5.2), layout="constrained")
    ax, ax_gap = fig.subplots(1, 2)
    sel = data[data["selected"]]
    n = int(sel["seed"].nunique())
    for i, (label, sub) in enumerate(sel.groupby("method", sort=False)):
        table = sub.pivot(index="seed", columns="trajectories", values="J")
        x = np.maximum(table.columns.to_numpy(dtype=np.float64), 1.0)
        Y = table.to_numpy()
        a0 = float(sub["alpha0"].iloc[0])
        ci = bootstrap_ci(Y, rng=rng, n_boot=n_boot, statistic="mean")
        plot_band(ax, x, ci, color=f"C{i}", label=f"{label} (alpha_0 = {a0:g})")
        gap = bootstrap_ci(J_star - Y, rng=rng, n_boot=n_boot, statistic="mean")
        plot_band(ax_gap, x, gap, color=f"C{i}", label=label)
    ax.axhline(J_star, color="k", linestyle="--", linewidth=1, label="J* (policy iteration)")
    for a in (ax, ax_gap):
        a.set_xscale("log")
        a.set_xlabel("trajectories sampled (2 per HARPG iteration)")
        a.grid(True, which="major", alpha=0.3)
    ax_gap.set_yscale("log")
    ax.set_ylabel("J(theta_t) (exact)")
    ax_gap.set_ylabel("J* - J(theta_t)")
    # centre left: the empty band between the early curves and J* (upper left hid the J* line)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(0.0, 0.62))
    ax.set_title(f"garnet S = {config.S}, A = {config.A}, branching {config.branching}, "
                 f"gamma = {config.gamma}, softmax, theta_0 = 0", fontsize=10)
    ax_gap.set_title("optimality gap", fontsize=10)
    fig.suptitle(f"F4: learning curves at equal sample budget ({config.budget} trajectories, "
                 f"M = 1). Lines: mean over {n} seeds; bands: 95% bootstrap (B = {n_boot}); "
                 f"alpha_0 per method from {list(config.alpha0_grid)} by final mean J",
                 fontsize=9)
    return fig
