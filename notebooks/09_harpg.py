# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Stochastic policy gradients with look-ahead and Hessian-aided momentum (N-PG-IGT, N-HARPG)
#
# This notebook follows Fatkhullin, Barakat, Kireeva and He, *Stochastic Policy Gradient
# Methods: Improved Sample Complexity for Fisher-non-degenerate Policies* (ICML 2023), through
# the project's paper card `shared/papers/n_harpg.md` (cited as "card §x"). Every quantity is
# computed exactly where the theory needs it (J, its gradient and Hessian by quadrature or
# closed form), and sampled where the algorithm samples.
#
# 1. the setting: a policy class whose Fisher matrix is bounded below (assumption A3), and the
#    *relaxed weak gradient domination* inequality that A3 buys;
# 2. the estimators: GPOMDP and the Hessian-vector product at a random point of a segment;
# 3. the two algorithms and the mechanism each relies on: the look-ahead of N-PG-IGT cancels the
#    first-order transport error; the Hessian correction of N-HARPG makes its momentum exact;
# 4. the rates, measured, against the theorems' exponents; and the negative controls that break
#    them.
#
# Set `RLSANDBOX_QUICK=1` to run on small sizes (the test suite does); the text does not change.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from rlsandbox.algorithms.harpg import (code_schedule, estimators as est, log_checkpoints, run)
from rlsandbox.mdps.harpg import (logistic_bump, logistic_monotone, logistic_state_mdp,
                                  lqr_reference)
from rlsandbox.proofs_check.harpg import bump_hessian_lipschitz

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
T = 1000 if QUICK else 10_000            # iterations of the rate experiments
SEEDS = 32 if QUICK else 128              # independent replicates (run in lockstep)
EPS = np.finfo(np.float64).eps
print(f"quick mode: {'on' if QUICK else 'off'} (T = {T}, {SEEDS} replicates)")

# %% [markdown]
# ## 1. The setting
#
# We maximise $J(\theta) = \mathbb{E}\big[\sum_t \gamma^t r_t\big]$ over a policy class
# $\pi_\theta$. The paper's assumptions (card §2):
#
# * **A1** bounded score and log-policy Hessian: $\|\nabla \log \pi_\theta\| \le M_g$,
#   $\|\nabla^2 \log\pi_\theta\| \le M_h$;
# * **A3** Fisher non-degeneracy: $F(\theta) = \mathbb{E}[\nabla\log\pi\,\nabla\log\pi^\top]
#   \succeq \mu_F I$ for *every* $\theta$;
# * **A4** the compatible approximation error $\varepsilon_{bias}$ is small.
#
# Tabular softmax violates A3 (its Fisher matrix is singular). The card's main instance I2 meets
# all of them: a one-step problem with action $a = \theta + bX$, $X$ standard logistic, in
# $m = 2$ dimensions. Its score is $\tanh((a - \theta)/2b)/b$, so $M_g = \sqrt m / b$, and its
# Fisher matrix is exactly $I/(3b^2)$. We check the Fisher constant by quadrature.

# %%
bump = logistic_bump()                   # m = 2, b = 0.5, reward exp(-||a - c||^2/2), c = (1, -0.5)
from rlsandbox.algorithms.harpg.models import _LOGISTIC_W, _LOGISTIC_X   # the quadrature rule

fisher_diag = float(_LOGISTIC_W @ np.tanh(_LOGISTIC_X / 2) ** 2) / bump.b ** 2
print(f"M_g = {bump.M_g:.4f}, mu_F = 1/(3 b^2) = {bump.mu_F:.6f}, "
      f"quadrature E[score_i^2] = {fisher_diag:.15f}")
assert abs(fisher_diag - bump.mu_F) <= 1e-14 * bump.mu_F

