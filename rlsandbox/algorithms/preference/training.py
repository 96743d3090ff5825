"""Gradient-based training: offline DPO-type losses, HyPO's KL term (exact or RLOO), online
DPO, and the online policy-gradient step of RLHF.

Full-batch gradient descent on tabular logits theta[x, :] (pi = softmax theta, initialised at
log piref, whose -inf entries never move) or on a log-linear parameter theta (d,) with
pi_theta proportional to piref exp(theta^T phi) (card §2.6), minimising

    L(theta) = sum_{x,y,y'} W[x, y, y'] ell(m_theta(x, y, y')) + lam KL_rho(pi_theta || piref)

[card preference_coverage, §3.2-3.7]. lam = 0 is DPO (or IPO, rDPO, ... by the loss); lam > 0
is SONG24's HyPO (penalised form). The KL gradient is exact (card §3.7:
rho(x) pi (l - E_pi l) per logit, Cov_pi(phi, l) for log-linear), or estimated online as HyPO
does in practice, from k >= 2 fresh *unlabelled* samples y_1..y_k ~ pi_theta(.|x) per prompt
with the leave-one-out (RLOO) baseline [card §3.7, C17; RLOO: Ahmadian et al. 2024]:

    g_hat_x = (1/k) sum_i (l_i - mean_{j != i} l_j) grad log pi_theta(y_i|x),
    l_i = log pi_theta(y_i|x) - log piref(y_i|x),

unbiased for grad KL_x(pi_theta || piref) (the baseline is independent of y_i and
E grad log pi = 0). The prompt expectation is taken exactly (weights rho), only the responses
are sampled. ``baseline="mean"`` (mean over all j, including i) is the card's negative
control: biased by the factor (k-1)/k.

Online DPO (card §3.3, a sandbox variant not analysed in SONG24): in round t the pairs come
from the current policy, nu_t proportional to rho(x) pi_t(y|x) pi_t(y'|x) (y != y'), labelled
by the BT oracle (population labels, or n sampled pairs), then ``steps`` DPO steps.

RLHF's online policy optimisation (card §3.1 step 2): gradient ascent on J_{r_hat}(pi_theta),
grad = E_{x~rho, y~pi}[(r_hat - beta l_theta) grad log pi_theta], exact or by RLOO with k
samples; its fixed point is pi_{r_hat}.

Deviations: plain full-batch gradient descent with a constant step (the card's fixtures use
step 0.5); no minibatches, no Adam.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from rlsandbox._validate import (check_choice, check_float_array, check_in_range, check_int,
                                 check_rng, readonly)
from rlsandbox.algorithms.preference.data import (PairData, check_pair_data, population_pairs,
                                                  sample_pairs)
from rlsandbox.algorithms.preference.losses import PairLoss, dpo, preference_loss
from rlsandbox.algorithms.preference.model import (PreferenceBandit, check_log_policy,
                                                   kl_divergence, log_softmax)

__all__ = ["TrainResult", "train", "rloo_kl_gradient", "sample_responses", "online_dpo",
           "rlhf_policy_gradient"]

PARAMS = ("tabular", "loglinear")


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A training run and its recorded trajectory.

    Attributes
    ----------
    logpi : (nX, K) final policy (log-probabilities).
    theta : final parameters, (nX, K) logits or (d,).
    steps : (n,) int, the recorded steps (0 = initialisation).
    kl : (n,) KL_rho(pi_t || piref) at the recorded steps.
    reward : (n,) sum_x rho(x) E_{pi_t} r* (the true reward).
    loss : (n,) the pairwise loss sum W ell(m) (without the KL term).
    logpi_path : (n, nX, K) the recorded policies.
    """

    logpi: np.ndarray
    theta: np.ndarray
    steps: np.ndarray
    kl: np.ndarray
    reward: np.ndarray
    loss: np.ndarray
    logpi_path: np.ndarray


def sample_responses(logpi: np.ndarray, k: int, rng: np.random.Generator,
                     replicates: int | None = None) -> np.ndarray:
    """k i.i.d. responses per prompt from pi (nX, K) by inverse CDF on pre-drawn uniforms:
    (nX, k) int64, or (replicates, nX, k). Never returns a zero-probability response."""
    p = np.exp(logpi)
    cdf = np.cumsum(p, axis=1)
    shape = (p.shape[0], k) if replicates is None else (replicates, p.shape[0], k)
    u = rng.random(shape)
    idx = (u[..., None] >= cdf[:, None, :]).sum(axis=-1)
    last = p.shape[1] - 1 - np.argmax((p > 0)[:, ::-1], axis=1)   # last positive response
    return np.minimum(idx, last[:, None])


