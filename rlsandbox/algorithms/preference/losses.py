"""Pairwise preference losses (DPO, DPO-noref, IPO, rDPO, cDPO, SimPO) and their gradients.

Every loss of the card [preference_coverage, §3.2-3.6] is a function of one *margin* per
labelled pair (x, y+, y-):

* reference margin (DPO, IPO, rDPO, cDPO, HyPO):  h = g(y+) - g(y-),  g = log pi - log piref;
* reference-free margin (SimPO, DPO-noref):       u = log pi(y+) - log pi(y-)
  (single-token responses: SimPO's length normalisation divides by |y| = 1).

and the loss of a dataset is the weighted *sum* sum_{x,y,y'} W[x, y, y'] ell(m[x, y, y'])
(population q: an expectation; counts: a sum over samples; card §3.2). The per-pair losses,
with f(z) = -log sigma(z):

    dpo / noref   ell(m) = f(beta m)
    rdpo          ell(m) = [(1-eps) f(z) - eps f(-z)] / (1 - 2 eps) = f(z) - eps z/(1-2 eps),
                  z = beta m                      (RDPO24, TRL loss_type="robust"; card §3.6)
    cdpo          ell(m) = (1-eps) f(z) + eps f(-z) = f(z) + eps z,  z = beta m  (label smoothing)
    ipo           ell(m) = (m - 1/(2 tau))^2                         (IPO23; card §3.4)
    simpo         ell(m) = f(simpo_beta m - simpo_gamma)             (SIMPO24; card §3.5)

Gradients. With tabular logits theta[x, :] (pi = softmax theta) the log-normaliser cancels in
both margins, so d m / d theta_x = e_{y+} - e_{y-}: responses never compared never move (card
§3.2, C10). With log-linear pi_theta(y|x) proportional to piref exp(theta^T phi(x, y)) (card §2.6),
d m / d theta = phi(x, y+) - phi(x, y-). The KL penalty of HyPO has exact gradients
d KL_x / d theta_{x, y} = pi(y|x) (l(x, y) - E_pi l), l = log pi - log piref (tabular) and
d KL_x / d theta = Cov_pi(phi, l) (log-linear) [card §3.7].

Parameter names stay distinct (card §6 pitfall 6): the bandit's ``beta`` is the KL coefficient;
IPO's ``tau``; SimPO's ``simpo_beta`` (logit scale) and ``simpo_gamma`` (target margin); rDPO's
``eps`` (flip rate) and cDPO's ``eps`` (label smoothing). SimPO and DPO-noref are defined here
for single-token (bandit) responses; on sequences :func:`rlsandbox.algorithms.preference.token.
train_token` applies the same PairLoss to the mean (SimPO) or summed (DPO-noref) token
log-probabilities.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logsumexp

from rlsandbox._validate import check_choice, check_float_array, check_in_range, readonly
from rlsandbox.algorithms.preference.data import PairData, check_pair_data
from rlsandbox.algorithms.preference.model import (PreferenceBandit, check_log_policy,
                                                   kl_divergence, logistic_loss)

__all__ = ["PairLoss", "dpo", "dpo_noref", "ipo", "rdpo", "cdpo", "simpo", "margins",
           "preference_loss", "loss_gradient_logits", "loss_gradient_loglinear",
           "kl_gradient_logits", "kl_gradient_loglinear", "loglinear_policy", "LOSSES"]

LOSSES = ("dpo", "dpo_noref", "ipo", "rdpo", "cdpo", "simpo")


@dataclass(frozen=True)
class PairLoss:
    """One per-pair loss ell(m) of the margin m (see the module docstring).

    Logistic family: ell(m) = f(a m - b) + c (a m - b); square family: ell(m) = (m - t)^2.

    Attributes
    ----------
    name : one of LOSSES.
    reference : True for the reference margin h, False for the reference-free margin u.
    family : "logistic" or "square".
    a, b, c : logistic-family coefficients (scale, shift, linear term).
    t : square-family target margin 1/(2 tau).
    """

    name: str
    reference: bool
    family: str
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    t: float = 0.0

    def value(self, m: np.ndarray) -> np.ndarray:
        """ell(m) elementwise (m may be +-inf: f(+inf) = 0, f(-inf) = +inf)."""
        m = np.asarray(m, dtype=np.float64)
        if self.family == "square":
            return (m - self.t) ** 2
        z = self.a * m - self.b
        if self.c == 0.0:
            return logistic_loss(z)
        return logistic_loss(z) + self.c * z

    def derivative(self, m: np.ndarray) -> np.ndarray:
        """d ell / d m elementwise: a (-sigma(-z) + c) (logistic), 2 (m - t) (square)."""
        m = np.asarray(m, dtype=np.float64)
        if self.family == "square":
            return 2.0 * (m - self.t)
        z = self.a * m - self.b
        return self.a * (-expit(-z) + self.c)

    def curvature(self, m: np.ndarray) -> np.ndarray:
        """d^2 ell / d m^2 elementwise: a^2 sigma(z) sigma(-z) (logistic), 2 (square)."""
        m = np.asarray(m, dtype=np.float64)
        if self.family == "square":
            return np.full(m.shape, 2.0)
        z = self.a * m - self.b
        return self.a ** 2 * expit(z) * expit(-z)


def dpo(beta: float) -> PairLoss:
    """DPO's per-pair loss f(beta h) [DPO23; card §3.2]."""
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    return PairLoss("dpo", True, "logistic", a=beta)


