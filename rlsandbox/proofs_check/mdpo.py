"""The MDPO / policy-mirror-descent claims (``paper="mdpo"``), card ``shared/papers/mdpo.md``.

MDPO (Tomar et al., ICLR 2022) states no new theorem: its tabular justification is the theory
of Shani et al. (2020), Xiao (2022) and Lan (2023), which these claims check exactly (linear
solves in float64, no sampling) on every iterate of every run. Reward form throughout
(delta_k = V*(rho) - V^{pi_k}(rho)); ids carry the card's claim number (C0-C20).

=====================================  ===================================================  ==========
id                                     statement                                            card
=====================================  ===================================================  ==========
mdpo.c3.per_iteration                  theta_{k+1}(delta_{k+1}-delta_k) + delta_k <=        C3 derived
                                       (Dstar_k - Dstar_{k+1})/((1-gamma) eta_k)
mdpo.c2.sublinear                      delta_k <= (Dstar_0/((1-g) eta) + 1/(1-g)^2)/(k+1)   C2 derived
mdpo.c4.linear                         delta_k <= (1-1/theta_rho)^k (delta_0 + Dstar_0/      C4 derived
                                       (gamma eta_0)), eta_k = eta_0 / gamma^k
mdpo.c5.pi_limit                       PI: delta_{k+1} <= (1 - 1/theta_{k+1}) delta_k        C5 derived
mdpo.c6.inexact                        ||Qhat - Q|| <= tau: C4's bound + 4 theta tau/(1-g)   C6 derived
mdpo.c1.monotone                       exact PMD: V_{k+1} >= V_k, <Q_k, pi_{k+1}-pi_k> >= 0  C1 paper
mdpo.c1.monotone_regularized           NE-TRPO (lam t <= 1), Lan: V_lam nondecreasing       C1 paper
mdpo.c1.inexact_monotone               ||Qhat - Q|| <= tau: V_{k+1} >= V_k - 2tau/(1-g)     C1 paper
mdpo.c8.uniform_trpo                   max_s (V* - V_N) <= (log A + h^2/2 sum t^2)/         C8 derived
                                       ((1-g) sum t)
mdpo.c9.regularized_trpo               max_s (V*_lam - V_lam^N) <= (lam log A + sum h_k^2/  C9 derived
                                       (2 lam (k+2)))/((1-g)(N+1))
mdpo.c12.lan_linear                    Lan potential <= gamma^k (its value at 0)            C12 derived
mdpo.c13.lan_sublinear                 f* - f_k <= (f* - f_0 + log A/eta)/((1-g)(k+1))      C13 derived
mdpo.c15.fixed_point                   pi*_lam is a fixed point of NE-TRPO / Lan steps      C15 derived
mdpo.c15.bias                          0 <= V* - V^{pi*_lam} <= lam log A/(1-gamma)         C15 derived
mdpo.c16.anchor_gradient               grad Psi(theta_k) = on-policy policy gradient        C16a paper
mdpo.c16.closed_form_argmax            grad Psi = 0 at log pi_k + t A_k                     C16b paper
mdpo.c17.soft_objective                Psi_soft = -(1/t) KL(pi || T_k) + (1/t) log Z_k       C17a paper
mdpo.c17.sac_loss                      uniform anchor: MDPO loss = t * SAC loss + const     C17b paper
mdpo.c17.soft_pi_contraction           soft PI: ||Q_k - Q*_lam|| <= gamma^k ||Q_0 - Q*||    C17c paper
mdpo.c18.npg_direction                 F A = g (so x = A + c(s)); A^T F A = E_d Var A      C18 derived
mdpo.c19.lan_equals_ne_trpo            Lan(eta, mu) step = NE-TRPO(t = eta/(1+eta mu))     C19 derived
mdpo.c20.soft_value_identity           V_lam = sum_a pi (Q_lam - lam log pi) - lam log A    C20 derived
mdpo.c7.generative_estimate            M >= ln(2SA/delta)/(2 g^2H): P(max|Qhat - Q| >       C7 unverif.
                                       2 g^H/(1-g)) <= delta (Xiao Lemma 14)
mdpo.c0.occupancy                      sum_s d = 1 and d >= (1-gamma) rho                    C0 paper
mdpo.c0.policy_gradient                dV(rho)/dpi(a|s) = d(s) Q(s,a)/(1-gamma)             C0 paper
mdpo.c0.shift_invariance               the KL step is unchanged by Q -> A, Q + c(s)         C0 paper
mdpo.c0.performance_difference         V^{pi'}(rho) - V^pi(rho) = <d^{pi'}, A^pi(., pi')>   C0 paper
                                       /(1-g) (the classic claims' measurement)
mdpo.c10.exact_trpo                    Exact TRPO's iterate maximises the d_nu^{pi_k}-     C10 paper
                                       weighted proximal objective, pi_k kept off S_k
mdpo.c10.exact_trpo_rate               Assumption 1: mu.(V* - V_N) <= C8's explicit bound   C10 derived
mdpo.c11.sample_based_trpo             RMSE of Sample-Based TRPO's objective estimate      C11 paper
                                       ~ M^-1/2 (rate: slope in [-0.7, -0.3])
mdpo.c14.apmd_linear                   APMD late per-step factor <= gamma^(1/2) (a),       C14 paper
                                       gamma^(1/4) (b); constants unverified, unused
=====================================  ===================================================  ==========

Provenance follows the card: [derived] statements are "derived"; the card's [ours] identities
(C15, C18, C19, C20, one-line proofs on the card) are also "derived" (the contract has no
separate tag); statements the card attributes to the papers are "paper".

Instances. A claim's ``Instance.build`` returns a :class:`Case`: a model plus the number of
iterations K to run on it. Named instances come first: M2 = ``mdpo_chain`` of
``rlsandbox.mdps.mdpo`` and an adversarial instance per control, built so that the control
fails on it by construction (derivations in the builders' docstrings): ``bandit_loop``
(noise, overshoot, bias), ``delayed_reward`` (wrong discount; with ``teleport`` for Lan's
ergodic weighting), ``stationary_start`` (C*_rho = 1), ``coin_flip`` (maximal return
variance), ``pi_chain`` of the classic claims with rho concentrated on its start (PI
improves the start state last), ``two_islands`` (C10: states no policy reaches from rho;
with gamma = 0.5 for the rate, whose control strands the evaluation weight there).
C11 and C14 are statistical / rate statements: C11 is a ``rate`` claim (Monte-Carlo RMSE
against M; its biased control's RMSE levels off at the bias), C14 compares a fitted late
per-step factor with a slackened rate. For C12 and C17(c), whose controls fail through a slower
rate or a wrong fixed point rather than by construction, the named instance is the fixed M1
draw ``mdpo_random(S=5, A=3, rng=0)`` with enough iterations; tests/test_mdpo_claims.py
checks that every control fails on its named instance for several seeds. Then seeded random
M1-like instances: ``mdpo_random`` (dense Dirichlet(0.5) kernel, rewards U[0, 1)),
|S| in [5, 20], |A| in [2, 6], gamma in {0.5, 0.9, 0.99} [mdpo-card, §4 conventions]. Step
sizes are drawn per cell from the measure's ``rng`` (log-uniform ranges stated in each
measure), so the default budget covers many configurations.

Tolerances. Float64 round-off only, with stated factors. ``ev`` is the allowance for one exact
evaluation, 8 S eps (1+gamma)/(1-gamma) max|V| (:func:`rlsandbox.algorithms.mdpo.theory.
eval_roundoff`, [higham2002, Thm 9.5]), plus the reference's certified ||V* - V*_computed||.
A gap delta_k carries 2 ev. In C3, the computed iterates are exact PMD iterates for Q values
perturbed by at most tau_fp = 2 ev (evaluation plus the step's own rounding), and Xiao's
inexact analysis moves each side of the per-step inequality by at most 2 tau_fp / (1-gamma)
per unit of theta_{k+1} + 1; we allow twice that. Like the classic claims' allowances these
are allowances for round-off, not rigorous enclosures; the measured discrepancies of the
positive checks stay far below them (e.g. C3: 3e-13 against allowances ~1e-9).
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.algorithms.mdpo.pmd import (PMDRun, QNoise, _loop, _mirror_update, _start, apmd,
                                           exact_trpo,
                                           lan_pmd, ne_trpo, pmd)
from rlsandbox.algorithms.mdpo.policies import (_kl_step, _lan_step, _ne_trpo_step, kl_rows,
                                                log_normalize,
                                                omega_rows, probabilities)
from rlsandbox.algorithms.mdpo.regularized import _eval_lam, soft_optimal
from rlsandbox.algorithms.mdpo.schedules import constant, geometric, shani, shani_regularized
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps.mdpo import (bandit_loop, coin_flip, delayed_reward, mdpo_chain, two_islands,
                                 mdpo_random, stationary_start)
from rlsandbox.proofs_check import Claim, Instance, Measurement, register
from rlsandbox.proofs_check.candidates import Candidate, worst_of

__all__ = ["Case", "CLAIMS", "c3_sides", "C7_DELTA"]

EPS = T.EPS


# =================================================================== cases, instances
@dataclass(frozen=True, eq=False)
class Case:
    """A claim's problem: the model and the number of PMD iterations to run on it."""

    mdp: TabularMDP
    K: int


def _build(builder: Callable[..., TabularMDP], K: int, rho: str | None, params: dict) -> Case:
    mdp = builder(**params)
    if rho == "concentrated":          # 99% of the mass on state 0, the rest uniform
        r = np.full(mdp.S, 0.01 / mdp.S)
        r[0] += 0.99
        mdp = mdp.replace(rho=r)
    return Case(mdp, K)


def _named(builder: Callable[..., TabularMDP], K: int, rho: str | None = None,
           **params: Any) -> Instance:
    label = builder.__name__ + "(" + ",".join(f"{k}={v}" for k, v in params.items()) + \
        (f",rho={rho}" if rho else "") + f";K={K})"
    return Instance(label, {"builder": f"{builder.__module__}.{builder.__name__}", "K": K,
                            "rho": rho, **params},
                    functools.partial(_build, builder, K, rho, params))


def _random(n: int, rng: np.random.Generator, K: int, *, S=(5, 20), A=(2, 6),
            gammas=(0.5, 0.9, 0.99)) -> list[Instance]:
    out = []
    for _ in range(n):
        s = int(rng.integers(S[0], S[1] + 1))
        a = int(rng.integers(A[0], A[1] + 1))
        g = float(gammas[int(rng.integers(len(gammas)))])
        seed = int(rng.integers(0, 2**32))
        out.append(_named(mdpo_random, K, S=s, A=a, gamma=g, rng=seed))
    return out


def _instances(*named: Instance, K: int = 30, **kw: Any):
    def instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
        return [*named, *_random(n_random, rng, K, **kw)]
    return instances


# ============================================================= worst cell, tolerances
def _worst(cands: Sequence[Candidate], kind: str, **extra: Any) -> Measurement:
    """:func:`~rlsandbox.proofs_check.candidates.worst_of`, reporting the tightest
    informative candidate when all hold."""
    return worst_of(cands, kind, tightest=True, **extra)

def _vmax(mdp: TabularMDP, lam: float = 0.0) -> float:
    """max|V^pi| <= (max|R| + lam log A) / (1 - gamma) for every pi."""
    return (float(np.abs(mdp.R).max()) + lam * math.log(mdp.A) + 1e-300) / (1.0 - mdp.gamma)


def _ev(mdp: TabularMDP, ref_err: float = 0.0, lam: float = 0.0) -> float:
    """Allowance on one computed value (module docstring): evaluation round-off + reference."""
    return T.eval_roundoff(mdp.S, mdp.gamma, _vmax(mdp, lam)) + ref_err


def _wrong_gamma(gamma: float) -> float:
    """The deliberately wrong discount of the controls: 0.5 (0.9 if the model's is 0.5)."""
    return 0.9 if gamma == 0.5 else 0.5


