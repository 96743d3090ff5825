"""Card preference_coverage E1: the coverage sweep over delta -- DPO's reverse KL follows
log C_glo while RLHF and HyPO stay in the KL ball R/beta.

Instances [card §5.2, E1]: P2 "song-small-mass" (piref = mu = ((1-delta)/2, (1-delta)/2,
delta), r* = (1, 0.5, 0), beta = 0.5, R = 1) and ``n_random`` multi-prompt random bandits of
the card's §4 distribution with one response of reference mass delta per prompt
(:func:`rlsandbox.mdps.preference.random_preference_bandit` with ``small_mass=delta``; each
random instance keeps its seed across deltas). Population BT pairs nu = mu x mu, error budget
eps = 0.01 for the approximate solution sets Pi_DPO(eps), Pi_RLHF(eps) (card C5).

Methods (``method`` column):

* ``dpo_member`` -- the card's DPO member pi^delta in Pi_DPO(eps) (E_mu^dpo = (1 - delta) eps;
  :func:`rlsandbox.algorithms.preference.members.dpo_member_reward`): DPO's worst case;
* ``dpo_population`` -- the exact population DPO minimiser (here unique: full coverage);
* ``hypo_min_kl`` -- HyPO's lambda -> 0+ limit, the min-KL DPO minimiser (C8(b));
* ``hypo_constrained_worst`` -- the worst member of the boosted family pi_{r* + s e_min} inside
  HyPO's constraint set Pi_DPO(eps) and KL <= kappa = R/beta, i.e. at its edge
  (:func:`rlsandbox.algorithms.preference.members.boundary_member`; a lower bound on the
  constrained supremum);
* ``rlhf`` -- exact RLHF (bounded class [0, R]^K, pessimistic tie-break) on population data;
* ``rlhf_worst_found`` -- the largest KL found in Pi_RLHF(eps) (bounded rewards with
  E_mu <= eps; heuristic search, card C5);
* ``ipo`` -- IPO's population optimum, tau = beta (C11(a));
* ``simpo`` -- SimPO's population minimiser (simpo_beta = 2, simpo_gamma = 1; reference-free);
* ``dpo_noref`` -- DPO without the reference, population optimum softmax(r*/beta).

Columns: instance, delta, method, C_glo, C_loc (= C_loc(R/beta)), C_inf_star, kl (reverse KL
to piref), G_J, G_r, low_mass (rho-average of pi's mass on the low-mass responses), error
(E_mu of the method's implicit reward where defined, else -1), R_over_beta.

Expected (card): worst-case DPO KL ~ log C_glo (a straight line in log delta), RLHF and HyPO
flat and <= R/beta.

Result (quick and default runs, P2): the DPO member's KL is 9.208, 13.816, 18.421 at delta =
1e-4, 1e-6, 1e-8, i.e. log C_glo to within 0.002 (before it collapses, at delta >= 1e-2, it
stays near pi*); RLHF's worst found KL is 0.196-0.237 at every delta (card: ~0.20) but its G_J
is 0.0068-0.0069, below the card's ~0.012 (our heuristic search is weaker than the card's);
HyPO's constrained edge member sits at KL = R/beta = 2 with G_J 1.05-1.18 for delta <= 1e-4:
flat and bounded as the card expects, but well above RLHF's universal bound 2 e^{R/2beta}
sqrt(eps) = 0.54 -- the KL constraint alone does not give RLHF's e^{R/beta} ratio bound, and
C_loc(R/beta) grows like 1/(delta log 1/delta) on P2. Reference-free methods: SimPO's KL grows
from 0.07 to 3.29, DPO-noref's from 0.10 to 1.46 (they put a delta-independent mass on the
low-mass response, so their KL grows like log(1/delta)); IPO (tau = beta) stays at
0.007-0.012. Deviations: SimPO and IPO
are not in the card's expected-outcome sentence; the heuristic worst cases are lower bounds on
the true suprema.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import bootstrap_ci, plot_band, require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "METHODS"]

METHODS = ("dpo_member", "dpo_population", "hypo_min_kl", "hypo_constrained_worst", "rlhf",
           "rlhf_worst_found", "ipo", "simpo", "dpo_noref")


@dataclass(frozen=True)
class Config:
    """E1's parameters.

    Attributes
    ----------
    deltas : reference masses of the low-mass response (card: 1e-1 .. 1e-8).
    eps : error budget of Pi_DPO(eps) and Pi_RLHF(eps) (card C5: 0.01).
    n_random : random multi-prompt instances (>= 2 for the bootstrap band).
    simpo_beta, simpo_gamma : SimPO's scale and margin (card §3.8 default beta = 2, gamma/beta
        = 0.5).
    """

    deltas: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
    eps: float = 0.01
    n_random: int = 20
    simpo_beta: float = 2.0
    simpo_gamma: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.deltas, tuple) or len(self.deltas) < 2:
            raise TypeError(f"deltas must be a tuple of at least 2 floats, got {self.deltas!r}")
        for i, d in enumerate(self.deltas):
            check_in_range(f"deltas[{i}]", d, low=0.0, high=0.5, low_open=True)
        check_in_range("eps", self.eps, low=0.0, low_open=True)
        check_int("n_random", self.n_random, low=2)
        check_in_range("simpo_beta", self.simpo_beta, low=0.0, low_open=True)
        check_in_range("simpo_gamma", self.simpo_gamma, low=0.0)


DEFAULT = Config()
QUICK = Config(deltas=(1e-1, 1e-2, 1e-4, 1e-6, 1e-8), n_random=3)


def _rows(name: str, delta: float, b: Any, cfg: Config, rng: np.random.Generator
          ) -> list[dict[str, Any]]:
    from rlsandbox.algorithms import preference as pref
    from rlsandbox.algorithms.preference import members

    eps = cfg.eps
    kappa = b.R / b.beta
    common = {"instance": name, "delta": delta, "C_glo": pref.global_coverage(b),
              "C_loc": pref.local_coverage(b, kappa),
              "C_inf_star": pref.concentrability(b, b.log_pi_star), "R_over_beta": kappa}
    low = np.zeros(b.r.shape, dtype=bool)
    low[np.arange(b.nX), members.rare_response(b)] = True
    q = pref.population_pairs(b)
    out = []

    def add(method: str, lp: np.ndarray, error: float) -> None:
        g = pref.gaps(b, lp)
        out.append({**common, "method": method, "kl": g.kl_ref, "G_J": g.G_J, "G_r": g.G_r,
                    "low_mass": float(b.rho @ (np.exp(lp) * low).sum(axis=1)),
                    "error": error})

    member = pref.gibbs(b, members.dpo_member_reward(b, eps))
    add("dpo_member", member, pref.dpo_error(b, member))
    M = pref.dpo_minimizer_set(b, q)
    add("dpo_population", M.gd_limit(), pref.dpo_error(b, M.gd_limit()))
    add("hypo_min_kl", M.min_kl_member(), pref.dpo_error(b, M.min_kl_member()))
    _, edge = members.boundary_member(b, eps, kappa)
    add("hypo_constrained_worst", edge, pref.dpo_error(b, edge))
    out_rlhf = pref.rlhf(b, q)
    add("rlhf", out_rlhf.logpi, pref.reward_error(b, out_rlhf.reward))
    worst = None
    for _, r_hat in members.bounded_rewards(b, rng=rng, n=3, eps=eps):
        lp = pref.gibbs(b, r_hat)
        kl = pref.kl_to_reference(b, lp)
        if worst is None or kl > worst[0]:
            worst = (kl, lp, pref.reward_error(b, r_hat))
    add("rlhf_worst_found", worst[1], worst[2])
    add("ipo", pref.ipo_closed_form(b, b.beta), -1.0)
    # SimPO ignores piref, and its population minimiser is unique here (mu has full support, so
    # every prompt's comparison graph is complete): start Newton from the uniform policy on the
    # support. From log piref the low-mass logit sits where SimPO's margin saturates (curvature
    # ~ delta e^{-beta |log delta|}, below Newton's eigenvalue cut-off) and L-BFGS has to crawl.
    uniform = np.where(b.support, -np.log(b.support.sum(axis=1, keepdims=True)), -np.inf)
    add("simpo", pref.hypo_penalized(b, q, 0.0, pref.simpo(cfg.simpo_beta, cfg.simpo_gamma),
                                     logpi0=uniform), -1.0)
    sm = b.r / b.beta + np.where(b.support, 0.0, -np.inf)
    add("dpo_noref", sm - np.log(np.exp(sm).sum(axis=1, keepdims=True)), -1.0)
    return out


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Every method on P2 and on the random instances, for every delta.

    Random instance i is drawn from ``rng.spawn(n_random)[i]`` (a fixed seed per instance, the
    same for every delta); the heuristic RLHF search draws its uniform rewards from a stream
    spawned per (instance, delta).

    Examples
    --------
    >>> import numpy as np
    >>> df = run(Config(deltas=(1e-2, 1e-6), n_random=2), rng=np.random.default_rng(0))
    >>> sorted(df.method.unique()) == sorted(METHODS)
    True
    """
    from rlsandbox.mdps.preference import random_preference_bandit, song_small_mass

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e1_coverage.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    inst_seeds = [int(c.integers(0, 2**32)) for c in
                  (np.random.default_rng(s) for s in rng.spawn(config.n_random))]
    search = rng.spawn(len(config.deltas) * (config.n_random + 1))
    rows: list[dict[str, Any]] = []
    j = 0
    for delta in config.deltas:
        rows += _rows("P2", delta, song_small_mass(delta), config, search[j])
        j += 1
        for i, seed in enumerate(inst_seeds):
            b = random_preference_bandit(rng=seed, small_mass=delta)
            rows += _rows(f"random#{i}", delta, b, config, search[j])
            j += 1
    df = pd.DataFrame(rows)
    df["C_glo"] = df["C_glo"].astype(float)
    p2 = df[(df.instance == "P2") & (df.method == "dpo_member")]
    df.attrs["diagnostics"] = {
        "P2_dpo_member_kl_minus_log_cglo": {f"{d:g}": float(k - math.log(1 / d))
                                            for d, k in zip(p2.delta, p2.kl)},
        "max_rlhf_worst_found_kl_over_R_over_beta": float(
            (df[df.method == "rlhf_worst_found"].kl / df[df.method == "rlhf_worst_found"]
             .R_over_beta).max()),
    }
    return df


