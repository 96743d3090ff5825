"""Reducing many candidates of one cell (iterations, runs, policies) to one Measurement.

A claim often checks its statement on many objects inside one cell: every iterate of a run,
every policy of an enumeration. :func:`worst_of` turns those candidates into the single
:class:`~rlsandbox.proofs_check.claim.Measurement` the framework checks, such that the cell
violates **iff some candidate violates**: the candidate with the smallest margin under the
framework's own rule (:func:`~rlsandbox.proofs_check.checks.check_cell`, so the rule exists in
one place) represents the cell. When every candidate holds, ``tightest=True`` (upper bounds
only) reports instead the candidate with the largest ratio measured / bound among those whose
bound exceeds 100 times its round-off allowance, so the report's tightness is informative
rather than that of a trivial candidate where both sides are round-off.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from rlsandbox.proofs_check.checks import check_cell
from rlsandbox.proofs_check.claim import Measurement

__all__ = ["Candidate", "worst_of"]


@dataclass(frozen=True)
class Candidate:
    """One object's two sides inside a cell: ``measured`` vs ``bound`` with slack ``tol``."""

    measured: float
    bound: float
    tol: float
    label: str
    extra: Mapping[str, Any] = field(default_factory=dict)


def worst_of(candidates: Sequence[Candidate], kind: str, *, tightest: bool = False,
             options: Mapping[str, Any] | None = None, **extra: Any) -> Measurement:
    """The cell's Measurement from its candidates (see the module docstring).

    Parameters
    ----------
    candidates : non-empty sequence of Candidate
    kind : "upper_bound", "lower_bound" or "equality" (the claim's kind)
    tightest : for upper bounds whose candidates all hold, report the tightest informative one
    options : the claim's options (e.g. an equality's ``rtol``), passed to ``check_cell``
    extra : JSON-able diagnostics added to the Measurement's ``extra``

    Examples
    --------
    >>> m = worst_of([Candidate(0.5, 1.0, 0.0, "a"), Candidate(0.9, 1.0, 0.0, "b")],
    ...              "upper_bound")
    >>> m.measured, m.extra["worst"], m.extra["candidates"]
    (0.9, 'b', 2)
    """
    if not candidates:
        raise ValueError("worst_of needs at least one candidate")
    if kind not in ("upper_bound", "lower_bound", "equality"):
        raise ValueError(f"worst_of reduces upper_bound, lower_bound and equality candidates, "
                         f"not {kind!r}")

    def margin(c: Candidate) -> float:
        return check_cell(kind, Measurement(c.measured, c.bound, tol=c.tol), options,
                          where=c.label).margin

    worst = min(candidates, key=margin)
    min_margin = margin(worst)
    if tightest and min_margin >= 0.0 and kind == "upper_bound":
        informative = [c for c in candidates if c.bound > 100.0 * c.tol and c.bound > 0
                       and np.isfinite(c.measured / c.bound)]
        if informative:
            worst = max(informative, key=lambda c: c.measured / c.bound)
    return Measurement(worst.measured, worst.bound, tol=worst.tol,
                       extra={"worst": worst.label, "candidates": len(candidates),
                              "min_margin": float(min_margin), **worst.extra, **extra})
