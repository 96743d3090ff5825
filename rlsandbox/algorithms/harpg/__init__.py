"""N-PG-IGT, HARPG and N-HARPG: stochastic policy gradients with exact J, gradients, Hessians.

Paper: I. Fatkhullin, A. Barakat, A. Kireeva, N. He. *Stochastic Policy Gradient Methods:
Improved Sample Complexity for Fisher-non-degenerate Policies.* ICML 2023 (PMLR 202:9827-9869),
arXiv:2302.01734 [fatkhullin2023]; card ``shared/papers/n_harpg.md`` (cited as "card §x").

Setting (card §2). Maximise J(theta) = E[sum_t gamma^t r_t] over a parametric policy class
pi_theta. Under bounded score/log-Hessian (A1), a Fisher matrix F >= mu_F I (A3) and a
compatible-approximation error eps_bias (A4), J satisfies the relaxed weak gradient domination
J* - J(theta) <= sqrt(eps_bias)/(1-gamma) + (M_g/mu_F) ||grad J(theta)||. N-PG-IGT (normalised
momentum at a look-ahead point, one trajectory per iteration) reaches J* - E J(theta_T) <= eps
+ O(sqrt(eps_bias)/(1-gamma)) with O~(eps^-2.5) trajectories, (N-)HARPG (recursive momentum
corrected by an unbiased Hessian-vector product at a uniform random point of the segment, two
trajectories per iteration) with O~(eps^-2).

Modules
-------
:mod:`.models`      the instances with exact quantities (card §4.0): :class:`LogLinearMDP` (I1,
                    tabular softmax / log-linear), :class:`LogisticBandit` (I2),
                    :class:`GaussianBandit` (I3), :class:`ScalarLQR` (I4), :class:`LogisticStateMDP`
                    (I5, finite states and logistic continuous actions); each has J, grad J,
                    hess J, their truncated versions, the Fisher matrix, the assumption constants
                    and a compiled sampler returning :class:`Rollouts`.
:mod:`.estimators`  GPOMDP, REINFORCE, the Hessian estimator B and its vector product (card §2),
                    the controls of card §6, and exact expectations by path enumeration.
:mod:`.methods`     :func:`run` (and :func:`vanilla_pg`, :func:`n_mpg`, :func:`n_pg_igt`,
                    :func:`harpg`, :func:`n_harpg`) with the theory and code schedules (§3.5),
                    oracle mode and the negative-control switches, on many replicates at once.
:mod:`.baselines`   the variance-reduced literature baselines of card §3.4: :func:`storm_pg`,
                    :func:`is_mbpg`, :func:`page_pg`, :func:`srvr_pg` (importance-weighted),
                    :func:`hapg` and :func:`ha_mbpg` (Hessian-aided), on the same problems
                    and trajectory counts.
:mod:`.theory`      the derived constants (L_g, sigma_g, sigma_h, D_g, D_h, mu), the horizon
                    rule, HARPG's alpha_0 and the sequence lemmas N9 (C_num, and the
                    certified constant C(p, q) valid for every T).

Named instances live in :mod:`rlsandbox.mdps.harpg`; the claims in
:mod:`rlsandbox.proofs_check.harpg` (``rlsandbox verify harpg``); the figures
``harpg_estimators`` (F1), ``harpg_tracking_error`` (F2), ``harpg_gap_rates`` (F3),
``harpg_learning_curves`` (F4) and ``harpg_table1`` (F5) in :mod:`rlsandbox.experiments`.

Not implemented: the bound-with-constants form N11(a) of the theorems as a pass/fail claim
(vacuous at any runnable T; its value is reported, see :mod:`rlsandbox.proofs_check.harpg`).

Examples
--------
>>> import numpy as np
>>> from rlsandbox.algorithms.harpg import code_schedule, run
>>> from rlsandbox.mdps.harpg import logistic_bump
>>> bump = logistic_bump()
>>> tr = run(bump, "n_harpg", theta0=np.zeros(2), T=300, H=1, M=8, replicates=4,
...          schedule=code_schedule("n_harpg", alpha0=0.5), rng=0)
>>> gap = bump.J_star_class - bump.J(tr.theta_final)
>>> bool(np.all(gap < bump.J_star_class - bump.J(np.zeros(2))))
True
"""
from rlsandbox.algorithms.harpg.baselines import (BASELINES, ha_mbpg, hapg, is_mbpg, page_pg,
                                                  srvr_pg, storm_pg)
from rlsandbox.algorithms.harpg.estimators import (enumerate_expectations,
                                                   enumerate_second_moments, gpomdp,
                                                   gpomdp_from_t, hessian, hessian_no_outer, hvp,
                                                   hvp_transposed, reinforce)
from rlsandbox.algorithms.harpg.methods import (METHODS, Schedule, Trace, code_schedule, harpg,
                                                log_checkpoints, n_harpg, n_mpg, n_pg_igt, run,
                                                theory_schedule, trajectories_before, vanilla_pg)
from rlsandbox.algorithms.harpg.models import (GaussianBandit, LogisticBandit, LogisticStateMDP,
                                               LogLinearMDP, Rollouts, ScalarLQR,
                                               logistic_expectation_rule)
from rlsandbox.algorithms.harpg.theory import (Constants, c_certified, c_num, constants,
                                               harpg_alpha0, horizon, momentum_ratio,
                                               recursion_bound, sequence_ratio)

__all__ = ["LogLinearMDP", "LogisticBandit", "GaussianBandit", "ScalarLQR", "LogisticStateMDP",
           "Rollouts",
           "logistic_expectation_rule", "gpomdp", "gpomdp_from_t", "reinforce", "hessian",
           "hessian_no_outer", "hvp", "hvp_transposed", "enumerate_expectations",
           "enumerate_second_moments", "METHODS",
           "Schedule", "Trace", "run", "code_schedule", "theory_schedule", "vanilla_pg", "n_mpg",
           "n_pg_igt", "harpg", "n_harpg", "trajectories_before", "log_checkpoints", "Constants",
           "constants", "horizon", "harpg_alpha0", "momentum_ratio", "sequence_ratio", "c_num",
           "recursion_bound", "c_certified", "BASELINES", "storm_pg", "is_mbpg", "ha_mbpg",
           "page_pg", "srvr_pg", "hapg"]
