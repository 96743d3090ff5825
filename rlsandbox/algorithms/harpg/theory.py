"""The constants, horizon rule and sequence lemmas of card §2 and §4.1 (N9), computed.

Derived constants [card §2, paper] from r_max, M_g, M_h, gamma and a horizon H:

    L_g     = r_max (M_g^2 + M_h) / (1-gamma)^2             (J and J_H are L_g-smooth)
    sigma_g^2 = r_max^2 M_g^2 / (1-gamma)^3                 (E||g - grad J_H||^2 <= sigma_g^2)
    sigma_h^2 = r_max^2 (H^2 M_g^4 + M_h^2) / (1-gamma)^4   (E||B - hess J_H||^2 <= sigma_h^2)
    D_g     = (M_g r_max/(1-gamma)) sqrt(1/(1-gamma) + H)   (||grad J_H - grad J|| <= D_g gamma^H)
    D_h     = (r_max (M_h + M_g^2)/(1-gamma)) (H + 1/(1-gamma))  (same for Hessians)
    mu      = mu_F^2 / (2 M_g^2),   eps' = mu_F sqrt(eps_bias) / (M_g (1-gamma))

Truncation rule of the theorems: H = (1-gamma)^{-1} log(T+1) (gamma^H <= 1/(T+1)); the card
recommends twice that for rate experiments (§4.1 N11 note, pitfall 9): :func:`horizon`.

Sequence lemmas [card §4.1 N9, paper appendix; lemma numbers unverified]:
(a) eta_t = (2/(t+2))^q, q in [0, 1]: eta_t (1 - eta_{t+1}) <= eta_{t+1} and
    prod_{t=0}^{T-1} (1 - eta_{t+1}) <= eta_T.
(b) with alpha_t = alpha_0 (2/(t+2))^p: sum_{t<T} alpha_t prod_{tau=t+1}^{T-1}(1 - eta_tau)
    <= C(p, q) alpha_T / eta_T; the paper's closed-form C(p, q) is not usable (card: it
    evaluates to astronomically large values, probably a typo), so :func:`c_num` computes
    C_num(p, q) = sup_{T <= T_max} of the ratio, and :func:`c_certified` a constant valid for
    *every* T (a finite-range sup certified by induction beyond the range [derived]).
(c) r_{t+1} - r_t <= -a alpha_t r_t + beta_t, a alpha_t <= 1, alpha_t = 2/(a(t + tau)):
    r_T <= (t0 + tau - 1)^2 r_{t0} / (T + tau - 1)^2 + sum_{t=t0}^{T-1} beta_t (t + tau)^2 / (T + tau - 1)^2.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import check_float_array, check_in_range, check_int
from rlsandbox.algorithms.harpg._kernels import _affine_recursion

__all__ = ["Constants", "constants", "horizon", "harpg_alpha0", "eta_sequence",
           "momentum_ratio", "sequence_ratio", "c_num", "c_certified", "recursion_bound",
           "igt_engine_bound"]


@dataclass(frozen=True)
class Constants:
    """The derived constants of card §2 for given r_max, M_g, M_h, gamma, H (and mu_F)."""

    r_max: float
    M_g: float
    M_h: float
    gamma: float
    H: int
    mu_F: float | None
    L_g: float
    sigma_g2: float
    sigma_h2: float
    D_g: float
    D_h: float
    mu: float | None


def constants(r_max: float, M_g: float, M_h: float, gamma: float, H: int,
              mu_F: float | None = None) -> Constants:
    """Card §2's derived constants (module docstring).

    Examples
    --------
    >>> c = constants(r_max=1.0, M_g=2.0, M_h=0.5, gamma=0.5, H=3, mu_F=1.0)
    >>> c.L_g, c.sigma_g2, c.mu        # (4 + 0.5)/0.25, 4/0.125, 1/8
    (18.0, 32.0, 0.125)
    """
    r_max = check_in_range("r_max", r_max, low=0.0)
    M_g = check_in_range("M_g", M_g, low=0.0)
    M_h = check_in_range("M_h", M_h, low=0.0)
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True)
    H = check_int("H", H, low=1)
    if mu_F is not None:
        mu_F = check_in_range("mu_F", mu_F, low=0.0, low_open=True)
    og = 1.0 - gamma
    return Constants(
        r_max, M_g, M_h, gamma, H, mu_F,
        L_g=r_max * (M_g ** 2 + M_h) / og ** 2,
        sigma_g2=r_max ** 2 * M_g ** 2 / og ** 3,
        sigma_h2=r_max ** 2 * (H ** 2 * M_g ** 4 + M_h ** 2) / og ** 4,
        D_g=M_g * r_max / og * math.sqrt(1.0 / og + H),
        D_h=r_max * (M_h + M_g ** 2) / og * (H + 1.0 / og),
        mu=None if mu_F is None or M_g == 0 else mu_F ** 2 / (2.0 * M_g ** 2),
    )


def horizon(gamma: float, T: int, factor: float = 2.0) -> int:
    """H = ceil(factor (1-gamma)^{-1} log(T+1)); factor 1 is the theorems' rule, 2 the card's
    recommendation for rate experiments (gamma^H <= (T+1)^{-factor}).

    Examples
    --------
    >>> horizon(0.9, 1000, factor=1.0)      # 10 log(1001) = 69.08
    70
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, high_open=True)
    T = check_int("T", T, low=1)
    factor = check_in_range("factor", factor, low=0.0, low_open=True)
    return max(1, math.ceil(factor * math.log(T + 1) / (1.0 - gamma)))


