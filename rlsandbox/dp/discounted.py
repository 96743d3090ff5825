"""Exact solvers for discounted tabular MDPs, with certified results.

Bellman operators [puterman2005, §6.2]:

    (T V)(s)    = max_a  R[s, a] + gamma * sum_s' P[s, a, s'] V[s']
    (T^pi V)(s) = sum_a pi[s, a] (R[s, a] + gamma * sum_s' P[s, a, s'] V[s'])

Solvers: value iteration (stops when ||V_k - V_{k-1}||_inf < eps (1 - gamma) / (2 gamma), then
||V_k - V*|| < eps/2 and the greedy policy is eps-optimal [puterman2005, Thm 6.3.1]); Howard
policy iteration with exact evaluation by LU (sparse LU for CSR models) [puterman2005, §6.4];
modified policy iteration with m partial-evaluation sweeps [puterman2005, §6.5]; the primal LP
min rho^T V s.t. V >= R[:, a] + gamma P[:, a] V for all a, solved by HiGHS [puterman2005, §6.9].

Certificates. Every :class:`Solution` carries

* ``error_bound``: an a-posteriori bound on ||V - V*||_inf. For VI it is
  gamma/(1-gamma) ||V_k - V_{k-1}||; for PI, MPI and LP it is ||T V - V||_inf / (1 - gamma)
  [puterman2005, Prop 6.6.1 / §6.6.1]. A floating-point allowance
  ``2 S eps_mach (max|R| + max|V|) / (1 - gamma)`` is added: the residual itself is computed
  in float64 with sums over S terms.
* ``optimal_actions[s, a]``: True unless action a is *provably* suboptimal at s. With
  e = error_bound, Q = R + gamma P V is within gamma e of Q*, so a with
  Q[s, a] < max_b Q[s, b] - 2 gamma e - TIE_RTOL (1 + max|Q|) cannot be optimal. The mask
  therefore contains every optimal action; ties and near-ties within that tolerance are all
  kept (never broken silently). ``policy`` picks the lowest-index action of the mask's argmax
  of Q (the greedy rule of the kernels).

Performance (same results). VI runs its whole loop in one compiled kernel, on dense models
with action elimination (actions provably below the best are not recomputed; the iterates
are bitwise those of full sweeps); sweeps and Q split states over threads once a sweep has
``PARALLEL_WORK``
multiply-adds, with bitwise thread-count-independent results (see
:mod:`rlsandbox.kernels.bellman`). Dense evaluation of a deterministic policy writes
``I - gamma P_pi`` once, in LAPACK's (Fortran) order, from the rows ``P[s, pi[s], :]`` and calls
getrf/getrs in place. Sparse PI analyses the pattern once per call (ordering and fill) and
refactorises numerically per policy (:class:`_StaticLU`); its values agree with SuperLU's to
LU round-off, not bitwise.

References for the sparse LU: [higham2002] N. J. Higham, Accuracy and Stability of Numerical
Algorithms, 2nd ed., SIAM 2002 (Thm 9.9: no pivoting needed for diagonally dominant
matrices); [davis2006] T. A. Davis, Direct Methods for Sparse Linear Systems, SIAM 2006
(§4.1 elimination tree, §4.2 row subtrees); [liu1985] J. W. H. Liu, Modification of the
minimum-degree algorithm by multiple elimination, ACM TOMS 11(2), 1985.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.linalg.lapack import dgetrf, dgetrs

from rlsandbox._validate import ROW_SUM_ATOL, as_stochastic, check_choice, check_float_array, \
    check_in_range, check_int, readonly
from rlsandbox.kernels.bellman import (
    _bellman_max_csr, _bellman_max_csr_par, _bellman_max_dense, _bellman_max_dense_par,
    _eval_matrix_dense, _lu_numeric, _lu_solve_perm, _q_csr, _q_csr_par,
    _q_dense, _q_dense_par, _symbolic_lu, _value_iteration_csr, _value_iteration_csr_par,
    _vi_dense_ae, _vi_dense_ae_par,
)
from rlsandbox.mdp import TabularMDP

__all__ = ["Solution", "value_iteration", "policy_iteration", "modified_policy_iteration",
           "linear_programming", "evaluate_discounted", "q_values", "advantages",
           "bellman_optimality", "bellman_evaluation", "TIE_RTOL"]

#: Relative tolerance for treating two action values as tied (see module docstring).
TIE_RTOL = 1e-9
_EPS = np.finfo(np.float64).eps

#: Work per Bellman sweep (S*A*S multiply-adds for a dense model, 3 nnz(P) for CSR, whose
#: stored entries each cost an index load and a gather as well) from which the kernels split
#: states over threads: about 2e-3 s of serial work. A parallel region costs microseconds on
#: idle cores, but when another process runs on one of them the region waits for a scheduler
#: time slice (measured ~1e-2 s here), so short sweeps stay serial. Results are bitwise the
#: same either way (each state is computed by one thread, in the reference order).
#: ``NUMBA_NUM_THREADS=1`` turns the parallel kernels off altogether.
PARALLEL_WORK = 1 << 22


def _parallel(mdp: TabularMDP) -> bool:
    work = 3 * mdp.P.nnz if mdp.is_sparse else mdp.S * mdp.A * mdp.S
    return work >= PARALLEL_WORK and numba.get_num_threads() > 1


@dataclass(frozen=True, slots=True, eq=False)
class Solution:
    """A certified solution of a discounted MDP.

    Attributes
    ----------
    V : (S,) value estimate; ||V - V*||_inf <= error_bound.
    Q : (S, A) action values R + gamma P V of the returned V.
    policy : (S,) int64 greedy policy w.r.t. V (lowest-index maximiser of Q).
    optimal_actions : (S, A) bool; contains every optimal action (see module docstring).
    iterations : outer iterations used (sweeps for VI, improvements for PI/MPI, 1 for LP).
    converged : False if the iteration budget ran out (a result, not an exception).
    error_bound : a-posteriori bound on ||V - V*||_inf.
    residual : ||T V - V||_inf of the returned V.
    method : "vi", "pi", "mpi" or "lp".
    """

    V: np.ndarray
    Q: np.ndarray
    policy: np.ndarray
    optimal_actions: np.ndarray
    iterations: int
    converged: bool
    error_bound: float
    residual: float
    method: str

    def __repr__(self) -> str:
        return (f"Solution(method={self.method!r}, S={self.V.shape[0]}, iterations={self.iterations}, "
                f"converged={self.converged}, error_bound={self.error_bound:.3g})")


# ------------------------------------------------------------------ operators
def _backup(mdp: TabularMDP, V: np.ndarray, *, parallel: bool | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    out_V = np.empty(mdp.S)
    out_pi = np.empty(mdp.S, dtype=np.int64)
    par = _parallel(mdp) if parallel is None else parallel
    if mdp.is_sparse:
        P = mdp.P
        fn = _bellman_max_csr_par if par else _bellman_max_csr
        fn(P.data, P.indices, P.indptr, mdp.R, V, mdp.gamma, out_V, out_pi)
    else:
        fn = _bellman_max_dense_par if par else _bellman_max_dense
        fn(mdp.P, mdp.R, V, mdp.gamma, out_V, out_pi)
    return out_V, out_pi


def _q(mdp: TabularMDP, V: np.ndarray, gamma: float | None = None, *,
       parallel: bool | None = None, R: np.ndarray | None = None) -> np.ndarray:
    """Q = R + gamma P V (S, A); ``gamma`` and ``R`` default to the model's."""
    g = mdp.gamma if gamma is None else gamma
    R = mdp.R if R is None else R
    out = np.empty((mdp.S, mdp.A))
    par = _parallel(mdp) if parallel is None else parallel
    if mdp.is_sparse:
        P = mdp.P
        (_q_csr_par if par else _q_csr)(P.data, P.indices, P.indptr, R, V, g, out)
    else:
        (_q_dense_par if par else _q_dense)(mdp.P, R, V, g, out)
    return out


