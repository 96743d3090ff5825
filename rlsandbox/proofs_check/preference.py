"""Claims of the preference-coverage card (``paper="preference"``): SONG24's coverage
separation between offline DPO and online RLHF / HyPO, and the tabular facts about DPO, IPO,
SimPO, rDPO and token-level DPO (RQ24) it rests on.

Card: shared/papers/preference_coverage.md. Claim ids are ``preference.<card id>`` (the card's
suggested id after the paper slug). Provenance follows the card's tag on the *checked*
statement: "paper" where the card marks the checked formula [paper]; "derived" where the card
says "paper in substance; constants / exact forms derived" (the check is on the derived
formalisation, as the card instructs: "build checks on the [derived] versions").

==============================================  ===============================================
id                                              statement (card id; kind; control)
==============================================  ===============================================
preference.pref.gibbs_gap_identity              J(pi*) - J(pi) = beta KL(pi || pi*), J(pi*) =
                                                beta sum rho log Z (C1; equality; pi* at the
                                                wrong temperature exp(beta r*))
preference.pref.bounded_reward_kl_ball          span r <= R: KL_x(pi_r || piref) <= (E_{pi_r} r
                                                - E_ref r)/beta <= R/beta, ratio <= e^{R/beta}
                                                (C2; upper bound; reward of a collapsed policy)
preference.pref.dpo_population_minimizers       full coverage: the minimiser of the population
                                                DPO loss is pi*, with the entropy value (C3;
                                                equality; DPO without the reference)
preference.song24.dpo_needs_global_coverage     piref zero on an unseen response: DPO minimisers
                                                with infinite reverse KL, RLHF inside the KL ball
                                                (C4; upper bound; the covered instance)
preference.song24.quantitative_separation       Pi_RLHF(eps): KL <= R/beta, G_J <= 2 e^{R/2beta}
                                                sqrt(eps) for every delta (C5; upper bound; the
                                                DPO members pi^delta)
preference.song24.rlhf_partial_coverage         G_J(pi_rhat) <= sqrt(C2* E) + sqrt(C2^ E) <=
                                                2 sqrt(C_loc(R/beta) E) (C6; upper bound;
                                                unbounded implicit reward)
preference.song24.dpo_global_coverage_sufficient  G_J(pi) <= sqrt(C2* E) + sqrt(C2(pi) E) <=
                                                2 sqrt(C_glo E^dpo) (C7; upper bound; only
                                                pi*'s coverage kept)
preference.song24.hypo                          E^dpo <= eps, KL <= kappa = R/beta: G_J <=
                                                2 sqrt(C_loc(kappa) eps) (C8(a); upper bound;
                                                KL constraint dropped)
preference.song24.hypo_min_kl_limit             HyPO's lambda -> 0+ limit: the closed-form min-KL
                                                member of M has the least KL of all members
                                                (C8(b); upper bound; untilted block masses)
preference.song24.hypo_penalized_bias           full coverage: pi_lam = pi* + lam v + O(lam^2),
                                                residual slope 2 in lam (C8(c); rate; first-
                                                order term dropped -> slope 1)
preference.pref.coverage_coefficients           C_loc(eps) >= C_inf of every pi in the ball;
                                                C_inf(pi*) <= C_loc(KL*) <= C_loc(R/beta) <=
                                                C_glo (C9; upper bound; eps not divided by rho)
preference.pref.dpo_tabular_dynamics            unseen logits frozen; dM_U/dt = -eta M_U sum_p
                                                c_p (pi+ - pi-) (C10(i, ii); equality; sigma
                                                factor dropped from c_p)
preference.pref.extrapolation_fa                log-linear DPO raises the unseen response
                                                aligned with phi+ - phi- (C10(iii), L2;
                                                monotone; tabular parameterisation)
preference.ipo.closed_form                      full-support IPO optimum = piref exp(P(y > mu)/
                                                tau) = the Laplacian solution (C11(a, b);
                                                equality; target margin 1/tau)
preference.rdpo.unbiased_loss                   E_flip l_eps(z~) = f(z) (C12(a); equality;
                                                cDPO / label smoothing)
preference.rdpo.debiasing                       rDPO on noisy population labels recovers pi*
                                                (C12(c); equality; vanilla DPO on noisy labels)
preference.rdpo.rate                            rDPO's log-linear error ~ n^{-1/2} under flips:
                                                slope in [-0.65, -0.35] (C12(e); rate; vanilla
                                                DPO on the same data plateaus)
preference.simpo.stationarity                   SimPO's population minimiser solves p sigma(g -
                                                b u) = (1-p) sigma(b u + g), independent of
                                                piref (C13; equality; margin gamma dropped)
preference.rq24.token_identities                soft-Bellman identities (a)-(e) of DPO as
                                                inverse soft-Q learning (C14; equality; piref
                                                dropped inside V)
preference.rq24.likelihood_search               argmax log pi* = argmax (R + beta log piref);
                                                prefix identity; exact beam (C15; equality;
                                                ranking by return alone)
preference.rq24.implicit_reward_decline         E_{y ~ piref}[beta log pi/piref] = -beta KL(
                                                piref || pi) <= 0 (C16; upper bound; chosen
                                                responses drawn from pi*)
preference.hypo.rloo_unbiased                   RLOO estimates grad KL without bias (C17; upper
                                                bound on a standardised deviation; baseline
                                                including the sample itself)
preference.pref.dpo_unique_minimizer            connected covering graphs: M is a singleton
                                                (C3(a); equality; C3 control (ii): one edge
                                                dropped, two members differ)
preference.pref.rlhf_connected_coverage         G_x connected and covering S_ref (piref zeros):
                                                RLHF = pi* for every tie-break (C3(b);
                                                equality; C3's edge drop)
preference.rq24.shaping_invariance              shaping with Phi(terminal) = 0 keeps pi* and the
                                                BT preferences (C14(d); equality; C14 control
                                                (2): Phi(terminal) != 0)
preference.simpo.reference_free                 SimPO's minimiser is the same under two piref
                                                (C13's card control as a claim; equality; DPO
                                                under the same change moves)
preference.ipo.deterministic_preferences        deterministic preferences: IPO's margins are
                                                1/(2 tau), finite (C11(c); upper bound; Psi =
                                                logit, i.e. DPO: margins unbounded)
preference.rdpo.empirical_unbounded             p_hat <= eps: the empirical rDPO loss has no
                                                minimiser, decreasing as z -> -inf (C12(d);
                                                monotone; p_hat = 1/2 inside (eps, 1 - eps))
==============================================  ===============================================

Instances. Each claim runs on named instances of :mod:`rlsandbox.mdps.preference` first (the
card's P1, P2, L1, L2, C9's example, and adversarial instances on which the negative control
fails deterministically), then on ``n_random`` seeded random instances of the card's §4
distribution (nX in [1, 4], K in [2, 8], Dirichlet piref with concentration ~ U(0.2, 3),
r* ~ U(0, 1), beta ~ U(0.05, 2); coverage-failure variants with zeros in piref).

Tolerances. Exact computations in float64: a sum of n terms of magnitude <= s is within
n U s of exact (U = 2^-53, [higham2002, §4.2]); each measure states its allowance (usually
64 n U s, i.e. a factor 64 of headroom for the few extra operations). Optimiser results
(Newton / L-BFGS) carry the first-order error bound ||grad|| / lambda_min of the problem's
Hessian, with a factor 10 for the second-order term; Monte Carlo results use a
Bonferroni-corrected normal quantile at level 1e-6.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit, logsumexp
from scipy.stats import norm

from rlsandbox.algorithms import preference as pref
from rlsandbox.algorithms.preference import members, token as tk
from rlsandbox.mdps import preference as inst
from rlsandbox.proofs_check import Claim, Instance, Measurement, register
from rlsandbox.proofs_check.candidates import Candidate, worst_of

__all__ = ["CLAIMS", "Case", "EPS_ERR", "argmax_trap_tree", "collapse_trap"]

U = float(np.finfo(np.float64).eps) / 2.0
_EPS = float(np.finfo(np.float64).eps)
#: Error budget eps of the approximate-solution claims (card C5: 0.01).
EPS_ERR = 0.01


# =============================================================== candidates, worst margin
def _worst(cands: Sequence[Candidate], kind: str, **extra: Any) -> Measurement:
    """:func:`~rlsandbox.proofs_check.candidates.worst_of`, reporting the tightest
    informative candidate when all hold."""
    return worst_of(cands, kind, tightest=True, **extra)

def _finite(x: float, cap: float = 1e300) -> float:
    """x as a finite float for reports (+inf -> cap): Measurements hold finite numbers."""
    return float(min(x, cap)) if x > -np.inf else -cap


# ====================================================================== problems
@dataclass(frozen=True, eq=False)
class Case:
    """A claim's problem: a bandit and, where the claim needs one, a pair dataset."""

    bandit: pref.PreferenceBandit
    data: pref.PairData | None = None


def _named(name: str, builder: Callable[..., Any], **params: Any) -> Instance:
    label = name + ("(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")" if params else "")
    return Instance(label, {"builder": f"{builder.__module__}.{builder.__name__}", **params},
                    functools.partial(builder, **params))


def _random_bandits(n: int, rng: np.random.Generator, **options: Any) -> list[Instance]:
    out = []
    for i in range(n):
        seed = int(rng.integers(0, 2**32))
        out.append(Instance(f"random_bandit#{i}",
                            {"builder": "rlsandbox.mdps.preference.random_preference_bandit",
                             "seed": seed, **options},
                            functools.partial(inst.random_preference_bandit, rng=seed, **options)))
    return out


def _bandit_instances(*named: Instance, alternate: Sequence[dict] = ({},)
                      ) -> Callable[[int, np.random.Generator], list[Instance]]:
    """Named instances, then n_random random bandits cycling through ``alternate`` options."""
    def instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
        out = list(named)
        for i in range(n_random):
            out += [_renamed(_random_bandits(1, rng, **alternate[i % len(alternate)])[0], i)]
        return out
    return instances


def _renamed(instance: Instance, i: int) -> Instance:
    return Instance(f"random_bandit#{i}", instance.params, instance.build)


def _as_bandit(problem: Any) -> pref.PreferenceBandit:
    return problem.bandit if isinstance(problem, Case) else problem


def collapse_trap(delta: float = 1e-4) -> pref.PreferenceBandit:
    """P2 "song-small-mass" (card C5) at a small delta: the adversarial instance of C2, C5-C8,
    on which the DPO member pi^delta (reward r* + sqrt(eps/delta) e_c) leaves the KL ball of
    radius R/beta = 2: KL(pi^delta || piref) = 9.208 at delta = 1e-4 (card C5 fixture)."""
    return inst.song_small_mass(delta)


# ============================================================ random policies / rewards
def _random_policies(b: pref.PreferenceBandit, rng: np.random.Generator, n: int
                     ) -> list[np.ndarray]:
    return members.random_policies(b, rng=rng, n=n)


def _box_rewards(b: pref.PreferenceBandit, rng: np.random.Generator, n: int,
                 eps: float | None = None) -> list[tuple[str, np.ndarray]]:
    return members.bounded_rewards(b, rng=rng, n=n, eps=eps)


_dpo_member_reward = members.dpo_member_reward


# =========================================================================== C1
def _c1(b: pref.PreferenceBandit, rng: np.random.Generator, *, wrong: bool) -> Measurement:
    """J(pi_t) - J(pi) vs beta KL(pi || pi_t) for the Gibbs target pi_t; control: the target
    at the wrong temperature, piref exp(beta r*)."""
    target = b.log_pi_star
    if wrong:
        lw = b.log_piref + b.beta * b.r
        target = lw - logsumexp(lw, axis=1, keepdims=True)
    J_t = pref.objective(b, target)
    finite = lambda a: np.abs(a[np.isfinite(a)]).max()  # noqa: E731
    cands = []
    for j, lp in enumerate(_random_policies(b, rng, 6)):
        # each side is a sum of nX K terms bounded by s = max|r| + beta (max|log pi| + max|log
        # pi_t| + max|log piref| + 1): n U s per sum, headroom 64
        s = np.abs(b.r).max() + b.beta * (finite(lp) + finite(target) + finite(b.log_piref) + 1)
        tol = 64 * b.nX * b.K * U * s
        lhs = J_t - pref.objective(b, lp)
        rhs = b.beta * float(b.rho @ pref.kl_divergence(lp, target))
        cands.append(Candidate(lhs, rhs, tol, f"random pi#{j}"))
    s = np.abs(b.r).max() + b.beta * (finite(target) + finite(b.log_piref) + 1)
    cands.append(Candidate(J_t, b.J_star, 64 * b.nX * b.K * U * s, "F1: J(pi*) = beta rho.log Z"))
    return _worst(cands, "equality")


