"""Claims of the distributional-DP card (``paper="distributional"``): Pires et al. (JMLR 2025),
"Optimizing Return Distributions with Distributional Dynamic Programming", as reconstructed by
the card ``shared/papers/distributional_dp.md``.

The paper's text was not available to the card's author: every statement below is the card's
reconstruction, with the card's provenance mark. Statements the card proved in outline or
checked numerically are ``derived``; background results quoted from other papers
(Bellemare et al. 2017, Rowland et al. 2018, Dabney et al. 2018) are ``paper``; the card's
"(unverified)" statements attributed to the paper keep ``unverified``. Claim ids are neutral
(card Pitfall 14): ``distributional.<card id>.<slug>``.

================================================  =============================================
id                                                statement (card §; provenance)
================================================  =============================================
distributional.c2.sufficiency                     A2 = sup over history policies for P1 + P2
                                                  criteria, finite H (§4 C2; unverified: the
                                                  paper's sufficiency theorem, reconstructed)
distributional.c5.time_aware                      A2-T = sup over history policies for every
                                                  EU, gamma < 1 (§4 C5; derived)
distributional.c6.cvar_outer                      max_c0 {-c0 + J*_min(c0)/tau} = sup CVaR_tau,
                                                  attained by the A2 policy from c0* (C6; derived)
distributional.c6.exhaustive_search              h(c0) is not concave: the exhaustive scan
                                                  attains sup CVaR_tau, golden section does
                                                  not (C6 control (b); derived)
distributional.c7.mean_variance                   max_b {b + J*_{y - lam y^2}(-b)} = sup
                                                  E G - lam Var G at gamma = 1 (C7; derived)
distributional.c3.stock_necessary                 stock policies beat every Markov policy on
                                                  T1 and A by the card's gaps (C3; derived)
distributional.c4.mixture_necessary               greedy with CVaR_1/2 is 3/4 below the optimum
                                                  on A (C4; derived)
distributional.c1.stock_identity                  c0 + G0 = gamma^t (c_t + G_t); A1 on A2's policy
                                                  = A2's zeta (C1; derived)
distributional.c8.vi_rate                         sup |V_k - J*| <= gamma^k L Gbar on lattices
                                                  (C8 (i); derived)
distributional.c8.greedy_policy                   sup (J* - J^{pi_k}) <= 2 gamma^{k+1} L Gbar /
                                                  (1 - gamma) (C8 (ii); derived)
distributional.c8.approximate_vi                  VI with per-step error delta: gamma^k L Gbar +
                                                  delta / (1 - gamma) (C8 (iii); derived)
distributional.c11.policy_iteration               distributional PI monotone, stops at J*
                                                  (C11; derived; A6 on finite horizons)
distributional.c12.instance_c_table               Instance C's exact table (C12; derived)
distributional.c9.grid_error                      grid VI error <= gamma L Delta / (2(1 - gamma))
                                                  (C9; derived)
distributional.c10.band                           J* outside the band = the analytic formulas
                                                  (C10; derived)
distributional.b1.evaluation_contraction          T^pi: gamma in sup-w_1, sup-w_inf,
                                                  sqrt(gamma) in sup-l_2 (B1; paper)
distributional.b2.control_expansion               the control operator can expand sup-w_1
                                                  (B2; paper)
distributional.b3.categorical_bound               sup l_2^2(eta_C, eta^pi) <= Delta_z/(1-gamma)
                                                  (B3; paper)
distributional.b3.categorical_mean                categorical fixed-point means = V^pi
                                                  (B3, Lyle et al.; paper)
distributional.b3.categorical_contraction         Pi_C l_2 non-expansion, Pi_C T^pi
                                                  sqrt(gamma)-contraction in sup-l_2 (B3; paper)
distributional.b4.quantile_bound                  sup w_1(eta_Q, eta^pi) <= (V_max - V_min) /
                                                  (2 m (1 - gamma)) (B4; derived)
distributional.b4.quantile_contraction            Pi_Q non-expansion and Pi_Q T^pi contraction in
                                                  (sup-)w_inf (B4; paper)
================================================  =============================================

C8 (ii)-(iii), C11 and C12 run on exact lattices or finite augmented spaces (tolerance 0);
their controls reuse the card's clamping break (C9, Pitfall 3) where the card names none.
C8 (i)'s control is the card's ("do not check a gamma^k rate for indicators"): on Instance C
the indicator's VI errors 0.68, 0.36, 0.216, 0, ... happen to stay below 2 * 2^-k, but on
``casino(p_bet=0.9)`` (listed first) they are 0.905, 0.81, 0.729 > 0.5 at k = 2. (The card
reports the indicator's error on C as 0 "from k = 4 on"; we get 0 from k = 3 on, with V_0 = f
and the analytic values outside the band; the card does not state its indexing.)

Instances. The card's named instances A, T1, B, C, C9, M and its random generator RG (§4)
come from :mod:`rlsandbox.mdps.distributional`; where a control needs it, a named instance on
which the control fails by construction is listed first (e.g. Instance B for the
gamma-incompatible utilities of C2, ``casino(p_bet=0.9)`` for C8, the self-loop for B1's total
variation), so that every control is caught whatever the seed. Random instances: RG (exact),
random lattice casinos (exact, gamma = 1/2), random float casinos (gamma in [0.8, 0.95]),
random small MRPs (acyclic where exact return laws are needed).

Tolerances. Finite-horizon and lattice claims compute in exact rationals: tolerance 0. Float
claims state their allowance where it is computed: a stopping rule's guarantee (grid VI:
``gamma residual / (1 - gamma)``), or float64 round-off with a stated factor.

Examples
--------
>>> from rlsandbox.proofs_check import REGISTRY
>>> claim = REGISTRY["distributional.c2.sufficiency"]
>>> claim.kind, claim.provenance
('equality', 'unverified')
>>> import numpy as np
>>> from rlsandbox.mdps.distributional import instance_b
>>> m = claim.measure(FHProblem(instance_b(), (0,)), np.random.default_rng(0))
>>> m.measured == m.bound
True
>>> c = claim.negative_control(FHProblem(instance_b(), (0,)), np.random.default_rng(0))
>>> c.measured < c.bound        # A2 with 1{x >= 1} at gamma = 1/2 is suboptimal on B
True
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox.algorithms.distributional.brute_force import (best_markov,
                                                              best_over_history_policies,
                                                              history_optimum_eu,
                                                              history_return_laws,
                                                              reachable_returns)
from rlsandbox.algorithms.distributional.dists import (FiniteDist, cramer, cramer_sq, point,
                                                       total_variation, w_inf, wasserstein)
from rlsandbox.algorithms.distributional.evaluation import (control_operator,
                                                            evaluation_operator,
                                                            return_distribution,
                                                            sample_episode, stock_path)
from rlsandbox.algorithms.distributional.lattice import (build_lattice, solve_risk_neutral,
                                                         zero_continuation)
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import (COMPATIBLE_EU, INCOMPATIBLE_EU,
                                                            cvar, cvar_utility,
                                                            exponential_utility, mean_variance,
                                                            mean_variance_utility, median,
                                                            piecewise_linear, target_abs,
                                                            threshold)
from rlsandbox.algorithms.distributional.policy_iteration import \
    distributional_policy_iteration
from rlsandbox.algorithms.distributional.outer import (cvar_outer, mean_variance_outer,
                                                       var_outer)
from rlsandbox.algorithms.distributional.representations import (acyclic_return_laws,
                                                                 categorical_evaluation,
                                                                 categorical_law,
                                                                 categorical_projection,
                                                                 categorical_support,
                                                                 quantile_evaluation,
                                                                 quantile_projection)
from rlsandbox.algorithms.distributional.stock_dp import markov_greedy_dp, stock_dp
from rlsandbox.algorithms.distributional.stock_vi import stock_value_iteration
from rlsandbox.mdps import distributional as zoo
from rlsandbox.proofs_check import Claim, Instance, Measurement, register
from rlsandbox.proofs_check.candidates import Candidate, worst_of

__all__ = ["FHProblem", "LatticeProblem", "GridProblem", "MRPProblem", "PairProblem", "CLAIMS"]

_EPS = float(np.finfo(np.float64).eps)
_HALF = Fraction(1, 2)


# ====================================================================== problems
@dataclass(frozen=True)
class FHProblem:
    """A finite-horizon model with the initial stocks to check and, for C3/C4, the card's
    objective and gap on it."""

    model: OutcomeMDP
    c0s: tuple
    kind: str = ""                 # C3: "target" (f = 1{x>=0}) or "cvar"
    tau: Any = None
    card_gap: Any = 0              # C3 / C4: the card's strict gap on named instances


@dataclass(frozen=True)
class LatticeProblem:
    """An exact lattice instance (gamma = 1/2) with a degree-1 utility (C8)."""

    model: OutcomeMDP
    objective_name: str


@dataclass(frozen=True)
class GridProblem:
    """A float infinite-horizon casino for the grid claims (C9, C10)."""

    model: OutcomeMDP


@dataclass(frozen=True)
class MRPProblem:
    """A Markov reward process (one action) for the background claims B1, B3, B4."""

    model: OutcomeMDP
    name: str = ""


@dataclass(frozen=True)
class PairProblem:
    """B2's instance: gamma and epsilon of the card's pair (eta, eta')."""

    gamma: Fraction
    eps: Fraction


def _f(x: Any) -> float:
    return float(x)


# ====================================================================== instances
def _fh_problem(builder: str, c0s: tuple, kind: str = "", tau: Any = None,
                card_gap: Any = 0, **params: Any) -> FHProblem:
    model = getattr(zoo, builder)(**params)
    return FHProblem(model, tuple(Fraction(c) for c in c0s), kind,
                     None if tau is None else Fraction(tau), Fraction(card_gap))


def _named_fh(builder: str, c0s: Sequence[str], kind: str = "", tau: str | None = None,
              card_gap: str = "0") -> Instance:
    label = f"{builder}(c0s={','.join(c0s)}{f',{kind}' if kind else ''}" \
            f"{f',tau={tau}' if tau else ''})"
    params = {"builder": f"rlsandbox.mdps.distributional.{builder}", "c0s": list(c0s),
              "kind": kind, "tau": tau, "card_gap": card_gap}
    return Instance(label, params, functools.partial(_fh_problem, builder, tuple(c0s), kind,
                                                     tau, card_gap))


def _rg_problem(seed: int, H: int, gamma: str | None, kind: str, tau: str | None) -> FHProblem:
    gen = np.random.default_rng(seed)
    model = zoo.random_rg(rng=gen, H=H, gamma=None if gamma is None else Fraction(gamma))
    c0s = tuple(zoo.random_c0(gen) for _ in range(2))
    if kind == "target":           # C3: theta = -c0 drawn like the card's c0
        c0s = c0s[:1]
    return FHProblem(model, c0s, kind, None if tau is None else Fraction(tau), Fraction(0))


def _named_rg(seed: int, H: int, gamma: str, kind: str = "", tau: str | None = None) -> Instance:
    """A fixed RG draw (card §4) used as a named instance because a control fails on it."""
    params = {"builder": "rlsandbox.mdps.distributional.random_rg", "rng": seed, "H": H,
              "gamma": gamma, "kind": kind, "tau": tau}
    return Instance(f"RG(H={H},gamma={gamma},rng={seed})", params,
                    functools.partial(_rg_problem, seed, H, gamma, kind, tau))


def _rg_instances(n: int, rng: np.random.Generator, *, H: int, gammas: Sequence[str | None],
                  kind: str = "", tau: str | None = None) -> list[Instance]:
    """``n`` RG instances (card §4), gamma cycling through ``gammas`` (None: drawn by RG)."""
    out = []
    for i in range(n):
        seed = int(rng.integers(0, 2**32))
        gamma = gammas[i % len(gammas)]
        params = {"builder": "rlsandbox.mdps.distributional.random_rg", "rng": seed, "H": H,
                  "gamma": gamma, "kind": kind, "tau": tau}
        out.append(Instance(f"RG(H={H},gamma={gamma},rng={seed})", params,
                            functools.partial(_rg_problem, seed, H, gamma, kind, tau)))
    return out


# ================================================================= (C2) sufficiency
def _a2_vs_a3(problem: FHProblem, objectives: Callable[[], list], *,
              time_aware: bool) -> Measurement:
    m = problem.model
    cands = []
    for F in objectives():
        for c0 in problem.c0s:
            a2 = stock_dp(m, F, c0, time_aware=time_aware).value
            ref = history_optimum_eu(m, F, c0)
            tol = 0.0
            if not isinstance(ref, Fraction):
                # float utility (exp): both sides sum p f(leaf) over at most n leaves with
                # |f| <= B, each product and partial sum rounding once per level (H + 2 levels):
                # error <= 2 (H + 2) n eps B per side
                n = (m.A * max(len(o) for row in m.outcomes for o in row if o)) ** m.H
                B = max(abs(F.f(c0 + g)) for g in reachable_returns(m))
                tol = 2 * 2.0 * (m.H + 2) * n * _EPS * B
            cands.append(Candidate(_f(a2), _f(ref), tol, f"{F.name}@c0={c0}",
                               {"gamma": str(m.gamma)}))
    return worst_of(cands, "equality")


def _c2_claim(problem, rng):
    """A2 against A3 for the card's P1 + P2 utilities, at every listed c0."""
    return _a2_vs_a3(problem, COMPATIBLE_EU, time_aware=False)


def _c2_control(problem, rng):
    """The same for gamma-incompatible utilities 1{x>=1}, -|x-1|, min(x,1) (P2 violated)."""
    return _a2_vs_a3(problem, INCOMPATIBLE_EU, time_aware=False)


def _c2_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_b", ["0", "-1"]), _named_fh("instance_a", ["-2", "0"]),
            _named_fh("instance_t1", ["-1", "0"]),
            *_rg_instances(n_random, rng, H=3, gammas=("1", "1/2", "9/10"))]