def harpg_alpha0(c: Constants) -> float:
    """HARPG's theoretical alpha_0 = min{1/(8 sqrt6 (L_g + sigma_g + D_h gamma^H)),
    sqrt2 M_g / (sqrt3 sigma_g mu_F)} (card §3.2; the constant may carry a typo, pitfall 16)."""
    if c.mu_F is None:
        raise ValueError("harpg_alpha0 needs mu_F (A3); this problem has none")
    sg = math.sqrt(c.sigma_g2)
    return min(1.0 / (8.0 * math.sqrt(6.0) * (c.L_g + sg + c.D_h * c.gamma ** c.H)),
               math.sqrt(2.0) * c.M_g / (math.sqrt(3.0) * sg * c.mu_F))


def eta_sequence(q: float, T: int) -> np.ndarray:
    """eta_t = (2/(t+2))^q for t = 0 .. T (array (T+1,))."""
    q = check_in_range("q", q, low=0.0)
    T = check_int("T", T, low=0)
    return (2.0 / (np.arange(T + 1) + 2.0)) ** q


def momentum_ratio(q: float, T: int) -> tuple[np.ndarray, np.ndarray]:
    """N9(a) both sides, for t = 0 .. T-1:

    (eta_t (1 - eta_{t+1}) / eta_{t+1},  prod_{s=0}^{t} (1 - eta_{s+1}) / eta_{t+1})

    The lemma says every entry of both arrays is <= 1 for q in [0, 1].

    Examples
    --------
    >>> a, b = momentum_ratio(1.0, 1000)
    >>> bool(a.max() <= 1.0), round(float(b.max()), 3)
    (True, 0.5)
    """
    eta = eta_sequence(q, T)
    step = eta[:-1] * (1.0 - eta[1:]) / eta[1:]
    with np.errstate(divide="ignore"):
        logprod = np.cumsum(np.log1p(-np.minimum(eta[1:], 1.0)))
    prod = np.exp(logprod) / eta[1:]
    return step, prod


def sequence_ratio(p: float, q: float, T_max: int) -> np.ndarray:
    """N9(b): ratio_T = [sum_{t<T} alpha_t prod_{tau=t+1}^{T-1}(1 - eta_tau)] / (alpha_T / eta_T)
    for T = 1 .. T_max (alpha_0 = 1; the ratio is scale free), via the exact recursion
    S_{T+1} = (1 - eta_T) S_T + alpha_T, S_0 = 0.

    Examples
    --------
    >>> r = sequence_ratio(1.0, 0.5, 10)
    >>> r.shape, bool(r[0] == 1.0 * (2/3) ** 0.5 / (2/3))     # T = 1: alpha_0 eta_1 / alpha_1
    ((10,), True)
    """
    p = check_in_range("p", p, low=0.0)
    q = check_in_range("q", q, low=0.0, high=1.0)
    T_max = check_int("T_max", T_max, low=1)
    t = np.arange(T_max + 1, dtype=np.float64)
    alpha = (2.0 / (t + 2.0)) ** p
    eta = (2.0 / (t + 2.0)) ** q
    S = np.empty(T_max + 1)
    _affine_recursion(1.0 - eta[:-1], alpha[:-1], S)                # compiled loop
    return S[1:] * eta[1:] / alpha[1:]


