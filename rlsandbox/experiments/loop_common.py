"""Shared pieces of the LOOP card's figures F3-F7 (card shared/papers/loop.md §5.1).

* :func:`gap_rows` — the tidy rows of one run: gap-regret ``G(t)`` (card §2.2) and the number
  of re-plans at the recording times;
* :func:`band_by` — mean over seeds with a 95% percentile-bootstrap CI, one curve per group,
  drawn with :func:`rlsandbox.experiments.plotting.plot_band`;
* :func:`check_rng_config` — the type checks every ``run`` starts with.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from rlsandbox.experiments.plotting import bootstrap_ci, plot_band

__all__ = ["gap_rows", "band_by", "check_rng_config"]


def check_rng_config(config: Any, cls: type, rng: Any, name: str) -> None:
    """TypeError unless ``config`` is a ``cls`` and ``rng`` a Generator."""
    if not isinstance(config, cls):
        raise TypeError(f"config must be a {name}.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")


def gap_rows(rows: dict[str, list], tr: Any, mdp: Any, times: np.ndarray,
             **labels: Any) -> None:
    """Append one row per recording time: the ``labels``, ``T``, ``gap_regret``, ``plans``.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.loop import ucrl2
    >>> mdp = rls.mdps.riverswim(3, gamma=1.0)
    >>> rows = {}
    >>> gap_rows(rows, ucrl2(mdp, 64, rng=0), mdp, np.array([32, 64]), method="UCRL2", seed=0)
    >>> sorted(rows), rows["T"]
    (['T', 'gap_regret', 'method', 'plans', 'seed'], [32, 64])
    """
    from rlsandbox.algorithms.loop import gap_regret

    G = gap_regret(tr, mdp)
    for k, v in labels.items():
        rows.setdefault(k, []).extend([v] * times.size)
    rows.setdefault("T", []).extend(times.tolist())
    rows.setdefault("gap_regret", []).extend(G[times - 1].tolist())
    rows.setdefault("plans", []).extend(tr.plans_by(times).tolist())


def band_by(ax: Any, data: pd.DataFrame, group: str, x: str, y: str, *, rng: np.random.Generator,
            n_boot: int, colors: Any = None, label_fmt: str = "{}") -> None:
    """One mean curve with a 95% bootstrap band (over ``seed``) per value of ``group``."""
    import matplotlib

    groups = list(dict.fromkeys(data[group]))
    if colors is None:
        colors = matplotlib.colormaps["tab10"](np.arange(len(groups)) % 10)
    for g, color in zip(groups, colors):
        sub = data[data[group] == g].pivot_table(index="seed", columns=x, values=y)
        ci = bootstrap_ci(sub.to_numpy(dtype=np.float64), rng=rng, n_boot=n_boot,
                          statistic="mean")
        plot_band(ax, sub.columns.to_numpy(dtype=np.float64), ci, color=color,
                  label=label_fmt.format(g))