# =========================================================================== C2
def _collapsed_reward(b: pref.PreferenceBandit) -> np.ndarray:
    """The implicit reward beta log(pi_c / piref) of the policy pi_c with mass 1 - 1e-9 on the
    least likely reference response of each prompt (C2's control: an unbounded reward)."""
    r = np.zeros(b.r.shape)
    for x in range(b.nX):
        sup = np.flatnonzero(b.support[x])
        y = sup[np.argmin(b.piref[x, sup])]
        pc = np.where(b.support[x], 1e-9 / max(sup.size - 1, 1), 0.0)
        pc[y] = 1.0 - 1e-9 if sup.size > 1 else 1.0
        r[x, sup] = b.beta * (np.log(pc[sup]) - b.log_piref[x, sup])
    return r


def _c2(b: pref.PreferenceBandit, rng: np.random.Generator, *, control: bool) -> Measurement:
    rewards = [("collapsed policy's implicit reward", _collapsed_reward(b))] if control else \
        _box_rewards(b, rng, 3)
    R, beta = b.R, b.beta
    cands = []
    for label, r in rewards:
        lp = pref.gibbs(b, r)
        p = np.exp(lp)
        kl_x = pref.kl_divergence(lp, b.log_piref)
        r0 = np.where(b.support, r, 0.0)
        gain = ((p * r0).sum(axis=1) - (b.piref * r0).sum(axis=1)) / beta
        log_ratio = np.where(b.support, lp - np.where(b.support, b.log_piref, 0.0), -np.inf)
        # sums of K terms of size <= max|r|/beta + max|log piref|: K U s, headroom 64
        s = np.abs(r0).max() / beta + np.abs(b.log_piref[b.support]).max() + 1.0
        tol = 64 * b.K * U * s
        for x in range(b.nX):
            cands.append(Candidate(kl_x[x], gain[x], tol, f"{label}: KL_x <= gain/beta, x={x}"))
            cands.append(Candidate(gain[x], R / beta, tol, f"{label}: gain/beta <= R/beta, x={x}"))
            cands.append(Candidate(float(log_ratio[x].max()), R / beta, tol,
                               f"{label}: log max ratio <= R/beta, x={x}"))
            cands.append(Candidate(float(p[x][~b.support[x]].sum()), 0.0, 0.0,
                               f"{label}: mass off S_ref, x={x}"))
    return _worst(cands, "upper_bound", R_over_beta=R / beta)


# =========================================================================== C3
def _lbfgs_tolerance(b: pref.PreferenceBandit, q: pref.PairData, lp: np.ndarray,
                     loss: pref.PairLoss) -> float:
    """First-order error bound of an optimiser's solution ``lp`` of a logistic-family pairwise loss
    on the logits: ||theta - theta*||_2 <= ||grad||_2 / lambda_2, lambda_2 the smallest nonzero
    eigenvalue of the Hessian at ``lp`` (per prompt the weighted graph Laplacian with weights
    a^2 W sigma(z) sigma(-z), z = a m - b), and ||pi - pi*||_inf <= ||theta - theta*||_2 / 2
    (the softmax Jacobian has norm <= 1/2). Factor 10 for the second-order term, plus 1e-12
    for round-off in pi."""
    grad = pref.loss_gradient_logits(b, q, lp, loss)
    z = loss.a * pref.margins(b, lp, reference=loss.reference) - loss.b
    w = np.where(q.W > 0, q.W * loss.a ** 2 * expit(z) * expit(-z), 0.0)
    lam2 = np.inf
    for x in range(b.nX):
        A = w[x] + w[x].T
        L = np.diag(A.sum(axis=1)) - A
        ev = np.sort(np.linalg.eigvalsh(L))
        lam2 = min(lam2, ev[1] if ev.size > 1 else np.inf)
    if not lam2 > 0:
        return np.inf
    return 10.0 * 0.5 * float(np.linalg.norm(grad)) / lam2 + 1e-12


def _c3(b: pref.PreferenceBandit, rng: np.random.Generator, *, noref: bool) -> Measurement:
    q = pref.population_pairs(b)
    loss = pref.dpo_noref(b.beta) if noref else pref.dpo(b.beta)
    lp = pref.hypo_penalized(b, q, 0.0, loss)
    dist = float(np.abs(np.exp(lp) - b.pi_star).max())
    tol = _lbfgs_tolerance(b, q, lp, loss)
    sm = b.r / b.beta - logsumexp(b.r / b.beta, axis=1, keepdims=True)
    extra = {"softmax_r_over_beta_distance": float(np.abs(np.exp(lp) - np.exp(sm)).max())}
    cands = [Candidate(dist, 0.0, tol, "numerical minimiser (lam = 0) vs pi*", extra)]
    # the minimum value sum q f(r*(y) - r*(y')) (labelled-mass weighted binary entropy): a
    # loss within ||grad|| ||theta - theta*|| <= ||grad|| 2 tol of its minimum, plus round-off
    # of a sum of n = nX K^2 terms of size <= log 2 + max|h|: 64 n U s
    used = q.W > 0
    L_min = float(np.sum(q.W[used] * pref.logistic_loss(
        (b.r[:, :, None] - b.r[:, None, :])[used])))
    L_val = pref.preference_loss(b, q, lp, loss)
    g = float(np.linalg.norm(pref.loss_gradient_logits(b, q, lp, loss)))
    s = 1.0 + 2.0 * np.ptp(b.r)
    cands.append(Candidate(L_val, L_min, 4 * g * tol + 64 * b.nX * b.K ** 2 * U * s,
                       "minimum value = BT entropy"))
    M = pref.dpo_minimizer_set(b, q)
    # the exact set's GD member: its scores come from Newton's method, so the same
    # first-order bound applies (with the DPO loss, whose minimiser the set describes)
    gd = M.gd_limit()
    cands.append(Candidate(float(np.abs(np.exp(gd) - b.pi_star).max()), 0.0,
                       _lbfgs_tolerance(b, q, gd, pref.dpo(b.beta)),
                       "exact minimiser set: gd_limit vs pi*"))
    return _worst(cands, "equality", singleton=M.is_singleton)


# =========================================================================== C4
def _c4(b: pref.PreferenceBandit, rng: np.random.Generator, *, control: bool) -> Measurement:
    """(1) e^{-sup_M KL(pi || piref)} <= 0 (sup = +inf), (2) a member with mass on an unseen
    piref-zero response attains the minimal DPO loss, (3) every RLHF tie-break stays in the KL
    ball R/beta. Control: the same instance with piref(u) > 0 for every response and mu =
    piref (every response compared): M = {pi*}, the sup is finite."""
    if control:
        piref = 0.9 * b.piref + 0.1 / b.K
        b = pref.PreferenceBandit(piref=piref, r=b.r, beta=b.beta, rho=b.rho, R=b.R)
    q = pref.population_pairs(b)
    M = pref.dpo_minimizer_set(b, q)
    sup_kl = M.sup_kl_reference()
    cands = [Candidate(math.exp(-sup_kl), 0.0, 0.0, "exp(-sup_M KL(pi || piref))",
                   {"sup_kl": _finite(sup_kl)})]
    loss = pref.dpo(b.beta)
    L_min = pref.preference_loss(b, q, M.gd_limit(), loss)
    escape = M.unseen & ~b.support
    if escape.any():
        x, u = (int(i) for i in np.argwhere(escape)[0])
        m_max = M.graph.strongly_connected.shape[1]
        a = np.zeros((b.nX, m_max))
        bu = np.zeros((b.nX, b.K))
        for xx in range(b.nX):
            m = int(M.graph.n_components[xx])
            share = 0.5 if xx == x else 1.0
            a[xx, :m] = share / m
        bu[x, u] = 0.5
        lp = M.member(a, bu)
        # a loss value (sum of K^2 terms <= f(|h|)) recomputed at a rescaled member: 64 n U s
        s = 1.0 + b.beta * np.abs(M.log_ratio).max() * 2
        cands.append(Candidate(pref.preference_loss(b, q, lp, loss), L_min,
                           64 * b.nX * b.K ** 2 * U * s,
                           "member with mass 1/2 on an unseen piref-zero response"))
    for tb in ("pessimistic", "optimistic", "worst"):
        out = pref.rlhf(b, q, tie_break=tb)
        # KL_rho sum of nX K terms <= R/beta + max|log piref|: 64 n U s
        s = b.R / b.beta + np.abs(b.log_piref[b.support]).max() + 1
        cands.append(Candidate(pref.kl_to_reference(b, out.logpi), b.R / b.beta,
                           64 * b.nX * b.K * U * s, f"RLHF ({tb}) KL <= R/beta"))
    return _worst(cands, "upper_bound")


# =========================================================================== C5
def _c5(b: pref.PreferenceBandit, rng: np.random.Generator, *, control: bool) -> Measurement:
    eps = EPS_ERR
    R, beta = b.R, b.beta
    bound_gap = 2.0 * math.exp(R / (2.0 * beta)) * math.sqrt(eps)
    rewards = [("DPO member pi^delta", _dpo_member_reward(b, eps))] if control else \
        _box_rewards(b, rng, 4, eps=eps)
    cands = []
    for label, r in rewards:
        E = pref.reward_error(b, r)
        lp = pref.gibbs(b, r)
        g = pref.gaps(b, lp)
        # KL and G_J are sums of nX K terms bounded by s = max|r|/beta + max|log piref| + 1
        s = np.abs(r).max() / beta + np.abs(b.log_piref[b.support]).max() + 1
        tol = 64 * b.nX * b.K * U * s
        ex = {"E_mu": E}
        cands.append(Candidate(g.kl_ref, R / beta, tol, f"{label}: KL <= R/beta", ex))
        cands.append(Candidate(g.G_J, bound_gap, beta * tol,
                           f"{label}: G_J <= 2 e^(R/2beta) sqrt(eps)", ex))
    return _worst(cands, "upper_bound", eps=eps)


# =========================================================================== C6
def _c6(b: pref.PreferenceBandit, rng: np.random.Generator, *, control: bool) -> Measurement:
    R, beta = b.R, b.beta
    rewards = [("unbounded implicit reward of pi^delta", _dpo_member_reward(b, EPS_ERR))] \
        if control else _box_rewards(b, rng, 3) + _box_rewards(b, rng, 2, eps=EPS_ERR)
    C2_star = pref.second_moment_coverage(b, b.log_pi_star)
    C_loc = pref.local_coverage(b, R / beta)
    same_mu = np.array_equal(b.mu, b.piref)
    cands = []
    for label, r in rewards:
        E = pref.reward_error(b, r)
        lp = pref.gibbs(b, r)
        lhs = b.J_star - pref.objective(b, lp)
        C2_hat = pref.second_moment_coverage(b, lp)
        s = np.abs(r).max() + beta * (np.abs(b.log_piref[b.support]).max() + 1)
        tol = 64 * b.nX * b.K * U * s
        ex = {"E_mu": E}
        cands.append(Candidate(lhs, math.sqrt(C2_star * E) + math.sqrt(C2_hat * E), tol,
                           f"{label}: sqrt(C2* E) + sqrt(C2^ E)", ex))
        cands.append(Candidate(lhs, 2.0 * math.sqrt(C_loc * E), tol,
                           f"{label}: 2 sqrt(C_loc(R/beta) E)", ex))
        if same_mu:
            cands.append(Candidate(lhs, 2.0 * math.exp(R / (2 * beta)) * math.sqrt(E), tol,
                               f"{label}: 2 e^(R/2beta) sqrt(E)", ex))
    return _worst(cands, "upper_bound", C_loc=_finite(C_loc))


# =========================================================================== C7
def _approximate_policies(b: pref.PreferenceBandit, rng: np.random.Generator
                          ) -> list[tuple[str, np.ndarray]]:
    """Random policies, near-optimal ones (pi_{r* + s noise}) and the DPO member pi^delta."""
    out = [(f"random pi#{j}", lp) for j, lp in enumerate(_random_policies(b, rng, 3))]
    for s in (0.01, 0.1, 1.0):
        out.append((f"pi_(r* + {s} N(0,1))", pref.gibbs(b, b.r + s * rng.normal(size=b.r.shape))))
    out.append(("DPO member pi^delta", pref.gibbs(b, _dpo_member_reward(b, EPS_ERR))))
    return out


def _c7(b: pref.PreferenceBandit, rng: np.random.Generator, *, single: bool) -> Measurement:
    C2_star = pref.second_moment_coverage(b, b.log_pi_star)
    C_glo = pref.global_coverage(b)
    cands = []
    for label, lp in _approximate_policies(b, rng):
        E = pref.dpo_error(b, lp)
        lhs = b.J_star - pref.objective(b, lp)
        fin = np.abs(lp[np.isfinite(lp)]).max()
        s = np.abs(b.r).max() + b.beta * (fin + np.abs(b.log_piref[b.support]).max() + 1)
        tol = 64 * b.nX * b.K * U * s
        ex = {"E_dpo": E}
        if single:
            cands.append(Candidate(lhs, math.sqrt(C2_star * E), tol, f"{label}: sqrt(C2* E)", ex))
            continue
        C2_pi = pref.second_moment_coverage(b, lp)
        cands.append(Candidate(lhs, math.sqrt(C2_star * E) + math.sqrt(C2_pi * E), tol,
                           f"{label}: sqrt(C2* E) + sqrt(C2(pi) E)", ex))
        cands.append(Candidate(lhs, 2.0 * math.sqrt(C_glo * E), tol,
                           f"{label}: 2 sqrt(C_glo E)", ex))
    return _worst(cands, "upper_bound", C_glo=_finite(C_glo))


