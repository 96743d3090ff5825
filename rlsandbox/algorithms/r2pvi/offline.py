"""Pessimistic offline value iteration in d-rectangular linear MDPs: R2PVI, DRPVI, DRVI-L, PEVI.

All four share one skeleton [r2pvi, §3.1]. From K trajectories ``(s_h, a_h, r_h, s_{h+1})``
collected by a behavior policy in the nominal model, for ``h = H-1, ..., 0`` (0-based):

    Lambda_h  = sum_tau phi_h^tau phi_h^tau^T + ridge I_d          (ridge = the paper's gamma)
    v^tau     = V_hat_{h+1}(s_{h+1}^tau)
    w_hat_h   = ESTIMATE(v, Lambda_h)                                (per method, below)
    Q_hat_h   = clip( phi @ (theta_h + w_hat_h) - beta b_h,  0,  H - h )
    pi_hat_h  = argmax_a Q_hat_h (lowest index),   V_hat_h = max_a Q_hat_h

with the per-(s, a) bonus factor ``b_h`` (times beta) of card §3.1 / P1:

    "d_rect"  (paper, R2PVI/DRPVI/DRVI-L):  b = sum_i phi_i sqrt((Lambda_h^{-1})_ii)
    "diag_l2" (official code, same methods): b = sqrt( sum_i phi_i^2 (Lambda_h^{-1})_ii )
    "full"    (PEVI, paper and code):        b = sqrt( phi^T Lambda_h^{-1} phi )

Estimators, with ``c_i = (Lambda_h^{-1} Phi_h^T)_i`` the ridge-regression weights of
coordinate i, so that ``[Lambda^{-1} sum_tau phi^tau y^tau]_i = c_i @ y``:

* R2PVI-TV [r2pvi, §3.2]: ``alpha_h = min_{s in S} V_hat_{h+1}(s) + lam``,
  ``w_hat = Lambda^{-1} sum phi [v]_alpha`` (closed form);
* R2PVI-KL: ``w_hat_i = -lam log max{ c_i @ exp(-v / lam), exp(-H / lam) }``, evaluated in the
  shifted form ``m - lam log max{ c_i @ exp(-(v - m)/lam), exp(-(H - m)/lam) }``,
  ``m = min_tau v^tau`` (card P10: identical in exact arithmetic, no underflow);
* R2PVI-chi2: ``w_hat_i = max_{alpha in [0, H]} z_i(alpha) - (z2_i(alpha) - z_i(alpha)^2)/(4 lam)``
  with ``z_i = c_i @ [v]_alpha``, ``z2_i = c_i @ [v]_alpha^2``; exact: the objective is
  quadratic in alpha between consecutive sorted targets, so each piece is maximized in closed
  form (O(K log K + K d), card §3.2);
* DRPVI [r2pvi, §3.3]: ``nu_i = max_{alpha in [0, H]} z_i(alpha) - rho_{h,i} alpha``; exact:
  piecewise linear, maximized over the breakpoints {0, H} and the targets;
* DRVI-L [r2pvi, §3.4]: ``nu_i = sup_{b in (0, H]} -b log max{c_i @ (exp(-v/b) - 1) + 1, 1e-6}
  - b rho_{h,i}``: no closed form and not concave (signed ridge weights), so a branch and bound
  over cells of (0, H] with a certified upper bound per cell returns a value within
  ``1e-6 max(H, 1)`` below the supremum, never above it (the ``b -> 0+`` end included);
* PEVI [r2pvi, §3.5; jin2021]: ``w_hat = Lambda^{-1} sum phi (r + v)`` (rewards regressed).

Reward. R2PVI, DRPVI and DRVI-L add the known ``theta_h`` (``reward="known"``, the code's
choice, card P12); ``reward="regress"`` replaces it by the ridge estimate
``Lambda^{-1} sum phi r`` (the paper's theory may assume either, **[unverified]**). PEVI regresses
by default. At the last step ``V_hat_H = 0`` is known, so every method sets ``w_hat = 0`` there
instead of estimating it (the code does the same; for KL the ridge estimate of
``E exp(0) = 1`` would otherwise be biased).

Known states. ``fail_states`` lists absorbing zero-reward states whose value is known to be 0
(x4 of the simulated MDP, card §5.1): ``Q_hat`` and ``V_hat`` are set to 0 there and their
bonus to 0 (card P13). The official code does this for x4.

Modes (card §5.3 item 2). ``mode="paper"``: TV threshold from the minimum over the whole state
space; the d-rectangular bonus; ``Q_hat`` clipped to ``[0, H - h]``; exact maximization for
chi2 and DRPVI. ``mode="reference_code"`` reproduces the official code's choices (card §6):
TV threshold from the minimum over the K observed targets (P2); the ``"diag_l2"`` bonus (P1);
``Q_hat`` capped at ``H - h`` but never clipped below at 0 (P8); chi2, DRPVI and DRVI-L solved
by ``scipy.optimize.minimize(method="Nelder-Mead")`` from ``H/2`` with bounds ``[0, H]``
(``[1e-6, H]`` for DRVI-L) (P11); and the simulated-MDP code's chi2 sign slip, which
*minimizes* the chi2 objective over alpha (P3). Nelder-Mead follows the installed SciPy, so
local-optimum effects may differ from the code's SciPy version.

Deviations from the card: none in ``mode="paper"`` beyond the [unverified] items above (the
KL clip level ``exp(-H/lam)`` and no clipping of ``z``, ``z2`` before forming the chi2 variance
are the code's choices, exposed in the docstrings). The variance-aware variants (card §3.6,
``variance_aware=True`` for R2PVI and DRPVI) follow the card's description, not the official
code, whose variance regression degenerates to weights 1 (P5).

Shapes: phi (S, A, d); data s (K, H+1), a (K, H), r (K, H); Q (H, S, A), V (H+1, S),
w (H, d), Lambda (H, d, d), policy (H, S).

References
----------
[r2pvi] shared/papers/r2pvi.md (Tang, Liu, Xu, ICML 2025) and its baselines: DRPVI (Liu & Xu
2024, arXiv 2403.09621), DRVI-L (Ma et al. 2022, arXiv 2209.06620), [jin2021] PEVI (Jin, Yang,
Wang, ICML 2021).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rlsandbox._validate import check_choice, check_float_array, check_in_range, check_int, \
    readonly
from rlsandbox.algorithms.r2pvi.divergences import DIVERGENCES, _check_lam
from rlsandbox.algorithms.r2pvi.robust_dp import check_model
from rlsandbox.linear import LinearMDP
from rlsandbox.sampling import Trajectories, trajectories

__all__ = ["OfflineData", "OfflineSolution", "collect", "r2pvi", "drpvi", "drvi_l", "pevi",
           "bonus_factor", "variance_weights", "MODES", "BONUS_FORMS", "DRVI_L_LOG_FLOOR"]

MODES = ("paper", "reference_code")
BONUS_FORMS = ("d_rect", "diag_l2", "full")
#: DRVI-L clips the argument of its log at this level (the official code's value, card §3.4).
DRVI_L_LOG_FLOOR = 1e-6
_DRVI_L_GRID = 64
_DRVI_L_MAX_ROUNDS = 200


# ====================================================================== data
@dataclass(frozen=True, slots=True, eq=False)
class OfflineData:
    """K trajectories of a finite-horizon model: the offline data set of card §3.

    Attributes
    ----------
    s : (K, H+1) int64 states; a : (K, H) int64 actions; r : (K, H) float64 rewards.
    """

    s: np.ndarray
    a: np.ndarray
    r: np.ndarray

    def __post_init__(self) -> None:
        s = np.asarray(self.s)
        a = np.asarray(self.a)
        for name, x in (("s", s), ("a", a)):
            if not np.issubdtype(x.dtype, np.integer):
                raise TypeError(f"OfflineData.{name} must hold integers, got dtype {x.dtype}")
        if s.ndim != 2 or a.ndim != 2 or s.shape[0] != a.shape[0] or s.shape[1] != a.shape[1] + 1:
            raise ValueError(f"OfflineData: s has shape {s.shape} and a {a.shape}; expected "
                             f"(K, H+1) and (K, H)")
        if a.shape[0] < 1 or a.shape[1] < 1:
            raise ValueError(f"OfflineData: a has shape {a.shape}; need K >= 1 trajectories of "
                             f"H >= 1 steps")
        r = check_float_array("OfflineData.r", self.r, shape=a.shape)
        object.__setattr__(self, "s", readonly(np.array(s, dtype=np.int64)))
        object.__setattr__(self, "a", readonly(np.array(a, dtype=np.int64)))
        object.__setattr__(self, "r", readonly(r))

    @property
    def K(self) -> int:
        """Number of trajectories."""
        return int(self.a.shape[0])

    @property
    def H(self) -> int:
        """Horizon."""
        return int(self.a.shape[1])

    @classmethod
    def from_trajectories(cls, tr: Trajectories) -> "OfflineData":
        """Wrap :func:`rlsandbox.sampling.trajectories` output (full-length episodes only)."""
        if not isinstance(tr, Trajectories):
            raise TypeError(f"expected rlsandbox.sampling.Trajectories, got {type(tr).__name__}")
        if np.any(tr.length != tr.T):
            k = int(np.argmax(tr.length != tr.T))
            raise ValueError(f"trajectory {k} stopped after {int(tr.length[k])} of {tr.T} steps "
                             f"(a terminal state); offline finite-horizon data needs full-length "
                             f"episodes: sample from a FiniteHorizonMDP")
        return cls(tr.s, tr.a, tr.r)

    def __repr__(self) -> str:
        return f"OfflineData(K={self.K}, H={self.H})"


def collect(lin: LinearMDP, behavior: Any, *, K: int, rng: Any) -> OfflineData:
    """K trajectories of ``behavior`` in the model ``lin`` from ``lin.rho`` (card §3, §5.1).

    Uses :func:`rlsandbox.sampling.trajectories` on ``lin.to_tabular()`` (its draw order).

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=100, rng=0)
    >>> data, bool((data.s[:, 0] == 0).all())
    (OfflineData(K=100, H=3), True)
    """
    lin = check_model(lin, "collect")
    K = check_int("K", K, low=1)
    return OfflineData.from_trajectories(trajectories(lin.to_tabular(), behavior, n=K, rng=rng))


# ====================================================================== result
@dataclass(frozen=True, slots=True, eq=False)
class OfflineSolution:
    """What a pessimistic value iteration learned.

    Attributes
    ----------
    method : "r2pvi" | "drpvi" | "drvi_l" | "pevi"
    divergence : "tv" | "kl" | "chi2" for R2PVI, "tv" (DRPVI), "kl" (DRVI-L), None (PEVI)
    mode : "paper" | "reference_code"
    Q : (H, S, A) pessimistic action values ``Q_hat``.
    V : (H+1, S) ``V_hat`` (``V[H] = 0``).
    policy : (H, S) int64, the greedy policy ``pi_hat`` (lowest-index maximizer).
    w : (H, d) the estimated transition part ``w_hat_h`` (robust inner values / regression of
        ``V_hat_{h+1}``; for PEVI the regression of ``r + V_hat_{h+1}``).
    theta : (H, d) the reward part added to ``w`` (known ``theta_h``, its ridge estimate, or 0
        for PEVI, whose ``w`` includes the reward).
    Lambda : (H, d, d) Gram matrices; Lambda_inv : (H, d, d) their inverses.
    b : (H, S, A) bonus factors (the bonus is ``beta * b``; 0 at known states).
    alpha : (H,) the TV threshold of R2PVI-TV (nan otherwise and at the last step).
    params : dict of the hyper-parameters (lam, rho, beta, ridge, reward, bonus, fail_states).
    """

    method: str
    divergence: str | None
    mode: str
    Q: np.ndarray
    V: np.ndarray
    policy: np.ndarray
    w: np.ndarray
    theta: np.ndarray
    Lambda: np.ndarray
    Lambda_inv: np.ndarray
    b: np.ndarray
    alpha: np.ndarray
    params: dict = field(default_factory=dict)

    @property
    def bonus(self) -> np.ndarray:
        """``beta * b`` (H, S, A)."""
        return self.params["beta"] * self.b

    def __repr__(self) -> str:
        H, S, A = self.Q.shape
        div = f", {self.divergence}" if self.divergence else ""
        return f"OfflineSolution({self.method}{div}, {self.mode}, H={H}, S={S}, A={A})"


# ====================================================================== pieces
def bonus_factor(phi: np.ndarray, Lambda_inv: np.ndarray, form: str) -> np.ndarray:
    """Per-(s, a) bonus factor ``b`` for one step (card §3.1, P1); the bonus is ``beta * b``.

    Parameters
    ----------
    phi : (S, A, d); Lambda_inv : (d, d); form : {"d_rect", "diag_l2", "full"}

    Returns
    -------
    b : (S, A)

    Examples
    --------
    >>> import numpy as np
    >>> phi = np.array([[[0.5, 0.5]]])          # (S, A, d) = (1, 1, 2)
    >>> Linv = np.diag([4.0, 1.0])
    >>> [float(bonus_factor(phi, Linv, f)[0, 0]) for f in ("d_rect", "diag_l2", "full")]
    [1.5, 1.118033988749895, 1.118033988749895]
    """
    form = check_choice("bonus", form, BONUS_FORMS)
    diag = np.diagonal(Lambda_inv)
    if form == "d_rect":
        return phi @ np.sqrt(diag)
    if form == "diag_l2":
        return np.sqrt((phi ** 2) @ diag)
    return np.sqrt(np.maximum(np.einsum("sai,ij,saj->sa", phi, Lambda_inv, phi), 0.0))


def _pieces(v: np.ndarray, C: np.ndarray, H: float) -> tuple[np.ndarray, ...]:
    """Breakpoints and per-piece sums for functions of ``[v]_alpha`` on alpha in [0, H].

    Returns bp (J,), and for each breakpoint b_j the coefficient sums over the targets with
    v <= b_j: a0 = sum c v, b0 = sum c v^2, and a1 = sum c over v > b_j; each (d, J). On
    [b_j, b_{j+1}]: z_i(alpha) = a0 + a1 alpha, z2_i(alpha) = b0 + a1 alpha^2.
    """
    inner = v[(v > 0.0) & (v < H)]
    bp = np.unique(np.concatenate([[0.0, H], inner]))
    order = np.argsort(v, kind="stable")
    vs, Cs = v[order], C[:, order]
    n = np.searchsorted(vs, bp, side="right")                     # targets with v <= b_j
    zero = np.zeros((C.shape[0], 1))
    cum_c = np.concatenate([zero, np.cumsum(Cs, axis=1)], axis=1)
    cum_cv = np.concatenate([zero, np.cumsum(Cs * vs, axis=1)], axis=1)
    cum_cv2 = np.concatenate([zero, np.cumsum(Cs * vs ** 2, axis=1)], axis=1)
    a0, b0 = cum_cv[:, n], cum_cv2[:, n]
    a1 = cum_c[:, -1:] - cum_c[:, n]
    return bp, a0, a1, b0


def _chi2_exact(v: np.ndarray, C: np.ndarray, H: float, lam: float, sign: float) -> np.ndarray:
    """sign * max_alpha sign * g_i(alpha), g = z - (z2 - z^2)/(4 lam), exact piecewise."""
    bp, a0, a1, b0 = _pieces(v, C, H)
    k = 1.0 / (4.0 * lam)
    c2 = (a1 ** 2 - a1) * k
    c1 = a1 * (1.0 + 2.0 * a0 * k)
    c0 = a0 - (b0 - a0 ** 2) * k

    def g(x):
        return c2 * x ** 2 + c1 * x + c0

    lo, hi = bp[None, :], np.append(bp[1:], bp[-1])[None, :]       # piece j = [bp_j, bp_j+1]
    cands = [g(lo), g(hi)]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = np.where(c2 != 0.0, -c1 / (2.0 * c2), np.nan)
    inside = (vertex > lo) & (vertex < hi) & (sign * c2 < 0.0)
    cands.append(np.where(inside, g(np.where(inside, vertex, 0.0)), -sign * np.inf))
    vals = np.concatenate(cands, axis=1)
    return vals.max(axis=1) if sign > 0 else vals.min(axis=1)


def _drpvi_exact(v: np.ndarray, C: np.ndarray, H: float, rho: np.ndarray) -> np.ndarray:
    bp, a0, a1, _ = _pieces(v, C, H)
    return (a0 + (a1 - rho[:, None]) * bp[None, :]).max(axis=1)


def _nelder_mead(f, x0: float, lo: float, hi: float) -> float:
    """min f over [lo, hi] by scipy's bounded Nelder-Mead from x0 (the official code's call)."""
    from scipy.optimize import minimize

    res = minimize(lambda x: f(float(x[0])), np.array([x0]), method="Nelder-Mead",
                   bounds=[(lo, hi)])
    return float(res.fun)


def _drvi_l_objective(v: np.ndarray, c: np.ndarray, rho_i: float, b: np.ndarray) -> np.ndarray:
    """-b log max{c @ (exp(-v/b) - 1) + 1, floor} - b rho for an array of b (> 0)."""
    with np.errstate(over="ignore"):           # v < 0 (reference mode): exp overflows to inf
        e = np.exp(-v[:, None] / b[None, :]) - 1.0
        z = c @ e + 1.0
    z = np.where(np.isnan(z), np.inf, z)
    return -b * np.log(np.maximum(z, DRVI_L_LOG_FLOOR)) - b * rho_i


def _drvi_l_search(v: np.ndarray, C: np.ndarray, H: float, rho: np.ndarray, *,
                   tol: float | None = None, certificate: bool = False) -> Any:
    """DRVI-L's dual ``sup_{b in (0, H]} g_i(b)`` for every coordinate, certified to ``tol``.

    ``g_i(b) = -b log max{z_i(b), F} - b rho_i``, ``z_i(b) = c_i @ (exp(-v/b) - 1) + 1``,
    ``F = DRVI_L_LOG_FLOOR`` (card §3.4). The ridge weights ``c_i`` have both signs, so ``g_i``
    need not be concave; the search is a branch and bound over cells ``[b1, b2]`` of
    ``(0, H]``. Bound: for ``v >= 0`` every ``exp(-v_tau/b)`` is nondecreasing in b, so on a
    cell ``z_i(b) >= z_lo = 1 - sum c + sum_{c>0} c exp(-v/b1) + sum_{c<0} c exp(-v/b2)``
    (``exp(-v/0) := 1{v = 0}``), and with ``L = -log max{z_lo, F}``,
    ``g_i(b) <= b (L - rho_i) <= max{b1 (L - rho_i), b2 (L - rho_i)} =: U``. Cells with
    ``U <= best + tol`` are discarded; the others are split (geometrically while
    ``b2 > 2 b1``, at ``b2 / 8`` for the cell at 0, else in halves) and ``g_i`` is evaluated
    at the split point. The search starts from a 64-point log grid on ``[1e-4 H, H]`` plus the
    cell ``(0, 1e-4 H]``, and from ``best = 0``, the limit of ``g_i`` as ``b -> 0+`` (every
    term of ``b log`` tends to 0: ``z_i(0+) = 1 - sum_{v > 0} c`` is either positive or
    floored at F). On return, ``best <= sup_b g_i <= best + tol``: a certified bound, not a
    local search. Requires ``v >= 0`` (paper mode: ``V_hat`` is clipped at 0).

    ``tol`` defaults to ``1e-6 max(H, 1)``; ``certificate=True`` also returns the certified
    upper bounds ``best + tol`` (d,).
    """
    tol = 1e-6 * max(H, 1.0) if tol is None else float(tol)
    if v.size and float(v.min()) < 0.0:
        raise ValueError(f"the DRVI-L branch and bound needs targets v >= 0, got min "
                         f"{float(v.min())!r}; clip V_hat at 0 (paper mode) or use the "
                         f"Nelder-Mead oracle")
    edges = np.geomspace(1e-4 * H, H, _DRVI_L_GRID)
    E_edges = np.exp(-v[:, None] / edges[None, :])                    # (K, n), exp(-v / b)
    E_zero = (v == 0.0).astype(float)[:, None]                        # exp(-v / 0+)
    out = np.empty(C.shape[0])
    for i in range(C.shape[0]):
        c, r = C[i], float(rho[i])
        cpos, cneg, base = np.maximum(c, 0.0), np.minimum(c, 0.0), 1.0 - float(c.sum())

        def g(b, E):                       # the objective from exp(-v / b), b > 0
            return -b * (np.log(np.maximum(c @ E + base, DRVI_L_LOG_FLOOR)) + r)

        best = max(0.0, float(g(edges, E_edges).max()))
        lo, hi = np.concatenate([[0.0], edges[:-1]]), edges
        E_lo, E_hi = np.concatenate([E_zero, E_edges[:, :-1]], axis=1), E_edges
        for _ in range(_DRVI_L_MAX_ROUNDS):
            L = -np.log(np.maximum(base + cpos @ E_lo + cneg @ E_hi, DRVI_L_LOG_FLOOR)) - r
            keep = np.maximum(lo * L, hi * L) > best + tol
            if not keep.any():
                break
            lo, hi, E_lo, E_hi = lo[keep], hi[keep], E_lo[:, keep], E_hi[:, keep]
            mid = np.where(lo == 0.0, hi / 8.0,
                           np.where(hi > 2.0 * lo, np.sqrt(lo * hi), 0.5 * (lo + hi)))
            E_mid = np.exp(-v[:, None] / mid[None, :])
            best = max(best, float(g(mid, E_mid).max()))
            lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
            E_lo, E_hi = np.concatenate([E_lo, E_mid], axis=1), np.concatenate([E_mid, E_hi],
                                                                               axis=1)
        else:
            raise RuntimeError(f"DRVI-L branch and bound did not certify tol={tol:g} in "
                               f"{_DRVI_L_MAX_ROUNDS} rounds (coordinate {i}); raise tol")
        out[i] = best
    return (out, out + tol) if certificate else out


# ====================================================================== the skeleton
def _check_rho_table(rho: Any, H: int, d: int) -> np.ndarray:
    table = np.broadcast_to(check_float_array("rho", rho, ndim=(0, 1, 2)), (H, d)).copy()
    for h, i in np.ndindex(H, d):
        check_in_range(f"rho[{h}, {i}]", table[h, i], low=0.0)
    return table


def _check_data(lin: LinearMDP, data: Any) -> OfflineData:
    if isinstance(data, Trajectories):
        data = OfflineData.from_trajectories(data)
    if not isinstance(data, OfflineData):
        raise TypeError(f"data must be an OfflineData (or sampling.Trajectories), got "
                        f"{type(data).__name__}; build it with "
                        f"rlsandbox.algorithms.r2pvi.collect(lin, behavior, K=..., rng=...)")
    if data.H != lin.H:
        raise ValueError(f"data has H == {data.H} steps but the model has H == {lin.H}")
    for name, x, n in (("s", data.s, lin.S), ("a", data.a, lin.A)):
        if x.min() < 0 or x.max() >= n:
            bad = int(x.max()) if x.max() >= n else int(x.min())
            raise ValueError(f"data.{name} holds {bad}, outside [0, {n}) of the model")
    return data


def variance_weights(lin: LinearMDP, data: Any, V: Any, *, ridge: float = 1.0) -> np.ndarray:
    """The variance estimates of the variance-aware variants [r2pvi, §3.6], per step and (s, a).

    For each step h, with ``Lambda_h = sum_tau phi_h^tau phi_h^tau^T + ridge I`` (the data's
    Gram matrix: the official code forms it *before* adding the data, card P5, which makes every
    estimate 1):

        z1_h = Lambda_h^{-1} sum_tau phi_h^tau V(s_{h+1}^tau),
        z2_h = Lambda_h^{-1} sum_tau phi_h^tau V(s_{h+1}^tau)^2,
        sigma2_h(s, a) = max{ 1, clip(phi^T z2_h, 0, H^2) - clip(phi^T z1_h, 0, H)^2 }.

    Parameters
    ----------
    lin : LinearMDP; data : OfflineData
    V : array (H+1, S)
        The value estimates of a first, plain run (``OfflineSolution.V``).
    ridge : float > 0

    Returns
    -------
    sigma2 : (H, S, A), >= 1

    Examples
    --------
    Values in [0, 2] have variance <= 1, so every estimate is 1 on the simulated MDP (H = 3):

    >>> from rlsandbox.mdps.r2pvi import simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=50, rng=0)
    >>> sol = r2pvi(lin, data, divergence="tv", lam=0.3, beta=0.3)
    >>> float(variance_weights(lin, data, sol.V).max())
    1.0
    """
    lin = check_model(lin, "variance_weights")
    data = _check_data(lin, data)
    ridge = check_in_range("ridge", ridge, low=0.0, low_open=True)
    V = check_float_array("V", V, shape=(lin.H + 1, lin.S))
    H = float(lin.H)
    out = np.empty((lin.H, lin.S, lin.A))
    for h in range(lin.H):
        Phi = lin.phi[data.s[:, h], data.a[:, h]]
        C = np.linalg.inv(Phi.T @ Phi + ridge * np.eye(lin.d)) @ Phi.T
        v = V[h + 1][data.s[:, h + 1]]
        m1 = np.clip(lin.phi @ (C @ v), 0.0, H)
        m2 = np.clip(lin.phi @ (C @ v ** 2), 0.0, H * H)
        out[h] = np.maximum(1.0, m2 - m1 ** 2)
    return readonly(out)


def _run(lin: LinearMDP, data: Any, *, method: str, divergence: str | None, lam: float | None,
         rho: Any, beta: Any, ridge: Any, mode: str, reward: str, bonus: str | None,
         fail_states: Any, variance_aware: bool = False) -> OfflineSolution:
    lin = check_model(lin, method)
    data = _check_data(lin, data)
    if not isinstance(variance_aware, bool):
        raise TypeError(f"variance_aware must be a bool, got {type(variance_aware).__name__}")
    sigma2 = None
    if variance_aware:      # card §3.6: a plain first pass supplies the variance estimates
        first = _run(lin, data, method=method, divergence=divergence, lam=lam, rho=rho,
                     beta=beta, ridge=ridge, mode=mode, reward=reward, bonus=bonus,
                     fail_states=fail_states)
        sigma2 = variance_weights(lin, data, first.V, ridge=first.params["ridge"])
    mode = check_choice("mode", mode, MODES)
    reward = check_choice("reward", reward, ("known", "regress"))
    beta = check_in_range("beta", beta, low=0.0)
    ridge = check_in_range("ridge", ridge, low=0.0, low_open=True,
                           hint="ridge is the ridge parameter (the paper's gamma) of Lambda_h")
    if bonus is None:
        bonus = "full" if method == "pevi" else ("d_rect" if mode == "paper" else "diag_l2")
    bonus = check_choice("bonus", bonus, BONUS_FORMS)
    fail = np.array(sorted({check_int("fail_states[...]", s, low=0, high=lin.S - 1)
                            for s in (fail_states or ())}), dtype=np.int64)
    H, S, A, d = lin.H, lin.S, lin.A, lin.d
    rho_t = _check_rho_table(rho, H, d) if method in ("drpvi", "drvi_l") else None
    V = np.zeros((H + 1, S))
    Q = np.empty((H, S, A))
    w = np.zeros((H, d))
    theta = np.zeros((H, d))
    Lam = np.empty((H, d, d))
    Linv = np.empty((H, d, d))
    b = np.empty((H, S, A))
    alpha = np.full(H, np.nan)
    for h in range(H - 1, -1, -1):
        Phi = lin.phi[data.s[:, h], data.a[:, h]]                      # (K, d)
        # variance-aware: every sample weighted by 1 / sigma2 (Gram matrix and regression)
        Phi_w = Phi if sigma2 is None else Phi / sigma2[h, data.s[:, h], data.a[:, h]][:, None]
        Lam[h] = Phi_w.T @ Phi + ridge * np.eye(d)
        Linv[h] = np.linalg.inv(Lam[h])
        C = Linv[h] @ Phi_w.T                                          # (d, K)
        v = V[h + 1][data.s[:, h + 1]]                                 # (K,)
        if method == "pevi":                                           # V[H] = 0: v = 0 at h = H-1
            if reward == "regress":
                w[h] = C @ (data.r[:, h] + v)
            else:
                theta[h] = lin.theta[h]
                w[h] = C @ v
        else:
            theta[h] = lin.theta[h] if reward == "known" else C @ data.r[:, h]
            if h < H - 1:
                w[h], alpha[h] = _estimate(method, divergence, mode, v, C, V[h + 1], lam,
                                           None if rho_t is None else rho_t[h], float(H))
        b[h] = bonus_factor(lin.phi, Linv[h], bonus)
        b[h, fail] = 0.0
        q = lin.phi @ (theta[h] + w[h]) - beta * b[h]
        cap = float(H - h)
        Q[h] = np.clip(q, 0.0, cap) if mode == "paper" else np.minimum(q, cap)
        Q[h, fail] = 0.0
        V[h] = Q[h].max(axis=1)
    policy = Q.argmax(axis=2).astype(np.int64)
    params = {"lam": lam, "rho": None if rho_t is None else rho_t.tolist(), "beta": beta,
              "ridge": ridge, "reward": reward, "bonus": bonus, "fail_states": fail.tolist(),
              "K": data.K, "variance_aware": variance_aware}
    return OfflineSolution(method, divergence, mode, readonly(Q), readonly(V), readonly(policy),
                           readonly(w), readonly(theta), readonly(Lam), readonly(Linv),
                           readonly(b), readonly(alpha), params)


def _estimate(method: str, div: str | None, mode: str, v: np.ndarray, C: np.ndarray,
              V_next: np.ndarray, lam: float | None, rho: np.ndarray | None,
              H: float) -> tuple[np.ndarray, float]:
    """The transition part w_hat_h of one step, and the TV threshold (nan otherwise)."""
    nan = float("nan")
    if method == "r2pvi" and div == "tv":
        low = float(V_next.min()) if mode == "paper" else float(v.min())
        a = low + lam
        return C @ np.minimum(v, a), a
    if method == "r2pvi" and div == "kl":
        m = float(v.min())
        z = C @ np.exp(-(v - m) / lam)
        return m - lam * np.log(np.maximum(z, math.exp(-(H - m) / lam))), nan
    if method == "r2pvi":                                              # chi2
        if mode == "paper":
            return _chi2_exact(v, C, H, lam, +1.0), nan
        k = 1.0 / (4.0 * lam)
        out = np.empty(C.shape[0])
        for i in range(C.shape[0]):
            def g(x, c=C[i]):        # the code minimizes z - (z2 - z^2)/(4 lam) (sign slip, P3)
                y = np.minimum(v, x)
                z, z2 = float(c @ y), float(c @ y ** 2)
                return z + z * z * k - z2 * k
            out[i] = _nelder_mead(g, H / 2.0, 0.0, H)
        return out, nan
    if method == "drpvi":
        if mode == "paper":
            return _drpvi_exact(v, C, H, rho), nan
        out = np.empty(C.shape[0])
        for i in range(C.shape[0]):
            def f(x, c=C[i], r=float(rho[i])):
                return -float(c @ np.minimum(v, x)) + r * x
            out[i] = -_nelder_mead(f, H / 2.0, 0.0, H)
        return out, nan
    # drvi_l
    if mode == "paper":
        return _drvi_l_search(v, C, H, rho), nan
    out = np.empty(C.shape[0])
    for i in range(C.shape[0]):
        def f(x, c=C[i], r=float(rho[i])):
            return -float(_drvi_l_objective(v, c, r, np.array([x]))[0])
        out[i] = -_nelder_mead(f, H / 2.0, 1e-6, H)
    return out, nan


# ====================================================================== public methods
def r2pvi(lin: LinearMDP, data: Any, *, divergence: str, lam: float, beta: float,
          ridge: float = 1.0, mode: str = "paper", reward: str = "known",
          bonus: str | None = None, fail_states: Any = (),
          variance_aware: bool = False) -> OfflineSolution:
    """R2PVI: robust regularized pessimistic value iteration [r2pvi, §3.1-3.2, Algorithm 1].

    Parameters
    ----------
    lin : LinearMDP
        Only the known parts are read: the features ``phi`` and (``reward="known"``) ``theta``;
        the factors ``mu`` are never used. Finite horizon, d-rectangular.
    data : OfflineData
        K trajectories (see :func:`collect`).
    divergence : {"tv", "kl", "chi2"}
    lam : float > 0
        Regularization strength lambda (the official code passes it as ``Rho``, card P4);
        TV also accepts 0 (threshold ``alpha = min V_hat``, the limit of card C10 (c)).
    beta : float >= 0
        Bonus multiplier. Theory values (card §3.7, **[unverified]**): TV 16 H d sqrt(xi),
        KL 16 d lam e^{H/lam} sqrt(H/lam + xi), chi2 8 d H^2 (1 + 1/lam) sqrt(xi)
        (:func:`~rlsandbox.algorithms.r2pvi.hyper.theory_beta`); the experiments use 1
        (simulated MDP) and 0.1 (option task).
    ridge : float > 0
        The paper's gamma (theory 1 [unverified]; experiments 0.1 simulated, 1 option).
    mode : {"paper", "reference_code"}
        See the module docstring.
    reward : {"known", "regress"}
    bonus : {"d_rect", "diag_l2", "full"}, optional
        Defaults to "d_rect" (paper) / "diag_l2" (reference_code).
    fail_states : iterable of int
        States with known value 0 (x4 of the simulated MDP).
    variance_aware : bool
        VA-R2PVI (card §3.6; the code has it for TV): a plain run first, then every sample is
        weighted by ``1 / sigma2_h(s_h, a_h)`` of :func:`variance_weights` in the Gram matrix
        and the regression (the bonus uses the weighted Gram matrix). Implemented as the card
        states it, i.e. without the official code's bug (P5), so it does not reproduce the
        notebook's VA panel.

    Returns
    -------
    OfflineSolution

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=100, rng=0)
    >>> sol = r2pvi(lin, data, divergence="tv", lam=0.1, beta=1.0, ridge=0.1,
    ...             fail_states=[FAIL_STATE])
    >>> sol.alpha[:2].tolist()          # min_S V_hat = V_hat(x4) = 0: alpha = lam
    [0.1, 0.1]
    """
    div = check_choice("divergence", divergence, DIVERGENCES)
    lam = _check_lam(lam, div)
    return _run(lin, data, method="r2pvi", divergence=div, lam=lam, rho=None, beta=beta,
                ridge=ridge, mode=mode, reward=reward, bonus=bonus, fail_states=fail_states,
                variance_aware=variance_aware)


def drpvi(lin: LinearMDP, data: Any, *, rho: Any, beta: float, ridge: float = 1.0,
          mode: str = "paper", reward: str = "known", bonus: str | None = None,
          fail_states: Any = (), variance_aware: bool = False) -> OfflineSolution:
    """DRPVI: pessimistic VI for the d-rectangular TV-constrained DRMDP [r2pvi, §3.3].

    ``nu_{h,i} = max_{alpha in [0, H]} [Lambda^{-1} sum phi [v]_alpha]_i - rho_{h,i} alpha``
    (Liu & Xu 2024). The dual is the TV-ball formula of card §2.7 with a zero-value fail state
    (``min_S V = 0``). ``rho`` is a scalar or an ``(H, d)`` table (the simulated-MDP code uses
    ``rho`` only for factor 4 at step 0). ``variance_aware=True`` gives VA-DRPVI (card §3.6),
    as for :func:`r2pvi`.

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=50, rng=1)
    >>> drpvi(lin, data, rho=0.1, beta=1.0, fail_states=[FAIL_STATE]).policy.shape
    (3, 5)
    """
    return _run(lin, data, method="drpvi", divergence="tv", lam=None, rho=rho, beta=beta,
                ridge=ridge, mode=mode, reward=reward, bonus=bonus, fail_states=fail_states,
                variance_aware=variance_aware)


def drvi_l(lin: LinearMDP, data: Any, *, rho: Any, beta: float, ridge: float = 1.0,
           mode: str = "paper", reward: str = "known", bonus: str | None = None,
           fail_states: Any = ()) -> OfflineSolution:
    """DRVI-L: pessimistic VI for the d-rectangular KL-constrained DRMDP [r2pvi, §3.4].

    ``nu_{h,i} = max_{b in (0, H]} -b log([Lambda^{-1} sum phi (exp(-v/b) - 1)]_i + 1)
    - b rho_{h,i}`` (Ma et al. 2022); the log argument is floored at 1e-6 as in the code.

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=50, rng=1)
    >>> drvi_l(lin, data, rho=0.1, beta=1.0, fail_states=[FAIL_STATE]).policy.shape
    (3, 5)
    """
    return _run(lin, data, method="drvi_l", divergence="kl", lam=None, rho=rho, beta=beta,
                ridge=ridge, mode=mode, reward=reward, bonus=bonus, fail_states=fail_states)


def pevi(lin: LinearMDP, data: Any, *, beta: float, ridge: float = 1.0, mode: str = "paper",
         reward: str = "regress", bonus: str | None = None,
         fail_states: Any = ()) -> OfflineSolution:
    """PEVI: pessimistic value iteration for linear MDPs [r2pvi, §3.5; jin2021].

    ``w_hat_h = Lambda_h^{-1} sum phi (r_h + V_hat_{h+1}(s'))``, bonus
    ``beta sqrt(phi^T Lambda_h^{-1} phi)``. With ``reward="known"`` the regression covers only
    ``V_hat_{h+1}`` and ``theta_h`` is added (used for the "reduces to" identity C10 (a)).

    Examples
    --------
    >>> from rlsandbox.mdps.r2pvi import FAIL_STATE, simulated_linear_mdp, uniform_behavior
    >>> lin = simulated_linear_mdp()
    >>> data = collect(lin, uniform_behavior(lin), K=50, rng=1)
    >>> pevi(lin, data, beta=1.0, fail_states=[FAIL_STATE]).params["bonus"]
    'full'
    """
    return _run(lin, data, method="pevi", divergence=None, lam=None, rho=None, beta=beta,
                ridge=ridge, mode=mode, reward=reward, bonus=bonus, fail_states=fail_states)
