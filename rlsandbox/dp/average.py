"""Average-reward dynamic programming: gain, bias, span, optimal policies, classification, diameter.

The gain of a stationary policy pi with kernel P = P_pi (S, S) and reward r = R_pi (S,) is
the Cesaro limit [puterman2005, §8.2.1, Appendix A]

    g = P* r,        P* = lim_{T -> inf} (1/T) sum_{t<T} P^t          (S, S), rows distributions

and its bias is h = H_P r with the deviation matrix

    H_P = (I - P + P*)^{-1} (I - P*),      so that  g + h = r + P h,  (I - P) g = 0,  P* h = 0.

P* is assembled exactly from the chain's recurrent classes C_1..C_k (closed strongly
connected components of the graph P > 0): on C_j its rows are the stationary distribution
mu_j of P restricted to C_j; a transient state s has P*[s, :] = sum_j b_j(s) mu_j with the
absorption probabilities b_j = (I - P_TT)^{-1} P_{T, C_j} 1 [puterman2005, Appendix A].
This holds for every policy, multichain or not.

Optimality. In a weakly communicating model the optimal gain g* is the same from every state
and the optimality equation [puterman2005, §8.4]

    g* + h(s) = max_a  R[s, a] + sum_s' P[s, a, s'] h(s')                 (OE)

has a solution h (a bias, "relative value"). For any h let (T h)(s) = max_a R + P h; then

    min_s (T h - h)(s)  <=  g*  <=  max_s (T h - h)(s)         [puterman2005, §8.5, Thm 8.5.5]

and every policy that is greedy for h has gain >= min_s (T h - h)(s). Every result below is
certified this way, a posteriori, whatever method produced h.

Methods:

* relative value iteration on the aperiodicity transform P_tau = tau P + (1 - tau) I with
  rewards unchanged [puterman2005, §8.5.4-8.5.5]: the gain is unchanged and the bias becomes
  h / tau, and every policy's chain becomes aperiodic, so the iteration converges (plain RVI,
  tau = 1, oscillates on periodic chains);
* the linear program  min J  s.t.  J + h(s) >= R[s, a] + sum_s' P[s, a, s'] h(s')  for all
  (s, a) [puterman2005, §8.8], whose value is g*;
* Howard's multichain policy iteration with exact evaluation [puterman2005, §9.2]: it yields
  the optimal gain *vector* in any finite model (:func:`solve_multichain`).

Structure [puterman2005, §8.3.1]: a model is ergodic (recurrent) if every deterministic
stationary policy's chain is irreducible; unichain if every such chain has one recurrent
class (plus possibly transient states); communicating if every state is accessible from every
other under some deterministic stationary policy; weakly communicating if there is a closed
set of states, communicating in that sense, plus states transient under every policy. The
diameter is D = max_{s != s'} min_pi E[time to reach s' from s] [jaksch2010, Def. 1].

Shapes: P (S, A, S) or CSR (S*A, S); R (S, A); policies (S,) int or (S, A); g, h (S,).
The model's ``gamma`` is ignored here: average reward has no discount.

References
----------
[puterman2005]   M. L. Puterman. Markov Decision Processes: Discrete Stochastic Dynamic
                 Programming. Wiley, 2005 (Ch. 8 unichain/communicating, Ch. 9 multichain,
                 Appendix A: Cesaro limits and the deviation matrix).
[jaksch2010]     T. Jaksch, R. Ortner, P. Auer. Near-optimal regret bounds for reinforcement
                 learning. JMLR 11:1563-1600, 2010 (Def. 1: diameter).
[tsitsiklis2007] J. N. Tsitsiklis. NP-hardness of checking the unichain condition in average
                 cost MDPs. Operations Research Letters 35(3):319-323, 2007.
[bertsekas1991]  D. P. Bertsekas, J. N. Tsitsiklis. An analysis of stochastic shortest path
                 problems. Mathematics of Operations Research 16(3):580-595, 1991.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.sparse as sp
from scipy.sparse import csgraph

from rlsandbox._validate import (
    ROW_SUM_ATOL, check_choice, check_float_array, check_in_range, check_int, readonly,
)
from rlsandbox.dp.discounted import TIE_RTOL, _parallel, _q
from rlsandbox.kernels.average import (_enumerate_chain_structure, _rvi_csr, _rvi_csr_par,
                                       _rvi_dense_ae, _rvi_dense_ae_par, _strongly_connected_dense,
                                       _union_support_dense)
from rlsandbox.mdp import TabularMDP

__all__ = ["span", "PolicyGain", "AverageSolution", "MultichainSolution", "policy_gain",
           "solve_average", "relative_value_iteration", "average_linear_programming",
           "average_policy_iteration", "solve_multichain", "classify", "is_communicating",
           "is_weakly_communicating", "diameter", "AVERAGE_SOLVERS", "MAX_POLICIES"]

#: Largest number of deterministic policies :func:`classify` enumerates by default.
MAX_POLICIES = 100_000
_EPS = np.finfo(np.float64).eps


# ------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True, eq=False)
class PolicyGain:
    """Exact gain and bias of one stationary policy.

    Attributes
    ----------
    gain : (S,) g = P* R_pi; constant on each recurrent class.
    bias : (S,) h = H_P R_pi, normalised by P* h = 0 (the bias proper, not shifted).
    P_star : (S, S) Cesaro limit matrix of P_pi.
    recurrent_classes : tuple of int64 arrays, the closed classes, ordered by lowest state.
    transient : (S,) bool mask of transient states.
    """

    gain: np.ndarray
    bias: np.ndarray
    P_star: np.ndarray
    recurrent_classes: tuple
    transient: np.ndarray

    @property
    def is_unichain(self) -> bool:
        """True if the chain has a single recurrent class."""
        return len(self.recurrent_classes) == 1

    def __repr__(self) -> str:
        return (f"PolicyGain(S={self.gain.shape[0]}, classes={len(self.recurrent_classes)}, "
                f"gain=[{self.gain.min():.6g}, {self.gain.max():.6g}])")


@dataclass(frozen=True, slots=True, eq=False)
class AverageSolution:
    """A certified solution of the average-reward optimality equation (OE).

    Attributes
    ----------
    gain : float, midpoint of the certificate; |gain - g*| <= error_bound.
    bias : (S,) a solution h of the OE up to the residual, normalised so that min(h) == 0.
    span : float, sp(h) = max(h) - min(h) of the returned bias.
    policy : (S,) int64; greedy for ``bias`` (lowest index) for "rvi"/"lp", the final
        policy for "pi". Its gain is >= g* - residual - tie tolerance (see module docstring).
    optimal_actions : (S, A) bool; a with Q[s, a] >= max_b Q[s, b] - tol, where
        tol = residual + fp + TIE_RTOL (1 + max|R| + span): the actions that are conserving
        for ``bias`` (attain the max in the OE). Every policy choosing its actions from the
        mask has gain >= g* - residual - tol. Gain-optimal actions that are not conserving
        (possible on states that are transient under every optimal policy) are *not* in it.
    Q : (S, A) R + P h for the returned bias; the optimal gap is gain + bias[:, None] - Q.
    iterations : sweeps for "rvi", improvements for "pi", LP solves for "lp".
    converged : False if the budget ran out or the LP failed (a result, not an exception).
    error_bound : bound on |gain - g*|: half the certificate interval plus a float64
        allowance fp = 2 (S + 2) eps_mach (max|R| + span).
    residual : sp(T h - h), the width of the certificate interval.
    method : "rvi", "lp" or "pi".
    """

    gain: float
    bias: np.ndarray
    span: float
    policy: np.ndarray
    optimal_actions: np.ndarray
    Q: np.ndarray
    iterations: int
    converged: bool
    error_bound: float
    residual: float
    method: str

    @property
    def gaps(self) -> np.ndarray:
        """Optimal gaps gain + bias[s] - Q[s, a] (S, A); >= -error_bound, ~0 on the mask."""
        return readonly(self.gain + self.bias[:, None] - self.Q)

    def __repr__(self) -> str:
        return (f"AverageSolution(method={self.method!r}, gain={self.gain:.10g}, "
                f"span={self.span:.6g}, iterations={self.iterations}, "
                f"converged={self.converged}, error_bound={self.error_bound:.3g})")


@dataclass(frozen=True, slots=True, eq=False)
class MultichainSolution:
    """The optimal gain vector of any finite model, from multichain policy iteration.

    Attributes
    ----------
    gain : (S,) optimal gain g*(s) (not constant in general).
    bias : (S,) bias of the returned policy (P* h = 0 normalisation).
    policy : (S,) int64 gain-optimal deterministic policy (also bias-improving, §9.2).
    iterations : policy improvements used.
    converged : False if max_iter improvements did not reach a fixed policy.
    residual : max violation of the two multichain optimality equations
        max_a P g = g  and  max_{a in argmax P g} R + P h = g + h.
    """

    gain: np.ndarray
    bias: np.ndarray
    policy: np.ndarray
    iterations: int
    converged: bool
    residual: float

    def __repr__(self) -> str:
        return (f"MultichainSolution(S={self.gain.shape[0]}, gain=[{self.gain.min():.6g}, "
                f"{self.gain.max():.6g}], iterations={self.iterations}, "
                f"converged={self.converged})")


# ------------------------------------------------------------------ helpers
def span(v: Any) -> float:
    """Span seminorm ``sp(v) = max_s v(s) - min_s v(s)`` of a vector (S,) [puterman2005, §6.6].

    Examples
    --------
    >>> from rlsandbox.dp.average import span
    >>> span([0.5, 2.0, -1.0])
    3.0
    """
    v = check_float_array("v", v, ndim=1, copy=False)
    if v.size == 0:
        raise ValueError("v is empty; the span needs at least one entry")
    return float(v.max() - v.min())


def _check_mdp(mdp: Any, what: str) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{what} expects a rlsandbox.TabularMDP, got {type(mdp).__name__}; "
                        f"build one with rlsandbox.TabularMDP(P, R, gamma=1.0)")
    return mdp


def _q_undiscounted(mdp: TabularMDP, h: np.ndarray, R: np.ndarray | None = None) -> np.ndarray:
    """Q[s, a] = R[s, a] + sum_s' P[s, a, s'] h[s'] (S, A), via the Bellman kernels."""
    return _q(mdp, h, 1.0, R=R)


def _dense(M: np.ndarray | sp.sparray) -> np.ndarray:
    return M.toarray() if sp.issparse(M) else np.asarray(M)


# ------------------------------------------------------------------ graph structure
def _union_support(mdp: TabularMDP) -> np.ndarray:
    """(S, S) bool, True iff P[s, a, s'] > 0 for some a; dense models, one pass over P."""
    support = np.zeros((mdp.S, mdp.S), dtype=bool)
    _union_support_dense(mdp.P, support)
    return support


def _union_graph(mdp: TabularMDP, support: np.ndarray | None = None) -> sp.csr_array:
    """Edge s -> s' iff P[s, a, s'] > 0 for some a; (S, S) CSR with unit weights.
    ``support``: the dense model's :func:`_union_support`, if already computed."""
    S, A = mdp.S, mdp.A
    if not mdp.is_sparse:        # straight from the dense kernel: no (S*A, S) CSR copy of P
        support = _union_support(mdp) if support is None else support
        return sp.csr_array(support.view(np.int8).astype(np.int32))
    Pc = mdp.P
    rows = np.repeat(np.arange(S * A) // A, np.diff(Pc.indptr))
    pos = Pc.data > 0
    G = sp.csr_array((np.ones(int(pos.sum()), dtype=np.int32), (rows[pos], Pc.indices[pos])),
                     shape=(S, S))
    G.data[:] = 1
    return G


def _closed_classes(G: sp.csr_array) -> tuple[np.ndarray, list[np.ndarray]]:
    """Strongly connected component labels and the closed ones (no edge leaving them)."""
    n, labels = csgraph.connected_components(G, directed=True, connection="strong")
    coo = G.tocoo()
    leaves = labels[coo.row] != labels[coo.col]
    is_open = np.zeros(n, dtype=bool)
    is_open[labels[coo.row[leaves]]] = True
    closed = [np.flatnonzero(labels == c) for c in range(n) if not is_open[c]]
    closed.sort(key=lambda c: int(c[0]))
    return labels, closed


def _fmt_states(states: np.ndarray, limit: int = 6) -> str:
    shown = ", ".join(str(int(s)) for s in states[:limit])
    return "{" + shown + (", ..." if states.size > limit else "") + "}"


def _weak_communication(mdp: TabularMDP) -> tuple[bool, str]:
    """(is weakly communicating, reason if not) by graph algorithms only.

    Weakly communicating iff the union graph has exactly one closed strongly connected
    component C and no nonempty set X outside C can be kept closed by some policy (each state
    of X having an action whose support lies in X): such an X would hold a recurrent class.
    """
    support = None
    if not mdp.is_sparse:
        support = _union_support(mdp)
        if _strongly_connected_dense(support):  # communicating: no CSR graph, no SCC needed
            return True, ""
    G = _union_graph(mdp, support)
    _, closed = _closed_classes(G)
    if len(closed) > 1:
        return False, (f"the state sets {_fmt_states(closed[0])} and {_fmt_states(closed[1])} "
                       f"are closed under every action ({len(closed)} such sets), so every "
                       f"policy has at least {len(closed)} recurrent classes")
    S, A = mdp.S, mdp.A
    if closed[0].size == S:                 # communicating: no state outside the closed class
        return True, ""
    # P >= 0, so (P 1_{outside X})[s, a] > 0 iff the support of P[s, a] leaves X (a positive
    # subnormal entry times 1.0 stays positive)
    P_rows = mdp.P if mdp.is_sparse else mdp.P.reshape(S * A, S)
    X = np.ones(S, dtype=bool)
    X[closed[0]] = False
    while X.any():
        leaks = P_rows @ (~X).astype(np.float64)        # (S*A,) mass outside X (0 iff inside)
        keep = (leaks.reshape(S, A) == 0).any(axis=1)
        new = X & keep
        if np.array_equal(new, X):
            break
        X = new
    if X.any():
        states = np.flatnonzero(X)
        return False, (f"the states {_fmt_states(states)} can be kept away from the closed "
                       f"class {_fmt_states(closed[0])} forever by some policy, so they are "
                       f"recurrent under it")
    return True, ""


def is_weakly_communicating(mdp: TabularMDP) -> bool:
    """True if the model is weakly communicating [puterman2005, §8.3.1]; graph algorithms only.

    Then the optimal gain is constant and the optimality equation has a solution
    [puterman2005, §8.3-8.4].

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import is_weakly_communicating
    >>> P = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])      # two absorbing states
    >>> is_weakly_communicating(TabularMDP(P, np.zeros((2, 1)), gamma=1.0))
    False
    """
    return _weak_communication(_check_mdp(mdp, "is_weakly_communicating"))[0]


def is_communicating(mdp: TabularMDP) -> bool:
    """True if every state is accessible from every other under some deterministic policy.

    Equivalent to strong connectivity of the union graph (s -> s' iff some action moves
    s to s' with positive probability): along a simple path each state needs one action
    [puterman2005, §8.3.1].

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import is_communicating
    >>> P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> is_communicating(TabularMDP(P, np.zeros((2, 2)), gamma=1.0))
    True
    """
    _check_mdp(mdp, "is_communicating")
    if not mdp.is_sparse:
        return bool(_strongly_connected_dense(_union_support(mdp)))
    G = _union_graph(mdp)
    n, _ = csgraph.connected_components(G, directed=True, connection="strong")
    return n == 1


def _require_weakly_communicating(mdp: TabularMDP, what: str) -> None:
    ok, why = _weak_communication(mdp)
    if not ok:
        raise ValueError(f"the model is not weakly communicating: {why}. Its optimal gain may "
                         f"depend on the start state, so {what} (one scalar gain) does not "
                         f"apply. Use rlsandbox.dp.average.solve_multichain(mdp) for the gain "
                         f"vector, or policy_gain(mdp, pi) for a fixed policy")


def _intersection_graph(supp: np.ndarray) -> sp.csr_array:
    """Edge s -> s' iff P[s, a, s'] > 0 for every action a (present in every policy's chain)."""
    return sp.csr_array(supp.all(axis=1).astype(np.int32))


def _policy_structure(mdp: TabularMDP, max_policies: int) -> tuple[bool, bool]:
    """(unichain, ergodic) of the model: every deterministic policy's chain structure."""
    S = mdp.S
    supp = _dense(mdp.csr_P()).reshape(S, mdp.A, S) > 0
    inter = _intersection_graph(supp)
    n_comp, _ = csgraph.connected_components(inter, directed=True, connection="strong")
    if n_comp == 1:                          # every chain contains a strongly connected graph
        return True, True
    communicating = is_communicating(mdp)
    # a state reachable in the intersection graph from every state lies in every closed set
    reach_all = csgraph.shortest_path(inter, unweighted=True, directed=True)
    hub = np.isfinite(reach_all).all(axis=0).any()
    if hub and not communicating:            # ergodic models are communicating
        return True, False
    choices = [np.unique(supp[s], axis=0) for s in range(S)]
    n_choice = np.array([c.shape[0] for c in choices], dtype=np.int64)
    n_policies = 1
    for c in n_choice:
        n_policies *= int(c)
    if n_policies > max_policies:
        raise ValueError(
            f"classify must enumerate {n_policies} deterministic policies (distinct action "
            f"supports per state: {n_choice.tolist()}) to decide the unichain / ergodic "
            f"properties, more than max_policies={max_policies}; deciding unichain is NP-hard "
            f"in general [tsitsiklis2007]. Pass a larger max_policies to enumerate anyway, or "
            f"use is_communicating / is_weakly_communicating (polynomial graph checks)")
    table = np.zeros((S, int(n_choice.max()), S), dtype=bool)
    for s in range(S):
        table[s, :n_choice[s]] = choices[s]
    multi = np.empty(S, dtype=np.int64)
    reducible = np.empty(S, dtype=np.int64)
    _, found_multi, found_reducible = _enumerate_chain_structure(table, n_choice, multi,
                                                                 reducible)
    unichain = hub or not found_multi
    return bool(unichain), bool(unichain and not found_reducible)


def classify(mdp: TabularMDP, *, max_policies: int = MAX_POLICIES) -> str:
    """The model's class in the hierarchy of [puterman2005, §8.3.1].

    Returns the first that applies of "ergodic" (every deterministic stationary policy's
    chain is irreducible), "unichain" (each has a single recurrent class plus possibly
    transient states), "communicating", "weakly_communicating", "multichain" (none of these:
    the optimal gain may depend on the start state). Ergodic implies unichain; unichain and
    communicating each imply weakly communicating, but neither implies the other, so a model
    that is both unichain and communicating is reported as "unichain" (use
    :func:`is_communicating` for the other property).

    Communicating and weakly communicating are decided by graph algorithms. Unichain and
    ergodic are decided by two sufficient graph tests (edges present under every action) and
    otherwise by enumerating the deterministic policies with distinct action supports
    (deciding unichain is NP-hard [tsitsiklis2007]); a ``ValueError`` is raised if more than
    ``max_policies`` would be needed.

    Parameters
    ----------
    mdp : TabularMDP
    max_policies : int >= 1, enumeration budget (default :data:`MAX_POLICIES`)

    Returns
    -------
    str, one of "ergodic", "unichain", "communicating", "weakly_communicating", "multichain"

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import classify
    >>> stay_or_swap = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> classify(TabularMDP(stay_or_swap, np.zeros((2, 2)), gamma=1.0))
    'communicating'
    """
    _check_mdp(mdp, "classify")
    max_policies = check_int("max_policies", max_policies, low=1)
    if not _weak_communication(mdp)[0]:
        return "multichain"
    unichain, ergodic = _policy_structure(mdp, max_policies)
    if ergodic:
        return "ergodic"
    if unichain:
        return "unichain"
    return "communicating" if is_communicating(mdp) else "weakly_communicating"


# ------------------------------------------------------------------ fixed policy
def _gain_bias(P: np.ndarray, r: np.ndarray) -> PolicyGain:
    """Exact Cesaro limit, gain and bias of the chain (P (S, S) dense, r (S,))."""
    S = P.shape[0]
    _, classes = _closed_classes(sp.csr_array((P > 0).astype(np.int32)))
    transient = np.ones(S, dtype=bool)
    P_star = np.zeros((S, S))
    mus = []
    for C in classes:
        transient[C] = False
        n = C.size
        # mu (I - P_CC) = 0, sum(mu) = 1: replace one (redundant) balance equation by the sum
        M = (np.eye(n) - P[np.ix_(C, C)]).T.copy()
        M[-1, :] = 1.0
        b = np.zeros(n)
        b[-1] = 1.0
        mu = scipy.linalg.solve(M, b, check_finite=False)
        P_star[np.ix_(C, C)] = mu[None, :]
        mus.append(mu)
    T = np.flatnonzero(transient)
    if T.size:
        into = np.stack([P[np.ix_(T, C)].sum(axis=1) for C in classes], axis=1)   # (|T|, k)
        B = scipy.linalg.solve(np.eye(T.size) - P[np.ix_(T, T)], into, check_finite=False)
        for j, (C, mu) in enumerate(zip(classes, mus)):
            P_star[np.ix_(T, C)] = B[:, j:j + 1] * mu[None, :]
    g = P_star @ r
    h = scipy.linalg.solve(np.eye(S) - P + P_star, r - g, check_finite=False)
    return PolicyGain(readonly(g), readonly(h), readonly(P_star),
                      tuple(readonly(C) for C in classes), readonly(transient))


def policy_gain(mdp: TabularMDP, pi: Any) -> PolicyGain:
    """Exact gain, bias and Cesaro limit matrix of a stationary policy, multichain or not.

    ``g = P* r``, ``h = (I - P + P*)^{-1} (I - P*) r`` with ``P* h = 0`` (the bias proper),
    where ``P = P_pi``, ``r = R_pi`` and P* is built from the recurrent classes, their
    stationary distributions and the absorption probabilities of the transient states
    [puterman2005, §8.2.1, Appendix A]. Dense linear algebra, O(S^3).

    Parameters
    ----------
    mdp : TabularMDP (its ``gamma`` is ignored)
    pi : (S, A) stochastic or (S,) deterministic policy

    Returns
    -------
    PolicyGain with gain (S,), bias (S,), P_star (S, S), recurrent_classes, transient (S,).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import policy_gain
    >>> swap = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])     # the periodic 2-cycle
    >>> pg = policy_gain(TabularMDP(swap, [[1.0], [0.0]], gamma=1.0), np.zeros(2, dtype=int))
    >>> pg.gain.round(12).tolist(), pg.bias.round(12).tolist()
    ([0.5, 0.5], [0.25, -0.25])
    """
    _check_mdp(mdp, "policy_gain")
    pi = mdp.policy(pi)
    return _gain_bias(_dense(mdp.P_pi(pi)), mdp.R_pi(pi))


# ------------------------------------------------------------------ certificates
def _certify_average(mdp: TabularMDP, h: np.ndarray, *, method: str, iterations: int,
                     converged: bool, policy: np.ndarray | None = None) -> AverageSolution:
    h = h - h.min()
    Q = _q_undiscounted(mdp, h)
    Th = Q.max(axis=1)
    e = Th - h                                  # (T h - h)(s): g* lies in [min e, max e]
    lo, hi = float(e.min()), float(e.max())
    sp_h = float(h.max())
    scale = 1.0 + float(np.abs(mdp.R).max()) + sp_h
    fp = 2.0 * (mdp.S + 2) * _EPS * (scale - 1.0)   # each e(s) sums S + 2 rounded terms
    residual = hi - lo
    tol = residual + fp + TIE_RTOL * scale
    opt = Q >= Th[:, None] - tol
    if policy is None:
        policy = np.argmax(Q, axis=1).astype(np.int64)
    return AverageSolution(0.5 * (lo + hi), readonly(h), sp_h, readonly(np.asarray(policy)),
                           readonly(opt), readonly(Q), int(iterations), bool(converged),
                           0.5 * residual + fp, residual, method)


# ------------------------------------------------------------------ optimal: RVI
def relative_value_iteration(mdp: TabularMDP, *, tau: float = 0.5, eps: float = 1e-10,
                             max_iter: int = 1_000_000, s_ref: int = 0,
                             h0: Any = None) -> AverageSolution:
    """Relative value iteration on the aperiodicity transform [puterman2005, §8.5.4-8.5.5].

    With ``T_tau w = max_a R + tau P w + (1 - tau) w`` (the optimality operator of
    P_tau = tau P + (1 - tau) I, rewards unchanged) iterate

        w_{k+1} = T_tau w_k - (T_tau w_k)(s_ref)

    from ``w_0 = h0 / tau`` (zeros) until ``sp(T_tau w - w) < eps``. The transform keeps every
    policy's stationary distributions, hence all gains, and maps a bias h to h / tau; it adds
    a self-loop to every state, so every chain is aperiodic and the iteration converges in
    weakly communicating models [puterman2005, §8.5.4, §9.4]. Because ``T_tau w - w = T h - h`` for ``h = tau w``, the
    returned bias ``h = tau w`` (shifted to min 0) carries the certificate of the module
    docstring and ``|gain - g*| <= eps / 2`` (+ float allowance) on convergence.

    ``tau = 0.5`` (default) maps a period-2 eigenvalue -1 of P to 0 (eigenvalues move to
    tau lambda + 1 - tau) and multiplies the gap 1 - lambda of a real eigenvalue
    lambda in [0, 1) by tau, i.e. at most doubles the number of sweeps of a slow mode.
    ``tau = 1`` is plain RVI, which oscillates on periodic chains (``converged=False``).

    On a dense model the sweeps skip actions whose value is provably below the state's best
    (action elimination with round-off margins, as in dense value iteration; see
    :func:`rlsandbox.kernels.average._rvi_dense_ae`): the iterates, the sweep count and the
    result are bitwise those of full sweeps, and late sweeps read about one row per state.

    Deviations: Puterman's transform also scales the rewards by tau (gain scaled, bias kept);
    here the rewards are kept (gain kept, bias scaled by 1/tau, undone on return).

    Parameters
    ----------
    mdp : TabularMDP, weakly communicating (else ``ValueError``); dense or CSR
    tau : float in (0, 1], weight of P in the transform (1 = plain RVI)
    eps : float > 0, stop when sp(T h - h) < eps; then |gain - g*| <= eps / 2
    max_iter : int >= 1, sweep budget (``converged=False`` when it runs out)
    s_ref : int in [0, S), the state whose relative value is subtracted each sweep
    h0 : (S,) initial bias guess, optional

    Returns
    -------
    AverageSolution (method "rvi"; iterations = sweeps)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import relative_value_iteration
    >>> swap = np.array([[[0.0, 1.0]], [[1.0, 0.0]]])     # periodic: plain RVI oscillates
    >>> mdp = TabularMDP(swap, [[1.0], [0.0]], gamma=1.0)
    >>> sol = relative_value_iteration(mdp)
    >>> sol.converged, sol.gain, sol.bias.tolist()
    (True, 0.5, [0.5, 0.0])
    >>> relative_value_iteration(mdp, tau=1.0, max_iter=100).converged
    False
    """
    _check_mdp(mdp, "relative_value_iteration")
    tau = check_in_range("tau", tau, low=0.0, high=1.0, low_open=True,
                         hint="tau weights P in tau P + (1 - tau) I; 0.5 is a safe default")
    eps = check_in_range("eps", eps, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    s_ref = check_int("s_ref", s_ref, low=0, high=mdp.S - 1)
    _require_weakly_communicating(mdp, "relative value iteration")
    w = np.zeros(mdp.S) if h0 is None else check_float_array("h0", h0, shape=(mdp.S,)) / tau
    pi = np.empty(mdp.S, dtype=np.int64)
    par = _parallel(mdp)     # states split over threads: bitwise the serial iterates
    if mdp.is_sparse:
        P = mdp.P
        it, _ = (_rvi_csr_par if par else _rvi_csr)(P.data, P.indices, P.indptr, mdp.R, tau,
                                                    eps, max_iter, s_ref, w, pi)
    else:   # action elimination: bitwise the iterates of the full sweeps (_rvi_dense)
        it, _, _ = (_rvi_dense_ae_par if par else _rvi_dense_ae)(
            mdp.P, mdp.R, tau, eps, max_iter, s_ref, ROW_SUM_ATOL, w, pi)
    return _certify_average(mdp, tau * w, method="rvi", iterations=abs(int(it)),
                            converged=it > 0)


# ------------------------------------------------------------------ optimal: LP
def _state_aggregator(S: int, A: int) -> sp.csr_array:
    """E (S*A, S) with E[s*A + a, s] = 1."""
    return sp.csr_array((np.ones(S * A), np.repeat(np.arange(S), A), np.arange(S * A + 1)),
                        shape=(S * A, S))


def average_linear_programming(mdp: TabularMDP) -> AverageSolution:
    """The average-reward LP [puterman2005, §8.8], then a second LP for a bias solving the OE.

    Stage 1 (HiGHS):  minimise J  subject to  J + h(s) >= R[s, a] + sum_s' P[s, a, s'] h(s')
    for all (s, a). Its value is g* in weakly communicating models: any OE solution is
    feasible, and P*_pi of an optimal policy applied to the constraints gives J >= g*. Its
    dual solution x(s, a) is an optimal stationary state-action frequency.

    Stage 2: with J fixed, minimise sum_s h(s) over the same constraints with h(s_ref) = 0,
    s_ref the state of largest dual mass. The minimal supersolution meets every constraint
    with equality at its maximising action, so it solves the OE (stage 1 alone may return an
    h that is strictly above the OE on states outside the support of x).

    Deviations: stage 2 is this module's device for a bias that solves the OE; Puterman reads
    the policy off the dual instead. The certificate comes from the Bellman residual of the
    returned bias, not from the LP tolerances.

    Parameters
    ----------
    mdp : TabularMDP, weakly communicating (else ``ValueError``)

    Returns
    -------
    AverageSolution (method "lp"; iterations = LP solves; ``converged=False`` if HiGHS fails,
    with the certificate of the zero bias or of the stage-1 bias)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import average_linear_programming
    >>> stay_or_swap = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> sol = average_linear_programming(TabularMDP(stay_or_swap, [[0.0, 0.0], [1.0, 0.0]], 1.0))
    >>> round(sol.gain, 9), sol.policy.tolist()
    (1.0, [1, 0])
    """
    _check_mdp(mdp, "average_linear_programming")
    _require_weakly_communicating(mdp, "the average-reward linear program")
    S, A = mdp.S, mdp.A
    D = (mdp.csr_P() - _state_aggregator(S, A)).tocsr()        # rows: P[s, a] - e_s
    b = -mdp.R.reshape(S * A)
    A1 = sp.hstack([sp.csr_array(-np.ones((S * A, 1))), D]).tocsr()
    c1 = np.zeros(S + 1)
    c1[0] = 1.0
    res = scipy.optimize.linprog(c1, A_ub=A1, b_ub=b, bounds=[(None, None)] * (S + 1),
                                 method="highs")
    if res.status != 0:
        return _certify_average(mdp, np.zeros(S), method="lp", iterations=1, converged=False)
    J = float(res.x[0])
    x = -np.asarray(res.ineqlin.marginals).reshape(S, A)
    s_ref = int(np.argmax(x.sum(axis=1)))
    bounds = [(None, None)] * S
    bounds[s_ref] = (0.0, 0.0)
    res2 = scipy.optimize.linprog(np.ones(S), A_ub=D, b_ub=b + J, bounds=bounds,
                                  method="highs")
    if res2.status != 0:
        return _certify_average(mdp, np.asarray(res.x[1:], dtype=np.float64), method="lp",
                                iterations=1, converged=False)
    return _certify_average(mdp, np.asarray(res2.x, dtype=np.float64), method="lp",
                            iterations=2, converged=True)


# ------------------------------------------------------------------ optimal: PI
def _multichain_pi(mdp: TabularMDP, pi: np.ndarray, max_iter: int):
    """Howard's multichain policy iteration [puterman2005, §9.2.1] from deterministic pi.

    Evaluation: exact (g, h) of pi by :func:`_gain_bias`. Improvement, keeping the current
    action unless another beats it by more than thr = TIE_RTOL (1 + max|R| + sp(h)):
    (a) gain step: pi(s) <- argmax_a sum_s' P[s, a, s'] g(s'); if nothing changes,
    (b) bias step among the gain maximisers: pi(s) <- argmax_a R[s, a] + P h. Stop when
    neither step changes pi.
    """
    S = mdp.S
    zeros_R = np.zeros((S, mdp.A))
    rows = np.arange(S)
    R_max = float(np.abs(mdp.R).max())
    converged, k = False, 0
    for k in range(1, max_iter + 1):
        ev = _gain_bias(_dense(mdp.P_pi(pi)), mdp.R_pi(pi))
        pi_eval = pi
        g, h = ev.gain, ev.bias
        thr = TIE_RTOL * (1.0 + R_max + float(np.ptp(h)))
        Pg = _q_undiscounted(mdp, np.asarray(g), zeros_R)
        best_g = Pg.max(axis=1)
        switch = best_g > Pg[rows, pi] + thr
        if switch.any():
            pi = np.where(switch, np.argmax(Pg, axis=1), pi).astype(np.int64)
            continue
        Q = _q_undiscounted(mdp, np.asarray(h))
        Qa = np.where(Pg >= best_g[:, None] - thr, Q, -np.inf)
        switch = Qa.max(axis=1) > Q[rows, pi] + thr
        if not switch.any():
            converged = True
            break
        pi = np.where(switch, np.argmax(Qa, axis=1), pi).astype(np.int64)
    return pi_eval, ev, k, converged            # the last evaluated policy and its (g, h)


def _initial_policy(mdp: TabularMDP, pi0: Any) -> np.ndarray:
    if pi0 is None:
        return np.zeros(mdp.S, dtype=np.int64)
    pi = mdp.policy(pi0, "pi0")
    if pi.ndim != 1:
        raise ValueError(f"pi0 has shape {pi.shape}; policy iteration starts from a "
                         f"deterministic policy (S,) = ({mdp.S},) of integer actions")
    return np.array(pi)


def average_policy_iteration(mdp: TabularMDP, *, max_iter: int = 10_000,
                             pi0: Any = None) -> AverageSolution:
    """Optimal gain and bias by Howard's multichain policy iteration [puterman2005, §9.2].

    Each policy is evaluated exactly (:func:`policy_gain`, valid for multichain policies,
    which occur along the way even in communicating models); the improvement step first
    improves the gain ``P g`` and then the bias ``R + P h`` (see :func:`solve_multichain`).
    At termination in a weakly communicating model g is constant and h solves the OE, so the
    result is exact up to round-off. O(S^3) per iteration (dense).

    Parameters
    ----------
    mdp : TabularMDP, weakly communicating (else ``ValueError``)
    max_iter : int >= 1, improvement budget
    pi0 : (S,) int initial deterministic policy, default all zeros

    Returns
    -------
    AverageSolution (method "pi"; ``policy`` is the final policy of the iteration)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import average_policy_iteration
    >>> stay_or_swap = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> sol = average_policy_iteration(TabularMDP(stay_or_swap, [[0.0, 0.0], [1.0, 0.0]], 1.0))
    >>> sol.gain, sol.bias.tolist(), sol.span, sol.policy.tolist()
    (1.0, [0.0, 1.0], 1.0, [1, 0])
    """
    _check_mdp(mdp, "average_policy_iteration")
    max_iter = check_int("max_iter", max_iter, low=1)
    _require_weakly_communicating(mdp, "average-reward policy iteration")
    pi, ev, k, converged = _multichain_pi(mdp, _initial_policy(mdp, pi0), max_iter)
    return _certify_average(mdp, np.array(ev.bias), method="pi", iterations=k,
                            converged=converged, policy=pi)


def solve_multichain(mdp: TabularMDP, *, max_iter: int = 10_000,
                     pi0: Any = None) -> MultichainSolution:
    """Optimal gain vector g*(s) of any finite model by multichain policy iteration.

    Howard's algorithm [puterman2005, §9.2.1]: evaluate pi exactly (g, h with P* h = 0),
    improve the gain (argmax_a P g), and only when no state can improve it, improve the bias
    among the gain maximisers (argmax R + P h); keep the current action on ties. It stops
    at a policy that solves the multichain optimality equations
    max_a P g = g, max_{a: P g = g} R + P h = g + h [puterman2005, §9.1], hence is
    gain-optimal from every state; it terminates after finitely many improvements
    [puterman2005, §9.2].

    Parameters
    ----------
    mdp : TabularMDP, any structure
    max_iter : int >= 1, improvement budget
    pi0 : (S,) int initial deterministic policy, default all zeros

    Returns
    -------
    MultichainSolution with gain (S,), bias (S,), policy (S,)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import solve_multichain
    >>> P = np.zeros((3, 2, 3)); P[0, 0, 1] = P[0, 1, 2] = 1.0   # state 0 picks a trap
    >>> P[1, :, 1] = 1.0; P[2, :, 2] = 1.0                       # traps paying 1 and 2
    >>> R = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])
    >>> sol = solve_multichain(TabularMDP(P, R, gamma=1.0))
    >>> sol.gain.tolist(), sol.policy.tolist()
    ([2.0, 1.0, 2.0], [1, 0, 0])
    """
    _check_mdp(mdp, "solve_multichain")
    max_iter = check_int("max_iter", max_iter, low=1)
    pi, ev, k, converged = _multichain_pi(mdp, _initial_policy(mdp, pi0), max_iter)
    g, h = np.asarray(ev.gain), np.asarray(ev.bias)
    Pg = _q_undiscounted(mdp, g, np.zeros((mdp.S, mdp.A)))
    r1 = float(np.abs(Pg.max(axis=1) - g).max())
    thr = TIE_RTOL * (1.0 + float(np.abs(mdp.R).max()) + float(np.ptp(h)))
    Q = np.where(Pg >= Pg.max(axis=1, keepdims=True) - thr, _q_undiscounted(mdp, h), -np.inf)
    r2 = float(np.abs(Q.max(axis=1) - g - h).max())
    return MultichainSolution(ev.gain, ev.bias, readonly(pi), k, converged, max(r1, r2))


# ------------------------------------------------------------------ dispatch
AVERAGE_SOLVERS = {"rvi": relative_value_iteration, "lp": average_linear_programming,
                   "pi": average_policy_iteration}


def solve_average(mdp: TabularMDP, method: str = "pi", **options: Any) -> AverageSolution:
    """Optimal gain, bias, span and policy of a weakly communicating model, certified.

    ``method``: "pi" (multichain policy iteration with exact evaluation; exact up to
    round-off; default), "rvi" (relative value iteration with the aperiodicity transform;
    options tau, eps, max_iter, s_ref, h0; scales to large sparse models) or "lp" (HiGHS).
    Models that are not weakly communicating are refused with a ``ValueError`` naming
    :func:`solve_multichain`, whose gain is a vector; so ``gain`` here is always one float.

    The bias is normalised to ``min(bias) == 0``; ``span = sp(bias)``. In a unichain model
    the OE determines the bias up to a constant, so all methods agree; in a communicating
    model that is not unichain the OE can have solutions that differ by more than a constant
    (on states no optimal policy keeps recurrent), and methods may return different ones,
    each solving the OE (the gain agrees). See :class:`AverageSolution` for the certificate
    and the tolerance of ``optimal_actions``.

    Parameters
    ----------
    mdp : TabularMDP, weakly communicating; ``gamma`` is ignored
    method : "pi" | "rvi" | "lp"
    **options : passed to :func:`average_policy_iteration`,
        :func:`relative_value_iteration` or :func:`average_linear_programming`

    Returns
    -------
    AverageSolution with gain (float), bias (S,), span, policy (S,), optimal_actions (S, A),
    Q (S, A), iterations, converged, error_bound, residual, method

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import solve_average
    >>> stay_or_swap = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])
    >>> avg = solve_average(TabularMDP(stay_or_swap, [[0.0, 0.0], [1.0, 0.0]], gamma=1.0))
    >>> avg.gain, avg.bias.tolist(), avg.span, avg.policy.tolist()
    (1.0, [0.0, 1.0], 1.0, [1, 0])
    """
    _check_mdp(mdp, "solve_average")
    check_choice("method", method, tuple(AVERAGE_SOLVERS))
    return AVERAGE_SOLVERS[method](mdp, **options)


# ------------------------------------------------------------------ diameter
def _min_hitting_times(P: np.ndarray, t: int, max_iter: int) -> np.ndarray:
    """min_pi E[steps to reach t] from every state (0 at t), in a communicating model.

    Stochastic shortest path with unit cost and t absorbing, solved by policy iteration
    [bertsekas1991]: start from a proper policy (each state takes the lowest action that can
    step one breadth-first layer closer to t), evaluate (I - P_pi) T = 1 off t exactly,
    improve by argmin_a 1 + P T keeping the current action on ties; policies stay proper.
    """
    S, A, _ = P.shape
    supp = P > 0
    pi = np.zeros(S, dtype=np.int64)
    layer = np.zeros(S, dtype=bool)
    layer[t] = True
    seen = layer.copy()
    while not seen.all():
        step = supp[:, :, layer].any(axis=2) & ~seen[:, None]     # (S, A)
        new = step.any(axis=1)
        if not new.any():
            raise AssertionError("unreachable target in a model checked to be communicating")
        pi[new] = np.argmax(step[new], axis=1)
        seen |= new
        layer = new
    live = np.flatnonzero(np.arange(S) != t)
    rows = np.arange(S)
    T = np.zeros(S)
    for _ in range(max_iter):
        M = np.eye(live.size) - P[live, pi[live]][:, live]
        T[live] = scipy.linalg.solve(M, np.ones(live.size), check_finite=False)
        Q = 1.0 + P[:, :, live] @ T[live]                            # (S, A)
        thr = TIE_RTOL * (1.0 + float(T.max()))
        switch = Q.min(axis=1) < Q[rows, pi] - thr
        switch[t] = False
        if not switch.any():
            break
        pi = np.where(switch, np.argmin(Q, axis=1), pi)
    return T


def diameter(mdp: TabularMDP, *, max_iter: int = 10_000) -> float:
    """Diameter D = max_{s != s'} min_pi E[time to reach s' from s] [jaksch2010, Def. 1].

    One stochastic-shortest-path problem per target state, each solved exactly by policy
    iteration (dense, O(S^3) per evaluation). Returns ``inf`` when the model is not
    communicating (some state can never be reached from some other); 0.0 when S == 1.
    Bound it relates to: sp(h*) <= (g* - min R) D for any OE solution h* (from
    h >= R - g* + P h along the fastest route; [jaksch2010, §4.3] for R in [0, 1]).

    Parameters
    ----------
    mdp : TabularMDP
    max_iter : int >= 1, policy-iteration budget per target state

    Returns
    -------
    float, D >= 1 (or 0.0 for S == 1, ``inf`` if not communicating)

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox import TabularMDP
    >>> from rlsandbox.dp.average import diameter
    >>> ring = np.roll(np.eye(4), 1, axis=1)[:, None, :]      # 0 -> 1 -> 2 -> 3 -> 0
    >>> diameter(TabularMDP(ring, np.zeros((4, 1)), gamma=1.0))
    3.0
    """
    _check_mdp(mdp, "diameter")
    max_iter = check_int("max_iter", max_iter, low=1)
    if not is_communicating(mdp):
        return float("inf")
    P = np.ascontiguousarray(mdp.dense_P())
    return float(max(_min_hitting_times(P, t, max_iter).max() for t in range(mdp.S)))
