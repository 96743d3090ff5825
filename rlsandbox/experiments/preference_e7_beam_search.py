"""Card preference_coverage E7: beam search of increasing width on the optimal and on a
DPO-trained token policy (RQ24's search claim, card C15).

Instances [card §5.3 E7]: random token trees (V = 3, T = 4, random piref per state, dense
N(0, 1) rewards, beta = 0.7; :func:`rlsandbox.mdps.preference.random_token_tree`). Policies:
the exact soft-optimal pi* (:func:`~rlsandbox.algorithms.preference.token.soft_solve`) and a
token-level DPO policy (:func:`~rlsandbox.algorithms.preference.token.train_token`) trained on
``n_pairs`` sampled BT comparisons of piref responses. Decoding: beam search on the policy's
log-likelihood with width 1 (greedy) ... V^(T-1) (exact likelihood search), and ancestral
sampling as the baseline (its expectations computed exactly over the V^T responses).

Per decoded response y: the true return R(x, y), the regularised return R + beta log piref(y|x)
(the quantity likelihood search on pi* maximises, C15(a): log pi*(y|x) = [R + beta log piref -
V*(x)] / beta), and -log piref(y|x) (the KL of the point mass on y to piref; the cost side).

Expected (card): exact search maximises the regularised return (C15); plot R, R + beta log
piref and KL against the width. Result (default run, 40 trees, T = 4, means): on pi* the
beam attains max_y [R + beta log piref] exactly (gap 0 to round-off) from width 9 on; greedy is
0.045 short, width 2 0.007, sampling 0.752; the true return rises from 3.03 (sampling) to 3.44
(greedy) and 3.51 (width 3; 3.505 at exact search: not monotone in the width), and the cost
-log piref(y) from KL(pi* || piref) = 1.57 to 3.2. The token-level DPO policy (2000 sampled
pairs, 1000 steps) behaves alike, 0.11 short of the best regularised return at exact search
(its likelihood is not the true regularised return: finite data). The quick run (4 trees,
T = 3) reaches gap 0 at width 2. RQ24's LLM finding that very wide beams degrade
(over-optimisation of a learned reward) has no analog with the exact pi*, whose exact search is
by C15 the optimum of the regularised return.

Data (tidy): columns ``tree``, ``policy`` ("pi_star", "dpo"), ``width`` (0 = sampling),
``R``, ``reg`` (R + beta log piref), ``kl`` (-log piref; for sampling, KL(pi || piref)),
``best_reg`` (max_y of R + beta log piref of the tree).
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
    """E7's parameters.

    Attributes
    ----------
    n_trees : random trees; V, T, beta : tree shape (card C14/C15 use V = 3).
    n_pairs : sampled comparisons for the DPO policy; dpo_steps, lr : its token-level GD.
    """

    n_trees: int = 40
    V: int = 3
    T: int = 4
    beta: float = 0.7
    n_pairs: int = 2000
    dpo_steps: int = 1000
    lr: float = 2.0

    def __post_init__(self) -> None:
        check_int("n_trees", self.n_trees, low=2)
        check_int("V", self.V, low=2)
        check_int("T", self.T, low=1)
        check_in_range("beta", self.beta, low=0.0, low_open=True)
        check_int("n_pairs", self.n_pairs, low=1)
        check_int("dpo_steps", self.dpo_steps, low=0)
        check_in_range("lr", self.lr, low=0.0, low_open=True)


DEFAULT = Config()
QUICK = Config(n_trees=4, T=3, dpo_steps=300)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Decode each tree with each policy at every beam width; tree i and its DPO data come from
    ``rng.spawn(n_trees)[i]``.

    Examples
    --------
    >>> df = run(Config(n_trees=2, T=2, n_pairs=20, dpo_steps=5), rng=np.random.default_rng(0))
    >>> sorted(df.width.unique().tolist())
    [0, 1, 2, 3]
    """
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.algorithms.preference import token as tk
    from rlsandbox.mdps.preference import random_token_tree

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e7_beam_search.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    V, T, beta = config.V, config.T, config.beta
    rows: list[dict[str, Any]] = []
    for i, child in enumerate(rng.spawn(config.n_trees)):
        tree = random_token_tree(rng=child, V=V, T=T, beta=beta)
        R = tk.sequence_return(tree).reshape(-1)
        log_ref = tk.sequence_sum(tree.log_piref, T).reshape(-1)
        reg = R + beta * log_ref
        b = tk.to_bandit(tree)
        # the empirical distribution of the comparisons (weights summing to 1: the DPO loss is
        # then the average, card §3.2, and the step size does not scale with n_pairs)
        data = pref.sample_pairs(b, config.n_pairs, rng=child).normalized()
        dpo_run = tk.train_token(tree, data, pref.dpo(beta), steps=config.dpo_steps,
                                 lr=config.lr, record=[config.dpo_steps])
        for name, levels in (("pi_star", tk.soft_solve(tree).log_pi), ("dpo", dpo_run.log_pi)):
            seq = tk.sequence_sum(levels, T).reshape(-1)
            p = np.exp(seq)
            rows.append({"tree": i, "policy": name, "width": 0, "R": float(p @ R),
                         "reg": float(p @ reg), "kl": float(p @ (seq - log_ref)),
                         "best_reg": float(reg.max())})
            for width in range(1, V ** max(T - 1, 0) + 1):
                y = tk.beam_search(tree, levels, width)[0]
                f = int(np.ravel_multi_index(tuple(y), (V,) * T))
                rows.append({"tree": i, "policy": name, "width": width, "R": float(R[f]),
                             "reg": float(reg[f]), "kl": float(-log_ref[f]),
                             "best_reg": float(reg.max())})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Three panels vs beam width (log x; sampling drawn as horizontal dashed lines): true R,
    regularised return minus its maximum, and -log piref; means over trees with 95% bootstrap
    bands, one colour per policy."""
    from matplotlib.figure import Figure

    require_columns(data, {"tree", "policy", "width", "R", "reg", "kl", "best_reg"})
    data = data.assign(reg_gap=data.reg - data.best_reg)
    fig = Figure(figsize=(13.5, 4.2), layout="constrained")
    axes = fig.subplots(1, 3)
    panels = (("R", "true return R(x, y)"),
              ("reg_gap", "R + beta log piref  minus its max over y"),
              ("kl", "-log piref(y|x)  (sampling: KL(pi || piref))"))
    for (col, title), ax in zip(panels, axes):
        for (policy, color) in (("pi_star", "C0"), ("dpo", "C3")):
            sub = data[(data.policy == policy) & (data.width > 0)]
            table = sub.pivot(index="tree", columns="width", values=col)
            ci = bootstrap_ci(table.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
            label = "exact pi*" if policy == "pi_star" else "token-level DPO"
            plot_band(ax, table.columns.to_numpy(dtype=float), ci, color=color, marker="o",
                      label=f"beam, {label}")
            samp = data[(data.policy == policy) & (data.width == 0)][col].mean()
            ax.axhline(samp, color=color, ls="--", lw=1, label=f"sampling, {label}")
        ax.set_xscale("log")
        ax.set_xlabel("beam width")
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
    axes[2].legend(fontsize=7)
    fig.suptitle(f"Card preference_coverage E7 (RQ24 search analog): {data.tree.nunique()} random "
                 f"trees V={config.V}, T={config.T}, beta={config.beta}; mean and 95% bootstrap "
                 f"band (B={n_boot}); full width = exact likelihood search", fontsize=9)
    return fig
