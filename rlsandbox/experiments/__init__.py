"""Reproducible figures: the computations behind the gallery in ``figures/``.

Each figure is a module ``rlsandbox.experiments.<name>`` with the shape of STYLE.md §9:

* ``Config``: a frozen, documented dataclass of every size and parameter;
* ``DEFAULT`` and ``QUICK``: the published configuration and the small one the tests run;
* ``run(config, *, rng) -> pandas.DataFrame``: tidy data, one row per instance x seed x x;
* ``plot(data, *, config, n_boot, rng) -> matplotlib.figure.Figure``: reads only ``data``
  (``config`` supplies caption text; ``rng`` draws the bootstrap resamples).

The registry :data:`FIGURES` maps a name to a :class:`FigureSpec`; modules are imported only
when a figure is made, so importing this package (and ``rlsandbox --help``) stays cheap.
:func:`make_figure` runs one figure and writes ``<name>.png``, ``<name>.csv`` (exactly the data
passed to ``plot``) and ``<name>.json`` (command, config, root seed, git commit, versions, wall
time) atomically; :func:`replot` redraws the PNG from the CSV and JSON without rerunning.
The command line is ``rlsandbox figures [NAME...] [--quick] [--out DIR]``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from rlsandbox._validate import check_choice

__all__ = ["FigureSpec", "FIGURES", "register_figure", "figure_names", "load_figure",
           "make_figure", "replot", "read_figure_data", "FigureResult", "bootstrap_ci",
           "BootstrapCI"]

#: Attributes every figure module must define (see the module docstring).
FIGURE_PROTOCOL = ("Config", "DEFAULT", "QUICK", "run", "plot")


@dataclass(frozen=True, slots=True)
class FigureSpec:
    """A registered figure.

    Attributes
    ----------
    name : file stem in ``figures/`` and the CLI name, e.g. "vi_pi_convergence".
    module : dotted path of the module implementing :data:`FIGURE_PROTOCOL`.
    description : one line for ``rlsandbox list figures``.
    """

    name: str
    module: str
    description: str


#: name -> FigureSpec, in registration order (the order ``rlsandbox figures`` runs them).
FIGURES: dict[str, FigureSpec] = {}


def register_figure(spec: FigureSpec) -> FigureSpec:
    """Add a figure to :data:`FIGURES`; a duplicate name raises ``ValueError``.

    Examples
    --------
    >>> "vi_pi_convergence" in FIGURES
    True
    """
    if not isinstance(spec, FigureSpec):
        raise TypeError(f"register_figure expects a FigureSpec, got {type(spec).__name__}")
    if not spec.name.isidentifier():
        raise ValueError(f"figure name {spec.name!r} must be a Python identifier (it names "
                         f"files and a module); use e.g. {spec.name.replace('-', '_')!r}")
    if spec.name in FIGURES:
        raise ValueError(f"figure {spec.name!r} is already registered (module "
                         f"{FIGURES[spec.name].module}); choose another name")
    FIGURES[spec.name] = spec
    return spec


def figure_names() -> list[str]:
    """Registered figure names, in registration order."""
    return list(FIGURES)


def load_figure(name: str) -> ModuleType:
    """Import the module of figure ``name`` and check it implements the figure protocol."""
    check_choice("figure name", name, tuple(FIGURES))
    mod = importlib.import_module(FIGURES[name].module)
    missing = [attr for attr in FIGURE_PROTOCOL if not hasattr(mod, attr)]
    if missing:
        raise TypeError(f"figure module {mod.__name__} lacks {', '.join(missing)}; a figure "
                        f"module defines {', '.join(FIGURE_PROTOCOL)}")
    return mod


register_figure(FigureSpec(
    name="vi_pi_convergence",
    module="rlsandbox.experiments.vi_pi_convergence",
    description="VI error vs the contraction bound gamma^k ||V_0 - V*||, and PI error, on garnets",
))
register_figure(FigureSpec(
    name="harpg_tracking_error",
    module="rlsandbox.experiments.harpg_tracking_error",
    description="HARPG card F2: E||d_t - grad J_H(theta_t)|| vs t for N-MPG, N-PG-IGT, (N-)HARPG",
))
register_figure(FigureSpec(
    name="harpg_gap_rates",
    module="rlsandbox.experiments.harpg_gap_rates",
    description="HARPG card F3: in-class gap vs trajectories (I2 monotone, I2 bump, scalar LQR)",
))
register_figure(FigureSpec(
    name="harpg_estimators",
    module="rlsandbox.experiments.harpg_estimators",
    description="HARPG card F1: estimator means vs exact gradients/Hessians (z-tests), controls",
))
register_figure(FigureSpec(
    name="harpg_learning_curves",
    module="rlsandbox.experiments.harpg_learning_curves",
    description="HARPG card F4: exact J vs trajectories on a softmax garnet, five methods",
))
register_figure(FigureSpec(
    name="harpg_table1",
    module="rlsandbox.experiments.harpg_table1",
    description="HARPG card F5: sample-complexity table of card §3.4 (IS, 2nd order, batches)",
))
register_figure(FigureSpec(
    name="distributional_exact",
    module="rlsandbox.experiments.distributional_exact",
    description="Distributional card E1+E2: exact CVaR/target optima on A, T1, C; Markov gaps on RG",
))
register_figure(FigureSpec(
    name="distributional_cliff",
    module="rlsandbox.experiments.distributional_cliff",
    description="Distributional card E3: CVaR stock policies vs risk-neutral on the slippery cliff",
))
register_figure(FigureSpec(
    name="distributional_targets",
    module="rlsandbox.experiments.distributional_targets",
    description="Distributional card E4: target probability and homeostasis vs theta on Instance C",
))
register_figure(FigureSpec(
    name="distributional_representations",
    module="rlsandbox.experiments.distributional_representations",
    description="Distributional card E5: categorical / quantile fixed points vs K, m and bounds",
))
register_figure(FigureSpec(
    name="r2pvi_perturbation",
    module="rlsandbox.experiments.r2pvi_perturbation",
    description="R2PVI card Fig 1(a): PEVI vs R2PVI-TV/KL/chi2 average reward vs perturbation q",
))
register_figure(FigureSpec(
    name="r2pvi_lambda_sweep",
    module="rlsandbox.experiments.r2pvi_lambda_sweep",
    description="R2PVI card Fig 1(b): R2PVI-TV for lambda in {0.1, 0.2, 0.3, 0.6} vs q (xi_norm 0.3)",
))
register_figure(FigureSpec(
    name="r2pvi_option",
    module="rlsandbox.experiments.r2pvi_option",
    description="R2PVI card Fig 1(d): American put option, PEVI vs R2PVI-TV vs DRPVI vs p",
))
register_figure(FigureSpec(
    name="r2pvi_rho_lambda",
    module="rlsandbox.experiments.r2pvi_rho_lambda",
    description="R2PVI card Fig 1(c): DRPVI vs rho and R2PVI-TV vs lambda at q = 1 (inverse roles)",
))
register_figure(FigureSpec(
    name="r2pvi_timing",
    module="rlsandbox.experiments.r2pvi_timing",
    description="R2PVI card Figs 2(a), 2(b) / C9: training time vs d and K, PEVI/R2PVI/DRPVI/DRVI-L",
))
register_figure(FigureSpec(
    name="loop_regret_vs_T",
    module="rlsandbox.experiments.loop_regret_vs_T",
    description="LOOP card F1: gap-regret and regret vs T on RiverSwim, LOOP vs UCRL2 vs no optimism",
))
register_figure(FigureSpec(
    name="loop_switches_vs_T",
    module="rlsandbox.experiments.loop_switches_vs_T",
    description="LOOP card F2: re-plans N(T) vs log T for LOOP (c_sw = 0, 2, 4, 8) and UCRL2 episodes",
))
register_figure(FigureSpec(
    name="loop_regret_vs_span",
    module="rlsandbox.experiments.loop_regret_vs_span",
    description="LOOP card F3: gap-regret of LOOP vs sp(V*) on RiverSwim-n, raw and / (sp sqrt(T))",
))
register_figure(FigureSpec(
    name="loop_linear_vs_d",
    module="rlsandbox.experiments.loop_linear_vs_d",
    description="LOOP card F4: random linear AMDPs, LOOP planner (b) vs FOPO vs UCRL2: regret and re-plans vs d",
))
register_figure(FigureSpec(
    name="loop_linear_mixture_hard",
    module="rlsandbox.experiments.loop_linear_mixture_hard",
    description="LOOP card F5: hard linear mixture, LOOP planner (c) vs UCRL2-VTR vs UCRL2; T-scaled gap",
))
register_figure(FigureSpec(
    name="loop_agec_diagnostics",
    module="rlsandbox.experiments.loop_agec_diagnostics",
    description="LOOP card F7: empirical AGEC ratios rho_dom, rho_tr vs T against d log T",
))
register_figure(FigureSpec(
    name="loop_beta_sensitivity",
    module="rlsandbox.experiments.loop_beta_sensitivity",
    description="LOOP card F6: regret and coverage of f* vs c_beta on RiverSwim, theory radius marked",
))
register_figure(FigureSpec(
    name="mdpo_t1_inner_steps",
    module="rlsandbox.experiments.mdpo_t1_inner_steps",
    description="MDPO card T1: on-policy MDPO with m inner steps vs exact MD, four t_k schedules",
))
register_figure(FigureSpec(
    name="mdpo_t4_pmd_rates",
    module="rlsandbox.experiments.mdpo_t4_pmd_rates",
    description="MDPO card T4: PMD gaps (KL, Euclid; constant vs geometric steps) vs Xiao's C2/C4 bounds",
))
register_figure(FigureSpec(
    name="mdpo_t2_trust_regions",
    module="rlsandbox.experiments.mdpo_t2_trust_regions",
    description="MDPO card T2: MDPO vs TRPO vs PPO-clip / KL-PPO / NPG / PG (exact and sampled): gaps, ratios, KLs",
))
register_figure(FigureSpec(
    name="mdpo_t3_soft_mdpo",
    module="rlsandbox.experiments.mdpo_t3_soft_mdpo",
    description="MDPO card T3: closed-form soft MDPO (lam t sweep, soft PI = SAC) and m-step off-policy analogue",
))
register_figure(FigureSpec(
    name="mdpo_t5_inexact_floor",
    module="rlsandbox.experiments.mdpo_t5_inexact_floor",
    description="MDPO card T5: inexact PMD-KL (uniform / adversarial Q-noise tau) vs Xiao's C6 bound and floor",
))
register_figure(FigureSpec(
    name="mdpo_t6_sample_based",
    module="rlsandbox.experiments.mdpo_t6_sample_based",
    description="MDPO card T6: sample-based TRPO (nu uniform / concentrated) and generative PMD: gap floor vs M",
))
register_figure(FigureSpec(
    name="mdpo_t7_lan",
    module="rlsandbox.experiments.mdpo_t7_lan",
    description="MDPO card T7: Lan's regularised PMD potential vs gamma^k (C12); APMD gaps (C14)",
))
register_figure(FigureSpec(
    name="mdpo_t8_mismatch",
    module="rlsandbox.experiments.mdpo_t8_mismatch",
    description="MDPO card T8: per-step factors of PI / PMD vs 1 - 1/theta and gamma (M2, sparse garnets)",
))

register_figure(FigureSpec(
    name="preference_e1_coverage",
    module="rlsandbox.experiments.preference_e1_coverage",
    description="Preference card E1: coverage sweep in delta, DPO KL ~ log C_glo vs RLHF/HyPO in the KL ball",
))
register_figure(FigureSpec(
    name="preference_e3_reverse_kl",
    module="rlsandbox.experiments.preference_e3_reverse_kl",
    description="Preference card E3: reverse KL over training, DPO collapse vs HyPO (L1 ood-collapse)",
))
register_figure(FigureSpec(
    name="preference_e9_rdpo_rate",
    module="rlsandbox.experiments.preference_e9_rdpo_rate",
    description="Preference card E9: DPO / cDPO / rDPO error vs n under label flips (log-linear)",
))
register_figure(FigureSpec(
    name="preference_e10_ipo_vs_dpo",
    module="rlsandbox.experiments.preference_e10_ipo_vs_dpo",
    description="Preference card E10: DPO vs IPO on a chain of once-seen pairs (beta ignored, tau not)",
))
register_figure(FigureSpec(
    name="preference_e8_implicit_reward",
    module="rlsandbox.experiments.preference_e8_implicit_reward",
    description="Preference card E8: implicit rewards of chosen ~ piref vs ~ pi* in token-level DPO",
))
register_figure(FigureSpec(
    name="preference_e7_beam_search",
    module="rlsandbox.experiments.preference_e7_beam_search",
    description="Preference card E7: beam width vs return, regularised return, KL (pi* and token DPO)",
))
register_figure(FigureSpec(
    name="preference_e6_token_identities",
    module="rlsandbox.experiments.preference_e6_token_identities",
    description="Preference card E6: RQ24 token-MDP identities vs round-off on random trees, and control",
))
register_figure(FigureSpec(
    name="preference_e4_extrapolation",
    module="rlsandbox.experiments.preference_e4_extrapolation",
    description="Preference card E4: log pi of the unseen best / chosen / rejected under linear FA",
))
register_figure(FigureSpec(
    name="preference_e2_sample_size",
    module="rlsandbox.experiments.preference_e2_sample_size",
    description="Preference card E2: G_J vs number of comparisons n, coverage and BT-MLE existence",
))
register_figure(FigureSpec(
    name="preference_e5_summary",
    module="rlsandbox.experiments.preference_e5_summary",
    description="Preference card E5: E r*, KL, G_J per method on a fixed suite (TL;DR table analog)",
))

_LAZY = {"make_figure": "gallery", "replot": "gallery", "read_figure_data": "gallery",
         "FigureResult": "gallery", "bootstrap_ci": "plotting", "BootstrapCI": "plotting"}


def __getattr__(name: str) -> Any:
    # pandas and matplotlib load only when a figure is actually made
    if name in _LAZY:
        mod = importlib.import_module(f"rlsandbox.experiments.{_LAZY[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module 'rlsandbox.experiments' has no attribute {name!r}")
