"""The ``rlsandbox`` command.

Subcommands are contributed by modules listed in :data:`COMMAND_MODULES`; each defines

* ``register(subparsers)``: adds its subcommands, each with ``set_defaults(func=...)`` where
  ``func(args) -> int`` returns the exit code;
* optionally ``LISTINGS``: a dict ``{kind: callable(args) -> list[dict]}`` shown by
  ``rlsandbox list [kind]`` (``instances``, ``claims``, ``figures``, ...).

Exit codes: 0 success; 1 a claim was violated; 2 a negative control was not caught;
64 bad usage (EX_USAGE); 70 a claim's own code raised (EX_SOFTWARE). Heavy imports happen inside the subcommand functions so that
``rlsandbox --help`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys

EX_USAGE = 64

COMMAND_MODULES = (
    "rlsandbox.mdps.cli",
    "rlsandbox.proofs_check.cli",
    "rlsandbox.experiments.cli",
    "rlsandbox.bench",
)


class _Parser(argparse.ArgumentParser):
    """argparse with EX_USAGE (64) instead of 2 for usage errors (2 means a missed control)."""

    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def _modules():
    mods = []
    for name in COMMAND_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:      # a real import error inside an existing module
                raise
    return mods


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rlsandbox",
        description="Exact tabular and linear MDPs where RL theorems are checked numerically.",
        epilog="exit codes: 0 ok; 1 a claim was violated; 2 a negative control was not "
               "caught; 64 bad usage; 70 a claim's own code raised an exception",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from rlsandbox import __version__
    parser.add_argument("--version", action="version", version=f"rlsandbox {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    listings: dict = {}
    for mod in _modules():
        mod.register(sub)
        listings.update(getattr(mod, "LISTINGS", {}))
    p_list = sub.add_parser("list", help="list zoo instances, claims and figures")
    p_list.add_argument("kind", nargs="?", choices=sorted(listings) or None,
                        help="what to list (default: everything)")
    p_list.add_argument("--paper", help="only claims of this paper slug")
    p_list.add_argument("--json", action="store_true", help="print JSON to stdout")
    p_list.set_defaults(func=lambda args: _list(args, listings))
    return parser


def _list(args: argparse.Namespace, listings: dict) -> int:
    kinds = [args.kind] if args.kind else sorted(listings)
    out = {kind: listings[kind](args) for kind in kinds}
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    for kind in kinds:
        print(f"{kind}:")
        for row in out[kind]:
            name = row.get("name") or row.get("id")
            desc = row.get("description", "")
            print(f"  {name:<40} {desc}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EX_USAGE
    # Subcommands report bad usage themselves (message on stderr, return EX_USAGE); a
    # ValueError/TypeError escaping here is a bug and keeps its traceback.
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
