"""Exact return distributions of fixed policies, the stock recursion, and the operators.

**Stock** [card §2.2]. The stock follows ``c_{t+1} = (c_t + R_t) / gamma``
(:func:`next_stock`), so ``c_t = gamma^{-t} (c_0 + sum_{i<t} gamma^i R_i)`` and, for every t,
the identity (I1) ``c_0 + G_0 = gamma^t (c_t + G_t)`` holds (expand
``G_0 = sum_{i<t} gamma^i R_i + gamma^t G_t``). The stock never changes the dynamics.

**A1: exact finite-horizon return distribution** [card §3 A1]. For a policy that may depend
on (t, s) or on (t, s, c),

    eta[T][s] = delta_0,   eta[t][s] = sum_a pi(a | t, s, c) sum_{(p, r, s')} p (b_r o m_gamma)# eta[t+1][s', (c + r)/gamma]

with T = H (finite horizon) or a truncation depth D (infinite horizon: the law of the
truncated return ``sum_{t<D} gamma^t R_t``, whose w_inf distance to the full return law is at
most ``gamma^D max(|R_min|, |R_max|) / (1 - gamma)``), and ``delta_0`` at terminal states.
The recursion is memoised on (t, s) for Markov policies and on (t, s, c) for stock policies;
equal atoms are merged (:mod:`~rlsandbox.algorithms.distributional.dists`).

**Operators** [card §2.4; bellemare2017]. In return-only form the evaluation operator of a
stationary Markov policy acts on per-state laws,
``(T^pi eta)(s) = sum_a pi(a|s) sum p (b_r o m_gamma)# eta(s')`` (:func:`evaluation_operator`);
the control operator acts on state-action laws with the greedy action of the next state,
``(T eta)(s, a) = sum p (b_r o m_gamma)# eta(s', a*(s'))``,
``a*(s') = argmax_a' F(eta(s', a'))`` (:func:`control_operator`; F = mean by default). In
stock-centric form the per-action backup is ``(Phi_a zeta)(s, c) = sum p (m_gamma)#
zeta(s', (c + r)/gamma)`` with ``zeta(⊥, c) = delta_c`` (:func:`phi`).

Policies accepted by :func:`return_distribution`: stationary ``(S,)`` int or ``(S, A)``
stochastic arrays, time-dependent ``(H, S)`` / ``(H, S, A)`` arrays, or a callable
``pi(t, s, c)`` returning an action or a length-A probability vector (a stock policy, e.g.
the :class:`~rlsandbox.algorithms.distributional.stock_dp.StockPolicy` of A2).

Deviations: history-dependent policies are not evaluated here; their return laws are
enumerated by :mod:`~rlsandbox.algorithms.distributional.brute_force` (A3).
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from rlsandbox._validate import check_int
from rlsandbox.algorithms.distributional.dists import FiniteDist, mixture, point
from rlsandbox.algorithms.distributional.model import OutcomeMDP, to_number
from rlsandbox.algorithms.distributional.objectives import Objective, mean_utility

__all__ = ["next_stock", "stock_path", "return_distribution", "evaluation_operator",
           "control_operator", "phi", "as_policy", "sample_episode"]


def next_stock(c: Any, r: Any, gamma: Any) -> Any:
    """``c' = (c + r) / gamma``, the stock recursion of the card (§2.2).

    >>> from fractions import Fraction as Fr
    >>> next_stock(Fr(-1), Fr(1, 2), Fr(1, 2))
    Fraction(-1, 1)
    """
    return (c + r) / gamma


def stock_path(c0: Any, rewards: Sequence[Any], gamma: Any) -> list:
    """Stocks ``[c_0, c_1, ..., c_T]`` along a reward sequence (card §2.2).

    >>> from fractions import Fraction as Fr
    >>> stock_path(Fr(0), [Fr(1), Fr(-1)], Fr(1, 2))        # c' = (c + r) / gamma
    [Fraction(0, 1), Fraction(2, 1), Fraction(2, 1)]
    """
    out = [c0]
    for r in rewards:
        out.append(next_stock(out[-1], r, gamma))
    return out


# ------------------------------------------------------------------------ policies
def as_policy(model: OutcomeMDP, policy: Any) -> tuple[Callable, bool]:
    """Normalise a policy to ``act(t, s, c) -> [(a, prob), ...]`` and whether it reads c.

    Arrays are validated against the model's available actions: a deterministic entry must
    be an available action, stochastic rows must put mass only on available actions (rows of
    terminal states are ignored).
    """
    S, A = model.S, model.A
    if callable(policy) and not isinstance(policy, np.ndarray):
        one = model.one()

        def act_callable(t, s, c):
            out = policy(t, s, c)
            if isinstance(out, (int, np.integer)) and not isinstance(out, bool):
                a = int(out)
                if not (0 <= a < A and model.available[s, a]):
                    raise ValueError(f"policy({t}, {s}, {c}) returned action {a}; available "
                                     f"actions of state {s}: {model.actions(s)}")
                return [(a, one)]
            probs = list(out)
            if len(probs) != A:
                raise ValueError(f"policy({t}, {s}, {c}) returned {len(probs)} probabilities; "
                                 f"expected an action or {A} probabilities")
            return [(a, to_number(f"policy({t},{s},{c})[{a}]", q, model.exact))
                    for a, q in enumerate(probs) if q != 0]
        return act_callable, True
    arr = np.asarray(policy)
    H = model.H
    if arr.dtype == object:
        raise TypeError("policy arrays must hold numbers (int actions or float probabilities)")
    integer = np.issubdtype(arr.dtype, np.integer)
    if integer and arr.shape == (S,):
        table = arr[None, :]
        timed = False
    elif integer and H is not None and arr.shape == (H, S):
        table, timed = arr, True
    elif not integer and arr.shape == (S, A):
        table, timed = arr[None], False
    elif not integer and H is not None and arr.shape == (H, S, A):
        table, timed = arr, True
    else:
        want = f"(S,) = ({S},) int or (S, A) = ({S}, {A}) float"
        if H is not None:
            want += f", or (H, S) = ({H}, {S}) int or (H, S, A) = ({H}, {S}, {A}) float"
        raise ValueError(f"policy has shape {arr.shape} and dtype {arr.dtype}; expected {want}, "
                         f"or a callable pi(t, s, c)")
    live = ~model.terminal
    if integer:
        bad = (table < 0) | (table >= A)
        bad |= ~np.take_along_axis(np.broadcast_to(model.available, (len(table), S, A)),
                                   np.clip(table, 0, A - 1)[..., None], axis=-1)[..., 0]
        bad &= live
        if bad.any():
            h, s = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"policy chooses action {table[h, s]} in state {s}"
                             f"{f' at t={h}' if timed else ''}, which is not available; "
                             f"available: {model.actions(s)}")
        one = model.one()
        return (lambda t, s, c: [(int(table[t if timed else 0, s]), one)]), False
    probs = np.asarray(table, dtype=np.float64)
    if model.exact:
        raise TypeError("stochastic policy arrays are float; for an exact model pass a callable "
                        "pi(t, s, c) returning Fractions")
    if (probs < 0).any() or (np.abs(probs.sum(-1) - 1) > 1e-9)[..., live].any():
        raise ValueError("stochastic policy rows must be >= 0 and sum to 1 (atol 1e-9)")
    leak = (probs * ~model.available).sum(-1)[..., live]
    if (leak > 0).any():
        raise ValueError("stochastic policy puts mass on unavailable actions; available[s, a] "
                         "lists the actions of each state")
    return (lambda t, s, c: [(a, float(q)) for a, q in enumerate(probs[t if timed else 0, s])
                             if q > 0]), False


# ---------------------------------------------------------------------------- A1
def return_distribution(model: OutcomeMDP, policy: Any, *, c0: Any = 0, s: int | None = None,
                        depth: int | None = None) -> FiniteDist:
    """Exact law of the return ``G = sum_t gamma^t R_t`` of a fixed policy [card §3 A1].

    Parameters
    ----------
    model : OutcomeMDP
    policy : array or callable
        See :func:`as_policy`. A stock policy sees the stock ``c_t`` started at ``c0``.
    c0 : number
        Initial stock (only stock policies read it); the result is law(G), not law(c0 + G).
    s : int, optional
        Start state (default ``model.s0``).
    depth : int, optional
        Required for an infinite-horizon model: the law of the truncated return
        ``sum_{t<depth} gamma^t R_t`` (exact when every path terminates within ``depth``).
        Not allowed with a finite ``H`` (the horizon is ``H``).

    Returns
    -------
    FiniteDist : law(G) (Fractions for exact models).

    Examples
    --------
    Instance A of the card, always risky: law(G) uniform on {-1/2, 3/2, 3, 5} (card C3).

    >>> from fractions import Fraction
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> law = return_distribution(instance_a(), np.array([0, 1, 0]))
    >>> [str(x) for x in law.atoms], str(law.cvar(Fraction(1, 2)))
    (['-1/2', '3/2', '3', '5'], '1/2')
    """
    if not isinstance(model, OutcomeMDP):
        raise TypeError(f"return_distribution expects an OutcomeMDP, got {type(model).__name__}")
    if model.H is None:
        if depth is None:
            raise ValueError("the model has an infinite horizon (H=None); pass depth=D to get "
                             "the law of the return truncated after D steps")
        T = check_int("depth", depth, low=0)
    else:
        if depth is not None:
            raise ValueError(f"depth is for infinite-horizon models; this model has H={model.H}")
        T = model.H
    start = model.s0 if s is None else check_int("s", s, low=0, high=model.S - 1)
    act, stock = as_policy(model, policy)
    c0 = model.number("c0", c0)
    g = model.gamma
    zero_law = point(0, exact=model.exact)
    memo: dict = {}

    def eta(t: int, s_: int, c: Any) -> FiniteDist:
        key = (t, s_, c) if stock else (t, s_)
        hit = memo.get(key)
        if hit is not None:
            return hit
        if t == T or model.terminal[s_]:
            out = zero_law
        else:
            weights, parts = [], []
            for a, q in act(t, s_, c):
                for p, r, s2 in model.transitions(s_, a):
                    weights.append(q * p)
                    parts.append(eta(t + 1, s2, next_stock(c, r, g)).affine(r, g))
            out = mixture(weights, parts)
        memo[key] = out
        return out

    limit = sys.getrecursionlimit()
    if T + 100 > limit:
        sys.setrecursionlimit(T + 200)
    try:
        return eta(0, start, c0)
    finally:
        sys.setrecursionlimit(limit)


def sample_episode(model: OutcomeMDP, policy: Any, *, c0: Any = 0, rng: Any,
                   depth: int | None = None) -> list[tuple[int, int, Any]]:
    """One episode ``[(s_t, a_t, r_t), ...]`` of a policy (as in :func:`return_distribution`)
    from ``model.s0``, in the model's number type. Draws one uniform per step from ``rng``
    (actions of stochastic policies: a second one). Stops at a terminal state or after H
    (or ``depth``) steps.

    Deviation: not built on :mod:`rlsandbox.sampling`, whose samplers take a ``TabularMDP``
    with rewards ``R[s, a]`` or ``R_sas[s, a, s']``; here several rewards may share one
    (s, a, s') (Instance A: R_0 in {0, 2}, both to s1) and the policy reads the stock, so the
    outcome (p, r, s') is drawn as a whole.

    >>> from rlsandbox.mdps.distributional import instance_a
    >>> [(s, a) for s, a, _ in sample_episode(instance_a(), np.array([0, 1, 0]), rng=0)]
    [(0, 0), (1, 1)]
    """
    from rlsandbox._validate import check_rng

    gen = check_rng("rng", rng)
    T = model.H if model.H is not None else check_int("depth", depth, low=0)
    act, _ = as_policy(model, policy)
    c = model.number("c0", c0)
    s = model.s0
    out = []
    for t in range(T):
        if model.terminal[s]:
            break
        choices = act(t, s, c)
        if len(choices) == 1:
            a = choices[0][0]
        else:
            u = gen.random()
            acc = 0.0
            a = choices[-1][0]
            for a_k, q in choices:
                acc += float(q)
                if u < acc:
                    a = a_k
                    break
        u = gen.random()
        acc = 0.0
        outs = model.transitions(s, a)
        p, r, s2 = outs[-1]
        for p_k, r_k, s_k in outs:
            acc += float(p_k)
            if u < acc:
                r, s2 = r_k, s_k
                break
        out.append((s, a, r))
        c = next_stock(c, r, model.gamma)
        s = s2
    return out


# ----------------------------------------------------------------------- operators
def evaluation_operator(model: OutcomeMDP, policy: Any, eta: Sequence[FiniteDist]) -> list:
    """``(T^pi eta)(s) = sum_a pi(a|s) sum_{(p,r,s')} p (b_r o m_gamma)# eta(s')`` (return-only
    form, stationary Markov pi); ``delta_0`` at terminal states [card §2.4; bellemare2017].

    Parameters
    ----------
    model : OutcomeMDP (the horizon is ignored: one application of the operator)
    policy : (S,) int or (S, A) float array
    eta : sequence of S FiniteDist

    Returns
    -------
    list of S FiniteDist

    Examples
    --------
    >>> from rlsandbox.mdps.distributional import self_loop
    >>> m = self_loop(gamma=0.5)
    >>> out = evaluation_operator(m, np.array([0]), [point(2.0, exact=False)])
    >>> out[0].atoms
    (1.0,)
    """
    if len(eta) != model.S:
        raise ValueError(f"eta has {len(eta)} entries; expected one law per state (S={model.S})")
    act, stock = as_policy(model, policy)
    if stock:
        raise TypeError("evaluation_operator takes a stationary Markov policy array; for stock "
                        "policies use phi (stock-centric form)")
    g = model.gamma
    out = []
    for s in range(model.S):
        if model.terminal[s]:
            out.append(point(0, exact=model.exact))
            continue
        weights, parts = [], []
        for a, q in act(0, s, None):
            for p, r, s2 in model.transitions(s, a):
                weights.append(q * p)
                parts.append(eta[s2].affine(r, g))
        out.append(mixture(weights, parts))
    return out


def control_operator(model: OutcomeMDP, eta: Mapping[tuple[int, int], FiniteDist], *,
                     objective: Objective | None = None,
                     fixed: Mapping[int, int] | None = None) -> dict:
    """``(T eta)(s, a) = sum p (b_r o m_gamma)# eta(s', a*(s'))`` with
    ``a*(s') = argmax_a' F(eta(s', a'))`` (lowest index on ties; F = mean by default)
    [card §2.4; bellemare2017]. Terminal next states contribute ``delta_0``.

    Parameters
    ----------
    eta : mapping (s, a) -> FiniteDist over the available state-action pairs.
    fixed : mapping s -> a, optional
        Use these next-state actions instead of the greedy ones: the *evaluation* operator
        of that policy on state-action laws (B2's control).

    Returns
    -------
    dict (s, a) -> FiniteDist, plus the greedy actions under key ``"greedy"`` (s -> a*).
    """
    F = objective if objective is not None else mean_utility()
    g = model.gamma
    greedy = {}
    for s in range(model.S):
        acts = model.actions(s)
        if acts:
            if fixed is not None and s in fixed:
                greedy[s] = int(fixed[s])
                continue
            vals = [F(eta[(s, a)]) for a in acts]
            greedy[s] = acts[int(np.argmax([float(v) for v in vals]))]
    out: dict = {}
    for s in range(model.S):
        for a in model.actions(s):
            weights, parts = [], []
            for p, r, s2 in model.transitions(s, a):
                nxt = point(0, exact=model.exact) if model.terminal[s2] else eta[(s2, greedy[s2])]
                weights.append(p)
                parts.append(nxt.affine(r, g))
            out[(s, a)] = mixture(weights, parts)
    out["greedy"] = greedy
    return out


def phi(model: OutcomeMDP, a: int, zeta: Callable[[int, Any], FiniteDist], s: int,
        c: Any) -> FiniteDist:
    """Stock-centric backup ``(Phi_a zeta)(s, c) = sum p (m_gamma)# zeta(s', (c + r)/gamma)``
    with ``zeta(⊥, c) = delta_c`` at terminal states [card §2.4].

    ``zeta`` is a callable ``(s', c') -> FiniteDist`` (the law of c' + G from s').
    """
    g = model.gamma
    weights, parts = [], []
    for p, r, s2 in model.transitions(s, a):
        c2 = next_stock(c, r, g)
        nxt = point(c2, exact=model.exact) if model.terminal[s2] else zeta(s2, c2)
        weights.append(p)
        parts.append(nxt.scale(g))
    return mixture(weights, parts)
