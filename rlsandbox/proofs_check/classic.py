"""The classical claims (``paper="classic"``): textbook facts about discounted MDPs, checked.

Each statement below is one :class:`~rlsandbox.proofs_check.Claim`, measured exactly (linear
solves and Bellman backups in float64, no sampling) on named instances and on seeded random
ones, and each has a negative control: the same measurement with one deliberate break, which
the check must reject. Notation: ``T`` and ``T^pi`` are the Bellman optimality and evaluation
operators, ``V*`` the optimal value, ``V^pi = (I - gamma P_pi)^{-1} R_pi``, ``||.||`` the sup
norm, ``sp(h) = max h - min h``.

==========================================  ==================================================
id                                          statement (citation; provenance)
==========================================  ==================================================
classic.bellman.contraction                 ||TU - TV|| <= gamma ||U - V||
                                            [puterman2005, §6.2]; paper
classic.bellman.evaluation_contraction      ||T^pi U - T^pi V|| <= gamma ||U - V||
                                            [puterman2005, §6.2]; paper
classic.bellman.monotone                    U <= V implies TU <= TV and T^pi U <= T^pi V
                                            [puterman2005, §6.2]; paper
classic.vi.eps_half                         VI stopped at ||V_k - V_{k-1}|| < eps(1-gamma)/(2 gamma)
                                            has ||V_k - V*|| < eps/2 [puterman2005, Thm 6.3.1]
classic.vi.greedy_eps_optimal               ... and its greedy policy is eps-optimal
                                            [puterman2005, Thm 6.3.1]; paper
classic.greedy.singh_yee                    ||V* - V^{greedy(V)}|| <= 2 gamma ||V - V*|| / (1-gamma)
                                            [szepesvari2022, Lec 3; singh1994]; paper
classic.pi.monotone                         Howard PI: V^{pi_0} <= V^{pi_1} <= ... componentwise
                                            [szepesvari2022, Lec 4]; paper
classic.pi.iteration_bound                  Howard PI is optimal after (SA - S)(ceil(H) + 1)
                                            iterations, H = ln(1/(1-gamma))/(1-gamma)
                                            [szepesvari2022, Lec 4]; paper
classic.pdl.identity                        V^{pi'}(rho) - V^pi(rho) =
                                            E_{s~d^{pi'}_rho, a~pi'}[A^pi(s,a)] / (1-gamma)
                                            [agarwal2022, Lemma 1.16]; paper
classic.simulation_lemma.identity           V^pi_P - V^pi_Q = gamma (I - gamma Q_pi)^{-1}
                                            (P_pi - Q_pi) V^pi_P [agarwal2022, Lemma 2.2]; paper
classic.simulation_lemma.bound              ||V^pi_P - V^pi_Q|| <= gamma eps_PQ ||V^pi_P|| / (1-gamma)
                                            [agarwal2022, Lemma 2.2 + Hoelder]; derived
classic.blackwell.gain_limit                |(1-gamma) V*_gamma(s) - g*| <= (1-gamma) sp(h) for every
                                            solution (g*, h) of the average-reward optimality
                                            equation (weakly communicating models); derived
classic.certificates.error_bound            ||sol.V - V*|| <= sol.error_bound (vi, mpi, pi, lp)
                                            [puterman2005, §6.6.1]; derived
classic.certificates.optimal_actions        sol.optimal_actions excludes only suboptimal actions
                                            (rlsandbox.dp certificate); derived
==========================================  ==================================================

The Blackwell bound, derived. Let (g*, h) solve the optimality equation g* + h(s) =
max_a R[s, a] + sum_s' P[s, a, s'] h(s') (it has a solution with constant g* in every weakly
communicating model [puterman2005, §8.4]), and W = g*/(1-gamma) + h. Since R + gamma P h =
R + P h - (1-gamma) P h and min h <= P h <= max h,

    W - (1-gamma) max h  <=  T_gamma W  <=  W - (1-gamma) min h.

With c = -min h, T_gamma(W + c 1) = T_gamma W + gamma c <= W + c: W + c is a supersolution,
so V*_gamma <= W - min h by monotonicity; likewise V*_gamma >= W - max h. Multiplying by
(1-gamma):

    (1-gamma)(h(s) - max h)  <=  (1-gamma) V*_gamma(s) - g*  <=  (1-gamma)(h(s) - min h),

hence |(1-gamma) V*_gamma(s) - g*| <= (1-gamma) sp(h): the order (1-gamma) of the Laurent
expansion V*_gamma = g*/(1-gamma) + h* + O(1-gamma) [puterman2005, §8.2] with an explicit
constant. If h solves the equation only up to e(s) = (T h - h)(s) in [lo, hi] and g is the
midpoint, the same steps give the bound plus (hi - lo)/2: the solver's ``error_bound``.

Instances. Every claim runs on the zoo's RiverSwim and, where a control needs it, on a small
*adversarial named instance* built in this module (``vi_trap``, ``pi_chain``, ``myopic_trap``,
``singh_yee_tight``, ``pdl_trap``, ``sim_trap``, ``tie_trap``): an MDP on which the bound is
tight or the control's failure is certain by construction (the derivation is in each
builder's docstring), so that every negative control is caught deterministically, whatever
the seed. Then ``n_random`` seeded random instances (``garnet`` / ``random_dense`` from the
zoo, S in [3, 12], A in [2, 4], gamma in [0.5, 0.99]).

Tolerances. Only float64 round-off, with stated constants (u = eps_mach / 2):

* one Bellman backup ``R + gamma P V`` (sums of S products, then 2 more operations) is within
  ``(S + 2) eps_mach (max|R| + max|V|)`` of exact: twice the first-order bound gamma_{S+2} =
  (S + 2) u of [higham2002, §3.1] (the factor 2 covers the O((S u)^2) term and the final
  subtraction);
* an exact evaluation ``(I - gamma P_pi)^{-1} b`` by LU has relative sup-norm error at most
  ``8 S eps_mach kappa``, kappa = (1 + gamma)/(1 - gamma) >= cond_inf(I - gamma P_pi): the
  first-order forward-error bound kappa gamma_{3S} rho_GE of [higham2002, Thm 9.5] with
  growth factor rho_GE <= 2 for diagonally dominant matrices [higham2002, §9.5], i.e.
  3 S eps_mach kappa, with headroom 8/3 for the norm of |L||U|. It is an allowance for
  round-off, not a rigorous enclosure (on 60 random instances the identities' discrepancies
  stay below 1% of their tolerance, the contraction ratios' excess over gamma below 6%);
* the reference V* is the library's policy iteration, certified independently here by
  ``||V - V*|| <= (||T V - V|| + backup round-off) / (1 - gamma)``.

Examples
--------
>>> from rlsandbox.proofs_check import REGISTRY
>>> claim = REGISTRY["classic.vi.eps_half"]
>>> claim.kind, claim.cite
('upper_bound', '[puterman2005, Thm 6.3.1]')
>>> import numpy as np
>>> m = claim.measure(vi_trap(gamma=0.9), np.random.default_rng(0))
>>> bool(m.measured <= m.bound + m.tol)
True
>>> c = claim.negative_control(vi_trap(gamma=0.9), np.random.default_rng(0))
>>> bool(c.measured > c.bound + c.tol)
True
"""
from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg

from rlsandbox.dp import (TIE_RTOL, advantages, bellman_evaluation, bellman_optimality,
                          evaluate, linear_programming, modified_policy_iteration,
                          policy_iteration, q_values, value_iteration)
from rlsandbox.dp.average import solve_average
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps.average import random_communicating, random_weakly_communicating
from rlsandbox.measures import state_occupancy
from rlsandbox.proofs_check import Claim, Instance, Measurement, register, zoo_instances
from rlsandbox.proofs_check.candidates import Candidate, worst_of

