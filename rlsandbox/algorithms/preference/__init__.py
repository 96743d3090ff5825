"""Preference fine-tuning through the lens of coverage: DPO, RLHF, HyPO, IPO, SimPO, rDPO and
token-level DPO, exactly, on tabular contextual bandits and token trees.

Card: shared/papers/preference_coverage.md (cited as [card preference_coverage, §n / Cn]).
Papers: SONG24 (Song, Swamy, Singh, Bagnell, Sun, NeurIPS 2024, "The Importance of Online
Data: Understanding Preference Fine-tuning via Coverage", arXiv 2406.01462) for global vs
local coverage and HyPO -- not the unrelated 2026 "Hybrid-DPO" also called HyPO; RQ24
(Rafailov, Hejna, Park, Finn, "From r to Q*", arXiv 2404.12358); RDPO24 (Ray Chowdhury, Kini,
Natarajan, ICML 2024); IPO23 (Azar et al., AISTATS 2024); SIMPO24 (Meng, Xia, Chen, NeurIPS
2024); DPO23 (Rafailov et al., NeurIPS 2023).

Modules
-------
model     :class:`PreferenceBandit`, Gibbs policies, J, KL, gaps (card §2.1-2.2)
data      :class:`PairData`, population / sampled BT pairs, label flips, comparison graphs (§2.3)
coverage  C_glo, C_inf, C_2, C_loc, in-distribution errors E_mu (§2.4-2.5)
losses    DPO, DPO-noref, IPO, rDPO, cDPO, SimPO per-pair losses and exact gradients (§3.2-3.6)
exact     BT-MLE, DPO / IPO minimiser sets and their worst cases, RLHF, HyPO (penalised,
          constrained, lambda -> 0+), box-constrained log-linear fits (§2.8, C3-C13)
members   the card's DPO member pi^delta, boosted family, bounded RLHF rewards (C5-C8)
training  gradient descent (tabular / log-linear), HyPO with exact or RLOO KL gradients,
          online DPO, RLHF policy gradient (§3.1-3.7)
token     the token-level MDP of RQ24: soft Bellman values, implicit rewards, beam search,
          token-level DPO training (§2.7)

Policies are log-probability tables ``logpi[x, y]`` (-inf for probability 0) throughout.

Examples
--------
The card's P1 (C4): DPO's minimiser set contains policies with infinite reverse KL, RLHF
returns pi*.

>>> import numpy as np
>>> from rlsandbox.algorithms import preference as pref
>>> b = pref.PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
>>> q = pref.population_pairs(b)
>>> pref.dpo_minimizer_set(b, q).sup_kl_reference()
inf
>>> bool(np.allclose(np.exp(pref.rlhf(b, q).logpi), b.pi_star, atol=1e-12))
True
"""
from rlsandbox.algorithms.preference.model import (Gaps, PreferenceBandit, bt_probability,
                                                   check_log_policy, expected_reward, gaps,
                                                   gibbs, kl_divergence, kl_to_reference,
                                                   log_partition, log_policy, logistic_loss,
                                                   objective, probabilities, reward_span)
from rlsandbox.algorithms.preference.data import (ComparisonGraph, PairData, check_pair_data,
                                                  comparison_graph, flip_labels,
                                                  noisy_population, pairs_from_list,
                                                  population_pairs, sample_pairs)
from rlsandbox.algorithms.preference.coverage import (concentrability, dpo_error,
                                                      global_coverage, kl_ball_max_mass,
                                                      kl_bernoulli, local_coverage,
                                                      reward_error, second_moment_coverage)
from rlsandbox.algorithms.preference.losses import (LOSSES, PairLoss, cdpo, dpo, dpo_noref, ipo,
                                                    kl_gradient_logits, kl_gradient_loglinear,
                                                    loglinear_policy, loss_gradient_logits,
                                                    loss_gradient_loglinear, make_loss, margins,
                                                    preference_loss, rdpo, simpo)
from rlsandbox.algorithms.preference.exact import (TIE_BREAKS, BTFit, MinimizerSet, RLHFResult,
                                                   bt_mle, dpo_minimizer_set, hypo_penalized,
                                                   ipo_closed_form, ipo_minimizer_set,
                                                   noisy_pair_minimizers,
                                                   rdpo_empirical_minimizer, rlhf,
                                                   simpo_stationary_margin, hypo_constrained,
                                                   loglinear_minimizer)
from rlsandbox.algorithms.preference.training import (TrainResult, online_dpo,
                                                      rlhf_policy_gradient, rloo_kl_gradient,
                                                      sample_responses, train)
from rlsandbox.algorithms.preference import members, token

__all__ = [
    "PreferenceBandit", "Gaps", "log_policy", "probabilities", "check_log_policy",
    "logistic_loss", "gibbs", "log_partition", "kl_divergence", "kl_to_reference",
    "expected_reward", "objective", "gaps", "bt_probability", "reward_span",
    "PairData", "ComparisonGraph", "population_pairs", "sample_pairs", "pairs_from_list",
    "flip_labels", "noisy_population", "comparison_graph", "check_pair_data",
    "global_coverage", "concentrability", "second_moment_coverage", "local_coverage",
    "kl_bernoulli", "kl_ball_max_mass", "reward_error", "dpo_error",
    "PairLoss", "LOSSES", "dpo", "dpo_noref", "ipo", "rdpo", "cdpo", "simpo", "make_loss",
    "margins", "preference_loss", "loss_gradient_logits", "loss_gradient_loglinear",
    "kl_gradient_logits", "kl_gradient_loglinear", "loglinear_policy",
    "BTFit", "bt_mle", "MinimizerSet", "dpo_minimizer_set", "ipo_minimizer_set",
    "ipo_closed_form", "RLHFResult", "rlhf", "TIE_BREAKS", "noisy_pair_minimizers",
    "rdpo_empirical_minimizer", "simpo_stationary_margin", "hypo_penalized",
    "hypo_constrained", "loglinear_minimizer",
    "TrainResult", "train", "rloo_kl_gradient", "sample_responses", "online_dpo",
    "rlhf_policy_gradient", "members", "token",
]
