"""LOOP and its baselines on linear classes: planners (b) and (c), FOPO, UCRL2-VTR [card §3.7-§3.9].

Value-based linear LOOP (:func:`loop_value_linear`) [card §3.2, §3.9 (b); R/S]. A linear AMDP
``P(.|s,a) = phi(s,a)^T mu``, ``r = phi^T theta`` with known features ``phi (S, A, d)``; the class
``Q_w = phi w`` with the range constraints of planner (a). With the ridge statistics
``Lam = lam I + sum_i phi_i phi_i^T`` the excess loss of ``f = (w, J)`` is
``((Lam w - b(f))^T Lam^{-1} (Lam w - b(f))`` with ``b(f) = sum_i phi_i (r_i + V_f(s_{i+1}) - J)``,
i.e. ``||w - w_hat(f)||^2_Lam``; planning is :func:`~.planners.plan_value_linear` (exact, one
SOCP per greedy policy). ``switching="lazy"`` is LOOP's test ``Exc_t(f^k) > c_sw beta`` checked
every step; ``switching="doubling"`` re-plans when ``det Lam_t >= 2 det Lam_{tau_k}``, which is
**FOPO** [wei2021; card §3.7]: the same confidence set with ``beta = beta_F^2`` and the
determinant-doubling schedule (:func:`fopo`).

Model-based linear-mixture LOOP [card §3.3, §3.9 (c); R/S]. ``P(s'|s,a) = <psi(s'|s,a), theta*>``,
reward known. The sample ``i`` is regressed onto the bias ``V_{f_i}`` of the hypothesis in force
(value-targeted regression): feature ``x_i = sum_{s'} psi(s'|s_i,a_i) V_{f_i}(s')``, target
``V_{f_i}(s_{i+1})``; then ``L(theta) - min L = ||theta - theta_hat||^2_Lam`` (claim C6 (ii)), so
the confidence set is the ellipsoid ``{theta : ||theta - theta_hat||_Lam <= sqrt(beta)}``.

* :func:`loop_model_hard` — planner (c) **exact in closed form** on the hard two-state instance
  of :func:`rlsandbox.mdps.loop.hard_linear_mixture` [card §3.9 (c), D]: only
  ``vartheta = theta~_{1:d-1}`` is unknown (the last coordinate is fixed by the row sums and
  subtracted from the targets), ``J_vartheta = p / (p + delta_inst)`` with
  ``p = max_a (delta_inst + alpha <a, vartheta>)``, so
  ``p+ = delta_inst + max_a [alpha <a, vartheta_hat> + sqrt(beta) alpha ||a||_{Lam^{-1}}]``
  (clipped to [0, 1]) and the optimistic action is the maximiser.
* :func:`loop_model_relaxed` — any linear mixture: extended value iteration with a per-(s, a)
  optimistic ``theta`` in the ellipsoid, ``u(s) <- max_a r(s,a) + clip(<theta_hat, x_u(s,a)> +
  sqrt(beta) ||x_u(s,a)||_{Lam^{-1}}, min u, max u)`` (the clip: a valid kernel averages u).
  This is a **relaxation** of LOOP's single-theta planning (an upper bound on ``max J_theta``
  over the set, looser); labelled ``loop_model_relaxed``.
* :func:`ucrl2_vtr` — UCRL2-VTR, Hoeffding version [wu2022; card §3.8; R details]: the same EVI
  and regression with centred targets ``w = u - (max u + min u) / 2``, radius from the diameter
  ``D`` instead of the span bound, episodes on determinant doubling. ``bonus="bernstein"``:
  the variance-weighted version (card §3.8: "Bernstein weights (variance estimates with floor
  D^2/d)"; details [R] on the card, filled in here after UCRL-VTR+ [zhou2021, Alg. 1]): weights
  ``1 / sigma^2`` with ``sigma^2 = max(D^2 / d, Vbar + E)`` (:func:`vtr_bernstein_weights`), a
  second-order regression of ``w(s')^2`` for ``Vbar``, and the Bernstein self-normalised radius
  (:func:`vtr_bernstein_radii`). Deviations [S]: the weights are computed per pair at the
  episode start from the episode's estimates and frozen for the episode (the paper's per-step
  weights use the same episode estimates, but the current Gram matrices in ``E``); the three
  events share ``delta`` equally. With the card's floor ``D^2 / d >= D^2 / 4`` for ``d <= 4``
  the variance estimate alone never lifts a weight off the floor (a target in an interval of
  length ``D`` has variance ``<= D^2 / 4``; only the error term ``E`` does, early on), and the
  Bernstein radius (constants 8 and 4 log(4 T^2 / delta)) is far larger than the Hoeffding one
  at every sandbox horizon (hard instance d = 3, T = 2^16, D = 10: squared radius 1.8e5 in
  weighted units, i.e. ~6e6 in target units, against 1.3e3): every action's optimistic value
  is clipped at ``max u``, the first action is kept, and the regret is linear up to
  ``T ~ 1e7`` (gap-regret 6559 at 2^16 on d = 3 and d = 5, i.e. 0.1 T, against Hoeffding's 4533
  and 7966). The rate O~(d sqrt(D T)) is asymptotic; see claim ``loop.wu2022.ucrl2vtr``'s
  extras.

OLSVI.FH (:func:`olsvi_fh`) [wei2021; card §3.7; R details]. Time is cut into blocks of
``H`` steps; at the start of each block optimistic least-squares value iteration (LSVI-UCB,
[jin2020]) on *all* data so far plans the ``H``-step finite-horizon surrogate:
``V_{H+1} = 0``, ``w_h = Lam^{-1} sum_i phi_i (r_i + V_{h+1}(s_{i+1}))``,
``Q_h = min(phi^T w_h + bonus ||phi||_{Lam^{-1}}, H - h + 1)``, ``V_h = max_a Q_h``, and the block
plays the non-stationary greedy policy ``pi_h``. Computationally efficient (no enumeration);
regret ``O~(sqrt(sp(v*)) (d T)^{3/4})`` with ``H`` balanced against ``T`` [R].

Model-based tabular LOOP, rectangular relaxation (:func:`loop_model_rectangular`) [card §3.9
(d)(ii); S, relaxed]. A tabular model ``g = (r_g, P_g)`` is a linear mixture whose parameter
splits into one block ``(P_g(.|s,a), r_g(s,a))`` per pair; with the value-targeted loss the
excess is block-separable, and the card's relaxation keeps each block within radius ``beta``
on its own (a superset of LOOP's coupled set, so still optimistic). The block's least squares is
a ridge regression of ``r_i + V_{f_i}(s_{i+1})`` on ``(V_{f_i}, 1)``; EVI's inner step is the
card's small convex QCQP per pair (:class:`RectangularInnerStep`, cvxpy/CLARABEL)
``max {<x, (u, 1)> : ||x - x_hat||_{Lam_sa} <= sqrt(beta), x = (P_g(.|s,a), r_g(s,a)) valid}``
(validity: ``P_g(.|s,a)`` in the simplex, ``r_g`` in [0, 1]). ``inner="closed_form"`` keeps the
session-1 further relaxation, labelled: the validity constraint replaced by the value range it
implies, ``clip(<x_hat, z> + sqrt(beta) ||z||_{Lam^-1}, min u, 1 + max u)`` (looser, still
optimistic; an upper bound on the QCQP's value, equal when the unconstrained maximiser is valid).

Radius [D]. :func:`mixture_beta`: the self-normalised bound [abbasi2011, Thm 2] for targets in an
interval of length ``span`` (hence span/2-sub-Gaussian noise), features ``||x|| <= x_max`` and
``||theta*|| <= theta_norm``:
``sqrt(beta) = (span / 2) sqrt(2 log(1/delta) + d log(1 + T x_max^2 / (d lam))) + sqrt(lam) theta_norm``.

Deviations [S]. The ridge ``lam`` (default 1) is a sandbox modification; ``T`` is known. For the
relaxed planner the lazy test uses the ellipsoid centre at the re-plan as the hypothesis in force
(no single theta is planned). The ``optimistic=False`` ablation plans with ``beta = 0`` (greedy in
``theta_hat``: card §4 C9's control). Value-based linear runs recompute ``Lam``, ``b`` from the data
at each re-plan (the kernel updates them incrementally in between).

References
----------
[wei2021]    C.-Y. Wei, M. Jafarnia-Jahromi, H. Luo, R. Jain. Learning infinite-horizon average-
             reward MDPs with linear function approximation. AISTATS 2021 (FOPO).
[wu2022]     Y. Wu, D. Zhou, Q. Gu. Nearly minimax optimal regret for learning infinite-horizon
             average-reward MDPs with linear function approximation. AISTATS 2022 (UCRL2-VTR).
[jin2020]    C. Jin, Z. Yang, Z. Wang, M. I. Jordan. Provably efficient reinforcement learning with
             linear function approximation. COLT 2020 (LSVI-UCB).
[zhou2021]   D. Zhou, Q. Gu, C. Szepesvari. Nearly minimax optimal reinforcement learning for
             linear mixture Markov decision processes. COLT 2021 (UCRL-VTR+, Bernstein bound).
[abbasi2011] Y. Abbasi-Yadkori, D. Pal, C. Szepesvari. Improved algorithms for linear stochastic
             bandits. NeurIPS 2011.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable

import numpy as np

from rlsandbox._validate import (check_bool, check_choice, check_in_range, check_int)
from rlsandbox.algorithms.loop._kernels import _segment_linear
from rlsandbox.algorithms.loop.hypotheses import Hypothesis, true_hypothesis
from rlsandbox.algorithms.loop.planners import LinearStats, ValuePlanner, plan_value_linear
from rlsandbox.algorithms.loop.skeleton import C_BETA_DEFAULT, C_SW_DEFAULT, value_beta
from rlsandbox.algorithms.loop.trace import Trace, check_rewards_unit, start_run
from rlsandbox.linear import LinearMDP, LinearMixtureMDP

__all__ = ["loop_value_linear", "fopo", "mixture_beta", "loop_model_hard", "loop_model_relaxed",
           "ucrl2_vtr", "mixture_evi", "loop_model_rectangular", "RectangularInnerStep",
           "olsvi_fh", "vtr_bernstein_radii", "vtr_bernstein_weights", "plan_accuracy"]

_MODES = {"every": 0, "lazy": 1, "doubling": 2}
#: Plain EVI sweeps before switching to the damped update u <- (u + T u) / 2 (card §6 pitfall 6:
#: an optimistic model can be periodic, and plain relative iteration then oscillates).
_PLAIN_SWEEPS = 200


def _run(mdp, T: int, rng: Any, noisy: bool, plan: Callable[..., dict], switching: str,
         c_sw: float, beta: float):
    """The shared interaction loop: plan, run the compiled segment, repeat.

    ``plan(i, out_s, out_a, out_r, epoch)`` returns a dict with the hypothesis ``f`` and the regression set-up of its
    epoch (``X (S, A, d)``, ``W (S,)``, ``C (S, A)``, ``c_r``, ``theta (d,)``) and the exact
    statistics ``Lam`` (with ridge), ``b`` at step ``i``."""
    u_s, u_r, cdf, R, out_s, out_a, out_r, epoch = start_run(
        mdp, T, rng=rng, noisy=noisy)
    mode = _MODES["every"] if c_sw == 0.0 and switching == "lazy" else _MODES[switching]
    starts, plans = [], []
    i = 0
    while i < T:
        p = plan(i, out_s, out_a, out_r, epoch)
        Lam, b = p["Lam"], p["b"]
        Linv = np.linalg.inv(Lam)
        logdet = np.array([np.linalg.slogdet(Lam)[1]])
        z = Lam @ p["theta"] - b
        threshold = c_sw * beta if mode == 1 else logdet[0] + np.log(2.0)
        starts.append(i)
        plans.append(p)
        i_next = _segment_linear(i, T, cdf, R, noisy, u_s, u_r, np.ascontiguousarray(p["f"].pi),
                                 np.ascontiguousarray(p["X"]), np.ascontiguousarray(p["W"]),
                                 np.ascontiguousarray(p["C"]), float(p["c_r"]),
                                 np.ascontiguousarray(p["theta"]), mode, threshold, Linv, z,
                                 b.copy(), logdet, out_s, out_a, out_r)
        epoch[i:i_next] = len(plans) - 1
        i = int(i_next)
    return out_s, out_a, out_r, epoch, np.array(starts, dtype=np.int64), plans


def _trace(name: str, run: tuple, beta: float, info: dict) -> Trace:
    out_s, out_a, out_r, epoch, starts, plans = run
    fs = [p["f"] for p in plans]
    return Trace(name, out_s, out_a, out_r, epoch, starts, np.stack([f.pi for f in fs]),
                 np.array([f.J for f in fs]), np.stack([f.V for f in fs]),
                 np.stack([f.Q for f in fs]), None, float(beta), info)


# ============================================================ value-based linear (b), FOPO
def loop_value_linear(lin: LinearMDP, T: int, *, rng: Any, B: float | None = None,
                      c_beta: float = C_BETA_DEFAULT, beta: float | None = None,
                      c_sw: float = C_SW_DEFAULT, lam: float = 1.0, switching: str = "lazy",
                      noisy: bool = False) -> Trace:
    """Value-based linear LOOP with exact planner (b) [card §3.2, §3.9 (b)]; FOPO's schedule with
    ``switching="doubling"``.

    Parameters
    ----------
    lin : LinearMDP (stationary; rewards in [0, 1]). Features ``lin.phi`` (S, A, d) are known.
    T : int >= 2, horizon.
    rng : Generator or seed, keyword-only.
    B : span bound of the class; default the exact ``sp(V*)`` of the tabular form.
    c_beta, beta : radius ``beta = c_beta (B + 1)^2 log T`` unless ``beta`` is given (raw
        squared-loss units; FOPO's ``beta_F^2``).
    c_sw : lazy-test multiplier (``switching="lazy"``); 0 re-plans every step.
    lam : ridge (> 0) [S].
    switching : {"lazy", "doubling"}.
    noisy : Bernoulli rewards.

    Returns
    -------
    Trace with ``Q = phi w`` of every plan and ``info["programs"]`` (SOCPs solved).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.linear import random_linear_mdp
    >>> lin = random_linear_mdp(3, 2, 2, rng=np.random.default_rng(1))
    >>> tr = loop_value_linear(lin, 300, rng=0)
    >>> tr.T, tr.n_plans >= 1, tr.algorithm
    (300, True, 'loop_value_linear')
    """
    if not isinstance(lin, LinearMDP) or lin.is_finite_horizon:
        raise TypeError(f"lin must be a stationary rlsandbox.LinearMDP, got {lin!r}")
    mdp = lin.to_tabular(gamma=1.0)
    check_rewards_unit(mdp, "loop_value_linear")
    T = check_int("T", T, low=2)
    check_choice("switching", switching, ("lazy", "doubling"))
    noisy = check_bool("noisy", noisy)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    c_sw = check_in_range("c_sw", c_sw, low=0.0)
    phi = np.asarray(lin.phi, dtype=np.float64)
    S, A, d = phi.shape
    if B is None:
        f_star = true_hypothesis(mdp)
        B = float(f_star.V.max() - f_star.V.min())
    B = check_in_range("B", B, low=0.0, low_open=True)
    beta = value_beta(T, B, c_beta) if beta is None else check_in_range("beta", beta, low=0.0)
    F = phi.reshape(S * A, d)
    vp = ValuePlanner(S, A, B, F)
    counts = {"programs": 0, "failed": 0, "fallback": 0}

    def plan(i, out_s, out_a, out_r, epoch):
        st = LinearStats.from_data(phi, s=out_s[:i], a=out_a[:i], r=out_r[:i],
                                   s_next=out_s[1:i + 1])
        f, info = plan_value_linear(phi, st, B=B, beta=beta, lam=lam, planner=vp)
        counts["programs"] += info.programs
        counts["failed"] += info.failed
        counts["fallback"] += int(info.fallback)
        w = np.linalg.lstsq(F, f.Q.reshape(-1), rcond=None)[0]
        Lam = st.Lambda + lam * np.eye(d)
        b = st.b_r - f.J * st.c + st.Nphi @ f.V
        return {"f": f, "X": phi, "W": np.array(f.V), "C": np.full((S, A), f.J), "c_r": 1.0,
                "theta": w, "Lam": Lam, "b": b}

    run = _run(mdp, T, rng, noisy, plan, switching, c_sw, beta)
    info = {"planner": "value_linear", "switching": switching, "B": B, "c_beta": c_beta,
            "c_sw": float(c_sw), "lam": lam, "d": d, "noisy": noisy,
            "reward_for_regret": "mean", **counts}
    name = "loop_value_linear" if switching == "lazy" else "fopo"
    return _trace(name, run, beta, info)


def fopo(lin: LinearMDP, T: int, *, rng: Any, **kwargs: Any) -> Trace:
    """FOPO [wei2021; card §3.7]: planner (b)'s confidence set with determinant-doubling
    re-planning (``det Lam_t >= 2 det Lam_{tau_k}``); keyword arguments as
    :func:`loop_value_linear` (``beta`` is FOPO's ``beta_F^2``).

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.linear import random_linear_mdp
    >>> lin = random_linear_mdp(3, 2, 2, rng=np.random.default_rng(1))
    >>> tr = fopo(lin, 400, rng=0)
    >>> bool(tr.n_plans <= 2 * np.log2(1 + 400 / 2) + 1)    # d log2(1 + T / (d lam)) + 1
    True
    """
    if "switching" in kwargs:
        raise TypeError("fopo fixes switching='doubling'; call loop_value_linear for the lazy test")
    return loop_value_linear(lin, T, rng=rng, switching="doubling", **kwargs)


# ============================================================ model-based linear mixture (c)
def mixture_beta(d: int, T: int, span: float, *, lam: float = 1.0, delta: float = 0.05,
                 x_max: float = 1.0, theta_norm: float = 1.0) -> float:
    """Squared ellipsoid radius for value-targeted regression [abbasi2011, Thm 2; D].

    ``(span/2 sqrt(2 log(1/delta) + d log(1 + T x_max^2 / (d lam))) + sqrt(lam) theta_norm)^2``.

    Examples
    --------
    >>> round(mixture_beta(1, 1, 2.0, lam=1.0, delta=np.exp(-0.5), x_max=0.0), 12)   # (1 + 1)^2
    4.0
    """
    d, T = check_int("d", d, low=1), check_int("T", T, low=1)
    span = check_in_range("span", span, low=0.0)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    root = 0.5 * span * np.sqrt(2.0 * np.log(1.0 / delta) + d * np.log1p(T * x_max ** 2 / (d * lam)))
    return float((root + np.sqrt(lam) * theta_norm) ** 2)


def _x_max(psi: np.ndarray, span: float) -> float:
    """``max ||sum_s' psi(s'|s,a) w(s')||`` over ``|w| <= span / 2`` (triangle inequality)."""
    return float(0.5 * span * np.linalg.norm(psi, axis=0).sum(axis=-1).max())


def _regression_stats(Xs: list, W: list, C: list, epoch: np.ndarray, s, a, s_next, lam: float,
                      d: int, r: np.ndarray | None = None,
                      sigma: list | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``Lam = lam I + sum x x^T`` and ``b = sum x y`` over the data, epoch by epoch
    (``y = W[s'] - C[s, a]``, plus the observed reward ``r`` if given). With ``sigma`` (one
    (S, A) array per epoch) the targets are divided by ``sigma[k][s, a]`` as well: with
    ``Xs`` already divided by it this is the weighted regression with weights ``1 / sigma^2``."""
    Lam = lam * np.eye(d)
    b = np.zeros(d)
    for k in range(len(Xs)):
        idx = np.flatnonzero(epoch == k)
        if idx.size == 0:
            continue
        x = Xs[k][s[idx], a[idx]]
        y = W[k][s_next[idx]] - C[k][s[idx], a[idx]] + (0.0 if r is None else r[idx])
        if sigma is not None:
            y = y / sigma[k][s[idx], a[idx]]
        Lam += x.T @ x
        b += x.T @ y
    return Lam, b


def mixture_evi(R: Any, psi: Any, theta_hat: Any, Linv: Any, beta: float, *, eps: float,
                max_iter: int = 10_000) -> dict[str, Any]:
    """Extended value iteration over the ellipsoid, per-(s, a) optimistic theta [card §3.8,
    §3.9 (c) relaxation; S].

    ``u(s) <- max_a R(s,a) + clip(<theta_hat, x_u(s,a)> + sqrt(beta) ||x_u(s,a)||_{Linv},
    min u, max u)`` with ``x_u(s,a) = sum_{s'} psi(s'|s,a) u(s')``, relative updates, stopped when
    ``sp(T u - u) < eps``; damped ``u <- (u + T u)/2`` after 200 plain sweeps or half the budget,
    whichever comes first (card §6 pitfall 6).

    Returns
    -------
    dict with ``Q`` (S, A) the optimistic backup minus the gain, ``policy`` (S,), ``gain``,
    ``u`` (S,) (min 0), ``sweeps``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.loop import hard_linear_mixture
    >>> mix = hard_linear_mixture(3, 0.1, 0.05)
    >>> out = mixture_evi(mix.R, mix.psi, mix.theta, np.zeros((3, 3)), 0.0, eps=1e-10)
    >>> round(out["gain"], 8), out["policy"].tolist()    # beta = 0, true theta: J* = 0.6
    (0.6, [3, 0])
    """
    R = np.asarray(R, dtype=np.float64)
    psi = np.asarray(psi, dtype=np.float64)
    theta_hat = np.asarray(theta_hat, dtype=np.float64)
    Linv = np.asarray(Linv, dtype=np.float64)
    rb = float(np.sqrt(check_in_range("beta", beta, low=0.0)))
    def backup(u: np.ndarray) -> np.ndarray:
        x = np.einsum("jsat,t->saj", psi, u)
        bonus = rb * np.sqrt(np.maximum(np.einsum("saj,jk,sak->sa", x, Linv, x), 0.0))
        return R + np.clip(x @ theta_hat + bonus, u.min(), u.max())

    return _relative_iteration(backup, R.shape[0], eps, max_iter)


def _relative_iteration(backup: Callable[[np.ndarray], np.ndarray], S: int, eps: float,
                        max_iter: int) -> dict[str, Any]:
    """``u <- T u - (T u)(0)`` with ``T u = max_a backup(u)``, from u = 0, until
    ``sp(T u - u) < eps``; damped after :data:`_PLAIN_SWEEPS` sweeps (or half the budget).
    Returns Q (backup minus the gain), the greedy policy, the gain (midpoint of
    ``[min, max] (T u - u)``), u (min 0), sweeps and converged."""
    u = np.zeros(S)
    conv, lo, hi, it = False, 0.0, 0.0, 0
    for it in range(1, max_iter + 1):
        Q = backup(u)
        Tu = Q.max(axis=1)
        diff = Tu - u
        lo, hi = float(diff.min()), float(diff.max())
        if hi - lo < eps:
            conv = True
            break
        new = 0.5 * (u + Tu) if it > min(_PLAIN_SWEEPS, max_iter // 2) else Tu
        u = new - new[0]
    gain = 0.5 * (lo + hi)
    return {"Q": Q - gain, "policy": np.argmax(Q, axis=1).astype(np.int64), "gain": gain,
            "u": u - u.min(), "sweeps": it, "converged": conv}


def _check_mixture(mix: Any, what: str):
    if not isinstance(mix, LinearMixtureMDP) or mix.psi.ndim != 4:
        raise TypeError(f"{what} expects a stationary rlsandbox.LinearMixtureMDP, got {mix!r}")
    mdp = mix.to_tabular(gamma=1.0)
    check_rewards_unit(mdp, what)
    return mdp


def plan_accuracy(t: Any) -> Any:
    """EVI's stopping threshold eps_t = 1 / sqrt(t + 1) for a plan made at step t (scalar or
    array) by the model-based linear planners: the returned gain is within eps_t / 2 of the
    optimistic optimum (midpoint of [min, max](T u - u)).

    Examples
    --------
    >>> float(plan_accuracy(3))
    0.5
    """
    return 1.0 / np.sqrt(np.asarray(t, dtype=np.float64) + 1.0)


def _evi_plan(R: np.ndarray, psi: np.ndarray, Lam: np.ndarray, b: np.ndarray, i: int,
              beta: float, centre: bool, sweeps: list, conv: list):
    """One linear-mixture plan at step i: ridge estimate theta_hat = Lam^{-1} b, ellipsoid EVI
    (:func:`mixture_evi`, eps = 1/sqrt(i + 1); its sweeps and convergence appended to the
    caller's lists), the greedy hypothesis f, its value w (centred on its range if
    ``centre``) and the features X[s, a, j] = sum_t psi[j, s, a, t] w[t].
    Returns (f, w, X, Lam^{-1}, theta_hat)."""
    Linv = np.linalg.inv(Lam)
    theta_hat = Linv @ b
    evi = mixture_evi(R, psi, theta_hat, Linv, beta, eps=float(plan_accuracy(i)))
    sweeps.append(evi["sweeps"])
    conv.append(evi["converged"])
    f = Hypothesis(evi["Q"], evi["gain"], evi["policy"])
    w = f.V - 0.5 * (f.V.max() + f.V.min()) if centre else np.array(f.V)
    return f, w, np.einsum("jsat,t->saj", psi, w), Linv, theta_hat


def _mixture_run(name: str, mix: LinearMixtureMDP, T: int, *, rng: Any, beta: float,
                 c_sw: float, switching: str, lam: float, noisy: bool, centre: bool,
                 info: dict) -> Trace:
    mdp = _check_mixture(mix, name)
    psi = np.asarray(mix.psi, dtype=np.float64)
    d, S, A, _ = psi.shape
    R = np.asarray(mdp.R)
    Xs, Ws, Cs = [], [], []
    sweeps, conv = [], []

    def plan(i, out_s, out_a, out_r, epoch):
        Lam, b = _regression_stats(Xs, Ws, Cs, epoch[:i], out_s[:i], out_a[:i], out_s[1:i + 1],
                                   lam, d)
        f, w, X, _, theta_hat = _evi_plan(R, psi, Lam, b, i, beta, centre, sweeps, conv)
        Xs.append(X)
        Ws.append(w)
        Cs.append(np.zeros((S, A)))
        return {"f": f, "X": X, "W": w, "C": Cs[-1], "c_r": 0.0, "theta": theta_hat,
                "Lam": Lam, "b": b}

    run = _run(mdp, T, rng, noisy, plan, switching, c_sw, beta)
    info = {**info, "switching": switching, "c_sw": float(c_sw), "lam": lam, "d": d,
            "noisy": noisy, "evi_sweeps": sweeps, "evi_converged": conv,
            "reward_for_regret": "mean"}
    return _trace(name, run, beta, info)


def loop_model_relaxed(mix: LinearMixtureMDP, T: int, *, rng: Any, B: float | None = None,
                       beta: float | None = None, delta: float = 0.05,
                       c_sw: float = C_SW_DEFAULT, lam: float = 1.0, theta_norm: float = 1.5,
                       noisy: bool = False) -> Trace:
    """Model-based linear-mixture LOOP with the **relaxed** planner (per-(s, a) optimistic theta,
    :func:`mixture_evi`) and the lazy test [card §3.9 (c), "loop_model_relaxed"; S].

    ``beta`` defaults to :func:`mixture_beta` with ``span = B`` (default the exact ``sp(V*)``).

    Examples
    --------
    >>> from rlsandbox.mdps.loop import hard_linear_mixture
    >>> tr = loop_model_relaxed(hard_linear_mixture(3, 0.1, 0.05), 500, rng=0)
    >>> tr.algorithm, tr.n_plans < 50
    ('loop_model_relaxed', True)
    """
    mdp = _check_mixture(mix, "loop_model_relaxed")
    T = check_int("T", T, low=2)
    if B is None:
        f_star = true_hypothesis(mdp)
        B = float(f_star.V.max() - f_star.V.min())
    B = check_in_range("B", B, low=0.0, low_open=True)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    d = mix.psi.shape[0]
    if beta is None:
        beta = mixture_beta(d, T, B, lam=lam, delta=delta, x_max=_x_max(mix.psi, B),
                            theta_norm=theta_norm)
    beta = check_in_range("beta", beta, low=0.0)
    c_sw = check_in_range("c_sw", c_sw, low=0.0)
    return _mixture_run("loop_model_relaxed", mix, T, rng=rng, beta=beta, c_sw=c_sw,
                        switching="lazy", lam=lam, noisy=check_bool("noisy", noisy),
                        centre=False, info={"planner": "relaxed_evi", "B": B})


def ucrl2_vtr(mix: LinearMixtureMDP, T: int, *, rng: Any, D: float | None = None,
              beta: float | None = None, delta: float = 0.05, lam: float = 1.0,
              theta_norm: float = 1.5, noisy: bool = False, bonus: str = "hoeffding") -> Trace:
    """UCRL2-VTR [wu2022; card §3.8]: ellipsoid EVI (:func:`mixture_evi`), value-targeted
    regression on centred targets, episodes on determinant doubling.

    ``bonus="hoeffding"`` (the card's first version): unweighted regression, ``beta`` defaults
    to :func:`mixture_beta` with ``span = D`` (default the exact diameter).
    ``bonus="bernstein"``: the variance-weighted version (:func:`vtr_bernstein_weights`,
    :func:`vtr_bernstein_radii`); ``beta``, if given, replaces the squared Bernstein radius of
    the planning ellipsoid (``0``: greedy in ``theta_hat``), the weights are unchanged.

    Examples
    --------
    >>> from rlsandbox.mdps.loop import hard_linear_mixture
    >>> tr = ucrl2_vtr(hard_linear_mixture(3, 0.1, 0.05), 500, rng=0)
    >>> tr.algorithm, bool(tr.n_plans <= 3 * np.log2(1 + 500) + 1)
    ('ucrl2_vtr', True)
    """
    from rlsandbox.dp.average import diameter

    mdp = _check_mixture(mix, "ucrl2_vtr")
    T = check_int("T", T, low=2)
    bonus = check_choice("bonus", bonus, ("hoeffding", "bernstein"))
    D = float(diameter(mdp)) if D is None else check_in_range("D", D, low=0.0, low_open=True)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    d = mix.psi.shape[0]
    if bonus == "bernstein":
        return _vtr_bernstein(mix, mdp, T, rng=rng, D=D, beta=beta, delta=delta, lam=lam,
                              theta_norm=theta_norm, noisy=check_bool("noisy", noisy))
    if beta is None:
        beta = mixture_beta(d, T, D, lam=lam, delta=delta, x_max=_x_max(mix.psi, D),
                            theta_norm=theta_norm)
    beta = check_in_range("beta", beta, low=0.0)
    return _mixture_run("ucrl2_vtr", mix, T, rng=rng, beta=beta, c_sw=0.0,
                        switching="doubling", lam=lam, noisy=check_bool("noisy", noisy),
                        centre=True, info={"planner": "relaxed_evi", "D": D})


def vtr_bernstein_radii(d: int, T: int, D: float, *, lam: float = 1.0, delta: float = 0.05,
                        x_max: float = 1.0, x2_max: float = 1.0,
                        theta_norm: float = 1.0) -> dict[str, float]:
    """Squared radii of Bernstein UCRL2-VTR's three ellipsoids [zhou2021, Thm 4.1; card §3.8; D].

    The centred targets ``w(s') in [-D/2, D/2]`` have noise ``|eta| <= D``; weighted by
    ``1 / sigma`` with ``sigma >= sigma_min = D / sqrt(d)`` (the card's floor ``D^2 / d``) the
    normalised noise has ``|eta / sigma| <= sqrt(d)``, range ``<= sqrt(d)`` and, on the event
    that the variance estimates are upper bounds, variance ``<= 1``; the normalised features
    have norm ``<= L = x_max / sigma_min``. Each event gets ``delta / 3`` (union bound; ``lg =
    log(4 T^2 / (delta / 3))``):

    * ``hat`` (Bernstein, planning): ``(8 sqrt(d log(1 + T L^2 / (d lam)) lg) + 4 sqrt(d) lg
      + sqrt(lam) theta_norm)^2``;
    * ``check`` (Hoeffding, same weighted regression): :func:`mixture_beta` with span
      ``sqrt(d)`` and ``x_max = L``;
    * ``tilde`` (Hoeffding, second-order regression of ``w(s')^2 in [0, D^2 / 4]``, unweighted):
      :func:`mixture_beta` with span ``D^2 / 4`` and ``x_max = x2_max``.

    Examples
    --------
    >>> r = vtr_bernstein_radii(1, 1, 2.0, lam=1.0, delta=0.75, x_max=0.0, theta_norm=1.0)
    >>> bool(round(r["hat"], 12) == round((4 * np.log(16.0) + 1.0) ** 2, 12))   # L = 0: no logdet
    True
    """
    d, T = check_int("d", d, low=1), check_int("T", T, low=1)
    D = check_in_range("D", D, low=0.0, low_open=True)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    L = x_max / (D / np.sqrt(d))
    lg = np.log(4.0 * T ** 2 / (delta / 3.0))
    hat = (8.0 * np.sqrt(d * np.log1p(T * L ** 2 / (d * lam)) * lg) + 4.0 * np.sqrt(d) * lg
           + np.sqrt(lam) * theta_norm) ** 2
    check = mixture_beta(d, T, float(np.sqrt(d)), lam=lam, delta=delta / 3.0, x_max=L,
                         theta_norm=theta_norm)
    tilde = mixture_beta(d, T, D ** 2 / 4.0, lam=lam, delta=delta / 3.0, x_max=x2_max,
                         theta_norm=theta_norm)
    return {"hat": float(hat), "check": float(check), "tilde": float(tilde)}


def vtr_bernstein_weights(X: Any, X2: Any, theta_hat: Any, Linv: Any, theta_tilde: Any,
                          L2inv: Any, D: float, beta_check: float,
                          beta_tilde: float) -> dict[str, np.ndarray]:
    """Per-pair variance estimates and regression scales of Bernstein UCRL2-VTR
    [wu2022; zhou2021, Alg. 1 (UCRL-VTR+); card §3.8 "variance estimates with floor D^2/d"].

    For the episode's centred value ``w`` with features ``X = phi_w (S, A, d)`` and
    ``X2 = phi_{w^2} (S, A, d)``:
    ``Vbar = clip(<X2, theta_tilde>, 0, D^2/4) - clip(<X, theta_hat>, -D/2, D/2)^2`` (clipped
    at 0), ``E = min(D^2/4, D sqrt(beta_check) ||X||_Linv) + min(D^2/4, sqrt(beta_tilde)
    ||X2||_L2inv)`` and ``sigma^2 = max(D^2 / d, Vbar + E)``.

    Returns
    -------
    dict with ``variance`` (Vbar), ``error`` (E) and ``sigma`` (S, A), sigma = sqrt(sigma^2).

    Examples
    --------
    >>> X = np.array([[[1.0]]]); X2 = np.array([[[1.0]]])      # S = A = d = 1
    >>> out = vtr_bernstein_weights(X, X2, [0.5], [[0.0]], [1.0], [[0.0]], 4.0, 1.0, 1.0)
    >>> out["variance"].item(), out["error"].item(), out["sigma"].item()   # 1 - 0.5^2; floor 16
    (0.75, 0.0, 4.0)
    """
    X = np.asarray(X, dtype=np.float64)
    X2 = np.asarray(X2, dtype=np.float64)
    d = X.shape[-1]
    h = 0.25 * D ** 2
    m1 = np.clip(X @ np.asarray(theta_hat, dtype=np.float64), -0.5 * D, 0.5 * D)
    m2 = np.clip(X2 @ np.asarray(theta_tilde, dtype=np.float64), 0.0, h)
    var = np.maximum(m2 - m1 ** 2, 0.0)
    n1 = np.sqrt(np.maximum(np.einsum("saj,jk,sak->sa", X, np.asarray(Linv), X), 0.0))
    n2 = np.sqrt(np.maximum(np.einsum("saj,jk,sak->sa", X2, np.asarray(L2inv), X2), 0.0))
    err = np.minimum(h, D * np.sqrt(beta_check) * n1) + np.minimum(h, np.sqrt(beta_tilde) * n2)
    return {"variance": var, "error": err, "sigma": np.sqrt(np.maximum(D ** 2 / d, var + err))}


def _vtr_bernstein(mix: LinearMixtureMDP, mdp: Any, T: int, *, rng: Any, D: float,
                   beta: float | None, delta: float, lam: float, theta_norm: float,
                   noisy: bool) -> Trace:
    """Bernstein UCRL2-VTR; see :func:`ucrl2_vtr`. Per episode: weighted and second-order
    statistics from all data, ellipsoid EVI with the Bernstein radius, then the episode's
    weights ``1 / sigma(s, a)^2`` (frozen until the next episode); the determinant-doubling test
    runs on the weighted Gram matrix (the kernel receives the weighted features)."""
    psi = np.asarray(mix.psi, dtype=np.float64)
    d, S, A, _ = psi.shape
    R = np.asarray(mdp.R)
    radii = vtr_bernstein_radii(d, T, D, lam=lam, delta=delta, x_max=_x_max(psi, D),
                                x2_max=_x_max(psi, 0.5 * D ** 2), theta_norm=theta_norm)
    b_plan = radii["hat"] if beta is None else check_in_range("beta", beta, low=0.0)
    Xw, Ws, Cs, sig, X2s = [], [], [], [], []
    sweeps, conv = [], []

    def plan(i, out_s, out_a, out_r, epoch):
        st = (epoch[:i], out_s[:i], out_a[:i], out_s[1:i + 1], lam, d)
        Lam, b = _regression_stats(Xw, Ws, Cs, *st, sigma=sig)
        Lam2, b2 = _regression_stats(X2s, [w ** 2 for w in Ws], Cs, *st)
        L2inv = np.linalg.inv(Lam2)
        f, w, X, Linv, theta_hat = _evi_plan(R, psi, Lam, b, i, b_plan, True, sweeps, conv)
        X2 = np.einsum("jsat,t->saj", psi, w ** 2)
        wt = vtr_bernstein_weights(X, X2, theta_hat, Linv, L2inv @ b2, L2inv, D,
                                   radii["check"], radii["tilde"])
        sig.append(wt["sigma"])
        Xw.append(X / wt["sigma"][:, :, None])
        Ws.append(w)
        Cs.append(np.zeros((S, A)))
        X2s.append(X2)
        # the kernel gets the weighted features with the unweighted w: consistent for the
        # determinant-doubling test (it reads only the Gram matrix's log-determinant), which
        # is the only switching rule this learner runs
        return {"f": f, "X": Xw[-1], "W": w, "C": Cs[-1], "c_r": 0.0, "theta": theta_hat,
                "Lam": Lam, "b": b}

    run = _run(mdp, T, rng, noisy, plan, "doubling", 0.0, b_plan)
    info = {"planner": "relaxed_evi", "D": D, "bonus": "bernstein", "radii": radii,
            "switching": "doubling", "c_sw": 0.0, "lam": lam, "d": d, "noisy": noisy,
            "evi_sweeps": sweeps, "evi_converged": conv,
            "sigma_min": [float(x.min()) for x in sig], "sigma_max": [float(x.max()) for x in sig],
            "reward_for_regret": "mean"}
    name = "ucrl2_vtr[bernstein]" if beta is None else f"ucrl2_vtr[bernstein, beta={beta:g}]"
    return _trace(name, run, b_plan, info)


def loop_model_hard(d: int, delta_inst: float, gap: float, T: int, *, rng: Any,
                    signs: Any = None, beta: float | None = None, delta: float = 0.05,
                    c_sw: float = C_SW_DEFAULT, lam: float = 1.0, optimistic: bool = True,
                    switching: str = "lazy", noisy: bool = False) -> Trace:
    """Model-based LOOP with planner (c) exact in closed form on the hard instance
    [card §3.9 (c), §5.2; D].

    The instance is :func:`rlsandbox.mdps.loop.hard_linear_mixture` ``(d, delta_inst, gap,
    signs)``. Regression on ``vartheta`` (d - 1 coordinates) with the known last coordinate
    subtracted; the plan is ``vartheta+ = vartheta_hat + sqrt(beta) Lam^{-1} a+ /
    ||a+||_{Lam^{-1}}`` for the maximising action ``a+`` (first on ties), ``p+`` clipped to [0, 1],
    ``J = p+ / (p+ + delta_inst)``, ``V = (0, 1 / (p+ + delta_inst))``. ``beta`` defaults to
    :func:`mixture_beta` with span ``B = 1 / (2 delta_inst)`` (the largest span of any model of
    the class, attained as p -> 0) and ``theta_norm = 1`` (``||vartheta*|| = sqrt(gap (1 + gap))
    <= 1``). ``optimistic=False``: ``beta = 0`` in the planner (greedy in ``vartheta_hat``; card §4
    C9 control). ``switching="doubling"`` re-plans on determinant doubling instead.

    Examples
    --------
    >>> tr = loop_model_hard(3, 0.1, 0.05, 2000, rng=0)
    >>> tr.algorithm, int(tr.pi[-1, 0])        # the best action (+1, +1) has index 3
    ('loop_model_hard', 3)
    """
    from rlsandbox.mdps.loop import _hard_actions, hard_linear_mixture

    mix = hard_linear_mixture(d, delta_inst, gap, signs)
    mdp = _check_mixture(mix, "loop_model_hard")
    T = check_int("T", T, low=2)
    check_choice("switching", switching, ("lazy", "doubling"))
    optimistic = check_bool("optimistic", optimistic)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    c_sw = check_in_range("c_sw", c_sw, low=0.0)
    psi = np.asarray(mix.psi)
    acts = _hard_actions(d)
    alpha = np.sqrt(gap / ((d - 1) * (1.0 + gap)))
    last = float(mix.theta[-1])                         # 1 / beta0, fixed by the row sums
    B = 1.0 / (2.0 * delta_inst)
    if beta is None:
        beta = mixture_beta(d - 1, T, B, lam=lam, delta=delta,
                            x_max=_x_max(psi[:d - 1], B), theta_norm=1.0)
    beta = check_in_range("beta", beta, low=0.0)
    rb = float(np.sqrt(beta)) if optimistic else 0.0
    S, A = 2, acts.shape[0]
    Xs, Ws, Cs = [], [], []

    def plan(i, out_s, out_a, out_r, epoch):
        Lam, b = _regression_stats(Xs, Ws, Cs, epoch[:i], out_s[:i], out_a[:i], out_s[1:i + 1],
                                   lam, d - 1)
        Linv = np.linalg.inv(Lam)
        vt_hat = Linv @ b
        norms = np.sqrt(np.einsum("aj,jk,ak->a", acts, Linv, acts))
        val = alpha * (acts @ vt_hat) + rb * alpha * norms
        k = int(np.argmax(val))
        vt = vt_hat + rb * (Linv @ acts[k]) / norms[k]
        p_all = np.clip(delta_inst + alpha * (acts @ vt), 0.0, 1.0)
        p = float(np.clip(delta_inst + val[k], 0.0, 1.0))
        J = p / (p + delta_inst)
        V = np.array([0.0, 1.0 / (p + delta_inst)])
        Q = np.empty((S, A))
        Q[0] = p_all * V[1] - J
        Q[0, k] = p * V[1] - J                          # exactly V(x0) = 0
        Q[1] = 1.0 + (1.0 - delta_inst) * V[1] - J
        f = Hypothesis(Q, J, np.array([k, 0]))
        X = np.einsum("jsat,t->saj", psi, f.V)
        Xs.append(X[:, :, :d - 1].copy())
        Ws.append(np.array(f.V))
        Cs.append(X[:, :, d - 1] * last)
        return {"f": f, "X": Xs[-1], "W": Ws[-1], "C": Cs[-1], "c_r": 0.0, "theta": vt,
                "Lam": Lam, "b": b}

    run = _run(mdp, T, rng, check_bool("noisy", noisy), plan, switching, c_sw, beta)
    info = {"planner": "closed_form" if optimistic else "greedy_theta_hat", "d": d,
            "delta_inst": delta_inst, "gap": gap, "B": B, "switching": switching,
            "c_sw": float(c_sw), "lam": lam, "noisy": noisy, "reward_for_regret": "mean"}
    return _trace("loop_model_hard" if optimistic else "loop_model_hard[greedy]", run, beta,
                  info)


# ============================================================ model-based tabular (d-ii)
class RectangularInnerStep:
    """EVI's inner step of the rectangular relaxation, exact (QCQP) or closed form [card §3.9
    (d)(ii); S].

    For every pair ``(s, a)`` with block estimate ``x_hat[s, a] = (p_hat, r_hat)`` (S + 1,) and
    block Gram matrix ``Lam[s, a]`` (S + 1, S + 1), and ``z = (u, 1)``::

        exact:       max <x, z>  s.t.  ||x - x_hat||_Lam <= sqrt(beta),  x_{:S} in simplex,
                                       0 <= x_S <= 1                       (the card's QCQP)
        closed form: clip(<x_hat, z> + sqrt(beta) ||z||_{Lam^-1}, min u, 1 + max u)

    The closed form drops the validity constraints (p in the simplex, r in [0, 1]) and only
    keeps the value range they imply, so it is an upper bound on the exact value: every valid
    ``x`` has ``min u <= <x, z> <= 1 + max u``, and the unconstrained maximum is at least the
    constrained one. The two coincide when the unconstrained maximiser
    ``x_hat + sqrt(beta) Lam^-1 z / ||z||_{Lam^-1}`` is itself valid (claim-free unit test in
    tests/test_loop_linear.py). The QCQP is solved for all pairs at once with cvxpy/CLARABEL
    (one parametrised program; the pairs are separable). A pair whose set holds no valid
    ``x`` (the block's ellipsoid misses the simplex: coverage has failed there) keeps the
    closed-form value and is counted in :attr:`infeasible`.

    Parameters
    ----------
    S, A : sizes
    exact : bool
        QCQP (True) or the closed form (False).

    Examples
    --------
    >>> import numpy as np
    >>> step = RectangularInnerStep(2, 1)
    >>> x_hat = np.array([[[0.5, 0.5, 0.5]], [[0.5, 0.5, 0.5]]])
    >>> Lam = np.broadcast_to(100.0 * np.eye(3), (2, 1, 3, 3))
    >>> step.set(x_hat, Lam, beta=1.0)
    >>> u = np.array([0.0, 1.0])
    >>> exact = step(u)[0]
    >>> relaxed = RectangularInnerStep(2, 1, exact=False)
    >>> relaxed.set(x_hat, Lam, beta=1.0)
    >>> # radius 0.1 per block, z = (0, 1, 1): the unconstrained maximiser (0.5, 0.57, 0.57)
    >>> # leaves the simplex (relaxed 1 + 0.1 sqrt(2)); in the simplex dp0 = -dp1 and
    >>> # max dp1 + dr s.t. 2 dp1^2 + dr^2 <= 0.01 is 0.1 sqrt(3/2) (exact, lower)
    >>> round(float(exact[0, 0]), 6), round(float(relaxed(u)[0][0, 0]), 6)
    (1.122474, 1.141421)
    """

    def __init__(self, S: int, A: int, *, exact: bool = True) -> None:
        self.S, self.A = check_int("S", S, low=1), check_int("A", A, low=1)
        self.exact = check_bool("exact", exact)
        self.infeasible = 0
        self._prob = None

    def set(self, x_hat: Any, Lam: Any, *, beta: float) -> None:
        """Fix the block estimates ``x_hat`` (S, A, S + 1), Gram blocks ``Lam`` (S, A, S + 1,
        S + 1) (positive definite) and the radius ``beta``."""
        S, A, k = self.S, self.A, self.S + 1
        self.x_hat = np.asarray(x_hat, dtype=np.float64).reshape(S, A, k)
        Lam = np.asarray(Lam, dtype=np.float64).reshape(S, A, k, k)
        self.Linv = np.linalg.inv(Lam)
        self.rb = float(np.sqrt(check_in_range("beta", beta, low=0.0)))
        if self.exact:
            self._build()
            chol = np.linalg.cholesky(Lam)                  # Lam = L L^T, ||v||_Lam = ||L^T v||
            for j, (s, a) in enumerate(np.ndindex(S, A)):
                self._Lt[j].value = chol[s, a].T
            self._c.value = np.einsum("saji,saj->sai", chol, self.x_hat).reshape(S * A, k)
            self._rb.value = self.rb

    def _build(self) -> None:
        if self._prob is not None:
            return
        import cvxpy as cp
        S, A, k = self.S, self.A, self.S + 1
        self._x = cp.Variable((S * A, k))
        self._Lt = [cp.Parameter((k, k)) for _ in range(S * A)]
        self._c = cp.Parameter((S * A, k))
        self._z = cp.Parameter(k)
        self._rb = cp.Parameter(nonneg=True)
        cons = [self._x[:, :S] >= 0, cp.sum(self._x[:, :S], axis=1) == 1,
                self._x[:, S] >= 0, self._x[:, S] <= 1]
        cons += [cp.norm(self._Lt[j] @ self._x[j] - self._c[j]) <= self._rb
                 for j in range(S * A)]
        self._prob = cp.Problem(cp.Maximize(cp.sum(self._x @ self._z)), cons)

    def closed_form(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Clipped value (S, A) and the unconstrained maximiser (S, A, S + 1)."""
        z = np.append(u, 1.0)
        step = np.einsum("saij,j->sai", self.Linv, z)
        norm = np.sqrt(np.maximum(np.einsum("sai,i->sa", step, z), 1e-300))
        x_plus = self.x_hat + self.rb * step / norm[:, :, None]
        return np.clip(x_plus @ z, u.min(), 1.0 + u.max()), x_plus

    def __call__(self, u: Any) -> tuple[np.ndarray, np.ndarray]:
        """Inner maximum (S, A) for the bias ``u`` (S,) and a maximiser (S, A, S + 1)."""
        u = np.asarray(u, dtype=np.float64)
        value, x_plus = self.closed_form(u)
        if not self.exact:
            return value, x_plus
        status = self._solve(np.append(u, 1.0))
        if status in ("optimal", "optimal_inaccurate"):
            x = self._x.value.reshape(self.S, self.A, self.S + 1)
            return x @ np.append(u, 1.0), x
        # one pair's set holds no valid x: solve the pairs one by one, keep the closed form
        # where a pair is infeasible (counted)
        return self._pairwise(u, value, x_plus)

    def _solve(self, z: np.ndarray) -> str:
        import cvxpy as cp
        self._z.value = z
        try:
            with warnings.catch_warnings():
                # "Solution may be inaccurate": status optimal_inaccurate is accepted (CLARABEL's
                # reduced accuracy is ~1e-5, far inside EVI's stopping tolerance 1 / sqrt(t))
                warnings.filterwarnings("ignore", message="Solution may be inaccurate",
                                        category=UserWarning)
                self._prob.solve(solver="CLARABEL")
        except cp.error.SolverError:
            return "solver_error"
        return str(self._prob.status)

    def _pairwise(self, u, value, x_plus):
        import cvxpy as cp
        k = self.S + 1
        z = np.append(u, 1.0)
        value, x_plus = value.copy(), x_plus.copy()
        for s, a in np.ndindex(self.S, self.A):
            x = cp.Variable(k)
            Lt = np.linalg.cholesky(np.linalg.inv(self.Linv[s, a])).T
            prob = cp.Problem(cp.Maximize(x @ z),
                              [x[:self.S] >= 0, cp.sum(x[:self.S]) == 1, x[self.S] >= 0,
                               x[self.S] <= 1,
                               cp.norm(Lt @ (x - self.x_hat[s, a])) <= self.rb])
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Solution may be inaccurate",
                                            category=UserWarning)
                    prob.solve(solver="CLARABEL")
                ok = prob.status in ("optimal", "optimal_inaccurate")
            except cp.error.SolverError:
                ok = False
            if ok:
                value[s, a], x_plus[s, a] = float(x.value @ z), x.value
            else:
                self.infeasible += 1
        return value, x_plus


# ============================================================ model-based tabular (d-ii)
def loop_model_rectangular(mdp: Any, T: int, *, rng: Any, B: float | None = None,
                           c_beta: float = C_BETA_DEFAULT, beta: float | None = None,
                           c_sw: float = C_SW_DEFAULT, lam: float = 1.0,
                           noisy: bool = False, evi_max_iter: int = 10_000,
                           inner: str = "qcqp") -> Trace:
    """Model-based tabular LOOP with the rectangular relaxation and EVI [card §3.9 (d)(ii); S].

    See the module docstring. ``beta = c_beta (B + 1)^2 log T`` per block (targets
    ``r + V(s')`` lie in an interval of length ``<= B + 1``), ``B`` the exact ``sp(V*)`` by
    default. ``inner="qcqp"`` (default) is the card's EVI inner step, one small convex QCQP per
    pair with the validity constraints (:class:`RectangularInnerStep`, cvxpy/CLARABEL);
    ``inner="closed_form"`` is the further relaxation without them (looser, still optimistic;
    labelled ``loop_model_rectangular[closed_form]``). The hypothesis in force is, block by
    block, the inner step's maximiser for its own bias ``V_f``; since each block starts on its
    own radius, the lazy test re-plans when the summed excess exceeds ``c_sw S A beta`` [S].
    ``info["qcqp_infeasible"]`` counts inner steps where a block's ellipsoid held no valid
    model (closed form used there).

    Examples
    --------
    >>> import rlsandbox as rls
    >>> mdp = rls.mdps.riverswim(3, gamma=1.0)
    >>> relaxed = loop_model_rectangular(mdp, 500, rng=0, inner="closed_form")
    >>> exact = loop_model_rectangular(mdp, 500, rng=0)
    >>> float(relaxed.J[0])       # no data: the closed form reaches the reward cap
    1.0
    >>> bool(exact.J[0] < 1.0)    # the QCQP must first reach a valid model from x_hat = 0
    True
    """
    from rlsandbox.algorithms.loop.trace import check_average_mdp

    mdp = check_average_mdp(mdp, "loop_model_rectangular")
    check_rewards_unit(mdp, "loop_model_rectangular")
    T = check_int("T", T, low=2)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    c_sw = check_in_range("c_sw", c_sw, low=0.0)
    if B is None:
        f_star = true_hypothesis(mdp)
        B = float(f_star.V.max() - f_star.V.min())
    B = check_in_range("B", B, low=0.0, low_open=True)
    beta = value_beta(T, B, c_beta) if beta is None else check_in_range("beta", beta, low=0.0)
    inner = check_choice("inner", inner, ("qcqp", "closed_form"))
    S, A = mdp.S, mdp.A
    k = S + 1
    d = S * A * k
    step = RectangularInnerStep(S, A, exact=inner == "qcqp")
    Xs, Ws, Cs = [], [], []
    sweeps, conv = [], []

    def features(v: np.ndarray) -> np.ndarray:
        X = np.zeros((S, A, d))
        for s in range(S):
            for a in range(A):
                j = (s * A + a) * k
                X[s, a, j:j + S] = v
                X[s, a, j + S] = 1.0
        return X

    def plan(i, out_s, out_a, out_r, epoch):
        Lam, b = _regression_stats(Xs, Ws, Cs, epoch[:i], out_s[:i], out_a[:i],
                                   out_s[1:i + 1], lam, d, r=out_r[:i])
        x_hat = np.linalg.solve(Lam, b).reshape(S, A, k)
        # Lam is block-diagonal (pair (s, a) only touches its own k coordinates)
        step.set(x_hat, np.stack([Lam[j:j + k, j:j + k] for j in range(0, d, k)]), beta=beta)
        evi = _relative_iteration(lambda u: step(u)[0], S, float(plan_accuracy(i)),
                                  evi_max_iter)
        sweeps.append(evi["sweeps"])
        conv.append(evi["converged"])
        f = Hypothesis(evi["Q"], min(max(evi["gain"], 0.0), 1.0), evi["policy"])
        # the hypothesis in force: each block's maximiser for its own bias V_f, the vector its
        # regression features use
        x_plus = step(np.array(f.V))[1]
        Xs.append(features(np.array(f.V)))
        Ws.append(np.array(f.V))
        Cs.append(np.zeros((S, A)))
        return {"f": f, "X": Xs[-1], "W": Ws[-1], "C": Cs[-1], "c_r": 1.0,
                "theta": x_plus.reshape(-1), "Lam": Lam, "b": b}

    # every block of the plan sits on its own radius: the summed excess starts at S A beta,
    # so the lazy test compares it with c_sw S A beta [S]
    run = _run(mdp, T, rng, check_bool("noisy", noisy), plan, "lazy", c_sw * S * A, beta)
    info = {"planner": "rectangular_evi", "B": B, "c_beta": c_beta, "c_sw": float(c_sw),
            "lam": lam, "noisy": noisy, "evi_sweeps": sweeps, "evi_converged": conv,
            "inner": inner, "qcqp_infeasible": step.infeasible, "reward_for_regret": "mean"}
    name = "loop_model_rectangular" + ("" if inner == "qcqp" else "[closed_form]")
    return _trace(name, run, beta, info)


# ============================================================ OLSVI.FH
def olsvi_fh(lin: LinearMDP, T: int, *, rng: Any, H: int | None = None,
             bonus: float | None = None, lam: float = 1.0, noisy: bool = False) -> Trace:
    """OLSVI.FH [wei2021; card §3.7]: LSVI-UCB on H-step blocks, all data shared (module
    docstring).

    Parameters
    ----------
    lin : LinearMDP (stationary, rewards in [0, 1])
    T : int >= 2
    rng : Generator or seed, keyword-only
    H : block length; default ``ceil(T^{1/4})`` [S] (the paper balances H against T; its
        constant is unverified)
    bonus : UCB multiplier of ``||phi||_{Lam^{-1}}``; default ``0.1 H sqrt(d log T)`` [S] (the
        theory's ``O~(d H)`` constant is not given on the card)
    lam : ridge (> 0)
    noisy : Bernoulli rewards

    Returns
    -------
    Trace
        One plan per block *step* is not recorded; each block is one plan whose ``pi`` is the
        first step's policy, ``J`` the block's optimistic average ``V_1(s) / H`` at the block's
        start state and ``V`` = ``V_1 - min V_1``; ``Q`` is None (the non-stationary policy
        has no single hypothesis). ``info["H"]``, ``info["bonus"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.mdps.linear import random_linear_mdp
    >>> lin = random_linear_mdp(3, 2, 2, rng=np.random.default_rng(1))
    >>> tr = olsvi_fh(lin, 256, rng=0)
    >>> tr.info["H"], tr.n_plans                 # ceil(256 ** 0.25) = 4; 256 / 4 blocks
    (4, 64)
    """
    if not isinstance(lin, LinearMDP) or lin.is_finite_horizon:
        raise TypeError(f"lin must be a stationary rlsandbox.LinearMDP, got {lin!r}")
    mdp = lin.to_tabular(gamma=1.0)
    check_rewards_unit(mdp, "olsvi_fh")
    T = check_int("T", T, low=2)
    H = int(np.ceil(T ** 0.25)) if H is None else check_int("H", H, low=1)
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    noisy = check_bool("noisy", noisy)
    phi = np.ascontiguousarray(lin.phi, dtype=np.float64)
    S, A, d = phi.shape
    bonus = 0.1 * H * float(np.sqrt(d * np.log(T))) if bonus is None else \
        check_in_range("bonus", bonus, low=0.0)
    u_s, u_r, cdf, R, out_s, out_a, out_r, epoch = start_run(
        mdp, T, rng=rng, noisy=noisy)
    Linv = np.eye(d) / lam
    b_r = np.zeros(d)
    M = np.zeros((d, S))                      # sum_i phi_i e_{s_{i+1}}^T
    zero_d, zero_S, zero_SA = np.zeros(d), np.zeros(S), np.zeros((S, A))
    starts, pis, Js, Vs = [], [], [], []
    logdet = np.zeros(1)
    width = np.sqrt(np.maximum(np.einsum("saj,jk,sak->sa", phi, Linv, phi), 0.0))
    i = 0
    while i < T:
        width = np.sqrt(np.maximum(np.einsum("saj,jk,sak->sa", phi, Linv, phi), 0.0))
        V_next = np.zeros(S)
        policy = np.zeros((H, S), dtype=np.int64)
        V1 = np.zeros(S)
        for h in range(H - 1, -1, -1):        # backward LSVI-UCB
            w = Linv @ (b_r + M @ V_next)
            Q = np.minimum(phi @ w + bonus * width, float(H - h))
            policy[h] = np.argmax(Q, axis=1)
            V_next = Q.max(axis=1)
            if h == 0:
                V1 = V_next
        starts.append(i)
        pis.append(policy[0].copy())
        Js.append(float(V1[out_s[i]] / H))
        Vs.append(V1 - V1.min())
        for h in range(H):
            if i >= T:
                break
            s = int(out_s[i])
            _segment_linear(i, i + 1, cdf, R, noisy, u_s, u_r, np.ascontiguousarray(policy[h]),
                            phi, zero_S, zero_SA, 1.0, zero_d, 0, 0.0, Linv, zero_d.copy(),
                            zero_d.copy(), logdet, out_s, out_a, out_r)
            x = phi[s, out_a[i]]
            b_r += x * out_r[i]
            M[:, out_s[i + 1]] += x
            epoch[i] = len(starts) - 1
            i += 1
    info = {"planner": "lsvi_ucb_blocks", "H": H, "bonus": bonus, "lam": lam, "d": d,
            "noisy": noisy, "reward_for_regret": "mean"}
    return Trace("olsvi_fh", out_s, out_a, out_r, epoch, np.array(starts, dtype=np.int64),
                 np.stack(pis), np.array(Js), np.stack(Vs), None, None, None, info)
