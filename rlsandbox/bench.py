"""Speed of the exact solvers against QuantEcon and pymdptoolbox: ``rlsandbox bench``.

The workloads and targets of the performance issue (issue 4), each measured in this process
against the library a user would otherwise pick:

0. foundation (no target): the seed comparison of the foundation issue, PI one model at a
   time through ``solve``, tiny and dense S=1000, against QuantEcon;
1. tiny batch: 1,000 random MDPs (S=10, A=3, gamma=0.9) by ``solve_batch``, PI and VI
   (eps=1e-8), per solve, against QuantEcon ``DiscreteDP.solve`` and pymdptoolbox; >= 20x;
2. dense S=2000, A=10: one Bellman backup as a fraction of the streaming bandwidth
   (>= 0.9), and VI to eps=1e-6 against QuantEcon (at most 0.8x its time, i.e. >= 1.25x).
   P (S, A, S) float64 is 320 MB (the issue says 160 MB, which does not match these sizes);
   the sizes are kept;
3. sparse 100 x 100 slippery gridworld (10,000 states, CSR): one VI sweep against
   pymdptoolbox's (>= 2x), PI to the optimum against QuantEcon's (>= 10x);
4. exact policy evaluation, S=2000 dense, against the LAPACK solve of the same matrix
   (within 1.2x, i.e. >= 1/1.2);
5. relative VI and backward induction against straightforward vectorised NumPy (>= 2x);
6. trajectory sampling on a 1,000-state MDP against a ``gymnasium.Env`` step loop over the
   exported environment (>= 50x transitions per second);
7. cold start: import + first solve in a fresh interpreter, Numba cache cold and warm
   (warm < 2 s);
8. memory: peak RSS of dense VI at S=4000, A=10 (at most 1.3x the size of P).

Method. Every time is the median of ``repeats`` (>= 5) timed runs after one warm-up run
(JIT compilation, caches), with ``time.perf_counter``. The two sides of a comparison run
alternately (ours, anchor, ours, anchor, ...) in one process, so load from other processes
falls on both, each timed run after a ``PAUSE`` of idle time so that no thread pool of the
previous call is still spinning; ratios are ``anchor time / rlsandbox time`` (above 1:
rlsandbox is faster). Single operations that solvers repeat back to back (one dense backup,
one sparse sweep) are timed per call over blocks of back-to-back calls, on both sides: a
call that starts from idle threads also pays, on a virtual machine, for the second vCPU to
be scheduled again (the dense backup reports that single-call figure in its details too).
Before timing, each comparison checks that both sides computed the same thing: the same
iteration counts under the same stopping rule, values within the tolerance that rule
guarantees, the same policies where the optimum is unique.

Stopping rules. QuantEcon VI stops when ``||V_k - V_{k-1}||_inf < eps (1 - beta) / (2 beta)``,
rlsandbox's rule; both start from V = 0 here (QuantEcon's ``v_init=zeros``), so they run the
same sweeps. pymdptoolbox VI stops on a span rule instead, so it is forced to run exactly the
sweeps rlsandbox's rule needs (``max_iter`` = that count, threshold 0). PI runs to the exact
optimum on every side, from one start: the greedy policy of ``V0 = max_a R(s, a)``
(QuantEcon's and rlsandbox's default; pymdptoolbox gets it as ``policy0``); the iteration
counts are reported next to each other.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["Row", "WORKLOADS", "MIN_REPEATS", "PAUSE", "run", "format_table", "format_markdown",
           "machine", "register", "main", "slippery_grid", "stream_bandwidth", "cold_start"]

#: The fewest timed runs per figure (the issue's rule).
MIN_REPEATS = 5
#: Idle seconds before every timed run: thread pools (Numba's OpenMP, OpenBLAS) keep spinning
#: for a while after a call, and a spinning pool of the previous call would share the cores
#: with the next one; after the pause each timed call starts with idle pools, as a lone call
#: in a user's program does.
PAUSE = 0.2


# ------------------------------------------------------------------------- results
@dataclass
class Row:
    """One line of the table: a measured figure against its target.

    ``figure`` is what the target is about: a speed-up ``anchor / ours`` for comparisons, a
    fraction of bandwidth, seconds (cold start) or a ratio of bytes (memory). ``met`` is
    ``figure >= target`` (``op == ">="``) or ``figure <= target``; rows with ``op == "info"``
    have no target (reported for context).
    """

    workload: str
    case: str
    ours: str               # rlsandbox's measurement, formatted with its unit
    anchor: str             # the reference's measurement (or "-")
    figure: float
    target: float
    op: str                 # ">=" or "<="
    detail: str = ""
    data: dict = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.op == "info":
            return None
        return self.figure >= self.target if self.op == ">=" else self.figure <= self.target


def _fmt_time(t: float) -> str:
    if t >= 1.0:
        return f"{t:.3g} s"
    if t >= 1e-3:
        return f"{t * 1e3:.3g} ms"
    return f"{t * 1e6:.3g} us"


def _timeit(fn: Callable[[], Any], repeats: int, pause: float | None = None) -> float:
    """Median time of ``repeats`` runs of fn after a warm-up, each after ``pause`` seconds
    idle (default ``PAUSE``)."""
    fn()                                                    # warm-up
    times = []
    for _ in range(repeats):
        time.sleep(PAUSE if pause is None else pause)
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _paired(ours: Callable[[], Any], anchor: Callable[[], Any], repeats: int,
            anchor_setup: Callable[[], Any] | None = None) -> tuple[float, float]:
    """Medians of alternating timed runs of two functions, after one warm-up of each.

    ``anchor_setup()`` (untimed) prepares the argument passed to ``anchor`` when it consumes
    its input (e.g. a LAPACK call that overwrites its matrix).
    """
    def run_anchor():
        arg = anchor_setup() if anchor_setup else None
        time.sleep(PAUSE)
        t0 = time.perf_counter()
        anchor(arg) if anchor_setup else anchor()
        return time.perf_counter() - t0

    ours()
    run_anchor()
    t_ours, t_anchor = [], []
    for _ in range(repeats):
        time.sleep(PAUSE)
        t0 = time.perf_counter()
        ours()
        t_ours.append(time.perf_counter() - t0)
        t_anchor.append(run_anchor())
    return statistics.median(t_ours), statistics.median(t_anchor)


@contextlib.contextmanager
def _quiet_anchor():
    """Silence deprecation and sparse-efficiency warnings raised inside the anchor libraries
    (pymdptoolbox 4.0b3 predates NumPy 2 and compares sparse matrices with 0); only anchor
    calls run inside this context."""
    from scipy.sparse import SparseEfficiencyWarning
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        warnings.simplefilter("ignore", SparseEfficiencyWarning)
        yield


def _anchors():
    try:
        from quantecon.markov import DiscreteDP
        import mdptoolbox.mdp as mdptoolbox
    except ImportError as exc:      # reported as skipped rows by the caller
        raise _MissingAnchor(f"{exc.name} is not installed; pip install 'rlsandbox[bench]'") \
            from None
    return DiscreteDP, mdptoolbox


class _MissingAnchor(RuntimeError):
    pass


# ------------------------------------------------------------------------ instances
def _dirichlet_models(N: int, S: int, A: int, rng: np.random.Generator):
    """N models with P[n, s, a, :] ~ Dirichlet(1_S), R ~ Uniform[0, 1)."""
    P = rng.dirichlet(np.ones(S), size=(N, S, A))
    R = rng.random((N, S, A))
    return P, R


def _dense_model(S: int, A: int, rng: np.random.Generator):
    """One dense model built in place (no second copy of P): rows uniform then normalised."""
    P = rng.random((S, A, S))
    P /= P.sum(axis=2, keepdims=True)
    return P, rng.random((S, A))


def slippery_grid(n: int, *, slip: float = 0.2, gamma: float = 0.99, rng: Any = 0):
    """An n x n slippery gridworld as CSR ``(S*A, S)``, S = n*n, A = 4 (up, right, down, left).

    The intended move happens with probability ``1 - slip``, each perpendicular one with
    ``slip / 2``; moves off the grid stay put. The bottom-right cell is terminal (absorbing,
    reward 0); every other step costs ``-c[s, a]`` with ``c ~ Uniform[0.5, 1.5)`` drawn from
    ``rng`` (random costs break the exact ties of a constant step cost, on which QuantEcon's
    PI can cycle). Built directly in CSR: the zoo's ``gridworld`` goes through a dense
    (S, A, S) array (3.2 GB at S = 10,000). Returns ``(P, R, gamma, terminal)``.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from rlsandbox.bench import slippery_grid
    >>> P, R, gamma, terminal = slippery_grid(3)
    >>> mdp = rls.TabularMDP(P, R, gamma, terminal=terminal)
    >>> mdp.S, mdp.A, terminal.nonzero()[0].tolist()
    (9, 4, [8])
    >>> row = P[[4 * 4 + 0]]     # centre cell (1, 1), "up": to (0, 1) w.p. 0.8, sideways 0.1 each
    >>> dict(zip(row.indices.tolist(), row.data.round(2).tolist()))
    {1: 0.8, 3: 0.1, 5: 0.1}
    """
    import scipy.sparse as sp
    rng = np.random.default_rng(rng)
    S, A = n * n, 4
    row, col = np.divmod(np.arange(S), n)
    moves = np.array([(-1, 0), (0, 1), (1, 0), (0, -1)])
    goal = S - 1
    rows, cols, vals = [], [], []
    for a in range(A):
        for m, p in ((a, 1.0 - slip), ((a + 1) % 4, slip / 2), ((a + 3) % 4, slip / 2)):
            r2, c2 = row + moves[m, 0], col + moves[m, 1]
            inside = (r2 >= 0) & (r2 < n) & (c2 >= 0) & (c2 < n)
            rows.append(np.arange(S) * A + a)
            cols.append(np.where(inside, r2 * n + c2, np.arange(S)))
            vals.append(np.full(S, p))
    rows, cols, vals = (np.concatenate(x) for x in (rows, cols, vals))
    keep = rows // A != goal
    rows = np.concatenate([rows[keep], goal * A + np.arange(A)])
    cols = np.concatenate([cols[keep], np.full(A, goal)])
    vals = np.concatenate([vals[keep], np.ones(A)])
    P = sp.csr_array((vals, (rows, cols)), shape=(S * A, S))
    P.sum_duplicates()
    P.sort_indices()
    R = -rng.uniform(0.5, 1.5, size=(S, A))
    R[goal] = 0.0
    terminal = np.zeros(S, dtype=bool)
    terminal[goal] = True
    return P, R, gamma, terminal


# ------------------------------------------------------------------------ workloads
def _tiny(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    DiscreteDP, mdptoolbox = _anchors()
    N, S, A, gamma, eps = (100 if quick else 1000), 10, 3, 0.9, 1e-8
    n_anchor = min(N, 200)        # anchors are timed per solve on the first n_anchor models
    P, R = _dirichlet_models(N, S, A, np.random.default_rng(20261121))
    P_mt = [np.ascontiguousarray(P[n].transpose(1, 0, 2)) for n in range(N)]   # (A, S, S)
    zeros = np.zeros(S)
    rows = []

    # ---- PI to the optimum, every side from the same start: the greedy policy of
    # V0 = max_a R (QuantEcon's default; rlsandbox's; passed to pymdptoolbox as policy0)
    out = rls.solve_batch(P, R, gamma, method="pi")
    pi_start = [np.argmax(R[n] + gamma * P[n] @ R[n].max(axis=1), axis=1) for n in range(N)]
    qe = [DiscreteDP(R[n], P[n], gamma).solve("pi") for n in range(n_anchor)]
    with _quiet_anchor():
        mt = []
        for n in range(n_anchor):
            m = mdptoolbox.PolicyIteration(P_mt[n], R[n], gamma, policy0=pi_start[n])
            m.run()
            mt.append(m)
    # the optimum of a random model is unique: same policies, values equal to LU round-off
    # (values are at most 1/(1-gamma) = 10; a backward-stable solve of this well-conditioned
    # system errs by a few ulps of 10, far below 1e-10)
    for n in range(n_anchor):
        assert np.array_equal(out.policy[n], qe[n].sigma), f"PI policies differ (model {n})"
        assert np.array_equal(out.policy[n], np.array(mt[n].policy)), f"PI policies differ ({n})"
        assert np.abs(out.V[n] - qe[n].v).max() < 1e-10
        assert np.abs(out.V[n] - np.array(mt[n].V)).max() < 1e-10

    def qe_pi():
        for n in range(n_anchor):
            DiscreteDP(R[n], P[n], gamma).solve("pi")

    def mt_pi():
        with _quiet_anchor():
            for n in range(n_anchor):
                mdptoolbox.PolicyIteration(P_mt[n], R[n], gamma, policy0=pi_start[n]).run()

    ours_batch = lambda: rls.solve_batch(P, R, gamma, method="pi")     # noqa: E731
    t_ours, t_qe = _paired(ours_batch, qe_pi, repeats)
    _, t_mt = _paired(ours_batch, mt_pi, repeats)
    t_ours, t_qe, t_mt = t_ours / N, t_qe / n_anchor, t_mt / n_anchor
    it_ours = float(out.iterations.mean())
    it_qe = float(np.mean([r.num_iter for r in qe]))
    it_mt = float(np.mean([m.iter for m in mt]))
    case = f"PI, N={N} x (S={S}, A={A}), gamma={gamma}, per solve"
    rows.append(Row("1 tiny batch", case + " vs QuantEcon", _fmt_time(t_ours), _fmt_time(t_qe),
                    t_qe / t_ours, 20.0, ">=",
                    f"mean PI iterations: rlsandbox {it_ours:.2f}, QuantEcon {it_qe:.2f} (same "
                    f"start); construction included on both sides"))
    rows.append(Row("1 tiny batch", case + " vs pymdptoolbox", _fmt_time(t_ours), _fmt_time(t_mt),
                    t_mt / t_ours, 20.0, ">=", f"mean PI iterations: pymdptoolbox {it_mt:.2f}"))

    # ---- VI to eps = 1e-8 (Puterman's sup-norm rule on every side)
    out = rls.solve_batch(P, R, gamma, method="vi", eps=eps)
    sweeps = np.asarray(out.iterations)
    qe = [DiscreteDP(R[n], P[n], gamma).solve("vi", v_init=zeros, epsilon=eps, max_iter=10**6)
          for n in range(n_anchor)]
    assert all(qe[n].num_iter == sweeps[n] for n in range(n_anchor)), "VI sweep counts differ"

    def mt_vi_one(n):
        m = mdptoolbox.ValueIteration(P_mt[n], R[n], gamma, epsilon=eps)
        m.max_iter, m.thresh = int(sweeps[n]), 0.0     # exactly rlsandbox's sweeps
        m.run()
        return m

    with _quiet_anchor():
        mt = [mt_vi_one(n) for n in range(n_anchor)]
    # same recursion V_k = T V_{k-1} from 0, same k: the iterates agree to summation
    # round-off accumulated over k sweeps, <= k * 2 (S+2) u * max|V| / (1 - gamma) << 1e-9
    for n in range(n_anchor):
        assert mt[n].iter == sweeps[n]
        assert np.abs(out.V[n] - qe[n].v).max() < 1e-9
        assert np.abs(out.V[n] - np.array(mt[n].V)).max() < 1e-9

    def qe_vi():
        for n in range(n_anchor):
            DiscreteDP(R[n], P[n], gamma).solve("vi", v_init=zeros, epsilon=eps, max_iter=10**6)

    def mt_vi():
        with _quiet_anchor():
            for n in range(n_anchor):
                mt_vi_one(n)

    ours_batch = lambda: rls.solve_batch(P, R, gamma, method="vi", eps=eps)     # noqa: E731
    t_ours, t_qe = _paired(ours_batch, qe_vi, repeats)
    _, t_mt = _paired(ours_batch, mt_vi, repeats)
    t_ours, t_qe, t_mt = t_ours / N, t_qe / n_anchor, t_mt / n_anchor
    case = f"VI eps={eps:g}, N={N} x (S={S}, A={A}), per solve"
    detail = (f"mean sweeps {sweeps.mean():.1f} on every side (pymdptoolbox forced to "
              f"rlsandbox's count; its own rule is a span rule)")
    rows.append(Row("1 tiny batch", case + " vs QuantEcon", _fmt_time(t_ours), _fmt_time(t_qe),
                    t_qe / t_ours, 20.0, ">=", detail))
    rows.append(Row("1 tiny batch", case + " vs pymdptoolbox", _fmt_time(t_ours),
                    _fmt_time(t_mt), t_mt / t_ours, 20.0, ">=", detail))
    return rows


def stream_bandwidth(x: np.ndarray, repeats: int,
                     also: dict[str, Callable[[], Any]] | None = None,
                     block: int = 1) -> dict[str, float]:
    """Streaming-read bandwidth (bytes/s) over the 1-D float64 array ``x``, three ways:
    NumPy ``sum`` (one thread, SIMD), NumPy ``dot(x, x)`` (BLAS), and a parallel Numba read
    with the threads of the ``*_par`` kernels; ``best`` is the largest. Functions in ``also``
    are timed in the same rounds (one run of each per round, after a warm-up of all), so
    load from other processes falls on all of them alike; their median times are returned
    under their own names.

    Each timed run is ``block`` back-to-back calls after a ``PAUSE`` of idle time, and the
    time per call is reported. ``block=1`` times a call that starts from idle threads: on a
    virtual machine a parallel region then also waits for a halted vCPU to be scheduled again
    (0.7-8 ms measured here for an empty region after 0.2 s idle, against 11-46 us back to
    back); larger blocks time calls as a solver makes them, one after the other.
    """
    from rlsandbox.kernels.bellman import _stream_sum
    parts = np.empty(256)
    refs = {"numpy_sum": lambda: x.sum(), "numpy_dot": lambda: x.dot(x),
            "numba_parallel_read": lambda: _stream_sum(x, parts)}
    fns = {**refs, **(also or {})}
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            time.sleep(PAUSE)
            t0 = time.perf_counter()
            for _ in range(block):
                fn()
            times[k].append((time.perf_counter() - t0) / block)
    out = {k: x.nbytes / statistics.median(times[k]) for k in refs}
    out["best"] = max(out.values())
    out.update({k: statistics.median(times[k]) for k in (also or {})})
    return out


def _dense(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    DiscreteDP, _ = _anchors()
    S, A, gamma, eps = (500 if quick else 2000), 10, 0.9, 1e-6
    P, R = _dense_model(S, A, np.random.default_rng(1))
    mdp = rls.TabularMDP(P, R, gamma)
    del P
    rows = []
    # ---- one backup vs streaming bandwidth, on the model's own P. Timed as VI makes them,
    # in blocks of back-to-back calls (the references too); single calls from idle threads
    # are measured as well and reported in the details
    V = np.random.default_rng(2).random(S)
    nbytes = mdp.P.nbytes + mdp.R.nbytes
    backup = {"backup": lambda: rls.bellman_optimality(mdp, V)}
    block = 5
    bw = stream_bandwidth(mdp.P.reshape(-1), repeats, also=backup, block=block)
    bw1 = stream_bandwidth(mdp.P.reshape(-1), repeats, also=backup, block=1)
    t_backup, t_backup1 = bw.pop("backup"), bw1.pop("backup")
    frac = nbytes / t_backup / bw["best"]

    def refs(b):
        return ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in b.items() if k != "best")

    rows.append(Row("2 dense", f"one Bellman backup, S={S}, A={A} ({mdp.P.nbytes / 1e6:.0f} MB), "
                    "fraction of streaming bandwidth", _fmt_time(t_backup) +
                    f" = {nbytes / t_backup / 1e9:.1f} GB/s", f"{bw['best'] / 1e9:.1f} GB/s",
                    frac, 0.9, ">=",
                    f"per call, timed over blocks of {block} back-to-back calls on both sides; "
                    f"streaming reference = best of {refs(bw)}. Single calls after {PAUSE} s "
                    f"idle: backup {nbytes / t_backup1 / 1e9:.1f} GB/s = "
                    f"{nbytes / t_backup1 / bw1['best']:.3f} of the best of {refs(bw1)}",
                    {"bandwidth": bw, "backup_s": t_backup, "bytes": nbytes, "block": block,
                     "single_call": {"bandwidth": bw1, "backup_s": t_backup1}}))
    # ---- VI to eps, same rule and start on both sides
    ddp = DiscreteDP(mdp.R, mdp.P, gamma)
    zeros = np.zeros(S)
    sol = rls.solve(mdp, method="vi", eps=eps)
    res = ddp.solve("vi", v_init=zeros, epsilon=eps, max_iter=10**6)
    assert res.num_iter == sol.iterations, (res.num_iter, sol.iterations)
    # same iterates up to summation-order round-off (gemv vs kernel): <= k (S+2) u max|V| / (1-g)
    assert np.abs(sol.V - res.v).max() < 1e-8
    t_ours, t_qe = _paired(lambda: rls.solve(mdp, method="vi", eps=eps),
                           lambda: ddp.solve("vi", v_init=zeros, epsilon=eps, max_iter=10**6),
                           repeats)
    rows.append(Row("2 dense", f"VI to eps={eps:g}, S={S}, A={A}, gamma={gamma} vs QuantEcon",
                    _fmt_time(t_ours), _fmt_time(t_qe), t_qe / t_ours, 1.25, ">=",
                    f"{sol.iterations} sweeps on both sides ({_fmt_time(t_ours / sol.iterations)}"
                    f" vs {_fmt_time(t_qe / sol.iterations)} per sweep); model construction "
                    f"excluded on both sides; target: at most 0.8x QuantEcon's time"))
    return rows


def _sparse(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    DiscreteDP, mdptoolbox = _anchors()
    n = 30 if quick else 100
    P, R, gamma, terminal = slippery_grid(n)
    mdp = rls.TabularMDP(P, R, gamma, terminal=terminal)
    S, A = mdp.S, mdp.A
    rows = []
    # ---- one sweep vs pymdptoolbox's _bellmanOperator (A sparse matvecs + max)
    P_list = [_action_rows(mdp.P, a, A) for a in range(A)]
    with _quiet_anchor():
        mt = mdptoolbox.MDP(P_list, mdp.R, gamma, None, None)
    V = np.random.default_rng(3).random(S)
    TV, greedy = rls.bellman_optimality(mdp, V)
    with _quiet_anchor():
        mt_pi, mt_V = mt._bellmanOperator(V)
    # both sum the stored entries of each row in index order: same sums up to round-off
    assert np.abs(TV - mt_V).max() < 1e-12
    # sweeps run back to back, as inside value iteration: time blocks of `block` sweeps
    block = 100

    def ours_block():
        for _ in range(block):
            rls.bellman_optimality(mdp, V)

    def mt_block():
        for _ in range(block):
            mt._bellmanOperator(V)

    with _quiet_anchor():
        t_ours, t_mt = _paired(ours_block, mt_block, repeats)
    t_ours, t_mt = t_ours / block, t_mt / block
    rows.append(Row("3 sparse", f"one VI sweep, {n}x{n} slippery grid (S={S}, A={A}, CSR, "
                    f"nnz={mdp.P.nnz}) vs pymdptoolbox", _fmt_time(t_ours), _fmt_time(t_mt),
                    t_mt / t_ours, 2.0, ">=",
                    f"per sweep, timed over blocks of {block} back-to-back sweeps; rlsandbox: "
                    f"public bellman_optimality (validates V); pymdptoolbox: "
                    f"MDP._bellmanOperator"))
    # ---- PI to the optimum vs QuantEcon (both default starts: the greedy policy of max_a R)
    s_idx, a_idx = np.repeat(np.arange(S), A), np.tile(np.arange(A), S)
    ddp = DiscreteDP(mdp.R.reshape(-1), mdp.P, gamma, s_idx, a_idx)
    sol = rls.solve(mdp, method="pi")
    res = ddp.solve("pi", max_iter=10**4)
    assert sol.converged and res.num_iter == sol.iterations, (res.num_iter, sol.iterations)
    assert np.array_equal(sol.policy, res.sigma)
    # two LU solves of the same well-conditioned system (cond_inf <= (1+g)/(1-g) = 199):
    # forward errors ~ 1e-16 * 199 * max|V| (~150) = 3e-12 each
    assert np.abs(sol.V - res.v).max() < 1e-10
    t_ours, t_qe = _paired(lambda: rls.solve(mdp, method="pi"),
                           lambda: ddp.solve("pi", max_iter=10**4), repeats)
    rows.append(Row("3 sparse", f"PI to the optimum, {n}x{n} slippery grid, gamma={gamma} vs "
                    "QuantEcon", _fmt_time(t_ours), _fmt_time(t_qe), t_qe / t_ours, 10.0, ">=",
                    f"{sol.iterations} PI iterations on both sides (same start, same policies); "
                    f"construction excluded"))
    return rows


def _action_rows(P, a: int, A: int):
    """The (S, S) CSR kernel of action a from a CSR (S*A, S) model (rows s*A + a)."""
    return P[a::A].tocsr()


def _evaluation(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    from scipy.linalg.lapack import dgesv
    S, A, gamma = (500 if quick else 2000), 10, 0.9
    P, R = _dense_model(S, A, np.random.default_rng(4))
    mdp = rls.TabularMDP(P, R, gamma)
    del P
    pi = np.random.default_rng(5).integers(0, A, size=S)
    M = np.asfortranarray(np.eye(S) - gamma * mdp.P[np.arange(S), pi])
    r = mdp.R[np.arange(S), pi].copy()
    V = rls.evaluate(mdp, pi)
    _, _, x, info = dgesv(M.copy(order="F"), r.copy())
    # rlsandbox calls getrf + getrs (as scipy.linalg.solve does), gesv may block differently:
    # both backward stable on a matrix with cond_inf <= (1+g)/(1-g) = 19, |V| <= 10, so they
    # agree to ~ S u * 19 * 10 ~ 1e-11
    assert info == 0 and np.abs(V - x).max() < 1e-9, "evaluate differs from LAPACK gesv"
    t_ours, t_lapack = _paired(lambda: rls.evaluate(mdp, pi),
                               lambda Mc: dgesv(Mc, r.copy(), overwrite_a=True, overwrite_b=True),
                               repeats, anchor_setup=lambda: M.copy(order="F"))
    return [Row("4 evaluation", f"exact V^pi, dense S={S}, A={A} vs LAPACK dgesv on the same "
                "matrix", _fmt_time(t_ours), _fmt_time(t_lapack), t_lapack / t_ours, 1 / 1.2,
                ">=", "rlsandbox: public evaluate (validation, gather of P_pi, I - gamma P_pi, "
                "getrf/getrs); LAPACK: dgesv on a prepared Fortran-ordered copy; target: within "
                "1.2x")]


def _average(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    rows = []
    try:
        from rlsandbox.dp.average import relative_value_iteration
    except ImportError:
        relative_value_iteration = None
    if relative_value_iteration is not None:
        S, A, tau, eps = (200 if quick else 1000), 10, 0.5, 1e-10
        P, R = _dense_model(S, A, np.random.default_rng(6))
        mdp = rls.TabularMDP(P, R, 1.0)
        P2 = mdp.P.reshape(S * A, S)

        def rvi_numpy():
            w = np.zeros(S)
            for it in range(1, 10**6 + 1):
                M = (mdp.R + tau * (P2 @ w).reshape(S, A)).max(axis=1)
                Tw = M + (1.0 - tau) * w
                d = Tw - w
                if d.max() - d.min() < eps:
                    return w, it
                w = Tw - Tw[0]
            return w, -1

        sol = relative_value_iteration(mdp, tau=tau, eps=eps)
        w_np, it_np = rvi_numpy()
        # same recursion; BLAS and the kernel sum in different orders, so the stopping sweep
        # may differ by one at the threshold
        assert abs(it_np - sol.iterations) <= 1, (it_np, sol.iterations)
        t_ours, t_np = _paired(lambda: relative_value_iteration(mdp, tau=tau, eps=eps),
                               rvi_numpy, repeats)
        rows.append(Row("5 average reward", f"relative VI (tau={tau}, eps={eps:g}), dense S={S}, "
                        f"A={A} vs NumPy", _fmt_time(t_ours), _fmt_time(t_np), t_np / t_ours, 2.0,
                        ">=", f"{sol.iterations} sweeps (NumPy {it_np}); rlsandbox includes its "
                        f"weak-communication check and certificate"))
    H, S, A = (10, 100, 5) if quick else (50, 200, 10)
    rng = np.random.default_rng(7)
    Pf = rng.random((H, S, A, S))
    Pf /= Pf.sum(axis=3, keepdims=True)
    fh = rls.FiniteHorizonMDP(Pf, rng.random((H, S, A)))
    del Pf

    def bi_numpy():
        V = np.zeros((H + 1, S))
        pi = np.empty((H, S), dtype=np.int64)
        for h in range(H - 1, -1, -1):
            Q = fh.R[h] + (fh.P[h].reshape(S * A, S) @ V[h + 1]).reshape(S, A)
            V[h] = Q.max(axis=1)
            pi[h] = Q.argmax(axis=1)
        return V, pi

    sol = rls.solve(fh)
    V_np, _ = bi_numpy()
    # H steps of S-term sums: <= H (S+2) u max|V| apart
    assert np.abs(sol.V - V_np).max() < 1e-9
    t_ours, t_np = _paired(lambda: rls.solve(fh), bi_numpy, repeats)
    rows.append(Row("5 finite horizon", f"backward induction, H={H}, S={S}, A={A} vs NumPy",
                    _fmt_time(t_ours), _fmt_time(t_np), t_np / t_ours, 2.0, ">=",
                    "rlsandbox: solve(FiniteHorizonMDP) incl. optimal-action mask"))
    return rows


def _sampling(quick: bool, repeats: int) -> list[Row]:
    import rlsandbox as rls
    try:
        from rlsandbox.sampling import trajectories
        env_of = rls.mdps.to_gymnasium
        import gymnasium  # noqa: F401
    except (ImportError, AttributeError) as exc:
        raise _MissingAnchor(f"sampling workload needs rlsandbox.sampling and gymnasium ({exc})")
    S, A = 1000, 4
    mdp = rls.mdps.garnet(S, A, 10, rng=8, gamma=0.99)
    pi = np.random.default_rng(9).integers(0, A, size=S)
    n, T = (100, 100) if quick else (1000, 1000)
    gym_steps = 2000 if quick else 20000
    env = env_of(mdp, horizon=T)

    def gym_loop():
        s, _ = env.reset(seed=0)
        for _ in range(gym_steps):
            s, _, terminated, truncated, _ = env.step(int(pi[s]))
            if terminated or truncated:
                s, _ = env.reset()

    ours = lambda: trajectories(mdp, pi, n=n, horizon=T, rng=0)      # noqa: E731
    tr = ours()
    assert int(tr.length.sum()) == n * T          # garnet has no terminal states
    t_ours, t_gym = _paired(ours, gym_loop, repeats)
    rate_ours, rate_gym = n * T / t_ours, gym_steps / t_gym
    return [Row("6 sampling", f"trajectory sampling, garnet S={S}, A={A}, {n} x {T} steps vs "
                "gymnasium step loop", f"{rate_ours:.3g} tr/s", f"{rate_gym:.3g} tr/s",
                rate_ours / rate_gym, 50.0, ">=",
                f"rlsandbox.sampling.trajectories; gymnasium: env.step over "
                f"rlsandbox.mdps.to_gymnasium(mdp), {gym_steps} steps, deterministic policy")]


_COLD_CODE = r"""
import json, time
t0 = time.perf_counter()
import rlsandbox as rls
t1 = time.perf_counter()
sol = rls.solve(rls.mdps.riverswim(), method="pi")
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_solve_s": t2 - t1}))
"""


def _child(code: str, env: dict | None = None) -> tuple[dict, float]:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON. Returns it and the
    wall time of the whole child (interpreter start-up included)."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, **(env or {})}, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"benchmark child failed (exit {out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def cold_start(repeats: int) -> dict[str, dict[str, float]]:
    """Import + first ``solve`` (PI on RiverSwim) in fresh interpreters with
    ``NUMBA_CACHE_DIR`` pointing at a new temporary directory (cold: compiled on the spot)
    and then at the populated one (warm). Medians over ``repeats`` children each."""
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="rls-numba-cache-") as cache:
            env = {"NUMBA_CACHE_DIR": cache}
            res, wall = _child(_COLD_CODE, env)
            cold.append({**res, "wall_s": wall})
            res, wall = _child(_COLD_CODE, env)
            warm.append({**res, "wall_s": wall})

    def med(rows):
        return {k: statistics.median(r[k] for r in rows) for k in rows[0]}
    return {"cold": med(cold), "warm": med(warm)}


def _cold(quick: bool, repeats: int) -> list[Row]:
    res = cold_start(repeats)
    rows = []
    for kind in ("cold", "warm"):
        r = res[kind]
        total = r["import_s"] + r["first_solve_s"]
        rows.append(Row("7 cold start", f"import + first solve, Numba cache {kind}",
                        _fmt_time(total), "-", total, 2.0, "<=" if kind == "warm" else "info",
                        f"import {_fmt_time(r['import_s'])}, first solve "
                        f"{_fmt_time(r['first_solve_s'])}, whole child incl. interpreter "
                        f"start-up {_fmt_time(r['wall_s'])}" +
                        ("; no target for a cold cache" if kind == "cold" else ""), r))
    return rows


_MEMORY_CODE = r"""
import json, sys
import numpy as np
import rlsandbox as rls

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
S, A, eps = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(10)
P = rng.random((S, A, S))
P /= P.sum(axis=2, keepdims=True)
mdp = rls.TabularMDP(P, rng.random((S, A)), 0.9)
del P                                   # the model keeps its own validated copy
construction_peak = status("VmHWM")
before = status("VmRSS")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")                        # reset VmHWM: from here it is the peak of VI alone
sol = rls.dp.value_iteration(mdp, eps=eps)
print(json.dumps({"P_bytes": mdp.P.nbytes, "rss_before_vi": before,
                  "vi_peak": status("VmHWM"), "construction_peak": construction_peak,
                  "sweeps": sol.iterations, "converged": bool(sol.converged)}))