def rloo_kl_gradient(bandit: PreferenceBandit, logpi, k: int, *, rng: Any,
                     baseline: str = "loo", replicates: int | None = None) -> np.ndarray:
    """The RLOO estimate of grad_theta KL_rho(pi_theta || piref) w.r.t. tabular logits (card
    §3.7, C17); for log-linear theta contract with phi: ``np.einsum("xy,xyd->d", G, phi)``.

    Per prompt: (rho(x)/k) sum_i (l_i - b_i)(e_{y_i} - pi(.|x)), b_i = mean_{j != i} l_j
    (``baseline="loo"``, unbiased) or mean_j l_j (``"mean"``, biased by (k-1)/k: control).

    Parameters
    ----------
    bandit : PreferenceBandit
    logpi : (nX, K) log-policy with support inside the reference support.
    k : int >= 2, samples per prompt.
    rng : numpy.random.Generator or seed (keyword-only, required).
    baseline : {"loo", "mean"}
    replicates : int, optional
        Return this many independent estimates, shape (replicates, nX, K), drawn at once.

    Returns
    -------
    (nX, K) array, or (replicates, nX, K).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> rloo_kl_gradient(b, b.log_piref, 4, rng=0).tolist()     # l = 0 at the reference
    [[0.0, 0.0]]
    """
    logpi = check_log_policy("logpi", logpi, (bandit.nX, bandit.K))
    k = check_int("k", k, low=2)
    rng = check_rng("rng", rng)
    check_choice("baseline", baseline, ("loo", "mean"))
    n_rep = 1 if replicates is None else check_int("replicates", replicates, low=1)
    p = np.exp(logpi)
    if ((p > 0) & ~bandit.support).any():
        raise ValueError("pi puts mass outside the reference support; KL(pi || piref) is +inf")
    ys = sample_responses(logpi, k, rng, replicates=n_rep)             # (n_rep, nX, k)
    ell_table = np.where(p > 0, logpi - np.where(bandit.support, bandit.log_piref, 0.0), 0.0)
    ell = np.take_along_axis(np.broadcast_to(ell_table, (n_rep,) + p.shape), ys, axis=2)
    total = ell.sum(axis=2, keepdims=True)
    b = (total - ell) / (k - 1) if baseline == "loo" else total / k
    adv = (ell - b) / k                                                # (n_rep, nX, k)
    G = -adv.sum(axis=2, keepdims=True) * p                            # sum_i adv_i (-pi)
    rep = np.repeat(np.arange(n_rep), bandit.nX * k)
    xs = np.tile(np.repeat(np.arange(bandit.nX), k), n_rep)
    np.add.at(G, (rep, xs, ys.ravel()), adv.ravel())
    G = bandit.rho[:, None] * G
    return readonly(G[0] if replicates is None else G)


def _record_steps(steps: int, record: Any) -> np.ndarray:
    if record is None:
        return np.arange(steps + 1)
    rec = np.unique(np.asarray(record, dtype=np.int64))
    if rec.size == 0 or rec.min() < 0 or rec.max() > steps:
        raise ValueError(f"record must list steps in [0, {steps}], got {np.asarray(record)!r}")
    return rec


