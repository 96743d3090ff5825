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
* R2PVI-KL: ``w_{h,i} = m - lam log max{ [Lambda^{-1} sum phi exp(-(v - m)/lam)]_i,
  exp(-(H - m)/lam) }``, ``m = min_tau v^tau`` (the closed form of card §3.2 in the shifted,
  underflow-free form of P10), same bonus as R2PVI-TV;
* R2PVI-chi2: ``w_{h,i} = max_{alpha in [0, H]} z_i(alpha) - (z2_i(alpha) - z_i(alpha)^2) / (4 lam)``
  with ``z_i = [Lambda^{-1} sum phi [v]_alpha]_i``, ``z2_i = [Lambda^{-1} sum phi [v]_alpha^2]_i``
  (card §3.2; the option code maximizes, P3), by the same Nelder-Mead call or exactly (the
  piecewise-quadratic search of :mod:`~rlsandbox.algorithms.r2pvi.offline`); same bonus. The
  card's timing figures do not time chi2; ``benchmarks/r2pvi_timing.py`` does;
* DRPVI: ``w_{h,i} = max_{alpha in [0, H]} [Lambda^{-1} sum phi [v]_alpha]_i - rho alpha`` by
  scipy's bounded Nelder-Mead from ``H/2`` (P11), same bonus as R2PVI-TV;
* DRVI-L: ``w_{h,i} = max_{b in [1e-6, H]} -b log max{[Lambda^{-1} sum phi (exp(-v/b) - 1)]_i
  + 1, 1e-6} - b rho`` by the same Nelder-Mead call (card §3.4), same bonus.

``oracle`` selects how the per-coordinate duals are solved: ``"nelder_mead"`` (the code's
call; the default of chi2, DRPVI and DRVI-L), ``"exact"`` (chi2: the piecewise-quadratic
maximization; DRPVI: the breakpoint search of
:mod:`~rlsandbox.algorithms.r2pvi.offline`; DRVI-L: its certified branch and bound, within
1e-6 H of the supremum), and for
R2PVI-TV ``"closed_form"`` (default) or ``"numeric"``: the card's C9 negative control, which
maximizes ``[Lambda^{-1} sum phi [v]_a]_i`` over ``a in [0, min_tau v^tau + lam]`` by the same
Nelder-Mead call, as if TV had no closed form (the TV dual ``sup_{a <= min V + lam}
E[V]_a`` of card §2.5 is monotone in ``a``, so with nonnegative weights it returns the closed
form). :attr:`OptionAgent.n_evals` counts the scalar dual-objective evaluations the searches
made (0 for PEVI and the closed forms): the deterministic part of the timing claim C9.

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

