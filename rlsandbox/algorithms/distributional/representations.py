"""A7: categorical and quantile representations of return laws, and their projected fixed
points [card §3 A7; background B3, B4].

**Categorical** (C51; rowland2018). Support ``z_1 < ... < z_K`` uniform with spacing
``Delta_z = (z_K - z_1)/(K - 1)``. The projection ``Pi_C`` maps an atom x of mass w to its two
neighbours: clip x to [z_1, z_K], take i with ``z_i <= x <= z_{i+1}`` and give
``w (z_{i+1} - x)/Delta_z`` to z_i and ``w (x - z_i)/Delta_z`` to z_{i+1}. The index
``floor((x - z_1)/Delta_z)`` can reach K - 1 (x = z_K, or float round-off), so it is clipped to
K - 2 [card Pitfall 11]. Pi_C is linear in the law, the l_2 (Cramér) orthogonal projection onto
laws on the grid for laws supported in [z_1, z_K], and preserves their mean; mass outside is
clipped to the end atoms, which biases the mean (the B3 negative control).

**Quantile** (QR-DQN; dabney2018). ``Pi_Q nu = (1/m) sum_{i=1}^m delta_{F^{-1}(tau_i)}`` with
``tau_i = (2i - 1)/(2m)`` and the left-continuous ``F^{-1}`` [card Pitfall 12]: the
w_1-closest law of m equally weighted atoms. It is a w_inf non-expansion but not a w_1 one.

**Projected evaluation**: ``eta <- Pi T^pi eta`` for a stationary Markov policy on an
infinite-horizon model, from ``eta_0(s) = Pi delta_0``. ``Pi_C T^pi`` is a sqrt(gamma)-
contraction in sup-l_2 and ``Pi_Q T^pi`` a gamma-contraction in sup-w_inf [card B3, B4], so the
iteration converges to a unique fixed point; it stops when the sup-distance between successive
iterates falls below ``tol``, leaving the iterate within ``kappa tol / (1 - kappa)`` of the
fixed point (kappa = sqrt(gamma) resp. gamma). On acyclic models (Instance M) the iteration
is exact after (longest path) steps and stops with a zero step.

Bounds on the fixed points (card B3, B4; the w_1 and quantile ones derived by the card):
``sup_s l_2^2(eta_C, eta^pi) <= Delta_z / (1 - gamma)``,
``sup_s w_1(eta_C, eta^pi) <= Delta_z / (2 (1 - gamma))``,
``sup_s w_1(eta_Q, eta^pi) <= (V_max - V_min) / (2 m (1 - gamma))``.

Deviations: none. Shapes: categorical laws are arrays (K,) of probabilities on ``z``; the
iterates are (S, K).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from rlsandbox._validate import check_float_array, check_in_range, check_int
from rlsandbox.algorithms.distributional.dists import FiniteDist, point, w_inf
from rlsandbox.algorithms.distributional.evaluation import as_policy, evaluation_operator
from rlsandbox.algorithms.distributional.model import OutcomeMDP

__all__ = ["acyclic_return_laws", "categorical_support", "categorical_projection", "categorical_law",
           "quantile_projection", "CategoricalFixedPoint", "categorical_evaluation",
           "QuantileFixedPoint", "quantile_evaluation", "categorical_cramer_sq"]


def acyclic_return_laws(model: OutcomeMDP, policy: Any) -> list[FiniteDist]:
    """Exact per-state return laws eta^pi(s) (float atoms) of a policy on an acyclic
    infinite-horizon model: every path terminates within S steps, so A1 truncated at depth
    S + 1 is exact [card §3 A1]; the reference of the B3/B4 checks and of figure E5.

    >>> from rlsandbox.mdps.distributional import instance_m
    >>> acyclic_return_laws(instance_m(), np.zeros(4, dtype=np.int64))[2].pairs()
    [(-0.5, 0.6), (1.5, 0.4)]
    """
    from rlsandbox.algorithms.distributional.evaluation import return_distribution

    out = []
    for s in range(model.S):
        law = return_distribution(model, policy, s=s, depth=model.S + 1)
        out.append(FiniteDist._raw(((float(x), float(p)) for x, p in law.pairs()), False))
    return out


def categorical_support(v_min: float, v_max: float, K: int) -> np.ndarray:
    """Uniform support ``z`` (K,) on [v_min, v_max], K >= 2.

    >>> categorical_support(-1.0, 1.0, 5).tolist()
    [-1.0, -0.5, 0.0, 0.5, 1.0]
    """
    K = check_int("K", K, low=2)
    v_min = check_in_range("v_min", v_min)
    v_max = check_in_range("v_max", v_max, low=v_min, low_open=True)
    return np.linspace(v_min, v_max, K)


def _check_support(z: Any) -> np.ndarray:
    z = check_float_array("z", z, ndim=1)
    if z.size < 2:
        raise ValueError(f"z has {z.size} atoms; a categorical support needs K >= 2")
    d = np.diff(z)
    if not (d > 0).all() or not np.allclose(d, d[0], rtol=1e-9, atol=0.0):
        raise ValueError("z must be uniform and increasing (z_{i+1} - z_i constant > 0); build "
                         "it with categorical_support(v_min, v_max, K)")
    return z


def _project_atoms(x: np.ndarray, w: np.ndarray, z: np.ndarray) -> np.ndarray:
    K = z.size
    dz = (z[-1] - z[0]) / (K - 1)
    xc = np.clip(x, z[0], z[-1])
    pos = (xc - z[0]) / dz
    i = np.clip(np.floor(pos).astype(np.int64), 0, K - 2)      # clip: floor can reach K - 1
    frac = np.clip(pos - i, 0.0, 1.0)
    out = np.zeros(K)
    np.add.at(out, i, w * (1.0 - frac))
    np.add.at(out, i + 1, w * frac)
    return out


def categorical_projection(dist: FiniteDist, z: Any) -> np.ndarray:
    """``Pi_C dist`` as probabilities (K,) on the support ``z`` [card A7].

    >>> from rlsandbox.algorithms.distributional.dists import point
    >>> categorical_projection(point(0.25, exact=False), [0.0, 1.0]).tolist()
    [0.75, 0.25]
    """
    z = _check_support(z)
    x, w = dist.to_arrays()
    return _project_atoms(x, w, z)


def categorical_law(probs: np.ndarray, z: np.ndarray) -> FiniteDist:
    """The FiniteDist with atoms ``z`` and masses ``probs`` (zero masses dropped)."""
    return FiniteDist._raw(((float(a), float(p)) for a, p in zip(z, probs)), exact=False)


def categorical_cramer_sq(p: np.ndarray, q: np.ndarray, z: np.ndarray) -> float:
    """``l_2^2`` between two laws on the same uniform support:
    ``Delta_z sum_{i<K} (P_i - Q_i)^2`` with P, Q the CDFs at z_1..z_{K-1}."""
    dz = (z[-1] - z[0]) / (z.size - 1)
    d = np.cumsum(p - q)[:-1]
    return float(dz * np.dot(d, d))


def quantile_projection(dist: FiniteDist, m: int) -> FiniteDist:
    """``Pi_Q dist = (1/m) sum_i delta_{F^{-1}((2i-1)/(2m))}`` [card A7] (equal atoms merged).

    >>> from rlsandbox.algorithms.distributional.dists import FiniteDist
    >>> nu = FiniteDist.from_pairs([(0.0, 0.3), (1.0, 0.7)], exact=False)
    >>> quantile_projection(nu, 4).pairs()      # levels 1/8, 3/8, 5/8, 7/8
    [(0.0, 0.25), (1.0, 0.75)]
    """
    m = check_int("m", m, low=1)
    one = Fraction(1) if dist.exact else 1.0
    levels = [(2 * i - 1) * one / (2 * m) for i in range(1, m + 1)]
    return FiniteDist._raw(((dist.quantile(u), one / m) for u in levels), dist.exact)


def _policy_rows(model: OutcomeMDP, policy: Any) -> list:
    act, stock = as_policy(model, policy)
    if stock:
        raise TypeError("projected evaluation takes a stationary Markov policy array")
    rows = []
    for s in range(model.S):
        if model.terminal[s]:
            rows.append(None)
            continue
        rows.append([(float(q) * float(p), float(r), s2) for a, q in act(0, s, None)
                     for p, r, s2 in model.transitions(s, a)])
    return rows


@dataclass(frozen=True)
class CategoricalFixedPoint:
    """``eta`` (S, K) probabilities on ``z``; ``iterations``; ``last_step`` = sup-l_2 distance
    of the last two iterates; ``error`` = ``sqrt(gamma) last_step / (1 - sqrt(gamma))``, the
    certified sup-l_2 distance to the fixed point."""

    z: np.ndarray
    eta: np.ndarray
    iterations: int
    last_step: float
    error: float

    def law(self, s: int) -> FiniteDist:
        """eta_C(s) as a FiniteDist."""
        return categorical_law(self.eta[s], self.z)

    def means(self) -> np.ndarray:
        """(S,) means of eta_C."""
        return self.eta @ self.z


def categorical_evaluation(model: OutcomeMDP, policy: Any, z: Any, *, tol: float = 1e-12,
                           max_iter: int = 100_000) -> CategoricalFixedPoint:
    """Fixed point of ``Pi_C T^pi`` by iteration [card A7, B3].

    ``(Pi_C T^pi eta)(s) = Pi_C sum_k w_k (b_{r_k} o m_gamma)# eta(s'_k)`` (Pi_C is linear, so
    each outcome's pushforward is projected separately); ``delta_0`` at terminal states.

    >>> from rlsandbox.mdps.distributional import instance_m
    >>> fp = categorical_evaluation(instance_m(), np.zeros(4, dtype=int),
    ...                             categorical_support(-20, 20, 41))
    >>> bool(np.allclose(fp.means(), [0.44145, 0.681, 0.3, 0.0]))   # = V^pi (Lyle et al.)
    True
    """
    if model.H is not None:
        raise ValueError("projected evaluation is for infinite-horizon models (H=None)")
    z = _check_support(z)
    tol = check_in_range("tol", tol, low=0.0, low_open=True)
    max_iter = check_int("max_iter", max_iter, low=1)
    g = float(model.gamma)
    K = z.size
    rows = _policy_rows(model, policy)
    # the projected pushforward of atom z_j by x -> r + gamma x, as a (K, K) matrix per reward
    rewards = sorted({r for row in rows if row for _, r, _ in row})
    proj = {r: np.stack([_project_atoms(np.array([r + g * zj]), np.ones(1), z) for zj in z])
            for r in rewards}
    delta0 = _project_atoms(np.zeros(1), np.ones(1), z)
    eta = np.tile(delta0, (model.S, 1))
    step = np.inf
    k = 0
    for k in range(1, max_iter + 1):
        new = np.empty_like(eta)
        for s, row in enumerate(rows):
            if row is None:
                new[s] = delta0
                continue
            acc = np.zeros(K)
            for w, r, s2 in row:
                acc += w * (eta[s2] @ proj[r])
            new[s] = acc
        step = max(categorical_cramer_sq(new[s], eta[s], z) for s in range(model.S)) ** 0.5
        eta = new
        if step < tol:
            break
    kappa = g ** 0.5
    return CategoricalFixedPoint(z, eta, k, step, kappa * step / (1.0 - kappa))


@dataclass(frozen=True)
class QuantileFixedPoint:
    """``eta`` list of S FiniteDist (m atoms of mass 1/m, merged); ``iterations``;
    ``last_step`` = sup-w_inf distance of the last two iterates; ``error`` =
    ``gamma last_step / (1 - gamma)``."""

    m: int
    eta: list
    iterations: int
    last_step: float
    error: float

    def means(self) -> np.ndarray:
        """(S,) means of eta_Q."""
        return np.array([float(d.mean()) for d in self.eta])


def quantile_evaluation(model: OutcomeMDP, policy: Any, m: int, *, tol: float = 1e-12,
                        max_iter: int = 100_000) -> QuantileFixedPoint:
    """Fixed point of ``Pi_Q T^pi`` by iteration (float) [card A7, B4].

    >>> from rlsandbox.mdps.distributional import instance_m
    >>> fp = quantile_evaluation(instance_m(), np.zeros(4, dtype=int), 64)
    >>> fp.iterations <= 4
    True
    """
    if model.H is not None:
        raise ValueError("projected evaluation is for infinite-horizon models (H=None)")
    m = check_int("m", m, low=1)
    tol = check_in_range("tol", tol, low=0.0, low_open=True)
    fmodel = model.to_float()
    g = float(fmodel.gamma)
    eta = [quantile_projection(point(0.0, exact=False), m)] * fmodel.S
    step = np.inf
    k = 0
    for k in range(1, max_iter + 1):
        new = [quantile_projection(d, m) for d in evaluation_operator(fmodel, policy, eta)]
        step = max(float(w_inf(a, b)) for a, b in zip(new, eta))
        eta = new
        if step < tol:
            break
    return QuantileFixedPoint(m, eta, k, step, g * step / (1.0 - g))
