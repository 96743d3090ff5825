"""Exact dynamic programming: discounted, episodic, finite-horizon, average reward, batched.

The public entry points :func:`solve` and :func:`evaluate` dispatch on the problem type:
``TabularMDP`` (discounted; episodic evaluation at ``gamma == 1``) or ``FiniteHorizonMDP``.
"""
from __future__ import annotations

from typing import Any

from rlsandbox.dp.batch import BatchSolution, solve_batch
from rlsandbox.dp.discounted import (
    SOLVERS, TIE_RTOL, Solution, advantages, bellman_evaluation, bellman_optimality,
    evaluate_discounted, linear_programming, modified_policy_iteration, policy_iteration,
    q_values, solve_discounted, value_iteration,
)
from rlsandbox.dp.finite_horizon import FiniteHorizonSolution, backward_induction, \
    evaluate_finite
from rlsandbox.dp.average import (
    AverageSolution, MultichainSolution, PolicyGain, average_linear_programming,
    average_policy_iteration, classify, diameter, is_communicating, is_weakly_communicating,
    policy_gain, relative_value_iteration, solve_average, solve_multichain, span,
)
from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP


def _solver_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """Check ``options`` against the keyword parameters of the chosen solver.

    ``tol`` (the DESIGN.md spelling) is accepted as an alias of ``eps`` for the iterative
    methods; an option the method does not take is refused, never silently ignored.
    """
    import inspect

    allowed = [p.name for p in inspect.signature(SOLVERS[method]).parameters.values()
               if p.kind is p.KEYWORD_ONLY]
    options = dict(options)
    if "tol" in options and "eps" in allowed:
        if "eps" in options:
            raise TypeError("pass either tol or eps (they are the same accuracy), not both")
        options["eps"] = options.pop("tol")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        takes = ", ".join(allowed) if allowed else "no options"
        raise TypeError(f"method {method!r} does not take {', '.join(map(repr, unknown))}; it "
                        f"takes {takes}")
    return options


def solve(mdp: TabularMDP | FiniteHorizonMDP, method: str = "pi", **options: Any):
    """Solve a model exactly, returning a certified result.

    ``TabularMDP`` (``gamma < 1``): ``method`` in {"vi", "pi", "mpi", "lp"}; ``options`` are the
    chosen solver's keyword arguments (``eps`` — alias ``tol`` — ``max_iter``, ``V0``, ``pi0``,
    ``m``; an option the method does not take raises ``TypeError``). Returns :class:`Solution`.
    ``FiniteHorizonMDP``: backward induction, which is exact and takes no options; returns
    :class:`~rlsandbox.dp.finite_horizon.FiniteHorizonSolution` with V (H+1, S), policy (H, S).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> sol = rls.solve(rls.mdps.riverswim(), method="vi", tol=1e-8)
    >>> bool(sol.converged)
    True
    >>> fh = rls.FiniteHorizonMDP(rls.mdps.riverswim().P, rls.mdps.riverswim().R, H=3)
    >>> rls.solve(fh).V.shape, rls.solve(fh).policy.shape
    ((4, 6), (3, 6))
    """
    if isinstance(mdp, FiniteHorizonMDP):
        if options or method not in ("pi", "backward_induction"):
            raise TypeError(f"a FiniteHorizonMDP is solved exactly by backward induction, which "
                            f"takes no method or options; got method={method!r}"
                            + (f" and {', '.join(sorted(options))}" if options else ""))
        return backward_induction(mdp)
    if not isinstance(mdp, TabularMDP):
        hint = (" (a linear model: pass lin.to_tabular(gamma=...) or lin.to_tabular() for a "
                "finite-horizon one)" if hasattr(mdp, "to_tabular") else
                "; build one with rlsandbox.TabularMDP(P, R, gamma)")
        raise TypeError(f"solve expects a TabularMDP or FiniteHorizonMDP, got "
                        f"{type(mdp).__name__}{hint}")
    from rlsandbox._validate import check_choice
    check_choice("method", method, tuple(SOLVERS))
    return solve_discounted(mdp, method, **_solver_options(method, options))


def evaluate(mdp: TabularMDP | FiniteHorizonMDP, pi: Any):
    """Exact value of a policy.

    ``TabularMDP``: ``V^pi = (I - gamma P_pi)^{-1} R_pi`` (S,); for ``gamma == 1`` the model
    needs terminal states and pi must be proper (else a ``ValueError`` says which state never
    terminates). ``FiniteHorizonMDP``: V (H+1, S) of a non-stationary policy ``(H, S, A)`` /
    ``(H, S)`` or a stationary one.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim()
    >>> V = rls.evaluate(mdp, np.ones(mdp.S, dtype=int))
    >>> V.shape
    (6,)
    """
    if isinstance(mdp, FiniteHorizonMDP):
        return evaluate_finite(mdp, pi)
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"evaluate expects a TabularMDP or FiniteHorizonMDP, got {type(mdp).__name__}")
    from rlsandbox._validate import readonly
    return readonly(evaluate_discounted(mdp, mdp.policy(pi)))


__all__ = ["solve", "evaluate", "solve_batch", "BatchSolution", "Solution", "SOLVERS",
           "TIE_RTOL", "value_iteration", "policy_iteration", "modified_policy_iteration",
           "linear_programming", "q_values", "advantages", "bellman_optimality",
           "bellman_evaluation", "FiniteHorizonSolution", "backward_induction",
           "evaluate_finite", "AverageSolution", "MultichainSolution", "PolicyGain",
           "solve_average", "solve_multichain", "policy_gain", "relative_value_iteration",
           "average_linear_programming", "average_policy_iteration", "classify", "diameter",
           "is_communicating", "is_weakly_communicating", "span"]