def c_num(p: float, q: float, T_max: int = 200_000) -> float:
    """C_num(p, q) = max_{1 <= T <= T_max} :func:`sequence_ratio` (card N9(b)).

    Examples
    --------
    >>> round(c_num(0.0, 0.8, 200_000), 2)    # the card's prototype: ~0.96 (T <= 2e5)
    0.96
    """
    return float(sequence_ratio(p, q, T_max).max())


def c_certified(p: float, q: float, T0: int = 1000) -> float:
    """A constant C with ratio_T <= C for *all* T >= 1 in N9(b) (:func:`sequence_ratio`) [derived].

    With a_T = alpha_T / eta_T and S_T the sum of N9(b), S_{T+1} = (1 - eta_T) S_T + alpha_T and
    (1 - eta_T) a_T = a_T - alpha_T, so S_T <= C a_T implies S_{T+1} <= C a_{T+1} as soon as
    C (a_T - a_{T+1}) <= (C - 1) alpha_T (eta_T <= 1, C >= 1). For p <= q, a_T is
    nondecreasing and any C >= 1 works. For p > q, a_T - a_{T+1} <= a_T (p - q)/(T + 2)
    (1 - e^{-ky} <= k y with y = -log(1 - 1/(T+3)) <= 1/(T+2)), so it suffices that
    C (p - q) <= (C - 1) 2^q (T + 2)^{1-q}, which holds for all T >= T0 once
    C >= C* = K/(K - (p - q)), K = 2^q (T0 + 2)^{1-q} > p - q (q <= 1). Hence

        C = max(1, max_{T <= T0} ratio_T, C*)      (C* only when p > q)

    bounds ratio_T for every T (the T <= T0 part by inspection, the rest by induction). The
    paper's closed-form C(p, q) is not usable (card N9(b)); this is the sandbox's replacement.

    Examples
    --------
    >>> c = c_certified(1.0, 0.8)
    >>> bool(sequence_ratio(1.0, 0.8, 20_000).max() <= c), round(c, 2)
    (True, 1.08)
    """
    p = check_in_range("p", p, low=0.0)
    q = check_in_range("q", q, low=0.0, high=1.0)
    T0 = check_int("T0", T0, low=1)
    c = max(1.0, float(sequence_ratio(p, q, T0).max()))
    if p > q:
        K = 2.0 ** q * (T0 + 2.0) ** (1.0 - q)
        if K <= p - q:
            raise ValueError(f"c_certified: K = 2^q (T0+2)^(1-q) = {K:.4g} <= p - q = {p - q:.4g}; "
                             f"the induction needs a larger T0 (or q < 1)")
        c = max(c, K / (K - (p - q)))
    return c


def recursion_bound(r_t0: float, beta: Any, t0: int, T: int, tau: float) -> float:
    """N9(c)'s right side: (t0+tau-1)^2 r_t0/(T+tau-1)^2 + sum_{t=t0}^{T-1} beta_t (t+tau)^2/(T+tau-1)^2.

    ``beta`` is indexed by t (length >= T).

    Examples
    --------
    >>> recursion_bound(1.0, np.zeros(10), t0=1, T=5, tau=2.0)    # (2/6)^2
    0.1111111111111111
    """
    t0 = check_int("t0", t0, low=1)
    T = check_int("T", T, low=t0)
    tau = check_in_range("tau", tau, low=0.0)
    beta = check_float_array("beta", beta, ndim=1)
    if beta.size < T:
        raise ValueError(f"beta has {beta.size} entries; need beta_t for t < T = {T}")
    t = np.arange(t0, T, dtype=np.float64)
    den = (T + tau - 1.0) ** 2
    return float((t0 + tau - 1.0) ** 2 * r_t0 / den + (beta[t0:T] * (t + tau) ** 2).sum() / den)


