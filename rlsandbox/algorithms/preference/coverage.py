"""Coverage coefficients and in-distribution errors of preference data (card §2.4-2.5).

All ratios are taken with respect to the data policy mu (SONG24 takes mu = piref; card §6
pitfall 1):

    C_glo         = sup_pi max_{x,y} pi(y|x) / mu(y|x) = max_{x,y} 1 / mu(y|x)
                    (SONG24 Assumption 4.1, "global coverage"; +inf iff mu has a zero)
    C_inf(pi)     = max_{x,y} pi(y|x) / mu(y|x)                 (single-policy concentrability)
    C_2(pi)       = sum_x rho(x) sum_y pi(y|x)^2 / mu(y|x)       (= 1 + chi^2; C_2 <= C_inf)
    C_loc(eps)    = sup { C_inf(pi) : KL_rho(pi || piref) <= eps }
                    (SONG24 Assumption 4.2, "local KL-ball coverage")

Exact C_loc [card §2.5, derived]: with kl2(q || p) = q log(q/p) + (1-q) log((1-q)/(1-p)) and
qbar(p, kappa) = max{ q in [p, 1] : kl2(q || p) <= kappa } (1 if kappa >= log(1/p), else by
bisection), C_loc(eps) = max over (x, y) with piref(y|x) > 0 of qbar(piref(y|x), eps / rho(x))
/ mu(y|x). The cheapest way (in KL) to put mass q on one (x, y) rescales the rest of prompt x
proportionally and spends the whole budget eps on that prompt (KL_x <= eps / rho(x)).

In-distribution errors modulo the per-prompt constant BT cannot see (card §2.4, pitfall 7):

    E_mu(r_hat)    = sum_x rho(x) min_c sum_y mu(y|x) (r_hat - r* - c)^2
                   = sum_x rho(x) Var_{y ~ mu(.|x)}[r_hat - r*]
    E_mu^dpo(pi)   = E_mu(beta (log pi - log piref))

Deviations: none. SONG24's exact normalisation of its errors is unverified (card §2.4): it may
fix the constant instead of optimising it, which is never smaller.
"""
from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from rlsandbox._validate import check_in_range
from rlsandbox.algorithms.preference.model import PreferenceBandit, _logpi

__all__ = ["kl_bernoulli", "kl_ball_max_mass", "global_coverage", "concentrability",
           "second_moment_coverage", "local_coverage", "reward_error", "dpo_error"]

#: Bisection steps for qbar: the bracket [p, 1] halves each step, so 200 steps reach the
#: float64 spacing of q (the loop stops earlier once the midpoint no longer moves).
_BISECT_STEPS = 200


def kl_bernoulli(q: float, p: float) -> float:
    """kl2(q || p) = q log(q/p) + (1-q) log((1-q)/(1-p)) for q, p in [0, 1] (0 log 0 = 0).

    Examples
    --------
    >>> kl_bernoulli(0.5, 0.5)
    0.0
    >>> round(kl_bernoulli(1.0, 0.25), 12) == round(float(np.log(4.0)), 12)
    True
    """
    with np.errstate(divide="ignore"):
        return float(xlogy(q, q) - xlogy(q, p) + xlogy(1 - q, 1 - q) - xlogy(1 - q, 1 - p))


def kl_ball_max_mass(p: float, kappa: float) -> float:
    """qbar(p, kappa) = max{ q in [p, 1] : kl2(q || p) <= kappa } (card §2.5).

    1 when kappa >= log(1/p) (all mass on the response costs exactly log(1/p)); otherwise
    bisection on [p, 1), kl2(. || p) being increasing there. Returns the lower end of the final
    bracket, so kl2(qbar || p) <= kappa always holds (the result never overstates the mass).

    Examples
    --------
    >>> kl_ball_max_mass(0.25, 10.0)
    1.0
    >>> q = kl_ball_max_mass(0.25, 0.1)
    >>> bool(kl_bernoulli(q, 0.25) <= 0.1 < kl_bernoulli(q + 1e-12, 0.25))
    True
    """
    p = check_in_range("p", p, low=0.0, high=1.0, low_open=True)
    kappa = check_in_range("kappa", kappa, low=0.0)
    if p == 1.0 or kappa >= -np.log(p):
        return 1.0
    lo, hi = p, 1.0
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if mid <= lo or mid >= hi:
            break
        if kl_bernoulli(mid, p) <= kappa:
            lo = mid
        else:
            hi = mid
    return lo


def global_coverage(bandit: PreferenceBandit) -> float:
    """C_glo = max_{x,y} 1 / mu(y|x), +inf if mu has a zero (SONG24 Assumption 4.1 [paper];
    card §2.5).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> global_coverage(PreferenceBandit(piref=[[0.5, 0.25, 0.25]], r=[[0, 0, 0]], beta=1.0))
    4.0
    """
    mu_min = float(bandit.mu.min())
    return float("inf") if mu_min == 0.0 else 1.0 / mu_min


