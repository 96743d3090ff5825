"""The record of one learning run, shared by LOOP, its ablations and UCRL2.

A run on an average-reward MDP ``M = (S, A, P, r)`` for ``T`` steps produces the states
``s_1 .. s_{T+1}``, actions ``a_1 .. a_T`` and observed rewards ``r_1 .. r_T`` (card §2.1).
Arrays are 0-based: step ``i`` (time ``t = i + 1``) is ``(s[i], a[i], r[i], s[i + 1])``.
Every algorithm here acts through *plans*: LOOP re-plans at its switching times
``tau_1 = 1 < tau_2 < ...`` (card §3.1), UCRL2 at its episode starts (card §3.6); between two
re-plans the policy is fixed. ``epoch[i]`` is the index ``k`` of the plan in force at step
``i`` and ``starts[k]`` the step at which plan ``k`` began.

For LOOP a plan is a hypothesis ``f^k = (Q_f, J_f)`` with ``V_f(s) = Q_f(s, pi_f(s))`` and its
greedy policy ``pi_f`` (card §2.3); UCRL2 records its optimistic gain and bias instead (``Q``
is None). These per-plan arrays are what the exact regret bookkeeping of
:mod:`rlsandbox.algorithms.loop.regret` needs.

Randomness. :func:`draw_uniforms` draws, from the run's ``rng`` and in this order, one uniform
for the start state (inverse-CDF on ``mdp.rho``), ``T`` uniforms for the next states, and (only
for Bernoulli rewards) ``T`` uniforms for the rewards. The kernels consume them; nothing else is
random.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rlsandbox._validate import check_int, check_rng, readonly
from rlsandbox.mdp import TabularMDP

__all__ = ["Trace", "draw_uniforms", "kernel_cdf", "start_run", "RunBuffers", "check_average_mdp", "check_rewards_unit"]


@dataclass(frozen=True, slots=True, eq=False)
class Trace:
    """One run: the trajectory and the plans that generated it.

    Attributes
    ----------
    algorithm : str
        Name of the algorithm and variant, e.g. ``"loop_value"``, ``"ucrl2"``.
    s : (T + 1,) int64
        States; ``s[0]`` is the start state.
    a : (T,) int64
        Actions.
    r : (T,) float64
        Observed rewards (mean rewards, or Bernoulli draws with those means).
    epoch : (T,) int64
        Index of the plan in force at each step.
    starts : (K,) int64
        Step index at which each plan began (``starts[0] == 0``).
    pi : (K, S) int64
        Policy of each plan.
    J : (K,) float64
        Gain of each plan's hypothesis (LOOP: ``J_f``; UCRL2: the optimistic gain).
    V : (K, S) float64
        Bias of each plan's hypothesis (LOOP: ``V_f(s) = Q_f(s, pi_f(s))``; UCRL2: EVI's
        ``u``, shifted to ``min 0``).
    Q : (K, S, A) float64 or None
        ``Q_f`` of each plan (LOOP); None for UCRL2.
    exc_star : (K,) float64 or None
        Excess loss ``Exc_{tau_k}(f*)`` of the true hypothesis at each re-plan (a diagnostic
        for the coverage claim; the algorithm never uses it).
    beta : float or None
        Confidence radius in raw squared-loss units (LOOP).
    info : dict
        JSON-able details: parameters, solver counts, reward model.
    """

    algorithm: str
    s: np.ndarray
    a: np.ndarray
    r: np.ndarray
    epoch: np.ndarray
    starts: np.ndarray
    pi: np.ndarray
    J: np.ndarray
    V: np.ndarray
    Q: np.ndarray | None = None
    exc_star: np.ndarray | None = None
    beta: float | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("s", "a", "r", "epoch", "starts", "pi", "J", "V", "Q", "exc_star"):
            x = getattr(self, name)
            if x is not None:
                readonly(x)

    @property
    def T(self) -> int:
        """Number of steps."""
        return int(self.a.shape[0])

    @property
    def n_plans(self) -> int:
        """Number of re-planning events K (LOOP's switches N(T); UCRL2's episodes m(T))."""
        return int(self.starts.shape[0])

    @property
    def n_policy_changes(self) -> int:
        """Number of re-plans whose policy differs from the previous plan's (card §6, 13)."""
        if self.n_plans < 2:
            return 0
        return int((self.pi[1:] != self.pi[:-1]).any(axis=1).sum())

    def plans_by(self, t: Any) -> np.ndarray:
        """N(t): number of plans made at times ``<= t`` (1-based), for each entry of ``t``.

        Examples
        --------
        >>> import numpy as np
        >>> tr = Trace("demo", np.zeros(5, int), np.zeros(4, int), np.zeros(4), np.array([0, 0, 1, 1]),
        ...            np.array([0, 2]), np.zeros((2, 1), int), np.zeros(2), np.zeros((2, 1)))
        >>> tr.plans_by([1, 2, 3, 4]).tolist()
        [1, 1, 2, 2]
        """
        t = np.asarray(t, dtype=np.int64)
        return np.searchsorted(self.starts, t - 1, side="right").astype(np.int64)

    def __repr__(self) -> str:
        return (f"Trace({self.algorithm!r}, T={self.T}, plans={self.n_plans}, "
                f"policy_changes={self.n_policy_changes})")