def _wrong_evaluator(mdp: TabularMDP):
    other = mdp.replace(gamma=_wrong_gamma(mdp.gamma))
    return lambda k, pi, logpi: _eval_lam(other, pi, logpi, 0.0)


def _log_uniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(10.0 ** rng.uniform(math.log10(lo), math.log10(hi)))


def _run(mdp: TabularMDP, K: int, schedule, mirror: str, *, wrong: bool = False,
         noise: QNoise | None = None, rng=None) -> PMDRun:
    """pmd, or (wrong=True) the same loop fed Q evaluated with the wrong discount."""
    if not wrong:
        return pmd(mdp, K=K, step=schedule, mirror=mirror, noise=noise, rng=rng)
    logpi0 = _start(mdp, None, interior=mirror == "kl")
    return _loop(mdp, logpi0, K, _mirror_update(schedule, mirror), lam=0.0,
                 method=f"pmd-{mirror}-wrong-gamma", evaluator=_wrong_evaluator(mdp))


def _D(ref: T.Reference, run: PMDRun, mirror: str) -> np.ndarray:
    return T.dstar_kl(ref, run.logpi) if mirror == "kl" else T.dstar_euclid(ref, run.pi)


# ============================================================== C3: per-iteration
def c3_sides(mdp: TabularMDP, run: PMDRun, mirror: str, ref: T.Reference | None = None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Both sides of C3 for every update of an exact PMD run, and the round-off allowance.

    Returns (lhs, rhs, tol), each (K,): C3 holds at step k iff lhs[k] <= rhs[k] + tol[k].
    ``mirror`` picks Dstar ("kl": from log-probabilities; "euclid"). Steps with eta_k = inf
    use rhs = 0 (needs "euclid": KL's Dstar is infinite for greedy iterates). Tolerance: see
    the module docstring (gaps 2 ev each; Q inexactness tau_fp = 2 ev moving each side by
    2 tau_fp/(1-gamma) per unit of theta_{k+1} + 1, doubled; Dstar's sum of S terms of size
    <= max|log pi| + 1 at relative eps, divided by (1-gamma) eta_k).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import pmd
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> lhs, rhs, tol = c3_sides(mdp, pmd(mdp, K=10, step=1.0), "kl")
    >>> bool(np.all(lhs <= rhs + tol))
    True
    """
    g = mdp.gamma
    ref = T.reference(mdp) if ref is None else ref
    ev = _ev(mdp, ref.V_err)
    tau_fp = 2.0 * ev
    delta = T.gaps(ref, run.V)
    D = _D(ref, run, mirror)
    th = T.thetas(mdp, ref, run.pi)
    lhs, rhs = T.xiao_per_iteration(g, delta, D, th, run.eta)
    Lmax = float(np.abs(np.where(np.isfinite(run.logpi), run.logpi, 0.0)).max()) + 1.0
    with np.errstate(divide="ignore"):
        d_term = np.where(np.isinf(run.eta), 0.0,
                          4.0 * mdp.S * EPS * Lmax / ((1.0 - g) * run.eta))
    tol = (th[1:] + 1.0) * (4.0 * ev + 4.0 * tau_fp / (1.0 - g)) + d_term
    return lhs, rhs, tol


def _c3(case: Case, rng: np.random.Generator, *, wrong: bool) -> Measurement:
    """Both sides of C3 at every k of four runs: KL and Euclid, constant eta (log-uniform in
    [0.1, 10]) and geometric eta_0 / gamma^k (eta_0 log-uniform in [0.1, 3])."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ref = T.reference(mdp)
    cands = []
    configs = [("kl", constant(_log_uniform(rng, 0.1, 10.0))),
               ("euclid", constant(_log_uniform(rng, 0.1, 10.0))),
               ("kl", geometric(_log_uniform(rng, 0.1, 3.0), g)),
               ("euclid", geometric(_log_uniform(rng, 0.1, 3.0), g))]
    for mirror, sch in configs:
        run = _run(mdp, K, sch, mirror, wrong=wrong)
        lhs, rhs, tol = c3_sides(mdp, run, mirror, ref)
        for k in range(K):
            cands.append(Candidate(float(lhs[k]), float(rhs[k]), float(tol[k]),
                               f"{mirror}/{sch.name}(k={k})"))
    return _worst(cands, "upper_bound", theta_rho=ref.theta_rho, gamma=g)


def _c3_claim(case, rng):
    """C3 on exact PMD runs."""
    return _c3(case, rng, wrong=False)


def _c3_control(case, rng):
    """C3 on runs fed Q evaluated with the wrong discount (0.5 instead of gamma)."""
    return _c3(case, rng, wrong=True)


# ==================================================================== C2: sublinear
def _c2(case: Case, rng: np.random.Generator, *, wrong: bool) -> Measurement:
    """delta_k against C2's bound at every k, KL and Euclid, constant eta log-uniform in
    [0.1, 10]."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    T.check_unit_rewards(mdp, "C2")
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    cands = []
    for mirror in ("kl", "euclid"):
        eta = _log_uniform(rng, 0.1, 10.0)
        run = _run(mdp, K, constant(eta), mirror, wrong=wrong)
        delta = T.gaps(ref, run.V)
        D0 = float(_D(ref, run, mirror)[0])
        bound = T.xiao_sublinear_bound(g, D0, eta, np.arange(K + 1))
        for k in range(K + 1):
            cands.append(Candidate(float(delta[k]), float(bound[k]), 2.0 * ev + 4 * EPS * bound[k],
                               f"{mirror}/eta={eta:.3g}(k={k})"))
    return _worst(cands, "upper_bound", gamma=g)


def _c2_claim(case, rng):
    """C2 on exact PMD with constant steps."""
    return _c2(case, rng, wrong=False)


def _c2_control(case, rng):
    """C2 on runs fed Q with the wrong discount (a positive asymptotic gap)."""
    return _c2(case, rng, wrong=True)


# ====================================================================== C4: linear
def _c4(case: Case, rng: np.random.Generator, *, coefficient: str) -> Measurement:
    """delta_k against (1 - 1/c)^k (delta_0 + Dstar_0/(gamma eta_0)), geometric steps,
    KL and Euclid, eta_0 log-uniform in [0.1, 3]; c = theta_rho (the claim) or C*_rho (the
    control). Only iterations before the cap of the geometric schedule."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    c = ref.theta_rho if coefficient == "theta" else ref.C_rho
    cands = []
    for mirror in ("kl", "euclid"):
        eta0 = _log_uniform(rng, 0.1, 3.0)
        sch = geometric(eta0, g)
        run = pmd(mdp, K=K, step=sch, mirror=mirror)
        delta = T.gaps(ref, run.V)
        D0 = float(_D(ref, run, mirror)[0])
        last = sch.uncapped_until(K) + 1
        bound = T.xiao_linear_bound(c, float(delta[0]), D0, eta0, g, np.arange(last + 1))
        for k in range(last + 1):
            # delta_k and the delta_0 inside the bound: 2 ev each; relative eps on the bound
            cands.append(Candidate(float(delta[k]), float(bound[k]),
                               4.0 * ev + 8 * EPS * abs(float(bound[k])),
                               f"{mirror}/eta0={eta0:.3g}(k={k})"))
    return _worst(cands, "upper_bound", theta_rho=ref.theta_rho, C_rho=ref.C_rho, gamma=g)


def _c4_claim(case, rng):
    """C4 with theta_rho = C*_rho / (1 - gamma)."""
    return _c4(case, rng, coefficient="theta")


def _c4_control(case, rng):
    """C4 with C*_rho in place of theta_rho (the 1/(1-gamma) forgotten)."""
    return _c4(case, rng, coefficient="C")


# ================================================================= C5: PI limit
def _c5(case: Case, rng: np.random.Generator, *, factor: str) -> Measurement:
    """Policy iteration (eta = inf) from pi_0 = action 0 everywhere and from uniform:
    delta_{k+1} against (1 - 1/theta_{k+1}) delta_k (claim) or gamma delta_k (control)."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    cands = []
    for start, pi0 in (("zeros", np.zeros(mdp.S, dtype=np.int64)), ("uniform", None)):
        run = pmd(mdp, K=K, step=np.inf, pi0=pi0)
        delta = T.gaps(ref, run.V)
        th = T.thetas(mdp, ref, run.pi)
        for k in range(K):
            f = (1.0 - 1.0 / th[k + 1]) if factor == "theta" else g
            cands.append(Candidate(float(delta[k + 1]), float(f * delta[k]), 4.0 * ev,
                               f"pi-from-{start}(k={k})"))
    return _worst(cands, "upper_bound", theta_rho=ref.theta_rho, gamma=g)


def _c5_claim(case, rng):
    """PI step against 1 - 1/theta_{k+1}."""
    return _c5(case, rng, factor="theta")


def _c5_control(case, rng):
    """PI step against gamma (not guaranteed for a rho-weighted gap)."""
    return _c5(case, rng, factor="gamma")


# ================================================================= C6: inexact PMD
def _c6(case: Case, rng: np.random.Generator, *, control: bool) -> Measurement:
    """Geometric KL-PMD with Q-noise of size tau in {1e-3, 1e-2, 1e-1}: uniform and
    adversarial (-tau on a*(s), +tau elsewhere) noise against C6's general form; the control
    runs the noise that pushes towards the worst action (tau = 0.3) against the noise-free
    bound of C4 (the 4 theta tau/(1-gamma) floor dropped)."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    eta0 = _log_uniform(rng, 0.1, 3.0)
    sch = geometric(eta0, g)
    last = sch.uncapped_until(K) + 1
    if control:
        noises = [QNoise(0.3, "toward_worst"), QNoise(0.3, "adversarial", tuple(ref.pi_star))]
    else:
        tau = float(10.0 ** -rng.integers(1, 4))
        noises = [QNoise(tau, "uniform"), QNoise(tau, "adversarial", tuple(ref.pi_star))]
    cands = []
    for noise in noises:
        run = pmd(mdp, K=K, step=sch, noise=noise, rng=rng)
        delta = T.gaps(ref, run.V)
        D0 = float(T.dstar_kl(ref, run.logpi)[0])
        floor = 0.0 if control else noise.tau
        bound = T.xiao_inexact_bound(ref.theta_rho, float(delta[0]), D0, eta0, g, floor,
                                     np.arange(last + 1))
        for k in range(last + 1):
            cands.append(Candidate(float(delta[k]), float(bound[k]),
                               4.0 * ev + 8 * EPS * float(bound[k]),
                               f"{noise.kind}(tau={noise.tau:g},k={k})"))
    return _worst(cands, "upper_bound", theta_rho=ref.theta_rho, gamma=g, eta0=eta0)


def _c6_claim(case, rng):
    """C6 with bounded uniform and adversarial noise."""
    return _c6(case, rng, control=False)


def _c6_control(case, rng):
    """Noise towards the worst action, asserted with the noise-free bound."""
    return _c6(case, rng, control=True)


# ===================================================== C1: monotone improvement
def _increments(run: PMDRun) -> tuple[np.ndarray, np.ndarray]:
    """(min_s V_{k+1}(s) - V_k(s), min_s <Q_used_k(s,.), pi_{k+1} - pi_k>) per k."""
    dV = (run.V[1:] - run.V[:-1]).min(axis=1)
    inner = np.einsum("ksa,ksa->ks", run.Q_used, run.pi[1:] - run.pi[:-1]).min(axis=1)
    return dV, inner


def _c1(case: Case, rng: np.random.Generator, *, control: bool) -> Measurement:
    """min over k, s of V_{k+1} - V_k and of <Q_k, pi_{k+1} - pi_k> (both >= 0), for KL and
    Euclid with constant eta (log-uniform [0.1, 10]), KL geometric, and PI; the control feeds
    the KL runs Q-noise of size 0.3 pushing towards the worst action."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ev = _ev(mdp)
    vmax = _vmax(mdp)
    noise = QNoise(0.3, "toward_worst") if control else None
    runs = [("kl-const", pmd(mdp, K=K, step=_log_uniform(rng, 0.1, 10.0), noise=noise)),
            ("kl-geometric", pmd(mdp, K=K, step=geometric(_log_uniform(rng, 0.1, 3.0), g),
                                 noise=noise))]
    if not control:
        runs += [("euclid-const", pmd(mdp, K=K, step=_log_uniform(rng, 0.1, 10.0),
                                      mirror="euclid")),
                 ("pi", pmd(mdp, K=K, step=np.inf))]
    cands = []
    for label, run in runs:
        dV, inner = _increments(run)
        for k in range(K):
            # a difference of two values: 2 ev; <Q, p - q>: A terms of size vmax, eps each
            cands.append(Candidate(float(dV[k]), 0.0, 2.0 * ev, f"{label}:dV(k={k})"))
            cands.append(Candidate(float(inner[k]), 0.0, 4.0 * mdp.A * EPS * vmax,
                               f"{label}:<Q,dpi>(k={k})"))
    return _worst(cands, "lower_bound", gamma=g)


def _c1_claim(case, rng):
    """Monotone improvement of exact PMD."""
    return _c1(case, rng, control=False)


def _c1_control(case, rng):
    """The same with Q-noise (tau = 0.3) towards the worst action."""
    return _c1(case, rng, control=True)


def _c1_reg(case: Case, rng: np.random.Generator, *, lam_t: float | None) -> Measurement:
    """min over k, s of V_lam^{k+1} - V_lam^k for NE-TRPO with lam t in {0.5, 1} (claim) or
    lam t = 2.5 (control), and Lan's PMD at eta = (1-gamma)/(gamma mu) (claim);
    lam log-uniform in [0.01, 1]."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    lam = _log_uniform(rng, 0.01, 1.0)
    ev = _ev(mdp, lam=lam)
    runs = []
    if lam_t is None:
        for lt in (0.5, 1.0):
            runs.append((f"ne-trpo(lam t={lt})", ne_trpo(mdp, lam=lam, K=K, step=lt / lam)))
        runs.append(("lan", lan_pmd(mdp, mu=lam, K=K, eta=(1 - g) / (g * lam))))
    else:
        t = lam_t / lam
        runs.append((f"ne-trpo(lam t={lam_t})",
                     _loop(mdp, _start(mdp, None, interior=True), K,
                           lambda k, lp, p, Q: (_ne_trpo_step(lp, Q, t, lam), t), lam=lam,
                           method="ne-trpo-overshoot")))
    cands = []
    for label, run in runs:
        dV, _ = _increments(run)
        for k in range(K):
            cands.append(Candidate(float(dV[k]), 0.0, 2.0 * ev, f"{label}(k={k})"))
    return _worst(cands, "lower_bound", lam=lam, gamma=g)


def _c1_reg_claim(case, rng):
    """Monotone regularised value for lam t <= 1."""
    return _c1_reg(case, rng, lam_t=None)


def _c1_reg_control(case, rng):
    """NE-TRPO with lam t = 2.5."""
    return _c1_reg(case, rng, lam_t=2.5)


def _c1_inexact(case: Case, rng: np.random.Generator, *, slack: bool) -> Measurement:
    """min over k, s of V_{k+1} - V_k against -2 tau/(1-gamma) (claim) or 0 (control) for
    KL-PMD fed noisy Q (tau in {0.01, 0.1, 0.3}): uniform noise with constant and geometric
    steps, and noise towards the worst action."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    ev = _ev(mdp)
    tau = float(rng.choice([0.01, 0.1, 0.3]))
    eta = _log_uniform(rng, 0.1, 10.0)
    runs = [("uniform/const", pmd(mdp, K=K, step=eta, noise=QNoise(tau), rng=rng)),
            ("uniform/geometric", pmd(mdp, K=K, step=geometric(eta, g), noise=QNoise(tau),
                                      rng=rng)),
            ("toward_worst/const", pmd(mdp, K=K, step=eta, noise=QNoise(tau, "toward_worst")))]
    bound = -2.0 * tau / (1.0 - g) if slack else 0.0
    cands = []
    for label, run in runs:
        dV, _ = _increments(run)
        for k in range(K):
            cands.append(Candidate(float(dV[k]), bound, 2.0 * ev, f"{label}(k={k})"))
    return _worst(cands, "lower_bound", tau=tau, gamma=g)


def _c1_inexact_claim(case, rng):
    """Xiao Lemma 11: V_{k+1} >= V_k - 2 tau/(1-gamma)."""
    return _c1_inexact(case, rng, slack=True)


def _c1_inexact_control(case, rng):
    """The same without the slack 2 tau/(1-gamma)."""
    return _c1_inexact(case, rng, slack=False)


# ======================================================= C8: uniform TRPO (Shani)
def _c8(case: Case, rng: np.random.Generator, *, control: bool) -> Measurement:
    """max_s (V* - V^{pi_N})(s) against C8's explicit bound for every N, with Shani's steps,
    a constant step (log-uniform [0.1, 10]), geometric steps and i.i.d. U[0.1, 2] steps;
    the control runs t = 50 against the bound without its (h^2/2) sum t_k^2 term."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    T.check_unit_rewards(mdp, "C8")
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    r_max = max(float(mdp.R.max()), 1e-12)
    if control:
        scheds = [("constant(50)", np.full(K + 1, 50.0))]
    else:
        eta = _log_uniform(rng, 0.1, 10.0)
        scheds = [("shani", shani(g, r_max).steps(K + 1)),
                  (f"constant({eta:.3g})", np.full(K + 1, eta)),
                  ("geometric", geometric(1.0, g).steps(K + 1)),
                  ("random", rng.uniform(0.1, 2.0, size=K + 1))]
    cands = []
    for label, t in scheds:
        logpi = _start(mdp, None, interior=True)
        run = _loop(mdp, logpi, K, lambda k, lp, p, Q, t=t: (_kl_step(lp, Q, float(t[k])),
                                                            float(t[k])),
                    lam=0.0, method="pmd-kl")
        gap = (ref.V_star[None, :] - run.V).max(axis=1)
        if control:
            bound = np.log(mdp.A) / ((1.0 - g) * np.cumsum(t))
        else:
            bound = T.shani_unregularized_bound(g, mdp.A, r_max, t)
        for N in range(K + 1):
            cands.append(Candidate(float(gap[N]), float(bound[N]), 2.0 * ev + 8 * EPS * bound[N],
                               f"{label}(N={N})"))
    return _worst(cands, "upper_bound", gamma=g)


def _c8_claim(case, rng):
    """C8's explicit bound for several step sequences."""
    return _c8(case, rng, control=False)


def _c8_control(case, rng):
    """t = 50 with the (h^2/2) sum t^2 term dropped."""
    return _c8(case, rng, control=True)


# ================================================= C9: regularised TRPO (Shani)
def _c9(case: Case, rng: np.random.Generator, *, control: bool) -> Measurement:
    """max_s (V*_lam - V_lam^{pi_N}) against C9's explicit bound for every N; NE-TRPO with
    t_k = 1/(lam (k+2)) (claim) or constant lam t = 2.5 (control); lam in {0.01, 0.1, 1}."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    lam = float(rng.choice([0.01, 0.1, 1.0]))
    sol = soft_optimal(mdp, lam)
    ev = _ev(mdp, sol.error_bound, lam)
    if control:
        t = 2.5 / lam
        run = _loop(mdp, _start(mdp, None, interior=True), K,
                    lambda k, lp, p, Q: (_ne_trpo_step(lp, Q, t, lam), t), lam=lam,
                    method="ne-trpo-overshoot")
    else:
        run = ne_trpo(mdp, lam=lam, K=K, step=shani_regularized(lam))
    gap = (np.asarray(sol.V)[None, :] - run.V).max(axis=1)
    bound = T.shani_regularized_bound(g, mdp.A, lam, T.shani_h(run.Q, run.logpi, lam))
    cands = [Candidate(float(gap[N]), float(bound[N]), 2.0 * ev + 8 * EPS * bound[N], f"N={N}")
             for N in range(K + 1)]
    return _worst(cands, "upper_bound", lam=lam, gamma=g)


def _c9_claim(case, rng):
    """C9 with Shani's regularised steps."""
    return _c9(case, rng, control=False)


def _c9_control(case, rng):
    """lam t = 2.5 constant."""
    return _c9(case, rng, control=True)


# ========================================================== C12, C13: Lan
def _lan_setup(mdp: TabularMDP, lam: float):
    """(f*, nu*, log pi*, certified error of V*): :func:`rlsandbox.algorithms.mdpo.theory.
    lan_setup`."""
    return T.lan_setup(mdp, lam)


def _c12(case: Case, rng: np.random.Generator, *, factor: float | None) -> Measurement:
    """Lan's potential [f* - f_k] + c E_{nu*} KL(pi*_lam || pi_k) against gamma^k times its
    bound at 0, mu in {0.01, 0.1, 1}, eta = r (1-gamma)/(gamma mu) with r in {1, 10}
    (claim) or r = 0.1 (control: 1 + eta mu < 1/gamma)."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    mu = float(rng.choice([0.01, 0.1, 1.0]))
    fs, nu, logpi_star, err = _lan_setup(mdp, mu)
    ev = _ev(mdp, err, mu)
    cands = []
    for r in ((1.0, 10.0) if factor is None else (factor,)):
        eta = r * (1.0 - g) / (g * mu)
        run = lan_pmd(mdp, mu=mu, K=K, eta=eta)
        f = run.V @ nu
        kl = np.array([nu @ kl_rows(logpi_star, run.logpi[k]) for k in range(K + 1)])
        c = (1.0 + eta * mu) / eta
        lhs = fs - f + c * kl
        rhs = T.lan_linear_bound(g, mdp.A, mu, eta, float(fs - f[0]), np.arange(K + 1))
        for k in range(K + 1):
            # two values (2 ev) in f* - f_k and in the bound's f* - f_0; the KL sum: A S terms
            # of size <= max|logpi| (relative eps each)
            Lmax = float(np.abs(run.logpi[k]).max()) + float(np.abs(logpi_star).max())
            tol = 4.0 * ev + 4.0 * c * mdp.S * mdp.A * EPS * Lmax + 8 * EPS * float(rhs[k])
            cands.append(Candidate(float(lhs[k]), float(rhs[k]), tol, f"r={r:g}(k={k})"))
    return _worst(cands, "upper_bound", mu=mu, gamma=g)


def _c12_claim(case, rng):
    """Lan Thm 1 with 1 + eta mu >= 1/gamma."""
    return _c12(case, rng, factor=None)


def _c12_control(case, rng):
    """eta = 0.1 (1-gamma)/(gamma mu), violating 1 + eta mu >= 1/gamma."""
    return _c12(case, rng, factor=0.1)


def _c13(case: Case, rng: np.random.Generator, *, wrong: bool) -> Measurement:
    """f* - f_k (f = nu* . V, nu* stationary for the unregularised pi*) against Lan Thm 2's
    sublinear bound, KL-PMD with constant eta log-uniform in [0.1, 10]; the control feeds Q
    with the wrong discount."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    fs, nu, _, err = _lan_setup(mdp, 0.0)
    ev = _ev(mdp, err)
    eta = _log_uniform(rng, 0.1, 10.0)
    run = _run(mdp, K, constant(eta), "kl", wrong=wrong)
    f = run.V @ nu
    bound = T.lan_sublinear_bound(g, mdp.A, eta, float(fs - f[0]), np.arange(K + 1))
    cands = [Candidate(float(fs - f[k]), float(bound[k]), 4.0 * ev + 8 * EPS * float(bound[k]),
                   f"eta={eta:.3g}(k={k})") for k in range(K + 1)]
    return _worst(cands, "upper_bound", gamma=g)


def _c13_claim(case, rng):
    """Lan Thm 2 on exact PMD."""
    return _c13(case, rng, wrong=False)


def _c13_control(case, rng):
    """Q with the wrong discount: a positive asymptotic gap."""
    return _c13(case, rng, wrong=True)


# ========================================================== C15: soft optimum
def _c15_fixed(case: Case, rng: np.random.Generator, *, unregularized: bool) -> Measurement:
    """max_{s,a} |pi_new - pi| after one NE-TRPO step (lam t in {0.5, 1}) and one Lan step
    (eta = (1-gamma)/(gamma lam)) from pi = pi*_lam; lam log-uniform in [0.01, 1]. The
    control starts from the unregularised optimum (deterministic pi*) instead."""
    mdp = case.mdp
    lam = _log_uniform(rng, 0.01, 1.0)
    sol = soft_optimal(mdp, lam)
    if unregularized:
        ref = T.reference(mdp)
        logpi = np.full((mdp.S, mdp.A), -np.inf)
        logpi[np.arange(mdp.S), ref.pi_star] = 0.0
    else:
        logpi = np.asarray(sol.logpi)
    pi = probabilities(logpi)
    _, Q = _eval_lam(mdp, pi, logpi, lam)
    # pi*_lam is softmax(Q*/lam) to within the soft optimum's error: Q is within gamma err of
    # Q*, so logpi moves by <= 2 gamma err / lam, and probabilities by no more; plus eps
    # round-off of a log-sum-exp of terms of size max|Q|/lam
    tol = 2.0 * mdp.gamma * sol.error_bound / lam + 8.0 * mdp.A * EPS * (
        1.0 + float(np.abs(Q).max()) / lam)
    cands = []
    g = mdp.gamma
    # lam t = 1 is taken as Lan's eta = inf (softmax(Q/lam)): t = 1/lam rounds lam t to
    # 1 -+ eps, and 0^(1 -+ eps) = 0 would keep zero probabilities at zero
    steps = [("ne-trpo(lam t=0.5)", _ne_trpo_step(logpi, Q, 0.5 / lam, lam)),
             ("ne-trpo(lam t=1) = soft-greedy", _lan_step(logpi, Q, np.inf, lam)),
             ("lan(eta=(1-gamma)/(gamma lam))", _lan_step(logpi, Q, (1.0 - g) / (g * lam), lam))]
    for label, new in steps:
        cands.append(Candidate(float(np.abs(probabilities(new) - pi).max()), 0.0, tol, label))
    return _worst(cands, "equality", lam=lam)


def _c15_fixed_claim(case, rng):
    """pi*_lam is a fixed point."""
    return _c15_fixed(case, rng, unregularized=False)


def _c15_fixed_control(case, rng):
    """The unregularised optimum taken for pi*_lam."""
    return _c15_fixed(case, rng, unregularized=True)


def _c15_bias(case: Case, rng: np.random.Generator, *, horizon: bool) -> Measurement:
    """max_s (V* - V^{pi*_lam}) against lam log A/(1-gamma) (claim) or lam log A (control:
    the 1/(1-gamma) dropped), and -min_s (V* - V^{pi*_lam}) against 0; lam in {0.01, 0.1, 1}
    (1 on bandit_loop, see its docstring)."""
    mdp = case.mdp
    lam = 1.0 if mdp.S == 1 else float(rng.choice([0.01, 0.1, 1.0]))
    sol = soft_optimal(mdp, lam)
    ref = T.reference(mdp)
    pi_lam = probabilities(np.asarray(sol.logpi))
    V_pi = _eval_lam(mdp, pi_lam, np.asarray(sol.logpi), 0.0)[0]
    diff = ref.V_star - V_pi
    # V* certified to ref.V_err; V^{pi*_lam} one evaluation; pi*_lam itself is the exact
    # soft-greedy policy of the computed Q (the bound holds for the exact pi*_lam, and the
    # computed one is within 2 gamma err/lam in log-probabilities: its value moves by at most
    # that times vmax / (1 - gamma))
    tol = 2.0 * _ev(mdp, ref.V_err) + 2.0 * mdp.gamma * sol.error_bound / lam * \
        _vmax(mdp) / (1.0 - mdp.gamma)
    bound = lam * math.log(mdp.A) / ((1.0 - mdp.gamma) if horizon else 1.0)
    cands = [Candidate(float(diff.max()), bound, tol, "max_s V* - V^{pi*_lam}"),
             Candidate(float(-diff.min()), 0.0, tol, "-min_s V* - V^{pi*_lam}")]
    return _worst(cands, "upper_bound", lam=lam)


def _c15_bias_claim(case, rng):
    """The regularisation bias bound."""
    return _c15_bias(case, rng, horizon=True)


def _c15_bias_control(case, rng):
    """The bound without its 1/(1-gamma)."""
    return _c15_bias(case, rng, horizon=False)


# ============================================== C16: MDPO's objective (tabular)
def _psi(theta: np.ndarray, logpi_k: np.ndarray, A: np.ndarray, w: np.ndarray, t: float,
         anchor: np.ndarray | None = None, reverse: bool = False) -> complex:
    """MDPO's tabular objective [mdpo-card, §3.6], analytic in the logits (complex allowed):

        Psi(theta) = sum_s w(s) [ sum_a pi_theta(a|s) A(s,a) - (1/t) KL(pi_theta || anchor) ]

    anchor = pi_k by default; ``reverse`` uses KL(anchor || pi_theta) (TRPO order)."""
    z = theta - theta.real.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    p = np.exp(logp)
    la = logpi_k if anchor is None else anchor
    if reverse:
        kl = (np.exp(la) * (la - logp)).sum(axis=1)
    else:
        kl = (p * (logp - la)).sum(axis=1)
    return (w * ((p * A).sum(axis=1) - kl / t)).sum()


def _complex_grad(f: Callable[[np.ndarray], complex], theta: np.ndarray) -> np.ndarray:
    """Complex-step derivative d f / d theta[s, a] = Im f(theta + i h e_sa) / h, h = 1e-30:
    no subtractive cancellation, truncation error O(h^2) (far below eps) [squire1998]."""
    h = 1e-30
    G = np.empty(theta.shape)
    for idx in np.ndindex(theta.shape):
        x = theta.astype(np.complex128)
        x[idx] += 1j * h
        G[idx] = f(x).imag / h
    return G


def _mdpo_setup(mdp: TabularMDP, rng: np.random.Generator):
    """A random interior pi_k (Dirichlet(1) rows), its exact advantage A_k and the on-policy
    weights w = d_rho^{pi_k}; t log-uniform in [0.1, 10]."""
    pi_k = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    logpi_k = np.log(pi_k)
    V, Q = _eval_lam(mdp, pi_k, logpi_k, 0.0)
    A = Q - V[:, None]
    w = T.occupancies(mdp, pi_k[None], mdp.rho)[0]
    return pi_k, logpi_k, A, w, _log_uniform(rng, 0.1, 10.0)


def _c16_anchor(case: Case, rng: np.random.Generator, *, uniform_anchor: bool) -> Measurement:
    """max |grad Psi(log pi_k) - w pi_k A_k| (complex-step gradient); the control centres
    the KL term at the uniform policy instead of pi_k."""
    mdp = case.mdp
    pi_k, logpi_k, A, w, t = _mdpo_setup(mdp, rng)
    anchor = np.full_like(logpi_k, -math.log(mdp.A)) if uniform_anchor else None
    G = _complex_grad(lambda x: _psi(x, logpi_k, A, w, t, anchor), logpi_k.copy())
    target = w[:, None] * pi_k * A
    # complex-step values are exact to eps relative of the terms summed: A terms of size
    # max|A| + max|logpi|/t per state
    scale = float(np.abs(A).max()) + float(np.abs(logpi_k).max()) / t
    return Measurement(float(np.abs(G - target).max()), 0.0,
                       tol=16.0 * mdp.A * EPS * scale, extra={"t": t})


def _c16_closed(case: Case, rng: np.random.Generator, *, reverse: bool) -> Measurement:
    """max |grad Psi| at theta = log pi_k + t A_k (the closed-form MD update); the control
    writes the KL term in TRPO order KL(pi_k || pi_theta)."""
    mdp = case.mdp
    pi_k, logpi_k, A, w, t = _mdpo_setup(mdp, rng)
    theta = logpi_k + t * A
    G = _complex_grad(lambda x: _psi(x, logpi_k, A, w, t, reverse=reverse), theta)
    scale = float(np.abs(A).max()) + float(np.abs(theta).max()) / t
    return Measurement(float(np.abs(G).max()), 0.0, tol=16.0 * mdp.A * EPS * scale,
                       extra={"t": t})


# ======================================== C17: off-policy MDPO / SAC identities
def _soft_setup(mdp: TabularMDP, rng: np.random.Generator):
    """lam log-uniform in [0.01, 1], t with lam t uniform in [0.05, 1], a random interior pi_k
    and its soft Q, and 5 random policies p (Dirichlet(0.5) rows: some entries near 0)."""
    lam = _log_uniform(rng, 0.01, 1.0)
    t = float(rng.uniform(0.05, 1.0)) / lam
    pi_k = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    logpi_k = np.log(pi_k)
    _, Q = _eval_lam(mdp, pi_k, logpi_k, lam)
    ps = [rng.dirichlet(np.full(mdp.A, 0.5), size=mdp.S) for _ in range(5)]
    return lam, t, logpi_k, Q, ps


def _xlogy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p > 0, p * np.log(p), 0.0)


def _c17_objective(case: Case, rng: np.random.Generator, *, drop_exponent: bool) -> Measurement:
    """max over 5 random p and states of |Psi_soft,s(p) - (-(1/t) KL(p || T_k) + (1/t) log Z_k)|
    with Psi_soft,s(p) = <Q(s,.) - lam log pi_k(.|s), p> - (1/t) KL(p || pi_k(.|s)) and
    T_k = pi_k^(1 - lam t) exp(t Q)/Z_k; the control builds T_k without the exponent
    (1 - lam t) on pi_k."""
    mdp = case.mdp
    lam, t, logpi_k, Q, ps = _soft_setup(mdp, rng)
    a = 1.0 if drop_exponent else 1.0 - lam * t
    x = a * logpi_k + t * Q
    m = x.max(axis=1, keepdims=True)
    logZ = (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]
    logT = x - logZ[:, None]
    worst = 0.0
    scale = 0.0
    for p in ps:
        lhs = (p * (Q - lam * logpi_k)).sum(axis=1) - \
            (_xlogy(p).sum(axis=1) - (p * logpi_k).sum(axis=1)) / t
        rhs = -(_xlogy(p).sum(axis=1) - (p * logT).sum(axis=1)) / t + logZ / t
        worst = max(worst, float(np.abs(lhs - rhs).max()))
        scale = max(scale, float(np.abs(Q).max())
                    + float(np.abs(logT).max() + np.abs(logpi_k).max()) / t)
    # sums of 3A terms of size <= scale each, rounded at relative eps
    return Measurement(worst, 0.0, tol=8.0 * mdp.A * EPS * scale, extra={"lam": lam, "t": t})


def _c17_sac(case: Case, rng: np.random.Generator, *, anchor_pi_k: bool) -> Measurement:
    """Spread over 5 random p of L_MDPO(p) - t L_SAC(p) - (1 - lam t) log A sum_s w(s), with
    the uniform anchor (claim: 0) or the anchor pi_k (control), w = uniform state weights:
        L_MDPO(p) = sum_s w E_{a~p}[log p - (1 - lam t) log anchor - t Q],
        L_SAC(p)  = sum_s w E_{a~p}[(1/t) log p - Q]          (temperature 1/t)."""
    mdp = case.mdp
    lam, t, logpi_k, Q, ps = _soft_setup(mdp, rng)
    w = np.full(mdp.S, 1.0 / mdp.S)
    log_anchor = logpi_k if anchor_pi_k else np.full_like(logpi_k, -math.log(mdp.A))
    const = (1.0 - lam * t) * math.log(mdp.A)
    worst, scale = 0.0, 0.0
    for p in ps:
        plogp = _xlogy(p).sum(axis=1)
        L_mdpo = w @ (plogp - (1.0 - lam * t) * (p * log_anchor).sum(axis=1)
                      - t * (p * Q).sum(axis=1))
        L_sac = w @ (plogp / t - (p * Q).sum(axis=1))
        worst = max(worst, abs(L_mdpo - t * L_sac - const))
        scale = max(scale, t * float(np.abs(Q).max()) + float(np.abs(log_anchor).max()) + 1.0)
    return Measurement(float(worst), 0.0, tol=8.0 * mdp.A * EPS * scale,
                       extra={"lam": lam, "t": t})


def _c17_soft_pi(case: Case, rng: np.random.Generator, *, unregularized_q: bool) -> Measurement:
    """Soft MDPO with lam t = 1 (= soft policy iteration): ||Q_lam^{pi_k} - Q*_lam||_inf against
    gamma^k ||Q_lam^{pi_0} - Q*_lam||_inf; lam log-uniform in [0.05, 1]. The control updates
    with the UNregularised Q^{pi_k} while the regularised one is measured."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    lam = _log_uniform(rng, 0.05, 1.0)
    sol = soft_optimal(mdp, lam)
    ev = _ev(mdp, sol.error_bound, lam)
    t = 1.0 / lam
    evaluator = (lambda k, pi, logpi: _eval_lam(mdp, pi, logpi, 0.0)) if unregularized_q \
        else None
    run = _loop(mdp, _start(mdp, None, interior=True), K,
                lambda k, lp, p, Q: (_ne_trpo_step(lp, Q, t, lam), t), lam=lam,
                method="soft-mdpo", evaluator=evaluator)
    err = np.abs(run.Q - np.asarray(sol.Q)[None]).max(axis=(1, 2))
    # Q_k and Q*: one evaluation each, gamma ev each (Q = R + gamma P V), on both sides
    cands = [Candidate(float(err[k]), float(g ** k * err[0]), 4.0 * ev, f"k={k}")
             for k in range(1, K + 1)]
    return _worst(cands, "upper_bound", lam=lam, gamma=g)


# ============================================================ C18: NPG direction
def _c18(case: Case, rng: np.random.Generator, *, unweighted: bool) -> Measurement:
    """For a random interior pi_k (min probability 0.1/A): max_{s,a} |(F A_k - g)(s, a)| with
    F_s = d(s)(diag pi_k - pi_k pi_k^T) (block s of the Fisher matrix), g(s,a) =
    d(s) pi_k(a|s) A_k(s,a); and |A_k^T F A_k - sum_s d(s) Var_{pi_k}(A_k(s,.))|.

    F_s A_k(s) - g(s) = -d(s) pi_k(.|s) <pi_k, A_k>(s) = 0 because E_{pi_k} A_k = 0, and F_s
    has the null space span(1) (pi_k > 0), so the solutions of F x = g are exactly
    x = A_k + c(s) [card C18]. The control drops d(s) from F."""
    mdp = case.mdp
    pi_k = rng.dirichlet(np.ones(mdp.A), size=mdp.S) * 0.9 + 0.1 / mdp.A
    V, Q = _eval_lam(mdp, pi_k, np.log(pi_k), 0.0)
    A = Q - V[:, None]
    d = T.occupancies(mdp, pi_k[None], mdp.rho)[0]
    w = np.ones(mdp.S) if unweighted else d
    FA = w[:, None] * (pi_k * A - pi_k * (pi_k * A).sum(axis=1, keepdims=True))
    g = d[:, None] * pi_k * A
    quad = float((A * FA).sum())
    var = float(d @ (pi_k * (A - (pi_k * A).sum(axis=1, keepdims=True)) ** 2).sum(axis=1))
    amax = float(np.abs(A).max())
    # <pi_k, A_k>(s) = R_pi + gamma P_pi V - V is the residual of the exact solve: within the
    # evaluation allowance ev (Q carries gamma ev, V ev); the products and sums of A terms add
    # relative eps each
    ev = _ev(mdp)
    tol_res = float(w.max()) * (2.0 * ev + 8.0 * mdp.A * EPS * amax)
    tol_quad = 2.0 * amax * tol_res * mdp.S + 8.0 * mdp.S * mdp.A * EPS * amax * amax
    return _worst([Candidate(float(np.abs(FA - g).max()), 0.0, tol_res, "max |F A - g|"),
                   Candidate(abs(quad - var), 0.0, tol_quad, "|A^T F A - E_d Var A|")],
                  "equality")


# ====================================================== C19: Lan = NE-TRPO
def _c19(case: Case, rng: np.random.Generator, *, forget_denominator: bool) -> Measurement:
    """Along a Lan run (mu, eta log-uniform: mu in [0.01, 1], eta in [0.1, 10]/mu), the
    NE-TRPO step with lam = mu, t = eta/(1 + eta mu) (claim; t = eta in the control) from
    each iterate, against Lan's next iterate: max |pi difference|."""
    mdp, K = case.mdp, case.K
    mu = _log_uniform(rng, 0.01, 1.0)
    eta = _log_uniform(rng, 0.1, 10.0) / mu
    run = lan_pmd(mdp, mu=mu, K=K, eta=eta)
    t = eta if forget_denominator else eta / (1.0 + eta * mu)
    worst, scale = 0.0, 0.0
    for k in range(K):
        new = _ne_trpo_step(run.logpi[k], run.Q[k], t, mu) if mu * t <= 1.0 or \
            forget_denominator else None
        worst = max(worst, float(np.abs(probabilities(new) - run.pi[k + 1]).max()))
        scale = max(scale, float(np.abs(run.logpi[k]).max()) + t * float(np.abs(run.Q[k]).max()))
    # the two maps compute the same exponent with different roundings: relative eps of
    # terms of size <= scale, exponentiated (|d exp(x)| <= |dx| for x <= 0)
    return Measurement(worst, 0.0, tol=16.0 * EPS * scale, extra={"mu": mu, "eta": eta})


# ============================================== C20: soft value identity
def _c20(case: Case, rng: np.random.Generator, *, shani_convention: bool) -> Measurement:
    """max_s |V_lam(s) - (sum_a pi [Q_lam - lam log pi] - lam log A)| for 3 random policies,
    lam log-uniform in [0.01, 1]; the control uses Shani/Lan's q = Q_lam - lam omega_pi(s)
    (regulariser counted at the current state) in the right-hand side."""
    mdp = case.mdp
    lam = _log_uniform(rng, 0.01, 1.0)
    worst, tol = 0.0, 0.0
    for _ in range(3):
        pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
        logpi = np.log(pi)
        V, Q = _eval_lam(mdp, pi, logpi, lam)
        q = Q - lam * omega_rows(logpi)[:, None] if shani_convention else Q
        rhs = (pi * (q - lam * logpi)).sum(axis=1) - lam * math.log(mdp.A)
        worst = max(worst, float(np.abs(V - rhs).max()))
        # V and Q from one evaluation (ev, gamma ev) plus the A-term sum at relative eps
        tol = max(tol, 2.0 * _ev(mdp, 0.0, lam)
                  + 4.0 * mdp.A * EPS * (float(np.abs(Q).max()) + lam * float(np.abs(logpi).max())))
    return Measurement(worst, 0.0, tol=tol, extra={"lam": lam})


# ============================================================== C0: sanity
def _c0_occupancy(case: Case, rng: np.random.Generator, *, drop: bool) -> Measurement:
    """For 3 random policies: |sum_s d(s) - 1| (must be 0) and max_s ((1-gamma) rho(s) - d(s))
    (must be <= 0), d = (1-gamma) rho (I - gamma P_pi)^{-1}; the control drops the (1-gamma)."""
    mdp = case.mdp
    g = mdp.gamma
    cands = []
    for i in range(3):
        pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
        d = T.occupancies(mdp, pi[None], mdp.rho)[0]
        if drop:
            d = d / (1.0 - g)
        # the solve's relative error (eval_roundoff with scale 1) on entries summing to ~1
        tol = T.eval_roundoff(mdp.S, g, 1.0)
        cands.append(Candidate(float(d.sum()), 1.0, tol, f"sum d (pi {i})"))
        cands.append(Candidate(float(((1.0 - g) * mdp.rho - d).max()), 0.0, tol,
                           f"(1-gamma) rho - d (pi {i})"))
    lows = [c for c in cands if c.label.startswith("(")]
    sums = [c for c in cands if c.label.startswith("sum")]
    # one check per cell: the equality on the sums is decisive; the lower bound rides along
    # as an equality to 0 of max(0, excess)
    merged = sums + [Candidate(max(0.0, c.measured), 0.0, c.tol, c.label) for c in lows]
    return _worst(merged, "equality")


def _c0_gradient(case: Case, rng: np.random.Generator, *, drop: bool) -> Measurement:
    """Complex-step derivative of V^pi(rho) in pi(a|s) (pi as free coordinates: P_pi and R_pi
    linear in them) against d_rho^pi(s) Q^pi(s, a) / (1 - gamma); the control drops the
    1/(1-gamma)."""
    mdp = case.mdp
    g = mdp.gamma
    pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    P = mdp.dense_P()

    def value(x: np.ndarray) -> complex:
        P_pi = np.einsum("sa,sat->st", x, P)
        b = np.einsum("sa,sa->s", x, mdp.R)
        return mdp.rho @ np.linalg.solve(np.eye(mdp.S) - g * P_pi, b)

    G = _complex_grad(value, pi)
    V, Q = _eval_lam(mdp, pi, np.log(pi), 0.0)
    d = T.occupancies(mdp, pi[None], mdp.rho)[0]
    formula = d[:, None] * Q / (1.0 if drop else (1.0 - g))
    # both sides are exact-solve outputs of size <= vmax / (1-gamma): eval round-off each
    tol = 2.0 * T.eval_roundoff(mdp.S, g, _vmax(mdp) / (1.0 - g))
    return Measurement(float(np.abs(G - formula).max()), 0.0, tol=tol)


def _c0_shift(case: Case, rng: np.random.Generator, *, rescale: bool) -> Measurement:
    """max |pi_new(Q) - pi_new(G)| over G = A^pi and G = Q + c(s) (c ~ N(0, vmax^2)), for the
    KL step with eta log-uniform in [0.1, 10] from a random interior pi; the control uses
    G = c(s) Q with c(s) ~ U[0.5, 2] (a per-state rescaling, not a shift)."""
    mdp = case.mdp
    pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    logpi = np.log(pi)
    V, Q = _eval_lam(mdp, pi, logpi, 0.0)
    eta = _log_uniform(rng, 0.1, 10.0)
    c = rng.normal(0.0, _vmax(mdp), size=mdp.S)
    if rescale:
        variants = [("c(s) Q", rng.uniform(0.5, 2.0, size=mdp.S)[:, None] * Q)]
    else:
        variants = [("A", Q - V[:, None]), ("Q + c(s)", Q + c[:, None])]
    base = probabilities(_kl_step(logpi, Q, eta))
    worst = 0.0
    for _, G in variants:
        worst = max(worst, float(np.abs(probabilities(_kl_step(logpi, G, eta)) - base).max()))
    # the exponent eta (G - max G) is exact up to eps (|eta G| + |shift|) per entry
    scale = float(np.abs(logpi).max()) + eta * (float(np.abs(Q).max()) + float(np.abs(c).max()))
    return Measurement(worst, 0.0, tol=16.0 * EPS * scale, extra={"eta": eta})


# ===================================================== C7: generative-model Q estimate
C7_DELTA = 0.01


def _c7(case: Case, rng: np.random.Generator, *, single: bool) -> Measurement:
    """1.0 iff max_{s,a} |Qhat(s,a) - Q^pi(s,a)| > 2 gamma^H/(1-gamma) for Xiao's estimator
    with M = ceil(ln(2 S A/delta)/(2 gamma^(2H))) rollouts of horizon
    H = ceil(log 0.1 / log gamma) per pair (delta = C7_DELTA), pi a random interior policy;
    the control uses a single rollout per pair.

    (The card's expected control, 100 times fewer rollouts, is too weak to be caught on
    random M1-like instances: the Hoeffding radius is a worst case and their returns have a
    much smaller variance. Measured at seed 0 over 21 instances x 10 runs: 7 events of 210
    with M/100 (3% against delta = 1%), 48 of 210 with M = 1; on ``coin_flip``, whose returns
    have the largest possible variance, M/100 already gives ~40%.)"""
    from rlsandbox.algorithms.mdpo.sampled import generative_q
    mdp, g = case.mdp, case.mdp.gamma
    T.check_unit_rewards(mdp, "C7")
    H = max(1, math.ceil(math.log(0.1) / math.log(g)))
    M = 1 if single else math.ceil(math.log(2 * mdp.S * mdp.A / C7_DELTA) /
                                   (2.0 * g ** (2 * H)))
    pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    _, Q = _eval_lam(mdp, pi, np.log(pi), 0.0)
    err = float(np.abs(generative_q(mdp, pi, M=M, H=H, rng=rng) - Q).max())
    bound = 2.0 * g ** H / (1.0 - g)
    # the exact Q carries ev of round-off, negligible against the bound but counted
    event = err > bound + _ev(mdp)
    return Measurement(1.0 if event else 0.0, extra={"error": err, "bound": bound, "M": M,
                                                     "H": H})



# ======================================================= C10: Exact TRPO (Shani)
def _c10(case: Case, rng: np.random.Generator, *, weighted_step: bool) -> Measurement:
    """Exact TRPO with restart distribution nu = ``mdp.rho`` (zeros allowed), constant t
    log-uniform in [0.1, 10], pi_0 random interior (Dirichlet(1) rows). At every k:

    * max_{s,a} |grad Psi_k(log pi_{k+1})| (complex step), Psi_k the d_nu^{pi_k}-weighted
      proximal objective with A = A_k and anchor pi_k: 0 iff pi_{k+1} maximises it (Psi_k is
      strictly concave in pi(.|s) on S_k = {d_nu^{pi_k} > 0} and constant elsewhere);
    * max |pi_{k+1} - pi_k| on the states outside S_k (Shani's algorithm leaves them).

    The control folds the weight into the step, t_s = t d_nu^{pi_k}(s) / max d (the per-state
    lag of finite-m MDPO, card C16(c)), which is not the maximiser where d(s) < max d.
    (The card's control, Assumption 1 violated, concerns C10's rate statement, not this
    identity, which holds with or without it: it is the control of
    ``mdpo.c10.exact_trpo_rate``, see :func:`_c10_rate`.)"""
    mdp, K = case.mdp, case.K
    t = _log_uniform(rng, 0.1, 10.0)
    pi0 = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    if weighted_step:
        def update(k, logpi, pi, Q):
            d = T.occupancies(mdp, pi[None], mdp.rho)[0]
            scaled = log_normalize(logpi + (t * d / d.max())[:, None] *
                                   (Q - Q.max(axis=1, keepdims=True)))
            return np.where((d > 0)[:, None], scaled, logpi), t
        run = _loop(mdp, _start(mdp, pi0, interior=True), K, update, lam=0.0,
                    method="exact-trpo-weighted-step")
    else:
        run = exact_trpo(mdp, K=K, step=t, nu=mdp.rho, pi0=pi0)
    d = T.occupancies(mdp, run.pi, mdp.rho)
    cands = []
    for k in range(K):
        A = run.Q[k] - run.V[k][:, None]
        G = _complex_grad(lambda x, k=k, A=A: _psi(x, run.logpi[k], A, d[k], t),
                          run.logpi[k + 1].copy())
        # the gradient's terms: A (size max|A|) and log-ratios / t; logpi_{k+1} itself is
        # computed from logpi_k + t Q_k at relative eps, so the log-ratio carries
        # eps (|logpi_k| + t max|Q| + |logpi_{k+1}|); d sums to 1
        scale = float(np.abs(A).max()) + float(np.abs(run.Q[k]).max()) + \
            (float(np.abs(run.logpi[k]).max()) + float(np.abs(run.logpi[k + 1]).max())) / t
        cands.append(Candidate(float(np.abs(G).max()), 0.0, 16.0 * mdp.A * EPS * scale,
                               f"grad Psi_k at pi_(k+1) (k={k})"))
        off = d[k] == 0.0
        if off.any():
            # unvisited states are copied, not recomputed: exactly equal
            cands.append(Candidate(float(np.abs(run.pi[k + 1][off] - run.pi[k][off]).max()),
                                   0.0, 0.0, f"unvisited states (k={k})"))
    return _worst(cands, "equality", t=t, unvisited=int((d[0] == 0).sum()))


C10_CONTROL_K = 200


def _c10_rate(case: Case, rng: np.random.Generator, *, stranded: bool) -> Measurement:
    """mu . (V* - V^{pi_N}) against C8's explicit bound for Exact TRPO with restart nu, every
    N (KL, uniform pi_0; :func:`rlsandbox.algorithms.mdpo.theory.shani_unregularized_bound`).

    Derivation [derived; the explicit form of Shani Thm 16 as C8 is of Thm 2(1)]: C8's
    per-state inequality t_k <A_k(s,.), pi*(.|s)> <= KL_k(s) - KL_{k+1}(s) + t_k^2 h^2/2
    (three-point, Pinsker, Fenchel) holds on every state Exact TRPO updates, i.e. on
    S_k = {d_nu^{pi_k} > 0}. If supp d_mu^{pi*} is inside S_k for every k (Assumption 1,
    C^{pi*} = max d_mu^{pi*}/nu < inf, since d_nu^{pi_k} >= (1-gamma) nu), averaging over
    d_mu^{pi*} and the performance-difference lemma give (1-gamma) sum_k t_k mu.(V* - V_k) <=
    E_{d_mu^{pi*}} KL(pi*||pi_0) + (h^2/2) sum_k t_k^2 with KL(pi*||pi_0) <= log A, and
    V_k is nondecreasing in every state (C1), hence the bound for mu . (V* - V_N).

    Claim: (nu = uniform on all states, mu = uniform) and (nu = mu = rho, zeros on island 1),
    each with Shani's steps and a constant step log-uniform in [0.1, 10]. The control is the
    card's: Assumption 1 violated, nu = rho (no mass on island 1, which no policy reaches from
    it) while mu is the point mass on the island-1 state with the largest V* - V^{pi_0}; the
    step is the constant that minimises the bound at N = C10_CONTROL_K, and the gap stays at
    its initial value while the bound falls like N^-1/2 (on two_islands(gamma = 0.5), seeds 0-4, the
    final bound is 0.38-0.42 against stranded gaps 0.64-0.86)."""
    mdp, g = case.mdp, case.mdp.gamma
    T.check_unit_rewards(mdp, "C10")
    ref = T.reference(mdp)
    ev = _ev(mdp, ref.V_err)
    r_max = max(float(mdp.R.max()), 1e-12)
    h = r_max / (1.0 - g)
    if stranded:
        K = C10_CONTROL_K
        V0 = exact_trpo(mdp, K=0, step=1.0, nu=mdp.rho).V[0]
        stuck = np.where(mdp.rho == 0.0, ref.V_star - V0, -np.inf)
        mu = np.eye(mdp.S)[int(np.argmax(stuck))]
        # argmin_t (log A/(t (K+1)) + h^2 t/2) = sqrt(2 log A/(K+1))/h
        configs = [(mdp.rho, mu, constant(math.sqrt(2.0 * math.log(mdp.A) / (K + 1)) / h))]
    else:
        K = case.K
        eta = _log_uniform(rng, 0.1, 10.0)
        uni = np.full(mdp.S, 1.0 / mdp.S)
        configs = [(nu, mu, sch) for nu, mu in ((uni, uni), (mdp.rho, mdp.rho))
                   for sch in (shani(g, r_max), constant(eta))]
    cands = []
    for nu, mu, sch in configs:
        t = sch.steps(K + 1)
        label = f"{sch.name}({t[0]:.3g})"
        run = exact_trpo(mdp, K=K, step=sch, nu=nu)
        gap = (ref.V_star[None, :] - run.V) @ mu
        bound = T.shani_unregularized_bound(g, mdp.A, r_max, t)
        for N in range(K + 1):
            # a gap carries 2 ev (module docstring); the bound's sums 8 eps relative
            cands.append(Candidate(float(gap[N]), float(bound[N]), 2.0 * ev + 8 * EPS * bound[N],
                                   f"{label}(N={N})"))
    return _worst(cands, "upper_bound", gamma=g)


def _random_islands(n: int, rng: np.random.Generator, K: int) -> list[Instance]:
    out = []
    for _ in range(n):
        s = int(rng.integers(3, 7))
        a = int(rng.integers(2, 5))
        g = float((0.5, 0.9, 0.99)[int(rng.integers(3))])
        out.append(_named(two_islands, K, S=s, A=a, gamma=g, rng=int(rng.integers(0, 2**32))))
    return out


def _c10_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_ISLANDS, *_random_islands(n_random, rng, 8)]


