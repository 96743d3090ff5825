"""Distributional dynamic programming with stock augmentation.

Implements the paper card ``shared/papers/distributional_dp.md`` for B. Ávila Pires, M.
Rowland, D. Borsa et al., *Optimizing Return Distributions with Distributional Dynamic
Programming*, JMLR 26(185), 2025 (arXiv:2501.13028) [avilapires2025]. The paper's text was not
available to the card's author: the card reconstructs the framework and marks each statement
as confirmed, derived or unverified; docstrings here cite the card's sections.

Modules
-------
model            :class:`OutcomeMDP`, finite (p, r, s') outcome kernels, exact or float (§2.1)
dists            :class:`FiniteDist`: pushforwards, mixtures, CVaR/VaR, w_p, w_inf, Cramér, TV
objectives       criteria F with their declared classes P1 / P2 (§2.3, §2.5)
evaluation       stock recursion (§2.2), A1 exact return laws, the operators T^pi, T, Phi_a
stock_dp         A2 / A2-T: exact backward distributional DP over (t, s, c); no-stock greedy
brute_force      A3: history-policy references, Markov baselines, reachable returns
outer            A4: outer searches over the initial stock (CVaR, VaR, mean-variance, targets)
lattice          A5-L / A6: exact lattice instances, VI iterates, policy iteration (EU),
                 infinite-horizon VaR search by bisection (§3 A4)
policy_iteration A6: distributional PI for any criterion on finite-horizon augmented spaces
stock_vi         A5: stock-grid VI (compiled), exact-stock execution, rollouts, CVaR search
representations  A7: categorical and quantile projections and projected fixed points

Examples
--------
The card's Instance A (§4): the optimal CVaR_1/2 is 3/4, reached by the stock-augmented
greedy policy started at c0* = -2; no Markov policy does better than 1/2.

>>> from fractions import Fraction
>>> from rlsandbox.mdps.distributional import instance_a
>>> res = cvar_outer(instance_a(), Fraction(1, 2))
>>> res.value, res.c0, best_markov(instance_a(), cvar(Fraction(1, 2)))[0]
(Fraction(3, 4), Fraction(-2, 1), Fraction(1, 2))
"""
from rlsandbox.algorithms.distributional.brute_force import (best_markov,
                                                              best_over_history_policies,
                                                              history_optimum_eu,
                                                              history_return_laws,
                                                              markov_policies,
                                                              randomized_markov_curve,
                                                              reachable_returns)
from rlsandbox.algorithms.distributional.dists import (DISTANCES, FiniteDist, cramer,
                                                       cramer_sq, empirical_cvar, mixture,
                                                       point, sup_distance, total_variation,
                                                       w_inf, wasserstein)
from rlsandbox.algorithms.distributional.evaluation import (control_operator,
                                                            evaluation_operator, next_stock,
                                                            phi, return_distribution,
                                                            sample_episode, stock_path)
from rlsandbox.algorithms.distributional.lattice import (StockLattice, build_lattice,
                                                         continuation, lattice_var_search,
                                                         solve_risk_neutral,
                                                         zero_continuation)
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import (ExpectedUtility, Functional,
                                                            Objective,
                                                            constraint_satisfaction, cvar,
                                                            cvar_utility,
                                                            exponential_utility, mean_utility,
                                                            mean_variance,
                                                            mean_variance_utility, median,
                                                            piecewise_linear, target_abs,
                                                            target_squared, threshold,
                                                            value_at_risk)
from rlsandbox.algorithms.distributional.outer import (cvar_outer, homeostasis,
                                                       mean_variance_outer, target_probability,
                                                       var_outer)
from rlsandbox.algorithms.distributional.policy_iteration import (
    PolicyIterationResult, augmented_states, distributional_policy_iteration,
    evaluate_stock_policy)
from rlsandbox.algorithms.distributional.representations import (acyclic_return_laws,
                                                                 categorical_evaluation,
                                                                 categorical_projection,
                                                                 categorical_support,
                                                                 quantile_evaluation,
                                                                 quantile_projection)
from rlsandbox.algorithms.distributional.stock_dp import (StockDP, StockPolicy,
                                                          markov_greedy_dp, stock_dp,
                                                          stock_dp_scalar)
from rlsandbox.algorithms.distributional.stock_vi import (grid_error_bound, markov_rollouts,
                                                          policy_law, risk_neutral_policy,
                                                          stock_policy_law,
                                                          stock_value_iteration)

__all__ = [
    "OutcomeMDP", "FiniteDist", "point", "mixture", "wasserstein", "w_inf", "cramer",
    "cramer_sq", "total_variation", "sup_distance", "empirical_cvar", "DISTANCES",
    "Objective", "ExpectedUtility", "Functional", "mean_utility", "threshold", "cvar_utility",
    "piecewise_linear", "target_abs", "target_squared", "constraint_satisfaction",
    "exponential_utility",
    "mean_variance_utility", "cvar", "value_at_risk", "median", "mean_variance",
    "next_stock", "stock_path", "return_distribution", "sample_episode",
    "evaluation_operator", "control_operator", "phi",
    "StockDP", "StockPolicy", "stock_dp", "stock_dp_scalar", "markov_greedy_dp",
    "history_optimum_eu", "history_return_laws", "best_over_history_policies",
    "markov_policies", "best_markov", "randomized_markov_curve", "reachable_returns",
    "cvar_outer", "var_outer", "mean_variance_outer", "target_probability", "homeostasis",
    "StockLattice", "build_lattice", "continuation", "zero_continuation",
    "solve_risk_neutral", "lattice_var_search",
    "distributional_policy_iteration", "PolicyIterationResult", "augmented_states",
    "evaluate_stock_policy",
    "stock_value_iteration", "policy_law", "stock_policy_law", "markov_rollouts",
    "risk_neutral_policy",
    "grid_error_bound",
    "acyclic_return_laws", "categorical_support", "categorical_projection",
    "categorical_evaluation",
    "quantile_projection", "quantile_evaluation",
]