def check_average_mdp(mdp: Any, what: str) -> TabularMDP:
    """``mdp`` if it is a TabularMDP (its ``gamma`` is ignored: average reward)."""
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"{what} expects a rlsandbox.TabularMDP (average reward, gamma ignored), "
                        f"got {type(mdp).__name__}; for a LinearMDP pass lin.to_tabular(gamma=1.0)")
    return mdp


def check_rewards_unit(mdp: TabularMDP, what: str) -> None:
    """Refuse rewards outside [0, 1] (the setting of card §2.1 and of UCRL2's radii)."""
    lo, hi = float(mdp.R.min()), float(mdp.R.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{what} assumes mean rewards in [0, 1] (card §2.1); this model has R "
                         f"in [{lo:.6g}, {hi:.6g}]. Rescale the rewards, e.g. "
                         f"(R - R.min()) / (R.max() - R.min())")


def kernel_cdf(mdp: TabularMDP) -> np.ndarray:
    """Normalised next-state CDF table ``(S*A, S)``: each row ends with exactly 1.0."""
    P = np.asarray(mdp.dense_P(), dtype=np.float64).reshape(mdp.S * mdp.A, mdp.S)
    c = np.cumsum(P, axis=1)
    c /= c[:, -1:]
    c[:, -1] = 1.0
    return np.ascontiguousarray(c)


def draw_uniforms(mdp: TabularMDP, T: int, *, rng: Any,
                  noisy: bool) -> tuple[int, np.ndarray, np.ndarray]:
    """Start state and the uniforms of a ``T``-step run, in the documented order.

    Returns ``(s0, u_s (T,), u_r (T,))``; ``u_r`` is all zeros (and nothing is drawn for it)
    with mean rewards.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> s0, u_s, u_r = draw_uniforms(rls.mdps.riverswim(gamma=1.0), 3, rng=0, noisy=False)
    >>> s0, u_s.shape, float(u_r.sum())
    (0, (3,), 0.0)
    """
    T = check_int("T", T, low=1)
    gen = check_rng("rng", rng)
    rho = np.cumsum(mdp.rho)
    rho /= rho[-1]
    s0 = int(np.searchsorted(rho, gen.random(), side="right"))
    u_s = gen.random(T)
    u_r = gen.random(T) if noisy else np.zeros(T)
    return min(s0, mdp.S - 1), u_s, u_r


class RunBuffers(NamedTuple):
    """The inputs and outputs of a compiled ``T``-step run (see :func:`start_run`)."""

    u_s: np.ndarray        # (T,) next-state uniforms
    u_r: np.ndarray        # (T,) reward uniforms (zeros with mean rewards)
    cdf: np.ndarray        # (S*A, S) next-state CDF table, :func:`kernel_cdf`
    R: np.ndarray          # (S, A) C-contiguous rewards
    out_s: np.ndarray      # (T+1,) int64 states, out_s[0] = s0
    out_a: np.ndarray      # (T,) int64 actions
    out_r: np.ndarray      # (T,) rewards
    epoch: np.ndarray      # (T,) int64 plan index of each step


def start_run(mdp: TabularMDP, T: int, *, rng: Any, noisy: bool) -> RunBuffers:
    """Draw a run's uniforms (:func:`draw_uniforms`, same order) and allocate its buffers,
    with the start state written into ``out_s[0]``.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> run = start_run(rls.mdps.riverswim(gamma=1.0), 3, rng=0, noisy=False)
    >>> run.out_s.tolist(), run.cdf.shape
    ([0, 0, 0, 0], (12, 6))
    """
    s0, u_s, u_r = draw_uniforms(mdp, T, rng=rng, noisy=noisy)
    out_s = np.zeros(T + 1, dtype=np.int64)
    out_s[0] = s0
    return RunBuffers(u_s, u_r, kernel_cdf(mdp), np.ascontiguousarray(mdp.R), out_s,
                      np.zeros(T, dtype=np.int64), np.zeros(T), np.zeros(T, dtype=np.int64))
