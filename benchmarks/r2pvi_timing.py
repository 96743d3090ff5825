"""Training wall time of R2PVI (TV, KL, chi2) vs DRPVI vs DRVI-L vs PEVI on the option task.

The R2PVI issue's timing comparison (card shared/papers/r2pvi.md §4 C9, §5.2 Figures 2(a),
2(b)): the card's sizes K in {1000, 5000, 10000} at d = 30 and d in {30, 60, 120} at K = 1000,
H = 20, beta = 0.1, ridge 1, lam = 1 (R2PVI), rho = 0.1 (DRPVI, DRVI-L), data p0 = 0.5. Per
setting: one warm-up training of every method, then ``--repeats`` rounds; in each round every
method trains once, in an order rotated from round to round, in this one process (so a change
of machine load hits all methods alike). Reported: the median wall seconds over the rounds,
the interquartile range, and the ratio of medians to PEVI, next to the card's ratios (i5-11300H,
the official pure-Python code); the 1-, 5- and 15-minute load averages before and after.

Methods: the official code's oracles (Nelder-Mead from H/2, card P11) for chi2, DRPVI and
DRVI-L, plus the exact oracles of this library for chi2 (piecewise-quadratic search) and DRPVI
(breakpoint search), and the C9 control (R2PVI-TV solved by Nelder-Mead). DRVI-L's certified
branch and bound is left out: it is an accuracy tool (about 3.5x the Nelder-Mead CPU time at
K = 100, d = 30, H = 20, growing with K). Only training is timed (the card's "training only"). Not part of
the test suite.

Run: ``python benchmarks/r2pvi_timing.py [--repeats 5] [--seed 0] [--quick]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from rlsandbox.algorithms.r2pvi.option import price_paths, train_option

#: (label, method, oracle, parameters); the card's five methods first.
METHODS = (("PEVI", "pevi", None, {}),
           ("R2PVI-TV", "tv", None, {"lam": 1.0}),
           ("R2PVI-KL", "kl", None, {"lam": 1.0}),
           ("DRPVI", "drpvi", None, {"rho": 0.1}),
           ("DRVI-L", "drvi_l", None, {"rho": 0.1}),
           ("R2PVI-chi2", "chi2", None, {"lam": 1.0}),
           ("R2PVI-chi2 exact", "chi2", "exact", {"lam": 1.0}),
           ("DRPVI exact", "drpvi", "exact", {"rho": 0.1}),
           ("R2PVI-TV numeric", "tv", "numeric", {"lam": 1.0}))
#: Card §5.2 Figures 2(a), 2(b): seconds, (K, d) -> PEVI, R2PVI-TV, R2PVI-KL, DRPVI, DRVI-L.
CARD = {(1000, 30): (0.804, 1.078, 1.041, 1.702, 1.643),
        (5000, 30): (4.066, 5.048, 5.019, 6.773, 7.013),
        (10000, 30): (8.153, 8.993, 9.032, 13.396, 15.044),
        (1000, 60): (1.838, 1.953, 1.786, 3.493, 4.120),
        (1000, 120): (5.558, 4.975, 6.306, 16.662, 16.195)}
CARD_LABELS = ("PEVI", "R2PVI-TV", "R2PVI-KL", "DRPVI", "DRVI-L")


def _train(prices: np.ndarray, d: int, method: str, oracle: str | None, kw: dict) -> float:
    t0 = time.perf_counter()
    train_option(prices, method=method, beta=0.1, d=d, ridge=1.0, oracle=oracle, **kw)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="timed rounds per setting (>= 5)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="small sizes, to try the script")
    args = ap.parse_args()
    if args.repeats < 1:
        raise SystemExit(f"--repeats must be >= 1, got {args.repeats}")
    settings = ([(200, 10), (400, 10)] if args.quick else
                [(1000, 30), (5000, 30), (10000, 30), (1000, 60), (1000, 120)])
    H = 10 if args.quick else 20
    rng = np.random.default_rng(args.seed)
    load0 = os.getloadavg()
    print(f"load average before: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f} "
          f"({os.cpu_count()} CPUs); H = {H}, {args.repeats} rounds, median wall seconds")
    for K, d in settings:
        prices = price_paths(K=K, H=H, p0=0.5, rng=rng)
        for _, method, oracle, kw in METHODS:                         # warm-up
            _train(prices, d, method, oracle, kw)
        times: dict[str, list[float]] = {label: [] for label, *_ in METHODS}
        for r in range(args.repeats):
            k = r % len(METHODS)
            for label, method, oracle, kw in METHODS[k:] + METHODS[:k]:
                times[label].append(_train(prices, d, method, oracle, kw))
        med = {label: statistics.median(t) for label, t in times.items()}
        card = dict(zip(CARD_LABELS, CARD.get((K, d), (float("nan"),) * 5)))
        load = os.getloadavg()[0]
        print(f"\nK = {K}, d = {d} (load {load:.2f})")
        print(f"  {'method':<18} {'median s':>9} {'IQR s':>15} {'/ PEVI':>7} {'card / PEVI':>11}")
        for label, t in times.items():
            q1, _, q3 = statistics.quantiles(t, n=4) if len(t) > 1 else (t[0], t[0], t[0])
            c = card.get(label)
            c_txt = f"{c / card['PEVI']:11.2f}" if c is not None and not np.isnan(c) else " " * 11
            print(f"  {label:<18} {med[label]:9.4f} {q1:7.4f}-{q3:7.4f} "
                  f"{med[label] / med['PEVI']:7.2f} {c_txt}")
    load1 = os.getloadavg()
    print(f"\nload average after: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}")


if __name__ == "__main__":
    main()