# =========================================================================== C8
def _boost_family(b: pref.PreferenceBandit, n: int = 100) -> list[tuple[str, np.ndarray]]:
    return [(f"pi_(r* + {sv:.3g} e_min)", lp) for sv, lp in members.boosted_family(b, n)]


def _c8(b: pref.PreferenceBandit, rng: np.random.Generator, *, unconstrained: bool
        ) -> Measurement:
    """C8(a). Candidates: near-optimal policies, the boosted family and pi^delta; the claim
    keeps those inside the KL ball (HyPO's constraint), the control keeps all of them.

    On P2 the control is caught by members of the boosted family outside the ball, whose
    G_J / (sqrt(C2* E) + sqrt(C_loc E)) reaches 0.72, 1.05, 1.35, 1.86, 2.28 at delta = 1e-2,
    1e-3, 1e-4, 1e-6, 1e-8 (violated for delta <= 1e-3, as the card says for delta <= 1e-4).
    The card's pi^delta itself (E = eps = 0.01) does not violate it (ratio 0.0095, 0.127,
    0.9994, 0.182, 0.028): C_loc(kappa) grows like 1/(delta log(1/delta))."""
    kappa = b.R / b.beta
    C_loc = pref.local_coverage(b, kappa)
    C2_star = pref.second_moment_coverage(b, b.log_pi_star)
    pool = [("DPO member pi^delta", pref.gibbs(b, _dpo_member_reward(b, EPS_ERR)))]
    pool += _boost_family(b)
    # the family's member on the edge of the KL ball (exact bisection): the worst one inside
    pool.append(("pi_s on KL = kappa", members.boundary_member(b, 1e6, kappa)[1]))
    for s in (0.01, 0.1, 0.3, 1.0):
        pool.append((f"pi_(r* + {s} N(0,1))", pref.gibbs(b, b.r + s * rng.normal(size=b.r.shape))))
    cands = []
    for label, lp in pool:
        kl = pref.kl_to_reference(b, lp)
        if not unconstrained and kl > kappa:
            continue                       # outside HyPO's constraint set
        E = pref.dpo_error(b, lp)
        lhs = b.J_star - pref.objective(b, lp)
        fin = np.abs(lp[np.isfinite(lp)]).max()
        s = np.abs(b.r).max() + b.beta * (fin + np.abs(b.log_piref[b.support]).max() + 1)
        tol = 64 * b.nX * b.K * U * s
        ex = {"E_dpo": E, "kl": _finite(kl)}
        cands.append(Candidate(lhs, math.sqrt(C2_star * E) + math.sqrt(C_loc * E), tol,
                           f"{label}: sqrt(C2* eps) + sqrt(C_loc eps)", ex))
        cands.append(Candidate(lhs, 2.0 * math.sqrt(C_loc * E), tol,
                           f"{label}: 2 sqrt(C_loc(kappa) eps)", ex))
    return _worst(cands, "upper_bound", kappa=kappa, C_loc=_finite(C_loc))


# =========================================================================== C9
def _c9(b: pref.PreferenceBandit, rng: np.random.Generator, *, no_rho: bool) -> Measurement:
    cands = []
    kappa = b.R / b.beta
    for eps in (0.01, 0.1, 1.0, kappa):
        C = pref.local_coverage(b, eps, per_prompt_budget=not no_rho)
        # (i) the optimal construction: mass q slightly below qbar(piref, eps/rho) on one
        # (x, y), rest of prompt x rescaled; its KL_rho is rho(x) kl2(q || p) <= eps
        for x in range(b.nX):
            for y in np.flatnonzero(b.support[x]):
                p = float(b.piref[x, y])
                q = p + (1 - 1e-9) * (pref.kl_ball_max_mass(p, eps / b.rho[x]) - p)
                pi = b.piref.copy()
                pi[x] = b.piref[x] * (1 - q) / (1 - p) if p < 1 else b.piref[x]
                pi[x, y] = q
                lp = pref.log_policy(pi / pi.sum(axis=1, keepdims=True))
                if pref.kl_to_reference(b, lp) <= eps:
                    cands.append(Candidate(pref.concentrability(b, lp), C, 4 * U * C,
                                       f"construction (x={x}, y={y}), eps={eps:g}"))
        # random policies inside the ball (mixtures of piref and random policies)
        for j, lp in enumerate(_random_policies(b, rng, 3)):
            for t in (0.1, 0.5, 1.0):
                mix = pref.log_policy(((1 - t) * b.piref + t * np.exp(lp)) * b.support)
                if pref.kl_to_reference(b, mix) <= eps:
                    cands.append(Candidate(pref.concentrability(b, mix), C, 4 * U * C,
                                       f"random mixture #{j}, t={t}, eps={eps:g}"))
    # (ii) ordering C_inf(pi*) <= C_loc(KL*) <= C_loc(R/beta) <= C_glo
    kl_star = max(pref.kl_to_reference(b, b.log_pi_star), 0.0)   # >= 0; round-off gives -1e-16
    c_star = pref.concentrability(b, b.log_pi_star)
    c_loc_star = pref.local_coverage(b, kl_star, per_prompt_budget=not no_rho)
    c_loc_R = pref.local_coverage(b, kappa, per_prompt_budget=not no_rho)
    cands.append(Candidate(c_star, c_loc_star, 1e-9 * c_loc_star, "C_inf(pi*) <= C_loc(KL*)"))
    cands.append(Candidate(c_loc_star, c_loc_R, 0.0, "C_loc(KL*) <= C_loc(R/beta)"))
    C_glo = pref.global_coverage(b)
    if C_glo < np.inf:
        cands.append(Candidate(c_loc_R, C_glo, 4 * U * C_glo, "C_loc(R/beta) <= C_glo"))
    return _worst(cands, "upper_bound")


# ========================================================================== C10
def _partial_case(rng_seed: int) -> Case:
    """A random full-support bandit whose data leave 1-2 responses of every prompt unseen."""
    rng = np.random.default_rng(rng_seed)
    b = inst.random_preference_bandit(rng=rng, K=int(rng.integers(4, 8)))
    mask = np.zeros((b.nX, b.K, b.K), dtype=bool)
    for x in range(b.nX):
        seen = rng.permutation(b.K)[: b.K - int(rng.integers(1, 3))]
        for i in range(len(seen) - 1):
            mask[x, seen[i], seen[i + 1]] = True
    return Case(b, pref.population_pairs(b, edges=mask))


def _c10_dynamics(case: Case, rng: np.random.Generator, *, drop_sigma: bool) -> Measurement:
    b, q = case.bandit, case.data
    graph = pref.comparison_graph(q)
    Umask = graph.unseen
    cands = []
    loss = pref.dpo(b.beta)
    for j in range(3):
        theta = b.log_piref + rng.normal(scale=1.0, size=b.r.shape)
        lp = theta - logsumexp(theta, axis=1, keepdims=True)
        G = pref.loss_gradient_logits(b, q, lp, loss)
        cands.append(Candidate(float(np.abs(G[Umask]).max()), 0.0, 0.0,
                           f"#{j}: gradient on unseen logits"))
        # dM_U/dt along theta' = -eta G (eta = 1), central difference, h = 1e-6: truncation
        # <= h^2 max|M'''| |G|^3 / 6 and round-off <= 2 U / h ~ 2e-10: tolerance 1e-8
        h = 1e-6

        def M_U(th):
            l2 = th - logsumexp(th, axis=1, keepdims=True)
            return np.exp(l2)[Umask].sum() if Umask.any() else 0.0

        num = (M_U(theta - h * G) - M_U(theta + h * G)) / (2 * h)
        p = np.exp(lp)
        hm = pref.margins(b, lp)
        c = q.W * b.beta * (1.0 if drop_sigma else expit(-b.beta * hm))
        formula = 0.0
        for x in range(b.nX):
            Mx = p[x][Umask[x]].sum()
            formula += -Mx * float(np.sum(c[x] * (p[x][:, None] - p[x][None, :])))
        cands.append(Candidate(num, formula, 1e-8 * (1 + abs(formula)), f"#{j}: dM_U/dt formula"))
    return _worst(cands, "equality")


def _extrapolation_case(rng_seed: int) -> Case:
    """Random L2-like instance: one pair y0 > y1, an unseen y2 with phi(y2) = phi(y0) +
    alpha (phi(y0) - phi(y1)) (the largest projection on the update direction), and y3 with
    phi(y3) = phi(y1) + w, w orthogonal to phi(y0) - phi(y1); piref uniform."""
    rng = np.random.default_rng(rng_seed)
    f0, f1 = rng.normal(size=2), rng.normal(size=2)
    d = f0 - f1
    w = np.array([-d[1], d[0]]) * rng.normal()
    alpha = rng.uniform(0.5, 2.0)
    phi = np.array([[f0, f1, f0 + alpha * d, f1 + w]])
    beta = float(rng.uniform(0.1, 2.0))
    theta_star = rng.normal(size=2)
    b = pref.PreferenceBandit(piref=[[0.25] * 4], r=beta * phi @ theta_star, beta=beta, phi=phi)
    return Case(b, pref.pairs_from_list(1, 4, [(0, 0, 1)]))


def _l2_case() -> Case:
    return Case(inst.extrapolation(), inst.extrapolation_pairs())


def _c10_extrapolation(case: Case, rng: np.random.Generator, *, tabular: bool) -> Measurement:
    b, data = case.bandit, case.data
    out = pref.train(b, data, pref.dpo(b.beta), steps=40, lr=0.5,
                     param="tabular" if tabular else "loglinear")
    seq = np.exp(out.logpi_path[:, 0, 2])
    # strictly increasing in exact arithmetic; each value carries ~ 8 U relative round-off
    return Measurement(seq, None, tol=8 * _EPS * float(seq.max()),
                       extra={"first": float(seq[0]), "last": float(seq[-1])})


# ========================================================================== C11
def _c11(b: pref.PreferenceBandit, rng: np.random.Generator, *, double_target: bool
         ) -> Measurement:
    q = pref.population_pairs(b)
    cands = []
    for tau in (0.1, 0.5, 1.0):
        closed = pref.ipo_closed_form(b, tau) - b.log_piref
        lap = pref.ipo_minimizer_set(b, q, tau if not double_target else tau / 2).log_ratio
        for x in range(b.nX):
            d = closed[x] - lap[x]
            w = q.edge_weight[x]
            L = np.diag(w.sum(axis=1)) - w
            ev = np.sort(np.linalg.eigvalsh(L))
            cond = ev[-1] / ev[1]
            # least squares on the Laplacian: relative error <= cond * K U per entry of g
            # (|g| <= 1/(2 tau)), the closed form adds K U / tau; headroom 64
            tol = 64 * b.K * U * (cond + 1) / tau
            cands.append(Candidate(float(np.ptp(d)), 0.0, tol, f"tau={tau}, x={x}"))
    return _worst(cands, "equality")


# ========================================================================== C12
@dataclass(frozen=True)
class _Noise:
    eps: float


def _noise(eps: float) -> _Noise:
    return _Noise(eps)


def _noise_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [Instance(f"eps={e}", {"eps": e}, functools.partial(_noise, e))
           for e in (0.0, 0.3, 0.45)]
    for i in range(n_random):
        e = round(float(rng.uniform(0.0, 0.49)), 6)
        out.append(Instance(f"eps#{i}", {"eps": e}, functools.partial(_noise, e)))
    return out


def _c12a(problem: _Noise, rng: np.random.Generator, *, smoothing: bool) -> Measurement:
    eps = problem.eps
    loss = pref.cdpo(1.0, eps) if smoothing else pref.rdpo(1.0, eps)
    z = np.concatenate([np.linspace(-20, 20, 41), rng.normal(scale=5, size=20)])
    expect = (1 - eps) * loss.value(z) + eps * loss.value(-z)
    err = np.abs(expect - pref.logistic_loss(z))
    # l_eps(z) = f(z) - c z, c = eps/(1-2eps): terms of size |z| (1 + c); 16 U each
    tol = 16 * U * (np.abs(z) + 1) * (1 + eps / (1 - 2 * eps))
    i = int(np.argmax(err - tol))
    return Measurement(float(expect[i]), float(pref.logistic_loss(z[i])), tol=float(tol[i]),
                       extra={"z": float(z[i])})