# =================================================================== (C5) A2-T repair
def _c5_objectives() -> list:
    return [*INCOMPATIBLE_EU(), exponential_utility(1.0), mean_variance_utility(_HALF)]


def _c5_claim(problem, rng):
    """A2-T against A3 for gamma-incompatible EUs (1{x>=1}, -|x-1|, min(x,1), -exp(-x),
    y - y^2/2)."""
    return _a2_vs_a3(problem, _c5_objectives, time_aware=True)


def _c5_control(problem, rng):
    """Plain A2 (no time augmentation) on the same utilities."""
    return _a2_vs_a3(problem, _c5_objectives, time_aware=False)


def _c5_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_b", ["0", "-2", "3"]),
            *_rg_instances(n_random, rng, H=3, gammas=("1/2", "9/10"))]


# ======================================================================= (C6) CVaR
_C6_TAUS = (Fraction(1, 2), Fraction(1, 4))


def _c6(problem: FHProblem, rng, *, from_zero: bool) -> Measurement:
    m = problem.model
    laws = history_return_laws(m)
    cands = []
    for tau in _C6_TAUS:
        ref, _ = best_over_history_policies(m, cvar(tau), laws=laws)
        res = cvar_outer(m, tau, start_stock=0 if from_zero else None)
        cands.append(Candidate(_f(res.value), _f(ref), 0.0, f"value(tau={tau})",
                           {"c0_star": str(res.c0)}))
        cands.append(Candidate(_f(res.policy_cvar), _f(ref), 0.0, f"policy(tau={tau})",
                           {"c0_star": str(res.c0), "run_from": "0" if from_zero
                            else str(res.c0)}))
    return worst_of(cands, "equality")


def _c6_claim(problem, rng):
    """A4 value and the CVaR of its policy (run from c0*) against the enumeration optimum."""
    return _c6(problem, rng, from_zero=False)


def _c6_control(problem, rng):
    """The same with the policy run from c0 = 0 instead of c0* (card C6 control (a))."""
    return _c6(problem, rng, from_zero=True)


def _c6_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_a", ["0"]),
            *_rg_instances(n_random, rng, H=2, gammas=("1",))]


_C6_GOLDEN = 30      # golden-section bracket reductions (control (b))


def _c6_search(problem: FHProblem, rng, *, golden: bool) -> Measurement:
    m = problem.model
    laws = history_return_laws(m)
    cands = []
    for tau in _C6_TAUS:
        ref, _ = best_over_history_policies(m, cvar(tau), laws=laws)
        res = cvar_outer(m, tau, search="golden" if golden else "exhaustive",
                         golden_iterations=_C6_GOLDEN)
        tol = 0.0
        if golden:
            # golden section's own resolution: the final bracket has width w = (G_hi - G_lo)
            # (987/1597)^n and |h'| = |-1 + J*'(c0)/tau| <= 1/tau (J* is 1-Lipschitz in c0),
            # so on a unimodal h it would be within w / tau of the maximum; only misses
            # beyond that count against it
            lo, hi = m.return_bounds()
            tol = _f((hi - lo) * Fraction(987, 1597) ** _C6_GOLDEN / tau)
        cands.append(Candidate(_f(res.value), _f(ref), tol, f"max h(tau={tau})",
                               {"c0": _f(res.c0), "probes": len(res.candidates)}))
    return worst_of(cands, "equality")


def _c6_search_claim(problem, rng):
    """The exhaustive candidate scan of h (A4) against the enumeration optimum, tau in
    {1/2, 1/4}."""
    return _c6_search(problem, rng, golden=False)


def _c6_search_control(problem, rng):
    """The same with a golden-section search on h over the band (card C6 control (b))."""
    return _c6_search(problem, rng, golden=True)


def _c6_search_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    # Instance A: golden section misses at tau = 1/4 (-1/2 vs 0); RG seed 162 (H = 2,
    # gamma = 1): it misses at tau = 1/2 (2 vs 5/2) (found by scanning seeds 0..199 at
    # tau in {1/2, 1/4}: 2 of 200 fail), so the control is caught whatever the draws
    return [_named_fh("instance_a", ["0"]), _named_rg(162, 2, "1"),
            *_rg_instances(n_random, rng, H=2, gammas=("1",))]


# ================================================================ (C7) mean-variance
_LAM = Fraction(1, 2)


def _c7(problem: FHProblem, rng, *, gamma_half: bool) -> Measurement:
    m = problem.model.replace(gamma=_HALF) if gamma_half else problem.model
    ref, _ = best_over_history_policies(m, mean_variance(_LAM))
    res = mean_variance_outer(m, _LAM, time_aware=False if gamma_half else None)
    cands = [Candidate(_f(res.value), _f(ref), 0.0, "value", {"b": str(res.b)}),
             Candidate(_f(res.policy_value), _f(ref), 0.0, "policy", {"b": str(res.b)})]
    return worst_of(cands, "equality", gamma=str(m.gamma))


def _c7_claim(problem, rng):
    """Outer search over b (A4) against enumeration, gamma = 1, lam = 1/2."""
    return _c7(problem, rng, gamma_half=False)


def _c7_control(problem, rng):
    """The same model at gamma = 1/2 with plain A2 inside (y - lam y^2 violates P2)."""
    return _c7(problem, rng, gamma_half=True)


