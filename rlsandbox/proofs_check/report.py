"""Reports of a run: a console table, ``report.md``, ``report.json`` and one plot per claim.

Per claim the report gives: instances tried, violations, the worst margin, the median
tightness measured/bound (how loose the bound is in practice), and whether the negative
control was caught (DESIGN.md, "A claim"; the rules are in :mod:`rlsandbox.proofs_check.checks`).

Everything here is a function of the :class:`~rlsandbox.proofs_check.runner.RunResult` only
(no clock, no cache statistics), so a resumed run writes the same ``report.md`` and
``report.json`` as an uninterrupted one. Files are written atomically
(:mod:`rlsandbox._io`); plots use matplotlib's Agg canvas without pyplot state.

Plots: bounds, measured against the bound with the line y = x (upper bounds hold below it,
lower bounds above); equalities, |measured - bound| against the allowed error; monotone
sequences, the sequences; rates, the pooled log-log points with the fitted line and its
confidence interval; high-probability statements, the event frequency against delta and the
binomial threshold. The negative control is drawn in red on the same axes.
"""
from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from rlsandbox._io import atomic_write
from rlsandbox.proofs_check.runner import ClaimResult, RunResult

__all__ = ["summary", "format_table", "markdown", "plot_claim", "write_report"]

_COLUMNS = ("claim", "paper", "provenance", "kind", "instances", "result", "violations",
            "worst margin", "tightness", "control")


def _control_word(r: ClaimResult) -> str:
    return "caught" if r.caught else "not_caught"


def _claim_row(r: ClaimResult, with_cells: bool) -> dict[str, Any]:
    c = r.claim
    row: dict[str, Any] = {
        "id": c.id, "paper": c.paper, "provenance": c.provenance, "kind": c.kind,
        "instances": len(r.instances), "violations": r.verdict.violations,
        "worst_margin": r.verdict.worst_margin, "tightness": r.verdict.tightness,
        "negative_control": _control_word(r), "holds": r.holds,
        "cite": c.cite, "statement": c.statement, "assumptions": c.assumptions,
        "control_note": c.control_note, "options": {k: list(v) if isinstance(v, tuple) else v
                                                    for k, v in c.options.items()},
        "runs": c.runs, "cells": len(r.cells), "random_instances": r.n_random,
        "detail": r.verdict.detail,
        "control": {"violations": r.control.violations,
                    "worst_margin": r.control.worst_margin, "detail": r.control.detail},
    }
    if with_cells:
        rows = []
        for i, cell in enumerate(r.cells):
            inst = r.instances[cell.instance]
            out = {"instance": inst.name, "params": inst.params, "run": cell.run,
                   "measure": cell.measure.to_json(), "control": cell.control.to_json()}
            if r.verdict.cells:
                out["holds"] = r.verdict.cells[i].holds
                out["margin"] = r.verdict.cells[i].margin
                out["control_holds"] = r.control.cells[i].holds
                out["control_margin"] = r.control.cells[i].margin
            rows.append(out)
        row["cell_results"] = rows
    return row


def summary(result: RunResult, *, cells: bool = False) -> dict[str, Any]:
    """The run as JSON data: ``{"status", "exit_code", "config", "claims": [...]}``.

    Each claim has ``id, paper, provenance, kind, instances, violations, worst_margin,
    tightness, negative_control`` ("caught" / "not_caught"), plus ``holds``, the statement,
    the check's ``detail`` and the control's. ``cells=True`` adds every cell's measurements
    (``cell_results``), as report.json holds them.
    """
    return {"status": result.status, "exit_code": result.exit_code, "config": result.config,
            "claims": [_claim_row(r, cells) for r in result.claims]}


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.3g}"
    return str(x)


def _table_rows(result: RunResult) -> list[tuple[str, ...]]:
    return [(r.claim.id, r.claim.paper, r.claim.provenance, r.claim.kind, str(len(r.instances)),
             "holds" if r.holds else "VIOLATED", str(r.verdict.violations),
             _fmt(r.verdict.worst_margin), _fmt(r.verdict.tightness),
             "caught" if r.caught else "NOT CAUGHT") for r in result.claims]


