"""Occupancy measures, stationary distributions, divergences and coverage coefficients.

Discounted occupancy [puterman2005, §6.9.1; agarwal2021, §2]. For a policy pi and a start
distribution rho, the unnormalised discounted state occupancy is the row vector

    x^pi_rho(s) = sum_t gamma^t P(s_t = s | s_0 ~ rho, pi) = rho^T (I - gamma P_pi)^{-1}

(sums to 1/(1-gamma)); the normalised occupancy is d^pi_rho = (1 - gamma) x^pi_rho (sums to 1),
and the state-action occupancy is d^pi_rho(s, a) = d^pi_rho(s) pi(a|s). It is the unique
solution of the flow (Bellman-flow) constraints

    sum_a d(s', a) = (1 - gamma) rho(s') + gamma sum_{s, a} P(s'|s, a) d(s, a),

and V^pi(rho) = <d^pi_rho, R> / (1 - gamma). For ``gamma == 1`` with terminal states
(episodic tasks) ``normalized=False`` gives the expected number of visits to each non-terminal
state before termination, rho^T (I - P_LL)^{-1} on the live states L, so V^pi(rho) = <x, R>.
For a :class:`~rlsandbox.FiniteHorizonMDP` the occupancy is the per-step marginal
d_h(s) = P(s_h = s), shape (H, S).

Other quantities: stationary distributions of Markov chains (GTH elimination
[grassmann1985]; Cesàro limits of reducible chains [puterman2005, Appendix A.4]); the
divergences KL, total variation, chi-square and Hellinger between distributions along the
last axis [tsybakov2009, §2.4]; the sup-ratio coefficients of PG/PMD theory (distribution
mismatch [agarwal2021]; Xiao's C*_rho [xiao2022], card ``mdpo.md`` §2.4) and of offline RL
(single-policy concentrability C* = max_{s,a} d^{pi*}(s, a) / mu(s, a), card
``preference_coverage.md`` §2.5); and both sides of the performance-difference identity
[kakade2002, Lemma 6.1].

Numerics. Occupancies solve (I - gamma P_pi^T) x = rho by LU (sparse LU for CSR models) on the
states reachable from supp(rho); unreachable states get exact zeros. The matrix
M = I - gamma P_pi^T is a column diagonally dominant M-matrix, so partial pivoting never swaps
rows, and every step of the elimination and of the triangular solves adds terms of one sign:
the computed x is >= 0 entry by entry (a negative entry would raise, as an internal error).
Stationary distributions use GTH elimination, which subtracts nothing and so keeps full
relative accuracy even for tiny probabilities.

Shapes: pi (S, A) stochastic or (S,) int deterministic; rho (S,); occupancies (S,) / (S, A)
((H, S) / (H, S, A) for finite horizon).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.csgraph as csgraph
import scipy.sparse.linalg as spla
import scipy.special

from rlsandbox._validate import (
    as_stochastic, check_bool, check_distribution, check_float_array,
    check_nonnegative, check_stochastic, check_stochastic_csr, readonly,
)
from rlsandbox.dp.discounted import advantages, evaluate_discounted
from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP

__all__ = ["state_occupancy", "occupancy", "stationary_distribution", "kl", "tv", "chi2",
           "hellinger", "max_ratio", "concentrability", "distribution_mismatch",
           "performance_difference", "PerformanceDifference"]


# ----------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class PerformanceDifference:
    """Both sides of the performance-difference identity [kakade2002, Lemma 6.1].

    Attributes
    ----------
    lhs : float
        V^{pi'}(rho) - V^pi(rho), from two exact policy evaluations.
    rhs : float
        sum_{s,a} x^{pi'}_rho(s) pi'(a|s) A^pi(s, a) with the unnormalised occupancy x, i.e.
        1/(1-gamma) E_{s ~ d^{pi'}_rho, a ~ pi'(s)} [A^pi(s, a)] when gamma < 1.
    V_pi, V_pi_prime : float
        V^pi(rho) and V^{pi'}(rho).
    """

    lhs: float
    rhs: float
    V_pi: float
    V_pi_prime: float


# ----------------------------------------------------------------------------- helpers
def _require_model(mdp: Any, what: str, finite_horizon: bool = True) -> None:
    allowed = (TabularMDP, FiniteHorizonMDP) if finite_horizon else (TabularMDP,)
    if not isinstance(mdp, allowed):
        names = " or ".join(c.__name__ for c in allowed)
        hint = ("pass its exact tabular form, model.to_tabular(gamma=...)"
                if hasattr(mdp, "to_tabular") else "build one with rlsandbox.TabularMDP(P, R, gamma)")
        raise TypeError(f"{what} expects a {names}, got {type(mdp).__name__}; {hint}")


def _start(mdp: TabularMDP | FiniteHorizonMDP, rho: Any) -> np.ndarray:
    return mdp.rho if rho is None else check_stochastic("rho", rho, shape=(mdp.S,))


def _forward_reach(P_pi: np.ndarray | sp.csr_array, start: np.ndarray) -> np.ndarray:
    """Boolean mask of the states reachable (in >= 0 steps) from ``start`` along P_pi > 0."""
    G = (sp.csr_array(P_pi) > 0).tocsr()
    reach = start.copy()
    frontier = np.flatnonzero(reach)
    while frontier.size:
        nxt = np.unique(G[frontier].indices)
        nxt = nxt[~reach[nxt]]
        reach[nxt] = True
        frontier = nxt
    return reach


def _m_matrix_solve(K: np.ndarray | sp.csr_array, b: np.ndarray, scale: float) -> np.ndarray:
    """Solve (I - scale K^T) x = b for a substochastic K whose I - scale K is nonsingular.

    M = I - scale K^T has columns with |diagonal| >= sum |off-diagonal| (column k is row k
    of K), so LU with partial pivoting keeps the diagonal pivots: LAPACK (dense) directly,
    SuperLU (sparse) with a symmetric fill-reducing ordering and diagonal pivoting.
    """
    n = b.shape[0]
    if sp.issparse(K):
        M = (sp.identity(n, format="csc") - scale * sp.csc_array(K.T)).tocsc()
        lu = spla.splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                       options={"SymmetricMode": True})
        return lu.solve(b)
    M = np.eye(n) - scale * K.T
    return scipy.linalg.lu_solve(scipy.linalg.lu_factor(M, check_finite=False), b,
                                 check_finite=False)


def _nonnegative_or_raise(x: np.ndarray, what: str) -> np.ndarray:
    if (x < 0).any():   # cannot happen by the sign argument of the module docstring
        s = int(np.argmin(x))
        raise RuntimeError(f"internal error: {what}[{s}] = {x[s]:.3g} < 0 after an M-matrix "
                           f"solve that should keep signs; please report this model")
    return x


def _visits(mdp: TabularMDP, pi: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Unnormalised discounted visits rho^T (I - gamma P_pi)^{-1} (S,); for gamma == 1,
    expected visits to non-terminal states before termination (terminal states get 0)."""
    S, g = mdp.S, mdp.gamma
    P_pi = mdp.P_pi(pi)
    reach = _forward_reach(P_pi, rho > 0)
    if g == 1.0:
        if not mdp.terminal.any():
            raise ValueError("mdp.gamma == 1 and the model has no terminal states, so the "
                             "occupancy sum_t P(s_t = s) diverges. Use gamma < 1, pass "
                             "terminal=... for an episodic task, or use stationary_distribution "
                             "for the long-run (average-reward) state distribution")
        # states from which some terminal state is reachable under pi
        back = _forward_reach(sp.csr_array(P_pi).T.tocsr(), mdp.terminal.copy())
        stuck = reach & ~back
        if stuck.any():
            s = int(np.flatnonzero(stuck)[0])
            raise ValueError(f"policy is improper from rho: state {s} is reachable from rho but "
                             f"no terminal state is reachable from it ({int(stuck.sum())} such "
                             f"states), so the expected number of visits is infinite. Use a "
                             f"proper policy, or gamma < 1")
        live = reach & ~mdp.terminal
    else:
        live = reach
    x = np.zeros(S)
    idx = np.flatnonzero(live)
    if idx.size:
        if sp.issparse(P_pi):
            K = P_pi.tocsr()[idx][:, idx]
        else:
            K = P_pi[np.ix_(idx, idx)]
        x[idx] = _m_matrix_solve(K, rho[idx], g)
    return _nonnegative_or_raise(x, "occupancy")


def _fh_marginals(mdp: FiniteHorizonMDP, pi: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Per-step state marginals d_h(s) = P(s_h = s), h = 0..H-1, shape (H, S)."""
    pi = as_stochastic(pi, mdp.A)
    out = np.empty((mdp.H, mdp.S))
    nu = rho
    for h in range(mdp.H):
        out[h] = nu
        nu = np.einsum("s,sa,sat->t", nu, pi[h], mdp.P[h])
    return out


# ----------------------------------------------------------------------------- occupancies
def state_occupancy(mdp: TabularMDP | FiniteHorizonMDP, pi: Any, *, rho: Any = None,
                    normalized: bool = True) -> np.ndarray:
    """Discounted state occupancy d^pi_rho (S,) of a policy [agarwal2021, §2].

        normalized:   d(s) = (1 - gamma) sum_t gamma^t P(s_t = s),  i.e.
                      d^T = (1 - gamma) rho^T (I - gamma P_pi)^{-1},  sum_s d(s) = 1
        unnormalised: x(s) = sum_t gamma^t P(s_t = s),  sum_s x(s) = 1 / (1 - gamma)

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    pi : array (S, A) stochastic or (S,) int deterministic
        For a FiniteHorizonMDP also (H, S, A) / (H, S).
    rho : array (S,), optional
        Start distribution; ``mdp.rho`` by default.
    normalized : bool
        Multiply by (1 - gamma) so that d sums to 1. Must be False when ``gamma == 1``.

    Returns
    -------
    d : array (S,), read-only, >= 0
        Zero exactly on states unreachable from supp(rho). For ``gamma == 1`` (episodic
        model with terminal states, ``normalized=False``): expected number of visits to each
        non-terminal state before termination; 0 on terminal states. For a FiniteHorizonMDP:
        the marginals d[h, s] = P(s_h = s), shape (H, S), each row summing to 1 (the expected
        number of visits to (h, s), so ``normalized`` changes nothing).

    Raises
    ------
    ValueError
        ``gamma == 1`` with ``normalized=True``, or without terminal states, or with a policy
        that can get stuck away from the terminal states from a state reachable from rho.

    Notes
    -----
    Solves (I - gamma P_pi^T) x = rho by LU (sparse LU for CSR models); see the module
    docstring for why the result is entrywise nonnegative.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import state_occupancy
    >>> mdp = rls.mdps.riverswim()
    >>> d = state_occupancy(mdp, np.ones(mdp.S, dtype=int))
    >>> d.shape, round(float(d.sum()), 12)
    ((6,), 1.0)
    >>> x = state_occupancy(mdp, np.ones(mdp.S, dtype=int), normalized=False)
    >>> bool(np.isclose(x.sum(), 1 / (1 - mdp.gamma)))
    True
    """
    _require_model(mdp, "state_occupancy")
    normalized = check_bool("normalized", normalized)
    pi = mdp.policy(pi)
    rho = _start(mdp, rho)
    if isinstance(mdp, FiniteHorizonMDP):
        return readonly(_fh_marginals(mdp, pi, rho))
    if mdp.gamma == 1.0 and normalized:
        raise ValueError("mdp.gamma == 1: the occupancy is the expected number of visits before "
                         "termination and has no (1 - gamma) normalisation; pass "
                         "normalized=False")
    x = _visits(mdp, pi, rho)
    return readonly((1.0 - mdp.gamma) * x if normalized else x)


def occupancy(mdp: TabularMDP | FiniteHorizonMDP, pi: Any, *, rho: Any = None,
              normalized: bool = True) -> np.ndarray:
    """Discounted state-action occupancy d^pi_rho(s, a) = d^pi_rho(s) pi(a|s), shape (S, A).

    Normalised (default) it sums to 1 and satisfies the flow constraints

        sum_a d(s', a) = (1 - gamma) rho(s') + gamma sum_{s,a} P(s'|s,a) d(s, a)

    and V^pi(rho) = <d, R> / (1 - gamma) [puterman2005, §6.9.1]. Unnormalised it sums to
    1/(1-gamma) (gamma < 1) or to the expected episode length (gamma == 1, terminal states).
    See :func:`state_occupancy` for the parameters; a FiniteHorizonMDP gives (H, S, A).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import occupancy
    >>> mdp = rls.mdps.riverswim()
    >>> pi = np.full((mdp.S, mdp.A), 0.5)
    >>> d = occupancy(mdp, pi)
    >>> V = rls.evaluate(mdp, pi)
    >>> bool(np.isclose(mdp.rho @ V, (d * mdp.R).sum() / (1 - mdp.gamma)))
    True
    """
    _require_model(mdp, "occupancy")
    pi_checked = mdp.policy(pi)
    d = state_occupancy(mdp, pi_checked, rho=rho, normalized=normalized)
    return readonly(d[..., None] * as_stochastic(pi_checked, mdp.A))


# ----------------------------------------------------------------------- stationary
def _gth(P: np.ndarray) -> np.ndarray:
    """Stationary distribution of an irreducible stochastic matrix by GTH elimination.

    State reduction [grassmann1985]: censor the chain on {0..k-1} for k = n-1, ..., 1, using
    the probability of leaving k downwards, sum_{j<k} A[k, j], in place of 1 - A[k, k];
    then back-substitute. Only additions, multiplications and divisions of nonnegative
    numbers occur, so every entry keeps full relative accuracy.
    """
    A = np.array(P, dtype=np.float64, copy=True)
    n = A.shape[0]
    for k in range(n - 1, 0, -1):
        out = A[k, :k].sum()           # > 0: the censored chain on {0..k} is irreducible
        A[:k, k] /= out
        A[:k, :k] += np.outer(A[:k, k], A[k, :k])
    nu = np.zeros(n)
    nu[0] = 1.0
    for k in range(1, n):
        nu[k] = nu[:k] @ A[:k, k]
    return nu / nu.sum()


def _block(P: np.ndarray | sp.csr_array, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Dense copy of P[rows][:, cols] (only the block is densified for sparse P)."""
    if sp.issparse(P):
        return P.tocsr()[rows][:, cols].toarray()
    return P[np.ix_(rows, cols)]


def stationary_distribution(chain: Any, pi: Any = None, *, rho: Any = None) -> np.ndarray:
    """Stationary distribution nu = nu P of a Markov chain, or its Cesàro limit from rho.

    The chain is a stochastic matrix ``P`` (S, S) (dense or scipy.sparse), or a TabularMDP
    together with a policy ``pi`` (then P = P_pi). The recurrent classes are the closed
    strongly connected components of the graph P > 0 [puterman2005, Appendix A.2].

    * One recurrent class (irreducible or unichain chains): the stationary distribution is
      unique; it is returned (zero on transient states) and ``rho`` is not needed (if given,
      the Cesàro limit from rho is the same vector).
    * Several recurrent classes: stationary distributions form a simplex, so ``rho`` is
      required and the Cesàro limit

          rho^T P* = lim_N (1/N) sum_{t<N} rho^T P^t = sum_C  m_C(rho) nu_C

      is returned, with nu_C the stationary distribution of class C and m_C(rho) the
      probability of eventually entering C from rho [puterman2005, Appendix A.4]. Without
      rho a ValueError names the classes.

    Periodic chains are fine: the Cesàro limit exists and nu_C is unique per class.

    Parameters
    ----------
    chain : array (S, S), scipy.sparse (S, S) or TabularMDP
    pi : array (S, A) or (S,), only with a TabularMDP
    rho : array (S,), optional
        Start distribution for the Cesàro limit (not taken from ``mdp.rho`` implicitly).

    Returns
    -------
    nu : array (S,), read-only, >= 0, sums to 1

    Notes
    -----
    Each recurrent class is solved by GTH elimination [grassmann1985] on its dense block:
    O(n^3) time and O(n^2) memory for a class of n states.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.measures import stationary_distribution
    >>> P = np.array([[0.9, 0.1], [0.5, 0.5]])
    >>> stationary_distribution(P).round(6).tolist()     # nu = (5/6, 1/6)
    [0.833333, 0.166667]
    """
    if isinstance(chain, TabularMDP):
        if pi is None:
            raise TypeError("stationary_distribution(mdp, pi): a TabularMDP needs a policy pi "
                            "to define the chain P_pi")
        P = chain.P_pi(chain.policy(pi))
        S = chain.S
    else:
        if isinstance(chain, FiniteHorizonMDP):
            raise TypeError("stationary_distribution needs a time-homogeneous chain; a "
                            "FiniteHorizonMDP has per-step kernels (use state_occupancy for "
                            "its per-step marginals)")
        if pi is not None:
            raise TypeError("pi is only used with a TabularMDP; for a matrix chain call "
                            "stationary_distribution(P)")
        if sp.issparse(chain):
            S = chain.shape[0]
            P = check_stochastic_csr("P", chain, n_cols=S)
            if P.shape != (S, S):
                raise ValueError(f"P has shape {P.shape}; a chain's transition matrix must be "
                                 f"square (S, S)")
        else:
            P = check_stochastic("P", chain, ndim=2)
            S = P.shape[0]
            if P.shape != (S, S) or S == 0:
                raise ValueError(f"P has shape {P.shape}; a chain's transition matrix must be "
                                 f"square (S, S) with S >= 1")
    rho_arr = None if rho is None else check_stochastic("rho", rho, shape=(S,))
    G = (sp.csr_array(P) > 0).tocsr()
    n_comp, label = csgraph.connected_components(G, directed=True, connection="strong")
    rows, cols = G.nonzero()
    leaves = label[rows] != label[cols]
    closed = np.ones(n_comp, dtype=bool)
    closed[label[rows[leaves]]] = False
    classes = [np.flatnonzero(label == c) for c in np.flatnonzero(closed)]
    classes.sort(key=lambda members: members[0])
    if len(classes) > 1 and rho_arr is None:
        reps = ", ".join(f"{{{', '.join(map(str, c[:3]))}{', ...' if c.size > 3 else ''}}}"
                         for c in classes[:4])
        raise ValueError(f"the chain has {len(classes)} recurrent classes ({reps}"
                         f"{', ...' if len(classes) > 4 else ''}), so its stationary "
                         f"distribution is not unique; pass rho=... to get the Cesàro limit "
                         f"rho^T P* from that start distribution")
    nu = np.zeros(S)
    if len(classes) == 1:
        nu[classes[0]] = _gth(_block(P, classes[0], classes[0]))
        return readonly(nu)
    transient = np.ones(S, dtype=bool)
    for c in classes:
        transient[c] = False
    T = np.flatnonzero(transient)
    mass_T = np.zeros(0)
    if T.size:   # expected visits to transient states from rho: z^T = rho_T^T (I - Q)^{-1}
        Q = P.tocsr()[T][:, T] if sp.issparse(P) else P[np.ix_(T, T)]
        mass_T = _nonnegative_or_raise(_m_matrix_solve(Q, rho_arr[T], 1.0), "visits")
    for c in classes:
        enter = float(rho_arr[c].sum())
        if T.size:
            enter += float(mass_T @ _block(P, T, c).sum(axis=1))
        nu[c] = enter * _gth(_block(P, c, c))
    return readonly(nu)


# ----------------------------------------------------------------------- divergences
def _pair(p: Any, q: Any) -> tuple[np.ndarray, np.ndarray]:
    for name, x in (("p", p), ("q", q)):
        if np.ndim(x) == 0:
            raise ValueError(f"{name} is a scalar; expected a distribution (n,) or a stack of "
                             f"distributions (..., n) along the last axis")
    p = check_stochastic("p", p)
    q = check_stochastic("q", q)
    if p.shape[-1] != q.shape[-1]:
        raise ValueError(f"p has {p.shape[-1]} outcomes (shape {p.shape}) but q has "
                         f"{q.shape[-1]} (shape {q.shape}); distributions must share the last axis")
    try:
        p, q = np.broadcast_arrays(p, q)
    except ValueError:
        raise ValueError(f"p of shape {p.shape} and q of shape {q.shape} do not broadcast; "
                         f"pass stacks with compatible leading axes") from None
    return p, q


def _out(x: np.ndarray) -> float | np.ndarray:
    return float(x) if x.ndim == 0 else readonly(x)


def kl(p: Any, q: Any) -> float | np.ndarray:
    """Kullback-Leibler divergence KL(p || q) = sum_i p_i log(p_i / q_i), along the last axis.

    Conventions: 0 log(0 / q) = 0 for every q >= 0; KL = +inf when some p_i > 0 has q_i = 0
    (p is not absolutely continuous w.r.t. q). Natural logarithm (nats).

    Parameters
    ----------
    p, q : array (n,) or (..., n)
        Distributions along the last axis (rows sum to 1 within 1e-9); leading axes broadcast.

    Returns
    -------
    float for 1-D inputs, else array (...).

    Notes
    -----
    Summed termwise as p log(p/q) - p + q (``scipy.special.kl_div``), each term >= 0; the sum
    equals KL(p || q) exactly when sum p == sum q, and differs from sum p log(p/q) by
    sum q - sum p (at most the validation tolerance 1e-9) otherwise.

    Examples
    --------
    >>> from rlsandbox.measures import kl
    >>> round(kl([0.5, 0.5], [0.25, 0.75]), 6)     # 0.5 log 2 + 0.5 log(2/3)
    0.143841
    >>> kl([0.5, 0.5], [1.0, 0.0])
    inf
    """
    p, q = _pair(p, q)
    return _out(scipy.special.kl_div(p, q).sum(axis=-1))


def tv(p: Any, q: Any) -> float | np.ndarray:
    """Total variation distance TV(p, q) = (1/2) sum_i |p_i - q_i| = max_E |p(E) - q(E)|.

    In [0, 1], along the last axis (see :func:`kl` for shapes).

    Examples
    --------
    >>> from rlsandbox.measures import tv
    >>> tv([0.5, 0.5], [0.25, 0.75])
    0.25
    """
    p, q = _pair(p, q)
    return _out(0.5 * np.abs(p - q).sum(axis=-1))


def chi2(p: Any, q: Any) -> float | np.ndarray:
    """Pearson chi-square divergence chi2(p || q) = sum_i (p_i - q_i)^2 / q_i, last axis.

    Terms with p_i = q_i = 0 count 0; chi2 = +inf when some p_i > 0 has q_i = 0.
    KL(p || q) <= log(1 + chi2(p || q)) <= chi2(p || q) [tsybakov2009, Lemma 2.7].

    Examples
    --------
    >>> from rlsandbox.measures import chi2
    >>> chi2([0.5, 0.5], [0.25, 0.75])      # 0.0625/0.25 + 0.0625/0.75
    0.3333333333333333
    """
    p, q = _pair(p, q)
    num = (p - q) ** 2
    terms = np.zeros(p.shape)
    np.divide(num, q, out=terms, where=q > 0)
    terms[(q == 0) & (p > 0)] = np.inf
    return _out(terms.sum(axis=-1))


def hellinger(p: Any, q: Any) -> float | np.ndarray:
    """Hellinger distance h(p, q) = sqrt( (1/2) sum_i (sqrt p_i - sqrt q_i)^2 ), in [0, 1].

    Normalisation: the factor 1/2 makes h^2 = 1 - sum_i sqrt(p_i q_i) (one minus the
    Bhattacharyya coefficient). With it, h^2 <= TV <= h sqrt(2 - h^2) <= sqrt(2) h
    [tsybakov2009, Lemma 2.3, whose H^2 is 2 h^2].

    Examples
    --------
    >>> from rlsandbox.measures import hellinger
    >>> hellinger([1.0, 0.0], [0.0, 1.0])
    1.0
    """
    p, q = _pair(p, q)
    return _out(np.sqrt(0.5 * ((np.sqrt(p) - np.sqrt(q)) ** 2).sum(axis=-1)))


# ------------------------------------------------------------ coverage / mismatch ratios
def max_ratio(p: Any, q: Any) -> float:
    """|| p / q ||_inf = max_i p_i / q_i over all entries, for nonnegative arrays.

    Conventions: entries with p_i = 0 are ignored (0/0 = 0, 0/q = 0); the result is +inf when
    some p_i > 0 has q_i = 0 (the support condition fails). Shapes must match.

    Examples
    --------
    >>> from rlsandbox.measures import max_ratio
    >>> max_ratio([0.2, 0.8, 0.0], [0.5, 0.4, 0.1])
    2.0
    >>> max_ratio([0.5, 0.5], [1.0, 0.0])
    inf
    """
    p_arr = check_float_array("p", p)
    q_arr = check_float_array("q", q)
    if p_arr.shape != q_arr.shape:
        raise ValueError(f"p has shape {p_arr.shape} but q has shape {q_arr.shape}; "
                         f"max_ratio compares entry by entry")
    check_nonnegative("p", p_arr)
    check_nonnegative("q", q_arr)
    pos = p_arr > 0
    if not pos.any():
        return 0.0
    if (q_arr[pos] == 0).any():
        return float("inf")
    return float(np.max(p_arr[pos] / q_arr[pos]))


def concentrability(mdp: TabularMDP | FiniteHorizonMDP, pi: Any, mu: Any, *,
                    rho: Any = None) -> float:
    """Single-policy concentrability of a data distribution mu for the policy pi.

        C^pi(mu) = max_{s,a} d^pi_rho(s, a) / mu(s, a)      (mu of shape (S, A))
        C^pi(mu) = max_s     d^pi_rho(s)    / mu(s)         (mu of shape (S,))

    with the normalised discounted occupancy d^pi_rho; for a FiniteHorizonMDP the max also
    runs over steps, max_{h,s,a} d_h^pi(s, a) / mu_h(s, a) with mu (H, S, A) or (H, S).
    C^{pi*}(mu) is the partial-coverage coefficient C* of offline RL (card
    ``preference_coverage.md`` §2.5: C_inf(pi*); ``r2pvi.md`` for per-step data). It is +inf
    when mu misses a pair that pi visits, and >= 1 whenever finite (both sum to 1).

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    pi : array (S, A) / (S,) (or per-step for finite horizon)
        The comparator policy (pi* for C*).
    mu : array (S, A) or (S,); (H, S, A) or (H, S) for finite horizon
        The data distribution (each step's slice sums to 1), e.g. ``data.mu`` or
        ``data.counts() / len(data)`` of a :class:`rlsandbox.sampling.Transitions`.
    rho : array (S,), optional
        Start distribution of d^pi; ``mdp.rho`` by default.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import concentrability
    >>> mdp = rls.mdps.riverswim()
    >>> pi_star = rls.solve(mdp).policy
    >>> mu = np.full((mdp.S, mdp.A), 1 / (mdp.S * mdp.A))     # uniform data
    >>> C = concentrability(mdp, pi_star, mu)
    >>> 1.0 <= C <= mdp.S * mdp.A
    True
    """
    _require_model(mdp, "concentrability")
    S, A = mdp.S, mdp.A
    lead = (mdp.H,) if isinstance(mdp, FiniteHorizonMDP) else ()
    shape = np.shape(mu)
    if shape not in ((*lead, S, A), (*lead, S)):
        raise ValueError(f"mu has shape {shape}; expected {(*lead, S, A)} (state-action data "
                         f"distribution) or {(*lead, S)} (state distribution)")
    mu_arr = check_distribution("mu", mu, shape=shape, event_ndim=len(shape) - len(lead))
    if shape == (*lead, S, A):
        target = occupancy(mdp, pi, rho=rho)
    else:
        target = state_occupancy(mdp, pi, rho=rho)
    return max_ratio(target, mu_arr)


def distribution_mismatch(mdp: TabularMDP, pi_star: Any, *, rho: Any = None, pi: Any = None,
                          mu: Any = None) -> float:
    """Distribution-mismatch coefficient || d^{pi*}_rho / nu ||_inf of PG / PMD theory.

    The denominator nu is, by the keyword given:

    * neither ``pi`` nor ``mu``: nu = rho, giving Xiao's C*_rho = || d^{pi*}_rho / rho ||_inf
      [xiao2022; card ``mdpo.md`` §2.4]. Xiao's theta_rho is this value / (1 - gamma): the
      extra 1/(1-gamma) is NOT included here.
    * ``mu`` (S,): nu = mu, the Agarwal et al. coefficient || d^{pi*}_rho / mu ||_inf where mu
      is the distribution the gradient is taken under [agarwal2021, the distribution mismatch
      coefficient].
    * ``pi``: nu = d^pi_rho, the per-iteration theta_k = || d^{pi*}_rho / d^{pi_k}_rho ||_inf.

    Occupancies are normalised (sum to 1), so a finite value is >= 1; it is +inf when nu
    misses a state d^{pi*}_rho visits.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import distribution_mismatch
    >>> mdp = rls.mdps.riverswim()
    >>> pi_star = rls.solve(mdp).policy
    >>> rho = np.full(mdp.S, 1 / mdp.S)
    >>> C = distribution_mismatch(mdp, pi_star, rho=rho)    # at most 1 / min(rho) = S
    >>> 1.0 <= C <= mdp.S
    True
    >>> distribution_mismatch(mdp, pi_star, rho=np.eye(mdp.S)[0])   # rho misses states d* visits
    inf
    """
    _require_model(mdp, "distribution_mismatch", finite_horizon=False)
    if pi is not None and mu is not None:
        raise ValueError("pass at most one of pi (denominator d^pi_rho) and mu (denominator mu); "
                         "with neither the denominator is rho")
    rho_arr = _start(mdp, rho)
    d_star = state_occupancy(mdp, pi_star, rho=rho_arr)
    if pi is not None:
        nu = state_occupancy(mdp, pi, rho=rho_arr)
    elif mu is not None:
        nu = check_distribution("mu", mu, shape=(mdp.S,))
    else:
        nu = rho_arr
    return max_ratio(d_star, nu)


# ------------------------------------------------------------ performance difference
def performance_difference(mdp: TabularMDP, pi: Any, pi_prime: Any, *,
                           rho: Any = None) -> PerformanceDifference:
    """Both sides of the performance-difference identity [kakade2002, Lemma 6.1]:

        V^{pi'}(rho) - V^pi(rho) = 1/(1-gamma) E_{s ~ d^{pi'}_rho, a ~ pi'(s)} [A^pi(s, a)]
                                 = sum_{s,a} x^{pi'}_rho(s) pi'(a|s) A^pi(s, a)

    with A^pi = Q^pi - V^pi and the unnormalised occupancy x = d / (1 - gamma). The second
    form also holds for ``gamma == 1`` episodic models when both policies are proper (x is
    then the expected number of visits before termination).

    Parameters
    ----------
    mdp : TabularMDP
    pi, pi_prime : array (S, A) or (S,)
        The baseline policy pi (whose advantages are used) and the compared policy pi'.
    rho : array (S,), optional
        ``mdp.rho`` by default.

    Returns
    -------
    PerformanceDifference
        ``lhs`` and ``rhs`` (equal up to float64 round-off), ``V_pi``, ``V_pi_prime``.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.measures import performance_difference
    >>> mdp = rls.mdps.riverswim()
    >>> out = performance_difference(mdp, np.zeros(mdp.S, dtype=int), np.ones(mdp.S, dtype=int))
    >>> bool(np.isclose(out.lhs, out.rhs, rtol=1e-10, atol=0))
    True
    """
    _require_model(mdp, "performance_difference", finite_horizon=False)
    pi = mdp.policy(pi, "pi")
    pi_prime = mdp.policy(pi_prime, "pi_prime")
    rho_arr = _start(mdp, rho)
    V = evaluate_discounted(mdp, pi)
    V_prime = evaluate_discounted(mdp, pi_prime)
    Adv = advantages(mdp, pi)
    x = occupancy(mdp, pi_prime, rho=rho_arr, normalized=False)
    V_rho, V_prime_rho = float(rho_arr @ V), float(rho_arr @ V_prime)
    return PerformanceDifference(lhs=V_prime_rho - V_rho, rhs=float((x * Adv).sum()),
                                 V_pi=V_rho, V_pi_prime=V_prime_rho)
