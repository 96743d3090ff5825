"""Seeded samples from a known model: trajectories, offline datasets, generative-model draws.

Three samplers, each returning a frozen dataclass of int64 / float64 arrays with a
``to_pandas()`` export:

* :func:`trajectories` rolls out ``n`` episodes of a policy from ``rho``:
  s_0 ~ rho, a_t ~ pi(.|s_t), s_{t+1} ~ P(.|s_t, a_t), r_t = R(s_t, a_t) (or R[s_t, a_t, s_{t+1}]
  when the model keeps a next-state reward ``R_sas``). Episodes stop at terminal states
  (``mdp.terminal``) or after ``horizon`` steps; a FiniteHorizonMDP uses its per-step kernels
  and rewards for h = 0..H-1 (the K-trajectory datasets of offline finite-horizon RL, card
  ``r2pvi.md`` §3).
* :func:`transitions` draws ``n`` i.i.d. tuples (s, a, r, s_next) with s from a given state
  distribution (by default the discounted occupancy d^pi_rho, the usual offline-RL data
  distribution mu(s, a) = d^pi_rho(s) pi(a|s)); per step h for a FiniteHorizonMDP.
* :func:`generative` draws ``n_per_pair`` next states for every (s, a) (every (h, s, a)):
  the generative-model (simulator) access of sample-complexity results.

Randomness (STYLE.md §5). All uniforms are drawn in Python from ``rng`` (a Generator or an
int seed, through :func:`rlsandbox._validate.check_rng`), in the order stated in each
docstring, and passed to the kernels of :mod:`rlsandbox.kernels.sampling` together with CDF
tables; the same seed gives bit-identical arrays. A categorical draw is inverse-CDF sampling
on the CDF normalised by its row total (so it is exactly 1.0 at the end): an outcome of
probability p[k] is drawn with probability p[k] / sum(p), which differs from p[k] by at most
the model's row-sum tolerance 1e-9, and outcomes of probability 0 are never drawn. Dense and
sparse (CSR) kernels go through the same CSR table, so they give identical samples.

Shapes: pi (S, A) or (S,) int ((H, S, A) / (H, S) for finite horizon); see each result class.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from rlsandbox._validate import (as_stochastic, check_in_range, check_int, check_rng,
                                 check_stochastic, readonly)
from rlsandbox.kernels.sampling import (_categorical_csr, _categorical_dense, _csr_cdf,
                                        _rollouts)
from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP

__all__ = ["Trajectories", "Transitions", "GenerativeSamples", "trajectories", "transitions",
           "generative"]


# ----------------------------------------------------------------------------- results
def _bincount(index: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(index, minlength=size).astype(np.int64)


@dataclass(frozen=True, slots=True, eq=False)
class Transitions:
    """A dataset of transitions (s, a, r, s_next), one per row.

    Attributes
    ----------
    s, a, s_next : (m,) int64
    r : (m,) float64
        Reward of the transition: R[s, a] (or R_sas[s, a, s_next] when the model has one);
        R[h, s, a] for finite-horizon data.
    done : (m,) bool
        s_next is a terminal state of the model (always False for finite-horizon models).
    h : (m,) int64 or None
        Step index: the time step within the episode for trajectory data, the step of the
        kernel for finite-horizon data; None for i.i.d. discounted data.
    episode : (m,) int64 or None
        Index of the episode a row comes from (trajectory data only).
    mu : array (S, A) or (H, S, A), or None
        The exact distribution each row's (s, a) was drawn from (per step h for finite horizon),
        when rows are i.i.d. draws; None for trajectory data.
    S, A : int
    H : int or None
        Horizon of a FiniteHorizonMDP; then :meth:`counts` is per step.
    """

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray
    s_next: np.ndarray
    done: np.ndarray
    h: np.ndarray | None
    episode: np.ndarray | None
    mu: np.ndarray | None
    S: int
    A: int
    H: int | None = None

    def __len__(self) -> int:
        return int(self.s.shape[0])

    def counts(self) -> np.ndarray:
        """Visit counts N[s, a] (S, A), or N[h, s, a] (H, S, A) for finite-horizon data."""
        S, A = self.S, self.A
        if self.H is None:
            return _bincount(self.s * A + self.a, S * A).reshape(S, A)
        return _bincount((self.h * S + self.s) * A + self.a, self.H * S * A).reshape(self.H, S, A)

    def next_state_counts(self) -> np.ndarray:
        """Counts N[s, a, s'] (S, A, S), or N[h, s, a, s'] (H, S, A, S) for finite horizon."""
        S, A = self.S, self.A
        pair = self.s * A + self.a if self.H is None else (self.h * S + self.s) * A + self.a
        n_pairs = S * A if self.H is None else self.H * S * A
        out = _bincount(pair * S + self.s_next, n_pairs * S)
        return out.reshape(S, A, S) if self.H is None else out.reshape(self.H, S, A, S)

    def to_pandas(self):
        """A DataFrame with one row per transition: [episode, h,] s, a, r, s_next, done."""
        import pandas as pd
        cols: dict[str, np.ndarray] = {}
        if self.episode is not None:
            cols["episode"] = self.episode
        if self.h is not None:
            cols["h"] = self.h
        cols.update(s=self.s, a=self.a, r=self.r, s_next=self.s_next, done=self.done)
        return pd.DataFrame({k: np.asarray(v) for k, v in cols.items()})


@dataclass(frozen=True, slots=True, eq=False)
class Trajectories:
    """``n`` episodes padded to a common length T.

    Attributes
    ----------
    s : (n, T+1) int64
        States s_0 .. s_T; after an episode ends (at a terminal state) its last state repeats.
    a : (n, T) int64
        Actions; -1 after the episode ended.
    r : (n, T) float64
        Rewards; 0.0 after the episode ended.
    length : (n,) int64
        Number of steps taken: T, or the first t with s_t terminal.
    terminal : (S,) bool
        The model's terminal mask (all False for a FiniteHorizonMDP).
    S, A : int
    H : int or None
        Horizon of a FiniteHorizonMDP (then T == H and step t uses P[t], R[t]).
    """

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray
    length: np.ndarray
    terminal: np.ndarray
    S: int
    A: int
    H: int | None = None

    @property
    def n(self) -> int:
        """Number of episodes."""
        return int(self.a.shape[0])

    @property
    def T(self) -> int:
        """Padded length (the horizon)."""
        return int(self.a.shape[1])

    @property
    def mask(self) -> np.ndarray:
        """(n, T) bool: True where step t was taken (t < length)."""
        return np.arange(self.T)[None, :] < self.length[:, None]

    def returns(self, gamma: float = 1.0) -> np.ndarray:
        """Discounted returns sum_{t < length} gamma^t r_t, shape (n,).

        Examples
        --------
        >>> import numpy as np, rlsandbox as rls
        >>> from rlsandbox.sampling import trajectories
        >>> mdp = rls.mdps.riverswim()
        >>> tr = trajectories(mdp, np.ones(mdp.S, dtype=int), n=3, horizon=10, rng=0)
        >>> tr.returns(mdp.gamma).shape
        (3,)
        """
        gamma = check_in_range("gamma", gamma, low=0.0, high=1.0)
        return self.r @ gamma ** np.arange(self.T, dtype=np.float64)

    def to_transitions(self) -> Transitions:
        """The steps actually taken, as transitions in (episode, t) order, with ``h = t``."""
        m = self.mask
        episode, t = np.nonzero(m)
        s = self.s[:, :-1][m]
        s_next = self.s[:, 1:][m]
        return Transitions(s=readonly(s), a=readonly(self.a[m]), r=readonly(self.r[m]),
                           s_next=readonly(s_next), done=readonly(self.terminal[s_next]),
                           h=readonly(t.astype(np.int64)),
                           episode=readonly(episode.astype(np.int64)), mu=None, S=self.S,
                           A=self.A, H=self.H)

    def to_pandas(self):
        """One row per step taken: episode, h, s, a, r, s_next, done."""
        return self.to_transitions().to_pandas()


@dataclass(frozen=True, slots=True, eq=False)
class GenerativeSamples:
    """``n_per_pair`` independent next-state draws for every (s, a) (every (h, s, a)).

    Attributes
    ----------
    s_next : (S, A, m) or (H, S, A, m) int64
    r : same shape, float64
        R[s, a] (or R_sas[s, a, s_next]); R[h, s, a] for finite horizon.
    terminal : (S,) bool
    S, A : int
    H : int or None
    """

    s_next: np.ndarray
    r: np.ndarray
    terminal: np.ndarray
    S: int
    A: int
    H: int | None = None

    @property
    def n_per_pair(self) -> int:
        """Draws per (s, a)."""
        return int(self.s_next.shape[-1])

    def empirical_P(self) -> np.ndarray:
        """Empirical kernel P_hat[s, a, s'] = N(s, a, s') / n_per_pair, (S, A, S) or (H, S, A, S).

        Examples
        --------
        >>> import numpy as np, rlsandbox as rls
        >>> from rlsandbox.sampling import generative
        >>> P_hat = generative(rls.mdps.riverswim(), n_per_pair=100, rng=0).empirical_P()
        >>> P_hat.shape, bool(np.allclose(P_hat.sum(-1), 1.0))
        ((6, 2, 6), True)
        """
        lead = self.s_next.shape[:-1]
        n_pairs = int(np.prod(lead))
        pair = np.repeat(np.arange(n_pairs), self.n_per_pair)
        cnt = _bincount(pair * self.S + self.s_next.reshape(-1), n_pairs * self.S)
        return cnt.reshape(*lead, self.S) / self.n_per_pair

    def to_transitions(self) -> Transitions:
        """All draws as transitions in ([h,] s, a, k) order; ``mu`` is uniform over pairs."""
        lead = self.s_next.shape[:-1]
        grids = np.meshgrid(*(np.arange(k) for k in lead), np.arange(self.n_per_pair),
                            indexing="ij")
        s_next = self.s_next.reshape(-1)
        fh = self.H is not None
        h = grids[0].reshape(-1) if fh else None
        s = grids[1 if fh else 0].reshape(-1)
        a = grids[2 if fh else 1].reshape(-1)
        mu = np.full(lead, 1.0 / (self.S * self.A))
        return Transitions(s=readonly(s.astype(np.int64)), a=readonly(a.astype(np.int64)),
                           r=readonly(self.r.reshape(-1)), s_next=readonly(s_next),
                           done=readonly(self.terminal[s_next]),
                           h=None if h is None else readonly(h.astype(np.int64)), episode=None,
                           mu=readonly(mu), S=self.S, A=self.A, H=self.H)

    def to_pandas(self):
        """One row per draw: [h,] s, a, k, s_next, r."""
        import pandas as pd
        lead = self.s_next.shape[:-1]
        grids = np.meshgrid(*(np.arange(k) for k in lead), np.arange(self.n_per_pair),
                            indexing="ij")
        names = (["h"] if self.H is not None else []) + ["s", "a", "k"]
        cols = {name: g.reshape(-1).astype(np.int64) for name, g in zip(names, grids)}
        cols.update(s_next=self.s_next.reshape(-1), r=self.r.reshape(-1))
        return pd.DataFrame(cols)


# ----------------------------------------------------------------------------- helpers
def _require_model(mdp: Any, what: str) -> None:
    if not isinstance(mdp, (TabularMDP, FiniteHorizonMDP)):
        hint = ("pass its exact tabular form, model.to_tabular(gamma=...) (or .to_tabular() "
                "for a finite-horizon linear model)" if hasattr(mdp, "to_tabular") else
                "build one with rlsandbox.TabularMDP(P, R, gamma)")
        raise TypeError(f"{what} expects a TabularMDP or FiniteHorizonMDP, got "
                        f"{type(mdp).__name__}; {hint}")


def _kernel_cdf(mdp: TabularMDP | FiniteHorizonMDP) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR CDF table of the kernel, rows (h * S + s) * A + a (h = 0 for a TabularMDP)."""
    if isinstance(mdp, FiniteHorizonMDP):
        P = sp.csr_array(mdp.P.reshape(mdp.H * mdp.S * mdp.A, mdp.S))
    elif mdp.is_sparse:
        P = mdp.P
    else:
        P = sp.csr_array(mdp.P.reshape(mdp.S * mdp.A, mdp.S))
    indptr = np.ascontiguousarray(P.indptr, dtype=np.int64)
    indices = np.ascontiguousarray(P.indices, dtype=np.int64)
    cdf = np.empty(P.data.shape[0])
    _csr_cdf(np.ascontiguousarray(P.data, dtype=np.float64), indptr, cdf)
    return cdf, indices, indptr


