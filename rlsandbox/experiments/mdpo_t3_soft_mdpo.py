"""T3 of the MDPO card: off-policy (soft) MDPO vs SAC, tabular.

Tabular analogue [card ``shared/papers/mdpo.md`` §5.2, T3; §3.3, §3.7; claims C12, C17, C19]
of the MDPO paper's off-policy comparison (deep RL, not reproducible here), on the family M3
(M1 = random dense, S = 20, A = 4, gamma = 0.9, Dirichlet(0.5), rewards U[0, 1); entropy
regularisation lam), 5 MDPs (children of the root seed's stream), sup gap
max_s (V*_lam(s) - V_lam^{pi}(s)) to the regularised optimum (SAC-convention values):

* (a), (b) closed-form soft MDPO = NE-TRPO with constant t
  (:func:`rlsandbox.algorithms.mdpo.ne_trpo`), pi_{k+1} ~ pi_k^(1 - lam t) exp(t Q_lam^{pi_k}),
  for lam t in {0.05, 0.2, 1-gamma, 0.5, 1}; lam t = 1 is soft policy iteration (tabular SAC,
  :func:`rlsandbox.algorithms.mdpo.soft_policy_iteration`). (a): gap vs k for lam = 0.1;
  (b): the late per-step factor (:func:`rlsandbox.algorithms.mdpo.theory.late_factor`: exp of
  the least-squares slope of log gap over the later half of the iterations with gap > 1e-11;
  0 when the gap falls below 1e-11 within one step) against lam t, for every lam in
  {0.01, 0.1, 1}.
* (c) the m-step off-policy analogue (:func:`rlsandbox.algorithms.mdpo.mdpo_off_policy`,
  J gradient steps with alpha = 1 on sum_s KL(pi_theta || T), anchor refreshed every m in
  {1, 10, 100} steps, critic Q_lam^{pi_old}) for lam = 0.1: uniform anchor with t = 1/lam
  (SAC's actor loss, temperature lam) and old-policy anchor with lam t = 0.5 (MDPO).

Expected outcome (card T3): linear convergence, rate <= gamma once lam t >= 1 - gamma (C12,
C19); smaller lam t slower; lam t = 1 identical to soft PI. The test asserts: lam t = 1
equals soft PI to round-off; the late factor decreases as lam t grows and is <= gamma
(+1e-3 for the fit) whenever lam t >= 1 - gamma; every off-policy run ends closer to V*_lam
than it started.

Timing (this machine, shared): the DEFAULT run takes ~9 s.

Measured outcome (DEFAULT config, root seed 0; ``diagnostics``): lam t = 1 reproduces soft PI
exactly (max |V difference| 0.0) and reaches the round-off level in 2-3 iterations. The late
factor falls with lam t: 0.901, 0.810, 0.640, 0.250 for lam t = 0.05, 0.1 (= 1 - gamma), 0.2,
0.5 (mean over MDPs, the same for lam = 0.01, 0.1, 1), i.e. <= gamma exactly from
lam t = 1 - gamma on, slower than gamma below it. Not on the card: the factors match
(1 - lam t)^2 to three digits on these instances. Off-policy analogue (J = 1000 gradient
steps): the refresh period m hardly matters (final mean sup gap 5.5e-5 / 5.5e-5 / 5.6e-5 for
the uniform anchor, m = 1 / 10 / 100; 1.7e-4 / 1.7e-4 / 1.9e-4 for the old anchor at
lam t = 0.5): the gradient steps on the KL projection, not the anchor refresh, limit the
progress; SAC's uniform anchor with lam t = 1 is the faster of the two here. Matches the
card's expected outcome.

Data (tidy): seed, lam, family ("closed", "offpolicy"), lam_t, anchor ("old", "uniform"),
m (0 for closed form), x (iteration k, or gradient step j), quantity ("sup_gap",
"late_factor" at x = 0), value.
Deviations: plain gradient steps on the exact per-state KL (no replay buffer, no
reparameterisation, no critic learning), K / J chosen by us (the card gives none).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.algorithms.mdpo import mdpo_off_policy, ne_trpo, soft_optimal
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps.mdpo import mdpo_random

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "GAP_FLOOR"]

#: gaps at or below this are round-off (values <= (1 + lam log A)/(1-gamma) ~ 24)
GAP_FLOOR = 1e-11


@dataclass(frozen=True)
class Config:
    """T3 sizes (module docstring): the M3 family, K closed-form iterations, J gradient steps
    of the off-policy analogue with refresh periods ``ms`` at lam = ``lam_off``."""

    S: int = 20
    A: int = 4
    gamma: float = 0.9
    n_seeds: int = 5
    lams: tuple[float, ...] = (0.01, 0.1, 1.0)
    lam_ts: tuple[float, ...] = (0.05, 0.2, 0.1, 0.5, 1.0)   # 0.1 = 1 - gamma
    K: int = 100
    lam_off: float = 0.1
    J: int = 1000
    ms: tuple[int, ...] = (1, 10, 100)

    def __post_init__(self) -> None:
        check_int("K", self.K, low=2)
        check_int("J", self.J, low=max(self.ms))
        check_int("n_seeds", self.n_seeds, low=2)


DEFAULT = Config()
QUICK = Config(S=6, A=3, n_seeds=3, lams=(0.1,), K=60, J=100, ms=(1, 10))


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All T3 runs; MDP i comes from ``rng.spawn(n_seeds)[i]`` (everything else is exact).

    Examples
    --------
    >>> cfg = Config(S=4, A=2, n_seeds=2, lams=(0.1,), lam_ts=(1.0,), K=3, J=2, ms=(1,))
    >>> sorted(run(cfg, rng=np.random.default_rng(0))["family"].unique())
    ['closed', 'offpolicy']
    """
    cols: dict[str, list] = {c: [] for c in ("seed", "lam", "family", "lam_t", "anchor", "m",
                                              "x", "quantity", "value")}

    def add(seed, lam, family, lam_t, anchor, m, xs, q, vals):
        for x, v in zip(xs, vals):
            cols["seed"].append(seed)
            cols["lam"].append(float(lam))
            cols["family"].append(family)
            cols["lam_t"].append(float(lam_t))
            cols["anchor"].append(anchor)
            cols["m"].append(int(m))
            cols["x"].append(int(x))
            cols["quantity"].append(q)
            cols["value"].append(float(v))

    soft_pi_diff = 0.0
    for seed, child in enumerate(rng.spawn(config.n_seeds)):
        mdp = mdpo_random(S=config.S, A=config.A, gamma=config.gamma, rng=child)
        for lam in sorted(set(config.lams) | {config.lam_off}):
            V_star = np.asarray(soft_optimal(mdp, lam).V)
            if lam in config.lams:
                for lam_t in config.lam_ts:
                    res = ne_trpo(mdp, lam=lam, K=config.K, step=lam_t / lam)
                    gap = (V_star[None, :] - res.V).max(axis=1)
                    add(seed, lam, "closed", lam_t, "old", 0, range(config.K + 1), "sup_gap",
                        gap)
                    add(seed, lam, "closed", lam_t, "old", 0, [0], "late_factor",
                        [T.late_factor(gap, GAP_FLOOR)[0]])
                    if lam_t == 1.0:
                        from rlsandbox.algorithms.mdpo import soft_policy_iteration
                        spi = soft_policy_iteration(mdp, lam=lam, K=config.K)
                        soft_pi_diff = max(soft_pi_diff, float(np.abs(spi.V - res.V).max()))
            if lam != config.lam_off:
                continue
            for anchor, lam_t in (("uniform", 1.0), ("old", 0.5)):
                for m in config.ms:
                    out = mdpo_off_policy(mdp, J=config.J, m=m, lam=lam, t=lam_t / lam,
                                          alpha=1.0, anchor=anchor)
                    gap = (V_star[None, :] - out.run.V).max(axis=1)
                    xs = np.arange(gap.size) * m
                    keep = (xs % 10 == 0) | (xs == xs[-1])
                    add(seed, lam, "offpolicy", lam_t, anchor, m, xs[keep], "sup_gap",
                        gap[keep])
    df = pd.DataFrame(cols)
    lf = df[df["quantity"] == "late_factor"].groupby("lam_t")["value"].mean()
    off = df[(df["family"] == "offpolicy") & (df["x"] == config.J)]
    df.attrs["diagnostics"] = {
        "max_abs_V_diff_lam_t_1_vs_soft_pi": soft_pi_diff,
        "mean_late_factor_by_lam_t": {f"{k:g}": float(v) for k, v in lf.items()},
        "mean_final_offpolicy_gap": {f"{a}|m={m}": float(v) for (a, m), v in
                                     off.groupby(["anchor", "m"])["value"].mean().items()}}
    return df


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Three panels (module docstring); mean over MDPs with 95% t-intervals; ``n_boot`` and
    ``rng`` unused."""
    import matplotlib
    from matplotlib.figure import Figure

    from rlsandbox.experiments.mdpo_common import plot_t_band, t_interval

    g = config.gamma
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    n = int(data["seed"].nunique())
    closed = data[(data["family"] == "closed") & (data["quantity"] == "sup_gap")]
    lam_ts = sorted(closed["lam_t"].unique())
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.9, len(lam_ts)))
    lam_a = config.lam_off if config.lam_off in config.lams else config.lams[0]
    ax = axes[0]
    for lam_t, color in zip(lam_ts, colors):
        sub = closed[(closed["lam"] == lam_a) & (closed["lam_t"] == lam_t)]
        w = sub.pivot(index="seed", columns="x", values="value")
        label = f"lam t = {lam_t:g}" + (" (soft PI = SAC)" if lam_t == 1.0 else "") + \
            (" = 1 - gamma" if math.isclose(lam_t, 1.0 - g) else "")
        plot_t_band(ax, w.columns.to_numpy(), t_interval(w.to_numpy()), color=color,
                    label=label)
    k = np.arange(config.K + 1)
    start = float(closed[(closed["lam"] == lam_a) & (closed["x"] == 0)]["value"].mean())
    ax.plot(k, start * g ** k, color="k", linestyle="--", linewidth=0.9, label="gamma^k")
    ax.set_yscale("log")
    ax.set_ylim(bottom=1e-15)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$\max_s V^*_\lambda(s) - V_\lambda^{\pi_k}(s)$")
    ax.set_title(f"(a) closed-form soft MDPO, lam = {lam_a:g}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[1]
    lf = data[data["quantity"] == "late_factor"]
    for lam, marker in zip(sorted(lf["lam"].unique()), ("o", "s", "^")):
        sub = lf[lf["lam"] == lam].groupby("lam_t")["value"].mean()
        ax.plot(sub.index, sub.to_numpy(), marker=marker, linestyle="-", label=f"lam = {lam:g}")
    ax.axhline(g, color="r", linestyle=":", linewidth=1.0, label=f"gamma = {g:g}")
    ax.axvline(1.0 - g, color="0.5", linestyle="--", linewidth=0.9, label="lam t = 1 - gamma")
    ax.set_xlabel("lam t")
    ax.set_ylabel("late per-step factor of the sup gap")
    ax.set_title("(b) rate vs lam t (mean over MDPs; lam t = 1 converges at once)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    ax = axes[2]
    off = data[(data["family"] == "offpolicy") & (data["quantity"] == "sup_gap")]
    styles = {"uniform": "-", "old": "--"}
    mcolors = dict(zip(sorted(off["m"].unique()), ("C0", "C1", "C2", "C3")))
    for (anchor, m), sub in off.groupby(["anchor", "m"]):
        w = sub.pivot(index="seed", columns="x", values="value")
        lam_t = float(sub["lam_t"].iloc[0])
        plot_t_band(ax, w.columns.to_numpy(), t_interval(w.to_numpy()), color=mcolors[m],
                    linestyle=styles[anchor],
                    label=f"{'SAC: uniform anchor' if anchor == 'uniform' else 'MDPO: old anchor'}"
                          f", lam t = {lam_t:g}, m = {m}")
    ax.set_yscale("log")
    ax.set_xlabel("gradient step j")
    ax.set_ylabel("sup gap of the anchor policy")
    ax.set_title(f"(c) m-step off-policy analogue, lam = {config.lam_off:g}, alpha = 1")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.suptitle(
        f"Card T3: soft MDPO vs SAC on {n} random dense MDPs (S={config.S}, A={config.A}, "
        f"gamma={g}). Mean over MDPs with 95% t-interval (exact zeros and lower ends <= 0 not "
        f"drawn on log axes)", fontsize=9)
    return fig
