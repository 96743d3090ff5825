"""Plotting helpers shared by the figures: percentile-bootstrap CIs over seeds, bands, PNG bytes.

Curves over seeds are drawn as a point estimate (median or mean over the seeds) with a
percentile-bootstrap confidence band [efron1993, §13.3]: resample the seeds with replacement
``n_boot`` times, recompute the statistic on each resample, and take the ``(1 - level)/2`` and
``(1 + level)/2`` quantiles of the resampled statistics. Whole seeds are resampled (the rows of
a ``(n_seeds, n_x)`` table), so each resample keeps every seed's curve intact and the band at
different ``x`` comes from the same resamples. The caption of every figure states the number of
seeds, the statistic, the level and ``n_boot`` (STYLE.md §9).

matplotlib is imported inside the functions that draw, so importing this module stays cheap.
"""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_float_array, check_in_range, check_int, \
    readonly

__all__ = ["BootstrapCI", "bootstrap_ci", "plot_band", "png_bytes", "require_columns",
           "STATISTICS"]

#: Statistics :func:`bootstrap_ci` can bootstrap (reduced over the seed axis 0).
STATISTICS = {"median": np.median, "mean": np.mean}


@dataclass(frozen=True, slots=True, eq=False)
class BootstrapCI:
    """A point estimate with its percentile-bootstrap confidence interval.

    Attributes
    ----------
    center : (n_x,) or () statistic of the original sample.
    lo, hi : same shape; the ``(1-level)/2`` and ``(1+level)/2`` bootstrap quantiles.
    n : number of seeds (rows) resampled.
    n_boot : number of bootstrap resamples.
    level : confidence level, e.g. 0.95.
    statistic : "median" or "mean".
    """

    center: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: int
    n_boot: int
    level: float
    statistic: str


def bootstrap_ci(samples: Any, *, rng: np.random.Generator, n_boot: int = 1000,
                 level: float = 0.95, statistic: str = "median") -> BootstrapCI:
    """Percentile-bootstrap CI of a statistic over seeds [efron1993, §13.3].

    With ``n`` seeds (rows of ``samples``), draw ``n_boot`` index vectors ``I_b`` of ``n``
    indices uniformly with replacement and compute ``t_b = stat(samples[I_b])`` along the seed
    axis; then ``lo = quantile(t, (1 - level)/2)`` and ``hi = quantile(t, (1 + level)/2)``
    (numpy's linear interpolation between order statistics).

    Parameters
    ----------
    samples : array (n,) or (n, n_x)
        One row per seed; columns are x positions (e.g. iterations). Resampling picks whole rows.
    rng : numpy.random.Generator
        The only source of randomness (keyword-only); same generator state, same interval.
    n_boot : int >= 1
        Number of resamples (1000 for published figures, 200 in quick mode).
    level : float in (0, 1)
        Confidence level.
    statistic : {"median", "mean"}

    Returns
    -------
    BootstrapCI with ``center``, ``lo``, ``hi`` of shape () or (n_x,).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(20.0)[:, None] * np.ones((1, 3))       # 20 seeds, 3 x-positions
    >>> ci = bootstrap_ci(x, rng=np.random.default_rng(0), n_boot=200)
    >>> ci.center.tolist(), bool(np.all(ci.lo <= ci.center)), bool(np.all(ci.center <= ci.hi))
    ([9.5, 9.5, 9.5], True, True)
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                        f"pass rng=np.random.default_rng(seed)")
    x = check_float_array("samples", samples, ndim=(1, 2))
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"samples has {n} row(s) (seeds); a bootstrap needs at least 2. "
                         f"Run more seeds")
    n_boot = check_int("n_boot", n_boot, low=1)
    level = check_in_range("level", level, low=0.0, high=1.0, low_open=True, high_open=True)
    statistic = check_choice("statistic", statistic, tuple(STATISTICS))
    stat = STATISTICS[statistic]
    idx = rng.integers(0, n, size=(n_boot, n))        # all draws happen here, up front
    boot = stat(x[idx], axis=1)                       # (n_boot,) or (n_boot, n_x)
    lo, hi = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0], axis=0)
    center = np.asarray(stat(x, axis=0), dtype=np.float64)
    return BootstrapCI(readonly(center), readonly(np.asarray(lo)), readonly(np.asarray(hi)),
                       n, n_boot, level, statistic)


def plot_band(ax: Any, x: Any, ci: BootstrapCI, *, color: Any = None, label: str | None = None,
              linestyle: str = "-", marker: str | None = None, alpha: float = 0.25) -> Any:
    """Draw ``ci.center`` against ``x`` as a line and ``[ci.lo, ci.hi]`` as a shaded band.

    Returns the line artist (its colour is reused by callers for matching bounds).
    """
    x = check_float_array("x", x, ndim=1)
    if ci.center.shape != x.shape:
        raise ValueError(f"x has shape {x.shape} but the interval has shape {ci.center.shape}; "
                         f"pass one x per column of the bootstrapped samples")
    (line,) = ax.plot(x, ci.center, color=color, label=label, linestyle=linestyle, marker=marker,
                      markersize=4)
    ax.fill_between(x, ci.lo, ci.hi, color=line.get_color(), alpha=alpha, linewidth=0)
    return line


def require_columns(data: Any, columns: Any) -> None:
    """Raise ``ValueError`` unless the DataFrame ``data`` has every name in ``columns``: the
    check at the top of each figure's ``plot(data, ...)`` (data from ``run()`` or a CSV).

    Examples
    --------
    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), {"a"})
    >>> require_columns(pd.DataFrame({"a": [1]}), {"a", "b"})
    Traceback (most recent call last):
    ...
    ValueError: data lacks columns ['b']; pass the DataFrame returned by run()
    """
    missing = set(columns) - set(data.columns)
    if missing:
        raise ValueError(f"data lacks columns {sorted(missing)}; pass the DataFrame returned by "
                         f"run()")


def png_bytes(fig: Any, *, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes, deterministically.

    The PNG carries no metadata text (``Software`` dropped, and PNG output has no timestamp),
    so the same data and seed give byte-identical files. A figure managed by pyplot is closed
    afterwards; a bare ``matplotlib.figure.Figure`` needs no closing.
    """
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    finally:
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None and getattr(fig.canvas, "manager", None) is not None:
            plt.close(fig)
    return buf.getvalue()