__all__ = ["vi_trap", "pi_chain", "myopic_trap", "singh_yee_tight", "pdl_trap", "sim_trap",
           "tie_trap", "blackwell_two_state", "pi_iteration_bound", "VI_EPS_REL", "CLAIMS"]

_EPS = float(np.finfo(np.float64).eps)

#: Accuracy at which the VI claims run value iteration: eps = VI_EPS_REL * max|R| / (1 - gamma),
#: i.e. relative to the largest possible |V|. ``vi_trap`` is built for this eps.
VI_EPS_REL = 1e-3


# =============================================================== round-off allowances
def _backup_err(mdp: TabularMDP, V: np.ndarray) -> float:
    """Round-off of one backup R + gamma P V (module docstring, first bullet)."""
    return (mdp.S + 2) * _EPS * (float(np.abs(mdp.R).max()) + float(np.abs(V).max()))


def _solve_err(S: int, gamma: float, scale: float) -> float:
    """Round-off of an exact evaluation whose result has sup norm ``scale`` (second bullet)."""
    return 8.0 * S * _EPS * (1.0 + gamma) / (1.0 - gamma) * scale


def _value_scale(mdp: TabularMDP) -> float:
    """max|R| / (1 - gamma): a bound on |V^pi| for every pi (1/(1-gamma) if R == 0)."""
    r = float(np.abs(mdp.R).max())
    return (r if r > 0.0 else 1.0) / (1.0 - mdp.gamma)


@dataclass(frozen=True)
class _Reference:
    """V* and an optimal policy from the library's PI, with an independent certificate."""

    V: np.ndarray        # (S,)
    Q: np.ndarray        # (S, A) = R + gamma P V
    policy: np.ndarray   # (S,) int
    err: float           # certified ||V - V*||


def _reference(mdp: TabularMDP) -> _Reference:
    sol = policy_iteration(mdp)
    V = np.array(sol.V)
    Q = np.array(q_values(mdp, V))
    # ||V - V*|| <= ||TV - V|| / (1 - gamma) exactly, since ||V - V*|| <= ||V - TV|| +
    # ||TV - TV*|| <= ||V - TV|| + gamma ||V - V*|| [puterman2005, §6.6]; the computed
    # residual is within one backup's round-off of the exact one.
    residual = float(np.abs(Q.max(axis=1) - V).max())
    err = (residual + _backup_err(mdp, V)) / (1.0 - mdp.gamma)
    return _Reference(V, Q, np.array(sol.policy), err)


# ============================================================ choosing the worst cell
def _worst(cands: Sequence[Candidate], kind: str, **extra: Any) -> Measurement:
    """This module's use of :func:`~rlsandbox.proofs_check.candidates.worst_of`."""
    return worst_of(cands, kind, tightest=False, **extra)

def _random_policy(mdp: TabularMDP, rng: np.random.Generator, stochastic: bool) -> np.ndarray:
    if stochastic:
        return rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    return rng.integers(0, mdp.A, size=mdp.S)


# ====================================================================== instances
def _named(name: str, builder: Callable[..., TabularMDP], **params: Any) -> Instance:
    label = name + "(" + ",".join(f"{k}={v}" for k, v in params.items()) + ")"
    return Instance(label, {"builder": f"{__name__}.{builder.__name__}", **params},
                    functools.partial(builder, **params))


def _random_instances(n: int, rng: np.random.Generator) -> list[Instance]:
    """``n`` random zoo instances: garnet and random_dense alternately, sizes drawn from rng."""
    out: list[Instance] = []
    for i in range(n):
        S = int(rng.integers(3, 13))
        A = int(rng.integers(2, 5))
        gamma = round(float(rng.uniform(0.5, 0.99)), 4)
        seed = int(rng.integers(0, 2**32))
        if i % 2 == 0:
            b = int(rng.integers(1, S + 1))
            out += zoo_instances("garnet", S=S, A=A, branching=b, gamma=gamma, rng=seed)
        else:
            out += zoo_instances("random_dense", S=S, A=A, gamma=gamma, rng=seed)
    return out


def _instances(*named: Instance) -> Callable[[int, np.random.Generator], list[Instance]]:
    """Claim.instances: the named instances (RiverSwim first), then n_random random ones."""
    def instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
        return [*zoo_instances("riverswim", gamma=0.9), *named, *_random_instances(n_random, rng)]
    return instances


# ======================================================= adversarial named instances
def vi_trap(gamma: float = 0.9, L: int = 10) -> TabularMDP:
    """A delayed reward that value iteration sees late: the VI claims' adversarial instance.

    States: 0 (choice), 1 (``near``: absorbing, reward r1 per step), a chain 2 .. L+1 of
    zero-reward states leading to L+2 (``far``: absorbing, reward 1 per step). At 0, action 0
    enters the chain (V*(2) = gamma^L / (1-gamma)), action 1 goes to ``near``
    (V*(1) = r1 / (1-gamma)); both with reward 0. All other states ignore the action.

    From V_0 = 0, V_k(far) = (1 - gamma^k)/(1-gamma) and V_k(2) = (gamma^L - gamma^k)/(1-gamma)
    (k >= L): every sweep changes V by exactly gamma^(k-1), and V* - V_k = gamma^k / (1-gamma)
    = gamma/(1-gamma) ||V_k - V_{k-1}|| on the chain, so Puterman's stopping rule is tight here.

    r1 = gamma^L - Delta with Delta = gamma^k_c (1 - gamma^L) / 2, where k_c is the sweep at
    which VI stops under the *broken* rule ||V_k - V_{k-1}|| < eps (eps = VI_EPS_REL max|R| /
    (1-gamma) = VI_EPS_REL / (1-gamma), the VI claims' accuracy). Action 0 is optimal at 0 (by
    gamma Delta / (1-gamma)), but at sweep k_c, r1 (1 - gamma^k) > gamma^L - gamma^k, so the
    greedy policy takes action 1 and loses

        gamma Delta / (1-gamma) = gamma^(k_c+1) (1 - gamma^L) / (2 (1-gamma))
                                >= gamma^3 (1 - gamma^L) eps / (2 (1-gamma))     (*)

    using gamma^(k_c - 2) >= eps (sweep k_c - 1 did not stop). (*) exceeds eps iff
    gamma^3 (1 - gamma^L) > 2 (1-gamma): 0.475 > 0.2 for gamma = 0.9 and 0.093 > 0.02 for
    gamma = 0.99 (L = 10). At k_c the value error is gamma^k_c / (1-gamma) >= gamma^2 eps /
    (1-gamma) > eps / 2. So both VI controls fail here by construction, while the correct rule
    (whose threshold is (1-gamma)/(2 gamma) times smaller) keeps both guarantees, as the theorem
    says. (VI's slowness on delayed rewards: [szepesvari2022, Lec 4, "Is Value Iteration
    Inferior?"].)

    Examples
    --------
    >>> mdp = vi_trap(gamma=0.9)
    >>> mdp.S, mdp.A
    (13, 2)
    """
    S = L + 3
    near, first, far = 1, 2, L + 2
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    P[0, 0, first] = 1.0
    P[0, 1, near] = 1.0
    P[near, :, near] = 1.0
    for s in range(first, far):
        P[s, :, s + 1] = 1.0
    P[far, :, far] = 1.0
    R[far, :] = 1.0
    R[near, :] = 0.5 * gamma ** L           # provisional: the stopping sweep ignores r1
    provisional = TabularMDP(P, R, gamma)
    eps = VI_EPS_REL * _value_scale(provisional)
    # The broken rule stops at ||V_k - V_{k-1}|| < eps: ask the library's VI for the sweep
    # (the sweep changes are gamma^(k-1) on far/chain and r1 gamma^(k-1) < that on near).
    k_c = value_iteration(provisional, eps=eps * 2.0 * gamma / (1.0 - gamma)).iterations
    delta = gamma ** k_c * (1.0 - gamma ** L) / 2.0
    R[near, :] = gamma ** L - delta
    return TabularMDP(P, R, gamma)


