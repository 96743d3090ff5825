"""Cold start of rlsandbox: import + first solve in fresh interpreters (workload 7 of issue 4).

Each repetition creates a new temporary directory, points NUMBA_CACHE_DIR at it and runs

    import rlsandbox as rls; rls.solve(rls.mdps.riverswim(), method="pi")

twice in fresh child processes: the first child compiles every kernel it needs (cold cache),
the second loads them from the cache it left (warm). Prints the medians as JSON: import time,
first-solve time, and the child's whole wall time including interpreter start-up.

    python benchmarks/cold_start.py [--repeats 5]

(`rlsandbox bench --only cold` reports the same measurement in the benchmark table.)
"""
from __future__ import annotations

import argparse
import json

from rlsandbox.bench import MIN_REPEATS, cold_start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=MIN_REPEATS,
                        help="cold/warm child pairs (median)")
    args = parser.parse_args()
    print(json.dumps(cold_start(args.repeats), indent=2))


if __name__ == "__main__":
    main()