def train(bandit: PreferenceBandit, data: PairData, loss: PairLoss, *, steps: int, lr: float,
          lam: float = 0.0, param: str = "tabular", theta0: Any = None, record: Any = None,
          kl_estimator: str = "exact", k: int = 4, rng: Any = None) -> TrainResult:
    """Full-batch gradient descent on sum W ell(m) + lam KL_rho(pi || piref) (module docstring).

    Parameters
    ----------
    bandit : PreferenceBandit (with ``phi`` for ``param="loglinear"``)
    data : PairData (weights used as given: a sum, card §3.2)
    loss : PairLoss, e.g. ``dpo(beta)``, ``ipo(tau)``
    steps : int >= 0
    lr : float > 0, constant step size
    lam : float >= 0, HyPO's KL weight (0: plain DPO-type training)
    param : {"tabular", "loglinear"}
    theta0 : initial parameters; default log piref (tabular) or 0 (log-linear)
    record : steps to record (default every step, 0..steps)
    kl_estimator : {"exact", "rloo", "rloo_mean"}; the last is the biased control
    k : samples per prompt for the RLOO estimator
    rng : Generator or seed, required for the RLOO estimators

    Returns
    -------
    TrainResult

    Examples
    --------
    The card's L2 fixture (C10): one pair y0 > y1, beta = 1, log-linear, step 0.5; after 10
    steps pi = (0.1628, 0.0345, 0.7682, 0.0345): the unseen y2 gains, chosen and rejected fall.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, pairs_from_list, dpo
    >>> b = PreferenceBandit(piref=[[0.25] * 4], r=[[1.0, 0.0, 2.0, 0.0]], beta=1.0,
    ...                      phi=[[[1, 0], [0, 0], [2, 0], [0, 1]]])
    >>> out = train(b, pairs_from_list(1, 4, [(0, 0, 1)]), dpo(1.0), steps=10, lr=0.5,
    ...             param="loglinear", record=[10])
    >>> np.round(np.exp(out.logpi), 4).tolist()
    [[0.1628, 0.0345, 0.7682, 0.0345]]
    """
    check_pair_data(bandit, data)
    if not isinstance(loss, PairLoss):
        raise TypeError(f"loss must be a PairLoss, got {type(loss).__name__}")
    steps = check_int("steps", steps, low=0)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)
    lam = check_in_range("lam", lam, low=0.0)
    check_choice("param", param, PARAMS)
    check_choice("kl_estimator", kl_estimator, ("exact", "rloo", "rloo_mean"))
    if kl_estimator != "exact" and lam > 0:
        rng = check_rng("rng", rng)
        k = check_int("k", k, low=2)
    rec = _record_steps(steps, record)
    loglin = param == "loglinear"
    if loglin:
        if bandit.phi is None:
            raise ValueError("param='loglinear' needs features: pass phi to PreferenceBandit")
        theta = np.zeros(bandit.d) if theta0 is None else \
            check_float_array("theta0", theta0, shape=(bandit.d,))
    else:
        if theta0 is None:
            theta = np.array(bandit.log_piref, dtype=np.float64)
        else:
            theta = np.array(theta0, dtype=np.float64)
            if theta.shape != (bandit.nX, bandit.K) or np.isnan(theta).any() or \
                    (theta == np.inf).any():
                raise ValueError(f"theta0 must be (nX, K) = ({bandit.nX}, {bandit.K}) logits, "
                                 f"finite or -inf")
    phi = bandit.phi
    used = data.W > 0
    Wu = data.W[used]
    xs, yp, ym = np.nonzero(used)
    log_piref_safe = np.where(bandit.support, bandit.log_piref, 0.0)
    rho_col = bandit.rho[:, None]
    size = bandit.nX * bandit.K
    flat_p, flat_m = xs * bandit.K + yp, xs * bandit.K + ym
    if loglin:
        dphi = phi[xs, yp] - phi[xs, ym]                 # (n_pairs, d)
        phi_flat = phi.reshape(-1, bandit.d)

    def policy(th):
        return log_softmax(bandit.log_piref + phi @ th if loglin else th)

    n = rec.size
    kl_rec, rew_rec, loss_rec = np.empty(n), np.empty(n), np.empty(n)
    path = np.empty((n, bandit.nX, bandit.K))
    j = 0
    for t in range(steps + 1):
        logpi = policy(theta)
        if j < n and rec[j] == t:
            path[j] = logpi
            kl_rec[j] = float(bandit.rho @ kl_divergence(logpi, bandit.log_piref))
            rew_rec[j] = float(bandit.rho @ (np.exp(logpi) * bandit.r).sum(axis=-1))
            loss_rec[j] = preference_loss(bandit, data, logpi, loss)
            j += 1
        if t == steps:
            break
        # pair coefficients W ell'(m) on the used pairs (inline for speed; see losses.py)
        g = (logpi - log_piref_safe) if loss.reference else logpi
        m = g[xs, yp] - g[xs, ym]
        c = Wu * loss.derivative(m)
        if loglin:
            grad = c @ dphi
        else:
            grad = (np.bincount(flat_p, c, size) - np.bincount(flat_m, c, size)).reshape(
                bandit.nX, bandit.K)
        if lam > 0:
            if kl_estimator == "exact":                # rho pi (l - E_pi l), inline (card §3.7)
                p = np.exp(logpi)
                ell = np.where(p > 0, logpi - log_piref_safe, 0.0)
                G = rho_col * p * (ell - (p * ell).sum(axis=-1, keepdims=True))
            else:
                G = rloo_kl_gradient(bandit, logpi, k, rng=rng,
                                     baseline="loo" if kl_estimator == "rloo" else "mean")
            grad = grad + lam * (G.reshape(-1) @ phi_flat if loglin else G)
        theta = theta - lr * grad
    return TrainResult(readonly(policy(theta)), readonly(np.array(theta)), readonly(rec),
                       readonly(kl_rec), readonly(rew_rec), readonly(loss_rec), readonly(path))


