"""Stochastic gradient and Hessian estimators of card §2, and their exact expectations.

From one length-H trajectory tau = (s_0, a_0, ..., s_{H-1}, a_{H-1}) drawn under pi_theta
(card §2, "Stochastic estimators"), with R_t(tau) = sum_{h=t}^{H-1} gamma^h r_h (discounted
from time 0):

* GPOMDP          g(tau, theta) = sum_t R_t grad log pi(a_t|s_t);          E g = grad J_H
* REINFORCE       g_R = (sum_t grad log pi(a_t|s_t)) (sum_t gamma^t r_t);   E g_R = grad J_H
* Hessian         B(tau, theta) = g (grad log p(tau))^T + sum_t R_t hess log pi(a_t|s_t);
                  E B = hess J_H  (B itself is not symmetric)
* HVP             B u = g <grad log p(tau), u> + sum_t R_t hess log pi(a_t|s_t) u
                  (right multiplication, the paper's estimator; card §6 pitfall 5 calls B^T u
                  wrong, but since E B = hess J_H is symmetric, E[B^T u] = hess J_H u as well:
                  the two products differ in variance, not in mean [derived])

and the deliberately broken forms used as negative controls: GPOMDP with weights
R'_t = sum_{h>=t} gamma^(h-t) r_h (card §6 pitfall 2, the authors' code), B without its
outer-product term (claim N2's control); and B^T u (pitfall 5's alternative, unbiased too).

Every estimator maps :class:`~rlsandbox.algorithms.harpg.models.Rollouts` to one estimate per
trajectory (shape (*lead, n, d) or (*lead, n, d, d)); a mini-batch estimate is the mean over
the trajectory axis (per-trajectory products first, then the mean: pitfall 5).

:func:`enumerate_expectations` computes E g, E B, ... exactly for a tiny tabular problem by
summing over all (S A)^H paths (card §4.0 I1: "for S A <= 4 and H <= 6 the expectations of g
and B can also be computed by enumerating all paths"), independently of the sampling kernel;
:func:`enumerate_second_moments` gives their exact second moments the same way (claim N5).
"""
from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from rlsandbox._validate import check_int
from rlsandbox.algorithms.harpg.models import LogLinearMDP, Rollouts

__all__ = ["gpomdp", "gpomdp_from_t", "reinforce", "hessian", "hessian_no_outer", "hvp",
           "hvp_transposed", "interpolated_hvp_samples", "enumerate_expectations",
           "enumerate_second_moments", "MAX_ENUMERATED_PATHS"]

#: enumerate_expectations refuses problems with more paths than this.
MAX_ENUMERATED_PATHS = 200_000


def _ro(ro: Any) -> Rollouts:
    if not isinstance(ro, Rollouts):
        raise TypeError(f"expected Rollouts (from problem.sample), got {type(ro).__name__}")
    return ro


def gpomdp(ro: Rollouts) -> np.ndarray:
    """GPOMDP g(tau, theta) per trajectory, (*lead, n, d) [card §2].

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.algorithms.harpg.models import LogisticBandit
    >>> bump = LogisticBandit(m=2, b=0.5, reward="bump", c=[1.0, -0.5])
    >>> gpomdp(bump.sample(np.zeros(2), n=5, rng=0)).shape
    (5, 2)
    """
    return _ro(ro).g


def gpomdp_from_t(ro: Rollouts) -> np.ndarray:
    """The biased control: weights R'_t = sum_{h>=t} gamma^(h-t) r_h (card §6 pitfall 2)."""
    return _ro(ro).g_from_t


def reinforce(ro: Rollouts) -> np.ndarray:
    """REINFORCE g_R = grad log p(tau) * sum_t gamma^t r_t, (*lead, n, d) [card §3.4]."""
    ro = _ro(ro)
    return ro.score_sum * ro.ret[..., None]


def hessian(ro: Rollouts) -> np.ndarray:
    """B(tau, theta) = g grad log p(tau)^T + sum_t R_t hess log pi_t, (*lead, n, d, d) [card §2]."""
    ro = _ro(ro)
    return ro.g[..., :, None] * ro.score_sum[..., None, :] + ro.curv_dense()


def hessian_no_outer(ro: Rollouts) -> np.ndarray:
    """The control of claim N2: B without the term g grad log p(tau)^T."""
    return _ro(ro).curv_dense()