def pi_chain(n: int = 8, gamma: float = 0.5) -> TabularMDP:
    """A chain on which Howard PI from "exit everywhere" needs n + 1 evaluations.

    States 0 .. n-1 (chain), n (goal G: absorbing, reward B per step), n+1 (sink Z: absorbing,
    reward 0). At chain state i, action 0 exits to Z with reward 1, action 1 moves on (to i+1,
    or to G from n-1) with reward 0; B = 2 (1 - gamma) / gamma^n. From pi_0 = 0 (exit
    everywhere, V = 1 on the chain), iteration j switches exactly state n - j: there
    Q(next) = gamma^j B / (1-gamma) = 2 gamma^(j-n) > 1, while every earlier state still sees
    Q(next) = gamma < 1 = Q(exit). So PI runs n improvement steps plus the final evaluation:
    ``policy_iteration(...).iterations == n + 1``, far above ceil(H) + 2 for gamma = 1/2.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> rls.dp.policy_iteration(pi_chain(8, 0.5), pi0=[0] * 10).iterations   # exit everywhere
    9
    """
    S = n + 2
    G, Z = n, n + 1
    P = np.zeros((S, 2, S))
    R = np.zeros((S, 2))
    for i in range(n):
        P[i, 0, Z] = 1.0
        R[i, 0] = 1.0
        P[i, 1, i + 1 if i < n - 1 else G] = 1.0
    P[G, :, G] = 1.0
    R[G, :] = 2.0 * (1.0 - gamma) / gamma ** n
    P[Z, :, Z] = 1.0
    return TabularMDP(P, R, gamma)


def myopic_trap(gamma: float = 0.9) -> TabularMDP:
    """Immediate reward versus a better future: a myopic improvement step loses value.

    State 0: action 0 goes to state 1 (absorbing, reward 1 per step) with reward 0; action 1
    goes to state 2 (absorbing, reward 0) with reward 1. V*(0) = gamma/(1-gamma) (action 0)
    > 1 = value of action 1 when gamma > 1/2. PI from pi_0 = 0 is optimal at once; an
    "improvement" greedy in R alone switches state 0 to action 1 and V(0) drops from
    gamma/(1-gamma) to 1.

    Examples
    --------
    >>> myopic_trap(0.9).S
    3
    """
    P = np.zeros((3, 2, 3))
    R = np.zeros((3, 2))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    R[0, 1] = 1.0
    P[1, :, 1] = P[2, :, 2] = 1.0
    R[1, :] = 1.0
    return TabularMDP(P, R, gamma)


def singh_yee_tight(gamma: float = 0.9, gap: float | None = None) -> TabularMDP:
    """Two states on which the greedy-policy loss bound 2 gamma eps / (1-gamma) is attained.

    State 0: action 0 stays with reward gamma - g; action 1 moves to state 1 (absorbing, reward
    1 per step) with reward 0. V*(0) = gamma/(1-gamma) by action 1, and Q*(0, 0) = V*(0) - g.
    With V = V* + eps (e_0 - e_1) (eps = ||V - V*||), Q_V(0, 0) - Q_V(0, 1) = 2 gamma eps - g:
    once eps > g/(2 gamma) the greedy policy stays at 0 forever and loses g/(1-gamma), i.e.
    2 gamma eps/(1-gamma) in the limit eps -> g/(2 gamma) (the bound is sharp
    [szepesvari2022, Lec 3]). ``gap`` defaults to gamma/2.

    Examples
    --------
    >>> singh_yee_tight(0.9).R.tolist()
    [[0.45, 0.0], [1.0, 1.0]]
    """
    g = gamma / 2.0 if gap is None else gap
    P = np.zeros((2, 2, 2))
    R = np.zeros((2, 2))
    P[0, 0, 0] = P[0, 1, 1] = 1.0
    P[1, :, 1] = 1.0
    R[0, 0] = gamma - g
    R[1, :] = 1.0
    return TabularMDP(P, R, gamma)


def pdl_trap(gamma: float = 0.9) -> TabularMDP:
    """Start state 0: the occupancy of pi never sees where pi' gains (performance difference).

    State 0 (start, rho = e_0): action 0 to state 1, action 1 to state 2, reward 0. State 1:
    absorbing, reward 0. State 2: absorbing, reward a (action a in {0, 1}). For pi = (0, 0, 0)
    and pi' = (1, 1, 1): V^{pi'}(0) - V^pi(0) = gamma/(1-gamma), and indeed
    d^{pi'}(2) = gamma with A^pi(2, 1) = 1; but d^pi(2) = 0 and A^pi vanishes on states 0 and 1,
    so the identity with d^pi in place of d^{pi'} gives 0.

    Examples
    --------
    >>> pdl_trap().rho.tolist()
    [1.0, 0.0, 0.0]
    """
    P = np.zeros((3, 2, 3))
    R = np.zeros((3, 2))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = P[2, :, 2] = 1.0
    R[2, 1] = 1.0
    return TabularMDP(P, R, gamma, rho=np.array([1.0, 0.0, 0.0]))


def sim_trap(gamma: float = 0.9) -> TabularMDP:
    """A good (reward 1) and a bad (reward 0) absorbing state: model errors compound.

    One action. Moving mass lam from the good state to the bad one in the model Q gives
    ||P(0) - Q(0)||_1 = 2 lam and V_P(0) - V_Q(0) = gamma lam / ((1-gamma)(1 - gamma + gamma
    lam)): half the simulation-lemma bound 2 gamma lam ||V_P|| / (1-gamma) = 2 gamma lam /
    (1-gamma)^2 as lam -> 0, and 1/(2 (1 - gamma + gamma lam)) times the bound with one
    1/(1-gamma) dropped: above it for gamma = 0.9 and lam <= 0.1.

    Examples
    --------
    >>> sim_trap().S
    2
    """
    P = np.zeros((2, 1, 2))
    P[0, 0, 0] = P[1, 0, 1] = 1.0
    return TabularMDP(P, np.array([[1.0], [0.0]]), gamma)


def tie_trap(gamma: float = 0.5) -> TabularMDP:
    """Two exactly tied optimal actions that value iteration separates for a while.

    State 0: action 0 to y = 1 (absorbing, reward 1 per step), action 1 to z = 2, which moves
    to w = 3 (absorbing, reward 1/gamma per step); rewards 0 otherwise. V*(y) = 1/(1-gamma) =
    gamma V*(w) = V*(z): both actions are optimal at 0 (exactly, for gamma = 1/2 where 1/gamma
    is exact). From V_0 = 0, Q_k(0, 0) - Q_k(0, 1) = gamma^k > 0, so a mask keeping only
    near-exact maximisers drops the optimal action 1.

    Examples
    --------
    >>> tie_trap().R.tolist()
    [[0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [2.0, 2.0]]
    """
    P = np.zeros((4, 2, 4))
    R = np.zeros((4, 2))
    P[0, 0, 1] = P[0, 1, 2] = 1.0
    P[1, :, 1] = 1.0
    R[1, :] = 1.0
    P[2, :, 3] = 1.0
    P[3, :, 3] = 1.0
    R[3, :] = 1.0 / gamma
    return TabularMDP(P, R, gamma)


def blackwell_two_state(gamma: float = 0.9, p: float = 0.2) -> TabularMDP:
    """A symmetric two-state chain in closed form, for the Blackwell claim.

    Action 0 switches state with probability p (reward 1 in state 0, 0 in state 1); action 1
    has the same transitions and rewards lowered by 1/4 (dominated). Then g* = 1/2, the bias
    has sp(h) = 1/(2p), and (1-gamma) V*_gamma(0) - g* = (1-gamma) / (2 (1 - gamma + 2 gamma
    p)) (from V(0) + V(1) = 1/(1-gamma) and V(0) - V(1) = 1/(1 - gamma (1 - 2p))): the
    fraction p / (1 - gamma + 2 gamma p) of the bound (1-gamma)/(2p) (0.43 at gamma = 0.9,
    -> 1/2 as gamma -> 1), and above (1-gamma)^2/(2p) whenever
    p (1 - 2 gamma (1-gamma)) > (1-gamma)^2, e.g. p = 0.2 and gamma >= 0.9.

    Examples
    --------
    >>> blackwell_two_state(0.9).P[0, 0].tolist()
    [0.8, 0.2]
    """
    P = np.zeros((2, 2, 2))
    P[0, :, :] = [1.0 - p, p]
    P[1, :, :] = [p, 1.0 - p]
    R = np.array([[1.0, 0.75], [0.0, -0.25]])
    return TabularMDP(P, R, gamma)


