"""Card preference_coverage E8: implicit rewards during token-level DPO training (RQ24 (3)).

Instance [card §5.3 E8, C16]: random token trees (V = 3, T = 3, random piref per state, dense
N(0, 1) per-token rewards, beta = 0.7; :func:`rlsandbox.mdps.preference.random_token_tree`),
population BT pairs of responses y, y' ~ piref (the sequence bandit's nu = mu x mu, mu =
piref), and token-level DPO (:func:`rlsandbox.algorithms.preference.token.train_token`:
gradient descent on per-state logits from log piref, sequence margins = sums over tokens).

Recorded per step, with the implicit reward r_pi(y) = beta log pi(y|x)/piref(y|x):

* ``ref_chosen``: E_{y ~ piref}[r_pi(y)] -- "chosen responses distributed like piref" (the
  SFT model trained on chosen responses); by C16 it equals -beta KL(piref || pi) <= 0 at every
  step, so it starts at 0 and can only be negative;
* ``star_chosen``: E_{y ~ pi*}[r_pi(y)] -- C16's control, chosen responses drawn from pi*; at the
  optimum it is beta KL(pi* || piref) > 0 (implicit reward rises);
* ``data_chosen``, ``data_rejected``: the labelled data's averages E_q[r_pi(y+)], E_q[r_pi(y-)];
* ``dist_star``: max |pi - pi*| over responses (token-level DPO converges to pi*).

Expected (card): the piref-chosen average is <= 0 at every step; with chosen ~ pi* it rises
to beta KL(pi* || piref) > 0. Result (quick run, 2 trees, 800 steps): ``ref_chosen`` <= 0 at
every step and -0.95 / -0.45 at the end; ``star_chosen`` rises to 0.740 / 0.323 vs beta KL(pi*
|| piref) = 0.740 / 0.325 (max |pi - pi*| 1e-3 / 3e-3 at the last step). After an early rise the
data's chosen average falls too, and at the end the chosen and the rejected averages are both
negative (-0.40 / -0.10 and -1.38 / -0.83): RQ24's observation (3) that implicit rewards of
chosen and rejected responses both decline, here because the winners of piref pairs are
distributed close to piref. Default run (10 trees, 3000 steps): ``ref_chosen`` <= 1.6e-16 throughout;
``star_chosen`` within 0.06 of beta KL(pi* || piref) at the end (the slowest tree is still 0.07
from pi* in max-abs probability: comparisons drawn from piref rarely involve the responses pi*
favours when piref gives them little mass).

Data (tidy): columns ``tree``, ``step``, ``ref_chosen``, ``star_chosen``, ``data_chosen``,
``data_rejected``, ``dist_star``, ``target`` (beta KL(pi* || piref) of the tree).
Deviations: population pairs (no sampling noise); fixed length T (no EOS).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """E8's parameters.

    Attributes
    ----------
    n_trees : random trees (seeds spawned from the root); V, T, beta : tree shape (card C14).
    steps, lr : token-level DPO gradient descent; n_grid : recorded steps (log-spaced).
    """

    n_trees: int = 10
    V: int = 3
    T: int = 3
    beta: float = 0.7
    steps: int = 3000
    lr: float = 2.0
    n_grid: int = 40

    def __post_init__(self) -> None:
        check_int("n_trees", self.n_trees, low=2)
        check_int("V", self.V, low=2)
        check_int("T", self.T, low=1)
        check_in_range("beta", self.beta, low=0.0, low_open=True)
        check_int("steps", self.steps, low=1)
        check_in_range("lr", self.lr, low=0.0, low_open=True)
        check_int("n_grid", self.n_grid, low=2)


DEFAULT = Config()
QUICK = Config(n_trees=2, steps=800, n_grid=15)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Token-level DPO on each random tree; tree i is drawn from ``rng.spawn(n_trees)[i]``.

    Examples
    --------
    >>> df = run(Config(n_trees=2, T=2, steps=5, n_grid=2), rng=np.random.default_rng(0))
    >>> bool((df.ref_chosen <= 1e-12).all())
    True
    """
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.algorithms.preference import token as tk
    from rlsandbox.mdps.preference import random_token_tree

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e8_implicit_reward.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    grid = np.unique(np.concatenate([[0], np.round(np.logspace(0, np.log10(config.steps),
                                                               config.n_grid)).astype(int)]))
    rows: list[dict[str, Any]] = []
    for i, child in enumerate(rng.spawn(config.n_trees)):
        tree = random_token_tree(rng=child, V=config.V, T=config.T, beta=config.beta)
        b = tk.to_bandit(tree)
        q = pref.population_pairs(b)
        out = tk.train_token(tree, q, pref.dpo(config.beta), steps=config.steps,
                             lr=config.lr, record=grid)
        ref, star = np.exp(b.log_piref[0]), np.exp(b.log_pi_star[0])
        W = q.W[0] / q.total
        chosen, rejected = W.sum(axis=1), W.sum(axis=0)       # marginals of y+ and y-
        target = config.beta * float(pref.kl_to_reference(b, b.log_pi_star))
        for step, lp in zip(out.steps, out.logpi_path):
            r_pi = config.beta * (lp[0] - b.log_piref[0])
            rows.append({"tree": i, "step": int(step), "ref_chosen": float(ref @ r_pi),
                         "star_chosen": float(star @ r_pi), "data_chosen": float(chosen @ r_pi),
                         "data_rejected": float(rejected @ r_pi),
                         "dist_star": float(np.abs(np.exp(lp[0]) - star).max()),
                         "target": target})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: the four average implicit rewards vs step (median over trees, 95% bootstrap band);
    right: max |pi - pi*| vs step per tree."""
    from matplotlib.figure import Figure

    require_columns(data, {"tree", "step", "ref_chosen", "star_chosen", "data_chosen",
                           "data_rejected", "dist_star", "target"})
    fig = Figure(figsize=(12.0, 4.4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    labels = {"ref_chosen": "chosen ~ piref: E_ref[r_pi] = -beta KL(piref||pi)",
              "star_chosen": "chosen ~ pi* (control): -> beta KL(pi*||piref)",
              "data_chosen": "data y+ (BT winners of piref pairs)",
              "data_rejected": "data y- (BT losers)"}
    for (col, label), color in zip(labels.items(), ("C0", "C3", "C2", "C1")):
        table = data.pivot(index="tree", columns="step", values=col)
        ci = bootstrap_ci(table.to_numpy(), rng=rng, n_boot=n_boot, statistic="median")
        plot_band(ax, np.maximum(table.columns.to_numpy(dtype=float), 0.8), ci, color=color,
                  label=label)
    ax.axhline(0.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("gradient step")
    ax.set_ylabel(r"average implicit reward $\beta \log \pi/\pi_{ref}$")
    ax.set_title("implicit rewards during token-level DPO (RQ24 (3), card C16)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    for tree, sub in data.groupby("tree"):
        ax2.plot(np.maximum(sub.step, 0.8), np.maximum(sub.dist_star, 1e-17), lw=1)
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("gradient step")
    ax2.set_ylabel(r"$\max_y |\pi(y|x) - \pi^*(y|x)|$")
    ax2.set_title("token-level DPO converges to pi* (one line per tree)")
    ax2.grid(alpha=0.3, which="both")
    fig.suptitle(f"Card preference_coverage E8: {data.tree.nunique()} random trees V={config.V}, "
                 f"T={config.T}, beta={config.beta}, population pairs from piref, GD step "
                 f"{config.lr}; median and 95% bootstrap band (B={n_boot})", fontsize=9)
    return fig
