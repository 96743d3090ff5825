"""Per-state mirror steps on the simplex, in log space where the mirror map is KL.

Card ``shared/papers/mdpo.md`` (cited [mdpo-card, §n]) in reward form. For every state s the
policy-mirror-descent step with step size eta and mirror map h solves

    pi_new(.|s) = argmax_{p in Delta(A)}  eta <G(s, .), p> - D_h(p, pi(.|s))        (*)

[mdpo-card, §3.1; Xiao eq. (37)-(39); Shani §4-5]. Closed forms implemented here:

* KL (h = negative entropy):    log pi_new = log pi + eta G - logsumexp_a(same)
  (:func:`kl_step`); adding a per-state constant to G changes nothing.
* Euclidean (h = 1/2 ||p||^2):  pi_new = Proj_simplex(pi + eta G) (:func:`euclid_step`,
  the sort-based projection of :func:`project_simplex`).
* eta = +inf: the greedy policy (:func:`greedy_step`), i.e. policy iteration.
* Entropy-regularised KL (NE-TRPO, [mdpo-card, §3.3]):
  log pi_new = (1 - lam t) log pi + t Q_lam - logsumexp (:func:`ne_trpo_step`, lam t <= 1).
* Lan's parametrisation (h^p = mu KL(p || pi_0), pi_0 uniform, [mdpo-card, §3.3]):
  log pi_new = (log pi + eta Q_lam + eta mu log pi_0) / (1 + eta mu) - logsumexp
  (:func:`lan_step`; eta = +inf is soft policy iteration exp(Q_lam / mu)).
* Reverse KL, the TRPO / KL-PPO order ([mdpo-card, §3.8]): argmax_p <p, A> - beta KL(pi || p)
  is p(a) = beta pi(a) / (nu - A(a)) with nu > max A solving sum_a p(a) = 1 (bisection;
  :func:`reverse_kl_step`).

Numerics [mdpo-card, Pitfalls 10-13]. KL-family policies are carried as log-probabilities
``logpi`` (S, A), which stay finite even when exp underflows to 0 (step sizes of 1e5 and more
are routine under geometric schedules); normalisation uses
``logsumexp(x) = m + log1p(sum_{a != argmax} exp(x_a - m))``, which keeps log pi(a*) ~ -tiny
accurate near convergence. The Euclidean map produces exact zeros by design.

Shapes: logpi, pi, G, Q, A (S, A); eta, t, lam, mu, beta scalars.
Deviations: none. No Numba kernel: every step is a vectorised NumPy expression over states
(STYLE §1 layer 3 is not needed for O(S A log A) work).
"""
from __future__ import annotations

import numpy as np

from rlsandbox._validate import check_float_array, check_in_range
from rlsandbox.dp.discounted import TIE_RTOL

__all__ = ["log_normalize", "uniform_logpi", "probabilities", "kl_step", "euclid_step",
           "greedy_step", "ne_trpo_step", "lan_step", "reverse_kl_step", "project_simplex",
           "kl_rows", "euclid_rows", "omega_rows"]


