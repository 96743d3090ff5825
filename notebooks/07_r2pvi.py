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
# # Robust offline RL with f-divergence regularization: R2PVI in the sandbox
#
# This notebook follows the paper card `shared/papers/r2pvi.md` (C. Tang, Z. Liu, P. Xu,
# *Robust Offline Reinforcement Learning with Linearly Structured f-Divergence
# Regularization*, ICML 2025), cited as [r2pvi, §...]:
#
# 1. the setting: a d-rectangular linear MDP and the *regularized* robust objective;
# 2. the inner problem and its closed forms for TV, KL and chi-square, checked against a
#    convex solver;
# 3. exact robust dynamic programming, and what the paper's simulated MDP really rewards;
# 4. the algorithm R2PVI (pessimistic value iteration with robust targets);
# 5. the bound: the core lemma behind the suboptimality theorem, how tight it is, and two
#    negative controls that break it;
# 6. the paper's Figure 1(a), regenerated;
# 7. a lower bound showing the instance-dependent term cannot be avoided;
# 8. what the closed forms save in computation.
#
# Set `RLSANDBOX_QUICK=1` to run on small sizes (the test suite does this).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from rlsandbox.algorithms import r2pvi as R
from rlsandbox.algorithms.r2pvi.primal import inner_primal
from rlsandbox.mdps.r2pvi import (FAIL_STATE, SIM_ACTIONS, X1, simulated_linear_mdp,
                                  uniform_behavior)
from rlsandbox.proofs_check.r2pvi import hidden_state, lucky_data

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
N_SEEDS = 4 if QUICK else 20
KS = (50, 200) if QUICK else (50, 200, 1000, 5000)
EPS64 = np.finfo(np.float64).eps
rng = np.random.default_rng(2025)          # the notebook's only random source
print(f"quick mode: {'on' if QUICK else 'off'} ({N_SEEDS} seeds, K in {KS})")

# %% [markdown]
# ## 1. The setting
#
# A finite-horizon linear MDP with *simplex* features $\phi(s,a) \in \Delta_d$ and *factor
# distributions* $\mu^0_{h,i} \in \Delta(S)$:
# $P^0_h(s' \mid s,a) = \sum_i \phi_i(s,a)\, \mu^0_{h,i}(s')$, $r_h = \phi^\top \theta_h$.
# The adversary may replace every factor $\mu^0_{h,i}$ by any $\mu_{h,i}$ (independently per
# $(h, i)$: *d-rectangular*), but pays $\lambda \sum_i \phi_i(s,a)\, D_f(\mu_{h,i} \| \mu^0_{h,i})$
# at every visited $(s, a)$ [r2pvi, §2.3]. The robust regularized Bellman equation is
#
# $$ Q_h(s,a) = \phi(s,a)^\top (\theta_h + w_h), \qquad
#    w_{h,i} = \inf_{\mu \in \Delta(S)} \; \mathbb{E}_\mu V_{h+1} + \lambda D_f(\mu \| \mu^0_{h,i}), $$
#
# so the robust Q function stays linear in $\phi$ [r2pvi, §2.4]. The paper's simulated MDP
# (card §5.1): five states, x1 the start, x4 a zero-reward trap, x5 a rewarding absorbing
# state, 16 actions $a \in \{-1, 1\}^4$ acting through $t = \langle \xi, a\rangle$.

# %%
lin = simulated_linear_mdp()
t = SIM_ACTIONS @ np.full(4, 0.05)
print(lin, "  <xi, a> ranges over", sorted({float(x) for x in np.round(t, 2)}))
pd.DataFrame(lin.phi[X1, [0, 5, 15]], index=[f"a={tuple(SIM_ACTIONS[k])}" for k in (0, 5, 15)],
             columns=[f"phi_{i + 1}" for i in range(4)]).rename_axis("phi(x1, a)")

# %% [markdown]
# ## 2. The inner problem in closed form
#
# For TV the adversary truncates the value at $\min_S V + \lambda$ (mass may leave the support);
# for KL it tilts exponentially; for chi-square the dual is a one-dimensional maximization
# [r2pvi, §2.5]:
#
# $$ w_{TV} = \mathbb{E}_{\mu^0}[V]_{\min_S V + \lambda}, \quad
#    w_{KL} = -\lambda \log \mathbb{E}_{\mu^0} e^{-V/\lambda}, \quad
#    w_{\chi^2} = \sup_\alpha \mathbb{E}_{\mu^0}[V]_\alpha - \frac{\mathrm{Var}_{\mu^0}([V]_\alpha)}{4\lambda}. $$
#
# We compare each with the primal program solved by cvxpy; the card's tolerance is 1e-6
# (the solver runs at 1e-9 gaps).