def dpo_noref(beta: float) -> PairLoss:
    """The negative-control "DPO that drops the reference": f(beta (log pi(y+) - log pi(y-)))
    (card §3.2). Its population optimum on a connected full-support graph is softmax(r*/beta)."""
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    return PairLoss("dpo_noref", False, "logistic", a=beta)


def ipo(tau: float) -> PairLoss:
    """IPO's per-pair loss (h - 1/(2 tau))^2 [IPO23; card §3.4]."""
    tau = check_in_range("tau", tau, low=0.0, low_open=True)
    return PairLoss("ipo", True, "square", t=1.0 / (2.0 * tau))


def rdpo(beta: float, eps: float) -> PairLoss:
    """Robust DPO's de-biased loss f(z) - eps z / (1 - 2 eps), z = beta h [RDPO24; card §3.6].

    Unbounded below as z -> +inf when eps > 0 (card §6 pitfall 9)."""
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True,
                         hint="rDPO needs the known flip rate eps < 1/2")
    return PairLoss("rdpo", True, "logistic", a=beta, c=-eps / (1.0 - 2.0 * eps))


def cdpo(beta: float, eps: float) -> PairLoss:
    """Conservative DPO / label smoothing (1 - eps) f(z) + eps f(-z) = f(z) + eps z, z = beta h
    (card §3.6; biased, C12)."""
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True)
    return PairLoss("cdpo", True, "logistic", a=beta, c=eps)


def simpo(simpo_beta: float, simpo_gamma: float) -> PairLoss:
    """SimPO's reference-free loss f(simpo_beta u - simpo_gamma) [SIMPO24; card §3.5]: u is the
    log-probability margin for single-token responses, the mean token log-probability margin
    in :func:`rlsandbox.algorithms.preference.token.train_token`."""
    a = check_in_range("simpo_beta", simpo_beta, low=0.0, low_open=True)
    b = check_in_range("simpo_gamma", simpo_gamma, low=0.0)
    return PairLoss("simpo", False, "logistic", a=a, b=b)


