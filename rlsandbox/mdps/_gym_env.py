"""The ``gymnasium.Env`` behind :func:`rlsandbox.mdps.to_gymnasium` (imports gymnasium).

Private: import it through ``to_gymnasium``, which checks that gymnasium is installed.
"""
from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np

from rlsandbox.mdp import TabularMDP


class TabularEnv(gymnasium.Env):
    """A :class:`~rlsandbox.TabularMDP` as an environment (see ``to_gymnasium``)."""

    metadata = {"render_modes": []}

    def __init__(self, mdp: TabularMDP, *, horizon: int | None = None) -> None:
        self.mdp = mdp
        self.horizon = horizon
        self.observation_space = gymnasium.spaces.Discrete(mdp.S)
        self.action_space = gymnasium.spaces.Discrete(mdp.A)
        P = mdp.csr_P()                                  # rows s*A + a; sorted indices
        self._indptr, self._next = P.indptr, P.indices
        self._prob = P.data
        self._cdf = np.empty_like(P.data)                # per-row CDFs, row by row
        for row in range(P.shape[0]):
            lo, hi = P.indptr[row], P.indptr[row + 1]
            np.cumsum(P.data[lo:hi], out=self._cdf[lo:hi])
        self._rho_cdf = np.cumsum(mdp.rho)
        self.initial_state_distrib = np.array(mdp.rho)
        self._s: int | None = None
        self._t = 0
        self._table: dict | None = None

    # ---------------------------------------------------------------- sampling
    @staticmethod
    def _draw(cdf: np.ndarray, prob: np.ndarray, u: float) -> int:
        """Index k with cdf[k-1] <= u < cdf[k]; if rounding leaves cdf[-1] <= u, the last
        index of positive probability."""
        k = int(np.searchsorted(cdf, u, side="right"))
        if k >= cdf.shape[0]:
            k = int(np.flatnonzero(prob > 0)[-1])
        return k

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        k = self._draw(self._rho_cdf, self.mdp.rho, float(self.np_random.random()))
        self._s, self._t = k, 0
        return k, {"prob": float(self.mdp.rho[k])}

    def step(self, action: Any):
        if self._s is None:
            raise gymnasium.error.ResetNeeded("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} is not in Discrete({self.mdp.A}); actions are "
                             f"integers in [0, {self.mdp.A})")
        s, a = self._s, int(action)
        row = s * self.mdp.A + a
        lo, hi = self._indptr[row], self._indptr[row + 1]
        k = lo + self._draw(self._cdf[lo:hi], self._prob[lo:hi], float(self.np_random.random()))
        s2 = int(self._next[k])
        reward = float(self.mdp.R_sas[s, a, s2]) if self.mdp.R_sas is not None \
            else float(self.mdp.R[s, a])
        self._s = s2
        self._t += 1
        terminated = bool(self.mdp.terminal[s2])
        truncated = self.horizon is not None and self._t >= self.horizon
        return s2, reward, terminated, truncated, {"prob": float(self._prob[k])}

    # ---------------------------------------------------------------- the table
    @property
    def P(self) -> dict:
        """The toy-text table ``P[s][a] = [(prob, s_next, reward, terminated), ...]``
        (outcomes of positive probability; built on first access)."""
        if self._table is None:
            mdp, A = self.mdp, self.mdp.A
            table: dict = {}
            for s in range(mdp.S):
                table[s] = {}
                for a in range(A):
                    lo, hi = self._indptr[s * A + a], self._indptr[s * A + a + 1]
                    table[s][a] = [
                        (float(p), int(s2),
                         float(mdp.R_sas[s, a, s2]) if mdp.R_sas is not None else float(mdp.R[s, a]),
                         bool(mdp.terminal[s2]))
                        for p, s2 in zip(self._prob[lo:hi], self._next[lo:hi]) if p > 0]
            self._table = table
        return self._table
