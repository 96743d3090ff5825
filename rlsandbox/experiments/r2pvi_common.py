"""Shared machinery of the R2PVI figures (simulated linear MDP, card §5.1): not a figure itself.

A *grid run* trains one agent per (method spec, replication) on the simulated MDP and scores
its greedy policy in the perturbed test models for every q:

* data: ``"legacy"`` replays the official code's data stream for replication r (legacy
  MT19937 seeded with r, :func:`rlsandbox.mdps.r2pvi.legacy_dataset`), so the agents are
  exactly those of the published runs; ``"generator"`` draws the K trajectories with
  :func:`rlsandbox.algorithms.r2pvi.collect` from child streams of the run's ``rng``
  (``rng.spawn(replications)``, in order);
* evaluation: ``"exact"`` is the policy's expected return in the test model (exact DP, no
  noise: the card's plan, §5.3); ``"legacy_mc"`` is the code's Monte-Carlo average over
  ``mc_episodes`` episodes with the code's test stream (kept only to compare with the
  published numbers, card P14).

Tidy output: one row per method x replication x q x evaluator, columns ``method`` (the label,
which names lam where there is one; the configuration holds the values), ``replication``,
``q``, ``evaluator``, ``value``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_choice, check_in_range, check_int
from rlsandbox.algorithms.r2pvi.offline import OfflineData, collect, drpvi, pevi, r2pvi
from rlsandbox.dp.finite_horizon import evaluate_finite
from rlsandbox.mdps.r2pvi import (FAIL_STATE, X1, legacy_dataset, legacy_monte_carlo,
                                  simulated_linear_mdp, simulated_test_mdp, uniform_behavior)

__all__ = ["Spec", "run_grid", "summary", "DATA_SOURCES", "LABELS"]

DATA_SOURCES = ("legacy", "generator")
#: Display names of the methods.
LABELS = {"pevi": "PEVI", "tv": "R2PVI-TV", "kl": "R2PVI-KL", "chi2": r"R2PVI-$\chi^2$"}


@dataclass(frozen=True)
class Spec:
    """One curve: ``method`` in {"pevi", "tv", "kl", "chi2", "drpvi"} and its lam (nan for
    PEVI and DRPVI); ``rho`` is DRPVI's radius, applied as in the official simulated-MDP code
    to factor 4 at the first step only (``Rho = [[0, 0, 0, rho], [0, 0, 0, 0]]``, card P4)."""

    method: str
    lam: float
    label: str
    rho: float = float("nan")



def check_sweep_config(config: Any) -> None:
    """The validation shared by the Figure 1(a) and 1(b) configs: ``beta``, ``ridge``, ``K``,
    ``replications``, ``qs``, ``mode``, ``data`` and ``mc_episodes`` (each config checks its own
    ``lam`` / ``lams`` on top)."""
    check_in_range("beta", config.beta, low=0.0)
    check_in_range("ridge", config.ridge, low=0.0, low_open=True)
    check_int("K", config.K, low=1)
    check_int("replications", config.replications, low=2)
    if not isinstance(config.qs, tuple) or not config.qs:
        raise TypeError(f"qs must be a non-empty tuple of floats in [0, 1], got {config.qs!r}")
    for i, q in enumerate(config.qs):
        check_in_range(f"qs[{i}]", q, low=0.0, high=1.0)
    check_choice("mode", config.mode, ("paper", "reference_code"))
    check_choice("data", config.data, DATA_SOURCES)
    check_int("mc_episodes", config.mc_episodes, low=0)

def run_grid(specs: list[Spec], *, qs: tuple, K: int, replications: int, beta: float,
             ridge: float, mode: str, data: str, xi_norm: float, delta: float,
             mc_episodes: int, rng: np.random.Generator) -> pd.DataFrame:
    """Train every spec on every replication's data set and score it on every q (see module)."""
    data = check_choice("data", data, DATA_SOURCES)
    lin = simulated_linear_mdp(delta=delta, xi_norm=xi_norm)
    tests = [simulated_test_mdp(q, delta=delta, xi_norm=xi_norm) for q in qs]
    fh_tests = [t.to_tabular() for t in tests]
    if data == "generator":
        streams = rng.spawn(replications)
        datasets = [collect(lin, uniform_behavior(lin), K=K, rng=s) for s in streams]
    else:
        datasets = []
        for rep in range(replications):
            s, a = legacy_dataset(lin, K=K, seed=rep)
            datasets.append(OfflineData(s, a, lin.R[np.arange(lin.H)[None, :], s[:, :-1], a]))
    cols: dict[str, list] = {"method": [], "replication": [], "q": [], "evaluator": [],
                             "value": []}

    def add(spec: Spec, rep: int, q: float, evaluator: str, value: float) -> None:
        cols["method"].append(spec.label)
        cols["replication"].append(rep)
        cols["q"].append(float(q))
        cols["evaluator"].append(evaluator)
        cols["value"].append(float(value))

    kw: dict[str, Any] = dict(beta=beta, ridge=ridge, mode=mode, fail_states=[FAIL_STATE])
    for spec in specs:
        for rep, d in enumerate(datasets):
            if spec.method == "pevi":
                sol = pevi(lin, d, **kw)
            elif spec.method == "drpvi":
                table = np.zeros((lin.H, lin.d))
                table[0, 3] = spec.rho
                sol = drpvi(lin, d, rho=table, **kw)
            else:
                sol = r2pvi(lin, d, divergence=spec.method, lam=spec.lam, **kw)
            for q, test, fh in zip(qs, tests, fh_tests):
                add(spec, rep, q, "exact", evaluate_finite(fh, sol.policy)[0, X1])
                if mc_episodes > 0:
                    add(spec, rep, q, "legacy_mc",
                        legacy_monte_carlo(test, sol.policy, seed=rep, episodes=mc_episodes))
    return pd.DataFrame(cols)


