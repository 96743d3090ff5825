"""A5: infinite-horizon stock-augmented value iteration on a stock grid (EU, scalar).

[card §3 A5] For an expected utility f of degree d (``min(x, 0)``, ``a min + b max``, ``-|x|``
with d = 1; the indicator with d = 0) and a discounted model, iterate on a uniform grid
``c_1 < ... < c_M`` of the band ``B = [-G_hi, -G_lo]`` (spacing Delta):

    V_0(s, c_j) = f(c_j)                                   ("zero continuation")
    Q(s, c_j, a) = gamma^d sum_{(p, r, s')} p Vt(s', (c_j + r)/gamma)
    V_{k+1}(s, c_j) = max_a Q(s, c_j, a),  pi(s, c_j) = argmax_a Q  (tie rule of A2)

with ``Vt(s', c') = f(c')`` at terminal s', the analytic values of card C10 outside the band
(:func:`~rlsandbox.algorithms.distributional.lattice.continuation`: e.g. 0 above and
``c' + V*_rn(s')`` below for min(x, 0)), and linear interpolation of ``V(s', .)`` inside. The
grid edges are **never clamped** [card Pitfall 3]; ``clamp=True`` is the card's C9 negative
control ("losses beyond the grid are free": the value collapses towards 0).

Stopping and error [card C8, C9]. For d = 1 the interpolated operator is a gamma-contraction
in sup norm (interpolation is a non-expansion), so stopping at ``||V_{k+1} - V_k|| < tol``
leaves the last iterate within ``gamma tol / (1 - gamma)`` of the interpolated fixed point
V^. The card's derived bound on the grid error (f L-Lipschitz, degree 1) is
``sup_grid |V^ - J*| <= gamma L Delta / (2 (1 - gamma))`` (C9).

Execution [card A5 notes]: the greedy policy is evaluated at the *exact* current stock by
interpolating Q (:meth:`StockVISolution.q_values`, :meth:`StockVISolution.rollouts`), never by
rounding the stock to the grid. Rollouts carry ``z_t = c0 + sum gamma^i r_i`` and form
``c_t = z_t / gamma^t`` only to act [card Pitfall 2].

Outer CVaR search [card A4, infinite horizon]: ``h(c0) = -c0 + V^(s0, c0)/tau`` on the grid
nodes. Between nodes the interpolated V^ is linear in c0, so the maximum of h over the band is
at a node; the search is exhaustive over the nodes (h is not concave).

Deviations: the kernels live in this package (file ownership), not in ``rlsandbox/kernels``.
The policy returned is greedy with respect to the second-to-last iterate (so that the value
returned is exactly its one-step backup); the card does not specify which.
Shapes: grid (M,), V (S, M), policy (S, M) int64 (-1 at terminal states).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import check_bool, check_in_range, check_int, check_rng
from rlsandbox.algorithms.distributional._kernels import (_grid_vi, _q_at, _rollout_markov,
                                                          _rollout_stock)
from rlsandbox.algorithms.distributional.dists import empirical_cvar
from rlsandbox.algorithms.distributional.lattice import (AnalyticContinuation, continuation,
                                                         solve_risk_neutral)
from rlsandbox.algorithms.distributional.model import OutcomeMDP
from rlsandbox.algorithms.distributional.objectives import ExpectedUtility

__all__ = ["StockVISolution", "stock_value_iteration", "Rollouts", "markov_rollouts",
           "risk_neutral_policy", "policy_law", "stock_policy_law", "grid_error_bound",
           "TIE_ATOL"]

#: Tie tolerance of the greedy stock policy (card §5.2 E3: values within 1e-9 are equal).
TIE_ATOL = 1e-9


def grid_error_bound(gamma: float, lipschitz: float, delta: float) -> float:
    """The card's C9 bound ``gamma L Delta / (2 (1 - gamma))`` (derived by the card).

    >>> round(grid_error_bound(0.9, 1.0, 0.4), 12)
    1.8
    """
    return gamma * lipschitz * delta / (2.0 * (1.0 - gamma))


@dataclass(frozen=True)
class Rollouts:
    """Monte Carlo episodes: returns ``G`` (n,), ``steps`` (n,) int, ``final`` state (n,) int,
    and ``truncated`` = number of episodes stopped by ``max_steps`` (not at a terminal state).
    """

    G: np.ndarray
    steps: np.ndarray
    final: np.ndarray
    truncated: int

    def cvar(self, tau: float) -> float:
        """Empirical lower-tail CVaR_tau of the returns."""
        return empirical_cvar(self.G, tau)


def _outcome_arrays(model: OutcomeMDP):
    return (np.ascontiguousarray(model.ptr), np.ascontiguousarray(model.prob),
            np.ascontiguousarray(model.reward), np.ascontiguousarray(model.next_state),
            np.ascontiguousarray(model.available), np.ascontiguousarray(model.terminal))


@dataclass(frozen=True, eq=False)
class StockVISolution:
    """The result of :func:`stock_value_iteration`.

    Attributes
    ----------
    model, objective : the problem.
    grid : (M,) the stock grid (uniform on [c_lo, c_hi]).
    V : (S, M) last iterate (V^ up to ``iteration_error``).
    policy : (S, M) int64 greedy actions on the grid nodes (-1 at terminal states).
    iterations : sweeps made; residual : last ``||V_{k+1} - V_k||``; converged : residual < tol.
    iteration_error : ``gamma^d residual / (1 - gamma^d)`` (d = 1), the distance of V to V^.
    continuation : the analytic values outside the band (card C10).
    clamp : whether the edges were clamped (the C9 negative control).
    """

    model: OutcomeMDP
    objective: ExpectedUtility
    grid: np.ndarray
    V: np.ndarray
    policy: np.ndarray
    iterations: int
    residual: float
    converged: bool
    iteration_error: float
    continuation: AnalyticContinuation
    clamp: bool
    _consts: tuple

    @property
    def delta(self) -> float:
        """Grid spacing."""
        return float(self.grid[1] - self.grid[0])

    def value(self, s: int, c: float) -> float:
        """V(s, c) at an exact stock: f(c) at terminal s, analytic outside the band,
        interpolated inside."""
        lo_int, hi_int, lo_slope, hi_slope, fk, fa, fb = self._consts
        c = float(c)
        if self.model.terminal[s]:
            return (1.0 if c >= 0 else 0.0) if fk == 1 else (fa * c if c < 0 else fb * c)
        if c < self.grid[0] and not self.clamp:
            return lo_slope * c + lo_int[s]
        if c > self.grid[-1] and not self.clamp:
            return hi_slope * c + hi_int[s]
        return float(np.interp(c, self.grid, self.V[s]))

    def q_values(self, s: int, c: float) -> np.ndarray:
        """(A,) ``Q(s, c, a)`` at the exact stock c (-inf for unavailable actions)."""
        ptr, prob, reward, nxt, avail, term = _outcome_arrays(self.model)
        lo_int, hi_int, lo_slope, hi_slope, fk, fa, fb = self._consts
        g = float(self.model.gamma)
        out = np.empty(self.model.A)
        _q_at(ptr, prob, reward, nxt, avail, term, self.V, int(s), float(c), g,
              g ** self.objective.degree, float(self.grid[0]), self.delta, lo_slope, lo_int,
              hi_slope, hi_int, fk, fa, fb, self.clamp, out)
        return out

    def action(self, s: int, c: float) -> int:
        """Greedy action at the exact stock (lowest index within TIE_ATOL of the best)."""
        q = self.q_values(s, c)
        best = q.max()
        return int(np.flatnonzero(q >= best - TIE_ATOL)[0])

    def cvar_search(self, tau: float, *, s: int | None = None) -> tuple[float, float, np.ndarray]:
        """Outer CVaR search on the grid nodes [card A4]: ``(max h, c0*, h)`` with
        ``h(c_j) = -c_j + V(s, c_j) / tau``; ties go to the smallest c0 (module docstring)."""
        tau = check_in_range("tau", tau, low=0.0, high=1.0, low_open=True)
        if self.objective.kernel_form != ("pl", 1.0, 0.0):
            raise ValueError(f"cvar_search needs the solution for f = min(x, 0), not "
                             f"{self.objective.name}")
        s = self.model.s0 if s is None else int(s)
        h = -self.grid + self.V[s] / tau
        best = float(h.max())
        # near-ties (float round-off of equal values, e.g. the flat h at tau = 1) go to the
        # smallest c0: the first node within TIE_ATOL (1 + |best|) of the best
        j = int(np.flatnonzero(h >= best - TIE_ATOL * (1.0 + abs(best)))[0])
        return float(h[j]), float(self.grid[j]), h

    def rollouts(self, c0: float, *, n: int, rng: Any, max_steps: int = 2000,
                 s0: int | None = None) -> Rollouts:
        """``n`` episodes of the greedy stock policy started at (s0, c0), acting at the exact
        stock. Uniforms ``rng.random((n, max_steps))`` are drawn up front (STYLE §5).
        Not via :mod:`rlsandbox.sampling`: the policy reads the stock and rewards are random
        per outcome (see :func:`~rlsandbox.algorithms.distributional.sample_episode`)."""
        gen = check_rng("rng", rng)
        n = check_int("n", n, low=1)
        T = check_int("max_steps", max_steps, low=1)
        u = gen.random((n, T))
        ptr, prob, reward, nxt, avail, term = _outcome_arrays(self.model)
        lo_int, hi_int, lo_slope, hi_slope, fk, fa, fb = self._consts
        g = float(self.model.gamma)
        G = np.empty(n)
        steps = np.empty(n, dtype=np.int64)
        final = np.empty(n, dtype=np.int64)
        start = self.model.s0 if s0 is None else int(s0)
        _rollout_stock(ptr, prob, reward, nxt, avail, term, self.V, g,
                       g ** self.objective.degree, float(self.grid[0]), self.delta, lo_slope,
                       lo_int, hi_slope, hi_int, fk, fa, fb, self.clamp, TIE_ATOL, start,
                       float(c0), u, G, steps, final)
        return Rollouts(G, steps, final, int((~term[final]).sum()))


def _kernel_f(objective: ExpectedUtility) -> tuple[int, float, float]:
    kf = objective.kernel_form
    if kf is None:
        raise ValueError(f"the grid VI kernel handles a min(x,0) + b max(x,0) and 1{{x >= 0}}; "
                         f"got {objective.name}")
    if kf[0] == "indicator":
        return 1, 0.0, 0.0
    return 0, float(kf[1]), float(kf[2])


def stock_value_iteration(model: OutcomeMDP, objective: ExpectedUtility, *, M: int,
                          band: tuple[float, float] | None = None, tol: float = 1e-8,
                          max_iter: int = 100_000, clamp: bool = False,
                          continuation_: AnalyticContinuation | None = None) -> StockVISolution:
    """A5: stock-grid value iteration for an EU on an infinite-horizon model [card §3 A5].

    Parameters
    ----------
    model : OutcomeMDP with H = None (float or exact; computed in float64).
    objective : ExpectedUtility with a ``kernel_form`` (min(x,0), a min + b max, -|x|,
        1{x >= 0}).
    M : grid nodes (>= 2).
    band : (c_lo, c_hi), default the card's ``[-G_hi, -G_lo]``; the analytic continuation is
        used outside it (it must lie within the true band for the continuation to be exact).
    tol : stop when ``||V_{k+1} - V_k||_inf < tol``.
    clamp : the C9 negative control (edge values instead of the analytic ones).
    continuation_ : precomputed analytic continuation (re-used across grids).

    Returns
    -------
    StockVISolution

    Examples
    --------
    Instance C9 (gamma = 0.9), f = min(x, 0): J*(playing, -1) = -0.3413 (card C9, M = 64001
    reference); with M = 401 the error is below the bound gamma L Delta / (2 (1 - gamma)).

    >>> from rlsandbox.mdps.distributional import instance_c9
    >>> from rlsandbox.algorithms.distributional.objectives import cvar_utility
    >>> sol = stock_value_iteration(instance_c9(), cvar_utility(), M=401)
    >>> abs(sol.value(0, -1.0) - (-0.3413)) <= grid_error_bound(0.9, 1.0, sol.delta)
    True
    """
    if not isinstance(model, OutcomeMDP):
        raise TypeError(f"stock_value_iteration expects an OutcomeMDP, got {type(model).__name__}")
    if model.H is not None:
        raise ValueError(f"stock_value_iteration is for infinite horizons; the model has "
                         f"H={model.H} (use stock_dp, which is exact)")
    M = check_int("M", M, low=2)
    clamp = check_bool("clamp", clamp)
    tol = check_in_range("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    fk, fa, fb = _kernel_f(objective)
    fmodel = model.to_float()
    ac = continuation_ if continuation_ is not None else continuation(fmodel, objective)
    if band is None:
        c_lo, c_hi = float(ac.c_lo), float(ac.c_hi)
    else:
        c_lo = check_in_range("band[0]", band[0])
        c_hi = check_in_range("band[1]", band[1], low=c_lo, low_open=True)
    grid = np.linspace(c_lo, c_hi, M)
    delta = (c_hi - c_lo) / (M - 1)
    g = float(fmodel.gamma)
    d = objective.degree
    gd = g ** d
    # one table row per distinct reward: the next stocks (c_j + r)/gamma of every grid node
    rewards, rclass = np.unique(fmodel.reward, return_inverse=True)
    cp_val = (grid[None, :] + rewards[:, None]) / g
    pos = (cp_val - c_lo) / delta
    region = np.where(pos < 0.0, -1, np.where(pos > M - 1, 1, 0)).astype(np.int64)
    idx = np.clip(np.floor(pos), 0, M - 2).astype(np.int64)
    w = np.clip(pos - idx, 0.0, 1.0)
    if fk == 1:
        cp_f = (cp_val >= 0.0).astype(np.float64)
    else:
        cp_f = np.where(cp_val < 0.0, fa * cp_val, fb * cp_val)
    S = fmodel.S
    lo_int = np.array([float(v) for v in ac.lo_int])
    hi_int = np.array([float(v) for v in ac.hi_int])
    lo_slope, hi_slope = float(ac.lo_slope), float(ac.hi_slope)
    if fk == 1:
        V0 = np.broadcast_to((grid >= 0.0).astype(np.float64), (S, M)).copy()
    else:
        V0 = np.broadcast_to(np.where(grid < 0.0, fa * grid, fb * grid), (S, M)).copy()
    V = np.empty((S, M))
    pi = np.empty((S, M), dtype=np.int64)
    info = np.zeros(2)
    ptr, prob, reward, nxt, avail, term = _outcome_arrays(fmodel)
    _grid_vi(ptr, prob, nxt, avail, term, idx, w, region, cp_f, rclass.astype(np.int64), V0,
             lo_int, hi_int, lo_slope, hi_slope, cp_val, gd, TIE_ATOL, clamp, tol, max_iter,
             V, pi, info)
    iters, resid = int(info[0]), float(info[1])
    it_err = gd * resid / (1.0 - gd) if gd < 1 else float("inf")
    for arr in (grid, V, pi):
        arr.flags.writeable = False
    return StockVISolution(fmodel, objective, grid, V, pi, iters, resid, resid < tol, it_err,
                           ac, clamp, (lo_int, hi_int, lo_slope, hi_slope, fk, fa, fb))


def markov_rollouts(model: OutcomeMDP, policy: Any, *, n: int, rng: Any,
                    max_steps: int = 2000) -> Rollouts:
    """``n`` episodes of a stationary deterministic Markov policy ``(S,)`` from ``model.s0``
    (compiled, as :meth:`StockVISolution.rollouts`; rewards are random per outcome,
    which :mod:`rlsandbox.sampling`'s ``TabularMDP`` samplers cannot represent).

    >>> from rlsandbox.mdps.distributional import instance_c9
    >>> ro = markov_rollouts(instance_c9(), np.array([0, 0]), n=3, rng=0)
    >>> ro.G.tolist(), ro.steps.tolist()
    ([0.0, 0.0, 0.0], [1, 1, 1])
    """
    gen = check_rng("rng", rng)
    fmodel = model.to_float()
    pol = np.asarray(policy)
    if pol.shape != (fmodel.S,) or not np.issubdtype(pol.dtype, np.integer):
        raise ValueError(f"policy must be an int array of shape ({fmodel.S},), got "
                         f"{pol.shape} {pol.dtype}")
    live = ~fmodel.terminal
    ok = (pol >= 0) & (pol < fmodel.A)
    ok[ok] &= fmodel.available[np.flatnonzero(ok), pol[ok]]
    if not ok[live].all():
        s = int(np.flatnonzero(live & ~ok)[0])
        raise ValueError(f"policy[{s}] = {pol[s]} is not an available action of state {s}; "
                         f"available: {fmodel.actions(s)}")
    n = check_int("n", n, low=1)
    T = check_int("max_steps", max_steps, low=1)
    u = gen.random((n, T))
    ptr, prob, reward, nxt, avail, term = _outcome_arrays(fmodel)
    G = np.empty(n)
    steps = np.empty(n, dtype=np.int64)
    final = np.empty(n, dtype=np.int64)
    _rollout_markov(ptr, prob, reward, nxt, avail, term, np.where(live, pol, 0).astype(np.int64),
                    float(fmodel.gamma), fmodel.s0, u, G, steps, final)
    return Rollouts(G, steps, final, int((~term[final]).sum()))


def risk_neutral_policy(model: OutcomeMDP) -> tuple[np.ndarray, np.ndarray]:
    """(V*_rn (S,), greedy policy (S,) int) of the expected-reward model (exact PI)."""
    V, pol = solve_risk_neutral(model.to_float())
    return np.array([float(v) for v in V]), np.array([max(a, 0) for a in pol], dtype=np.int64)


def policy_law(model: OutcomeMDP, act: Any, c0: float, *, depth: int,
               max_entries: int = 200_000, s0: int | None = None):
    """Law of the return of a stock policy ``act(s, c) -> a`` (stationary in (s, c)) from
    (s0, c0), truncated after ``depth`` steps, by forward propagation of the joint law of
    (state, z_t), ``z_t = c0 + sum_{i<t} gamma^i r_i``; the policy acts at
    ``c_t = z_t / gamma^t`` [card A5 notes: "evaluate it afterwards ... by depth-D
    enumeration"; Pitfall 2]. Entries with equal (s, z) are merged (exact float equality).

    Returns ``(law, alive, absorbed)``: a FiniteDist of the (truncated) return, whose atoms
    for paths still running at ``depth`` are their partial returns; the probability ``alive``
    of those paths (each one's full return is within ``gamma^depth max|r| / (1 - gamma)`` of
    its partial return); and ``absorbed``, a dict terminal state -> probability of ending
    there. Raises ``ValueError`` if more than ``max_entries`` (s, z) pairs are alive at once.
    """
    from rlsandbox.algorithms.distributional.dists import FiniteDist

    m = model.to_float()
    g = float(m.gamma)
    start = m.s0 if s0 is None else int(s0)
    front = {(start, float(c0)): 1.0}
    done: dict = {}
    absorbed: dict = {}
    disc = 1.0
    for _t in range(check_int("depth", depth, low=0)):
        nxt_front: dict = {}
        for (s, z), p in front.items():
            a = act(s, z / disc)
            for q, r, s2 in m.transitions(s, a):
                z2 = z + disc * r
                if m.terminal[s2]:
                    done[z2] = done.get(z2, 0.0) + p * q
                    absorbed[s2] = absorbed.get(s2, 0.0) + p * q
                else:
                    nxt_front[(s2, z2)] = nxt_front.get((s2, z2), 0.0) + p * q
        if len(nxt_front) > max_entries:
            raise ValueError(f"{len(nxt_front)} distinct (state, stock) pairs alive; raise "
                             f"max_entries or lower depth")
        front = nxt_front
        disc *= g
        if not front:
            break
    alive = float(sum(front.values()))
    for (_s, z), p in front.items():
        done[z] = done.get(z, 0.0) + p
    law = FiniteDist._raw(((z - float(c0), p) for z, p in done.items()), exact=False)
    return law, alive, absorbed


def stock_policy_law(sol: StockVISolution, c0: float, *, depth: int,
                     max_entries: int = 200_000, s0: int | None = None):
    """:func:`policy_law` of the greedy stock policy of a grid solution (acting at the exact
    stock with :meth:`StockVISolution.action`)."""
    return policy_law(sol.model, sol.action, c0, depth=depth, max_entries=max_entries, s0=s0)