# %% [markdown]
# **Relaxed weak gradient domination** (card §2, Lemma relaxed-WGD). Under A1, A3, A4,
#
# $$ J^* - J(\theta) \;\le\; \frac{\sqrt{\varepsilon_{bias}}}{1-\gamma}
#    + \frac{M_g}{\mu_F}\,\|\nabla J(\theta)\|. $$
#
# The proof runs through the performance difference lemma; its pointwise form, with
# $w^*(\theta) = F^{-1}\nabla J$ and the $\theta$-specific error, is
# $J^* - J(\theta) \le \sqrt{\varepsilon_{bias}(\theta)}/(1-\gamma)
# + \|w^*(\theta)\|\,\mathbb{E}_{d^*,\pi^*}\|\nabla\log\pi_\theta\|$. On the scalar LQR with a
# linear Gaussian policy (card I4) everything is in closed form, and at the optimal gain $K^*$
# the bound is an **equality**: the gradient vanishes and the whole gap is the bias term (the
# Gaussian exploration noise is what keeps $\pi_{K^*}$ from the deterministic optimum).

# %%
lqr = lqr_reference(W=0.05)
Ks = [0.5, 1.0, lqr.K_star, 2.0, 3.0]
print(" K        gap J*-J(K)   bound     bias term   ratio gap/bound")
for K in Ks:
    gap = lqr.J_star - lqr.J(K)
    bias = math.sqrt(lqr.eps_bias(K)) / (1 - lqr.gamma)
    bound = bias + abs(lqr.w_star(K)) * lqr.optimal_score_norm(K)
    print(f"{K:6.4f}   {gap:10.5f}   {bound:8.4f}   {bias:8.4f}   {gap / bound:6.3f}")
    assert gap <= bound + 64 * EPS * (abs(lqr.J_star) + bound)

# %% [markdown]
# The bound holds everywhere and is tight at $K^*$ (ratio 1). **Negative control:** drop the
# $\sqrt{\varepsilon_{bias}}$ term, which is tempting if one forgets that the policy class
# cannot reach $J^*$. At $K^*$ the remaining bound is 0, while the gap is 0.353.

# %%
gap_star = lqr.J_star - lqr.J(lqr.K_star)
no_bias_bound = abs(lqr.w_star(lqr.K_star)) * lqr.optimal_score_norm(lqr.K_star)
print(f"at K*: gap {gap_star:.4f} > bound without the bias term {no_bias_bound:.2e}")
assert gap_star > no_bias_bound + 0.3

# %% [markdown]
# The same lemma on a problem with several states and a continuous action (card I5: a
# logistic policy whose mean is $\theta^\top\phi(s)$, softmax transitions, bump rewards). Here
# $J^*$ is the value of the best deterministic policy on a fine action grid; the performance
# difference lemma holds exactly for that comparator, so the inequality is checked against it.
# At the in-class maximiser ($\nabla J = 0$, found by Newton ascent) only the bias term is
# left, and it nearly equals the gap: the advantage of the comparator's actions is almost the
# same in every state, so the Cauchy-Schwarz step of the proof is nearly an equality.

# %%
i5 = logistic_state_mdp()
print(" theta                gap J*-J    pointwise bound   bias term")
for theta in (np.zeros(2), np.array([1.0, -2.0]), i5.class_maximiser()):
    gap = i5.J_star - i5.J(theta)
    bias = math.sqrt(i5.eps_bias(theta)) / (1 - i5.gamma)
    bound = bias + np.linalg.norm(i5.compatible_weight(theta)) * i5.optimal_score_norm(theta)
    print(f"{np.array2string(theta, precision=3):20s} {gap:10.6f}   {bound:12.6f}   {bias:10.6f}")
    assert gap <= bound + 64 * EPS * (abs(i5.J_star) + bound)

# %% [markdown]
# ## 2. The estimators
#
# From one trajectory, GPOMDP $g = \sum_t R_t \nabla\log\pi(a_t|s_t)$ with
# $R_t = \sum_{h \ge t}\gamma^h r_h$ is unbiased for $\nabla J_H$, and
# $B = g\,(\sum_t\nabla\log\pi_t)^\top + \sum_t R_t\nabla^2\log\pi_t$ is unbiased for
# $\nabla^2 J_H$ (card §2). HARPG needs $\nabla J(\theta_t) - \nabla J(\theta_{t-1})$; it uses
# $B(\hat\tau, \hat\theta)\,(\theta_t - \theta_{t-1})$ at $\hat\theta = q\theta_t +
# (1-q)\theta_{t-1}$ with a *fresh* $q \sim U[0,1]$. By the fundamental theorem of calculus,
# $\int_0^1 \nabla^2 J(\theta_{t-1} + q\Delta)\Delta\,dq = \nabla J(\theta_t) - \nabla J(\theta_{t-1})$,
# so the product is unbiased for the gradient difference. Fixing $q = 1$ (the Hessian at the
# endpoint) is biased at second order. We check both by Monte Carlo, with z-scores.