def hvp(ro: Rollouts, u: Any) -> np.ndarray:
    """B(tau, theta) u = g <grad log p(tau), u> + sum_t R_t hess log pi_t u, (*lead, n, d).

    ``u`` has shape (*lead, d) (one direction per parameter vector).
    """
    ro = _ro(ro)
    u = np.asarray(u, dtype=np.float64)
    return ro.g * np.einsum("...nd,...d->...n", ro.score_sum, u)[..., None] + ro.curv_matvec(u)


def hvp_transposed(ro: Rollouts, u: Any) -> np.ndarray:
    """B^T u = grad log p <g, u> + sum_t R_t hess log pi_t u (card pitfall 5). Not the paper's
    estimator; still unbiased for hess J_H u because E B is symmetric (module docstring)."""
    ro = _ro(ro)
    u = np.asarray(u, dtype=np.float64)
    return ro.score_sum * np.einsum("...nd,...d->...n", ro.g, u)[..., None] + ro.curv_matvec(u)


def interpolated_hvp_samples(problem: Any, theta: Any, theta_prev: Any, *, H: int, n: int,
                             rng: Any, endpoint: bool = False) -> np.ndarray:
    """n independent draws of HARPG's correction v = B(tau^, theta^)(theta - theta_prev), (n, d).

    theta^ = q theta + (1 - q) theta_prev with a fresh q ~ U[0, 1] per draw and one trajectory
    tau^ at each theta^ (card §3.2); E v = grad J_H(theta) - grad J_H(theta_prev) (card N3).
    ``endpoint=True`` is the control q = 1 (all draws at theta; biased at second order).
    Draws from ``rng``: q (n,) (not with ``endpoint``), then the problem's ``sample`` at the n
    points (n = 1 trajectory each) or at theta (n trajectories).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.algorithms.harpg.models import LogisticBandit
    >>> bump = LogisticBandit(m=2, b=0.5, reward="bump", c=[1.0, -0.5])
    >>> interpolated_hvp_samples(bump, np.zeros(2), np.ones(2), H=1, n=5, rng=0).shape
    (5, 2)
    """
    n = check_int("n", n, low=1)
    theta = np.asarray(theta, dtype=np.float64)
    delta = theta - np.asarray(theta_prev, dtype=np.float64)
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if endpoint:
        return hvp(problem.sample(theta, H=H, n=n, rng=rng), delta)
    q = rng.random(n)[:, None]
    ro = problem.sample(q * theta + (1.0 - q) * (theta - delta), H=H, n=1, rng=rng)
    return hvp(ro, np.broadcast_to(delta, (n, delta.size)))[:, 0, :]


