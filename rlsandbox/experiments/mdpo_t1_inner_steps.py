"""T1 of the MDPO card: MDPO's number of inner gradient steps m, and its step-size schedule.

Tabular analogue [card ``shared/papers/mdpo.md`` §5.2, T1] of the MDPO paper's m-ablation
(on-policy MDPO, "m = 10 best, m = 1 clearly worse", reported in deep RL, not reproducible
here): on-policy MDPO with exact advantages
(:func:`rlsandbox.algorithms.mdpo.mdpo_on_policy`; m gradient-ascent steps on the
mirror-descent sub-problem, alpha = 0.5 t_k / max_s w(s)) for m in ``ms`` against the exact
MD update (m = inf, :func:`rlsandbox.algorithms.mdpo.pmd`), under four schedules of t_k:
constant 1, MDPO's annealing 1 - k/(K+1), Shani's (1-gamma)/sqrt(k+1), geometric 1/gamma^k
(capped at 1e12); state weights on-policy (w = d_rho^{pi_k}) or uniform. Family M1 (random
dense, S = 20, A = 4, gamma = 0.9, Dirichlet(0.5), rewards U[0, 1), rho uniform), 5 MDPs
(the children of the root seed's stream, the gallery's convention, instead of the card's
seeds 0-4); mean over the MDPs with the card's 95% t-interval.

Panels: (a) final gap delta_K against m per schedule (on-policy weights; m = inf drawn at the
right edge); (b) delta_k against k for the constant schedule, one curve per m; (c) the inner
error max|pi_m - pi_MD| of the first iteration against m, on-policy vs uniform weights.

Expected outcome (card T1): more inner steps -> closer to exact MD -> faster; m = 1 is a
softmax policy-gradient step; schedules order geometric >> constant > anneal >> Shani. The
card's illustrative single run (M1 seed 7, K = 100; instance-dependent, trends only): gap at
k = 99 for m = 1/10/100/exact: constant 0.42/0.033/0.0047/0.0016; anneal
0.92/0.077/0.015/0.0093; Shani 2.7/2.2/1.85/1.85; geometric 7e-5/8e-6/8e-7/0. The figure's
test asserts the two orderings on the mean final gaps (monotone in m for every schedule; the
schedule order at m = inf) and that the inner error decreases in m.

Measured outcome (DEFAULT config, root seed 0; mean final gap delta_100 over the 5 MDPs,
on-policy weights, m = 1/10/50/200/exact; the JSON's ``final_gap`` has every cell):
constant 0.40/0.032/0.0075/0.0032/0.0017; anneal 0.87/0.074/0.020/0.011/0.0079;
Shani 3.0/2.4/2.0/1.99/1.99; geometric 6.8e-5/7.1e-6/1.4e-6/3.5e-7/0. Both trends and the
schedule order match the card, and the numbers are close to the card's single run (which used
another MDP). Not on the card: at finite m, uniform state weights beat on-policy weights in
every schedule (e.g. constant, m = 10: 0.020 vs 0.032), because alpha = 0.5 t_k / max_s w(s)
gives rarely visited states a proportionally smaller step under on-policy weights (the
card's C16(c) tendency).

Data (tidy): seed, schedule, weights, m, exact, k, quantity ("gap", "kl", "inner_error"),
value; the exact update is recorded as m = 0 with exact = True (the CSV holds finite numbers
only). "gap" is recorded at k = 0..10, every 5th k and K; "kl" (sum_s w(s) KL(pi_{k+1} ||
pi_k)) and "inner_error" at the first and the last update (k = 0 and K-1), which keeps the
CSV small.
Deviations: exact advantages (no GAE, no standardisation); plain gradient ascent, not Adam
(the card's T1 protocol); annealing 1 - k/(K+1) (card Pitfall 14).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import anneal, constant, geometric, mdpo_on_policy, shani
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps.mdpo import mdpo_random

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "SCHEDULES"]

SCHEDULES = ("geometric", "constant", "anneal", "shani")


@dataclass(frozen=True)
class Config:
    """T1 sizes.

    Attributes
    ----------
    S, A, gamma : the M1 family (20, 4, 0.9)
    n_seeds : number of random MDPs (card: 5); MDP i is built from the i-th child of the
        run's stream, ``rng.spawn(n_seeds)[i]``
    K : outer iterations
    ms : inner gradient steps (numpy.inf is the exact update)
    weights : state weightings ("on_policy", "uniform")
    """

    S: int = 20
    A: int = 4
    gamma: float = 0.9
    n_seeds: int = 5
    K: int = 100
    ms: tuple[float, ...] = (1, 2, 5, 10, 50, 200, math.inf)
    weights: tuple[str, ...] = ("on_policy", "uniform")

    def __post_init__(self) -> None:
        check_int("K", self.K, low=1)
        check_int("n_seeds", self.n_seeds, low=2)
        if math.inf not in self.ms:
            raise ValueError("ms must include math.inf (the exact MD update, the reference)")


DEFAULT = Config()
QUICK = Config(S=8, A=3, n_seeds=3, K=20, ms=(1, 10, 50, math.inf),
               weights=("on_policy", "uniform"))


def _schedule(name: str, config: Config):
    if name == "constant":
        return constant(1.0)
    if name == "anneal":
        return anneal(config.K)
    if name == "shani":
        return shani(config.gamma)
    return geometric(1.0, config.gamma)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T1 runs. MDP i comes from ``rng.spawn(n_seeds)[i]``; the algorithms are
    deterministic given the MDP.

    Examples
    --------
    >>> cfg = Config(S=4, A=2, n_seeds=2, K=2, ms=(1, math.inf), weights=("uniform",))
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["quantity"].unique())
    ['gap', 'inner_error', 'kl']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "schedule", "weights", "m", "exact", "k",
                                              "quantity", "value")}

    grid = sorted(set(range(min(config.K, 10) + 1)) | set(range(0, config.K + 1, 5))
                  | {config.K})
    ends = sorted({0, config.K - 1})

    def add(seed, sch, w, m, q, values, ks):
        for k in ks:
            v = values[k]
            cols["seed"].append(seed)
            cols["schedule"].append(sch)
            cols["weights"].append(w)
            cols["m"].append(0 if m == math.inf else int(m))
            cols["exact"].append(m == math.inf)
            cols["k"].append(k)
            cols["quantity"].append(q)
            cols["value"].append(float(v))

    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=config.gamma, rng=child)
        ref = T.reference(mdp)
        for sch in SCHEDULES:
            step = _schedule(sch, config)
            for w in config.weights:
                for m in config.ms:
                    if m == math.inf and w != config.weights[0]:
                        continue        # the exact update does not depend on the weights
                    out = mdpo_on_policy(mdp, K=config.K, m=m, step=step, weights=w)
                    label = config.weights[0] if m == math.inf else w
                    add(seed, sch, label, m, "gap", np.maximum(T.gaps(ref, out.run.V), 0.0),
                        grid)
                    add(seed, sch, label, m, "kl", out.kl, ends)
                    add(seed, sch, label, m, "inner_error", out.inner_error, ends)
    df = pd.DataFrame(cols)
    fin = df[(df["quantity"] == "gap") & (df["k"] == config.K)]
    table = fin.groupby(["schedule", "weights", "m"])["value"].mean()
    df.attrs["diagnostics"] = {"final_gap": {f"{s}|{w}|m={'inf' if m == 0 else m}": float(v)
                                             for (s, w, m), v in table.items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Three panels (module docstring); ``n_boot``/``rng`` unused (t-intervals)."""
    import matplotlib
    from matplotlib.figure import Figure
    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    K = int(data["k"].max())
    w0 = data["weights"].iloc[0]
    finite = sorted(int(m) for m in data.loc[~data["exact"], "m"].unique())
    ms = finite + [0]                             # 0 codes the exact update
    x_inf = max(finite) * 4.0                     # where m = inf is drawn
    xpos = [m if m > 0 else x_inf for m in ms]
    n = int(data["seed"].nunique())
    fig = Figure(figsize=(14, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    colors = dict(zip(SCHEDULES, matplotlib.colormaps["tab10"](np.arange(4))))

    ax = axes[0]
    gaps = data[(data["quantity"] == "gap") & (data["k"] == K) & (data["weights"] == w0)]
    for sch in SCHEDULES:
        t = gaps[gaps["schedule"] == sch].pivot(index="seed", columns="m", values="value")
        plot_t_band(ax, np.array(xpos), t_interval(t[ms].to_numpy()), color=colors[sch],
                    label=sch)
        ax.plot(xpos, t[ms].mean().to_numpy(), "o", color=colors[sch], markersize=3)
    ax.axvline(x_inf, color="0.6", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("inner gradient steps m (rightmost: exact MD, m = inf)")
    ax.set_ylabel(rf"final gap $\delta_{{{K}}}$")
    ax.set_title(f"(a) final gap vs m, weights {w0}")
    ax.legend(fontsize=8)

    ax = axes[1]
    cmap = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, len(ms)))
    sub = data[(data["quantity"] == "gap") & (data["schedule"] == "constant")
               & (data["weights"] == w0)]
    for m, color in zip(ms, cmap):
        t = sub[sub["m"] == m].pivot(index="seed", columns="k", values="value")
        plot_t_band(ax, t.columns.to_numpy(), t_interval(t.to_numpy()), color=color,
                    label="exact MD" if m == 0 else f"m = {m:g}")
    ax.set_yscale("log")
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$\delta_k$")
    ax.set_title("(b) constant t = 1: gap vs k")
    ax.legend(fontsize=8)

    ax = axes[2]
    inner = data[(data["quantity"] == "inner_error") & (data["k"] == 0)
                 & (data["schedule"] == "constant")]
    for w, style in zip(sorted(inner["weights"].unique()), ("-", "--")):
        t = inner[(inner["weights"] == w) & ~inner["exact"]].pivot(
            index="seed", columns="m", values="value")
        plot_t_band(ax, t.columns.to_numpy(), t_interval(t.to_numpy()), linestyle=style,
                    label=f"weights {w}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("inner gradient steps m")
    ax.set_ylabel(r"$\max|\pi_m - \pi_{MD}|$ at k = 0")
    ax.set_title("(c) inner error of the first update (t = 1)")
    ax.legend(fontsize=8)
    for a in axes:
        a.grid(True, which="major", alpha=0.3)
    fig.suptitle(
        f"Card T1: on-policy MDPO with m inner steps (alpha = 0.5 t_k / max w) vs exact MD; "
        f"{n} random dense MDPs (S={config.S}, A={config.A}, gamma={config.gamma}), "
        f"K = {K}.\nMean over seeds with 95% t-interval (lower ends "
        f"<= 0 and exact zeros not drawn on log axes)", fontsize=9)
    return fig