# %%
rng = np.random.default_rng(2023)        # the notebook's only random source
th_prev, th = np.array([0.2, 0.9]), np.array([1.0, 0.3])
delta = th - th_prev
target = bump.grad_J(th) - bump.grad_J(th_prev)
n = 50_000 if QUICK else 400_000
z = {}
for label, q in (("q ~ U[0,1]", rng.random(n)), ("q = 1 (control)", np.ones(n))):
    th_hat = q[:, None] * th + (1 - q[:, None]) * th_prev
    ro = bump.sample(th_hat, n=1, rng=rng)               # one trajectory per draw of q
    v = est.hvp(ro, np.broadcast_to(delta, th_hat.shape))[:, 0, :]
    z[label] = (v.mean(0) - target) / (v.std(0, ddof=1) / math.sqrt(n))
    print(f"{label:16s} mean {np.round(v.mean(0), 4)}  target {np.round(target, 4)}  "
          f"z = {np.round(z[label], 2)}")
# unbiased: |z| below the two-coordinate Bonferroni threshold at level 1e-4
assert np.all(np.abs(z["q ~ U[0,1]"]) < 4.4)
bias = bump.hess_J(th) @ delta - target          # the exact bias of the q = 1 version
print(f"exact bias of q = 1: {np.round(bias, 4)} (second order in ||Delta|| = "
      f"{np.linalg.norm(delta):.2f})")

# %% [markdown]
# ## 3. Two ways to keep a momentum direction honest
#
# A normalised momentum method keeps $d_t = (1-\eta_t)d_{t-1} + \eta_t\,g_t$ and steps
# $\theta_{t+1} = \theta_t + \alpha_t d_t/\|d_t\|$. The old gradients in $d_{t-1}$ were taken at
# old iterates; the **transport error** $\nabla J(\theta_{t-1}) - \nabla J(\theta_t) \approx
# -\nabla^2 J\,\Delta_t$ is first order in the step.
#
# * **N-PG-IGT** samples its gradient at the look-ahead point $\tilde\theta_t = \theta_t +
#   \frac{1-\eta_t}{\eta_t}(\theta_t - \theta_{t-1})$. Then
#   $\eta_t(\tilde\theta_t - \theta_t) = (1-\eta_t)\Delta_t$, and in
#   $\tau_t = (1-\eta_t)(\nabla J(\theta_{t-1}) - \nabla J(\theta_t)) + \eta_t(\nabla J(\tilde\theta_t)
#   - \nabla J(\theta_t))$ the two Hessian terms cancel, leaving
#   $\|\tau_t\| \le \frac{L_h}{2}\,\frac{1-\eta_t}{\eta_t}\|\Delta_t\|^2$ (second order; card N10).
# * **N-HARPG** adds the unbiased estimate $v_t$ of $\nabla J(\theta_t) - \nabla J(\theta_{t-1})$ to
#   the old direction: $d_t = (1-\eta_t)(d_{t-1} + v_t) + \eta_t g_t$. With exact $g$ and $v$ the
#   recursion gives $d_t = \nabla J(\theta_t)$ *exactly* (card N4).
#
# We run N-PG-IGT with and without its look-ahead and measure $\|\tau_t\|$ against the
# second-order bound, with a rigorous $L_h$ for the bump (the `harpg.lemma.igt_transport` claim).