def _c7_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    # RG seed 91 (H = 2): at gamma = 1/2 plain A2 inside the b-search gives 0.0591 against
    # the optimum 0.1426 (found by scanning seeds 0..399; 19 of 400 fail), so the control is
    # caught whatever the random draws
    return [_named_rg(91, 2, "1"), _named_fh("instance_a", ["0"]),
            _named_fh("instance_t1", ["0"]),
            *_rg_instances(n_random, rng, H=2, gammas=("1",))]


# ============================================================ (C3) stock is necessary
def _c3(problem: FHProblem, rng, *, stock: bool) -> Measurement:
    m = problem.model
    cands = []
    for c0 in problem.c0s:
        if problem.kind == "cvar":
            F = cvar(problem.tau)
            value = cvar_outer(m, problem.tau).value if stock else \
                markov_greedy_dp(m, F).value
            markov, _, _ = best_markov(m, F)
        else:
            F = threshold()
            value = stock_dp(m, F, c0).value if stock else markov_greedy_dp(m, F, c0).value
            markov, _, _ = best_markov(m, F, c0)
        cands.append(Candidate(_f(value - markov), _f(problem.card_gap), 0.0,
                           f"{problem.kind}@c0={c0}",
                           {"value": _f(value), "best_markov": _f(markov)}))
    return worst_of(cands, "lower_bound")


def _c3_claim(problem, rng):
    """J*(stock) - best deterministic (t, s)-Markov value, against the card's gap."""
    return _c3(problem, rng, stock=True)


def _c3_control(problem, rng):
    """The same with the stock removed from A2 (memo on (t, s), stock frozen at c0)."""
    return _c3(problem, rng, stock=False)


def _c3_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_t1", ["-1"], kind="target", card_gap="1/4"),
            _named_fh("instance_a", ["0"], kind="cvar", tau="1/2", card_gap="1/4"),
            *_rg_instances(n_random, rng, H=3, gammas=("1",), kind="target")]


# ============================================================ (C4) P1 is necessary
def _c4_criteria() -> list:
    return [("cvar_1/2", cvar(_HALF)), ("cvar_1/4", cvar(Fraction(1, 4))),
            ("median", median()), ("mean-var", mean_variance(1))]


def _c4(problem: FHProblem, rng, *, outer: bool) -> Measurement:
    m = problem.model
    laws = history_return_laws(m)
    cands = []
    for name, F in _c4_criteria():
        opt, _ = best_over_history_policies(m, F, laws=laws)
        if not outer:
            got = stock_dp(m, F, 0).value
        elif name.startswith("cvar"):
            got = cvar_outer(m, _tau_of(name)).policy_cvar
        elif name == "median":
            got = var_outer(m, _HALF).value
        else:       # A4 for mean - Var (A2-T inside when gamma < 1)
            got = mean_variance_outer(m, 1).policy_value
        bound = problem.card_gap if name == "cvar_1/2" else 0
        cands.append(Candidate(_f(opt - got), _f(bound), 0.0, name,
                           {"optimum": _f(opt), "greedy": _f(got)}))
    return worst_of(cands, "lower_bound")


def _tau_of(name: str) -> Fraction:
    """The level of a ``cvar_<tau>`` criterion name."""
    return Fraction(name.split("_")[1])


def _c4_claim(problem, rng):
    """Optimum - value of A2 greedy with F itself (CVaR, median, mean - Var), against the
    card's gap (3/4 for CVaR_1/2 on Instance A, 0 elsewhere)."""
    return _c4(problem, rng, outer=False)


def _c4_control(problem, rng):
    """The same with the criteria handled by A4 (outer search) instead of greedy-F."""
    return _c4(problem, rng, outer=True)


def _c4_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_a", ["0"], card_gap="3/4"),
            *_rg_instances(n_random, rng, H=2, gammas=("1", "1/2"))]


# ============================================================ (C1) stock identity
def _c1(problem: FHProblem, rng: np.random.Generator, *, unscaled: bool) -> Measurement:
    m = problem.model
    g = m.gamma
    cands = []
    for c0 in problem.c0s:
        res = stock_dp(m, threshold(), c0)
        # (a) A1 on the stock policy of A2 reproduces A2's law (exact)
        law = return_distribution(m, res.policy, c0=c0)
        d = w_inf(law, res.return_law())
        cands.append(Candidate(_f(d), 0.0, 0.0, f"A1 vs A2 (w_inf)@c0={c0}"))
        # (b) the identity c0 + G0 = gamma^t (c_t + G_t) on sampled episodes (exact)
        worst = Fraction(0)
        for _ in range(8):
            ep = sample_episode(m, res.policy, c0=c0, rng=rng)
            rewards = [r for _, _, r in ep]
            stocks = [c0] if unscaled else stock_path(c0, rewards, g)
            if unscaled:              # the control: c' = c + r (the 1/gamma dropped)
                for r in rewards:
                    stocks.append(stocks[-1] + r)
            for t in range(len(rewards) + 1):
                G_t = sum((g ** (i - t) * rewards[i] for i in range(t, len(rewards))),
                          Fraction(0))
                G_0 = sum((g ** i * rewards[i] for i in range(len(rewards))), Fraction(0))
                worst = max(worst, abs(c0 + G_0 - g ** t * (stocks[t] + G_t)))
        cands.append(Candidate(_f(worst), 0.0, 0.0, f"identity@c0={c0}"))
    return worst_of(cands, "equality")


def _c1_claim(problem, rng):
    """max |c0 + G0 - gamma^t (c_t + G_t)| over sampled episodes, and w_inf(A1, A2)."""
    return _c1(problem, rng, unscaled=False)


def _c1_control(problem, rng):
    """The same with the unscaled stock update c' = c + r."""
    return _c1(problem, rng, unscaled=True)


def _c1_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named_fh("instance_b", ["0", "1"]), _named_fh("instance_a", ["-2"]),
            *_rg_instances(n_random, rng, H=3, gammas=("1/2", "9/10", "1"))]


# ============================================================ (C8) VI rate, lattices
_LATTICE_OBJECTIVES = {"min(x,0)": cvar_utility, "-|x|": target_abs,
                       "2min+max": lambda: piecewise_linear(2, 1)}


def _lattice_problem(builder: str, objective: str, **params: Any) -> LatticeProblem:
    if builder == "random_casino":
        model = zoo.random_casino(rng=params["rng"], exact=True)
    else:
        model = zoo.casino(**params)
    return LatticeProblem(model, objective)


def _named_lattice(objective: str, **params: Any) -> Instance:
    label = "casino(" + ",".join(f"{k}={v}" for k, v in params.items()) + f";f={objective})"
    return Instance(label, {"builder": "rlsandbox.mdps.distributional.casino",
                            "objective": objective, **params},
                    functools.partial(_lattice_problem, "casino", objective, **params))


def _c8(problem: LatticeProblem, rng, *, indicator: bool, n_iter: int = 8) -> Measurement:
    m = problem.model
    # the card's control: the indicator 1{x >= 0} (degree 0, not Lipschitz; L := 1), for
    # which "no geometric rate in general" (card C8: do not check a gamma^k rate for it)
    F = threshold() if indicator else _LATTICE_OBJECTIVES[problem.objective_name]()
    lo, hi = m.return_bounds()
    stocks = [Fraction(k, 4) for k in range(4 * int(lo) - 4, 4 * int(hi) + 5)]
    lat = build_lattice(m, F, stocks)
    J, _ = lat.solve()
    Jv = [J[x] for x in lat.states]
    L = 1 if indicator else Fraction(F.lipschitz).limit_denominator(1000)
    Gbar = max(abs(lo), abs(hi))
    cands = []
    for k, V in enumerate(lat.value_iteration(n_iter)):
        err = max(abs(v - j) for v, j in zip(V, Jv))
        bound = m.gamma ** k * L * Gbar
        cands.append(Candidate(_f(err), _f(bound), 0.0, f"k={k}"))
    return worst_of(cands, "upper_bound", lattice_states=len(lat), f=F.name)


def _c8_claim(problem, rng):
    """sup |V_k - J*| against gamma^k L Gbar, k = 0..8, exact on the lattice."""
    return _c8(problem, rng, indicator=False)


def _c8_control(problem, rng):
    """The same bound (L = 1) for the indicator objective f = 1{x >= 0}."""
    return _c8(problem, rng, indicator=True)


def _c8_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [_named_lattice("min(x,0)", p_bet="0.9"), _named_lattice("min(x,0)"),
           _named_lattice("-|x|"), _named_lattice("2min+max")]
    names = list(_LATTICE_OBJECTIVES)
    for i in range(n_random):
        seed = int(rng.integers(0, 2**32))
        obj = names[i % len(names)]
        out.append(Instance(f"random_casino(exact,rng={seed};f={obj})",
                            {"builder": "rlsandbox.mdps.distributional.random_casino",
                             "rng": seed, "objective": obj},
                            functools.partial(_lattice_problem, "random_casino", obj,
                                              rng=seed)))
    return out


def _c8_lattice(problem: LatticeProblem, *, clamp: bool = False):
    """(true lattice, objective, lattice used for the iterates, J* on the lattice states, L,
    Gbar): the clamped copy replaces the continuation outside the band by 0 (card C9 control,
    Pitfall 3); the states of both lattices coincide (the band test is the same)."""
    m = problem.model
    F = _LATTICE_OBJECTIVES[problem.objective_name]()
    lo, hi = m.return_bounds()
    stocks = [Fraction(k, 4) for k in range(4 * int(lo) - 4, 4 * int(hi) + 5)]
    lat = build_lattice(m, F, stocks)
    it = lat
    if clamp:
        it = build_lattice(m, F, stocks, continuation_=zero_continuation(lat.ac))
        if it.states != lat.states:
            raise AssertionError("the clamped lattice must have the same states")
    J, _ = lat.solve()
    L = Fraction(F.lipschitz).limit_denominator(1000)
    return lat, it, [J[x] for x in lat.states], L, max(abs(lo), abs(hi))


