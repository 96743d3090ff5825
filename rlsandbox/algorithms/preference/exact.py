"""Exact tabular solutions: BT maximum likelihood, the DPO/IPO minimiser sets, RLHF, HyPO limits.

Everything here is a closed form or a strictly convex problem solved to round-off, following
the card's exact computation recipes [preference_coverage, §2.8]:

* :func:`bt_mle` -- Bradley-Terry maximum-likelihood scores per connected component of each
  comparison graph, s = argmin sum W[y, y'] f(s_y - s_y') with one score pinned per component
  (Newton's method; the MLE exists iff the component's win digraph is strongly connected).
* :class:`MinimizerSet` -- the set of minimisers of a pairwise loss whose optimal log-ratios
  are pinned only up to one constant per component (card C3): with tilted weights
  w(y) = piref(y|x) exp(g(y)) and block distributions wbar_k (w restricted to C_{x,k},
  normalised),

      M_x = { sum_k a_k wbar_k + sum_{u in U(x)} b_u e_u : a_k > 0, b_u >= 0, sum = 1 }.

  DPO: g = s / beta with the BT scores s (population data from the bandit: s = r* + c, so
  wbar_k is pi* restricted to the block); IPO: g solves the graph-Laplacian least squares
  (C11b). Worst cases over the closure are attained at the vertices {wbar_k} and {e_u}
  (card C4): inf E r* is a minimum over vertices (a linear function), sup KL(. || piref) and
  sup beta KL(. || pi*) are maxima over vertices (convex functions).
* :meth:`MinimizerSet.gd_limit` -- the member tabular gradient descent from logits log piref
  converges to: each update moves theta by multiples of e_{y+} - e_{y-}, so per component
  sum_{y in C_k} (theta_y - log piref(y)) stays 0 and unseen logits stay log piref (C10).
* :meth:`MinimizerSet.min_kl_member` -- HyPO's lambda -> 0+ limit, the min-KL member (C8b):
  block masses proportional to W_k exp(-Ebar_k / beta) where W_k = sum_{C_k} w and Ebar_k is
  the wbar_k-mean of s; unseen mass proportional to piref(U); inside U, pi proportional to piref.
* :func:`rlhf` -- RLHF: bounded BT reward learning over [0, R]^K (card §3.1) with an explicit
  tie-break for the unidentified per-component offsets and unseen responses, then the exact
  KL-regularised optimum pi_{r_hat}.
* closed forms: IPO with full-support i.i.d. pairs (C11a), the noisy single-pair minimisers of
  DPO / cDPO / rDPO (C12c, d), SimPO's stationary margin (C13), and the penalised HyPO
  minimiser (C8c) by damped Newton on the finite logits, the constrained HyPO minimiser
  (:func:`hypo_constrained`, bisection on the penalty weight), and the box- or ball-constrained
  log-linear fit of DPO / cDPO / rDPO and of RLHF's linear reward class
  (:func:`loglinear_minimizer`, C12(e), §3.1).

Deviations: when the BT-MLE of a component does not exist, or its scores span more than R,
the bounded RLHF fit of that component is computed by L-BFGS-B on the box (a convex problem;
accuracy is the solver's, about 1e-9 in the gradient), not by Newton's method.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import expit, logsumexp

from rlsandbox._validate import (check_choice, check_float_array, check_in_range, check_int,
                                 readonly)
from rlsandbox.algorithms.preference.data import (ComparisonGraph, PairData, check_pair_data,
                                                  comparison_graph)
from rlsandbox.algorithms.preference.losses import PairLoss
from rlsandbox.algorithms.preference.model import (PreferenceBandit, bt_probability,
                                                   expected_reward, gibbs, kl_divergence,
                                                   kl_to_reference, log_softmax, logistic_loss,
                                                   safe_log)

__all__ = ["BTFit", "bt_mle", "MinimizerSet", "dpo_minimizer_set", "ipo_minimizer_set",
           "ipo_closed_form", "RLHFResult", "rlhf", "TIE_BREAKS", "noisy_pair_minimizers",
           "rdpo_empirical_minimizer", "simpo_stationary_margin", "hypo_penalized",
           "hypo_constrained", "loglinear_minimizer"]

TIE_BREAKS = ("pessimistic", "neutral", "optimistic", "worst")


# --------------------------------------------------------------------------- BT scores
@dataclass(frozen=True, eq=False)
class BTFit:
    """BT maximum-likelihood scores per component.

    Attributes
    ----------
    scores : (nX, K) reward-scale scores s; the last response of each component has s = 0;
        0 on unseen responses and on components without an MLE (see ``exists``).
    graph : ComparisonGraph of the data.
    exists : (nX, max m_x) bool, the MLE of component k at prompt x exists (strong
        connectivity); False in padding columns.
    iterations : Newton iterations used in total.
    """

    scores: np.ndarray
    graph: ComparisonGraph
    exists: np.ndarray
    iterations: int


def _newton_component(Wc: np.ndarray) -> tuple[np.ndarray, int]:
    """Scores of one strongly connected component (k >= 2 nodes, last pinned to 0)."""
    k = Wc.shape[0]
    s = np.zeros(k)

    def value(s):
        d = s[:, None] - s[None, :]
        return float(np.sum(Wc * logistic_loss(d)))

    it, prev = 0, np.inf
    for it in range(1, 201):
        d = s[:, None] - s[None, :]
        fp = -expit(-d)                               # f'(d)
        grad = (Wc * fp).sum(axis=1) - (Wc * fp).sum(axis=0)
        if np.max(np.abs(grad[:-1])) == 0.0:
            break
        fpp = expit(d) * expit(-d)
        A = (Wc + Wc.T) * fpp
        H = np.diag(A.sum(axis=1)) - A
        step = np.zeros(k)
        step[:-1] = np.linalg.solve(H[:-1, :-1], -grad[:-1])
        # stop once the Newton step is at the round-off level of s (quadratic convergence
        # gets there in a few steps); the gradient test alone would stop early on badly
        # conditioned components (weights spanning many orders of magnitude)
        size = float(np.max(np.abs(step)))
        if size <= 4.0 * np.finfo(np.float64).eps * (1.0 + np.abs(s).max()) or \
                (size < 1e-8 and size >= 0.5 * prev):   # stagnation at round-off level
            s = s + step
            break
        prev = size
        f0, t = value(s), 1.0
        slope = float(grad[:-1] @ step[:-1])
        # Armijo backtracking with a round-off slack of 8 ulps of f: near the optimum the
        # decrease of a Newton step (~ grad^2 / H) falls below the resolution of f, and the
        # full step must still be taken (quadratic convergence)
        slack = 8.0 * np.finfo(np.float64).eps * abs(f0)
        while value(s + t * step) > f0 + 1e-4 * t * slope + slack and t > 1e-12:
            t *= 0.5
        s = s + t * step
    return s - s[-1], it


def bt_mle(data: PairData) -> BTFit:
    """BT maximum-likelihood reward scores per connected component (card §2.8, C3).

    Per component C of prompt x: s_C = argmin sum_{y, y' in C} W[x, y, y'] f(s_y - s_y'),
    unique up to a constant; pinned by s = 0 on the component's last response. Newton's method
    with Armijo backtracking (round-off slack), stopped when the Newton step is at the round-off
    level of s or stops shrinking below 1e-8 (stagnation at round-off): the scores are then
    exact up to about cond(H) ulps, H the pinned Hessian (a weighted graph Laplacian). A component whose win
    digraph is not strongly connected has no MLE (the likelihood increases without bound as
    some score difference -> infinity; Zermelo's condition): it is flagged in ``exists`` and
    its scores are left at 0.

    Examples
    --------
    Population data of the card's P1: the scores recover r* = (1, 0) on the edge {a, b}.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> fit = bt_mle(population_pairs(b))
    >>> np.round(fit.scores, 12).tolist(), fit.exists.tolist()
    ([[1.0, 0.0, 0.0]], [[True]])
    """
    if not isinstance(data, PairData):
        raise TypeError(f"data must be a PairData, got {type(data).__name__}")
    graph = comparison_graph(data)
    scores = np.zeros((data.nX, data.K))
    total_it = 0
    for x in range(data.nX):
        for k in range(int(graph.n_components[x])):
            if not graph.strongly_connected[x, k]:
                continue
            idx = graph.members(x, k)
            s, it = _newton_component(data.W[x][np.ix_(idx, idx)])
            scores[x, idx] = s
            total_it += it
    return BTFit(readonly(scores), graph, graph.strongly_connected.copy(), total_it)


# ---------------------------------------------------------------------- minimiser sets
@dataclass(frozen=True, eq=False)
class MinimizerSet:
    """The minimiser set M = prod_x M_x of a pairwise loss (card C3; see module docstring).

    Attributes
    ----------
    bandit : PreferenceBandit
    graph : ComparisonGraph
    log_ratio : (nX, K) optimal log-ratios g on covered responses, up to one constant per
        component (0 on unseen responses).
    log_blocks : (nX, K) log wbar_k(y) for y in its component C_k; -inf on unseen responses.
    """

    bandit: PreferenceBandit
    graph: ComparisonGraph
    log_ratio: np.ndarray
    log_blocks: np.ndarray

    @property
    def unseen(self) -> np.ndarray:
        """(nX, K) bool mask of U(x)."""
        return self.graph.unseen

    @property
    def is_singleton(self) -> bool:
        """M = {one policy}: every G_x connected and covering all K responses (C3(a))."""
        return bool((self.graph.n_components == 1).all() and not self.unseen.any())

    def vertices(self, x: int) -> list[tuple[str, np.ndarray]]:
        """The vertices of the closure of M_x: ("block k", log wbar_k) and ("unseen u", log e_u),
        each a (K,) log-probability row."""
        out = []
        for k in range(int(self.graph.n_components[x])):
            row = np.full(self.bandit.K, -np.inf)
            idx = self.graph.members(x, k)
            row[idx] = self.log_blocks[x, idx]
            out.append((f"block {k}", row))
        for u in np.flatnonzero(self.unseen[x]):
            row = np.full(self.bandit.K, -np.inf)
            row[u] = 0.0
            out.append((f"unseen {u}", row))
        return out

    def member(self, block_mass: Any, unseen_mass: Any) -> np.ndarray:
        """The member sum_k a_k wbar_k + sum_u b_u e_u as log-probabilities (nX, K).

        Parameters
        ----------
        block_mass : (nX, max m_x) with a[x, k] > 0 for k < m_x (0 in padding columns).
        unseen_mass : (nX, K) with b >= 0 on unseen responses and 0 elsewhere; for each x,
            sum_k a + sum_u b = 1.
        """
        nX, K = self.bandit.nX, self.bandit.K
        m_max = self.graph.strongly_connected.shape[1]
        a = check_float_array("block_mass", block_mass, shape=(nX, m_max))
        b = check_float_array("unseen_mass", unseen_mass, shape=(nX, K))
        for x in range(nX):
            m = int(self.graph.n_components[x])
            if (a[x, :m] <= 0).any() or (a[x, m:] != 0).any():
                raise ValueError(f"block_mass[{x}] = {a[x].tolist()}; the {m} block masses must be "
                                 f"> 0 (finite log-ratios on compared responses) and padding 0")
            if (b[x] < 0).any() or (b[x][~self.unseen[x]] != 0).any():
                raise ValueError(f"unseen_mass[{x}] must be >= 0 on unseen responses and 0 on "
                                 f"compared ones")
            tot = a[x].sum() + b[x].sum()
            if abs(tot - 1.0) > 1e-9:
                raise ValueError(f"prompt {x}: block and unseen masses sum to {tot:.12g}; they "
                                 f"must sum to 1")
        logpi = safe_log(b)
        lab = self.graph.labels
        seen = lab >= 0
        rows, cols = np.nonzero(seen)
        logpi[rows, cols] = np.log(a[rows, lab[rows, cols]]) + self.log_blocks[rows, cols]
        return readonly(logpi)

    def gd_limit(self) -> np.ndarray:
        """The member reached by tabular gradient descent from logits log piref (card §6
        pitfall 3, C10): theta_y = log piref(y) + g(y) - mean_{C_k} g on compared responses,
        theta_u = log piref(u) on unseen ones; pi = softmax(theta). Log-probabilities (nX, K)."""
        theta = np.array(self.bandit.log_piref, dtype=np.float64)
        for x in range(self.bandit.nX):
            for k in range(int(self.graph.n_components[x])):
                idx = self.graph.members(x, k)
                g = self.log_ratio[x, idx]
                theta[x, idx] = self.bandit.log_piref[x, idx] + g - g.mean()
        return readonly(theta - logsumexp(theta, axis=-1, keepdims=True))

    def min_kl_member(self) -> np.ndarray:
        """argmin over the closure of M of KL_rho(pi || piref): HyPO's lambda -> 0+ limit (card
        C8(b)). Block k gets mass proportional to exp(-D_k), D_k = KL(wbar_k || piref) =
        E_{wbar_k} g - log W_k, the unseen set mass proportional to piref(U); inside U,
        proportional to piref. Log-probabilities (nX, K)."""
        b = self.bandit
        logpi = np.full((b.nX, b.K), -np.inf)
        for x in range(b.nX):
            logits, parts = [], []                     # log of unnormalised part masses
            for k in range(int(self.graph.n_components[x])):
                idx = self.graph.members(x, k)
                lw = b.log_piref[x, idx] + self.log_ratio[x, idx]
                logW = logsumexp(lw)
                Eg = float(np.exp(lw - logW) @ self.log_ratio[x, idx])
                logits.append(logW - Eg)               # log W_k - Ebar_k / beta = -D_k
                parts.append((idx, lw))
            U = np.flatnonzero(self.unseen[x] & b.support[x])
            if U.size:
                logits.append(logsumexp(b.log_piref[x, U]))
                parts.append((U, b.log_piref[x, U]))
            log_mass = np.array(logits) - logsumexp(logits)
            for lm, (idx, inner) in zip(log_mass, parts):
                logpi[x, idx] = lm + inner - logsumexp(inner)
        return readonly(logpi)

    def worst_reward(self) -> float:
        """inf over M of sum_x rho(x) E_pi r* = sum_x rho(x) min over the vertices of M_x of the
        vertex's mean reward (card C4; a linear function on a product of simplices)."""
        b = self.bandit
        total = 0.0
        for x in range(b.nX):
            vals = [float(np.exp(row) @ b.r[x]) for _, row in self.vertices(x)]
            total += b.rho[x] * min(vals)
        return float(total)

    def sup_kl_reference(self) -> float:
        """sup over M of KL_rho(pi || piref) = sum_x rho(x) max over vertices (card C4; KL is
        convex): max_k KL(wbar_k || piref) and max_{u in U(x)} -log piref(u|x) (+inf if some
        unseen u has piref(u|x) = 0)."""
        b = self.bandit
        total = 0.0
        for x in range(b.nX):
            vals = [float(kl_divergence(row[None], b.log_piref[x][None])[0])
                    for _, row in self.vertices(x)]
            total += b.rho[x] * max(vals)
        return float(total)

    def sup_gap(self) -> float:
        """sup over M of G_J = beta KL_rho(pi || pi*), by vertex enumeration (card C4)."""
        b = self.bandit
        total = 0.0
        for x in range(b.nX):
            vals = [float(kl_divergence(row[None], b.log_pi_star[x][None])[0])
                    for _, row in self.vertices(x)]
            total += b.rho[x] * max(vals)
        return float(b.beta * total)


def _blocks(bandit: PreferenceBandit, graph: ComparisonGraph, g: np.ndarray) -> np.ndarray:
    log_blocks = np.full((bandit.nX, bandit.K), -np.inf)
    for x in range(bandit.nX):
        for k in range(int(graph.n_components[x])):
            idx = graph.members(x, k)
            lw = bandit.log_piref[x, idx] + g[x, idx]
            log_blocks[x, idx] = lw - logsumexp(lw)
    return readonly(log_blocks)


def dpo_minimizer_set(bandit: PreferenceBandit, data: PairData) -> MinimizerSet:
    """The exact set of minimisers of the DPO loss sum W f(beta h) (card C3).

    g = s / beta with the BT-MLE scores s of each component (:func:`bt_mle`). For population
    data generated by the bandit, s = r* + c per component, so M contains pi* and equals
    {pi*} iff every G_x is connected and covers all K responses (C3(a)).

    Raises ``ValueError`` when some component has no BT-MLE (its win digraph is not strongly
    connected, e.g. a pair seen once): then the DPO loss has no minimiser at all, the infimum
    is approached only as a margin -> infinity (card §6 pitfall 4).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> M = dpo_minimizer_set(b, population_pairs(b))
    >>> M.sup_kl_reference(), M.is_singleton          # P1: the unseen c has piref = 0 (C4)
    (inf, False)
    >>> bool(np.allclose(np.exp(M.gd_limit()), b.pi_star, rtol=0, atol=1e-12))
    True
    """
    check_pair_data(bandit, data)
    fit = bt_mle(data)
    g = fit.graph
    for x in range(bandit.nX):
        for k in range(int(g.n_components[x])):
            if not fit.exists[x, k]:
                idx = g.members(x, k).tolist()
                raise ValueError(f"prompt {x}, responses {idx}: the win graph of this component is "
                                 f"not strongly connected, so the BT-MLE (and a DPO minimiser) "
                                 f"does not exist; the loss decreases as a margin -> infinity. "
                                 f"Use IPO, bounded RLHF (rlhf) or more data (card §6 pitfall 4)")
    log_ratio = fit.scores / bandit.beta
    return MinimizerSet(bandit, g, readonly(log_ratio), _blocks(bandit, g, log_ratio))


def ipo_minimizer_set(bandit: PreferenceBandit, data: PairData, tau: float) -> MinimizerSet:
    """The exact set of minimisers of the IPO loss sum W (h - 1/(2 tau))^2 (card C11(b)).

    Per prompt, with symmetric edge weights w = W + W^T and win rates p_hat, the log-ratios g
    solve min sum_edges w (g(y) - g(y') - (p_hat - 1/2)/tau)^2, i.e. the graph-Laplacian system
    L g = b, b(y) = sum_y' w(y, y') (p_hat(y, y') - 1/2) / tau, unique up to one constant per
    component (solved by least squares per component). Unseen responses are as free as for DPO.

    Examples
    --------
    One pair seen once (deterministic preference): IPO's margin is 1/(2 tau), DPO has none.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, pairs_from_list
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    >>> M = ipo_minimizer_set(b, pairs_from_list(1, 2, [(0, 0, 1)]), tau=0.25)
    >>> round(float(M.log_ratio[0, 0] - M.log_ratio[0, 1]), 12)     # (p_hat - 1/2) / tau
    2.0
    """
    check_pair_data(bandit, data)
    tau = check_in_range("tau", tau, low=0.0, low_open=True)
    graph = comparison_graph(data)
    w = data.edge_weight
    p_hat = data.win_rate()
    g = np.zeros((bandit.nX, bandit.K))
    for x in range(bandit.nX):
        for k in range(int(graph.n_components[x])):
            idx = graph.members(x, k)
            wc = w[x][np.ix_(idx, idx)]
            bc = (wc * (p_hat[x][np.ix_(idx, idx)] - 0.5)).sum(axis=1) / tau
            L = np.diag(wc.sum(axis=1)) - wc
            sol = np.linalg.lstsq(L, bc, rcond=None)[0]
            g[x, idx] = sol - sol[-1]
    return MinimizerSet(bandit, graph, readonly(g), _blocks(bandit, graph, g))


def ipo_closed_form(bandit: PreferenceBandit, tau: float) -> np.ndarray:
    """IPO's optimum for i.i.d. full-support pairs y, y' ~ mu [IPO23; card §3.4, C11(a)]:
    pi(y|x) proportional to piref(y|x) exp(P(y > mu | x) / tau), P(y > mu | x) =
    sum_y' mu(y'|x) P(y > y' | x). Log-probabilities (nX, K).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit
    >>> b = PreferenceBandit(piref=[[0.5, 0.5]], r=[[0.0, 0.0]], beta=1.0)
    >>> np.exp(ipo_closed_form(b, tau=0.3)).tolist()          # no preference: pi = piref
    [[0.5, 0.5]]
    """
    tau = check_in_range("tau", tau, low=0.0, low_open=True)
    P = bt_probability(bandit.r)
    win = np.einsum("xyz,xz->xy", P, bandit.mu)
    lw = bandit.log_piref + win / tau
    return readonly(lw - logsumexp(lw, axis=-1, keepdims=True))


# ------------------------------------------------------------------------------- RLHF
@dataclass(frozen=True, eq=False)
class RLHFResult:
    """Output of :func:`rlhf`.

    Attributes
    ----------
    reward : (nX, K) the learned bounded reward r_hat in [0, R].
    logpi : (nX, K) log pi_{r_hat} (the exact KL-regularised optimum for r_hat).
    tie_break : the rule used for unidentified offsets and unseen responses.
    newton : (nX, max m_x) bool, the component was fitted by Newton's method (MLE exists and
        spans at most R) rather than by the box-constrained L-BFGS-B fallback.
    """

    reward: np.ndarray
    logpi: np.ndarray
    tie_break: str
    newton: np.ndarray


def _box_fit(Wc: np.ndarray, R: float) -> np.ndarray:
    """argmin_{s in [0, R]^k} sum Wc f(s_i - s_j) (convex) by projected Newton [bertsekas1982,
    "projected Newton methods"]: coordinates at a bound whose gradient pushes outwards are held
    there, a Newton step (minimum-norm least squares: the Hessian, a weighted Laplacian, is
    singular along constant shifts) is taken on the others, projected onto the box with Armijo
    backtracking along the projection arc. Stops when the projected step is below 1e-14 (1 + R)
    or the projected gradient vanishes to round-off; the objective decreases monotonically.
    (L-BFGS-B, used before, reaches the same minimum; this is ~50 times faster here.)"""
    k = Wc.shape[0]
    S = Wc + Wc.T

    def value(s):
        return float(np.sum(Wc * logistic_loss(s[:, None] - s[None, :])))

    s = np.full(k, R / 2.0)
    edge = 1e-13 * max(R, 1.0)
    for _ in range(500):
        d = s[:, None] - s[None, :]
        fp = -expit(-d)
        g = (Wc * fp).sum(axis=1) - (Wc * fp).sum(axis=0)
        bind = ((s <= edge) & (g > 0)) | ((s >= R - edge) & (g < 0))
        free = ~bind
        if not free.any() or np.max(np.abs(g[free])) <= 1e-14 * (1.0 + np.abs(Wc).sum()):
            break
        A = S * (expit(d) * expit(-d))
        H = np.diag(A.sum(axis=1)) - A
        step = np.zeros(k)
        step[free] = -np.linalg.lstsq(H[np.ix_(free, free)], g[free], rcond=None)[0]
        if not float(g @ step) < 0:                       # not a descent direction: gradient
            step = np.where(free, -g, 0.0)
        f0, t = value(s), 1.0
        slack = 8.0 * np.finfo(np.float64).eps * abs(f0)
        while True:
            s_new = np.clip(s + t * step, 0.0, R)
            if value(s_new) <= f0 + 1e-4 * float(g @ (s_new - s)) + slack or t < 1e-12:
                break
            t *= 0.5
        moved = float(np.max(np.abs(s_new - s)))
        s = s_new
        if moved <= 1e-14 * (1.0 + R):
            break
    return s


def rlhf(bandit: PreferenceBandit, data: PairData, *, tie_break: str = "pessimistic"
         ) -> RLHFResult:
    """RLHF with the bounded tabular reward class [0, R]^K (card §3.1): BT reward learning,
    then the exact KL-regularised optimum pi_{r_hat} = gibbs(bandit, r_hat).

    The BT likelihood pins r_hat only up to one constant per component and not at all on the
    unseen responses U(x). Per component the MLE scores s (if they exist and span <= R) may
    be shifted by any c in [-min s, R - max s]; the tie-break picks

    * ``pessimistic``: lowest offsets (min r_hat = 0 on each component), r_hat = 0 on U(x);
    * ``neutral``: centred offsets, r_hat = R/2 on U(x);
    * ``optimistic``: highest offsets (max r_hat = R), r_hat = R on U(x);
    * ``worst``: per prompt, the corner of the tie box (offset and unseen values at their
      ends) with the smallest J(pi_{r_hat}). Exact worst case: along each free coordinate
      pi_{r_hat} moves on a segment (one block's mass against the rest), on which the convex
      G_J = beta KL(pi || pi*) is maximised at an end, so some corner attains the maximum.
      Enumerates 2^(m_x + |U(x) in S_ref|) corners per prompt (refused above 2^16).

    Values of r_hat on responses with piref = 0 do not affect pi_{r_hat} (F4).

    Examples
    --------
    The card's P1: RLHF returns pi* exactly, whatever the tie-break (C3(b), C4).

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> out = rlhf(b, population_pairs(b), tie_break="optimistic")
    >>> bool(np.allclose(np.exp(out.logpi), b.pi_star, rtol=0, atol=1e-12))
    True
    """
    check_pair_data(bandit, data)
    check_choice("tie_break", tie_break, TIE_BREAKS)
    R = bandit.R
    fit = bt_mle(data)
    graph = fit.graph
    newton = np.zeros_like(fit.exists)
    base = np.zeros((bandit.nX, bandit.K))        # component scores, min shifted to 0
    slack = np.zeros(fit.exists.shape)             # free upward shift R - span of each component
    for x in range(bandit.nX):
        for k in range(int(graph.n_components[x])):
            idx = graph.members(x, k)
            s = fit.scores[x, idx]
            if fit.exists[x, k] and s.max() - s.min() <= R:
                newton[x, k] = True
            else:
                s = _box_fit(data.W[x][np.ix_(idx, idx)], R)
            base[x, idx] = s - s.min()
            slack[x, k] = max(0.0, R - (s.max() - s.min()))
    reward = np.zeros((bandit.nX, bandit.K))
    frac = {"pessimistic": 0.0, "neutral": 0.5, "optimistic": 1.0}
    for x in range(bandit.nX):
        m = int(graph.n_components[x])
        U = np.flatnonzero(graph.unseen[x])
        if tie_break != "worst":
            t = frac[tie_break]
            reward[x] = base[x] + t * slack[x, np.maximum(graph.labels[x], 0)]
            reward[x, U] = t * R
            continue
        U_ref = np.flatnonzero(graph.unseen[x] & bandit.support[x])
        n_free = m + U_ref.size
        if n_free > 16:
            raise ValueError(f"prompt {x}: the worst tie-break would enumerate 2^{n_free} corners; "
                             f"use at most 16 components plus unseen responses per prompt")
        best, best_row = np.inf, None
        sub = bandit.replace(piref=bandit.piref[x:x + 1], r=bandit.r[x:x + 1], rho=None,
                             mu=None, R=None, phi=None)
        for corner in itertools.product((0.0, 1.0), repeat=n_free):
            row = base[x].copy()
            for k in range(m):
                row[graph.members(x, k)] += corner[k] * slack[x, k]
            row[U] = 0.0
            row[U_ref] = np.asarray(corner[m:]) * R
            logpi = gibbs(sub, row[None])
            J = expected_reward(sub, logpi) - sub.beta * kl_to_reference(sub, logpi)
            if J < best:
                best, best_row = J, row
        reward[x] = best_row
    reward = readonly(reward)
    return RLHFResult(reward, gibbs(bandit, reward), tie_break, readonly(newton))


# ------------------------------------------------------------------------ closed forms
def noisy_pair_minimizers(p: float, eps: float) -> dict[str, float]:
    """Population minimisers, as sigma(beta h), of DPO, cDPO and rDPO on one pair with clean
    win probability p and flip rate eps (card C12(c)):

        observed p~ = (1 - eps) p + eps (1 - p);  DPO: p~;  cDPO: (1 - eps) p~ + eps (1 - p~);
        rDPO: p (unbiased).

    Derivation: the population loss p~ l(z) + (1 - p~) l(-z) is stationary where
    l'(z) / l'(-z) = -(1 - p~)/p~; for rDPO l'(z) = -sigma(-z) - c with c = eps/(1-2eps) this
    gives sigma(z) = (p~ - eps)/(1 - 2 eps) = p; for cDPO l'(z) = -sigma(-z) + eps it gives
    sigma(z) = p~ (1 - 2 eps) + eps.

    Examples
    --------
    >>> {k: round(v, 3) for k, v in noisy_pair_minimizers(0.8, 0.3).items()}   # card C12(c)
    {'dpo': 0.62, 'cdpo': 0.548, 'rdpo': 0.8}
    """
    p = check_in_range("p", p, low=0.0, high=1.0, low_open=True, high_open=True)
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True)
    pt = (1.0 - eps) * p + eps * (1.0 - p)
    return {"dpo": pt, "cdpo": (1.0 - eps) * pt + eps * (1.0 - pt),
            "rdpo": (pt - eps) / (1.0 - 2.0 * eps)}


