"""Small named MDPs from the literature."""
from __future__ import annotations

import numpy as np

from rlsandbox.mdp import TabularMDP


def riverswim(n_states: int = 6, gamma: float = 0.95) -> TabularMDP:
    """RiverSwim (placeholder; the zoo issue work replaces this with the cited version)."""
    S, A = n_states, 2
    P = np.zeros((S, A, S)); R = np.zeros((S, A))
    for s in range(S):
        P[s, 0, max(s - 1, 0)] = 1.0
        if s == 0:
            P[s, 1, 0], P[s, 1, 1] = 0.4, 0.6
        elif s == S - 1:
            P[s, 1, s], P[s, 1, s - 1] = 0.6, 0.4
        else:
            P[s, 1, s - 1], P[s, 1, s], P[s, 1, s + 1] = 0.05, 0.6, 0.35
    R[0, 0] = 5e-3; R[S - 1, 1] = 1.0
    return TabularMDP(P, R, gamma)