def _c12_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [_named("song_zero_mass_covered", inst.song_zero_mass_covered, delta=0.1)]
    return out + [_renamed(x, i) for i, x in enumerate(_random_bandits(n_random, rng))]


def _c12c(b: pref.PreferenceBandit, rng: np.random.Generator, *, vanilla: bool) -> Measurement:
    eps = 0.3
    q = pref.population_pairs(b)
    noisy = pref.noisy_population(q, eps)
    loss = pref.dpo(b.beta) if vanilla else pref.rdpo(b.beta, eps)
    lp = pref.hypo_penalized(b, noisy, 0.0, loss)
    dist = float(np.abs(np.exp(lp) - b.pi_star).max())
    # tolerance of the minimised problem itself (its own gradient and curvature at lp)
    return Measurement(dist, 0.0, tol=_lbfgs_tolerance(b, noisy, lp, loss), extra={"eps": eps})


# ========================================================================== C13
@dataclass(frozen=True)
class _SimPOCase:
    p: float
    simpo_beta: float
    simpo_gamma: float


def _simpo_case(p: float, simpo_beta: float, simpo_gamma: float) -> _SimPOCase:
    return _SimPOCase(p, simpo_beta, simpo_gamma)


def _simpo_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [Instance("card C13 (p=0.8, beta=2, gamma=1)", {"p": 0.8, "simpo_beta": 2.0,
                                                         "simpo_gamma": 1.0},
                    functools.partial(_simpo_case, 0.8, 2.0, 1.0))]
    for i in range(n_random):
        params = {"p": round(float(rng.uniform(0.55, 0.95)), 6),
                  "simpo_beta": round(float(rng.uniform(1.0, 3.0)), 6),
                  "simpo_gamma": round(float(rng.uniform(0.2, 2.0)), 6)}
        out.append(Instance(f"simpo#{i}", params, functools.partial(_simpo_case, **params)))
    return out


def _c13(case: _SimPOCase, rng: np.random.Generator, *, drop_gamma: bool) -> Measurement:
    p, a, g = case.p, case.simpo_beta, case.simpo_gamma
    loss = pref.simpo(a, g)
    predicted = pref.simpo_stationary_margin(p, a, 0.0 if drop_gamma else g)
    cands = []
    for j in range(2):                     # two different reference policies: same optimum
        w = rng.dirichlet([1.0, 1.0])
        b = pref.PreferenceBandit(piref=[w], r=[[math.log(p / (1 - p)), 0.0]], beta=1.0)
        q = pref.population_pairs(b)       # one edge with P(y0 > y1) = p
        lp = pref.hypo_penalized(b, q, 0.0, loss)
        u = float(lp[0, 0] - lp[0, 1])
        # first-order bound: |u - u*| <= |dL/du| / L''(u*) (x 10 for second order) + round-off
        z1, z2 = a * predicted - g, -a * predicted - g
        curv = a ** 2 * (p * expit(z1) * expit(-z1) + (1 - p) * expit(z2) * expit(-z2))
        grad = pref.loss_gradient_logits(b, q, lp, loss)[0, 0]
        tol = 10 * abs(grad) / curv + 64 * U * (abs(predicted) + 1)
        cands.append(Candidate(u, predicted, tol, f"piref #{j} = {np.round(w, 3).tolist()}"))
    return _worst(cands, "equality")


# ========================================================================== C14
def _tree_instances(*named: Instance, V: int = 3, T: int = 3
                    ) -> Callable[[int, np.random.Generator], list[Instance]]:
    def instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
        out = list(named)
        for i in range(n_random):
            seed = int(rng.integers(0, 2**32))
            beta = round(float(rng.uniform(0.2, 2.0)), 6)
            params = {"V": V, "T": T, "nX": 2, "beta": beta}
            out.append(Instance(f"random_tree#{i}",
                                {"builder": "rlsandbox.mdps.preference.random_token_tree",
                                 "seed": seed, **params},
                                functools.partial(inst.random_token_tree, rng=seed, **params)))
        return out
    return instances


def _tree_scale(tree: tk.TokenTree, sol: tk.SoftSolution) -> float:
    vals = [np.abs(r).max() for r in tree.r] + [np.abs(v).max() for v in sol.V]
    vals += [tree.beta * np.abs(lp[np.isfinite(lp)]).max() for lp in tree.log_piref]
    return float(max(vals)) + 1.0


def _c14(tree: tk.TokenTree, rng: np.random.Generator, *, no_ref_in_value: bool
         ) -> Measurement:
    # the identities and their round-off allowances (64 (2T + 2) U s; see identity_errors)
    errs = tk.identity_errors(tree, rng=rng, reference_in_value=not no_ref_in_value)
    return _worst([Candidate(err, 0.0, tol, label) for label, (err, tol) in errs.items()],
                  "equality")


# ========================================================================== C15
def argmax_trap_tree() -> tk.TokenTree:
    """A one-token tree on which the most likely response of pi* is not the highest-return
    one: piref = (0.99, 0.01), r = (0, 1), beta = 0.7. R + beta log piref = (-0.007, -2.22):
    likelihood search on pi* returns token 0, ranking by return alone returns token 1 (C15's
    control fails deterministically)."""
    return tk.TokenTree([np.log([[0.99, 0.01]])], [np.array([[0.0, 1.0]])], beta=0.7)


def _c15(tree: tk.TokenTree, rng: np.random.Generator, *, by_return: bool) -> Measurement:
    beta, T = tree.beta, tree.T
    sol = tk.soft_solve(tree)
    s = _tree_scale(tree, sol)
    tol = 64 * (2 * T + 2) * U * s / beta
    R = tk.sequence_return(tree).reshape(tree.nX, -1)
    seq_ref = tk.sequence_sum(tree.log_piref, T).reshape(tree.nX, -1)
    seq_pi = tk.sequence_sum(sol.log_pi, T).reshape(tree.nX, -1)
    cands = []
    target = R if by_return else R + beta * seq_ref
    # (a) the argmax sets agree (ties compared as sets, up to the round-off tolerance)
    mismatch = 0
    for x in range(tree.nX):
        best_lik = set(np.flatnonzero(seq_pi[x] >= seq_pi[x].max() - tol))
        best_t = set(np.flatnonzero(target[x] >= target[x].max() - beta * tol))
        mismatch += int(not (best_lik & best_t))
    cands.append(Candidate(float(mismatch), 0.0, 0.0, "(a) argmax log pi* = argmax target"))
    # (b) prefix identity at every depth
    for t in range(T):
        lhs = tk.prefix_logprob(tree, sol.log_pi, t)
        part = 0.0
        for k in range(t + 1):
            term = tree.r[k] + beta * tree.log_piref[k]
            part = part + term.reshape(term.shape + (1,) * (t - k))
        rhs = (part + sol.V[t + 1] - sol.V[0].reshape((tree.nX,) + (1,) * (t + 1))) / beta
        fin = np.isfinite(lhs)
        cands.append(Candidate(float(np.abs(lhs[fin] - rhs[fin]).max()), 0.0, tol,
                           f"(b) prefix identity, depth {t}"))
    # exact beam search (width V^(T-1)) returns a likelihood maximiser
    beam = tk.beam_search(tree, sol.log_pi, tree.V ** max(T - 1, 0))
    flat = [int(np.ravel_multi_index(tuple(e), (tree.V,) * T)) for e in beam]
    gap = max(float(seq_pi[x].max() - seq_pi[x, f]) for x, f in enumerate(flat))
    cands.append(Candidate(gap, 0.0, tol, "exact beam search is a likelihood maximiser"))
    return _worst(cands, "equality")


# ========================================================================== C16
def _c16(tree: tk.TokenTree, rng: np.random.Generator, *, chosen_from_star: bool
         ) -> Measurement:
    beta, T = tree.beta, tree.T
    seq_ref = tk.sequence_sum(tree.log_piref, T).reshape(tree.nX, -1)
    b = tk.to_bandit(tree)
    policies = [("pi*", b.log_pi_star)]
    for j in range(3):
        logits = [np.where(np.isfinite(lr), lr + rng.normal(size=lr.shape), -np.inf)
                  for lr in tree.log_piref]
        lev = tk.policy_levels_from_logits(logits)
        policies.append((f"random token policy #{j}",
                         tk.sequence_sum(lev, T).reshape(tree.nX, -1)))
    # a DPO run on the sequence bandit, chosen and rejected drawn from piref, BT labels
    data = pref.sample_pairs(b, 200, rng=rng)
    run = pref.train(b, data, pref.dpo(beta), steps=60, lr=0.5, record=[10, 30, 60])
    policies += [(f"DPO step {t}", lp) for t, lp in zip(run.steps, run.logpi_path)]
    chosen = np.exp(b.log_pi_star if chosen_from_star else seq_ref)
    cands = []
    for label, lp in policies:
        lp_flat = lp - logsumexp(lp, axis=1, keepdims=True)
        implicit = beta * (lp_flat - seq_ref)
        avg = float(b.rho @ (chosen * implicit).sum(axis=1))
        # sums of V^T terms of size <= beta max|log|: 64 n U s
        s = beta * (np.abs(lp_flat).max() + np.abs(seq_ref).max() + 1)
        tol = 64 * b.K * U * s
        if not chosen_from_star:
            # the identity: E_piref[beta log pi/piref] = -beta KL(piref || pi)
            ident = -beta * float(b.rho @ pref.kl_divergence(seq_ref, lp_flat))
            cands.append(Candidate(abs(avg - ident), 0.0, tol,
                               f"{label}: identity E_ref[r_pi] = -beta KL(piref || pi)"))
        cands.append(Candidate(avg, 0.0, tol, f"{label}: E_chosen[beta log pi/piref] <= 0"))
    return _worst(cands, "upper_bound")


# ========================================================================== C17
def _c17(b: pref.PreferenceBandit, rng: np.random.Generator, *, mean_baseline: bool
         ) -> Measurement:
    k, n = 4, 20_000
    # a random policy mixed half-half with the uniform policy on S_ref: every response has
    # probability >= 1/(2K), so each is sampled thousands of times and the CLT applies (with
    # near-zero probabilities the sample standard error misses the rare draws entirely)
    w = rng.dirichlet(np.ones(b.K), size=b.nX) * b.support
    unif = b.support / b.support.sum(axis=1, keepdims=True)
    lp = pref.log_policy(0.5 * w / w.sum(axis=1, keepdims=True) + 0.5 * unif)
    G = pref.kl_gradient_logits(b, lp)
    est = pref.rloo_kl_gradient(b, lp, k, rng=rng, baseline="mean" if mean_baseline else "loo",
                                replicates=n)
    se = est.std(axis=0, ddof=1) / math.sqrt(n)
    live = se > 0
    z = np.abs(est.mean(axis=0)[live] - G[live]) / se[live]
    m = int(live.sum())
    # Bonferroni over the m coordinates at family level 1e-6: the CLT z-quantile
    z_crit = float(norm.isf(1e-6 / (2 * max(m, 1))))
    return Measurement(float(z.max()) if m else 0.0, z_crit, tol=0.0,
                       extra={"k": k, "replicates": n, "coordinates": m})


def _rloo_trap() -> pref.PreferenceBandit:
    """A bandit for C17 whose random policies are far from piref (large KL gradient), so the
    (k-1)/k bias of the control is many standard errors."""
    return pref.PreferenceBandit(piref=[[0.7, 0.2, 0.05, 0.05], [0.25, 0.25, 0.25, 0.25]],
                                 r=[[0.0, 0.5, 1.0, 0.2], [1.0, 0.0, 0.3, 0.6]], beta=0.5)


# ======================================================================= C8(b), C8(c)
def _min_kl_over_masses(M: pref.MinimizerSet, x: int) -> np.ndarray:
    """Numerical argmin of KL(pi || piref) over the members of M_x: BFGS on the logits of
    the part masses (one per block, one per unseen response in S_ref), KL of a member being
    sum_k a_k (log a_k + D_k) + sum_u b_u log(b_u / piref(u)), D_k = KL(wbar_k || piref)."""
    from scipy.optimize import minimize
    b = M.bandit
    rows = [row for name, row in M.vertices(x) if np.isfinite(
        pref.kl_divergence(row[None], b.log_piref[x][None])[0])]
    D = np.array([float(pref.kl_divergence(r[None], b.log_piref[x][None])[0]) for r in rows])

    def fun(z):
        la = z - logsumexp(z)
        a = np.exp(la)
        return float(a @ (la + D)), a * ((la + D) - a @ (la + D))

    res = minimize(fun, np.zeros(D.size), jac=True, method="BFGS",
                   options={"gtol": 1e-12, "maxiter": 2000})
    a = np.exp(res.x - logsumexp(res.x))
    with np.errstate(divide="ignore"):
        return np.log(sum(ai * np.exp(r) for ai, r in zip(a, rows)))