def igt_engine_bound(c: Constants, *, alpha0: float, delta0: float, L_h: float, T_max: int,
                     M: int = 1, eps_prime: float = 0.0) -> np.ndarray:
    """The N-PG-IGT bound with computed constants (card §4.1 N11(a), "proof engine"), for
    t = 0 .. T_max: the sequence u with u_0 = delta0 and

        u_{t+1} = (1 - sqrt(2 mu) alpha_t/3) u_t + (8 alpha_t/3) E_t + L_g alpha_t^2/2
                  + alpha_t eps'/3 + (4 alpha_t/3) D_g gamma^H,
        E_t = 2 sqrt(C(8/5, 4/5)) (sigma_g/sqrt M) eta_t^{1/2} + C(6/5, 4/5) L_h alpha_t^2/eta_t^2
              + 2 D_g gamma^H C(0, 4/5)/eta_t + D_h gamma^H C(1, 4/5) alpha_t/eta_t

    (E_t is N10's bound on E||d_t - grad J_H(theta_t)||), with alpha_t = 2 alpha0/(t+2) and
    eta_t = (2/(t+2))^{4/5}; alpha0 = 3 M_g/mu_F is the theorem's schedule (then
    sqrt(2 mu) alpha_t/3 = 2/(t+2)), other alpha0 the code shape. Since every coefficient is
    nonnegative and 1 - sqrt(2 mu) alpha_t/3 >= 0 (checked), u_t >= J* - E J(theta_t) whenever
    delta0 >= J* - J(theta_0) and the engine's inequalities hold. C(p, q) is
    :func:`c_certified`; sigma_g/sqrt(M) is the standard deviation of an M-trajectory mean.
    eps' = 0 gives the part of the bound without the eps_bias floor. The card calls these
    constants indicative (pitfall 16): the chain is the card's, not re-derived here.

    Examples
    --------
    >>> c = constants(r_max=1.0, M_g=2 ** 0.5 / 0.5, M_h=2.0, gamma=0.0, H=1, mu_F=4 / 3)
    >>> u = igt_engine_bound(c, alpha0=3 * c.M_g / c.mu_F, delta0=0.2, L_h=2.0, T_max=4)
    >>> u.shape, bool(u[1] > 0)                  # u_1 no longer depends on delta0 (factor 0)
    ((5,), True)
    """
    if c.mu_F is None:
        raise ValueError("igt_engine_bound needs mu_F (A3); build the constants with mu_F")
    alpha0 = check_in_range("alpha0", alpha0, low=0.0, low_open=True)
    delta0 = check_in_range("delta0", delta0, low=0.0)
    L_h = check_in_range("L_h", L_h, low=0.0)
    eps_prime = check_in_range("eps_prime", eps_prime, low=0.0)
    T_max = check_int("T_max", T_max, low=1)
    M = check_int("M", M, low=1)
    t = np.arange(T_max, dtype=np.float64)
    alpha = 2.0 * alpha0 / (t + 2.0)
    eta = eta_sequence(0.8, T_max - 1)
    contraction = 1.0 - (c.mu_F / c.M_g) * alpha / 3.0
    if contraction.min() < -1e-12:
        raise ValueError(f"igt_engine_bound: alpha0 = {alpha0:.4g} makes 1 - sqrt(2mu) alpha_0/3 "
                         f"= {contraction.min():.4g} < 0; the engine needs alpha0 <= "
                         f"3 M_g/mu_F = {3 * c.M_g / c.mu_F:.4g}")
    contraction = np.maximum(contraction, 0.0)     # -1e-12 .. 0 is round-off of the theorem's 0
    gH = c.gamma ** c.H
    err = (2.0 * math.sqrt(c_certified(1.6, 0.8)) * math.sqrt(c.sigma_g2 / M) * np.sqrt(eta)
           + c_certified(1.2, 0.8) * L_h * alpha ** 2 / eta ** 2
           + 2.0 * c.D_g * gH * c_certified(0.0, 0.8) / eta
           + c.D_h * gH * c_certified(1.0, 0.8) * alpha / eta)
    b = (8.0 * alpha / 3.0) * err + c.L_g * alpha ** 2 / 2.0 + alpha * eps_prime / 3.0 \
        + (4.0 * alpha / 3.0) * c.D_g * gH
    b[0] += contraction[0] * delta0                 # the kernel starts from 0
    out = np.empty(T_max + 1)
    _affine_recursion(contraction, b, out)
    out[0] = delta0
    return out