# %%
rows = []
for _ in range(6 if QUICK else 30):
    S = int(rng.integers(2, 7))
    V, mu0 = rng.random(S) * 3.0, rng.dirichlet(np.ones(S))
    lam = float(np.exp(rng.uniform(np.log(0.05), np.log(5.0))))
    for div in R.DIVERGENCES:
        closed = R.inner_value(div, V, mu0, lam)
        primal, _ = inner_primal(div, V, mu0, lam)
        rows.append({"divergence": div, "lam": lam, "closed form": closed, "cvxpy": primal,
                     "|diff|": abs(closed - primal)})
inner = pd.DataFrame(rows)
assert inner["|diff|"].max() <= 1e-6
inner.groupby("divergence")["|diff|"].max().rename("largest |closed form - primal|")

# %% [markdown]
# ## 3. Exact robust DP, and a warning about the paper's test
#
# `robust_dp` runs the Bellman recursion with the exact inner values. On the simulated MDP the
# robust optimal policy turns out to be the *nominal* optimal one for every divergence and
# every $\lambda$ (card C11): KL and chi-square cannot move the point-mass factor of x5 to the
# trap at all, and TV caps every factor at $\min V + \lambda = \lambda$, leaving a margin of only
# $10^{-4}\lambda$ per 0.1 of $t$. The values match the card's reference table.

# %%
table = {div: {lam: R.robust_dp(lin, lam=lam, divergence=div) for lam in (0.05, 0.1, 0.3, 1.0)}
         for div in R.DIVERGENCES}
values = pd.DataFrame({div: {lam: sol.value for lam, sol in d.items()} for div, d in table.items()})
for div, d in table.items():
    for sol in d.values():
        assert sol.policy[0, X1] == 15                        # a = (1, 1, 1, 1): nominal optimum
# card §4 C11 reference values (4 decimals)
assert abs(values.loc[0.3, "kl"] - 1.6155) < 5e-5 and abs(values.loc[0.1, "tv"] - 0.0999) < 5e-5
values.rename_axis("lam").round(4)

# %% [markdown]
# So the robustness R2PVI shows on this instance (section 6) is a *finite-sample, pessimism*
# effect, not a property of the exact robust solution; the card warns not to test the latter.
#
# ## 4. The algorithm
#
# R2PVI [r2pvi, §3.1] runs backward over the steps. With $K$ trajectories and
# $\Lambda_h = \sum_\tau \phi^\tau_h \phi^{\tau\top}_h + \gamma I$ it replaces the expectation in
# the inner problem by a ridge regression of transformed targets (TV: $[v]_\alpha$; KL:
# $e^{-v/\lambda}$; chi-square: $[v]_\alpha$ and $[v]^2_\alpha$), subtracts the d-rectangular bonus
# $\beta \sum_i \phi_i \sqrt{(\Lambda_h^{-1})_{ii}}$, clips to $[0, H-h+1]$ and acts greedily.

# %%
data = R.collect(lin, uniform_behavior(lin), K=100, rng=rng)
sol = R.r2pvi(lin, data, divergence="tv", lam=0.3, beta=0.3, ridge=1.0,
              fail_states=[FAIL_STATE])
print(sol, "\nTV thresholds alpha_h:", sol.alpha[:-1], "(min_S V_hat = V_hat(x4) = 0, so = lam)")
pd.DataFrame({"w_hat": sol.w[0], "exact w[V_hat]": R.exact_inner(lin, sol.V, lam=0.3,
                                                                  divergence="tv")[0],
              "sqrt(Lambda^-1_ii)": np.sqrt(np.diag(sol.Lambda_inv[0]))},
             index=[f"factor {i + 1}" for i in range(4)]).rename_axis("step 1")