# %%
L_h = bump_hessian_lipschitz(bump)
sched = code_schedule("n_pg_igt", alpha0=0.5)
ratios = {}
for lookahead in (True, False):
    tr = run(bump, "n_pg_igt", theta0=np.zeros(2), T=T, H=1, M=4, schedule=sched, rng=rng,
             lookahead=lookahead)
    thetas = tr.theta[0]
    eta = sched.eta(np.arange(1, T))[:, None]
    d_ = thetas[1:] - thetas[:-1]
    tilde = thetas[1:] + (1 - eta) / eta * d_ if lookahead else thetas[1:]
    tau = np.linalg.norm((1 - eta) * (bump.grad_J(thetas[:-1]) - bump.grad_J(thetas[1:]))
                         + eta * (bump.grad_J(tilde) - bump.grad_J(thetas[1:])), axis=1)
    bound = 0.5 * L_h * (1 - eta[:, 0]) * np.linalg.norm(d_, axis=1) ** 2 / eta[:, 0]
    ratios[lookahead] = tau / bound
print(f"L_h <= {L_h:.3f}; max ||tau_t|| / bound with look-ahead: {ratios[True].max():.3f}, "
      f"without: {ratios[False].max():.3f}")
assert ratios[True].max() <= 1.0 + 1e-9

fig, ax = plt.subplots(figsize=(7, 4))
t_axis = np.arange(1, T)
ax.loglog(t_axis, ratios[True], ".", ms=2, label="with look-ahead (N-PG-IGT)")
ax.loglog(t_axis, ratios[False], ".", ms=2, label="without look-ahead (control)")
ax.axhline(1.0, color="k", lw=0.8)
ax.set_xlabel("iteration t")
ax.set_ylabel(r"$\|\tau_t\|$ / second-order bound")
ax.legend()
ax.set_title("transport error relative to (L_h/2)(1-eta)/eta ||Delta||^2")
fig

# %% [markdown]
# With the look-ahead every step stays below the second-order bound. Without it, the ratio grows
# like $\eta_t/\|\Delta_t\| \propto t^{1/5}$ once the steps are small, because the first-order
# term $(1-\eta_t)\nabla^2 J\,\Delta_t$ survives; it crosses 1 late in a long enough run.
#
# ## 4. Rates, measured
#
# The tracking error $\mathbb{E}\|d_t - \nabla J(\theta_t)\|$ decays like $t^{-1/3}$ for
# normalised plain momentum (N-MPG), $t^{-2/5}$ for N-PG-IGT and $t^{-1/2}$ for N-HARPG
# (card N10). Under weak gradient domination the optimality gap inherits these exponents, and
# the theorems turn them into $\tilde O(\varepsilon^{-3})$, $\tilde O(\varepsilon^{-2.5})$ and
# $\tilde O(\varepsilon^{-2})$ trajectories (card §1, N11). We measure the slopes on the bump,
# with M = 16 trajectories per estimate; the control drops N-HARPG's Hessian correction.

# %%
ck = log_checkpoints(T, 10)
curves = {}
for label, method, kw in (("N-MPG", "n_mpg", {}), ("N-PG-IGT", "n_pg_igt", {}),
                          ("N-HARPG", "n_harpg", {}), ("N-HARPG, no HVP", "n_harpg",
                                                       {"hvp": "none"})):
    tr = run(bump, method, theta0=np.zeros(2), T=T, H=1, M=16, replicates=SEEDS,
             schedule=code_schedule(method, alpha0=0.5), rng=rng, checkpoints=ck, **kw)
    grad = bump.grad_J(tr.theta.reshape(-1, 2)).reshape(tr.theta.shape)
    curves[label] = np.linalg.norm(tr.d - grad, axis=-1).mean(axis=0)
half = len(ck) // 2
slopes = {k: np.polyfit(np.log(ck[half:]), np.log(v[half:]), 1)[0] for k, v in curves.items()}
for k, s in slopes.items():
    print(f"{k:18s} slope {s:+.3f}")
assert slopes["N-HARPG"] < slopes["N-HARPG, no HVP"]

fig, ax = plt.subplots(figsize=(7, 4.5))
for k, v in curves.items():
    ax.loglog(ck, v, marker="o", ms=3, ls=":" if "no" in k else "-",
              label=f"{k} ({slopes[k]:+.2f})")
for p in (-1 / 3, -2 / 5, -1 / 2):
    ax.loglog(ck[half:], curves["N-MPG"][half] * (ck[half:] / ck[half]) ** p, "k--", lw=0.6)
ax.set_xlabel("iteration t")
ax.set_ylabel(r"$E\|d_t - \nabla J(\theta_t)\|$")
ax.legend(fontsize=8)
ax.set_title(f"tracking error, mean over {SEEDS} replicates (dashed: t^-1/3, t^-2/5, t^-1/2)")
fig