def _check_V(mdp: TabularMDP, V: Any, name: str = "V", *, copy: bool = True) -> np.ndarray:
    """V as a C-contiguous float64 (S,) array; ``copy=False`` for read-only use by a kernel."""
    return check_float_array(name, V, shape=(mdp.S,), copy=copy)


def q_values(mdp: TabularMDP, V: Any) -> np.ndarray:
    """Action values ``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V[s']``, shape (S, A).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> rls.q_values(mdp, np.zeros(mdp.S)).shape
    (6, 2)
    """
    return readonly(_q(mdp, _check_V(mdp, V, copy=False)))


def bellman_optimality(mdp: TabularMDP, V: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(T V, greedy)``: the optimality backup (S,) and its lowest-index greedy policy (S,).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> TV, greedy = rls.bellman_optimality(rls.mdps.riverswim(), np.zeros(6))
    >>> greedy.dtype
    dtype('int64')
    """
    TV, pi = _backup(mdp, _check_V(mdp, V, copy=False))
    return readonly(TV), readonly(pi)


def bellman_evaluation(mdp: TabularMDP, pi: Any, V: Any) -> np.ndarray:
    """``T^pi V`` (S,) for a stochastic ``(S, A)`` or deterministic ``(S,)`` policy.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> V = rls.evaluate(mdp, np.ones(mdp.S, dtype=int))
    >>> bool(np.allclose(rls.bellman_evaluation(mdp, np.ones(mdp.S, dtype=int), V), V))
    True
    """
    pi = mdp.policy(pi)
    Q = _q(mdp, _check_V(mdp, V, copy=False))
    return readonly(np.einsum("sa,sa->s", as_stochastic(pi, mdp.A), Q))


# ----------------------------------------------------------------- evaluation
def _proper_mask(P_pi: np.ndarray | sp.csr_array, terminal: np.ndarray) -> np.ndarray:
    """States from which the terminal set is reached with positive probability under P_pi."""
    G = sp.csr_array(P_pi) if not sp.issparse(P_pi) else P_pi
    Gt = (G.T > 0).astype(np.int8).tocsr()      # edge s' -> s for P_pi[s, s'] > 0
    reach = terminal.copy()
    frontier = np.flatnonzero(reach)
    while frontier.size:
        nxt = np.unique(Gt[frontier].indices)
        nxt = nxt[~reach[nxt]]
        reach[nxt] = True
        frontier = nxt
    return reach


def _evaluate_dense_deterministic(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """``V^pi`` for a dense model, deterministic pi (S,) and gamma < 1, by LAPACK getrf/getrs.

    Bitwise the result of ``scipy.linalg.solve(eye(S) - gamma P_pi, R_pi)`` (which runs the
    same getrf/getrs on a Fortran-ordered copy), without reading all of P (only the rows
    P[s, pi[s], :]) and without the temporaries: the matrix is written once, in Fortran order,
    and factorised in place.
    """
    S = mdp.S
    Mt = np.empty((S, S))
    r = np.empty(S)
    _eval_matrix_dense(mdp.P, mdp.R, pi, mdp.gamma, Mt, r)
    lu, piv, info = dgetrf(Mt.T, overwrite_a=True)
    if info == 0:
        V, info = dgetrs(lu, piv, r, overwrite_b=True)
    if info != 0:     # not reached for gamma < 1: I - gamma P_pi is strictly diagonally dominant
        raise np.linalg.LinAlgError(f"LAPACK getrf/getrs failed (info {info}) on I - gamma P_pi")
    return V


def evaluate_discounted(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    """Exact ``V^pi = (I - gamma P_pi)^{-1} R_pi`` for a validated policy (LU / sparse LU).

    For ``gamma == 1`` the model must have terminal states and pi must be proper (reach them
    with probability 1 from every state); V is 0 on terminal states.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> pi = mdp.policy(np.zeros(mdp.S, dtype=int))      # always "left"
    >>> V = evaluate_discounted(mdp, pi)
    >>> round(float(V[0]), 6)                           # 0.005 / (1 - 0.95) at the left bank
    0.1
    """
    S = mdp.S
    if mdp.gamma < 1.0 and not mdp.is_sparse and pi.ndim == 1:
        return _evaluate_dense_deterministic(mdp, pi)
    P_pi, R_pi = mdp.P_pi(pi), mdp.R_pi(pi)
    if mdp.gamma < 1.0:
        if sp.issparse(P_pi):
            M = (sp.identity(S, format="csc") - mdp.gamma * P_pi.tocsc())
            return spla.splu(M).solve(R_pi)
        return scipy.linalg.solve(np.eye(S) - mdp.gamma * P_pi, R_pi, check_finite=False)
    if not mdp.terminal.any():
        raise ValueError("gamma == 1 and the model has no terminal states, so V^pi is not "
                         "defined. Pass terminal=... for an episodic task, use gamma < 1, or "
                         "use rlsandbox.solve_average / rlsandbox.dp.policy_gain for average reward")
    reach = _proper_mask(P_pi, mdp.terminal)
    if not reach.all():
        s = int(np.flatnonzero(~reach)[0])
        raise ValueError(f"policy is improper: from state {s} no terminal state is ever reached "
                         f"({int((~reach).sum())} such states), so its gamma == 1 value is "
                         f"undefined. Use a proper policy, or gamma < 1")
    live = ~mdp.terminal
    V = np.zeros(S)
    if sp.issparse(P_pi):
        sub = P_pi.tocsr()[live][:, live].tocsc()
        V[live] = spla.splu(sp.identity(int(live.sum()), format="csc") - sub).solve(R_pi[live])
    else:
        sub = P_pi[np.ix_(live, live)]
        V[live] = scipy.linalg.solve(np.eye(int(live.sum())) - sub, R_pi[live], check_finite=False)
    return V


def advantages(mdp: TabularMDP, pi: Any) -> np.ndarray:
    """Advantage ``A^pi[s, a] = Q^pi[s, a] - V^pi[s]`` (S, A) of a policy, exactly.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> adv = rls.advantages(mdp, rls.solve(mdp).policy)
    >>> bool(adv.max() <= 1e-9)                         # no action beats an optimal policy
    True
    """
    pi = mdp.policy(pi)
    V = evaluate_discounted(mdp, pi)
    return readonly(_q(mdp, V) - V[:, None])


# ----------------------------------------------------------------- certificates
def _certify(mdp: TabularMDP, V: np.ndarray, *, method: str, iterations: int, converged: bool,
             bound: float | None = None) -> Solution:
    g = mdp.gamma
    Q = _q(mdp, V)
    TV = Q.max(axis=1)
    residual = float(np.max(np.abs(TV - V)))
    fp = 2.0 * mdp.S * _EPS * (float(np.abs(mdp.R).max()) + float(np.abs(V).max())) / (1.0 - g)
    res_bound = residual / (1.0 - g)
    e = (res_bound if bound is None else min(bound, res_bound)) + fp
    qmax = Q.max(axis=1, keepdims=True)
    tie = 2.0 * g * e + TIE_RTOL * (1.0 + float(np.abs(Q).max()))
    opt = Q >= qmax - tie
    policy = np.argmax(Q, axis=1).astype(np.int64)
    return Solution(readonly(V), readonly(Q), readonly(policy), readonly(opt), int(iterations),
                    bool(converged), float(e), residual, method)


def _require_discount(mdp: TabularMDP, what: str) -> None:
    if not mdp.gamma < 1.0:
        raise ValueError(f"mdp.gamma == {mdp.gamma}, must be in [0, 1) for {what}. For average "
                         f"reward use rlsandbox.solve_average; for an episodic task evaluate a "
                         f"proper policy with rlsandbox.evaluate")


def value_iteration(mdp: TabularMDP, *, eps: float = 1e-8, max_iter: int = 1_000_000,
                    V0: Any = None) -> Solution:
    """Value iteration with Puterman's stopping rule [puterman2005, Thm 6.3.1].

    Iterates ``V_k = T V_{k-1}`` from ``V0`` (zeros) until
    ``||V_k - V_{k-1}||_inf < eps (1 - gamma) / (2 gamma)``; then ``||V_k - V*|| < eps/2`` and the
    greedy policy of V_k is eps-optimal. Returns ``V = V_k`` with
    ``error_bound = gamma/(1-gamma) ||V_k - V_{k-1}||`` (plus a float64 allowance).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> sol = rls.dp.value_iteration(rls.mdps.riverswim(), eps=1e-6)
    >>> sol.converged and sol.error_bound < 5e-7
    True
    """
    _require_discount(mdp, "value iteration")
    eps = check_in_range("eps", eps, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    g = mdp.gamma
    tol = eps * (1.0 - g) / (2.0 * g) if g > 0 else np.inf
    V = np.zeros(mdp.S) if V0 is None else _check_V(mdp, V0, "V0")   # a fresh, writable array
    pi = np.empty(mdp.S, dtype=np.int64)
    # the whole loop runs in one kernel: sweep V_k = T V_{k-1}, d_k = ||V_k - V_{k-1}||_inf,
    # stop when d_k < tol; it = -max_iter if the budget ran out
    par = _parallel(mdp)
    if mdp.is_sparse:
        P = mdp.P
        fn = _value_iteration_csr_par if par else _value_iteration_csr
        it, diff = fn(P.data, P.indices, P.indptr, mdp.R, g, tol, max_iter, V, pi)
    else:   # action elimination: the same iterates, reading only the rows it must
        fn = _vi_dense_ae_par if par else _vi_dense_ae
        it, diff, _ = fn(mdp.P, mdp.R, g, tol, max_iter, ROW_SUM_ATOL, V, pi)
    return _certify(mdp, V, method="vi", iterations=abs(it), converged=diff < tol,
                    bound=g / (1.0 - g) * diff)


def _union_pattern(mdp: TabularMDP) -> sp.csr_array:
    """(S, S) CSR of ones on the pattern of G + G^T + I, G the union of all actions' kernels
    of a CSR model: the structure of every ``I - gamma P_pi`` and of its transpose."""
    S, A, P = mdp.S, mdp.A, mdp.P
    state = np.repeat(np.arange(S * A), np.diff(P.indptr)) // A
    G = sp.csr_array((np.ones(P.nnz), (state, P.indices)), shape=(S, S))
    G = (G + G.T + sp.identity(S, format="csr")).tocsr()
    G.data[:] = 1.0
    return G


class _StaticLU:
    """Exact evaluation ``(I - gamma P_pi)^{-1} R_pi`` of many policies of one sparse model.

    Whatever pi is, the pattern of ``I - gamma P_pi`` lies in the union G of all actions'
    patterns (plus the diagonal). So a symmetric fill-reducing permutation of G (SuperLU's
    multiple minimum degree on G + G^T [liu1985]) and the fill pattern of its LU factors
    (:func:`~rlsandbox.kernels.bellman._symbolic_lu`) are computed once; each policy then
    costs one numeric factorisation on that pattern and two triangular solves. No pivoting
    is needed: for gamma < 1 the matrix is strictly diagonally dominant by rows, so LU without
    pivoting exists and is backward stable with growth factor <= 2 [higham2002, Thm 9.9]; a
    symmetric permutation keeps that property.
    """

    def __init__(self, mdp: TabularMDP) -> None:
        S = mdp.S
        G = _union_pattern(mdp)
        # SuperLU returns the ordering it used: factorise a strictly diagonally dominant matrix
        # with G's pattern (the values do not influence a minimum-degree ordering). Its
        # incomplete LU with every off-diagonal entry dropped orders the same way and skips
        # the numeric work (25 -> 9.5 ms on the bench's 100 x 100 grid, same permutation);
        # any symmetric permutation is valid here, the ordering only decides the fill
        d = float(np.diff(G.indptr).max())
        order = spla.spilu((sp.identity(S, format="csc") * (d + 1.0) - G).tocsc(),
                           drop_tol=1e300, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                           options={"SymmetricMode": True})
        self.perm = np.argsort(order.perm_c).astype(np.int64)   # new index -> state
        self.pinv = np.empty(S, dtype=np.int64)
        self.pinv[self.perm] = np.arange(S)
        Gp = G[self.perm][:, self.perm].tocsr()
        Gp.sort_indices()
        self.Lp, self.Li, self.Up, self.Ui = _symbolic_lu(Gp.indptr.astype(np.int64),
                                                          Gp.indices.astype(np.int64))
        self.Lx = np.empty(self.Li.shape[0])
        self.Ux = np.empty(self.Ui.shape[0])
        self.Ud = np.empty(S)
        self.w = np.zeros(S)
        self.mdp = mdp

    def solve(self, pi: np.ndarray) -> np.ndarray:
        """``V^pi`` (S,) for a deterministic policy pi (S,) int64."""
        mdp = self.mdp
        P = mdp.P
        _lu_numeric(P.data, P.indices, P.indptr, mdp.A, pi, mdp.gamma, self.perm, self.pinv,
                    self.Lp, self.Li, self.Up, self.Ui, self.Lx, self.Ux, self.Ud, self.w)
        V = np.empty(mdp.S)
        _lu_solve_perm(mdp.R, pi, self.perm, self.Lp, self.Li, self.Lx, self.Up, self.Ui,
                       self.Ux, self.Ud, V)
        return V


def _improve(Q: np.ndarray, pi: np.ndarray) -> np.ndarray:
    """Howard improvement that keeps the current action unless another beats it by more
    than TIE_RTOL (1 + max|Q|): PI then stops on ties instead of cycling between them."""
    best = np.argmax(Q, axis=1)
    cur = Q[np.arange(Q.shape[0]), pi]
    thresh = TIE_RTOL * (1.0 + float(np.abs(Q).max()))
    switch = Q[np.arange(Q.shape[0]), best] > cur + thresh
    return np.where(switch, best, pi).astype(np.int64)


def policy_iteration(mdp: TabularMDP, *, max_iter: int = 10_000, pi0: Any = None) -> Solution:
    """Howard policy iteration with exact evaluation [puterman2005, §6.4].

    Evaluation solves ``(I - gamma P_pi) V = R_pi`` by LU (dense: LAPACK with partial
    pivoting; CSR: an LU without pivoting on a fill pattern analysed once per call, see
    :class:`_StaticLU`); the improvement is greedy with the tie rule of :func:`_improve`.
    Terminates in finitely many steps (at most ``A**S`` improvements; the strongly polynomial
    bound ``O(S A / (1-gamma) log(1/(1-gamma)))`` is [scherrer2016]).

    Parameters
    ----------
    mdp : TabularMDP with gamma < 1.
    max_iter : budget of evaluations.
    pi0 : initial deterministic policy (S,); default: the greedy policy w.r.t.
        ``V0(s) = max_a R[s, a]`` (lowest action index on ties), the default start of
        QuantEcon's ``DiscreteDP`` [quantecon2024] and of :func:`rlsandbox.solve_batch`.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> rls.dp.policy_iteration(rls.mdps.riverswim()).policy.tolist()
    [1, 1, 1, 1, 1, 1]
    """
    _require_discount(mdp, "policy iteration")
    max_iter = check_int("max_iter", max_iter, low=1)
    if pi0 is None:     # greedy w.r.t. V0(s) = max_a R[s, a]; argmax takes the lowest index
        pi = np.argmax(_q(mdp, mdp.R.max(axis=1), parallel=False), axis=1).astype(np.int64)
    else:
        pi = np.array(mdp.policy(pi0, "pi0"))
    if pi.ndim != 1:
        raise ValueError("pi0 must be a deterministic policy (S,) of integer actions")
    # sparse models: I - gamma P_pi is factorised on a pattern analysed once (see _StaticLU)
    evaluate = _StaticLU(mdp).solve if mdp.is_sparse else \
        (lambda pi: _evaluate_dense_deterministic(mdp, pi))
    converged, k = False, 0
    for k in range(1, max_iter + 1):
        V = evaluate(pi)
        # serial Q: a parallel region here would leave Numba's OpenMP threads spinning while
        # the LU of the next evaluation (LAPACK's threads, or the serial sparse LU) runs
        new = _improve(_q(mdp, V, parallel=False), pi)
        if np.array_equal(new, pi):
            converged = True
            break
        pi = new
    return _certify(mdp, V, method="pi", iterations=k, converged=converged)


def modified_policy_iteration(mdp: TabularMDP, *, m: int = 20, eps: float = 1e-8,
                              max_iter: int = 100_000, V0: Any = None) -> Solution:
    """Modified policy iteration [puterman2005, §6.5]: greedy step, then ``m`` sweeps of T^pi.

    Stops with Puterman's VI rule on the greedy backup, ``||T V - V|| < eps (1-gamma)/(2 gamma)``.
    Starting from ``V0 = min R / (1 - gamma)`` (a lower bound, so the iterates increase
    monotonically to V* [puterman2005, Thm 6.5.5]) unless ``V0`` is given.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> sol = rls.dp.modified_policy_iteration(mdp, m=10, eps=1e-8)
    >>> bool(abs(sol.V - rls.solve(mdp).V).max() <= sol.error_bound + 1e-12)
    True
    """
    _require_discount(mdp, "modified policy iteration")
    m = check_int("m", m, low=0)
    eps = check_in_range("eps", eps, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    g = mdp.gamma
    tol = eps * (1.0 - g) / (2.0 * g) if g > 0 else np.inf
    V = np.full(mdp.S, float(mdp.R.min()) / (1.0 - g)) if V0 is None else _check_V(mdp, V0, "V0")
    converged, k = False, 0
    for k in range(1, max_iter + 1):
        TV, pi = _backup(mdp, V, parallel=False)   # serial: BLAS matvecs follow (see PI)
        if float(np.max(np.abs(TV - V))) < tol:
            converged = True
            V = TV
            break
        if mdp.is_sparse:
            P_pi, R_pi = mdp.P_pi(pi), mdp.R_pi(pi)
        else:   # the rows P[s, pi[s], :]: bitwise what mdp.P_pi's one-hot einsum returns
            P_pi, R_pi = mdp.P[np.arange(mdp.S), pi], mdp.R[np.arange(mdp.S), pi]
        V = TV
        for _ in range(m):
            V = R_pi + g * (P_pi @ V)
    return _certify(mdp, V, method="mpi", iterations=k, converged=converged)


def linear_programming(mdp: TabularMDP) -> Solution:
    """The primal LP of [puterman2005, §6.9.1], solved by scipy's HiGHS.

        minimise   sum_s w[s] V[s]
        subject to V[s] >= R[s, a] + gamma sum_s' P[s, a, s'] V[s']   for all (s, a)

    with positive weights w (uniform; any positive weights give V*). The certificate comes from
    the Bellman residual of the returned V, not from the LP's own tolerance.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> sol = rls.dp.linear_programming(rls.mdps.riverswim())
    >>> sol.policy.tolist(), sol.converged
    ([1, 1, 1, 1, 1, 1], True)
    """
    _require_discount(mdp, "the linear program")
    import scipy.optimize        # here, not at module level: it adds ~0.1 s to `import rlsandbox`
    S, A, g = mdp.S, mdp.A, mdp.gamma
    Pcsr = mdp.csr_P()
    E = sp.csr_array((np.ones(S * A), np.repeat(np.arange(S), A), np.arange(S * A + 1)),
                     shape=(S * A, S))
    A_ub = (g * Pcsr - E).tocsr()
    b_ub = -mdp.R.reshape(S * A)
    res = scipy.optimize.linprog(np.full(S, 1.0 / S), A_ub=A_ub, b_ub=b_ub,
                                 bounds=[(None, None)] * S, method="highs")
    if res.status != 0:
        return _certify(mdp, np.zeros(S), method="lp", iterations=1, converged=False)
    return _certify(mdp, np.asarray(res.x, dtype=np.float64), method="lp", iterations=1,
                    converged=True)


SOLVERS = {"vi": value_iteration, "pi": policy_iteration, "mpi": modified_policy_iteration,
           "lp": linear_programming}


def solve_discounted(mdp: TabularMDP, method: str = "pi", **options: Any) -> Solution:
    """Dispatch to one of :data:`SOLVERS` by name.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> solve_discounted(rls.mdps.riverswim(), "vi", eps=1e-6).method
    'vi'
    """
    check_choice("method", method, tuple(SOLVERS))
    return SOLVERS[method](mdp, **options)
