"""``rlsandbox verify`` and ``rlsandbox list claims``.

``rlsandbox verify [IDS_OR_PAPERS...] [--quick] [--instances N] [--seed K] [--jobs N]
[--scheduler ADDR] [--fresh] [--out DIR] [--json]`` checks the selected claims (all by default)
and writes ``report.md``, ``report.json`` and one PNG per claim into ``results/<run>/`` (run =
UTC timestamp + a hash of the configuration) or ``--out DIR``. Finished cells are stored in
``results/.store/`` (with ``--out DIR``: ``DIR/.store/``) as they finish, so an interrupted run
started again with the same arguments resumes where it stopped; ``--fresh`` recomputes.

Exit codes: 0 every claim holds and every negative control is caught; 1 a claim is violated;
2 a negative control was not caught (and no claim violated); 64 bad usage; 70 a claim's own
code raised (a bug in the claim, reported with its claim, instance and run).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

EX_USAGE = 64
EX_SOFTWARE = 70

_EPILOG = """\
selection: each IDS_OR_PAPERS token is a paper slug (classic, mdpo, distributional, r2pvi,
loop, harpg, preference), a claim id, or an id prefix (classic.vi selects classic.vi.*);
none selects every registered claim. `rlsandbox list claims` lists them.

output: a table on stdout (progress on stderr); report.md, report.json and one PNG per claim
in results/<run>/ or --out DIR. Finished cells are stored in results/.store/ (DIR/.store/
with --out) the moment they finish: rerun the same command after an interruption to resume.

plugins: RLSANDBOX_CLAIM_PLUGINS=mod1,mod2:attr imports extra claim modules (see
rlsandbox.proofs_check.registry).

exit codes:
  0   every claim holds and every negative control is caught
  1   a claim is violated
  2   a negative control was not caught (no claim violated)
  64  bad usage (unknown claim or paper, bad option value, unreachable scheduler)
  70  a claim's own code raised (message names claim, instance and run)
"""


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give an integer >= 0")
    return value


def _pos_int(text: str) -> int:
    value = _nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("0 worker processes; give an integer >= 1")
    return value


def register(subparsers: Any) -> None:
    """Add the ``verify`` subcommand."""
    p = subparsers.add_parser(
        "verify", help="check the registered claims (theorems) numerically",
        description="Check claims on seeded instances; each claim's negative control must be "
                    "caught.", epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("selection", nargs="*", metavar="IDS_OR_PAPERS",
                   help="claim ids, id prefixes or paper slugs (default: all claims)")
    p.add_argument("--quick", action="store_true",
                   help="the small budget (each claim's `quick` random instances); CI uses it")
    p.add_argument("--instances", type=_nonneg_int, metavar="N",
                   help="random instances per claim (overrides the quick/default budget)")
    p.add_argument("--seed", type=_nonneg_int, default=0, metavar="K",
                   help="root seed of the runs and instances (default 0)")
    p.add_argument("--instance-seed", type=_nonneg_int, metavar="K",
                   help="root seed of the instance generators only (default: --seed): same "
                        "instances, new runs")
    parallel = p.add_mutually_exclusive_group()
    parallel.add_argument("--jobs", type=_pos_int, default=1, metavar="N",
                          help="local worker processes (default 1); results are identical")
    parallel.add_argument("--scheduler", metavar="ADDR",
                          help="address of a running Dask scheduler (needs rlsandbox[dask]); "
                               "results are identical to --jobs 1")
    p.add_argument("--fresh", action="store_true", help="ignore stored cells and recompute")
    p.add_argument("--out", metavar="DIR", help="report directory (default results/<run>/); "
                   "the cell store is DIR/.store/")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object to stdout instead of the table")
    p.set_defaults(func=verify)


def _run_dir(args: argparse.Namespace, ids: list[str]) -> tuple[Path, Path]:
    if args.out:
        out = Path(args.out)
        return out, out / ".store"
    from rlsandbox import __version__
    config = json.dumps([ids, args.seed, args.instance_seed, args.quick, args.instances,
                         __version__])
    tag = hashlib.sha256(config.encode()).hexdigest()[:8]
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return Path("results") / f"{stamp}-{tag}", Path("results") / ".store"


def _usage_error(message: str) -> int:
    print(f"rlsandbox verify: error: {message}", file=sys.stderr)
    return EX_USAGE


def verify(args: argparse.Namespace) -> int:
    """Run ``rlsandbox verify``; returns the exit code (see the module docstring)."""
    from rlsandbox.proofs_check import CellError, run, select
    from rlsandbox.proofs_check.report import format_table, summary, write_report

    t0 = time.perf_counter()
    try:   # bad selections, option values, plugins or scheduler address: exit 64
        claims = select(args.selection)
        if not claims:
            return _usage_error("no claims are registered; nothing to verify")
        out_dir, store_dir = _run_dir(args, [c.id for c in claims])
        if out_dir.exists() and not out_dir.is_dir():
            return _usage_error(f"--out {str(out_dir)!r} exists and is not a directory")
        result = run(claims, seed=args.seed, instance_seed=args.instance_seed,
                     quick=args.quick, instances=args.instances, jobs=args.jobs,
                     scheduler=args.scheduler, store=store_dir, fresh=args.fresh,
                     progress=True)
    except CellError as exc:
        print(f"rlsandbox verify: a claim's code raised (a bug in the claim, not a "
              f"violation):\n{exc}", file=sys.stderr)
        return EX_SOFTWARE
    except (ValueError, TypeError) as exc:
        return _usage_error(str(exc))
    write_report(result, out_dir)
    print(f"{len(result.claims)} claims, {result.cached + result.computed} cells "
          f"({result.cached} from the store, {result.computed} computed) in "
          f"{time.perf_counter() - t0:.1f} s; report in {out_dir}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary(result), indent=1, allow_nan=False))
    else:
        sys.stdout.write(format_table(result))
    return result.exit_code


def _list_claims(args: argparse.Namespace) -> list[dict[str, Any]]:
    from rlsandbox._validate import check_choice
    from rlsandbox.proofs_check import PAPERS, REGISTRY, load_plugins

    paper = getattr(args, "paper", None)
    try:
        load_plugins()
        if paper is not None:
            check_choice("--paper", paper, PAPERS)
    except ValueError as exc:   # a listing returns rows, not a code: exit 64 here
        print(f"rlsandbox list: error: {exc}", file=sys.stderr)
        raise SystemExit(EX_USAGE) from None
    return [{"id": c.id, "paper": c.paper, "kind": c.kind, "provenance": c.provenance,
             "cite": c.cite, "statement": c.statement,
             "description": f"{c.kind:<16} {c.provenance:<10} {c.cite} {c.statement}"}
            for c in REGISTRY.values() if paper is None or c.paper == paper]


LISTINGS = {"claims": _list_claims}
