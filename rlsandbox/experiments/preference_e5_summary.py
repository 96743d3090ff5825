"""Card preference_coverage E5: the summary table analog -- E_pi r*, reverse KL and G_J per
method on a fixed suite of instances (the sandbox analog of SONG24's TL;DR table: "RM score"
<-> E_pi r*, "KL" <-> KL(pi || piref)).

Suite [card §5.2 E5]: P1 "song-zero-mass" (C4), P2 "song-small-mass" at delta = 1e-4 (C5), a
random bandit of the card's §4 distribution (``random_seed``, beta = 0.2) -- each with ``n_pairs`` sampled BT
comparisons (nu = mu x mu), one dataset per seed -- and L1 "ood-collapse" (E3; its fixed three
comparisons, log-linear policies; the same for every seed).

Methods: ``dpo`` (gradient descent from the reference, ``steps`` steps of ``lr`` on the
empirical distribution; log-linear on L1, tabular elsewhere), ``hypo`` (the same plus
``lam`` KL(pi || piref), exact gradient), ``rlhf`` (bounded tabular RLHF, pessimistic
tie-break; on L1 the bounded *linear* reward class ||w||_2 <= 1 (card §3.1) with the exact
KL-regularised optimum over the log-linear class, pi proportional to piref exp(w^T phi /
beta)), ``ipo``
(IPO's exact minimiser, tau = beta, the GD member of its set; tabular on every instance).

Expected (card / SONG24 [paper, qualitative]): HyPO has higher reward and lower reverse KL
than DPO; RLHF stays in the KL ball R/beta. Result (default run, 30 datasets, 2000 steps;
means): on L1 DPO collapses (KL 9.21, E r* -1.00, G_J 2.84) while HyPO keeps KL 0.91 with E r*
0.919 (G_J 0.093): higher reward and lower KL, as SONG24 reports for TL;DR. On the tabular P1 /
P2 / random instances HyPO's KL is lower than DPO's (0.25 vs 0.35, 0.063 vs 0.110, 0.007 vs
0.073) at a small cost in reward (the penalised form's bias, C8(c)); RLHF is close to DPO where
the data identify pi* and stays within R/beta. The quick run (3 datasets, 1000 steps) gives the
same ordering (L1: DPO KL 9.04, HyPO 0.72). Difference from the card: on L1 RLHF with the
bounded *linear* reward class nearly collapses like DPO (KL 8.24, E r* -0.837; with the earlier
box ||w||_inf <= 1 it was KL 8.99, E r* -0.967): the class's span on the reference support
reaches ||w||_2 max ||phi_y - phi_y'||_2 = sqrt(4.25) = 2.06 > the true R, so its KL ball
R_class/beta = 20.6 does not exclude the collapse at KL 9.21 (C2 holds; the ball is just large
with beta = 0.1). IPO (tau = beta, exact) avoids the collapse on L1 because it is tabular here.

Data (tidy): ``instance``, ``method``, ``seed``, ``reward`` (E_pi r*), ``kl``, ``G_J``.
Deviations: mean over seeds with a bootstrap CI instead of the paper's mean +- std over 3 seeds
(STYLE §9); no win rates (no judge in the sandbox).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS", "INSTANCES"]

METHODS = ("dpo", "hypo", "rlhf", "ipo")
INSTANCES = ("P1", "P2", "random", "L1")


@dataclass(frozen=True)
class Config:
    """E5's parameters.

    Attributes
    ----------
    n_seeds : datasets per instance; n_pairs : comparisons per dataset.
    steps, lr : gradient descent of DPO and HyPO (card default step 0.5).
    lam : HyPO's KL weight (card §3.8 grid: 0.1).
    random_seed : seed of the random bandit.
    """

    n_seeds: int = 30
    n_pairs: int = 200
    steps: int = 2000
    lr: float = 0.5
    lam: float = 0.1
    random_seed: int = 11

    def __post_init__(self) -> None:
        check_int("n_seeds", self.n_seeds, low=2)
        check_int("n_pairs", self.n_pairs, low=1)
        check_int("steps", self.steps, low=1)
        check_in_range("lr", self.lr, low=0.0, low_open=True)
        check_in_range("lam", self.lam, low=0.0)
        check_int("random_seed", self.random_seed, low=0)


DEFAULT = Config()
QUICK = Config(n_seeds=3, steps=1000)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Every method on every instance and seed; the dataset of (instance, seed) draws from its
    own child of ``rng``.

    Examples
    --------
    >>> df = run(Config(n_seeds=2, n_pairs=50, steps=5), rng=np.random.default_rng(0))
    >>> sorted(df.instance.unique()) == sorted(INSTANCES)
    True
    """
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.mdps import preference as inst

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e5_summary.Config, got "
                        f"{type(config).__name__}")
    bandits = {"P1": inst.song_zero_mass(), "P2": inst.song_small_mass(1e-4),
               "random": inst.random_preference_bandit(rng=config.random_seed, beta=0.2),
               "L1": inst.ood_collapse()}
    children = iter(rng.spawn(len(bandits) * config.n_seeds))
    rows: list[dict[str, Any]] = []
    for name, b in bandits.items():
        loglin = name == "L1"
        for seed in range(config.n_seeds):
            child = next(children)
            if loglin and seed > 0:          # L1's data are fixed: the runs are identical
                rows += [dict(row, seed=seed) for row in rows if row["instance"] == name
                         and row["seed"] == 0]
                continue
            data = inst.ood_collapse_pairs() if loglin else \
                pref.sample_pairs(b, config.n_pairs, rng=child)
            emp = data.normalized()
            param = "loglinear" if loglin else "tabular"
            loss = pref.dpo(b.beta)
            pols = {"dpo": pref.train(b, emp, loss, steps=config.steps, lr=config.lr,
                                      param=param, record=[config.steps]).logpi,
                    "hypo": pref.train(b, emp, loss, steps=config.steps, lr=config.lr,
                                       lam=config.lam, param=param,
                                       record=[config.steps]).logpi,
                    "ipo": pref.ipo_minimizer_set(b, data, b.beta).gd_limit()}
            if loglin:
                w = pref.loglinear_minimizer(b, data, pref.dpo(1.0), bound=1.0, norm="2")
                pols["rlhf"] = pref.loglinear_policy(b, w / b.beta)
            else:
                pols["rlhf"] = pref.rlhf(b, data).logpi
            for method, lp in pols.items():
                g = pref.gaps(b, lp)
                rows.append({"instance": name, "method": method, "seed": seed,
                             "reward": pref.expected_reward(b, lp), "kl": g.kl_ref,
                             "G_J": g.G_J})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Grouped bars per instance: E_pi r*, KL(pi || piref) and G_J per method, mean over seeds
    with 95% bootstrap intervals; the table's numbers annotated on the KL panel."""
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "method", "seed", "reward", "kl", "G_J"})
    fig = Figure(figsize=(13.0, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    insts = [i for i in INSTANCES if i in set(data.instance)]
    width = 0.8 / len(METHODS)
    for ax, col, title in zip(axes, ("reward", "kl", "G_J"),
                              ("E_pi r* (RM-score analog)", "reverse KL(pi || piref)",
                               "G_J = J(pi*) - J(pi)")):
        top = 0.0                                  # highest bar or interval end
        for j, (method, color) in enumerate(zip(METHODS, ("C3", "C0", "C2", "C4"))):
            centers, lo, hi = [], [], []
            for name in insts:
                vals = data[(data.instance == name) & (data.method == method)][col].to_numpy()
                ci = bootstrap_ci(vals, rng=rng, n_boot=n_boot, statistic="mean")
                centers.append(float(ci.center))
                lo.append(float(ci.center - ci.lo))
                hi.append(float(ci.hi - ci.center))
            x = np.arange(len(insts)) + (j - (len(METHODS) - 1) / 2) * width
            ax.bar(x, centers, width, yerr=[lo, hi], color=color, label=method, capsize=2)
            top = max(top, float(np.max(np.add(centers, hi))))
        ax.set_xticks(np.arange(len(insts)), insts)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
        if col in ("kl", "G_J"):
            ax.set_yscale("symlog", linthresh=0.01)
            # headroom: the tallest bars (L1's DPO and RLHF) reached the frame; a factor 3 is
            # about half a decade above them on the log part of the axis
            if top > 0.0:
                ax.set_ylim(0.0, 3.0 * top)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"Card preference_coverage E5 (TL;DR table analog): mean over "
                 f"{data.seed.nunique()} datasets, 95% bootstrap intervals (B={n_boot}); DPO / "
                 f"HyPO (lam={config.lam}) by {config.steps} GD steps", fontsize=9)
    return fig
