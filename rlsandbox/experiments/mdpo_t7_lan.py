"""T7 of the MDPO card: Lan's regularised PMD (linear rate gamma^k) and Lan's APMD.

Tabular experiment [card ``shared/papers/mdpo.md`` §5.2, T7; claims C12, C14] on the family M3
(M1 = random dense, S = 20, A = 4, gamma = 0.9, Dirichlet(0.5), rewards U[0, 1); with entropy
regularisation mu in {0.01, 0.1, 1}), 5 MDPs (children of the root seed's stream), mean over
MDPs with the card's 95% t-interval (:mod:`rlsandbox.experiments.mdpo_common`):

* (a) Lan's PMD with h = mu KL(. || uniform) and eta = (1-gamma)/(gamma mu)
  (:func:`rlsandbox.algorithms.mdpo.lan_pmd`): Lan's potential
  Phi_k = [f(pi*_mu) - f(pi_k)] + (mu/(1-gamma)) E_{s~nu*} KL(pi*_mu(.|s) || pi_k(.|s)),
  f = nu* . V_mu, nu* the stationary distribution of pi*_mu, divided by C12's bound
  gamma^k Phi_0-bound (:func:`rlsandbox.algorithms.mdpo.theory.lan_linear_bound`): the ratio
  must stay <= 1;
* (b) APMD without regularisation (:func:`rlsandbox.algorithms.mdpo.apmd`), schedules (a)
  tau_k = gamma^k and (b) tau_k = 2^-(floor(k/l)+1), l = ceil(log_gamma(1/4)): the gap
  f(pi*) - f(pi_k) (f = nu* . V, nu* of the unregularised pi*), with the reference slopes
  k gamma^k and gamma^(k/2) (C14; constants unverified, so the references are drawn through
  the mean gap at k = 1).

Expected outcome (card T7): gamma^k for the regularised potential; ~k gamma^k and ~gamma^(k/2)
for APMD. The test asserts Phi_k <= bound_k at every k (round-off allowance 1e-9) and that
both APMD schedules end at least as low as their reference slopes.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics``): Phi_k <= bound everywhere,
the largest ratio 0.9997 at k = 0 (card: up to 0.99999, tight at k = 0); after the first
iterations the potential decays at the bound's rate gamma^k (parallel lines on the log axis)
with a much smaller constant (mean Phi_120 = 3.8e-14, 5.2e-12, 6.5e-12 for mu = 0.01, 0.1, 1,
against bounds of order 1e-5): the rate gamma is the right one, the constant is loose.
APMD (a) reaches the round-off level (mean gap 3.6e-16) by k ~ 80, faster than k gamma^k (eta_k grows like gamma^-k, so the
late steps are nearly greedy); APMD (b) descends in the staircase of its epochs
(l = 14) roughly along gamma^(k/2) and ends at 2.3e-5, below its reference. Matches the card.

Data (tidy): seed, algo ("lan", "apmd-a", "apmd-b"), mu (0 for APMD), k, quantity
("potential", "bound" for Lan; "gap" for APMD), value.
Deviations: the card prescribes no K (K = 120); seeds are the root seed's children.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import apmd, lan_pmd
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.policies import kl_rows
from rlsandbox.mdps.mdpo import mdpo_random

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """T7 sizes: the M3 family (S, A, gamma, mus), n_seeds MDPs, K iterations."""

    S: int = 20
    A: int = 4
    gamma: float = 0.9
    n_seeds: int = 5
    K: int = 120
    mus: tuple[float, ...] = (0.01, 0.1, 1.0)

    def __post_init__(self) -> None:
        check_int("K", self.K, low=2)
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(S=6, A=3, n_seeds=3, K=60)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T7 runs; MDP i comes from ``rng.spawn(n_seeds)[i]`` (the algorithms are exact).

    Examples
    --------
    >>> df = run(Config(S=4, A=2, n_seeds=2, K=3, mus=(0.1,)), rng=np.random.default_rng(0))
    >>> sorted(df["algo"].unique())
    ['apmd-a', 'apmd-b', 'lan']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "algo", "mu", "k", "quantity", "value")}

    def add(seed, algo, mu, q, vals):
        for kk, v in enumerate(vals):
            cols["seed"].append(seed)
            cols["algo"].append(algo)
            cols["mu"].append(float(mu))
            cols["k"].append(kk)
            cols["quantity"].append(q)
            cols["value"].append(float(v))

    g, K = config.gamma, config.K
    worst = 0.0
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=g, rng=child)
        for mu in config.mus:
            fs, nu, logpi_star, _ = T.lan_setup(mdp, mu)
            eta = (1.0 - g) / (g * mu)
            res = lan_pmd(mdp, mu=mu, K=K, eta=eta)
            f = res.V @ nu
            kl = np.array([nu @ kl_rows(logpi_star, res.logpi[k]) for k in range(K + 1)])
            pot = fs - f + (mu / (1.0 - g)) * kl
            bound = T.lan_linear_bound(g, mdp.A, mu, eta, float(fs - f[0]), np.arange(K + 1))
            worst = max(worst, float(np.max(pot / bound)))
            add(seed, "lan", mu, "potential", pot)
            add(seed, "lan", mu, "bound", bound)
        fs, nu, _, _ = T.lan_setup(mdp, 0.0)
        for variant in ("a", "b"):
            res = apmd(mdp, K=K, variant=variant)
            add(seed, f"apmd-{variant}", 0.0, "gap", np.maximum(fs - res.V @ nu, 0.0))
    df = pd.DataFrame(cols)
    fin = df[(df["k"] == K) & (df["quantity"].isin(["potential", "gap"]))]
    df.attrs["diagnostics"] = {
        "max_potential_over_c12_bound": worst,
        "mean_final": {f"{a}|mu={m:g}": float(v) for (a, m), v in
                       fin.groupby(["algo", "mu"])["value"].mean().items()}}
    return df


def apmd_references(gamma: float, K: int, start: float) -> dict[str, np.ndarray]:
    """The reference shapes of C14 through ``start`` at k = 1: k gamma^k (schedule a) and
    gamma^(k/2) (schedule b), for k = 0..K.

    Examples
    --------
    >>> apmd_references(0.5, 2, 1.0)["a"].tolist()
    [0.0, 1.0, 1.0]
    """
    k = np.arange(K + 1, dtype=np.float64)
    return {"a": start * k * gamma ** (k - 1.0), "b": start * gamma ** ((k - 1.0) / 2.0)}


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """(a) Lan's potential and C12's bound vs k per mu; (b) APMD gaps with the reference slopes.
    Mean over MDPs with 95% t-intervals; ``n_boot``/``rng`` unused."""
    import matplotlib
    from matplotlib.figure import Figure

    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    fig = Figure(figsize=(12, 4.6), layout="constrained")
    axes = fig.subplots(1, 2)
    g = config.gamma
    n = int(data["seed"].nunique())
    ax = axes[0]
    lan = data[data["algo"] == "lan"]
    mus = sorted(lan["mu"].unique())
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, len(mus)))
    for mu, color in zip(mus, colors):
        sub = lan[lan["mu"] == mu]
        pot = sub[sub["quantity"] == "potential"].pivot(index="seed", columns="k", values="value")
        bnd = sub[sub["quantity"] == "bound"].pivot(index="seed", columns="k", values="value")
        plot_t_band(ax, pot.columns.to_numpy(), t_interval(pot.to_numpy()), color=color,
                    label=f"mu = {mu:g}")
        ax.plot(bnd.columns.to_numpy(), bnd.mean().to_numpy(), color=color, linestyle="--",
                linewidth=0.9)
    ax.plot([], [], color="k", linestyle="--", linewidth=0.9,
            label="C12 bound gamma^k (f* - f_0 + mu log A/(1-gamma))")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-16)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"Lan potential $\Phi_k$")
    ax.set_title("(a) Lan PMD, eta = (1-gamma)/(gamma mu): potential and bound")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax = axes[1]
    for variant, color in (("a", "C0"), ("b", "C1")):
        gap = data[data["algo"] == f"apmd-{variant}"].pivot(index="seed", columns="k",
                                                            values="value")
        ks = gap.columns.to_numpy()
        plot_t_band(ax, ks, t_interval(gap.to_numpy()), color=color,
                    label=f"APMD schedule ({variant})")
        ref = apmd_references(g, int(ks.max()), float(gap[1].mean()))[variant]
        ax.plot(ks[1:], ref[1:], color=color, linestyle="--", linewidth=0.9,
                label="k gamma^k" if variant == "a" else "gamma^(k/2)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-16)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$f(\pi^*) - f(\pi_k)$, $f = \nu^* \cdot V$")
    ax.set_title("(b) APMD (unregularised gap), references through k = 1")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.suptitle(
        f"Card T7: Lan's regularised PMD and APMD on {n} random dense MDPs (S={config.S}, "
        f"A={config.A}, gamma={g}). Mean over MDPs with 95% t-interval (exact zeros not "
        f"drawn on the log axis)", fontsize=9)
    return fig
