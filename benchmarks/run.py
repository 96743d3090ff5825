"""Run the benchmark suite of rlsandbox.bench from a source tree: the same as `rlsandbox bench`.

    python benchmarks/run.py [--quick] [--json] [--only WORKLOAD ...] [--repeats N]
                             [--markdown benchmarks/RESULTS.md]

The workloads, the method (medians of >= 5 alternating timed runs after a warm-up, ratios
anchor / rlsandbox) and the stopping rules are documented in rlsandbox/bench.py. The anchors
need the ``bench`` extra: pip install -e '.[bench]' (QuantEcon, pymdptoolbox); the sampling
workload needs gymnasium.
"""
from __future__ import annotations

import sys

from rlsandbox.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
