"""Card preference_coverage E2: the sample-size sweep -- as n grows the comparison graph
becomes complete and every method approaches pi*; at small n DPO's worst member and DPO with
function approximation deviate most.

Instance [card §5.2 E2]: a random bandit of the card's §4 distribution with full-support
mu = piref (:func:`rlsandbox.mdps.preference.random_preference_bandit`, ``instance_seed``; 2
prompts x 5 responses, beta = 0.5, features d = 3 for the log-linear class, misspecified), and
n sampled BT comparisons (nu = mu x mu), n in ``ns``, ``n_seeds`` datasets each.

Methods (``method`` column; G_J = beta KL(pi || pi*), KL to piref):

* ``rlhf`` / ``rlhf_worst`` -- bounded tabular RLHF, pessimistic / worst tie-break (card §3.1);
* ``dpo_gd`` -- tabular DPO by gradient descent from log piref on the empirical distribution
  (``gd_steps`` steps of ``lr``; defined even when the BT-MLE does not exist, pitfall 4);
* ``dpo_worst`` -- the worst member of the exact DPO minimiser set (sup G_J, card C4) -- only
  on datasets where the BT-MLE exists (Zermelo condition; column ``mle_exists``);
* ``hypo_min_kl`` -- HyPO's lambda -> 0+ limit, the min-KL member (C8(b)), where M exists;
* ``ipo`` -- IPO's exact minimiser (C11(b), tau = beta; GD member of its set);
* ``dpo_fa`` -- log-linear DPO (d = 3 random features) by gradient descent from theta = 0.

Columns: n, seed, method, G_J, kl, dist (max |pi - pi*|), frac_unseen (fraction of responses
never compared), n_components (mean over prompts), mle_exists (1/0).

Expected (card): coverage becomes complete as n grows and all methods converge to pi* (C3's
positive control); at small n DPO's worst member and DPO with FA deviate most.

Result (default run, 50 datasets per n; median G_J at n = 30 / 300 / 10000): RLHF 0.084 /
0.014 / 0.0006 (worst tie-break 0.095 / 0.014 / 0.0006); tabular DPO by GD 0.19 / 0.015 /
0.0010; DPO's worst member (where it exists) - / 0.023 / 0.0006 and the min-KL member alike once
M is a singleton. The unseen fraction falls from 0.08 (n = 30) to 0 (n >= 300) and the BT-MLE
exists on 0%, 36%, 92%, 100% of the datasets at n = 30, 100, 300, >= 1000: at n = 30 DPO has no
minimiser at all (its loss is minimised only as a margin -> infinity, card §6 pitfall 4), so
its worst case is unbounded there -- the "DPO's worst member deviates most" of the card, in its
strongest form; DPO by GD (0.19) deviates more than RLHF (0.084) at n = 30. Differences from the
card's "all methods converge to pi*": IPO converges to its own optimum piref exp(P(y > mu)/tau)
(C11(a)), not pi*, and plateaus at G_J = 0.016; log-linear DPO with misspecified random
features plateaus at 0.019 (its class does not contain pi*).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS"]

METHODS = ("rlhf", "rlhf_worst", "dpo_gd", "dpo_worst", "hypo_min_kl", "ipo", "dpo_fa")


@dataclass(frozen=True)
class Config:
    """E2's parameters.

    Attributes
    ----------
    ns : numbers of comparisons (card: 30 ... 10000).
    n_seeds : datasets per n (card: 50).
    instance_seed : seed of the bandit.
    gd_steps, lr : gradient descent of dpo_gd and dpo_fa on the empirical distribution.
    """

    ns: tuple[int, ...] = (30, 100, 300, 1000, 3000, 10000)
    n_seeds: int = 50
    instance_seed: int = 3
    gd_steps: int = 500
    lr: float = 0.5

    def __post_init__(self) -> None:
        for i, n in enumerate(self.ns):
            check_int(f"ns[{i}]", n, low=1)
        check_int("n_seeds", self.n_seeds, low=2)
        check_int("instance_seed", self.instance_seed, low=0)
        check_int("gd_steps", self.gd_steps, low=1)
        check_in_range("lr", self.lr, low=0.0, low_open=True)


DEFAULT = Config()
QUICK = Config(ns=(30, 300, 3000), n_seeds=6, gd_steps=300)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All methods on every (n, seed) dataset; dataset (n, seed) draws from its own child of
    ``rng`` (spawned over the grid in a fixed order).

    Examples
    --------
    >>> df = run(Config(ns=(200,), n_seeds=2, gd_steps=5), rng=np.random.default_rng(0))
    >>> set(df.method) <= set(METHODS)
    True
    """
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.mdps.preference import random_preference_bandit

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e2_sample_size.Config, got "
                        f"{type(config).__name__}")
    b = random_preference_bandit(rng=config.instance_seed, nX=2, K=5, beta=0.5, d=3)
    star = b.pi_star
    children = iter(rng.spawn(len(config.ns) * config.n_seeds))
    rows: list[dict[str, Any]] = []
    for n in config.ns:
        for seed in range(config.n_seeds):
            data = pref.sample_pairs(b, n, rng=next(children))
            graph = pref.comparison_graph(data)
            base = {"n": n, "seed": seed, "frac_unseen": float(graph.unseen.mean()),
                    "n_components": float(graph.n_components.mean()),
                    "mle_exists": int(graph.strongly_connected[
                        np.arange(graph.strongly_connected.shape[1])[None, :]
                        < graph.n_components[:, None]].all())}
            emp = data.normalized()
            policies = {"rlhf": pref.rlhf(b, data).logpi,
                        "rlhf_worst": pref.rlhf(b, data, tie_break="worst").logpi,
                        "dpo_gd": pref.train(b, emp, pref.dpo(b.beta), steps=config.gd_steps,
                                             lr=config.lr, record=[config.gd_steps]).logpi,
                        "ipo": pref.ipo_minimizer_set(b, data, b.beta).gd_limit(),
                        "dpo_fa": pref.train(b, emp, pref.dpo(b.beta), steps=config.gd_steps,
                                             lr=config.lr, param="loglinear",
                                             record=[config.gd_steps]).logpi}
            if base["mle_exists"]:
                M = pref.dpo_minimizer_set(b, data)
                policies["hypo_min_kl"] = M.min_kl_member()
            for method, lp in policies.items():
                g = pref.gaps(b, lp)
                rows.append({**base, "method": method, "G_J": g.G_J, "kl": g.kl_ref,
                             "dist": float(np.abs(np.exp(lp) - star).max())})
            if base["mle_exists"]:
                rows.append({**base, "method": "dpo_worst", "G_J": M.sup_gap(),
                             "kl": M.sup_kl_reference(), "dist": -1.0})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: median G_J vs n per method (log-log, 95% bootstrap band); right: the fraction of
    unseen responses, the mean number of components and the fraction of datasets whose
    BT-MLE exists, vs n."""
    from matplotlib.figure import Figure

    require_columns(data, {"n", "seed", "method", "G_J", "frac_unseen", "n_components", "mle_exists"})
    fig = Figure(figsize=(12.5, 4.6), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    for method, color in zip(METHODS, ("C2", "C8", "C3", "C1", "C0", "C4", "C7")):
        sub = data[data.method == method]
        if sub.empty:
            continue
        meds = sub.groupby("n").G_J
        ns = np.array(sorted(sub.n.unique()), dtype=float)
        if method in ("dpo_worst", "hypo_min_kl"):      # defined only where the MLE exists
            ax.plot(ns, np.maximum(meds.median().to_numpy(), 1e-12), color=color, marker="s",
                    ls="--", label=f"{method} (datasets with an MLE)")
            continue
        table = sub.pivot(index="seed", columns="n", values="G_J")
        ci = bootstrap_ci(np.maximum(table.to_numpy(), 1e-12), rng=rng, n_boot=n_boot,
                          statistic="median")
        plot_band(ax, ns, ci, color=color, marker="o", label=method)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("comparisons n")
    ax.set_ylabel(r"$G_J = \beta\,KL(\pi\|\pi^*)$ (median over datasets)")
    ax.set_title("every method approaches pi* as coverage completes")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, which="both")
    one = data[data.method == "rlhf"].groupby("n")
    ns = np.array(sorted(data.n.unique()), dtype=float)
    ax2.plot(ns, one.frac_unseen.mean(), marker="o", label="fraction of unseen responses")
    ax2.plot(ns, one.mle_exists.mean(), marker="s", label="fraction of datasets with a BT-MLE")
    ax2.plot(ns, one.n_components.mean() / 5.0, marker="^",
             label="components per prompt / K")
    ax2.set_xscale("log")
    ax2.set_xlabel("comparisons n")
    ax2.set_title("coverage of the comparison graph")
    ax2.legend(fontsize=7)
    ax2.grid(alpha=0.3)
    fig.suptitle(f"Card preference_coverage E2: random bandit (2 prompts x 5 responses, beta=0.5, "
                 f"mu = piref), {data.seed.nunique()} datasets per n; median and 95% bootstrap "
                 f"band (B={n_boot})", fontsize=9)
    return fig