def _dense_cdf(p: np.ndarray) -> np.ndarray:
    """Normalised CDF along the last axis (last entry exactly 1.0)."""
    c = np.cumsum(p, axis=-1)
    return np.ascontiguousarray(c / c[..., -1:])


def _policy_cdf(mdp: TabularMDP | FiniteHorizonMDP, pi: Any,
                name: str) -> tuple[np.ndarray, np.ndarray]:
    """(validated stochastic policy with a leading step axis, its CDF), both (H_pi, S, A)."""
    pi_sto = as_stochastic(mdp.policy(pi, name), mdp.A)
    if pi_sto.ndim == 2:
        pi_sto = pi_sto[None]
    return pi_sto, _dense_cdf(pi_sto)


def _terminal(mdp: TabularMDP | FiniteHorizonMDP) -> np.ndarray:
    if isinstance(mdp, FiniteHorizonMDP):
        return np.zeros(mdp.S, dtype=bool)
    return np.ascontiguousarray(mdp.terminal)


def _reward(mdp: TabularMDP | FiniteHorizonMDP, h: np.ndarray | None, s: np.ndarray,
            a: np.ndarray, s_next: np.ndarray) -> np.ndarray:
    if isinstance(mdp, FiniteHorizonMDP):
        return mdp.R[h, s, a]
    if mdp.R_sas is not None:
        return mdp.R_sas[s, a, s_next]
    return mdp.R[s, a]