def _c8b(case: Case, rng: np.random.Generator, *, untilted: bool) -> Measurement:
    """C8(b): the closed-form min-KL member has the least KL(. || piref) of all members of M
    (random members and the numerical minimiser over the part masses), and lies in M (its DPO
    loss is the minimum). Control: block masses proportional to W_k (the tilt e^{-Ebar_k/beta}
    dropped)."""
    b, q = case.bandit, case.data
    M = pref.dpo_minimizer_set(b, q)
    lp = M.min_kl_member()
    if untilted:
        # masses proportional to W_k (blocks) and piref(U) (unseen): the untilted weights
        lp = np.array(lp)
        for x in range(b.nX):
            parts, logits = [], []
            for k in range(int(M.graph.n_components[x])):
                idx = M.graph.members(x, k)
                lw = b.log_piref[x, idx] + M.log_ratio[x, idx]
                parts.append((idx, lw))
                logits.append(logsumexp(lw))
            unseen = np.flatnonzero(M.unseen[x] & b.support[x])
            if unseen.size:
                parts.append((unseen, b.log_piref[x, unseen]))
                logits.append(logsumexp(b.log_piref[x, unseen]))
            lm = np.array(logits) - logsumexp(logits)
            for m_, (idx, inner) in zip(lm, parts):
                lp[x, idx] = m_ + inner - logsumexp(inner)
    kl_x = pref.kl_divergence(lp, b.log_piref)
    # KL sums of K terms of size <= s = max|log ratio| + max|log piref| + 1: 64 K U s
    s = float(np.abs(M.log_ratio).max() + np.abs(b.log_piref[b.support]).max() + 1)
    tol = 64 * b.K * U * s
    cands = []
    for x in range(b.nX):
        others = [("numerical argmin over the part masses", _min_kl_over_masses(M, x))]
        m_x = int(M.graph.n_components[x])
        for j in range(4):                       # random members of M_x (other prompts:
            a = np.zeros((b.nX, M.graph.strongly_connected.shape[1]))    # equal block masses)
            bu = np.zeros((b.nX, b.K))
            for xx in range(b.nX):
                a[xx, :int(M.graph.n_components[xx])] = 1.0 / int(M.graph.n_components[xx])
            w = rng.dirichlet(np.ones(m_x + int(M.unseen[x].sum())))
            a[x, :m_x] = np.maximum(w[:m_x], 1e-12)      # block masses must stay positive
            bu[x, M.unseen[x]] = w[m_x:]
            tot = a[x].sum() + bu[x].sum()
            a[x] /= tot
            bu[x] /= tot
            others.append((f"random member #{j}", M.member(a, bu)[x]))
        # the numerical argmin is accurate to about its gtol 1e-12 in the mass logits, so its KL
        # to ~1e-12 relative; the allowance 1e-9 relative leaves a factor 1000
        for label, row in others:
            kl_o = float(pref.kl_divergence(row[None], b.log_piref[x][None])[0])
            cands.append(Candidate(float(kl_x[x]), kl_o, tol + 1e-9 * abs(kl_o),
                                   f"x={x}: KL(min-KL member) <= KL({label})"))
    # membership: the DPO loss of the member is the minimum (loss at the GD member of M);
    # sums of nX K^2 terms of size <= 1 + beta max|h|: 64 n U s
    L_min = pref.preference_loss(b, q, M.gd_limit(), pref.dpo(b.beta))
    s_l = 1.0 + 2 * b.beta * float(np.abs(M.log_ratio).max())
    cands.append(Candidate(pref.preference_loss(b, q, lp, pref.dpo(b.beta)), L_min,
                           64 * b.nX * b.K ** 2 * U * s_l, "DPO loss of the member = minimum"))
    return _worst(cands, "upper_bound")


def _bias_direction(b: pref.PreferenceBandit, q: pref.PairData) -> np.ndarray:
    """First-order bias of penalised HyPO at lam -> 0 under full coverage (C8(c)), by the
    implicit function theorem: theta'(0) = -H^+ grad KL_rho(pi*) with H the DPO loss Hessian
    in the logits at pi* (per prompt the Laplacian with weights beta^2 W sigma sigma), and
    pi'(0) = pi* (theta' - E_pi* theta')."""
    lp = b.log_pi_star
    p = np.exp(lp)
    loss = pref.dpo(b.beta)
    z = loss.a * pref.margins(b, lp)
    w = np.where(q.W > 0, q.W * loss.a ** 2 * expit(z) * expit(-z), 0.0)
    g = pref.kl_gradient_logits(b, lp)
    v = np.zeros(p.shape)
    for x in range(b.nX):
        A = w[x] + w[x].T
        th = -np.linalg.pinv(np.diag(A.sum(axis=1)) - A) @ g[x]
        v[x] = p[x] * (th - p[x] @ th)
    return v


#: Penalty weights of the C8(c) rate check, in units of the instance's scale lam_0.
_BIAS_GRID = (1.0, 0.3, 0.1, 0.03, 0.01)


def _c8c(b: pref.PreferenceBandit, rng: np.random.Generator, *, drop_first_order: bool
         ) -> Measurement:
    """C8(c): with full coverage the penalised HyPO minimiser is biased at first order,
    pi_lam = pi* + lam v + O(lam^2), v from :func:`_bias_direction` (nonzero). Measured:
    ||pi_lam - pi* - lam v||_inf / (lam_0 ||v||_inf) at lam = lam_0 x in _BIAS_GRID, a rate of
    slope 2 in x. lam_0 = 0.01 / ||v||_inf puts the first-order bias at the largest lam at
    0.01, inside the expansion's range whatever the instance's scale (with beta = 0.05 and
    small data weights ||v|| reaches 15, and lam = 0.1 would be far outside it; at 0.05 the
    O(lam^3) term still lowers the local slope to 1.4-1.8 on the first decade). Control: the
    first-order term dropped (penalised HyPO assumed unbiased to first order): slope 1."""
    q = pref.population_pairs(b)
    v = _bias_direction(b, q)
    v_norm = float(np.abs(v).max())
    lam0 = 0.01 / v_norm
    ys = []
    for x in _BIAS_GRID:
        lam = lam0 * x
        # warm start at pi* (the lam -> 0 limit): the same minimiser, found faster
        lp = pref.hypo_penalized(b, q, lam, pref.dpo(b.beta), logpi0=b.log_pi_star)
        first = 0.0 if drop_first_order else lam * v
        ys.append(float(np.abs(np.exp(lp) - b.pi_star - first).max()) / (lam0 * v_norm))
    return Measurement(np.array(ys), None,
                       extra={"x": list(_BIAS_GRID), "lam0": lam0, "bias_norm": v_norm})


# ============================================================================ C12(e)
@dataclass(frozen=True, eq=False)
class _RateCase:
    bandit: pref.PreferenceBandit
    theta_star: np.ndarray
    eps: float


def _rate_case(seed: int, eps: float) -> _RateCase:
    b, theta = inst.random_loglinear_bandit(rng=seed)
    return _RateCase(b, theta, eps)


def _rate_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [Instance(f"loglinear(eps={e})", {"seed": 1, "eps": e},
                    functools.partial(_rate_case, 1, e)) for e in (0.2, 0.3)]
    for i in range(n_random):
        seed, e = int(rng.integers(0, 2**32)), round(float(rng.uniform(0.2, 0.35)), 6)
        out.append(Instance(f"loglinear#{i}", {"seed": seed, "eps": e},
                            functools.partial(_rate_case, seed, e)))
    return out


#: Sample sizes and repetitions of the C12(e) rate check (card: n = 1000, 4000, 16000).
RATE_NS = (1000, 4000, 16000)
RATE_REPS = 6


def _c12e(case: _RateCase, rng: np.random.Generator, *, vanilla: bool) -> Measurement:
    """Mean ||theta_hat - theta*|| over RATE_REPS noisy datasets per n, for rDPO (claim) or
    vanilla DPO on the same noisy data (control), fitted on [-10, 10]^d."""
    b, eps = case.bandit, case.eps
    loss = pref.dpo(b.beta) if vanilla else pref.rdpo(b.beta, eps)
    ys = []
    for n in RATE_NS:
        errs = []
        for _ in range(RATE_REPS):
            data = pref.flip_labels(pref.sample_pairs(b, n, rng=rng), eps, rng=rng)
            errs.append(float(np.linalg.norm(pref.loglinear_minimizer(b, data, loss)
                                             - case.theta_star)))
        ys.append(float(np.mean(errs)))
    return Measurement(np.array(ys), None, extra={"x": list(RATE_NS), "eps": eps})


# ================================================= C3(a) uniqueness, C3 control (ii)
def _spanning_case(rng_seed: int) -> Case:
    """A random full-support bandit whose population pairs lie on a random path through all K
    responses of every prompt: each G_x is connected and covers every response (C3(a)), and
    dropping any one edge disconnects it (C3's control (ii))."""
    rng = np.random.default_rng(rng_seed)
    b = inst.random_preference_bandit(rng=rng, K=int(rng.integers(3, 8)))
    mask = np.zeros((b.nX, b.K, b.K), dtype=bool)
    for x in range(b.nX):
        order = rng.permutation(b.K)
        mask[x, order[:-1], order[1:]] = True
    return Case(b, pref.population_pairs(b, edges=mask))


def _p2_path_case() -> Case:
    """P2 (card C5) at delta = 1e-2 with only the pairs {a, b} and {b, c} queried (a path)."""
    b = inst.song_small_mass(1e-2)
    mask = np.zeros((1, 3, 3), dtype=bool)
    mask[0, 0, 1] = mask[0, 1, 2] = True
    return Case(b, pref.population_pairs(b, edges=mask))


def _c3_unique(case: Case, rng: np.random.Generator, *, drop_edge: bool) -> Measurement:
    """Uniqueness of the DPO minimiser with a connected graph covering every response: (1) the
    diameter max ||v - v'||_inf of the closure of M_x over its vertices (card C3: the closure is
    the convex hull of the vertices), (2) two selection rules, the gradient-descent member from
    log piref and the min-KL member, coincide, (3) the numerical minimiser from a random start
    reaches
    the gradient-descent member (only where the Hessian is nonsingular, i.e. the graph is
    connected: the first-order bound needs lambda_2 > 0). Control (ii): one edge dropped."""
    b, q = case.bandit, case.data
    if drop_edge:
        W = np.array(q.W)
        yp, ym = (int(i) for i in np.argwhere(W[0] > 0)[0])
        W[0, yp, ym] = W[0, ym, yp] = 0.0
        q = pref.PairData(W, population=True)
    M = pref.dpo_minimizer_set(b, q)
    cands = []
    for x in range(b.nX):
        rows = [np.exp(v) for _, v in M.vertices(x)]
        diam = max((float(np.abs(u - v).max()) for i, u in enumerate(rows)
                    for v in rows[i + 1:]), default=0.0)
        cands.append(Candidate(diam, 0.0, 0.0, f"diameter of closure(M_x), x={x}",
                               {"vertices": len(rows)}))
    gd, mk = M.gd_limit(), M.min_kl_member()
    # both are normalised exponentials of the same log-ratios (one logsumexp each over K
    # terms of size <= s): K U s per log-probability, headroom 64
    fin = np.isfinite(gd)
    s = float(np.abs(gd[fin]).max() + np.abs(mk[np.isfinite(mk)]).max()) + 1.0
    cands.append(Candidate(float(np.abs(np.exp(gd) - np.exp(mk)).max()), 0.0,
                           64 * b.K * U * s, "gradient-descent member vs min-KL member"))
    loss = pref.dpo(b.beta)
    # the first-order bound needs lambda_2 > 0, i.e. each G_x connected on the whole support
    # (decided from the graph: a computed lambda_2 of a disconnected graph is round-off)
    if (M.graph.n_components == 1).all() and not (M.unseen & b.support).any():
        start = np.where(b.support, b.log_piref + rng.normal(size=b.log_piref.shape), -np.inf)
        start = start - logsumexp(start, axis=1, keepdims=True)
        lp = pref.hypo_penalized(b, q, 0.0, loss, logpi0=start)
        cands.append(Candidate(float(np.abs(np.exp(lp) - np.exp(gd)).max()), 0.0,
                               _lbfgs_tolerance(b, q, gd, loss)
                               + _lbfgs_tolerance(b, q, lp, loss),
                               "numerical minimiser from a random start vs gd member"))
    return _worst(cands, "equality", singleton=M.is_singleton)