def rdpo_empirical_minimizer(n_win: int, n_loss: int, eps: float) -> float | None:
    """sigma(beta h) at the minimiser of the empirical rDPO loss of one pair observed with
    ``n_win`` wins and ``n_loss`` losses (card C12(d)): (p_hat - eps)/(1 - 2 eps),
    p_hat = n_win / (n_win + n_loss). It exists iff eps < p_hat < 1 - eps; otherwise the loss
    is unbounded below (returns None).

    Examples
    --------
    >>> rdpo_empirical_minimizer(2, 18, 0.3) is None          # p_hat = 0.1 <= eps
    True
    >>> round(rdpo_empirical_minimizer(14, 6, 0.2), 12)       # (0.7 - 0.2) / 0.6
    0.833333333333
    """
    n_win = check_int("n_win", n_win, low=0)
    n_loss = check_int("n_loss", n_loss, low=0)
    if n_win + n_loss == 0:
        raise ValueError("the pair was never observed (n_win + n_loss == 0)")
    eps = check_in_range("eps", eps, low=0.0, high=0.5, high_open=True)
    p_hat = n_win / (n_win + n_loss)
    if not eps < p_hat < 1.0 - eps:
        return None
    return (p_hat - eps) / (1.0 - 2.0 * eps)


def simpo_stationary_margin(p: float, simpo_beta: float, simpo_gamma: float) -> float:
    """The unique root u of p sigma(gamma - beta u) = (1 - p) sigma(beta u + gamma): the
    population stationary point u = log pi(y) - log pi(y') of SimPO on one edge with
    P(y > y') = p (card §3.5, C13). gamma = 0 gives logit(p)/beta.

    The left side decreases and the right side increases in u, so the root is unique; it is
    bracketed by +-(|logit p| + gamma)/beta + 1 and found by Brent's method to 1e-14.

    Examples
    --------
    >>> round(simpo_stationary_margin(0.8, 2.0, 1.0), 5)          # card C13: 1.07698
    1.07698
    """
    p = check_in_range("p", p, low=0.0, high=1.0, low_open=True, high_open=True)
    a = check_in_range("simpo_beta", simpo_beta, low=0.0, low_open=True)
    g = check_in_range("simpo_gamma", simpo_gamma, low=0.0)

    def F(u):
        return p * expit(g - a * u) - (1.0 - p) * expit(a * u + g)

    span = (abs(np.log(p / (1.0 - p))) + g) / a + 1.0
    return float(brentq(F, -span, span, xtol=1e-14, rtol=4 * np.finfo(float).eps))