__all__ = ["STRIKE", "UP", "DOWN", "SENTINEL", "METHODS", "option_features", "OptionAgent",
           "train_option", "price_paths", "legacy_initial_price", "legacy_dataset",
           "legacy_monte_carlo",
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
    """A trained hold/exercise agent: ``w`` (H, d), ``Lambda_inv`` (H, d, d), bonus form, beta;
    ``n_evals``: scalar dual-objective evaluations made by the per-coordinate searches."""

    w: np.ndarray
    Lambda_inv: np.ndarray
    beta: float
    bonus: str
    strike: float
    method: str
    n_evals: int = 0

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
            b = np.sqrt(np.maximum(np.sum((phi @ Linv) * phi, axis=-1), 0.0))
        else:
            b = np.sqrt((phi ** 2) @ np.diagonal(Linv))
        return np.minimum(phi @ self.w[h] - self.beta * b, float(self.H - h))

    def act(self, h: int, s: float) -> int:
        """1 (exercise) iff ``max(0, strike - s) > Q_hold_h(s)``; ties hold, as the code's argmax."""
        return int(max(0.0, self.strike - s) > float(self.hold_value(h, s)))


def _nelder_mead_max(f, lo: float, hi: float) -> tuple[float, int]:
    """max f over [lo, hi] by scipy's bounded Nelder-Mead from the midpoint of [0, hi] clipped
    to [lo, hi] (the code starts at H/2); returns (value, objective evaluations)."""
    from scipy.optimize import minimize

    x0 = min(max(hi / 2.0, lo), hi)
    res = minimize(lambda x: -f(float(x[0])), np.array([x0]), method="Nelder-Mead",
                   bounds=[(lo, hi)])
    return -float(res.fun), int(res.nfev)


#: method -> (allowed oracles, default oracle)
_ORACLES = {"pevi": (("closed_form",), "closed_form"), "tv": (("closed_form", "numeric"),
                                                               "closed_form"),
            "kl": (("closed_form",), "closed_form"),
            "chi2": (("nelder_mead", "exact"), "nelder_mead"),
            "drpvi": (("nelder_mead", "exact"), "nelder_mead"),
            "drvi_l": (("nelder_mead", "exact"), "nelder_mead")}
METHODS = tuple(_ORACLES)


def _estimate(method: str, oracle: str, v: np.ndarray, C: np.ndarray, H: float,
              lam: float | None, rho: float | None) -> tuple[np.ndarray, int]:
    """The transition part w_h (d,) of one step and the number of objective evaluations."""
    from rlsandbox.algorithms.r2pvi.offline import _chi2_exact, _drpvi_exact, \
        _drvi_l_objective, _drvi_l_search

    d = C.shape[0]
    if method == "pevi":
        return C @ v, 0
    if method == "tv" and oracle == "closed_form":
        return C @ np.minimum(v, float(v.min()) + lam), 0
    if method == "kl":
        # m - lam log max{z, e^{-(H - m)/lam}} = min{m - lam log z, H} (H where z <= 0): the
        # same clip without forming e^{(m - H)/lam}, which overflows when the targets exceed H
        # by ~700 lam (the timing runs' strike K = 1000, P6)
        m = float(v.min())
        z = C @ np.exp(-(v - m) / lam)
        with np.errstate(divide="ignore", invalid="ignore"):
            w = np.where(z > 0.0, np.minimum(m - lam * np.log(z), H), H)
        return w, 0
    if method == "chi2" and oracle == "exact":
        return _chi2_exact(v, C, H, lam, +1.0), 0
    if oracle == "exact":
        rho_d = np.full(d, float(rho))
        if method == "drpvi":
            return _drpvi_exact(v, C, H, rho_d), 0
        return _drvi_l_search(v, C, H, rho_d), 0
    w, n = np.empty(d), 0
    for i in range(d):
        c = C[i]
        if method == "tv":                                    # numeric: the C9 control
            w[i], k = _nelder_mead_max(lambda a: float(c @ np.minimum(v, a)), 0.0,
                                       float(v.min()) + lam)
        elif method == "chi2":
            def g(a, c=c):
                y = np.minimum(v, a)
                z = float(c @ y)
                return z - (float(c @ y ** 2) - z * z) / (4.0 * lam)
            w[i], k = _nelder_mead_max(g, 0.0, H)
        elif method == "drpvi":
            w[i], k = _nelder_mead_max(lambda a: float(c @ np.minimum(v, a)) - rho * a, 0.0, H)
        else:
            w[i], k = _nelder_mead_max(
                lambda b: float(_drvi_l_objective(v, c, rho, np.array([b]))[0]), 1e-6, H)
        n += k
    return w, n


def train_option(prices: Any, *, method: str, beta: float, d: int = 30, ridge: float = 1.0,
                 lam: float | None = None, rho: float | None = None,
                 strike: float | None = None, oracle: str | None = None,
                 variance_aware: bool = False) -> OptionAgent:
    """Train PEVI, R2PVI-TV/KL, DRPVI or DRVI-L on price paths, as the official option code does.

    Parameters
    ----------
    prices : array (K, H+1)
        Price paths under the always-hold behavior (rewards are all 0 in such data).
    method : {"pevi", "tv", "kl", "chi2", "drpvi", "drvi_l"}
    beta : bonus multiplier (figure: 0.1). d : number of hat features (figure: 30).
    ridge : ridge parameter, the paper's gamma (figure: 1).
    lam : R2PVI's lambda (required for "tv", "kl", "chi2"; > 0 for "kl", "chi2").
    rho : the DRMDP radius (required for "drpvi", "drvi_l").
    strike : the agent's strike; default K, the code's behavior (P6).
    oracle : how the per-coordinate duals are solved (module docstring); default: the
        closed form for PEVI / TV / KL, ``"nelder_mead"`` for chi2 / DRPVI / DRVI-L.
    variance_aware : bool
        The VA variants of card §3.6 as the card describes them (not the official code, whose
        variance step degenerates to weights 1, P5): a plain run first; then at every step
        ``sigma2(s) = max{1, clip(phi^T z2, 0, H^2) - clip(phi^T z1, 0, H)^2}`` with ``z1``,
        ``z2`` the ridge fits of the first run's targets and their squares, and every sample
        weighted by ``1 / sigma2(s_h)`` in the Gram matrix and the regression (the bonus uses
        the weighted Gram matrix). The card's VA panel (VA-DRPVI rho = 0.2: 2.296, 1.992,
        1.351, 0.569, 0.0; VA-R2PVI-TV lam = 1: 2.218, 1.982, 1.388, 0.591, 0.0 at p = 0.2 ..
        1.0) is **not reproduced** with the replayed streams (tests/test_r2pvi_option.py records
        the numbers); its configuration beyond the labels is unverified.

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
    method = check_choice("method", method, METHODS)
    allowed, default = _ORACLES[method]
    oracle = default if oracle is None else check_choice("oracle", oracle, allowed)
    prices = check_float_array("prices", prices, ndim=2)
    beta = check_in_range("beta", beta, low=0.0)
    d = check_int("d", d, low=1)
    ridge = check_in_range("ridge", ridge, low=0.0, low_open=True)
    if method in ("tv", "kl", "chi2"):
        lam = check_in_range("lam", lam, low=0.0, low_open=method != "tv")
    if method in ("drpvi", "drvi_l"):
        rho = check_in_range("rho", rho, low=0.0)
    if not isinstance(variance_aware, bool):
        raise TypeError(f"variance_aware must be a bool, got {type(variance_aware).__name__}")
    K, H = prices.shape[0], prices.shape[1] - 1
    if H < 1:
        raise ValueError(f"prices has shape {prices.shape}; expected (K, H+1) with H >= 1")
    strike = float(K) if strike is None else check_in_range("strike", strike, low=0.0)
    first = None
    if variance_aware:
        first = train_option(prices, method=method, beta=beta, d=d, ridge=ridge, lam=lam,
                             rho=rho, strike=strike, oracle=oracle)
    Phi = option_features(prices[:, :H], d)                          # (K, H, d)
    w = np.zeros((H, d))
    Linv = np.empty((H, d, d))
    bonus = "full" if method == "pevi" else "diag_l2"
    agent = OptionAgent(w, Linv, beta, bonus, strike, method)
    n_evals = 0 if first is None else first.n_evals
    for h in range(H - 1, -1, -1):
        s_next = prices[:, h + 1]
        Phi_w = Phi[:, h]
        if first is not None:                        # card §3.6: weights 1 / sigma2(s_h)
            v1 = np.maximum(first.hold_value(h + 1, s_next), np.maximum(0.0, strike - s_next)) \
                if h < H - 1 else np.zeros(K)
            C0 = np.linalg.inv(ridge * np.eye(d) + Phi[:, h].T @ Phi[:, h]) @ Phi[:, h].T
            m1 = np.clip(Phi[:, h] @ (C0 @ v1), 0.0, float(H))
            m2 = np.clip(Phi[:, h] @ (C0 @ v1 ** 2), 0.0, float(H * H))
            Phi_w = Phi[:, h] / np.maximum(1.0, m2 - m1 ** 2)[:, None]
        Linv[h] = np.linalg.inv(ridge * np.eye(d) + Phi_w.T @ Phi[:, h])
        if h == H - 1:
            continue                                                  # w_{H-1} = 0
        v = np.maximum(agent.hold_value(h + 1, s_next), np.maximum(0.0, strike - s_next))
        C = Linv[h] @ Phi_w.T                                         # (d, K)
        w[h], n = _estimate(method, oracle, v, C, float(H), lam, rho)
        n_evals += n
    return OptionAgent(readonly(w), readonly(Linv), beta, bonus, strike, method, n_evals)


def price_paths(*, K: int, H: int, p0: float, rng: Any) -> np.ndarray:
    """K price paths of the always-hold behavior from one initial price (card §5.2), drawn
    from a Generator: ``s_1 ~ Uniform[95, 105]``, then up (x1.02) w.p. p0, else down (x0.98).

    Draw order: one uniform for s_1, then a (K, H) array of uniforms; prices are sequential
    products, as the environment computes them.

    Returns
    -------
    prices : (K, H+1)

    Examples
    --------
    >>> import numpy as np
    >>> price_paths(K=3, H=4, p0=0.5, rng=np.random.default_rng(0)).shape
    (3, 5)
    """
    K = check_int("K", K, low=1)
    H = check_int("H", H, low=1)
    p0 = check_in_range("p0", p0, low=0.0, high=1.0)
    rng = np.random.default_rng(rng)
    s1 = float(rng.uniform(95.0, 105.0))
    factors = np.where(rng.random((K, H)) < p0, UP, DOWN)
    prices = np.empty((K, H + 1))
    prices[:, 0] = s1
    for h in range(H):
        prices[:, h + 1] = prices[:, h] * factors[:, h]
    return prices


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