# ============================================== (a) Bellman operators: contraction
def _pairs(mdp: TabularMDP, rng: np.random.Generator, *, ordered: bool) -> list[tuple]:
    """Pairs (label, U, V) of value functions; ``ordered``: V - U >= 0 entrywise.

    Always includes a constant shift V = U + c 1 (c > 0), on which both operators move by
    exactly gamma c: contraction with modulus gamma is attained, and a sign-flipped
    discount reverses the order.
    """
    S, scale = mdp.S, _value_scale(mdp)
    out = []
    U = scale * rng.standard_normal(S)
    out.append(("shift", U, U + scale * rng.uniform(0.1, 1.0)))
    for k in range(4):
        U = scale * rng.standard_normal(S)
        D = scale * rng.standard_normal(S)
        out.append((f"normal{k}", U, U + (np.abs(D) if ordered else D)))
    for k in range(2):
        U = scale * rng.standard_normal(S)
        D = np.zeros(S)
        D[rng.integers(S)] = scale * rng.uniform(0.1, 1.0) * (1 if ordered else rng.choice([-1, 1]))
        out.append((f"coordinate{k}", U, U + D))
    return out


def _contraction(mdp: TabularMDP, rng: np.random.Generator, *, evaluation: bool,
                 modulus: Callable[[float], float]) -> Measurement:
    g = mdp.gamma
    cands = []
    for k, (label, U, V) in enumerate(_pairs(mdp, rng, ordered=False)):
        if evaluation:
            pi = _random_policy(mdp, rng, stochastic=k % 2 == 0)
            TU, TV = bellman_evaluation(mdp, pi, U), bellman_evaluation(mdp, pi, V)
        else:
            TU, TV = bellman_optimality(mdp, U)[0], bellman_optimality(mdp, V)[0]
        dist = float(np.abs(U - V).max())
        ratio = float(np.abs(TU - TV).max()) / dist
        # each backup is within _backup_err of exact; the ratio's error is their sum / dist
        tol = (_backup_err(mdp, U) + _backup_err(mdp, V)) / dist
        cands.append(Candidate(ratio, modulus(g), tol, label, {"gamma": g}))
    return _worst(cands, "upper_bound")


def _contraction_T(mdp, rng):
    """||TU - TV|| / ||U - V|| (worst of 7 pairs) against gamma."""
    return _contraction(mdp, rng, evaluation=False, modulus=lambda g: g)


def _contraction_T_control(mdp, rng):
    """Same ratio against gamma**2: the constant shift attains gamma > gamma**2."""
    return _contraction(mdp, rng, evaluation=False, modulus=lambda g: g * g)


def _contraction_Tpi(mdp, rng):
    """||T^pi U - T^pi V|| / ||U - V|| for random policies against gamma."""
    return _contraction(mdp, rng, evaluation=True, modulus=lambda g: g)


def _contraction_Tpi_control(mdp, rng):
    """Same ratio against gamma**2."""
    return _contraction(mdp, rng, evaluation=True, modulus=lambda g: g * g)


# ================================================ (a) Bellman operators: monotone
def _monotone_ops(mdp: TabularMDP, rng: np.random.Generator, *, sign: float) -> Measurement:
    """max_s (TU - TV)(s) over ordered pairs U <= V, for T and a random T^pi.

    ``sign = -1`` applies the operators with the discount's sign flipped,
    V -> max_a R + (-gamma) P V = max_a (2 R - q_values(V)): still a gamma-contraction, but
    not monotone (the control).
    """
    R = mdp.R
    pi = np.asarray(mdp.policy(_random_policy(mdp, rng, stochastic=True)))

    def ops(V):
        Q = np.asarray(q_values(mdp, V)) if sign > 0 else 2.0 * R - np.asarray(q_values(mdp, V))
        return {"T": Q.max(axis=1), "T^pi": np.einsum("sa,sa->s", pi, Q)}

    cands = []
    for label, U, V in _pairs(mdp, rng, ordered=True):
        oU, oV = ops(U), ops(V)
        tol = _backup_err(mdp, U) + _backup_err(mdp, V)
        for name in oU:
            cands.append(Candidate(float((oU[name] - oV[name]).max()), 0.0, tol,
                               f"{name}:{label}", {}))
    return _worst(cands, "upper_bound")


def _monotone_ops_claim(mdp, rng):
    """max_s (TU - TV)(s) <= 0 over pairs U <= V (T and T^pi)."""
    return _monotone_ops(mdp, rng, sign=1.0)


def _monotone_ops_control(mdp, rng):
    """The same with the discount's sign flipped: on U, U + c 1 it gives +gamma c > 0."""
    return _monotone_ops(mdp, rng, sign=-1.0)


# =========================================================== (b) value iteration
def _vi_eps(mdp: TabularMDP) -> float:
    return VI_EPS_REL * _value_scale(mdp)


def _vi_run(mdp: TabularMDP, *, broken: bool):
    """VI at the claims' eps; ``broken`` stops at ||V_k - V_{k-1}|| < eps instead of
    eps (1-gamma)/(2 gamma) (the library's rule) by rescaling the eps it is given."""
    eps = _vi_eps(mdp)
    g = mdp.gamma
    sol = value_iteration(mdp, eps=eps * 2.0 * g / (1.0 - g) if broken else eps)
    return eps, sol


def _vi_value(mdp: TabularMDP, rng: np.random.Generator, *, broken: bool = False) -> Measurement:
    eps, sol = _vi_run(mdp, broken=broken)
    ref = _reference(mdp)
    V = np.asarray(sol.V)
    # tol: the reference's certified error, plus VI's own round-off: with per-sweep error
    # delta <= _backup_err, ||V_k - V*|| <= (delta + gamma ||V_k - V_{k-1}||)/(1-gamma), and the
    # stopping test's computed difference is off by <= 2 eps_mach max|V|.
    g = mdp.gamma
    tol = ref.err + (_backup_err(mdp, V) + 2.0 * _EPS * float(np.abs(V).max())) / (1.0 - g)
    return Measurement(float(np.abs(V - ref.V).max()), eps / 2.0, tol=tol,
                       extra={"eps": eps, "sweeps": sol.iterations, "gamma": g})


def _vi_value_claim(mdp, rng):
    """||V_k - V*|| against eps/2, VI with Puterman's stopping rule."""
    return _vi_value(mdp, rng)


def _vi_value_control(mdp, rng):
    """The same with VI stopped at ||V_k - V_{k-1}|| < eps."""
    return _vi_value(mdp, rng, broken=True)


def _vi_policy(mdp: TabularMDP, rng: np.random.Generator, *, broken: bool = False) -> Measurement:
    eps, sol = _vi_run(mdp, broken=broken)
    ref = _reference(mdp)
    V_pi = np.asarray(evaluate(mdp, sol.policy))
    # tol: reference error plus the round-off of the exact evaluation of the greedy policy
    tol = ref.err + _solve_err(mdp.S, mdp.gamma, float(np.abs(V_pi).max()))
    return Measurement(float((ref.V - V_pi).max()), eps, tol=tol,
                       extra={"eps": eps, "sweeps": sol.iterations, "gamma": mdp.gamma})


