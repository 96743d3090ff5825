"""The American put option task of the R2PVI experiments, as the official code runs it.

Task [r2pvi, §5.2] (origin: Tamar et al. 2014). A price ``s_h`` moves to ``1.02 s_h`` with
probability p (the price-up probability) and to ``0.98 s_h`` otherwise; horizon H = 20, no
discounting. Actions: hold (reward 0) or exercise (reward ``max(0, 100 - s_h)``, then an
absorbing zero-reward state). Features (hold only; the exercise value is known exactly): d hat
functions on the anchors ``80 + i Delta``, ``Delta = 100 / d``:
``phi_i(s) = max(0, 1 - |s - anchor_i| / Delta)``. This is not an exact linear MDP and rewards
are not in [0, 1], so none of the theory applies here (card P8); the task exists to regenerate
the paper's Figure 1(d) and the timing comparison.

Algorithms (the official code's choices, i.e. ``reference_code`` mode only, card §5.2, §6):
for ``h = H-1, ..., 0`` (0-based), ``Lambda_h = ridge I + sum phi(s_h^tau) phi(s_h^tau)^T``;
``w_H-1 = 0``; otherwise the targets are ``v^tau = max(Q_hold_{h+1}(s_{h+1}^tau),
max(0, K_strike - s_{h+1}^tau))`` with ``Q_hold_h(s) = min(w_h . phi(s) - beta b_h(s), H - h)``
(capped above, never clipped below, P8) and

* PEVI: ``w_h = Lambda^{-1} sum phi v``, bonus ``b = ||phi||_{Lambda^{-1}}``;
* R2PVI-TV: ``alpha = min_tau v^tau + lam``, ``w_h = Lambda^{-1} sum phi [v]_alpha``, bonus
  ``b = sqrt(sum_i phi_i^2 (Lambda^{-1})_ii)`` (P1, P2);
* DRPVI: ``w_{h,i} = max_{alpha in [0, H]} [Lambda^{-1} sum phi [v]_alpha]_i - rho alpha`` by
  scipy's bounded Nelder-Mead from ``H/2`` (P11), same bonus as R2PVI-TV.

The agent holds on ties (``argmax([Q_hold, Q_exercise])`` takes the first). The strike used by
the *agent* is the number of trajectories K (the code stores K in the attribute it then uses as
the strike, P6); with K = 100, the figure's setting, it is the true strike 100.

Random streams (card P7). The code's environment draws ``s_1 ~ Uniform[95, 105]`` when built,
after reseeding the legacy global generator with its ``seed`` argument (default 1); the data
collector reseeds with 1 and then draws one uniform per hold step (price up iff ``u < p``); the
test loop builds a fresh environment per (p, replication), which reseeds with 1, so every test
run starts at ``s_1 = 99.1702`` and reads the same stream; after an exercise the code moves to a
sentinel price 99999 (all features 0, both action values 0, so the agent holds) and keeps
drawing one uniform per step. :func:`legacy_dataset` and :func:`legacy_monte_carlo` replay those
streams with a local ``numpy.random.RandomState`` (same MT19937 stream, no global state); a
deliberate exception to the library's Generator convention, to regenerate the published panel.
:func:`exact_value` is the noiseless alternative: the policy's expected return on the price
lattice ``s_1 1.02^u 0.98^(h-u)`` (card §5.2).

Shapes: prices (K, H+1); features (K, H, d); weights (H, d); Lambda_inv (H, d, d).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_float_array, check_in_range, check_int, \
    readonly

__all__ = ["STRIKE", "UP", "DOWN", "SENTINEL", "option_features", "OptionAgent",
           "train_option", "legacy_initial_price", "legacy_dataset", "legacy_monte_carlo",
           "exact_value"]

STRIKE = 100.0
UP, DOWN = 1.02, 0.98
#: The price the official code moves to after an exercise (all features vanish there).
SENTINEL = 99999.0
_LOWER, _UPPER = 60.0, 160.0


def option_features(s: Any, d: int) -> np.ndarray:
    """Hat-function features ``phi_i(s) = max(0, 1 - |s - (80 + i Delta)| / Delta)``, Delta = 100/d.

    Parameters
    ----------
    s : float or array (...,)
    d : int >= 1

    Returns
    -------
    array (..., d)

    Examples
    --------
    >>> option_features(100.0, 30).sum().round(12), option_features(SENTINEL, 30).sum()
    (np.float64(1.0), np.float64(0.0))
    """
    d = check_int("d", d, low=1)
    delta = (_UPPER - _LOWER) / d
    anchors = np.array([80.0 + x * delta for x in range(d)])
    s = np.asarray(s, dtype=np.float64)
    return np.maximum(0.0, 1.0 - np.abs(s[..., None] - anchors) / delta)


@dataclass(frozen=True, eq=False)
class OptionAgent:
    """A trained hold/exercise agent: ``w`` (H, d), ``Lambda_inv`` (H, d, d), bonus form, beta."""

    w: np.ndarray
    Lambda_inv: np.ndarray
    beta: float
    bonus: str
    strike: float
    method: str

    @property
    def H(self) -> int:
        return int(self.w.shape[0])

    @property
    def d(self) -> int:
        return int(self.w.shape[1])

    def hold_value(self, h: int, s: Any) -> np.ndarray:
        """``Q_hold_h(s) = min(w_h . phi(s) - beta b_h(s), H - h)`` for one price or an array."""
        phi = option_features(s, self.d)
        Linv = self.Lambda_inv[h]
        if self.bonus == "full":
            b = np.sqrt(np.maximum(np.einsum("...i,ij,...j->...", phi, Linv, phi), 0.0))
        else:
            b = np.sqrt((phi ** 2) @ np.diagonal(Linv))
        return np.minimum(phi @ self.w[h] - self.beta * b, float(self.H - h))

    def act(self, h: int, s: float) -> int:
        """1 (exercise) iff ``max(0, strike - s) > Q_hold_h(s)``; ties hold, as the code's argmax."""
        return int(max(0.0, self.strike - s) > float(self.hold_value(h, s)))