def hypo_penalized(bandit: PreferenceBandit, data: PairData, lam: float, loss: PairLoss,
                   *, gtol: float = 1e-11, logpi0: Any = None) -> np.ndarray:
    """The exact penalised HyPO minimiser argmin_pi sum W ell(m) + lam KL_rho(pi || piref)
    over tabular policies (card §3.7, C8(c)), by damped Newton on the logits of the reference
    support with the exact Hessian (L-BFGS from Newton's point if Newton stalls; logits of
    piref zeros stay -inf: any mass there makes the KL infinite).

    Starts from log piref (or ``logpi0``, a log-policy with the reference support: a warm
    start, e.g. a nearby lam's solution); stops at ||grad||_inf <= gtol (Newton converges
    quadratically; the L-BFGS fallback stops when the objective stops decreasing in float64,
    observed final gradients 1e-10 to 1e-8): callers that need an error
    bound derive it from the returned point's gradient (as the claims do). Deviations: none
    for lam > 0; with lam = 0 this is a DPO minimiser reached from piref (the whole set is
    :func:`dpo_minimizer_set`).

    Examples
    --------
    Card C8(c): P1 with the labelled pairs normalised to 1 and lam = 0.1 gives pi(a) = 0.8272.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs, dpo
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> logpi = hypo_penalized(b, population_pairs(b), 0.1, dpo(b.beta))
    >>> round(float(np.exp(logpi[0, 0])), 4)
    0.8272
    """
    check_pair_data(bandit, data)
    lam = check_in_range("lam", lam, low=0.0)
    if not isinstance(loss, PairLoss):
        raise TypeError(f"loss must be a PairLoss, got {type(loss).__name__}")
    sup = bandit.support
    used = data.W > 0
    xs, yp, ym = np.nonzero(used)
    Wu = data.W[used]
    size = bandit.nX * bandit.K
    fp, fm = xs * bandit.K + yp, xs * bandit.K + ym
    log_ref = np.where(sup, bandit.log_piref, 0.0)
    rho_col = bandit.rho[:, None]

    def unpack(v):
        theta = np.full((bandit.nX, bandit.K), -np.inf)
        theta[sup] = v
        return log_softmax(theta)

    def fun(v):
        # the loss and gradients of losses.py, inlined on precomputed pair indices (this is
        # the inner loop of the optimiser); tests check them against preference_loss
        logpi = unpack(v)
        g = logpi - log_ref if loss.reference else logpi
        m = g[xs, yp] - g[xs, ym]
        val = float(Wu @ loss.value(m))
        c = Wu * loss.derivative(m)
        G = (np.bincount(fp, c, size) - np.bincount(fm, c, size)).reshape(bandit.nX, bandit.K)
        if lam > 0:
            p = np.exp(logpi)
            ell = np.where(p > 0, logpi - log_ref, 0.0)
            val += lam * float(bandit.rho @ (p * ell).sum(axis=1))
            G = G + lam * rho_col * p * (ell - (p * ell).sum(axis=1, keepdims=True))
        return val, G[sup]

    pos = np.full(size, -1)
    pos[sup.ravel()] = np.arange(int(sup.sum()))
    pp, pm = pos[fp], pos[fm]
    prompt_of = np.nonzero(sup)[0]

    def hessian(v):
        # pair part: the margins are linear in the logits, so sum W ell''(m) (e+ - e-)(e+ - e-)^T
        # (a weighted graph Laplacian); KL part per prompt, with k = E_p l and G = p (l - k):
        # d^2 KL / d theta_i d theta_j = delta_ij p_i (l_i - k + 1) - p_i p_j (l_i + l_j - 2k + 1)
        logpi = unpack(v)
        g = logpi - log_ref if loss.reference else logpi
        c2 = Wu * loss.curvature(g[xs, yp] - g[xs, ym])
        n = pos.max() + 1
        H = np.zeros((n, n))
        np.add.at(H, (pp, pp), c2)
        np.add.at(H, (pm, pm), c2)
        np.add.at(H, (pp, pm), -c2)
        np.add.at(H, (pm, pp), -c2)
        if lam > 0:
            for x in range(bandit.nX):
                idx = np.flatnonzero(prompt_of == x)
                p = np.exp(logpi[x, sup[x]])
                ell = logpi[x, sup[x]] - log_ref[x, sup[x]]
                k = float(p @ ell)
                blk = np.diag(p * (ell - k + 1.0)) - np.outer(p, p) * (
                    ell[:, None] + ell[None, :] - 2.0 * k + 1.0)
                H[np.ix_(idx, idx)] += lam * bandit.rho[x] * blk
        return H

    if logpi0 is None:
        start = bandit.log_piref[sup]
    else:
        start = np.asarray(logpi0, dtype=np.float64)
        if start.shape != sup.shape or not np.isfinite(start[sup]).all():
            raise ValueError(f"logpi0 must be a (nX, K) = {sup.shape} log-policy, finite on the "
                             f"reference support")
        start = start[sup]
    v, grad_inf = _newton(fun, hessian, start, gtol)
    if grad_inf > gtol:                   # Newton stalled (flat or indefinite): L-BFGS from there
        res = minimize(fun, v, jac=True, method="L-BFGS-B",
                       options={"ftol": 0.0, "gtol": gtol, "maxiter": 20_000})
        v = res.x
    return readonly(unpack(v))