# %% [markdown]
# The ordering is the theory's. N-HARPG's error falls like $t^{-1/2}$. Without the Hessian
# correction it falls about half as fast, since plain averaging with $\eta_t = 2/(t+2)$ forgets
# old gradients too slowly for the iterates' motion.
#
# **How tight are the theorems?** Their exponents are worst-case. On the bump the maximiser is
# interior and non-degenerate (a PL-type landscape), so the gap decays like the *square* of the
# tracking error: about $-1$ for N-HARPG, twice the theorem's $-1/2$. The worst case shows up
# on the monotone reward, where gradient domination is tight:

# %%
mono = logistic_monotone()
gap_slopes = {}
for label, method in (("vanilla PG", "vanilla_pg"), ("N-PG-IGT", "n_pg_igt"),
                      ("N-HARPG", "n_harpg")):
    tr = run(mono, method, theta0=np.array([2.0, 2.0]), T=T, H=1, M=16, replicates=SEEDS,
             schedule=code_schedule(method, alpha0=1.0), rng=rng, checkpoints=ck)
    gap = 1.0 - mono.J(tr.theta.reshape(-1, 2)).reshape(SEEDS, -1).mean(axis=0)
    gap_slopes[label] = np.polyfit(np.log(tr.trajectories[half:]), np.log(gap[half:]), 1)[0]
print({k: round(v, 3) for k, v in gap_slopes.items()}, "(theory: -1/3, -2/5, -1/2)")
assert gap_slopes["N-HARPG"] < gap_slopes["vanilla PG"]

# %% [markdown]
# Vanilla PG is clearly the slowest, near its $-1/3$. In quick mode (few iterations and
# replicates) N-PG-IGT and N-HARPG can land close together. At full size the three separate
# as the theorems order them (card prototype at $T = 5\cdot10^4$, 200 seeds: $-0.333$,
# $-0.451$, $-0.575$; see the gallery figure `harpg_gap_rates`, panel (a)). That ordering is the
# paper's improvement in sample complexity. The claims behind this notebook are checked by
# `rlsandbox verify harpg`, and the full-size curves are the gallery figures
# `harpg_tracking_error` and `harpg_gap_rates`.

# %% [markdown]
# ## 5. Are the constants the right size?
#
# The theorems' constants come from bounds such as $\mathbb{E}\|g - \nabla J_H\|^2 \le
# \sigma_g^2 = r_{max}^2 M_g^2/(1-\gamma)^3$ (card §2, claim N5). Is the power of $1-\gamma$
# needed, or an artefact of the proof? Take one absorbing state with reward 1 for both actions:
# $J$ does not depend on $\theta$ at all, yet each sampled gradient
# $g = \sum_t R_t \nabla\log\pi(a_t)$ adds up $\sim 1/(1-\gamma)$ independent score terms, each
# weighted by up to $1/(1-\gamma)$. Its second moment is $\tfrac12\sum_t R_t^2$ exactly
# (uniform policy), which we compare with $\sigma_g^2$ and with the bound one power of
# $(1-\gamma)$ smaller (the card's negative control).

# %%
from rlsandbox.algorithms.harpg import constants
from rlsandbox.mdps.harpg import harpg_absorbing

absorb, H_abs = harpg_absorbing(2, 0.95), 200
c = constants(absorb.r_max, absorb.M_g, absorb.M_h, absorb.gamma, H_abs)
ro = absorb.sample(np.zeros(2), H=H_abs, n=5_000 if QUICK else 50_000, rng=rng)
sq = np.sum(est.gpomdp(ro) ** 2, axis=-1)                 # grad J_H = 0 on this instance
disc = absorb.gamma ** np.arange(H_abs)
exact = 0.5 * np.sum(np.cumsum(disc[::-1])[::-1] ** 2)
print(f"E||g||^2: Monte Carlo {sq.mean():.1f} +- {sq.std(ddof=1) / math.sqrt(sq.size):.1f}, "
      f"exact {exact:.1f}")
