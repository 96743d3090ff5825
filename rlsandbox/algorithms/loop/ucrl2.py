"""UCRL2 with extended value iteration [jaksch2010; card §3.6].

UCRL2 (card §3.6, radii as in [jaksch2010, the UCRL2 algorithm])::

    for episodes k = 1, 2, ...:
        t_k <- t; freeze N_k(s, a), rhat_k, phat_k (phat = 0 on unvisited pairs)
        M_k <- models with |r~ - rhat| <= sqrt(7 log(2 S A t_k / delta) / (2 max(1, N_k)))
                        and ||p~ - phat||_1 <= sqrt(14 S log(2 A t_k / delta) / max(1, N_k))
        pi_k <- ExtendedValueIteration(M_k, eps = 1 / sqrt(t_k))
        play pi_k while v_k(s_t, pi_k(s_t)) < max(1, N_k(s_t, pi_k(s_t)))

Extended value iteration (EVI): ``u_0 = 0``, ``u_{i+1}(s) = max_a [r~(s, a) + max_{p in P(s,a)}
p . u_i]``, stopped when ``sp(u_{i+1} - u_i) < eps``; the inner maximum is exact (sort the
states by ``u``, move ``rad / 2`` of mass onto the best, remove the excess from the worst:
:func:`evi_inner_max`). The greedy policy is ``eps``-optimal in the optimistic extended MDP.

Guarantees (card §3.6, "standard, recollection — mark unverified"): with probability
``>= 1 - delta``, ``Delta(T) <= 34 D S sqrt(A T log(T / delta))``; the number of episodes is
``m(T) <= S A log2(8 T / (S A))`` for ``T >= S A`` (:func:`episode_bound`).

Deviations [S]: optimistic rewards are clipped at ``r_clip = 1`` (rewards lie in [0, 1]: a
harmless tightening, card §6 pitfall 10); for unvisited pairs the transition set is the whole
simplex (all mass on the best state; for the true radii this is what the formula gives, since
the radius is >= 2); EVI switches to the damped update ``u <- (u + T u) / 2`` after half of
``evi_max_iter`` sweeps without convergence and records ``converged = False`` if the budget
runs out (card §6 pitfall 6); ``radius_scale`` multiplies both radii (1 = the paper; the
card's negative control uses 1e-3).

References
----------
[jaksch2010] T. Jaksch, R. Ortner, P. Auer. Near-optimal regret bounds for reinforcement
             learning. JMLR 11:1563-1600, 2010 (the UCRL2 algorithm, §3.1 EVI, Thm 2 regret, Prop. 18 episodes).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import (check_bool, check_float_array, check_in_range, check_int,
                                 check_stochastic)
from rlsandbox.algorithms.loop._kernels import _evi, _inner_max, _ucrl2
from rlsandbox.algorithms.loop.trace import (Trace, check_average_mdp, check_rewards_unit,
                                             start_run)

__all__ = ["ucrl2", "evi_inner_max", "extended_value_iteration", "episode_bound",
           "ucrl2_regret_bound"]


def evi_inner_max(p_hat: Any, rad: float, u: Any) -> np.ndarray:
    """The maximiser of ``p . u`` over ``{p in simplex : ||p - p_hat||_1 <= rad}`` (S,).

    [jaksch2010, §3.1]: ``p(s'_1) = min(1, p_hat(s'_1) + rad / 2)`` for the best
    state ``s'_1`` (ties: lowest index), then mass is removed from the worst states first.

    Examples
    --------
    >>> evi_inner_max([0.5, 0.5, 0.0], 0.4, [0.0, 1.0, 2.0]).round(12).tolist()
    [0.3, 0.5, 0.2]
    """
    p_hat = check_stochastic("p_hat", p_hat, ndim=1)
    u = check_float_array("u", u, shape=(p_hat.size,))
    rad = check_in_range("rad", rad, low=0.0)
    out = np.empty_like(p_hat)
    _inner_max(p_hat, rad, np.argsort(-u, kind="mergesort"), out)
    return out


def extended_value_iteration(r_opt: Any, p_hat: Any, rad_p: Any, *, eps: float,
                             max_iter: int = 100_000) -> dict[str, Any]:
    """Extended value iteration [jaksch2010, §3.1] on the set ``{(r_opt, p): ||p - p_hat||_1
    <= rad_p}`` until ``sp(T u - u) < eps``.

    Parameters
    ----------
    r_opt : (S, A) optimistic rewards
    p_hat : (S, A, S) empirical kernel (rows summing to 1, or 0 for unvisited pairs)
    rad_p : (S, A) L1 radii
    eps : float > 0
    max_iter : sweep budget (damped update after half of it)

    Returns
    -------
    dict with ``u`` (S,), ``policy`` (S,) greedy for ``u``, ``Q`` (S, A) the optimistic backup
    of ``u``, ``gain`` (midpoint of ``[min, max] (T u - u)``, within ``eps / 2`` of the
    optimistic optimal gain), ``sweeps``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> p_hat = np.array([[[1.0, 0.0], [1.0, 0.0]], [[0.0, 1.0], [0.0, 1.0]]])
    >>> out = extended_value_iteration([[0.0, 0.0], [1.0, 0.0]], p_hat, np.full((2, 2), 0.5),
    ...                                eps=1e-9)
    >>> round(out["gain"], 9), out["policy"].tolist()     # 0.75 of the mass reaches reward 1
    (1.0, [0, 0])
    """
    r_opt = check_float_array("r_opt", r_opt, ndim=2)
    S, A = r_opt.shape
    p_hat = check_float_array("p_hat", p_hat, shape=(S, A, S))
    rad_p = check_float_array("rad_p", rad_p, shape=(S, A))
    eps = check_in_range("eps", eps, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    u = np.zeros(S)
    pi = np.zeros(S, dtype=np.int64)
    Q = np.empty((S, A))
    sweeps, conv, lo, hi = _evi(r_opt, p_hat, rad_p, eps, max_iter, u, pi, Q, np.empty(S))
    return {"u": u - u.min(), "policy": pi, "Q": Q, "gain": 0.5 * (lo + hi),
            "sweeps": int(sweeps), "converged": bool(conv)}


def episode_bound(T: Any, S: int, A: int) -> np.ndarray:
    """``S A log2(8 T / (S A))``, UCRL2's episode bound for ``T >= S A`` [jaksch2010, Prop. 18].

    Examples
    --------
    >>> float(episode_bound(5000, 6, 2).round(1))     # card §4 C7: bound 140 at T = 5000
    140.4
    """
    T = np.asarray(T, dtype=np.float64)
    SA = S * A
    return SA * np.log2(8.0 * T / SA)


def ucrl2_regret_bound(T: Any, D: float, S: int, A: int, delta: float) -> np.ndarray:
    """``34 D S sqrt(A T log(T / delta))`` [jaksch2010, Thm 2].

    Examples
    --------
    >>> round(float(ucrl2_regret_bound(1e5, 14.7223, 6, 2, 0.05)) / 1e6, 2)   # card §4 C7
    5.12
    """
    T = np.asarray(T, dtype=np.float64)
    return 34.0 * D * S * np.sqrt(A * T * np.log(T / delta))


def ucrl2(mdp: Any, T: int, *, rng: Any, delta: float = 0.05, radius_scale: float = 1.0,
          noisy: bool = False, r_clip: float = 1.0, evi_max_iter: int = 100_000,
          episode_factor: float = 1.0) -> Trace:
    """Run UCRL2 for ``T`` steps [jaksch2010; card §3.6]; the interaction is compiled.

    Parameters
    ----------
    mdp : TabularMDP (rewards in [0, 1]; gamma ignored)
    T : int >= 1
    rng : Generator or seed, keyword-only (start state, transition and reward uniforms)
    delta : confidence parameter in (0, 1)
    radius_scale : multiplies both confidence radii (1 = the paper)
    noisy : Bernoulli rewards with mean R (else the mean reward is observed)
    r_clip : cap on optimistic rewards (default 1)
    evi_max_iter : EVI sweep budget per episode
    episode_factor : an episode ends when the in-episode count of the played pair reaches
        ``max(1, episode_factor * N_k)``; 1 is the paper's doubling rule; 0 ends an episode as
        soon as the current pair was already played in it, so episodes last at most S A steps
        (an ablation, the episode-count claim's negative control)

    Returns
    -------
    Trace
        One plan per episode: ``J`` the optimistic gain, ``V`` EVI's ``u`` (min 0), ``Q`` None;
        ``info["evi_sweeps"]``, ``info["evi_converged"]`` per episode.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> tr = ucrl2(rls.mdps.riverswim(6, gamma=1.0), 5000, rng=0)
    >>> bool(tr.n_plans <= episode_bound(5000, 6, 2))
    True
    """
    mdp = check_average_mdp(mdp, "ucrl2")
    check_rewards_unit(mdp, "ucrl2")
    T = check_int("T", T, low=1)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    radius_scale = check_in_range("radius_scale", radius_scale, low=0.0)
    noisy = check_bool("noisy", noisy)
    r_clip = check_in_range("r_clip", r_clip, low=0.0, low_open=True)
    evi_max_iter = check_int("evi_max_iter", evi_max_iter, low=2)
    episode_factor = check_in_range("episode_factor", episode_factor, low=0.0)
    u_s, u_r, cdf, R, out_s, out_a, out_r, epoch = start_run(mdp, T, rng=rng, noisy=noisy)
    S = mdp.S
    cap = T                                     # every episode has at least one step
    ep_start = np.zeros(cap, dtype=np.int64)
    ep_pi = np.zeros((cap, S), dtype=np.int64)
    ep_gain = np.zeros(cap)
    ep_u = np.zeros((cap, S))
    ep_sweeps = np.zeros(cap, dtype=np.int64)
    ep_conv = np.zeros(cap, dtype=np.bool_)
    K = int(_ucrl2(T, int(out_s[0]), cdf, R, noisy, u_s, u_r, delta,
                   radius_scale, radius_scale, r_clip, evi_max_iter, episode_factor, out_s,
                   out_a, out_r, epoch, ep_start, ep_pi, ep_gain, ep_u, ep_sweeps, ep_conv))
    info = {"delta": delta, "radius_scale": radius_scale, "noisy": noisy, "r_clip": r_clip,
            "episode_factor": episode_factor, "evi_sweeps": ep_sweeps[:K].tolist(),
            "evi_converged": ep_conv[:K].tolist(),
            "reward_for_regret": "realised"}
    name = "ucrl2" if radius_scale == 1.0 else f"ucrl2[radius x {radius_scale:g}]"
    if episode_factor != 1.0:
        name += f"[episode factor {episode_factor:g}]"
    return Trace(name,
                 out_s, out_a, out_r, epoch, ep_start[:K].copy(), ep_pi[:K].copy(),
                 ep_gain[:K].copy(), ep_u[:K].copy(), None, None, None, info)