_U = float(np.finfo(np.float64).eps) / 2.0


def _newton(fun: Any, hessian: Any, v: np.ndarray, gtol: float, max_iter: int = 100
            ) -> tuple[np.ndarray, float]:
    """Damped Newton with the absolute-eigenvalue modification (|H| in the eigenbasis, which
    is H itself where H is positive definite) and Armijo backtracking; the null space of H
    (one constant per prompt and per component) is left untouched, so the logit sums of each
    component keep their starting values, as for gradient descent. Returns (v, ||grad||_inf)."""
    val, g = fun(v)
    for _ in range(max_iter):
        if not np.abs(g).max() > gtol:
            break
        w, Q = np.linalg.eigh(hessian(v))
        keep = np.abs(w) > 1e-12 * max(float(np.abs(w).max()), 1e-300)
        d = -(Q[:, keep] @ ((Q[:, keep].T @ g) / np.abs(w[keep])))
        slope = float(g @ d)
        if not slope < 0:
            break
        t, g_inf = 1.0, float(np.abs(g).max())
        while t > 1e-6:
            v_new = v + t * d
            val_new, g_new = fun(v_new)
            # Armijo, or -- once the objective's change is at its float64 round-off (64 U
            # |value|) -- a smaller gradient: near the minimiser Newton is judged by the gradient
            if val_new <= val + 1e-4 * t * slope or (
                    abs(val_new - val) <= 64 * _U * (abs(val) + 1.0)
                    and np.abs(g_new).max() < g_inf):
                break
            t *= 0.5
        else:
            break
        v, val, g = v_new, val_new, g_new
    return v, float(np.abs(g).max())


