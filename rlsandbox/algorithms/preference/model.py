"""Preference bandits: prompts x responses, a reference policy, a true reward, KL regularisation.

The tabular contextual bandit of preference fine-tuning [card preference_coverage, §2.1-2.2]:
prompts x in {0..nX-1} with distribution rho(x) > 0, responses y in {0..K-1} (the same index
set for every prompt; an unavailable response has piref(y|x) = 0), a reference policy
``piref[x, y]``, a true reward ``r[x, y]``, a KL coefficient beta > 0, and a data (response)
policy ``mu[x, y]`` that generates the responses which get compared (SONG24 takes mu = piref;
the card keeps them separate, §6 pitfall 1).

KL-regularised objective and its optimum (card §2.2):

    J_r(pi)   = sum_x rho(x) [ sum_y pi(y|x) r(x, y) ] - beta KL_rho(pi || piref)
    pi_r(y|x) = piref(y|x) exp(r(x, y) / beta) / Z_r(x),   Z_r(x) = sum_y piref(y|x) e^{r/beta}
    (F1) J_r(pi_r) = beta sum_x rho(x) log Z_r(x) = max_pi J_r(pi)
    (F2) J_r(pi_r) - J_r(pi) = beta KL_rho(pi || pi_r)   for supp pi(.|x) within S_ref(x)

with KL_x(pi || piref) = sum_y pi log(pi / piref), 0 log(0/.) = 0 and +inf when pi > 0 = piref.
The regularised gap is G_J(pi) = J(pi*) - J(pi) = beta KL_rho(pi || pi*) and the raw reward gap
G_r(pi) = sum_x rho(x) (E_{pi*} r - E_pi r) (may be negative; card §6 pitfall 11).

Log space throughout (card §6 pitfall 2). Policies enter and leave the functions of this
package as *log-probabilities* ``logpi[x, y]`` (``-inf`` where the probability is 0): the DPO
members of the card's separations put mass exp(-2000) on some responses, which underflows to 0
as a probability but keeps a finite, meaningful log-ratio. :func:`log_policy` turns a
probability table into this form, :func:`probabilities` back.

Shapes: ``piref``, ``mu``, ``r``, ``logpi`` (nX, K); ``rho`` (nX,); features ``phi``
(nX, K, d). Deviations from the card: none (the reward range R is the largest span of r over
a reference support unless given, the smallest value for which C2 applies).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import log_expit, logsumexp

from rlsandbox._validate import (ROW_SUM_ATOL, check_float_array, check_in_range,
                                 check_stochastic, readonly)

__all__ = ["PreferenceBandit", "Gaps", "log_policy", "probabilities", "check_log_policy",
           "logistic_loss", "gibbs", "log_partition", "kl_divergence", "kl_to_reference",
           "expected_reward", "objective", "gaps", "bt_probability", "reward_span"]


# ------------------------------------------------------------------ small numerical helpers
def safe_log(x: np.ndarray) -> np.ndarray:
    """Elementwise log with log 0 = -inf and no warning (x >= 0 assumed)."""
    out = np.full(np.shape(x), -np.inf)
    np.log(x, out=out, where=np.asarray(x) > 0)
    return out


def log_softmax(z: np.ndarray) -> np.ndarray:
    """z - logsumexp(z) along the last axis, in plain NumPy (no array-API dispatch: it runs
    in the training loops). Each row needs one finite entry; -inf entries stay -inf.

    Examples
    --------
    >>> np.exp(log_softmax(np.array([0.0, np.log(3.0), -np.inf]))).round(12).tolist()
    [0.25, 0.75, 0.0]
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def logistic_loss(z: Any) -> np.ndarray | float:
    """f(z) = -log sigma(z) = log(1 + e^{-z}), computed stably (card §2.1).

    Identity used throughout: f(-z) = f(z) + z. ``f(+inf) = 0`` and ``f(-inf) = +inf``.

    Examples
    --------
    >>> float(logistic_loss(0.0)) == float(np.log(2.0))
    True
    >>> z = 3.7
    >>> bool(abs(logistic_loss(-z) - (logistic_loss(z) + z)) < 1e-15)
    True
    """
    return -log_expit(z)


