"""Where the time of sparse policy iteration goes, and what the 10x target would need.

Workload 3 of the performance issue asks PI on the 100 x 100 slippery gridworld (10,000
states, 4 actions, gamma = 0.99; ``rlsandbox.bench.slippery_grid``) to run at least 10x
faster than QuantEcon's PI, which solves each policy's ``(I - gamma P_pi) V = R_pi`` with
SciPy's ``spsolve`` (SuperLU). Both run the same policies (23) from the same start. This script
measures, on the policies of that run:

1. the pieces of one PI step in rlsandbox: numeric LU on the pattern analysed once
   (``kernels.bellman._lu_numeric``), triangular solves, the greedy step; the one-off
   ordering and symbolic analysis; the LU's flop count;
2. the same factorisation by other direct solvers: SciPy ``spsolve`` (QuantEcon's path), and,
   if installed, UMFPACK (``cvxopt.umfpack``: symbolic + numeric) and MKL PARDISO
   (``pypardiso``: analysis + factorisation + solve);
3. refactorising only what a policy change touches: the share of the LU's flops in the rows
   that are elimination-tree ancestors of the changed states (the rows whose factors change);
4. iterative evaluation instead: GMRES from the previous step's values, to a normwise
   backward error at the level of the direct solve, with several preconditioners
   (SciPy's ILU / LU); iterations per step, the preconditioner's set-up time and fill.

Not part of the test suite; the numbers are this machine's.
Run: ``python benchmarks/sparse_pi_limits.py [--n 100] [--repeats 5]``
(optional: ``pip install cvxopt pypardiso`` for the two external direct solvers).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import rlsandbox as rls
from rlsandbox.bench import _timeit, slippery_grid
from rlsandbox.dp.discounted import _StaticLU, _improve, _q
from rlsandbox.kernels.bellman import _lu_numeric, _lu_solve_perm

U_ROUND = 2.0 ** -53


def _median_time(fn, repeats: int) -> float:
    """Median of back-to-back runs after a warm-up: steps of one PI run follow each other."""
    return _timeit(fn, repeats, pause=0.0)


def _pi_run(mdp, lu):
    """The policies and values of rlsandbox's PI step by step (the bench's start), checked
    against ``rls.solve(mdp, method="pi")``: the same number of evaluations, the same optimum."""
    pi = np.argmax(_q(mdp, mdp.R.max(axis=1), parallel=False), axis=1).astype(np.int64)
    pis, Vs = [], []
    while True:
        V = lu.solve(pi)
        pis.append(pi)
        Vs.append(V)
        new = _improve(_q(mdp, V, parallel=False), pi)
        if np.array_equal(new, pi):
            break
        pi = new
    sol = rls.solve(mdp, method="pi")
    assert len(pis) == sol.iterations and np.array_equal(pis[-1], sol.policy)
    return pis, Vs


def _backward_error(M, b, x, norm_M: float | None = None) -> float:
    """Normwise backward error ||b - M x||_inf / (||M||_inf ||x||_inf + ||b||_inf)."""
    norm_M = abs(M).sum(axis=1).max() if norm_M is None else norm_M
    r = b - M @ x
    return float(np.abs(r).max() / (norm_M * np.abs(x).max() + np.abs(b).max()))


def _gmres_iterations(M, b, x0, apply_prec, level: float, max_iter: int = 200) -> int:
    """Right-preconditioned GMRES (Arnoldi with modified Gram-Schmidt, no restart) from x0:
    the number of iterations after which the iterate's true normwise backward error is at
    most ``level``; ``-max_iter`` if it is not reached. Forms the iterate at every step (a
    measurement, not a solver)."""
    prec = apply_prec or (lambda v: v)
    norm_M = abs(M).sum(axis=1).max()
    r0 = b - M @ x0
    beta = np.linalg.norm(r0)
    if _backward_error(M, b, x0, norm_M) <= level:
        return 0
    n = b.shape[0]
    V = np.zeros((max_iter + 1, n))
    Z = np.zeros((max_iter, n))
    H = np.zeros((max_iter + 1, max_iter))
    V[0] = r0 / beta
    for k in range(max_iter):
        Z[k] = prec(V[k])
        w = M @ Z[k]
        for i in range(k + 1):
            H[i, k] = w @ V[i]
            w = w - H[i, k] * V[i]
        H[k + 1, k] = np.linalg.norm(w)
        if H[k + 1, k] > 0:
            V[k + 1] = w / H[k + 1, k]
        e1 = np.zeros(k + 2)
        e1[0] = beta
        y = np.linalg.lstsq(H[:k + 2, :k + 1], e1, rcond=None)[0]
        if _backward_error(M, b, x0 + y @ Z[:k + 1], norm_M) <= level:
            return k + 1
        if H[k + 1, k] == 0:
            break
    return -max_iter


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100, help="grid side (S = n^2)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    P, R, gamma, terminal = slippery_grid(args.n)
    mdp = rls.TabularMDP(P, R, gamma, terminal=terminal)
    S = mdp.S
    _StaticLU(mdp)                                         # compile
    t_setup = _median_time(lambda: _StaticLU(mdp), args.repeats)
    lu = _StaticLU(mdp)
    pis, Vs = _pi_run(mdp, lu)
    steps = len(pis)
    mats = [(sp.identity(S, format="csr") - gamma * mdp.P_pi(pi)).tocsr() for pi in pis]
    rhs = [mdp.R_pi(pi) for pi in pis]

    # ---- 1. rlsandbox's step, piece by piece (median over the run's policies)
    def numeric(pi):
        _lu_numeric(mdp.P.data, mdp.P.indices, mdp.P.indptr, mdp.A, pi, gamma, lu.perm,
                    lu.pinv, lu.Lp, lu.Li, lu.Up, lu.Ui, lu.Lx, lu.Ux, lu.Ud, lu.w)
    out = np.empty(S)
    t_num = statistics.median(_median_time(lambda pi=pi: numeric(pi), args.repeats) for pi in pis)
    numeric(pis[-1])
    t_tri = _median_time(lambda: _lu_solve_perm(mdp.R, pis[-1], lu.perm, lu.Lp, lu.Li, lu.Lx,
                                                lu.Up, lu.Ui, lu.Ux, lu.Ud, out), args.repeats)
    t_imp = _median_time(lambda: _improve(_q(mdp, Vs[-1], parallel=False), pis[-1]),
                         args.repeats)
    ulen = np.diff(lu.Up)
    row_flops = np.array([2 * ulen[lu.Li[lu.Lp[i]:lu.Lp[i + 1]]].sum()
                          + (lu.Lp[i + 1] - lu.Lp[i]) for i in range(S)], dtype=float)
    flops = row_flops.sum()
    t_ours = _median_time(lambda: rls.solve(mdp, method="pi"), args.repeats)
    t_qe_step = statistics.median(
        _median_time(lambda M=M, b=b: spla.spsolve(M.tocsc(), b), args.repeats)
        for M, b in zip(mats[::4], rhs[::4]))
    print(f"{args.n}x{args.n} slippery grid, S={S}, gamma={gamma}: {steps} PI steps")
    print(f"rlsandbox PI (solve, method='pi'): {t_ours * 1e3:.1f} ms in all")
    print(f"  ordering + symbolic analysis (once): {t_setup * 1e3:.1f} ms")
    print(f"  per step: numeric LU {t_num * 1e3:.2f} ms ({flops / 1e6:.1f} Mflop, "
          f"{flops / t_num / 1e9:.1f} Gflop/s; nnz(L) = nnz(U) = {lu.Li.shape[0]}), "
          f"triangular solves {t_tri * 1e3:.2f} ms, greedy step {t_imp * 1e3:.2f} ms")
    print(f"SciPy spsolve (QuantEcon's evaluation) per step: {t_qe_step * 1e3:.1f} ms; "
          f"x {steps} steps = {steps * t_qe_step * 1e3:.0f} ms")
    budget = steps * t_qe_step / 10
    print(f"10x QuantEcon leaves ~{budget * 1e3:.0f} ms for the whole run: "
          f"{(budget - t_setup) / steps * 1e3:.2f} ms per step after the one-off analysis "
          f"(greedy step and solves alone: {(t_tri + t_imp) * 1e3:.2f} ms)")

    # ---- 2. other direct solvers on the same matrices
    k = steps // 2
    M, b = mats[k], rhs[k]
    try:
        from cvxopt import matrix, spmatrix, umfpack
        C = M.tocoo()
        Mc = spmatrix(C.data.tolist(), C.row.tolist(), C.col.tolist(), size=M.shape)
        ts = _median_time(lambda: umfpack.symbolic(Mc), args.repeats)
        Fs = umfpack.symbolic(Mc)
        tn = _median_time(lambda: umfpack.numeric(Mc, Fs), args.repeats)
        Fn = umfpack.numeric(Mc, Fs)
        tsv = _median_time(lambda: umfpack.solve(Mc, Fn, matrix(b)), args.repeats)
        print(f"UMFPACK (cvxopt): symbolic {ts * 1e3:.2f} ms, numeric {tn * 1e3:.2f} ms, "
              f"solve {tsv * 1e3:.2f} ms")
    except ImportError:
        print("UMFPACK: cvxopt not installed (pip install cvxopt)")
    try:
        import pypardiso
        solver = pypardiso.PyPardisoSolver()
        Mr = M.tocsr()
        t = _median_time(lambda: solver.solve(Mr, b), args.repeats)
        print(f"MKL PARDISO (pypardiso): analysis + factorisation + solve {t * 1e3:.2f} ms")
    except ImportError:
        print("PARDISO: pypardiso not installed (pip install pypardiso)")

    # ---- 3. partial refactorisation: rows whose factors change after a policy change
    parent = np.full(S, -1, dtype=np.int64)     # etree: parent(k) = first entry of U's row k
    has = lu.Up[1:] > lu.Up[:-1]
    parent[has] = lu.Ui[lu.Up[:-1][has]]
    shares = []
    for j in range(1, steps):
        mark = np.zeros(S, dtype=bool)
        for i in lu.pinv[np.flatnonzero(pis[j] != pis[j - 1])]:
            while i != -1 and not mark[i]:
                mark[i] = True
                i = parent[i]
        shares.append(row_flops[mark].sum() / flops)
    changed = [int((pis[j] != pis[j - 1]).sum()) for j in range(1, steps)]
    print("partial refactorisation, states changed per step:", changed)
    print("  share of the LU's flops in the etree ancestors of those states:",
          " ".join(f"{s:.2f}" for s in shares), f"(whole run {np.mean(shares):.2f})")

    # ---- 4. iterative evaluation: GMRES from the previous values
    def ilu(drop_tol, fill):
        def make(j):
            f = spla.spilu(mats[j].tocsc(), drop_tol=drop_tol, fill_factor=fill,
                           permc_spec="NATURAL", diag_pivot_thresh=0.0)
            return f.solve, f.L.nnz + f.U.nnz
        return make

    def previous_lu(j):
        f = spla.splu(mats[max(j - 1, 0)].tocsc(), permc_spec="MMD_AT_PLUS_A",
                      diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        return f.solve, f.L.nnz + f.U.nnz

    precs = {"none": lambda j: (None, 0), "ILU(0)": ilu(0.0, 1),
             "ILUT drop 1e-2": ilu(1e-2, 20), "ILUT drop 1e-4": ilu(1e-4, 20),
             "exact LU of the previous policy": previous_lu}
    level = max(_backward_error(M, b, V) for M, b, V in zip(mats[::4], rhs[::4], Vs[::4]))
    print(f"GMRES (no restart, at most 200 iterations) from the previous step's values, until "
          f"the backward error is <= {level / U_ROUND:.1f} u (the direct solve's worst here):")
    for name, make in precs.items():
        its, setup, nnz = [], [], []
        for j in range(steps):
            t0 = time.perf_counter()
            apply_prec, fill = make(j)
            setup.append(time.perf_counter() - t0)
            nnz.append(fill)
            x0 = Vs[j - 1] if j else np.zeros(S)
            its.append(_gmres_iterations(mats[j], rhs[j], x0, apply_prec, level))
        print(f"  {name:32s} iterations per step (-200: not reached): {its}; "
              f"set-up median {statistics.median(setup) * 1e3:.1f} ms, "
              f"nnz(L+U) median {int(statistics.median(nnz))}")


if __name__ == "__main__":
    main()