# ----------------------------------------------------------------------------- samplers
def trajectories(mdp: TabularMDP | FiniteHorizonMDP, pi: Any, *, n: int,
                 horizon: int | None = None, rng: Any, rho: Any = None) -> Trajectories:
    """Roll out ``n`` independent episodes of the policy ``pi``.

        s_0 ~ rho,  a_t ~ pi(.|s_t),  s_{t+1} ~ P(.|s_t, a_t),  r_t = R(s_t, a_t[, s_{t+1}])

    for t < horizon, stopping early when s_t is a terminal state of the model. For a
    FiniteHorizonMDP the horizon is H and step t uses P[t], R[t] and pi[t] (a stationary
    policy is repeated).

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    pi : array (S, A) or (S,) int; also (H, S, A) / (H, S) for finite horizon
    n : int >= 1
        Number of episodes.
    horizon : int >= 1
        Maximum number of steps; required for a TabularMDP, must be None or H for a
        FiniteHorizonMDP.
    rng : numpy.random.Generator or int seed (keyword-only, required)
        Draw order: u_0 = rng.random(n) (start states), then u_a = rng.random((n, T))
        (actions), then u_s = rng.random((n, T)) (next states), all drawn even for steps
        after an episode ended, so episode i's draws never depend on the other episodes.
    rho : array (S,), optional
        Start distribution; ``mdp.rho`` by default.

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.sampling import trajectories
    >>> mdp = rls.mdps.riverswim()
    >>> tr = trajectories(mdp, np.full((mdp.S, mdp.A), 0.5), n=4, horizon=20, rng=0)
    >>> tr.s.shape, tr.a.shape, tr.r.shape
    ((4, 21), (4, 20), (4, 20))
    >>> bool((tr.s == trajectories(mdp, np.full((mdp.S, mdp.A), 0.5), n=4, horizon=20,
    ...                            rng=0).s).all())     # same seed, same bits
    True
    """
    _require_model(mdp, "trajectories")
    n = check_int("n", n, low=1)
    if isinstance(mdp, FiniteHorizonMDP):
        if horizon is not None and check_int("horizon", horizon, low=1) != mdp.H:
            raise ValueError(f"horizon == {horizon} but the FiniteHorizonMDP has H == {mdp.H}; "
                             f"drop horizon=... or pass horizon={mdp.H}")
        T = mdp.H
    else:
        if horizon is None:
            raise ValueError("horizon is required for a TabularMDP: pass horizon=<int> "
                             "(episodes also stop early at terminal states)")
        T = check_int("horizon", horizon, low=1)
    rng = check_rng("rng", rng)
    _, pi_cdf = _policy_cdf(mdp, pi, "pi")
    rho_arr = mdp.rho if rho is None else check_stochastic("rho", rho, shape=(mdp.S,))
    P_cdf, P_idx, P_ptr = _kernel_cdf(mdp)
    terminal = _terminal(mdp)
    u_0 = rng.random(n)
    u_a = rng.random((n, T))
    u_s = rng.random((n, T))
    s = np.empty((n, T + 1), dtype=np.int64)
    a = np.empty((n, T), dtype=np.int64)
    length = np.empty(n, dtype=np.int64)
    _rollouts(P_cdf, P_idx, P_ptr, mdp.A, pi_cdf, _dense_cdf(rho_arr), terminal, u_0, u_a, u_s,
              s, a, length)
    mask = np.arange(T)[None, :] < length[:, None]
    r = np.zeros((n, T))
    t_idx = np.broadcast_to(np.arange(T), (n, T))
    r[mask] = _reward(mdp, t_idx[mask], s[:, :-1][mask], a[mask], s[:, 1:][mask])
    H = mdp.H if isinstance(mdp, FiniteHorizonMDP) else None
    return Trajectories(s=readonly(s), a=readonly(a), r=readonly(r), length=readonly(length),
                        terminal=readonly(terminal.copy()), S=mdp.S, A=mdp.A, H=H)


