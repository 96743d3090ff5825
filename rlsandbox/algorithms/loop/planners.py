"""LOOP's optimistic planning step, made exact on tiny instances [card §3.9; S].

Every planner returns the hypothesis ``f^k = argmax {J_f : f in H, Exc(f) <= beta}`` (card
§3.1) for one incarnation of the hypothesis class, plus a :class:`PlanInfo` recording how the
answer was obtained.

(a) **Value-based, tabular** (:func:`plan_value_tabular`) [card §3.9 (a); S, exact]. The class
    is ``H = {(Q, J): -1 <= Q <= B + 1, 0 <= J <= 1, 0 <= V_f <= B}`` with ``V_f = max_a Q``,
    and ``G`` = all tabular functions. The excess loss is
    ``sum_{s,a} N (Q + J - rhat - phat V_f)^2``
    (:func:`~rlsandbox.algorithms.loop.hypotheses.tabular_excess`).
    Planning is non-convex only through ``V_f = max_a Q``; for each greedy policy
    ``pi in A^S`` the constraints ``Q(s, pi(s)) >= Q(s, a)`` and ``V(s) = Q(s, pi(s))`` make it
    a second-order cone program (maximise J under one convex quadratic constraint and linear
    ones). The best of the ``A^S`` SOCPs is the exact optimum.
(b) **Value-based, linear AMDP** (:func:`plan_value_linear`) [card §3.9 (b); S, exact]. The
    class is ``Q_w = phi w`` on a finite state space, same range constraints, ``G`` the same
    linear class. With ``Lambda = lam I + sum_i phi_i phi_i^T`` and, for the enumerated greedy
    ``pi``, ``b(w, J) = sum_i phi_i (r_i - J + V(s_{i+1}))`` (affine in ``(w, J)``), the excess
    loss is ``(w - w_hat)^T Lambda (w - w_hat)`` with ``w_hat = Lambda^+ b`` (``lam = 0`` is
    allowed: ``Lambda^+`` is the pseudo-inverse and ``b`` lies in the range of ``Lambda``). With
    one-hot features and ``lam = 0`` it is planner (a) (claim C6 (i)).
(d-i) **Model-based, finite class** (:func:`plan_finite`) [card §3.9 (d)(i); S, exact]: the
    class is an explicit list of models with precomputed ``(J_f, V_f, pi_f)``
    (:class:`FiniteClass`); planning is an argmax over the covered indices.

Ablations [card §4 C1 control; S]: :func:`plan_certainty_equivalent` (no optimism: the
optimal policy of the empirical model, unvisited pairs replaced by a zero-reward self-loop)
and least-squares selection for the finite class (``optimistic=False`` in :func:`plan_finite`).

Complexity guard [card §3.9]: the enumeration planners refuse ``A^S > 4096``
(:data:`MAX_GREEDY_POLICIES`) with a ``ValueError`` naming the alternatives.

Solver. CLARABEL, called directly in its standard conic form (default) or through cvxpy with
one compiled (DPP) problem per run whose parameters are re-bound for every greedy policy
(``ValuePlanner(backend="cvxpy")``; the tests check the two agree). Statuses ``optimal``
and ``optimal_inaccurate`` (CLARABEL's Solved / AlmostSolved) are accepted and counted;
``infeasible`` means that no hypothesis with that greedy policy is in the confidence set (a
legitimate answer); any other outcome is counted as a failure in :class:`PlanInfo` (never
silently dropped, card §6 pitfall 11). Among policies whose optimal ``J`` is within
:data:`PLAN_TIE_TOL` of the best, the first in lexicographic order of ``(pi(0), ..., pi(S-1))``
is returned. If every program is infeasible (possible only when ``beta`` is below the smallest
excess loss in ``H``), the planner returns a hypothesis of smallest excess loss instead and
sets ``PlanInfo.fallback``.

Deviations: the greedy policy of a returned hypothesis is the enumerated ``pi`` (a greedy
policy of ``Q`` up to solver tolerance), not a lowest-index tie-break of ``Q``; ``V`` is set to
``Q(s, pi(s))`` exactly. The ridge ``lam`` of (b) is a sandbox modification [S].
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import (check_choice, check_float_array, check_in_range, check_int,
                                 readonly)
from rlsandbox.algorithms.loop.hypotheses import Hypothesis, TabularStats
from rlsandbox.dp.average import solve_multichain
from rlsandbox.mdp import TabularMDP

__all__ = ["MAX_GREEDY_POLICIES", "PLAN_TIE_TOL", "PlanInfo", "ValuePlanner",
           "plan_value_tabular", "LinearStats", "plan_value_linear",
           "plan_certainty_equivalent", "FiniteClass", "plan_finite", "check_enumeration"]

#: Largest number of greedy policies A^S the enumeration planners accept (card §3.9).
MAX_GREEDY_POLICIES = 4096
#: Policies whose optimal J is within this of the best count as tied (SOCP accuracy ~1e-8).
PLAN_TIE_TOL = 1e-7
_ACCEPTED = ("optimal", "optimal_inaccurate")


def check_enumeration(S: int, A: int) -> int:
    """Number of greedy policies A^S, or ``ValueError`` above :data:`MAX_GREEDY_POLICIES`.

    Examples
    --------
    >>> check_enumeration(6, 2)
    64
    >>> check_enumeration(13, 2)
    Traceback (most recent call last):
    ...
    ValueError: exact LOOP planning enumerates A**S = 2**13 = 8192 greedy policies, more than MAX_GREEDY_POLICIES = 4096 (card §3.9 complexity guard); use the finite-class planner (loop_finite), UCRL2, or a smaller instance
    """
    n = A ** S
    if n > MAX_GREEDY_POLICIES:
        raise ValueError(f"exact LOOP planning enumerates A**S = {A}**{S} = {n} greedy policies, "
                         f"more than MAX_GREEDY_POLICIES = {MAX_GREEDY_POLICIES} (card §3.9 "
                         f"complexity guard); use the finite-class planner (loop_finite), UCRL2, "
                         f"or a smaller instance")
    return n


@dataclass(frozen=True, slots=True)
class PlanInfo:
    """How a plan was obtained.

    Attributes
    ----------
    programs : SOCPs solved (A^S for the enumeration planners, 0 otherwise).
    optimal, inaccurate, infeasible, failed : counts of solver outcomes.
    fallback : True if no hypothesis met the radius and one of least excess loss was returned.
    excess : excess loss Exc(f^k) of the returned hypothesis, recomputed from the data.
    """

    programs: int = 0
    optimal: int = 0
    inaccurate: int = 0
    infeasible: int = 0
    failed: int = 0
    fallback: bool = False
    excess: float = 0.0


class ValuePlanner:
    """The SOCP of planners (a) and (b), set up once and re-used across re-plans of one run.

    Variables ``w`` (p,), ``J``, ``V`` (S,); ``Q = F w`` with a constant ``F`` (SA, p)
    (identity for the tabular class, the feature matrix for the linear one). Data: the
    residual ``K w + kJ J + KV V - k0`` (m rows) whose squared norm is the excess loss, its
    radius ``sqrt(beta)``, and the selector ``Sel`` (S, SA) of the greedy policy:

        maximise J  s.t.  V = Sel F w,  V(s) >= (F w)(s, a),  -1 <= F w <= B + 1,
                          0 <= V <= B,  0 <= J <= 1,  ||K w + kJ J + KV V - k0||_2 <= sqrt(beta).

    Parameters
    ----------
    S, A : sizes; A^S is checked against :data:`MAX_GREEDY_POLICIES`.
    B : span bound (> 0).
    F : (S*A, p) feature matrix, or None for the tabular class (F = I).
    backend : {"clarabel", "cvxpy"}
        "clarabel" (default) writes the cone program in CLARABEL's standard form directly
        (about 5x less overhead per program); "cvxpy" states it through cvxpy with parameters
        (DPP, compiled once) and CLARABEL underneath. Both solve the same program; the tests
        check that they agree. The fallback (least excess loss) uses the same backend.
    """

    def __init__(self, S: int, A: int, B: float, F: np.ndarray | None = None, *,
                 backend: str = "clarabel") -> None:
        self.S, self.A = check_int("S", S, low=1), check_int("A", A, low=1)
        self.n_policies = check_enumeration(self.S, self.A)
        self.B = check_in_range("B", B, low=0.0, low_open=True)
        self.backend = check_choice("backend", backend, ("clarabel", "cvxpy"))
        SA = self.S * self.A
        self.F = None if F is None else check_float_array("F", F, ndim=2)
        if self.F is not None and self.F.shape[0] != SA:
            raise ValueError(f"F has shape {self.F.shape}; expected (S*A, p) = ({SA}, p)")
        self.p = SA if self.F is None else self.F.shape[1]
        self.m = self.p
        self._E = np.kron(np.eye(self.S), np.ones((self.A, 1)))      # (SA, S): row s*A+a -> s
        self._Fm = np.eye(SA) if self.F is None else self.F
        self._policies = [np.array(pi, dtype=np.int64)
                          for pi in itertools.product(range(self.A), repeat=self.S)]
        self._cvx = None
        self._base_rows = self._linear_rows()

    # ------------------------------------------------------------ CLARABEL standard form
    def _linear_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows (A_nn, b_nn) of the constraints b - A x >= 0 that do not depend on pi or data;
        x = (w, J, V)."""
        S, SA, p, F, E = self.S, self.S * self.A, self.p, self._Fm, self._E
        n = p + 1 + S
        blocks, rhs = [], []

        def row(w=None, J=None, V=None, k=1):
            M = np.zeros((k, n))
            if w is not None:
                M[:, :p] = w
            if J is not None:
                M[:, p] = J
            if V is not None:
                M[:, p + 1:] = V
            return M
        blocks.append(row(w=F, V=-E, k=SA)); rhs.append(np.zeros(SA))           # E V >= F w
        blocks.append(row(w=-F, k=SA)); rhs.append(np.ones(SA))                 # F w >= -1
        blocks.append(row(w=F, k=SA)); rhs.append(np.full(SA, self.B + 1.0))    # F w <= B + 1
        blocks.append(row(V=-np.eye(S), k=S)); rhs.append(np.zeros(S))          # V >= 0
        blocks.append(row(V=np.eye(S), k=S)); rhs.append(np.full(S, self.B))    # V <= B
        blocks.append(row(J=-1.0)); rhs.append(np.zeros(1))                     # J >= 0
        blocks.append(row(J=1.0)); rhs.append(np.ones(1))                       # J <= 1
        return np.vstack(blocks), np.concatenate(rhs)

    def _plan_clarabel(self, K, kJ, KV, k0, beta, fit=False):
        """One CLARABEL program per greedy policy: max J in the set or, with ``fit``, the least
        excess loss (an extra variable t >= ||residual||, minimised; x = (w, J, V, t))."""
        import clarabel
        import scipy.sparse as sps

        S, p = self.S, self.p
        n0 = p + 1 + S
        n = n0 + int(fit)
        A_nn, b_nn = self._base_rows
        if fit:
            A_nn = np.hstack([A_nn, np.zeros((A_nn.shape[0], 1))])
        soc = np.zeros((1 + self.m, n))
        soc[1:, :p], soc[1:, p], soc[1:, p + 1:n0] = -K, -kJ, -KV
        b_soc = np.concatenate([[0.0 if fit else np.sqrt(beta)], -k0])
        q = np.zeros(n)
        if fit:
            soc[0, n0] = -1.0                                # t - ||res|| in the cone
            q[n0] = 1.0                                      # minimise t
        else:
            q[p] = -1.0                                      # minimise -J
        P0 = sps.csc_matrix((n, n))
        settings = clarabel.DefaultSettings()
        settings.verbose = False
        cones = [clarabel.ZeroConeT(S), clarabel.NonnegativeConeT(A_nn.shape[0]),
                 clarabel.SecondOrderConeT(1 + self.m)]
        out = []
        for pi in self._policies:
            eq = np.zeros((S, n))                            # V - Sel F w = 0
            eq[:, :p] = -self._Fm[np.arange(S) * self.A + pi]
            eq[:, p + 1:n0] = np.eye(S)
            Amat = sps.csc_matrix(np.vstack([eq, A_nn, soc]))
            b = np.concatenate([np.zeros(S), b_nn, b_soc])
            sol = clarabel.DefaultSolver(P0, q, Amat, b, cones, settings).solve()
            status = str(sol.status)
            if status == "Solved":
                out.append(("optimal", pi, np.asarray(sol.x)))
            elif status == "AlmostSolved":
                out.append(("optimal_inaccurate", pi, np.asarray(sol.x)))
            elif status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
                out.append(("infeasible", pi, None))
            else:
                out.append(("failed", pi, None))
        return out

    # ------------------------------------------------------------ cvxpy statement
    def _build_cvxpy(self) -> None:
        import cvxpy as cp

        SA, m, p = self.S * self.A, self.m, self.p
        c = {"K": cp.Parameter((m, p)), "kJ": cp.Parameter(m), "KV": cp.Parameter((m, self.S)),
             "k0": cp.Parameter(m), "Sel": cp.Parameter((self.S, SA)),
             "sqrt_beta": cp.Parameter(nonneg=True), "w": cp.Variable(p), "J": cp.Variable(),
             "V": cp.Variable(self.S), "t": cp.Variable()}
        Qf = c["w"] if self.F is None else self.F @ c["w"]
        res = c["K"] @ c["w"] + c["kJ"] * c["J"] + c["KV"] @ c["V"] - c["k0"]
        base = [c["V"] == c["Sel"] @ Qf, self._E @ c["V"] >= Qf, Qf >= -1.0,
                Qf <= self.B + 1.0, c["V"] >= 0.0, c["V"] <= self.B, c["J"] >= 0.0,
                c["J"] <= 1.0]
        c["plan"] = cp.Problem(cp.Maximize(c["J"]), base + [cp.norm(res) <= c["sqrt_beta"]])
        c["fit"] = cp.Problem(cp.Minimize(c["t"]), base + [cp.norm(res) <= c["t"]])
        self._cvx = c

    def _selector(self, pi: np.ndarray) -> np.ndarray:
        M = np.zeros((self.S, self.S * self.A))
        M[np.arange(self.S), np.arange(self.S) * self.A + pi] = 1.0
        return M

    def _solve_cvxpy(self, prob: Any) -> str:
        import cvxpy as cp
        try:
            with warnings.catch_warnings():
                # cvxpy warns "Solution may be inaccurate" for status optimal_inaccurate; the
                # status is returned and counted in PlanInfo.inaccurate instead
                warnings.filterwarnings("ignore", message="Solution may be inaccurate",
                                        category=UserWarning)
                prob.solve(solver="CLARABEL")
        except cp.error.SolverError:
            return "solver_error"
        return str(prob.status)

    def _set_cvxpy(self, K, kJ, KV, k0, beta) -> dict:
        if self._cvx is None:
            self._build_cvxpy()
        c = self._cvx
        c["K"].value, c["kJ"].value, c["KV"].value, c["k0"].value = K, kJ, KV, k0
        c["sqrt_beta"].value = float(np.sqrt(beta))
        return c

    def _plan_cvxpy(self, K, kJ, KV, k0, beta):
        c = self._set_cvxpy(K, kJ, KV, k0, beta)
        out = []
        for pi in self._policies:
            c["Sel"].value = self._selector(pi)
            status = self._solve_cvxpy(c["plan"])
            if status in _ACCEPTED:
                x = np.concatenate([np.atleast_1d(c["w"].value), [c["J"].value],
                                    np.atleast_1d(c["V"].value)])
                out.append((status, pi, x))
            else:
                out.append(("infeasible" if status == "infeasible" else "failed", pi, None))
        return out

    def _fallback(self, K, kJ, KV, k0, beta):
        """Least excess loss over H (used when no hypothesis meets the radius)."""
        if self.backend == "clarabel":
            best_t, best = np.inf, None
            for status, pi, x in self._plan_clarabel(K, kJ, KV, k0, beta, fit=True):
                if x is not None and float(x[-1]) < best_t:
                    best_t, best = float(x[-1]), (pi, x[:-1])
            return best
        c = self._set_cvxpy(K, kJ, KV, k0, beta)
        best_t, best = np.inf, None
        for pi in self._policies:
            c["Sel"].value = self._selector(pi)
            status = self._solve_cvxpy(c["fit"])
            if status in _ACCEPTED and float(c["t"].value) < best_t:
                best_t = float(c["t"].value)
                best = (pi, np.concatenate([np.atleast_1d(c["w"].value), [c["J"].value],
                                            np.atleast_1d(c["V"].value)]))
        return best

    # ------------------------------------------------------------ the plan
    def plan(self, K: np.ndarray, kJ: np.ndarray, KV: np.ndarray, k0: np.ndarray,
             beta: float) -> tuple[Hypothesis, PlanInfo]:
        """max J over the confidence set given by the residual data; see the class docstring."""
        results = (self._plan_clarabel if self.backend == "clarabel" else self._plan_cvxpy)(
            K, kJ, KV, k0, beta)
        counts = {"optimal": 0, "optimal_inaccurate": 0, "infeasible": 0, "failed": 0}
        cands = []
        for status, pi, x in results:
            counts[status] += 1
            if x is not None:
                cands.append((float(x[self.p]), pi, x[:self.p]))
        fallback = not cands
        if fallback:
            best = self._fallback(K, kJ, KV, k0, beta)
            if best is None:
                raise RuntimeError(f"LOOP planning failed: every SOCP for the {self.n_policies} "
                                   f"greedy policies returned a solver failure "
                                   f"({counts['failed']} failures); the data may be degenerate")
            cands = [(float(best[1][self.p]), best[0], best[1][:self.p])]
        best_J = max(c[0] for c in cands)
        J, pi, w = next(c for c in cands if c[0] >= best_J - PLAN_TIE_TOL)
        Q = (w if self.F is None else self.F @ w).reshape(self.S, self.A)
        f = Hypothesis(Q, min(max(J, 0.0), 1.0), pi)     # J in [0, 1] (card §6 pitfall 11)
        res = K @ w + kJ * f.J + KV @ f.V - k0
        info = PlanInfo(programs=self.n_policies, optimal=counts["optimal"],
                        inaccurate=counts["optimal_inaccurate"], infeasible=counts["infeasible"],
                        failed=counts["failed"], fallback=fallback, excess=float(res @ res))
        return f, info


