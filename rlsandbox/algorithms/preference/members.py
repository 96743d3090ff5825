"""Members of the approximate-solution sets of the card's separations (C5-C8): the DPO member
pi^delta, the boosted family, bounded RLHF rewards with a given error, random policies.

The card compares the approximate solution sets [preference_coverage, C5]

    Pi_DPO(eps)  = { pi : E_mu^dpo(pi) <= eps },
    Pi_RLHF(eps) = { pi_{r_hat} : r_hat in [0, R]^K, E_mu(r_hat) <= eps }.

Their suprema of KL or G_J are not computed in closed form here; these generators give the
card's explicit members and heuristic search candidates (card C5: "a numerical worst-case
search over Pi_RLHF(eps) ... heuristic search; assert only the universal bounds"):

* :func:`dpo_member_reward` -- pi^delta = pi_{r* + sqrt(eps / mu_min) e_min} per prompt: the
  card's C5 member, E_mu^dpo = (1 - mu_min) eps, KL -> log C_glo as mu_min -> 0;
* :func:`boosted_family` -- pi_{r* + s e_min} for s on a grid: DPO-approximate solutions of
  every error, from inside to far outside the KL ball (C8's control);
* :func:`bounded_rewards` -- rewards in [0, R]^K (r*, uniform draws, one-response boosts and
  cuts), optionally moved towards r* until E_mu(r_hat) <= eps (members of Pi_RLHF(eps)).

Deviations: heuristic candidates, not certified worst cases.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq

from rlsandbox._validate import check_in_range, check_int, check_rng
from rlsandbox.algorithms.preference.coverage import reward_error
from rlsandbox.algorithms.preference.model import PreferenceBandit, gibbs, log_policy

__all__ = ["dpo_member_reward", "boosted_family", "boundary_member", "bounded_rewards",
           "random_policies", "rare_response"]


def rare_response(bandit: PreferenceBandit) -> np.ndarray:
    """(nX,) int: per prompt, the response with the smallest positive data mass mu."""
    return np.argmin(np.where(bandit.mu > 0, bandit.mu, np.inf), axis=1)


def dpo_member_reward(bandit: PreferenceBandit, eps: float) -> np.ndarray:
    """The implicit reward of the card's DPO member pi^delta (C5): r* + sqrt(eps / mu(y_x|x))
    on the rarest response y_x of every prompt. Its error is E_mu = sum_x rho(x)
    (1 - mu(y_x|x)) eps <= eps; pi^delta = gibbs(bandit, reward).

    Examples
    --------
    >>> from rlsandbox.mdps.preference import song_small_mass
    >>> b = song_small_mass(1e-4)
    >>> from rlsandbox.algorithms.preference import gaps, gibbs
    >>> round(gaps(b, gibbs(b, dpo_member_reward(b, 0.01))).kl_ref, 3)     # card C5: 9.208
    9.208
    """
    eps = check_in_range("eps", eps, low=0.0)
    r = np.array(bandit.r, dtype=np.float64)
    y = rare_response(bandit)
    for x in range(bandit.nX):
        r[x, y[x]] += math.sqrt(eps / bandit.mu[x, y[x]])
    return r


def boosted_family(bandit: PreferenceBandit, n: int = 100, s_max: float = 40.0
                   ) -> list[tuple[float, np.ndarray]]:
    """(s, log pi_{r* + s e_min}) for n values of s evenly spaced in (0, s_max]: DPO-approximate
    solutions with E_mu^dpo = sum_x rho(x) s^2 mu_min(1 - mu_min), whose KL grows with s."""
    n = check_int("n", n, low=1)
    s_max = check_in_range("s_max", s_max, low=0.0, low_open=True)
    e = np.zeros(bandit.r.shape)
    e[np.arange(bandit.nX), rare_response(bandit)] = 1.0
    return [(float(s), gibbs(bandit, bandit.r + s * e))
            for s in np.linspace(s_max / n, s_max, n)]


def boundary_member(bandit: PreferenceBandit, eps: float, kappa: float
                    ) -> tuple[float, np.ndarray]:
    """The member of the boosted family pi_s = pi_{r* + s e_min} at the edge of HyPO's
    constraint set {E_mu^dpo <= eps, KL_rho(pi || piref) <= kappa}: s* = min(s_E, s_KL) with
    s_E = sqrt(eps / sum_x rho(x) mu_min(1 - mu_min)) (E grows like s^2) and s_KL the root of
    KL(pi_s || piref) = kappa (Brent's method on a doubling bracket, to 4 float64 ulps of s;
    +inf if the KL stays below kappa for s up to 1e6).
    Along the family G_J = beta KL(pi_s || pi*) increases with s, so pi_{s*} is the family's
    worst member inside the set. Returns (s*, log pi_{s*}).

    Examples
    --------
    >>> from rlsandbox.mdps.preference import song_small_mass
    >>> from rlsandbox.algorithms.preference import kl_to_reference
    >>> b = song_small_mass(1e-8)
    >>> s, lp = boundary_member(b, 0.01, 2.0)
    >>> round(kl_to_reference(b, lp), 9)
    2.0
    """
    eps = check_in_range("eps", eps, low=0.0)
    kappa = check_in_range("kappa", kappa, low=0.0)
    y = rare_response(bandit)
    e = np.zeros(bandit.r.shape)
    e[np.arange(bandit.nX), y] = 1.0
    m = bandit.mu[np.arange(bandit.nX), y]
    spread = float(bandit.rho @ (m * (1.0 - m)))
    s_E = math.inf if spread == 0 else math.sqrt(eps / spread)

    def kl(s):
        from rlsandbox.algorithms.preference.model import kl_to_reference
        return kl_to_reference(bandit, gibbs(bandit, bandit.r + s * e))

    hi = 1.0
    while kl(hi) <= kappa and hi < 1e6:
        hi *= 2.0
    if kl(hi) <= kappa:
        s_KL = math.inf
    else:
        lo = 0.0 if kl(0.0) <= kappa else None
        if lo is None:                       # pi* itself is outside the ball
            return 0.0, gibbs(bandit)
        # kl(lo) <= kappa < kl(hi): a sign change of kl - kappa, found by Brent's method to
        # xtol + rtol s (rtol = 4 ulps); the returned root is then nudged to the feasible side
        s_KL = brentq(lambda s: kl(s) - kappa, lo, hi, xtol=1e-300,
                      rtol=4 * np.finfo(np.float64).eps, maxiter=200)
        while s_KL > lo and kl(s_KL) > kappa:
            s_KL = np.nextafter(s_KL, lo)
    s = min(s_E, s_KL)
    if not math.isfinite(s):
        s = 1e6
    return s, gibbs(bandit, bandit.r + s * e)


def bounded_rewards(bandit: PreferenceBandit, *, rng, n: int = 3, eps: float | None = None
                    ) -> list[tuple[str, np.ndarray]]:
    """Rewards of the bounded class [0, R]^K: r* (shifted to min 0 per prompt, F3), ``n``
    uniform draws, and every one-response boost (set to R) and cut (set to 0). With ``eps``,
    each is moved towards r* (r* + s (r_hat - r*), s = min(1, sqrt(eps / E))) so that
    E_mu(r_hat) <= eps: members of Pi_RLHF(eps) (card C5). Labels name each candidate."""
    rng = check_rng("rng", rng)
    n = check_int("n", n, low=0)
    R = bandit.R
    base = bandit.r - np.where(bandit.support, bandit.r, np.inf).min(axis=1, keepdims=True)
    base = np.clip(np.where(bandit.support, base, 0.0), 0.0, R)
    out = [("r*", base)]
    for j in range(n):
        out.append((f"uniform#{j}", rng.uniform(0.0, R, size=bandit.r.shape)))
    for y in range(bandit.K):
        boost = base.copy()
        boost[:, y] = R
        out.append((f"boost y{y}", boost))
        cut = base.copy()
        cut[:, y] = 0.0
        out.append((f"cut y{y}", cut))
    if eps is None:
        return out
    eps = check_in_range("eps", eps, low=0.0)
    scaled = []
    for label, full in out:
        E = reward_error(bandit, full)
        s = 1.0 if E <= eps else math.sqrt(eps / E)
        scaled.append((label + " (E <= eps)", base + s * (full - base)))
    return scaled


def random_policies(bandit: PreferenceBandit, *, rng, n: int) -> list[np.ndarray]:
    """n random log-policies on the reference support, Dirichlet rows with concentrations
    cycling through 0.3, 1, 3 (entries floored at 1e-300 so the support is exactly S_ref)."""
    rng = check_rng("rng", rng)
    out = []
    for j in range(check_int("n", n, low=0)):
        c = (0.3, 1.0, 3.0)[j % 3]
        w = np.maximum(rng.dirichlet(np.full(bandit.K, c), size=bandit.nX), 1e-300)
        w = w * bandit.support
        out.append(log_policy(w / w.sum(axis=1, keepdims=True)))
    return out