def transitions(mdp: TabularMDP | FiniteHorizonMDP, pi: Any, *, n: int, rng: Any,
                states: Any = "occupancy") -> Transitions:
    """An offline dataset of ``n`` i.i.d. transitions (``n`` per step for finite horizon).

        s ~ nu,  a ~ pi(.|s),  s_next ~ P(.|s, a),  r = R(s, a[, s_next])

    so (s, a) ~ mu(s, a) = nu(s) pi(a|s), returned as ``Transitions.mu``. With the default
    ``states="occupancy"``, nu = d^pi_rho, the normalised discounted occupancy of the
    behaviour policy from ``mdp.rho`` (for a FiniteHorizonMDP, nu_h(s) = P(s_h = s), the
    per-step marginals, with ``n`` draws at each step h = 0..H-1). For a dataset of whole
    episodes use ``trajectories(...).to_transitions()``.

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    pi : array (S, A) or (S,) int (per step for finite horizon)
        The behaviour policy.
    n : int >= 1
    rng : numpy.random.Generator or int seed (keyword-only, required)
        Draw order: u = rng.random((3, m)) with m = n (n * H for finite horizon); u[0] draws
        the states, u[1] the actions, u[2] the next states.
    states : "occupancy" or array (S,) (or (H, S) for finite horizon)
        The state distribution nu. "occupancy" needs gamma < 1 for a TabularMDP.

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.sampling import transitions
    >>> mdp = rls.mdps.riverswim()
    >>> data = transitions(mdp, np.full((mdp.S, mdp.A), 0.5), n=1000, rng=0)
    >>> len(data), data.mu.shape, int(data.counts().sum())
    (1000, (6, 2), 1000)
    >>> list(data.to_pandas().columns)
    ['s', 'a', 'r', 's_next', 'done']
    """
    _require_model(mdp, "transitions")
    n = check_int("n", n, low=1)
    rng = check_rng("rng", rng)
    pi_sto, pi_cdf = _policy_cdf(mdp, pi, "pi")
    fh = isinstance(mdp, FiniteHorizonMDP)
    S, A = mdp.S, mdp.A
    H = mdp.H if fh else 1
    if isinstance(states, str):
        if states != "occupancy":
            raise ValueError(f"states == {states!r}; expected 'occupancy' or an array of "
                             f"state probabilities of shape ({S},)"
                             f"{f' or ({H}, {S})' if fh else ''}")
        if not fh and mdp.gamma == 1.0:
            raise ValueError("states='occupancy' needs gamma < 1 (at gamma == 1 the occupancy "
                             "is a visit count, not a distribution); pass states=<array (S,)>, "
                             "or use trajectories(...).to_transitions() for episodic data")
        from rlsandbox.measures import state_occupancy
        nu = np.asarray(state_occupancy(mdp, pi_sto[0] if not fh else pi_sto))
    elif np.shape(states) == (S,):
        nu = check_stochastic("states", states, shape=(S,))
    elif fh and np.shape(states) == (H, S):
        nu = check_stochastic("states", states, shape=(H, S))
    else:
        raise ValueError(f"states has shape {np.shape(states)}; expected ({S},)"
                         f"{f' or ({H}, {S})' if fh else ''}, or 'occupancy'")
    nu = np.broadcast_to(nu, (H, S)) if fh else nu.reshape(1, S)
    m = n * H
    h = np.repeat(np.arange(H, dtype=np.int64), n)
    u = rng.random((3, m))
    s = np.empty(m, dtype=np.int64)
    a = np.empty(m, dtype=np.int64)
    s_next = np.empty(m, dtype=np.int64)
    _categorical_dense(_dense_cdf(nu), h, u[0], s)
    H_pi = pi_cdf.shape[0]
    _categorical_dense(pi_cdf.reshape(H_pi * S, A), np.minimum(h, H_pi - 1) * S + s, u[1], a)
    P_cdf, P_idx, P_ptr = _kernel_cdf(mdp)
    _categorical_csr(P_cdf, P_idx, P_ptr, (h * S + s) * A + a, u[2], s_next)
    terminal = _terminal(mdp)
    mu = nu[:, :, None] * np.broadcast_to(pi_sto, (H, S, A))
    return Transitions(s=readonly(s), a=readonly(a), r=readonly(_reward(mdp, h, s, a, s_next)),
                       s_next=readonly(s_next), done=readonly(terminal[s_next]),
                       h=readonly(h) if fh else None, episode=None,
                       mu=readonly(mu if fh else mu[0]), S=S, A=A, H=mdp.H if fh else None)