def tabular_residual(stats: TabularStats) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(K, kJ, KV, k0)`` with ``||K Q + kJ J + KV V - k0||^2 = Exc`` for tabular data.

    Row ``s*A + a`` is ``sqrt(N) (Q + J) - Nsas V / sqrt(N) - Rsum / sqrt(N)``, i.e.
    ``sqrt(N) (Q + J - rhat - phat V)``; rows of unvisited pairs are zero.
    """
    N = stats.N.reshape(-1)
    root = np.sqrt(N)
    inv = np.divide(1.0, root, out=np.zeros_like(root), where=root > 0)
    SA = N.size
    S = stats.Nsas.shape[-1]
    K = np.diag(root)
    KV = -stats.Nsas.reshape(SA, S) * inv[:, None]
    k0 = stats.Rsum.reshape(-1) * inv
    return K, root.copy(), KV, k0


def plan_value_tabular(stats: TabularStats, *, B: float, beta: float,
                       planner: ValuePlanner | None = None) -> tuple[Hypothesis, PlanInfo]:
    """Exact optimistic planning for value-based tabular LOOP [card §3.9 (a)].

    ``argmax {J : (Q, J) in H, sum N (Q + J - rhat - phat V)^2 <= beta}`` by enumerating the
    ``A^S`` greedy policies (one SOCP each); see the module docstring.

    Parameters
    ----------
    stats : TabularStats of the data so far
    B : span bound of the class (``0 <= V <= B``)
    beta : radius in raw squared-loss units
    planner : a :class:`ValuePlanner` to re-use (compiled once per run); built if None.

    Returns
    -------
    (Hypothesis, PlanInfo)

    Examples
    --------
    Without data every hypothesis is in the set: the optimistic gain is the largest allowed.

    >>> f, info = plan_value_tabular(TabularStats.empty(2, 2), B=1.0, beta=1.0)
    >>> round(f.J, 6), info.programs, info.failed
    (1.0, 4, 0)
    """
    if not isinstance(stats, TabularStats):
        raise TypeError(f"stats must be a TabularStats, got {type(stats).__name__}")
    S, A = stats.N.shape
    beta = check_in_range("beta", beta, low=0.0)
    if planner is None:
        planner = ValuePlanner(S, A, B)
    elif (planner.S, planner.A) != (S, A) or planner.F is not None or planner.B != B:
        raise ValueError(f"planner was built for S={planner.S}, A={planner.A}, B={planner.B}"
                         f"{'' if planner.F is None else ' with features'}; the data have "
                         f"S={S}, A={A} and B={B}: build ValuePlanner(S, A, B)")
    return planner.plan(*tabular_residual(stats), beta)


# ----------------------------------------------------------------------- linear (b)
@dataclass(frozen=True, slots=True, eq=False)
class LinearStats:
    """Sufficient statistics of data for value-based linear LOOP [card §3.9 (b)].

    Attributes
    ----------
    Lambda : (d, d) ``sum_i phi_i phi_i^T`` (no ridge)
    b_r : (d,) ``sum_i phi_i r_i``
    c : (d,) ``sum_i phi_i``
    Nphi : (d, S) ``sum_i phi_i 1[s_{i+1} = s']``
    """

    Lambda: np.ndarray
    b_r: np.ndarray
    c: np.ndarray
    Nphi: np.ndarray

    @classmethod
    def from_data(cls, phi: Any, *, s: Any, a: Any, r: Any, s_next: Any) -> "LinearStats":
        """Statistics of transitions with features ``phi`` (S, A, d)."""
        phi = check_float_array("phi", phi, ndim=3)
        S = phi.shape[0]
        s, a, s_next = (np.asarray(x, dtype=np.int64) for x in (s, a, s_next))
        r = np.asarray(r, dtype=np.float64)
        X = phi[s, a]                                          # (n, d)
        onehot = np.zeros((s_next.size, S))
        onehot[np.arange(s_next.size), s_next] = 1.0
        return cls(X.T @ X, X.T @ r, X.sum(axis=0), X.T @ onehot)


def linear_residual(phi: np.ndarray, stats: LinearStats,
                    lam: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(K, kJ, KV, k0)`` with ``||K w + kJ J + KV V - k0||^2 = (w - w_hat)^T Lam (w - w_hat)``.

    ``Lam = Lambda + lam I = U diag(e) U^T``; on eigenvalues ``e > d eps max(e)`` the rows are
    ``sqrt(e) U^T w - U^T b / sqrt(e)`` with ``b = b_r - J c + Nphi V``; null directions give
    zero rows (``b`` has no component there).
    """
    d = stats.Lambda.shape[0]
    e, U = np.linalg.eigh(stats.Lambda + lam * np.eye(d))
    keep = e > d * np.finfo(np.float64).eps * max(float(e.max()), 1.0)
    root = np.where(keep, np.sqrt(np.where(keep, e, 1.0)), 0.0)
    inv = np.where(keep, 1.0 / np.where(keep, root, 1.0), 0.0)
    K = root[:, None] * U.T
    W = inv[:, None] * U.T
    return K, W @ stats.c, -W @ stats.Nphi, W @ stats.b_r


def plan_value_linear(phi: Any, stats: LinearStats, *, B: float, beta: float, lam: float = 0.0,
                      planner: ValuePlanner | None = None) -> tuple[Hypothesis, PlanInfo]:
    """Exact optimistic planning for value-based linear LOOP [card §3.9 (b)].

    ``argmax {J : Q = phi w, (Q, J) in H, (w - w_hat)^T Lam (w - w_hat) <= beta}`` with
    ``Lam = lam I + sum phi phi^T`` and ``w_hat = Lam^+ b(w, J)`` (module docstring), by
    enumerating the greedy policies. FOPO's feasible set [card §3.7] is this set with
    ``beta = beta_F^2``.

    Examples
    --------
    One-hot features reduce it to the tabular planner (card §4 C6 (i)):

    >>> import numpy as np
    >>> phi = np.eye(4).reshape(2, 2, 4)
    >>> data = dict(s=[0, 0, 1], a=[1, 1, 0], r=[0.0, 1.0, 0.5], s_next=[0, 1, 1])
    >>> f_lin, _ = plan_value_linear(phi, LinearStats.from_data(phi, **data), B=1.0, beta=0.5)
    >>> f_tab, _ = plan_value_tabular(TabularStats.from_data(2, 2, **data), B=1.0, beta=0.5)
    >>> bool(abs(f_lin.J - f_tab.J) < 1e-6)
    True
    """
    phi = check_float_array("phi", phi, ndim=3)
    S, A, d = phi.shape
    if not isinstance(stats, LinearStats):
        raise TypeError(f"stats must be a LinearStats, got {type(stats).__name__}")
    if stats.Lambda.shape != (d, d) or stats.Nphi.shape != (d, S):
        raise ValueError(f"stats have d = {stats.Lambda.shape[0]} and S = {stats.Nphi.shape[1]} "
                         f"but phi has shape {phi.shape}; build them from the same phi")
    beta = check_in_range("beta", beta, low=0.0)
    lam = check_in_range("lam", lam, low=0.0)
    F = phi.reshape(S * A, d)
    if planner is None:
        planner = ValuePlanner(S, A, B, F)
    return planner.plan(*linear_residual(phi, stats, lam), beta)


# ----------------------------------------------------------------- ablation: no optimism
def plan_certainty_equivalent(stats: TabularStats, s_current: int) -> Hypothesis:
    """The no-optimism ablation [card §4 C1 control; S]: plan in the empirical model.

    The empirical model has ``rhat, phat`` on visited pairs and, on unvisited pairs, a
    zero-reward self-loop. Its gain can depend on the state (it is multichain at first), so
    it is solved by multichain policy iteration (:func:`rlsandbox.dp.average.solve_multichain`,
    ties keep the lowest action). The hypothesis has ``J = g(s_current)`` and
    ``Q = rhat + phat h - J`` (``h`` the bias), so its excess loss is 0 on the visited pairs of
    the current recurrent class when planned.

    Examples
    --------
    With no data every policy has gain 0; "left" (action 0) is kept, as on RiverSwim:

    >>> plan_certainty_equivalent(TabularStats.empty(3, 2), 0).pi.tolist()
    [0, 0, 0]
    """
    S, A = stats.N.shape
    visited = stats.N > 0
    P = np.array(stats.phat)                 # counts / N: rows sum to 1 up to round-off
    s_idx, a_idx = np.nonzero(~visited)
    P[s_idx, a_idx, s_idx] = 1.0             # unvisited: zero-reward self-loop
    R = np.where(visited, stats.rhat, 0.0)
    emp = TabularMDP(P, R, 1.0)
    sol = solve_multichain(emp)
    J = float(sol.gain[s_current])
    Q = R + np.einsum("sat,t->sa", P, np.asarray(sol.bias)) - J
    return Hypothesis(Q, J, np.asarray(sol.policy))


# ----------------------------------------------------------------------- finite class (d-i)
@dataclass(frozen=True, slots=True, eq=False)
class FiniteClass:
    """A finite class of models ``f_g = (P_g, R_g)``, g = 0..m-1, with their hypotheses.

    Each model must be weakly communicating (card §6 pitfall 17: otherwise ``J_f`` is not
    defined); its gain, bias and optimal policy are computed once, exactly.

    Parameters
    ----------
    P : (m, S, A, S) kernels;  R : (m, S, A) mean rewards in [0, 1]
    names : optional labels, one per model

    Attributes
    ----------
    J : (m,) gains; V : (m, S) biases (min 0); Q : (m, S, A); pi : (m, S) optimal policies;
    span : (m,) sp(V_g); B : max span (the class's span bound).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> m = rls.mdps.riverswim(3, gamma=1.0)
    >>> fc = FiniteClass(np.stack([m.P, m.P]), np.stack([m.R, 0.5 * m.R]))
    >>> fc.m, fc.J.round(6).tolist()           # card §5.2 table: J* = 0.446809 for n = 3
    (2, [0.446809, 0.223404])
    """

    P: np.ndarray
    R: np.ndarray
    names: tuple = ()
    J: np.ndarray = field(init=False, repr=False)
    V: np.ndarray = field(init=False, repr=False)
    Q: np.ndarray = field(init=False, repr=False)
    pi: np.ndarray = field(init=False, repr=False)
    span: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        P = check_float_array("P", self.P, ndim=4)
        m, S, A, _ = P.shape
        R = check_float_array("R", self.R, shape=(m, S, A))
        if R.min() < 0.0 or R.max() > 1.0:
            g = int(np.argwhere((R < 0.0) | (R > 1.0))[0][0])
            raise ValueError(f"model {g} of the finite class has rewards in [{R[g].min():.6g}, "
                             f"{R[g].max():.6g}]; every model's mean rewards must lie in [0, 1] "
                             f"(card §2.1; the radius finite_beta assumes it)")
        names = tuple(self.names) if self.names else tuple(f"model{g}" for g in range(m))
        if len(names) != m:
            raise ValueError(f"names has {len(names)} entries for {m} models; give one per model")
        hyps = []
        for g in range(m):
            try:
                hyps.append(Hypothesis.from_model(P[g], R[g]))
            except ValueError as err:
                raise ValueError(f"model {g} ({names[g]}) of the finite class is invalid: {err}. "
                                 f"Every hypothesis must satisfy the optimality equation "
                                 f"(card §6 pitfall 17)") from None
        set_ = object.__setattr__
        set_(self, "P", readonly(P))
        set_(self, "R", readonly(R))
        set_(self, "names", names)
        set_(self, "J", readonly(np.array([h.J for h in hyps])))
        set_(self, "V", readonly(np.stack([h.V for h in hyps])))
        set_(self, "Q", readonly(np.stack([h.Q for h in hyps])))
        set_(self, "pi", readonly(np.stack([h.pi for h in hyps])))
        set_(self, "span", readonly(self.V.max(axis=1) - self.V.min(axis=1)))

    @property
    def m(self) -> int:
        return int(self.P.shape[0])

    @property
    def S(self) -> int:
        return int(self.P.shape[1])

    @property
    def A(self) -> int:
        return int(self.P.shape[2])

    @property
    def B(self) -> float:
        return float(self.span.max())

    def hypothesis(self, g: int) -> Hypothesis:
        """The hypothesis of model ``g``."""
        g = check_int("g", g, low=0, high=self.m - 1)
        return Hypothesis(self.Q[g], float(self.J[g]), self.pi[g])

    def predictions(self, V: np.ndarray) -> np.ndarray:
        """``pred[g, s, a] = R_g(s, a) + (P_g V)(s, a)`` (m, S, A) for a bias ``V`` (S,)."""
        return self.R + np.einsum("gsat,t->gsa", self.P, V)

    def __repr__(self) -> str:
        return f"FiniteClass(m={self.m}, S={self.S}, A={self.A}, B={self.B:.6g})"


def plan_finite(L: Any, J: Any, beta: float, *, optimistic: bool = True) -> int:
    """Index of ``argmax {J_g : L_g - min L <= beta}`` (first on ties) [card §3.3, §3.9 (d-i)].

    With ``optimistic=False`` (the no-optimism ablation) the least-squares index
    ``argmin L`` (first on ties) instead.

    Examples
    --------
    >>> plan_finite([3.0, 0.0, 1.0], [0.9, 0.5, 0.7], beta=1.5)
    2
    >>> plan_finite([3.0, 0.0, 1.0], [0.9, 0.5, 0.7], beta=1.5, optimistic=False)
    1
    """
    L = np.asarray(L, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if not optimistic:
        return int(np.argmin(L))
    covered = L - L.min() <= beta
    return int(np.flatnonzero(covered)[np.argmax(J[covered])])