def _vi_policy_claim(mdp, rng):
    """max_s V*(s) - V^{greedy(V_k)}(s) against eps."""
    return _vi_policy(mdp, rng)


def _vi_policy_control(mdp, rng):
    """The same with VI stopped at ||V_k - V_{k-1}|| < eps."""
    return _vi_policy(mdp, rng, broken=True)


# ================================================================ (c) Singh & Yee
def _singh_yee(mdp: TabularMDP, rng: np.random.Generator, *, factor: float) -> Measurement:
    """Loss of the greedy policy of V = V* + perturbation against factor gamma eps/(1-gamma).

    Perturbations: 6 random ones (sizes around the smallest action gap) and, for the 6
    smallest certified-positive gaps Q*(s, a*) - Q*(s, b), the adversarial one: +eps where
    P(s, b, .) > P(s, a*, .), -eps elsewhere, with eps just above gap / (gamma ||P(s,b) -
    P(s,a*)||_1), which makes b greedy at s (the worst case of the proof).
    """
    g, S = mdp.gamma, mdp.S
    ref = _reference(mdp)
    P = mdp.dense_P()
    best = ref.Q.max(axis=1, keepdims=True)
    gaps = best - ref.Q                                   # >= 0, Q*(s, a*) - Q*(s, b)
    certified = gaps > 2.0 * g * ref.err + _backup_err(mdp, ref.V)
    perturbations = []
    order = np.argsort(np.where(certified, gaps, np.inf), axis=None)
    for flat in order[:6]:
        s, b = np.unravel_index(int(flat), gaps.shape)
        if not certified[s, b]:
            break
        diff = P[s, b] - P[s, int(ref.policy[s])]
        l1 = float(np.abs(diff).sum())
        if l1 == 0.0:
            continue
        eps = gaps[s, b] * (1.0 + 1e-6) / (g * l1)
        perturbations.append((f"adversarial(s={s},a={b})", eps * np.where(diff > 0, 1.0, -1.0)))
    positive = gaps[certified]
    base = float(positive.min()) / g if positive.size else _value_scale(mdp) * 1e-2
    for k in range(6):
        size = base * float(np.exp(rng.uniform(np.log(0.25), np.log(4.0))))
        perturbations.append((f"random{k}", size * rng.uniform(-1.0, 1.0, S)))
    cands = []
    for label, D in perturbations:
        V = ref.V + D
        pi = bellman_optimality(mdp, V)[1]
        V_pi = np.asarray(evaluate(mdp, pi))
        loss = float((ref.V - V_pi).max())
        dist = float(np.abs(D).max())
        # tol: the reference error enters the loss (once) and ||V - V*|| (times 2 gamma/(1-gamma));
        # plus the round-off of evaluating the greedy policy
        tol = ref.err * (1.0 + 2.0 * g / (1.0 - g)) + _solve_err(S, g, float(np.abs(V_pi).max()))
        cands.append(Candidate(loss, factor * g * dist / (1.0 - g), tol, label,
                           {"dist": dist, "gamma": g}))
    return _worst(cands, "upper_bound")


def _singh_yee_claim(mdp, rng):
    """Greedy loss against 2 gamma ||V - V*|| / (1-gamma)."""
    return _singh_yee(mdp, rng, factor=2.0)


def _singh_yee_control(mdp, rng):
    """The same bound without its factor 2."""
    return _singh_yee(mdp, rng, factor=1.0)


# ============================================================ (d) policy iteration
def _pi_starts(mdp: TabularMDP, rng: np.random.Generator) -> list[np.ndarray]:
    """PI start policies: all zeros, then two random deterministic ones."""
    return [np.zeros(mdp.S, dtype=np.int64)] + [rng.integers(0, mdp.A, size=mdp.S)
                                                 for _ in range(2)]


def _pi_values(mdp: TabularMDP, pi0: np.ndarray) -> list[np.ndarray]:
    """V^{pi_0}, ..., V^{pi_n} of the library's Howard PI from pi0, with pi_n = pi_{n-1} the
    policy of the terminating improvement step. ``policy_iteration(max_iter=k)`` returns
    V^{pi_{k-1}} (the last policy it evaluated), so the sequence is the library's own."""
    n = policy_iteration(mdp, pi0=pi0).iterations
    values = [np.array(policy_iteration(mdp, pi0=pi0, max_iter=k).V) for k in range(1, n + 1)]
    return values + [values[-1]]


def _myopic_values(mdp: TabularMDP, pi0: np.ndarray) -> list[np.ndarray]:
    """The PI loop with the improvement step greedy in R alone (the gamma P V^pi term
    dropped): pi_{k+1}(s) = argmax_a R[s, a] (lowest index), until the policy repeats."""
    pi = np.array(pi0)
    values = [np.array(evaluate(mdp, pi))]
    for _ in range(mdp.S * mdp.A + 1):
        new = np.argmax(mdp.R, axis=1).astype(np.int64)
        values.append(np.array(evaluate(mdp, new)))
        if np.array_equal(new, pi):
            break
        pi = new
    return values


def _pi_monotone(mdp: TabularMDP, rng: np.random.Generator, *,
                 run: Callable[[TabularMDP, np.ndarray], list[np.ndarray]]) -> Measurement:
    """The worst state's value sequence over the runs from _pi_starts.

    Componentwise monotonicity holds iff every state's sequence is nondecreasing; the
    sequence reported is the one (run, state) with the most negative step, so the check
    fails iff some state of some run decreases (beyond tol).
    """
    worst = None
    for r, pi0 in enumerate(_pi_starts(mdp, rng)):
        X = np.array(run(mdp, pi0))                     # (n+1, S)
        steps = np.diff(X, axis=0)
        s = int(np.unravel_index(int(np.argmin(steps)), steps.shape)[1])
        low = float(steps.min())
        if worst is None or low < worst[0]:
            worst = (low, r, s, X)
    low, r, s, X = worst
    # tol: two exact evaluations compared, each within _solve_err of exact
    tol = 2.0 * _solve_err(mdp.S, mdp.gamma, float(np.abs(X).max()))
    return Measurement(X[:, s], None, tol=tol,
                       extra={"run": r, "state": s, "steps": X.shape[0] - 1})


def _pi_monotone_claim(mdp, rng):
    """V^{pi_k}(s) along the library's PI, worst state and start."""
    return _pi_monotone(mdp, rng, run=_pi_values)


def _pi_monotone_control(mdp, rng):
    """The same with a myopic improvement step (greedy in R, gamma P V^pi dropped)."""
    return _pi_monotone(mdp, rng, run=_myopic_values)


def pi_iteration_bound(S: int, A: int, gamma: float) -> int:
    """(SA - S)(ceil(H) + 1) + 1, H = ln(1/(1-gamma))/(1-gamma): evaluations Howard PI needs.

    [szepesvari2022, Lec 4, Theorem "Runtime Bound for Policy Iteration"]: for k >=
    k* (SA - S), k* = ceil(H_{gamma,1}) + 1, the policy pi_k is optimal (each k* iterations
    eliminate a suboptimal action for good: the strict progress lemma). The library's
    ``iterations`` counts evaluations, one more than the index of the first optimal policy
    (which its tie-keeping improvement step then leaves unchanged): hence the + 1.

    Examples
    --------
    >>> pi_iteration_bound(10, 2, 0.5)
    31
    """
    H = math.log(1.0 / (1.0 - gamma)) / (1.0 - gamma)
    return (S * A - S) * (math.ceil(H) + 1) + 1


def _pi_iterations(mdp: TabularMDP, rng: np.random.Generator, *, drop_sa: bool) -> Measurement:
    runs = [policy_iteration(mdp, pi0=pi0).iterations for pi0 in _pi_starts(mdp, rng)]
    bound = pi_iteration_bound(mdp.S, mdp.A, mdp.gamma)
    if drop_sa:     # the control: (SA - S) dropped, i.e. one elimination period plus one
        H = math.log(1.0 / (1.0 - mdp.gamma)) / (1.0 - mdp.gamma)
        bound = math.ceil(H) + 1 + 1
    # integer counts: no tolerance
    return Measurement(float(max(runs)), float(bound), tol=0.0,
                       extra={"iterations": runs, "gamma": mdp.gamma})


