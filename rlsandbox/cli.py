"""The ``rlsandbox`` command (placeholder until the CLI work lands)."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    import rlsandbox as rls
    args = sys.argv[1:] if argv is None else argv
    if args[:2] == ["solve", "riverswim"]:
        sol = rls.solve(rls.mdps.riverswim())
        print(sol.V, sol.policy, sol.error_bound)
        return 0
    print("usage: rlsandbox solve riverswim", file=sys.stderr)
    return 64
