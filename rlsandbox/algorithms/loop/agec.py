"""Empirical AGEC diagnostics along a LOOP run [card §2.4, §4 C5; R/S].

The AGEC ``max{d_G, kappa_G}`` (card §2.4) is defined through two inequalities that must hold
for *every* sequence of hypotheses; along one run they give lower estimates of ``d_G`` and
``kappa_G`` (they can refute a claimed bound, not prove it). For value-based tabular LOOP,
with ``E_t := E(f_t)`` the Bellman error of the hypothesis in force (card §2.3) and ``N_t(s,a)``
the visit counts before step ``t``:

* dominance ratio ``rho_dom(T) = (sum_t E_t(s_t,a_t) - burn_in)_+^2 /
  sum_t sum_{s,a} N_t(s,a) E_t(s,a)^2`` (the inner sum is
  ``sum_{i<t} (E_{zeta_i}[l_{f_i}(f_t, f_t; zeta_i)])^2`` for the tabular class, card §4 C5);
* transferability ratio ``rho_tr(T) = sum_t E_t(s_t,a_t)^2 / (beta log T)``.

The card expects both ``<= C d log T`` with ``d = S A`` (tabular). ``burn_in`` stands for the
``O(sp(V*) min{d_G, T})`` term of the dominance inequality; the sandbox takes
``burn_in = sp(V*) d`` (constant 1) [S].

Examples
--------
>>> import rlsandbox as rls
>>> from rlsandbox.algorithms.loop import loop_value
>>> mdp = rls.mdps.riverswim(3, gamma=1.0)
>>> out = agec_ratios(loop_value(mdp, 2000, rng=0), mdp)
>>> sorted(out), out["d"]
(['burn_in', 'd', 'dominance', 'dominance_denominator', 'log_T', 'sum_bellman_error', 'transferability'], 6)
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox.algorithms.loop.hypotheses import Hypothesis, bellman_error, true_hypothesis
from rlsandbox.algorithms.loop.trace import Trace, check_average_mdp

__all__ = ["agec_ratios"]


def agec_ratios(trace: Trace, mdp: Any, *, d: int | None = None,
                burn_in: float | None = None) -> dict[str, float]:
    """The dominance and transferability ratios of a value-based LOOP run (module docstring).

    Parameters
    ----------
    trace : Trace with hypotheses ``Q`` (value-based LOOP, tabular or linear)
    mdp : the true TabularMDP
    d : dimension of the class (default ``S A``)
    burn_in : the dominance burn-in (default ``sp(V*) d``)

    Returns
    -------
    dict: ``dominance``, ``transferability``, ``d``, ``log_T``, ``burn_in``,
    ``sum_bellman_error``, ``dominance_denominator``.
    """
    mdp = check_average_mdp(mdp, "agec_ratios")
    if not isinstance(trace, Trace) or trace.Q is None or trace.beta is None:
        raise ValueError("agec_ratios needs a LOOP trace with hypotheses Q and a radius beta "
                         "(value-based LOOP: loop_value or loop_value_linear)")
    S, A = mdp.S, mdp.A
    d = S * A if d is None else int(d)
    f = true_hypothesis(mdp)
    if burn_in is None:
        burn_in = float(f.V.max() - f.V.min()) * d
    E = np.stack([bellman_error(Hypothesis(trace.Q[k], float(trace.J[k]), trace.pi[k]), mdp)
                  for k in range(trace.n_plans)]).reshape(trace.n_plans, S * A)
    pair = trace.s[:-1] * A + trace.a
    e_step = E[trace.epoch, pair]                           # E_t(s_t, a_t)
    onehot = np.zeros((trace.T, S * A))
    onehot[np.arange(trace.T), pair] = 1.0
    N_before = np.cumsum(onehot, axis=0) - onehot           # N_t(s, a), counts before t
    denom = float(np.einsum("tp,tp->", N_before, E[trace.epoch] ** 2))
    log_T = float(np.log(trace.T))
    total = float(e_step.sum())
    dom = max(total - burn_in, 0.0) ** 2 / denom if denom > 0 else 0.0
    tr = float((e_step ** 2).sum()) / (trace.beta * log_T)
    return {"dominance": dom, "transferability": tr, "d": d, "log_T": log_T,
            "burn_in": float(burn_in), "sum_bellman_error": total,
            "dominance_denominator": denom}
