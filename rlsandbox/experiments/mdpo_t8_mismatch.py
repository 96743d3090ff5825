"""T8 of the MDPO card: the role of the mismatch coefficient in the per-step contraction.

Tabular experiment [card ``shared/papers/mdpo.md`` §5.2, T8; claims C4, C5]: per-step factors
r_k = delta_{k+1}/delta_k of the rho-weighted gap delta_k = V*(rho) - V^{pi_k}(rho) for
policy iteration (PMD with eta = inf, from pi_0 = action 0 everywhere) and geometric PMD-KL
(eta_k = 1/gamma^k), compared with

* 1 - 1/theta_{k+1}, theta_{k+1} = ||d*_rho / d_rho^{pi_{k+1}}||_inf (Xiao's per-step factor of
  PI, C5, derived from C3: guaranteed for PI),
* 1 - 1/theta_rho, theta_rho = ||d*_rho/rho||_inf/(1-gamma) (C4's rate; >= the above),
* gamma (NOT guaranteed for a rho-weighted gap, C5's control).

Instances: M2 (the river-swim-like chain, n = 10, gamma = 0.9) with rho uniform and rho =
point mass at state 0 (C*_rho = inf, so 1 - 1/theta_rho = 1: the bound is only monotonicity);
and, as the card's C5 note suggests, random sparse MDPs: ``garnet(S=20, A=4, branching=2)``,
gamma = 0.9, with a skewed rho ~ Dirichlet(0.3) (children of the root seed's stream), PI
only. Steps with delta_k below 1e-10 (ten orders below the gaps' scale, above the ~1e-13
round-off) are not used.

Expected outcome (card T8): (1 - 1/theta_rho) always respected; gamma-contraction of the
rho-weighted gap is not guaranteed (violations were found on random sparse MDPs, card C5:
1 in 652 PI steps); on M2 it may or may not occur. The test asserts r_k <= 1 - 1/theta_{k+1}
for every PI step (C5, round-off allowance 1e-9 on the factor) and r_k <= 1 - 1/theta_rho for
every PI step, and reports the number of steps with r_k > gamma.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics``): every PI step respects
1 - 1/theta_{k+1} (on M2 with rho uniform nearly with equality:
r_k = 0.83, 0.82, ... against 0.84, 0.83, ...), hence 1 - 1/theta_rho. Steps with r_k > gamma:
M2 rho uniform 0 of 10 PI steps; M2 rho at 0: 9 of 10 PI steps have r_k = 1 (the start state's
value does not move until the improvement has propagated from the right end; theta_{k+1} = inf
there, so C5 allows it), and 1 of 22 PMD steps (0.95 at k = 0); garnets: 4 of 243 PI steps
(card: 1 in 652). The skewed rho makes theta_rho huge (1 - 1/theta_rho >= 0.9986 on every
garnet), so C4's rate is nearly vacuous there while the steps contract much faster. Matches
the card: the (1 - 1/theta) factors are always respected, gamma-contraction is not.

Data (tidy): instance, algo ("pi", "pmd"), k, quantity ("gap", "ratio", "theta_factor",
"rho_factor"), value; "theta_factor" = 1 - 1/theta_{k+1} and "rho_factor" = 1 - 1/theta_rho
are recorded on the rows of the ratio r_k.
Deviations: the card prescribes no K (PI stops when delta reaches 0; PMD runs K = 60).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import geometric, pmd
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps import garnet
from rlsandbox.mdps.mdpo import mdpo_chain

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "FLOOR"]

#: gaps below this are not used for ratios (module docstring)
FLOOR = 1e-10


@dataclass(frozen=True)
class Config:
    """T8 sizes.

    Attributes
    ----------
    n : M2 chain length (10); gamma : discount of every instance (0.9)
    K_pi, K_pmd : PI and PMD iterations
    n_garnets : random sparse MDPs (S_g states, A_g actions, 2 successors per pair)
    """

    n: int = 10
    gamma: float = 0.9
    K_pi: int = 20
    K_pmd: int = 60
    n_garnets: int = 60
    S_g: int = 20
    A_g: int = 4

    def __post_init__(self) -> None:
        check_int("K_pi", self.K_pi, low=1)
        check_int("K_pmd", self.K_pmd, low=1)
        check_int("n_garnets", self.n_garnets, low=1)


DEFAULT = Config()
QUICK = Config(K_pmd=30, n_garnets=6, S_g=10, A_g=3)


def _steps(mdp, ref, run) -> dict[str, np.ndarray]:
    gap = T.gaps(ref, run.V)
    th = T.thetas(mdp, ref, run.pi)
    ok = gap[:-1] > FLOOR
    k = np.flatnonzero(ok)
    return {"gap": gap, "k": k, "ratio": gap[k + 1] / gap[k],
            "theta_factor": 1.0 - 1.0 / th[k + 1],
            "rho_factor": np.full(k.size, 1.0 - 1.0 / ref.theta_rho)}


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T8 runs; garnet i and its rho come from ``rng.spawn(n_garnets)[i]``.

    Examples
    --------
    >>> df = run(Config(K_pmd=3, n_garnets=1, S_g=4, A_g=2), rng=np.random.default_rng(0))
    >>> sorted(df["algo"].unique())
    ['pi', 'pmd']
    """
    cols: dict[str, list] = {c: [] for c in ("instance", "algo", "k", "quantity", "value")}

    def add(inst, algo, ks, q, vals):
        for kk, v in zip(ks, vals):
            cols["instance"].append(inst)
            cols["algo"].append(algo)
            cols["k"].append(int(kk))
            cols["quantity"].append(q)
            cols["value"].append(float(v))

    g = config.gamma
    chain = mdpo_chain(config.n, gamma=g)
    cases = [("M2 rho uniform", chain, True),
             ("M2 rho at 0", chain.replace(rho=np.eye(config.n)[0]), True)]
    for i, child in enumerate(rng.spawn(config.n_garnets)):
        mdp = garnet(config.S_g, config.A_g, 2, rng=child, gamma=g)
        cases.append((f"garnet#{i}", mdp.replace(rho=child.dirichlet(np.full(config.S_g, 0.3))),
                      False))
    n_steps, above_gamma, worst_c5 = 0, 0, -np.inf
    for inst, mdp, with_pmd in cases:
        ref = T.reference(mdp)
        runs = [("pi", pmd(mdp, K=config.K_pi, step=np.inf,
                           pi0=np.zeros(mdp.S, dtype=np.int64)))]
        if with_pmd:
            runs.append(("pmd", pmd(mdp, K=config.K_pmd, step=geometric(1.0, g))))
        for algo, res in runs:
            st = _steps(mdp, ref, res)
            add(inst, algo, range(st["gap"].size), "gap", np.maximum(st["gap"], 0.0))
            for q in ("ratio", "theta_factor", "rho_factor"):
                add(inst, algo, st["k"], q, st[q])
            if algo == "pi":
                n_steps += st["k"].size
                above_gamma += int((st["ratio"] > g).sum())
                if st["k"].size:
                    worst_c5 = max(worst_c5, float((st["ratio"] - st["theta_factor"]).max()))
    df = pd.DataFrame(cols)
    df.attrs["diagnostics"] = {"pi_steps": n_steps, "pi_steps_above_gamma": above_gamma,
                               "max_pi_ratio_minus_theta_factor": worst_c5}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """(a), (b): r_k vs k on M2 (PI and PMD) with gamma, 1 - 1/theta_rho and PI's
    1 - 1/theta_{k+1}; (c): every PI step of the garnets, r_k against 1 - 1/theta_{k+1}, with
    the diagonal (C5) and the line gamma. ``n_boot``/``rng`` unused (no intervals: M2 is
    deterministic and (c) shows every step)."""
    from matplotlib.figure import Figure

    g = config.gamma
    fig = Figure(figsize=(14, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for ax, inst in zip(axes[:2], ("M2 rho uniform", "M2 rho at 0")):
        sub = data[data["instance"] == inst]
        for algo, color in (("pi", "C0"), ("pmd", "C1")):
            s = sub[sub["algo"] == algo]
            r = s[s["quantity"] == "ratio"]
            ax.plot(r["k"], r["value"], "o-", color=color, markersize=3,
                    label=f"{'PI' if algo == 'pi' else 'PMD-KL 1/gamma^k'}: r_k")
            if algo == "pi":
                tf = s[s["quantity"] == "theta_factor"]
                ax.plot(tf["k"], tf["value"], "v", color=color, markersize=5, fillstyle="none",
                        label="PI: 1 - 1/theta_{k+1}")
        rf = sub[sub["quantity"] == "rho_factor"]["value"]
        if len(rf):
            ax.axhline(float(rf.iloc[0]), color="k", linestyle="--", linewidth=0.9,
                       label=f"1 - 1/theta_rho = {float(rf.iloc[0]):.4g}")
        ax.axhline(g, color="r", linestyle=":", linewidth=1.0, label=f"gamma = {g:g}")
        ax.set_xlabel("iteration k")
        ax.set_ylabel(r"$r_k = \delta_{k+1}/\delta_k$")
        ax.set_title(f"{'(a)' if inst.endswith('uniform') else '(b)'} {inst}")
        ax.set_ylim(-0.05, 1.05)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower left")
    ax = axes[2]
    pi = data[(data["algo"] == "pi") & data["instance"].str.startswith("garnet")]
    r = pi[pi["quantity"] == "ratio"].set_index(["instance", "k"])["value"]
    tf = pi[pi["quantity"] == "theta_factor"].set_index(["instance", "k"])["value"]
    above = r > g
    ax.plot(tf[~above], r[~above], "o", color="C0", markersize=3, alpha=0.6,
            label=f"PI steps, r_k <= gamma ({int((~above).sum())})")
    ax.plot(tf[above], r[above], "o", color="C3", markersize=5,
            label=f"PI steps, r_k > gamma ({int(above.sum())})")
    ax.plot([0, 1], [0, 1], color="k", linestyle="--", linewidth=0.9,
            label="r_k = 1 - 1/theta_{k+1} (C5 bound)")
    ax.axhline(g, color="r", linestyle=":", linewidth=1.0, label=f"gamma = {g:g}")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel(r"$1 - 1/\theta_{k+1}$")
    ax.set_ylabel(r"$r_k$")
    n_g = pi["instance"].nunique()
    ax.set_title(f"(c) PI on {n_g} sparse garnets, skewed rho")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"Card T8: per-step factor of the rho-weighted gap vs Xiao's 1 - 1/theta and vs gamma "
        f"(gamma = {g:g}); steps with delta_k <= {FLOOR:g} omitted", fontsize=9)
    return fig