def _pi_iterations_claim(mdp, rng):
    """Max PI evaluations over 3 starts against (SA - S)(ceil(H) + 1) + 1."""
    return _pi_iterations(mdp, rng, drop_sa=False)


def _pi_iterations_control(mdp, rng):
    """The same against ceil(H) + 2 (the factor SA - S dropped)."""
    return _pi_iterations(mdp, rng, drop_sa=True)


# ==================================================== (e) performance difference
def _pdl(mdp: TabularMDP, rng: np.random.Generator, *, wrong_occupancy: bool) -> Measurement:
    """Both sides of the identity for 5 policy pairs (pi, pi'); the pair with the largest
    discrepancy (relative to its tol) is reported."""
    g, S, A = mdp.gamma, mdp.S, mdp.A
    ref = _reference(mdp)
    pairs = [("first-vs-last", np.zeros(S, dtype=np.int64), np.full(S, A - 1, dtype=np.int64)),
             ("uniform-vs-optimal", np.full((S, A), 1.0 / A), ref.policy)]
    pairs += [(f"random{k}", _random_policy(mdp, rng, True), _random_policy(mdp, rng, True))
              for k in range(3)]
    cands = []
    for label, pi, pi_p in pairs:
        V, V_p = np.asarray(evaluate(mdp, pi)), np.asarray(evaluate(mdp, pi_p))
        Adv = np.asarray(advantages(mdp, pi))
        d = np.asarray(state_occupancy(mdp, pi if wrong_occupancy else pi_p))
        pi_p_sa = np.asarray(mdp.policy(pi_p))
        if pi_p_sa.ndim == 1:
            pi_p_sa = np.eye(A)[pi_p_sa]
        lhs = float(mdp.rho @ (V_p - V))
        rhs = float(d @ np.einsum("sa,sa->s", pi_p_sa, Adv)) / (1.0 - g)
        vmax = max(float(np.abs(V).max()), float(np.abs(V_p).max()))
        # tol: lhs from two evaluations; rhs = <d, a>/(1-gamma) with A^pi = Q^pi - V^pi
        # (error <= (1+gamma) eval error + backup error) and d from one solve (l1 error
        # <= _solve_err at scale 1: d sums to 1)
        e_V = _solve_err(S, g, vmax)
        e_A = (1.0 + g) * e_V + _backup_err(mdp, V)
        e_d = _solve_err(S, g, 1.0)
        tol = 2.0 * e_V + (e_A + e_d * float(np.abs(Adv).max())) / (1.0 - g)
        cands.append(Candidate(lhs, rhs, tol, label, {"gamma": g}))
    return _worst(cands, "equality")


def _pdl_claim(mdp, rng):
    """rho (V^{pi'} - V^pi) against <d^{pi'}_rho, A^pi(., pi')> / (1-gamma)."""
    return _pdl(mdp, rng, wrong_occupancy=False)


def _pdl_control(mdp, rng):
    """The same with d^pi in place of d^{pi'}."""
    return _pdl(mdp, rng, wrong_occupancy=True)


# ============================================================ (f) simulation lemma
def _models(mdp: TabularMDP, rng: np.random.Generator, V_P: np.ndarray) -> list[tuple]:
    """Perturbed models Q = (1 - lam) P + lam K: K sends all mass to the state of lowest
    V^pi (the adversarial direction: (P - Q) V^pi >= 0 everywhere), or K is a random
    Dirichlet kernel; lam in {0.01, 0.1}."""
    P = mdp.dense_P()
    out = []
    for lam in (0.01, 0.1):
        target = np.zeros((mdp.S, mdp.A, mdp.S))
        target[:, :, int(np.argmin(V_P))] = 1.0
        out.append((f"to-min(lam={lam})", (1.0 - lam) * P + lam * target))
        K = rng.dirichlet(np.ones(mdp.S), size=(mdp.S, mdp.A))
        out.append((f"dirichlet(lam={lam})", (1.0 - lam) * P + lam * K))
    return out


def _simulation(mdp: TabularMDP, rng: np.random.Generator, *, mode: str) -> Measurement:
    """mode "bound" / "bound-control" (one 1/(1-gamma) dropped) / "identity" /
    "identity-control" (V^pi_Q in place of V^pi_P on the right-hand side)."""
    g, S = mdp.gamma, mdp.S
    ref = _reference(mdp)
    policies = [("uniform", np.full((S, mdp.A), 1.0 / mdp.A)), ("optimal", ref.policy),
                ("random", _random_policy(mdp, rng, True))]
    cands = []
    for pname, pi in policies:
        V_P = np.asarray(evaluate(mdp, pi))
        for mname, Qk in _models(mdp, rng, V_P):
            # the lemma compares models with the same expected reward R[s, a]: build Q's
            # model from mdp.R (mdp.replace would re-average an (S, A, S) reward under Q)
            model = TabularMDP(Qk, mdp.R, mdp.gamma, rho=mdp.rho)
            V_Q = np.asarray(evaluate(model, pi))
            label = f"{pname}/{mname}"
            vmax = max(float(np.abs(V_P).max()), float(np.abs(V_Q).max()))
            e_V = _solve_err(S, g, vmax)
            if mode.startswith("bound"):
                eps_PQ = float(np.abs(mdp.dense_P() - Qk).sum(axis=-1).max())
                bound = g * eps_PQ * float(np.abs(V_P).max()) / (1.0 - g)
                if mode == "bound-control":
                    bound *= 1.0 - g
                # tol: two exact evaluations
                cands.append(Candidate(float(np.abs(V_P - V_Q).max()), bound, 2.0 * e_V, label,
                                   {"eps_PQ": eps_PQ, "gamma": g}))
                continue
            P_pi, Q_pi = mdp.P_pi(mdp.policy(pi)), model.P_pi(model.policy(pi))
            V_right = V_Q if mode == "identity-control" else V_P
            b = g * ((P_pi - Q_pi) @ V_right)
            rhs = scipy.linalg.solve(np.eye(S) - g * Q_pi, b)
            lhs = V_P - V_Q
            s = int(np.argmax(np.abs(lhs - rhs)))
            # tol: lhs from two evaluations; rhs from one solve (scale max|rhs|) of a right-hand
            # side whose error (from V_P and the product) is amplified by at most 1/(1-gamma)
            eps_PQ = float(np.abs(P_pi - Q_pi).sum(axis=1).max())
            e_b = g * (eps_PQ * e_V + (S + 2) * _EPS * 2.0 * vmax)
            tol = 2.0 * e_V + _solve_err(S, g, float(np.abs(rhs).max())) + e_b / (1.0 - g)
            cands.append(Candidate(float(lhs[s]), float(rhs[s]), tol, label,
                               {"state": s, "gamma": g}))
    return _worst(cands, "upper_bound" if mode.startswith("bound") else "equality")


def _simulation_bound_claim(mdp, rng):
    """||V^pi_P - V^pi_Q|| against gamma eps_PQ ||V^pi_P|| / (1-gamma)."""
    return _simulation(mdp, rng, mode="bound")


def _simulation_bound_control(mdp, rng):
    """The same bound with one factor 1/(1-gamma) dropped."""
    return _simulation(mdp, rng, mode="bound-control")


def _simulation_identity_claim(mdp, rng):
    """V^pi_P - V^pi_Q against gamma (I - gamma Q_pi)^{-1} (P_pi - Q_pi) V^pi_P (worst state)."""
    return _simulation(mdp, rng, mode="identity")


def _simulation_identity_control(mdp, rng):
    """The same with V^pi_Q in place of V^pi_P on the right."""
    return _simulation(mdp, rng, mode="identity-control")


