"""E3 "slippery cliff": CVaR-optimal stock policies against the risk-neutral one.

A sandbox stand-in for the paper's §7 gridworld experiments [card §5.2 E3]; it is **not** a
regeneration of any figure of the paper (its layout, noise and numbers are unavailable, card
§5.1). The gridworld (3 x 5, start S bottom left, cliff cells C between S and the goal G;
slip 0.1, -1 per step, -20 for a fall, gamma = 0.95) is
:func:`rlsandbox.mdps.distributional.slippery_cliff`.

Method [card §3 A4 + A5]: one stock-grid value iteration for f = min(x, 0) on the band
[0, 400] (G_lo = -400, G_hi = 0) with M = 4001 nodes (Delta = 0.1), compiled; then for every
tau the outer search ``max_c0 {-c0 + V(S, c0)/tau}`` over the grid nodes gives the DP value
and c0*, and the greedy stock policy is run *from c0** acting at the exact stock (ties within
1e-9 go to the lowest action index: up, right, down, left [card §5.2 E3 "known tie
artefact"]). Each policy's return law is computed exactly by forward propagation of (state,
z_t) to depth ``law_depth`` (every episode's return is -20 after a fall or
-(1 - gamma^k)/(1 - gamma) after k steps, so the law is small), and estimated by Monte Carlo
with ``n_episodes`` episodes. The risk-neutral policy is the optimal policy of the
expected-reward model (exact PI).

Panels: (a-c) greedy actions per cell at three stocks; (d) the return laws; (e) CVaR_u of
each policy's return for u in (0, 1], with the DP value at its own tau and Monte Carlo
estimates (95% normal intervals from the exact law's variance); (f) E[G] and P(fall).

Card table (MC on 20k-40k episodes; tolerances ±0.1 on DP values, ±0.15 on MC CVaR):
DP CVaR_tau = -16.07, -12.49, -9.85, -8.48, -7.16 at tau = 0.05, 0.1, 0.25, 0.5, 1 with
c0* = 9.3, 8.6, 7.9, 6.8, 0; P(fall) 0.031, 0.031, 0.030, 0.037, 0.099 (risk neutral 0.097).
Our exact values (DEFAULT, see the JSON diagnostics) agree within those tolerances; the
differences worth stating are P(fall) at tau = 0.25 (0.0321 exact vs the card's MC 0.030)
and E[G] at tau = 0.25 (-7.624 vs -7.60), both within 3 standard errors of a 20k-episode
estimate; and c0* at tau = 1, where h is flat for every c0 in [0, 1.95] (any such c0 is
optimal); our tie rule gives the smallest, 0, as the card.

Data (tidy): columns ``policy`` ("risk-neutral", "cvar_<tau>", or "stock=<c>" for the arrow
panels), ``quantity``, ``s`` (state, -1 if none), ``x``, ``value``. Quantities:
``dp_cvar``/``c0_star`` (x = tau), ``exact_cvar``/``mc_cvar``/``mc_cvar_se`` (x = tau),
``exact_mean``/``mc_mean``/``exact_p_fall``/``mc_p_fall``/``alive`` (x = tau, or 1 for the
risk-neutral policy), ``cvar_curve`` (x = u), ``law`` (x = atom, value = probability),
``action`` (s = state, x = stock, value = action index).

Deviations: none from the card's E3 description; the exact laws are an addition (the card
used Monte Carlo only).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_in_range, check_int
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "CARD"]

#: The card's E3 table: tau -> (DP CVaR, MC CVaR, E[G], P(fall), c0*); tau = None is the
#: risk-neutral row (MC CVaR at 0.1 and 0.25, E[G], P(fall)).
CARD = {0.05: (-16.07, -16.05, -7.66, 0.031, 9.3), 0.1: (-12.49, -12.51, -7.65, 0.031, 8.6),
        0.25: (-9.85, -9.74, -7.60, 0.030, 7.9), 0.5: (-8.48, -8.46, -7.60, 0.037, 6.8),
        1.0: (-7.16, -7.17, -7.17, 0.099, 0.0)}
CARD_RISK_NEUTRAL = {"V": -7.164, "cvar_0.1": -19.64, "cvar_0.25": -12.14, "mean": -7.14,
                     "p_fall": 0.097}


@dataclass(frozen=True)
class Config:
    """Parameters of the E3 figure.

    Attributes
    ----------
    gamma, slip : the gridworld's discount and slip probability (card: 0.95, 0.1).
    M : stock-grid nodes on [0, 400] (card: 4001, Delta = 0.1).
    taus : CVaR levels (card: 0.05, 0.1, 0.25, 0.5, 1).
    n_episodes : Monte Carlo episodes per policy (card: 20k-40k).
    vi_tol : VI stops at ||V_{k+1} - V_k|| < vi_tol.
    max_steps : Monte Carlo episode cap (0.95^2000 ~ 1e-45: no effect).
    law_depth : depth of the exact forward propagation of each policy's law.
    arrow_stocks : three stocks at which panels (a-c) draw the greedy action per cell.
    n_curve : points u of the CVaR_u curves in panel (e).
    """

    gamma: float = 0.95
    slip: float = 0.1
    M: int = 4001
    taus: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)
    n_episodes: int = 40000
    vi_tol: float = 1e-9
    max_steps: int = 2000
    law_depth: int = 800
    arrow_stocks: tuple[float, ...] = (0.0, 8.6, 15.0)
    n_curve: int = 60

    def __post_init__(self) -> None:
        check_in_range("gamma", self.gamma, low=0.0, high=1.0, low_open=True, high_open=True)
        check_in_range("slip", self.slip, low=0.0, high=1.0)
        check_int("M", self.M, low=2)
        if not self.taus or not all(0 < t <= 1 for t in self.taus):
            raise ValueError(f"taus == {self.taus!r}; give CVaR levels in (0, 1]")
        check_int("n_episodes", self.n_episodes, low=2)
        check_in_range("vi_tol", self.vi_tol, low=0.0, low_open=True)
        check_int("max_steps", self.max_steps, low=1)
        check_int("law_depth", self.law_depth, low=1)
        if len(self.arrow_stocks) != 3:
            raise ValueError(f"arrow_stocks == {self.arrow_stocks!r}; give three stocks")
        check_int("n_curve", self.n_curve, low=2)


#: The published figure.
DEFAULT = Config()
#: What the test suite runs (the same DP; fewer episodes).
QUICK = Config(n_episodes=4000, n_curve=20)

_CLIFF = (11, 12, 13)


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """Solve, search c0*, evaluate exactly and by Monte Carlo (see the module docstring).

    The Monte Carlo streams are ``rng.spawn(len(taus) + 1)`` (risk-neutral last), spawned up
    front. ``attrs["diagnostics"]`` holds the VI wall time, sweeps and residual, V*_rn, and
    the exact table next to the card's.

    Examples
    --------
    >>> cfg = Config(taus=(0.1,), n_episodes=200, n_curve=3, law_depth=200)
    >>> df = run(cfg, rng=np.random.default_rng(0))
    >>> round(float(df.query("quantity == 'c0_star'")["value"].iloc[0]), 6)    # card: 8.6
    8.6
    """
    from rlsandbox.algorithms.distributional import (cvar_utility, empirical_cvar,
                                                     markov_rollouts, policy_law,
                                                     risk_neutral_policy,
                                                     stock_value_iteration)
    from rlsandbox.mdps.distributional import slippery_cliff

    if not isinstance(config, Config):
        raise TypeError(f"config must be a distributional_cliff.Config, got "
                        f"{type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    m = slippery_cliff(gamma=config.gamma, slip=config.slip)
    children = rng.spawn(len(config.taus) + 1)
    t0 = time.perf_counter()
    sol = stock_value_iteration(m, cvar_utility(), M=config.M, tol=config.vi_tol)
    vi_time = time.perf_counter() - t0
    V_rn, pi_rn = risk_neutral_policy(m)
    rows: list[tuple] = []

    def add(policy: str, quantity: str, x: float, value: float, s: int = -1) -> None:
        rows.append((policy, quantity, int(s), float(x), float(value)))

    us = np.linspace(1.0 / config.n_curve, 1.0, config.n_curve)

    def record(name: str, law: Any, alive: float, absorbed: dict, G: np.ndarray,
               final: np.ndarray, x: float, tau: float | None) -> dict:
        atoms, probs = law.to_arrays()
        for a, p in zip(atoms, probs):
            add(name, "law", a, p)
        for u in us:
            add(name, "cvar_curve", u, float(law.cvar(float(u))))
        p_fall = sum(absorbed.get(c, 0.0) for c in _CLIFF)
        out = {"mean": float(law.mean()), "p_fall": p_fall, "alive": alive}
        add(name, "exact_mean", x, out["mean"])
        add(name, "mc_mean", x, float(G.mean()))
        add(name, "exact_p_fall", x, p_fall)
        add(name, "mc_p_fall", x, float(np.isin(final, _CLIFF).mean()))
        add(name, "alive", x, alive)
        for t in ([tau] if tau is not None else [0.1, 0.25]):
            exact = float(law.cvar(t))
            b = float(law.var_at(t))
            y = np.maximum(b - atoms, 0.0)
            var_y = float(probs @ (y - probs @ y) ** 2)
            se = math.sqrt(var_y / G.size) / t          # delta method for b - mean(y)/t
            add(name, "exact_cvar", t, exact)
            add(name, "mc_cvar", t, empirical_cvar(G, t))
            add(name, "mc_cvar_se", t, se)
            out[f"cvar_{t}"] = exact
        return out

    table = {}
    for tau, child in zip(config.taus, children[:-1]):
        name = f"cvar_{tau:g}"
        value, c0, _ = sol.cvar_search(tau)
        add(name, "dp_cvar", tau, value)
        add(name, "c0_star", tau, c0)
        law, alive, absorbed = policy_law(m, sol.action, c0, depth=config.law_depth)
        ro = sol.rollouts(c0, n=config.n_episodes, rng=child, max_steps=config.max_steps)
        stats = record(name, law, alive, absorbed, ro.G, ro.final, tau, tau)
        table[f"{tau:g}"] = {"dp_cvar": value, "c0_star": c0, **stats,
                             "card": dict(zip(("dp_cvar", "mc_cvar", "mean", "p_fall",
                                               "c0_star"), CARD.get(tau, ())))}
    law, alive, absorbed = policy_law(m, lambda s, c: int(pi_rn[s]), 0.0,
                                      depth=config.law_depth)
    ro = markov_rollouts(m, pi_rn, n=config.n_episodes, rng=children[-1],
                         max_steps=config.max_steps)
    table["risk-neutral"] = {**record("risk-neutral", law, alive, absorbed, ro.G, ro.final,
                                      1.0, None),
                             "V_rn": float(V_rn[m.s0]), "card": CARD_RISK_NEUTRAL}
    for c in config.arrow_stocks:
        for s in range(m.S):
            if not m.terminal[s]:
                add(f"stock={c:g}", "action", c, sol.action(s, c), s)
    df = pd.DataFrame(rows, columns=["policy", "quantity", "s", "x", "value"])
    df.attrs["diagnostics"] = {
        "vi_seconds": round(vi_time, 3), "vi_sweeps": sol.iterations,
        "vi_residual": sol.residual, "grid_nodes": config.M,
        "states_x_stocks_x_actions": [m.S, config.M, m.A],
        "V_rn(S)": float(V_rn[m.s0]), "table": table,
    }
    return df


_ARROWS = {0: (0.0, 0.35), 1: (0.35, 0.0), 2: (0.0, -0.35), 3: (-0.35, 0.0)}


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Draw the six panels from ``data`` (the output of :func:`run`); ``n_boot`` and ``rng``
    are unused (the Monte Carlo intervals are normal intervals from the exact laws)."""
    from matplotlib.figure import Figure

    require_columns(data, {"policy", "quantity", "s", "x", "value"})
    fig = Figure(figsize=(15, 8.5), layout="constrained", dpi=80)
    axes = fig.subplots(2, 3)
    arrows = data[data["quantity"] == "action"]
    stocks = list(dict.fromkeys(arrows["policy"]))
    for ax, name, letter in zip(axes[0], stocks, "abc"):
        sub = arrows[arrows["policy"] == name]
        ax.set_xlim(-0.5, 4.5)
        ax.set_ylim(-0.5, 2.5)
        for col in range(5):
            for row in range(3):
                y = 2 - row
                s = row * 5 + col
                if s in _CLIFF:
                    ax.add_patch(_rect(col, y, "#d62728"))
                elif s == 14:
                    ax.add_patch(_rect(col, y, "#2ca02c"))
                hit = sub[sub["s"] == s]
                if len(hit):
                    dx, dy = _ARROWS[int(hit["value"].iloc[0])]
                    ax.arrow(col - dx / 2, y - dy / 2, dx, dy, width=0.04, head_width=0.16,
                             length_includes_head=True, color="k")
        ax.text(0, 0, "S", ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(5))
        ax.set_yticks(range(3), ["row 2", "row 1", "row 0"])
        ax.set_aspect("equal")
        ax.set_title(f"({letter}) greedy action per cell at stock c = {name.split('=')[1]}")
    policies = [p for p in dict.fromkeys(data["policy"]) if not p.startswith("stock=")]
    colors = {p: f"C{i}" for i, p in enumerate(policies)}

    def series(p: str, q: str) -> tuple:
        cur = data[(data["policy"] == p) & (data["quantity"] == q)].sort_values("x")
        return tuple(cur["x"]), tuple(cur["value"])

    # policies whose exact return law equals an earlier one's (cvar_1 and risk-neutral) would
    # hide it in (d) and (e): the earlier one is drawn wide and pale, the later one dashed on
    # top, and the legend says "identical"
    same_as: dict[str, str] = {}
    for i, p in enumerate(policies):
        law_p = series(p, "law")
        for q in policies[:i]:
            if q not in same_as and series(q, "law") == law_p:
                same_as[p] = q
                break
    hidden = set(same_as.values())

    def line_style(p: str) -> dict:
        if p in same_as:
            return {"linestyle": "--", "linewidth": 1.3}
        if p in hidden:
            return {"linewidth": 4.0, "alpha": 0.55}
        return {}

    ax = axes[1, 0]
    for p in policies:
        law = data[(data["policy"] == p) & (data["quantity"] == "law")].sort_values("x")
        label = f"{p} (identical to {same_as[p]})" if p in same_as else p
        ax.step(law["x"], np.cumsum(law["value"]), where="post", color=colors[p], label=label,
                **line_style(p))
    ax.set_xlabel("return G")
    ax.set_ylabel("P(G <= x) (exact law)")
    ax.set_title("(d) return distributions (CDF)")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    for p in policies:
        cur = data[(data["policy"] == p) & (data["quantity"] == "cvar_curve")]
        ax.plot(cur["x"], cur["value"], color=colors[p], label=p, **line_style(p))
        mc = data[(data["policy"] == p) & (data["quantity"] == "mc_cvar")]
        se = data[(data["policy"] == p) & (data["quantity"] == "mc_cvar_se")]
        ax.errorbar(mc["x"], mc["value"], yerr=1.96 * se["value"].to_numpy(), fmt="o",
                    color=colors[p], markersize=4, capsize=2)
        dp = data[(data["policy"] == p) & (data["quantity"] == "dp_cvar")]
        ax.plot(dp["x"], dp["value"], marker="*", markersize=12, linestyle="none",
                color=colors[p], markeredgecolor="k")
    ax.set_xscale("log")
    ax.set_xlabel("level u")
    ax.set_ylabel(r"CVaR$_u$(G)")
    ax.set_title("(e) CVaR_u of each policy: exact (lines), MC (dots, 95%), DP (stars)")
    ax = axes[1, 2]
    twin = ax.twinx()
    xs = np.arange(len(policies))

    def one(p: str, q: str) -> float:
        return float(data[(data["policy"] == p) & (data["quantity"] == q)]["value"].iloc[0])
    ax.plot(xs - 0.1, [one(p, "exact_mean") for p in policies], "o", color="C0",
            label="E[G] exact")
    ax.plot(xs - 0.1, [one(p, "mc_mean") for p in policies], "o", mfc="none", color="C0",
            markersize=9, label="E[G] MC")
    twin.plot(xs + 0.1, [one(p, "exact_p_fall") for p in policies], "s", color="C3",
              label="P(fall) exact")
    twin.plot(xs + 0.1, [one(p, "mc_p_fall") for p in policies], "s", mfc="none",
              color="C3", markersize=9, label="P(fall) MC")
    ax.set_xticks(xs, policies, rotation=30, fontsize=8)
    ax.set_ylabel("E[G] (circles)", color="C0")
    twin.set_ylabel("P(fall) (squares)", color="C3")
    twin.set_ylim(0.0, None)
    ax.legend(fontsize=7, loc="center left")
    twin.legend(fontsize=7, loc="center right")
    ax.set_title("(f) mean return and fall probability")
    fig.suptitle("E3 slippery cliff (sandbox stand-in for the paper's §7, not its layout): "
                 f"stock-grid VI, M = {config.M}, gamma = {config.gamma}, slip = {config.slip};"
                 f" MC: {config.n_episodes} episodes per policy", fontsize=10)
    return fig


def _rect(col: float, y: float, color: str):
    from matplotlib.patches import Rectangle
    return Rectangle((col - 0.5, y - 0.5), 1.0, 1.0, color=color, alpha=0.35)
