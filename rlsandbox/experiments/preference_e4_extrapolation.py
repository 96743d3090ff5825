"""Card preference_coverage E4: extrapolation under linear function approximation -- the
unseen best response gains, the in-data responses lose (SONG24's extrapolation section).

Instances [card §5.2 E4, C10]: L2 "extrapolation" (:func:`rlsandbox.mdps.preference.extrapolation`:
phi = [(1,0), (0,0), (2,0), (0,1)], piref uniform, beta = 1, one pair y0 > y1, the unseen y2 the
best response) and ``n_random`` random linear bandits (one prompt, K responses, d = 2 features,
realisable r* = beta phi theta*, piref uniform) whose best response is excluded from the data:
``n_pairs`` BT comparisons sampled among the other responses.

Methods (full-batch GD, step ``lr``, ``steps`` steps):

* ``dpo_loglinear`` -- DPO on pi_theta proportional to piref exp(theta^T phi) from theta = 0;
* ``dpo_tabular`` -- DPO on tabular logits from log piref (unseen logits never move, C10);
* ``hypo`` -- SONG24's HyPO (penalised, weight ``lam``), log-linear, exact KL gradient;
* ``rlhf`` -- RLHF with the bounded linear reward class {w^T phi : ||w||_2 <= B} (card §3.1:
  ball-constrained BT maximum likelihood,
  :func:`~rlsandbox.algorithms.preference.loglinear_minimizer` with ``norm="2"``),
  then online policy gradient ascent on J_{r_hat}(pi_theta) with the exact gradient
  sum_x rho(x) Cov_{pi_theta}(phi, r_hat - beta log pi_theta/piref), from theta = 0.

Recorded: log pi of the unseen best response, the data-weighted mean log pi of the chosen and
of the rejected responses, KL(pi || piref), E_pi r*.

Expected (card, SONG24 [paper, details unverified]): under linear function approximation both
RLHF and DPO raise the probability of the unseen best response while lowering the in-data
preferred (and rejected) responses; tabular DPO cannot move the unseen logits. Card fixtures
on L2 (C10): log-linear DPO step 10 pi = (0.1628, 0.0345, 0.7682, 0.0345), step 50 (0.0407,
0.0017, 0.9558, 0.0017); tabular step 10 (0.5717, 0.0595, 0.1844, 0.1844).

Result: on L2 the card's fixtures are reproduced to 5e-5 (log-linear DPO step 10 / 50, tabular
step 10); after 50 steps log pi(y2) rises from -1.386 to -0.045 (DPO), -0.608 (HyPO lam = 0.5)
and -0.497 (RLHF), while log pi of the chosen y0 falls to -3.20, -1.71, -1.48 and of the
rejected y1 to -6.36, -2.81, -2.47; tabular DPO lowers y2 to -2.21 (frozen logit) and raises
y0. On the random linear instances (default run, 20 instances, 200 steps) the median change
of log pi(unseen best) is +0.72 (DPO), +0.51 (RLHF), +0.24 (HyPO), -0.16 (tabular DPO); it is
positive on 75-80% of the instances for the log-linear methods (whether the best response is
aligned with the compared feature differences is random here), and the in-data chosen
response loses on 70-80%. As the card expects, in the median; not on every instance.

Data (tidy): ``instance``, ``method``, ``step``, ``logp_best``, ``logp_chosen``,
``logp_rejected``, ``kl``, ``reward``.
Deviations: RLHF's policy step is the exact policy gradient (no sampling).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS"]

METHODS = ("dpo_loglinear", "dpo_tabular", "hypo", "rlhf")


@dataclass(frozen=True)
class Config:
    """E4's parameters.

    Attributes
    ----------
    steps, lr : GD steps and step size (card: 0.5; fixtures at steps 10 and 50).
    lam : HyPO's KL weight (card §3.8 grid value 0.5).
    B : bound of the linear reward class (||w||_2 <= B); L2's r* has w* = (1, 0).
    n_random, K, n_pairs : random linear instances, their responses, sampled comparisons.
    """

    steps: int = 200
    lr: float = 0.5
    lam: float = 0.5
    B: float = 1.0
    n_random: int = 20
    K: int = 6
    n_pairs: int = 30

    def __post_init__(self) -> None:
        check_int("steps", self.steps, low=1)
        check_in_range("lr", self.lr, low=0.0, low_open=True)
        check_in_range("lam", self.lam, low=0.0)
        check_in_range("B", self.B, low=0.0, low_open=True)
        check_int("n_random", self.n_random, low=0)
        check_int("K", self.K, low=3)
        check_int("n_pairs", self.n_pairs, low=1)


DEFAULT = Config()
QUICK = Config(steps=50, n_random=4)


def _rlhf_run(b, data, *, B, steps, lr, record):
    """Bounded linear BT reward, then exact policy-gradient ascent on J_{r_hat}(pi_theta)."""
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.algorithms.preference.model import log_softmax

    # f(w^T dphi): BT maximum likelihood in w over the card's ball ||w||_2 <= B
    w = pref.loglinear_minimizer(b, data, pref.dpo(1.0), bound=B, norm="2")
    r_hat = b.phi @ w
    theta = np.zeros(b.d)
    path = []
    for t in range(steps + 1):
        logpi = log_softmax(b.log_piref + b.phi @ theta)
        if t in record:
            path.append(logpi)
        p = np.exp(logpi)
        A = r_hat - b.beta * (logpi - b.log_piref)
        G = b.rho[:, None] * p * (A - (p * A).sum(axis=1, keepdims=True))
        theta = theta + lr * np.einsum("xy,xyd->d", G, b.phi)
    return np.array(path)


def _instance_random(seed: int, K: int, n_pairs: int):
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.mdps.preference import random_loglinear_bandit

    rng = np.random.default_rng(seed)
    b, _ = random_loglinear_bandit(rng=rng, nX=1, K=K, d=2)
    best = int(np.argmax(b.r[0]))
    mask = np.ones((1, K, K), dtype=bool)
    mask[0, best, :] = mask[0, :, best] = False
    np.fill_diagonal(mask[0], False)
    # the empirical distribution of the comparisons (weights sum to 1: the average loss, so the
    # card's step 0.5 is stable whatever n_pairs)
    return b, pref.sample_pairs(b, n_pairs, rng=rng, edges=mask).normalized(), best


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """All methods on L2 and on ``n_random`` random linear instances (instance i seeded from
    ``rng.spawn(n_random)[i]``).

    Examples
    --------
    >>> df = run(Config(steps=3, n_random=1), rng=np.random.default_rng(0))
    >>> sorted(df.method.unique()) == sorted(METHODS)
    True
    """
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.mdps.preference import extrapolation, extrapolation_pairs

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e4_extrapolation.Config, got "
                        f"{type(config).__name__}")
    cases = [("L2", extrapolation(), extrapolation_pairs(), 2)]
    for i, child in enumerate(rng.spawn(config.n_random)):
        b, data, best = _instance_random(int(child.integers(0, 2**32)), config.K,
                                         config.n_pairs)
        cases.append((f"random#{i}", b, data, best))
    record = set(range(config.steps + 1))
    rows: list[dict[str, Any]] = []
    for name, b, data, best in cases:
        W = data.W[0] / data.total
        chosen, rejected = W.sum(axis=1), W.sum(axis=0)
        loss = pref.dpo(b.beta)
        paths = {
            "dpo_loglinear": pref.train(b, data, loss, steps=config.steps, lr=config.lr,
                                        param="loglinear").logpi_path,
            "dpo_tabular": pref.train(b, data, loss, steps=config.steps, lr=config.lr
                                      ).logpi_path,
            "hypo": pref.train(b, data, loss, steps=config.steps, lr=config.lr,
                               lam=config.lam, param="loglinear").logpi_path,
            "rlhf": _rlhf_run(b, data, B=config.B, steps=config.steps, lr=config.lr,
                              record=record)}
        for method, path in paths.items():
            for step, lp in enumerate(path):
                rows.append({"instance": name, "method": method, "step": step,
                             "logp_best": float(lp[0, best]),
                             "logp_chosen": float(chosen @ lp[0]),
                             "logp_rejected": float(rejected @ lp[0]),
                             "kl": float(pref.kl_to_reference(b, lp)),
                             "reward": float(np.exp(lp[0]) @ b.r[0])})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Top: L2, log pi of the unseen best / chosen / rejected vs step per method; bottom: the
    same changes from step 0 on the random instances (median, 95% bootstrap band)."""
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "method", "step", "logp_best", "logp_chosen", "logp_rejected"})
    cols = (("logp_best", "unseen best response"), ("logp_chosen", "in-data chosen"),
            ("logp_rejected", "in-data rejected"))
    colors = dict(zip(METHODS, ("C3", "C7", "C0", "C2")))
    rand = data[data.instance != "L2"]
    nrows = 2 if not rand.empty else 1
    fig = Figure(figsize=(13.0, 3.6 * nrows), layout="constrained")
    axes = np.atleast_2d(fig.subplots(nrows, 3))
    for j, (col, title) in enumerate(cols):
        ax = axes[0, j]
        for method in METHODS:
            s = data[(data.instance == "L2") & (data.method == method)].sort_values("step")
            ax.plot(s.step, s[col], color=colors[method], label=method)
        ax.set_title(f"L2: log pi({title})", fontsize=9)
        ax.set_xlabel("gradient step")
        ax.grid(alpha=0.3)
        if nrows == 2:
            ax = axes[1, j]
            for method in METHODS:
                sub = rand[rand.method == method]
                table = sub.pivot(index="instance", columns="step", values=col)
                table = table.sub(table[0], axis=0)
                ci = bootstrap_ci(table.to_numpy(), rng=rng, n_boot=n_boot, statistic="median")
                plot_band(ax, table.columns.to_numpy(dtype=float), ci, color=colors[method],
                          label=method)
            ax.axhline(0.0, color="k", lw=0.7)
            ax.set_title(f"random linear: change of log pi({title})", fontsize=9)
            ax.set_xlabel("gradient step")
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Card preference_coverage E4 (SONG24 extrapolation analog): GD step "
                 f"{config.lr}, HyPO lam={config.lam}, RLHF reward class ||w||_2 <= "
                 f"{config.B}\nbottom: {rand.instance.nunique()} random instances with the best "
                 f"response never compared (median, 95% bootstrap band, B={n_boot})", fontsize=9)
    return fig
