"""MDPO's practical updates, tabular analogues with exact values [mdpo-card, §3.6, §3.7].

On-policy MDPO (Tomar et al., Alg. 1) takes m gradient steps on the mirror-descent
sub-problem instead of solving it. Tabular analogue [mdpo-card, §3.6, ours]: softmax logits
theta[s, a], pi_theta(.|s) = softmax(theta[s, .]), state weights w(s) (on-policy
w = d_rho^{pi_k}; off-policy / uniform w = 1/S), exact advantages A_k = A^{pi_k}:

    Psi(theta) = sum_s w(s) [ sum_a pi_theta(a|s) A_k(s,a) - (1/t_k) KL(pi_theta(.|s) || pi_k(.|s)) ]
    dPsi/dtheta[s,b] = w(s) pi_theta(b|s) [ (A_k(s,b) - Abar(s))
                                            - (1/t_k)(log(pi_theta(b|s)/pi_k(b|s)) - KL_s) ]
    theta^(0) = log pi_k;  theta^(i+1) = theta^(i) + alpha_k grad Psi(theta^(i))  (m times)

(Abar(s) = sum_a pi_theta A_k, KL_s = KL(pi_theta(.|s) || pi_k(.|s)).) m -> inf converges to
the exact MD update pi_k exp(t_k A_k)/Z for any w > 0 ([mdpo-card, C16]); m = 1 is one
policy-gradient step (the KL gradient vanishes at the anchor).

Off-policy MDPO (Tomar et al., Alg. 2) minimises, by reparameterised SGD on replay-buffer
states, t_k E[log pi_theta - (1 - lam t) log pi_old - t Q] (SAC's actor loss when the anchor
pi_old is uniform), refreshing pi_old every m gradient steps. Tabular analogue
[mdpo-card, §3.7, ours], uniform state weights:

    T(.|s) = pi_old(.|s)^(1 - lam t) exp(t Q(s,.)) / Z(s)          (the soft MD target)
    theta <- theta - alpha grad_theta sum_s w(s) KL(pi_theta(.|s) || T(.|s))
    grad = w(s) pi_theta(b|s) [log(pi_theta(b|s)/T(b|s)) - KL(pi_theta(.|s) || T(.|s))]
    every m steps: pi_old <- pi_theta

with Q = Q_lam^{pi_old} (``critic="anchor"``, faithful to MD) or Q_lam^{pi_theta}
(``critic="current"``, like the code's continually trained critic); ``anchor="uniform"`` is
tabular SAC (temperature 1/t).

Deviations from the deep-RL code (all deliberate, listed on the card): exact advantages
instead of GAE estimates (no standardisation, [mdpo-card, Pitfall 9]); full-state gradients
instead of sampled batches; plain gradient ascent by default with step
alpha_k = alpha_scale * t_k / max_s w(s) (the card's T1 protocol, which keeps
alpha w(s)/t_k <= alpha_scale < 2, the local stability limit, [mdpo-card, §3.6, Pitfall 14]),
or Adam (lr 3e-4, eps 1e-5, global grad-norm clip 0.5 as in the code) with ``optimizer="adam"``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_in_range, check_int, readonly
from rlsandbox.algorithms.mdpo.pmd import PMDRun, _start
from rlsandbox.algorithms.mdpo.policies import _kl_step, log_normalize, probabilities
from rlsandbox.algorithms.mdpo.regularized import _eval_lam, _require
from rlsandbox.algorithms.mdpo.schedules import as_schedule
from rlsandbox.mdp import TabularMDP

__all__ = ["MDPORun", "psi_gradient", "mdpo_on_policy", "mdpo_off_policy", "Adam"]


@dataclass(frozen=True, slots=True, eq=False)
class MDPORun:
    """An MDPO run: the iterates (a :class:`PMDRun`) and the inner-solve diagnostics.

    Attributes
    ----------
    run : PMDRun of the outer iterates pi_0 .. pi_K (for off-policy MDPO: the anchors, one
        per refresh, i.e. every m gradient steps)
    inner_error : (K,) max_{s,a} |pi_{k+1} - pi_MD,k| where pi_MD,k is the exact mirror-descent
        target of iteration k (on-policy: pi_k exp(t_k A_k)/Z; off-policy: T of the last step)
    kl : (K,) sum_s w_k(s) KL(pi_{k+1}(.|s) || pi_k(.|s)) (the per-iteration KL of T1)
    """

    run: PMDRun
    inner_error: np.ndarray
    kl: np.ndarray


def psi_gradient(theta: np.ndarray, logpi_k: np.ndarray, A: np.ndarray, w: np.ndarray,
                 t: float) -> np.ndarray:
    """The exact gradient of MDPO's tabular objective Psi (module docstring), (S, A).

    Examples
    --------
    At the anchor the KL part vanishes: the gradient is w(s) pi_k(b|s) A(s, b) when
    sum_a pi_k A = 0.

    >>> import numpy as np
    >>> logpi = np.log([[0.25, 0.75]])
    >>> A = np.array([[0.75, -0.25]])               # sum_a pi A = 0
    >>> psi_gradient(logpi, logpi, A, np.array([2.0]), 1.0).tolist()
    [[0.375, -0.375]]
    """
    logp = log_normalize(theta)
    p = np.exp(logp)
    Abar = (p * A).sum(axis=1, keepdims=True)
    r = logp - logpi_k
    kl = (p * r).sum(axis=1, keepdims=True)
    return w[:, None] * p * ((A - Abar) - (r - kl) / t)


class Adam:
    """Adam [kingma2015] with the MDPO code's settings (beta1 0.9, beta2 0.999, eps 1e-5) and
    optional global gradient-norm clipping; ``step(grad)`` returns the ascent increment."""

    def __init__(self, shape: tuple[int, ...], lr: float, *, eps: float = 1e-5,
                 clip: float | None = 0.5, beta1: float = 0.9, beta2: float = 0.999) -> None:
        self.lr, self.eps, self.clip, self.b1, self.b2 = lr, eps, clip, beta1, beta2
        self.m = np.zeros(shape)
        self.v = np.zeros(shape)
        self.n = 0

    def step(self, grad: np.ndarray) -> np.ndarray:
        if self.clip is not None:
            norm = float(np.sqrt((grad * grad).sum()))
            if norm > self.clip:
                grad = grad * (self.clip / norm)
        self.n += 1
        self.m = self.b1 * self.m + (1.0 - self.b1) * grad
        self.v = self.b2 * self.v + (1.0 - self.b2) * grad * grad
        mhat = self.m / (1.0 - self.b1 ** self.n)
        vhat = self.v / (1.0 - self.b2 ** self.n)
        return self.lr * mhat / (np.sqrt(vhat) + self.eps)


def _kl_weighted(w: np.ndarray, logp: np.ndarray, logq: np.ndarray) -> float:
    p = np.exp(logp)
    return float(w @ np.where(p > 0, p * (logp - logq), 0.0).sum(axis=1))


def _mdpo_inner(logpi: np.ndarray, Adv: np.ndarray, w: np.ndarray, t: float, m,
                alpha_scale: float, adam: Adam | None) -> tuple[np.ndarray, np.ndarray]:
    """One MDPO iteration's inner solve from theta = log pi_k: ``m`` ascent steps on Psi
    (alpha = alpha_scale t / max w, or Adam), or its maximiser for ``m = inf``. Returns
    (log pi_{k+1}, the maximiser pi_k exp(t Adv)/Z on {w > 0}, pi_k elsewhere)."""
    target = np.where((w > 0)[:, None], _kl_step(logpi, Adv, t), logpi)
    if m == np.inf:
        return target, target
    theta = logpi.copy()
    alpha = alpha_scale * t / float(w.max())
    for _ in range(m):
        g = psi_gradient(theta, logpi, Adv, w, t)
        theta = theta + (adam.step(g) if adam is not None else alpha * g)
    return log_normalize(theta), target


def mdpo_on_policy(mdp: TabularMDP, *, K: int, m: int | float, step: Any,
                   weights: str = "on_policy", alpha_scale: float = 0.5,
                   optimizer: str = "sgd", lr: float = 3e-4, clip: float | None = 0.5,
                   pi0: Any = None) -> MDPORun:
    """On-policy MDPO, tabular with exact advantages [mdpo-card, §3.6; Tomar et al. Alg. 1].

    Each iteration k: w = d_rho^{pi_k} (``weights="on_policy"``) or 1/S (``"uniform"``);
    ``m`` gradient-ascent steps on Psi from theta = log pi_k (``m = numpy.inf``: the exact
    maximiser pi_k exp(t_k A_k)/Z on the states with w(s) > 0 (all of them when rho > 0),
    pi_k elsewhere, i.e. :func:`~rlsandbox.algorithms.mdpo.pmd` / ``exact_trpo``). Step:
    ``optimizer="sgd"``: alpha_k = alpha_scale t_k / max_s w(s); ``"adam"``: Adam(lr, clip),
    whose moments persist across iterations as in the code.

    Parameters
    ----------
    mdp : TabularMDP, gamma < 1
    K : int >= 0 outer iterations
    m : int >= 1 or numpy.inf
    step : Schedule of t_k (e.g. ``anneal(K)``, MDPO's 1 - k/(K+1)) or a float
    weights : "on_policy" or "uniform"
    alpha_scale : float in (0, 2): alpha w(s)/t_k <= alpha_scale (local stability needs < 2)
    optimizer : "sgd" or "adam"; lr, clip: Adam's settings
    pi0 : optional interior start (default uniform)

    Examples
    --------
    More inner steps bring the update closer to exact mirror descent:

    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import mdpo_on_policy
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> e1 = mdpo_on_policy(mdp, K=3, m=1, step=1.0).inner_error
    >>> e50 = mdpo_on_policy(mdp, K=3, m=50, step=1.0).inner_error
    >>> bool(e50[0] < e1[0])
    True
    """
    _require(mdp, "mdpo_on_policy")
    K = check_int("K", K, low=0)
    if m != np.inf:
        m = check_int("m", m, low=1)
    schedule = as_schedule(step)
    if schedule.name == "greedy":
        raise ValueError("MDPO needs finite steps t_k (1/t_k is the KL coefficient); for the "
                         "greedy limit use pmd(..., step=numpy.inf)")
    weights = check_choice("weights", weights, ("on_policy", "uniform"))
    alpha_scale = check_in_range("alpha_scale", alpha_scale, low=0.0, low_open=True)
    optimizer = check_choice("optimizer", optimizer, ("sgd", "adam"))
    lr = check_in_range("lr", lr, low=0.0, low_open=True)
    from rlsandbox.algorithms.mdpo.theory import occupancies

    S, A_ = mdp.S, mdp.A
    logpi = _start(mdp, pi0, interior=True)
    adam = Adam((S, A_), lr, clip=clip) if optimizer == "adam" else None
    pis, logs, Vs, Qs, used = [], [], [], [], []
    etas, inner, kls = np.empty(K), np.empty(K), np.empty(K)
    for k in range(K + 1):
        pi = probabilities(logpi)
        V, Q = _eval_lam(mdp, pi, logpi, 0.0)
        pis.append(pi), logs.append(logpi), Vs.append(V), Qs.append(Q)
        if k == K:
            break
        t = schedule(k)
        Adv = Q - V[:, None]
        w = occupancies(mdp, pi[None], mdp.rho)[0] if weights == "on_policy" \
            else np.full(S, 1.0 / S)
        new, target = _mdpo_inner(logpi, Adv, w, t, m, alpha_scale, adam)
        used.append(Q)
        etas[k] = t
        inner[k] = float(np.abs(np.exp(new) - np.exp(target)).max())
        kls[k] = _kl_weighted(w, new, logpi)
        logpi = new
    run = PMDRun(readonly(np.array(pis)), readonly(np.array(logs)), readonly(np.array(Vs)),
                 readonly(np.array(Qs)), readonly(np.array(used).reshape(K, S, A_)),
                 readonly(etas), 0.0, f"mdpo-on(m={m})")
    return MDPORun(run, readonly(inner), readonly(kls))


def mdpo_off_policy(mdp: TabularMDP, *, J: int, m: int, lam: float, t: float,
                    alpha: float = 1.0, anchor: str = "old", critic: str = "anchor",
                    pi0: Any = None) -> MDPORun:
    """Off-policy (soft) MDPO, tabular analogue [mdpo-card, §3.7; Tomar et al. Alg. 2].

    J gradient steps of theta <- theta - (alpha / max_s w) grad sum_s w(s) KL(pi_theta || T),
    w = 1/S (alpha per state; the KL's Hessian in the logits is Cov_pi <= 1/2, so alpha < 4
    is locally stable), with the soft
    MD target T = pi_old^(1 - lam t) exp(t Q)/Z; the anchor pi_old is refreshed to pi_theta
    every ``m`` steps (``anchor="old"``) or stays uniform (``anchor="uniform"``: tabular SAC
    with temperature 1/t). Q = Q_lam^{pi_old} (``critic="anchor"``) or Q_lam^{pi_theta}
    (``critic="current"``). Needs lam t <= 1.

    Returns an :class:`MDPORun` whose ``run`` holds pi_old at each refresh (J // m + 1
    iterates, regularised values V_lam); ``inner_error[i]`` is max |pi_theta - T| at the end of
    block i, ``kl[i]`` the uniform-weighted KL between consecutive anchors.

    Examples
    --------
    With lam t = 1 and many steps per block, each anchor approaches soft policy iteration's:

    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import mdpo_off_policy, soft_optimal
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> out = mdpo_off_policy(mdp, J=3000, m=300, lam=1.0, t=1.0, alpha=2.0)
    >>> bool(np.abs(out.run.V[-1] - soft_optimal(mdp, 1.0).V).max() < 1e-3)
    True
    """
    _require(mdp, "mdpo_off_policy")
    J = check_int("J", J, low=1)
    m = check_int("m", m, low=1, high=J)
    lam = check_in_range("lam", lam, low=0.0)
    t = check_in_range("t", t, low=0.0, low_open=True)
    if lam * t > 1.0:
        raise ValueError(f"lam * t == {lam * t!r} > 1; the soft MD target needs lam t <= 1 "
                         f"[mdpo-card, Pitfall 15]")
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    anchor = check_choice("anchor", anchor, ("old", "uniform"))
    critic = check_choice("critic", critic, ("anchor", "current"))
    S, A_ = mdp.S, mdp.A
    w = np.full(S, 1.0 / S)
    log_uniform = np.full((S, A_), -np.log(A_))
    theta = _start(mdp, pi0, interior=True).copy()
    log_old = log_normalize(theta)
    pis, logs, Vs, Qs, used, inner, kls = [], [], [], [], [], [], []

    def record(logpi):
        pi = probabilities(logpi)
        V, Q = _eval_lam(mdp, pi, logpi, lam)
        pis.append(pi), logs.append(logpi), Vs.append(V), Qs.append(Q)
        return Q

    Q_old = record(log_old)
    logT = None
    for j in range(J):
        if critic == "anchor":
            Q = Q_old
        else:
            lp = log_normalize(theta)
            Q = _eval_lam(mdp, probabilities(lp), lp, lam)[1]
        base = log_old if anchor == "old" else log_uniform
        logT = log_normalize((1.0 - lam * t) * base + t * (Q - Q.max(axis=1, keepdims=True)))
        logp = log_normalize(theta)
        p = np.exp(logp)
        r = logp - logT
        kl = (p * r).sum(axis=1, keepdims=True)
        # the gradient of sum_s w(s) KL with w = 1/S, scaled by 1/max_s w(s): each state's
        # logits move by alpha times its own KL gradient
        theta = theta - alpha * p * (r - kl)
        if (j + 1) % m == 0:
            new = log_normalize(theta)
            used.append(Q)
            inner.append(float(np.abs(np.exp(new) - np.exp(logT)).max()))
            kls.append(_kl_weighted(w, new, log_old))
            log_old = new
            Q_old = record(log_old)
    n = len(used)
    run = PMDRun(readonly(np.array(pis)), readonly(np.array(logs)), readonly(np.array(Vs)),
                 readonly(np.array(Qs)), readonly(np.array(used).reshape(n, S, A_)),
                 readonly(np.full(n, t)), float(lam),
                 f"mdpo-off(m={m},anchor={anchor},critic={critic})")
    return MDPORun(run, readonly(np.array(inner)), readonly(np.array(kls)))