print(f"sigma_g^2 = {c.sigma_g2:.0f} (ratio {exact / c.sigma_g2:.3f}); with (1-gamma)^-2 "
      f"instead: {c.sigma_g2 * (1 - absorb.gamma):.0f}")
assert exact <= c.sigma_g2 and exact > c.sigma_g2 * (1 - absorb.gamma)

# %% [markdown]
# The bound holds with a ratio near $1/8$, and dropping one power of $1-\gamma$ breaks it: the
# cubic power is real. The smoothness constant $L_g$ and the Hessian-estimator variance
# $\sigma_h^2$ are much looser on every instance we tried (ratios below 0.05; `rlsandbox verify
# harpg.prop.constants`). For comparison with the literature, the sample-complexity table of
# the card (gallery figure `harpg_table1`) and the variance-reduced baselines it lists
# (`rlsandbox.algorithms.harpg.baselines`: STORM-PG, IS-MBPG, PAGE-PG, SRVR-PG with importance
# weights, HAPG with the same Hessian-vector product as HARPG, and HA-MBPG, HARPG's recursion
# with IS-MBPG's schedule) are in the package; the table's measured column fits each one's gap
# slope on the weak-GD-tight instance.
#
# ## How tight is the theorem's bound itself? (card N11(a))
#
# The rates above are slopes. The theorem for N-PG-IGT also gives a *value*: iterate the proof
# engine (the normalised ascent lemma N8 plus the uniform relaxed WGD), with N10's bound on the
# tracking error, every constant computed on the bump instance (A1-A3 hold exactly; $L_h$
# rigorous; the sequence constants $C(p,q)$ certified), and stop before the
# $\sqrt{\varepsilon_{bias}}/(1-\gamma)$ floor. We compare it with the measured global gap
# $J^* - \mathbb{E} J(\theta_T)$ ($J^* = 1$, a deterministic action at the bump's centre).

# %%
from rlsandbox.algorithms.harpg.methods import theory_schedule
from rlsandbox.algorithms.harpg.theory import constants, igt_engine_bound
from rlsandbox.proofs_check.harpg import bump_hessian_lipschitz

cb = constants(bump.r_max, bump.M_g, bump.M_h, 0.0, 1, bump.mu_F)
delta0 = bump.J_star - bump.J(np.zeros(2))
tr = run(bump, "n_pg_igt", theta0=np.zeros(2), T=T, H=1, M=16, replicates=SEEDS,
         schedule=code_schedule("n_pg_igt", alpha0=0.5), rng=np.random.default_rng(7))
gap_T = bump.J_star - np.mean(bump.J(tr.theta_final))
for label, alpha0, M in (("this run's schedule (alpha_0 = 0.5, M = 16)", 0.5, 16),
                         ("the theorem's schedule (6 M_g/(mu_F (t+2)), M = 1)",
                          theory_schedule("n_pg_igt", M_g=bump.M_g, mu_F=bump.mu_F).alpha0, 1)):
    u = igt_engine_bound(cb, alpha0=alpha0, delta0=delta0, L_h=bump_hessian_lipschitz(bump),
                         T_max=2 ** 20, M=M)
    first_below = int(np.argmax(u[1:] < 1.0)) + 1 if (u[1:] < 1.0).any() else None
    print(f"{label}: bound at T = {T}: {u[T]:.1f} (measured gap {gap_T:.3f}, ratio "
          f"{u[T] / gap_T:.0f}); below 1 by T = 2^20: {first_below is not None}")
    assert u[T] > gap_T          # the bound holds ...
    assert u[T] > 1.0            # ... but only because it exceeds r_max: it is vacuous here

# %% [markdown]
# The bound holds, and says nothing: any value above $r_{max} = 1$ bounds $J^* - J$ for every
# policy. With the theorem's own schedule its $T^{-2/5}$ tail reaches 1 only near $T \approx
# 7\cdot 10^8$ iterations (the log-log slope of the bound over $[2^{17}, 2^{20}]$, extrapolated;
# `rlsandbox verify harpg.thm.n_pg_igt_rate_pl` stores these numbers in its report). That is
# why the sandbox checks the theorems through their *exponents* (the rate claims above) and
# checks each step of the proof (N8, N7, N9, N10) separately, rather than the composed bound.