# ------------------------------------------------------------------ log-space helpers
def log_normalize(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` (S, A) minus their log-sum-exp: log of the softmax of each row.

    Computed as ``z = x - max``, ``logsumexp = log1p(sum_{a != argmax} exp(z_a))``, so the
    largest entry's log-probability is ``-log1p(small)``, accurate to a relative 1e-16 even when
    ``small < 1e-16`` (a plain ``log(sum exp)`` would round it to exactly 0).

    Examples
    --------
    >>> import numpy as np
    >>> np.exp(log_normalize(np.log(np.array([[1.0, 3.0]])))).round(12).tolist()
    [[0.25, 0.75]]
    >>> float(log_normalize(np.array([[0.0, -50.0]]))[0, 0])     # -log1p(exp(-50)), not 0
    -1.9287498479639178e-22
    """
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    e[np.arange(z.shape[0]), np.argmax(z, axis=1)] = 0.0
    return z - np.log1p(e.sum(axis=1))[:, None]


def uniform_logpi(S: int, A: int) -> np.ndarray:
    """log of the uniform policy, ``-log A`` everywhere, (S, A)."""
    return np.full((S, A), -np.log(A))


def probabilities(logpi: np.ndarray) -> np.ndarray:
    """``exp(logpi)`` renormalised row-wise (sums to 1 within a few ulps; entries may be 0)."""
    p = np.exp(logpi)
    return p / p.sum(axis=1, keepdims=True)


def _check_rows(name: str, x, shape=None) -> np.ndarray:
    arr = check_float_array(name, x, ndim=2, copy=False)
    if shape is not None and arr.shape != shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {shape} to match logpi/pi")
    return arr


def _check_eta(eta) -> float:
    """A finite step eta > 0; +inf gets a message pointing at the greedy step."""
    if isinstance(eta, (float, np.floating)) and eta == np.inf:
        raise ValueError("eta == inf: the infinite step is the greedy step; use greedy_step "
                         "(or pmd(..., step=numpy.inf))")
    return check_in_range("eta", eta, low=0.0, low_open=True)


def _check_logpi(logpi) -> np.ndarray:
    arr = np.asarray(logpi, dtype=np.float64)
    if arr.ndim != 2:
        raise ValueError(f"logpi has {arr.ndim} dimensions (shape {arr.shape}); expected (S, A)")
    if np.isnan(arr).any() or (arr == np.inf).any():
        s, a = np.argwhere(np.isnan(arr) | (arr == np.inf))[0]
        raise ValueError(f"logpi[{s}, {a}] is {arr[s, a]}; log-probabilities must be <= 0 "
                         f"(-inf allowed for zero probability, never NaN or +inf)")
    sums = np.exp(arr).sum(axis=1)
    bad = np.abs(sums - 1.0) > 1e-9
    if bad.any():
        s = int(np.argmax(bad))
        raise ValueError(f"exp(logpi[{s}, :]) sums to {sums[s]:.12g}; rows must be normalised "
                         f"log-probabilities (atol 1e-9). Pass log_normalize(logpi)")
    return arr


# --------------------------------------------------------------------------- steps
def kl_step(logpi, G, eta: float) -> np.ndarray:
    """KL mirror step (*) with step ``eta``: ``log pi_new = log pi + eta G - logsumexp``.

    [mdpo-card, §3.1; Xiao eq. (39); Shani NE-TRPO with lam = 0]. ``G`` is Q^pi or A^pi (the
    step is invariant to per-state constants, [mdpo-card, C0]). ``eta = inf`` is not accepted
    here: use :func:`greedy_step`. Entries of logpi equal to -inf stay -inf.

    Parameters
    ----------
    logpi : array (S, A)  normalised log-probabilities
    G : array (S, A)      the linear term (Q or A; rewards: the step moves towards large G)
    eta : float > 0

    Returns
    -------
    array (S, A): log pi_new

    Examples
    --------
    One state, Q = (0, 1), uniform start, eta = log 3: pi_new = (1, 3)/4.

    >>> import numpy as np
    >>> new = kl_step(np.log([[0.5, 0.5]]), np.array([[0.0, 1.0]]), np.log(3.0))
    >>> np.exp(new).round(12).tolist()
    [[0.25, 0.75]]
    """
    logpi = _check_logpi(logpi)
    G = _check_rows("G", G, logpi.shape)
    return _kl_step(logpi, G, _check_eta(eta))


def _kl_step(logpi: np.ndarray, G: np.ndarray, eta: float) -> np.ndarray:
    # the per-state shift G - max_a G (invariance) keeps eta * G small in magnitude
    return log_normalize(logpi + eta * (G - G.max(axis=1, keepdims=True)))


def project_simplex(Y) -> np.ndarray:
    """Euclidean projection of every row of ``Y`` (S, A) onto the probability simplex.

    Sort-based algorithm [duchi2008, Fig. 1; held1974]: with u the row sorted in decreasing
    order and c_j = (sum_{i <= j} u_i - 1) / j, let r = max{j : u_j > c_j}; the projection is
    max(y - c_r, 0). Exact zeros are produced wherever y_a <= c_r.

    Examples
    --------
    >>> import numpy as np
    >>> project_simplex(np.array([[0.5, 0.5], [2.0, 0.0], [0.3, 0.1]])).tolist()
    [[0.5, 0.5], [1.0, 0.0], [0.6, 0.4]]
    """
    Y = _check_rows("Y", Y)
    return _project_simplex(Y)


def _project_simplex(Y: np.ndarray) -> np.ndarray:
    S, A = Y.shape
    u = -np.sort(-Y, axis=1)
    css = np.cumsum(u, axis=1) - 1.0
    j = np.arange(1, A + 1)
    cond = u - css / j > 0.0                          # true on a prefix, always at j = 1
    r = A - 1 - np.argmax(cond[:, ::-1], axis=1)      # last true index
    c = css[np.arange(S), r] / (r + 1.0)
    return np.maximum(Y - c[:, None], 0.0)


def euclid_step(pi, G, eta: float) -> np.ndarray:
    """Euclidean mirror step (*): ``pi_new(.|s) = Proj_simplex(pi(.|s) + eta G(s, .))``.

    [mdpo-card, §3.1; Xiao §4 projected Q-descent; Shani PPG]. Projection is invariant to a
    per-state shift of G, which is used to keep ``eta G`` of moderate size.

    Examples
    --------
    >>> import numpy as np
    >>> euclid_step(np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]]), 0.2).round(12).tolist()
    [[0.4, 0.6]]
    """
    pi = _check_rows("pi", pi)
    G = _check_rows("G", G, pi.shape)
    return _euclid_step(pi, G, _check_eta(eta))


def _euclid_step(pi: np.ndarray, G: np.ndarray, eta: float) -> np.ndarray:
    return _project_simplex(pi + eta * (G - G.max(axis=1, keepdims=True)))


def greedy_step(pi, G) -> np.ndarray:
    """The eta = +inf limit of every mirror step: a deterministic greedy policy (S, A).

    At each state the lowest-index maximiser of G, except that a state whose current policy
    is already a point mass on an action within ``TIE_RTOL (1 + max|G|)`` of the maximum keeps
    it (so policy iteration stops on ties instead of cycling, [mdpo-card, Pitfall 17]).

    Examples
    --------
    >>> import numpy as np
    >>> greedy_step(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]])).tolist()    # tie: keep
    [[0.0, 1.0]]
    """
    pi = _check_rows("pi", pi)
    G = _check_rows("G", G, pi.shape)
    return _greedy_step(pi, G)


def _greedy_step(pi: np.ndarray, G: np.ndarray) -> np.ndarray:
    S, A = G.shape
    best = np.argmax(G, axis=1)
    cur = np.argmax(pi, axis=1)
    point = pi[np.arange(S), cur] == 1.0
    thresh = TIE_RTOL * (1.0 + float(np.abs(G).max()))
    keep = point & (G[np.arange(S), cur] >= G[np.arange(S), best] - thresh)
    act = np.where(keep, cur, best)
    out = np.zeros((S, A))
    out[np.arange(S), act] = 1.0
    return out


def ne_trpo_step(logpi, Q_lam, t: float, lam: float) -> np.ndarray:
    """Shani's NE-TRPO step in reward form [mdpo-card, §3.3; Shani Alg. 3]:

        log pi_new = (1 - lam t) log pi + t Q_lam - logsumexp,

    the exact maximiser of <Q_lam - lam log pi, p> - (1/t) KL(p || pi) per state. Requires
    ``lam t <= 1`` (the exponent 1 - lam t must be >= 0; larger steps oscillate,
    [mdpo-card, Pitfall 15]). ``lam = 0`` is :func:`kl_step`.

    Examples
    --------
    lam t = 1 forgets the old policy: soft-greedy exp(Q / lam).

    >>> import numpy as np
    >>> new = ne_trpo_step(np.log([[0.9, 0.1]]), np.array([[0.0, np.log(3.0)]]), 1.0, 1.0)
    >>> np.exp(new).round(12).tolist()
    [[0.25, 0.75]]
    """
    logpi = _check_logpi(logpi)
    Q_lam = _check_rows("Q_lam", Q_lam, logpi.shape)
    lam = check_in_range("lam", lam, low=0.0)
    t = check_in_range("t", t, low=0.0, low_open=True)
    if lam * t > 1.0:
        raise ValueError(f"lam * t == {lam * t!r} > 1: NE-TRPO needs lam t <= 1 (exponent "
                         f"1 - lam t of the old policy must be >= 0); take t <= 1 / lam = "
                         f"{1.0 / lam:.6g}")
    return _ne_trpo_step(logpi, Q_lam, t, lam)


def _ne_trpo_step(logpi: np.ndarray, Q_lam: np.ndarray, t: float, lam: float) -> np.ndarray:
    """No check on lam t (negative controls use lam t > 1 deliberately). At lam t == 1 the
    old policy's weight is exactly 0 (so -inf entries of logpi do not give 0 * inf)."""
    a = 1.0 - lam * t
    old = a * logpi if a != 0.0 else 0.0
    return log_normalize(old + t * (Q_lam - Q_lam.max(axis=1, keepdims=True)))


def lan_step(logpi, Q_lam, eta: float, mu: float) -> np.ndarray:
    """Lan's regularised PMD step [mdpo-card, §3.3; Lan Alg. 1 with h^p = mu KL(p || pi_0)]:

        log pi_new = (log pi + eta Q_lam + eta mu log pi_0) / (1 + eta mu) - logsumexp,

    with pi_0 uniform (its log is a constant and cancels). ``eta = inf`` (mu > 0) gives soft
    policy iteration log pi_new = Q_lam / mu - logsumexp. Same map as :func:`ne_trpo_step` with
    lam = mu, t = eta / (1 + eta mu) ([mdpo-card, C19], checked, not used here).

    Examples
    --------
    >>> import numpy as np
    >>> new = lan_step(np.log([[0.5, 0.5]]), np.array([[0.0, 2.0]]), np.inf, 1.0)
    >>> bool(np.allclose(np.exp(new), [[1 / (1 + np.e ** 2), 1 / (1 + np.e ** -2)]]))
    True
    """
    logpi = _check_logpi(logpi)
    Q_lam = _check_rows("Q_lam", Q_lam, logpi.shape)
    mu = check_in_range("mu", mu, low=0.0)
    eta = check_in_range("eta", eta, low=0.0, low_open=True) if eta != np.inf else np.inf
    if eta == np.inf and mu == 0.0:
        raise ValueError("eta == inf with mu == 0 is the greedy step; use greedy_step")
    return _lan_step(logpi, Q_lam, eta, mu)


def _lan_step(logpi: np.ndarray, Q_lam: np.ndarray, eta: float, mu: float) -> np.ndarray:
    Qc = Q_lam - Q_lam.max(axis=1, keepdims=True)
    if eta == np.inf:
        return log_normalize(Qc / mu)
    log_pi0 = -np.log(logpi.shape[1])
    return log_normalize((logpi + eta * Qc + eta * mu * log_pi0) / (1.0 + eta * mu))


def reverse_kl_step(pi, A, beta: float, *, iters: int = 200) -> np.ndarray:
    """The reverse-KL (TRPO / KL-PPO order) penalised step, exactly [mdpo-card, §3.8]:

        p = argmax_{p in Delta} <p, A(s, .)> - beta KL(pi(.|s) || p)
          = beta pi(a) / (nu - A(s, a)),   nu in (max_{pi(a)>0} A(s, a), that + beta]

    with nu the root of sum_a p(a) = 1 (the sum decreases in nu from +inf to <= 1 on that
    interval), found by bisection to float64 resolution (``iters`` halvings). Actions with
    pi(a) = 0 keep p(a) = 0 (KL(pi || p) puts no barrier there; the hyperbolic map gives 0).

    Examples
    --------
    Equal advantages leave pi unchanged:

    >>> import numpy as np
    >>> reverse_kl_step(np.array([[0.3, 0.7]]), np.zeros((1, 2)), 1.0).round(12).tolist()
    [[0.3, 0.7]]
    """
    pi = _check_rows("pi", pi)
    A = _check_rows("A", A, pi.shape)
    beta = check_in_range("beta", beta, low=0.0, low_open=True)
    S, nA = pi.shape
    masked = np.where(pi > 0, A, -np.inf)
    lo = masked.max(axis=1)
    hi = lo + beta
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        with np.errstate(divide="ignore"):
            total = np.where(pi > 0, beta * pi / (mid[:, None] - A), 0.0).sum(axis=1)
        too_big = total > 1.0
        lo = np.where(too_big, mid, lo)
        hi = np.where(too_big, hi, mid)
    p = np.where(pi > 0, beta * pi / (hi[:, None] - A), 0.0)
    return p / p.sum(axis=1, keepdims=True)


# ---------------------------------------------------------------- divergences per row
def kl_rows(logp: np.ndarray, logq: np.ndarray) -> np.ndarray:
    """KL(p || q) per row from log-probabilities (S,), with 0 log 0 = 0."""
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):
        terms = np.where(p > 0, p * (logp - logq), 0.0)
    return terms.sum(axis=1)


def euclid_rows(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """1/2 ||p - q||^2 per row (S,)."""
    return 0.5 * ((p - q) ** 2).sum(axis=1)


def omega_rows(logpi: np.ndarray) -> np.ndarray:
    """omega(pi(.|s)) = KL(pi(.|s) || uniform) = sum_a pi log pi + log A, in [0, log A] (S,)
    [mdpo-card, §2.3]."""
    A = logpi.shape[1]
    return kl_rows(logpi, np.full(logpi.shape, -np.log(A)))
