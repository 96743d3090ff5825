"""Exact, inexact and regularised policy mirror descent (PMD) on tabular MDPs.

Every algorithm here is the per-state mirror step of :mod:`~rlsandbox.algorithms.mdpo.policies`
applied to exact action values, [mdpo-card, §3.1-3.5] (reward form, maximisation):

    V_k, Q_k = evaluate(pi_k)                                    exact linear solve
    pi_{k+1}(.|s) = argmax_p  eta_k <Q_k(s, .), p> - D(p, pi_k(.|s))   for every s

==================  ============================================================  ==============
function            update                                                        card
==================  ============================================================  ==============
pmd                 KL: pi_k exp(eta_k Q_k)/Z; Euclid: Proj(pi_k + eta_k Q_k);    §3.1, §3.5(a)
                    eta = inf: greedy (policy iteration). Optional bounded
                    Q-noise ``noise`` (inexact PMD, Xiao eq. 58)
exact_trpo          the same KL step only on S_k = {d_nu^{pi_k} > 0} (Shani        §3.2
                    Exact TRPO, the d_nu^{pi_k}-weighted proximal problem)
ne_trpo             pi_k^(1 - lam t_k) exp(t_k Q_lam^{pi_k}) / Z (Shani NE-TRPO)    §3.3
lan_pmd             (log pi_k + eta Q_lam + eta mu log pi_0)/(1 + eta mu) (Lan)    §3.3
apmd                lan_pmd with mu = tau_k -> 0 and 1 + eta_k tau_k = 1/gamma     §3.4
==================  ============================================================  ==============

MDPO's exact (m = inf) update is :func:`pmd` with the KL map: the state weighting of MDPO's
objective (on-policy d_rho^{pi_k} or uniform) does not change the closed form as long as it is
positive [mdpo-card, §3.1 "Why per-state", §3.6].

Every function returns a :class:`PMDRun` holding all iterates pi_0 .. pi_K, their exact
(regularised, SAC-convention) values V_k and Q_k, the Q actually fed to each update (differs
from Q_k only under noise) and the step sizes, so that every bound of [mdpo-card, §4] can be
checked on every iterate.

Deviations: the greedy limit breaks ties as :func:`~rlsandbox.algorithms.mdpo.policies.greedy_step`
documents (keep the current action). Geometric schedules are capped
(:mod:`~rlsandbox.algorithms.mdpo.schedules`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import (check_choice, check_in_range, check_int, check_rng,
                                 check_stochastic, readonly)
from rlsandbox.algorithms.mdpo.policies import (_euclid_step, _greedy_step, _kl_step,
                                                _lan_step, _ne_trpo_step, log_normalize,
                                                probabilities)
from rlsandbox.algorithms.mdpo.regularized import _eval_lam, _require, policy_logpi
from rlsandbox.algorithms.mdpo.schedules import Schedule, as_schedule
from rlsandbox.mdp import TabularMDP

__all__ = ["PMDRun", "QNoise", "pmd", "exact_trpo", "ne_trpo", "lan_pmd", "apmd",
           "apmd_taus"]

MIRRORS = ("kl", "euclid")


# ------------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True, eq=False)
class PMDRun:
    """All iterates of a policy-mirror-descent run, with their exact values.

    Attributes
    ----------
    pi : (K+1, S, A) policies pi_0 .. pi_K
    logpi : (K+1, S, A) their log-probabilities (finite for the KL family; -inf marks exact
        zeros of Euclidean / greedy iterates)
    V : (K+1, S) exact V^{pi_k} (regularised V_lam^{pi_k} when ``lam > 0``)
    Q : (K+1, S, A) exact Q^{pi_k} (Q_lam^{pi_k}, SAC convention)
    Q_used : (K, S, A) the action values fed to update k (== Q[k] unless noise was injected)
    eta : (K,) step size of update k (+inf for greedy steps; t_k for NE-TRPO; Lan's eta_k)
    lam : regularisation strength of V and Q (0 for unregularised runs)
    method : "pmd-kl", "pmd-euclid", "pi", "exact-trpo", "ne-trpo", "lan", "apmd"
    """

    pi: np.ndarray
    logpi: np.ndarray
    V: np.ndarray
    Q: np.ndarray
    Q_used: np.ndarray
    eta: np.ndarray
    lam: float
    method: str

    @property
    def K(self) -> int:
        """Number of updates."""
        return int(self.eta.shape[0])

    def values(self, rho: Any) -> np.ndarray:
        """rho . V_k for k = 0..K, shape (K+1,)."""
        return self.V @ np.asarray(rho, dtype=np.float64)

    def __repr__(self) -> str:
        S, A = self.pi.shape[1:]
        return f"PMDRun(method={self.method!r}, K={self.K}, S={S}, A={A}, lam={self.lam:g})"


@dataclass(frozen=True)
class QNoise:
    """Bounded evaluation error ||Qhat - Q||_inf <= tau injected before each update
    [mdpo-card, §3.5(a); Xiao Assumption 1].

    kind
        ``"uniform"``: i.i.d. Uniform[-tau, tau] per (s, a) (needs ``rng``);
        ``"adversarial"``: -tau on the optimal action a*(s), +tau elsewhere (needs ``a_star``,
        the card's adversarial pattern);
        ``"toward_worst"``: +tau on argmin_a Q(s, a), -tau elsewhere: the pattern that pushes
        each step towards the currently worst action (used by negative controls).

    Examples
    --------
    >>> import numpy as np
    >>> QNoise(0.1, "toward_worst")(np.array([[0.0, 1.0]]), None).tolist()
    [[0.1, 0.9]]
    """

    tau: float
    kind: str = "uniform"
    a_star: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_in_range("tau", self.tau, low=0.0)
        check_choice("kind", self.kind, ("uniform", "adversarial", "toward_worst"))
        if self.kind == "adversarial":
            if self.a_star is None:
                raise ValueError("QNoise(kind='adversarial') needs a_star, the optimal action of "
                                 "each state (e.g. tuple(rlsandbox.solve(mdp).policy))")
            object.__setattr__(self, "a_star", tuple(int(a) for a in self.a_star))

    def __call__(self, Q: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
        S, A = Q.shape
        if self.kind == "uniform":
            if rng is None:
                raise ValueError("uniform Q-noise needs rng=<seed or Generator>")
            return Q + rng.uniform(-self.tau, self.tau, size=(S, A))
        sign = -np.ones((S, A))
        if self.kind == "adversarial":
            if len(self.a_star) != S:
                raise ValueError(f"a_star has {len(self.a_star)} entries; the model has S = {S}")
            sign = np.ones((S, A))
            sign[np.arange(S), np.array(self.a_star)] = -1.0
        else:
            sign[np.arange(S), np.argmin(Q, axis=1)] = 1.0
        return Q + self.tau * sign


# ------------------------------------------------------------------------ the loop
Evaluator = Callable[[int, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
Update = Callable[[int, np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, float]]


def _loop(mdp: TabularMDP, logpi0: np.ndarray, K: int, update: Update, *, lam: float,
          method: str, evaluator: Evaluator | None = None,
          noise: Callable[[np.ndarray, Any], np.ndarray] | None = None,
          rng: np.random.Generator | None = None) -> PMDRun:
    """Run K updates from logpi0. ``update(k, logpi, pi, Q_used) -> (logpi_new, eta_k)``.

    ``evaluator(k, pi, logpi) -> (V, Q)`` gives the Q fed to update k; it defaults to the
    exact (regularised) evaluation. APMD passes the perturbed evaluation of step k, and the
    negative controls of the claims a deliberately wrong one (this is private).
    The recorded V, Q are always the exact ones.
    """
    S, A = mdp.S, mdp.A
    pis = np.empty((K + 1, S, A))
    logs = np.empty((K + 1, S, A))
    Vs = np.empty((K + 1, S))
    Qs = np.empty((K + 1, S, A))
    used = np.empty((K, S, A))
    etas = np.empty(K)
    logpi = logpi0
    for k in range(K + 1):
        pi = probabilities(logpi)
        V, Q = _eval_lam(mdp, pi, logpi, lam)
        pis[k], logs[k], Vs[k], Qs[k] = pi, logpi, V, Q
        if k == K:
            break
        Q_in = Q if evaluator is None else evaluator(k, pi, logpi)[1]
        if noise is not None:
            Q_in = noise(Q_in, rng)
        used[k] = Q_in
        logpi, etas[k] = update(k, logpi, pi, Q_in)
    return PMDRun(readonly(pis), readonly(logs), readonly(Vs), readonly(Qs), readonly(used),
                  readonly(etas), float(lam), method)


def _start(mdp: TabularMDP, pi0: Any, *, interior: bool) -> np.ndarray:
    if pi0 is None:
        return np.full((mdp.S, mdp.A), -np.log(mdp.A))
    logpi = policy_logpi(mdp, pi0)
    if interior and not np.isfinite(logpi).all():
        s, a = np.argwhere(~np.isfinite(logpi))[0]
        raise ValueError(f"pi0[{s}, {a}] == 0, but the KL mirror map needs pi0 in the interior "
                         f"of the simplex (every pi0[s, a] > 0; the default is uniform) "
                         f"[mdpo-card, Pitfall 11]")
    return log_normalize(logpi) if interior else logpi


def _log_of(pi: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(pi)


def _mirror_update(schedule: Schedule, mirror: str) -> Update:
    def update(k, logpi, pi, Q):
        eta = schedule(k)
        if eta == np.inf:
            return _log_of(_greedy_step(pi, Q)), eta
        if mirror == "kl":
            return _kl_step(logpi, Q, eta), eta
        return _log_of(_euclid_step(pi, Q, eta)), eta
    return update


# ------------------------------------------------------------------ public functions
def pmd(mdp: TabularMDP, *, K: int, step: Any, mirror: str = "kl", pi0: Any = None,
        noise: QNoise | None = None, rng: Any = None) -> PMDRun:
    """Exact (or inexact) policy mirror descent [mdpo-card, §3.1, §3.5(a)].

    For k = 0 .. K-1, with Q_k = Q^{pi_k} exact (or Qhat_k = Q_k + noise, ||noise|| <= tau):

        KL:      pi_{k+1}(.|s) = pi_k(.|s) exp(eta_k Q_k(s, .)) / Z_k(s)
        Euclid:  pi_{k+1}(.|s) = Proj_simplex(pi_k(.|s) + eta_k Q_k(s, .))
        eta_k = +inf: pi_{k+1} greedy w.r.t. Q_k (policy iteration)

    This is MDPO's exact update (t_k = eta_k, any positive state weighting), Shani's Uniform
    TRPO (NE-TRPO / PPG with lam = 0), Xiao's PMD and Lan's PMD with h = 0.

    Parameters
    ----------
    mdp : TabularMDP, gamma < 1
    K : int >= 0, number of updates
    step : Schedule, float > 0 (constant) or numpy.inf (greedy)
    mirror : "kl" (default) or "euclid"
    pi0 : array (S, A) or (S,), optional. Default uniform. KL needs pi0 > 0 everywhere.
    noise : QNoise, optional. Inexact PMD with ||Qhat_k - Q_k||_inf <= noise.tau.
    rng : seed or Generator, keyword-only; required for uniform noise.

    Returns
    -------
    PMDRun

    Examples
    --------
    On RiverSwim, geometric steps reach the optimal value of the start state quickly:

    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import pmd, geometric
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = pmd(mdp, K=30, step=geometric(1.0, 0.9))
    >>> V_star = rls.solve(mdp).V
    >>> bool(np.abs(run.V[-1] - V_star).max() < 1e-8)
    True
    """
    _require(mdp, "pmd")
    K = check_int("K", K, low=0)
    schedule = as_schedule(step)
    mirror = check_choice("mirror", mirror, MIRRORS)
    if noise is not None and not isinstance(noise, QNoise):
        raise TypeError(f"noise must be a QNoise, got {type(noise).__name__}")
    gen = check_rng("rng", rng) if rng is not None else None
    logpi0 = _start(mdp, pi0, interior=mirror == "kl" and schedule.name != "greedy")
    method = "pi" if schedule.name == "greedy" else f"pmd-{mirror}"
    return _loop(mdp, logpi0, K, _mirror_update(schedule, mirror), lam=0.0, method=method,
                 noise=noise, rng=gen)


def exact_trpo(mdp: TabularMDP, *, K: int, step: Any, nu: Any, pi0: Any = None) -> PMDRun:
    """Shani's Exact TRPO: the d_nu^{pi_k}-weighted proximal step, solved exactly
    [mdpo-card, §3.2; Shani §6.1, Alg. 5, Prop. 3, App. D.2]:

        pi_{k+1} = argmax_pi sum_s d_nu^{pi_k}(s) [ <Q_k(s,.), pi(.|s) - pi_k(.|s)>
                                                  - (1/t_k) KL(pi(.|s) || pi_k(.|s)) ]

    Closed form: the KL step of :func:`pmd` on S_k = {s : d_nu^{pi_k}(s) > 0}; states with
    zero weight keep pi_k (the objective does not depend on them).

    Parameters
    ----------
    nu : array (S,), the restart distribution (may have zeros).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import exact_trpo
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = exact_trpo(mdp, K=5, step=1.0, nu=np.eye(6)[0])
    >>> run.method
    'exact-trpo'
    """
    from rlsandbox.measures import state_occupancy
    _require(mdp, "exact_trpo")
    K = check_int("K", K, low=0)
    schedule = as_schedule(step)
    if schedule.name == "greedy":
        raise ValueError("exact_trpo takes finite steps t_k; for the greedy limit use pmd")
    nu = check_stochastic("nu", nu, shape=(mdp.S,))
    logpi0 = _start(mdp, pi0, interior=True)

    def update(k, logpi, pi, Q):
        t = schedule(k)
        d = np.asarray(state_occupancy(mdp, pi, rho=nu))
        new = _kl_step(logpi, Q, t)
        return np.where((d > 0)[:, None], new, logpi), t

    return _loop(mdp, logpi0, K, update, lam=0.0, method="exact-trpo")


def ne_trpo(mdp: TabularMDP, *, lam: float, K: int, step: Any, pi0: Any = None) -> PMDRun:
    """Shani's NE-TRPO (uniform / planning version), reward form [mdpo-card, §3.3]:

        log pi_{k+1} = (1 - lam t_k) log pi_k + t_k Q_lam^{pi_k} - logsumexp,

    needing lam t_k <= 1 for every k (else ``ValueError``). V and Q of the run are the
    regularised ones (SAC convention, :mod:`~rlsandbox.algorithms.mdpo.regularized`).
    ``step``: e.g. ``shani_regularized(lam)`` (t_k = 1/(lam (k+2))) or a constant.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import ne_trpo, soft_optimal
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = ne_trpo(mdp, lam=0.1, K=60, step=10.0)          # lam t = 1: soft PI
    >>> bool(np.abs(run.V[-1] - soft_optimal(mdp, 0.1).V).max() < 1e-9)
    True
    """
    _require(mdp, "ne_trpo")
    lam = check_in_range("lam", lam, low=0.0)
    K = check_int("K", K, low=0)
    schedule = as_schedule(step)
    for k in range(K):
        t = schedule(k)
        if not lam * t <= 1.0:
            raise ValueError(f"lam * t_{k} == {lam * t!r} > 1: NE-TRPO needs lam t_k <= 1 "
                             f"[mdpo-card, §3.3, Pitfall 15]; take t_k <= 1/lam = {1 / lam:.6g}")
    logpi0 = _start(mdp, pi0, interior=True)

    def update(k, logpi, pi, Q):
        t = schedule(k)
        return _ne_trpo_step(logpi, Q, t, lam), t

    return _loop(mdp, logpi0, K, update, lam=lam, method="ne-trpo")


def lan_pmd(mdp: TabularMDP, *, mu: float, K: int, eta: Any, pi0: Any = None) -> PMDRun:
    """Lan's PMD with the strongly convex regulariser h^p(s) = mu KL(p || uniform)
    [mdpo-card, §3.3; Lan Alg. 1, Thm 1], reward form:

        log pi_{k+1} = (log pi_k + eta_k Q_mu^{pi_k} + eta_k mu log pi_0) / (1 + eta_k mu) - lse

    (Q_mu = Q_lam with lam = mu). Lan's linear-rate step is eta = (1 - gamma)/(gamma mu);
    eta = inf is soft policy iteration. ``mu = 0`` is unregularised PMD-KL (Lan Thm 2).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import lan_pmd
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> lan_pmd(mdp, mu=0.1, K=3, eta=(1 - 0.9) / (0.9 * 0.1)).method
    'lan'
    """
    _require(mdp, "lan_pmd")
    mu = check_in_range("mu", mu, low=0.0)
    K = check_int("K", K, low=0)
    schedule = as_schedule(eta)
    if schedule.name == "greedy" and mu == 0.0:
        raise ValueError("eta = inf with mu = 0 is policy iteration; use pmd(..., step=np.inf)")
    logpi0 = _start(mdp, pi0, interior=True)

    def update(k, logpi, pi, Q):
        e = schedule(k)
        return _lan_step(logpi, Q, e, mu), e

    return _loop(mdp, logpi0, K, update, lam=mu, method="lan")


def apmd_taus(gamma: float, K: int, *, variant: str = "a", tau0: float = 1.0) -> np.ndarray:
    """tau_0 .. tau_{K-1} of Lan's APMD [mdpo-card, §3.4]: (a) tau_k = tau0 gamma^k (Thm 3);
    (b) tau_k = 2^-(floor(k/l) + 1), l = ceil(log_gamma(1/4)) (Thm 4); "constant":
    tau_k = tau0 (no decay, no guarantee: the iterates converge to the optimum of the
    tau0-regularised MDP, the C14 negative control).

    Examples
    --------
    >>> apmd_taus(0.5, 5, variant="b").tolist()        # l = ceil(log_0.5(1/4)) = 2
    [0.5, 0.5, 0.25, 0.25, 0.125]
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True)
    K = check_int("K", K, low=0)
    variant = check_choice("variant", variant, ("a", "b", "constant"))
    k = np.arange(K, dtype=np.float64)
    if variant in ("a", "constant"):
        tau0 = check_in_range("tau0", tau0, low=0.0, low_open=True)
        return tau0 * gamma ** k if variant == "a" else np.full(K, tau0)
    ell = int(np.ceil(np.log(0.25) / np.log(gamma) - 1e-12))
    return 2.0 ** -(np.floor(k / ell) + 1.0)


def apmd(mdp: TabularMDP, *, K: int, variant: str = "a", tau0: float = 1.0,
         pi0: Any = None) -> PMDRun:
    """Lan's approximate PMD (APMD): linear convergence without regularisation
    [mdpo-card, §3.4; Lan Thm 3 (variant "a"), Thm 4 (variant "b")].

    Update k uses the perturbed values Q_{tau_k}^{pi_k} (the MDP regularised by
    tau_k KL(pi(.|s) || pi_0), pi_0 uniform) and Lan's step with mu = tau_k and
    1 + eta_k tau_k = 1/gamma:

        log pi_{k+1} = [log pi_k + eta_k Q_{tau_k}^{pi_k} + eta_k tau_k log pi_0]/(1 + eta_k tau_k)

    The run's V and Q are the UNregularised values (the gap Lan's Thms 3-4 bound); Q_used holds
    the perturbed Q_{tau_k} of each update. ``eta`` records eta_k = (1-gamma)/(gamma tau_k).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import apmd
    >>> apmd(rls.mdps.riverswim(gamma=0.9), K=3).method
    'apmd'
    """
    _require(mdp, "apmd")
    K = check_int("K", K, low=0)
    taus = apmd_taus(mdp.gamma, K, variant=variant, tau0=tau0)
    g = mdp.gamma
    logpi0 = _start(mdp, pi0, interior=True)

    def evaluator(k, pi, logpi):
        return _eval_lam(mdp, pi, logpi, float(taus[k]))

    def update(k, logpi, pi, Q_tau):
        eta = (1.0 - g) / (g * taus[k])
        return _lan_step(logpi, Q_tau, eta, float(taus[k])), eta

    return _loop(mdp, logpi0, K, update, lam=0.0, method="apmd", evaluator=evaluator)
