"""VI and PI convergence on garnet MDPs, against the contraction bound.

The Bellman optimality operator T is a gamma-contraction in the sup norm, so value iteration
``V_k = T V_{k-1}`` satisfies the a-priori bound [puterman2005, Thm 6.2.3 (Banach fixed point)]

    ||V_k - V*||_inf <= gamma^k ||V_0 - V*||_inf,

and, computable without V*, the a-posteriori bound [puterman2005, Thm 6.3.1 and its proof]

    ||V_k - V*||_inf <= gamma / (1 - gamma) ||V_k - V_{k-1}||_inf.

Howard policy iteration [puterman2005, §6.4] evaluates each policy exactly and reaches an
optimal policy after finitely many improvements, where its error ``||V^{pi_k} - V*||_inf`` is 0.

The figure has three panels, all over ``n_seeds`` garnet instances (median over instances and a
95% percentile-bootstrap band, see :mod:`rlsandbox.experiments.plotting`):

(a) for every gamma in ``gammas``: the VI error relative to ``||V_0 - V*||`` against gamma^k;
(b) at ``gamma_main``: how tight the two bounds are, as the ratios error / bound (<= 1 by the
    theorems), against the sweep k on a log axis;
(c) at ``gamma_main``, the first ``pi_iterations`` iterations: PI error per improvement against
    VI error per sweep (log y; PI's exact zeros are marked on the bottom edge).

V* is the value of the policy-iteration solution (exact LU evaluation), whose certificate
``error_bound`` (a-posteriori residual bound plus a float64 allowance) is recorded in the
diagnostics; :func:`run` refuses to produce a figure in which that uncertainty exceeds 1% of the
smallest plotted VI error. Instances: ``rlsandbox.mdps.make("garnet", S=..., A=...,
branching=..., rng=...)`` [archibald1995; bhatnagar2009], built once per seed and re-used for
every gamma (``mdp.replace(gamma=...)``), so the gammas compare the same MDPs. VI and PI are
deterministic given the instance, so the instance streams are the only randomness of ``run``.

Regenerates no paper figure: this is the textbook picture of [puterman2005, §6.3-6.4].
Deviations: VI errors are recorded on an evenly spaced grid of ``n_grid`` iterations per gamma
(plus every iteration below ``pi_iterations`` at ``gamma_main``), which keeps the CSV small;
between grid points the lines interpolate.

Data (tidy, one row per instance x gamma x quantity x k): columns ``instance`` (0..n_seeds-1),
``gamma``, ``quantity`` in {"vi_error", "contraction_bound", "aposteriori_bound", "pi_error"},
``k`` (iteration), ``value``. ``contraction_bound`` and ``aposteriori_bound`` are recorded at
``gamma_main`` only (panel (a) draws gamma^k from the ``gamma`` and ``k`` columns);
``pi_error`` at ``gamma_main`` for ``k = 0, ..., pi_iterations - 1``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.dp import bellman_optimality, policy_iteration
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "vi_iterations"]

QUANTITIES = ("vi_error", "contraction_bound", "aposteriori_bound", "pi_error")
#: run() refuses data where V*'s certified uncertainty exceeds this fraction of a plotted error.
MAX_REL_VSTAR_UNCERTAINTY = 0.01


@dataclass(frozen=True)
class Config:
    """Sizes and parameters of the VI/PI convergence figure.

    Attributes
    ----------
    S, A, branching : garnet size: S states, A actions, each (s, a) reaching ``branching``
        next states.
    gammas : discounts for panel (c), each in (0, 1).
    gamma_main : discount of panels (a) and (b); must be one of ``gammas``.
    n_seeds : garnet instances (>= 2: the bands are bootstrap CIs over instances).
    rel_accuracy : VI at discount gamma runs ``K = vi_iterations(gamma, rel_accuracy)`` sweeps,
        the first k with gamma^k <= rel_accuracy.
    n_grid : recorded VI iterations per gamma, evenly spaced in [0, K] (ends included).
    pi_iterations : PI improvements shown in panel (b) (k = 0, ..., pi_iterations - 1).
    """

    S: int = 50
    A: int = 4
    branching: int = 5
    gammas: tuple[float, ...] = (0.5, 0.8, 0.9, 0.95)
    gamma_main: float = 0.9
    n_seeds: int = 50
    rel_accuracy: float = 1e-8
    n_grid: int = 31
    pi_iterations: int = 8

    def __post_init__(self) -> None:
        check_int("S", self.S, low=2)
        check_int("A", self.A, low=1)
        check_int("branching", self.branching, low=1, high=self.S)
        if not isinstance(self.gammas, tuple) or not self.gammas:
            raise TypeError(f"gammas must be a non-empty tuple of floats, got {self.gammas!r}")
        for i, g in enumerate(self.gammas):
            check_in_range(f"gammas[{i}]", g, low=0.0, high=1.0, low_open=True, high_open=True)
        if len(set(self.gammas)) != len(self.gammas):
            raise ValueError(f"gammas == {self.gammas!r} repeats a value; list each once")
        check_in_range("gamma_main", self.gamma_main, low=0.0, high=1.0, low_open=True,
                       high_open=True)
        if self.gamma_main not in self.gammas:
            raise ValueError(f"gamma_main == {self.gamma_main!r} is not in gammas == "
                             f"{self.gammas!r}; add it to gammas")
        check_int("n_seeds", self.n_seeds, low=2)
        check_in_range("rel_accuracy", self.rel_accuracy, low=0.0, high=1.0, low_open=True,
                       high_open=True)
        check_int("n_grid", self.n_grid, low=2)
        check_int("pi_iterations", self.pi_iterations, low=1)


#: The published figure (figures/vi_pi_convergence.png).
DEFAULT = Config()
#: What the test suite runs (a few seconds).
QUICK = Config(S=10, A=3, branching=3, gammas=(0.5, 0.9), gamma_main=0.9, n_seeds=8,
               rel_accuracy=1e-6, n_grid=11, pi_iterations=6)


def vi_iterations(gamma: float, rel_accuracy: float) -> int:
    """Smallest K >= 1 with ``gamma^K <= rel_accuracy``: ``ceil(log(rel) / log(gamma))``.

    Examples
    --------
    >>> vi_iterations(0.5, 1e-3)        # 0.5^10 = 1/1024 <= 1e-3 < 0.5^9
    10
    """
    gamma = check_in_range("gamma", gamma, low=0.0, high=1.0, low_open=True, high_open=True)
    rel = check_in_range("rel_accuracy", rel_accuracy, low=0.0, high=1.0, low_open=True,
                         high_open=True)
    K = max(1, math.ceil(math.log(rel) / math.log(gamma)))
    while K > 1 and gamma ** (K - 1) <= rel:    # guard the float log against an off-by-one
        K -= 1
    while gamma ** K > rel:
        K += 1
    return K


def _grid(K: int, n_grid: int, extra: int = 0) -> np.ndarray:
    grid = np.round(np.linspace(0.0, K, n_grid)).astype(np.int64)
    return np.unique(np.concatenate([grid, np.arange(min(extra, K + 1), dtype=np.int64)]))


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Run VI and PI on ``config.n_seeds`` garnets; return the tidy error table.

    Instance i is built from ``rng.spawn(n_seeds)[i]`` (children spawned up front, in order).
    For each gamma: V* and its certificate by :func:`rlsandbox.dp.policy_iteration`; VI from
    ``V_0 = 0`` by :func:`rlsandbox.dp.bellman_optimality` for ``K = vi_iterations(gamma,
    rel_accuracy)`` sweeps. At ``gamma_main`` also PI's error after each of its first
    ``pi_iterations`` improvements (``policy_iteration(mdp, max_iter=k).V = V^{pi_{k-1}}``).

    Returns
    -------
    pandas.DataFrame with columns instance, gamma, quantity, k, value (see the module
    docstring); ``attrs["diagnostics"]`` holds the V* certificates and the largest observed
    ratio error / contraction bound (the theorem says <= 1).

    Examples
    --------
    >>> import numpy as np
    >>> cfg = Config(S=5, A=2, branching=2, gammas=(0.5,), gamma_main=0.5, n_seeds=2, n_grid=3)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> sorted(df["quantity"].unique())
    ['aposteriori_bound', 'contraction_bound', 'pi_error', 'vi_error']
    """
    from rlsandbox.mdps import make

    if not isinstance(config, Config):
        raise TypeError(f"config must be a vi_pi_convergence.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}; pass "
                        f"rng=np.random.default_rng(seed)")
    cols: dict[str, list] = {"instance": [], "gamma": [], "quantity": [], "k": [], "value": []}

    def add(i: int, gamma: float, quantity: str, k: int, value: float) -> None:
        cols["instance"].append(i)
        cols["gamma"].append(gamma)
        cols["quantity"].append(quantity)
        cols["k"].append(int(k))
        cols["value"].append(float(value))

    worst_vstar = 0.0          # max over instances/gammas of error_bound(V*) / smallest VI error
    worst_ratio = 0.0          # max over k >= 1 of ||V_k - V*|| / (gamma^k ||V_0 - V*||)
    pi_needed = 0              # most PI improvements any instance needed
    for i, child in enumerate(rng.spawn(config.n_seeds)):
        base = make("garnet", S=config.S, A=config.A, branching=config.branching, rng=child)
        for gamma in config.gammas:
            mdp = base.replace(gamma=gamma)
            star = policy_iteration(mdp)
            if not star.converged:
                raise RuntimeError(f"policy iteration did not converge on garnet instance {i} "
                                   f"at gamma={gamma} within its budget ({star.iterations} "
                                   f"improvements); V* is unavailable")
            V_star = star.V
            main = gamma == config.gamma_main
            K = vi_iterations(gamma, config.rel_accuracy)
            grid = set(_grid(K, config.n_grid, config.pi_iterations if main else 0).tolist())
            V = np.zeros(mdp.S)
            e0 = float(np.max(np.abs(V - V_star)))
            smallest = e0
            for k in range(K + 1):
                if k > 0:
                    TV, _ = bellman_optimality(mdp, V)
                    step = float(np.max(np.abs(TV - V)))
                    V = TV
                if k not in grid:
                    continue
                err = float(np.max(np.abs(V - V_star)))
                bound = gamma ** k * e0
                add(i, gamma, "vi_error", k, err)
                smallest = min(smallest, err)
                if k > 0 and bound > 0:
                    worst_ratio = max(worst_ratio, err / bound)
                if main:
                    add(i, gamma, "contraction_bound", k, bound)
                    if k > 0:
                        add(i, gamma, "aposteriori_bound", k, gamma / (1.0 - gamma) * step)
            if smallest > 0:
                worst_vstar = max(worst_vstar, star.error_bound / smallest)
            if main:
                for k in range(1, config.pi_iterations + 1):
                    sol = policy_iteration(mdp, max_iter=k)      # returns V^{pi_{k-1}}
                    add(i, gamma, "pi_error", k - 1, float(np.max(np.abs(sol.V - V_star))))
                pi_needed = max(pi_needed, star.iterations)
    if worst_vstar > MAX_REL_VSTAR_UNCERTAINTY:
        raise ValueError(f"V*'s certified error bound is {worst_vstar:.3g} x the smallest "
                         f"plotted VI error (limit {MAX_REL_VSTAR_UNCERTAINTY}); the smallest "
                         f"errors would be noise. Raise rel_accuracy (now {config.rel_accuracy})")
    df = pd.DataFrame(cols)
    df.attrs["diagnostics"] = {
        "max_vstar_error_bound_over_smallest_vi_error": worst_vstar,
        "max_vi_error_over_contraction_bound": worst_ratio,
        "max_pi_iterations_to_converge": int(pi_needed),
        "vi_iterations": {str(g): vi_iterations(g, config.rel_accuracy) for g in config.gammas},
    }
    return df


