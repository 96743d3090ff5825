"""Hyper-parameters of R2PVI and its baselines: theory values and experiment values [r2pvi, §3.7].

Card: shared/papers/r2pvi.md §3.3 (DRPVI), §3.5 (PEVI), §3.7 (R2PVI). Every theory constant
here is **[unverified]** on the card (card P16): the log factors and the absolute constants of
the DRPVI and PEVI betas are parameters (``xi`` and ``c``), never hard-coded into a check that
must pass. The theory betas make the bounds valid but vacuous on small instances (KL with
H = 3, lam = 0.3: ``lam e^{H/lam} ~ 6.6e3``), which is why the claims check the beta-free core
lemma (card C5) and use these values only in C6.

Theory betas (``xi`` defaults to the log factor each source states, ``delta`` the failure
probability):

=========== ====================================================== =========================
method      beta                                                   default xi
=========== ====================================================== =========================
R2PVI-TV    16 H d sqrt(xi)                                        log(d H K / delta)
R2PVI-KL    16 d lam e^{H/lam} sqrt(H/lam + xi)                    log(d H K / delta)
R2PVI-chi2  8 d H^2 (1 + 1/lam) sqrt(xi)                           log(d H K / delta)
DRPVI       c d H sqrt(xi), ``beta = O(d H sqrt(log(dHK/delta)))``  log(d H K / delta)
PEVI        c d H sqrt(zeta), ``zeta = log(2 d H K / delta)``      log(2 d H K / delta)
=========== ====================================================== =========================

The R2PVI constants are those the card reports for the paper (§3.7); DRPVI's is the
``O(.)`` of Liu & Xu 2024 (card §3.3) and PEVI's the absolute constant ``c`` of Jin, Yang,
Wang 2021 (card §3.5): neither constant is on the card, so ``c`` defaults to 1 and must be
read as "up to an absolute constant". DRVI-L (card §3.4) has no beta on the card (its
pessimistic variant is **[unverified]**), so none is offered. All theory values take the
ridge ``gamma = 1`` (:data:`HYPERPARAMETERS`).
"""
from __future__ import annotations

import math

from rlsandbox._validate import check_choice, check_in_range, check_int

__all__ = ["THEORY_METHODS", "HYPERPARAMETERS", "theory_beta"]

#: Methods with a theory beta (R2PVI by divergence, then the baselines).
THEORY_METHODS = ("tv", "kl", "chi2", "drpvi", "pevi")

#: Card §3.7 (and §1.2 for the experiments): theory value, experiment values (simulated linear
#: MDP, American put option), and the card's status of the theory value.
HYPERPARAMETERS = {
    "ridge (gamma)": {"theory": "1", "simulated": 0.1, "option": 1.0,
                      "status": "unverified"},
    "beta R2PVI-TV": {"theory": "16 H d sqrt(xi_TV)", "simulated": 1.0, "option": 0.1,
                      "status": "unverified"},
    "beta R2PVI-KL": {"theory": "16 d lam e^{H/lam} sqrt(H/lam + xi_KL)", "simulated": 1.0,
                      "option": 0.1, "status": "unverified"},
    "beta R2PVI-chi2": {"theory": "8 d H^2 (1 + 1/lam) sqrt(xi_chi2)", "simulated": 1.0,
                        "option": 0.1, "status": "unverified"},
    "beta DRPVI": {"theory": "O(d H sqrt(log(d H K / delta)))", "simulated": 1.0,
                   "option": 0.1, "status": "unverified"},
    "beta PEVI": {"theory": "c d H sqrt(log(2 d H K / delta))", "simulated": 1.0,
                  "option": 0.1, "status": "unverified"},
    "xi_TV, xi_KL, xi_chi2": {"theory": "logarithmic in (d, H, K, 1/delta)",
                              "simulated": None, "option": None, "status": "unverified"},
    "lam (R2PVI)": {"theory": "any lam > 0", "simulated": 0.1, "option": (1.0, 3.0, 5.0),
                    "status": "code"},
    "rho (DRPVI, DRVI-L)": {"theory": "any rho >= 0", "simulated": 0.1,
                            "option": (0.025, 0.1, 0.2), "status": "code"},
}


def theory_beta(method: str, *, d: int, H: int, K: int, lam: float | None = None,
                delta: float = 0.01, xi: float | None = None, c: float = 1.0) -> float:
    """The theory bonus multiplier of ``method`` [r2pvi, §3.3, §3.5, §3.7] **[unverified]**.

    Parameters
    ----------
    method : {"tv", "kl", "chi2", "drpvi", "pevi"}
        R2PVI with that divergence, or a baseline.
    d, H, K : int >= 1
        Feature dimension, horizon, number of trajectories.
    lam : float > 0
        The regularization strength (R2PVI only; ignored by the baselines).
    delta : float in (0, 1)
        Failure probability of the high-probability statement (the log factor's default).
    xi : float >= 0, optional
        The log factor; defaults to ``log(d H K / delta)`` (PEVI: ``log(2 d H K / delta)``).
    c : float > 0
        The absolute constant of the DRPVI / PEVI betas (not on the card; 1 by default).
        Ignored for R2PVI, whose constants the card reports.

    Returns
    -------
    float
        TV ``16 H d sqrt(xi)``; KL ``16 d lam e^{H/lam} sqrt(H/lam + xi)``; chi2
        ``8 d H^2 (1 + 1/lam) sqrt(xi)``; DRPVI ``c d H sqrt(xi)``; PEVI ``c d H sqrt(xi)``.

    Examples
    --------
    >>> round(theory_beta("tv", d=4, H=3, K=100, lam=0.3, xi=1.0), 6)
    192.0
    >>> round(theory_beta("pevi", d=4, H=3, K=100), 4)     # 12 sqrt(log(2 * 1200 / 0.01))
    42.2366
    """
    method = check_choice("method", method, THEORY_METHODS)
    d = check_int("d", d, low=1)
    H = check_int("H", H, low=1)
    K = check_int("K", K, low=1)
    delta = check_in_range("delta", delta, low=0.0, high=1.0, low_open=True, high_open=True)
    c = check_in_range("c", c, low=0.0, low_open=True)
    if xi is None:
        xi = math.log((2.0 if method == "pevi" else 1.0) * d * H * K / delta)
    xi = check_in_range("xi", xi, low=0.0)
    if method in ("drpvi", "pevi"):
        return c * d * H * math.sqrt(xi)
    if lam is None:
        raise ValueError(f"theory_beta({method!r}) needs lam > 0 (R2PVI's beta depends on "
                         f"the regularization strength); pass lam=...")
    lam = check_in_range("lam", lam, low=0.0, low_open=True)
    if method == "tv":
        return 16.0 * H * d * math.sqrt(xi)
    if method == "kl":
        return 16.0 * d * lam * math.exp(H / lam) * math.sqrt(H / lam + xi)
    return 8.0 * d * H ** 2 * (1.0 + 1.0 / lam) * math.sqrt(xi)