# %% [markdown]
# ## 5. The bound, its tightness, and how it breaks
#
# The core lemma [r2pvi, §4 C5, derived on the card]: let $E$ be the event that every one-step
# error $|\phi^\top(\theta_h + \hat w_h) - (\mathbb{B}_h \hat V_{h+1})|$ is below the bonus
# $\beta b_h$. On $E$,
#
# $$ \hat V_h \le V^{\hat\pi,\lambda}_h \quad\text{and}\quad
#    \mathrm{SubOpt}(\hat\pi) \le V^{*,\lambda}_1 - \hat V_1 \le
#    2\beta \sup_{P \in \mathcal{U}^\lambda} \sum_h \mathbb{E}^{\pi^*, P}[b_h] = 2 \beta\, \Phi_{inst}, $$
#
# with $\mathcal U^\lambda$ the product of divergence balls of radius $(H-h)/\lambda$. We check
# both on fresh data sets, over a grid of $\beta$, wherever $E$ holds. Tolerance: the two sides
# are exact float64 computations, compared with 64 eps times the value scale.

# %%
lam, div = 0.3, "kl"
star = R.robust_dp(lin, lam=lam, divergence=div)
records = []
for K in KS:
    for seed_rng in rng.spawn(N_SEEDS):
        d = R.collect(lin, uniform_behavior(lin), K=K, rng=seed_rng)
        for beta in (0.1, 0.3, 1.0, 3.0):
            s = R.r2pvi(lin, d, divergence=div, lam=lam, beta=beta, fail_states=[FAIL_STATE])
            ev = R.robust_evaluate(lin, s.policy, lam=lam, divergence=div)
            holds, _ = R.event_holds(lin, s)
            phi_inst = R.instance_dependent_term(lin, s, policy=star.policy)
            records.append({"K": K, "beta": beta, "E": holds,
                            "pessimism gap": float((s.V[:-1] - ev.V[:-1]).max()),
                            "V* - V_hat": star.value - s.V[0, X1],
                            "SubOpt": star.value - ev.value, "2 beta Phi": 2 * beta * phi_inst})
bound = pd.DataFrame(records)
on_E = bound[bound["E"]]
tol = 64 * EPS64 * 4
assert len(on_E) > 0
assert (on_E["pessimism gap"] <= tol).all()
assert (on_E["SubOpt"] <= on_E["V* - V_hat"] + tol).all()
assert (on_E["V* - V_hat"] <= on_E["2 beta Phi"] + tol).all()
on_E = on_E.assign(tightness=on_E["V* - V_hat"] / on_E["2 beta Phi"])
on_E.groupby(["K", "beta"])[["SubOpt", "V* - V_hat", "2 beta Phi", "tightness"]].median()

# %% [markdown]
# On $E$ the lemma never fails. The bound is loose by a factor that grows with $\beta$: the
# algorithm's $V^* - \hat V$ is driven by the *actual* estimation error, the bound by the
# worst case. (With the paper's theoretical $\beta$ -- hundreds here, card §3.7 -- the bound is
# valid but vacuous; `rlsandbox verify r2pvi.c6` checks it.)
#
# **Negative control 1: no bonus on a lucky data set.** The lemma holds for *any* data set,
# so take one where every risky transition happened to succeed (`lucky_data`). Without the
# bonus, $E$ fails and pessimism breaks: the algorithm believes the risky action is worth 0.99,
# its true robust value is 0.5.

# %%
p = lucky_data(divergence="tv", lam=1.0)
s0 = p.run(p.data, 0.0)
ev0 = R.robust_evaluate(p.lin, s0.policy, lam=1.0, divergence="tv")
print(f"beta = 0: V_hat_1(s0) = {s0.V[0, 0]:.3f} > V^pi_hat(s0) = {ev0.V[0, 0]:.3f};",
      "E holds:", R.event_holds(p.lin, s0)[0])
assert s0.V[0, 0] > ev0.V[0, 0] + 0.4

# %% [markdown]
# **Negative control 2: the sup over the wrong set.** The bound's sup ranges over all robustly
# admissible kernels (card P13). Under TV the adversary can send mass to states the data never
# show, where the bonus is large; compute $\Phi_{inst}$ with the nominal kernel only and a
# correct implementation appears to violate the bound (`hidden_state`).

# %%
p = hidden_state()
s1 = p.run(p.data, 1.0)
star_h = R.robust_dp(p.lin, lam=p.lam, divergence="tv")
gap = star_h.value - s1.V[0, 0]
phi_ball = R.instance_dependent_term(p.lin, s1)
phi_nominal = R.instance_dependent_term(p.lin, s1, radii=np.zeros(p.lin.H))
print(f"V* - V_hat = {gap:.3f};  2 beta Phi (TV balls) = {2 * phi_ball:.3f};"
      f"  2 beta Phi (nominal only) = {2 * phi_nominal:.3f}")
assert R.event_holds(p.lin, s1)[0] and gap <= 2 * phi_ball and gap > 2 * phi_nominal

