"""Check kinds: when a claim holds on its measurements, its margins and its tightness.

A *cell* is one (instance, run) of a claim; its :class:`~rlsandbox.proofs_check.Measurement`
``m`` carries ``measured``, ``bound`` and the measure's justified slack ``tol``.

Per-cell kinds (a claim holds iff every cell holds; ``violations`` counts failing cells):

* ``upper_bound``: holds iff ``measured <= bound + tol``; margin ``bound + tol - measured``.
* ``lower_bound``: holds iff ``measured >= bound - tol``; margin ``measured - (bound - tol)``.
* ``equality``: holds iff ``|measured - bound| <= tol + rtol |bound|`` (``rtol`` from the
  claim's options, default 0); margin ``tol + rtol |bound| - |measured - bound|``.
* ``monotone``: ``measured`` is a sequence x_0..x_n (n >= 1); with d_k = x_{k+1} - x_k it holds
  iff every ``d_k <= tol`` (nonincreasing) or every ``d_k >= -tol`` (nondecreasing); margin
  ``min_k (tol - d_k)`` resp. ``min_k (tol + d_k)``.

Tightness of a bound or equality cell is ``measured / bound`` (None when ``bound == 0`` or the
ratio overflows); the claim reports the median over cells. ``worst_margin`` is the smallest
margin (negative iff some cell fails); margins are in the measured quantity's units.

Aggregate kinds (one decision per claim):

* ``rate``: the points (x, y) = (``extra["x"]``, ``measured``) of all cells are pooled and
  ``log y = a + b log x`` is fitted by least squares. With n points, residual variance
  ``s2 = sum r_i^2 / (n - 2)`` and ``se(b) = sqrt(s2 / sum (log x_i - mean)^2)``, the
  two-sided confidence interval is ``b -+ t_{(1+c)/2, n-2} se(b)`` (c =
  ``options["confidence"]``, default 0.95) [montgomery2012, §2.4.1]. The claim holds iff this
  interval intersects ``options["slope"] = (lo, hi)``; margin
  ``min(ci_hi - lo, hi - ci_lo)`` (>= 0 iff they intersect). ``violations`` is 0 or 1.
* ``high_probability``: ``measured`` is 1.0 when the bad event (the bound violated) happened
  on a run, else 0.0. With k events in n cells, the claim holds unless
  ``P[Binomial(n, delta) >= k] < alpha`` (``delta`` the theorem's failure probability,
  ``alpha`` default 1e-3): a one-sided binomial test at level ``alpha`` of "the event rate is
  at most delta". ``violations`` is k, the margin is ``k_max - k`` with ``k_max`` the largest
  count that still holds, tightness ``(k / n) / delta``.

A negative control is *caught* iff the same check, applied to the control's measurements on
the same cells, fails: at least one violating cell for the per-cell kinds, a failing aggregate
for ``rate`` and ``high_probability``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox.proofs_check.claim import KINDS, Claim, Measurement, _check_options

__all__ = ["CellCheck", "Verdict", "check", "check_cell"]

CELL_KINDS = ("upper_bound", "lower_bound", "equality", "monotone")


@dataclass(frozen=True)
class CellCheck:
    """The check on one cell: does it hold, by what margin, how tight (measured / bound)."""

    holds: bool
    margin: float
    tightness: float | None


@dataclass(frozen=True)
class Verdict:
    """The check on all cells of a claim (or of its negative control).

    Attributes
    ----------
    holds : bool
    violations : int
        Failing cells (per-cell kinds), 0/1 (rate), number of bad events (high_probability).
    worst_margin : float
        Smallest margin; negative iff the check fails.
    tightness : float or None
        Median of measured / bound over cells (bounds, equality); (k / n) / delta
        (high_probability); None (monotone, rate).
    cells : tuple of CellCheck
        Per-cell outcomes (per-cell kinds only; empty for rate and high_probability).
    detail : dict
        Kind-specific JSON data: the fitted slope and its interval (rate), k, n, the p-value
        and k_max (high_probability).
    """

    holds: bool
    violations: int
    worst_margin: float
    tightness: float | None
    cells: tuple[CellCheck, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)


def _scalar_sides(kind: str, m: Measurement, where: str) -> tuple[float, float]:
    if not isinstance(m.measured, float):
        raise ValueError(f"{where}: a {kind} claim measures a scalar, got measured of shape "
                         f"{m.measured.shape}; reduce it first (e.g. a max over states)")
    if m.bound is None or not isinstance(m.bound, float):
        got = "None" if m.bound is None else f"an array of shape {m.bound.shape}"
        raise ValueError(f"{where}: a {kind} claim needs a scalar bound, got {got}")
    return m.measured, m.bound


def check_cell(kind: str, m: Measurement, options: Mapping[str, Any] | None = None,
               where: str = "cell") -> CellCheck:
    """Check one cell of a per-cell kind (``upper_bound``, ``lower_bound``, ``equality``,
    ``monotone``); see the module docstring for the rules.

    Parameters
    ----------
    kind : str
    m : Measurement
    options : mapping, optional
        The claim's (validated) options; defaults filled in when omitted.
    where : str
        Names the cell in error messages.

    Examples
    --------
    >>> check_cell("upper_bound", Measurement(0.5, 1.0))
    CellCheck(holds=True, margin=0.5, tightness=0.5)
    >>> check_cell("monotone", Measurement([3.0, 2.0, 2.5]), {"direction": "nonincreasing"})
    CellCheck(holds=False, margin=-0.5, tightness=None)
    """
    if kind not in CELL_KINDS:
        raise ValueError(f"check_cell handles {', '.join(CELL_KINDS)}; {kind!r} is decided on "
                         f"all cells together: use check()")
    if not isinstance(m, Measurement):
        raise TypeError(f"{where}: expected a Measurement, got {type(m).__name__}")
    return _cell(kind, m, _check_options(f"check_cell({kind!r})", kind, options or {}), where)


def _cell(kind: str, m: Measurement, opts: Mapping[str, Any], where: str) -> CellCheck:
    if kind == "monotone":
        x = np.atleast_1d(m.measured)
        if x.size < 2:
            raise ValueError(f"{where}: a monotone claim measures a sequence of at least 2 "
                             f"values, got {x.size}")
        d = np.diff(x)
        margins = m.tol - d if opts["direction"] == "nonincreasing" else m.tol + d
        margin = float(margins.min())
        return CellCheck(margin >= 0.0, margin, None)
    measured, bound = _scalar_sides(kind, m, where)
    if kind == "upper_bound":
        margin = (bound + m.tol) - measured
    elif kind == "lower_bound":
        margin = measured - (bound - m.tol)
    else:
        margin = (m.tol + opts["rtol"] * abs(bound)) - abs(measured - bound)
    ratio = measured / bound if bound != 0.0 else None
    if ratio is not None and not np.isfinite(ratio):   # overflow for a subnormal bound
        ratio = None
    return CellCheck(margin >= 0.0, float(margin), ratio)


def _fit_rate(measurements: Sequence[Measurement], options: Mapping[str, Any],
              labels: Sequence[str]) -> tuple[bool, float, dict[str, Any]]:
    from scipy import stats

    xs, ys = [], []
    for m, where in zip(measurements, labels):
        y = np.atleast_1d(m.measured)
        if "x" not in m.extra:
            raise ValueError(f"{where}: a rate claim's Measurement needs extra['x'], the x "
                             f"values matching measured")
        x = np.atleast_1d(np.asarray(m.extra["x"], dtype=np.float64))
        if x.shape != y.shape:
            raise ValueError(f"{where}: extra['x'] has shape {x.shape} but measured has shape "
                             f"{y.shape}; give one x per measured value")
        if (x <= 0).any() or (y <= 0).any() or not np.isfinite(x).all():
            raise ValueError(f"{where}: a log-log rate fit needs x > 0 and y > 0 (finite); got "
                             f"min x = {x.min():.3g}, min y = {y.min():.3g}")
        xs.append(x)
        ys.append(y)
    lx, ly = np.log(np.concatenate(xs)), np.log(np.concatenate(ys))
    n = lx.size
    if n < 3:
        raise ValueError(f"a rate fit with a confidence interval needs at least 3 points, got "
                         f"{n}; measure more x values or more instances")
    lx_c = lx - lx.mean()
    sxx = float(lx_c @ lx_c)
    if sxx == 0.0:
        raise ValueError("all x values of the rate fit are equal; the slope is undefined")
    b = float(lx_c @ (ly - ly.mean())) / sxx
    a = float(ly.mean() - b * lx.mean())
    resid = ly - (a + b * lx)
    se = float(np.sqrt((resid @ resid) / (n - 2) / sxx))
    conf = options["confidence"]
    half = float(stats.t.ppf(0.5 + conf / 2.0, n - 2)) * se
    lo, hi = options["slope"]
    ci = (b - half, b + half)
    margin = min(ci[1] - lo, hi - ci[0])
    detail = {"slope": b, "intercept": a, "stderr": se, "ci": list(ci), "confidence": conf,
              "interval": [lo, hi], "points": n}
    return margin >= 0.0, margin, detail


def _binomial_test(measurements: Sequence[Measurement], options: Mapping[str, Any],
                   labels: Sequence[str]) -> tuple[bool, int, float, dict[str, Any]]:
    from scipy import stats

    for m, where in zip(measurements, labels):
        if not isinstance(m.measured, float) or m.measured not in (0.0, 1.0):
            raise ValueError(f"{where}: a high_probability claim measures 1.0 (the bad event "
                             f"happened on this run) or 0.0, got {m.measured!r}")
    n = len(measurements)
    k = int(sum(m.measured for m in measurements))
    delta, alpha = options["delta"], options["alpha"]
    tails = stats.binom.sf(np.arange(-1, n), n, delta)   # tails[j] = P[Bin(n, delta) >= j]
    p_value = float(tails[k])
    k_max = int(np.flatnonzero(tails >= alpha).max())     # tails[0] = 1 >= alpha
    detail = {"events": k, "runs": n, "frequency": k / n, "delta": delta, "alpha": alpha,
              "p_value": p_value, "k_max": k_max}
    return p_value >= alpha, k, float(k_max - k), detail


def check(claim: Claim | str, measurements: Sequence[Measurement],
          options: Mapping[str, Any] | None = None, *,
          labels: Sequence[str] | None = None) -> Verdict:
    """Apply a claim's check kind to its measurements (all cells, in a fixed order).

    Parameters
    ----------
    claim : Claim or str
        A claim (its ``kind`` and ``options`` are used) or a kind name with ``options``.
    measurements : sequence of Measurement
        One per cell; at least one.
    options : mapping, optional
        Only with a kind name; validated and completed as for a Claim.
    labels : sequence of str, optional
        Names of the cells for error messages.

    Returns
    -------
    Verdict

    Examples
    --------
    >>> v = check("upper_bound", [Measurement(0.5, 1.0), Measurement(1.5, 1.0)])
    >>> v.holds, v.violations, v.worst_margin, v.tightness
    (False, 1, -0.5, 1.0)
    >>> x = np.array([1.0, 10.0, 100.0])
    >>> v = check("rate", [Measurement(x ** -0.5, extra={"x": x})], {"slope": (-0.6, -0.4)})
    >>> v.holds, round(v.detail["slope"], 12)
    (True, -0.5)
    """
    if isinstance(claim, Claim):
        if options is not None:
            raise ValueError("pass options only with a kind name; a Claim carries its own")
        kind, opts = claim.kind, claim.options
        owner = claim.id
    else:
        if claim not in KINDS:
            raise ValueError(f"kind == {claim!r}; expected one of {', '.join(map(repr, KINDS))}")
        kind, owner = claim, claim
        opts = _check_options(f"check({kind!r})", kind, options or {})
    ms = list(measurements)
    if not ms:
        raise ValueError(f"{owner}: no measurements to check; a claim needs at least one "
                         f"instance")
    for i, m in enumerate(ms):
        if not isinstance(m, Measurement):
            raise TypeError(f"{owner}: measurement {i} is a {type(m).__name__}, expected "
                            f"Measurement")
    labels = list(labels) if labels is not None else [f"{owner} cell {i}" for i in range(len(ms))]
    if kind in CELL_KINDS:
        cells = tuple(_cell(kind, m, opts, where) for m, where in zip(ms, labels))
        violations = sum(not c.holds for c in cells)
        ratios = [c.tightness for c in cells if c.tightness is not None]
        return Verdict(violations == 0, violations, min(c.margin for c in cells),
                       float(np.median(ratios)) if ratios else None, cells)
    if kind == "rate":
        holds, margin, detail = _fit_rate(ms, opts, labels)
        return Verdict(holds, int(not holds), float(margin), None, (), detail)
    holds, k, margin, detail = _binomial_test(ms, opts, labels)
    return Verdict(holds, k, margin, detail["frequency"] / detail["delta"], (), detail)