"""


def _memory(quick: bool, repeats: int) -> list[Row]:
    if not Path("/proc/self/clear_refs").exists():
        raise _MissingAnchor("memory workload needs Linux /proc (VmHWM reset)")
    S, A, eps = (1000 if quick else 4000), 10, 1e-6
    out = subprocess.run([sys.executable, "-c", _MEMORY_CODE, str(S), str(A), str(eps)],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{out.stderr}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = r["vi_peak"] / r["P_bytes"]
    return [Row("8 memory", f"peak RSS of dense VI (eps={eps:g}), S={S}, A={A}",
                f"{r['vi_peak'] / 2**20:.0f} MiB", f"P: {r['P_bytes'] / 2**20:.0f} MiB", ratio,
                1.3, "<=",
                f"peak RSS of the whole process while VI runs ({r['sweeps']} sweeps), over "
                f"P.nbytes; RSS before VI {r['rss_before_vi'] / 2**20:.0f} MiB; building the "
                f"model peaks at {r['construction_peak'] / r['P_bytes']:.2f}x (the caller's "
                f"array plus TabularMDP's validated copy)", r)]


def _foundation(quick: bool, repeats: int) -> list[Row]:
    """The foundation issue's seed comparison (ex benchmarks/foundation.py), no targets:
    one model at a time through ``solve(method="pi")``, tiny and S=1000 dense, against
    QuantEcon's ``DiscreteDP.solve("policy_iteration")`` (the same Howard PI)."""
    import rlsandbox as rls
    DiscreteDP, _ = _anchors()
    rows = []
    N = 50 if quick else 200
    P, R = _dirichlet_models(N, 10, 3, np.random.default_rng(20261121))
    mdps = [rls.TabularMDP(P[n], R[n], 0.9) for n in range(N)]
    for n in range(N):
        assert np.array_equal(rls.solve(mdps[n]).policy,
                              DiscreteDP(R[n], P[n], 0.9).solve("pi").sigma)
    t_ours, t_qe = _paired(lambda: [rls.solve(m, method="pi") for m in mdps],
                           lambda: [DiscreteDP(R[n], P[n], 0.9).solve("pi") for n in range(N)],
                           repeats)
    rows.append(Row("0 foundation", f"PI one model at a time (solve), S=10, A=3, {N} models, "
                    "per solve vs QuantEcon", _fmt_time(t_ours / N), _fmt_time(t_qe / N),
                    t_qe / t_ours, 0.0, "info", "as in the seed script: rlsandbox's TabularMDP "
                    "objects are built (validated) beforehand, QuantEcon builds its DiscreteDP "
                    "inside the timed call"))
    S = 300 if quick else 1000
    Pd, Rd = _dense_model(S, 10, np.random.default_rng(11))
    mdp = rls.TabularMDP(Pd, Rd, 0.9)
    ddp = DiscreteDP(mdp.R, mdp.P, 0.9)
    # both default starts: the greedy policy of V0 = max_a R
    sol, res = rls.solve(mdp, method="pi"), ddp.solve("pi")
    assert sol.iterations == res.num_iter, (sol.iterations, res.num_iter)
    # exact optimum on both sides; LU round-off of a system with cond_inf <= 19, |V| <= 10
    assert np.array_equal(sol.policy, res.sigma) and np.abs(sol.V - res.v).max() < 1e-9
    t_ours, t_qe = _paired(lambda: rls.solve(mdp, method="pi"), lambda: ddp.solve("pi"), repeats)
    rows.append(Row("0 foundation", f"PI, dense S={S}, A=10 vs QuantEcon", _fmt_time(t_ours),
                    _fmt_time(t_qe), t_qe / t_ours, 0.0, "info",
                    f"{sol.iterations} PI iterations on both sides (same initial policy); LAPACK "
                    f"LU on both sides"))
    return rows


