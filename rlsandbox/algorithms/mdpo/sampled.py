"""Sample-based policy mirror descent: Q estimated from a simulator [mdpo-card, §3.5(b), (c)].

Two estimators, both drawing every sample through :mod:`rlsandbox.sampling` with an explicit
``rng`` (a Generator advanced in a fixed order, so a seed gives bit-identical runs):

* Xiao's generative-model estimator [Xiao §5.1; mdpo-card §3.5(b)]: for every (s, a), M
  independent rollouts of horizon H from (s, a) under pi,

      Qhat(s, a) = (1/M) sum_i sum_{t=0}^{H-1} gamma^t r_t^(i),

  each sample in [0, (1 - gamma^H)/(1 - gamma)] for rewards in [0, 1], with bias in
  [-gamma^H/(1-gamma), 0] (the missing tail). :func:`generative_q`; :func:`sampled_pmd` feeds
  it to the PMD step (an inexact PMD, card C6/C7).
* Shani's Sample-Based TRPO [Shani Alg. 4; mdpo-card §3.5(c)], per iteration: M draws
  s_m ~ d_nu^{pi_k} (start s ~ nu; at each step stop with probability 1 - gamma, else move
  under pi_k; forced stop after T steps), a_m ~ Uniform(A), qhat_m = the T-step truncated
  return of pi_k from (s_m, a_m); then for every visited state
  Qtilde(s, a) = (A / n(s)) sum_{m: s_m = s, a_m = a} qhat_m (importance weight A of the
  uniform action) and the closed-form KL step; unvisited states keep pi_k.
  :func:`sample_based_trpo`.

How the draws are made: a rollout from (s, a) takes its first transition from
:func:`rlsandbox.sampling.generative` (``n_per_pair`` = the largest number of rollouts any
pair needs; the first draws of each pair are used) and continues with
:func:`rlsandbox.sampling.trajectories` started at the point mass on each next state (one
call per distinct next state, in increasing state order). d_nu^{pi} draws come from
``trajectories`` started at nu with T steps and an independent truncated geometric stopping
time tau (P(tau = t) = (1-gamma) gamma^t for t < T, P(tau = T) = gamma^T).

Deviations: Shani's printed sampler keeps the current state with probability gamma and its
printed truncation length is negative; we use the corrected versions of the card
([mdpo-card, Pitfall 21], marked [unverified correction]), with T chosen by the caller.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_int, check_rng, check_stochastic
from rlsandbox.algorithms.mdpo.pmd import PMDRun, _loop, _mirror_update, _start
from rlsandbox.algorithms.mdpo.policies import (_kl_step)
from rlsandbox.algorithms.mdpo.regularized import _require
from rlsandbox.algorithms.mdpo.schedules import as_schedule
from rlsandbox.mdp import TabularMDP
from rlsandbox.sampling import generative, trajectories

__all__ = ["rollout_returns", "pair_returns", "generative_q", "sampled_pmd", "shani_q",
           "sample_based_trpo", "occupancy_states"]


def rollout_returns(mdp: TabularMDP, pi: np.ndarray, starts: np.ndarray, horizon: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Discounted returns sum_{t<horizon} gamma^t r_t of rollouts of pi from the states
    ``starts`` (n,), through :func:`rlsandbox.sampling.trajectories` (one call per distinct
    start state, increasing order). ``horizon = 0`` gives zeros."""
    out = np.zeros(starts.shape[0])
    if horizon == 0:
        return out
    for s in np.unique(starts):
        idx = np.flatnonzero(starts == s)
        tr = trajectories(mdp, pi, n=int(idx.size), horizon=horizon, rng=rng,
                          rho=np.eye(mdp.S)[s])
        out[idx] = tr.returns(mdp.gamma)
    return out


