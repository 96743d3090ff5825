"""Sample-based on-policy MDPO and PPO-clip from rollouts, with GAE advantages.

The sampled versions of [mdpo-card, §3.6 "Sampled version", §3.8 PPO-clip, §5.2 T2]: each
iteration k collects N trajectories of horizon H with pi_k from rho
(:func:`rlsandbox.sampling.trajectories`, explicit ``rng``), estimates advantages by GAE
[schulman2016]

    delta_t = r_t + gamma Vhat(s_{t+1}) - Vhat(s_t),
    Ahat_t = sum_{l >= 0} (gamma lam)^l delta_{t+l}

(truncated at the end of each trajectory, delta_t = 0 after a terminal state), with a critic
Vhat = the exact V^{pi_k} (``critic="exact"``: only the rollouts are sampled) or the every-visit
Monte-Carlo mean of the truncated discounted returns-to-go in the batch (``critic="mc"``, 0 on
unvisited states; its truncation bias is <= gamma^(H-t) max|R|/(1-gamma) at step t), optionally
standardised per batch as in the MDPO code (``standardize=True``; the effective step is then
t_k / std(Ahat), [mdpo-card, Pitfall 9]).

Both surrogates are averages over the n = N H samples (s_i, a_i, Ahat_i) [mdpo-card, §3.6]:

    MDPO:     (1/n) sum_i [ (pi_theta(a_i|s_i)/pi_k(a_i|s_i)) Ahat_i
                            - (1/t_k) KL(pi_theta(.|s_i) || pi_k(.|s_i)) ]
    PPO-clip: (1/n) sum_i min(r_i Ahat_i, clip(r_i, 1-eps, 1+eps) Ahat_i)

Grouping the samples by state gives exactly the tabular objectives of
:func:`~rlsandbox.algorithms.mdpo.mdpo_on_policy` and
:func:`~rlsandbox.algorithms.mdpo.ppo_clip` with the empirical state weights w(s) = n(s)/n
and the importance-weighted advantages

    Atilde(s, a) = sum_{i: (s_i, a_i) = (s, a)} Ahat_i / (n(s) pi_k(a|s))

(PPO-clip: its positive and negative parts separately, as the clipping of each sample depends
on the sign of Ahat_i): one line of algebra, which is how both are implemented here; states
not in the batch keep pi_k. The MDPO paper's deep version additionally uses Adam and networks.

Deviations: full-batch gradient steps (no minibatches), step sizes as in the exact tabular
versions (MDPO alpha = alpha_scale t_k / max_s w(s); PPO lr per unit of w / max w).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import (
    check_choice,
    check_in_range,
    check_int,
    check_rng,
    readonly,
)
from rlsandbox.algorithms.mdpo.baselines import _ppo_grad
from rlsandbox.algorithms.mdpo.mdpo import Adam, MDPORun, _kl_weighted, _mdpo_inner
from rlsandbox.algorithms.mdpo.pmd import PMDRun, _start
from rlsandbox.algorithms.mdpo.policies import log_normalize, probabilities
from rlsandbox.algorithms.mdpo.regularized import _eval_lam, _require
from rlsandbox.algorithms.mdpo.schedules import as_schedule
from rlsandbox.mdp import TabularMDP
from rlsandbox.sampling import Trajectories, trajectories

__all__ = ["Batch", "gae", "collect_batch", "sampled_mdpo", "sampled_ppo_clip"]


@dataclass(frozen=True, eq=False)
class Batch:
    """One iteration's samples, grouped by state.

    Attributes
    ----------
    w : (S,) empirical state weights n(s)/n
    A_pos, A_neg : (S, A) importance-weighted advantages Atilde of the samples with
        Ahat_i > 0 and < 0 (module docstring); their sum is Atilde
    n : number of samples N H (steps actually taken)
    """

    w: np.ndarray
    A_pos: np.ndarray
    A_neg: np.ndarray
    n: int

    @property
    def A(self) -> np.ndarray:
        """Atilde (S, A)."""
        return self.A_pos + self.A_neg


def gae(tr: Trajectories, V: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    """GAE(lam) advantages (N, T) of a batch for the critic V (S,) [schulman2016]; 0 after
    the end of an episode (``tr.mask``). lam = 1 gives the discounted return-to-go minus
    V(s_t) plus the bootstrap gamma^(T-t) V(s_T); lam = 0 the one-step TD error.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.sampling import trajectories
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> tr = trajectories(mdp, np.full((6, 2), 0.5), n=2, horizon=5, rng=0)
    >>> A0 = gae(tr, np.zeros(6), 0.9, 0.0)
    >>> bool(np.allclose(A0, tr.r))                 # V = 0, lam = 0: delta_t = r_t
    True
    """
    mask = tr.mask
    delta = np.where(mask, tr.r + gamma * V[tr.s[:, 1:]] - V[tr.s[:, :-1]], 0.0)
    out = np.zeros_like(delta)
    acc = np.zeros(delta.shape[0])
    for t in range(delta.shape[1] - 1, -1, -1):
        acc = delta[:, t] + gamma * lam * acc
        out[:, t] = acc
    return np.where(mask, out, 0.0)


def _mc_values(tr: Trajectories, S: int, gamma: float) -> np.ndarray:
    """Every-visit mean of the truncated discounted returns-to-go per state (0 unvisited)."""
    mask = tr.mask
    G = np.zeros(tr.r.shape)
    acc = np.zeros(tr.r.shape[0])
    for t in range(tr.r.shape[1] - 1, -1, -1):
        acc = np.where(mask[:, t], tr.r[:, t] + gamma * acc, 0.0)
        G[:, t] = acc
    s = tr.s[:, :-1][mask]
    tot = np.bincount(s, weights=G[mask], minlength=S)
    cnt = np.bincount(s, minlength=S)
    return np.where(cnt > 0, tot / np.maximum(cnt, 1), 0.0)


def collect_batch(mdp: TabularMDP, pi: np.ndarray, *, N: int, H: int, rng: np.random.Generator,
                  gae_lambda: float = 0.95, critic: str = "exact",
                  standardize: bool = False) -> Batch:
    """Roll out N trajectories of horizon H with ``pi`` from ``mdp.rho`` and return the
    grouped batch (module docstring). Draws: one :func:`rlsandbox.sampling.trajectories`
    call."""
    tr = trajectories(mdp, pi, n=N, horizon=H, rng=rng)
    if critic == "exact":
        V = _eval_lam(mdp, pi, np.log(np.maximum(pi, 1e-300)), 0.0)[0]
    else:
        V = _mc_values(tr, mdp.S, mdp.gamma)
    adv = gae(tr, V, mdp.gamma, gae_lambda)
    mask = tr.mask
    s, a, x = tr.s[:, :-1][mask], tr.a[mask], adv[mask]
    if standardize and x.size > 1:
        x = (x - x.mean()) / max(float(x.std()), 1e-12)
    S, A = mdp.S, mdp.A
    n = int(x.size)
    n_s = np.bincount(s, minlength=S).astype(np.float64)
    idx = s * A + a
    pos = np.bincount(idx, weights=np.maximum(x, 0.0), minlength=S * A).reshape(S, A)
    neg = np.bincount(idx, weights=np.minimum(x, 0.0), minlength=S * A).reshape(S, A)
    denom = np.where(n_s[:, None] > 0, n_s[:, None] * pi, 1.0)
    return Batch(n_s / n, pos / denom, neg / denom, n)


def _check_common(mdp, K, N, H, gae_lambda, critic, rng, name):
    _require(mdp, name)
    return (check_int("K", K, low=0), check_int("N", N, low=1), check_int("H", H, low=1),
            check_in_range("gae_lambda", gae_lambda, low=0.0, high=1.0),
            check_choice("critic", critic, ("exact", "mc")), check_rng("rng", rng))


def sampled_mdpo(mdp: TabularMDP, *, K: int, m: int | float, step: Any, N: int, H: int,
                 rng: Any, gae_lambda: float = 0.95, critic: str = "exact",
                 standardize: bool = False, alpha_scale: float = 0.5,
                 optimizer: str = "sgd", lr: float = 3e-4, clip: float | None = 0.5,
                 pi0: Any = None) -> MDPORun:
    """On-policy MDPO from rollouts with GAE advantages [mdpo-card, §3.6; Tomar et al. Alg. 1].

    Each iteration: :func:`collect_batch` with pi_k, then ``m`` gradient steps on the sampled
    surrogate (= MDPO's tabular objective with w = n(s)/n and A = Atilde, module docstring;
    ``m = numpy.inf``: its exact maximiser pi_k exp(t_k Atilde)/Z on visited states).
    ``step``: t_k (e.g. ``anneal(K)``). The run records the exact V, Q of every iterate;
    ``Q_used`` holds Atilde; ``inner_error`` compares with the sampled surrogate's maximiser.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import anneal
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> out = sampled_mdpo(mdp, K=20, m=10, step=anneal(20), N=8, H=30, rng=0)
    >>> bool(out.run.values(mdp.rho)[-1] > out.run.values(mdp.rho)[0])
    True
    """
    K, N, H, gae_lambda, critic, gen = _check_common(mdp, K, N, H, gae_lambda, critic, rng,
                                                     "sampled_mdpo")
    if m != np.inf:
        m = check_int("m", m, low=1)
    schedule = as_schedule(step)
    if schedule.name == "greedy":
        raise ValueError("MDPO needs finite steps t_k; for the greedy limit use pmd")
    alpha_scale = check_in_range("alpha_scale", alpha_scale, low=0.0, low_open=True)
    optimizer = check_choice("optimizer", optimizer, ("sgd", "adam"))
    adam = Adam((mdp.S, mdp.A), check_in_range("lr", lr, low=0.0, low_open=True),
                clip=clip) if optimizer == "adam" else None

    def inner(k, logpi, pi):
        b = collect_batch(mdp, pi, N=N, H=H, rng=gen, gae_lambda=gae_lambda, critic=critic,
                          standardize=standardize)
        t = schedule(k)
        new, target = _mdpo_inner(logpi, b.A, b.w, t, m, alpha_scale, adam)
        return new, target, b.A, t, b.w

    return _outer(mdp, K, pi0, inner, f"sampled-mdpo(m={m})")


def sampled_ppo_clip(mdp: TabularMDP, *, K: int, N: int, H: int, rng: Any, eps: float = 0.2,
                     epochs: int = 10, lr: float = 0.5, gae_lambda: float = 0.95,
                     critic: str = "exact", standardize: bool = False,
                     pi0: Any = None) -> MDPORun:
    """PPO-clip from rollouts with GAE advantages [mdpo-card, §3.8, T2]: ``epochs``
    full-batch gradient steps (step ``lr`` per unit of w / max w) on the clipped surrogate of
    the batch (module docstring). ``inner_error`` is 0 (no closed form); ``kl`` the
    sample-weighted KL(pi_{k+1} || pi_k).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> out = sampled_ppo_clip(rls.mdps.riverswim(gamma=0.9), K=2, N=4, H=20, rng=0)
    >>> out.run.method
    'sampled-ppo-clip'
    """
    K, N, H, gae_lambda, critic, gen = _check_common(mdp, K, N, H, gae_lambda, critic, rng,
                                                     "sampled_ppo_clip")
    eps = check_in_range("eps", eps, low=0.0, high=1.0, low_open=True, high_open=True)
    epochs = check_int("epochs", epochs, low=1)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)

    def inner(k, logpi, pi):
        b = collect_batch(mdp, pi, N=N, H=H, rng=gen, gae_lambda=gae_lambda, critic=critic,
                          standardize=standardize)
        w = b.w / b.w.max()
        theta = logpi.copy()
        for _ in range(epochs):
            theta = theta + lr * _ppo_grad(theta, pi, b.A_pos, b.A_neg, w, eps)
        new = log_normalize(theta)
        return new, new, b.A, lr, b.w

    return _outer(mdp, K, pi0, inner, "sampled-ppo-clip")


def _outer(mdp: TabularMDP, K: int, pi0: Any, inner, method: str) -> MDPORun:
    """K iterations of ``inner(k, logpi, pi) -> (new, target, A_used, step, w)`` with exact
    evaluation of every iterate."""
    S, A = mdp.S, mdp.A
    logpi = _start(mdp, pi0, interior=True)
    pis, logs, Vs, Qs = (np.empty((K + 1, S, A)), np.empty((K + 1, S, A)), np.empty((K + 1, S)),
                         np.empty((K + 1, S, A)))
    used, etas, err, kls = np.empty((K, S, A)), np.empty(K), np.empty(K), np.empty(K)
    for k in range(K + 1):
        pi = probabilities(logpi)
        pis[k], logs[k] = pi, logpi
        Vs[k], Qs[k] = _eval_lam(mdp, pi, logpi, 0.0)
        if k == K:
            break
        new, target, used[k], etas[k], w = inner(k, logpi, pi)
        err[k] = float(np.abs(np.exp(new) - np.exp(target)).max())
        kls[k] = _kl_weighted(w, new, logpi)
        logpi = new
    run = PMDRun(readonly(pis), readonly(logs), readonly(Vs), readonly(Qs), readonly(used),
                 readonly(etas), 0.0, method)
    return MDPORun(run, readonly(err), readonly(kls))
