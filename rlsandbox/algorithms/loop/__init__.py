"""LOOP for average-reward RL: exact sandbox planners, UCRL2 baseline, exact regret bookkeeping.

Paper: J. He, H. Zhong, Z. Yang. *Sample-efficient Learning of Infinite-horizon Average-reward
MDPs with General Function Approximation.* ICLR 2024, arXiv:2404.12648 [he2024]. The paper has
no experiments and no code, and its body could not be re-read for the card
(shared/papers/loop.md): every LOOP-specific formula here is **reconstructed** ([R] on the
card), derived ([D]) or a sandbox design decision ([S]); each docstring says which. Constants
the paper leaves unspecified (``c_beta``, ``c_sw``) are parameters.

Setting (card §2). An average-reward MDP with rewards in [0, 1] satisfying the Bellman
optimality equation ``J* + Q*(s, a) = r(s, a) + (P V*)(s, a)``, ``V* = max_a Q*``; regret
``Reg(T) = sum_t (J* - r(s_t, a_t))``. LOOP keeps a hypothesis ``f^k`` until its own excess
loss on all data exceeds ``c_sw * beta`` (lazy, low-switching), then re-plans optimistically:
``f^k = argmax {J_f : Exc(f) <= beta}``.

Modules
-------
:mod:`.hypotheses`  value-based hypotheses (Q, J), model-based ones, Bellman error, the tabular
                    excess loss and its sufficient statistics (card §2.3, §3.9 (a)).
:mod:`.planners`    exact optimistic planners: (a) tabular and (b) linear value-based by
                    enumerating greedy policies with one SOCP each (cvxpy/CLARABEL), (d-i) a
                    finite model class; the no-optimism ablations; the complexity guard.
:mod:`.skeleton`    LOOP's run loop (:func:`loop_value`, :func:`loop_finite`), compiled
                    interaction, lazy test every step (card §3.1-§3.3).
:mod:`.ucrl2`       UCRL2 with extended value iteration (card §3.6).
:mod:`.linear`      linear classes: value-based linear LOOP (planner (b)) and FOPO (§3.7),
                    model-based linear-mixture LOOP with planner (c) in closed form on the hard
                    instance and the relaxed EVI planner, UCRL2-VTR (§3.8), the
                    rectangular relaxation (d-ii) of model-based tabular LOOP, and OLSVI.FH.
:mod:`.agec`        empirical AGEC diagnostics (dominance / transferability ratios, §2.4).
:mod:`.regret`      exact regret bookkeeping: gap-regret, realised regret, the two path-wise
                    decompositions (card §2.2, §3.4).
:mod:`.trace`       the :class:`Trace` of a run.

Claims: :mod:`rlsandbox.proofs_check.loop` (``rlsandbox verify loop``); figures
``loop_regret_vs_T`` (F1) and ``loop_switches_vs_T`` (F2); notebook ``notebooks/08_loop.py``;
an overview with measured tightness in this package's ``README.md``.

Examples
--------
>>> import rlsandbox as rls
>>> from rlsandbox.algorithms.loop import loop_value, gap_regret
>>> mdp = rls.mdps.riverswim(3, gamma=1.0)          # average reward: gamma is ignored
>>> tr = loop_value(mdp, 2000, rng=0)
>>> G = gap_regret(tr, mdp)
>>> bool(G[-1] < 0.05 * G.size), tr.n_plans < 30    # sublinear, few re-plans
(True, True)
"""
from rlsandbox.algorithms.loop.agec import agec_ratios
from rlsandbox.algorithms.loop.hypotheses import (Hypothesis, TabularStats, bellman_error,
                                                  tabular_excess, true_hypothesis)
from rlsandbox.algorithms.loop.linear import (RectangularInnerStep, fopo, loop_model_hard,
                                              loop_model_rectangular, loop_model_relaxed,
                                              loop_value_linear, mixture_beta, mixture_evi,
                                              olsvi_fh, ucrl2_vtr, vtr_bernstein_radii,
                                              vtr_bernstein_weights)
from rlsandbox.algorithms.loop.planners import (MAX_GREEDY_POLICIES, FiniteClass, LinearStats,
                                                PlanInfo, ValuePlanner, check_enumeration,
                                                plan_certainty_equivalent, plan_finite,
                                                plan_value_linear, plan_value_tabular)
from rlsandbox.algorithms.loop.regret import (Decomposition, decompose,
                                              expected_regret_fixed_policy, gap_regret,
                                              optimal_gaps, regret)
from rlsandbox.algorithms.loop.skeleton import (C_BETA_DEFAULT, C_SW_DEFAULT, excess_path,
                                                finite_beta, loop_finite, loop_value, value_beta,
                                                value_beta_theory)
from rlsandbox.algorithms.loop.trace import Trace
from rlsandbox.algorithms.loop.ucrl2 import (episode_bound, evi_inner_max,
                                             extended_value_iteration, ucrl2, ucrl2_regret_bound)

__all__ = ["Hypothesis", "TabularStats", "bellman_error", "tabular_excess", "true_hypothesis",
           "MAX_GREEDY_POLICIES", "FiniteClass", "LinearStats", "PlanInfo", "ValuePlanner",
           "check_enumeration", "plan_certainty_equivalent", "plan_finite", "plan_value_linear",
           "plan_value_tabular", "Decomposition", "decompose", "expected_regret_fixed_policy",
           "gap_regret", "optimal_gaps", "regret", "C_BETA_DEFAULT", "C_SW_DEFAULT",
           "finite_beta", "loop_finite", "loop_value", "value_beta", "value_beta_theory",
           "excess_path", "Trace", "episode_bound",
           "evi_inner_max", "extended_value_iteration", "ucrl2", "ucrl2_regret_bound",
           "agec_ratios", "fopo", "loop_model_hard", "loop_model_relaxed", "loop_value_linear",
           "mixture_beta", "mixture_evi", "ucrl2_vtr", "loop_model_rectangular",
           "RectangularInnerStep", "olsvi_fh", "vtr_bernstein_radii", "vtr_bernstein_weights"]
