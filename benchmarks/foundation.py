"""Per-solve time of rlsandbox against QuantEcon's DiscreteDP, in one process.

Measured for the foundation issue's closing note (the performance issue sets targets and
builds the full `rlsandbox bench`). Workloads:

* a random dense MDP with S=10, A=3, gamma=0.9 (Dirichlet rows), solved by PI
  (rlsandbox: `solve(method="pi")` one model at a time, and `solve_batch` per model);
* S=1000, A=10, gamma=0.9, solved by PI.

QuantEcon's `DiscreteDP(R, Q, beta).solve("policy_iteration")` is Howard PI with exact
evaluation, so both sides run the same algorithm to the exact optimum; the script checks
that the two optimal values agree before timing. Each figure is the median of `repeats`
timed runs after one warm-up.

Run: python benchmarks/foundation.py [--repeats 7]
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

import rlsandbox as rls


def _median_time(fn, repeats: int) -> float:
    fn()                                    # warm-up (JIT compile, caches)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _random(S: int, A: int, rng: np.random.Generator):
    P = rng.dirichlet(np.ones(S), size=(S, A))
    R = rng.random((S, A))
    return P, R


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batch", type=int, default=1000, help="models in the tiny batch")
    args = parser.parse_args()
    from quantecon.markov import DiscreteDP

    rng = np.random.default_rng(20261121)
    out = {}
    # tiny: S=10, A=3
    N = args.batch
    Ps, Rs = zip(*(_random(10, 3, rng) for _ in range(N)))
    Pb, Rb = np.stack(Ps), np.stack(Rs)
    mdps = [rls.TabularMDP(P, R, 0.9) for P, R in zip(Ps, Rs)]
    ref = DiscreteDP(Rs[0], Ps[0], 0.9).solve("policy_iteration")
    assert np.allclose(ref.v, rls.solve(mdps[0]).V, atol=1e-8)
    t_qe = _median_time(lambda: [DiscreteDP(R, P, 0.9).solve("policy_iteration")
                                 for P, R in zip(Ps, Rs)], args.repeats) / N
    t_one = _median_time(lambda: [rls.solve(m, method="pi") for m in mdps], args.repeats) / N
    t_batch = _median_time(lambda: rls.solve_batch(Pb, Rb, 0.9), args.repeats) / N
    out["tiny_S10_A3_pi"] = {"quantecon_s": t_qe, "rlsandbox_solve_s": t_one,
                             "rlsandbox_batch_s": t_batch,
                             "ratio_solve": t_qe / t_one, "ratio_batch": t_qe / t_batch}
    # dense: S=1000, A=10
    P, R = _random(1000, 10, rng)
    mdp = rls.TabularMDP(P, R, 0.9)
    ref = DiscreteDP(R, P, 0.9).solve("policy_iteration")
    assert np.allclose(ref.v, rls.solve(mdp).V, atol=1e-8)
    t_qe = _median_time(lambda: DiscreteDP(R, P, 0.9).solve("policy_iteration"), args.repeats)
    t_rl = _median_time(lambda: rls.solve(mdp, method="pi"), args.repeats)
    out["dense_S1000_A10_pi"] = {"quantecon_s": t_qe, "rlsandbox_solve_s": t_rl,
                                 "ratio_solve": t_qe / t_rl}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