def _c10_rate_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    return [_named(two_islands, 30, S=5, A=3, gamma=0.5, rng=0),
            *_random_islands(n_random, rng, 30)]


# ============================================== C11: Sample-Based TRPO (Shani)
C11_MS = (8, 32, 128, 512)
C11_RUNS = 12


def _c11(case: Case, rng: np.random.Generator, *, drop_weight: bool) -> Measurement:
    """RMSE over C11_RUNS runs of Sample-Based TRPO's estimate of its linearised objective,
    for M in C11_MS samples (:func:`rlsandbox.algorithms.mdpo.sampled.shani_q`, nu = rho):

        Lhat = sum_s (n(s)/M) <Qtilde(s, .), (pi* - pi)(.|s)>
             = (1/M) sum_m A qhat_m (pi* - pi)(a_m|s_m),
        L    = sum_s d_nu^pi(s) <Q^pi(s, .), pi*(.|s) - pi(.|s)>     (exact),

    pi a random interior policy (Dirichlet(1) rows), pi* optimal. L is the term of Shani's
    analysis whose estimation error eps becomes the floor C^{pi*} eps/(1-gamma)^2 of Thm 5,
    and M_k ~ eps^-2 samples buy accuracy eps (Table 1): the RMSE must fall like M^-1/2.
    Rollouts of length T with gamma^T/(1-gamma) <= 1e-6 (truncation bias, also of the
    d_nu draws, far below the RMSE at M = 512). Reported: y(M) = RMSE(M) / RMSE(C11_MS[0])
    (relative RMSE: the pooled log-log fit then compares slopes, not the instances' noise
    levels).

    The control is a biased estimator: Qtilde without the importance weight |A| of the
    uniform action draw (Qtilde(s, a) = (1/n(s)) sum qhat_m), whose mean is L/|A|. Its error
    is bias L (1 - 1/|A|) plus noise, so eps does not fall below the bias whatever M, which
    is exactly how Thm 5's floor fails with a biased Qtilde; the fitted slope flattens
    (``verify --seed 0``: quick budget, control slope -0.09, CI [-0.17, -0.02], claim -0.47;
    default budget, 7 instances, control -0.14, CI [-0.20, -0.08], claim -0.51). (Truncating rollouts after one step instead is NOT
    caught on these instances: with gamma = 0.5 and dense kernels the action effects are
    almost all immediate, so that bias is below the RMSE at M = 512.)"""
    from rlsandbox.algorithms.mdpo.sampled import shani_q
    mdp, g = case.mdp, case.mdp.gamma
    ref = T.reference(mdp)
    pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    _, Q = _eval_lam(mdp, pi, np.log(pi), 0.0)
    d = T.occupancies(mdp, pi[None], mdp.rho)[0]
    diff = np.eye(mdp.A)[ref.pi_star] - pi
    L = float(d @ (Q * diff).sum(axis=1))
    T_roll = math.ceil(math.log(1e-6 * (1.0 - g)) / math.log(g))
    weight = 1.0 / mdp.A if drop_weight else 1.0
    ys = []
    for M in C11_MS:
        err = []
        for _ in range(C11_RUNS):
            Qt, n = shani_q(mdp, pi, M=M, T=T_roll, rng=rng)
            err.append(weight * float((n / M) @ (Qt * diff).sum(axis=1)) - L)
        ys.append(float(np.sqrt(np.mean(np.square(err)))))
    y = np.array(ys)
    return Measurement(y / y[0], None, extra={"x": [float(M) for M in C11_MS], "L": L,
                                              "rmse": ys, "T": T_roll, "gamma": g})