def _nelder_mead_max(f, H: float) -> float:
    from scipy.optimize import minimize

    res = minimize(lambda x: -f(float(x[0])), np.array([H / 2.0]), method="Nelder-Mead",
                   bounds=[(0.0, H)])
    return -float(res.fun)


def train_option(prices: Any, *, method: str, beta: float, d: int = 30, ridge: float = 1.0,
                 lam: float | None = None, rho: float | None = None,
                 strike: float | None = None) -> OptionAgent:
    """Train PEVI, R2PVI-TV or DRPVI on price paths, as the official option-task code does.

    Parameters
    ----------
    prices : array (K, H+1)
        Price paths under the always-hold behavior (rewards are all 0 in such data).
    method : {"pevi", "tv", "drpvi"}
    beta : bonus multiplier (figure: 0.1). d : number of hat features (figure: 30).
    ridge : ridge parameter, the paper's gamma (figure: 1).
    lam : R2PVI-TV's lambda (required for "tv"). rho : DRPVI's radius (required for "drpvi").
    strike : the agent's strike; default K, the code's behavior (P6).

    Returns
    -------
    OptionAgent

    Examples
    --------
    >>> prices = legacy_dataset(p0=0.5, K=10, H=5, seed=0)
    >>> agent = train_option(prices, method="tv", beta=0.1, lam=3.0)
    >>> agent.w.shape, agent.strike
    ((5, 30), 10.0)
    """
    method = check_choice("method", method, ("pevi", "tv", "drpvi"))
    prices = check_float_array("prices", prices, ndim=2)
    beta = check_in_range("beta", beta, low=0.0)
    d = check_int("d", d, low=1)
    ridge = check_in_range("ridge", ridge, low=0.0, low_open=True)
    if method == "tv":
        lam = check_in_range("lam", lam, low=0.0)
    if method == "drpvi":
        rho = check_in_range("rho", rho, low=0.0)
    K, H = prices.shape[0], prices.shape[1] - 1
    if H < 1:
        raise ValueError(f"prices has shape {prices.shape}; expected (K, H+1) with H >= 1")
    strike = float(K) if strike is None else check_in_range("strike", strike, low=0.0)
    Phi = option_features(prices[:, :H], d)                          # (K, H, d)
    w = np.zeros((H, d))
    Linv = np.empty((H, d, d))
    bonus = "full" if method == "pevi" else "diag_l2"
    agent = OptionAgent(w, Linv, beta, bonus, strike, method)
    for h in range(H - 1, -1, -1):
        Linv[h] = np.linalg.inv(ridge * np.eye(d) + Phi[:, h].T @ Phi[:, h])
        if h == H - 1:
            continue                                                  # w_{H-1} = 0
        s_next = prices[:, h + 1]
        v = np.maximum(agent.hold_value(h + 1, s_next), np.maximum(0.0, strike - s_next))
        C = Linv[h] @ Phi[:, h].T                                     # (d, K)
        if method == "pevi":
            w[h] = C @ v
        elif method == "tv":
            w[h] = C @ np.minimum(v, float(v.min()) + lam)
        else:
            for i in range(d):
                w[h, i] = _nelder_mead_max(
                    lambda a, c=C[i]: float(c @ np.minimum(v, a)) - rho * a, float(H))
    return OptionAgent(readonly(w), readonly(Linv), beta, bonus, strike, method)