# ================================================ C14(d) shaping, C14 control (2)
def _c14_shaping(tree: tk.TokenTree, rng: np.random.Generator, *, terminal_potential: bool
                 ) -> Measurement:
    """Potential shaping r' = r + Phi(s') - Phi(s) with Phi(terminal) = 0 changes every return
    by the prompt constant -Phi(x) (spread over responses 0), leaves pi* unchanged at every
    state and every BT preference sigma(R(y) - R(y')) unchanged. Control: Phi(terminal) != 0."""
    T, nX = tree.T, tree.nX
    Phi = [rng.normal(size=(nX,) + (tree.V,) * t) for t in range(T + 1)]
    if not terminal_potential:
        Phi[T] = np.zeros_like(Phi[T])
    r2 = tk.shape_reward(tree, Phi)
    sol, sol2 = tk.soft_solve(tree), tk.soft_solve(tree, r2)
    R = tk.sequence_return(tree).reshape(nX, -1)
    R2 = tk.sequence_return(tree, r2).reshape(nX, -1)
    # sums of 2T + 2 terms of size <= s (rewards, potentials, values, beta log piref): 64 (2T +
    # 2) U s, divided by beta for log-probabilities (as identity_errors); sigma is 1/4-Lipschitz
    s = _tree_scale(tree, sol) + max(float(np.abs(p).max()) for p in Phi) + \
        max(float(np.abs(v).max()) for v in sol2.V)
    tol = 64 * (2 * T + 2) * U * s
    shift = R2 - R
    cands = [Candidate(float(np.ptp(shift, axis=1).max()), 0.0, 2 * tol,
                       "R' - R constant per prompt (= -Phi(x))")]
    cands.append(Candidate(max(float(np.abs(a - c).max()) for a, c in
                               zip(sol2.log_pi, sol.log_pi)), 0.0, tol / tree.beta,
                           "pi* unchanged at every state"))
    pairs = lambda A: expit(A[:, :, None] - A[:, None, :])  # noqa: E731
    cands.append(Candidate(float(np.abs(pairs(R2) - pairs(R)).max()), 0.0, tol,
                           "BT preferences unchanged"))
    return _worst(cands, "equality")


# ================================================ C13 reference-freeness (card control)
def _c13_reference(case: _SimPOCase, rng: np.random.Generator, *, with_reference: bool
                   ) -> Measurement:
    """The population minimiser u = log pi(y0) - log pi(y1) on one edge, under two random
    reference policies: SimPO's is the same (nothing anchors it to piref, card C13). Control
    (the card's contrast): DPO (reference margin, beta = simpo_beta) under the same change,
    whose minimiser is logit(p)/beta + log piref(y0)/piref(y1)."""
    p, a, g = case.p, case.simpo_beta, case.simpo_gamma
    loss = pref.dpo(a) if with_reference else pref.simpo(a, g)
    us, tol = [], 0.0
    for _ in range(2):
        w = rng.dirichlet([1.0, 1.0])
        b = pref.PreferenceBandit(piref=[w], r=[[math.log(p / (1 - p)), 0.0]], beta=1.0)
        q = pref.population_pairs(b)       # one edge with P(y0 > y1) = p
        lp = pref.hypo_penalized(b, q, 0.0, loss)
        m = float(pref.margins(b, lp, reference=loss.reference)[0, 0, 1])
        # first-order bound on u: |dL/du| / L''(u) (x 10 for second order), L'' = p ell''(m)
        # + (1 - p) ell''(-m), plus round-off
        curv = p * float(loss.curvature(np.array(m))) + (1 - p) * float(
            loss.curvature(np.array(-m)))
        grad = pref.loss_gradient_logits(b, q, lp, loss)[0, 0]
        tol += 10 * abs(grad) / curv + 64 * U * (abs(m) + np.abs(np.log(w)).max() + 1)
        us.append(float(lp[0, 0] - lp[0, 1]))
    return Measurement(us[0], us[1], tol, {"u": us})


# ===================================================== C11(c) deterministic preferences
@dataclass(frozen=True)
class _ChainCase:
    bandit: pref.PreferenceBandit
    data: pref.PairData
    tau: float


def _chain_case(K: int, tau: float, seed: int | None = None) -> _ChainCase:
    """Card E10 / C11(c): one prompt, a chain 0 > 1 > ... > K-1, each adjacent pair seen once
    (empirical preference 1 on every edge); piref uniform or Dirichlet(1) (seeded)."""
    piref = np.full(K, 1.0 / K) if seed is None else np.random.default_rng(seed).dirichlet(
        np.ones(K))
    b = pref.PreferenceBandit(piref=[piref], r=[np.linspace(1.0, 0.0, K)], beta=tau)
    return _ChainCase(b, pref.pairs_from_list(1, K, [(0, y, y + 1) for y in range(K - 1)]), tau)


def _chain_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    out = [Instance(f"chain(K=4, tau={t}, uniform piref)", {"K": 4, "tau": t},
                    functools.partial(_chain_case, 4, t)) for t in (0.1, 0.5, 1.0)]
    for i in range(n_random):
        params = {"K": int(rng.integers(3, 6)), "tau": round(float(rng.uniform(0.1, 1.0)), 6),
                  "seed": int(rng.integers(0, 2**32))}
        out.append(Instance(f"chain#{i}", params, functools.partial(_chain_case, **params)))
    return out


#: Gradient steps and step size of C11(c) (lr 0.25 < 1/lambda_max(2 L) for chains of K <= 5;
#: see preference_e10_ipo_vs_dpo.Config).
CHAIN_STEPS, CHAIN_LR = 600, 0.25


def _c11c(case: _ChainCase, rng: np.random.Generator, *, logit_psi: bool) -> Measurement:
    """Deterministic preferences: IPO's exact minimiser has margin 1/(2 tau) on every edge and
    its gradient-descent iterates from log piref stay finite, with every margin below
    1/(2 tau) (+ the iterate's distance to the minimiser). Control: Psi = logit, i.e. DPO with
    beta = tau (IPO23's correspondence) on the same data and steps: no minimiser, margins grow
    without bound (pi(y-) -> 0 whatever beta)."""
    b, data, tau = case.bandit, case.data, case.tau
    target = 1.0 / (2.0 * tau)
    edges = [(y, y + 1) for y in range(b.K - 1)]
    cands = []
    if not logit_psi:
        g = pref.ipo_minimizer_set(b, data, tau).log_ratio[0]
        for y, y2 in edges:
            # Laplacian least squares on a tree: exact fit, round-off K U (|g| + 1) x 64
            cands.append(Candidate(abs(g[y] - g[y2] - target), 0.0,
                                   64 * b.K * U * (np.abs(g).max() + 1), f"exact margin {y}>{y2}"))
    loss = pref.dpo(tau) if logit_psi else pref.ipo(tau)
    res = pref.train(b, data, loss, steps=CHAIN_STEPS, lr=CHAIN_LR, record=[CHAIN_STEPS])
    h = pref.margins(b, res.logpi)[0]
    # GD on IPO's strongly convex (in the margins) loss: a margin exceeds its limit by at
    # most the iterate's distance ||grad|| / lambda_2(2 L) (first-order bound, x 10)
    grad = float(np.linalg.norm(pref.loss_gradient_logits(b, data, res.logpi, loss)))
    W = data.W[0] + data.W[0].T
    lam2 = np.sort(np.linalg.eigvalsh(2 * (np.diag(W.sum(axis=1)) - W)))[1]
    for y, y2 in edges:
        cands.append(Candidate(float(h[y, y2]), target, 10 * grad / lam2,
                               f"margin {y}>{y2} after {CHAIN_STEPS} steps"))
    return _worst(cands, "upper_bound", pi_best=float(np.exp(res.logpi[0, 0])))


# ===================================================== C12(d) rDPO without a minimiser
@dataclass(frozen=True)
class _CountCase:
    eps: float
    n_win: int
    n_loss: int


def _count_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    """The card's C12(d) fixture (eps = 0.3, 2 wins / 18 losses), then random flip rates in
    [0.1, 0.45] with p_hat = n+/(n+ + n-) <= eps - 0.05 (n = 20 observations)."""
    out = [Instance("card C12(d) (eps=0.3, 2/18)", {"eps": 0.3, "n_win": 2, "n_loss": 18},
                    functools.partial(_CountCase, 0.3, 2, 18))]
    for i in range(n_random):
        eps = round(float(rng.uniform(0.1, 0.45)), 6)
        n_win = int(rng.integers(0, int(20 * (eps - 0.05)) + 1))
        params = {"eps": eps, "n_win": n_win, "n_loss": 20 - n_win}
        out.append(Instance(f"counts#{i}", params, functools.partial(_CountCase, **params)))
    return out


def _c12d(case: _CountCase, rng: np.random.Generator, *, inside: bool) -> Measurement:
    """C12(d): a pair observed with p_hat = n+/(n+ + n-) <= eps has no rDPO minimiser: the
    summed empirical loss n+ l_eps(z) + n- l_eps(-z), z = beta h, decreases without bound as
    z -> -inf (asymptotic slope n- eps/(1 - 2 eps) - n+ (1 - eps)/(1 - 2 eps) > 0 in -z); the
    sequence over z = 0, -5, -50, -500, -5000 is nonincreasing. Control: the same number of
    observations split evenly (p_hat = 1/2, inside (eps, 1 - eps)): the minimiser exists (at
    (p_hat - eps)/(1 - 2 eps) = 1/2, z = 0) and the sequence turns up."""
    eps, n = case.eps, case.n_win + case.n_loss
    n_win = n // 2 if inside else case.n_win
    loss = pref.rdpo(1.0, eps)
    z = np.array([0.0, -5.0, -50.0, -500.0, -5000.0])
    vals = n_win * loss.value(z) + (n - n_win) * loss.value(-z)
    # each value: 2 terms of size <= n |z| (1 + eps/(1 - 2 eps)) + n log 2, 16 U each; a
    # difference carries both neighbours' round-off
    s = n * (np.abs(z) * (1 + eps / (1 - 2 * eps)) + 1)
    return Measurement(vals, None, float(2 * 16 * U * s.max()),
                       {"z": z.tolist(), "n_win": n_win, "n_loss": n - n_win,
                        "minimizer": pref.rdpo_empirical_minimizer(n_win, n - n_win, eps)})


# ======================================================= C3(b) RLHF under pair coverage
def _support_path_case(rng_seed: int) -> Case:
    """A random bandit (K in 4..7) with one zero in piref (C_glo = inf, so DPO's minimiser set
    is not a singleton) whose population pairs lie on a random path through S_ref(x) of every
    prompt:
    each G_x is connected and covers S_ref(x) (card C3(b)); dropping an edge disconnects it."""
    rng = np.random.default_rng(rng_seed)
    b = inst.random_preference_bandit(rng=rng, K=int(rng.integers(4, 8)), min_zeros=1)
    mask = np.zeros((b.nX, b.K, b.K), dtype=bool)
    for x in range(b.nX):
        order = rng.permutation(np.flatnonzero(b.support[x]))
        mask[x, order[:-1], order[1:]] = True
    return Case(b, pref.population_pairs(b, edges=mask))


def _component_tolerance(b: pref.PreferenceBandit, q: pref.PairData, lp: np.ndarray) -> float:
    """First-order error bound of the scores inside each component (as
    :func:`_lbfgs_tolerance`, with lambda_2 of each component's own weighted Laplacian): what
    the data determine. Block offsets between components are not bounded by it (C3)."""
    loss = pref.dpo(b.beta)
    grad = pref.loss_gradient_logits(b, q, lp, loss)
    z = loss.a * pref.margins(b, lp) - loss.b
    w = np.where(q.W > 0, q.W * loss.a ** 2 * expit(z) * expit(-z), 0.0)
    graph = pref.comparison_graph(q)
    lam2 = np.inf
    for x in range(b.nX):
        for k in range(int(graph.n_components[x])):
            idx = graph.members(x, k)
            A = w[x][np.ix_(idx, idx)] + w[x][np.ix_(idx, idx)].T
            lam2 = min(lam2, np.sort(np.linalg.eigvalsh(np.diag(A.sum(axis=1)) - A))[1])
    return 10.0 * 0.5 * float(np.linalg.norm(grad)) / lam2 + 1e-12


def _c3b(case: Case, rng: np.random.Generator, *, drop_edge: bool) -> Measurement:
    """max over the tie-breaks of ||pi_RLHF - pi*||_inf, with every G_x connected and covering
    S_ref(x) although piref has zeros (the DPO minimiser set is then not a singleton: its
    diameter is reported). Control: C3's edge drop, after which per-component offsets and
    unseen rewards are free for RLHF too (card §6 pitfall 5)."""
    b, q = case.bandit, case.data
    if drop_edge:
        W = np.array(q.W)
        yp, ym = (int(i) for i in np.argwhere(W[0] > 0)[0])
        W[0, yp, ym] = W[0, ym, yp] = 0.0
        q = pref.PairData(W, population=True)
    cands = []
    for tb in pref.TIE_BREAKS:
        lp = pref.rlhf(b, q, tie_break=tb).logpi
        cands.append(Candidate(float(np.abs(np.exp(lp) - b.pi_star).max()), 0.0,
                               _component_tolerance(b, q, lp), f"tie-break {tb}"))
    M = pref.dpo_minimizer_set(b, q)
    return _worst(cands, "equality", dpo_set_singleton=M.is_singleton,
                  dpo_sup_kl=_finite(M.sup_kl_reference()))