# ========================================================== C14: Lan's APMD
def _c14(case: Case, rng: np.random.Generator, *, constant_tau: bool) -> Measurement:
    """Per-step factor of Lan's gap f(pi*) - f(pi_k) (f = nu* . V, unregularised) late in
    APMD runs (:func:`rlsandbox.algorithms.mdpo.theory.late_factor`, points with gap > 1000 times
    its round-off allowance),
    against gamma^(1/2) for schedule (a) (Thm 3: O(k gamma^k), per-step factor -> gamma) and
    gamma^(1/4) for schedule (b) (Thm 4: O(2^-floor(k/l)) = O(gamma^(k/2))): the generous
    slack of a rate whose constants are unknown. The control keeps tau_k = 1 constant: the
    iterates converge to the regularised optimum and the gap plateaus at its bias (card C15),
    factor -> 1."""
    mdp, K, g = case.mdp, case.K, case.mdp.gamma
    fs, nu, _, err = _lan_setup(mdp, 0.0)
    floor = 1000.0 * 2.0 * _ev(mdp, err)
    variants = (("constant", g ** 0.5),) if constant_tau else (("a", g ** 0.5),
                                                               ("b", g ** 0.25))
    cands = []
    for variant, bound in variants:
        run = apmd(mdp, K=K, variant=variant, tau0=1.0)
        factor, n = T.late_factor(fs - run.V @ nu, floor)
        # gaps above the floor carry a relative error <= 1e-3, so each log gap moves by
        # <= 2e-3 and the fitted slope by at most that over the window: factor * 2e-3
        cands.append(Candidate(factor, bound, 2e-3 * factor, f"schedule {variant} ({n} points)"))
    return _worst(cands, "upper_bound", gamma=g)