def _c8_greedy(problem: LatticeProblem, rng, *, clamp: bool, n_iter: int = 8) -> Measurement:
    lat, it, Jv, L, Gbar = _c8_lattice(problem, clamp=clamp)
    g = lat.model.gamma
    cands = []
    for k, V in enumerate(it.value_iteration(n_iter)):
        _, pi_k = it.bellman(V)                    # greedy w.r.t. V_k (tie rule of A2)
        J_pi = lat.evaluate(pi_k)                  # exact J^{pi_k} on the true lattice
        gap = max(j - jp for j, jp in zip(Jv, J_pi))
        bound = 2 * g ** (k + 1) * L * Gbar / (1 - g)
        cands.append(Candidate(_f(gap), _f(bound), 0.0, f"k={k}"))
    return worst_of(cands, "upper_bound", tightest=True, lattice_states=len(lat))


def _c8_greedy_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    """C8's instances with Instance C first (the clamped control fails there at every k)."""
    return [_named_lattice("min(x,0)"), *_c8_instances(n_random, rng)]


def _c8_greedy_claim(problem, rng):
    """sup (J* - J^{pi_k}) for pi_k greedy w.r.t. V_k against 2 gamma^{k+1} L Gbar / (1 -
    gamma), k = 0..8, exact."""
    return _c8_greedy(problem, rng, clamp=False)


def _c8_greedy_control(problem, rng):
    """The same with V_k computed on the clamped band (continuation 0 outside it)."""
    return _c8_greedy(problem, rng, clamp=True)


_C8_DELTA = Fraction(1, 16)
_C8_QUANTILES = 4


def _c8_approx(problem: LatticeProblem, rng: np.random.Generator, *, no_accumulation: bool,
               n_iter: int = 8) -> Measurement:
    lat, _, Jv, L, Gbar = _c8_lattice(problem)
    g = lat.model.gamma
    n = len(lat)
    cands = []
    # per-step errors e_k with |e_k| <= delta: all +delta, all -delta (the worst cases, errors
    # accumulating in one direction), and independent random signs (one draw per state, step)
    patterns = {"plus": lambda: [1] * n, "minus": lambda: [-1] * n,
                "random": lambda: [int(v) for v in rng.choice([-1, 1], size=n)]}
    for name, signs in patterns.items():
        V = lat.f_values()
        for k in range(n_iter + 1):
            err = max(abs(v - j) for v, j in zip(V, Jv))
            acc = _C8_DELTA if no_accumulation else _C8_DELTA / (1 - g)
            bound = g ** k * L * Gbar + acc
            cands.append(Candidate(_f(err), _f(bound), 0.0, f"{name},k={k}"))
            TV, _ = lat.bellman(V)
            V = [v + s * _C8_DELTA for v, s in zip(TV, signs())]
    # the card's distributional instance of (iii): quantile-projected distributional VI, whose
    # per-step error is delta <= L (G_hi - G_lo) / (2 m) (card C8 (iii) with B4's w_1 bound)
    lo, hi = lat.model.return_bounds()
    F = lat.objective
    delta_q = L * (hi - lo) / (2 * _C8_QUANTILES)
    for k, zeta in enumerate(lat.distributional_iterates(n_iter, m=_C8_QUANTILES)):
        err = max(abs(F(zeta[x]) - j) for x, j in zip(lat.states, Jv))
        acc = delta_q if no_accumulation else delta_q / (1 - g)
        cands.append(Candidate(_f(err), _f(g ** k * L * Gbar + acc), 0.0,
                               f"quantile m={_C8_QUANTILES},k={k}"))
    return worst_of(cands, "upper_bound", tightest=True, delta=_f(_C8_DELTA))


def _c8_approx_claim(problem, rng):
    """sup |V^_k - J*| for VI with per-step errors |e_k| <= delta = 1/16, and for quantile-
    projected distributional VI (m = 4, delta = L (G_hi - G_lo)/8), against gamma^k L Gbar +
    delta / (1 - gamma), exact."""
    return _c8_approx(problem, rng, no_accumulation=False)


def _c8_approx_control(problem, rng):
    """The same against gamma^k L Gbar + delta (the 1/(1 - gamma) accumulation dropped)."""
    return _c8_approx(problem, rng, no_accumulation=True)


# ============================================= (C11) distributional PI, finite horizon
def _c11_objectives() -> list:
    return [cvar_utility(), threshold(), target_abs()]


def _c11(problem: FHProblem, rng, *, p1_violating: bool) -> Measurement:
    m = problem.model
    laws = history_return_laws(m) if p1_violating else None
    cands = []
    crits = [cvar(_HALF), cvar(Fraction(1, 4))] if p1_violating else _c11_objectives()
    for F in crits:
        for c0 in problem.c0s:
            res = distributional_policy_iteration(m, F, c0)
            opt = best_over_history_policies(m, F, c0, laws=laws)[0] if p1_violating \
                else history_optimum_eu(m, F, c0)
            # J_{k+1} >= J_k pointwise: the deficit min(0, min_k min_x (J_{k+1} - J_k)) is 0
            cands.append(Candidate(_f(min(0, res.min_improvement())), 0.0, 0.0,
                                   f"{F.name}@c0={c0}:monotone",
                                   {"improvements": res.improvements}))
            cands.append(Candidate(_f(res.value), _f(opt), 0.0, f"{F.name}@c0={c0}:final",
                                   {"improvements": res.improvements}))
    return worst_of(cands, "equality")


def _c11_claim(problem, rng):
    """Distributional PI (A6) with min(x,0), 1{x>=0}, -|x|: the improvement deficit (0) and
    the final value against the history-policy optimum (A3), exact."""
    return _c11(problem, rng, p1_violating=False)


def _c11_control(problem, rng):
    """The same PI with F = CVaR_1/2, CVaR_1/4 used directly (P1 violated), against the
    enumerated CVaR optimum."""
    return _c11(problem, rng, p1_violating=True)


def _c11_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    # RG seed 3 (H = 2, gamma = 1): CVaR_1/2-greedy PI stops 1/2 below the optimum (found
    # by scanning seeds 0..149; 3 of 75 H = 2 draws fail), a second named failure after A
    return [_named_fh("instance_a", ["-2", "0"]), _named_fh("instance_t1", ["-1"]),
            _named_fh("instance_b", ["0"]), _named_rg(3, 2, "1"),
            *_rg_instances(n_random, rng, H=2, gammas=("1", "1/2", "9/10"))]


# ================================================== (C12) Instance C's exact table
# card §4 C12: c (playing) -> (J*_min, greedy action for min(x,0), P*(c + G >= 0), greedy
# action for 1{x >= 0}); actions 0 stop, 1 bet, 2 small; "≥ 0" checked at c = 0, 1/4, 1
_C12_TABLE = {"-7/4": ("-1.3608", 1, "0.216", 1), "-3/2": ("-1.136", 1, "0.36", 1),
              "-5/4": ("-0.94", 1, "0.36", 1), "-1": ("-0.72", 1, "0.6", 1),
              "-3/4": ("-0.62", 1, "0.6", 1), "-1/2": ("-0.4", 2, "0.6", 1),
              "-1/4": ("-0.25", 0, "0.68", 2), "0": ("0", 0, "1", 0), "1/4": ("0", 0, "1", 0),
              "1": ("0", 0, "1", 0)}
# card §4 C11: PI from "stop everywhere" converges in 1 (min) and 3 (indicator) improvements
_C11_STEPS = {"min(x,0)": 1, "1{x>=0}": 3}


def _c12_problem() -> LatticeProblem:
    return LatticeProblem(zoo.instance_c(), "table")


def _c12_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [Instance("C = casino(gamma=1/2, exact)",
                     {"builder": "rlsandbox.mdps.distributional.instance_c"}, _c12_problem)]


def _c12(problem: LatticeProblem, rng, *, clamp: bool) -> Measurement:
    m = problem.model
    stocks = [Fraction(c) for c in _C12_TABLE]
    cands = []
    for col, F in ((0, cvar_utility()), (2, threshold())):
        lat = build_lattice(m, F, stocks)
        if clamp:
            lat = build_lattice(m, F, stocks, continuation_=zero_continuation(lat.ac))
        steps = lat.policy_iteration()
        J, pol = steps[-1].J, steps[-1].policy
        for c, row in _C12_TABLE.items():
            cf = Fraction(c)
            cands.append(Candidate(_f(lat.value(J, 0, cf)), _f(Fraction(row[col])), 0.0,
                                   f"{F.name}: J*(c={c})"))
            cands.append(Candidate(float(lat.action(pol, 0, cf)), float(row[col + 1]), 0.0,
                                   f"{F.name}: greedy action(c={c})"))
        improvements = len(steps) - 1
        cands.append(Candidate(float(improvements), float(_C11_STEPS[F.name]), 0.0,
                               f"{F.name}: PI improvements"))
        deficit = min((min(b.J[x] - a.J[x] for x in a.J) for a, b in zip(steps, steps[1:])),
                      default=0)
        cands.append(Candidate(_f(min(0, deficit)), 0.0, 0.0, f"{F.name}: PI monotone"))
    return worst_of(cands, "equality")


def _c12_claim(problem, rng):
    """Exact lattice PI on Instance C against the card's C12 table (values, greedy actions)
    and C11's improvement counts and monotonicity."""
    return _c12(problem, rng, clamp=False)


