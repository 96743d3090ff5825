"""Exact import of gymnasium toy-text environments, and export of any model as a ``gymnasium.Env``.

gymnasium is an optional dependency (``pip install rlsandbox[gym]``); it is imported only
when one of these functions runs.

Import. Toy-text environments (FrozenLake, Taxi, CliffWalking) carry their whole model as a
table ``env.unwrapped.P[s][a] = [(prob, s_next, reward, terminated), ...]`` and sample
``step`` from it; :func:`from_gymnasium` reads that table, so the result is the environment's
exact MDP (no sampling). Outcomes with the same ``s_next`` are merged: probabilities add and
the reward becomes the conditional mean ``R[s, a, s']``, so expectations are exact.

How ``terminated`` maps to the model. An outcome with ``terminated=True`` ends the episode
after paying its reward. If its ``s_next`` is *absorbing* in the table (every outcome of every
action at ``s_next`` returns to ``s_next`` with reward 0, as FrozenLake's holes and goal do),
``s_next`` itself becomes a terminal state of the model. Otherwise (Taxi's drop-off,
CliffWalking's goal, whose rows move on), the outcome is redirected to one extra absorbing,
zero-reward terminal state appended at index ``S_env`` (the model then has ``S_env + 1``
states). Either way the model's value is the expected undiscounted (or discounted) return of
an episode. Time limits (gymnasium's ``TimeLimit`` wrapper) are not part of the model.

Export. :func:`to_gymnasium` wraps a :class:`~rlsandbox.TabularMDP` as an environment with
``Discrete(S)`` observations and ``Discrete(A)`` actions; ``reset(seed=...)`` seeds the
environment's own ``np_random`` (a numpy Generator), and every draw (initial state, next
state) comes from it by inverse-CDF sampling. Entering a terminal state sets
``terminated``; ``horizon`` sets ``truncated`` after that many steps. The exported
environment exposes the same ``P`` table and ``initial_state_distrib`` as toy-text
environments, so ``from_gymnasium(to_gymnasium(mdp))`` rebuilds ``mdp``.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from rlsandbox._validate import check_in_range, check_int, check_stochastic
from rlsandbox.mdp import TabularMDP
from rlsandbox.mdps._build import Outcomes

__all__ = ["from_gymnasium", "to_gymnasium"]


def _require_gymnasium():
    try:
        import gymnasium
    except ModuleNotFoundError as exc:      # pragma: no cover - exercised without the extra
        raise ModuleNotFoundError("gymnasium is not installed; it is an optional dependency: "
                                  "pip install 'rlsandbox[gym]' (or pip install gymnasium)",
                                  name="gymnasium") from exc
    return gymnasium


def _discrete_n(space: Any, what: str) -> int:
    gymnasium = _require_gymnasium()
    if not isinstance(space, gymnasium.spaces.Discrete):
        raise TypeError(f"env.{what} is {space!r}; from_gymnasium needs a Discrete space "
                        f"(toy-text environments such as FrozenLake, Taxi, CliffWalking)")
    if int(space.start) != 0:
        raise ValueError(f"env.{what} is {space!r} with start {int(space.start)}; "
                         f"from_gymnasium needs Discrete spaces starting at 0")
    return int(space.n)


def from_gymnasium(env_or_id: Any, *, gamma: float = 1.0, rho: Any = None,
                   sparse: bool = False, env_kwargs: dict | None = None) -> TabularMDP:
    """The exact MDP of a toy-text gymnasium environment, read from its table ``P``.

    Parameters
    ----------
    env_or_id : gymnasium.Env or str
        An environment (wrappers are looked through via ``env.unwrapped``) or an id for
        ``gymnasium.make`` such as ``"FrozenLake-v1"``, ``"Taxi-v3"``, ``"CliffWalking-v1"``.
    gamma : float in [0, 1]
        Discount of the model. The environments themselves are episodic and undiscounted,
        hence the default 1.0; the discounted solvers need ``gamma < 1``.
    rho : array (S_env,), optional
        Initial distribution; by default ``env.unwrapped.initial_state_distrib``, which every
        toy-text environment has (an environment without it needs ``rho``).
    sparse : bool
        Store P as CSR. Then only the expected rewards ``R[s, a]`` are kept (no ``R_sas``).
    env_kwargs : dict, optional
        Keyword arguments for ``gymnasium.make`` when ``env_or_id`` is an id.

    Returns
    -------
    TabularMDP with S = S_env (+ 1 when an extra terminal state is needed, see module
    docstring), A = A_env, ``terminal`` marking the terminal states.

    Examples
    --------
    >>> from rlsandbox.mdps import from_gymnasium
    >>> mdp = from_gymnasium("FrozenLake-v1")
    >>> mdp.S, mdp.A, mdp.terminal.nonzero()[0].tolist()
    (16, 4, [5, 7, 11, 12, 15])
    """
    gymnasium = _require_gymnasium()
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
    if isinstance(env_or_id, str):
        env = gymnasium.make(env_or_id, **(env_kwargs or {}))
    else:
        if env_kwargs:
            raise ValueError("env_kwargs is only used with an environment id; configure the "
                             "environment object yourself, or pass its id")
        env = env_or_id
    if not isinstance(env, gymnasium.Env):
        raise TypeError(f"env_or_id must be a gymnasium.Env or an environment id string, got "
                        f"{type(env_or_id).__name__}")
    base = env.unwrapped
    table = getattr(base, "P", None)
    if table is None:
        raise ValueError(f"{type(base).__name__} has no transition table env.unwrapped.P; "
                         f"from_gymnasium reads toy-text tables "
                         f"P[s][a] = [(prob, s_next, reward, terminated), ...]")
    if getattr(base, "fickle_passenger", False):
        raise ValueError("Taxi with fickle_passenger=True changes the destination inside "
                         "step(), outside its table P, so the table is not its exact model; "
                         "use fickle_passenger=False")
    S_env = _discrete_n(env.observation_space, "observation_space")
    A = _discrete_n(env.action_space, "action_space")
    outcomes = _read_table(table, S_env, A)

    absorbing = np.ones(S_env, dtype=bool)
    for (s, a), rows in outcomes.items():
        if any(p > 0 and (s2 != s or r != 0.0) for p, s2, r, _ in rows):
            absorbing[s] = False
    terminal = np.zeros(S_env + 1, dtype=bool)
    need_end = False
    for rows in outcomes.values():
        for p, s2, _, done in rows:
            if done and p > 0:
                if absorbing[s2]:
                    terminal[s2] = True
                else:
                    need_end = True
    S = S_env + 1 if need_end else S_env
    END = S_env
    acc = Outcomes(S, A)
    for (s, a), rows in outcomes.items():
        for p, s2, r, done in rows:
            acc.add(s, a, END if (done and not absorbing[s2]) else s2, p, r)
    if need_end:
        for a in range(A):
            acc.add(END, a, END, 1.0, 0.0)
        terminal[END] = True
    P, R = acc.result()

    if rho is None:
        rho = getattr(base, "initial_state_distrib", None)
        if rho is None:
            raise ValueError(f"{type(base).__name__} has no initial_state_distrib; pass "
                             f"rho=<array of shape ({S_env},)> for its initial distribution")
        name = "env.unwrapped.initial_state_distrib"
    else:
        name = "rho"
    rho = check_stochastic(name, rho, shape=(S_env,))
    rho_full = np.zeros(S)
    rho_full[:S_env] = rho
    if sparse:
        return TabularMDP(sp.csr_array(P.reshape(S * A, S)), np.einsum("sat,sat->sa", P, R), gamma,
                          rho=rho_full, terminal=terminal[:S])
    return TabularMDP(P, R, gamma, rho=rho_full, terminal=terminal[:S])


def _read_table(table: Any, S: int, A: int) -> dict:
    """``{(s, a): [(p, s_next, r, terminated), ...]}`` from a toy-text table, validated."""
    out = {}
    for s in range(S):
        try:
            row = table[s]
        except (KeyError, IndexError):
            raise ValueError(f"env.unwrapped.P has no entry for state {s}; the table must "
                             f"cover every state in range({S})") from None
        for a in range(A):
            try:
                entries = row[a]
            except (KeyError, IndexError):
                raise ValueError(f"env.unwrapped.P[{s}] has no entry for action {a}; the table "
                                 f"must cover every action in range({A})") from None
            if len(entries) == 0:
                raise ValueError(f"env.unwrapped.P[{s}][{a}] is empty; every (state, action) "
                                 f"needs at least one (prob, s_next, reward, terminated)")
            parsed = []
            for k, entry in enumerate(entries):
                where = f"env.unwrapped.P[{s}][{a}][{k}]"
                if len(entry) != 4:
                    raise ValueError(f"{where} = {entry!r} has {len(entry)} fields; expected "
                                     f"(prob, s_next, reward, terminated)")
                p, s2, r, done = entry
                if not isinstance(s2, numbers.Integral) or not 0 <= int(s2) < S:
                    raise ValueError(f"{where} has s_next = {s2!r}; expected an int in [0, {S})")
                p, r = float(p), float(r)
                if not (np.isfinite(p) and p >= 0.0):
                    raise ValueError(f"{where} has probability {p}; expected a finite p >= 0")
                if not np.isfinite(r):
                    raise ValueError(f"{where} has reward {r}; expected a finite number")
                parsed.append((p, int(s2), r, bool(done)))
            out[(s, a)] = parsed
    return out


def to_gymnasium(mdp: TabularMDP, *, horizon: int | None = None):
    """The model as a ``gymnasium.Env`` (``Discrete(S)`` observations, ``Discrete(A)`` actions).

    ``reset(seed=k)`` seeds the environment's ``np_random``; the initial state is drawn from
    ``rho`` and each step's next state from ``P[s, a, :]``, both by inverse-CDF sampling with
    one uniform from ``np_random`` per draw. The reward is ``R_sas[s, a, s']`` when the model
    has per-transition rewards, else ``R[s, a]``. ``terminated`` is True on entering a
    terminal state; with ``horizon=H``, ``truncated`` is True after H steps. ``info`` holds
    ``{"prob": p}``, the probability of the outcome drawn (as toy-text environments do).

    Parameters
    ----------
    mdp : TabularMDP
    horizon : int >= 1, optional

    Examples
    --------
    >>> import rlsandbox as rls
    >>> env = rls.mdps.to_gymnasium(rls.mdps.riverswim(), horizon=20)
    >>> env.reset(seed=0)
    (0, {'prob': 1.0})
    >>> s_next, reward, terminated, truncated, info = env.step(1)
    """
    _require_gymnasium()
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"to_gymnasium expects a TabularMDP, got {type(mdp).__name__}")
    if horizon is not None:
        horizon = check_int("horizon", horizon, low=1)
    from rlsandbox.mdps._gym_env import TabularEnv
    return TabularEnv(mdp, horizon=horizon)