def hypo_constrained(bandit: PreferenceBandit, data: PairData, kappa: float, loss: PairLoss,
                     *, lam_max: float = 1e6, iters: int = 40, gtol: float = 1e-11
                     ) -> tuple[np.ndarray, float]:
    """SONG24's constrained HyPO: argmin_pi sum W ell(m) subject to KL_rho(pi || piref) <= kappa
    over tabular policies (card §3.7 ``hypo_constrained(kappa)``, §2.8 last HyPO row).

    Solved as the card's recipe prescribes, through the penalised problem
    (:func:`hypo_penalized`) with the KL weight lam tuned by bisection on log lam until
    KL(pi_lam) = kappa: along the penalised path KL(pi_lam || piref) is non-increasing in lam
    (standard exchange argument for a penalised minimiser), and the KKT conditions of the
    constrained problem hold at pi_lam with multiplier lam. If the lam -> 0+ limit already lies
    in the ball -- for DPO with an existing BT-MLE this is the min-KL member of the minimiser
    set M (card C8(b)) -- it is returned with lam = 0: it minimises the loss and has the least
    KL of all minimisers.

    Parameters
    ----------
    bandit, data : the problem (population or counts)
    kappa : float >= 0, the KL radius (card: kappa = R/beta)
    loss : PairLoss (DPO for SONG24's HyPO)
    lam_max : upper end of the bisection bracket
    iters : bisection steps on log lam (40 halvings of the bracket [log 1e-12, log lam_max],
        of width 41.4 for lam_max = 1e6, locate log lam to 4e-11)
    gtol : gradient tolerance of each penalised solve

    Returns
    -------
    (logpi, lam) : the constrained minimiser (nX, K) and its multiplier.

    Deviations: accuracy of the constraint is that of the bisection and of the penalised
    solves; the returned point always satisfies KL <= kappa.

    Examples
    --------
    On the card's P1 the ball kappa = R/beta = 2 contains pi* (KL 0.3278), which is returned;
    with kappa = 0.1 the constraint binds and the multiplier is positive.

    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs, dpo
    >>> b = PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=[[1.0, 0.0, 0.0]], beta=0.5)
    >>> logpi, lam = hypo_constrained(b, population_pairs(b), 2.0, dpo(b.beta))
    >>> bool(np.allclose(np.exp(logpi), b.pi_star, atol=1e-9)), lam
    (True, 0.0)
    >>> logpi, lam = hypo_constrained(b, population_pairs(b), 0.1, dpo(b.beta))
    >>> round(float(kl_to_reference(b, logpi)), 6), lam > 0
    (0.1, True)
    """
    check_pair_data(bandit, data)
    kappa = check_in_range("kappa", kappa, low=0.0)
    lam_max = check_in_range("lam_max", lam_max, low=0.0, low_open=True)
    iters = check_int("iters", iters, low=1)
    if not isinstance(loss, PairLoss):
        raise TypeError(f"loss must be a PairLoss, got {type(loss).__name__}")
    if loss.name == "dpo":
        try:
            start = dpo_minimizer_set(bandit, data).min_kl_member()
        except ValueError:                        # no BT-MLE: no minimiser at lam = 0
            start = None
        if start is not None and kl_to_reference(bandit, start) <= kappa:
            return start, 0.0
    lo, hi = math.log(1e-12), math.log(lam_max)
    best = hypo_penalized(bandit, data, lam_max, loss, gtol=gtol)
    if kl_to_reference(bandit, best) > kappa:
        raise ValueError(f"even lam = {lam_max:g} leaves KL = "
                         f"{kl_to_reference(bandit, best):.6g} > kappa = {kappa:g}; raise lam_max")
    lam_best = lam_max
    warm = best
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        # warm start at the previous solution (same minimiser, far fewer iterations)
        lp = hypo_penalized(bandit, data, math.exp(mid), loss, gtol=gtol, logpi0=warm)
        warm = lp
        if kl_to_reference(bandit, lp) <= kappa:
            hi, best, lam_best = mid, lp, math.exp(mid)
        else:
            lo = mid
    return best, lam_best