# =========================================================== (g) Blackwell: gain limit
def _blackwell(mdp: TabularMDP, rng: np.random.Generator, *, power: int) -> Measurement:
    """max_s |(1-gamma) V*_gamma(s) - g| against (1-gamma)**power sp(h), (g, h) from
    solve_average (exact policy iteration); power 1 is the claim, 2 the control."""
    g = mdp.gamma
    avg = solve_average(mdp)
    ref = _reference(mdp)
    measured = float(np.abs((1.0 - g) * ref.V - avg.gain).max())
    # tol: (g, h) solve the optimality equation up to avg.error_bound (module docstring, last
    # paragraph); V*_gamma is known to ref.err; the subtraction rounds once more
    tol = (avg.error_bound + (1.0 - g) * ref.err
           + 2.0 * _EPS * (abs(avg.gain) + (1.0 - g) * float(np.abs(ref.V).max())))
    return Measurement(measured, (1.0 - g) ** power * avg.span, tol=tol,
                       extra={"gain": avg.gain, "span": avg.span, "gamma": g})


def _blackwell_claim(mdp, rng):
    """|(1-gamma) V* - g*| against (1-gamma) sp(h)."""
    return _blackwell(mdp, rng, power=1)


def _blackwell_control(mdp, rng):
    """The same against (1-gamma)**2 sp(h)."""
    return _blackwell(mdp, rng, power=2)


def _average_instances(n_random: int, rng: np.random.Generator) -> list[Instance]:
    """RiverSwim (communicating), blackwell_two_state, then random communicating and weakly
    communicating models with gamma in [0.9, 0.999]."""
    out = [*zoo_instances("riverswim", gamma=0.99),
           _named("blackwell_two_state", blackwell_two_state, gamma=0.9),
           _named("blackwell_two_state", blackwell_two_state, gamma=0.99)]
    for i in range(n_random):
        S = int(rng.integers(3, 13))
        A = int(rng.integers(2, 5))
        gamma = round(float(rng.uniform(0.9, 0.999)), 4)
        seed = int(rng.integers(0, 2**32))
        builder = random_communicating if i % 2 == 0 else random_weakly_communicating
        params = {"S": S, "A": A, "gamma": gamma, "rng": seed}
        out.append(Instance(f"{builder.__name__}(S={S},A={A},gamma={gamma},rng={seed})",
                            {"builder": f"{builder.__module__}.{builder.__name__}", **params},
                            functools.partial(builder, **params)))
    return out


# =================================================================== (h) certificates
def _solutions(mdp: TabularMDP) -> list[tuple[str, Any]]:
    """The library's solvers at several accuracies."""
    scale = _value_scale(mdp)
    return [("vi(eps=1e-2)", value_iteration(mdp, eps=1e-2 * scale)),
            ("vi(eps=1e-6)", value_iteration(mdp, eps=1e-6 * scale)),
            ("mpi(m=5,eps=1e-4)", modified_policy_iteration(mdp, m=5, eps=1e-4 * scale)),
            ("pi", policy_iteration(mdp)),
            ("lp", linear_programming(mdp))]


def _error_bound(mdp: TabularMDP, rng: np.random.Generator, *, drop: bool) -> Measurement:
    ref = _reference(mdp)
    cands = []
    for label, sol in _solutions(mdp):
        # the control: the residual ||TV - V|| itself, i.e. residual/(1-gamma) with the
        # 1/(1-gamma) dropped (for VI: the a-posteriori bound without its horizon factor)
        bound = float(sol.residual) if drop else float(sol.error_bound)
        # tol: the reference's certified error
        cands.append(Candidate(float(np.abs(np.asarray(sol.V) - ref.V).max()), bound, ref.err,
                           label, {"converged": bool(sol.converged)}))
    return _worst(cands, "upper_bound")


def _error_bound_claim(mdp, rng):
    """||sol.V - V*|| against sol.error_bound, over 5 solver runs."""
    return _error_bound(mdp, rng, drop=False)


def _error_bound_control(mdp, rng):
    """The same against the residual ||T V - V|| (the 1/(1-gamma) factor dropped)."""
    return _error_bound(mdp, rng, drop=True)


def _optimal_actions(mdp: TabularMDP, rng: np.random.Generator, *, drop: bool) -> Measurement:
    """Number of (s, a) excluded from the mask although not certifiably suboptimal.

    The reference certifies a suboptimal iff its gap max_b Q_ref(s, b) - Q_ref(s, a) exceeds
    2 gamma err_ref (Q_ref is within gamma err_ref of Q*) plus the backup round-off; every
    other action may be optimal and must stay in the mask. (This is slightly stronger than
    "every optimal action is kept": it also flags excluding an action whose suboptimality is
    below the reference's resolution, which the library's TIE_RTOL margin rules out.)
    """
    ref = _reference(mdp)
    gaps = ref.Q.max(axis=1, keepdims=True) - ref.Q
    maybe_optimal = gaps <= 2.0 * mdp.gamma * ref.err + _backup_err(mdp, ref.V)
    cands = []
    for label, sol in _solutions(mdp):
        mask = np.asarray(sol.optimal_actions)
        if drop:    # the control: keep only near-exact maximisers (the 2 gamma e term dropped)
            Q = np.asarray(sol.Q)
            mask = Q >= Q.max(axis=1, keepdims=True) - TIE_RTOL * (1.0 + float(np.abs(Q).max()))
        missed = int((maybe_optimal & ~mask).sum())
        # a count: no tolerance
        cands.append(Candidate(float(missed), 0.0, 0.0, label, {"excluded": int((~mask).sum())}))
    return _worst(cands, "upper_bound")


def _optimal_actions_claim(mdp, rng):
    """Possibly-optimal actions missing from sol.optimal_actions (must be 0)."""
    return _optimal_actions(mdp, rng, drop=False)


def _optimal_actions_control(mdp, rng):
    """The same for a mask without the 2 gamma error_bound margin."""
    return _optimal_actions(mdp, rng, drop=True)


# ====================================================================== the claims
_DISCOUNTED = "finite S, A; 0 <= gamma < 1; bounded rewards"

