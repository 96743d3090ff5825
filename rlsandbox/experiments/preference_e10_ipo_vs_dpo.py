"""Card preference_coverage E10: DPO vs IPO on deterministic empirical preferences (IPO23's point).

Instance [card §5.4 E10, C11(c)]: one prompt, a chain of K responses 0 > 1 > ... > K-1, each
adjacent pair seen once (empirical preference 1 on every edge), piref uniform. Tabular gradient
descent from log piref (step ``lr``) on

    DPO:  sum_edges f(beta h),         IPO:  sum_edges (h - 1/(2 tau))^2,

for several beta and tau (card §3.2, §3.4). DPO's loss has no minimiser (a pair seen once makes
the BT-MLE diverge, card §6 pitfall 4): every margin grows without bound and pi -> e_0 whatever
beta is -- the KL regularisation is ineffective. IPO's minimiser has margin 1/(2 tau) on every
edge (the graph-Laplacian solution of C11(b), :func:`ipo_minimizer_set`): its limit depends on
tau and stays inside the reference support with finite KL.

Expected (card): DPO's limit ignores beta, IPO's depends on tau. Result (quick run, 4000
steps): DPO's pi(y0) = 1.0000, 0.99996, 0.9985 for beta = 0.1, 0.5, 1 and still rising (for
every beta towards 1; faster for small beta, whose margins grow like log(t) / beta), KL ->
log K; IPO equals its Laplacian solution to 1e-15 with pi(y0) = 0.993, 0.644, 0.455 for tau =
0.1, 0.5, 1 (KL 1.35, 0.44, 0.14). As the card expects; the same on the random-piref chains
(IPO exact to round-off, DPO's pi(y0) above 0.99). Deviation: step 0.25 (see Config).

Data (tidy): columns ``instance`` ("uniform" or "random#i": piref ~ Dirichlet(1)), ``method``
("dpo", "ipo"), ``param`` (beta or tau), ``step``,
``response``, ``prob``, ``kl`` (KL(pi || piref)), ``exact`` (IPO's exact minimiser probability;
-1 for DPO, which has none).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """E10's parameters.

    Attributes
    ----------
    K : chain length (card: 3-5 responses).
    betas : DPO's beta values; taus : IPO's tau values (card §3.8: {0.1, 0.5, 1}).
    n_random : extra chains with piref ~ Dirichlet(1, ..., 1) (the card leaves piref free).
    steps : gradient steps; lr : step size (0.25: IPO's loss has Hessian 2 L in the logits,
        L the chain's Laplacian with eigenvalues up to 2 + sqrt(2) for K = 4, so GD is stable
        for lr < 1 / (2 + sqrt(2)) = 0.29; the card's default 0.5 diverges for IPO).
    n_grid : recorded steps, log-spaced.
    """

    K: int = 4
    betas: tuple[float, ...] = (0.1, 0.5, 1.0)
    taus: tuple[float, ...] = (0.1, 0.5, 1.0)
    n_random: int = 3
    steps: int = 20_000
    lr: float = 0.25
    n_grid: int = 60

    def __post_init__(self) -> None:
        check_int("K", self.K, low=2)
        for name in ("betas", "taus"):
            for i, v in enumerate(getattr(self, name)):
                check_in_range(f"{name}[{i}]", v, low=0.0, low_open=True)
        check_int("n_random", self.n_random, low=0)
        check_int("steps", self.steps, low=1)
        check_in_range("lr", self.lr, low=0.0, low_open=True)
        check_int("n_grid", self.n_grid, low=2)


DEFAULT = Config()
QUICK = Config(n_random=1, steps=4000, n_grid=25)


def _instance(K: int, piref: Any = None):
    from rlsandbox.algorithms import preference as pref

    piref = [[1.0 / K] * K] if piref is None else piref
    b = pref.PreferenceBandit(piref=piref, r=[list(np.linspace(1.0, 0.0, K))], beta=1.0)
    return b, pref.pairs_from_list(1, K, [(0, i, i + 1) for i in range(K - 1)])


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Train DPO (each beta) and IPO (each tau) on the uniform-reference chain and on
    ``n_random`` chains whose piref is drawn from ``rng.spawn(n_random)[i]``.

    Examples
    --------
    >>> df = run(Config(K=3, betas=(1.0,), taus=(0.5,), n_random=1, steps=10, n_grid=3),
    ...          rng=np.random.default_rng(0))
    >>> sorted(df.method.unique()), sorted(df.instance.unique())
    (['dpo', 'ipo'], ['random#0', 'uniform'])
    """
    from rlsandbox.algorithms import preference as pref

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e10_ipo_vs_dpo.Config, got "
                        f"{type(config).__name__}")
    cases = [("uniform", _instance(config.K))]
    for i, child in enumerate(rng.spawn(config.n_random)):
        cases.append((f"random#{i}", _instance(config.K, child.dirichlet(np.ones(config.K))[None])))
    grid = np.unique(np.concatenate([[0], np.round(np.logspace(0, np.log10(config.steps),
                                                               config.n_grid)).astype(int)]))
    rows: list[dict[str, Any]] = []
    for name, (b, data) in cases:
        runs = [("dpo", beta, pref.dpo(beta), None) for beta in config.betas]
        runs += [("ipo", tau, pref.ipo(tau),
                  np.exp(pref.ipo_minimizer_set(b, data, tau).gd_limit())) for tau in config.taus]
        for method, param, loss, exact in runs:
            bb = b.replace(beta=param) if method == "dpo" else b
            out = pref.train(bb, data, loss, steps=config.steps, lr=config.lr, record=grid)
            for step, lp, kl in zip(out.steps, out.logpi_path, out.kl):
                for y in range(config.K):
                    rows.append({"instance": name, "method": method, "param": float(param),
                                 "step": int(step), "response": y,
                                 "prob": float(np.exp(lp[0, y])), "kl": float(kl),
                                 "exact": float(exact[0, y]) if exact is not None else -1.0})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: pi(y0) (best response) vs step for DPO (each beta) and IPO (each tau), with IPO's
    exact limits dotted; right: reverse KL to piref vs step."""
    import matplotlib
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "method", "param", "step", "response", "prob", "kl", "exact"})
    fig = Figure(figsize=(12.0, 4.4), layout="constrained")
    ax, ax2 = fig.subplots(1, 2)
    others = data[data.instance != "uniform"]
    data = data[data.instance == "uniform"]
    for method, cmap, ls in (("dpo", "Reds", "-"), ("ipo", "Blues", "--")):
        sub = data[(data.method == method) & (data.response == 0)]
        params = sorted(sub.param.unique())
        colors = matplotlib.colormaps[cmap](np.linspace(0.45, 0.95, len(params)))
        for p, color in zip(params, colors):
            s = sub[sub.param == p].sort_values("step")
            x = np.maximum(s.step.to_numpy(), 0.8)
            name = f"DPO beta={p:g}" if method == "dpo" else f"IPO tau={p:g}"
            ax.plot(x, s.prob, color=color, ls=ls, label=name)
            ax2.plot(x, s.kl, color=color, ls=ls, label=name)
            if method == "ipo":
                ax.axhline(float(s.exact.iloc[-1]), color=color, lw=0.8, ls=":")
    K = int(data.response.max()) + 1
    ax2.axhline(np.log(K), color="0.5", lw=0.8, ls=":")
    ax2.text(0.9, np.log(K) * 1.02, "log K: all mass on y0", fontsize=7, color="0.3")
    # fixed corners, clear of the curves: lower right on the left panel (below IPO tau=1's
    # plateau, headroom made below), centre right on the right panel (between the KL plateaus)
    for a, loc in ((ax, "lower right"), (ax2, "center right")):
        a.set_xscale("log")
        a.set_xlabel("gradient step")
        a.grid(alpha=0.3)
        a.legend(fontsize=7, loc=loc)
    ax.set_ylabel(r"$\pi(y_0)$ (best response)")
    # headroom below the curves for the legend, so it sits under IPO tau=1's plateau
    ax.set_ylim(bottom=float(data[data.response == 0].prob.min()) - 0.15)
    ax.set_title("DPO -> e_0 for every beta; IPO -> its tau-dependent optimum (dotted)")
    ax2.set_ylabel(r"KL$(\pi\,\|\,\pi_{ref})$")
    ax2.set_title("reverse KL to the reference")
    last = others[(others.step == others.step.max()) & (others.response == 0)]
    extra = ""
    if not last.empty:
        dmin = last[last.method == "dpo"].prob.min()
        extra = (f";\n{others.instance.nunique()} random-piref chains (not drawn): DPO pi(y0) >= "
                 f"{dmin:.4f} at the last step")
    fig.suptitle(f"Card preference_coverage E10 (IPO23 analog): chain of {K} responses, each "
                 f"adjacent pair seen once, uniform piref, GD step {config.lr}{extra}",
                 fontsize=9)
    return fig