def _c12_control(problem, rng):
    """The same with the continuation outside the band clamped to 0."""
    return _c12(problem, rng, clamp=True)


# ===================================================================== (C9) grid error
_C9_GRIDS = (51, 101, 201, 401)
_C9_REF = 16001           # (16001 - 1) is a multiple of every (M - 1) above: nested grids


def _grid_problem(builder: str, **params: Any) -> GridProblem:
    if builder == "random_casino":
        return GridProblem(zoo.random_casino(rng=params["rng"], exact=False))
    return GridProblem(zoo.casino(**params, exact=False))


def _grid_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [Instance("C9 = casino(gamma=0.9)", {"builder": "rlsandbox.mdps.distributional."
                                                          "casino", "gamma": "0.9"},
                    functools.partial(_grid_problem, "casino", gamma="0.9"))]
    for _ in range(n_random):
        seed = int(rng.integers(0, 2**32))
        out.append(Instance(f"random_casino(rng={seed})",
                            {"builder": "rlsandbox.mdps.distributional.random_casino",
                             "rng": seed},
                            functools.partial(_grid_problem, "random_casino", rng=seed)))
    return out


def _c9(problem: GridProblem, rng, *, clamp: bool) -> Measurement:
    m = problem.model
    F = cvar_utility()
    g = float(m.gamma)
    ref = stock_value_iteration(m, F, M=_C9_REF, tol=1e-11)
    cands = []
    for M in _C9_GRIDS:
        sol = stock_value_iteration(m, F, M=M, tol=1e-11, clamp=clamp,
                                    continuation_=ref.continuation)
        step = (_C9_REF - 1) // (M - 1)
        err = float(np.abs(sol.V - ref.V[:, ::step]).max())
        bound = g * 1.0 * (sol.delta + ref.delta) / (2.0 * (1.0 - g))
        # tol: both iterates' distance to their fixed points (the stopping rule's guarantee)
        # plus float round-off of the interpolation sums, 8 eps per unit of |V| <= Gbar
        Gbar = float(max(abs(v) for v in m.return_bounds()))
        tol = sol.iteration_error + ref.iteration_error + 8 * _EPS * Gbar
        cands.append(Candidate(err, bound, tol, f"M={M}", {"delta": sol.delta}))
    return worst_of(cands, "upper_bound", gamma=g)


def _c9_claim(problem, rng):
    """sup over grid nodes |V_M - V_ref| against gamma L (Delta + Delta_ref)/(2(1-gamma))."""
    return _c9(problem, rng, clamp=False)


def _c9_control(problem, rng):
    """The same with the grid edges clamped instead of the analytic continuation."""
    return _c9(problem, rng, clamp=True)


# ======================================================================= (C10) band
def _c10(problem: GridProblem, rng, *, drop_rn: bool) -> Measurement:
    m = problem.model
    F = cvar_utility()
    g = float(m.gamma)
    lo, hi = (float(v) for v in m.return_bounds())
    c_lo, c_hi = -hi, -lo                       # the band B
    M = 801
    sol = stock_value_iteration(m, F, M=M, band=(2 * c_lo, 2 * c_hi), tol=1e-11)
    V_rn, _ = solve_risk_neutral(m)
    # grid error bound (C9) + the stopping rule's guarantee + round-off (8 eps Gbar)
    tol = g * sol.delta / (2.0 * (1.0 - g)) + sol.iteration_error + 8 * _EPS * max(-lo, hi)
    cands = []
    for s in range(m.S):
        if m.terminal[s]:
            continue
        for c, v in zip(sol.grid, sol.V[s]):
            if c >= c_hi:
                formula = 0.0
            elif c <= c_lo:
                formula = c + (0.0 if drop_rn else float(V_rn[s]))
            else:
                continue
            cands.append(Candidate(float(v), formula, tol, f"s={s},c={c:.3f}"))
    return worst_of(cands, "equality", V_rn=[float(v) for v in V_rn])


def _c10_claim(problem, rng):
    """Grid VI on a band twice as wide reproduces J* = 0 above B and c + V*_rn below."""
    return _c10(problem, rng, drop_rn=False)


def _c10_control(problem, rng):
    """The same against the formula c below B (the V*_rn term dropped)."""
    return _c10(problem, rng, drop_rn=True)


# ===================================================== (B1) evaluation contraction
def _mrp_problem(builder: str, **params: Any) -> MRPProblem:
    if builder == "random_mrp":
        return MRPProblem(zoo.random_mrp(rng=params["rng"],
                                         acyclic=params.get("acyclic", False)),
                          f"random_mrp(rng={params['rng']})")
    if builder == "instance_m":
        return MRPProblem(zoo.instance_m(gamma=Fraction(params["gamma"])), "M")
    return MRPProblem(getattr(zoo, builder)(**params), builder)


def _mrp_instances(named: Sequence[tuple[str, dict]], *, acyclic: bool):
    def instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
        out = []
        for builder, params in named:
            label = builder + "(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")"
            out.append(Instance(label, {"builder": f"rlsandbox.mdps.distributional.{builder}",
                                        **params},
                                functools.partial(_mrp_problem, builder, **params)))
        for _ in range(n_random):
            seed = int(rng.integers(0, 2**32))
            out.append(Instance(f"random_mrp(rng={seed}{',acyclic' if acyclic else ''})",
                                {"builder": "rlsandbox.mdps.distributional.random_mrp",
                                 "rng": seed, "acyclic": acyclic},
                                functools.partial(_mrp_problem, "random_mrp", rng=seed,
                                                  acyclic=acyclic)))
        return out
    return instances


def _random_laws(S: int, rng: np.random.Generator) -> list[FiniteDist]:
    out = []
    for _ in range(S):
        k = int(rng.integers(1, 4))
        atoms = np.round(rng.uniform(-3.0, 3.0, size=k), 3)
        probs = rng.dirichlet(np.ones(k))
        out.append(FiniteDist._raw(zip(atoms.tolist(), probs.tolist()), exact=False))
    return out


_B1_METRICS = {"w1": (lambda a, b: wasserstein(a, b, 1), 1.0),
               "winf": (w_inf, 1.0), "l2": (cramer, 0.5)}


def _b1(problem: MRPProblem, rng: np.random.Generator, *, tv: bool) -> Measurement:
    m = problem.model
    g = float(m.gamma)
    pi = np.zeros(m.S, dtype=np.int64)
    metrics = {"tv": (total_variation, 1.0)} if tv else _B1_METRICS
    cands = []
    for k in range(6):
        eta, eta2 = _random_laws(m.S, rng), _random_laws(m.S, rng)
        if k == 0:    # a pure shift of every law: tight for w_1 and w_inf
            eta2 = [d.shift(0.5) for d in eta]
        T1, T2 = evaluation_operator(m, pi, eta), evaluation_operator(m, pi, eta2)
        n = sum(len(d) for d in (*eta, *eta2, *T1, *T2))
        B = 1.0 + max(abs(x) for d in (*eta, *eta2, *T1, *T2) for x in d.atoms)
        for name, (d, power) in metrics.items():
            lhs = max(_f(d(a, b)) for a, b in zip(T1, T2))
            rhs = max(_f(d(a, b)) for a, b in zip(eta, eta2))
            # round-off: the atoms r + gamma x carry relative error ~2 eps; each distance
            # sums at most n terms of size <= B: 16 n eps B (factor 8 of headroom)
            tol = 16.0 * n * _EPS * B
            cands.append(Candidate(lhs, g ** power * rhs, tol, f"{name}#pair{k}",
                               {"gamma": g}))
    return worst_of(cands, "upper_bound")


def _b1_claim(problem, rng):
    """sup_s d(T eta, T eta') against gamma^{1/p} sup_s d(eta, eta') (w_1, w_inf, l_2)."""
    return _b1(problem, rng, tv=False)


def _b1_control(problem, rng):
    """The same for total variation with modulus gamma."""
    return _b1(problem, rng, tv=True)


# ====================================================== (B2) control operator expands
def _pair_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    named = [("1/2", "1/10"), ("9/10", "1/100"), ("9/10", "1/2")]
    for _ in range(n_random):
        g = Fraction(int(rng.integers(2, 10)), 10)
        named.append((str(g), str(g * Fraction(int(rng.integers(1, 10)), 10))))
    return [Instance(f"control_pair(gamma={g},eps={e})",
                     {"builder": "rlsandbox.mdps.distributional.control_pair", "gamma": g,
                      "eps": e}, functools.partial(PairProblem, Fraction(g), Fraction(e)))
            for g, e in named]


def _b2(problem: PairProblem, rng, *, fixed_policy: bool) -> Measurement:
    g, e = problem.gamma, problem.eps
    m = zoo.control_pair(gamma=g)
    P = lambda pairs: FiniteDist.from_pairs(pairs, exact=True)      # noqa: E731
    eta = {(0, 0): P([(0, 1)]), (1, 0): P([(0, 1)]),
           (1, 1): P([(-1 - e, _HALF), (1 - e, _HALF)])}
    eta2 = {(0, 0): P([(-e, 1)]), (1, 0): P([(-e, 1)]),
            (1, 1): P([(-1, _HALF), (1, _HALF)])}
    # the control: the evaluation operator T^pi of the fixed policy pi(y) = a1
    fixed = {1: 0} if fixed_policy else None
    T1, T2 = control_operator(m, eta, fixed=fixed), control_operator(m, eta2, fixed=fixed)
    keys = [(0, 0), (1, 0), (1, 1)]
    before = max(wasserstein(eta[k], eta2[k]) for k in keys)
    after = max(wasserstein(T1[k], T2[k]) for k in keys)
    means_before = max(abs(eta[k].mean() - eta2[k].mean()) for k in keys)
    means_after = max(abs(T1[k].mean() - T2[k].mean()) for k in keys)
    return Measurement(_f(after / before), 1.0, tol=0.0,
                       extra={"w1_before": _f(before), "w1_after": _f(after),
                              "greedy": [T1["greedy"][1], T2["greedy"][1]],
                              "mean_gap_before": _f(means_before),
                              "mean_gap_after": _f(means_after)})