def generative(mdp: TabularMDP | FiniteHorizonMDP, *, n_per_pair: int,
               rng: Any) -> GenerativeSamples:
    """Generative-model access: ``n_per_pair`` independent draws s' ~ P(.|s, a) for every
    (s, a) (every (h, s, a) for a FiniteHorizonMDP), with their rewards.

    Parameters
    ----------
    mdp : TabularMDP or FiniteHorizonMDP
    n_per_pair : int >= 1
    rng : numpy.random.Generator or int seed (keyword-only, required)
        One draw ``rng.random((S, A, n_per_pair))`` (``(H, S, A, n_per_pair)``), used in C order.

    Returns
    -------
    GenerativeSamples

    Examples
    --------
    >>> import rlsandbox as rls
    >>> from rlsandbox.sampling import generative
    >>> g = generative(rls.mdps.riverswim(), n_per_pair=5, rng=0)
    >>> g.s_next.shape, g.s_next.dtype
    ((6, 2, 5), dtype('int64'))
    """
    _require_model(mdp, "generative")
    m = check_int("n_per_pair", n_per_pair, low=1)
    rng = check_rng("rng", rng)
    fh = isinstance(mdp, FiniteHorizonMDP)
    S, A = mdp.S, mdp.A
    lead = (mdp.H, S, A) if fh else (S, A)
    u = rng.random((*lead, m))
    n_pairs = int(np.prod(lead))
    rows = np.repeat(np.arange(n_pairs, dtype=np.int64), m)
    out = np.empty(n_pairs * m, dtype=np.int64)
    P_cdf, P_idx, P_ptr = _kernel_cdf(mdp)
    _categorical_csr(P_cdf, P_idx, P_ptr, rows, u.reshape(-1), out)
    s_next = out.reshape(*lead, m)
    grids = np.meshgrid(*(np.arange(k) for k in lead), np.arange(m), indexing="ij")
    if fh:
        r = mdp.R[grids[0], grids[1], grids[2]]
    else:
        r = _reward(mdp, None, grids[0], grids[1], s_next)
    terminal = _terminal(mdp)
    return GenerativeSamples(s_next=readonly(s_next), r=readonly(np.asarray(r, dtype=np.float64)),
                             terminal=readonly(terminal.copy()), S=S, A=A,
                             H=mdp.H if fh else None)
