"""T5 of the MDPO card: inexact policy mirror descent, linear decrease down to an error floor.

Tabular experiment [card ``shared/papers/mdpo.md`` §5.2, T5] on Xiao's inexact PMD (card
§3.5(a), claim C6): PMD-KL with geometric steps eta_k = eta_0/gamma^k (eta_0 = 1) fed
Qhat_k = Q^{pi_k} + noise with ||noise||_inf <= tau, tau in {1e-3, 1e-2, 1e-1}, for two noise
patterns (:class:`rlsandbox.algorithms.mdpo.QNoise`): ``uniform`` (i.i.d. U[-tau, tau] per
(s, a) and iteration) and ``adversarial`` (-tau on the optimal action a*(s), +tau elsewhere).
Family M1 (random dense, S = 20, A = 4, gamma = 0.9, Dirichlet(0.5), rewards U[0, 1), rho
uniform), 5 MDPs (children of the root seed's stream; the uniform noise of MDP i draws from
its own child stream), mean over MDPs with the card's 95% t-interval
(:mod:`rlsandbox.experiments.mdpo_common`).

Plotted: delta_k = V*(rho) - V^{pi_k}(rho) against k, with the asymptotic floor
4 theta_rho tau/(1-gamma) of C6 (dotted, mean over MDPs) and C6's bound
(1 - 1/theta_rho)^k (delta_0 + Dstar_0/(gamma eta_0)) + 4 theta_rho tau/(1-gamma) (dashed).

Expected outcome (card T5): linear decrease, then a plateau below the floor (C6). The test
asserts every gap is below C6's bound (every MDP, pattern, tau, k before the step cap), every
final gap is below its floor, and, for the adversarial pattern, the mean final gap grows
with tau.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics`` of the JSON): every gap is
below its bound (largest ratio gap / bound 0.62, early on). The floors are loose: theta_rho
is about 16 here, so the floor 4 theta_rho tau/(1-gamma) is about 640 tau (64 at tau = 0.1)
while the gaps never exceed 10. The plateaus are far below it (mean final gap at K = 80,
uniform / adversarial: tau = 1e-3: 0 / 0; 1e-2: 0 / 0.0051; 1e-1: 0 / 0.60): uniform noise
averages out and the runs reach pi* exactly, while the adversarial pattern (-tau on a*)
holds them on a plateau that grows with tau once 2 tau exceeds some action gap of Q*. This
matches the card's "linear decrease, then plateau below the floor"; the plateau is visible
only for the adversarial pattern.

Data (tidy): seed, noise, tau, k, quantity ("gap", "bound", "floor"), value.
Deviations: the card prescribes no K or eta_0 (we use K = 80, eta_0 = 1); seeds are the
children of the root seed (gallery convention) instead of the card's seeds 0-4.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import QNoise, geometric, pmd
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps.mdpo import mdpo_random

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "NOISES"]

NOISES = ("uniform", "adversarial")


@dataclass(frozen=True)
class Config:
    """T5 sizes.

    Attributes
    ----------
    S, A, gamma : the M1 family (20, 4, 0.9)
    n_seeds : random MDPs (card: 5)
    K : PMD iterations (eta_0 / gamma^K must stay below the schedule's cap 1e12)
    taus : noise levels
    eta0 : first geometric step
    """

    S: int = 20
    A: int = 4
    gamma: float = 0.9
    n_seeds: int = 5
    K: int = 80
    taus: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    eta0: float = 1.0

    def __post_init__(self) -> None:
        check_int("K", self.K, low=1)
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(S=6, A=3, n_seeds=3, K=30)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T5 runs. MDP i and its uniform noise come from ``rng.spawn(n_seeds)[i]``.

    Examples
    --------
    >>> df = run(Config(S=4, A=2, n_seeds=2, K=3, taus=(0.1,)), rng=np.random.default_rng(0))
    >>> sorted(df["quantity"].unique())
    ['bound', 'floor', 'gap']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "noise", "tau", "k", "quantity", "value")}
    worst = 0.0
    g = config.gamma
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=g, rng=child)
        ref = T.reference(mdp)
        step = geometric(config.eta0, g)
        last = step.uncapped_until(config.K) + 1
        for noise_kind in NOISES:
            for tau in config.taus:
                noise = QNoise(tau, noise_kind, tuple(ref.pi_star)
                               if noise_kind == "adversarial" else None)
                res = pmd(mdp, K=config.K, step=step, noise=noise, rng=child)
                gap = np.maximum(T.gaps(ref, res.V), 0.0)   # -1e-15 round-off shown as 0
                D0 = float(T.dstar_kl(ref, res.logpi)[0])
                k = np.arange(config.K + 1)
                bound = T.xiao_inexact_bound(ref.theta_rho, float(gap[0]), D0, config.eta0, g,
                                             tau, k)
                bound[last + 1:] = np.nan                    # beyond the cap: no guarantee
                floor = np.full(k.shape, 4.0 * ref.theta_rho * tau / (1.0 - g))
                ok = np.isfinite(bound)
                worst = max(worst, float(np.max(gap[ok] / bound[ok])))
                for q, vals in (("gap", gap), ("bound", bound), ("floor", floor)):
                    for kk in k[np.isfinite(vals)]:
                        cols["seed"].append(seed)
                        cols["noise"].append(noise_kind)
                        cols["tau"].append(float(tau))
                        cols["k"].append(int(kk))
                        cols["quantity"].append(q)
                        cols["value"].append(float(vals[kk]))
    df = pd.DataFrame(cols)
    fin = df[(df["quantity"] == "gap") & (df["k"] == config.K)]
    df.attrs["diagnostics"] = {
        "max_gap_over_c6_bound": worst,
        "mean_final_gap": {f"{n}|tau={t:g}": float(v) for (n, t), v in
                           fin.groupby(["noise", "tau"])["value"].mean().items()},
        "mean_floor": {f"tau={t:g}": float(v) for t, v in
                       df[(df["quantity"] == "floor") & (df["k"] == 0)]
                       .groupby("tau")["value"].mean().items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Two panels (uniform, adversarial noise): gap vs k per tau (mean and t-interval over
    MDPs); dashed: mean C6 bound; dotted: mean floor. ``n_boot``/``rng`` unused."""
    import matplotlib
    from matplotlib.figure import Figure

    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    taus = sorted(data["tau"].unique())
    colors = matplotlib.colormaps["plasma"](np.linspace(0.0, 0.8, len(taus)))
    n = int(data["seed"].nunique())
    for ax, noise in zip(axes, NOISES):
        for tau, color in zip(taus, colors):
            sub = data[(data["noise"] == noise) & (data["tau"] == tau)]
            wide = {q: sub[sub["quantity"] == q].pivot(index="seed", columns="k", values="value")
                    for q in ("gap", "bound", "floor")}
            g = wide["gap"]
            plot_t_band(ax, g.columns.to_numpy(), t_interval(g.to_numpy()), color=color,
                        label=f"tau = {tau:g}")
            b = wide["bound"]
            ax.plot(b.columns.to_numpy(), b.mean().to_numpy(), color=color, linestyle="--",
                    linewidth=0.9)
            f = wide["floor"]
            ax.plot(f.columns.to_numpy(), f.mean().to_numpy(), color=color, linestyle=":",
                    linewidth=1.0)
        ax.plot([], [], color="k", linestyle="--", linewidth=0.9, label="C6 bound")
        ax.plot([], [], color="k", linestyle=":", linewidth=1.0,
                label="floor 4 theta_rho tau/(1-gamma)")
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_title(f"{noise} noise, ||Qhat - Q|| <= tau")
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(r"$\delta_k = V^*(\rho) - V^{\pi_k}(\rho)$")
    axes[0].legend(fontsize=8, loc="lower left")
    fig.suptitle(
        f"Card T5: inexact PMD-KL, eta_k = {config.eta0:g}/gamma^k, on {n} random dense MDPs "
        f"(S={config.S}, A={config.A}, gamma={config.gamma}).\nSolid: mean gap with 95% "
        f"t-interval (exact zeros and lower ends <= 0 not drawn on the log axis)", fontsize=9)
    return fig