def _b2_claim(problem, rng):
    """sup-w_1(T eta, T eta') / sup-w_1(eta, eta') for the card's pair (>= 1: no
    contraction)."""
    return _b2(problem, rng, fixed_policy=False)


def _b2_control(problem, rng):
    """The same ratio for the evaluation operator of the fixed policy a1 (at most gamma)."""
    return _b2(problem, rng, fixed_policy=True)


# ========================================================= (B3, B4) representations
_B3_K = (5, 11, 41, 161)
_B4_M = (4, 16, 64)


def _exact_laws(m: OutcomeMDP) -> list[FiniteDist]:
    return acyclic_return_laws(m, np.zeros(m.S, dtype=np.int64))    # acyclic: exact


def _require_exact_fixed_point(error: float, m: OutcomeMDP) -> None:
    """On acyclic models the projected iteration reaches its fixed point exactly (a zero
    step); anything else means the instance is not acyclic and eta^pi is not exact."""
    if error != 0.0:
        raise ValueError(f"the projected iteration did not reach an exact fixed point on {m} "
                         f"(certified error {error:.3g}); B3/B4 need acyclic instances")


def _vmax(m: OutcomeMDP) -> float:
    """max |r| / (1 - gamma): [-vmax, vmax] contains every return and is preserved by
    x -> r + gamma x (card B4)."""
    r = max(abs(float(v)) for v in m.reward_range())
    return max(r, 1e-12) / (1.0 - float(m.gamma))


def _b3(problem: MRPProblem, rng, *, narrow: bool) -> Measurement:
    m = problem.model
    g = float(m.gamma)
    exact = _exact_laws(m)
    L = 1.0 if narrow else _vmax(m)
    cands = []
    for K in _B3_K:
        fp = categorical_evaluation(m, np.zeros(m.S, dtype=np.int64),
                                    categorical_support(-L, L, K))
        _require_exact_fixed_point(fp.error, m)
        d = max(_f(cramer_sq(fp.law(s), b)) for s, b in enumerate(exact))
        dz = 2 * L / (K - 1)
        # tol: float round-off of the projected sums and of the l_2^2 integral over at most
        # K + (atoms of eta^pi) intervals of width <= 2L: 16 K eps 2L (factor 8 of headroom)
        tol = 16 * K * _EPS * 2 * L
        cands.append(Candidate(d, dz / (1.0 - g), tol, f"K={K}",
                           {"support": [-L, L], "iterations": fp.iterations}))
    return worst_of(cands, "upper_bound", gamma=g)


def _b3_claim(problem, rng):
    """sup_s l_2^2(eta_C, eta^pi) against Delta_z / (1 - gamma), support [-Vmax, Vmax]."""
    return _b3(problem, rng, narrow=False)


def _b3_control(problem, rng):
    """The same with the support [-1, 1], too narrow for the returns."""
    return _b3(problem, rng, narrow=True)


def _b3_mean(problem: MRPProblem, rng, *, narrow: bool) -> Measurement:
    m = problem.model
    V, _ = solve_risk_neutral(m)
    L = 1.0 if narrow else _vmax(m)
    cands = []
    for K in _B3_K:
        fp = categorical_evaluation(m, np.zeros(m.S, dtype=np.int64),
                                    categorical_support(-L, L, K))
        means = fp.means()
        for s in range(m.S):
            # round-off: means are sums of K products z_i p_i (|z| <= L) after at most S + 1
            # projected backups, each adding K eps L: 4 (S + 2) K eps L
            tol = 4.0 * (m.S + 2) * K * _EPS * L
            cands.append(Candidate(float(means[s]), float(V[s]), tol, f"K={K},s={s}"))
    return worst_of(cands, "equality")


def _b3_mean_claim(problem, rng):
    """Means of the categorical fixed point against V^pi (exact linear solve)."""
    return _b3_mean(problem, rng, narrow=False)


def _b3_mean_control(problem, rng):
    """The same with the support [-1, 1], too narrow for the returns."""
    return _b3_mean(problem, rng, narrow=True)


def _b4(problem: MRPProblem, rng, *, squared_rate: bool) -> Measurement:
    m = problem.model
    g = float(m.gamma)
    exact = _exact_laws(m)
    vmax = _vmax(m)
    cands = []
    for n_q in _B4_M:
        fp = quantile_evaluation(m, np.zeros(m.S, dtype=np.int64), n_q)
        _require_exact_fixed_point(fp.error, m)
        d = max(_f(wasserstein(a, b)) for a, b in zip(fp.eta, exact))
        rate = n_q * n_q if squared_rate else n_q
        bound = 2 * vmax / (2 * rate * (1.0 - g))
        # tol: round-off of the w_1 sum over at most (S + 1) n_q atoms of size <= vmax:
        # 16 (S + 1) n_q eps vmax (factor 8 of headroom over 2 eps per term)
        tol = 16 * (m.S + 1) * n_q * _EPS * vmax
        cands.append(Candidate(d, bound, tol, f"m={n_q}", {"iterations": fp.iterations}))
    return worst_of(cands, "upper_bound", gamma=g)


def _b4_claim(problem, rng):
    """sup_s w_1(eta_Q, eta^pi) against (V_max - V_min) / (2 m (1 - gamma))."""
    return _b4(problem, rng, squared_rate=False)


def _b4_control(problem, rng):
    """The same against a 1/m^2 rate."""
    return _b4(problem, rng, squared_rate=True)


_B4C_M = (1, 4, 16)


def _b4_contraction(problem: MRPProblem, rng: np.random.Generator, *,
                    w1: bool) -> Measurement:
    m = problem.model
    g = float(m.gamma)
    pi = np.zeros(m.S, dtype=np.int64)
    dist = (lambda a, b: wasserstein(a, b, 1)) if w1 else w_inf
    cands = []
    for k in range(4):
        if k == 0:
            # the card's adversarial shape: two laws on {0, 1} whose medians sit on opposite
            # atoms (masses 3/8, 5/8 swapped): w_1 = 1/4 but their m = 1 projections are 1
            # apart, w_inf = 1 for both (B4: Pi_Q is a w_inf but not a w_1 non-expansion)
            eta = [FiniteDist._raw([(0.0, 0.375), (1.0, 0.625)], False)] * m.S
            eta2 = [FiniteDist._raw([(0.0, 0.625), (1.0, 0.375)], False)] * m.S
        else:
            eta, eta2 = _random_laws(m.S, rng), _random_laws(m.S, rng)
        T1, T2 = evaluation_operator(m, pi, eta), evaluation_operator(m, pi, eta2)
        B = 1.0 + max(abs(x) for d in (*eta, *eta2, *T1, *T2) for x in d.atoms)
        before = max(_f(dist(a, b)) for a, b in zip(eta, eta2))
        # round-off: atoms r + gamma x carry relative error ~2 eps, quantiles are atoms and
        # w_1 sums at most 2 (n + m) <= 64 terms of size <= B: 64 * 2 eps B (factor 2 spare)
        tol = 256.0 * _EPS * B
        for n_q in _B4C_M:
            P1 = [quantile_projection(d, n_q) for d in eta]
            P2 = [quantile_projection(d, n_q) for d in eta2]
            proj = max(_f(dist(a, b)) for a, b in zip(P1, P2))
            cands.append(Candidate(proj, before, tol, f"Pi_Q nonexpansion,pair{k},m={n_q}"))
            PT1 = [quantile_projection(d, n_q) for d in T1]
            PT2 = [quantile_projection(d, n_q) for d in T2]
            op = max(_f(dist(a, b)) for a, b in zip(PT1, PT2))
            cands.append(Candidate(op, g * before, tol, f"Pi_Q T contraction,pair{k},m={n_q}",
                                   {"gamma": g}))
    return worst_of(cands, "upper_bound", tightest=True)


def _b4_contraction_claim(problem, rng):
    """w_inf(Pi_Q nu, Pi_Q mu) <= w_inf(nu, mu) and sup-w_inf(Pi_Q T eta, Pi_Q T eta') <=
    gamma sup-w_inf(eta, eta'), m in {1, 4, 16}."""
    return _b4_contraction(problem, rng, w1=False)


def _b4_contraction_control(problem, rng):
    """The same two inequalities in w_1 instead of w_inf."""
    return _b4_contraction(problem, rng, w1=True)


_B3C_K = (5, 11)