def summary(data: pd.DataFrame, evaluator: str = "exact") -> pd.DataFrame:
    """Mean over replications: index method, columns q."""
    d = data[data["evaluator"] == evaluator]
    return d.pivot_table(index="method", columns="q", values="value", aggfunc="mean")


def deviation(data: pd.DataFrame, card: dict[str, tuple], qs: tuple,
              evaluator: str) -> dict[str, float]:
    """max_q |mean - card| per method (card numbers given for every q of ``qs``)."""
    s = summary(data, evaluator)
    out = {}
    for label, values in card.items():
        if label in s.index and len(values) == len(qs) and all(q in s.columns for q in qs):
            out[label] = float(np.max(np.abs(s.loc[label, list(qs)].to_numpy()
                                             - np.asarray(values))))
    return out


def plot_curves(ax: Any, data: pd.DataFrame, *, card: dict[str, tuple], qs_card: tuple,
                n_boot: int, rng: np.random.Generator, colors: dict[str, str]) -> None:
    """Mean over replications (exact evaluation) with a 95% bootstrap band, card as markers."""
    from rlsandbox.experiments.plotting import bootstrap_ci, plot_band

    d = data[data["evaluator"] == "exact"]
    for label in dict.fromkeys(d["method"]):
        wide = d[d["method"] == label].pivot(index="replication", columns="q", values="value")
        q = wide.columns.to_numpy(dtype=float)
        ci = bootstrap_ci(wide.to_numpy(), rng=rng, n_boot=n_boot, statistic="mean")
        color = colors.get(label)
        plot_band(ax, q, ci, color=color, label=f"{label} (exact, mean)")
        if label in card:
            ax.plot(qs_card, card[label], linestyle="none", marker="x", markersize=6,
                    color=color)
    ax.plot([], [], linestyle="none", marker="x", color="k", label="published panel (card)")