# %% [markdown]
# **More data, less regret -- if coverage grows with it** [r2pvi, §4 C7 (b)]. With a fixed
# $\beta$, the mean SubOpt over data sets falls as $K$ grows (and often hits 0: with finitely
# many actions, once the bonus is below the action gap nothing more is lost, so do not fit a
# rate to it). The registered claim `r2pvi.c7.subopt_nonincreasing` measures it on nested data
# sets; its negative control keeps the data on $\pi^*$'s first action fixed at 10
# trajectories while the rest of the data grows ($c^\dagger \to 0$): pessimism then prefers
# the well-estimated alternatives and SubOpt *rises* with $K$.

# %%
from rlsandbox.proofs_check import run_claim

c7b = run_claim("r2pvi.c7.subopt_nonincreasing", quick=True, seed=0)
cell = c7b.cells[0]
print("K:", cell.measure.extra["K"])
print("mean SubOpt, uniform behavior:   ", np.round(cell.measure.measured, 3))
print("mean SubOpt, coverage held fixed:", np.round(cell.control.measured, 3))
assert c7b.holds and c7b.caught

# %% [markdown]
# **How large must $\beta$ be, and two ways to get $E$ wrong** [r2pvi, §4 C5]. The smallest
# $\beta$ for which the per-coordinate form of $E$ holds is
# $\beta_{emp} = \max_{h, i} |\hat w_{h,i} - w_{h,i}[\hat V_{h+1}]| / \sqrt{(\Lambda_h^{-1})_{ii}}$,
# over the coordinates active at the states that *matter* at step $h$ (reachable under the
# nominal or the worst-case kernels; `states="reachable"`). For TV it shrinks like
# $K^{-1/2}$; for KL it does not: the log amplifies the regression noise on
# $\mathbb E \exp(-V/\lambda) \approx 10^{-3}$ by $\lambda / z \approx 240$ -- the mechanism
# behind the $\lambda e^{H/\lambda}$ of the theory's $\beta_{KL}$.
#
# Then two broken versions of the check (the card's controls 2 and 3, registered as the
# controls of `r2pvi.c5.pessimism_tv_threshold` and `r2pvi.c5.event_at_beta_emp`): the
# official code's TV threshold (minimum over the *observed* next states; the fail state is
# rarely observed) is biased upward and breaks pessimism (19 of 20 of our K = 100 data sets
# at $\beta = 0.3$), and the PEVI bonus
# $\beta_{emp}\|\phi\|_{\Lambda^{-1}}$ is smaller than the d-rectangular one, so $E$ fails.

# %%
rows = []
for K in KS:
    for seed_rng in rng.spawn(N_SEEDS):
        d = R.collect(lin, uniform_behavior(lin), K=K, rng=seed_rng)
        for dv_name in ("tv", "kl"):
            s = R.r2pvi(lin, d, divergence=dv_name, lam=0.3, beta=0.0,
                        fail_states=[FAIL_STATE])
            rows.append({"K": K, "divergence": dv_name,
                         "beta_emp": R.beta_empirical(lin, s, states="reachable")})
print(pd.DataFrame(rows).groupby(["divergence", "K"])["beta_emp"].median().unstack())

d = R.collect(lin, uniform_behavior(lin), K=100, rng=rng)
for mode in ("paper", "reference_code"):
    s = R.r2pvi(lin, d, divergence="tv", lam=0.3, beta=0.3, mode=mode, bonus="d_rect",
                fail_states=[FAIL_STATE])
    ev = R.robust_evaluate(lin, s.policy, lam=0.3, divergence="tv")
    print(f"{mode:>14} threshold: alpha = {np.round(s.alpha[:2], 3)}, E holds:",
          R.event_holds(lin, s, slack=1e-12)[0],
          f", max V_hat - V^pi_hat = {(s.V[:-1] - ev.V[:-1]).max():+.3f}")
ctl = run_claim("r2pvi.c5.event_at_beta_emp", quick=True, seed=0)
print("E at beta_emp with the d-rectangular bonus holds:", ctl.holds,
      "| with the PEVI bonus caught as a failure:", ctl.caught)
assert ctl.holds and ctl.caught

# %% [markdown]
# ## 6. The paper's Figure 1(a)
#
# PEVI versus R2PVI on the simulated MDP, scored in test models where a fraction $q$ of the
# x5-bound mass goes to the trap. The full figure (`rlsandbox figures r2pvi_perturbation`)
# replays the official code's data streams and reproduces its numbers; here we draw our own
# data sets and evaluate exactly.