# ================================================== C0: performance difference
def _c0_pdl(case: Case, rng: np.random.Generator, *, wrong_occupancy: bool) -> Measurement:
    """The classic claims' measurement of the identity (rlsandbox.proofs_check.classic._pdl:
    five policy pairs, tolerances derived there), on this paper's instances."""
    from rlsandbox.proofs_check.classic import _pdl
    return _pdl(case.mdp, rng, wrong_occupancy=wrong_occupancy)


# ====================================================================== the claims
_DISC = "finite S, A; 0 < gamma < 1; exact evaluation"
_UNIT = _DISC + "; rewards in [0, 1]"
_REG = _DISC + "; regulariser lam KL(pi(.|s) || uniform), SAC-convention values (card §2.3)"


def _claim(id_: str, cite: str, statement: str, assumptions: str, provenance: str, kind: str,
           instances, measure, control, note: str, **kw: Any) -> Claim:
    return Claim(id=id_, paper="mdpo", cite=cite, statement=statement, assumptions=assumptions,
                 provenance=provenance, kind=kind, instances=instances, measure=measure,
                 negative_control=control, control_note=note, **kw)


def _pair(fn, **kw):
    """(claim measure, control) from one function with a control switch."""
    name, val_claim, val_control = kw.pop("switch")
    return (functools.partial(fn, **{name: val_claim}),
            functools.partial(fn, **{name: val_control}))


