"""MDPO-Tsallis: policy mirror descent with the Tsallis mirror map (q' in (1, 2]).

The MDPO paper's off-policy experiments replace the Shannon entropy (KL) by the Tsallis
entropy with index q' in [1, 2] [mdpo-card, §1.5, §3.7]. The exact mirror-descent update it
approximates, per state [mdpo-card, §2.2, §3.7]:

    pi_new(.|s) = argmax_{p in Delta(A)}  eta <G(s, .), p> - D_q(p, pi(.|s)),
    h_q(p) = (sum_a p_a^q - 1) / (q - 1),   D_q(p, r) = h_q(p) - h_q(r) - <grad h_q(r), p - r>

(q = q'). h_q -> sum p log p (negative Shannon entropy, D -> KL) as q -> 1, and for q = 2,
D_2(p, r) = ||p - r||^2, the card's normalisation (§2.2). KKT conditions (h_q is
differentiable on the closed simplex for q > 1, with grad h_q(p)_a = q p_a^(q-1)/(q-1)):

    p_a = [ pi_a^(q-1) + ((q-1)/q) (eta G_a + nu) ]_+^(1/(q-1)),

with nu the unique root of sum_a p_a(nu) = 1 (each p_a is nondecreasing in nu), found by
bisection to float64 resolution (:func:`tsallis_step`). Exact zeros are possible (as for the
Euclidean map), so D*_k uses D_q, not KL.

Deviations. (i) With this normalisation the q = 2 step equals the Euclidean step of
:func:`~rlsandbox.algorithms.mdpo.euclid_step` with step eta/2 (since D_2 = 2 x 1/2||.||^2);
the card's §3.7 remark "Euclidean PMD with step 2t" belongs to another normalisation of the
Tsallis entropy (the card's §2.2 and §3.7 are not consistent on the factor; we follow §2.2's
explicit D_2 = ||p - q||^2). (ii) The MDPO code's Tsallis loss replaces log by ln_q inside a
sampled KL-like term, which is not a Bregman divergence; we implement the mirror-descent
update the paper's derivation starts from, not the code's surrogate. (iii) Regularisation
(the Tsallis-entropy-regularised MDP of the off-policy experiments) is not implemented.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.algorithms.mdpo.pmd import PMDRun, _log_of, _loop, _start
from rlsandbox.algorithms.mdpo.policies import _check_rows, _euclid_step
from rlsandbox.algorithms.mdpo.regularized import _require
from rlsandbox.algorithms.mdpo.schedules import as_schedule
from rlsandbox.mdp import TabularMDP

__all__ = ["tsallis_step", "tsallis_divergence", "tsallis_pmd"]


def _check_q(q) -> float:
    return check_in_range("q", q, low=1.0, high=2.0, low_open=True,
                          hint="q = 1 is the KL map: use kl_step / pmd(mirror='kl')")


def tsallis_divergence(p, r, q: float) -> np.ndarray:
    """D_q(p(.|s), r(.|s)) per row (S,) (module docstring); q in (1, 2].

    Examples
    --------
    >>> import numpy as np
    >>> float(tsallis_divergence(np.array([[1.0, 0.0]]), np.array([[0.5, 0.5]]), 2.0)[0])
    0.5
    """
    q = _check_q(q)
    p = _check_rows("p", p)
    r = _check_rows("r", r, p.shape)
    return _divergence(p, r, q)


def _divergence(p: np.ndarray, r: np.ndarray, q: float) -> np.ndarray:
    hp = ((p ** q).sum(axis=1) - 1.0) / (q - 1.0)
    hr = ((r ** q).sum(axis=1) - 1.0) / (q - 1.0)
    grad = q * r ** (q - 1.0) / (q - 1.0)
    return hp - hr - (grad * (p - r)).sum(axis=1)


def tsallis_step(pi, G, eta: float, q: float, *, iters: int = 200) -> np.ndarray:
    """The Tsallis mirror step (module docstring): argmax_p eta <G, p> - D_q(p, pi) per row.

    Parameters
    ----------
    pi : (S, A) policy; G : (S, A) linear term (Q or A); eta > 0; q in (1, 2]
    iters : bisection halvings of the bracket for nu (200 reach float64 resolution)

    Examples
    --------
    q = 2 is the Euclidean step with eta / 2:

    >>> import numpy as np
    >>> tsallis_step(np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]]), 0.4, 2.0).round(12).tolist()
    [[0.4, 0.6]]
    """
    pi = _check_rows("pi", pi)
    G = _check_rows("G", G, pi.shape)
    eta = check_in_range("eta", eta, low=0.0, low_open=True)
    return _tsallis_step(pi, G, eta, _check_q(q), check_int("iters", iters, low=1))


def _tsallis_step(pi: np.ndarray, G: np.ndarray, eta: float, q: float,
                  iters: int = 200) -> np.ndarray:
    if q == 2.0:
        return _euclid_step(pi, G, eta / 2.0)
    c = (q - 1.0) / q
    e = 1.0 / (q - 1.0)
    base = pi ** (q - 1.0)
    x = eta * (G - G.max(axis=1, keepdims=True))        # <= 0; invariant to the shift
    # nu_lo: every bracket <= 0 (sum 0); nu_hi: every bracket >= 1 (sum >= A)
    lo = -(base / c + x).max(axis=1)
    hi = 1.0 / c - x.min(axis=1)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        total = (np.maximum(base + c * (x + mid[:, None]), 0.0) ** e).sum(axis=1)
        big = total > 1.0
        hi = np.where(big, mid, hi)
        lo = np.where(big, lo, mid)
    p = np.maximum(base + c * (x + hi[:, None]), 0.0) ** e
    return p / p.sum(axis=1, keepdims=True)


def tsallis_pmd(mdp: TabularMDP, *, K: int, step: Any, q: float, pi0: Any = None) -> PMDRun:
    """Exact PMD with the Tsallis mirror map: the m = inf limit of MDPO-Tsallis
    [mdpo-card, §3.7] (unregularised): pi_{k+1}(.|s) = tsallis_step(pi_k, Q^{pi_k}, eta_k, q).

    Examples
    --------
    >>> import numpy as np, rlsandbox as rls
    >>> from rlsandbox.algorithms.mdpo import geometric
    >>> mdp = rls.mdps.riverswim(gamma=0.9)
    >>> run = tsallis_pmd(mdp, K=40, step=geometric(1.0, 0.9), q=1.5)
    >>> bool(np.abs(run.V[-1] - rls.solve(mdp).V).max() < 1e-8)
    True
    """
    _require(mdp, "tsallis_pmd")
    K = check_int("K", K, low=0)
    q = _check_q(q)
    schedule = as_schedule(step)
    if schedule.name == "greedy":
        raise ValueError("tsallis_pmd takes finite steps; eta = inf is policy iteration "
                         "(pmd(..., step=numpy.inf))")
    logpi0 = _start(mdp, pi0, interior=False)

    def update(k, logpi, pi, Q):
        eta = schedule(k)
        return _log_of(_tsallis_step(pi, Q, eta, q)), eta

    return _loop(mdp, logpi0, K, update, lam=0.0, method=f"pmd-tsallis(q={q:g})")