def online_dpo(bandit: PreferenceBandit, *, rounds: int, steps: int, lr: float,
               n_pairs: int | None = None, rng: Any = None, logpi0: Any = None) -> np.ndarray:
    """Online DPO (card §3.3): each round, pairs from the current policy, nu_t proportional to
    rho pi_t pi_t on y != y', labelled by the BT oracle (population labels when ``n_pairs`` is
    None, else ``n_pairs`` sampled comparisons from ``rng``), then ``steps`` tabular DPO steps.
    Returns the final log-policy (nX, K). pi* is a fixed point (population labels).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.3, 0.2]], r=[[1.0, 0.0, 0.5]], beta=0.5)
    >>> out = online_dpo(b, rounds=3, steps=5, lr=0.5, logpi0=b.log_pi_star)
    >>> bool(np.abs(np.exp(out) - b.pi_star).max() < 1e-12)
    True
    """
    rounds = check_int("rounds", rounds, low=1)
    logpi = bandit.log_piref if logpi0 is None else \
        check_log_policy("logpi0", logpi0, (bandit.nX, bandit.K))
    if n_pairs is not None:
        rng = check_rng("rng", rng)
    for _ in range(rounds):
        current = bandit.replace(mu=np.exp(logpi), R=bandit.R)
        data = population_pairs(current) if n_pairs is None else \
            sample_pairs(current, n_pairs, rng=rng)
        out = train(bandit, data, dpo(bandit.beta), steps=steps, lr=lr, theta0=logpi,
                    record=[steps])
        logpi = out.logpi
    return readonly(np.array(logpi))


def rlhf_policy_gradient(bandit: PreferenceBandit, r_hat: Any, *, steps: int, lr: float,
                         k: int | None = None, rng: Any = None, logpi0: Any = None
                         ) -> np.ndarray:
    """RLHF's online policy optimisation (card §3.1 step 2): tabular gradient ascent on
    J_{r_hat}(pi_theta) with grad_{theta_x} = rho(x) E_{y ~ pi}[(A(y) - b) (e_y - pi)],
    A = r_hat - beta l_theta; exact (``k=None``: rho pi (A - E_pi A)) or by RLOO with k
    samples per prompt. Returns the final log-policy; its fixed point is pi_{r_hat}.

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> out = rlhf_policy_gradient(b, b.r, steps=2000, lr=1.0)
    >>> bool(np.abs(np.exp(out) - b.pi_star).max() < 1e-10)
    True
    """
    r_hat = check_float_array("r_hat", r_hat, shape=(bandit.nX, bandit.K))
    steps = check_int("steps", steps, low=0)
    lr = check_in_range("lr", lr, low=0.0, low_open=True)
    if k is not None:
        k = check_int("k", k, low=2)
        rng = check_rng("rng", rng)
    theta = np.array(bandit.log_piref if logpi0 is None else
                     check_log_policy("logpi0", logpi0, (bandit.nX, bandit.K)))
    log_piref_safe = np.where(bandit.support, bandit.log_piref, 0.0)
    for _ in range(steps):
        logpi = log_softmax(theta)
        p = np.exp(logpi)
        A = np.where(bandit.support, r_hat - bandit.beta * (logpi - log_piref_safe), 0.0)
        if k is None:
            G = p * (A - (p * A).sum(axis=-1, keepdims=True))
        else:
            ys = sample_responses(logpi, k, rng)
            a = np.take_along_axis(A, ys, axis=1)
            tot = a.sum(axis=1, keepdims=True)
            adv = (a - (tot - a) / (k - 1)) / k
            G = -adv.sum(axis=1, keepdims=True) * p
            np.add.at(G, (np.repeat(np.arange(bandit.nX), k), ys.ravel()), adv.ravel())
        theta = theta + lr * bandit.rho[:, None] * G
    return readonly(log_softmax(theta))
