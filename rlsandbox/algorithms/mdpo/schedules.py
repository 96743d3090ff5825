"""Step-size schedules of policy mirror descent [mdpo-card, §3.1 table].

eta_k (Xiao, Lan) and t_k (MDPO, Shani) are the same object: the weight of Q in the
per-state mirror step, 1/t_k being the KL coefficient ([mdpo-card, Pitfall 3]).

=====================  ===============================================  ==========================
schedule               eta_k (k = 0, 1, ...)                            source / guarantee
=====================  ===============================================  ==========================
constant(eta)          eta                                              Xiao Thm 8, Lan Thm 2
geometric(eta0, g)     min(eta0 / g^k, cap)                             Xiao Thm 10 (linear rate)
theta_geometric        eta0 (theta/(theta-1))^k, capped                 Xiao Thm 10 exact condition
shani(g, R, mirror)    (1-g) / (C_w1 R sqrt(k+1)), C_w1 = 1 (KL),       Shani Thm 2 (unregularised)
                       sqrt(A) (Euclid)
shani_regularized(l)   1 / (l (k+2))                                    Shani Thm 2 (regularised)
anneal(K)              1 - k/(K+1)                                      MDPO on-policy experiments
greedy()               +inf                                             policy iteration
=====================  ===============================================  ==========================

Deviations. ``anneal`` uses 1 - k/(K+1) instead of the code's 1 - k/K so that t_k > 0 for
every k < K+1 ([mdpo-card, Pitfall 14]). ``geometric`` is capped (default cap 1e12): eta0/g^k
overflows float64 near k = 700/log(1/g), and beyond ~1e12 / span(Q) the KL step is greedy to
float64 resolution anyway ([mdpo-card, Pitfall 12]). Once capped, eta_{k+1} >= eta_k / g no
longer holds: :meth:`Schedule.uncapped_until` gives the last k where it does, and the bound
checks only use iterations before it.

Examples
--------
>>> sch = geometric(1.0, 0.5, cap=10.0)
>>> [sch(k) for k in range(6)]
[1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
>>> sch.uncapped_until(10)
3
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_in_range, check_int

__all__ = ["Schedule", "constant", "geometric", "theta_geometric", "shani", "shani_regularized",
           "anneal", "greedy", "as_schedule"]


@dataclass(frozen=True)
class Schedule:
    """A step-size schedule k -> eta_k > 0 (possibly +inf for the greedy limit).

    Attributes
    ----------
    name : one of "constant", "geometric", "theta_geometric", "shani", "shani_regularized",
        "anneal", "greedy"
    params : the parameters (JSON-able)
    """

    name: str
    params: dict = field(default_factory=dict)

    def __call__(self, k: int) -> float:
        k = check_int("k", k, low=0)
        p = self.params
        if self.name == "constant":
            return p["eta"]
        if self.name in ("geometric", "theta_geometric"):
            # decide the cap in log space (no overflow), then the exact formula
            if math.log(p["eta0"]) + k * math.log(p["ratio"]) >= math.log(p["cap"]):
                return p["cap"]
            if self.name == "geometric":
                return min(p["eta0"] / p["gamma"] ** k, p["cap"])
            return min(p["eta0"] * p["ratio"] ** k, p["cap"])
        if self.name == "shani":
            return (1.0 - p["gamma"]) / (p["C_w1"] * p["r_max"] * math.sqrt(k + 1.0))
        if self.name == "shani_regularized":
            return 1.0 / (p["lam"] * (k + 2.0))
        if self.name == "anneal":
            return 1.0 - k / (p["K"] + 1.0)
        if self.name == "greedy":
            return math.inf
        raise ValueError(f"unknown schedule {self.name!r}")

    def steps(self, K: int) -> np.ndarray:
        """eta_0, ..., eta_{K-1} as an array (K,)."""
        return np.array([self(k) for k in range(check_int("K", K, low=0))], dtype=np.float64)

    def uncapped_until(self, K: int) -> int:
        """Largest k < K such that eta_{j+1} >= eta_j * ratio holds for every j < k (the
        geometric condition of Xiao Thm 10 up to step k); K - 1 for uncapped schedules."""
        if self.name not in ("geometric", "theta_geometric"):
            return K - 1
        for k in range(K):
            if self(k) >= self.params["cap"]:
                return max(k - 1, 0)
        return K - 1


def constant(eta: float) -> Schedule:
    """eta_k = eta > 0 [Xiao Thm 8; Lan Thm 2]."""
    return Schedule("constant", {"eta": check_in_range("eta", eta, low=0.0, low_open=True)})


def geometric(eta0: float, gamma: float, *, cap: float = 1e12) -> Schedule:
    """eta_k = min(eta0 / gamma^k, cap) [Xiao Thm 10: eta_{k+1} >= eta_k / gamma suffices]."""
    eta0 = check_in_range("eta0", eta0, low=0.0, low_open=True)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True)
    cap = check_in_range("cap", cap, low=eta0)
    return Schedule("geometric", {"eta0": eta0, "ratio": 1.0 / gamma, "gamma": gamma,
                                  "cap": cap})


def theta_geometric(eta0: float, theta: float, *, cap: float = 1e12) -> Schedule:
    """eta_k = min(eta0 (theta / (theta - 1))^k, cap): Xiao Thm 10's exact condition
    eta_{k+1} >= eta_k theta_rho / (theta_rho - 1), with theta = theta_rho > 1."""
    eta0 = check_in_range("eta0", eta0, low=0.0, low_open=True)
    theta = check_in_range("theta", theta, low=1.0, low_open=True)
    cap = check_in_range("cap", cap, low=eta0)
    return Schedule("theta_geometric", {"eta0": eta0, "ratio": theta / (theta - 1.0),
                                        "theta": theta, "cap": cap})


def shani(gamma: float, r_max: float = 1.0, mirror: str = "kl", A: int | None = None) -> Schedule:
    """t_k = (1 - gamma) / (C_w1 R_max sqrt(k + 1)), C_w1 = 1 (KL) or sqrt(A) (Euclid)
    [Shani Thm 2, unregularised; sqrt(k+1) because k starts at 0, mdpo-card Pitfall 21]."""
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True)
    r_max = check_in_range("r_max", r_max, low=0.0, low_open=True)
    mirror = check_choice("mirror", mirror, ("kl", "euclid"))
    if mirror == "euclid":
        if A is None:
            raise ValueError("shani(..., mirror='euclid') needs A (number of actions): "
                             "C_w1 = sqrt(A)")
        C = math.sqrt(check_int("A", A, low=1))
    else:
        C = 1.0
    return Schedule("shani", {"gamma": gamma, "r_max": r_max, "C_w1": C, "mirror": mirror})


def shani_regularized(lam: float) -> Schedule:
    """t_k = 1 / (lam (k + 2)) [Shani Thm 2, regularised; lam t_k <= 1/2]."""
    return Schedule("shani_regularized",
                    {"lam": check_in_range("lam", lam, low=0.0, low_open=True)})


def anneal(K: int) -> Schedule:
    """t_k = 1 - k / (K + 1): MDPO's linear annealing from 1 towards 0 over K iterations,
    kept positive ([mdpo-card, §1.5 table and Pitfall 14])."""
    return Schedule("anneal", {"K": check_int("K", K, low=1)})


def greedy() -> Schedule:
    """eta_k = +inf: the greedy step (policy iteration) [mdpo-card, §3.1; Xiao §4.4]."""
    return Schedule("greedy", {})


def as_schedule(step: Any) -> Schedule:
    """A Schedule from a Schedule, a positive float (constant) or ``numpy.inf`` (greedy)."""
    if isinstance(step, Schedule):
        return step
    if isinstance(step, (int, float, np.floating, np.integer)) and not isinstance(step, bool):
        if float(step) == math.inf:
            return greedy()
        return constant(float(step))
    raise TypeError(f"step must be a Schedule (e.g. geometric(1.0, gamma)), a positive float or "
                    f"numpy.inf, got {type(step).__name__} {step!r}")
