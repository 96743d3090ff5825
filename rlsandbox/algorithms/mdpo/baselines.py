"""Tabular baselines MDPO is compared with, with exact advantages [mdpo-card, §3.8].

Reward form; d_k = d_rho^{pi_k}; A_k = A^{pi_k}; logits theta with pi = softmax(theta).

=====================  =====================================================================
function               update
=====================  =====================================================================
softmax_pg             theta += alpha d_k(s) pi_k(b|s) A_k(s,b) / (1-gamma)  (the exact policy
                       gradient of V(rho) in the logits [agarwal2021]; = MDPO with m = 1 up
                       to the step's scaling)
npg                    pi_{k+1} = pi_k exp(eta A_k/(1-gamma)) / Z (Agarwal et al.'s NPG =
                       PMD-KL with eta_PMD = eta / (1-gamma))
trpo                   natural-gradient direction x(s,.) = A_k(s,.) (card C18), step
                       beta = sqrt(2 delta / sum_s d_k(s) Var_{pi_k}(A_k(s,.))), candidate
                       pi_k exp(beta A_k)/Z, halve beta (<= 10 times) until the exact mean
                       reverse KL sum_s d_k KL(pi_k || pi) <= delta and the surrogate
                       sum_s d_k <pi, A_k> > 0; otherwise keep pi_k
ppo_clip               ``epochs`` full-batch gradient-ascent epochs on
                       sum_s w(s) sum_a pi_k(a|s) min(r_a A_k, clip(r_a, 1-eps, 1+eps) A_k),
                       r_a = pi_theta(a|s)/pi_k(a|s), w = d_k / max d_k
kl_ppo                 the same with the penalty sum_s w(s)[<pi_theta, A_k> - beta
                       KL(pi_k || pi_theta)]; beta halves if the iteration's mean KL < d_targ/1.5
                       and doubles if > 1.5 d_targ
soft_policy_iteration  pi_{k+1} = softmax(Q_lam^{pi_k} / lam) (tabular SAC; Lan's eta = inf)
=====================  =====================================================================

Deviations: the line-search constants of TRPO (halving, 10 backtracks) and KL-PPO's
(d_targ = 0.01, beta_0 = 1, factors 1.5 and 2) follow common practice and are marked
[unverified] on the card. Gradient ascent uses full batches (no minibatches) with step
``lr`` per unit of w(s) (w normalised to max 1), so PPO/KL-PPO's per-state progress is
comparable with MDPO's alpha = 0.5 t_k / max w.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int, readonly
from rlsandbox.algorithms.mdpo.pmd import PMDRun, _start, lan_pmd, pmd
from rlsandbox.algorithms.mdpo.policies import _kl_step, log_normalize, probabilities
from rlsandbox.algorithms.mdpo.regularized import _eval_lam, _require
from rlsandbox.algorithms.mdpo.schedules import constant
from rlsandbox.mdp import TabularMDP

__all__ = ["softmax_pg", "npg", "trpo", "ppo_clip", "kl_ppo", "soft_policy_iteration"]


def _occ(mdp: TabularMDP, pi: np.ndarray) -> np.ndarray:
    from rlsandbox.algorithms.mdpo.theory import occupancies
    return occupancies(mdp, pi[None], mdp.rho)[0]


def _collect(mdp: TabularMDP, logpi0: np.ndarray, K: int, step, method: str) -> PMDRun:
    """A loop over exact evaluations; ``step(k, logpi, pi, V, Q) -> (logpi_new, scalar)``."""
    S, A = mdp.S, mdp.A
    pis, logs, Vs, Qs = np.empty((K + 1, S, A)), np.empty((K + 1, S, A)), \
        np.empty((K + 1, S)), np.empty((K + 1, S, A))
    used, etas = np.empty((K, S, A)), np.empty(K)
    logpi = logpi0
    for k in range(K + 1):
        pi = probabilities(logpi)
        V, Q = _eval_lam(mdp, pi, logpi, 0.0)
        pis[k], logs[k], Vs[k], Qs[k] = pi, logpi, V, Q
        if k == K:
            break
        used[k] = Q
        logpi, etas[k] = step(k, logpi, pi, V, Q)
    return PMDRun(readonly(pis), readonly(logs), readonly(Vs), readonly(Qs), readonly(used),
                  readonly(etas), 0.0, method)


def softmax_pg(mdp: TabularMDP, *, K: int, alpha: float, pi0: Any = None) -> PMDRun:
    """Vanilla softmax policy gradient with exact gradients [mdpo-card, §3.8; agarwal2021]:

        theta <- theta + alpha d_rho^{pi}(s) pi(b|s) A^pi(s, b) / (1 - gamma)

    ``eta`` of the run records alpha.

    Examples
    --------
    A step below 1/L, L = 8/(1-gamma)^3 the smoothness of V(rho) in the logits
    [agarwal2021, Lemma E.4], improves V(rho) at every iteration:

    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = softmax_pg(mdp, K=5, alpha=(1 - 0.9) ** 3 / 8)
    >>> bool(np.all(np.diff(run.values(mdp.rho)) > 0))
    True
    """
    _require(mdp, "softmax_pg")
    K = check_int("K", K, low=0)
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    g = mdp.gamma

    def step(k, logpi, pi, V, Q):
        d = _occ(mdp, pi)
        grad = d[:, None] * pi * (Q - V[:, None]) / (1.0 - g)
        return log_normalize(logpi + alpha * grad), alpha

    return _collect(mdp, _start(mdp, pi0, interior=True), K, step, "softmax-pg")


def npg(mdp: TabularMDP, *, K: int, eta: float, pi0: Any = None) -> PMDRun:
    """Natural policy gradient (Agarwal et al.), pi_{k+1} = pi_k exp(eta A_k/(1-gamma))/Z:
    PMD-KL with step eta/(1-gamma) [mdpo-card, §2.5 table, §3.8].

    Examples
    --------
    >>> import rlsandbox as rls
    >>> npg(rls.mdps.riverswim(gamma=0.9), K=2, eta=0.1).eta.tolist()    # 0.1 / (1 - 0.9)
    [1.0000000000000002, 1.0000000000000002]
    """
    eta = check_in_range("eta", eta, low=0.0, low_open=True)
    return pmd(mdp, K=K, step=constant(eta / (1.0 - mdp.gamma)), pi0=pi0)


def trpo(mdp: TabularMDP, *, K: int, delta: float = 0.01, backtracks: int = 10,
         pi0: Any = None) -> PMDRun:
    """Tabular TRPO with exact advantages [mdpo-card, §3.8]: the natural-gradient direction
    (A_k itself, card C18), the quadratic-model step beta = sqrt(2 delta / x^T F x) with
    x^T F x = sum_s d_k(s) Var_{pi_k}(A_k(s,.)), and a backtracking line search on the exact
    mean reverse KL (<= delta) and the surrogate improvement (> 0). ``eta`` records the
    accepted beta (0 when no step was accepted).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo.policies import kl_rows
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = trpo(mdp, K=3, delta=0.01)
    >>> bool((run.eta > 0).all())
    True
    """
    _require(mdp, "trpo")
    K = check_int("K", K, low=0)
    delta = check_in_range("delta", delta, low=0.0, low_open=True)
    backtracks = check_int("backtracks", backtracks, low=0)

    def step(k, logpi, pi, V, Q):
        Adv = Q - V[:, None]
        d = _occ(mdp, pi)
        var = float(d @ (pi * (Adv - (pi * Adv).sum(axis=1, keepdims=True)) ** 2).sum(axis=1))
        with np.errstate(divide="ignore", over="ignore"):
            beta = float(np.sqrt(2.0 * delta / var)) if var > 0.0 else np.inf
        if not np.isfinite(beta):      # advantages constant per state (up to round-off)
            return logpi, 0.0
        for _ in range(backtracks + 1):
            new = _kl_step(logpi, Adv, beta)
            p_new = np.exp(new)
            rev_kl = float(d @ (pi * (logpi - new)).sum(axis=1))
            surrogate = float(d @ (p_new * Adv).sum(axis=1))
            if rev_kl <= delta and surrogate > 0.0:
                return new, beta
            beta /= 2.0
        return logpi, 0.0

    return _collect(mdp, _start(mdp, pi0, interior=True), K, step, "trpo")


def _ppo_grad(theta, pi_k, A_pos, A_neg, w, eps):
    """Gradient in the logits of sum_s w(s) sum_a pi_k(a) min(r_a A_a, clip(r_a) A_a) for
    advantages split into positive and negative parts (A = A_pos + A_neg; an exact A has one
    of them zero; sampled advantages can have both, rollouts.py)."""
    p = probabilities(log_normalize(theta))
    r = p / pi_k
    # d/dp(a) of pi_k(a) min(r_a A, clip(r_a) A) = A(a) on the unclipped branch, else 0:
    # a positive part is clipped once r > 1 + eps, a negative part once r < 1 - eps
    gp = np.where(r > 1.0 + eps, 0.0, A_pos) + np.where(r < 1.0 - eps, 0.0, A_neg)
    return w[:, None] * p * (gp - (p * gp).sum(axis=1, keepdims=True))


def ppo_clip(mdp: TabularMDP, *, K: int, eps: float = 0.2, epochs: int = 10, lr: float = 0.5,
             pi0: Any = None) -> PMDRun:
    """PPO-clip, tabular with exact advantages [mdpo-card, §3.8]: ``epochs`` full-batch
    gradient-ascent steps (step ``lr``) on the clipped surrogate weighted by
    w = d_k / max d_k. ``eta`` records lr.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> ppo_clip(rls.mdps.riverswim(gamma=0.9), K=2).method
    'ppo-clip'
    """
    _require(mdp, "ppo_clip")
    K = check_int("K", K, low=0)
    eps = check_in_range("eps", eps, low=0.0, high=1.0, low_open=True, high_open=True)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)

    def step(k, logpi, pi, V, Q):
        Adv = Q - V[:, None]
        d = _occ(mdp, pi)
        w = d / d.max()
        theta = logpi.copy()
        for _ in range(epochs):
            theta = theta + lr * _ppo_grad(theta, pi, np.maximum(Adv, 0.0),
                                           np.minimum(Adv, 0.0), w, eps)
        return log_normalize(theta), lr

    return _collect(mdp, _start(mdp, pi0, interior=True), K, step, "ppo-clip")


def kl_ppo(mdp: TabularMDP, *, K: int, d_targ: float = 0.01, beta0: float = 1.0,
           epochs: int = 10, lr: float = 0.5, pi0: Any = None) -> PMDRun:
    """KL-penalised PPO with the adaptive coefficient [mdpo-card, §3.8]: ``epochs`` full-batch
    gradient-ascent steps on sum_s w(s)[<pi_theta, A_k> - beta KL(pi_k || pi_theta)]
    (gradient w(s)[p_b (A_b - <p, A>) - beta (p_b - pi_k(b))]); after the iteration,
    mean KL = sum_s d_k KL(pi_k || pi_{k+1}) < d_targ/1.5 halves beta, > 1.5 d_targ doubles
    it. ``eta`` records the beta used in iteration k.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> float(kl_ppo(rls.mdps.riverswim(gamma=0.9), K=2).eta[0])
    1.0
    """
    _require(mdp, "kl_ppo")
    K = check_int("K", K, low=0)
    d_targ = check_in_range("d_targ", d_targ, low=0.0, low_open=True)
    beta = check_in_range("beta0", beta0, low=0.0, low_open=True)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)
    state = {"beta": beta}

    def step(k, logpi, pi, V, Q):
        b = state["beta"]
        Adv = Q - V[:, None]
        d = _occ(mdp, pi)
        w = d / d.max()
        theta = logpi.copy()
        for _ in range(epochs):
            p = probabilities(log_normalize(theta))
            grad = w[:, None] * (p * (Adv - (p * Adv).sum(axis=1, keepdims=True)) - b * (p - pi))
            theta = theta + lr * grad
        new = log_normalize(theta)
        mean_kl = float(d @ (pi * (logpi - new)).sum(axis=1))
        if mean_kl < d_targ / 1.5:
            state["beta"] = b / 2.0
        elif mean_kl > 1.5 * d_targ:
            state["beta"] = b * 2.0
        return new, b

    return _collect(mdp, _start(mdp, pi0, interior=True), K, step, "kl-ppo")


def soft_policy_iteration(mdp: TabularMDP, *, lam: float, K: int, pi0: Any = None) -> PMDRun:
    """Soft policy iteration pi_{k+1} = softmax(Q_lam^{pi_k} / lam), the tabular limit of SAC
    [mdpo-card, §3.7, §3.8]: Lan's PMD with eta = inf, NE-TRPO with lam t = 1.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import soft_optimal
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = soft_policy_iteration(mdp, lam=0.5, K=40)
    >>> bool(np.abs(run.V[-1] - soft_optimal(mdp, 0.5).V).max() < 1e-10)
    True
    """
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    return lan_pmd(mdp, mu=lam, K=K, eta=np.inf, pi0=pi0)
