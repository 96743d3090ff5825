"""LOOP's common skeleton: lazy low-switching test every step, optimistic re-planning [card §3.1].

The algorithm [he2024; card §3.1, R]::

    k <- 0
    for t = 1, ..., T:
        if t = 1 or Exc_t(f^k) > c_sw * beta:          # low-switching (lazy) test
            k <- k + 1;  tau_k <- t
            B_k <- {f in H : Exc_t(f) <= beta}          # confidence set
            f^k <- argmax_{f in B_k} J_f                 # optimistic planning
        play a_t = pi_{f^k}(s_t); observe r_t, s_{t+1}

where ``Exc_t`` is the excess loss on the data before ``t``. Two incarnations are implemented
exactly (card §3.9):

* :func:`loop_value` — value-based, tabular (planner (a)): ``Exc_t(f) = sum N (Q_f + J_f -
  rhat - phat V_f)^2``;
* :func:`loop_finite` — model-based over a finite class (planner (d-i), the generic
  finite-class reference (e)): ``Exc_t(f) = L_t(f) - min_g L_t(g)`` with the value-targeted
  loss ``L_t(g) = sum_{i<t} (r_g(s_i, a_i) + (P_g V_{f_i})(s_i, a_i) - r_i - V_{f_i}(s_{i+1}))^2``
  (card §3.3), sample i regressed onto the bias of the hypothesis in force when it was
  collected.

The interaction runs in compiled code (:mod:`rlsandbox.algorithms.loop._kernels`): a kernel
plays until the lazy test fires, the planner (cvxpy for (a), an argmax for (d-i)) runs in
Python, and the kernel continues. The excess loss of the hypothesis in force is updated in
O(S) (value-based) or O(m) (finite class) per step.

Radius [card §3.1, R/S]. Value-based: ``beta = c_beta (B + 1)^2 log T`` in raw squared-loss
units (the theory constant is unknown; ``c_beta = 0.02`` is the card's prototype value). Finite
class: ``beta = (B + 1)^2 / 2 * log(m / delta)`` by default, with which the true model stays in
every confidence set with probability at least ``1 - delta`` [D]: with ``Delta_i = m_g - m_*``
(predictable) and ``eta_i = y_i - m_*(s_i, a_i)`` (conditionally centred, range <= B + 1, so
(B+1)/2-sub-Gaussian by Hoeffding's lemma), ``L_t(f*) - L_t(g) = sum (2 Delta_i eta_i -
Delta_i^2)`` and ``exp(2 (L_t(f*) - L_t(g)) / (B+1)^2)`` is a supermartingale; Ville's
inequality and a union bound over the m models give ``P(exists t, g: L_t(f*) - L_t(g) >
beta) <= delta``. Here B is the largest span in the class.

Switching [card §3.1, §6 pitfall 13]. ``c_sw`` defaults to 4 (the card author's recollection,
unverified). ``c_sw = 0`` is the no-low-switching ablation: re-plan at every step (T plans).
A plan counts as a switch even if its policy is unchanged; :class:`Trace` reports both.

Empty confidence set [S]. If no hypothesis of the class meets the radius (possible only when
realizability fails, e.g. ``B < sp(V*)``, claim C10's control), the planner returns one of least
excess loss and the lazy test of that segment fires at ``c_sw * max(beta, Exc(f^k))`` instead of
``c_sw * beta`` (which it would exceed at once, re-planning every step).

Ablations of optimism [card §4 C1 control; S]: ``planner="certainty_equivalent"`` for
:func:`loop_value`, ``optimistic=False`` (least squares) for :func:`loop_finite`.

Deviations: ``T`` is known in advance (card §6 pitfall 15, no doubling trick); the value-based
span bound ``B`` defaults to the exact ``sp(V*)`` (card §6 pitfall 3).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_bool, check_choice, check_in_range, check_int
from rlsandbox.algorithms.loop._kernels import (_excess_path, _segment_finite, _segment_tabular,
                                                _tabular_excess)
from rlsandbox.algorithms.loop.hypotheses import Hypothesis, TabularStats, true_hypothesis
from rlsandbox.algorithms.loop.planners import (FiniteClass, ValuePlanner,
                                                plan_certainty_equivalent, plan_finite,
                                                tabular_residual)
from rlsandbox.algorithms.loop.trace import (Trace, check_average_mdp, check_rewards_unit,
                                             start_run)

__all__ = ["loop_value", "loop_finite", "value_beta", "value_beta_theory", "finite_beta",
           "excess_path", "C_SW_DEFAULT", "C_BETA_DEFAULT"]

#: Switching multiplier (card §3.1: "the card author recalls 4 but this is unverified").
C_SW_DEFAULT = 4.0
#: Radius multiplier of value-based LOOP (card §3.9 (a) prototype).
C_BETA_DEFAULT = 0.02


def value_beta(T: int, B: float, c_beta: float = C_BETA_DEFAULT) -> float:
    """``beta = c_beta (B + 1)^2 log T`` (raw squared-loss units) [card §3.1, §6 pitfall 14].

    Examples
    --------
    >>> round(value_beta(1024, 1.0, 1.0), 6)           # 4 log 1024
    27.725887
    """
    T = check_int("T", T, low=2)
    B = check_in_range("B", B, low=0.0)
    c_beta = check_in_range("c_beta", c_beta, low=0.0, low_open=True)
    return c_beta * (B + 1.0) ** 2 * float(np.log(T))


def value_beta_theory(S: int, A: int, B: float, T: int, delta: float) -> float:
    """``beta = S A (B + 1)^2 log(S A sqrt(T + 1) / delta)``: the true ``f*`` stays in the
    value-based tabular confidence set at every ``t <= T`` w.p. >= 1 - delta [D].

    Derivation. ``Exc_t(f*) = sum_{s,a} S_sa^2 / N_sa`` with ``S_sa`` the sum over the visits
    of (s, a) of ``eta_i = r_i + V*(s_{i+1}) - r(s, a) - (P V*)(s, a)``: conditionally centred,
    in an interval of length ``1 + sp(V*) <= B + 1``, hence ``sigma = (B+1)/2`` sub-Gaussian
    (Hoeffding's lemma). The self-normalised bound [abbasi2011, Thm 1] with d = 1, lambda = 1
    gives, per pair and w.p. >= 1 - delta', for all n: ``S_n^2 / (n + 1) <= 2 sigma^2
    log(sqrt(n + 1) / delta')``; so ``S_n^2 / n <= 4 sigma^2 log(sqrt(T + 1) / delta')`` for
    ``1 <= n <= T``. A union bound over the S A pairs (delta' = delta / (S A)) and summing
    gives the radius. Compare the card's ``c (B+1)^2 log(T N(1/T) / delta)`` with
    ``log N ~ S A log(...)`` [card §3.1, R].

    [abbasi2011] Y. Abbasi-Yadkori, D. Pal, C. Szepesvari. Improved algorithms for linear
    stochastic bandits. NeurIPS 2011.

    Examples
    --------
    >>> round(value_beta_theory(2, 2, 1.0, 99, 0.04), 4)       # 16 log(4 * 10 / 0.04)
    110.5241
    """
    S, A = check_int("S", S, low=1), check_int("A", A, low=1)
    B = check_in_range("B", B, low=0.0)
    T = check_int("T", T, low=1)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    return S * A * (B + 1.0) ** 2 * float(np.log(S * A * np.sqrt(T + 1.0) / delta))


def excess_path(trace: Trace, f: Hypothesis) -> np.ndarray:
    """``Exc_t(f)``, the tabular excess loss of ``f`` on the first ``t`` transitions of a run,
    for t = 0..T, shape (T + 1,) [card §3.9 (a)]. With ``f = f*`` this is the coverage
    statistic of claim C3 (``f*`` is in the confidence set at ``t`` iff ``Exc_t(f*) <= beta``).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from rlsandbox.algorithms.loop import true_hypothesis
    >>> mdp = rls.mdps.riverswim(3, gamma=1.0)
    >>> tr = loop_value(mdp, 200, rng=0)
    >>> e = excess_path(tr, true_hypothesis(mdp))
    >>> e.shape, float(e[0]), bool(abs(e[tr.starts[-1]] - tr.exc_star[-1]) < 1e-9)
    ((201,), 0.0, True)
    """
    if not isinstance(trace, Trace):
        raise TypeError(f"trace must be a Trace, got {type(trace).__name__}")
    if not isinstance(f, Hypothesis):
        raise TypeError(f"f must be a Hypothesis, got {type(f).__name__}")
    out = np.empty(trace.T + 1)
    _excess_path(trace.s[:-1], trace.a, trace.r, trace.s[1:], np.ascontiguousarray(f.Q), f.J,
                 np.ascontiguousarray(f.V), out)
    return out


def finite_beta(m: int, B: float, delta: float) -> float:
    """``beta = (B + 1)^2 / 2 * log(m / delta)``: anytime coverage w.p. >= 1 - delta [D].

    Derivation in the module docstring (Hoeffding's lemma, Ville's inequality, union bound).

    Examples
    --------
    >>> round(finite_beta(10, 1.0, 0.1), 6)            # 2 log 100
    9.21034
    """
    m = check_int("m", m, low=1)
    B = check_in_range("B", B, low=0.0)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    return 0.5 * (B + 1.0) ** 2 * float(np.log(m / delta))


def _threshold(c_sw: float, beta: float) -> tuple[float, bool]:
    c_sw = check_in_range("c_sw", c_sw, low=0.0)
    return c_sw * beta, c_sw == 0.0


def loop_value(mdp: Any, T: int, *, rng: Any, B: float | None = None,
               c_beta: float = C_BETA_DEFAULT, beta: float | None = None,
               c_sw: float = C_SW_DEFAULT, planner: str = "optimistic", noisy: bool = False,
               reference: Hypothesis | None = None) -> Trace:
    """Value-based tabular LOOP with exact optimistic planning [card §3.1, §3.2, §3.9 (a)].

    Parameters
    ----------
    mdp : TabularMDP
        The true model (rewards in [0, 1]; ``gamma`` ignored). It is only sampled, except that
        ``B`` defaults to its exact ``sp(V*)`` and the true hypothesis is solved for the
        ``exc_star`` diagnostic.
    T : int >= 2
        Horizon (known in advance).
    rng : Generator or seed, keyword-only
        Draws the start state and the transition (and reward) uniforms (:mod:`.trace`).
    B : float, optional
        Span bound of the class; default the exact ``sp(V*)``.
    c_beta : float
        Radius multiplier: ``beta = c_beta (B + 1)^2 log T`` (ignored if ``beta`` is given).
    beta : float, optional
        Radius in raw squared-loss units.
    c_sw : float >= 0
        Switching multiplier; 0 re-plans at every step (the no-low-switching ablation).
    planner : {"optimistic", "certainty_equivalent"}
        The exact optimistic planner (a), or the no-optimism ablation.
    noisy : bool
        Bernoulli rewards with mean ``R`` (else the mean reward is observed).
    reference : Hypothesis, optional
        Hypothesis whose excess loss is logged at each re-plan (default: the true ``f*``).

    Returns
    -------
    Trace
        With ``Q``, ``J``, ``V``, ``pi`` of every plan, ``exc_star`` (Exc of the reference at
        each re-plan), ``beta``, and in ``info`` the solver counts.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> tr = loop_value(rls.mdps.riverswim(3, gamma=1.0), 300, rng=0)
    >>> tr.T, tr.n_plans >= 2, round(float(tr.J[0]), 6)  # first plan: nothing known, J = 1
    (300, True, 1.0)
    """
    mdp = check_average_mdp(mdp, "loop_value")
    check_rewards_unit(mdp, "loop_value")
    T = check_int("T", T, low=2)
    check_choice("planner", planner, ("optimistic", "certainty_equivalent"))
    noisy = check_bool("noisy", noisy)
    f_star = true_hypothesis(mdp) if reference is None else reference
    if B is None:
        B = float(f_star.V.max() - f_star.V.min())
    B = check_in_range("B", B, low=0.0, low_open=True)
    beta = value_beta(T, B, c_beta) if beta is None else check_in_range("beta", beta, low=0.0)
    threshold, every_step = _threshold(c_sw, beta)
    u_s, u_r, cdf, R, out_s, out_a, out_r, epoch = start_run(
        mdp, T, rng=rng, noisy=noisy)
    S, A = mdp.S, mdp.A
    stats = TabularStats.empty(S, A)
    N, Rsum, Nsas = (np.array(x) for x in (stats.N, stats.Rsum, stats.Nsas))
    terms = np.zeros((S, A))
    vp = ValuePlanner(S, A, B) if planner == "optimistic" else None
    starts, plans, exc_star = [], [], []
    counts = {"programs": 0, "optimal": 0, "inaccurate": 0, "infeasible": 0, "failed": 0,
              "fallback": 0}
    i = 0
    while i < T:
        st = TabularStats(N, Rsum, Nsas)
        seg_threshold = threshold
        if vp is not None:
            f, pinfo = vp.plan(*tabular_residual(st), beta)
            for key in ("programs", "optimal", "inaccurate", "infeasible", "failed"):
                counts[key] += getattr(pinfo, key)
            counts["fallback"] += int(pinfo.fallback)
            if pinfo.fallback:             # empty set: lazy test relative to Exc(f^k) [S]
                seg_threshold = c_sw * max(beta, pinfo.excess)
        else:
            f = plan_certainty_equivalent(st, int(out_s[i]))
        exc_star.append(float(_tabular_excess(N, Rsum, Nsas, np.ascontiguousarray(f_star.Q),
                                              f_star.J, np.ascontiguousarray(f_star.V),
                                              np.empty((S, A)))))
        _tabular_excess(N, Rsum, Nsas, np.ascontiguousarray(f.Q), f.J,
                        np.ascontiguousarray(f.V), terms)
        starts.append(i)
        plans.append(f)
        i_next = _segment_tabular(i, T, cdf, R, noisy, u_s, u_r, np.ascontiguousarray(f.pi),
                                  np.ascontiguousarray(f.Q), f.J, np.ascontiguousarray(f.V),
                                  seg_threshold, every_step, N, Rsum, Nsas, terms, out_s, out_a,
                                  out_r)
        epoch[i:i_next] = len(plans) - 1
        i = int(i_next)
    info = {"planner": planner, "B": B, "c_beta": c_beta, "c_sw": float(c_sw), "noisy": noisy,
            "reward_for_regret": "mean", **counts}
    return Trace(f"loop_value[{planner}]", out_s, out_a, out_r, epoch,
                 np.array(starts, dtype=np.int64), np.stack([f.pi for f in plans]),
                 np.array([f.J for f in plans]), np.stack([f.V for f in plans]),
                 np.stack([f.Q for f in plans]), np.array(exc_star), float(beta), info)


def loop_finite(mdp: Any, hclass: FiniteClass, T: int, *, rng: Any, beta: float | None = None,
                delta: float = 0.05, c_sw: float = C_SW_DEFAULT, optimistic: bool = True,
                noisy: bool = False, true_index: int | None = None) -> Trace:
    """Model-based LOOP over a finite class of models [card §3.1, §3.3, §3.9 (d-i), (e)].

    Parameters
    ----------
    mdp : TabularMDP
        The true model (sampled only); it should be in ``hclass`` (realizability).
    hclass : FiniteClass
        The hypothesis class, models ``(P_g, R_g)`` with precomputed ``(J_g, V_g, pi_g)``.
    T : int >= 1
    rng : Generator or seed, keyword-only
    beta : float, optional
        Radius; default :func:`finite_beta` ``(m, B, delta)`` with B = ``hclass.B``.
    delta : float in (0, 1)
        Confidence of the default radius.
    c_sw : float >= 0
        Switching multiplier; 0 re-plans at every step.
    optimistic : bool
        False: the least-squares model instead of the optimistic one (no-optimism ablation).
    noisy : bool
        Bernoulli rewards with mean ``R``.
    true_index : int, optional
        Index of the true model in the class; its excess loss is logged at each re-plan.

    Returns
    -------
    Trace
        ``info["chosen"]`` lists the model index of every plan.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> m = rls.mdps.riverswim(3, gamma=1.0)
    >>> fc = FiniteClass(np.stack([m.P, m.P]), np.stack([m.R, 0.5 * m.R]))
    >>> tr = loop_finite(m, fc, 200, rng=0, true_index=0)
    >>> tr.info["chosen"][0], tr.n_plans
    (0, 1)
    """
    mdp = check_average_mdp(mdp, "loop_finite")
    check_rewards_unit(mdp, "loop_finite")
    if not isinstance(hclass, FiniteClass):
        raise TypeError(f"hclass must be a FiniteClass, got {type(hclass).__name__}")
    if (hclass.S, hclass.A) != (mdp.S, mdp.A):
        raise ValueError(f"hclass has (S, A) = {(hclass.S, hclass.A)} but the model has "
                         f"{(mdp.S, mdp.A)}; the class must model this MDP")
    T = check_int("T", T, low=1)
    noisy = check_bool("noisy", noisy)
    optimistic = check_bool("optimistic", optimistic)
    if true_index is not None:
        true_index = check_int("true_index", true_index, low=0, high=hclass.m - 1)
    beta = finite_beta(hclass.m, hclass.B, delta) if beta is None else \
        check_in_range("beta", beta, low=0.0)
    threshold, every_step = _threshold(c_sw, beta)
    u_s, u_r, cdf, R, out_s, out_a, out_r, epoch = start_run(
        mdp, T, rng=rng, noisy=noisy)
    S, A = mdp.S, mdp.A
    N, Rsum, Nsas = np.zeros((S, A)), np.zeros((S, A)), np.zeros((S, A, S))
    L = np.zeros(hclass.m)
    starts, chosen, exc_star = [], [], []
    preds: dict[int, np.ndarray] = {}              # pred[g] depends only on the chosen g
    i = 0
    while i < T:
        g = plan_finite(L, hclass.J, beta, optimistic=optimistic)
        if true_index is not None:
            exc_star.append(float(L[true_index] - L.min()))
        starts.append(i)
        chosen.append(g)
        V = np.ascontiguousarray(hclass.V[g])
        if g not in preds:
            preds[g] = np.ascontiguousarray(hclass.predictions(V))
        pred = preds[g]
        i_next = _segment_finite(i, T, cdf, R, noisy, u_s, u_r, np.ascontiguousarray(hclass.pi[g]),
                                 V, pred, g, threshold, every_step, L, N, Rsum, Nsas, out_s,
                                 out_a, out_r)
        epoch[i:i_next] = len(chosen) - 1
        i = int(i_next)
    idx = np.array(chosen, dtype=np.int64)
    info = {"planner": "finite_optimistic" if optimistic else "finite_least_squares",
            "m": hclass.m, "B": hclass.B, "delta": delta, "c_sw": float(c_sw), "noisy": noisy,
            "chosen": idx.tolist(), "final_losses": L.tolist(), "reward_for_regret": "mean"}
    return Trace("loop_finite" if optimistic else "loop_finite[least_squares]", out_s, out_a,
                 out_r, epoch, np.array(starts, dtype=np.int64), hclass.pi[idx].copy(),
                 hclass.J[idx].copy(), hclass.V[idx].copy(), hclass.Q[idx].copy(),
                 np.array(exc_star) if true_index is not None else None, float(beta), info)
