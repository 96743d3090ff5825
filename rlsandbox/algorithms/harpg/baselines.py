"""Variance-reduced policy-gradient baselines of card §3.4: STORM-PG, IS-MBPG, HA-MBPG, PAGE-PG,
SRVR-PG, HAPG.

The card lists these as the literature's comparison points ("formulas as commonly stated,
constants unverified", card §3.4); all maximise J with non-normalised steps
theta_{t+1} = theta_t + alpha_t d_t and differ in how d_t tracks grad J_H(theta_t):

* importance-sampled correction (STORM-PG, IS-MBPG, PAGE-PG, SRVR-PG): with a batch of M
  trajectories tau_i ~ theta_t and w_i = p(tau_i | theta_{t-1}) / p(tau_i | theta_t),

      d_t = g^(theta_t) + (1 - eta_t) (d_{t-1} - mean_i[w_i g(tau_i, theta_{t-1})]),

  the same tau_i in both terms (:meth:`LogLinearMDP.reweighted`); eta_t = 0 is the SARAH form
  d_t = d_{t-1} + mean_i[g(tau_i, theta_t) - w_i g(tau_i, theta_{t-1})] (PAGE-PG, SRVR-PG);
* Hessian-aided correction (HAPG): d_t = d_{t-1} + mean_i[B(tau^_i, theta^_i)(theta_t - theta_{t-1})],
  theta^_i = q_i theta_t + (1 - q_i) theta_{t-1}, q_i ~ U[0, 1] (no importance weights);
* Hessian-aided momentum (HA-MBPG): the HVP correction inside the STORM form,
  d_t = eta_t g^(theta_t) + (1 - eta_t)(d_{t-1} + v_t), v_t = mean_i B(tau^_i, theta^_t) Delta_t
  with one q_t ~ U[0, 1] per iteration: HARPG's recursion (card §3.2) with IS-MBPG's schedule,
  run by :func:`~.methods.run` with a :class:`~.methods.MBPGSchedule`;
* restarts: d_t = the mean GPOMDP gradient of ``big_batch`` fresh trajectories at theta_t at
  t = 0 (all methods except IS-MBPG, which starts from one trajectory), at every multiple of
  ``epoch`` (SRVR-PG, HAPG: the double loop) or with probability ``p`` (PAGE-PG).

Methods and their card §3.4 schedules:

=========  =========================================================  ==========================
method     d_t                                                        step / momentum
=========  =========================================================  ==========================
storm_pg   IS correction, batch M, big-batch d_0                      constant alpha, eta
is_mbpg    IS correction, one trajectory (M = 1), d_0 = g(tau_0)      alpha_t = k/(m+t)^{1/3},
           (M > 1: a mini-batch of M, d_0 from M trajectories)
                                                                      eta_{t+1} = c alpha_t^2
ha_mbpg    HVP momentum (STORM form), M at theta_t + M at theta^_t,   as is_mbpg
           d_0 = g^(theta_0) (M trajectories)
page_pg    SARAH (eta = 0) with IS; restart with probability p        constant alpha
srvr_pg    SARAH with IS; restart every ``epoch`` iterations          constant alpha
hapg       SARAH with the interpolated HVP; restart every ``epoch``   constant alpha
=========  =========================================================  ==========================

Trajectory counts (card §2 convention): ``big_batch`` per restart, M per other iteration (the
IS methods reuse their batch for both terms; HAPG samples its batch at the interpolated points
only); HA-MBPG counts as (N-)HARPG, M at t = 0 and 2M afterwards (a batch at theta_t for g, an
independent one at theta^_t for the HVP). Importance weights need the visited path: supported for :class:`LogLinearMDP` and
:class:`LogisticBandit` (HAPG also runs on :class:`ScalarLQR` and :class:`GaussianBandit`).

HA-MBPG provenance. The card names HA-MBPG ("Hessian-aided variant", §3.4, **unverified**)
without a formula. The update above is read from the authors' public code (GitHub
``gaosh/MBPG``, ``Algorithms/MBPG_HA.py``, Huang, Gao, Pei, Huang, ICML 2020): momentum
d_t = a_t g_t + (1 - a_t)(d_{t-1} + v_t) with v_t the HVP at a point drawn uniformly on the
segment [theta_{t-1}, theta_t] (one draw per iteration), a_t = c eta_t^2 with eta_t the step.
Departures of that code that are not reproduced here (the paper's text was not available to
check which of them the paper states): it samples one batch at the interpolated point only and
reweights it to theta_t with importance weights clipped to [2 - th, th]; its step is adaptive,
eta_t = lr / (w + grad_factor sum_{i<=t} ||g_i||^2)^{1/3} (an AdaGrad-norm form) instead of
k/(m+t)^{1/3}; a_t is floored at 0.3; d_t is clipped coordinate-wise to [-g_max, g_max]; the
HVP's Hessian term is a central finite difference of gradients; advantages are baseline-corrected
and standardised. Here the schedule is IS-MBPG's (card §3.4: alpha_t = k/(m+t)^{1/3},
eta_{t+1} = c alpha_t^2) and the HVP is the exact B(tau^, theta^) Delta of card §2 on an
independent batch (as HARPG), so HA-MBPG is HARPG's recursion with this schedule, non-normalised.

Deviations: PAGE-PG's coin is drawn once per iteration for all replicates (so the replicates
share their restart times and trajectory counts; their trajectories stay independent).
IS-MBPG's eta_{t+1} = c alpha_t^2 must be <= 1: a (k, m, c) violating it raises instead of being
clipped. The methods' own analyses (stationarity rates O(eps^-3)) are not checked here.

Examples
--------
>>> import numpy as np
>>> from rlsandbox.mdps.harpg import logistic_bump
>>> bump = logistic_bump()
>>> tr = srvr_pg(bump, theta0=np.zeros(2), T=200, H=1, alpha=0.5, epoch=20, big_batch=32,
...              M=4, replicates=8, rng=0)
>>> tr.trajectories_total                  # 10 restarts x 32 + 190 iterations x 4
1080
>>> bool(np.mean(bump.J(tr.theta_final)) > bump.J(np.zeros(2)))
True
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rlsandbox._validate import check_float_array, check_in_range, check_int, check_rng, readonly
from rlsandbox.algorithms.harpg import estimators as est
from rlsandbox.algorithms.harpg.methods import MBPGSchedule, Trace, run

__all__ = ["BASELINES", "storm_pg", "is_mbpg", "ha_mbpg", "page_pg", "srvr_pg", "hapg"]

#: Baseline keys (card §3.4).
BASELINES = ("storm_pg", "is_mbpg", "ha_mbpg", "page_pg", "srvr_pg", "hapg")


def _loop(problem: Any, method: str, *, theta0: Any, T: int, H: int, rng: Any, M: int,
          big_batch: int, replicates: int, checkpoints: Sequence[int] | None,
          alpha: Callable[[int], float], eta: Callable[[int], float] | None,
          restart: Callable[[int, np.random.Generator], bool], correction: str) -> Trace:
    """The shared recursion (module docstring). Per iteration t the draws are, in order:
    the restart decision (PAGE-PG: one uniform), then either the big batch at theta_t
    (restart) or, for "is", the batch at theta_t, for "hvp", q (R, M) uniforms and the batch at
    the interpolated points."""
    T = check_int("T", T, low=1)
    H = check_int("H", H, low=1)
    M = check_int("M", M, low=1)
    big_batch = check_int("big_batch", big_batch, low=1)
    rng = check_rng("rng", rng)
    d = int(problem.d)
    if correction == "is" and not hasattr(problem, "reweighted"):
        raise TypeError(f"{method} needs importance weights; {type(problem).__name__} cannot "
                        f"re-evaluate a trajectory at another parameter (use LogLinearMDP or "
                        f"LogisticBandit, or hapg)")
    th0 = check_float_array("theta0", theta0, ndim=(1, 2))
    if th0.shape[-1] != d:
        raise ValueError(f"theta0 has shape {th0.shape}; expected ({d},) or (R, {d})")
    theta = np.repeat(th0[None, :], check_int("replicates", replicates, low=1), axis=0) \
        if th0.ndim == 1 else th0.copy()
    R = theta.shape[0]
    ck = np.arange(T, dtype=np.int64) if checkpoints is None else \
        np.unique(np.asarray(list(checkpoints), dtype=np.int64))
    if ck.size == 0 or ck[0] < 0 or ck[-1] >= T:
        raise ValueError(f"checkpoints must be iterations in [0, {T - 1}]")
    record = np.full(T, -1, dtype=np.int64)
    record[ck] = np.arange(ck.size)
    theta_rec, d_rec = np.empty((R, ck.size, d)), np.empty((R, ck.size, d))
    used = np.zeros(T + 1, dtype=np.int64)                # trajectories before iteration t
    theta_prev = theta.copy()
    dir_ = np.zeros((R, d))
    for t in range(T):
        if restart(t, rng):
            ro = problem.sample(theta, H=H, n=big_batch, rng=rng)
            dir_ = est.gpomdp(ro).reshape(R, big_batch, d).mean(axis=1)
            n_used = big_batch
        elif correction == "is":
            ro = problem.sample(theta, H=H, n=M, rng=rng)
            g_now = est.gpomdp(ro).reshape(R, M, d)
            g_old, log_w = problem.reweighted(ro, theta_prev)
            w = np.exp(np.asarray(log_w).reshape(R, M))
            corr = (w[..., None] * np.asarray(g_old).reshape(R, M, d)).mean(axis=1)
            e = eta(t)
            dir_ = g_now.mean(axis=1) + (1.0 - e) * (dir_ - corr)
            n_used = M
        else:                                              # hvp (HAPG): one q per trajectory
            delta = theta - theta_prev
            q = rng.random((R, M))
            th_hat = (q[..., None] * theta[:, None, :] + (1.0 - q[..., None])
                      * theta_prev[:, None, :]).reshape(R * M, d)
            ro = problem.sample(th_hat, H=H, n=1, rng=rng)
            v = est.hvp(ro, np.repeat(delta, M, axis=0))[:, 0, :].reshape(R, M, d)
            dir_ = dir_ + v.mean(axis=1)
            n_used = M
        used[t + 1] = used[t] + n_used
        k = record[t]
        if k >= 0:
            theta_rec[:, k] = theta
            d_rec[:, k] = dir_
        a = alpha(t)
        theta_prev = theta
        with np.errstate(over="ignore", invalid="ignore"):
            theta = theta + a * dir_
        if not np.isfinite(theta).all():
            raise FloatingPointError(f"{method}: theta became non-finite at iteration {t} "
                                     f"(alpha_t = {a:.3g}); use a smaller step size")
    return Trace(method, readonly(ck), readonly(theta_rec), readonly(d_rec), readonly(theta),
                 T, M, H, readonly(used[ck]), int(used[T]))


def _common(kw: dict[str, Any]) -> dict[str, Any]:
    return {k: kw[k] for k in ("theta0", "T", "H", "rng", "replicates", "checkpoints")}


def storm_pg(problem: Any, *, theta0: Any, T: int, H: int, alpha: float, eta: float,
             big_batch: int, rng: Any, M: int = 1, replicates: int = 1,
             checkpoints: Sequence[int] | None = None) -> Trace:
    """STORM-PG [card §3.4; Yuan, Lian, Liu, Zhou 2020]: d_0 = big-batch gradient, then
    d_t = g^(theta_t) + (1 - eta)(d_{t-1} - mean_i w_i g(tau_i, theta_{t-1})), constant alpha, eta.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.harpg import logistic_bump
    >>> tr = storm_pg(logistic_bump(), theta0=np.zeros(2), T=50, H=1, alpha=0.3, eta=0.2,
    ...               big_batch=16, M=2, rng=0)
    >>> tr.trajectories_total                      # 16 at t = 0, then 2 per iteration
    114
    """
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    eta = check_in_range("eta", eta, low=0.0, high=1.0)
    return _loop(problem, "storm_pg", **_common(locals()), M=M, big_batch=big_batch,
                 alpha=lambda t: alpha, eta=lambda t: eta, restart=lambda t, r: t == 0,
                 correction="is")


def is_mbpg(problem: Any, *, theta0: Any, T: int, H: int, k: float, m: float, c: float,
            rng: Any, M: int = 1, replicates: int = 1,
            checkpoints: Sequence[int] | None = None) -> Trace:
    """IS-MBPG [card §3.4; Huang, Gao, Pei, Huang 2020]: the STORM-PG recursion with one
    trajectory per iteration, d_0 = g(tau_0, theta_0), alpha_t = k/(m+t)^{1/3},
    eta_{t+1} = c alpha_t^2 (eta_t for t >= 1; needs c alpha_0^2 <= 1). ``M`` > 1 averages M
    trajectories per iteration (a mini-batch, card §3.3; the method's own setting is M = 1).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.harpg import logistic_bump
    >>> tr = is_mbpg(logistic_bump(), theta0=np.zeros(2), T=30, H=1, k=0.5, m=8.0, c=1.0, rng=0)
    >>> tr.trajectories_total
    30
    """
    sched = _mbpg_schedule("is_mbpg", k, m, c)
    return _loop(problem, "is_mbpg", **_common(locals()), M=M, big_batch=M,
                 alpha=sched.alpha, eta=sched.eta, restart=lambda t, r: t == 0,
                 correction="is")


def _mbpg_schedule(method: str, k: float, m: float, c: float) -> MBPGSchedule:
    """``MBPGSchedule(k, m, c)`` (which checks its arguments), errors prefixed by the method."""
    try:
        return MBPGSchedule(k, m, c)
    except ValueError as e:
        raise ValueError(f"{method}: {e}") from None


def ha_mbpg(problem: Any, *, theta0: Any, T: int, H: int, k: float, m: float, c: float,
            rng: Any, M: int = 1, replicates: int = 1,
            checkpoints: Sequence[int] | None = None) -> Trace:
    """HA-MBPG [card §3.4, unverified; Huang, Gao, Pei, Huang 2020, update read in their code]:
    d_0 = g^(theta_0); for t >= 1, with q_t ~ U[0, 1] and theta^_t = q_t theta_t +
    (1 - q_t) theta_{t-1},

        d_t = eta_t g^(theta_t) + (1 - eta_t)(d_{t-1} + mean_i B(tau^_i, theta^_t) Delta_t),
        theta_{t+1} = theta_t + alpha_t d_t,   alpha_t = k/(m+t)^{1/3}, eta_t = c alpha_{t-1}^2.

    M trajectories at theta_0, then M at theta_t and M (independent) at theta^_t per iteration:
    ``run(problem, "harpg", schedule=MBPGSchedule(k, m, c))``, after checking eta_1 <= 1.
    Module docstring "HA-MBPG provenance" lists where the authors' code departs.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.harpg import logistic_bump
    >>> tr = ha_mbpg(logistic_bump(), theta0=np.zeros(2), T=30, H=1, k=0.5, m=8.0, c=1.0,
    ...              M=2, rng=0)
    >>> tr.trajectories_total                      # 2 at t = 0, then 2 + 2 per iteration
    118
    """
    schedule = _mbpg_schedule("ha_mbpg", k, m, c)
    tr = run(problem, "harpg", theta0=theta0, T=T, H=H, schedule=schedule, rng=rng, M=M,
             replicates=replicates, checkpoints=checkpoints)
    return dataclasses.replace(tr, method="ha_mbpg")


def page_pg(problem: Any, *, theta0: Any, T: int, H: int, alpha: float, p: float,
            big_batch: int, rng: Any, M: int = 1, replicates: int = 1,
            checkpoints: Sequence[int] | None = None) -> Trace:
    """PAGE-PG [card §3.4; Gargiani et al. 2022]: with probability p (and at t = 0) d_t = the
    big-batch gradient at theta_t, else d_t = d_{t-1} + mean_i[g(tau_i, theta_t) - w_i
    g(tau_i, theta_{t-1})]; constant alpha. One coin per iteration (module Deviations)."""
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    p = check_in_range("p", p, low=0.0, high=1.0)
    return _loop(problem, "page_pg", **_common(locals()), M=M, big_batch=big_batch,
                 alpha=lambda t: alpha, eta=lambda t: 0.0,
                 restart=lambda t, r: t == 0 or bool(r.random() < p), correction="is")


def srvr_pg(problem: Any, *, theta0: Any, T: int, H: int, alpha: float, epoch: int,
            big_batch: int, rng: Any, M: int = 1, replicates: int = 1,
            checkpoints: Sequence[int] | None = None) -> Trace:
    """SRVR-PG [card §3.4; Xu, Gao, Gu 2020]: SARAH with importance weights, a big-batch
    restart every ``epoch`` iterations; constant alpha."""
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    epoch = check_int("epoch", epoch, low=1)
    return _loop(problem, "srvr_pg", **_common(locals()), M=M, big_batch=big_batch,
                 alpha=lambda t: alpha, eta=lambda t: 0.0,
                 restart=lambda t, r: t % epoch == 0, correction="is")


def hapg(problem: Any, *, theta0: Any, T: int, H: int, alpha: float, epoch: int,
         big_batch: int, rng: Any, M: int = 1, replicates: int = 1,
         checkpoints: Sequence[int] | None = None) -> Trace:
    """HAPG [card §3.4; Shen et al. 2019]: a big-batch restart every ``epoch`` iterations, in
    between d_t = d_{t-1} + mean_i B(tau^_i, theta^_i)(theta_t - theta_{t-1}) at uniform points
    of the segment (the estimator HARPG uses, without momentum); constant alpha."""
    alpha = check_in_range("alpha", alpha, low=0.0, low_open=True)
    epoch = check_int("epoch", epoch, low=1)
    return _loop(problem, "hapg", **_common(locals()), M=M, big_batch=big_batch,
                 alpha=lambda t: alpha, eta=None,
                 restart=lambda t, r: t % epoch == 0, correction="hvp")