def _b3_contraction(problem: MRPProblem, rng: np.random.Generator, *,
                    modulus_gamma: bool) -> Measurement:
    m = problem.model
    g = float(m.gamma)
    pi = np.zeros(m.S, dtype=np.int64)
    L = max(_vmax(m), 1.0)          # [-L, L] contains every return, preserved by r + gamma x
    kappa = g if modulus_gamma else float(np.sqrt(g))
    cands = []
    for K in _B3C_K:
        z = categorical_support(-L, L, K)
        # round-off: the projected masses and the l_2 integral over <= 4 K intervals of width
        # <= 2L each carry ~4 eps; 16 K eps 2L (factor 4 of headroom), on l_2 = sqrt(l_2^2)
        tol = float(np.sqrt(16 * K * _EPS * 2 * L))

        def on_grid(laws: list) -> list:
            return [categorical_law(categorical_projection(d, z), z) for d in laws]

        for k in range(4):
            if k == 0:
                # the card's tight case: delta_0 against delta_L; the self-loop with reward 0
                # maps them to delta_0, delta_{gamma L} (on the grid for gamma = 1/2): ratio
                # exactly sqrt(gamma) (card B1 "l_2 tightness")
                eta = [point(0.0, exact=False)] * m.S
                eta2 = [point(float(L), exact=False)] * m.S
            else:
                eta, eta2 = on_grid(_random_laws(m.S, rng)), on_grid(_random_laws(m.S, rng))
            before = max(cramer(a, b) for a, b in zip(eta, eta2))
            T1 = on_grid(evaluation_operator(m, pi, eta))
            T2 = on_grid(evaluation_operator(m, pi, eta2))
            after = max(cramer(a, b) for a, b in zip(T1, T2))
            cands.append(Candidate(after, kappa * before, tol, f"Pi_C T,K={K},pair{k}",
                                   {"gamma": g}))
            # Pi_C is an l_2 non-expansion for laws supported in [z_1, z_K] (raw laws here)
            nu, mu = _random_laws(1, rng)[0], _random_laws(1, rng)[0]
            nu, mu = nu.scale(L / 3.0), mu.scale(L / 3.0)        # atoms in [-L, L]
            p_nu, p_mu = on_grid([nu])[0], on_grid([mu])[0]
            cands.append(Candidate(cramer(p_nu, p_mu), cramer(nu, mu), tol,
                                   f"Pi_C nonexpansion,K={K},pair{k}"))
    return worst_of(cands, "upper_bound", tightest=True)


def _b3_contraction_claim(problem, rng):
    """sup-l_2(Pi_C T eta, Pi_C T eta') <= sqrt(gamma) sup-l_2(eta, eta') for laws on the grid,
    and l_2(Pi_C nu, Pi_C mu) <= l_2(nu, mu), K in {5, 11}."""
    return _b3_contraction(problem, rng, modulus_gamma=False)


def _b3_contraction_control(problem, rng):
    """The same with the modulus gamma in place of sqrt(gamma)."""
    return _b3_contraction(problem, rng, modulus_gamma=True)


# ====================================================================== the claims
_CARD = "[avilapires2025 via card distributional_dp.md"
_FH = "finite S, A; finite outcome kernel p(r, s'|s, a); finite horizon H"

