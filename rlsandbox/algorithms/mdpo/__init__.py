"""MDPO and the tabular policy-mirror-descent theory behind it (card ``shared/papers/mdpo.md``).

Tomar, Shani, Efroni, Ghavamzadeh, *Mirror Descent Policy Optimization* (ICLR 2022), and the
tabular theory it rests on: Shani, Efroni, Mannor (AAAI 2020), Xiao (JMLR 2022), Lan (Math.
Programming 2023). Docstrings cite the card as [mdpo-card, §n / Cn].

* :mod:`.policies`: per-state mirror steps (KL in log space, Euclidean projection, greedy,
  NE-TRPO, Lan, reverse KL).
* :mod:`.regularized`: entropy-regularised values (SAC convention) and the soft optimum.
* :mod:`.schedules`: step-size schedules (constant, geometric, Shani, anneal, greedy).
* :mod:`.pmd`: exact / inexact / regularised PMD, exact TRPO, Lan's PMD and APMD.
* :mod:`.theory`: Xiao's mismatch coefficients, Dstar_k, and the bounds C2-C13.
* :mod:`.mdpo`: on-policy MDPO (m inner gradient steps) and off-policy MDPO (anchor refresh).
* :mod:`.baselines`: softmax PG, NPG, TRPO, PPO-clip, KL-PPO, soft policy iteration.
* :mod:`.sampled`: generative-model and Shani's sample-based PMD / TRPO.
* :mod:`.rollouts`: on-policy MDPO and PPO-clip from rollouts with GAE advantages.
* :mod:`.tsallis`: MDPO's Tsallis mirror step (q' in [1, 2]) and Tsallis PMD.
"""
from rlsandbox.algorithms.mdpo.policies import (euclid_step, greedy_step, kl_step, lan_step,
                                                log_normalize, ne_trpo_step, project_simplex,
                                                reverse_kl_step)
from rlsandbox.algorithms.mdpo.pmd import (PMDRun, QNoise, apmd, apmd_taus, exact_trpo,
                                           lan_pmd, ne_trpo, pmd)
from rlsandbox.algorithms.mdpo.regularized import (SoftSolution, evaluate_regularized,
                                                   soft_bellman, soft_optimal)
from rlsandbox.algorithms.mdpo.schedules import (Schedule, anneal, constant, geometric, greedy,
                                                 shani, shani_regularized, theta_geometric)
from rlsandbox.algorithms.mdpo.theory import Reference, reference
from rlsandbox.algorithms.mdpo.mdpo import MDPORun, mdpo_off_policy, mdpo_on_policy, psi_gradient
from rlsandbox.algorithms.mdpo.baselines import (kl_ppo, npg, ppo_clip, soft_policy_iteration,
                                                 softmax_pg, trpo)
from rlsandbox.algorithms.mdpo.sampled import (generative_q, sample_based_trpo, sampled_pmd,
                                               shani_q)
from rlsandbox.algorithms.mdpo.rollouts import (collect_batch, gae, sampled_mdpo,
                                                sampled_ppo_clip)
from rlsandbox.algorithms.mdpo.tsallis import tsallis_divergence, tsallis_pmd, tsallis_step

__all__ = ["kl_step", "euclid_step", "greedy_step", "ne_trpo_step", "lan_step",
           "reverse_kl_step", "project_simplex", "log_normalize", "PMDRun", "QNoise", "pmd",
           "exact_trpo", "ne_trpo", "lan_pmd", "apmd", "apmd_taus", "SoftSolution",
           "evaluate_regularized", "soft_bellman", "soft_optimal", "Schedule", "constant",
           "geometric", "theta_geometric", "shani", "shani_regularized", "anneal", "greedy",
           "Reference", "reference", "MDPORun", "mdpo_on_policy", "mdpo_off_policy",
           "psi_gradient", "softmax_pg", "npg", "trpo", "ppo_clip", "kl_ppo",
           "soft_policy_iteration", "generative_q", "sampled_pmd", "sample_based_trpo", "shani_q",
           "collect_batch", "gae", "sampled_mdpo", "sampled_ppo_clip", "tsallis_step",
           "tsallis_divergence", "tsallis_pmd"]
