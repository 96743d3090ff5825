"""T6 of the MDPO card: sample-based TRPO (Shani) and generative-model PMD (Xiao): the floor.

Tabular experiment [card ``shared/papers/mdpo.md`` §5.2, T6; §3.5(b), (c); claims C7, C11]:

* Shani's Sample-Based TRPO (:func:`rlsandbox.algorithms.mdpo.sample_based_trpo`, KL,
  constant t = 1) with M samples per iteration, restart distribution nu uniform or
  concentrated (99% on state 0, the rest uniform: a large C^{pi*} = ||d_mu^{pi*}/nu||_inf),
  evaluation distribution mu = rho uniform; rollouts truncated at T with
  gamma^T/(1-gamma) <= 0.01;
* Xiao's generative-model PMD (:func:`rlsandbox.algorithms.mdpo.sampled_pmd`, KL, t = 1),
  M rollouts of horizon H (gamma^H <= 0.01) per state-action pair and iteration;

on M1-like random dense MDPs (Dirichlet(0.5) rows, rewards U[0, 1), gamma = 0.9) with S = 8,
A = 3, 5 MDPs (children of the root seed's stream; each MDP's child also drives its
sampling), K = 30 iterations. Reported: the best-iterate gap min_{k<=K} mu.(V* - V^{pi_k})
(Shani's guarantee is for the best iterate) and the last-iterate gap, against M, mean over
MDPs with the card's 95% t-interval, and the reference slope M^-1/2.

Expected outcome (card T6): the floor shrinks roughly like 1/sqrt(M); a larger C^{pi*} gives a
larger floor (C11). The test asserts, for each of the three estimators, that the mean
best-iterate gap at the largest M is below that at the smallest M.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics``; full run ~85 s): the floor
shrinks with M, roughly like M^-1/2 over the whole range and faster at the end: mean
best-iterate gap 0.84, 0.61, 0.34, 0.064 (nu uniform) and 1.01, 0.71, 0.31, 0.079
(concentrated) for M = 10, 100, 1000, 10^4; last iterate 1.99, 1.29, 0.48, 0.081 (uniform).
Xiao's estimator (M rollouts for every pair, i.e. 24 M per iteration) reaches the exact
algorithm's own error at K = 30 (~0.03) already at M = 10: 0.19, 0.036, 0.035 for
M = 1, 10, 100. DIFFERS FROM THE CARD: the concentrated restart distribution
(C^{pi*} = 187 against 1.9 for uniform nu, means over the MDPs) does not give a clearly larger
floor: its best-iterate gaps are 20% larger at M = 10, 100, 10^4 and 10% smaller at M = 1000,
well inside the seed-to-seed spread (the t-intervals overlap everywhere). Shani's bound is a
worst case in C^{pi*}; on these dense MDPs every state is reached quickly from state 0, so the
d_nu-sampling of a concentrated nu is not much worse in practice.

Data (tidy): seed, estimator ("shani-uniform", "shani-concentrated", "xiao"), M, k,
quantity ("gap"), value.
Deviations: S = 8, A = 3 instead of M1's 20 x 4 (with 80 state-action pairs, M = 1000 samples
per iteration leave ~12 per pair and the runs stay far from any floor; M = 10^4 per
iteration on S = 8 costs ~6 s per run already); constant t = 1 (the card fixes no step; with
Shani's (1-gamma)/sqrt(k+1) the exact algorithm itself is still far from pi* at K = 30).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import sample_based_trpo, sampled_pmd
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps.mdpo import mdpo_random
from rlsandbox.measures import state_occupancy

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "ESTIMATORS"]

ESTIMATORS = ("shani-uniform", "shani-concentrated", "xiao")


@dataclass(frozen=True)
class Config:
    """T6 sizes: S, A, gamma of the random MDPs; n_seeds; K iterations; the sample sizes
    ``Ms`` of Shani's estimator and ``Ms_xiao`` (rollouts per pair) of Xiao's."""

    S: int = 8
    A: int = 3
    gamma: float = 0.9
    n_seeds: int = 5
    K: int = 30
    Ms: tuple[int, ...] = (10, 100, 1000, 10000)
    Ms_xiao: tuple[int, ...] = (1, 10, 100)

    def __post_init__(self) -> None:
        check_int("K", self.K, low=1)
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(S=5, A=2, gamma=0.8, n_seeds=3, K=10, Ms=(10, 1000), Ms_xiao=(1, 10))


def _concentrated(S: int) -> np.ndarray:
    nu = np.full(S, 0.01 / S)
    nu[0] += 0.99
    return nu


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T6 runs; MDP i and all its sampling come from ``rng.spawn(n_seeds)[i]``.

    Examples
    --------
    >>> df = run(Config(S=3, A=2, n_seeds=2, K=2, Ms=(5,), Ms_xiao=(1,)),
    ...          rng=np.random.default_rng(0))
    >>> sorted(df["estimator"].unique())
    ['shani-concentrated', 'shani-uniform', 'xiao']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "estimator", "M", "k", "quantity", "value")}
    g = config.gamma
    T_roll = math.ceil(math.log(0.01 * (1.0 - g)) / math.log(g))
    H = math.ceil(math.log(0.01) / math.log(g))
    C_pi = {"shani-uniform": [], "shani-concentrated": []}
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=g, rng=child)
        ref = T.reference(mdp)
        d_mu = np.asarray(state_occupancy(mdp, ref.pi_star))
        runs = []
        for name, nu in (("shani-uniform", np.full(config.S, 1.0 / config.S)),
                         ("shani-concentrated", _concentrated(config.S))):
            C_pi[name].append(float(np.max(d_mu / nu)))
            for M in config.Ms:
                runs.append((name, M, sample_based_trpo(mdp, K=config.K, step=1.0, M=M,
                                                        T=T_roll, rng=child, nu=nu)))
        for M in config.Ms_xiao:
            runs.append(("xiao", M, sampled_pmd(mdp, K=config.K, step=1.0, M=M, H=H,
                                                rng=child)))
        for name, M, res in runs:
            gap = np.maximum(T.gaps(ref, res.V), 0.0)
            for kk, v in enumerate(gap):
                cols["seed"].append(seed)
                cols["estimator"].append(name)
                cols["M"].append(int(M))
                cols["k"].append(kk)
                cols["quantity"].append("gap")
                cols["value"].append(float(v))
    df = pd.DataFrame(cols)
    best = df.groupby(["estimator", "M", "seed"])["value"].min().groupby(["estimator", "M"]).mean()
    last = df[df["k"] == config.K].groupby(["estimator", "M"])["value"].mean()
    df.attrs["diagnostics"] = {
        "T_shani": T_roll, "H_xiao": H,
        "mean_C_pi_star": {k: float(np.mean(v)) for k, v in C_pi.items()},
        "mean_best_gap": {f"{e}|M={m}": float(v) for (e, m), v in best.items()},
        "mean_last_gap": {f"{e}|M={m}": float(v) for (e, m), v in last.items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """(a) best-iterate and (b) last-iterate gap vs M (mean over MDPs, 95% t-interval), with a
    M^-1/2 reference through each estimator's first point; ``n_boot``/``rng`` unused."""
    from matplotlib.figure import Figure

    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    K = int(data["k"].max())
    colors = dict(zip(ESTIMATORS, ("C0", "C3", "C2")))
    labels = {"shani-uniform": "Shani, nu uniform", "shani-concentrated":
              "Shani, nu concentrated (large C^pi*)", "xiao": "Xiao generative (M per pair)"}
    for ax, which in zip(axes, ("best", "last")):
        for est in ESTIMATORS:
            sub = data[data["estimator"] == est]
            if which == "best":
                w = sub.groupby(["seed", "M"])["value"].min().unstack("M")
            else:
                w = sub[sub["k"] == K].pivot(index="seed", columns="M", values="value")
            Ms = w.columns.to_numpy(dtype=float)
            ci = t_interval(w.to_numpy())
            plot_t_band(ax, Ms, ci, color=colors[est], label=labels[est])
            ax.plot(Ms, ci.mean, "o", color=colors[est], markersize=3)
            if ci.mean[0] > 0:
                ax.plot(Ms, ci.mean[0] * np.sqrt(Ms[0] / Ms), color=colors[est],
                        linestyle=":", linewidth=0.9)
        ax.plot([], [], color="k", linestyle=":", linewidth=0.9, label="M^-1/2 reference")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("samples per iteration M (Xiao: rollouts per pair)")
        ax.set_title(f"({'a' if which == 'best' else 'b'}) {which}-iterate gap after K = {K}")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(r"$\mu \cdot (V^* - V^{\pi})$")
    axes[0].legend(fontsize=8, loc="lower left")
    n = int(data["seed"].nunique())
    fig.suptitle(
        f"Card T6: sample-based PMD on {n} random dense MDPs (S={config.S}, A={config.A}, "
        f"gamma={config.gamma}), KL steps t = 1. Mean over MDPs with 95% t-interval (lower "
        f"ends <= 0 not drawn)", fontsize=9)
    return fig
