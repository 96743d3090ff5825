"""R2PVI: robust offline RL in d-rectangular linear robust *regularized* MDPs, and its baselines.

Card: shared/papers/r2pvi.md -- C. Tang, Z. Liu, P. Xu, *Robust Offline Reinforcement Learning
with Linearly Structured f-Divergence Regularization*, ICML 2025 (arXiv 2411.18612); baselines
DRPVI (Liu & Xu 2024), DRVI-L (Ma et al. 2022), PEVI (Jin, Yang, Wang 2021).

Naming (the paper's letters clash with the library's): ``lam`` is the paper's lambda, the
regularization strength of the d-RRMDP (the official code passes it as ``Rho``); ``ridge`` is
the paper's gamma, the ridge parameter of the Gram matrices (the code calls it ``lam``); ``rho``
is the radius of a constrained (DRMDP) uncertainty set; ``beta`` multiplies the bonus. Steps are
0-based (the card writes 1..H).

Modules
-------
:mod:`~rlsandbox.algorithms.r2pvi.divergences`
    the inner problems in closed form (TV, KL, chi2; card §2.5), the constrained balls (§2.7)
    and the ball suprema of the bound (E4);
:mod:`~rlsandbox.algorithms.r2pvi.primal`
    the same problems solved by cvxpy, for cross-checks;
:mod:`~rlsandbox.algorithms.r2pvi.robust_dp`
    exact robust regularized DP on a known model (E1-E4), the worst-case kernel, the
    constrained d-DRMDP (card §2.4, §2.7, §4);
:mod:`~rlsandbox.algorithms.r2pvi.offline`
    the algorithms R2PVI (TV/KL/chi2), DRPVI, DRVI-L, PEVI in ``paper`` and ``reference_code``
    modes (card §3, §5.3, §6);
:mod:`~rlsandbox.algorithms.r2pvi.bounds`
    the core lemma's quantities: estimation errors, the event E, beta_emp, Phi_inst (C5-C7);
:mod:`~rlsandbox.algorithms.r2pvi.hyper`
    the hyper-parameters, theory vs experiment values, and the theory betas of R2PVI, DRPVI
    and PEVI (card §3.3, §3.5, §3.7; constants **[unverified]**).

The paper's instances are in :mod:`rlsandbox.mdps.r2pvi` and its claims in
:mod:`rlsandbox.proofs_check.r2pvi` (``rlsandbox verify r2pvi``).

Examples
--------
>>> from rlsandbox.algorithms.r2pvi import collect, r2pvi, robust_dp, robust_evaluate
>>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
>>> lin = simulated_linear_mdp()
>>> data = collect(lin, uniform_behavior(lin), K=100, rng=0)
>>> sol = r2pvi(lin, data, divergence="kl", lam=0.3, beta=0.3, fail_states=[FAIL_STATE])
>>> star = robust_dp(lin, lam=0.3, divergence="kl")
>>> ev = robust_evaluate(lin, sol.policy, lam=0.3, divergence="kl")
>>> bool(star.value >= ev.value)          # V^{*,lam} >= V^{pi_hat,lam}
True
"""
from rlsandbox.algorithms.r2pvi.bounds import (beta_empirical, estimation_error, event_holds,
                                               exact_inner, instance_dependent_term,
                                               population_gram, population_instance_term,
                                               reachable_states)
from rlsandbox.algorithms.r2pvi.divergences import (DIVERGENCES, ball_inf, ball_maximizer,
                                                    ball_sup, chi2_threshold, divergence,
                                                    inner_minimizer, inner_value, inner_values)
from rlsandbox.algorithms.r2pvi.hyper import HYPERPARAMETERS, THEORY_METHODS, theory_beta
from rlsandbox.algorithms.r2pvi.offline import (BONUS_FORMS, MODES, OfflineData,
                                                OfflineSolution, bonus_factor, collect, drpvi,
                                                drvi_l, pevi, r2pvi, variance_weights)
from rlsandbox.algorithms.r2pvi.robust_dp import (RobustSolution, ball_radii, constrained_dp,
                                                  instance_term, regularized_return, robust_dp,
                                                  robust_evaluate, suboptimality,
                                                  worst_case_factors)

__all__ = ["DIVERGENCES", "divergence", "inner_value", "inner_minimizer", "inner_values",
           "chi2_threshold", "ball_inf", "ball_sup", "ball_maximizer",
           "RobustSolution", "robust_dp", "robust_evaluate", "suboptimality",
           "worst_case_factors", "regularized_return", "instance_term", "ball_radii",
           "constrained_dp",
           "OfflineData", "OfflineSolution", "collect", "r2pvi", "drpvi", "drvi_l", "pevi",
           "bonus_factor", "variance_weights", "MODES", "BONUS_FORMS",
           "exact_inner", "estimation_error", "event_holds", "beta_empirical", "reachable_states",
           "instance_dependent_term", "population_gram", "population_instance_term",
           "theory_beta", "HYPERPARAMETERS", "THEORY_METHODS"]