def pair_returns(mdp: TabularMDP, pi: np.ndarray, s: np.ndarray, a: np.ndarray, horizon: int,
                 rng: np.random.Generator) -> np.ndarray:
    """Returns sum_{t<horizon} gamma^t r_t of rollouts that take action a[i] in state s[i] and
    then follow pi (horizon >= 1), one per pair (module docstring for the draws)."""
    n = s.shape[0]
    counts = np.bincount(s * mdp.A + a, minlength=mdp.S * mdp.A)
    g = generative(mdp, n_per_pair=max(int(counts.max()), 1), rng=rng)
    # the j-th occurrence of pair (s, a) among the requests uses draw j of that pair
    order = np.argsort(s * mdp.A + a, kind="stable")
    rank = np.empty(n, dtype=np.int64)
    pair_sorted = (s * mdp.A + a)[order]
    first = np.searchsorted(pair_sorted, pair_sorted, side="left")
    rank[order] = np.arange(n) - first
    s_next = g.s_next[s, a, rank]
    r0 = g.r[s, a, rank]
    return r0 + mdp.gamma * rollout_returns(mdp, pi, s_next, horizon - 1, rng)


def generative_q(mdp: TabularMDP, pi: Any, *, M: int, H: int, rng: Any) -> np.ndarray:
    """Xiao's generative-model estimate of Q^pi (S, A): M rollouts of horizon H per (s, a)
    [mdpo-card, §3.5(b)].

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(gamma=0.5)
    >>> pi = np.full((6, 2), 0.5)
    >>> Qhat = generative_q(mdp, pi, M=200, H=30, rng=0)
    >>> Q = rls.q_values(mdp, rls.evaluate(mdp, pi))
    >>> bool(np.abs(Qhat - Q).max() < 0.1)      # std of a mean of 200 draws in [0, 2]: < 0.071
    True
    """
    _require(mdp, "generative_q")
    M = check_int("M", M, low=1)
    H = check_int("H", H, low=1)
    gen = check_rng("rng", rng)
    p = np.asarray(mdp.policy(pi))
    S, A = mdp.S, mdp.A
    s = np.repeat(np.arange(S), A * M)
    a = np.tile(np.repeat(np.arange(A), M), S)
    ret = pair_returns(mdp, p, s, a, H, gen)
    return ret.reshape(S, A, M).mean(axis=2)


def sampled_pmd(mdp: TabularMDP, *, K: int, step: Any, M: int, H: int, rng: Any,
                mirror: str = "kl", pi0: Any = None) -> PMDRun:
    """PMD fed Xiao's generative-model estimate Qhat_k (M rollouts of horizon H per pair)
    [mdpo-card, §3.5(b), C7]. ``Q_used`` holds the estimates, ``V``/``Q`` the exact values.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import geometric
    >>> mdp = rls.mdps.riverswim(gamma=0.5)
    >>> run = sampled_pmd(mdp, K=3, step=geometric(1.0, 0.5), M=20, H=10, rng=0)
    >>> run.Q_used.shape
    (3, 6, 2)
    """
    _require(mdp, "sampled_pmd")
    K = check_int("K", K, low=0)
    M = check_int("M", M, low=1)
    H = check_int("H", H, low=1)
    gen = check_rng("rng", rng)
    schedule = as_schedule(step)
    mirror = check_choice("mirror", mirror, ("kl", "euclid"))
    logpi0 = _start(mdp, pi0, interior=mirror == "kl")

    def estimate(k, pi, logpi):        # the update sees Qhat_k; the run records exact V, Q
        return None, generative_q(mdp, pi, M=M, H=H, rng=gen)

    return _loop(mdp, logpi0, K, _mirror_update(schedule, mirror), lam=0.0,
                 method=f"sampled-pmd-{mirror}", evaluator=estimate)


def occupancy_states(mdp: TabularMDP, pi: np.ndarray, nu: np.ndarray, *, n: int, T: int,
                     rng: np.random.Generator) -> np.ndarray:
    """n draws s ~ d_nu^pi (truncated at T steps; module docstring): int64 (n,).

    Draw order: one ``trajectories(..., n, horizon=T, rho=nu)`` call, then the stopping times
    ``rng.geometric(1 - gamma, n) - 1`` capped at T.
    """
    tr = trajectories(mdp, pi, n=n, horizon=T, rng=rng, rho=nu)
    tau = np.minimum(rng.geometric(1.0 - mdp.gamma, size=n) - 1, T)
    return tr.s[np.arange(n), tau]


