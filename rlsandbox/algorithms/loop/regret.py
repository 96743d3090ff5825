"""Exact regret bookkeeping for average-reward runs [card §2.2, §3.4; D].

Regret of a run (card §2.1; the paper's definition uses mean rewards, UCRL2's the realised ones)

    Reg(T) = sum_{t=1}^T (J* - r(s_t, a_t)),        Delta(T) = T J* - sum_t r_t.

Optimal gap ``Delta*(s, a) = J* + V*(s) - r(s, a) - (P V*)(s, a) >= 0`` (0 exactly on the
actions that attain the optimality equation). Path-wise (card §2.2)

    Reg(T) = G(T) + V*(s_{T+1}) - V*(s_1) + sum_t xi_t,
    G(T) = sum_t Delta*(s_t, a_t),        xi_t = (P V*)(s_t, a_t) - V*(s_{t+1}),

so ``|E Reg(T) - E G(T)| <= sp(V*)``; the gap-regret ``G`` is monotone and has far lower
variance, and rates are fitted on it.

LOOP's decomposition (card §3.4, exact and path-wise): with ``f_t`` the hypothesis in force at
``t`` and ``f_{T+1} := f_T``,

    Reg(T) = sum_t (J* - J_{f_t})                                   optimism
           + sum_t E(f_t)(s_t, a_t)                                 Bellman error
           + sum_t [(P V_{f_t})(s_t, a_t) - V_{f_t}(s_{t+1})]       martingale
           + sum_t [V_{f_t}(s_{t+1}) - V_{f_{t+1}}(s_{t+1})]        switching (0 off switches)
           + V_{f_{T+1}}(s_{T+1}) - V_{f_1}(s_1)                    boundary.

It follows from ``J_f - r(s, a) = E(f)(s, a) + (P V_f)(s, a) - V_f(s)`` for ``a = pi_f(s)``
(:mod:`.hypotheses`) and telescoping.

Shapes: a trace of T steps (:class:`~rlsandbox.algorithms.loop.trace.Trace`); cumulative
arrays (T,) with entry ``t - 1`` for ``sum_{i <= t}``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox.algorithms.loop.hypotheses import Hypothesis, true_hypothesis
from rlsandbox.algorithms.loop.trace import Trace, check_average_mdp

__all__ = ["optimal_gaps", "gap_regret", "regret", "Decomposition", "decompose",
           "expected_regret_fixed_policy"]

_EPS = float(np.finfo(np.float64).eps)
_TINY = float(np.finfo(np.float64).smallest_subnormal)


def _check(trace: Any, mdp: Any, what: str):
    mdp = check_average_mdp(mdp, what)
    if not isinstance(trace, Trace):
        raise TypeError(f"{what} expects a Trace, got {type(trace).__name__}")
    if int(trace.s.max()) >= mdp.S or int(trace.a.max()) >= mdp.A:
        raise ValueError(f"the trace visits state {int(trace.s.max())} / action "
                         f"{int(trace.a.max())}, outside the model's S = {mdp.S}, A = {mdp.A}; "
                         f"pass the model the trace was generated on")
    return mdp


def optimal_gaps(mdp: Any, f_star: Hypothesis | None = None) -> np.ndarray:
    """``Delta*(s, a) = J* + V*(s) - r(s, a) - (P V*)(s, a)``, shape (S, A) [card §2.2].

    With ``f* = (Q*, J*)`` this is ``V*(s) - Q*(s, a)``; >= 0 up to the solver's round-off.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> optimal_gaps(rls.mdps.riverswim(6, gamma=1.0))[:, 0].round(6).tolist()   # card §4 C0
    [0.423622, 1.142993, 1.755311, 1.842785, 1.855281, 1.857066]
    """
    mdp = check_average_mdp(mdp, "optimal_gaps")
    f = true_hypothesis(mdp) if f_star is None else f_star
    return f.V[:, None] - f.Q


def gap_regret(trace: Trace, mdp: Any, *, gaps: np.ndarray | None = None) -> np.ndarray:
    """Cumulative gap-regret ``G(t) = sum_{i <= t} Delta*(s_i, a_i)``, shape (T,) [card §2.2].

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.loop import Trace
    >>> mdp = rls.mdps.riverswim(6, gamma=1.0)
    >>> left = Trace("always_left", np.zeros(4, int), np.zeros(3, int), np.full(3, 0.005),
    ...              np.zeros(3, int), np.zeros(1, int), np.zeros((1, 6), int), np.zeros(1),
    ...              np.zeros((1, 6)))
    >>> gap_regret(left, mdp).round(6).tolist()        # 0.423622 per step (card §4 C1)
    [0.423622, 0.847245, 1.270867]
    """
    mdp = _check(trace, mdp, "gap_regret")
    g = optimal_gaps(mdp) if gaps is None else np.asarray(gaps, dtype=np.float64)
    return np.cumsum(g[trace.s[:-1], trace.a])


def regret(trace: Trace, mdp: Any, *, realised: bool = False,
           J_star: float | None = None) -> np.ndarray:
    """Cumulative regret ``Reg(t) = sum_{i <= t} (J* - r(s_i, a_i))`` (T,) [card §2.1].

    ``realised=True``: UCRL2's ``Delta(t) = t J* - sum r_i`` with the observed rewards.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.loop import loop_finite, FiniteClass
    >>> m = rls.mdps.riverswim(3, gamma=1.0)
    >>> tr = loop_finite(m, FiniteClass(m.P[None], m.R[None]), 100, rng=0)
    >>> bool(abs(regret(tr, m)[-1] - regret(tr, m, realised=True)[-1]) < 1e-12)  # mean rewards
    True
    """
    mdp = _check(trace, mdp, "regret")
    J = true_hypothesis(mdp).J if J_star is None else float(J_star)
    r = trace.r if realised else mdp.R[trace.s[:-1], trace.a]
    return np.cumsum(J - r)


@dataclass(frozen=True, slots=True)
class Decomposition:
    """The terms of the regret decompositions of a run (card §3.4 and §2.2), as sums.

    Attributes
    ----------
    regret : Reg(T) with mean rewards.
    optimism, bellman_error, martingale, switching, boundary : LOOP's five terms (§3.4).
    gap_regret, gap_boundary, gap_martingale : G(T), V*(s_{T+1}) - V*(s_1), sum xi_t (§2.2).
    tol_loop, tol_gap : float64 round-off allowances for the two identities (see
        :func:`decompose`).
    n_switch_terms : number of steps whose switching term is non-zero.
    """

    regret: float
    optimism: float
    bellman_error: float
    martingale: float
    switching: float
    boundary: float
    gap_regret: float
    gap_boundary: float
    gap_martingale: float
    tol_loop: float
    tol_gap: float
    n_switch_terms: int

    @property
    def loop_rhs(self) -> float:
        """Sum of the five terms of §3.4."""
        return self.optimism + self.bellman_error + self.martingale + self.switching + \
            self.boundary

    @property
    def gap_rhs(self) -> float:
        """G(T) + V*(s_{T+1}) - V*(s_1) + sum xi_t (§2.2)."""
        return self.gap_regret + self.gap_boundary + self.gap_martingale


def _sum_tol(parts: list[np.ndarray], n_ops: int) -> float:
    """Round-off allowance for summing the entries of ``parts`` (each computed with at most
    ``n_ops`` rounded operations): ``(n + n_ops) eps sum |x|`` with n the number of summands,
    twice the first-order bound (n - 1) u sum |x| of recursive summation [higham2002, §4.2]
    plus ``n_ops`` roundings per entry (u = eps / 2). With gradual underflow each rounded
    operation may also add an absolute error of up to one subnormal ulp [higham2002, §2.1]; the
    term ``n (n + n_ops) tiny`` covers those (it only matters for subnormal data)."""
    n = sum(p.size for p in parts)
    return (n + n_ops) * (_EPS * float(sum(np.abs(p).sum() for p in parts)) + n * _TINY)


def decompose(trace: Trace, mdp: Any, *, f_star: Hypothesis | None = None) -> Decomposition:
    """Both exact regret identities of a LOOP run, term by term [card §3.4, §2.2; D].

    The hypothesis of plan ``k`` is ``(trace.Q[k], trace.J[k])`` with ``V = trace.V[k]`` and the
    run played ``a_t = trace.pi[k](s_t)``; the identity of §3.4 then holds exactly in real
    arithmetic. ``tol_loop`` and ``tol_gap`` bound the float64 round-off of evaluating both
    sides: every per-step term is a dot product of length S plus a few operations (at most
    ``S + 4`` roundings), then T terms are summed; :func:`_sum_tol` applies the recursive
    summation bound to all summands of both sides.

    Raises
    ------
    ValueError
        If the trace has no ``Q`` (UCRL2) or did not play its plans' policies.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.loop import loop_value
    >>> mdp = rls.mdps.riverswim(3, gamma=1.0)
    >>> dec = decompose(loop_value(mdp, 500, rng=0), mdp)
    >>> bool(abs(dec.regret - dec.loop_rhs) <= dec.tol_loop)
    True
    """
    mdp = _check(trace, mdp, "decompose")
    if trace.Q is None:
        raise ValueError(f"decompose needs the hypotheses (Q, J) of every plan; the trace of "
                         f"{trace.algorithm!r} has none (UCRL2 records only its optimistic gain)")
    f = true_hypothesis(mdp) if f_star is None else f_star
    P = np.asarray(mdp.dense_P())
    s, a, s1, k = trace.s[:-1], trace.a, trace.s[1:], trace.epoch
    if not np.array_equal(trace.pi[k, s], a):
        i = int(np.flatnonzero(trace.pi[k, s] != a)[0])
        raise ValueError(f"step {i} played action {int(a[i])} but plan {int(k[i])}'s policy "
                         f"takes {int(trace.pi[k[i], s[i]])} in state {int(s[i])}; the "
                         f"decomposition needs a_t = pi_f(s_t)")
    r = mdp.R[s, a]
    J, V, Q = trace.J[k], trace.V[k], trace.Q[k, s, a]                # per step
    PV = np.einsum("it,it->i", P[s, a], V)                             # (P V_{f_t})(s_t, a_t)
    k_next = np.append(k[1:], k[-1])                                   # f_{T+1} := f_T
    V_next_state = V[np.arange(s.size), s1]                            # V_{f_t}(s_{t+1})
    V_next_plan = trace.V[k_next, s1]                                  # V_{f_{t+1}}(s_{t+1})
    reg_terms = f.J - r
    optimism = f.J - J
    bell = Q + J - r - PV
    mart = PV - V_next_state
    switch = V_next_state - V_next_plan
    boundary = float(trace.V[k[-1], s1[-1]] - trace.V[k[0], s[0]])
    PVs = P[s, a] @ f.V
    gaps = f.V[s] - f.Q[s, a]
    xi = PVs - f.V[s1]
    gap_boundary = float(f.V[s1[-1]] - f.V[s[0]])
    n_ops = mdp.S + 4
    tol_loop = _sum_tol([reg_terms, optimism, bell, mart, switch, np.array([boundary])], n_ops)
    tol_gap = _sum_tol([reg_terms, gaps, xi, np.array([gap_boundary])], n_ops)
    return Decomposition(float(reg_terms.sum()), float(optimism.sum()), float(bell.sum()),
                         float(mart.sum()), float(switch.sum()), boundary, float(gaps.sum()),
                         gap_boundary, float(xi.sum()), tol_loop, tol_gap,
                         int(np.count_nonzero(switch)))


def expected_regret_fixed_policy(mdp: Any, pi: Any, T: int, *,
                                 s0: int | None = None) -> np.ndarray:
    """Exact ``E[Reg(t)] = t J* - sum_{i<t} mu_1^T P_pi^i r_pi`` for t = 1..T [card §2.2].

    ``mu_1`` is the point mass on ``s0`` (default: ``mdp.rho``). Used to validate simulators.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(6, gamma=1.0)
    >>> expected_regret_fixed_policy(mdp, np.zeros(6, int), 2).round(6).tolist()
    [0.423622, 0.847245]
    """
    mdp = check_average_mdp(mdp, "expected_regret_fixed_policy")
    pi = mdp.policy(pi)
    P_pi = np.asarray(mdp.P_pi(pi).toarray() if mdp.is_sparse else mdp.P_pi(pi))
    r_pi = mdp.R_pi(pi)
    mu = np.asarray(mdp.rho, dtype=np.float64).copy() if s0 is None else np.eye(mdp.S)[s0]
    J = true_hypothesis(mdp).J
    out = np.empty(int(T))
    acc = 0.0
    for t in range(int(T)):
        acc += J - float(mu @ r_pi)
        out[t] = acc
        mu = mu @ P_pi
    return out