CLAIMS: list[Claim] = [
    Claim(id="distributional.c2.sufficiency", paper="distributional",
          cite=f"{_CARD} §4 C2, §3 A2/A3]",
          statement="stock-augmented greedy DP (A2) attains sup over history-dependent "
          "policies of E f(c0 + G) for f with P1 + P2",
          assumptions=_FH + "; f in {x, 1{x>=0}, min(x,0), -|x|, -x^2, 2min(x,0)+max(x,0)}; "
          "exact rationals; RG instances (card §4) and A, T1, B",
          provenance="unverified", kind="equality",
          instances=_c2_instances, measure=_c2_claim, negative_control=_c2_control,
          control_note="gamma-incompatible f (1{x>=1}, -|x-1|, min(x,1)) without time "
          "augmentation (Instance B: gap 1/2)", quick=3, default=30),
    Claim(id="distributional.c5.time_aware", paper="distributional",
          cite=f"{_CARD} §4 C5, §3 A2-T]",
          statement="time-aware A2 (F_t = F o m_{gamma^t}) attains sup over history policies "
          "for every expected utility",
          assumptions=_FH + "; gamma in {1/2, 9/10}; f in {1{x>=1}, -|x-1|, min(x,1), "
          "-exp(-x), y - y^2/2}", provenance="derived", kind="equality",
          instances=_c5_instances, measure=_c5_claim, negative_control=_c5_control,
          control_note="plain A2 (no time augmentation): Instance B with -exp(-x) is "
          "0.038863 e^{-c0} below the optimum", quick=3, default=30),
    Claim(id="distributional.c6.cvar_outer", paper="distributional",
          cite=f"{_CARD} §4 C6, §3 A4]; [baeuerle2011]",
          statement="max_c0 {-c0 + J*_min(x,0)(s0, c0)/tau} = sup_pi CVaR_tau(G^pi), attained "
          "by the A2 policy started at c0*",
          assumptions=_FH + "; gamma = 1, H = 2; tau in {1/2, 1/4}; c0 candidates = -(reachable "
          "returns)", provenance="derived", kind="equality",
          instances=_c6_instances, measure=_c6_claim, negative_control=_c6_control,
          control_note="policy run from c0 = 0 instead of c0* (Instance A: CVaR 0 vs 3/4)",
          quick=3, default=30),
    Claim(id="distributional.c6.exhaustive_search", paper="distributional",
          cite=f"{_CARD} §4 C6, §3 A4, Pitfall 5]",
          statement="h(c0) = -c0 + J*_min(x,0)(s0, c0)/tau is not concave, so the outer "
          "search scans every candidate c0 = -g (g reachable); the scan attains sup CVaR_tau",
          assumptions=_FH + "; gamma = 1, H = 2; tau in {1/2, 1/4}; golden section over the "
          "band [-G_hi, -G_lo], 30 reductions by 987/1597", provenance="derived",
          kind="equality", instances=_c6_search_instances, measure=_c6_search_claim,
          negative_control=_c6_search_control,
          control_note="golden-section search on h (card C6 control (b)): Instance A, "
          "tau = 1/4: -1/2 vs 0; RG seed 162, tau = 1/2: 2 vs 5/2 (on A at tau = 1/2 it "
          "reaches 3/4, not the card's plateau 1/2)", quick=2, default=20),
    Claim(id="distributional.c7.mean_variance", paper="distributional",
          cite=f"{_CARD} §4 C7, §3 A4]",
          statement="max_pi E G - lam Var G = max_b {b + J*_{y - lam y^2}(s0, -b)} at gamma = 1",
          assumptions=_FH + "; gamma = 1, H = 2, lam = 1/2; b over the means of deterministic "
          "history policies", provenance="derived", kind="equality",
          instances=_c7_instances, measure=_c7_claim, negative_control=_c7_control,
          control_note="gamma = 1/2 with plain A2 inside (y - lam y^2 violates P2; RG seed 91: "
          "0.0591 vs 0.1426)",
          quick=3, default=20),
    Claim(id="distributional.c3.stock_necessary", paper="distributional",
          cite=f"{_CARD} §4 C3]",
          statement="for target and CVaR objectives the stock-augmented optimum exceeds every "
          "(t, s)-Markov policy (T1: 3/4 vs 1/2; A, CVaR_1/2: 3/4 vs 1/2)",
          assumptions=_FH + "; gamma = 1; bound = the card's gap on T1 and A, 0 on RG "
          "(J*_stock >= best Markov)", provenance="derived", kind="lower_bound",
          instances=_c3_instances, measure=_c3_claim, negative_control=_c3_control,
          control_note="stock removed from A2 (memo on (t, s)): T1 drops to 1/2", quick=3,
          default=20),
    Claim(id="distributional.c4.mixture_necessary", paper="distributional",
          cite=f"{_CARD} §4 C4]",
          statement="greedy selection with a P1-violating criterion can be strictly "
          "suboptimal even with stock (Instance A, CVaR_1/2: 0 vs 3/4)",
          assumptions=_FH + "; H = 2; F in {CVaR_1/2, CVaR_1/4, median, mean - Var}; bound = "
          "3/4 for CVaR_1/2 on A, else 0", provenance="derived", kind="lower_bound",
          instances=_c4_instances, measure=_c4_claim, negative_control=_c4_control,
          control_note="criteria handled by the outer search A4 instead (gap 0 on A)",
          quick=3, default=20),
    Claim(id="distributional.c1.stock_identity", paper="distributional",
          cite=f"{_CARD} §4 C1, §2.2 (I1)]",
          statement="c0 + G0 = gamma^t (c_t + G_t) along every trajectory, and A1 on A2's stock "
          "policy reproduces A2's return law",
          assumptions=_FH + "; exact rationals; 8 sampled episodes per c0",
          provenance="derived", kind="equality",
          instances=_c1_instances, measure=_c1_claim, negative_control=_c1_control,
          control_note="unscaled stock update c' = c + r (fails when gamma < 1, Instance B)",
          quick=3, default=20),
    Claim(id="distributional.c8.vi_rate", paper="distributional",
          cite=f"{_CARD} §4 C8 (i), §3 A5-L]",
          statement="stock-augmented VI from V_0 = f has sup |V_k - J*| <= gamma^k L Gbar",
          assumptions="infinite horizon; f L-Lipschitz, positively homogeneous of degree 1; "
          "exact lattice instances (gamma = 1/2, dyadic rewards); k = 0..8",
          provenance="derived", kind="upper_bound",
          instances=_c8_instances, measure=_c8_claim, negative_control=_c8_control,
          control_note="the indicator 1{x>=0} (degree 0; card: no geometric rate) against "
          "the same bound with L = 1 (casino(p_bet=0.9): k=2 error 0.729 > 0.5)",
          quick=2, default=10),
    Claim(id="distributional.c8.greedy_policy", paper="distributional",
          cite=f"{_CARD} §4 C8 (ii), §3 A5-L]",
          statement="for pi_k greedy w.r.t. the VI iterate V_k: sup (J* - J^{pi_k}) <= "
          "2 gamma^{k+1} L Gbar / (1 - gamma)",
          assumptions="infinite horizon; f L-Lipschitz, positively homogeneous of degree 1; "
          "exact lattice instances (gamma = 1/2, dyadic rewards); J^{pi_k} by an exact linear "
          "solve; k = 0..8", provenance="derived", kind="upper_bound",
          instances=_c8_greedy_instances, measure=_c8_greedy_claim,
          negative_control=_c8_greedy_control,
          control_note="V_k computed with the band edges clamped (continuation 0, card C9 / "
          "Pitfall 3): the greedy policy stays suboptimal for every k (Instance C: 0.17 at "
          "k = 8 > 0.0156)", quick=2, default=10),
    Claim(id="distributional.c8.approximate_vi", paper="distributional",
          cite=f"{_CARD} §4 C8 (iii), §3 A5-L]",
          statement="VI with per-step errors |e_k| <= delta has sup |V^_k - J*| <= "
          "gamma^k L Gbar + delta / (1 - gamma)",
          assumptions="infinite horizon; f L-Lipschitz, degree 1; exact lattice instances; "
          "delta = 1/16 with errors all +delta, all -delta, or random signs (rng); and "
          "quantile-projected distributional VI (m = 4, delta = L (G_hi - G_lo) / (2 m)); "
          "k = 0..8",
          provenance="derived", kind="upper_bound",
          instances=_c8_instances, measure=_c8_approx_claim,
          negative_control=_c8_approx_control,
          control_note="bound gamma^k L Gbar + delta (no 1/(1 - gamma) accumulation; "
          "Instance C: 0.0886 > 0.0703 at k = 8)", quick=2, default=10),
    Claim(id="distributional.c11.policy_iteration", paper="distributional",
          cite=f"{_CARD} §4 C11, §3 A6]",
          statement="distributional PI improves pointwise (J_{k+1} >= J_k) and stops after "
          "finitely many steps at J* for P1 + P2 criteria",
          assumptions=_FH + "; H = 2 (RG, A, T1, B); f in {min(x,0), 1{x>=0}, -|x|}; exact "
          "rationals; optimum by history-tree backward induction (A3)",
          provenance="derived", kind="equality",
          instances=_c11_instances, measure=_c11_claim, negative_control=_c11_control,
          control_note="PI with F = CVaR_tau itself (P1 violated): stops suboptimal "
          "(Instance A: CVaR_1/2 0 vs 3/4)", quick=3, default=20),
    Claim(id="distributional.c12.instance_c_table", paper="distributional",
          cite=f"{_CARD} §4 C12, C11]",
          statement="Instance C: J*_min, P*(c + G >= 0) and the greedy actions equal the "
          "card's table at c in {-7/4, ..., 0, 1/4, 1}; PI takes 1 (min) and 3 (indicator) "
          "monotone improvements",
          assumptions="Instance C (gamma = 1/2, exact lattice A5-L); PI from 'stop' "
          "everywhere; ties keep pi_k's action", provenance="derived", kind="equality",
          instances=_c12_instances, measure=_c12_claim, negative_control=_c12_control,
          control_note="continuation outside the band clamped to 0 (card C9 / Pitfall 3): "
          "J*(-7/4) = 0 instead of -1.3608", quick=0, default=0),
    Claim(id="distributional.c9.grid_error", paper="distributional",
          cite=f"{_CARD} §4 C9, §3 A5]",
          statement="stock-grid VI with interpolation and analytic continuation has "
          "sup |V^ - J*| <= gamma L Delta / (2 (1 - gamma))",
          assumptions="infinite horizon; f = min(x, 0) (L = 1, degree 1); uniform grid on the "
          "band; reference = the same VI with M = 16001 (error counted in the bound)",
          provenance="derived", kind="upper_bound",
          instances=_grid_instances, measure=_c9_claim, negative_control=_c9_control,
          control_note="grid edges clamped instead of the analytic continuation (value "
          "collapses to 0)", quick=1, default=6),
    Claim(id="distributional.c10.band", paper="distributional",
          cite=f"{_CARD} §4 C10]",
          statement="for f = min(x,0): J* = 0 for c >= -G_lo and J* = c + V*_rn(s) for "
          "c <= -G_hi",
          assumptions="infinite horizon; grid VI on a band twice as wide (M = 801); tolerance "
          "= the C9 grid bound + the stopping rule", provenance="derived", kind="equality",
          instances=_grid_instances, measure=_c10_claim, negative_control=_c10_control,
          control_note="formula c below the band (the V*_rn term dropped)", quick=1,
          default=6),
    Claim(id="distributional.b1.evaluation_contraction", paper="distributional",
          cite="[bellemare2017] (result number not on the card); card §4 B1",
          statement="T^pi is a gamma-contraction in sup-w_1 and sup-w_inf and a "
          "sqrt(gamma)-contraction in sup-l_2",
          assumptions="finite MRPs with random rewards (S <= 3); finite-support laws",
          provenance="paper", kind="upper_bound",
          instances=_mrp_instances([("self_loop", {"gamma": 0.5})], acyclic=False),
          measure=_b1_claim, negative_control=_b1_control,
          control_note="total variation with modulus gamma (the self-loop preserves TV)",
          quick=3, default=30),
    Claim(id="distributional.b2.control_expansion", paper="distributional",
          cite="[bellemare2017] (result number not on the card); card §4 B2",
          statement="the distributional control operator is not a contraction: "
          "sup-w_1(T eta, T eta') / sup-w_1(eta, eta') = gamma/eps >= 1 on the card's pair",
          assumptions="x -> y with reward 0, y has two terminal actions; eps <= gamma",
          provenance="paper", kind="lower_bound",
          instances=_pair_instances, measure=_b2_claim, negative_control=_b2_control,
          control_note="evaluation operator of a fixed policy (ratio <= gamma < 1)", quick=2,
          default=10),
    Claim(id="distributional.b3.categorical_bound", paper="distributional",
          cite="[rowland2018] (proposition numbers unverified on the card); card §4 B3",
          statement="the categorical fixed point has sup_s l_2^2(eta_C, eta^pi) <= "
          "Delta_z / (1 - gamma)",
          assumptions="acyclic MRPs (exact eta^pi); support [-Vmax, Vmax], Vmax = max|r| / "
          "(1 - gamma); K in {5, 11, 41, 161}", provenance="paper", kind="upper_bound",
          instances=_mrp_instances([("instance_m", {"gamma": "1/2"}),
                                    ("instance_m", {"gamma": "9/10"})], acyclic=True),
          measure=_b3_claim, negative_control=_b3_control,
          control_note="support [-1, 1], too narrow for the returns", quick=3, default=20),
    Claim(id="distributional.b3.categorical_mean", paper="distributional",
          cite="[lyle2019]; [rowland2018]; card §4 B3",
          statement="the categorical fixed point preserves means: E eta_C(s) = V^pi(s)",
          assumptions="acyclic MRPs; support [-Vmax, Vmax] containing every return; K in "
          "{5, 11, 41, 161}", provenance="paper", kind="equality",
          instances=_mrp_instances([("instance_m", {"gamma": "9/10"})], acyclic=True),
          measure=_b3_mean_claim, negative_control=_b3_mean_control,
          control_note="support [-1, 1] (card: means 0.18, 0.30, 0.10 vs 0.4414, 0.681, 0.3)",
          quick=3, default=20),
    Claim(id="distributional.b4.quantile_bound", paper="distributional",
          cite="[dabney2018]; card §4 B4 (derived w_1 bound, constant 1)",
          statement="the quantile fixed point has sup_s w_1(eta_Q, eta^pi) <= "
          "(V_max - V_min) / (2 m (1 - gamma))",
          assumptions="acyclic MRPs (exact eta^pi); [V_min, V_max] = [-Vmax, Vmax]; m in "
          "{4, 16, 64}", provenance="derived", kind="upper_bound",
          instances=_mrp_instances([("instance_m", {"gamma": "1/2"}),
                                    ("instance_m", {"gamma": "9/10"})], acyclic=True),
          measure=_b4_claim, negative_control=_b4_control,
          control_note="a 1/m^2 rate instead of 1/m (M at gamma = 1/2: 0.05 > 0.031 at m=16)",
          quick=3, default=20),
    Claim(id="distributional.b3.categorical_contraction", paper="distributional",
          cite="[rowland2018] (proposition numbers unverified on the card); card §4 B3",
          statement="Pi_C is a non-expansion in l_2 and Pi_C T^pi is a sqrt(gamma)-contraction "
          "in sup-l_2",
          assumptions="finite MRPs with random rewards (S <= 3); uniform support [-L, L] "
          "containing every return (L = max(max|r|/(1-gamma), 1)); K in {5, 11}; the card's "
          "tight pair delta_0, delta_L plus random pairs",
          provenance="paper", kind="upper_bound",
          instances=_mrp_instances([("self_loop", {"gamma": 0.5})], acyclic=False),
          measure=_b3_contraction_claim, negative_control=_b3_contraction_control,
          control_note="modulus gamma instead of sqrt(gamma) (card B1: the zero-reward "
          "self-loop gives exactly sqrt(gamma))", quick=3, default=30),
    Claim(id="distributional.b4.quantile_contraction", paper="distributional",
          cite="[dabney2018] (result numbers not on the card); card §4 B4, Pitfall 12",
          statement="Pi_Q is a non-expansion in w_inf and Pi_Q T^pi is a gamma-contraction "
          "in sup-w_inf",
          assumptions="finite MRPs with random rewards (S <= 3); finite-support laws; m in "
          "{1, 4, 16}; the card's adversarial pair plus random pairs",
          provenance="paper", kind="upper_bound",
          instances=_mrp_instances([("self_loop", {"gamma": 0.5})], acyclic=False),
          measure=_b4_contraction_claim, negative_control=_b4_contraction_control,
          control_note="the same in w_1 (card: Pi_Q is not a w_1 non-expansion; the "
          "adversarial pair gives ratio 4)", quick=3, default=30),
]

for _claim in CLAIMS:
    register(_claim)