def shani_q(mdp: TabularMDP, pi: Any, *, M: int, T: int, rng: Any,
            nu: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """The estimate of one iteration of Shani's Sample-Based TRPO [mdpo-card, §3.5(c)]:
    M draws s_m ~ d_nu^pi (:func:`occupancy_states`), a_m ~ Uniform(A), qhat_m the T-step
    return from (s_m, a_m) (:func:`pair_returns`), and

        Qtilde(s, a) = (A / n(s)) sum_{m: s_m = s, a_m = a} qhat_m   on visited states (0 elsewhere)

    Returns ``(Qtilde (S, A), n (S,) counts n(s))``. For any pi' (S, A),
    sum_s (n(s)/M) <Qtilde(s, .), pi'(.|s)> = (1/M) sum_m A qhat_m pi'(a_m|s_m) is an unbiased
    estimate of sum_s d_nu^pi(s) <Q^pi(s, .), pi'(.|s)> up to the truncation bias (at most
    gamma^T max|R| / (1-gamma) per sample).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(gamma=0.5)
    >>> Qt, n = shani_q(mdp, np.full((6, 2), 0.5), M=100, T=20, rng=0)
    >>> int(n.sum()), Qt.shape
    (100, (6, 2))
    """
    _require(mdp, "shani_q")
    M = check_int("M", M, low=1)
    T = check_int("T", T, low=1)
    gen = check_rng("rng", rng)
    nu = mdp.rho if nu is None else check_stochastic("nu", nu, shape=(mdp.S,))
    return _shani_q(mdp, np.asarray(mdp.policy(pi)), nu, M, T, gen)


def _shani_q(mdp: TabularMDP, pi: np.ndarray, nu: np.ndarray, M: int, T: int,
             gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    S, A = mdp.S, mdp.A
    s = occupancy_states(mdp, pi, nu, n=M, T=T, rng=gen)
    a = gen.integers(0, A, size=M)
    q = pair_returns(mdp, pi, s, a, T, gen)
    n_s = np.bincount(s, minlength=S).astype(np.float64)
    sums = np.bincount(s * A + a, weights=q, minlength=S * A).reshape(S, A)
    visited = n_s > 0
    Qt = np.zeros((S, A))
    Qt[visited] = A * sums[visited] / n_s[visited, None]
    return Qt, n_s


def sample_based_trpo(mdp: TabularMDP, *, K: int, step: Any, M: int, T: int, rng: Any,
                      nu: Any = None, pi0: Any = None) -> PMDRun:
    """Shani's Sample-Based TRPO (unregularised, KL) [mdpo-card, §3.5(c); Shani Alg. 4].

    Per iteration: the estimate Qtilde of :func:`shani_q` (M draws s_m ~ d_nu^{pi_k},
    a_m ~ Uniform(A), T-step returns qhat_m,
    Qtilde(s, a) = (A/n(s)) sum_{m: s_m=s, a_m=a} qhat_m on visited states); the KL step with
    t_k on visited states, pi_k kept elsewhere. ``Q_used`` holds Qtilde (0 on unvisited
    states). Shani's guarantee is for the best iterate so far (use ``run.values(mu)``).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(gamma=0.5)
    >>> run = sample_based_trpo(mdp, K=2, step=0.5, M=50, T=10, rng=0)
    >>> run.method
    'sample-based-trpo'
    """
    _require(mdp, "sample_based_trpo")
    K = check_int("K", K, low=0)
    M = check_int("M", M, low=1)
    T = check_int("T", T, low=1)
    gen = check_rng("rng", rng)
    schedule = as_schedule(step)
    if schedule.name == "greedy":
        raise ValueError("sample_based_trpo takes finite steps t_k")
    nu = mdp.rho if nu is None else check_stochastic("nu", nu, shape=(mdp.S,))
    visited = np.zeros(mdp.S, dtype=bool)  # set by estimate(k), read by update(k) right after

    def estimate(k, pi, logpi):
        Qt, n_s = _shani_q(mdp, pi, nu, M, T, gen)
        visited[:] = n_s > 0
        return None, Qt

    def update(k, logpi, pi, Qt):
        t = schedule(k)
        return np.where(visited[:, None], _kl_step(logpi, Qt, t), logpi), t

    return _loop(mdp, _start(mdp, pi0, interior=True), K, update, lam=0.0,
                 method="sample-based-trpo", evaluator=estimate)