def check_log_policy(name: str, logpi: Any, shape: tuple[int, int]) -> np.ndarray:
    """A read-only float64 copy of a log-policy ``(nX, K)``: entries finite or ``-inf`` (a zero
    probability), no NaN or ``+inf``, each row ``exp``-summing to 1 within 1e-9."""
    try:
        arr = np.array(logpi, dtype=np.float64, copy=True)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of log-probabilities (real numbers), got "
                        f"{type(logpi).__name__}") from None
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} has shape {arr.shape}; expected (nX, K) = {tuple(shape)}")
    bad = np.isnan(arr) | (arr == np.inf)
    if bad.any():
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), arr.shape))
        raise ValueError(f"{name}[{idx[0]}, {idx[1]}] is {arr[idx]}; log-probabilities are finite "
                         f"or -inf (probability 0). Build them with log_policy(pi)")
    sums = np.exp(arr).sum(axis=-1)
    off = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if off.any():
        x = int(np.argmax(off))
        raise ValueError(f"exp({name}[{x}, :]) sums to {sums[x]:.12g}; each row of a log-policy "
                         f"must exponentiate to a distribution (atol {ROW_SUM_ATOL:g}). Normalise "
                         f"with {name} - logsumexp({name}, axis=-1, keepdims=True)")
    return readonly(arr)


def log_policy(pi: Any) -> np.ndarray:
    """Log-probabilities of a validated policy table ``pi[x, y]`` (rows distributions), with
    ``log 0 = -inf``.

    Examples
    --------
    >>> log_policy([[0.5, 0.5, 0.0]])
    array([[-0.69314718, -0.69314718,        -inf]])
    """
    p = check_stochastic("pi", pi, ndim=2)
    return readonly(safe_log(p))


def probabilities(logpi: np.ndarray) -> np.ndarray:
    """``exp(logpi)``: the probability table of a log-policy (read-only)."""
    return readonly(np.exp(np.asarray(logpi, dtype=np.float64)))


