"""Policy-parameterised problems with exact J, gradients and Hessians (card §4.0, I1-I4).

Every problem class here describes a parametric policy class pi_theta on a known model and
exposes the same interface (duck-typed; see :class:`PolicyProblem` for the list):

* exact values: ``J(theta)``, ``grad_J``, ``hess_J`` (infinite horizon, unnormalised:
  J(theta) = E[sum_{t>=0} gamma^t r_t], card §2) and the truncated ``J_H``, ``grad_J_H``,
  ``hess_J_H`` (J_H = E[sum_{t<H} gamma^t r_t]); the global optimum ``J_star`` (over *all*
  policies, card §2) and, where known, the best value in the class ``J_star_class``;
* the Fisher matrix ``fisher(theta)`` = E_{s~d_rho^theta, a~pi_theta}[score score^T];
* the assumption constants of card §2 as attributes: ``r_max``, ``M_g`` (bound on the score),
  ``M_h`` (bound on the log-policy Hessian, spectral norm), ``l_2`` (its Lipschitz constant),
  ``mu_F`` (A3's lower bound on the Fisher matrix); ``None`` where the assumption fails;
* a sampler ``sample(theta, H=..., n=..., rng=...) -> Rollouts`` that draws ``n`` independent
  length-H trajectories per parameter vector (``theta`` of shape (d,) or (N, d): N parameter
  vectors at once, e.g. the replicates of a run) and returns the per-trajectory statistics the
  estimators of :mod:`rlsandbox.algorithms.harpg.estimators` are built from.

Classes
-------
:class:`LogLinearMDP`   I1: a TabularMDP with a log-linear policy pi(a|s) ~ exp(theta . phi(s, a));
                        :meth:`LogLinearMDP.softmax` is the tabular softmax (one-hot phi).
:class:`LogisticBandit` I2: one step, a = theta + b X with X standard logistic (A1-A3 exactly).
:class:`GaussianBandit` I3: one step, a = theta + sigma xi (closed forms; A1 fails).
:class:`ScalarLQR`      I4: discounted scalar LQR with the linear Gaussian policy a = -K s + sigma xi.
:class:`LogisticStateMDP` I5: finite states, a continuous action with a logistic policy
                        (A1-A3), action-dependent transitions; exact by quadrature.

Conventions. theta is float64 (d,) (or (N, d) where a method says so); the truncation horizon
H >= 1 is an int. For the bandits gamma = 0 and J_H = J for every H >= 1 (one step).
Randomness only through the keyword ``rng``; draws are listed, in order, in each ``sample``.

Deviation: the samplers are this package's compiled kernels (:mod:`._kernels`), not
:func:`rlsandbox.sampling.trajectories`. The continuous-action instances (I2-I5) are outside
that module's scope (it samples tabular models). For the tabular :class:`LogLinearMDP` it was
measured (session 3): ``rlsandbox.sampling.trajectories`` rolls out one policy per call, so a
batch of N parameter vectors (the replicates of a run, or HARPG's interpolated points) needs
N calls, each re-validating pi and rebuilding the CDF tables, followed by the scores and
discounted reward-to-go in numpy. On a 10 x 4 softmax garnet that costs 8.2x the current
sampler at (N, n, H) = (32, 16, 10), 5.8x at (20, 1, 300) and 9.6x at (64, 16, 1) (6.2 vs
0.75 ms, 3.9 vs 0.68 ms, 10.4 vs 1.1 ms per call; the comparison even omits the state-visit
weights and the reward-to-go from t that the kernel also returns), against the 1.5x we allowed,
with every iteration of every run paying it. Both samplers draw by inverse CDF from uniforms
drawn in Python from ``rng`` (STYLE §5), so the sampling law is the same; only the batching
over policies differs.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rlsandbox._validate import (check_choice, check_float_array, check_in_range, check_int,
                                 check_rng, readonly)
from rlsandbox.algorithms.harpg._kernels import (_rollout_logistic_states, _rollout_loglinear,
                                                 _rollout_lqr, _sample_logistic)
from rlsandbox.mdp import TabularMDP

__all__ = ["Rollouts", "PolicyProblem", "LogLinearMDP", "LogisticBandit", "GaussianBandit",
           "ScalarLQR", "LogisticStateMDP", "logistic_expectation_rule"]


# =============================================================================== rollouts
@dataclass(frozen=True, eq=False)
class Rollouts:
    """Per-trajectory statistics of ``n`` trajectories (for each of N parameter vectors).

    Leading axes ``lead`` are ``()`` for one parameter vector and ``(N,)`` for N of them.

    Attributes
    ----------
    g : (*lead, n, d)
        GPOMDP gradient sum_t R_t grad log pi(a_t|s_t), R_t = sum_{h>=t} gamma^h r_h (card §2).
    g_from_t : (*lead, n, d)
        The same with R'_t = sum_{h>=t} gamma^(h-t) r_h (biased; card §6 pitfall 2).
    score_sum : (*lead, n, d)
        grad log p(tau) = sum_t grad log pi(a_t|s_t).
    ret : (*lead, n)
        Discounted return sum_t gamma^t r_t.
    curv_kind : {"diag", "dense", "states"}
        How ``curv`` stores C = sum_t R_t hess log pi(a_t|s_t) (the second term of the Hessian
        estimator B, card §2): "diag" -> (*lead, n, d) diagonal of C; "dense" -> (*lead, n, d, d);
        "states" -> (*lead, n, S) weights W[s] = sum_{t: s_t = s} R_t with
        C = sum_s W[s] state_hess[s].
    curv : array
        See ``curv_kind``.
    state_hess : (*lead, S, d, d) or None
        Log-policy Hessian of each state at the sampling parameter ("states" only).
    H : int
        Trajectory length.
    theta : (*lead, d) or None
        The sampling parameter (kept where the problem supports :meth:`reweighted`).
    path : tuple of arrays or None
        What the problem needs to re-evaluate the trajectories at another parameter: visited
        (states, actions) (*lead, n, H) for :class:`LogLinearMDP`, actions (*lead, n, m) for
        the bandits.
    """

    g: np.ndarray
    g_from_t: np.ndarray
    score_sum: np.ndarray
    ret: np.ndarray
    curv_kind: str
    curv: np.ndarray
    state_hess: np.ndarray | None
    H: int
    theta: np.ndarray | None = None
    path: tuple | None = None

    @property
    def n(self) -> int:
        """Trajectories per parameter vector."""
        return self.g.shape[-2]

    @property
    def d(self) -> int:
        """Parameter dimension."""
        return self.g.shape[-1]

    def curv_matvec(self, u: np.ndarray) -> np.ndarray:
        """C u per trajectory, (*lead, n, d), for u of shape (*lead, d)."""
        u = np.asarray(u, dtype=np.float64)
        if self.curv_kind == "diag":
            return self.curv * u[..., None, :]
        if self.curv_kind == "dense":
            return np.einsum("...nde,...e->...nd", self.curv, u)
        Hu = np.einsum("...sde,...e->...sd", self.state_hess, u)        # (*lead, S, d)
        return np.einsum("...ns,...sd->...nd", self.curv, Hu)

    def curv_dense(self) -> np.ndarray:
        """C per trajectory as dense matrices (*lead, n, d, d)."""
        if self.curv_kind == "diag":
            out = np.zeros((*self.curv.shape, self.d))
            idx = np.arange(self.d)
            out[..., idx, idx] = self.curv
            return out
        if self.curv_kind == "dense":
            return self.curv
        return np.einsum("...ns,...sde->...nde", self.curv, self.state_hess)


class PolicyProblem(Protocol):
    """The interface shared by the problem classes of this module (duck-typed)."""

    d: int
    gamma: float

    def J(self, theta: Any) -> float: ...
    def grad_J(self, theta: Any) -> np.ndarray: ...
    def hess_J(self, theta: Any) -> np.ndarray: ...
    def J_H(self, theta: Any, H: int) -> float: ...
    def grad_J_H(self, theta: Any, H: int) -> np.ndarray: ...
    def hess_J_H(self, theta: Any, H: int) -> np.ndarray: ...
    def sample(self, theta: Any, *, H: int, n: int, rng: Any) -> Rollouts: ...


def _theta(name: str, theta: Any, d: int, *, batch: bool = False) -> np.ndarray:
    """A float64 copy of theta with shape (d,) (or (N, d) when ``batch``)."""
    arr = check_float_array(name, theta, ndim=(1, 2) if batch else 1)
    if arr.shape[-1] != d:
        want = f"({d},) or (N, {d})" if batch else f"({d},)"
        raise ValueError(f"{name} has shape {arr.shape}; expected {want} for this problem "
                         f"(d = {d} parameters)")
    return arr


def _lead(theta: np.ndarray) -> tuple[np.ndarray, bool]:
    """(theta as (N, d), whether the input was a single vector)."""
    return (theta[None, :], True) if theta.ndim == 1 else (theta, False)


def _squeeze(x: np.ndarray, single: bool) -> np.ndarray:
    return x[0] if single else x


def _check_H(H: Any) -> int:
    return check_int("H", H, low=1)


def _logsumexp(z: np.ndarray) -> np.ndarray:
    """log sum_a exp z[..., a] (max-shifted)."""
    m = z.max(axis=-1)
    return m + np.log(np.exp(z - m[..., None]).sum(axis=-1))


def _reweight_args(problem: Any, ro: Any, theta: Any):
    """Validate a reweighting request. Returns (path_a, path_b, theta_sample, theta', single)
    with a leading parameter axis N on every array: path_a, path_b = (states, actions) for a
    tabular path, (actions,), None for a bandit."""
    if not isinstance(ro, Rollouts) or ro.path is None or ro.theta is None:
        raise TypeError(f"reweighted needs Rollouts from {type(problem).__name__}.sample (with "
                        f"their path), got {type(ro).__name__}")
    th1 = _theta("theta", theta, problem.d, batch=True)
    if th1.shape != ro.theta.shape:
        raise ValueError(f"theta has shape {th1.shape}; expected {ro.theta.shape}, the shape "
                         f"of the sampling parameter")
    single = ro.theta.ndim == 1
    lead = (lambda x: x[None]) if single else (lambda x: x)              # noqa: E731
    path = tuple(lead(x) for x in ro.path)
    if len(path) == 2:
        return path[0], path[1], lead(ro.theta), lead(th1), single
    return path, None, lead(ro.theta), lead(th1), single


def _rowwise(method):
    """Let a single-theta method of LogLinearMDP also take theta of shape (N, d) (row by row)."""
    def wrapper(self, theta, *args):
        arr = np.asarray(theta)
        if arr.ndim == 2:
            return np.stack([np.asarray(method(self, row, *args)) for row in arr])
        return method(self, theta, *args)
    wrapper.__name__, wrapper.__doc__ = method.__name__, method.__doc__
    return wrapper


class _OneStep:
    """The truncated objective of a one-step bandit: J_H = J for every horizon H >= 1."""

    def J_H(self, theta: Any, H: int) -> np.ndarray | float:
        _check_H(H)
        return self.J(theta)

    def grad_J_H(self, theta: Any, H: int) -> np.ndarray:
        _check_H(H)
        return self.grad_J(theta)

    def hess_J_H(self, theta: Any, H: int) -> np.ndarray:
        _check_H(H)
        return self.hess_J(theta)


# ===================================================================== I1: log-linear MDP
@dataclass(frozen=True, eq=False)
class _TabularDerivs:
    """Policy and its first and second derivatives at one theta (log-linear class)."""

    pi: np.ndarray        # (S, A)
    psi: np.ndarray       # (S, A, d) score grad log pi(a|s) = phi(s, a) - E_pi phi(s, .)
    cov: np.ndarray       # (S, d, d) Cov_{pi_s}(phi) = -hess log pi(a|s)
    P_pi: np.ndarray      # (S, S)
    r_pi: np.ndarray      # (S,)
    dP: np.ndarray        # (d, S, S) d P_pi / d theta_k
    dr: np.ndarray        # (d, S)


class _ExactTabular:
    """Exact J, grad J, hess J and their H-truncated versions from the policy-averaged model.

    A subclass provides ``d``, ``S``, ``gamma``, ``rho`` (S,), ``_derivs(theta)`` (an object with
    P_pi (S, S), r_pi (S,), dP (d, S, S), dr (d, S)) and ``_second(D)`` -> (d2P (d, d, S, S),
    d2r (d, d, S)); the formulas are those of :class:`LogLinearMDP` (card §4.0 I1), which hold
    for any policy class once P_pi, r_pi and their derivatives are known (card §4.0 I5).
    """

    def _resolvent(self, D: _TabularDerivs) -> np.ndarray:
        return np.eye(self.S) - self.gamma * D.P_pi

    def V(self, theta: Any) -> np.ndarray:
        """V^{pi_theta} (S,)."""
        D = self._derivs(theta)
        return np.linalg.solve(self._resolvent(D), D.r_pi)

    @_rowwise
    def J(self, theta: Any) -> float:
        """J(theta) = rho^T (I - gamma P_pi)^{-1} r_pi."""
        return float(self.rho @ self.V(theta))

    @_rowwise
    def grad_J(self, theta: Any) -> np.ndarray:
        """Exact grad J (d,) (class docstring)."""
        D = self._derivs(theta)
        Mt = self._resolvent(D)
        V = np.linalg.solve(Mt, D.r_pi)
        y = np.linalg.solve(Mt.T, self.rho)
        return (D.dr + self.gamma * D.dP @ V) @ y

    def hess_J(self, theta: Any) -> np.ndarray:
        """Exact Hessian of J (d, d) (class docstring)."""
        D = self._derivs(theta)
        d2P, d2r = self._second(D)
        Mt = self._resolvent(D)
        V = np.linalg.solve(Mt, D.r_pi)
        y = np.linalg.solve(Mt.T, self.rho)
        b = D.dr + self.gamma * D.dP @ V                               # (d, S)
        dV = np.linalg.solve(Mt, b.T).T                                # (d, S)
        cross = np.einsum("kst,lt->kls", D.dP, dV)                     # d_k P d_l V
        inner = d2r + self.gamma * d2P @ V + self.gamma * (cross + cross.transpose(1, 0, 2))
        return inner @ y

    def occupancy(self, theta: Any) -> np.ndarray:
        """Normalised discounted state occupancy d_rho^theta (S,) = (1-gamma) rho^T M."""
        D = self._derivs(theta)
        return (1.0 - self.gamma) * np.linalg.solve(self._resolvent(D).T, self.rho)


    def _forward(self, theta: Any, H: int, order: int, record: list | None = None
                 ) -> tuple[float, np.ndarray | None, np.ndarray | None]:
        """(J_H, grad J_H, hess J_H) up to ``order``; ``record`` (a list) receives the
        triple for every horizon 1..H on the way (bitwise the values of separate calls)."""
        H = _check_H(H)
        D = self._derivs(theta)
        d, S, g = self.d, self.S, self.gamma
        x = np.array(self.rho, dtype=np.float64)
        dx = np.zeros((d, S))
        J = 0.0
        grad = np.zeros(d)
        if order >= 2:
            d2P, d2r = self._second(D)
            d2x = np.zeros((d, d, S))
            hess = np.zeros((d, d))
        for t in range(H):
            gt = g ** t
            J += gt * (x @ D.r_pi)
            if order >= 1:
                grad += gt * (dx @ D.r_pi + D.dr @ x)
            if order >= 2:
                t1 = dx @ D.dr.T                                       # (d, d): d_k x . d_l r
                hess += gt * (d2x @ D.r_pi + t1 + t1.T + d2r @ x)
            if record is not None:
                record.append((J, grad.copy() if order >= 1 else None,
                               hess.copy() if order >= 2 else None))
            if t == H - 1:
                break
            if order >= 2:
                c = np.einsum("ks,lst->klt", dx, D.dP)                 # d_k x d_l P
                d2x = d2x @ D.P_pi + c + c.transpose(1, 0, 2) + np.einsum("s,klst->klt", x, d2P)
            if order >= 1:
                dx = dx @ D.P_pi + np.einsum("s,kst->kt", x, D.dP)
            x = x @ D.P_pi
        return J, (grad if order >= 1 else None), (hess if order >= 2 else None)

    @_rowwise
    def J_H(self, theta: Any, H: int) -> float:
        """J_H(theta) = sum_{t<H} gamma^t x_t . r_pi, x_0 = rho, x_{t+1} = x_t P_pi."""
        return self._forward(theta, H, 0)[0]

    @_rowwise
    def grad_J_H(self, theta: Any, H: int) -> np.ndarray:
        """Exact grad J_H (d,) by forward differentiation (class docstring)."""
        return self._forward(theta, H, 1)[1]

    def hess_J_H(self, theta: Any, H: int) -> np.ndarray:
        """Exact Hessian of J_H (d, d) by forward differentiation (class docstring)."""
        return self._forward(theta, H, 2)[2]

    def truncated_derivatives(self, theta: Any, H_max: int) -> tuple[np.ndarray, np.ndarray]:
        """(grad J_H for H = 1..H_max (H_max, d), hess J_H (H_max, d, d)) in one forward pass
        (each row bitwise equal to :meth:`grad_J_H` / :meth:`hess_J_H` at that H)."""
        rec: list = []
        self._forward(theta, H_max, 2, rec)
        return np.array([r[1] for r in rec]), np.array([r[2] for r in rec])



@dataclass(frozen=True, eq=False)
class LogLinearMDP(_ExactTabular):
    """I1: a tabular MDP with a log-linear (softmax) policy class (card §4.0, I1).

    pi_theta(a|s) = exp(theta . phi(s, a)) / sum_b exp(theta . phi(s, b)),  theta in R^d.

    Score and log-policy Hessian (card §4.0 I1):
        grad log pi(a|s) = psi(s, a) = phi(s, a) - sum_b pi(b|s) phi(s, b),
        hess log pi(a|s) = -Cov_{pi(.|s)}(phi(s, .))   (independent of a).
    Exact values: P_pi, r_pi, M = (I - gamma P_pi)^{-1}, V = M r_pi, J = rho^T V; derivatives
    of P_pi and r_pi through d pi(a|s)/d theta_k = pi(a|s) psi_k(s, a) and
    d^2 pi(a|s)/d theta_k d theta_l = pi(a|s) (psi_k psi_l - Cov_kl)(s, a), then
        dJ/dtheta_k = rho^T M (d_k r_pi + gamma d_k P_pi V),
        d^2 J/dtheta_k dtheta_l = rho^T M [d_kl r_pi + gamma d_kl P_pi V + gamma d_k P_pi d_l V
                                           + gamma d_l P_pi d_k V],  d_l V = M(d_l r_pi + gamma d_l P_pi V)
    (card §4.0 I1, "Exact Hessian"); the truncated J_H by forward differentiation of
    x_{t+1} = x_t P_pi (card §4.0 I1, "Exact truncated quantities"), O(H d S^2) for the gradient
    and O(H d^2 S^2) for the Hessian.

    Constants (exact suprema over theta, [derived]): M_g = max_s max_{a,b} ||phi(s,a) - phi(s,b)||
    (psi lies in phi(s, a) - conv{phi(s, .)}); M_h = M_g^2 / 4 (largest variance of a projection
    of phi(s, .), attained at a two-point policy). For one-hot features M_g = sqrt(2), M_h = 1/2
    as on the card. mu_F is None: A3 fails on R^d (card §4.0 I1; §6 pitfall 11).

    Parameters
    ----------
    mdp : TabularMDP
        The model; gamma must be < 1 (infinite-horizon J).
    phi : array (S, A, d)
        Features.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> prob = LogLinearMDP.softmax(rls.mdps.riverswim(gamma=0.9))
    >>> prob.d, round(prob.M_g ** 2, 12), round(prob.M_h, 12)
    (12, 2.0, 0.5)
    >>> theta = np.zeros(prob.d)
    >>> bool(abs(prob.J(theta) - rls.evaluate(prob.mdp, np.full((6, 2), 0.5)) @ prob.mdp.rho) < 1e-12)
    True
    """

    mdp: TabularMDP
    phi: np.ndarray
    P: np.ndarray = field(init=False, repr=False)          # (S, A, S) dense
    P_cdf: np.ndarray = field(init=False, repr=False)      # (S*A, S)
    rho_cdf: np.ndarray = field(init=False, repr=False)    # (S,)
    _cache: dict = field(init=False, repr=False, default_factory=dict)   # V*, pi* (computed once)

    def __post_init__(self) -> None:
        if not isinstance(self.mdp, TabularMDP):
            raise TypeError(f"mdp must be a rlsandbox.TabularMDP, got {type(self.mdp).__name__}")
        check_in_range("mdp.gamma", self.mdp.gamma, low=0.0, high=1.0, high_open=True,
                       hint="J(theta) is an infinite discounted sum; use a model with gamma < 1")
        S, A = self.mdp.S, self.mdp.A
        phi = check_float_array("phi", self.phi, ndim=3)
        if phi.shape[:2] != (S, A) or phi.shape[2] < 1:
            raise ValueError(f"phi has shape {phi.shape}; expected (S, A, d) = ({S}, {A}, d) "
                             f"with d >= 1 to match the model")
        set_ = object.__setattr__
        set_(self, "phi", readonly(phi))
        P = np.array(self.mdp.dense_P(), dtype=np.float64)
        set_(self, "P", readonly(P))
        cdf = np.cumsum(P.reshape(S * A, S), axis=1)
        set_(self, "P_cdf", readonly(cdf / cdf[:, -1:]))
        rc = np.cumsum(self.mdp.rho)
        set_(self, "rho_cdf", readonly(rc / rc[-1]))

    @classmethod
    def softmax(cls, mdp: TabularMDP) -> "LogLinearMDP":
        """The tabular softmax class: phi(s, a) = e_{s*A + a} (d = S*A; card §4.0 I1)."""
        if not isinstance(mdp, TabularMDP):
            raise TypeError(f"mdp must be a rlsandbox.TabularMDP, got {type(mdp).__name__}")
        S, A = mdp.S, mdp.A
        return cls(mdp, np.eye(S * A).reshape(S, A, S * A))

    # ---------------------------------------------------------------- constants
    @property
    def d(self) -> int:
        return self.phi.shape[2]

    @property
    def gamma(self) -> float:
        return self.mdp.gamma

    @property
    def S(self) -> int:
        return self.mdp.S

    @property
    def A(self) -> int:
        return self.mdp.A

    @property
    def rho(self) -> np.ndarray:
        return self.mdp.rho

    @property
    def r_max(self) -> float:
        """max |R[s, a]|."""
        return float(np.abs(self.mdp.R).max())

    @property
    def M_g(self) -> float:
        """sup ||grad log pi(a|s)|| = max_s max_{a,b} ||phi(s, a) - phi(s, b)|| (class docstring)."""
        diff = self.phi[:, :, None, :] - self.phi[:, None, :, :]
        return float(np.sqrt((diff ** 2).sum(-1)).max())

    @property
    def M_h(self) -> float:
        """sup ||hess log pi(a|s)||_2 = M_g^2 / 4 (class docstring)."""
        return self.M_g ** 2 / 4.0

    mu_F = None      # A3 fails on R^d for this class (card §4.0 I1)

    # ------------------------------------------------------------------ policy
    def policy(self, theta: Any) -> np.ndarray:
        """pi_theta (S, A), by a max-shifted (log-sum-exp) softmax."""
        theta = _theta("theta", theta, self.d)
        z = self.phi @ theta
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def score(self, theta: Any) -> np.ndarray:
        """grad log pi(a|s) for every (s, a): psi (S, A, d)."""
        pi = self.policy(theta)
        return self.phi - np.einsum("sa,sad->sd", pi, self.phi)[:, None, :]

    def log_policy_hessian(self, theta: Any) -> np.ndarray:
        """hess log pi(a|s) = -Cov_{pi_s}(phi) for every state: (S, d, d)."""
        pi = self.policy(theta)
        psi = self.phi - np.einsum("sa,sad->sd", pi, self.phi)[:, None, :]
        return -np.einsum("sa,sad,sae->sde", pi, psi, psi)

    def _derivs(self, theta: Any) -> _TabularDerivs:
        pi = self.policy(theta)
        psi = self.phi - np.einsum("sa,sad->sd", pi, self.phi)[:, None, :]
        cov = np.einsum("sa,sad,sae->sde", pi, psi, psi)
        P_pi = np.einsum("sa,sat->st", pi, self.P)
        r_pi = np.einsum("sa,sa->s", pi, self.mdp.R)
        dpi = pi[:, :, None] * psi                                   # (S, A, d)
        dP = np.einsum("sak,sat->kst", dpi, self.P)
        dr = np.einsum("sak,sa->ks", dpi, self.mdp.R)
        return _TabularDerivs(pi, psi, cov, P_pi, r_pi, dP, dr)

    def _second(self, D: _TabularDerivs) -> tuple[np.ndarray, np.ndarray]:
        """d^2 P_pi (d, d, S, S) and d^2 r_pi (d, d, S)."""
        w = D.pi[:, :, None, None] * (D.psi[:, :, :, None] * D.psi[:, :, None, :]
                                      - D.cov[:, None, :, :])     # (S, A, d, d)
        d2P = np.einsum("sakl,sat->klst", w, self.P)
        d2r = np.einsum("sakl,sa->kls", w, self.mdp.R)
        return d2P, d2r

    def advantage(self, theta: Any) -> np.ndarray:
        """A^{pi_theta}(s, a) = R + gamma P V - V, (S, A)."""
        V = self.V(theta)
        return self.mdp.R + self.gamma * self.P @ V - V[:, None]

    def fisher(self, theta: Any) -> np.ndarray:
        """F(theta) = sum_s d(s) Cov_{pi_s}(phi) (d, d) (card §4.0 I1, "Fisher")."""
        return np.einsum("s,sde->de", self.occupancy(theta), -self.log_policy_hessian(theta))

    #: Eigenvalues of F below FISHER_RCOND * lambda_max(F) count as zero in the pseudo-inverse
    #: (the softmax class has exact null directions, computed as ~1e-17 lambda_max).
    FISHER_RCOND = 1e-12

    def compatible_weight(self, theta: Any) -> np.ndarray:
        """w*(theta) = F(theta)^+ grad J(theta) (d,) (card §2, "Compatible weight")."""
        return np.linalg.pinv(self.fisher(theta), rcond=self.FISHER_RCOND, hermitian=True) \
            @ self.grad_J(theta)

    def _star(self) -> tuple[np.ndarray, np.ndarray]:
        """(pi* (S, A) one-hot of an optimal deterministic policy, d_rho^{pi*} (S,))."""
        pi_det = self.optimal_policy()
        pi_star = np.zeros((self.S, self.A))
        pi_star[np.arange(self.S), pi_det] = 1.0
        P_star = np.einsum("sa,sat->st", pi_star, self.P)
        d_star = (1.0 - self.gamma) * np.linalg.solve((np.eye(self.S) - self.gamma * P_star).T,
                                                      self.mdp.rho)
        return pi_star, d_star

    def eps_bias(self, theta: Any) -> float:
        """Transferred compatible-approximation error at theta (card §2 A4; §4.0 I1):
        sum_s d*(s) sum_a pi*(a|s) (A^theta(s, a) - (1-gamma) w*(theta) . psi_theta(s, a))^2,
        with pi* an optimal deterministic policy (policy iteration) and d* its occupancy."""
        pi_star, d_star = self._star()
        resid = self.advantage(theta) - (1.0 - self.gamma) * self.score(theta) @ \
            self.compatible_weight(theta)
        return float(np.einsum("s,sa,sa->", d_star, pi_star, resid ** 2))

    def optimal_score_norm(self, theta: Any) -> float:
        """E_{s ~ d*, a ~ pi*} ||grad log pi_theta(a|s)|| (the pointwise relaxed-WGD factor)."""
        pi_star, d_star = self._star()
        return float(np.einsum("s,sa,sa->", d_star, pi_star,
                               np.linalg.norm(self.score(theta), axis=-1)))

    def _solution(self) -> Any:
        if "pi" not in self._cache:
            from rlsandbox.dp import policy_iteration
            self._cache["pi"] = policy_iteration(self.mdp)
        return self._cache["pi"]

    @property
    def J_star(self) -> float:
        """J* = rho^T V* over all policies (policy iteration, exact evaluation; cached)."""
        return float(self.mdp.rho @ self._solution().V)

    def optimal_policy(self) -> np.ndarray:
        """An optimal deterministic policy (S,) int (policy iteration; cached)."""
        return np.array(self._solution().policy)

    # ---------------------------------------------------------------- sampling
    def sample(self, theta: Any, *, H: int, n: int, rng: Any) -> Rollouts:
        """Draw ``n`` length-H trajectories from rho under pi_theta, for each theta.

        theta (d,) or (N, d). Draws from ``rng``, in order: u_0 (N, n), u_a (N, n, H),
        u_s (N, n, H), uniforms in [0, 1) (inverse-CDF sampling, compiled kernel
        ``_rollout_loglinear``). Curvature kind "states": hess log pi depends on s only.
        """
        theta = _theta("theta", theta, self.d, batch=True)
        H = _check_H(H)
        n = check_int("n", n, low=1)
        rng = check_rng("rng", rng)
        th, single = _lead(theta)
        N, S, d = th.shape[0], self.S, self.d
        z = np.einsum("sad,nd->nsa", self.phi, th)                       # as policy(), batched
        pis = np.exp(z - z.max(axis=2, keepdims=True))
        pis /= pis.sum(axis=2, keepdims=True)                           # (N, S, A)
        pi_cdf = np.cumsum(pis, axis=2)
        pi_cdf /= pi_cdf[:, :, -1:]
        psi = self.phi[None] - np.einsum("nsa,sad->nsd", pis, self.phi)[:, :, None, :]
        # -sum_a pi psi psi^T per (n, s), as a batched matmul (a 3-operand einsum is ~10x slower)
        state_hess = -np.matmul((psi * pis[..., None]).swapaxes(-1, -2), psi)
        u_0 = rng.random((N, n))
        u_a = rng.random((N, n, H))
        u_s = rng.random((N, n, H))
        g = np.empty((N, n, d))
        gt = np.empty((N, n, d))
        ss = np.empty((N, n, d))
        ret = np.empty((N, n))
        W = np.empty((N, n, S))
        s_out = np.empty((N, n, H), dtype=np.int64)
        a_out = np.empty((N, n, H), dtype=np.int64)
        _rollout_loglinear(self.P_cdf, np.ascontiguousarray(pi_cdf), self.rho_cdf,
                           np.ascontiguousarray(self.mdp.R), np.ascontiguousarray(psi),
                           float(self.gamma), u_0, u_a, u_s, g, gt, ss, ret, W, s_out, a_out)
        sq = lambda x: _squeeze(x, single)                              # noqa: E731
        return Rollouts(sq(g), sq(gt), sq(ss), sq(ret), "states", sq(W), sq(state_hess), H,
                        sq(th), (sq(s_out), sq(a_out)))

    def reweighted(self, ro: Rollouts, theta: Any) -> tuple[np.ndarray, np.ndarray]:
        """The GPOMDP estimate of the *same* trajectories at another parameter, and their log
        importance weight (card §3.4, w(tau | theta', theta) = p(tau|theta')/p(tau|theta)):

            g(tau, theta') = sum_t R_t grad log pi_theta'(a_t|s_t)   (R_t does not depend on theta)
            log w = sum_t log pi_theta'(a_t|s_t) - log pi_theta(a_t|s_t)

        ``ro`` from :meth:`sample`; ``theta`` of the shape of ``ro.theta``. Returns
        (g' (*lead, n, d), log_w (*lead, n)).
        """
        states, actions, th0, th1, single = _reweight_args(self, ro, theta)
        out_g, out_lw = [], []
        R = self.mdp.R
        disc = self.gamma ** np.arange(ro.H)
        for i in range(th1.shape[0]):
            s_i, a_i = states[i], actions[i]                              # (n, H)
            r = R[s_i, a_i] * disc
            Rt = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]                     # sum_{h>=t} gamma^h r_h
            z1, z0 = self.phi @ th1[i], self.phi @ th0[i]                    # (S, A) logits
            logp1 = z1 - _logsumexp(z1)[:, None]
            logp0 = z0 - _logsumexp(z0)[:, None]
            psi1 = self.phi - np.einsum("sa,sad->sd", np.exp(logp1), self.phi)[:, None, :]
            out_g.append(np.einsum("nt,ntd->nd", Rt, psi1[s_i, a_i]))
            out_lw.append((logp1[s_i, a_i] - logp0[s_i, a_i]).sum(axis=1))
        g, lw = np.stack(out_g), np.stack(out_lw)
        return (g[0], lw[0]) if single else (g, lw)


# ================================================================ I2: logistic bandit
def logistic_expectation_rule(n_panels: int = 60, nodes_per_panel: int = 20,
                              half_width: float = 45.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes x_j and weights w_j with sum_j w_j h(x_j) ~ E[h(X)], X standard logistic.

    Composite Gauss-Legendre on [-half_width, half_width] (``n_panels`` equal panels of
    ``nodes_per_panel`` nodes) applied to h(x) p(x), p(x) = e^{-x} / (1 + e^{-x})^2 the logistic
    density. The mass outside the interval is 2/(1 + e^{half_width}) < 6e-20 for the default,
    and h p is analytic in a strip for the bounded rewards used here, so the rule converges
    geometrically per panel. (The card's 400-node Gauss-Legendre in u = sigmoid(x) converges
    only algebraically for the monotone reward, whose integrand has a u^(b) endpoint
    singularity; this rule avoids that. Agreement of two resolutions is tested.)

    Returns
    -------
    x, w : arrays (n_panels * nodes_per_panel,)

    Examples
    --------
    >>> x, w = logistic_expectation_rule()
    >>> round(float(w.sum()), 14), round(float(w @ x ** 2), 12)     # 1 and pi^2 / 3
    (1.0, 3.289868133696)
    """
    n_panels = check_int("n_panels", n_panels, low=1)
    nodes_per_panel = check_int("nodes_per_panel", nodes_per_panel, low=1)
    half_width = check_in_range("half_width", half_width, low=0.0, low_open=True)
    t, wt = np.polynomial.legendre.leggauss(nodes_per_panel)
    edges = np.linspace(-half_width, half_width, n_panels + 1)
    mid = (edges[1:] + edges[:-1]) / 2.0
    half = (edges[1:] - edges[:-1]) / 2.0
    x = (mid[:, None] + half[:, None] * t[None, :]).ravel()
    w = (half[:, None] * wt[None, :]).ravel()
    e = np.exp(-np.abs(x))
    dens = e / (1.0 + e) ** 2                                           # symmetric, no overflow
    return readonly(x), readonly(w * dens)


_LOGISTIC_X, _LOGISTIC_W = logistic_expectation_rule()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


@dataclass(frozen=True, eq=False)
class LogisticBandit(_OneStep):
    """I2: the logistic-location bandit, which satisfies A1-A4 (card §4.0, I2).

    One step (gamma = 0, so J = E[r(a)] and 1 - gamma = 1); action a in R^m with independent
    coordinates a_i = theta_i + b X_i, X_i standard logistic.

    Score and log-Hessian (card §4.0 I2), with z_i = (a_i - theta_i)/(2b) = X_i / 2:
        d_i log pi = tanh(z_i) / b,   hess log pi = diag(-sech^2(z_i) / (2 b^2)),
    so M_g = sqrt(m)/b, M_h = 1/(2b^2), l_2 = 1/(3 sqrt(3) b^3), Fisher F = I/(3b^2) for every
    theta: mu_F = 1/(3b^2) exactly.

    Rewards (r_max = 1):
        "bump":     r(a) = exp(-||a - c||^2 / (2 w^2));  J = prod_i E[f(theta_i + bX - c_i)],
                    in-class maximiser theta = c, J*_class = (E[exp(-b^2 X^2/(2w^2))])^m < J* = 1.
        "monotone": r(a) = (1/m) sum_i sigmoid(a_i);  J = (1/m) sum_i E[sigmoid(theta_i + bX)],
                    J* = 1 (a supremum, not attained: no optimal policy, eps_bias undefined).
    Exact J, gradient and Hessian by differentiating under the expectation
    (reparameterisation), with :func:`logistic_expectation_rule`. All exact methods accept theta
    of shape (m,) or (N, m) and return (...,), (..., m), (..., m, m).

    Parameters
    ----------
    m : int >= 1
    b : float > 0
        Logistic scale.
    reward : {"bump", "monotone"}
    c : array (m,), optional
        Bump centre (default zeros).
    w : float > 0
        Bump width.

    Examples
    --------
    >>> import numpy as np
    >>> bump = LogisticBandit(m=2, b=0.5, reward="bump", c=[1.0, -0.5], w=1.0)
    >>> bool(np.allclose(bump.grad_J(bump.c), 0.0, atol=1e-15)), round(bump.mu_F, 12)
    (True, 1.333333333333)
    """

    m: int
    b: float
    reward: str = "bump"
    c: Any = None
    w: float = 1.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "m", check_int("m", self.m, low=1))
        set_(self, "b", check_in_range("b", self.b, low=0.0, low_open=True))
        check_choice("reward", self.reward, ("bump", "monotone"))
        set_(self, "w", check_in_range("w", self.w, low=0.0, low_open=True))
        c = np.zeros(self.m) if self.c is None else check_float_array("c", self.c,
                                                                       shape=(self.m,))
        set_(self, "c", readonly(c))

    gamma = 0.0
    r_max = 1.0

    @property
    def d(self) -> int:
        return self.m

    @property
    def M_g(self) -> float:
        return float(np.sqrt(self.m) / self.b)

    @property
    def M_h(self) -> float:
        return 1.0 / (2.0 * self.b ** 2)

    @property
    def l_2(self) -> float:
        return 1.0 / (3.0 * np.sqrt(3.0) * self.b ** 3)

    @property
    def mu_F(self) -> float:
        return 1.0 / (3.0 * self.b ** 2)

    def fisher(self, theta: Any) -> np.ndarray:
        """F = I / (3 b^2) for every theta."""
        _theta("theta", theta, self.d)
        return np.eye(self.m) / (3.0 * self.b ** 2)

    # ------------------------------------------------------------- reward
    def r(self, a: Any) -> np.ndarray:
        """Reward of actions a (..., m) -> (...)."""
        a = np.asarray(a, dtype=np.float64)
        if self.reward == "bump":
            return np.exp(-((a - self.c) ** 2).sum(-1) / (2.0 * self.w ** 2))
        return _sigmoid(a).mean(-1)

    def _moments(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """E[f^(k)(theta_i + bX)] for k = 0, 1, 2: three arrays (..., m) (f per coordinate)."""
        z = theta[..., None] + self.b * _LOGISTIC_X                     # (..., m, nodes)
        if self.reward == "bump":
            z = z - self.c[:, None]
            w2 = self.w ** 2
            f0 = np.exp(-z ** 2 / (2.0 * w2))
            f1 = -z / w2 * f0
            f2 = (z ** 2 / w2 ** 2 - 1.0 / w2) * f0
        else:
            f0 = _sigmoid(z)
            f1 = f0 * (1.0 - f0)
            f2 = f1 * (1.0 - 2.0 * f0)
        return f0 @ _LOGISTIC_W, f1 @ _LOGISTIC_W, f2 @ _LOGISTIC_W

    def J(self, theta: Any) -> np.ndarray | float:
        """Exact J(theta) (quadrature); theta (m,) or (N, m)."""
        theta = _theta("theta", theta, self.d, batch=True)
        E0, _, _ = self._moments(theta)
        out = E0.prod(-1) if self.reward == "bump" else E0.mean(-1)
        return float(out) if out.ndim == 0 else out

    def grad_J(self, theta: Any) -> np.ndarray:
        """Exact grad J (..., m)."""
        theta = _theta("theta", theta, self.d, batch=True)
        E0, E1, _ = self._moments(theta)
        if self.reward == "monotone":
            return E1 / self.m
        return E1 * _prod_except(E0)

    def hess_J(self, theta: Any) -> np.ndarray:
        """Exact Hessian of J (..., m, m)."""
        theta = _theta("theta", theta, self.d, batch=True)
        E0, E1, E2 = self._moments(theta)
        m = self.m
        idx = np.arange(m)
        if self.reward == "monotone":
            out = np.zeros((*theta.shape, m))
            out[..., idx, idx] = E2 / m
            return out
        out = np.empty((*theta.shape, m))
        for i in range(m):
            for j in range(m):
                if i == j:
                    rest = np.delete(E0, i, axis=-1).prod(-1)
                    out[..., i, i] = E2[..., i] * rest
                else:
                    rest = np.delete(E0, [i, j], axis=-1).prod(-1)
                    out[..., i, j] = E1[..., i] * E1[..., j] * rest
        return out

    @property
    def J_star(self) -> float:
        """sup over all policies: max_a r(a) = 1 (attained by a = c for the bump; a supremum
        for the monotone reward)."""
        return 1.0

    @property
    def J_star_class(self) -> float:
        """Best value in the class: J(c) for the bump; 1 (a supremum) for the monotone reward."""
        return self.J(self.c) if self.reward == "bump" else 1.0

    def compatible_weight(self, theta: Any) -> np.ndarray:
        """w*(theta) = F^{-1} grad J = 3 b^2 grad J (gamma = 0)."""
        return 3.0 * self.b ** 2 * self.grad_J(theta)

    def _require_bump(self, what: str) -> None:
        if self.reward != "bump":
            raise ValueError(f"{what} needs an optimal policy; the monotone reward has none "
                             f"(J* = 1 is a supremum, card §4.0 I2). Use reward='bump'")

    def eps_bias(self, theta: Any) -> float:
        """A4's error at theta for the bump: pi* = delta_c (r(c) = 1 = J*), so
        eps_bias(theta) = (1 - J(theta) - w*(theta) . score_theta(c))^2 with
        score_theta(c) = tanh((c - theta)/(2b))/b (gamma = 0)."""
        self._require_bump("eps_bias")
        theta = _theta("theta", theta, self.d)
        score_c = np.tanh((self.c - theta) / (2.0 * self.b)) / self.b
        return float((1.0 - self.J(theta) - self.compatible_weight(theta) @ score_c) ** 2)

    def optimal_score_norm(self, theta: Any) -> float:
        """E_{a ~ pi*} ||grad log pi_theta(a)|| = ||tanh((c - theta)/(2b))|| / b (bump)."""
        self._require_bump("optimal_score_norm")
        theta = _theta("theta", theta, self.d)
        return float(np.linalg.norm(np.tanh((self.c - theta) / (2.0 * self.b))) / self.b)

    # -------------------------------------------------------------- sampling
    def sample(self, theta: Any, *, H: int = 1, n: int, rng: Any) -> Rollouts:
        """Draw n actions per theta (one-step trajectories; H is accepted and ignored).

        Draws from ``rng``: U (N, n, m) uniform in [0, 1); X = log(U / (1 - U)) (a draw of
        exactly 0 is mapped to the smallest positive float so X is finite), then the compiled
        kernel ``_sample_logistic`` computes a, r, score, g and curv. Curvature "diag".
        """
        theta = _theta("theta", theta, self.d, batch=True)
        _check_H(H)
        n = check_int("n", n, low=1)
        rng = check_rng("rng", rng)
        th, single = _lead(theta)
        N = th.shape[0]
        U = rng.random((N, n, self.m))
        U = np.maximum(U, np.finfo(np.float64).tiny)
        g = np.empty((N, n, self.m))
        score = np.empty((N, n, self.m))
        curv = np.empty((N, n, self.m))
        r = np.empty((N, n))
        a = np.empty((N, n, self.m))
        _sample_logistic(np.ascontiguousarray(th), U, self.b, np.ascontiguousarray(self.c),
                         self.w, self.reward == "bump", g, score, r, curv, a)
        sq = lambda x: _squeeze(x, single)                              # noqa: E731
        return Rollouts(sq(g), sq(g), sq(score), sq(r), "diag", sq(curv), None, 1, sq(th),
                        (sq(a),))

    def reweighted(self, ro: Rollouts, theta: Any) -> tuple[np.ndarray, np.ndarray]:
        """GPOMDP of the same actions at another theta' and the log importance weight
        (see :meth:`LogLinearMDP.reweighted`): g' = r(a) tanh((a - theta')/(2b))/b and
        log w = sum_i l((a_i - theta'_i)/b) - l((a_i - theta_i)/b), l(z) = -z - 2 log(1 + e^-z)
        the standard logistic log-density."""
        (a,), _, th0, th1, single = _reweight_args(self, ro, theta)
        r = self.r(a)                                                   # (N, n)
        z1 = (a - th1[:, None, :]) / self.b
        z0 = (a - th0[:, None, :]) / self.b
        g = r[..., None] * np.tanh(z1 / 2.0) / self.b
        logpdf = lambda z: -z - 2.0 * np.logaddexp(0.0, -z)             # noqa: E731
        lw = (logpdf(z1) - logpdf(z0)).sum(axis=-1)
        return (g[0], lw[0]) if single else (g, lw)


def _prod_except(E: np.ndarray) -> np.ndarray:
    """out[..., i] = prod_{j != i} E[..., j] (no division, so zeros are fine)."""
    m = E.shape[-1]
    out = np.empty_like(E)
    for i in range(m):
        out[..., i] = np.delete(E, i, axis=-1).prod(-1)
    return out


# ============================================ I5: finite states, continuous logistic actions
@dataclass(frozen=True, eq=False)
class _ModelDerivs:
    """P_pi, r_pi and their first and second derivatives at one theta (any policy class)."""

    P_pi: np.ndarray      # (S, S)
    r_pi: np.ndarray      # (S,)
    dP: np.ndarray        # (d, S, S)
    dr: np.ndarray        # (d, S)
    d2P: np.ndarray       # (d, d, S, S)
    d2r: np.ndarray       # (d, d, S)


@dataclass(frozen=True, eq=False)
class LogisticStateMDP(_ExactTabular):
    """I5: finite states, a continuous action, a logistic policy (card §4.0, I5; not prototyped).

    pi_theta(a|s) = Logistic(a; theta . phi(s), b); transitions
    P(s'|s, a) = softmax_{s'}(kappa[s, s'] a + beta[s, s']); reward r(s, a) =
    exp(-(a - c_s)^2 / (2 w^2)) (bounded, r_max = 1). With a = theta . phi(s) + b X, X standard
    logistic, the location score is tanh(X/2)/b, so (card §4.0 I5)

        grad log pi(a|s) = tanh(X/2) phi(s) / b,   hess log pi(a|s) = -sech^2(X/2) phi(s) phi(s)^T / (2 b^2),
        P_pi(s, s')    = E[P(s'|s, a)],  d P_pi = E[P(s'|s, a) grad log pi],
        d^2 P_pi       = E[P(s'|s, a)(grad log pi grad log pi^T + hess log pi)]   (same for r_pi),

    each a 1-D expectation per state (:func:`logistic_expectation_rule`); then J, grad J, hess J,
    J_H and their derivatives follow the tabular formulas of I1 (:class:`_ExactTabular`).
    Constants [derived from I2]: M_g = max_s ||phi(s)||/b, M_h = max_s ||phi(s)||^2/(2 b^2),
    l_2 = max_s ||phi(s)||^3/(3 sqrt3 b^3); F(theta) = sum_s d_theta(s) phi(s) phi(s)^T/(3 b^2)
    >= mu_F I with mu_F = (1 - gamma) lambda_min(E_rho[phi phi^T])/(3 b^2) (card: A1-A3 hold).
    J* (over all policies) is approximated from below by value iteration on an action grid
    (:attr:`J_star`, card: "pi* computed on a fine action grid").

    Parameters
    ----------
    phi : (S, d) state features; kappa, beta : (S, S); c : (S,) reward centres; b, w : > 0;
    gamma in (0, 1); rho : (S,) (default uniform).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.harpg import logistic_state_mdp
    >>> p = logistic_state_mdp()
    >>> theta = np.array([0.3, -0.2])
    >>> fd = (p.J(theta + [1e-6, 0]) - p.J(theta - [1e-6, 0])) / 2e-6
    >>> bool(abs(fd - p.grad_J(theta)[0]) < 1e-7)
    True
    """

    phi: Any
    kappa: Any
    beta: Any
    c: Any
    b: float = 0.5
    w: float = 1.0
    gamma: float = 0.9
    rho: Any = None
    _cache: dict = field(init=False, repr=False, default_factory=dict)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        phi = check_float_array("phi", self.phi, ndim=2)
        S = phi.shape[0]
        set_(self, "phi", readonly(phi))
        for name in ("kappa", "beta"):
            set_(self, name, readonly(check_float_array(name, getattr(self, name), shape=(S, S))))
        set_(self, "c", readonly(check_float_array("c", self.c, shape=(S,))))
        set_(self, "b", check_in_range("b", self.b, low=0.0, low_open=True))
        set_(self, "w", check_in_range("w", self.w, low=0.0, low_open=True))
        set_(self, "gamma", check_in_range("gamma", self.gamma, low=0.0, high=1.0,
                                           high_open=True))
        rho = np.full(S, 1.0 / S) if self.rho is None else \
            check_float_array("rho", self.rho, shape=(S,))
        if np.any(rho < 0) or abs(rho.sum() - 1.0) > 1e-9:
            raise ValueError(f"rho sums to {rho.sum():.6g} with min {rho.min():.3g}; it must be "
                             f"a distribution over the {S} states (nonnegative, sum 1)")
        set_(self, "rho", readonly(rho))

    @property
    def S(self) -> int:
        return self.phi.shape[0]

    @property
    def d(self) -> int:
        return self.phi.shape[1]

    r_max = 1.0

    @property
    def M_g(self) -> float:
        return float(np.linalg.norm(self.phi, axis=1).max() / self.b)

    @property
    def M_h(self) -> float:
        return float(np.linalg.norm(self.phi, axis=1).max() ** 2 / (2.0 * self.b ** 2))

    @property
    def l_2(self) -> float:
        return float(np.linalg.norm(self.phi, axis=1).max() ** 3 / (3.0 * np.sqrt(3.0) * self.b ** 3))

    @property
    def mu_F(self) -> float:
        G = np.einsum("s,sd,se->de", self.rho, self.phi, self.phi)
        return float((1.0 - self.gamma) * np.linalg.eigvalsh(G).min() / (3.0 * self.b ** 2))

    # ------------------------------------------------------------------ model
    def _transitions(self, a: np.ndarray) -> np.ndarray:
        """P(s'|s, a) for actions a (S, K) -> (S, K, S') (softmax over s')."""
        z = self.kappa[:, None, :] * a[..., None] + self.beta[:, None, :]
        z = z - z.max(axis=-1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=-1, keepdims=True)

    def _reward(self, a: np.ndarray) -> np.ndarray:
        """r(s, a) for actions a (S, K)."""
        return np.exp(-(a - self.c[:, None]) ** 2 / (2.0 * self.w ** 2))

    def _derivs(self, theta: Any) -> _ModelDerivs:
        theta = _theta("theta", theta, self.d)
        a = (self.phi @ theta)[:, None] + self.b * _LOGISTIC_X[None, :]    # (S, K)
        th = np.tanh(_LOGISTIC_X / 2.0)
        t1 = th / self.b                                                   # location score
        t2 = t1 ** 2 - (1.0 - th ** 2) / (2.0 * self.b ** 2)              # score^2 + log-Hessian
        Pa, ra = self._transitions(a), self._reward(a)                     # (S, K, S), (S, K)
        W = _LOGISTIC_W
        P_pi = np.einsum("k,skt->st", W, Pa)
        r_pi = ra @ W
        P1, r1 = np.einsum("k,skt->st", W * t1, Pa), ra @ (W * t1)
        P2, r2 = np.einsum("k,skt->st", W * t2, Pa), ra @ (W * t2)
        phi = self.phi
        outer = np.einsum("sk,sl->kls", phi, phi)                          # (d, d, S)
        return _ModelDerivs(P_pi, r_pi, phi.T[:, :, None] * P1[None], phi.T * r1[None],
                            outer[..., None] * P2[None, None], outer * r2[None, None])

    def _second(self, D: _ModelDerivs) -> tuple[np.ndarray, np.ndarray]:
        return D.d2P, D.d2r

    def fisher(self, theta: Any) -> np.ndarray:
        """F(theta) = sum_s d_theta(s) E[tanh^2(X/2)] phi(s) phi(s)^T / b^2 (quadrature), (d, d)."""
        e2 = float(_LOGISTIC_W @ np.tanh(_LOGISTIC_X / 2.0) ** 2)         # = 1/3
        return np.einsum("s,sd,se->de", self.occupancy(theta), self.phi, self.phi) * e2 / self.b ** 2

    def J_star_grid(self, n_actions: int = 801, half_width: float = 8.0) -> float:
        """max over deterministic policies with actions on a grid of ``n_actions`` points in
        [min c - half_width, max c + half_width] (policy iteration on the discretised MDP): a
        lower bound on J* that converges to it as the grid refines. Cached per arguments."""
        key = ("J_star", n_actions, half_width)
        if key not in self._cache:
            from rlsandbox.dp import policy_iteration
            grid = np.linspace(self.c.min() - half_width, self.c.max() + half_width, n_actions)
            a = np.broadcast_to(grid, (self.S, n_actions))
            mdp = TabularMDP(self._transitions(a), self._reward(a), self.gamma, rho=self.rho)
            self._cache[key] = float(self.rho @ policy_iteration(mdp).V)
        return self._cache[key]

    @property
    def J_star(self) -> float:
        """:meth:`J_star_grid` with its defaults (801 actions)."""
        return self.J_star_grid()

    # ------------------------------------------------------------ compatible fit
    def optimal_actions(self, n_actions: int = 801, half_width: float = 8.0) -> np.ndarray:
        """The deterministic comparator pi*: per state, the action of the grid policy whose
        value is :meth:`J_star_grid` (same grid), (S,). Cached per arguments."""
        key = ("a_star", n_actions, half_width)
        if key not in self._cache:
            from rlsandbox.dp import policy_iteration
            grid = np.linspace(self.c.min() - half_width, self.c.max() + half_width, n_actions)
            a = np.broadcast_to(grid, (self.S, n_actions))
            mdp = TabularMDP(self._transitions(a), self._reward(a), self.gamma, rho=self.rho)
            self._cache[key] = readonly(grid[np.asarray(policy_iteration(mdp).policy)])
        return self._cache[key]

    def _star(self) -> tuple[np.ndarray, np.ndarray]:
        """(a* (S,) the comparator's actions, d_rho^{pi*} (S,) its normalised occupancy)."""
        a_star = self.optimal_actions()
        P_star = self._transitions(a_star[:, None])[:, 0, :]                # (S, S)
        d_star = (1.0 - self.gamma) * np.linalg.solve((np.eye(self.S) - self.gamma * P_star).T,
                                                      self.rho)
        return a_star, d_star

    def compatible_weight(self, theta: Any) -> np.ndarray:
        """w*(theta) = F(theta)^{-1} grad J(theta) (d,) (F >= mu_F I, card §2)."""
        return np.linalg.solve(self.fisher(theta), self.grad_J(theta))

    def _star_terms(self, theta: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(A^theta(s, a*(s)) (S,), score grad log pi_theta(a*(s)|s) (S, d), d* (S,))."""
        theta = _theta("theta", theta, self.d)
        a_star, d_star = self._star()
        V = self.V(theta)
        P_star = self._transitions(a_star[:, None])[:, 0, :]
        r_star = self._reward(a_star[:, None])[:, 0]
        adv = r_star + self.gamma * P_star @ V - V
        z = (a_star - self.phi @ theta) / (2.0 * self.b)
        return adv, np.tanh(z)[:, None] * self.phi / self.b, d_star

    def eps_bias(self, theta: Any) -> float:
        """Transferred compatible-approximation error at theta (card §2 A4, §4.0 I5) against the
        grid comparator pi* (:meth:`optimal_actions`, deterministic):
        sum_s d*(s) (A^theta(s, a*(s)) - (1-gamma) w*(theta) . grad log pi_theta(a*(s)|s))^2.
        With this pi*, J(pi*) = :attr:`J_star` exactly, so the performance-difference proof of
        the relaxed-WGD lemma applies with J* replaced by J_star (a lower bound on sup J)."""
        adv, psi, d_star = self._star_terms(theta)
        resid = adv - (1.0 - self.gamma) * psi @ self.compatible_weight(theta)
        return float(d_star @ resid ** 2)

    def optimal_score_norm(self, theta: Any) -> float:
        """E_{s ~ d*} ||grad log pi_theta(a*(s)|s)|| (the pointwise relaxed-WGD factor)."""
        _, psi, d_star = self._star_terms(theta)
        return float(d_star @ np.linalg.norm(psi, axis=1))

    def class_maximiser(self, theta0: Any = None, *, iters: int = 50) -> np.ndarray:
        """A stationary point of J in the class by Newton ascent with backtracking from
        ``theta0`` (default 0), stopped when ||grad J|| <= 1e-12 (d,). Used where a claim
        needs grad J = 0 (the relaxed-WGD bound reduces to its bias term there)."""
        theta = np.zeros(self.d) if theta0 is None else _theta("theta0", theta0, self.d).copy()
        for _ in range(check_int("iters", iters, low=1)):
            g = self.grad_J(theta)
            if np.linalg.norm(g) <= 1e-12:
                break
            Hs = self.hess_J(theta)
            step = -np.linalg.solve(Hs, g) if np.all(np.linalg.eigvalsh(Hs) < 0) else g
            t, J0 = 1.0, self.J(theta)
            while self.J(theta + t * step) < J0 and t > 1e-8:
                t *= 0.5
            theta = theta + t * step
        return theta

    # ---------------------------------------------------------------- sampling
    def sample(self, theta: Any, *, H: int, n: int, rng: Any) -> Rollouts:
        """``n`` length-H trajectories per theta ((d,) or (N, d)). Draws from ``rng``, in order:
        u_0 (N, n), u_a (N, n, H), u_s (N, n, H) uniforms (a draw of exactly 0 in u_a is mapped
        to the smallest positive float); compiled kernel ``_rollout_logistic_states``; the
        estimators are assembled from its per-step score, curvature, reward and state."""
        theta = _theta("theta", theta, self.d, batch=True)
        H = _check_H(H)
        n = check_int("n", n, low=1)
        rng = check_rng("rng", rng)
        th, single = _lead(theta)
        N, S, d = th.shape[0], self.S, self.d
        u_0 = rng.random((N, n))
        u_a = np.maximum(rng.random((N, n, H)), np.finfo(np.float64).tiny)
        u_s = rng.random((N, n, H))
        psi, h, r = (np.empty((N, n, H)) for _ in range(3))
        st = np.empty((N, n, H), dtype=np.int64)
        rc = np.cumsum(self.rho)
        _rollout_logistic_states(np.ascontiguousarray(th @ self.phi.T), float(self.b),
                                 np.ascontiguousarray(self.kappa), np.ascontiguousarray(self.beta),
                                 np.ascontiguousarray(self.c), float(self.w), float(self.gamma),
                                 rc / rc[-1], u_0, u_a, u_s, psi, h, r, st)
        disc_r = r * self.gamma ** np.arange(H)
        Rt = np.cumsum(disc_r[..., ::-1], axis=-1)[..., ::-1]            # sum_{h>=t} gamma^h r_h
        Rp = np.empty_like(r)                                             # sum_{h>=t} gamma^(h-t) r_h
        acc = np.zeros((N, n))
        for t in range(H - 1, -1, -1):
            acc = r[..., t] + self.gamma * acc
            Rp[..., t] = acc
        phi_s = self.phi[st]                                              # (N, n, H, d)
        g = np.einsum("Nnt,Nntd->Nnd", Rt * psi, phi_s)
        gt = np.einsum("Nnt,Nntd->Nnd", Rp * psi, phi_s)
        ss = np.einsum("Nnt,Nntd->Nnd", psi, phi_s)
        W = np.zeros((N, n, S))
        for k in range(S):
            W[..., k] = np.sum(np.where(st == k, Rt * h, 0.0), axis=-1)
        state_hess = np.broadcast_to(np.einsum("sd,se->sde", self.phi, self.phi), (N, S, d, d))
        sq = lambda x: _squeeze(x, single)                              # noqa: E731
        return Rollouts(sq(g), sq(gt), sq(ss), sq(Rt[..., 0]), "states", sq(W),
                        sq(np.ascontiguousarray(state_hess)), H)


# ================================================================ I3: Gaussian bandit
@dataclass(frozen=True, eq=False)
class GaussianBandit(_OneStep):
    """I3: one-step Gaussian-location bandit with a Gaussian bump reward (card §4.0, I3).

    a = theta + sigma xi, xi ~ N(0, I_m); r(a) = exp(-||a - c||^2 / (2 w^2)). Closed form
    (product of the card's 1-D formula): with v = w^2 + sigma^2,
        J(theta) = (w / sqrt(v))^m exp(-||theta - c||^2 / (2 v)),
        grad J = -(theta - c) J / v,   hess J = J [(theta - c)(theta - c)^T / v^2 - I / v].
    Score (a - theta)/sigma^2 (unbounded: A1 fails, M_g = None), hess log pi = -I/sigma^2
    (l_2 = 0), F = I/sigma^2 so mu_F = 1/sigma^2. gamma = 0; J_H = J for H >= 1.

    Examples
    --------
    >>> gb = GaussianBandit(m=1, sigma=1.0, c=[0.0], w=1.0)
    >>> round(gb.J([0.0]), 12)          # w / sqrt(w^2 + sigma^2) = 1/sqrt(2)
    0.707106781187
    """

    m: int
    sigma: float
    c: Any = None
    w: float = 1.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "m", check_int("m", self.m, low=1))
        set_(self, "sigma", check_in_range("sigma", self.sigma, low=0.0, low_open=True))
        set_(self, "w", check_in_range("w", self.w, low=0.0, low_open=True))
        c = np.zeros(self.m) if self.c is None else check_float_array("c", self.c,
                                                                       shape=(self.m,))
        set_(self, "c", readonly(c))

    gamma = 0.0
    r_max = 1.0
    M_g = None           # unbounded score: A1 fails (card §4.0 I3)
    l_2 = 0.0

    @property
    def d(self) -> int:
        return self.m

    @property
    def M_h(self) -> float:
        return 1.0 / self.sigma ** 2

    @property
    def mu_F(self) -> float:
        return 1.0 / self.sigma ** 2

    def fisher(self, theta: Any) -> np.ndarray:
        _theta("theta", theta, self.d)
        return np.eye(self.m) / self.sigma ** 2

    def r(self, a: Any) -> np.ndarray:
        a = np.asarray(a, dtype=np.float64)
        return np.exp(-((a - self.c) ** 2).sum(-1) / (2.0 * self.w ** 2))

    def J(self, theta: Any) -> np.ndarray | float:
        theta = _theta("theta", theta, self.d, batch=True)
        v = self.w ** 2 + self.sigma ** 2
        out = (self.w / np.sqrt(v)) ** self.m * np.exp(-((theta - self.c) ** 2).sum(-1) / (2 * v))
        return float(out) if out.ndim == 0 else out

    def grad_J(self, theta: Any) -> np.ndarray:
        theta = _theta("theta", theta, self.d, batch=True)
        v = self.w ** 2 + self.sigma ** 2
        return -(theta - self.c) / v * np.asarray(self.J(theta))[..., None]

    def hess_J(self, theta: Any) -> np.ndarray:
        theta = _theta("theta", theta, self.d, batch=True)
        v = self.w ** 2 + self.sigma ** 2
        z = theta - self.c
        J = np.asarray(self.J(theta))[..., None, None]
        return J * (z[..., :, None] * z[..., None, :] / v ** 2 - np.eye(self.m) / v)

    J_star = 1.0

    @property
    def J_star_class(self) -> float:
        return self.J(self.c)

    def sample(self, theta: Any, *, H: int = 1, n: int, rng: Any) -> Rollouts:
        """n actions per theta. Draws from ``rng``: xi (N, n, m) standard normal."""
        theta = _theta("theta", theta, self.d, batch=True)
        _check_H(H)
        n = check_int("n", n, low=1)
        rng = check_rng("rng", rng)
        th, single = _lead(theta)
        xi = rng.standard_normal((th.shape[0], n, self.m))
        a = th[:, None, :] + self.sigma * xi
        r = self.r(a)
        score = xi / self.sigma
        curv = np.broadcast_to(-r[..., None] / self.sigma ** 2, score.shape).copy()
        g = r[..., None] * score
        sq = lambda x: _squeeze(x, single)                              # noqa: E731
        return Rollouts(sq(g), sq(g), sq(score), sq(r), "diag", sq(curv), None, 1)


# ====================================================================== I4: scalar LQR
@dataclass(frozen=True, eq=False)
class ScalarLQR:
    """I4: discounted scalar LQR with the linear Gaussian policy (card §4.0, I4) [derived].

    s_{t+1} = A_d s_t + B_d a_t + w_t, w_t ~ N(0, W), s_0 ~ N(0, Sigma0); a = -K s + sigma xi
    (theta = K, d = 1, fixed sigma > 0); r(s, a) = -(Q_c s^2 + R_c a^2).
    With l_K = A_d - B_d K (stabilising iff gamma l_K^2 < 1), N = Q_c + R_c K^2, D = 1 - gamma l_K^2,
        Lambda_K = N / D,  c_0 = Sigma0 + gamma (B_d^2 sigma^2 + W)/(1 - gamma),
        J(K) = -Lambda_K c_0 - R_c sigma^2 / (1 - gamma),
        J'(K) = -c_0 (N'D - N D')/D^2,
        J''(K) = -c_0 [N''/D - 2 N'D'/D^2 - N D''/D^2 + 2 N D'^2/D^3],
    N' = 2 R_c K, D' = 2 gamma B_d l_K, N'' = 2 R_c, D'' = -2 gamma B_d^2 (card §4.0 I4).
    Truncated: S_0 = Sigma0, S_{t+1} = l_K^2 S_t + B_d^2 sigma^2 + W,
    J_H = -sum_{t<H} gamma^t [(Q_c + R_c K^2) S_t + R_c sigma^2], differentiated in K along the
    recursion. Optimal gain from the discounted Riccati fixed point
    Lambda = Q_c + gamma A_d^2 Lambda - (gamma A_d B_d Lambda)^2 / (R_c + gamma B_d^2 Lambda),
    K* = gamma A_d B_d Lambda / (R_c + gamma B_d^2 Lambda); J*_class = J(K*); the global optimum
    (sigma = 0) J* = -Lambda* (Sigma0 + gamma W/(1 - gamma)).
    Score -(a + K s) s / sigma^2, log-Hessian -s^2/sigma^2 (A1 fails: unbounded; l_2 = 0);
    Fisher E_{d_K}[s^2]/sigma^2 with E_{d_K}[s^2] = (1 - gamma) c_0 / D.

    Exact methods take K as a float or an array (...,) of gains (theta of shape (1,) or (N, 1)
    for the common interface).

    Examples
    --------
    >>> lqr = ScalarLQR()                      # the card's reference instance
    >>> round(lqr.K_star, 12), round(float(lqr.J([0.8])), 7)
    (1.48985234088, -1.9826923)
    """

    A_d: float = 1.0
    B_d: float = 0.5
    Q_c: float = 1.0
    R_c: float = 0.1
    gamma: float = 0.9
    sigma: float = 0.3
    Sigma0: float = 1.0
    W: float = 0.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        for name in ("A_d", "B_d"):
            set_(self, name, check_in_range(name, getattr(self, name)))
        if self.B_d == 0.0:
            raise ValueError("B_d == 0: the gain K has no effect; pass B_d != 0")
        set_(self, "Q_c", check_in_range("Q_c", self.Q_c, low=0.0))
        set_(self, "R_c", check_in_range("R_c", self.R_c, low=0.0, low_open=True))
        set_(self, "gamma", check_in_range("gamma", self.gamma, low=0.0, high=1.0,
                                           low_open=True, high_open=True))
        set_(self, "sigma", check_in_range("sigma", self.sigma, low=0.0, low_open=True))
        set_(self, "Sigma0", check_in_range("Sigma0", self.Sigma0, low=0.0))
        set_(self, "W", check_in_range("W", self.W, low=0.0))

    d = 1
    r_max = None          # unbounded rewards (A1 fails)
    M_g = None
    M_h = None
    l_2 = 0.0

    # ------------------------------------------------------------------ pieces
    @staticmethod
    def _K(theta: Any) -> np.ndarray:
        K = np.asarray(theta, dtype=np.float64)
        if K.ndim >= 1 and K.shape[-1] == 1:
            K = K[..., 0]
        return K

    def stabilizing_interval(self) -> tuple[float, float]:
        """The open interval of K with gamma (A_d - B_d K)^2 < 1."""
        r = 1.0 / np.sqrt(self.gamma)
        lo, hi = (self.A_d - r) / self.B_d, (self.A_d + r) / self.B_d
        return (min(lo, hi), max(lo, hi))

    def _check_stable(self, K: np.ndarray) -> None:
        l2 = (self.A_d - self.B_d * K) ** 2
        bad = self.gamma * l2 >= 1.0
        if np.any(bad):
            k = float(np.asarray(K)[bad].flat[0]) if np.ndim(K) else float(K)
            lo, hi = self.stabilizing_interval()
            raise ValueError(f"K == {k!r} does not stabilise the discounted system (gamma l_K^2 "
                             f"= {self.gamma * (self.A_d - self.B_d * k) ** 2:.6g} >= 1); J is "
                             f"-inf there. Keep K in ({lo:.6g}, {hi:.6g})")

    @property
    def c0(self) -> float:
        return self.Sigma0 + self.gamma * (self.B_d ** 2 * self.sigma ** 2 + self.W) / (1.0 - self.gamma)

    def Lambda(self, theta: Any) -> np.ndarray | float:
        K = self._K(theta)
        self._check_stable(K)
        out = (self.Q_c + self.R_c * K ** 2) / (1.0 - self.gamma * (self.A_d - self.B_d * K) ** 2)
        return float(out) if np.ndim(out) == 0 else out

    def J(self, theta: Any) -> np.ndarray | float:
        K = self._K(theta)
        out = -np.asarray(self.Lambda(K)) * self.c0 - self.R_c * self.sigma ** 2 / (1.0 - self.gamma)
        return float(out) if np.ndim(out) == 0 else out

    def _ND(self, K: np.ndarray):
        g, Bd = self.gamma, self.B_d
        l = self.A_d - Bd * K
        N, D = self.Q_c + self.R_c * K ** 2, 1.0 - g * l ** 2
        N1, D1 = 2.0 * self.R_c * K, 2.0 * g * Bd * l
        N2, D2 = 2.0 * self.R_c, -2.0 * g * Bd ** 2
        return N, D, N1, D1, N2, D2

    def dJ(self, theta: Any) -> np.ndarray | float:
        """J'(K) (scalar per gain)."""
        K = self._K(theta)
        self._check_stable(K)
        N, D, N1, D1, _, _ = self._ND(K)
        out = -self.c0 * (N1 * D - N * D1) / D ** 2
        return float(out) if np.ndim(out) == 0 else out

    def d2J(self, theta: Any) -> np.ndarray | float:
        """J''(K)."""
        K = self._K(theta)
        self._check_stable(K)
        N, D, N1, D1, N2, D2 = self._ND(K)
        out = -self.c0 * (N2 / D - 2 * N1 * D1 / D ** 2 - N * D2 / D ** 2 + 2 * N * D1 ** 2 / D ** 3)
        return float(out) if np.ndim(out) == 0 else out

    def grad_J(self, theta: Any) -> np.ndarray:
        return np.asarray(self.dJ(theta), dtype=np.float64)[..., None]

    def hess_J(self, theta: Any) -> np.ndarray:
        return np.asarray(self.d2J(theta), dtype=np.float64)[..., None, None]

    def _truncated(self, theta: Any, H: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        H = _check_H(H)
        K = self._K(theta)
        self._check_stable(K)
        l = self.A_d - self.B_d * K
        l2, dl2, d2l2 = l ** 2, -2.0 * self.B_d * l, 2.0 * self.B_d ** 2
        c = self.B_d ** 2 * self.sigma ** 2 + self.W
        N, N1, N2 = self.Q_c + self.R_c * K ** 2, 2.0 * self.R_c * K, 2.0 * self.R_c
        S = np.full(np.shape(K), self.Sigma0)
        dS = np.zeros(np.shape(K))
        d2S = np.zeros(np.shape(K))
        J = np.zeros(np.shape(K))
        dJ = np.zeros(np.shape(K))
        d2J = np.zeros(np.shape(K))
        for t in range(H):
            gt = self.gamma ** t
            J -= gt * (N * S + self.R_c * self.sigma ** 2)
            dJ -= gt * (N1 * S + N * dS)
            d2J -= gt * (N2 * S + 2 * N1 * dS + N * d2S)
            S, dS, d2S = (l2 * S + c, dl2 * S + l2 * dS,
                          d2l2 * S + 2 * dl2 * dS + l2 * d2S)
        return J, dJ, d2J

    def J_H(self, theta: Any, H: int) -> np.ndarray | float:
        out = self._truncated(theta, H)[0]
        return float(out) if np.ndim(out) == 0 else out

    def grad_J_H(self, theta: Any, H: int) -> np.ndarray:
        return self._truncated(theta, H)[1][..., None]

    def hess_J_H(self, theta: Any, H: int) -> np.ndarray:
        return self._truncated(theta, H)[2][..., None, None]

    # ----------------------------------------------------------------- optimum
    @functools.cached_property
    def Lambda_star(self) -> float:
        """Positive fixed point of the discounted Riccati map
        Lambda = Q_c + gamma A_d^2 Lambda - (gamma A_d B_d Lambda)^2 / (R_c + gamma B_d^2 Lambda).

        Multiplying out by (R_c + gamma B_d^2 Lambda) gives the quadratic [derived]
            gamma B_d^2 Lambda^2 + ((1 - gamma A_d^2) R_c - gamma Q_c B_d^2) Lambda - Q_c R_c = 0,
        whose positive root is taken in the cancellation-free form (c = Q_c R_c >= 0):
        2c/(beta + sqrt(beta^2 + 4 a c)) if beta > 0, else (-beta + sqrt(...))/(2a),
        with a = gamma B_d^2, beta = (1 - gamma A_d^2) R_c - gamma Q_c B_d^2. Cached.
        """
        a = self.gamma * self.B_d ** 2
        beta = (1.0 - self.gamma * self.A_d ** 2) * self.R_c - self.gamma * self.Q_c * self.B_d ** 2
        c = self.Q_c * self.R_c
        root = math.sqrt(beta * beta + 4.0 * a * c)
        return float(2.0 * c / (beta + root) if beta > 0 else (-beta + root) / (2.0 * a))

    @property
    def K_star(self) -> float:
        lam = self.Lambda_star
        return float(self.gamma * self.A_d * self.B_d * lam / (self.R_c + self.gamma * self.B_d ** 2 * lam))

    @property
    def J_star(self) -> float:
        """Global optimum (deterministic policy, sigma = 0): -Lambda* (Sigma0 + gamma W/(1-gamma))."""
        return -self.Lambda_star * (self.Sigma0 + self.gamma * self.W / (1.0 - self.gamma))

    @property
    def J_star_class(self) -> float:
        return float(self.J(self.K_star))

    def second_moment(self, theta: Any) -> np.ndarray | float:
        """E_{s ~ d_K}[s^2] = (1 - gamma) c_0 / (1 - gamma l_K^2)."""
        K = self._K(theta)
        self._check_stable(K)
        out = (1.0 - self.gamma) * self.c0 / (1.0 - self.gamma * (self.A_d - self.B_d * K) ** 2)
        return float(out) if np.ndim(out) == 0 else out

    def fisher(self, theta: Any) -> np.ndarray:
        """F(K) = E_{d_K}[s^2] / sigma^2 as a (1, 1) matrix."""
        return np.array([[float(self.second_moment(theta)) / self.sigma ** 2]])

    @property
    def mu_F(self) -> float:
        """Lower bound of F on the stabilising set: ((1-gamma) Sigma0 + gamma (B_d^2 sigma^2 + W))/sigma^2."""
        return ((1.0 - self.gamma) * self.Sigma0
                + self.gamma * (self.B_d ** 2 * self.sigma ** 2 + self.W)) / self.sigma ** 2

    # ------------------------------------------------------------ compatible fit
    def w_star(self, theta: Any) -> float:
        """Compatible weight w*(K) = -2 sigma^2 [R_c K - gamma Lambda_K B_d l_K]/(1 - gamma)."""
        K = float(self._K(theta))
        lam = float(self.Lambda(K))
        return -2.0 * self.sigma ** 2 * (self.R_c * K - self.gamma * lam * self.B_d
                                         * (self.A_d - self.B_d * K)) / (1.0 - self.gamma)

    def compatible_weight(self, theta: Any) -> np.ndarray:
        """w*(K) as a (1,) array (see :meth:`w_star`)."""
        return np.array([self.w_star(theta)])

    def optimal_score_norm(self, theta: Any) -> float:
        """E_{s ~ d*, a = -K* s} |grad_K log pi_K(a|s)| = |K - K*| E_{d*}[s^2] / sigma^2
        (the score -(a + K s) s / sigma^2 at a = -K* s)."""
        K = float(self._K(theta))
        Ks = self.K_star
        m2 = (1.0 - self.gamma) * (self.Sigma0 + self.gamma * self.W / (1.0 - self.gamma)) / \
            (1.0 - self.gamma * (self.A_d - self.B_d * Ks) ** 2)
        return abs(K - Ks) * m2 / self.sigma ** 2

    def eps_bias(self, theta: Any) -> float:
        """Transferred compatible-approximation error at K (card §4.0 I4):
        (R_c + gamma B_d^2 Lambda_K)^2 E_{d*}[((K - K*)^2 s^2 - sigma^2)^2],
        E_{d*}[s^2], E_{d*}[s^4] under the optimal deterministic policy (Gaussian s_t)."""
        K = float(self._K(theta))
        lam = float(self.Lambda(K))
        Ks = self.K_star
        l2s = (self.A_d - self.B_d * Ks) ** 2
        m2 = (1.0 - self.gamma) * (self.Sigma0 + self.gamma * self.W / (1.0 - self.gamma)) / \
            (1.0 - self.gamma * l2s)
        # E_{d*}[s^4] = (1 - gamma) sum_t gamma^t 3 S*_t^2, S*_{t+1} = l*^2 S*_t + W: the series
        # is summed until its terms fall below 1e-17 of the partial sum (geometric tail).
        S, m4, t = self.Sigma0, 0.0, 0
        while True:
            term = (1.0 - self.gamma) * self.gamma ** t * 3.0 * S ** 2
            m4 += term
            if t > 0 and term <= 1e-17 * m4 or t > 100_000:
                break
            S = l2s * S + self.W
            t += 1
        dk2 = (K - Ks) ** 2
        s2 = self.sigma ** 2
        moment = dk2 ** 2 * m4 - 2.0 * dk2 * s2 * m2 + s2 ** 2
        return float((self.R_c + self.gamma * self.B_d ** 2 * lam) ** 2 * moment)

    # ---------------------------------------------------------------- sampling
    def sample(self, theta: Any, *, H: int, n: int, rng: Any) -> Rollouts:
        """n length-H trajectories per gain. Draws from ``rng``: z_0 (N, n), xi (N, n, H),
        w (N, n, H), standard normals (compiled kernel ``_rollout_lqr``). Curvature "dense"
        (d = 1)."""
        K = np.asarray(theta, dtype=np.float64)
        K = _theta("theta", np.atleast_1d(K) if K.ndim == 0 else K, 1, batch=True)
        th, single = _lead(K)
        self._check_stable(th[:, 0])
        H = _check_H(H)
        n = check_int("n", n, low=1)
        rng = check_rng("rng", rng)
        N = th.shape[0]
        z_0 = rng.standard_normal((N, n))
        xi = rng.standard_normal((N, n, H))
        w = rng.standard_normal((N, n, H))
        out = [np.empty((N, n)) for _ in range(5)]
        _rollout_lqr(np.ascontiguousarray(th[:, 0]), self.A_d, self.B_d, self.Q_c, self.R_c,
                     self.sigma, float(np.sqrt(self.W)), float(np.sqrt(self.Sigma0)),
                     self.gamma, z_0, xi, w, *out)
        g, gt, ss, ret, cv = out
        sq = lambda x: _squeeze(x, single)                              # noqa: E731
        return Rollouts(sq(g[..., None]), sq(gt[..., None]), sq(ss[..., None]), sq(ret),
                        "dense", sq(cv[..., None, None]), None, H)