def _enumerate_paths(problem: LogLinearMDP, theta: Any, H: int) -> dict[str, np.ndarray]:
    """Every length-H path with positive probability and each estimator on it (pure NumPy,
    independent of the sampling kernel): "p" (n,), "g", "g_from_t", "reinforce" (n, d), "B",
    "B_no_outer" (n, d, d). A path's probability is rho(s_0) prod_t pi(a_t|s_t)
    prod_{t>=1} P(s_t|s_{t-1}, a_{t-1})."""
    if not isinstance(problem, LogLinearMDP):
        raise TypeError(f"path enumeration needs a LogLinearMDP, got {type(problem).__name__}")
    H = check_int("H", H, low=1)
    S, A, d, gamma = problem.S, problem.A, problem.d, problem.gamma
    n_paths = (S * A) ** H
    if n_paths > MAX_ENUMERATED_PATHS:
        raise ValueError(f"(S*A)^H = {n_paths} paths exceeds MAX_ENUMERATED_PATHS = "
                         f"{MAX_ENUMERATED_PATHS}; use a smaller H or Monte Carlo")
    pi = problem.policy(theta)
    psi = problem.score(theta)
    hess_s = problem.log_policy_hessian(theta)                   # (S, d, d)
    P, R, rho = problem.P, problem.mdp.R, problem.mdp.rho
    rows: dict[str, list] = {k: [] for k in ("p", "g", "g_from_t", "reinforce", "B",
                                             "B_no_outer")}
    disc = gamma ** np.arange(H)
    for path in itertools.product(range(S * A), repeat=H):
        s = [k // A for k in path]
        a = [k % A for k in path]
        p = rho[s[0]] * pi[s[0], a[0]]
        for t in range(1, H):
            p *= P[s[t - 1], a[t - 1], s[t]] * pi[s[t], a[t]]
        if p == 0.0:
            continue
        r = np.array([R[s[t], a[t]] for t in range(H)])
        Rt = np.cumsum((disc * r)[::-1])[::-1]                    # sum_{h>=t} gamma^h r_h
        Rp = np.empty(H)                                         # sum_{h>=t} gamma^(h-t) r_h
        acc = 0.0
        for t in range(H - 1, -1, -1):
            acc = r[t] + gamma * acc
            Rp[t] = acc
        sc = np.array([psi[s[t], a[t]] for t in range(H)])       # (H, d)
        g = Rt @ sc
        curv = np.einsum("t,tde->de", Rt, hess_s[s])
        rows["p"].append(p)
        rows["g"].append(g)
        rows["g_from_t"].append(Rp @ sc)
        rows["reinforce"].append(sc.sum(0) * Rt[0])
        rows["B"].append(np.outer(g, sc.sum(0)) + curv)
        rows["B_no_outer"].append(curv)
    shapes = {"p": (0,), "g": (0, d), "g_from_t": (0, d), "reinforce": (0, d), "B": (0, d, d),
              "B_no_outer": (0, d, d)}
    return {k: np.array(v) if v else np.zeros(shapes[k]) for k, v in rows.items()}


def enumerate_expectations(problem: LogLinearMDP, theta: Any, H: int) -> dict[str, np.ndarray]:
    """Exact expectations of the estimators over all (S A)^H length-H paths (tiny problems).

    Each path's probability is rho(s_0) prod_t pi(a_t|s_t) prod_{t>=1} P(s_t|s_{t-1}, a_{t-1}),
    and each estimator is evaluated on it from the formulas of the module docstring (pure
    NumPy, independent of the sampling kernel).

    Returns
    -------
    dict with "g", "g_from_t", "reinforce" (d,), "B", "B_no_outer" (d, d) and "prob_total"
    (the summed path probability, 1 up to round-off).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.array([[[0.7, 0.3], [0.2, 0.8]], [[0.5, 0.5], [0.9, 0.1]]])
    >>> prob = LogLinearMDP.softmax(rls.TabularMDP(P, [[1.0, 0.0], [0.5, 2.0]], 0.8))
    >>> E = enumerate_expectations(prob, np.zeros(4), H=3)
    >>> bool(np.allclose(E["g"], prob.grad_J_H(np.zeros(4), 3), rtol=0, atol=1e-13))
    True
    """
    paths = _enumerate_paths(problem, theta, H)
    w = paths.pop("p")
    out = {k: np.tensordot(w, v, axes=1) for k, v in paths.items()}
    out["prob_total"] = float(w.sum())
    return out


def enumerate_second_moments(problem: LogLinearMDP, theta: Any, H: int) -> dict[str, float]:
    """Exact second moments of GPOMDP and of B about their means, by enumerating all
    (S A)^H paths (card §4.1 N5: "exact via I1 formulas / enumeration").

    With E g = grad J_H and E B = hess J_H (card N1, N2; the means are the enumerated ones):

        "var_g"  = E ||g - grad J_H||^2           (compare sigma_g^2)
        "var_BF" = E ||B - hess J_H||_F^2         (compare sigma_h^2, Frobenius)
        "var_B2" = E ||B - hess J_H||_2^2         (compare sigma_h^2, spectral)

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> P = np.ones((1, 2, 1))                        # one state, two actions, constant reward
    >>> prob = LogLinearMDP.softmax(rls.TabularMDP(P, [[1.0, 1.0]], 0.5))
    >>> # H = 1: g = psi(a), psi = e_a - (1/2, 1/2), so ||g||^2 = 1/2 for either action
    >>> round(enumerate_second_moments(prob, np.zeros(2), H=1)["var_g"], 12)
    0.5
    """
    paths = _enumerate_paths(problem, theta, H)
    w = paths["p"]
    dev_g = paths["g"] - np.tensordot(w, paths["g"], axes=1)
    dev_B = paths["B"] - np.tensordot(w, paths["B"], axes=1)
    return {"var_g": float(w @ np.sum(dev_g ** 2, axis=-1)),
            "var_BF": float(w @ np.sum(dev_B ** 2, axis=(-2, -1))),
            "var_B2": float(w @ np.linalg.norm(dev_B, 2, axis=(-2, -1)) ** 2),
            "prob_total": float(w.sum())}
