"""Card preference_coverage E6: the token-level identities of DPO as inverse soft-Q learning
(RQ24, card C14) on random trees, against float64 round-off, and their negative control.

Instances [card §5.3 E6]: random token trees (:func:`rlsandbox.mdps.preference.random_token_tree`:
random piref per state, dense N(0, 1) rewards) over a grid of vocabulary sizes V, horizons T
and beta. Per tree, :func:`rlsandbox.algorithms.preference.token.identity_errors` returns the
max abs error of (a) beta log pi*/piref = r + V*(s') - V*(s), (b) telescoping to R - V*(x),
(c) the bandit equivalence pi*(y|x) proportional to piref e^{R/beta}, (d) invariance under
potential shaping with Phi(terminal) = 0, (e) every pi is soft-optimal for its own implicit
reward with V = 0, and the normalisation of pi* -- each with its round-off allowance
64 (2T + 2) U s. The control drops piref inside V (V = beta logsumexp(Q/beta) while pi* =
piref e^{(Q - V)/beta}; card C14's control).

Expected (card): identities hold to ~1e-15 ("checked to 1e-15"); the control breaks them.
Result (quick run, 12 trees): every identity's error is at most 0.021 of its allowance
(normalisation; at most 0.007 for (a)-(e), i.e. errors of a few 1e-16 to 1e-15, as the card
says). The control breaks the normalisation and (c)-(e) by factors 3e12 to 7e13 of the
allowance on every tree, while (a) and (b) still hold: they are algebraic consequences of
the recursion Q = r + V(s'), pi = piref e^{(Q - V)/beta}, whatever V is.

Data (tidy): columns ``tree``, ``V``, ``T``, ``beta``, ``identity``, ``error``, ``allowance``,
``control`` (0 for the theorem, 1 for the control).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot"]


@dataclass(frozen=True)
class Config:
    """E6's parameters.

    Attributes
    ----------
    Vs, Ts : vocabulary sizes and horizons (every pair with V^T <= 10^4).
    betas : KL coefficients.
    trees_per_cell : random trees per (V, T, beta).
    """

    Vs: tuple[int, ...] = (2, 3, 4)
    Ts: tuple[int, ...] = (1, 2, 3, 4, 5)
    betas: tuple[float, ...] = (0.1, 0.7, 2.0)
    trees_per_cell: int = 5

    def __post_init__(self) -> None:
        for i, v in enumerate(self.Vs):
            check_int(f"Vs[{i}]", v, low=2)
        for i, t in enumerate(self.Ts):
            check_int(f"Ts[{i}]", t, low=1)
        check_int("trees_per_cell", self.trees_per_cell, low=1)


DEFAULT = Config()
QUICK = Config(Vs=(2, 3), Ts=(1, 3), betas=(0.7,), trees_per_cell=3)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Identity errors on random trees; tree j of cell (V, T, beta) draws from its own child of
    ``rng`` (spawned over the grid in a fixed order).

    Examples
    --------
    >>> df = run(Config(Vs=(2,), Ts=(2,), betas=(1.0,), trees_per_cell=1),
    ...          rng=np.random.default_rng(0))
    >>> bool((df[df.control == 0].error <= df[df.control == 0].allowance).all())
    True
    """
    from rlsandbox.algorithms.preference.token import identity_errors
    from rlsandbox.mdps.preference import random_token_tree

    if not isinstance(config, Config):
        raise TypeError(f"config must be a preference_e6_token_identities.Config, got "
                        f"{type(config).__name__}")
    cells = [(V, T, beta) for V in config.Vs for T in config.Ts for beta in config.betas
             if V ** T <= 10_000]
    children = iter(rng.spawn(len(cells) * config.trees_per_cell))
    rows: list[dict[str, Any]] = []
    tree_id = 0
    for V, T, beta in cells:
        for _ in range(config.trees_per_cell):
            child = next(children)
            tree = random_token_tree(rng=child, V=V, T=T, beta=beta)
            seed = int(child.integers(0, 2**32))
            for control in (0, 1):
                errs = identity_errors(tree, rng=seed, reference_in_value=not control)
                for name, (err, tol) in errs.items():
                    rows.append({"tree": tree_id, "V": V, "T": T, "beta": beta,
                                 "identity": name, "error": err, "allowance": tol,
                                 "control": control})
            tree_id += 1
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Left: error / allowance per identity (every tree a dot; the line at 1 is the round-off
    allowance); right: the same for the control (piref dropped inside V)."""
    from matplotlib.figure import Figure

    require_columns(data, {"tree", "V", "T", "beta", "identity", "error", "allowance", "control"})
    names = list(dict.fromkeys(data.identity))
    fig = Figure(figsize=(12.5, 4.4), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    jitter = np.random.default_rng(0)            # cosmetic horizontal jitter only
    for ax, control, title in ((axes[0], 0, "the identities (soft Bellman with reference)"),
                               (axes[1], 1, "control: piref dropped inside V")):
        sub = data[data.control == control]
        for i, name in enumerate(names):
            s = sub[sub.identity == name]
            ratio = np.maximum(s.error / s.allowance, 1e-6)
            ax.scatter(i + 0.15 * jitter.standard_normal(len(s)), ratio, s=8, alpha=0.6,
                       c=s["T"].to_numpy() * np.log(s["V"].to_numpy()), cmap="viridis")
        ax.axhline(1.0, color="C3", lw=1)
        ax.text(len(names) - 0.6, 1.3, "round-off allowance 64 (2T+2) U s", color="C3",
                fontsize=7, ha="right")
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), [n.split(" ", 1)[0] if n.startswith("(") else "norm."
                                           for n in names], fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("max abs error / round-off allowance (floored at 1e-6)")
    axes[1].text(0.02, 0.5, "\n".join(n for n in names if n.startswith("(")), fontsize=7,
                 transform=axes[1].transAxes, va="center")
    fig.suptitle(f"Card preference_coverage E6 (RQ24 C14): {data.tree.nunique()} random trees, "
                 f"V in {sorted(data['V'].unique().tolist())}, T in {sorted(data['T'].unique().tolist())}"
                 f", beta in {sorted(data.beta.unique().tolist())}; colour = log(V^T)",
                 fontsize=9)
    return fig