# ------------------------------------------------------------------------------ margins
def margins(bandit: PreferenceBandit, logpi: np.ndarray, *, reference: bool = True
            ) -> np.ndarray:
    """Margins m[x, y, y'] of every ordered pair: h (reference) or u (reference-free).

    A pair with one infinite log-ratio gets m = +-inf; a pair of two infinite log-ratios of the
    same sign (never a compared pair: :func:`preference_loss` returns +inf as soon as a
    compared response has probability 0) gets 0, so no NaN leaves. Shape (nX, K, K).
    """
    logpi = np.asarray(logpi, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        g = logpi - bandit.log_piref if reference else logpi.copy()
        g[np.isnan(g)] = 0.0                      # -inf - (-inf): off both supports, unused
        m = g[:, :, None] - g[:, None, :]
    m[np.isnan(m)] = 0.0                          # two infinities of one sign: unused pairs
    return m


def _prepare(bandit: PreferenceBandit, data: PairData, logpi) -> np.ndarray:
    check_pair_data(bandit, data)
    return check_log_policy("logpi", logpi, (bandit.nX, bandit.K))


def preference_loss(bandit: PreferenceBandit, data: PairData, logpi, loss: PairLoss) -> float:
    """sum_{x, y, y'} W[x, y, y'] ell(m[x, y, y']) (card §3.2-3.6).

    Returns +inf if pi puts zero probability on a compared response (its implicit reward is
    -inf; no DPO-type loss is finite there).

    Examples
    --------
    The card's P1: every member of the DPO family pi_t has loss H(sigma(1)) = 0.582203 (C4).

    >>> from rlsandbox.algorithms.preference import (PreferenceBandit, log_policy,
    ...                                              population_pairs)
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> q = population_pairs(b)
    >>> round(preference_loss(b, q, b.log_pi_star, dpo(b.beta)), 6)
    0.582203
    """
    if not isinstance(loss, PairLoss):
        raise TypeError(f"loss must be a PairLoss (dpo(beta), ipo(tau), ...), got "
                        f"{type(loss).__name__}")
    logpi = _prepare(bandit, data, logpi)
    used = data.W > 0
    if (used & ~np.isfinite(logpi)[:, :, None]).any() or \
            (used & ~np.isfinite(logpi)[:, None, :]).any():
        return float("inf")
    m = margins(bandit, logpi, reference=loss.reference)
    return float(np.sum(data.W[used] * loss.value(m[used])))


def _pair_coeffs(bandit, data, logpi, loss) -> np.ndarray:
    """c[x, y, y'] = W ell'(m) on used pairs (0 elsewhere)."""
    used = data.W > 0
    m = margins(bandit, logpi, reference=loss.reference)
    c = np.zeros(data.W.shape)
    c[used] = data.W[used] * loss.derivative(m[used])
    return c


def loss_gradient_logits(bandit: PreferenceBandit, data: PairData, logpi, loss: PairLoss
                         ) -> np.ndarray:
    """Gradient of :func:`preference_loss` w.r.t. tabular logits theta (nX, K) at pi =
    softmax(theta) (card §3.2): sum_pairs W ell'(m) (e_{y+} - e_{y-}).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit, pairs_from_list
    >>> b = PreferenceBandit(piref=[[0.25] * 4], r=[[1.0, 0.0, 0.0, 0.0]], beta=1.0)
    >>> G = loss_gradient_logits(b, pairs_from_list(1, 4, [(0, 0, 1)]), b.log_piref, dpo(1.0))
    >>> G.tolist()                                   # -beta sigma(0) (e_0 - e_1); 2, 3 frozen
    [[-0.5, 0.5, 0.0, 0.0]]
    """
    logpi = _prepare(bandit, data, logpi)
    c = _pair_coeffs(bandit, data, logpi, loss)
    return readonly(c.sum(axis=2) - c.sum(axis=1))


def loglinear_policy(bandit: PreferenceBandit, theta) -> np.ndarray:
    """log pi_theta(y|x) = log piref(y|x) + theta^T phi(x, y) - log normaliser (card §2.6);
    shape (nX, K), -inf off the reference support.

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0,
    ...                      phi=[[[1.0], [0.0]]])
    >>> np.allclose(np.exp(loglinear_policy(b, [1.0])), b.pi_star)   # r = beta theta^T phi
    True
    """
    if bandit.phi is None:
        raise ValueError("the bandit has no features; pass phi (nX, K, d) to PreferenceBandit "
                         "for log-linear policies")
    theta = check_float_array("theta", theta, shape=(bandit.d,))
    lw = bandit.log_piref + bandit.phi @ theta
    return readonly(lw - logsumexp(lw, axis=-1, keepdims=True))


def loss_gradient_loglinear(bandit: PreferenceBandit, data: PairData, theta, loss: PairLoss
                            ) -> np.ndarray:
    """Gradient of :func:`preference_loss` at pi_theta w.r.t. theta (d,):
    sum_pairs W ell'(m) (phi(x, y+) - phi(x, y-)) (card §2.6, §3.2)."""
    logpi = loglinear_policy(bandit, theta)
    _prepare(bandit, data, logpi)
    c = _pair_coeffs(bandit, data, logpi, loss)
    phi = bandit.phi
    return readonly(np.einsum("xyz,xyd->d", c, phi) - np.einsum("xyz,xzd->d", c, phi))


def kl_gradient_logits(bandit: PreferenceBandit, logpi) -> np.ndarray:
    """Gradient of KL_rho(pi_theta || piref) w.r.t. tabular logits (card §3.7):
    rho(x) pi(y|x) (l(x, y) - E_{pi(.|x)} l), l = log pi - log piref. Requires supp pi within
    S_ref (else the KL is +inf). Shape (nX, K).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> kl_gradient_logits(b, b.log_piref).tolist()             # zero at the reference
    [[0.0, 0.0]]
    """
    logpi = check_log_policy("logpi", logpi, (bandit.nX, bandit.K))
    p = np.exp(logpi)
    if ((p > 0) & ~bandit.support).any():
        raise ValueError("pi puts mass outside the reference support; KL(pi || piref) is +inf "
                         "and has no gradient")
    ell = np.where(p > 0, logpi - np.where(bandit.support, bandit.log_piref, 0.0), 0.0)
    mean = (p * ell).sum(axis=-1, keepdims=True)
    return readonly(bandit.rho[:, None] * p * (ell - mean))


def kl_gradient_loglinear(bandit: PreferenceBandit, theta) -> np.ndarray:
    """Gradient of KL_rho(pi_theta || piref) w.r.t. theta: sum_x rho(x) Cov_{pi(.|x)}(phi, l)
    (card §3.7). Shape (d,)."""
    logpi = loglinear_policy(bandit, theta)
    G = kl_gradient_logits(bandit, logpi)
    return readonly(np.einsum("xy,xyd->d", G, bandit.phi))


def kl_reference_rows(bandit: PreferenceBandit, logpi) -> np.ndarray:
    """Per-prompt KL_x(pi || piref) (nX,) (helper for training records)."""
    return kl_divergence(logpi, bandit.log_piref)


def make_loss(name: str, *, beta: float | None = None, tau: float | None = None,
              eps: float | None = None, simpo_beta: float | None = None,
              simpo_gamma: float | None = None) -> PairLoss:
    """A :class:`PairLoss` by name (one of LOSSES) with its own parameters."""
    check_choice("loss name", name, LOSSES)
    need = {"dpo": ("beta",), "dpo_noref": ("beta",), "ipo": ("tau",), "rdpo": ("beta", "eps"),
            "cdpo": ("beta", "eps"), "simpo": ("simpo_beta", "simpo_gamma")}[name]
    given = {"beta": beta, "tau": tau, "eps": eps, "simpo_beta": simpo_beta,
             "simpo_gamma": simpo_gamma}
    missing = [k for k in need if given[k] is None]
    if missing:
        raise ValueError(f"loss {name!r} needs {', '.join(missing)}")
    return {"dpo": dpo, "dpo_noref": dpo_noref, "ipo": ipo, "rdpo": rdpo, "cdpo": cdpo,
            "simpo": simpo}[name](*(given[k] for k in need))