def loglinear_minimizer(bandit: PreferenceBandit, data: PairData, loss: PairLoss, *,
                        bound: float = 10.0, norm: str = "inf", theta0: Any = None
                        ) -> np.ndarray:
    """argmin over ||theta|| <= bound of sum W ell(theta^T (phi(x, y+) - phi(x, y-))) for
    log-linear policies pi_theta proportional to piref exp(theta^T phi) (card §2.6, §3.6), or
    equally the bounded linear BT reward fit r_w = w^T phi, ||w|| <= B (card §3.1, with
    ``loss = dpo(1.0)``).

    ``norm="inf"`` is the box [-bound, bound]^d of the card's C12(e) recipe ("fit by L-BFGS-B on
    theta in [-10, 10]^d"); ``norm="2"`` is the Euclidean ball ||theta||_2 <= bound of the
    theory classes (RDPO24's ||theta||_2 <= B, card §3.6; RLHF's linear class ||w|| <= B, card
    §3.1). Either keeps the rDPO loss, unbounded below in z (C12(d)), finite. The margin does
    not depend on piref (it cancels), so this is the same fit for RDPO24's plain softmax class
    with theta measured from the reference's parameter. Convex for DPO, cDPO and rDPO (a
    logistic loss plus a linear term in theta).

    The data enter only through the aggregated weights W (counts of each labelled ordered
    pair), so the cost does not grow with the number of samples. Solved by Newton's method
    with backtracking, stopped when the step is below 1e-13 relative; accepted if it ends
    strictly inside the feasible set. Otherwise the constraint is active: on the box, L-BFGS-B;
    on the ball, the KKT conditions grad F(theta) + nu theta = 0, ||theta||_2 = bound, nu > 0
    [boyd2004, §5.5.3] are solved along the ridge path theta(nu) = argmin F + (nu/2)
    ||theta||^2 (strongly convex, Newton), whose norm decreases in nu, by Brent's method on
    log nu until ||theta(nu)||_2 = bound to 1e-12 relative; the bracket starts at nu =
    2 ||grad F(0)|| / bound, where ||theta(nu)|| <= ||grad F(0)|| / nu = bound / 2 (if F is
    flat along a direction and its minimisers reach inside the ball, the path stays inside
    down to nu = 1e-40 times that, and that theta(nu), stationary to round-off, is returned).

    Examples
    --------
    >>> from rlsandbox.algorithms.preference import PreferenceBandit, population_pairs, dpo
    >>> b = PreferenceBandit(piref=[[1/3] * 3], r=[[0.8, 0.0, -0.4]], beta=1.0,
    ...                      phi=[[[2.0], [0.0], [-1.0]]])
    >>> theta = loglinear_minimizer(b, population_pairs(b), dpo(1.0))   # r* = beta 0.4 phi
    >>> round(float(theta[0]), 6)
    0.4
    >>> round(float(loglinear_minimizer(b, population_pairs(b), dpo(1.0), bound=0.3,
    ...                                 norm="2")[0]), 12)           # the ball binds
    0.3
    """
    check_pair_data(bandit, data)
    if not isinstance(loss, PairLoss) or not loss.reference:
        raise TypeError("loss must be a reference-margin PairLoss (dpo, rdpo, cdpo, ipo)")
    if bandit.phi is None:
        raise ValueError("the bandit has no features; pass phi (nX, K, d) to PreferenceBandit")
    bound = check_in_range("bound", bound, low=0.0, low_open=True)
    norm = check_choice("norm", norm, ("inf", "2"))
    used = data.W > 0
    xs, yp, ym = np.nonzero(used)
    Wu = data.W[used]
    dphi = bandit.phi[xs, yp] - bandit.phi[xs, ym]            # (pairs, d)
    theta0 = np.zeros(bandit.d) if theta0 is None else \
        check_float_array("theta0", theta0, shape=(bandit.d,))
    size = (lambda th: float(np.max(np.abs(th)))) if norm == "inf" else \
        (lambda th: float(np.linalg.norm(th)))

    def fun(theta, nu=0.0):
        m = dphi @ theta
        return (float(Wu @ loss.value(m)) + 0.5 * nu * float(theta @ theta),
                dphi.T @ (Wu * loss.derivative(m)) + nu * theta)

    def newton(theta, nu=0.0):
        """Newton with backtracking on F + (nu/2)||theta||^2; (theta, converged)."""
        for _ in range(100):
            val, grad = fun(theta, nu)
            H = dphi.T @ ((Wu * loss.curvature(dphi @ theta))[:, None] * dphi) + \
                nu * np.eye(bandit.d)
            try:
                step = -np.linalg.solve(H, grad)
            except np.linalg.LinAlgError:
                return theta, False
            t = 1.0
            while fun(theta + t * step, nu)[0] > val + 1e-4 * t * float(grad @ step) + \
                    8 * np.finfo(np.float64).eps * abs(val) and t > 1e-10:
                t *= 0.5
            theta = theta + t * step
            if np.max(np.abs(t * step)) <= 1e-13 * (1.0 + np.max(np.abs(theta))):
                return theta, True
            if size(theta) > 10 * bound:          # diverging: the constraint will bind
                return theta, False
        return theta, False

    start = np.clip(theta0, -bound, bound) if norm == "inf" else \
        theta0 * min(1.0, bound / max(float(np.linalg.norm(theta0)), 1e-300))
    theta, ok = newton(start)
    if ok and size(theta) < bound:                # unconstrained minimiser inside: done
        return readonly(theta)
    if norm == "inf":
        res = minimize(fun, start, jac=True, method="L-BFGS-B",
                       bounds=[(-bound, bound)] * bandit.d,
                       options={"ftol": 0.0, "gtol": 1e-10, "maxiter": 5_000})
        return readonly(np.array(res.x))
    warm = {"theta": np.zeros(bandit.d)}

    def excess(log_nu):
        th, _ = newton(warm["theta"], math.exp(log_nu))   # strongly convex: converges
        warm["theta"] = th
        return float(np.linalg.norm(th)) / bound - 1.0

    hi = math.log(2.0 * max(float(np.linalg.norm(fun(np.zeros(bandit.d))[1])), 1e-300) / bound)
    lo = hi
    while excess(lo) <= 0.0:                      # ||theta(nu)|| -> ||argmin F|| > bound or inf
        lo -= math.log(10.0)
        if lo < hi - 40 * math.log(10.0):
            # a flat direction of F (Newton at nu = 0 found H singular) with minimisers inside
            # the ball: theta(nu) is feasible and ||grad F|| = nu ||theta|| <= 1e-40 ||grad F(0)||
            return readonly(warm["theta"])
    log_nu = brentq(excess, lo, hi, xtol=1e-14, rtol=4 * np.finfo(np.float64).eps)
    theta, _ = newton(warm["theta"], math.exp(log_nu))
    return readonly(theta * min(1.0, bound / float(np.linalg.norm(theta))))