# %%
from rlsandbox.experiments import r2pvi_perturbation as fig1a
from rlsandbox.experiments.r2pvi_common import summary

cfg = fig1a.Config(data="generator", mc_episodes=0, replications=N_SEEDS if QUICK else 20)
curves = summary(fig1a.run(cfg, rng=rng))
fig, ax = plt.subplots(figsize=(6, 4))
for label, row in curves.iterrows():
    ax.plot(row.index, row.values, marker="o", markersize=3, label=label)
ax.set_xlabel("perturbation q")
ax.set_ylabel("expected return in the test model")
ax.legend(fontsize=8)
ax.grid(alpha=0.3)
# the published trend: PEVI best without perturbation, R2PVI-TV best under the full one
assert curves.loc["PEVI", 0.0] > curves.loc["R2PVI-TV", 0.0]
assert curves.loc["R2PVI-TV", 1.0] > curves.loc["PEVI", 1.0]
curves.round(3)

# %% [markdown]
# R2PVI trades nominal return for robustness: with TV every next-state value is compressed to
# at most $\lambda$ above the minimum, so the larger bonus of the less-covered factor 4 decides
# the action at x1 -- exactly the mechanism section 3 predicted.
#
# ## 7. Can the instance-dependent term be avoided? A two-point lower bound
#
# The paper pairs its upper bound with a lower bound of the same form (card C8; its
# construction is not on the card). The sandbox builds its own: two KL instances
# (`le_cam_pair`) whose risky action is worth slightly more or slightly less than the safe one,
# $p = p_{mid} \pm \varepsilon$ with $\varepsilon = 1/(4\sqrt K)$. Their data sets are hard to tell
# apart (total variation $T$, computed exactly), so *every* algorithm has
# $\max_j \mathbb E_j\,\mathrm{SubOpt} \ge \min_j \Delta_j (1 - T)/2$ (Le Cam). Divided by
# $\Phi_{inst}$ (population Gram), the ratio stays above a constant as $K$ grows: the
# $K^{-1/2}$ of the upper bound cannot be improved here. Holding $\varepsilon$ fixed instead
# (the negative control) lets the data separate the instances, and the bound collapses.

# %%
from rlsandbox.proofs_check import r2pvi as claims_r2pvi

lower = claims_r2pvi.le_cam_lower_bound(claims_r2pvi.C8_K)
control = claims_r2pvi.le_cam_lower_bound(claims_r2pvi.C8_K, fixed_eps=True)
assert lower.measured >= claims_r2pvi.C8_CONSTANT and control.measured < claims_r2pvi.C8_CONSTANT
pd.DataFrame({"K": lower.extra["K"], "Le Cam bound": lower.extra["le_cam_lb"],
              "Phi_inst": lower.extra["phi_inst"], "ratio": lower.extra["ratio"],
              "ratio, eps fixed (control)": control.extra["ratio"]}).set_index("K")

# %% [markdown]
# ## 8. What the closed forms buy: no dual searches (C9)
#
# DRPVI and DRVI-L solve one scalar dual problem per feature and step (the official code:
# Nelder-Mead), R2PVI-TV and -KL have closed forms. Wall-clock ratios depend on the machine
# (`rlsandbox figures r2pvi_timing` measures them); the number of dual-objective evaluations
# does not. The control solves TV numerically, as if it had no closed form.

# %%
from rlsandbox.algorithms.r2pvi.option import price_paths, train_option

paths = price_paths(K=200, H=20, p0=0.5, rng=rng)
counts = {label: train_option(paths, method=m, beta=0.1, d=10, **kw).n_evals
          for label, m, kw in (("PEVI", "pevi", {}), ("R2PVI-TV", "tv", {"lam": 1.0}),
                               ("R2PVI-KL", "kl", {"lam": 1.0}), ("DRPVI", "drpvi", {"rho": 0.1}),
                               ("DRVI-L", "drvi_l", {"rho": 0.1}),
                               ("R2PVI-TV, numeric (control)", "tv",
                                {"lam": 1.0, "oracle": "numeric"}))}
assert counts["R2PVI-TV"] == counts["R2PVI-KL"] == 0 < counts["DRPVI"]
pd.Series(counts, name="dual-objective evaluations (d = 10, H = 20)")

# %% [markdown]
# `rlsandbox verify r2pvi` checks all of the card's claims C1-C12, each with its negative
# control.