def _up_threshold(p: float) -> float:
    """The legacy ``choice([0, 1], p=[p, 1-p])`` returns 0 (price up) iff ``u < cdf[0]``."""
    cdf = np.cumsum([p, 1.0 - p])
    cdf /= cdf[-1]
    return float(cdf[0])


def legacy_initial_price(seed: int = 1) -> float:
    """``s_1`` of an environment built with ``seed``: ``Uniform[95, 105]`` on the legacy stream.

    Examples
    --------
    >>> [round(legacy_initial_price(k), 2) for k in (0, 1, 2)]      # card §5.2
    [100.49, 99.17, 99.36]
    """
    return float(np.random.RandomState(check_int("seed", seed, low=0)).uniform(95.0, 105.0))


def legacy_dataset(*, p0: float, K: int, H: int, seed: int) -> np.ndarray:
    """The official code's data set for replication ``seed``: K always-hold price paths.

    ``s_1`` comes from the environment built with ``seed``; the paths from the collector's
    stream, reseeded with 1 (the same price moves for every replication, card P7).

    Returns
    -------
    prices : (K, H+1)

    Examples
    --------
    >>> legacy_dataset(p0=0.5, K=2, H=3, seed=1)[:, 0].round(4).tolist()
    [99.1702, 99.1702]
    """
    p0 = check_in_range("p0", p0, low=0.0, high=1.0)
    K = check_int("K", K, low=1)
    H = check_int("H", H, low=1)
    s1 = legacy_initial_price(seed)
    rs = np.random.RandomState(1)
    thr = _up_threshold(p0)
    prices = np.empty((K, H + 1))
    for k in range(K):
        s = s1
        prices[k, 0] = s
        for h in range(H):
            s = s * (UP if rs.random_sample() < thr else DOWN)
            prices[k, h + 1] = s
    return prices


def legacy_monte_carlo(agent: OptionAgent, *, p: float, episodes: int = 100) -> float:
    """The official code's test: mean return of ``episodes`` episodes at price-up probability p.

    The test environment reseeds with 1, so ``s_1 = 99.1702`` and the stream is the same for
    every replication (P7); an exercise pays ``max(0, 100 - s)`` and moves to the sentinel
    price, after which the agent holds and the stream advances one draw per step.

    Examples
    --------
    >>> agent = train_option(legacy_dataset(p0=0.5, K=100, H=20, seed=0), method="pevi",
    ...                      beta=0.1)
    >>> round(legacy_monte_carlo(agent, p=1.0), 3)       # prices only rise: never in the money
    0.0
    """
    p = check_in_range("p", p, low=0.0, high=1.0)
    episodes = check_int("episodes", episodes, low=1)
    rs = np.random.RandomState(1)
    s1 = float(rs.uniform(95.0, 105.0))
    thr = _up_threshold(p)
    total = 0.0
    for _ in range(episodes):
        s, ret = s1, 0.0
        for h in range(agent.H):
            if agent.act(h, s):
                ret += max(0.0, STRIKE - s)
                s = SENTINEL
            else:
                s = s * (UP if rs.random_sample() < thr else DOWN)
        total += ret / episodes
    return total


def exact_value(agent: OptionAgent, *, p: float, s1: float) -> float:
    """The expected return of the agent's policy from ``s1`` at price-up probability p, exactly.

    Backward over the lattice ``s = s1 1.02^u 0.98^(h-u)`` (u = number of up moves):
    ``V_H = 0``; ``V_h(u) = max(0, 100 - s)`` if the agent exercises, else
    ``p V_{h+1}(u + 1) + (1 - p) V_{h+1}(u)`` [r2pvi, §5.2]. Never exercising earns 0.

    Examples
    --------
    >>> agent = train_option(legacy_dataset(p0=0.5, K=100, H=20, seed=0), method="pevi",
    ...                      beta=0.1)
    >>> exact_value(agent, p=1.0, s1=99.1702)
    0.0
    """
    p = check_in_range("p", p, low=0.0, high=1.0)
    H = agent.H
    V = np.zeros(H + 1)                                               # V_{h+1}(u), u = 0..h+1
    for h in range(H - 1, -1, -1):
        u = np.arange(h + 1)
        s = s1 * UP ** u * DOWN ** (h - u)
        hold = p * V[1:h + 2] + (1.0 - p) * V[:h + 1]
        ex = np.array([agent.act(h, float(x)) for x in s], dtype=bool)
        V = np.where(ex, np.maximum(0.0, STRIKE - s), hold)
    return float(V[0])