def format_table(result: RunResult) -> str:
    """Plain-text table, one line per claim, and a closing status line."""
    rows = [_COLUMNS, *_table_rows(result)]
    widths = [max(len(row[j]) for row in rows) for j in range(len(_COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(f"status: {result.status} (exit code {result.exit_code})")
    return "\n".join(lines) + "\n"


def _short_names(r: ClaimResult, limit: int = 6) -> str:
    names = [inst.name for inst in r.instances]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(f"`{n}`" for n in names[:limit]) + more


def _verdict_text(r: ClaimResult, control: bool) -> str:
    v = r.control if control else r.verdict
    kind = r.claim.kind
    if kind == "rate":
        d = v.detail
        return (f"fitted slope {d['slope']:.4g}, {d['confidence']:.0%} CI "
                f"[{d['ci'][0]:.4g}, {d['ci'][1]:.4g}] over {d['points']} points; required "
                f"to meet [{d['interval'][0]:.4g}, {d['interval'][1]:.4g}]")
    if kind == "high_probability":
        d = v.detail
        return (f"bad event on {d['events']} of {d['runs']} runs (frequency "
                f"{d['frequency']:.3g}, delta {d['delta']:.3g}); P[Bin(n, delta) >= k] = "
                f"{d['p_value']:.3g} against alpha {d['alpha']:.3g} (at most {d['k_max']} "
                f"events allowed)")
    return (f"{v.violations} of {len(r.cells)} cells violate; worst margin "
            f"{_fmt(v.worst_margin)}; median tightness {_fmt(v.tightness)}")


def markdown(result: RunResult) -> str:
    """report.md: the run's configuration, the table, and one section per claim."""
    cfg = result.config
    lines = ["# rlsandbox verify", "",
             f"Status: **{result.status}** (exit code {result.exit_code}). Seed {cfg['seed']}, "
             f"instance seed {cfg['instance_seed']}, "
             f"{'quick' if cfg['quick'] else 'default'} budget"
             + (f", {cfg['instances']} random instances per claim"
                if cfg["instances"] is not None else "")
             + f", rlsandbox {cfg['version']}.", "",
             "| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in _table_rows(result)]
    for r in result.claims:
        c = r.claim
        opts = ", ".join(f"{k}={v}" for k, v in c.options.items())
        lines += ["", f"## {c.id}", "",
                  f"- **Statement.** {c.statement}",
                  f"- **Source.** {c.cite} (provenance: {c.provenance})",
                  f"- **Assumptions.** {c.assumptions}",
                  f"- **Check.** {c.kind}" + (f" ({opts})" if opts else ""),
                  f"- **Instances.** {len(r.instances)} ({r.n_random} random) x {c.runs} "
                  f"run(s): {_short_names(r)}",
                  f"- **Result.** {'holds' if r.holds else '**VIOLATED**'}: "
                  f"{_verdict_text(r, control=False)}",
                  f"- **Negative control.** {c.control_note}: "
                  f"{'caught' if r.caught else '**NOT CAUGHT**'} ({_verdict_text(r, True)})",
                  "", f"![{c.id}]({c.id}.png)"]
    return "\n".join(lines) + "\n"


def _scale(ax: Any, values: np.ndarray, axis: str) -> None:
    v = values[np.isfinite(values)]
    if v.size and (v > 0).all() and v.max() / v.min() >= 100.0:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")


def _plot_bounds(ax: Any, r: ClaimResult) -> None:
    for part, color, marker, label in (("measure", "C0", "o", "claim"),
                                       ("control", "C3", "x", "negative control")):
        ms = [getattr(cell, part) for cell in r.cells]
        x = np.array([m.bound for m in ms])
        y = np.array([m.measured for m in ms])
        ax.scatter(x, y, s=18, c=color, marker=marker, label=label, alpha=0.8)
    allv = np.array([v for cell in r.cells for m in (cell.measure, cell.control)
                     for v in (m.bound, m.measured)])
    lo, hi = float(allv.min()), float(allv.max())
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="y = x")
    _scale(ax, allv, "x")
    _scale(ax, allv, "y")
    side = "below" if r.claim.kind == "upper_bound" else "above"
    ax.set_xlabel("bound (theorem side)")
    ax.set_ylabel(f"measured (holds {side} y = x, up to tol)")


def _plot_equality(ax: Any, r: ClaimResult) -> None:
    rtol = r.claim.options["rtol"]
    pts = {}
    for part in ("measure", "control"):
        ms = [getattr(cell, part) for cell in r.cells]
        pts[part] = (np.array([m.tol + rtol * abs(m.bound) for m in ms]),
                     np.array([abs(m.measured - m.bound) for m in ms]))
    allv = np.concatenate([v for xy in pts.values() for v in xy])
    positive = allv[allv > 0]
    floor = positive.min() / 10 if positive.size else 1.0
    log = positive.size > 0
    for part, color, marker, label in (("measure", "C0", "o", "claim"),
                                       ("control", "C3", "x", "negative control")):
        x, y = pts[part]
        if log:
            x, y = np.maximum(x, floor), np.maximum(y, floor)
        ax.scatter(x, y, s=18, c=color, marker=marker, label=label, alpha=0.8)
    lo, hi = (floor, max(positive.max(), floor * 10)) if log else (0.0, 1.0)
    ax.plot([lo, hi], [lo, hi], color="0.3", lw=1, ls="--", label="y = x")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("allowed error tol + rtol |bound|" + (" (0 drawn at the floor)" if log else ""))
    ax.set_ylabel("|measured - bound| (holds below y = x)")


def _plot_monotone(ax: Any, r: ClaimResult, limit: int = 20) -> None:
    for part, color, ls, label in (("measure", "C0", "-", "claim"),
                                   ("control", "C3", "--", "negative control")):
        for k, cell in enumerate(r.cells[:limit]):
            y = np.atleast_1d(getattr(cell, part).measured)
            ax.plot(np.arange(y.size), y, color=color, ls=ls, lw=1, alpha=0.7,
                    label=label if k == 0 else None)
    ax.set_xlabel("step k" + (f" (first {limit} of {len(r.cells)} cells)"
                              if len(r.cells) > limit else ""))
    ax.set_ylabel(f"measured sequence ({r.claim.options['direction']})")
    _scale(ax, np.concatenate([np.atleast_1d(getattr(c, p).measured)
                               for c in r.cells for p in ("measure", "control")]), "y")


def _plot_rate(ax: Any, r: ClaimResult) -> None:
    for part, verdict, color, marker, label in (("measure", r.verdict, "C0", "o", "claim"),
                                                ("control", r.control, "C3", "x",
                                                 "negative control")):
        x = np.concatenate([np.atleast_1d(getattr(c, part).extra["x"]) for c in r.cells])
        y = np.concatenate([np.atleast_1d(getattr(c, part).measured) for c in r.cells])
        d = verdict.detail
        ax.scatter(x, y, s=12, c=color, marker=marker, alpha=0.6,
                   label=f"{label}: slope {d['slope']:.3g} "
                         f"[{d['ci'][0]:.3g}, {d['ci'][1]:.3g}]")
        xs = np.geomspace(x.min(), x.max(), 50)
        ax.plot(xs, np.exp(d["intercept"]) * xs ** d["slope"], color=color, lw=1)
    from matplotlib.ticker import NullFormatter
    lo, hi = r.claim.options["slope"]
    ax.set_xscale("log")
    ax.set_yscale("log")
    for axis in (ax.xaxis, ax.yaxis):     # labelled decades only: minor labels collide
        axis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("x")
    ax.set_ylabel(f"y (slope must meet [{lo:.3g}, {hi:.3g}])")


def _plot_high_probability(ax: Any, r: ClaimResult) -> None:
    d, dc = r.verdict.detail, r.control.detail
    ax.bar([0, 1], [d["frequency"], dc["frequency"]], color=["C0", "C3"], width=0.5)
    ax.axhline(d["delta"], color="0.3", ls="--", lw=1, label=f"delta = {d['delta']:.3g}")
    ax.axhline(d["k_max"] / d["runs"], color="0.5", ls=":", lw=1,
               label=f"binomial threshold k_max/n (alpha = {d['alpha']:.3g})")
    ax.set_xticks([0, 1], ["claim", "negative control"])
    ax.set_ylabel(f"frequency of the bad event ({d['runs']} runs)")


_PLOTTERS = {"upper_bound": _plot_bounds, "lower_bound": _plot_bounds,
             "equality": _plot_equality, "monotone": _plot_monotone, "rate": _plot_rate,
             "high_probability": _plot_high_probability}


def _verdict_short(r: ClaimResult) -> str:
    n = f"{len(r.instances)} instances x {r.claim.runs} run(s)"
    if r.claim.kind == "high_probability":
        d = r.verdict.detail
        return f"bad event on {d['events']} of {d['runs']} runs (at most {d['k_max']} allowed)"
    if r.claim.kind == "rate":
        return f"pooled over {n}"
    return f"{r.verdict.violations} of {len(r.cells)} cells violate; {n}"


def plot_claim(r: ClaimResult) -> bytes:
    """PNG bytes of the claim's plot (see the module docstring for what each kind shows)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # fixed margins instead of constrained layout: the layout engine measured every text
    # extent before drawing and made this function most of `verify --quick`'s time
    fig = Figure(figsize=(6.0, 4.5), dpi=100)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.13, right=0.97, bottom=0.11, top=0.87)
    ax = fig.add_subplot()
    _PLOTTERS[r.claim.kind](ax, r)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title(f"{r.claim.id}: {'holds' if r.holds else 'VIOLATED'}, control "
                 f"{'caught' if r.caught else 'NOT CAUGHT'}\n{_verdict_short(r)}", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def write_report(result: RunResult, out_dir: str | os.PathLike, *,
                 plots: bool = True) -> dict[str, Path]:
    """Write ``report.md``, ``report.json`` (with every cell) and ``<claim id>.png`` into
    ``out_dir`` (created if needed), each atomically. Returns the paths by name."""
    out = Path(out_dir)
    paths = {"report.md": atomic_write(out / "report.md", markdown(result)),
             "report.json": atomic_write(out / "report.json",
                                         json.dumps(summary(result, cells=True), indent=1,
                                                    allow_nan=False) + "\n")}
    if plots:
        for r in result.claims:
            paths[f"{r.claim.id}.png"] = atomic_write(out / f"{r.claim.id}.png", plot_claim(r))
    return paths
