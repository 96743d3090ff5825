"""F1 ``harpg_estimators``: are the card's estimators unbiased, and are their broken forms not?

Card n_harpg.md §5.2 F1 (claims N1-N3). For each instance, ``n`` independent trajectories at a
fixed parameter and, per estimator, the Monte Carlo mean against the exact expectation:

* rows (estimator, role): GPOMDP g, REINFORCE (both unbiased for grad J_H); g with the
  reward-to-go discounted from t, sum_{h>=t} gamma^(h-t) r_h (control, card pitfall 2);
  the Hessian estimator B (unbiased for hess J_H); B without its outer-product term g grad log p^T
  (control); the HVP v = B(tau^, theta^) Delta at theta^ = q theta + (1-q) theta', q ~ U[0, 1]
  (unbiased for grad J_H(theta) - grad J_H(theta')); v with q = 1 (control: Hessian at the end
  point, biased at second order);
* instances: the 2x2 softmax MDP of :func:`~rlsandbox.mdps.harpg.harpg_two_state` with H = 4,
  gamma = 0.8 (also enumerated exactly over all 4^4 paths: column ``enum_error``); I2 (logistic
  bump); I4 (scalar LQR, H = 10);
* columns: the largest |mean - exact| over entries, the s.e. of that entry, the largest |z| over
  entries, the two-sided Bonferroni threshold at family level 1e-3
  (:func:`rlsandbox.proofs_check.harpg.z_cell`), and whether |z| stays below it.

Expected (card): every unbiased row passes; every control fails where it differs from the
estimator. On the one-step bandit I2 (H = 1) the from-t reward-to-go *is* g (gamma^0 = 1), so
that control cannot fail there and is reported as passing (card N1: "equal to g on one-step
bandits"). The q = 1 control is biased only at second order: its bias on each instance is
reported beside the z-statistic (``exact_bias``); it is detectable with ``n`` trajectories only
where the bias exceeds a few standard errors (card N3 asks to choose n so that 4 s.e. < |bias|).

Measured (root seed 0, DEFAULT n = 4e5): every unbiased row passes (max |z| <= 1.49); the
controls fail on the 2x2 MDP (|z| = 68.5, 988, 52.0; exact biases 0.152, 0.648, 0.098 — the
card's prototype, on a different random 2x2 instance, had 0.114 and 0.10) and on I2 (B without
outer term 597, q = 1 80.3); on I4 the B and q = 1 controls fail (214, 10.6) but the from-t
reward-to-go does **not** reach the threshold (|z| = 2.96 < 3.29: its bias, ~0.10, is within
3 s.e. of the LQR's heavy-tailed estimate at this n). QUICK (n = 4e4) detects the same controls
except that the LQR q = 1 row is marginal (|z| 3.8-4.8 against 3.29).

Deviations: the card names no seeds for F1; the root seed is the CLI's. The HVP rows use one
trajectory per interpolation point (n points q_i, n trajectories), as HARPG does.

Data (tidy): one row per (instance, estimator): ``instance``, ``estimator``, ``role``
("unbiased" or "control"), ``n``, ``max_abs_error``, ``se``, ``z``, ``z_crit``, ``passes``,
``exact_bias`` (the control's largest exact bias where computable, as text; "not computed"
otherwise), ``enum_error`` (enumerated expectation minus exact value, as text; 2x2 only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._validate import check_int
from rlsandbox.experiments.plotting import require_columns

__all__ = ["Config", "DEFAULT", "QUICK", "run", "plot", "ROWS"]

#: (estimator label, role) in table order.
ROWS = (("GPOMDP g", "unbiased"), ("REINFORCE", "unbiased"),
        ("g, reward-to-go from t", "control"), ("B", "unbiased"),
        ("B without outer term", "control"), ("v, q ~ U[0,1]", "unbiased"),
        ("v, q = 1", "control"))


@dataclass(frozen=True)
class Config:
    """Sizes of F1: ``n`` trajectories per (instance, estimator group)."""

    n: int = 400_000

    def __post_init__(self) -> None:
        check_int("n", self.n, low=100)


DEFAULT = Config()
QUICK = Config(n=40_000)


def _instances() -> list[tuple[str, Any, int, np.ndarray, np.ndarray]]:
    """(name, problem, H, theta, theta') per instance; ||theta - theta'|| = 1 (LQR: 0.5, from
    the card's reference gain K_0 = 0.8)."""
    from rlsandbox.mdps.harpg import harpg_two_state, logistic_bump, lqr_reference

    theta = np.array([0.3, -0.2, 0.5, 0.1])
    u = np.array([0.6, -0.2, -0.5, 0.6])            # not along a per-state constant shift
    return [("2x2 softmax (H=4, gamma=0.8)", harpg_two_state(0.8), 4, theta,
             theta - u / np.linalg.norm(u)),
            ("I2 logistic bump", logistic_bump(), 1, np.array([0.2, 0.4]),
             np.array([0.2 - 0.6, 0.4 + 0.8])),
            ("I4 scalar LQR (H=10)", lqr_reference(), 10, np.array([0.8]), np.array([0.3]))]


def run(config: Config, *, rng: np.random.Generator) -> pd.DataFrame:
    """One child stream per instance (``rng.spawn``, in the order of the instances); within an
    instance: the trajectories at theta (rows g, REINFORCE, from-t, B, B without outer), then
    q (n,), the trajectories at the n interpolated points, then those at theta (q = 1).

    Examples
    --------
    >>> df = run(Config(n=200), rng=np.random.default_rng(0))
    >>> df.shape[0], sorted(df["role"].unique())
    (21, ['control', 'unbiased'])
    """
    from rlsandbox.algorithms.harpg import estimators as est
    from rlsandbox.proofs_check.harpg import z_cell

    if not isinstance(config, Config):
        raise TypeError(f"config must be a harpg_estimators.Config, got {type(config).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    insts = _instances()
    rows = []
    n = config.n
    for (name, p, H, theta, theta_p), child in zip(insts, rng.spawn(len(insts))):
        d = p.d
        grad = np.asarray(p.grad_J_H(theta, H)).reshape(d)
        hess = np.asarray(p.hess_J_H(theta, H)).reshape(d, d)
        delta = theta - theta_p
        diff = grad - np.asarray(p.grad_J_H(theta_p, H)).reshape(d)
        enum = est.enumerate_expectations(p, theta, H) if name.startswith("2x2") else None
        ro = p.sample(theta, H=H, n=n, rng=child)
        samples = {"GPOMDP g": (est.gpomdp(ro), grad, "g"),
                   "REINFORCE": (est.reinforce(ro), grad, "reinforce"),
                   "g, reward-to-go from t": (est.gpomdp_from_t(ro), grad, "g_from_t"),
                   "B": (est.hessian(ro).reshape(n, -1), hess.ravel(), "B"),
                   "B without outer term": (est.hessian_no_outer(ro).reshape(n, -1),
                                            hess.ravel(), "B_no_outer")}
        v = est.interpolated_hvp_samples(p, theta, theta_p, H=H, n=n, rng=child)
        v1 = est.interpolated_hvp_samples(p, theta, theta_p, H=H, n=n, rng=child, endpoint=True)
        samples["v, q ~ U[0,1]"] = (v, diff, None)
        samples["v, q = 1"] = (v1, diff, None)
        bias = {"g, reward-to-go from t": enum["g_from_t"] - grad if enum is not None else None,
                "B without outer term": enum["B_no_outer"] - hess if enum is not None else None,
                "v, q = 1": hess @ delta - diff}
        for label, role in ROWS:
            x, exact, key = samples[label]
            m = z_cell(x, exact, label)
            se = x.std(axis=0, ddof=1) / np.sqrt(n)
            k = int(np.argmax(np.abs(x.mean(axis=0) - exact)))
            b = bias.get(label)
            enum_err = f"{float(np.abs(np.ravel(enum[key]) - exact).max()):.6g}" \
                if enum is not None and key is not None else "not enumerated"
            rows.append({"instance": name, "estimator": label, "role": role, "n": n,
                         "max_abs_error": m.extra["max_abs_error"], "se": float(se[k]),
                         "z": float(m.measured), "z_crit": float(m.bound),
                         "passes": bool(m.measured <= m.bound),
                         "exact_bias": f"{float(np.abs(b).max()):.6g}" if b is not None
                         else "not computed",
                         "enum_error": enum_err})
    return pd.DataFrame(rows)


def plot(data: pd.DataFrame, *, config: Config, n_boot: int, rng: np.random.Generator) -> Any:
    """Grouped bars of max |z| / z_crit (log scale; the line at 1 is the Bonferroni threshold)
    per estimator and instance, and the table of numbers below. ``n_boot`` and ``rng`` are
    unused (no bootstrap: the z-statistics carry their own standard errors)."""
    from matplotlib.figure import Figure

    require_columns(data, {"instance", "estimator", "role", "z", "z_crit", "max_abs_error", "se",
               "passes"})
    fig = Figure(figsize=(13, 9.5), layout="constrained")
    ax, tab = fig.subplots(2, 1, height_ratios=(1.0, 1.25))
    insts = list(dict.fromkeys(data["instance"]))
    ests = list(dict.fromkeys(data["estimator"]))
    width = 0.8 / len(insts)
    x = np.arange(len(ests))
    for i, name in enumerate(insts):
        sub = data[data["instance"] == name].set_index("estimator").loc[ests]
        ratio = np.maximum(sub["z"].to_numpy() / sub["z_crit"].to_numpy(), 1e-3)
        ax.bar(x + (i - (len(insts) - 1) / 2) * width, ratio, width, label=name,
               color=f"C{i}", edgecolor=["k" if r == "control" else "none" for r in sub["role"]],
               hatch=None)
    ax.axhline(1.0, color="k", linewidth=1, linestyle="--")
    ax.set_yscale("log")
    ax.set_xticks(x, [f"{e}\n({r})" for e, r in dict.fromkeys(zip(data["estimator"],
                                                                     data["role"]))],
                  fontsize=8)
    ax.set_ylabel("max |z| / Bonferroni threshold")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(f"F1: estimator means vs exact expectations, n = {int(data['n'].iloc[0])} "
                 "trajectories per row; above the dashed line = bias detected "
                 "(family level 1e-3)", fontsize=10)
    tab.axis("off")
    cells = [[r.instance, r.estimator, r.role, f"{r.max_abs_error:.3g}", f"{r.se:.3g}",
              f"{r.z:.2f}", f"{r.z_crit:.2f}", "pass" if r.passes else "FAIL"]
             for r in data.itertuples()]
    t = tab.table(cellText=cells, colLabels=["instance", "estimator", "role", "max|mean-exact|",
                                             "s.e.", "max|z|", "z_crit", "z-test"],
                  loc="upper center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(7.5)
    t.scale(1.0, 1.15)
    t.auto_set_column_width(list(range(8)))
    return fig