def _matrix(data: pd.DataFrame, quantity: str, gamma: float) -> tuple[np.ndarray, np.ndarray]:
    """(k (n_x,), values (n_instances, n_x)) of one quantity at one gamma."""
    sub = data[(data["quantity"] == quantity) & (data["gamma"] == gamma)]
    if sub.empty:
        raise ValueError(f"data has no rows with quantity == {quantity!r} and gamma == {gamma}; "
                         f"pass the DataFrame returned by run()")
    table = sub.pivot(index="instance", columns="k", values="value")
    if table.isna().any().any():
        raise ValueError(f"data for {quantity!r} at gamma == {gamma} does not have the same "
                         f"iterations k for every instance; pass the DataFrame returned by run()")
    return table.columns.to_numpy(dtype=np.float64), table.to_numpy(dtype=np.float64)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Draw the three panels from ``data`` (the output of :func:`run`); returns a
    ``matplotlib.figure.Figure`` not registered with pyplot (display it in a notebook by
    making it a cell's last expression, save it with ``fig.savefig``).

    Every plotted number comes from ``data`` (panel (a)'s dashed lines are gamma^k at the
    recorded ``gamma`` and ``k``); ``config`` supplies only the caption's garnet size, and
    ``rng`` only the bootstrap resamples (median over instances, 95% percentile CI).
    """
    # a bare Figure (no pyplot): no backend switch, no global state, works headless
    import matplotlib
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "gamma", "quantity", "k", "value"})
    unknown = set(data["quantity"]) - set(QUANTITIES)
    if unknown:
        raise ValueError(f"data has quantities {sorted(unknown)}; expected those of run(): "
                         f"{', '.join(QUANTITIES)}")
    n = int(data["instance"].nunique())
    pi_rows = data[data["quantity"] == "pi_error"]
    if pi_rows.empty:
        raise ValueError("data has no pi_error rows; pass the DataFrame returned by run()")
    gamma_main = float(pi_rows["gamma"].iloc[0])
    gammas = sorted(float(g) for g in data["gamma"].unique())

    def ci(values: np.ndarray):
        return bootstrap_ci(values, rng=rng, n_boot=n_boot, level=0.95, statistic="median")

    fig = Figure(figsize=(13.5, 4.7), layout="constrained")
    axes = fig.subplots(1, 3)

    # (a) relative VI error for each gamma against gamma^k
    ax = axes[0]
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.85, len(gammas)))
    for gamma, color in zip(gammas, colors):
        k_g, err_g = _matrix(data, "vi_error", gamma)
        if k_g[0] != 0 or np.any(err_g[:, 0] <= 0):
            raise ValueError(f"vi_error at gamma == {gamma} must start at k = 0 with a positive "
                             f"||V_0 - V*||; pass the DataFrame returned by run()")
        line = plot_band(ax, k_g, ci(err_g / err_g[:, :1]), color=color,
                         label=rf"$\gamma$ = {gamma:g}")
        line.set_linewidth(3.0)
        line.set_alpha(0.6)
        ax.plot(k_g, gamma ** k_g, color="k", linestyle="--", linewidth=0.9)
    ax.plot([], [], color="k", linestyle="--", linewidth=0.9, label=r"bound $\gamma^k$")
    ax.set_yscale("log")
    ax.set_xlabel("VI sweep k")
    ax.set_ylabel(r"$\|V_k - V^*\|_\infty \,/\, \|V_0 - V^*\|_\infty$")
    ax.set_title("(a) VI error against the contraction bound")
    ax.legend(fontsize=8, loc="upper right")

    # (b) tightness of the a-priori and a-posteriori bounds at gamma_main
    ax = axes[1]
    k, err = _matrix(data, "vi_error", gamma_main)
    k_b, bnd = _matrix(data, "contraction_bound", gamma_main)
    k_p, post = _matrix(data, "aposteriori_bound", gamma_main)
    if not (np.array_equal(k, k_b) and np.array_equal(k[1:], k_p)):
        raise ValueError("vi_error, contraction_bound and aposteriori_bound rows do not share "
                         "their iterations k; pass the DataFrame returned by run()")
    # k = 0 is left out of this panel: there the a-priori ratio is 1 by definition and the
    # a-posteriori bound does not exist; a log k axis shows the early sweeps
    tight_a, tight_p = ci(err[:, 1:] / bnd[:, 1:]), ci(err[:, 1:] / post)
    plot_band(ax, k[1:], tight_a, color="k",
              label=r"a priori: error / $\gamma^k \|V_0 - V^*\|_\infty$")
    plot_band(ax, k_p, tight_p, color="C1",
              label=r"a posteriori: error / $\frac{\gamma}{1-\gamma}\|V_k - V_{k-1}\|_\infty$")
    ax.axhline(1.0, color="0.5", linewidth=0.8)
    low = float(min(tight_a.lo.min(), tight_p.lo.min()))
    ax.set_ylim(min(0.5, np.floor(10.0 * low) / 10.0 - 0.1), 1.02)
    ax.set_xscale("log")
    ax.set_xlabel("VI sweep k")
    ax.set_ylabel(r"$\|V_k - V^*\|_\infty$ / bound   ($\leq 1$ by the theorems)")
    ax.set_title(rf"(b) how tight the VI bounds are, $\gamma$ = {gamma_main:g}")
    ax.legend(fontsize=8, loc="lower right")

    # (c) the first iterations: PI improvements against VI sweeps
    ax = axes[2]
    k_pi, pi_err = _matrix(data, "pi_error", gamma_main)
    vi_cols = np.isin(k, k_pi)
    vi_ci, pi_ci = ci(err[:, vi_cols]), ci(pi_err)
    positive = np.concatenate([a[a > 0] for a in (vi_ci.center, vi_ci.lo, pi_ci.center, pi_ci.lo)])
    floor = 10.0 ** np.floor(np.log10(positive.min())) / 10.0 if positive.size else 1e-16
    plot_band(ax, k[vi_cols], vi_ci, color="C0", marker="s",
              label="VI: error after k sweeps")
    # log axis: exact zeros (optimal policy reached) are drawn on the floor and marked
    pi_draw = dataclasses.replace(pi_ci, center=np.maximum(pi_ci.center, floor),
                                  lo=np.maximum(pi_ci.lo, floor), hi=np.maximum(pi_ci.hi, floor))
    plot_band(ax, k_pi, pi_draw, color="C3", marker="o",
              label=r"PI: error of $\pi_k$ (k improvements)")
    exact = pi_ci.center == 0.0
    if exact.any():
        ax.plot(k_pi[exact], np.full(int(exact.sum()), floor), linestyle="none", marker="v",
                markersize=9, color="C3", label="PI median exactly 0 (drawn at floor)")
    ax.set_yscale("log")
    ax.set_ylim(bottom=floor / 2)
    ax.set_xlabel("iteration k")
    ax.set_ylabel(r"$\|V - V^*\|_\infty$")
    ax.set_title(rf"(c) PI against VI, $\gamma$ = {gamma_main:g}")
    ax.legend(fontsize=8, loc="center right")

    for ax in axes:
        ax.grid(True, which="major", alpha=0.3)
    fig.suptitle(
        f"{n} garnet instances (S={config.S}, A={config.A}, branching={config.branching}); "
        f"VI from V_0 = 0, PI from the greedy policy of max_a R; V* by PI (certified).\nLines: "
        f"median over the {n} instances; bands: 95% percentile-bootstrap CI of the median "
        f"(B={n_boot}).",
        fontsize=9)
    return fig