# ------------------------------------------------------------------------- the problem
@dataclass(frozen=True, eq=False)
class PreferenceBandit:
    """A tabular preference bandit: reference policy, true reward, KL coefficient (card §2.1).

    Parameters
    ----------
    piref : array (nX, K)
        Reference policy; rows are distributions, zeros allowed (support S_ref(x)).
    r : array (nX, K)
        True reward r*(x, y), finite (only within-prompt differences matter).
    beta : float > 0
        KL coefficient (DPO's beta inside the sigmoid).
    rho : array (nX,), optional
        Prompt distribution, every entry > 0; uniform by default.
    mu : array (nX, K), optional
        Data (response) policy that generates compared responses; ``piref`` by default. Its
        support must lie inside the reference support (a compared response with piref = 0
        makes every reference-based loss undefined, card §2.3).
    R : float >= 0, optional
        Reward range: the span of r over each reference support is at most R (card C2). By
        default the largest such span. A bounded reward class [0, R]^K then contains r* up to
        a per-prompt shift.
    phi : array (nX, K, d), optional
        Features for log-linear policies and linear rewards (card §2.6).

    Attributes
    ----------
    nX, K : numbers of prompts and responses; ``d`` feature dimension (0 without features).
    log_piref, log_mu : (nX, K) logs with -inf at zeros.
    support : (nX, K) bool, piref > 0.
    log_pi_star : (nX, K) log pi* = log pi_{r*} (card §2.2).
    log_Z : (nX,) log Z_{r*}(x).

    Examples
    --------
    The card's P1 "song-zero-mass" (C4): the optimal policy (0.880797, 0.119203, 0).

    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> np.round(b.pi_star, 6)
    array([[0.880797, 0.119203, 0.      ]])
    >>> round(float(b.J_star), 6)                   # beta log Z = 0.716890 (card C4)
    0.71689
    """

    piref: np.ndarray
    r: np.ndarray
    beta: float
    rho: np.ndarray | None = None
    mu: np.ndarray | None = None
    R: float | None = None
    phi: np.ndarray | None = None
    log_piref: np.ndarray = field(init=False, repr=False)
    log_mu: np.ndarray = field(init=False, repr=False)
    support: np.ndarray = field(init=False, repr=False)
    log_pi_star: np.ndarray = field(init=False, repr=False)
    log_Z: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        piref = check_stochastic("piref", self.piref, ndim=2)
        nX, K = piref.shape
        if K < 2:
            raise ValueError(f"piref has K = {K} response; a preference bandit needs K >= 2 "
                             f"responses per prompt")
        r = readonly(check_float_array("r", self.r, shape=(nX, K)))
        beta = check_in_range("beta", self.beta, low=0.0, low_open=True,
                              hint="beta is the KL coefficient; pass a positive float")
        if self.rho is None:
            rho = readonly(np.full(nX, 1.0 / nX))
        else:
            rho = check_stochastic("rho", self.rho, shape=(nX,))
            if (rho <= 0).any():
                x = int(np.argmin(rho))
                raise ValueError(f"rho[{x}] == {rho[x]}; every prompt needs rho(x) > 0 (card "
                                 f"§2.1). Drop prompts with zero mass from the instance")
        mu = piref if self.mu is None else check_stochastic("mu", self.mu, shape=(nX, K))
        outside = (mu > 0) & (piref == 0)
        if outside.any():
            x, y = (int(i) for i in np.argwhere(outside)[0])
            raise ValueError(f"mu[{x}, {y}] = {mu[x, y]:.6g} > 0 but piref[{x}, {y}] = 0; the data "
                             f"policy must stay inside the reference support (a compared response "
                             f"with piref = 0 makes the DPO loss undefined, card §2.3)")
        support = readonly(piref > 0)
        span = reward_span(r, support)
        if self.R is None:
            R = float(span.max())
        else:
            R = check_in_range("R", self.R, low=0.0)
            if span.max() > R * (1.0 + 1e-12) + 1e-12:
                x = int(np.argmax(span))
                raise ValueError(f"r[{x}, :] spans {span[x]:.6g} over the reference support, more "
                                 f"than R = {R:.6g}; pass R >= {span.max():.6g} (or R=None for the "
                                 f"smallest valid range)")
        phi = None
        if self.phi is not None:
            phi = readonly(check_float_array("phi", self.phi, ndim=3))
            if phi.shape[:2] != (nX, K):
                raise ValueError(f"phi has shape {phi.shape}; expected (nX, K, d) = "
                                 f"({nX}, {K}, d)")
        log_piref = readonly(safe_log(piref))
        lw = log_piref + r / beta
        log_Z = logsumexp(lw, axis=-1)
        for name, value in (("piref", piref), ("r", r), ("beta", beta), ("rho", rho), ("mu", mu),
                            ("R", R), ("phi", phi), ("log_piref", log_piref),
                            ("log_mu", readonly(safe_log(mu))), ("support", support),
                            ("log_pi_star", readonly(lw - log_Z[:, None])),
                            ("log_Z", readonly(log_Z))):
            object.__setattr__(self, name, value)

    def __repr__(self) -> str:
        d = 0 if self.phi is None else self.phi.shape[2]
        return (f"PreferenceBandit(nX={self.nX}, K={self.K}, beta={self.beta:g}, R={self.R:g}"
                + (f", d={d}" if d else "") + ")")

    @property
    def nX(self) -> int:
        return self.piref.shape[0]

    @property
    def K(self) -> int:
        return self.piref.shape[1]

    @property
    def d(self) -> int:
        return 0 if self.phi is None else self.phi.shape[2]

    @property
    def pi_star(self) -> np.ndarray:
        """pi* = pi_{r*} as probabilities (nX, K)."""
        return probabilities(self.log_pi_star)

    @property
    def J_star(self) -> float:
        """J(pi*) = beta sum_x rho(x) log Z(x) (card §2.2, F1)."""
        return float(self.beta * (self.rho @ self.log_Z))

    def replace(self, **changes: Any) -> "PreferenceBandit":
        """A copy with some fields changed (validated again)."""
        kw = {k: getattr(self, k) for k in ("piref", "r", "beta", "rho", "mu", "R", "phi")}
        if "piref" in changes and "mu" not in changes and self.mu is self.piref:
            kw["mu"] = None
        if "r" in changes and "R" not in changes:
            kw["R"] = None
        kw.update(changes)
        return PreferenceBandit(**kw)