_BL = _named(bandit_loop, 40, gap=0.05, gamma=0.9)
_DR = _named(delayed_reward, 120, delay=2, gamma=0.9)
_DRT = _named(delayed_reward, 200, delay=2, gamma=0.9, teleport=0.1)
_CHAIN = _named(mdpo_chain, 30, n=10, gamma=0.9)
_STAT = _named(stationary_start, 30, S=8, A=3, gamma=0.9, rng=7)


def _pi_chain(n: int = 8, gamma: float = 0.5) -> TabularMDP:
    from rlsandbox.proofs_check.classic import pi_chain
    return pi_chain(n=n, gamma=gamma)


_pi_chain.__name__ = "pi_chain"
_PICHAIN = _named(_pi_chain, 12, rho="concentrated", n=8, gamma=0.5)
_ISLANDS = _named(two_islands, 8, S=5, A=3, gamma=0.9, rng=0)

CLAIMS: list[Claim] = [
    _claim("mdpo.c3.per_iteration", "[xiao2022, Prop. 9]; card C3",
           "theta_{k+1}(delta_{k+1} - delta_k) + delta_k <= (Dstar_k - Dstar_{k+1})/((1-gamma) "
           "eta_k) for exact PMD, every k, any eta_k > 0",
           _DISC + "; KL (uniform pi_0) and Euclidean maps; constant and geometric steps",
           "derived", "upper_bound", _instances(_DR, _CHAIN, K=30),
           *_pair(_c3, switch=("wrong", False, True)),
           "Q evaluated with a wrong discount (0.5 instead of gamma)"),
    _claim("mdpo.c2.sublinear", "[xiao2022, Thm 8]; card C2",
           "constant eta: delta_k <= (Dstar_0/((1-gamma) eta) + 1/(1-gamma)^2)/(k+1)",
           _UNIT + "; KL (uniform pi_0) and Euclidean maps", "derived", "upper_bound",
           _instances(_DR, _CHAIN, K=30), *_pair(_c2, switch=("wrong", False, True)),
           "Q evaluated with a wrong discount: a positive asymptotic gap (delayed_reward)"),
    _claim("mdpo.c4.linear", "[xiao2022, Thm 10]; card C4",
           "eta_k = eta_0/gamma^k: delta_k <= (1 - 1/theta_rho)^k (delta_0 + Dstar_0/(gamma "
           "eta_0)), theta_rho = ||d*/rho||_inf/(1-gamma)",
           _DISC + "; rho > 0; KL (uniform pi_0) and Euclid; iterations before the step cap",
           "derived", "upper_bound", _instances(_STAT, _CHAIN, K=30),
           *_pair(_c4, switch=("coefficient", "theta", "C")),
           "C*_rho in place of theta_rho (stationary_start has C*_rho = 1)"),
    _claim("mdpo.c5.pi_limit", "[xiao2022, §4.4]; card C5",
           "policy iteration: delta_{k+1} <= (1 - 1/theta_{k+1}) delta_k",
           _DISC + "; rho > 0; PI from action 0 and from uniform", "derived", "upper_bound",
           _instances(_PICHAIN, _CHAIN, K=15), *_pair(_c5, switch=("factor", "theta", "gamma")),
           "gamma in place of 1 - 1/theta_{k+1} (pi_chain with rho at its start)"),
    _claim("mdpo.c6.inexact", "[xiao2022, Thm 13]; card C6",
           "||Qhat_k - Q_k|| <= tau, eta_k = eta_0/gamma^k: delta_k <= (1 - 1/theta_rho)^k "
           "(delta_0 + Dstar_0/(gamma eta_0)) + 4 theta_rho tau/(1-gamma)",
           _DISC + "; rho > 0; KL, uniform pi_0; uniform and adversarial noise, tau in "
           "{1e-3, 1e-2, 1e-1}", "derived", "upper_bound", _instances(_BL, _CHAIN, K=30),
           *_pair(_c6, switch=("control", False, True)),
           "noise tau = 0.3 towards the worst action, asserted with the noise-free bound"),
    _claim("mdpo.c1.monotone", "[xiao2022, Lemma 7]; [shani2020, Lemmas 11, 15]; card C1",
           "exact PMD: <Q_k(s,.), pi_{k+1}(.|s) - pi_k(.|s)> >= 0 and V^{pi_{k+1}} >= V^{pi_k}",
           _DISC + "; KL and Euclid, constant and geometric steps, PI", "paper", "lower_bound",
           _instances(_BL, _CHAIN, K=30), *_pair(_c1, switch=("control", False, True)),
           "Q-noise tau = 0.3 towards the worst action (bandit_loop: gap 0.05 < 2 tau)"),
    _claim("mdpo.c1.monotone_regularized", "[shani2020, Lemma 15]; [lan2023, Lemma 5]; card C1",
           "NE-TRPO with lam t_k <= 1 and Lan's PMD: V_lam^{pi_{k+1}} >= V_lam^{pi_k}",
           _REG + "; lam t in {0.5, 1}; Lan eta = (1-gamma)/(gamma mu)", "paper",
           "lower_bound", _instances(_BL, _CHAIN, K=30),
           *_pair(_c1_reg, switch=("lam_t", None, 2.5)),
           "lam t = 2.5 (overshoot: bandit_loop oscillates below its start value)"),
    _claim("mdpo.c1.inexact_monotone", "[xiao2022, Lemma 11]; card C1",
           "||Qhat_k - Q_k|| <= tau: V^{pi_{k+1}}(s) >= V^{pi_k}(s) - 2 tau/(1-gamma)",
           _DISC + "; KL; uniform noise and noise towards the worst action, tau in "
           "{0.01, 0.1, 0.3}", "paper", "lower_bound", _instances(_BL, _CHAIN, K=30),
           *_pair(_c1_inexact, switch=("slack", True, False)),
           "the slack 2 tau/(1-gamma) dropped"),
    _claim("mdpo.c8.uniform_trpo", "[shani2020, Thm 2(1)]; card C8",
           "max_s (V* - V^{pi_N}) <= (log A + (h^2/2) sum_{k<=N} t_k^2)/((1-gamma) sum_{k<=N} "
           "t_k), h = R_max/(1-gamma)",
           _UNIT + "; KL, uniform pi_0; Shani, constant, geometric and random steps",
           "derived", "upper_bound", _instances(_BL, _CHAIN, K=30),
           *_pair(_c8, switch=("control", False, True)),
           "t = 50 with the (h^2/2) sum t_k^2 term dropped"),
    _claim("mdpo.c9.regularized_trpo", "[shani2020, Thm 2(2)]; card C9",
           "t_k = 1/(lam(k+2)): max_s (V*_lam - V_lam^{pi_N}) <= (lam log A + (1/(2 lam)) "
           "sum_{k<=N} h_k^2/(k+2))/((1-gamma)(N+1))",
           _REG + "; KL, uniform pi_0; lam in {0.01, 0.1, 1}", "derived", "upper_bound",
           _instances(_named(bandit_loop, 60, gap=0.05, gamma=0.9), _CHAIN, K=30),
           *_pair(_c9, switch=("control", False, True)), "lam t = 2.5 constant"),
    _claim("mdpo.c10.exact_trpo", "[shani2020, Prop. 3, App. D.2]; card C10",
           "Exact TRPO's iterate maximises the d_nu^{pi_k}-weighted proximal objective: the "
           "per-state closed form on S_k = {d_nu^{pi_k} > 0}, pi_k kept elsewhere",
           _DISC + "; restart nu = rho with zeros (two_islands: d_nu = 0 on island 1); KL; "
           "constant t; gradient by complex step", "paper", "equality", _c10_instances,
           *_pair(_c10, switch=("weighted_step", False, True)),
           "per-state step t d_nu(s)/max d (the weight folded into the exponent: finite-m "
           "MDPO's lag, not the maximiser)"),
    _claim("mdpo.c10.exact_trpo_rate", "[shani2020, Thm 16, Assumption 1]; card C10",
           "Exact TRPO with supp d_mu^{pi*} inside supp nu: mu.(V* - V^{pi_N}) <= (log A + "
           "(h^2/2) sum_{k<=N} t_k^2)/((1-gamma) sum_{k<=N} t_k), h = R_max/(1-gamma)",
           _UNIT + "; KL, uniform pi_0; (nu, mu) = (uniform, uniform) and (rho, rho) with "
           "zeros; Shani's and constant steps", "derived", "upper_bound", _c10_rate_instances,
           *_pair(_c10_rate, switch=("stranded", False, True)),
           "Assumption 1 violated: nu without mass on island 1, mu a point mass there (the "
           "card's control; the gap stays, the bound falls)"),
    _claim("mdpo.c11.sample_based_trpo", "[shani2020, Thm 5, Table 1]; card C11",
           "Sample-Based TRPO's estimate of its linearised objective sum_s d_nu^pi(s) "
           "<Q^pi(s,.), pi* - pi> has RMSE ~ M^(-1/2) (log-log slope in [-0.7, -0.3]): the "
           "eps of the floor C^{pi*} eps/(1-gamma)^2 costs M ~ eps^-2 samples",
           _DISC + "; nu = rho; random interior pi; M in {8, 32, 128, 512}; "
           f"{C11_RUNS} runs per M; truncation bias <= 1e-6", "paper", "rate",
           _instances(_named(mdpo_random, 1, S=4, A=3, gamma=0.5, rng=0), K=1, S=(3, 6),
                      A=(2, 3), gammas=(0.5,)),
           *_pair(_c11, switch=("drop_weight", False, True)),
           "a biased Qtilde: the importance weight |A| dropped (mean L/|A|), so the error "
           "stops shrinking at the bias",
           options={"slope": (-0.7, -0.3), "confidence": 0.95}, quick=1, default=6),
    _claim("mdpo.c14.apmd_linear", "[lan2023, Thm 3, Thm 4]; card C14",
           "APMD without regularisation converges linearly: late per-step factor of "
           "f(pi*) - f(pi_k) <= gamma^(1/2) (schedule a, rate ~gamma) and <= gamma^(1/4) "
           "(schedule b, rate ~gamma^(1/2)); generous slack, constants unverified",
           _DISC + "; dense P (nu* unique); pi_0 uniform; tau_0 = 1; gamma in {0.5, 0.9}",
           "paper", "upper_bound", _instances(_DRT, K=150, gammas=(0.5, 0.9)),
           *_pair(_c14, switch=("constant_tau", False, True)),
           "tau_k = 1 constant: the gap plateaus at the regularisation bias"),
    _claim("mdpo.c12.lan_linear", "[lan2023, Thm 1]; card C12",
           "1 + eta mu >= 1/gamma: [f* - f_k] + ((1+eta mu)/eta) E_{nu*} KL(pi*||pi_k) <= "
           "gamma^k [f* - f_0 + ((1+eta mu)/eta) log A]",
           _REG + "; dense P (nu* unique); pi_0 uniform; mu in {0.01, 0.1, 1}; eta = r "
           "(1-gamma)/(gamma mu), r in {1, 10}", "derived", "upper_bound",
           _instances(_named(mdpo_random, 60, S=5, A=3, gamma=0.9, rng=0), K=30),
           *_pair(_c12, switch=("factor", None, 0.1)),
           "eta = 0.1 (1-gamma)/(gamma mu) (1 + eta mu < 1/gamma)"),
    _claim("mdpo.c13.lan_sublinear", "[lan2023, Thm 2]; card C13",
           "mu = 0, constant eta: f* - f_k <= (f* - f_0 + log A/eta)/((1-gamma)(k+1)), "
           "f = nu* . V", _DISC + "; dense P (nu* unique); KL, pi_0 uniform", "derived",
           "upper_bound", _instances(_DRT, K=30), *_pair(_c13, switch=("wrong", False, True)),
           "Q evaluated with a wrong discount: a positive asymptotic gap"),
    _claim("mdpo.c15.fixed_point", "card C15 (standard; proof on the card)",
           "pi*_lam is a fixed point of the NE-TRPO step (lam t = 0.5 and 1) and of Lan's "
           "step", _REG + "; pi*_lam by soft policy iteration (certified)", "derived",
           "equality", _instances(_BL, _CHAIN, K=1),
           *_pair(_c15_fixed, switch=("unregularized", False, True)),
           "the unregularised (deterministic) optimum taken for pi*_lam"),
    _claim("mdpo.c15.bias", "card C15 (standard; proof on the card)",
           "0 <= V*(s) - V^{pi*_lam}(s) <= lam log A/(1-gamma) for all s",
           _REG + "; lam in {0.01, 0.1, 1}", "derived", "upper_bound",
           _instances(_named(bandit_loop, 1, gap=0.5, gamma=0.9), _CHAIN, K=1),
           *_pair(_c15_bias, switch=("horizon", True, False)),
           "bound lam log A without its 1/(1-gamma) (bandit_loop gap 0.5, lam 1)"),
    _claim("mdpo.c16.anchor_gradient", "[tomar2022, §4]; card C16(a)",
           "at theta = log pi_k, grad Psi(theta) = w(s) pi_k(b|s) A_k(s,b) (the KL gradient "
           "vanishes at the anchor)", _DISC + "; softmax logits; w = d_rho^{pi_k}; random "
           "interior pi_k; gradient by complex step", "paper", "equality",
           _instances(_CHAIN, K=1, S=(3, 8), A=(2, 4)),
           *_pair(_c16_anchor, switch=("uniform_anchor", False, True)),
           "KL term centred at the uniform policy instead of pi_k"),
    _claim("mdpo.c16.closed_form_argmax", "[tomar2022, §4]; card C16(b)",
           "grad Psi = 0 at theta = log pi_k + t A_k: the exact MD update maximises MDPO's "
           "objective for every w > 0", _DISC + "; w = d_rho^{pi_k}; gradient by complex step",
           "paper", "equality", _instances(_CHAIN, K=1, S=(3, 8), A=(2, 4)),
           *_pair(_c16_closed, switch=("reverse", False, True)),
           "KL written in TRPO order KL(pi_k || pi_theta)"),
    _claim("mdpo.c17.soft_objective", "[tomar2022, §5]; card C17(a)",
           "Psi_soft(p) = -(1/t) KL(p || T_k) + (1/t) log Z_k, T_k = pi_k^(1-lam t) exp(t Q)/Z_k",
           _REG + "; random interior pi_k and random p", "paper", "equality",
           _instances(_CHAIN, K=1), *_pair(_c17_objective, switch=("drop_exponent", False, True)),
           "T_k built without the exponent (1 - lam t)"),
    _claim("mdpo.c17.sac_loss", "[tomar2022, §5]; card C17(b)",
           "uniform anchor: off-policy MDPO loss = t * SAC actor loss (temperature 1/t) + "
           "(1 - lam t) log A", _REG + "; uniform state weights; random p", "paper",
           "equality", _instances(_CHAIN, K=1),
           *_pair(_c17_sac, switch=("anchor_pi_k", False, True)),
           "anchor pi_k instead of uniform"),
    _claim("mdpo.c17.soft_pi_contraction", "[tomar2022, §5]; card C17(c)",
           "soft MDPO with lam t = 1 (soft PI): ||Q_lam^{pi_k} - Q*_lam||_inf <= gamma^k "
           "||Q_lam^{pi_0} - Q*_lam||_inf", _REG + "; pi_0 uniform; lam in [0.05, 1]", "paper",
           "upper_bound", _instances(_named(mdpo_random, 150, S=5, A=3, gamma=0.9, rng=0),
                                     K=60),
           *_pair(_c17_soft_pi, switch=("unregularized_q", False, True)),
           "the update fed the unregularised Q (a wrong fixed point)"),
    _claim("mdpo.c18.npg_direction", "card C18 (ours)",
           "F x = g (F = sum_s d(s)(diag pi_k - pi_k pi_k^T)) is solved by x = A_k + c(s): "
           "F A_k = g, and A_k^T F A_k = sum_s d(s) Var_{pi_k}(A_k(s,.))",
           _DISC + "; random interior pi_k",
           "derived", "equality", _instances(_CHAIN, K=1),
           *_pair(_c18, switch=("unweighted", False, True)),
           "Fisher matrix without the state weights d(s)"),
    _claim("mdpo.c19.lan_equals_ne_trpo", "card C19 (ours)",
           "Lan's step (eta, mu) equals the NE-TRPO step with lam = mu, t = eta/(1 + eta mu)",
           _REG + "; along Lan runs", "derived", "equality", _instances(_CHAIN, K=10),
           *_pair(_c19, switch=("forget_denominator", False, True)),
           "t = eta (the 1/(1 + eta mu) forgotten)"),
    _claim("mdpo.c20.soft_value_identity", "card C20 and §2.3 (ours)",
           "V_lam^pi(s) = sum_a pi(a|s)[Q_lam^pi(s,a) - lam log pi(a|s)] - lam log A",
           _REG + "; random interior pi", "derived", "equality", _instances(_CHAIN, K=1),
           *_pair(_c20, switch=("shani_convention", False, True)),
           "Shani/Lan's q (regulariser at the current state) mixed into the SAC-convention V"),
    _claim("mdpo.c7.generative_estimate", "[xiao2022, Lemma 14]; card C7",
           "M >= ln(2SA/delta)/(2 gamma^(2H)) rollouts of horizon H per pair: w.p. >= 1-delta, "
           "max_{s,a} |Qhat - Q^pi| <= 2 gamma^H/(1-gamma)",
           _UNIT + f"; delta = {C7_DELTA}; gamma^H <= 0.1; random interior pi", "unverified",
           "high_probability",
           _instances(_named(coin_flip, 1, gamma=0.9), K=1, S=(3, 6), A=(2, 3),
                      gammas=(0.5, 0.9)),
           *_pair(_c7, switch=("single", False, True)),
           "a single rollout per pair (100x fewer is too weak on random instances, see _c7)",
           options={"delta": C7_DELTA}, runs=10),
    _claim("mdpo.c0.occupancy", "[agarwal2021, §2]; card C0",
           "d_rho^pi = (1-gamma) rho (I - gamma P_pi)^{-1} sums to 1 and d >= (1-gamma) rho",
           _DISC + "; random policies", "paper", "equality", _instances(_CHAIN, K=1),
           *_pair(_c0_occupancy, switch=("drop", False, True)), "the factor (1-gamma) dropped"),
    _claim("mdpo.c0.policy_gradient", "[agarwal2021, Lemma / tabular PG]; card §2.1, C0",
           "dV^pi(rho)/dpi(a|s) = d_rho^pi(s) Q^pi(s,a)/(1-gamma)",
           _DISC + "; random interior pi; derivative by complex step", "paper", "equality",
           _instances(_CHAIN, K=1, S=(3, 10), A=(2, 4)),
           *_pair(_c0_gradient, switch=("drop", False, True)),
           "the factor 1/(1-gamma) dropped"),
    _claim("mdpo.c0.performance_difference", "[kakade2002, Lemma 6.1]; card §2.1, C0",
           "V^{pi'}(rho) - V^pi(rho) = (1/(1-gamma)) sum_s d_rho^{pi'}(s) <A^pi(s,.), "
           "pi'(.|s)>", _DISC + "; five policy pairs (deterministic, uniform vs optimal, "
           "random)", "paper", "equality", _instances(_CHAIN, K=1),
           *_pair(_c0_pdl, switch=("wrong_occupancy", False, True)),
           "d_rho^{pi} in place of d_rho^{pi'}", quick=1),
    _claim("mdpo.c0.shift_invariance", "[xiao2022, §4]; card C0",
           "the KL-PMD step is unchanged when Q is replaced by A^pi or by Q + c(s)",
           _DISC + "; random interior pi; eta in [0.1, 10]", "paper", "equality",
           _instances(_CHAIN, K=1), *_pair(_c0_shift, switch=("rescale", False, True)),
           "a per-state rescaling c(s) Q instead of a shift"),
]

for _c in CLAIMS:
    register(_c)
