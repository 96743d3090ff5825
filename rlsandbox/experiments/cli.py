"""``rlsandbox figures``: regenerate the figure gallery (see :mod:`rlsandbox.experiments`).

    rlsandbox figures [NAME...] [--quick] [--out DIR] [--seed K] [--boot B] [--replot]

Without names, every registered figure is made, in registration order. ``--quick`` runs each
figure's small configuration (what the test suite runs) and writes to ``figures/quick`` unless
``--out`` is given, so a quick run never overwrites the committed gallery. ``--replot`` redraws
the PNGs from the existing CSV + JSON without rerunning the experiments.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "LISTINGS"]

#: Default output directories (relative to the working directory).
DEFAULT_OUT, QUICK_OUT = "figures", "figures/quick"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``figures`` subcommand."""
    p = subparsers.add_parser(
        "figures", help="regenerate figures: PNG + CSV (plotted data) + JSON (metadata)",
        description="Run each named figure (default: all registered) and write "
                    "<out>/<name>.png, .csv (exactly the plotted data) and .json (command, "
                    "config, root seed, git commit, versions, wall time), atomically.")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="figure names (see `rlsandbox list figures`); default: all")
    p.add_argument("--quick", action="store_true",
                   help=f"small configuration, as in the test suite (default --out {QUICK_OUT})")
    p.add_argument("--out", default=None,
                   help=f"output directory (default {DEFAULT_OUT}, or {QUICK_OUT} with --quick)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--boot", type=int, default=None, metavar="B",
                   help="bootstrap resamples (default 1000; 200 with --quick)")
    p.add_argument("--replot", action="store_true",
                   help="redraw PNGs from the existing CSV + JSON in --out, without rerunning")
    p.set_defaults(func=_figures)


def _usage_error(message: str) -> int:
    from rlsandbox.cli import EX_USAGE

    print(f"rlsandbox figures: error: {message}", file=sys.stderr)
    return EX_USAGE


def _figures(args: argparse.Namespace) -> int:
    # Bad usage (unknown name, bad option, nothing to replot) is reported here with exit code
    # 64; an exception raised while a figure is being made is a bug and keeps its traceback.
    from rlsandbox.experiments import FIGURES

    names = list(args.names) or list(FIGURES)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        return _usage_error(f"figure name == {unknown[0]!r}; expected one of "
                            f"{', '.join(map(repr, FIGURES))} (see `rlsandbox list figures`)")
    if args.seed < 0:
        return _usage_error(f"--seed == {args.seed}; expected an integer >= 0")
    if args.boot is not None and args.boot < 1:
        return _usage_error(f"--boot == {args.boot}; expected an integer >= 1 (1000 is usual)")
    out = Path(args.out if args.out is not None else (QUICK_OUT if args.quick else DEFAULT_OUT))
    if out.exists() and not out.is_dir():
        return _usage_error(f"--out {str(out)!r} is a file; pass a directory")
    if args.replot:
        if args.quick or args.boot is not None or args.seed != 0:
            return _usage_error("--replot takes the seed, bootstrap size and configuration from "
                                "the figure's JSON; drop --quick/--seed/--boot")
        missing = [n for n in names if not (out / f"{n}.json").is_file()
                   or not (out / f"{n}.csv").is_file()]
        if missing:
            return _usage_error(f"{str(out / missing[0])}.csv/.json do not exist; make the figure "
                                f"first with `rlsandbox figures {missing[0]} --out {out}`")
    from rlsandbox.experiments.gallery import make_figure, replot

    for name in names:
        if args.replot:
            path = replot(name, out=out)
            print(f"{name}: redrew {path} from {out / (name + '.csv')}")
            continue
        res = make_figure(name, out=out, quick=args.quick, seed=args.seed, n_boot=args.boot)
        print(f"{name}: {res.png}, {res.csv} ({res.metadata['rows']} rows), {res.json} "
              f"[{res.metadata['wall_time_s']:.1f} s]")
    return 0


def _list_figures(args: argparse.Namespace) -> list[dict]:
    from rlsandbox.experiments import FIGURES

    return [{"name": s.name, "description": s.description, "module": s.module}
            for s in FIGURES.values()]


LISTINGS = {"figures": _list_figures}
