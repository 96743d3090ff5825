"""N-PG-IGT, HARPG, N-HARPG and the baselines of card §3, run on many replicates at once.

All methods *maximise* J. "Sample at theta" draws M independent length-H trajectories under
pi_theta from rho (M = 1 is the paper's batch-free setting; a mini-batch averages M
per-trajectory estimates, card §3.3). Indices follow card §3: theta_{-1} := theta_0,
d_{-1} := 0; normalised steps keep theta_{t+1} = theta_t when d_t = 0.

N-PG-IGT [card §3.1, paper]::

    theta~_t = theta_t + ((1 - eta_t)/eta_t) (theta_t - theta_{t-1})     (look-ahead point)
    d_t      = (1 - eta_t) d_{t-1} + eta_t g(tau~_t, theta~_t),  tau~_t sampled at theta~_t
    theta_{t+1} = theta_t + alpha_t d_t / ||d_t||

N-MPG [card §3.3, code]: the same with theta~_t = theta_t (plain normalised momentum).

HARPG / N-HARPG [card §3.2, paper]::

    d_0 = g(tau_0, theta_0)
    t >= 1: q_t ~ U[0, 1], theta^_t = q_t theta_t + (1 - q_t) theta_{t-1}, Delta_t = theta_t - theta_{t-1}
            v_t = B(tau^_t, theta^_t) Delta_t                 (tau^_t sampled at theta^_t)
            d_t = (1 - eta_t)(d_{t-1} + v_t) + eta_t g(tau_t, theta_t)   (tau_t at theta_t)
    theta_{t+1} = theta_t + alpha_t d_t          (HARPG)
                = theta_t + alpha_t d_t/||d_t||  (N-HARPG)

Vanilla PG [card §3.3, code]: theta_{t+1} = theta_t + alpha_t g(tau_t, theta_t) (d_t := g).

Trajectory counts (card §2 "Sample complexity convention", §6 pitfall 14): M per iteration for
vanilla PG, N-MPG and N-PG-IGT; M at t = 0 and 2M afterwards for (N-)HARPG.

Schedules (card §3.5): alpha_t = alpha_0 (2/(t+2))^p_alpha and eta_t = eta_0 (2/(t+2))^p_eta
cover every row of the table: :func:`code_schedule` gives the authors' code shapes,
:func:`theory_schedule` the theorems' (N-PG-IGT and N-HARPG alpha_t = 6 M_g/(mu_F (t+2)) is
the code form with alpha_0 = 3 M_g/mu_F).

Negative-control switches (documented on each function): ``lookahead=False`` (N-PG-IGT without
its look-ahead), ``hvp="none"`` (v_t = 0), ``hvp="endpoint"`` (q_t = 1), ``hvp="reuse"`` (the HVP
from tau_t at theta_t, pitfall 3), ``hvp="transposed"`` (B^T Delta, pitfall 5; unbiased in
mean, see :mod:`.estimators`),
``estimator="gpomdp_from_t"`` (pitfall 2). ``oracle=True`` replaces g by the exact grad J_H and
v_t by the exact difference grad J_H(theta_t) - grad J_H(theta_{t-1}) (claim N4).

Replicates. ``theta0`` of shape (d,) runs ``replicates`` independent copies in lockstep (the
state is (R, d)); every random draw of an iteration is made for all replicates at once, in the
order stated in :func:`run`, so a run is a deterministic function of ``rng``.

Deviations: the optional ``project`` map is applied to theta_{t+1} and to the look-ahead point
theta~_t (the card's safeguard for the LQR, §5.2 F3(c)); the official code's off-by-one in
the IGT look-ahead (eta_{t-1}, card §6 pitfall 6) is not reproduced.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import (check_bool, check_choice, check_float_array, check_in_range,
                                 check_int, check_rng, readonly)
from rlsandbox.algorithms.harpg import estimators as est

__all__ = ["Schedule", "MBPGSchedule", "code_schedule", "theory_schedule", "Trace", "run", "METHODS",
           "vanilla_pg", "n_mpg", "n_pg_igt", "harpg", "n_harpg", "trajectories_before",
           "log_checkpoints"]

#: Method keys (the official code's CLI keys in brackets, card §1): vanilla_pg [sgd],
#: n_mpg [nsgdm], n_pg_igt [nigt], harpg [stormhess], n_harpg [nstormhess].
METHODS = ("vanilla_pg", "n_mpg", "n_pg_igt", "harpg", "n_harpg")
NORMALIZED = {"vanilla_pg": False, "n_mpg": True, "n_pg_igt": True, "harpg": False,
              "n_harpg": True}
HVP_MODES = ("interpolated", "none", "endpoint", "reuse", "transposed")
ESTIMATORS = ("gpomdp", "reinforce", "gpomdp_from_t")


# =============================================================================== schedules
@dataclass(frozen=True)
class Schedule:
    """alpha_t = alpha0 (2/(t+2))^alpha_power,  eta_t = eta0 (2/(t+2))^eta_power (card §3.5).

    Examples
    --------
    >>> s = Schedule(alpha0=0.5, alpha_power=1.0, eta0=1.0, eta_power=0.8)
    >>> s.alpha(0), s.eta(0), round(s.alpha(2), 12)
    (0.5, 1.0, 0.25)
    """

    alpha0: float
    alpha_power: float
    eta0: float = 1.0
    eta_power: float = 1.0

    def __post_init__(self) -> None:
        check_in_range("alpha0", self.alpha0, low=0.0, low_open=True)
        check_in_range("alpha_power", self.alpha_power, low=0.0)
        check_in_range("eta0", self.eta0, low=0.0, high=1.0, low_open=True)
        check_in_range("eta_power", self.eta_power, low=0.0)

    def alpha(self, t: int | np.ndarray) -> float | np.ndarray:
        return self.alpha0 * (2.0 / (np.asarray(t, dtype=np.float64) + 2.0)) ** self.alpha_power \
            if np.ndim(t) else self.alpha0 * (2.0 / (t + 2.0)) ** self.alpha_power

    def eta(self, t: int | np.ndarray) -> float | np.ndarray:
        return self.eta0 * (2.0 / (np.asarray(t, dtype=np.float64) + 2.0)) ** self.eta_power \
            if np.ndim(t) else self.eta0 * (2.0 / (t + 2.0)) ** self.eta_power


@dataclass(frozen=True)
class MBPGSchedule:
    """alpha_t = k/(m+t)^{1/3},  eta_t = c alpha_{t-1}^2 for t >= 1 (eta_0 = 1, unused: d_0 is
    a plain gradient estimate): the schedule of Huang et al. 2020 as card §3.4 states it for
    IS-MBPG, also used by HA-MBPG (:mod:`rlsandbox.algorithms.harpg.baselines`). k, m > 0,
    c >= 0 and eta_1 = c alpha_0^2 <= 1 (a convex combination), checked at construction.

    Examples
    --------
    >>> s = MBPGSchedule(k=0.5, m=8.0, c=1.0)
    >>> s.alpha(0), s.eta(1)
    (0.25, 0.0625)
    """

    k: float
    m: float
    c: float

    def __post_init__(self) -> None:
        k = check_in_range("k", self.k, low=0.0, low_open=True)
        m = check_in_range("m", self.m, low=0.0, low_open=True)
        c = check_in_range("c", self.c, low=0.0)
        if c * (k / m ** (1.0 / 3.0)) ** 2 > 1.0:
            raise ValueError(f"eta_1 = c alpha_0^2 = {c * (k / m ** (1 / 3)) ** 2:.4g} > 1; "
                             f"choose c <= m^(2/3)/k^2 = {m ** (2 / 3) / k ** 2:.4g}")

    def alpha(self, t: int) -> float:
        return self.k / (self.m + t) ** (1.0 / 3.0)

    def eta(self, t: int) -> float:
        return 1.0 if t == 0 else self.c * self.alpha(t - 1) ** 2


#: (alpha_power, eta_power) of the authors' code per method (card §3.5, "code" columns).
CODE_POWERS = {"vanilla_pg": (2.0 / 3.0, 0.0), "n_mpg": (1.0, 2.0 / 3.0),
               "n_pg_igt": (1.0, 4.0 / 5.0), "harpg": (0.5, 1.0), "n_harpg": (1.0, 1.0)}


def code_schedule(method: str, *, alpha0: float, eta0: float = 1.0) -> Schedule:
    """The official code's schedule shape for ``method`` (card §3.5):

    vanilla_pg alpha0 (2/(t+2))^(2/3); n_mpg 2 alpha0/(t+2), eta0 (2/(t+2))^(2/3);
    n_pg_igt 2 alpha0/(t+2), eta0 (2/(t+2))^(4/5); harpg alpha0 sqrt(2/(t+2)), eta0 2/(t+2);
    n_harpg 2 alpha0/(t+2), eta0 2/(t+2). (Vanilla PG has no momentum: eta is unused.)

    Examples
    --------
    >>> code_schedule("n_pg_igt", alpha0=0.5)
    Schedule(alpha0=0.5, alpha_power=1.0, eta0=1.0, eta_power=0.8)
    """
    check_choice("method", method, METHODS)
    p_alpha, p_eta = CODE_POWERS[method]
    return Schedule(alpha0, p_alpha, eta0, p_eta)


def theory_schedule(method: str, *, M_g: float, mu_F: float,
                    harpg_alpha0: float | None = None) -> Schedule:
    """The theorems' schedules (card §3.1-3.2, §3.5 "theory" columns).

    n_pg_igt: alpha_t = 6 M_g/(mu_F (t+2)), eta_t = (2/(t+2))^(4/5);
    n_harpg:  alpha_t = 6 M_g/(mu_F (t+2)), eta_t = 2/(t+2);
    harpg:    alpha_t = alpha_0 sqrt(2/(t+2)), eta_t = 2/(t+2), alpha_0 from
              :func:`rlsandbox.algorithms.harpg.theory.harpg_alpha0` (pass it as harpg_alpha0);
    n_mpg:    the code's shape with the N-PG-IGT step (eta_t = (2/(t+2))^(2/3); the card gives
              no theorem for N-MPG, this choice is ours).

    Examples
    --------
    >>> theory_schedule("n_harpg", M_g=2.0, mu_F=1.0)
    Schedule(alpha0=6.0, alpha_power=1.0, eta0=1.0, eta_power=1.0)
    """
    check_choice("method", method, ("n_pg_igt", "harpg", "n_harpg", "n_mpg"))
    M_g = check_in_range("M_g", M_g, low=0.0, low_open=True)
    mu_F = check_in_range("mu_F", mu_F, low=0.0, low_open=True)
    if method == "harpg":
        if harpg_alpha0 is None:
            raise ValueError("theory_schedule('harpg') needs harpg_alpha0 (the theorem's "
                             "alpha_0 = min{1/(8 sqrt6 (L_g + sigma_g + D_h gamma^H)), sqrt2 M_g/"
                             "(sqrt3 sigma_g mu_F)}); compute it with theory.harpg_alpha0")
        return Schedule(harpg_alpha0, 0.5, 1.0, 1.0)
    p_eta = {"n_pg_igt": 0.8, "n_harpg": 1.0, "n_mpg": 2.0 / 3.0}[method]
    return Schedule(3.0 * M_g / mu_F, 1.0, 1.0, p_eta)


# ================================================================================= trace
@dataclass(frozen=True, eq=False)
class Trace:
    """The record of a run (R replicates, K checkpoints).

    Attributes
    ----------
    method : str
    checkpoints : (K,) int64
        Iterations t (0 <= t < T) at which theta_t and d_t were recorded.
    theta : (R, K, d)
        theta_t at the checkpoints.
    d : (R, K, d)
        d_t (the direction formed at iteration t, which tracks grad J_H(theta_t)).
    theta_final : (R, d)
        theta_T.
    T, M, H : int
        Iterations, trajectories per estimate, trajectory length.
    trajectories : (K,) int64
        Trajectories sampled before iteration t (those that determine theta_t).
    trajectories_total : int
        Trajectories sampled by the whole run (per replicate).
    """

    method: str
    checkpoints: np.ndarray
    theta: np.ndarray
    d: np.ndarray
    theta_final: np.ndarray
    T: int
    M: int
    H: int
    trajectories: np.ndarray
    trajectories_total: int


def trajectories_before(method: str, t: Any, M: int = 1) -> np.ndarray:
    """Trajectories sampled in iterations 0 .. t-1 (card §2 convention; pitfall 14).

    M t for vanilla_pg, n_mpg, n_pg_igt; M (2t - 1) for harpg / n_harpg (t >= 1), 0 at t = 0.

    Examples
    --------
    >>> trajectories_before("n_harpg", [0, 1, 2, 10]).tolist()
    [0, 1, 3, 19]
    """
    check_choice("method", method, METHODS)
    t = np.asarray(t, dtype=np.int64)
    if method in ("harpg", "n_harpg"):
        return M * np.where(t > 0, 2 * t - 1, 0)
    return M * t


def log_checkpoints(T: int, n: int) -> np.ndarray:
    """About ``n`` distinct iterations log-spaced in [1, T-1] (int64, increasing).

    Examples
    --------
    >>> log_checkpoints(1000, 4).tolist()
    [1, 10, 100, 999]
    """
    T = check_int("T", T, low=2)
    n = check_int("n", n, low=1)
    return np.unique(np.round(np.logspace(0.0, np.log10(T - 1), n)).astype(np.int64))


# ================================================================================== runner
def _grad_exact(problem: Any, theta: np.ndarray, H: int) -> np.ndarray:
    return np.asarray(problem.grad_J_H(theta, H), dtype=np.float64).reshape(theta.shape)


def _normalized_step(d: np.ndarray) -> np.ndarray:
    """d/||d|| per row, 0 where d = 0 (the card's convention theta_{t+1} = theta_t)."""
    norm = np.linalg.norm(d, axis=-1, keepdims=True)
    return np.divide(d, norm, out=np.zeros_like(d), where=norm > 0)


def run(problem: Any, method: str, *, theta0: Any, T: int, H: int, schedule: Schedule,
        rng: Any, M: int = 1, replicates: int = 1, checkpoints: Sequence[int] | None = None,
        lookahead: bool = True, hvp: str = "interpolated", estimator: str = "gpomdp",
        oracle: bool = False, project: Callable[[np.ndarray], np.ndarray] | None = None) -> Trace:
    """Run ``method`` for T iterations on ``replicates`` independent copies (module docstring).

    Parameters
    ----------
    problem : a problem of :mod:`rlsandbox.algorithms.harpg.models`
    method : {"vanilla_pg", "n_mpg", "n_pg_igt", "harpg", "n_harpg"}
    theta0 : array (d,) or (R, d)
        Initial parameter (shared by all replicates, or one row each).
    T : int >= 1
        Iterations.
    H : int >= 1
        Trajectory length (the card's rule: H >= (1-gamma)^{-1} log(T+1); see
        :func:`rlsandbox.algorithms.harpg.theory.horizon`).
    schedule : Schedule (or MBPGSchedule, the schedule of HA-MBPG)
    rng : numpy.random.Generator or int seed (keyword-only)
        Per iteration t the draws are, in order: (harpg/n_harpg, t >= 1, hvp "interpolated":
        q (R,) uniforms); the trajectories for g at theta_t (theta~_t for n_pg_igt); then
        (harpg/n_harpg, t >= 1, hvp in {"interpolated", "endpoint", "transposed"}) the
        trajectories for the HVP. Each sampling call draws as its problem's ``sample`` says.
    M : int >= 1
        Trajectories per estimate (mini-batch; the mean of per-trajectory estimates).
    replicates : int >= 1
        R (ignored when theta0 is (R, d)).
    checkpoints : iterable of int in [0, T-1], optional
        Where theta_t and d_t are recorded; default all iterations.
    lookahead : bool
        n_pg_igt only; False gives the control "no look-ahead" (theta~_t = theta_t).
    hvp : {"interpolated", "none", "endpoint", "reuse", "transposed"}
        harpg/n_harpg only: the paper's v_t, or a control (module docstring).
    estimator : {"gpomdp", "reinforce", "gpomdp_from_t"}
        The gradient estimate g.
    oracle : bool
        Exact gradients and exact gradient differences instead of samples (claim N4).
    project : callable (R, d) -> (R, d), optional
        Applied to theta_{t+1} and to the look-ahead point (a safeguard, see Deviations).

    Returns
    -------
    Trace

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.algorithms.harpg.models import LogisticBandit
    >>> bump = LogisticBandit(m=2, b=0.5, reward="bump", c=[1.0, -0.5])
    >>> tr = run(bump, "n_harpg", theta0=np.zeros(2), T=200, H=1, M=4, replicates=8,
    ...          schedule=code_schedule("n_harpg", alpha0=0.5), rng=0)
    >>> tr.theta_final.shape, tr.trajectories_total
    ((8, 2), 1596)
    >>> bool(np.mean(bump.J(tr.theta_final)) > bump.J(np.zeros(2)))
    True
    """
    check_choice("method", method, METHODS)
    T = check_int("T", T, low=1)
    H = check_int("H", H, low=1)
    M = check_int("M", M, low=1)
    if not isinstance(schedule, (Schedule, MBPGSchedule)):
        raise TypeError(f"schedule must be a Schedule or an MBPGSchedule, got "
                        f"{type(schedule).__name__}; use code_schedule(...), "
                        f"theory_schedule(...) or MBPGSchedule(k, m, c)")
    rng = check_rng("rng", rng)
    lookahead = check_bool("lookahead", lookahead)
    oracle = check_bool("oracle", oracle)
    check_choice("hvp", hvp, HVP_MODES)
    check_choice("estimator", estimator, ESTIMATORS)
    if method != "n_pg_igt" and not lookahead:
        raise ValueError(f"lookahead=False is a control of n_pg_igt; method {method!r} has no "
                         f"look-ahead")
    if method not in ("harpg", "n_harpg") and hvp != "interpolated":
        raise ValueError(f"hvp={hvp!r} is a control of harpg/n_harpg; method {method!r} has no "
                         f"Hessian correction")
    if oracle and (hvp not in ("interpolated", "none") or estimator != "gpomdp"):
        raise ValueError("oracle=True replaces the estimators by exact quantities; leave "
                         "estimator at its default and hvp at 'interpolated' (or 'none', the "
                         "control of claim N4)")
    d = int(problem.d)
    th0 = check_float_array("theta0", theta0, ndim=(1, 2))
    if th0.shape[-1] != d:
        raise ValueError(f"theta0 has shape {th0.shape}; expected ({d},) or (R, {d})")
    if th0.ndim == 1:
        R = check_int("replicates", replicates, low=1)
        theta = np.repeat(th0[None, :], R, axis=0)
    else:
        theta = th0.copy()
        R = theta.shape[0]
    if checkpoints is None:
        ck = np.arange(T, dtype=np.int64)
    else:
        ck = np.unique(np.asarray(list(checkpoints), dtype=np.int64))
        if ck.size == 0 or ck[0] < 0 or ck[-1] >= T:
            raise ValueError(f"checkpoints must be iterations in [0, {T - 1}], got "
                             f"{ck.tolist()[:5]}...")
    record = np.full(T, -1, dtype=np.int64)
    record[ck] = np.arange(ck.size)
    theta_rec = np.empty((R, ck.size, d))
    d_rec = np.empty((R, ck.size, d))
    normalized = NORMALIZED[method]
    hessian_aided = method in ("harpg", "n_harpg")
    estimate = {"gpomdp": est.gpomdp, "reinforce": est.reinforce,
                "gpomdp_from_t": est.gpomdp_from_t}[estimator]

    def grad(at: np.ndarray) -> tuple[np.ndarray, Any]:
        if oracle:
            return _grad_exact(problem, at, H), None
        ro = problem.sample(at, H=H, n=M, rng=rng)
        return estimate(ro).reshape(R, M, d).mean(axis=1), ro

    theta_prev = theta.copy()
    dir_ = np.zeros((R, d))
    for t in range(T):
        eta = schedule.eta(t)
        alpha = schedule.alpha(t)
        if hessian_aided:
            if t == 0:
                dir_, _ = grad(theta)
            else:
                delta = theta - theta_prev
                q = rng.random(R) if (hvp == "interpolated" and not oracle) else None
                g_t, ro_t = grad(theta)
                if hvp == "none":
                    v = np.zeros((R, d))
                elif oracle:
                    v = g_t - _grad_exact(problem, theta_prev, H)
                elif hvp == "reuse":
                    v = est.hvp(ro_t, delta).reshape(R, M, d).mean(axis=1)
                else:
                    qq = np.ones(R) if hvp == "endpoint" else q
                    theta_hat = qq[:, None] * theta + (1.0 - qq[:, None]) * theta_prev
                    ro_h = problem.sample(theta_hat, H=H, n=M, rng=rng)
                    prod = est.hvp_transposed if hvp == "transposed" else est.hvp
                    v = prod(ro_h, delta).reshape(R, M, d).mean(axis=1)
                dir_ = (1.0 - eta) * (dir_ + v) + eta * g_t
        elif method == "vanilla_pg":
            dir_, _ = grad(theta)
        else:                                                   # n_mpg, n_pg_igt
            if method == "n_pg_igt" and lookahead:
                at = theta + ((1.0 - eta) / eta) * (theta - theta_prev)
                if project is not None:
                    at = project(at)
            else:
                at = theta
            g_t, _ = grad(at)
            dir_ = (1.0 - eta) * dir_ + eta * g_t
        k = record[t]
        if k >= 0:
            theta_rec[:, k] = theta
            d_rec[:, k] = dir_
        step = _normalized_step(dir_) if normalized else dir_
        theta_prev = theta
        with np.errstate(over="ignore", invalid="ignore"):     # reported just below
            theta = theta + alpha * step
        if project is not None:
            theta = project(theta)
        if not np.isfinite(theta).all():
            bad = int(np.argmax(~np.isfinite(theta).all(axis=1)))
            raise FloatingPointError(f"{method}: theta of replicate {bad} became non-finite at "
                                     f"iteration {t}; the step size (alpha_t = {alpha:.3g}) is too "
                                     f"large for this problem (pitfall 8: non-normalised HARPG "
                                     f"with a large alpha_0 is unstable)")
    return Trace(method, readonly(ck), readonly(theta_rec), readonly(d_rec), readonly(theta),
                 T, M, H, readonly(trajectories_before(method, ck, M)),
                 int(trajectories_before(method, T, M)))


# ----------------------------------------------------------------- named entry points
def vanilla_pg(problem: Any, **kw: Any) -> Trace:
    """Vanilla PG (card §3.3): theta_{t+1} = theta_t + alpha_t g(tau_t, theta_t). See :func:`run`."""
    return run(problem, "vanilla_pg", **kw)


def n_mpg(problem: Any, **kw: Any) -> Trace:
    """Normalised PG with plain momentum (card §3.3, code ``nsgdm``). See :func:`run`."""
    return run(problem, "n_mpg", **kw)


def n_pg_igt(problem: Any, **kw: Any) -> Trace:
    """N-PG-IGT (card §3.1): normalised momentum sampled at the look-ahead point. See :func:`run`."""
    return run(problem, "n_pg_igt", **kw)


def harpg(problem: Any, **kw: Any) -> Trace:
    """HARPG (card §3.2): recursive momentum with the interpolated HVP. See :func:`run`."""
    return run(problem, "harpg", **kw)


def n_harpg(problem: Any, **kw: Any) -> Trace:
    """N-HARPG (card §3.2): normalised HARPG. See :func:`run`."""
    return run(problem, "n_harpg", **kw)