# ====================================================================== registration
def _m(fn, **kw):
    f = functools.partial(fn, **kw)
    f.__module__ = __name__  # for registry messages
    return f


_C = "[card preference_coverage, {}]"
_COVERAGE_FAIL = ({"min_zeros": 1, "zero_prob": 0.2},)

CLAIMS: list[Claim] = [
    Claim(id="preference.pref.gibbs_gap_identity", paper="preference",
          cite=_C.format("§2.2 (F1, F2), C1"),
          statement="J(pi*) - J(pi) = beta KL_rho(pi || pi*) for supp pi within S_ref, and "
          "J(pi*) = beta sum_x rho(x) log Z(x)",
          assumptions="tabular bandit; beta > 0; pi supported on S_ref (6 random pi per "
          "instance)", provenance="derived", kind="equality",
          instances=_bandit_instances(_named("song_zero_mass", inst.song_zero_mass),
                                      _named("song_small_mass", inst.song_small_mass,
                                             delta=1e-4),
                                      alternate=({}, {"zero_prob": 0.3})),
          measure=_m(_c1, wrong=False), negative_control=_m(_c1, wrong=True),
          control_note="pi* computed at the wrong temperature, piref exp(beta r*)"),
    Claim(id="preference.pref.bounded_reward_kl_ball", paper="preference",
          cite=_C.format("C2") + "; cf. SONG24 (RLHF's output in a KL ball)",
          statement="if r spans at most R on S_ref(x): KL_x(pi_r || piref) <= (E_{pi_r} r - "
          "E_piref r)/beta <= R/beta, pi_r/piref <= e^{R/beta}, pi_r = 0 off S_ref",
          assumptions="rewards in [0, R]^K (r*, uniform draws, one-response boosts/cuts)",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(_named("collapse_trap", collapse_trap, delta=1e-4),
                                      _named("song_zero_mass", inst.song_zero_mass),
                                      alternate=({}, {"zero_prob": 0.3})),
          measure=_m(_c2, control=False), negative_control=_m(_c2, control=True),
          control_note="unbounded reward: the implicit reward of a collapsed policy"),
    Claim(id="preference.pref.dpo_population_minimizers", paper="preference",
          cite=_C.format("C3, C3(a)"),
          statement="with population BT pairs nu = mu x mu on a full-support mu, the population "
          "DPO loss has the unique minimiser pi*, with value sum q f(r*(y) - r*(y'))",
          assumptions="mu = piref with full support (all responses compared, one component)",
          provenance="derived", kind="equality",
          instances=_bandit_instances(_named("song_zero_mass_covered",
                                             inst.song_zero_mass_covered, delta=0.1)),
          measure=_m(_c3, noref=False), negative_control=_m(_c3, noref=True),
          control_note="DPO without the reference (log pi instead of log pi/piref): "
          "converges to softmax(r*/beta)"),
    Claim(id="preference.song24.dpo_needs_global_coverage", paper="preference",
          cite=_C.format("C4") + "; SONG24 headline (i, iii) and Assumption 4.1 [paper]; "
          "formalisation and instance derived",
          statement="if piref(u|x) = 0 for an unseen response, some minimiser of the DPO loss "
          "has KL(pi || piref) = +inf (exp(-sup KL) = 0) while RLHF stays in KL <= R/beta",
          assumptions="mu = piref with at least one zero (global coverage fails); population "
          "BT pairs; RLHF over [0, R]^K with pessimistic / optimistic / worst tie-breaks",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(_named("song_zero_mass", inst.song_zero_mass),
                                      alternate=_COVERAGE_FAIL),
          measure=_m(_c4, control=False), negative_control=_m(_c4, control=True),
          control_note="the same instance with piref(u) > 0 everywhere (mu = piref, every "
          "response compared): M = {pi*}"),
    Claim(id="preference.song24.quantitative_separation", paper="preference",
          cite=_C.format("C5 (instance P2)"),
          statement="every pi in Pi_RLHF(eps) (r_hat in [0,R]^K, E_mu <= eps) has KL <= R/beta "
          "and G_J <= 2 e^{R/(2 beta)} sqrt(eps), independently of delta",
          assumptions="mu = piref; eps = 0.01; P2 at delta in {1e-2, 1e-3, 1e-4, 1e-6, 1e-8} "
          "and random bandits with one small reference mass",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(*[_named("song_small_mass", inst.song_small_mass,
                                               delta=d) for d in (1e-2, 1e-3, 1e-4, 1e-6, 1e-8)],
                                      alternate=({"small_mass": 1e-4},)),
          measure=_m(_c5, control=False), negative_control=_m(_c5, control=True),
          control_note="the RLHF bounds applied to the DPO members pi^delta (E_mu <= eps, "
          "KL -> log C_glo)"),
    Claim(id="preference.song24.rlhf_partial_coverage", paper="preference",
          cite=_C.format("C6") + "; SONG24 headline (ii) [paper]; constants derived",
          statement="for pi_hat = pi_{r_hat}: J(pi*) - J(pi_hat) <= sqrt(C2(pi*) E) + "
          "sqrt(C2(pi_hat) E) <= 2 sqrt(C_loc(R/beta) E), E = E_mu(r_hat)",
          assumptions="r_hat in [0, R]^K (bounded class); any data policy mu inside S_ref; "
          "with mu = piref also <= 2 e^{R/(2 beta)} sqrt(E)",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(_named("collapse_trap", collapse_trap, delta=1e-4),
                                      _named("song_zero_mass", inst.song_zero_mass),
                                      alternate=({}, {"zero_prob": 0.3},
                                                 {"separate_mu": True})),
          measure=_m(_c6, control=False), negative_control=_m(_c6, control=True),
          control_note="boundedness dropped: the unbounded implicit reward of pi^delta"),
    Claim(id="preference.song24.dpo_global_coverage_sufficient", paper="preference",
          cite=_C.format("C7") + "; SONG24 headline (i) [paper]; constants derived",
          statement="for pi with supp in S_ref: J(pi*) - J(pi) <= sqrt(C2(pi*) E) + "
          "sqrt(C2(pi) E) <= 2 sqrt(C_glo E), E = E_mu^dpo(pi)",
          assumptions="mu = piref with full support (C_glo < inf); random, near-optimal and "
          "DPO-member policies",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(_named("collapse_trap", collapse_trap, delta=1e-3),
                                      _named("collapse_trap", collapse_trap, delta=1e-4)),
          measure=_m(_c7, single=False), negative_control=_m(_c7, single=True),
          control_note="only pi*'s coverage kept: sqrt(C2(pi*) E) (fails on ~15% of random "
          "instances and on P2)"),
    Claim(id="preference.song24.hypo", paper="preference",
          cite=_C.format("C8(a)") + "; SONG24 HyPO and Assumption 4.2 [paper]; constants "
          "derived",
          statement="every pi with E_mu^dpo(pi) <= eps and KL_rho(pi || piref) <= kappa = "
          "R/beta has J(pi*) - J(pi) <= sqrt(C2* eps) + sqrt(C_loc(kappa) eps) <= "
          "2 sqrt(C_loc(kappa) eps)",
          assumptions="mu = piref (zeros allowed: only local coverage); eps = E^dpo of each "
          "candidate; candidates outside the KL ball are excluded (HyPO's constraint)",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(*[_named("song_small_mass", inst.song_small_mass,
                                               delta=d) for d in (1e-2, 1e-4, 1e-8)],
                                      alternate=({}, {"zero_prob": 0.3})),
          measure=_m(_c8, unconstrained=False), negative_control=_m(_c8, unconstrained=True),
          control_note="KL constraint dropped: DPO-approximate members pi_(r* + s e_min) of "
          "any KL (violate it on P2 for delta <= 1e-3)"),
    Claim(id="preference.song24.hypo_min_kl_limit", paper="preference",
          cite=_C.format("C8(b), §3.7 hypo_minkl") + "; SONG24 HyPO (lambda -> 0+ limit)",
          statement="the min-KL element of the DPO minimiser set M (HyPO's lambda -> 0+ limit) "
          "has block masses proportional to W_k e^{-Ebar_k/beta}, unseen mass proportional to "
          "piref(U): its KL(. || piref) is at most that of every member of M",
          assumptions="population BT pairs on a random path of compared responses, 1-2 unseen "
          "responses per prompt (partial coverage, M not a singleton)",
          provenance="derived", kind="upper_bound",
          instances=lambda n, rng: [Instance(f"partial#{i}", {"seed": s},
                                             functools.partial(_partial_case, s))
                                    for i, s in enumerate(int(v) for v in
                                                          rng.integers(0, 2**32, size=n + 1))],
          measure=_m(_c8b, untilted=False), negative_control=_m(_c8b, untilted=True),
          control_note="block masses proportional to W_k (the tilt e^{-Ebar_k/beta} dropped)",
          quick=2),
    Claim(id="preference.song24.hypo_penalized_bias", paper="preference",
          cite=_C.format("C8(c), §6 pitfall 8") + "; SONG24 HyPO (penalised form)",
          statement="with full coverage the penalised HyPO minimiser is biased at first order: "
          "pi_lam = pi* + lam v + O(lam^2), v = pi* (theta' - E theta'), theta' = -H^+ "
          "grad KL(pi*) (||pi_lam - pi* - lam v|| has log-log slope 2 in lam)",
          assumptions="population BT pairs nu = mu x mu, mu = piref full support (M = {pi*}); "
          "lam = lam_0 (1, 0.3, 0.1, 0.03, 0.01), lam_0 = 0.01 / ||v||",
          provenance="derived", kind="rate", options={"slope": (1.8, 2.2)},
          instances=_bandit_instances(_named("song_zero_mass_covered",
                                             inst.song_zero_mass_covered, delta=0.1)),
          measure=_m(_c8c, drop_first_order=False),
          negative_control=_m(_c8c, drop_first_order=True),
          control_note="first-order bias term dropped (penalised HyPO assumed unbiased to "
          "first order): slope 1", quick=2),
    Claim(id="preference.pref.coverage_coefficients", paper="preference",
          cite=_C.format("§2.5, C9") + "; SONG24 Assumptions 4.1, 4.2 [paper]",
          statement="C_loc(eps) = max qbar(piref, eps/rho)/mu bounds C_inf of every pi in the "
          "KL ball; C_inf(pi*) <= C_loc(KL*) <= C_loc(R/beta) <= C_glo",
          assumptions="eps in {0.01, 0.1, 1, R/beta}; the optimal one-response construction "
          "and random mixtures inside the ball",
          provenance="derived", kind="upper_bound",
          instances=_bandit_instances(_named("coverage_example", inst.coverage_example),
                                      alternate=({}, {"zero_prob": 0.3},
                                                 {"separate_mu": True})),
          measure=_m(_c9, no_rho=False), negative_control=_m(_c9, no_rho=True),
          control_note="budget eps not divided by rho(x): under-estimates C_loc when nX > 1"),
    Claim(id="preference.pref.dpo_tabular_dynamics", paper="preference",
          cite=_C.format("C10(i, ii)"),
          statement="tabular DPO gradient flow: unseen logits never move and dM_U/dt = "
          "-eta M_U sum_p c_p (pi(y+) - pi(y-)), c_p = beta sigma(-beta h_p) W_p",
          assumptions="population pairs on a random path of compared responses, 1-2 unseen "
          "responses per prompt; random logits",
          provenance="derived", kind="equality",
          instances=lambda n, rng: [Instance(f"partial#{i}", {"seed": s},
                                             functools.partial(_partial_case, s))
                                    for i, s in enumerate(int(v) for v in
                                                          rng.integers(0, 2**32, size=n + 1))],
          measure=_m(_c10_dynamics, drop_sigma=False),
          negative_control=_m(_c10_dynamics, drop_sigma=True),
          control_note="c_p without the factor sigma(-beta h_p)"),
    Claim(id="preference.pref.extrapolation_fa", paper="preference",
          cite=_C.format("C10(iii), fixture L2") + "; SONG24 extrapolation section",
          statement="log-linear DPO raises the probability of an unseen response whose "
          "feature has the largest projection on phi(y+) - phi(y-), at every step",
          assumptions="one pair y0 > y1, piref uniform, GD step 0.5 from theta = 0, 40 steps",
          provenance="derived", kind="monotone", options={"direction": "nondecreasing"},
          instances=lambda n, rng: [Instance("extrapolation (L2)", {"builder": "L2"}, _l2_case)]
          + [Instance(f"l2_like#{i}", {"seed": s}, functools.partial(_extrapolation_case, s))
             for i, s in enumerate(int(v) for v in rng.integers(0, 2**32, size=n))],
          measure=_m(_c10_extrapolation, tabular=False),
          negative_control=_m(_c10_extrapolation, tabular=True),
          control_note="tabular parameterisation (no function approximation): the unseen "
          "response's logit is frozen and its probability falls"),
    Claim(id="preference.ipo.closed_form", paper="preference",
          cite=_C.format("§3.4, C11(a, b)") + "; IPO23",
          statement="for i.i.d. full-support pairs the IPO minimiser is piref exp(P(y > mu)/tau) "
          "(normalised), and equals the graph-Laplacian least-squares solution",
          assumptions="population BT pairs from a separate full-support mu; tau in "
          "{0.1, 0.5, 1}", provenance="paper", kind="equality",
          instances=_bandit_instances(alternate=({"separate_mu": True},)),
          measure=_m(_c11, double_target=False), negative_control=_m(_c11, double_target=True),
          control_note="target margin 1/tau instead of 1/(2 tau) (a factor-2 slip)"),
    Claim(id="preference.rdpo.unbiased_loss", paper="preference",
          cite=_C.format("§3.6, C12(a)") + "; RDPO24",
          statement="E over label flips of l_eps(beta h on the observed pair) = f(beta h): "
          "(1 - eps) l_eps(z) + eps l_eps(-z) = f(z)",
          assumptions="flip rate eps in [0, 1/2) known; z on a grid and random",
          provenance="paper", kind="equality", instances=_noise_instances,
          measure=_m(_c12a, smoothing=False), negative_control=_m(_c12a, smoothing=True),
          control_note="cDPO / label smoothing (1 - eps) f(z) + eps f(-z) in place of rDPO"),
    Claim(id="preference.rdpo.debiasing", paper="preference",
          cite=_C.format("C12(c)") + "; RDPO24",
          statement="on population labels flipped with rate eps = 0.3, the rDPO minimiser is "
          "pi* (sigma(beta h) = p)",
          assumptions="mu = piref full support, population BT pairs, noisy expectation "
          "(1 - eps) W + eps W^T",
          provenance="derived", kind="equality", instances=_c12_instances,
          measure=_m(_c12c, vanilla=False), negative_control=_m(_c12c, vanilla=True),
          control_note="vanilla DPO on the noisy labels (biased towards 1/2)"),
    Claim(id="preference.rdpo.rate", paper="preference",
          cite=_C.format("C12(e), §3.6") + "; RDPO24 rate O(sqrt(d/n)/(1-2eps)) [paper]",
          statement="rDPO's log-linear estimate on flipped labels converges like n^{-1/2}: "
          "the log-log slope of mean ||theta_hat - theta*|| vs n is in [-0.65, -0.35]",
          assumptions="d = 4, 20 prompts x 10 responses, phi ~ N(0, I/d), ||theta*|| = 1, "
          "beta = 1, uniform pairs, BT labels flipped with known eps in [0.2, 0.35]; fit on "
          "[-10, 10]^d; n = 1000, 4000, 16000, 6 datasets each",
          provenance="paper", kind="rate", options={"slope": (-0.65, -0.35)},
          instances=_rate_instances, quick=1, default=6,
          measure=_m(_c12e, vanilla=False), negative_control=_m(_c12e, vanilla=True),
          control_note="vanilla DPO on the same noisy labels: plateaus at its bias (slope ~0)"),
    Claim(id="preference.simpo.stationarity", paper="preference",
          cite=_C.format("§3.5, C13") + "; SIMPO24",
          statement="the population SimPO minimiser on one edge solves p sigma(gamma - beta u) = "
          "(1 - p) sigma(beta u + gamma), whatever piref",
          assumptions="single-token responses, P(y0 > y1) = p in (0.55, 0.95), beta in [1, 3], "
          "gamma in [0.2, 2]; two random reference policies",
          provenance="derived", kind="equality", instances=_simpo_instances,
          measure=_m(_c13, drop_gamma=False), negative_control=_m(_c13, drop_gamma=True),
          control_note="margin gamma dropped from the predicted root (logit(p)/beta)"),
    Claim(id="preference.rq24.token_identities", paper="preference",
          cite=_C.format("§2.7, C14") + "; RQ24 (paper in substance; exact forms derived)",
          statement="soft Bellman with reference: (a) beta log pi*/piref = r + V*(s') - V*(s), "
          "(b) telescoping, (c) bandit equivalence, (d) shaping invariance, (e) pi is optimal "
          "for its implicit reward",
          assumptions="random trees V = 3, T = 3, nX = 2, dense N(0,1) rewards; shaping with "
          "Phi(terminal) = 0", provenance="derived", kind="equality",
          instances=_tree_instances(Instance("card C14 tree (beta=0.7)",
                                             {"builder": "random_token_tree", "seed": 14},
                                             functools.partial(inst.random_token_tree, rng=14))),
          measure=_m(_c14, no_ref_in_value=False),
          negative_control=_m(_c14, no_ref_in_value=True),
          control_note="V = beta logsumexp(Q/beta) without piref inside, "
          "pi* = piref e^{(Q-V)/beta}"),
    Claim(id="preference.rq24.likelihood_search", paper="preference",
          cite=_C.format("C15") + "; RQ24 search claim (derived formalisation)",
          statement="argmax_y log pi*(y|x) = argmax_y R + beta log piref; log pi*(a_0:t) = "
          "[sum (r + beta log piref) + V*(s_t+1) - V*(x)]/beta; exact beam finds the argmax",
          assumptions="random trees V = 3, T = 3; beam width V^(T-1)",
          provenance="derived", kind="equality",
          instances=_tree_instances(Instance("argmax_trap_tree", {"builder": "argmax_trap_tree"},
                                             argmax_trap_tree)),
          measure=_m(_c15, by_return=False), negative_control=_m(_c15, by_return=True),
          control_note="responses ranked by return R alone (beta log piref dropped)"),
    Claim(id="preference.rq24.implicit_reward_decline", paper="preference",
          cite=_C.format("C16") + "; RQ24 explanation (3)",
          statement="E_{y ~ piref}[beta log pi(y|x)/piref(y|x)] = -beta KL(piref || pi) <= 0 "
          "for every pi (random, pi*, DPO iterates)",
          assumptions="random trees; chosen responses distributed like piref; DPO on the "
          "sequence bandit with 200 sampled pairs",
          provenance="derived", kind="upper_bound", instances=_tree_instances(),
          measure=_m(_c16, chosen_from_star=False),
          negative_control=_m(_c16, chosen_from_star=True),
          control_note="chosen responses drawn from pi* instead: the average is beta "
          "KL(pi* || piref) > 0"),
    Claim(id="preference.hypo.rloo_unbiased", paper="preference",
          cite=_C.format("§3.7, C17") + "; RLOO [Ahmadian et al. 2024]",
          statement="the RLOO estimate (1/k) sum_i (l_i - mean_{j != i} l_j) grad log pi(y_i) "
          "is unbiased for grad KL(pi || piref): max standardised deviation below the "
          "Bonferroni 1e-6 normal quantile",
          assumptions="k = 4 samples per prompt, 20000 independent estimates, random pi on "
          "S_ref", provenance="derived", kind="upper_bound",
          instances=_bandit_instances(Instance("rloo_trap", {"builder": "rloo_trap"},
                                               _rloo_trap)),
          measure=_m(_c17, mean_baseline=False), negative_control=_m(_c17, mean_baseline=True),
          control_note="baseline includes the sample itself (mean over all j): biased by "
          "(k-1)/k"),
    Claim(id="preference.pref.dpo_unique_minimizer", paper="preference",
          cite=_C.format("C3(a), C3 negative control (ii)"),
          statement="if every G_x is connected and covers all K responses, the DPO minimiser "
          "set is a singleton: closure(M_x) has diameter 0, the gradient-descent and min-KL "
          "members coincide, the numerical minimiser from a random start is the same policy",
          assumptions="population BT pairs on a random path through all responses of each "
          "prompt (connected, covering); piref full support",
          provenance="derived", kind="equality",
          instances=lambda n, rng: [Instance("P2 path a-b-c (delta=1e-2)", {"builder": "P2 path"},
                                             _p2_path_case)]
          + [Instance(f"spanning#{i}", {"seed": s}, functools.partial(_spanning_case, s))
             for i, s in enumerate(int(v) for v in rng.integers(0, 2**32, size=n))],
          measure=_m(_c3_unique, drop_edge=False), negative_control=_m(_c3_unique, drop_edge=True),
          control_note="one edge dropped so G_x disconnects: two members differ (diameter > 0)",
          quick=2),
    Claim(id="preference.rq24.shaping_invariance", paper="preference",
          cite=_C.format("C14(d), C14 negative control (2)") + "; RQ24 equivalence classes",
          statement="potential shaping r' = r + Phi(s') - Phi(s) with Phi(terminal) = 0 shifts "
          "every return by -Phi(x), leaves pi* at every state and all BT preferences unchanged",
          assumptions="random trees V = 3, T = 3, nX = 2, dense N(0,1) rewards; Phi ~ N(0,1) "
          "at every non-terminal depth", provenance="derived", kind="equality",
          instances=_tree_instances(Instance("card C14 tree (beta=0.7)",
                                             {"builder": "random_token_tree", "seed": 14},
                                             functools.partial(inst.random_token_tree, rng=14))),
          measure=_m(_c14_shaping, terminal_potential=False),
          negative_control=_m(_c14_shaping, terminal_potential=True),
          control_note="a shaping potential with Phi(terminal) != 0: preferences change"),
    Claim(id="preference.simpo.reference_free", paper="preference",
          cite=_C.format("C13 negative control") + "; SIMPO24",
          statement="SimPO's population minimiser u = log pi(y0) - log pi(y1) on one edge is the "
          "same for any two reference policies (nothing anchors SimPO to piref)",
          assumptions="single-token responses, P(y0 > y1) = p in (0.55, 0.95), beta in [1, 3], "
          "gamma in [0.2, 2]; two Dirichlet(1, 1) reference policies",
          provenance="derived", kind="equality", instances=_simpo_instances, quick=1,
          measure=_m(_c13_reference, with_reference=False),
          negative_control=_m(_c13_reference, with_reference=True),
          control_note="the card's contrast: DPO (beta = SimPO's beta) under the same piref "
          "change moves by log piref(y0)/piref(y1)"),
    Claim(id="preference.ipo.deterministic_preferences", paper="preference",
          cite=_C.format("§3.4, C11(c), E10") + "; IPO23 (weak regularisation of DPO)",
          statement="with deterministic empirical preferences (each chain edge seen once) IPO's "
          "minimiser has margin 1/(2 tau) on every edge and its GD iterates stay below it",
          assumptions="one prompt, chain 0 > 1 > ... > K-1, K in 3..5, piref uniform or "
          "Dirichlet(1); tau in [0.1, 1]; 600 GD steps of 0.25 from log piref",
          provenance="paper", kind="upper_bound", instances=_chain_instances, quick=2,
          measure=_m(_c11c, logit_psi=False), negative_control=_m(_c11c, logit_psi=True),
          control_note="Psi = logit (DPO with beta = tau): no minimiser, margins pass 1/(2 tau) "
          "and keep growing"),
    Claim(id="preference.rdpo.empirical_unbounded", paper="preference",
          cite=_C.format("C12(d), §6 pitfall 9") + "; RDPO24 (why the theory needs a "
          "parameter ball)",
          statement="a pair observed with p_hat <= eps has no rDPO minimiser: the summed "
          "empirical loss is nonincreasing along z = beta h -> -inf (0, -5, ..., -5000), "
          "unbounded below",
          assumptions="flip rate eps in [0.1, 0.45] known; 20 observations of one pair with "
          "p_hat <= eps - 0.05; the card's fixture eps = 0.3, 2 wins / 18 losses",
          provenance="derived", kind="monotone", options={"direction": "nonincreasing"},
          instances=_count_instances, measure=_m(_c12d, inside=False),
          negative_control=_m(_c12d, inside=True),
          control_note="p_hat = 1/2 inside (eps, 1 - eps): the minimiser exists, the loss turns "
          "up"),
    Claim(id="preference.pref.rlhf_connected_coverage", paper="preference",
          cite=_C.format("C3(b)") + "; SONG24 headline (ii) in its exact population form",
          statement="if every G_x is connected and covers S_ref(x), RLHF with the bounded "
          "class [0, R]^K returns exactly pi* for every tie-break, even with piref zeros "
          "(where DPO's minimiser set contains infinite-KL members)",
          assumptions="population BT pairs on a random path through S_ref(x); piref with at "
          "least one zero (C_glo = inf), K in 4..7; tie-breaks pessimistic / neutral / "
          "optimistic / worst",
          provenance="derived", kind="equality", quick=2,
          instances=lambda n, rng: [
              Instance(f"support_path#{i}", {"seed": s}, functools.partial(_support_path_case, s))
              for i, s in enumerate(int(v) for v in rng.integers(0, 2**32, size=n + 1))],
          measure=_m(_c3b, drop_edge=False), negative_control=_m(_c3b, drop_edge=True),
          control_note="C3's edge drop: G_x disconnected, RLHF's offsets are free too"),
]

for _claim in CLAIMS:
    register(_claim)
