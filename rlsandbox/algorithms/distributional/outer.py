"""A4: outer optimisations over the initial stock (finite horizon, exact) [card §3 A4].

Criteria without P1 are reached through an EU inner problem solved by A2, and a search over
the initial stock c0:

* **CVaR** (lower tail, tau in (0, 1]). ``CVaR_tau(G) = max_b { b - E[(b - G)^+] / tau }``,
  maximised at ``b* = VaR_tau(G)``; with ``c0 = -b``,

      sup_pi CVaR_tau(G^pi) = max_{c0} h(c0),   h(c0) = -c0 + J*_{min(.,0)}(s0, c0) / tau

  [card C6; baeuerle2011]. The candidates ``c0 in {-g : g a reachable return}`` are exact:
  the maximiser b* is VaR_tau of an optimal return, an atom, hence a reachable return. h is
  **not concave** (Instance A), so every candidate is evaluated (no golden section). The
  policy is the A2 greedy policy **started with stock c0*** [card Pitfall 5].
  ``search="golden"`` runs a golden-section search on h over the band ``[-G_hi, -G_lo]``
  instead: the card's C6 negative control (b), which assumes a unimodal h and can return a
  local maximum (Instance A, tau = 1/4: h = -1/2 at c0 ~ -2 against the optimum 0).
* **VaR** (quantile maximisation). With ``P*(theta) = sup_pi P(G^pi >= theta)`` (A2 with
  ``f = 1{x >= 0}``, ``c0 = -theta``), ``sup_pi VaR_tau(G^pi) = max{theta reachable :
  P*(theta) > 1 - tau}`` for the left-continuous quantile ``F^{-1}(tau) = inf{x : F(x) >=
  tau}``. Derivation (the card says "mind the quantile convention"): for finite support,
  ``F^{-1}(tau) >= theta`` iff ``P(G < theta) < tau`` iff ``P(G >= theta) > 1 - tau``
  (strict). All reachable theta are scanned (no bisection is needed on a finite set).
* **Mean-variance** [card C7]: ``max_pi E G - lam Var G = max_b { b + J*_f(s0, -b) }`` with
  ``f(y) = y - lam y^2``; for any pi the inner value is ``E G - lam E(G - b)^2``, maximised over
  b at ``b = E G``. f violates P2, so for gamma < 1 the inner problem needs A2-T (the default
  here when gamma < 1; ``time_aware=False`` is the card's negative control). The b-search runs
  over a candidate set; by default the means of all deterministic history-policy laws (A3,
  exact but enumerative, as the card's check).
* **Targets** [card A4]: ``P(G >= theta)`` is A2 with c0 = -theta and f = 1{x >= 0};
  homeostasis ``E|G - theta|`` / ``E(G - theta)^2`` is A2 with c0 = -theta and f = -|x| / -x^2.

Deviations: ties in h are resolved towards the smallest c0 (largest b); any maximiser is
optimal, since the greedy policy pi_b satisfies ``CVaR(G^{pi_b}) >= h(-b)``. The card's C6
control (b) says golden section "can stop on the plateau (1/2) in Instance A" (tau = 1/2);
with the band [-6, 1] as bracket it does not (it reaches 3/4: the plateau [-3, -5/2] is not a
local maximum), but at tau = 1/4 it stops at the local maximum -1/2 (c0 ~ -2) against the
optimum 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rlsandbox._validate import check_int

from rlsandbox.algorithms.distributional.brute_force import (history_return_laws,
                                                              reachable_returns)
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import (cvar_utility,
                                                            mean_variance_utility, target_abs,
                                                            target_squared, threshold)
from rlsandbox.algorithms.distributional.stock_dp import StockDP, StockDPResult, stock_dp

__all__ = ["CVaRResult", "cvar_outer", "VaRResult", "var_outer", "MeanVarianceResult",
           "mean_variance_outer", "target_probability", "homeostasis"]


@dataclass(frozen=True)
class CVaRResult:
    """Result of the outer CVaR search.

    Attributes
    ----------
    value : max_{c0} h(c0) = sup_pi CVaR_tau(G^pi).
    c0 : the maximising initial stock c0* (= -VaR_tau of the optimal return).
    inner : StockDPResult of A2 with f = min(x, 0) at c0* (its policy starts at c0*).
    policy_cvar : CVaR_tau of the return law of that policy (equals ``value``, card C6).
    candidates, h : the evaluated c0 and h(c0), ascending in c0.
    tau : the level.
    """

    value: Any
    c0: Any
    inner: StockDPResult
    policy_cvar: Any
    candidates: list
    h: list
    tau: Any


def cvar_outer(model: OutcomeMDP, tau: Any, *, candidates: list | None = None,
               tie_tol: Any = None, start_stock: Any = None, search: str = "exhaustive",
               golden_iterations: int = 30) -> CVaRResult:
    """``sup_pi CVaR_tau(G^pi)`` by the outer search over c0 and A2 [card §3 A4, C6].

    Parameters
    ----------
    model : OutcomeMDP, finite horizon.
    tau : level in (0, 1] (a Fraction on exact models).
    candidates : initial stocks to search; default ``-g`` for every reachable return g.
    start_stock : run the returned policy from this stock instead of c0* (the card's C6
        negative control (a): "run the policy from c0 = 0 instead of c0*"); ``policy_cvar``
        is then the CVaR of that policy.
    search : "exhaustive" (default: every candidate, exact) or "golden": a golden-section
        search for the maximum of h over the band ``[-G_hi, -G_lo]`` (``candidates`` is
        ignored), ``golden_iterations`` bracket reductions by the ratio 987/1597 (exact
        models) or (sqrt(5) - 1)/2; ties keep the left part. Golden section is exact only for
        unimodal h, and h is not (card C6): this is the card's negative control (b), kept to
        demonstrate the failure. ``candidates`` / ``h`` then list the probed stocks.

    Examples
    --------
    Instance A, tau = 1/2: 3/4 at c0* = -2 (card C6).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> res = cvar_outer(instance_a(), Fr(1, 2))
    >>> res.value, res.c0, res.policy_cvar
    (Fraction(3, 4), Fraction(-2, 1), Fraction(3, 4))

    The card's control (b): at tau = 1/4, golden section stops at the local maximum near
    c0 = -2 (h = -1/2) and misses the optimum 0.

    >>> cvar_outer(instance_a(), Fr(1, 4)).value
    Fraction(0, 1)
    >>> float(cvar_outer(instance_a(), Fr(1, 4), search="golden").value)
    -0.5
    """
    tau = model.number("tau", tau)
    if not 0 < tau <= 1:
        raise ValueError(f"tau == {tau}; CVaR needs tau in (0, 1]")
    if search not in ("exhaustive", "golden"):
        raise ValueError(f"search == {search!r}; expected 'exhaustive' or 'golden'")
    if search == "golden":
        return _golden_cvar(model, tau, tie_tol=tie_tol, start_stock=start_stock,
                            iterations=golden_iterations)
    if candidates is None:
        candidates = sorted({-g for g in reachable_returns(model)})
    else:
        candidates = sorted({model.number("candidate c0", c) for c in candidates})
    if not candidates:
        raise ValueError("candidates is empty; give at least one initial stock")
    solver = StockDP(model, cvar_utility(), tie_tol=tie_tol)
    hs = [-c + solver.solve(c).value / tau for c in candidates]
    best = max(hs)
    c_star = candidates[hs.index(best)]
    run_from = c_star if start_stock is None else model.number("start_stock", start_stock)
    inner = solver.solve(run_from)
    policy_cvar = inner.return_law().cvar(tau)
    return CVaRResult(best, c_star, inner, policy_cvar, candidates, hs, tau)


def _golden_cvar(model: OutcomeMDP, tau: Any, *, tie_tol: Any, start_stock: Any,
                 iterations: int) -> CVaRResult:
    """Golden-section search for max h over the band (the card's C6 control (b))."""
    iterations = check_int("golden_iterations", iterations, low=1)
    solver = StockDP(model, cvar_utility(), tie_tol=tie_tol)
    probed: dict = {}

    def h(c: Any) -> Any:
        if c not in probed:
            probed[c] = -c + solver.solve(c).value / tau
        return probed[c]

    lo, hi = model.return_bounds()
    a, b = -hi, -lo
    r = Fraction(987, 1597) if model.exact else (5.0 ** 0.5 - 1.0) / 2.0
    x1, x2 = b - r * (b - a), a + r * (b - a)
    for _ in range(iterations):
        if h(x1) >= h(x2):        # keep [a, x2] (ties: the left part)
            b, x2 = x2, x1
            x1 = b - r * (b - a)
        else:
            a, x1 = x1, x2
            x2 = a + r * (b - a)
    c_star = x1 if h(x1) >= h(x2) else x2
    run_from = c_star if start_stock is None else model.number("start_stock", start_stock)
    inner = solver.solve(run_from)
    cs = sorted(probed)
    return CVaRResult(h(c_star), c_star, inner, inner.return_law().cvar(tau), cs,
                      [probed[c] for c in cs], tau)


@dataclass(frozen=True)
class VaRResult:
    """``value`` = sup_pi VaR_tau(G^pi); ``inner`` = A2 (threshold) at c0 = -value;
    ``p_star`` = P*(value); ``thetas``/``p`` the scanned thresholds (descending) and P*."""

    value: Any
    inner: StockDPResult
    p_star: Any
    thetas: list
    p: list
    tau: Any


def var_outer(model: OutcomeMDP, tau: Any, *, tie_tol: Any = None) -> VaRResult:
    """``sup_pi VaR_tau(G^pi)`` = the largest reachable theta with ``P*(theta) > 1 - tau``
    [card §3 A4; convention in the module docstring].

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_t1
    >>> var_outer(instance_t1(), Fr(1, 4)).value   # P*(G >= 1) = 3/4 is not > 3/4
    Fraction(1, 2)
    """
    tau = model.number("tau", tau)
    if not 0 < tau <= 1:
        raise ValueError(f"tau == {tau}; VaR needs tau in (0, 1]")
    solver = StockDP(model, threshold(), tie_tol=tie_tol)
    thetas = sorted(reachable_returns(model), reverse=True)
    ps = []
    for theta in thetas:
        res = solver.solve(-theta)
        ps.append(res.value)
        if res.value > 1 - tau:
            return VaRResult(theta, res, res.value, thetas[:len(ps)], ps, tau)
    raise AssertionError("unreachable: P*(min reachable return) = 1 > 1 - tau")


@dataclass(frozen=True)
class MeanVarianceResult:
    """``value`` = max_b {b + J*_f(-b)}; ``b`` the maximiser; ``inner`` A2 at c0 = -b;
    ``policy_value`` = E G - lam Var G of that policy's return law."""

    value: Any
    b: Any
    inner: StockDPResult
    policy_value: Any
    candidates: list
    lam: Any


def mean_variance_outer(model: OutcomeMDP, lam: Any, *, candidates: list | None = None,
                        time_aware: bool | None = None,
                        tie_tol: Any = None) -> MeanVarianceResult:
    """``max_pi E G - lam Var G`` via ``max_b {b + J*_{y - lam y^2}(s0, -b)}`` [card A4, C7].

    ``time_aware`` defaults to ``gamma < 1`` (A2-T; f violates P2). ``candidates`` defaults to
    the means of all deterministic history-policy laws (A3; tiny instances only).

    >>> from fractions import Fraction as Fr
    >>> from rlsandbox.mdps.distributional import instance_a
    >>> mean_variance_outer(instance_a(), Fr(1, 2)).value    # 13/8 - (107/64) / 2
    Fraction(101, 128)
    """
    lam = model.number("lam", lam)
    if time_aware is None:
        time_aware = model.gamma != 1
    if candidates is None:
        candidates = sorted({d.mean() for d in history_return_laws(model)})
    else:
        candidates = sorted({model.number("candidate b", b) for b in candidates})
    solver = StockDP(model, mean_variance_utility(lam), time_aware=time_aware, tie_tol=tie_tol)
    vals = [b + solver.solve(-b).value for b in candidates]
    best = max(vals)
    b = candidates[vals.index(best)]
    inner = solver.solve(-b)
    law = inner.return_law()
    return MeanVarianceResult(best, b, inner, law.mean() - lam * law.var(), candidates, lam)


def target_probability(model: OutcomeMDP, theta: Any, *, tie_tol: Any = None) -> StockDPResult:
    """``sup_pi P(G^pi >= theta)``: A2 with c0 = -theta and f = 1{x >= 0} [card A4].

    >>> from rlsandbox.mdps.distributional import instance_t1
    >>> target_probability(instance_t1(), 1).value
    Fraction(3, 4)
    """
    return stock_dp(model, threshold(), -model.number("theta", theta), tie_tol=tie_tol)


def homeostasis(model: OutcomeMDP, theta: Any, *, kind: str = "abs",
                tie_tol: Any = None) -> StockDPResult:
    """``sup_pi E[-|G - theta|]`` (kind "abs") or ``E[-(G - theta)^2]`` ("squared"): A2 with
    c0 = -theta and f = -|x| / -x^2 [card A4 "target matching / homeostasis"]."""
    if kind not in ("abs", "squared"):
        raise ValueError(f"kind == {kind!r}; expected 'abs' or 'squared'")
    F = target_abs() if kind == "abs" else target_squared()
    return stock_dp(model, F, -model.number("theta", theta), tie_tol=tie_tol)