CLAIMS: list[Claim] = [
    Claim(id="classic.bellman.contraction", paper="classic", cite="[puterman2005, §6.2]",
          statement="||TU - TV||_inf <= gamma ||U - V||_inf for the Bellman optimality operator T",
          assumptions=_DISCOUNTED + "; U, V arbitrary (7 pairs per instance, one a constant "
          "shift)", provenance="paper", kind="upper_bound",
          instances=_instances(), measure=_contraction_T,
          negative_control=_contraction_T_control,
          control_note="modulus gamma**2 instead of gamma (a constant shift attains gamma)"),
    Claim(id="classic.bellman.evaluation_contraction", paper="classic",
          cite="[puterman2005, §6.2]",
          statement="||T^pi U - T^pi V||_inf <= gamma ||U - V||_inf for every policy pi",
          assumptions=_DISCOUNTED + "; random stochastic and deterministic pi",
          provenance="paper", kind="upper_bound", instances=_instances(),
          measure=_contraction_Tpi, negative_control=_contraction_Tpi_control,
          control_note="modulus gamma**2 instead of gamma (a constant shift attains gamma)"),
    Claim(id="classic.bellman.monotone", paper="classic", cite="[puterman2005, §6.2]",
          statement="U <= V implies TU <= TV and T^pi U <= T^pi V (componentwise)",
          assumptions=_DISCOUNTED + "; P >= 0", provenance="paper", kind="upper_bound",
          instances=_instances(), measure=_monotone_ops_claim,
          negative_control=_monotone_ops_control,
          control_note="discount sign flipped (R - gamma P V): still a contraction, not monotone"),
    Claim(id="classic.vi.eps_half", paper="classic", cite="[puterman2005, Thm 6.3.1]",
          statement="VI stopped when ||V_k - V_{k-1}|| < eps(1-gamma)/(2 gamma) has "
          "||V_k - V*|| < eps/2",
          assumptions=_DISCOUNTED + "; 0 < gamma; V_0 = 0; eps = 1e-3 max|R|/(1-gamma)",
          provenance="paper", kind="upper_bound",
          instances=_instances(_named("vi_trap", vi_trap, gamma=0.9),
                               _named("vi_trap", vi_trap, gamma=0.99)),
          measure=_vi_value_claim, negative_control=_vi_value_control,
          control_note="VI stopped at ||V_k - V_{k-1}|| < eps ((1-gamma)/(2 gamma) dropped)"),
    Claim(id="classic.vi.greedy_eps_optimal", paper="classic", cite="[puterman2005, Thm 6.3.1]",
          statement="the greedy policy of VI stopped by the same rule is eps-optimal: "
          "V^pi >= V* - eps",
          assumptions=_DISCOUNTED + "; 0 < gamma; V_0 = 0; eps = 1e-3 max|R|/(1-gamma)",
          provenance="paper", kind="upper_bound",
          instances=_instances(_named("vi_trap", vi_trap, gamma=0.9),
                               _named("vi_trap", vi_trap, gamma=0.99)),
          measure=_vi_policy_claim, negative_control=_vi_policy_control,
          control_note="VI stopped at ||V_k - V_{k-1}|| < eps ((1-gamma)/(2 gamma) dropped)"),
    Claim(id="classic.greedy.singh_yee", paper="classic",
          cite="[szepesvari2022, Lec 3, Policy Error Bound]; [singh1994]",
          statement="a policy greedy w.r.t. V has ||V* - V^pi|| <= 2 gamma ||V - V*|| / (1-gamma)",
          assumptions=_DISCOUNTED + "; V = V* + perturbation (random and adversarial)",
          provenance="paper", kind="upper_bound",
          instances=_instances(_named("singh_yee_tight", singh_yee_tight, gamma=0.9),
                               _named("singh_yee_tight", singh_yee_tight, gamma=0.5)),
          measure=_singh_yee_claim, negative_control=_singh_yee_control,
          control_note="bound without its factor 2 (attained on singh_yee_tight)"),
    Claim(id="classic.pi.monotone", paper="classic",
          cite="[szepesvari2022, Lec 4, Geometric Progress Lemma]; [puterman2005, §6.4]",
          statement="Howard PI values are nondecreasing: V^{pi_{k+1}} >= V^{pi_k} componentwise",
          assumptions=_DISCOUNTED + "; pi_0 = 0 and two random deterministic starts",
          provenance="paper", kind="monotone", options={"direction": "nondecreasing"},
          instances=_instances(_named("myopic_trap", myopic_trap, gamma=0.9)),
          measure=_pi_monotone_claim, negative_control=_pi_monotone_control,
          control_note="improvement step greedy in R alone (gamma P V^pi dropped)"),
    Claim(id="classic.pi.iteration_bound", paper="classic",
          cite="[szepesvari2022, Lec 4, Runtime Bound for Policy Iteration]; cf. "
          "[scherrer2016]",
          statement="Howard PI needs at most (SA - S)(ceil(ln(1/(1-gamma))/(1-gamma)) + 1) + 1 "
          "evaluations",
          assumptions=_DISCOUNTED + "; 0 < gamma; pi_0 = 0 and two random deterministic starts",
          provenance="paper", kind="upper_bound",
          instances=_instances(_named("pi_chain", pi_chain, n=8, gamma=0.5)),
          measure=_pi_iterations_claim, negative_control=_pi_iterations_control,
          control_note="bound without the factor SA - S (pi_chain needs n + 1 evaluations)"),
    Claim(id="classic.pdl.identity", paper="classic",
          cite="[agarwal2022, Lemma 1.16]; [kakade2002]",
          statement="V^{pi'}(rho) - V^pi(rho) = E_{s ~ d^{pi'}_rho, a ~ pi'(s)}[A^pi(s, a)] "
          "/ (1-gamma)",
          assumptions=_DISCOUNTED + "; d normalised discounted state occupancy from rho",
          provenance="paper", kind="equality",
          instances=_instances(_named("pdl_trap", pdl_trap, gamma=0.9)),
          measure=_pdl_claim, negative_control=_pdl_control,
          control_note="occupancy d^pi of the baseline policy instead of d^{pi'}"),
    Claim(id="classic.simulation_lemma.identity", paper="classic",
          cite="[agarwal2022, Lemma 2.2]",
          statement="V^pi_P - V^pi_Q = gamma (I - gamma Q_pi)^{-1} (P_pi - Q_pi) V^pi_P for "
          "models P, Q with equal rewards",
          assumptions=_DISCOUNTED + "; Q = (1-lam) P + lam K, lam in {0.01, 0.1}",
          provenance="paper", kind="equality",
          instances=_instances(_named("sim_trap", sim_trap, gamma=0.9)),
          measure=_simulation_identity_claim, negative_control=_simulation_identity_control,
          control_note="V^pi_Q in place of V^pi_P on the right-hand side"),
    Claim(id="classic.simulation_lemma.bound", paper="classic",
          cite="[agarwal2022, Lemma 2.2] with Hoelder and ||(I - gamma Q_pi)^{-1}|| = 1/(1-gamma)",
          statement="||V^pi_P - V^pi_Q||_inf <= gamma max_sa ||P(s,a) - Q(s,a)||_1 "
          "||V^pi_P||_inf / (1-gamma)",
          assumptions=_DISCOUNTED + "; equal rewards; (rewards in [0, 1] give the familiar "
          "gamma eps / (1-gamma)^2)", provenance="derived", kind="upper_bound",
          instances=_instances(_named("sim_trap", sim_trap, gamma=0.9)),
          measure=_simulation_bound_claim, negative_control=_simulation_bound_control,
          control_note="one factor 1/(1-gamma) dropped (sim_trap compounds errors)"),
    Claim(id="classic.blackwell.gain_limit", paper="classic",
          cite="derived (module docstring); cf. [puterman2005, §8.2] Laurent expansion",
          statement="|(1-gamma) V*_gamma(s) - g*| <= (1-gamma) sp(h) for a solution (g*, h) of "
          "the average-reward optimality equation",
          assumptions="finite S, A; weakly communicating (constant optimal gain g*); "
          "0 < gamma < 1; h from rlsandbox.dp.average.solve_average",
          provenance="derived", kind="upper_bound", instances=_average_instances,
          measure=_blackwell_claim, negative_control=_blackwell_control,
          control_note="rate (1-gamma)**2 instead of (1-gamma) (blackwell_two_state in closed form)"),
    Claim(id="classic.certificates.error_bound", paper="classic",
          cite="[puterman2005, §6.6.1]; rlsandbox.dp.discounted certificates",
          statement="every solver's Solution.V is within Solution.error_bound of V*",
          assumptions=_DISCOUNTED + "; vi (eps 1e-2, 1e-6), mpi, pi, lp",
          provenance="derived", kind="upper_bound",
          instances=_instances(_named("vi_trap", vi_trap, gamma=0.99)),
          measure=_error_bound_claim, negative_control=_error_bound_control,
          control_note="bound = residual ||TV - V|| (its 1/(1-gamma) factor dropped)"),
    Claim(id="classic.certificates.optimal_actions", paper="classic",
          cite="rlsandbox.dp.discounted certificates (2 gamma error_bound margin)",
          statement="Solution.optimal_actions excludes only actions certified suboptimal by an "
          "independent reference",
          assumptions=_DISCOUNTED + "; vi (eps 1e-2, 1e-6), mpi, pi, lp",
          provenance="derived", kind="upper_bound",
          instances=_instances(_named("tie_trap", tie_trap, gamma=0.5)),
          measure=_optimal_actions_claim, negative_control=_optimal_actions_control,
          control_note="mask without its 2 gamma error_bound margin (tie_trap has exact ties)"),
]

for _claim in CLAIMS:
    register(_claim)
