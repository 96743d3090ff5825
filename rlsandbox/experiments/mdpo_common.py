"""Shared helpers of the MDPO figures (card ``shared/papers/mdpo.md`` §5.2).

The card's protocol reports the mean over 5 seeds with a 95% t-interval of half-width
t_{0.975, n-1} sd / sqrt(n) (2.776 sd / sqrt(5) for n = 5), "mirroring the paper's 5-seed
protocol"; the MDPO figures follow it instead of the gallery's bootstrap median (STYLE §9),
as the card asks. On log axes a lower end <= 0 is not drawn (the band is masked there); the
caption says so.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TInterval", "t_interval", "plot_t_band"]


@dataclass(frozen=True)
class TInterval:
    """mean, lo, hi over seeds (arrays over x), n seeds, the t quantile used."""

    mean: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    n: int
    t: float


def t_interval(samples: np.ndarray, level: float = 0.95) -> TInterval:
    """Mean over axis 0 and its t-interval: mean -+ t_{(1+level)/2, n-1} sd / sqrt(n)
    (sd with ddof = 1) [card §5.2 protocol; student1908].

    Examples
    --------
    >>> ci = t_interval(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]))
    >>> round(float(ci.hi[0] - ci.mean[0]), 4)        # 2.776 * sqrt(2.5) / sqrt(5)
    1.9632
    """
    from scipy import stats
    x = np.asarray(samples, dtype=np.float64)
    n = x.shape[0]
    if n < 2:
        raise ValueError(f"a t-interval needs at least 2 seeds, got {n}")
    mean = x.mean(axis=0)
    half = float(stats.t.ppf(0.5 + level / 2.0, n - 1)) * x.std(axis=0, ddof=1) / np.sqrt(n)
    return TInterval(mean, mean - half, mean + half, n, float(stats.t.ppf(0.5 + level / 2, n - 1)))


def plot_t_band(ax, x, ci: TInterval, *, color=None, label=None, linestyle="-", log=True,
                alpha=0.2):
    """Mean line and t-interval band; on log axes non-positive values are masked."""
    mean, lo, hi = ci.mean, ci.lo, ci.hi
    if log:
        mean = np.where(mean > 0, mean, np.nan)
        lo = np.where(lo > 0, lo, np.nan)
        hi = np.where(hi > 0, hi, np.nan)
    (line,) = ax.plot(x, mean, color=color, label=label, linestyle=linestyle, linewidth=1.4)
    ax.fill_between(x, lo, hi, color=line.get_color(), alpha=alpha, linewidth=0)
    return line