def reward_span(r: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Per prompt, max - min of ``r[x, :]`` over the responses where ``support[x]`` is True
    (0 for a support of one response). Shape (nX,)."""
    hi = np.where(support, r, -np.inf).max(axis=-1)
    lo = np.where(support, r, np.inf).min(axis=-1)
    return hi - lo


def _logpi(bandit: PreferenceBandit, logpi: Any, name: str = "logpi") -> np.ndarray:
    if not isinstance(bandit, PreferenceBandit):
        raise TypeError(f"expected a PreferenceBandit, got {type(bandit).__name__}")
    return check_log_policy(name, logpi, (bandit.nX, bandit.K))


def _reward(bandit: PreferenceBandit, r: Any) -> np.ndarray:
    if r is None:
        return bandit.r
    return check_float_array("r", r, shape=(bandit.nX, bandit.K))


# ------------------------------------------------------------------------ Gibbs policies
def log_partition(bandit: PreferenceBandit, r: Any = None) -> np.ndarray:
    """log Z_r(x) = logsumexp_y (log piref(y|x) + r(x, y) / beta), shape (nX,) (card §2.2).

    Examples
    --------
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> bool(abs(log_partition(b)[0] - np.log((np.e + 1) / 2)) < 1e-15)
    True
    """
    return readonly(logsumexp(bandit.log_piref + _reward(bandit, r) / bandit.beta, axis=-1))


def gibbs(bandit: PreferenceBandit, r: Any = None) -> np.ndarray:
    """The Gibbs policy pi_r(y|x) = piref(y|x) exp(r(x, y)/beta) / Z_r(x), as log-probabilities
    (nX, K); ``r`` defaults to the true reward (then pi_r = pi*) [card §2.2].

    Computed as ``log piref + r/beta - log Z`` (-inf off the reference support, F4). Only
    within-prompt differences of r matter (F3).

    Examples
    --------
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> np.round(np.exp(gibbs(b, r=[[2.0, 1.0, 7.0]])), 6)       # shifted reward, same policy
    array([[0.880797, 0.119203, 0.      ]])
    """
    lw = bandit.log_piref + _reward(bandit, r) / bandit.beta
    return readonly(lw - logsumexp(lw, axis=-1, keepdims=True))


# ------------------------------------------------------------------------- divergences
def kl_divergence(logp: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """Row-wise KL(p || q) = sum_y p (log p - log q) from log-probabilities, shape (nX,).

    Conventions (card §6 pitfall 2): terms with p = 0 are 0; a term with p > 0 = q is +inf.
    Assumes validated log-policies of equal shape.
    """
    p = np.exp(logp)
    pos = p > 0
    terms = np.zeros(np.shape(logp))
    with np.errstate(invalid="ignore"):                # -inf - (-inf) where p = 0: masked out
        diff = logp - logq
    np.multiply(p, diff, out=terms, where=pos & np.isfinite(logq))
    terms[pos & ~np.isfinite(logq)] = np.inf
    return terms.sum(axis=-1)


def kl_to_reference(bandit: PreferenceBandit, logpi: Any, *, per_prompt: bool = False
                    ) -> float | np.ndarray:
    """KL_rho(pi || piref) = sum_x rho(x) KL_x(pi || piref) (card §2.1), the *reverse* KL of
    SONG24 (expectation under the learned pi); +inf if pi leaves the reference support.

    Parameters
    ----------
    bandit : PreferenceBandit
    logpi : array (nX, K)
        Log-probabilities of pi.
    per_prompt : bool
        Return the (nX,) vector KL_x instead of the rho-average.

    Examples
    --------
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> round(kl_to_reference(b, b.log_pi_star), 6)          # card C4 fixture 0.327813
    0.327813
    >>> kl_to_reference(b, log_policy([[0.4, 0.4, 0.2]]))
    inf
    """
    logpi = _logpi(bandit, logpi)
    kl_x = kl_divergence(logpi, bandit.log_piref)
    return readonly(kl_x) if per_prompt else float(bandit.rho @ kl_x)


def expected_reward(bandit: PreferenceBandit, logpi: Any, r: Any = None) -> float:
    """sum_x rho(x) sum_y pi(y|x) r(x, y) (the "RM score" of the card's E5 analog)."""
    logpi = _logpi(bandit, logpi)
    return float(bandit.rho @ (np.exp(logpi) * _reward(bandit, r)).sum(axis=-1))


def objective(bandit: PreferenceBandit, logpi: Any, r: Any = None) -> float:
    """J_r(pi) = sum_x rho(x) E_pi[r] - beta KL_rho(pi || piref) (card §2.2); -inf when pi
    leaves the reference support.

    Examples
    --------
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> bool(abs(objective(b, b.log_pi_star) - b.J_star) < 1e-15)     # F1
    True
    """
    kl = kl_to_reference(bandit, logpi)
    return -np.inf if kl == np.inf else expected_reward(bandit, logpi, r) - bandit.beta * kl


@dataclass(frozen=True)
class Gaps:
    """Regularised gap, raw reward gap and reverse KL of a policy (card §2.2, pitfall 11).

    Attributes
    ----------
    G_J : J(pi*) - J(pi) = beta KL_rho(pi || pi*) >= 0 (+inf if pi leaves S_ref).
    G_r : sum_x rho(x) (E_{pi*} r* - E_pi r*) (may be negative).
    kl_ref : KL_rho(pi || piref).
    """

    G_J: float
    G_r: float
    kl_ref: float


def gaps(bandit: PreferenceBandit, logpi: Any) -> Gaps:
    """G_J via the gap identity (F2) G_J = beta KL_rho(pi || pi*), G_r from expectations, and
    the reverse KL to the reference (card §2.2, §2.8 second row).

    Examples
    --------
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> gaps(b, b.log_pi_star).G_J
    0.0
    """
    logpi = _logpi(bandit, logpi)
    G_J = bandit.beta * float(bandit.rho @ kl_divergence(logpi, bandit.log_pi_star))
    G_r = expected_reward(bandit, bandit.log_pi_star) - expected_reward(bandit, logpi)
    return Gaps(G_J, G_r, kl_to_reference(bandit, logpi))


def bt_probability(r: Any) -> np.ndarray:
    """Bradley-Terry preference probabilities P[x, y, y'] = sigma(r(x, y) - r(x, y')) for a
    reward table ``r`` (nX, K); shape (nX, K, K) (card §2.3).

    Examples
    --------
    >>> P = bt_probability([[1.0, 0.0]])
    >>> bool(abs(P[0, 0, 1] + P[0, 1, 0] - 1.0) < 1e-15)
    True
    """
    r = check_float_array("r", r, ndim=2)
    diff = r[:, :, None] - r[:, None, :]
    return readonly(np.exp(log_expit(diff)))
