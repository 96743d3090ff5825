"""Private helper: build ``P[s, a, s']`` and ``R[s, a, s']`` from a list of outcomes.

Builders describe each (s, a) as outcomes ``(probability, s_next, reward)``; several outcomes
may land in the same ``s_next`` (a slip into a wall and a bump both stay put). Probabilities
add up; the reward stored for ``(s, a, s_next)`` is the conditional mean
``sum p_i r_i / sum p_i`` of the outcomes landing there, which keeps ``E[r | s, a]`` exact.
When all those outcomes pay the same reward it is stored as given (no ``p r / p`` round-off),
so sampled rewards equal the source's numbers bit for bit.
"""
from __future__ import annotations

import numpy as np


class Outcomes:
    """Accumulates outcomes for an ``(S, A, S)`` model."""

    def __init__(self, S: int, A: int) -> None:
        self.P = np.zeros((S, A, S))
        self._PR = np.zeros((S, A, S))
        self._first = np.zeros((S, A, S))
        self._seen = np.zeros((S, A, S), dtype=bool)
        self._same = np.ones((S, A, S), dtype=bool)

    def add(self, s: int, a: int, s_next: int, p: float, r: float) -> None:
        """Outcome: from (s, a), reach ``s_next`` with probability ``p`` and reward ``r``."""
        idx = (s, a, s_next)
        self.P[idx] += p
        self._PR[idx] += p * r
        if not self._seen[idx]:
            self._seen[idx], self._first[idx] = True, r
        elif self._first[idx] != r:
            self._same[idx] = False

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(P, R_sas)``; ``R_sas`` is 0 where no outcome lands (or all have probability 0)."""
        mean = np.divide(self._PR, self.P, out=np.zeros_like(self._PR), where=self.P > 0)
        R = np.where(self._seen & self._same, self._first, mean)
        R[self.P == 0] = 0.0
        return self.P, R