#: Workload names (``--only``) in table order.
WORKLOADS: dict[str, Callable[[bool, int], list[Row]]] = {
    "foundation": _foundation, "tiny": _tiny, "dense": _dense, "sparse": _sparse,
    "evaluation": _evaluation, "average": _average, "sampling": _sampling, "cold": _cold,
    "memory": _memory,
}


# --------------------------------------------------------------------------- driver
def machine() -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, threads, memory, versions, load."""
    import numba
    import scipy
    info: dict[str, Any] = {"platform": platform.platform(), "python": platform.python_version(),
                            "cpus": os.cpu_count()}
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                info["memory_GiB"] = round(int(line.split()[1]) / 2**20, 1)
                break
    with contextlib.suppress(OSError):
        info["load_average"] = os.getloadavg()
    numba_threads = numba.get_num_threads()
    info.update(numpy=np.__version__, scipy=scipy.__version__, numba=numba.__version__,
                numba_threads=numba_threads)
    with contextlib.suppress(Exception):
        cfg = np.show_config(mode="dicts")
        info["blas"] = cfg["Build Dependencies"]["blas"]["name"]
    for mod in ("quantecon", "mdptoolbox", "gymnasium"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version
            info[mod] = version({"mdptoolbox": "pymdptoolbox"}.get(mod, mod))
    import rlsandbox
    info["rlsandbox"] = rlsandbox.__version__
    return info


def run(*, quick: bool = False, only: list[str] | None = None, repeats: int = MIN_REPEATS,
        progress: Callable[[str], None] | None = None) -> tuple[list[Row], list[str]]:
    """Run the workloads (all, or those named in ``only``); returns (rows, skipped notes)."""
    if repeats < MIN_REPEATS:
        raise ValueError(f"repeats == {repeats}; every figure is a median of at least "
                         f"{MIN_REPEATS} timed runs, pass repeats >= {MIN_REPEATS}")
    names = list(WORKLOADS) if not only else only
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"unknown workload {name!r}; expected one of {', '.join(WORKLOADS)}")
    rows, skipped = [], []
    for name in names:
        if progress:
            progress(name)
        try:
            rows.extend(WORKLOADS[name](quick, repeats))
        except _MissingAnchor as exc:
            skipped.append(f"{name}: skipped ({exc})")
    return rows, skipped


def _target(r: Row) -> str:
    return f"{r.op} {r.target:.3g}" if r.op != "info" else "-"


def _met(r: Row) -> str:
    return "-" if r.met is None else ("yes" if r.met else "NO")


def format_table(rows: list[Row]) -> str:
    head = ("workload", "case", "rlsandbox", "anchor", "figure", "target", "met")
    body = [(r.workload, r.case, r.ours, r.anchor, f"{r.figure:.3g}", _target(r), _met(r))
            for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h)
              for i, h in enumerate(head)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa
    out = [line(head), line(tuple("-" * w for w in widths))] + [line(b) for b in body]
    out += ["", "details:"] + [f"  [{r.workload}] {r.case}: {r.detail}" for r in rows if r.detail]
    return "\n".join(out)


def format_markdown(rows: list[Row], info: dict, command: str, skipped: list[str]) -> str:
    lines = ["# rlsandbox performance", "",
             f"Command: `{command}`", "",
             "Written by the command above (`--markdown PATH`); rerun it to refresh. On a shared "
             "machine the ratios move with the other processes' load (the load average is "
             "recorded below); measure on a quiet machine.", "",
             "Machine: " + ", ".join(f"{k} {v}" for k, v in info.items()), "",
             "Figures: medians of at least 5 timed runs after a warm-up; speed-ups are "
             "anchor time / rlsandbox time measured alternately in one process "
             "(see `rlsandbox/bench.py` for the method and the stopping rules).", "",
             "| workload | case | rlsandbox | anchor | figure | target | met |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        met = {"NO": "**no**"}.get(_met(r), _met(r))
        lines.append(f"| {r.workload} | {r.case} | {r.ours} | {r.anchor} | {r.figure:.3g} | "
                     f"{_target(r)} | {met} |")
    lines += ["", "Details:", ""] + [f"- {r.workload}, {r.case}: {r.detail}" for r in rows]
    if skipped:
        lines += ["", "Skipped:", ""] + [f"- {s}" for s in skipped]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


# ------------------------------------------------------------------------------ CLI
def register(subparsers: Any) -> None:
    """Add ``rlsandbox bench`` (see :mod:`rlsandbox.cli`)."""
    p = subparsers.add_parser("bench", help="speed against QuantEcon and pymdptoolbox",
                              description="Time rlsandbox's exact solvers against QuantEcon and "
                              "pymdptoolbox on the workloads of the performance issue and "
                              "print the table of ratios and targets (see rlsandbox/bench.py).")
    p.add_argument("--quick", action="store_true", help="small sizes (a smoke test; the "
                   "targets are stated for the full sizes)")
    p.add_argument("--json", action="store_true", help="print JSON (rows and machine) to stdout")
    p.add_argument("--only", nargs="+", choices=list(WORKLOADS), metavar="WORKLOAD",
                   help=f"run only these workloads: {', '.join(WORKLOADS)}")
    p.add_argument("--repeats", type=int, default=MIN_REPEATS,
                   help=f"timed runs per figure (median; at least {MIN_REPEATS})")
    p.add_argument("--markdown", metavar="PATH", help="also write the table, the machine and "
                   "the command as Markdown (e.g. benchmarks/RESULTS.md)")
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """Run ``rlsandbox bench``; exit 0 (targets missed are reported, not failures), 64 on
    bad usage."""
    if args.repeats < MIN_REPEATS:
        print(f"rlsandbox bench: error: --repeats {args.repeats}; at least {MIN_REPEATS}",
              file=sys.stderr)
        return 64
    info = machine()
    progress = None if args.json else (lambda name: print(f"running {name} ...", file=sys.stderr,
                                                          flush=True))
    rows, skipped = run(quick=args.quick, only=args.only, repeats=args.repeats,
                        progress=progress)
    info["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    command = "rlsandbox bench" + (" --quick" if args.quick else "") + \
        (f" --only {' '.join(args.only)}" if args.only else "") + \
        (f" --repeats {args.repeats}" if args.repeats != MIN_REPEATS else "")
    if args.json:
        print(json.dumps({"command": command, "machine": info, "skipped": skipped,
                          "rows": [{**asdict(r), "met": r.met} for r in rows]},
                         indent=2, default=float))
    else:
        print(format_table(rows))
        targeted = [r for r in rows if r.met is not None]
        print(f"\ntargets met: {sum(r.met for r in targeted)}/{len(targeted)}" +
              ("; quick sizes" if args.quick else ""))
        for s in skipped:
            print(s)
    if args.markdown:
        _write_atomic(Path(args.markdown), format_markdown(rows, info, command, skipped))
    return 0
