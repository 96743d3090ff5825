"""Wall time of one seed of UCRL2 and of value-based LOOP on RiverSwim-6 at T = 2^17.

The LOOP issue's "Speed" item (card shared/papers/loop.md §3.9, §6 pitfall 12): UCRL2 should take
under 30 s; LOOP-value (exact planner (a), 2^6 = 64 SOCPs per re-plan) is dominated by its
re-plans, so the script reports their count and the time spent planning. Numba compilation is
excluded by a short warm-up run of each algorithm. Not part of the test suite.

Run: ``python benchmarks/loop_speed.py [--seed K] [--T N]``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from rlsandbox.algorithms.loop import gap_regret, loop_value, ucrl2
from rlsandbox.algorithms.loop import planners as _planners
from rlsandbox.mdps.loop import riverswim_model


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--T", type=int, default=2 ** 17)
    args = ap.parse_args()
    mdp = riverswim_model(6)
    ucrl2(mdp, 256, rng=0)                       # warm-up: compile the kernels
    loop_value(mdp, 256, rng=0)

    t0, c0 = time.perf_counter(), time.process_time()
    tr = ucrl2(mdp, args.T, rng=np.random.default_rng(args.seed))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"UCRL2       RiverSwim-6 T={args.T}: wall {wall:.3f} s, CPU {cpu:.3f} s, "
          f"{tr.n_plans} episodes, G(T) = {gap_regret(tr, mdp)[-1]:.1f}")

    # time spent in the planner: wrap ValuePlanner.plan for this one run
    spent = {"plan": 0.0, "calls": 0}
    original = _planners.ValuePlanner.plan

    def timed(self, *a, **k):
        t = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            spent["plan"] += time.perf_counter() - t
            spent["calls"] += 1

    _planners.ValuePlanner.plan = timed
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        tr = loop_value(mdp, args.T, rng=np.random.default_rng(args.seed))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        _planners.ValuePlanner.plan = original
    print(f"LOOP-value  RiverSwim-6 T={args.T}: wall {wall:.3f} s, CPU {cpu:.3f} s, "
          f"{tr.n_plans} re-plans ({tr.n_policy_changes} policy changes), "
          f"{tr.info['programs']} SOCPs, planning {spent['plan']:.3f} s "
          f"({100 * spent['plan'] / wall:.0f}% of wall), G(T) = {gap_regret(tr, mdp)[-1]:.1f}")


if __name__ == "__main__":
    main()