_STYLE = {"dpo_member": ("C3", "-", "o", r"DPO member $\pi^\delta$ (E = eps)"),
          "dpo_population": ("C3", ":", None, "DPO population minimiser"),
          "hypo_min_kl": ("C2", ":", None, "HyPO lam->0 (min-KL member)"),
          "hypo_constrained_worst": ("C2", "-", "s", "HyPO KL <= R/beta: edge member"),
          "rlhf": ("C0", ":", None, "RLHF (exact, population)"),
          "rlhf_worst_found": ("C0", "-", "^", "RLHF: worst found in Pi_RLHF(eps)"),
          "ipo": ("C4", "--", None, "IPO (tau = beta)"),
          "simpo": ("C1", "--", "x", "SimPO (ref-free)"),
          "dpo_noref": ("C5", "--", "+", "DPO without reference")}


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: P2, reverse KL vs delta (log-log x) per method with log C_glo and R/beta.
    Middle: random instances, median KL with a bootstrap band. Right: G_J on P2."""
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "delta", "method", "kl", "G_J", "R_over_beta"})
    fig = Figure(figsize=(15.5, 4.8), layout="constrained")
    axes = fig.subplots(1, 3)
    p2 = data[data.instance == "P2"]
    deltas = np.sort(p2.delta.unique())
    for method in METHODS:
        color, ls, marker, label = _STYLE[method]
        sub = p2[p2.method == method].sort_values("delta")
        axes[0].plot(sub.delta, np.maximum(sub.kl, 1e-6), color=color, ls=ls, marker=marker,
                     label=label, ms=5)
        axes[2].plot(sub.delta, np.maximum(sub.G_J, 1e-6), color=color, ls=ls, marker=marker,
                     ms=5)
    axes[0].plot(deltas, np.log(1 / deltas), color="k", lw=0.8, ls="-.",
                 label="log C_glo = log(1/delta)")
    axes[0].axhline(float(p2.R_over_beta.iloc[0]), color="0.4", lw=0.8,
                    label=f"R/beta = {float(p2.R_over_beta.iloc[0]):g}")
    axes[0].set_title("P2 song-small-mass: reverse KL to piref")
    axes[2].set_title(r"P2: gap $G_J = \beta KL(\pi\|\pi^*)$ (floored at 1e-6)")
    rnd = data[data.instance != "P2"]
    n = rnd.instance.nunique()
    for method in ("dpo_member", "hypo_constrained_worst", "rlhf_worst_found", "simpo"):
        color, ls, marker, label = _STYLE[method]
        sub = rnd[rnd.method == method]
        table = sub.pivot(index="instance", columns="delta", values="kl")
        ratio = table / sub.pivot(index="instance", columns="delta", values="R_over_beta")
        ci = bootstrap_ci(ratio.to_numpy(), rng=rng, n_boot=n_boot, statistic="median")
        plot_band(axes[1], table.columns.to_numpy(dtype=float), ci, color=color, linestyle=ls,
                  marker=marker, label=label)
    axes[1].axhline(1.0, color="0.4", lw=0.8, label="KL = R/beta")
    axes[1].set_title(f"{n} random bandits (one low-mass response each)")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()
        ax.set_xlabel("delta (reference mass of the low-mass response)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("reverse KL (floored at 1e-6)")
    axes[1].set_ylabel("KL / (R/beta), median over instances")
    # the P2 legend (methods of panels (a) and (c), plus (a)'s reference lines) is too big for
    # any corner of (a) without hiding curves: it goes below the panels, for the whole figure
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=6,
               fontsize=8, title="panels (a) and (c), instance P2", title_fontsize=8)
    # a decade of headroom above the bands so the legend does not sit on DPO's delta=1e-4 point
    bottom, top = axes[1].get_ylim()
    axes[1].set_ylim(bottom, top * 10.0)
    axes[1].legend(fontsize=6.5, loc="upper left")
    fig.suptitle(f"Card preference_coverage E1: coverage sweep, eps = {config.eps}; 'worst "
                 f"found' are heuristic searches (lower bounds on the suprema); bands: 95% "
                 f"bootstrap CI of the median over {n} instances (B={n_boot})", fontsize=9)
    return fig