def concentrability(bandit: PreferenceBandit, logpi) -> float:
    """C_inf(pi) = max_{x,y} pi(y|x) / mu(y|x) (0/0 = 0; +inf if pi > 0 = mu) (card §2.5)."""
    logpi = _logpi(bandit, logpi)
    pos = np.isfinite(logpi)
    if (pos & (bandit.mu == 0)).any():
        return float("inf")
    return float(np.exp(logpi[pos] - bandit.log_mu[pos]).max())


def second_moment_coverage(bandit: PreferenceBandit, logpi) -> float:
    """C_2(pi) = sum_x rho(x) sum_y pi(y|x)^2 / mu(y|x) = 1 + chi^2(pi || mu) (rho-averaged)
    (card §2.5); +inf if pi > 0 = mu.

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> second_moment_coverage(b, b.log_piref)                 # pi = mu: C_2 = 1
    1.0
    """
    logpi = _logpi(bandit, logpi)
    pos = np.isfinite(logpi)
    if (pos & (bandit.mu == 0)).any():
        return float("inf")
    terms = np.zeros(logpi.shape)
    terms[pos] = np.exp(2.0 * logpi[pos] - bandit.log_mu[pos])
    return float(bandit.rho @ terms.sum(axis=-1))


def local_coverage(bandit: PreferenceBandit, eps: float, *, per_prompt_budget: bool = True
                   ) -> float:
    """C_loc(eps) = sup{ C_inf(pi) : KL_rho(pi || piref) <= eps } in closed form (card §2.5):
    max over (x, y) with piref(y|x) > 0 of qbar(piref(y|x), eps / rho(x)) / mu(y|x); +inf if
    such a y has mu(y|x) = 0. Responses with piref = 0 contribute 0 (finite KL forbids mass
    there), so C_loc is finite even when C_glo = inf (SONG24 Assumption 4.2 [paper]).

    Parameters
    ----------
    bandit : PreferenceBandit
    eps : float >= 0
        KL budget (SONG24's epsilon_kl; R/beta always contains pi* and every bounded RLHF
        output, card C2).
    per_prompt_budget : bool
        True (correct): prompt x may spend eps / rho(x). False is the card's C9 negative
        control (budget eps on every prompt), which under-estimates C_loc.

    Examples
    --------
    The card's C9(iii) instance: C_loc(0.01) = 1.649, C_loc(1) = 9.511.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[.6, .3, .1, 0], [.25, .25, .25, .25]], r=np.zeros((2, 4)),
    ...                      beta=1.0, rho=[.5, .5])
    >>> round(local_coverage(b, 0.01), 3), round(local_coverage(b, 1.0), 3)
    (1.649, 9.511)
    """
    eps = check_in_range("eps", eps, low=0.0)
    best = 0.0
    for x in range(bandit.nX):
        kappa = eps / bandit.rho[x] if per_prompt_budget else eps
        for y in np.flatnonzero(bandit.support[x]):
            if bandit.mu[x, y] == 0:
                return float("inf")
            best = max(best, kl_ball_max_mass(float(bandit.piref[x, y]), kappa) / bandit.mu[x, y])
    return float(best)


def reward_error(bandit: PreferenceBandit, r_hat) -> float:
    """E_mu(r_hat) = sum_x rho(x) Var_{y ~ mu(.|x)}[r_hat(x, y) - r*(x, y)] (card §2.4): the
    squared error under the data distribution with the optimal per-prompt constant.

    Only responses with mu > 0 enter; r_hat may be -inf/+inf elsewhere (not on mu's support,
    where the error is then +inf).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> reward_error(b, [[3.0, 2.0]])                      # a shift is invisible to BT
    0.0
    """
    r_hat = np.array(r_hat, dtype=np.float64)
    if r_hat.shape != (bandit.nX, bandit.K) or np.isnan(r_hat).any():
        raise ValueError(f"r_hat must be a (nX, K) = ({bandit.nX}, {bandit.K}) array without NaN")
    on = bandit.mu > 0
    if not np.isfinite(r_hat[on]).all():
        return float("inf")
    e = np.where(on, r_hat - bandit.r, 0.0)
    mean = (bandit.mu * e).sum(axis=-1, keepdims=True)
    var = (bandit.mu * np.where(on, (e - mean) ** 2, 0.0)).sum(axis=-1)
    return float(bandit.rho @ var)


def dpo_error(bandit: PreferenceBandit, logpi) -> float:
    """E_mu^dpo(pi) = E_mu(beta (log pi - log piref)) (card §2.4): the implicit reward's error.

    +inf if pi puts zero mass on a response mu covers.
    """
    logpi = _logpi(bandit, logpi)
    on = bandit.mu > 0
    if not np.isfinite(logpi[on]).all():
        return float("inf")
    with np.errstate(invalid="ignore"):
        g = np.where(on, bandit.beta * (logpi - bandit.log_piref), 0.0)
    return reward_error(bandit, g)

