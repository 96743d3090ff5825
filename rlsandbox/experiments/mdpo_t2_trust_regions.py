"""T2 of the MDPO card: MDPO vs TRPO vs PPO (and KL-PPO, NPG, softmax PG), tabular.

Tabular analogue [card ``shared/papers/mdpo.md`` §5.2, T2; §3.6, §3.8] of the MDPO paper's
on-policy comparison (deep RL, not reproducible here), on the family M1 (random dense, S = 20,
A = 4, gamma = 0.9, Dirichlet(0.5), rewards U[0, 1), rho uniform), 5 MDPs (children of the
root seed's stream), mean over MDPs with the card's 95% t-interval:

* exact advantages: MDPO (:func:`~rlsandbox.algorithms.mdpo.mdpo_on_policy`, m = 10, t_k
  annealed 1 - k/(K+1)), TRPO (delta = 0.01, natural-gradient direction + backtracking),
  PPO-clip (eps = 0.2, 10 full-batch epochs, lr 0.5), KL-PPO (d_targ = 0.01), NPG
  (eta_NPG = 1 - gamma, i.e. PMD-KL with step 1) and softmax PG (alpha = 1);
* sampled (:mod:`rlsandbox.algorithms.mdpo.rollouts`): MDPO (m = 10, anneal) and PPO-clip
  from N trajectories of horizon H per iteration, GAE(0.95) with the exact critic V^{pi_k}
  (only the rollouts are sampled), raw (unstandardised) advantages.

Per iteration k (d_k = d_rho^{pi_k}): the gap delta_k = V*(rho) - V^{pi_k}(rho); the fraction
of the S A pairs whose ratio pi_{k+1}(a|s)/pi_k(a|s) leaves [1 - eps, 1 + eps] (eps = 0.2);
the reverse KL sum_s d_k KL(pi_k || pi_{k+1}) (TRPO's constraint) and the forward KL
sum_s d_k KL(pi_{k+1} || pi_k) (MDPO's proximal term).

Expected outcome (card T2, exploratory; "no ranking is guaranteed"): the MD-direction vs
TRPO-direction difference is visible in the KL profiles; PPO-clip lets some ratios leave the
clip range after several epochs. The test asserts: TRPO's reverse KL <= delta at every
iteration (its line search, by construction); some PPO-clip ratios leave [1-eps, 1+eps]; every
method ends below its initial gap.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics``): the KL profiles differ as the
card expects: TRPO's reverse KL sits at its constraint delta = 0.01 (max 0.00997) until it
reaches pi*, while MDPO's forward and reverse KLs fall by four orders of magnitude as t_k
anneals; KL-PPO's adaptive beta holds its KL near d_targ only in the first iterations.
PPO-clip lets up to 64% of the pairs leave [0.8, 1.2] in one iteration (sampled: 53%), so
clipping does not keep the ratio in the range. Mean final gaps at K = 50: TRPO 7e-17 (its
step sqrt(2 delta / E_d Var A) grows as the advantages vanish, so it reaches pi* by k ~ 25),
NPG 0.0083, PPO-clip 0.060, KL-PPO 0.063, MDPO 0.19 (annealed t_k, m = 10), PG 0.63; the
sampled versions follow their exact ones (MDPO 0.21, PPO-clip 0.076). No ranking is claimed
(the card: exploratory); in particular MDPO trailing TRPO here reflects the annealed step
t_k -> 0, not the mirror-descent direction (exact MD with constant or geometric steps: T1, T4).

Data (tidy): seed, algo, k, quantity ("gap", "outside", "rev_kl", "fwd_kl"), value; KL
and "outside" rows exist for k < K (update k), gaps for k <= K.
Deviations: exact / full-batch versions (card §3.6, §3.8); TRPO's and KL-PPO's line-search
constants are common practice ([unverified] on the card); K and the step sizes of NPG and PG
are ours (the card fixes none).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import (
    anneal,
    kl_ppo,
    mdpo_on_policy,
    npg,
    ppo_clip,
    sampled_mdpo,
    sampled_ppo_clip,
    softmax_pg,
    trpo,
)
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.policies import kl_rows
from rlsandbox.mdps.mdpo import mdpo_random

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "ALGOS", "EPS_CLIP", "DELTA"]

ALGOS = ("mdpo", "trpo", "ppo-clip", "kl-ppo", "npg", "pg", "mdpo-sampled", "ppo-sampled")
EPS_CLIP = 0.2
DELTA = 0.01


@dataclass(frozen=True)
class Config:
    """T2 sizes: the M1 family, n_seeds MDPs, K iterations, N trajectories of horizon H per
    iteration for the sampled versions."""

    S: int = 20
    A: int = 4
    gamma: float = 0.9
    n_seeds: int = 5
    K: int = 50
    N: int = 16
    H: int = 60

    def __post_init__(self) -> None:
        check_int("K", self.K, low=2)
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(S=6, A=3, n_seeds=3, K=15, N=8, H=30)


def _profiles(mdp, run) -> dict[str, np.ndarray]:
    d = T.occupancies(mdp, run.pi[:-1], mdp.rho)
    lp0, lp1 = run.logpi[:-1], run.logpi[1:]
    rev = np.array([d[k] @ kl_rows(lp0[k], lp1[k]) for k in range(run.K)])
    fwd = np.array([d[k] @ kl_rows(lp1[k], lp0[k]) for k in range(run.K)])
    # ratios from the log-probabilities (finite for every method here, even where the
    # probabilities underflow to 0 near a deterministic optimum)
    log_ratio = lp1 - lp0
    outside = ((log_ratio < np.log1p(-EPS_CLIP)) | (log_ratio > np.log1p(EPS_CLIP))).mean(
        axis=(1, 2))
    return {"outside": outside, "rev_kl": rev, "fwd_kl": fwd}


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T2 runs; MDP i and the rollouts of its sampled runs come from
    ``rng.spawn(n_seeds)[i]``.

    Examples
    --------
    >>> df = run(Config(S=3, A=2, n_seeds=2, K=2, N=2, H=5), rng=np.random.default_rng(0))
    >>> sorted(df["quantity"].unique())
    ['fwd_kl', 'gap', 'outside', 'rev_kl']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "algo", "k", "quantity", "value")}
    K, g = config.K, config.gamma
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=g, rng=child)
        ref = T.reference(mdp)
        runs = {
            "mdpo": mdpo_on_policy(mdp, K=K, m=10, step=anneal(K)).run,
            "trpo": trpo(mdp, K=K, delta=DELTA),
            "ppo-clip": ppo_clip(mdp, K=K, eps=EPS_CLIP),
            "kl-ppo": kl_ppo(mdp, K=K, d_targ=DELTA),
            "npg": npg(mdp, K=K, eta=1.0 - g),
            "pg": softmax_pg(mdp, K=K, alpha=1.0),
            "mdpo-sampled": sampled_mdpo(mdp, K=K, m=10, step=anneal(K), N=config.N,
                                         H=config.H, rng=child).run,
            "ppo-sampled": sampled_ppo_clip(mdp, K=K, N=config.N, H=config.H, eps=EPS_CLIP,
                                            rng=child).run,
        }
        for algo, res in runs.items():
            series = {"gap": np.maximum(T.gaps(ref, res.V), 0.0), **_profiles(mdp, res)}
            for q, vals in series.items():
                for kk, v in enumerate(vals):
                    cols["seed"].append(seed)
                    cols["algo"].append(algo)
                    cols["k"].append(kk)
                    cols["quantity"].append(q)
                    cols["value"].append(float(v))
    df = pd.DataFrame(cols)
    mean = df.groupby(["algo", "quantity", "k"])["value"].mean()
    df.attrs["diagnostics"] = {
        "mean_final_gap": {a: float(mean[a, "gap", K]) for a in ALGOS},
        "max_outside_fraction": {a: float(df[(df["algo"] == a) & (df["quantity"] == "outside")]
                                          ["value"].max()) for a in ALGOS},
        "max_trpo_rev_kl": float(df[(df["algo"] == "trpo") & (df["quantity"] == "rev_kl")]
                                 ["value"].max())}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Four panels: gap, fraction of ratios outside [1-eps, 1+eps], reverse KL, forward KL,
    each vs k (mean over MDPs; 95% t-intervals on the gap panel); ``n_boot``/``rng``
    unused."""
    from matplotlib.figure import Figure

    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    fig = Figure(figsize=(16, 4.6), layout="constrained")
    axes = fig.subplots(1, 4)
    styles = {a: ("--" if a.endswith("sampled") else "-") for a in ALGOS}
    colors = {"mdpo": "C0", "trpo": "C1", "ppo-clip": "C2", "kl-ppo": "C3", "npg": "C4",
              "pg": "C5", "mdpo-sampled": "C0", "ppo-sampled": "C2"}
    titles = {"gap": r"$\delta_k = V^*(\rho) - V^{\pi_k}(\rho)$",
              "outside": f"fraction of (s,a) with ratio outside [1-{EPS_CLIP:g}, 1+{EPS_CLIP:g}]",
              "rev_kl": r"reverse KL $\sum_s d_k KL(\pi_k \| \pi_{k+1})$",
              "fwd_kl": r"forward KL $\sum_s d_k KL(\pi_{k+1} \| \pi_k)$"}
    n = int(data["seed"].nunique())
    for ax, q in zip(axes, ("gap", "outside", "rev_kl", "fwd_kl")):
        log = q != "outside"
        for algo in ALGOS:
            sub = data[(data["algo"] == algo) & (data["quantity"] == q)]
            w = sub.pivot(index="seed", columns="k", values="value")
            if q == "gap":
                plot_t_band(ax, w.columns.to_numpy(), t_interval(w.to_numpy()),
                            color=colors[algo], linestyle=styles[algo], label=algo, log=log,
                            alpha=0.12)
            else:                 # means only: eight bands per panel are unreadable
                mean = w.mean().to_numpy()
                ax.plot(w.columns.to_numpy(), np.where(mean > 0, mean, np.nan) if log else mean,
                        color=colors[algo], linestyle=styles[algo], label=algo, linewidth=1.3)
        if q == "rev_kl":
            ax.axhline(DELTA, color="k", linestyle=":", linewidth=0.9,
                       label=f"TRPO delta = {DELTA:g}")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_title(titles[q], fontsize=9)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower left")
    axes[2].legend(fontsize=7, loc="lower left")
    fig.suptitle(
        f"Card T2 (exploratory): trust-region methods on {n} random dense MDPs (S={config.S}, "
        f"A={config.A}, gamma={config.gamma}); solid: exact advantages, dashed: sampled "
        f"({config.N} trajectories x {config.H} steps per iteration, GAE(0.95), exact critic)."
        f"\nMean over MDPs (95% t-interval on the gap panel; non-positive values not drawn on "
        f"log axes)",
        fontsize=9)
    return fig
