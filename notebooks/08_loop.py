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
# # LOOP: optimism with a lazy switching rule for average-reward RL
#
# This notebook follows the LOOP algorithm of He, Zhong and Yang (ICLR 2024, *Sample-efficient
# learning of infinite-horizon average-reward MDPs with general function approximation*) on
# small MDPs where every quantity is computed exactly with `rlsandbox`:
#
# 1. the setting: gain $J^*$, bias $V^*$, span, diameter, and the optimal gaps $\Delta^*$;
# 2. regret, measured exactly: gap-regret versus realised regret;
# 3. LOOP itself: hypotheses $(Q, J)$, the excess loss, the confidence set, exact optimistic
#    planning by enumerating greedy policies, and the lazy (low-switching) test;
# 4. LOOP against UCRL2 and against the same algorithm without optimism;
# 5. the regret decomposition behind the theorem, checked path-wise;
# 6. the optimism lemma with a derived radius, and the negative control that breaks it;
# 7. linear classes: planner (c) in closed form on the hard linear mixture against UCRL2-VTR and
#    a greedy control, and the empirical AGEC ratios;
# 8. the linear-AMDP baselines FOPO and OLSVI.FH against their bonus-free ablations;
# 9. UCRL2's regret bound: vacuous on RiverSwim, checked (with its control) on a diameter-1 MDP.
#
# The paper has no experiments and no code, and its body could not be re-read for the paper
# card (`shared/papers/loop.md`): its LOOP-specific formulas are *reconstructed* there, and the
# constants the paper leaves open ($c_\beta$, $c_{sw}$) are parameters here. Numbers from the
# card are cited as "card §...".
#
# Set `RLSANDBOX_QUICK=1` to run on tiny sizes (the test suite does).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import rlsandbox as rls
from rlsandbox.algorithms import loop as L
from rlsandbox.dp.average import diameter, relative_value_iteration
from rlsandbox.mdps.loop import periodic_two_cycle
from rlsandbox.proofs_check.loop import coin_flip

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
N_RIVER = 4 if QUICK else 6            # RiverSwim size for the learning runs
T = 2 ** 12 if QUICK else 2 ** 15      # horizon
SEEDS = 3 if QUICK else 10
EPS64 = np.finfo(np.float64).eps
rng = np.random.default_rng(2024)      # the notebook's only random source
print(f"quick mode: {'on' if QUICK else 'off'} (RiverSwim-{N_RIVER}, T={T}, {SEEDS} seeds)")

# %% [markdown]
# ## 1. The setting
#
# An average-reward MDP with mean rewards $r(s,a) \in [0, 1]$ satisfies the Bellman optimality
# equation (BOE) when there are a constant $J^*$ and a bias $V^*$ with
#
# $$J^* + Q^*(s,a) = r(s,a) + \sum_{s'} P(s'|s,a) V^*(s'), \qquad V^*(s) = \max_a Q^*(s,a).$$
#
# $J^*$ is the best long-run reward per step; $V^*$ is defined up to a constant (we use
# $\min V^* = 0$) and its span $\mathrm{sp}(V^*) = \max V^* - \min V^*$ is the scale of the
# paper's bound. RiverSwim (the Osband et al. variant) is the running example: swimming right
# pays 1 at the far bank but usually fails, swimming left pays 0.005 at the near bank.

# %%
mdp6 = rls.mdps.riverswim(6, gamma=1.0)       # average reward: gamma is ignored
f_star = L.true_hypothesis(mdp6)
sp = f_star.V.max() - f_star.V.min()
print("J* =", round(f_star.J, 10), " V* =", f_star.V.round(6), " sp(V*) =", round(sp, 6),
      " D =", round(diameter(mdp6), 4))
# card §4 C0 reference values (printed to 10 and 6 digits: tolerances are half a last digit)
assert abs(f_star.J - 0.4286224338) <= 5e-11
assert np.allclose(f_star.V, [0, 0.714371, 2.041059, 3.455222, 4.881880, 6.310324], atol=5e-7)

# %% [markdown]
# The **optimal gap** $\Delta^*(s,a) = J^* + V^*(s) - r(s,a) - (PV^*)(s,a) \ge 0$ is zero on
# optimal actions. Every step spent on a suboptimal action costs its gap:

# %%
gaps = L.optimal_gaps(mdp6)
print("gap of 'left' in each state:", gaps[:, 0].round(6))
print("gap of 'right':              ", gaps[:, 1].round(12))
assert np.allclose(gaps[:, 1], 0.0, atol=1e-12) and (gaps[:, 0] > 0.4).all()

# %% [markdown]
# Relative value iteration (RVI) computes $(J^*, V^*)$, but on a periodic chain plain RVI
# oscillates; the aperiodicity transform $P_\tau = \tau P + (1-\tau) I$ fixes it without
# changing the gain (card §6, pitfall 5):

# %%
cycle = periodic_two_cycle()
plain = relative_value_iteration(cycle, tau=1.0, max_iter=500)
damped = relative_value_iteration(cycle, tau=0.5)
print("plain RVI converged:", plain.converged, "| tau = 1/2:", damped.converged,
      "J* =", damped.gain, "V* =", damped.bias)
assert not plain.converged and damped.converged and damped.gain == 0.5

# %% [markdown]
# ## 2. Regret, measured exactly
#
# The regret $\mathrm{Reg}(T) = \sum_t (J^* - r(s_t, a_t))$ decomposes path-wise (card §2.2) as
#
# $$\mathrm{Reg}(T) = \underbrace{\textstyle\sum_t \Delta^*(s_t,a_t)}_{G(T)}
#   + V^*(s_{T+1}) - V^*(s_1) + \textstyle\sum_t \xi_t, \qquad
#   \xi_t = (PV^*)(s_t,a_t) - V^*(s_{t+1}),$$
#
# a monotone *gap-regret* $G(T)$ plus a martingale whose standard deviation grows like
# $\mathrm{sp}(V^*)\sqrt{T}$. $G(T)$ is what we fit rates on. A policy that always swims left
# has $G(T) = 0.4236\,T$ exactly:

# %%
mdp = rls.mdps.riverswim(N_RIVER, gamma=1.0)
always_left = L.expected_regret_fixed_policy(mdp, np.zeros(N_RIVER, dtype=int), 5)
print("E[Reg(t)] of 'always left', t = 1..5:", always_left.round(6))
J_n = L.true_hypothesis(mdp).J
assert np.allclose(always_left, (J_n - 0.005) * np.arange(1, 6), rtol=1e-14)

# %% [markdown]
# ## 3. LOOP
#
# A **hypothesis** is a pair $f = (Q_f, J_f)$, with bias $V_f = \max_a Q_f$ and greedy policy
# $\pi_f$. Its **Bellman error** is $\mathcal{E}(f)(s,a) = Q_f + J_f - r - PV_f$; for the truth
# $\mathcal{E}(f^*) = 0$. From data, LOOP measures how well $f$ explains its own regression
# targets $r_i + V_f(s_{i+1}) - J_f$ by the **excess loss** (card §3.9 (a)); in the tabular
# class it has the closed form
#
# $$\mathrm{Exc}_t(f) = \sum_{s,a} N_t(s,a)\,\big(Q_f(s,a) + J_f - \hat r(s,a) - \hat p(\cdot|s,a)^\top V_f\big)^2.$$
#
# LOOP keeps $f^k$ while $\mathrm{Exc}_t(f^k) \le c_{sw}\beta$ (the lazy test, checked every
# step), and otherwise re-plans optimistically:
# $f^{k+1} = \arg\max\{J_f : \mathrm{Exc}_t(f) \le \beta\}$. The maximisation is non-convex
# only through $V_f = \max_a Q_f$: for each of the $A^S$ greedy policies it is a second-order
# cone program, and the best of them is the exact optimum.
#
# One planning step by hand: one state, one action, reward 0.3 observed 9 times. Then
# $\mathrm{Exc} = 9 (J - 0.3)^2$, so the optimistic gain is $0.3 + \sqrt{\beta/9}$:

# %%
stats = L.TabularStats.from_data(1, 1, s=[0] * 9, a=[0] * 9, r=[0.3] * 9, s_next=[0] * 9)
f, info = L.plan_value_tabular(stats, B=1.0, beta=0.36)
print("optimistic J =", round(f.J, 8), " (closed form 0.3 + sqrt(0.36/9) = 0.5);", info)
assert abs(f.J - 0.5) <= 1e-6          # solver accuracy ~1e-8, card's optimism tolerance 1e-6

# %% [markdown]
# ## 4. LOOP, UCRL2, and LOOP without optimism
#
# We run value-based LOOP ($\beta = 0.02 (B+1)^2 \log T$ with $B = \mathrm{sp}(V^*)$,
# $c_{sw} = 4$), UCRL2 (Jaksch et al. 2010) and the *no-optimism* ablation, which plans in the
# empirical model (unvisited pairs: zero-reward self-loops) inside LOOP's skeleton.

# %%
runs = {"LOOP": [], "UCRL2": [], "no optimism": []}
for child in rng.spawn(SEEDS):
    g_loop, g_ucrl, g_ce = child.spawn(3)
    runs["LOOP"].append(L.loop_value(mdp, T, rng=g_loop))
    runs["UCRL2"].append(L.ucrl2(mdp, T, rng=g_ucrl))
    runs["no optimism"].append(L.loop_value(mdp, T, rng=g_ce, planner="certainty_equivalent"))

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
t = np.arange(1, T + 1)
for name, trs in runs.items():
    G = np.mean([L.gap_regret(tr, mdp) for tr in trs], axis=0)
    ax1.loglog(t, G, label=f"{name} (mean of {SEEDS})")
    N = np.mean([tr.plans_by(t) for tr in trs], axis=0)
    ax2.semilogx(t, N, label=name)
ax1.loglog(t, 0.5 * np.sqrt(t), "k:", label="slope 1/2")
ax1.set_xlabel("T"); ax1.set_ylabel("gap-regret G(T)"); ax1.legend(fontsize=8)
ax2.set_xlabel("T"); ax2.set_ylabel("re-plans / episodes N(T)"); ax2.legend(fontsize=8)
fig.tight_layout()

G_end = {k: np.array([L.gap_regret(tr, mdp)[-1] for tr in v]) for k, v in runs.items()}
plans = {k: [tr.n_plans for tr in v] for k, v in runs.items()}
print("G(T) per seed:", {k: v.round(1).tolist() for k, v in G_end.items()})
print("re-plans per seed:", plans)
# no optimism locks onto 'left' from state 0: exactly (J* - 0.005) per step (card §4 C1)
assert np.allclose(G_end["no optimism"], (J_n - 0.005) * T, rtol=T * EPS64)
# LOOP explores and then plays the optimal policy: far less gap-regret than the linear control
assert G_end["LOOP"].max() < 0.1 * G_end["no optimism"].min()
# and far fewer re-plans than UCRL2 has episodes (card §3.9 prototype: 13-15 vs ~71)
assert max(plans["LOOP"]) < min(plans["UCRL2"])

# %% [markdown]
# **How tight is the bound?** The theorem's shape is $\mathrm{sp}(V^*)\, d \sqrt{T\beta}$ with
# $d = SA$ for a tabular class (constants unknown, card §3.4). On a fixed instance with a gap the
# measured gap-regret is a tiny fraction of it:

# %%
tr0 = runs["LOOP"][0]
sp_n = L.true_hypothesis(mdp).V.max()
shape = sp_n * mdp.S * mdp.A * np.sqrt(T * tr0.beta)
print(f"G(T) / (sp d sqrt(T beta)) = {G_end['LOOP'].mean() / shape:.2e}")

# %% [markdown]
# ## 5. The regret decomposition behind the theorem
#
# With $f_t$ the hypothesis in force at $t$ (card §3.4, exact and path-wise):
#
# $$\mathrm{Reg}(T) = \underbrace{\textstyle\sum_t (J^* - J_{f_t})}_{\text{optimism} \le 0}
#  + \underbrace{\textstyle\sum_t \mathcal{E}(f_t)(s_t,a_t)}_{\text{Bellman error}}
#  + \underbrace{\textstyle\sum_t [(PV_{f_t})(s_t,a_t) - V_{f_t}(s_{t+1})]}_{\text{martingale}}
#  + \underbrace{\textstyle\sum_t [V_{f_t} - V_{f_{t+1}}](s_{t+1})}_{\text{switching}}
#  + \text{boundary}.$$
#
# Optimism makes the first sum non-positive; the confidence set keeps the Bellman errors small;
# the lazy rule keeps the number of non-zero switching terms at $O(\log T)$ — that is why LOOP
# switches lazily.

# %%
dec = L.decompose(tr0, mdp)
for name in ("optimism", "bellman_error", "martingale", "switching", "boundary"):
    print(f"{name:>14s}: {getattr(dec, name):12.4f}")
print(f"{'sum':>14s}: {dec.loop_rhs:12.4f}   Reg(T) = {dec.regret:.4f}   "
      f"(round-off allowance {dec.tol_loop:.1e})")
assert abs(dec.regret - dec.loop_rhs) <= dec.tol_loop
assert dec.n_switch_terms <= tr0.n_plans - 1      # only at switches

# %% [markdown]
# ## 6. Optimism, with a radius we can prove — and the control that breaks it
#
# LOOP's analysis needs $f^*$ to stay in every confidence set. For the tabular class a radius
# with that guarantee can be derived (self-normalised martingale bound per pair and a union
# bound, see `value_beta_theory`): with probability $\ge 1-\delta$,
# $\mathrm{Exc}_t(f^*) \le \beta = SA(B+1)^2\log(SA\sqrt{T+1}/\delta)$ for all $t \le T$.
# We check it on a deliberately noisy instance (uniform transitions, Bernoulli rewards near
# 1/2), and show that $\beta/100$ — the card's negative control — is crossed.

# %%
coin = coin_flip()
f_coin = L.true_hypothesis(coin)
T_cov = 2 ** 10 if QUICK else 2 ** 12
beta = L.value_beta_theory(coin.S, coin.A, f_coin.V.max(), T_cov, 0.05)
max_exc = []
for child in rng.spawn(4 if QUICK else 20):
    tr = L.loop_value(coin, T_cov, rng=child, beta=beta, noisy=True)
    max_exc.append(L.excess_path(tr, f_coin).max())
max_exc = np.array(max_exc)
print(f"beta = {beta:.1f}; max_t Exc_t(f*) per run: {max_exc.round(2)}")
print(f"runs covered with beta: {(max_exc <= beta).mean():.0%}; "
      f"with beta/100: {(max_exc <= beta / 100).mean():.0%}")
assert (max_exc <= beta).all()

# %% [markdown]
# The derived radius is very conservative (the worst excess loss is about 1% of it): the
# variance proxy $(B+1)^2/4$ is the worst case for targets in an interval of length $B+1$. With
# such a radius LOOP explores for a long time — the card's remark that the theoretical constant
# is far too large for practical horizons, which is why figures label the $c_\beta$ they use.
#
# The same checks run as registered claims (`rlsandbox verify loop`): here the optimism lemma
# and the regret decomposition, each with its negative control.

# %%
from rlsandbox.proofs_check import run_claim

for cid in ("loop.he2024.decomp", "loop.jaksch2010.evi"):
    r = run_claim(cid, quick=True, instances=0)
    print(f"{cid}: holds={r.holds}, control caught={r.caught}")
    assert r.holds and r.caught

# %% [markdown]
# ## 7. Linear classes: one hypothesis class, several incarnations
#
# LOOP is stated for general classes; the sandbox also runs it on linear ones (card §3.9).
# On the **hard linear-mixture instance** (two states, actions $a \in \{\pm1\}^{d-1}$, card §5.2)
# the model-based confidence set is an ellipsoid $\|\vartheta - \hat\vartheta\|_\Lambda \le
# \sqrt\beta$ over the unknown direction $\vartheta$, and the optimistic plan has a closed form
# (planner (c)): $p^+ = \delta + \max_a [\alpha\langle a, \hat\vartheta\rangle +
# \sqrt\beta\,\alpha\|a\|_{\Lambda^{-1}}]$, $J = p^+/(p^+ + \delta)$. UCRL2-VTR uses the same
# regression but plans with a per-pair optimistic $\theta$ (a relaxation) and a diameter-sized
# radius. Removing the ellipsoid bonus (greedy in $\hat\vartheta$) is the negative control: on a
# sign pattern where the first action ties with the others at the first estimate, the greedy
# learner keeps it forever.

# %%
from rlsandbox.mdps.loop import hard_linear_mixture

T_HARD = 2 ** 12 if QUICK else 2 ** 15
signs = np.array([-1.0, 1.0])
mix = hard_linear_mixture(3, 0.1, 0.05, signs)
hard = mix.to_tabular(gamma=1.0)
G_hard = {"LOOP-model (c)": [], "UCRL2-VTR": [], "greedy (no bonus)": []}
for child in rng.spawn(SEEDS):
    g1, g2, g3 = child.spawn(3)
    G_hard["LOOP-model (c)"].append(L.gap_regret(
        L.loop_model_hard(3, 0.1, 0.05, T_HARD, rng=g1, signs=signs), hard)[-1])
    G_hard["UCRL2-VTR"].append(L.gap_regret(L.ucrl2_vtr(mix, T_HARD, rng=g2), hard)[-1])
    G_hard["greedy (no bonus)"].append(L.gap_regret(
        L.loop_model_hard(3, 0.1, 0.05, T_HARD, rng=g3, signs=signs, optimistic=False),
        hard)[-1])
gap_per_step = L.optimal_gaps(hard)[0].max()
for k, v in G_hard.items():
    print(f"{k:>18}: mean G(T) = {np.mean(v):8.1f}  (T * largest gap = {T_HARD * gap_per_step:.0f})")
# the greedy control plays the tied first action at every visit of x0: linear regret
assert min(G_hard["greedy (no bonus)"]) > max(G_hard["LOOP-model (c)"])

# %% [markdown]
# Finally the **AGEC** (card §2.4): along one run the dominance and transferability ratios are
# lower estimates of the class's $d_G, \kappa_G$, which the paper bounds by $\tilde O(d)$
# ($d = SA$ for a tabular class). The transferability ratio divides by the radius $\beta$, so
# the radius decides how much of $d_G$ one run exhibits: at the practical $c_\beta = 0.02$ the
# ratios stay below $\log T$ (they cannot tell $d$ from 1); at $c_\beta = 0.002$ they exceed
# $\log T$ yet stay below $d\log T$ — which is how claim `loop.he2024.agec.linear` catches the
# card's control (the bound with $d' = 1$).

# %%
mdp3 = rls.mdps.riverswim(3, gamma=1.0)
for c_beta in (0.02, 0.002):
    ratios = L.agec_ratios(L.loop_value(mdp3, 2 ** 11, rng=rng, c_beta=c_beta), mdp3)
    rmax = max(ratios["dominance"], ratios["transferability"])
    print(f"c_beta = {c_beta}: max ratio = {rmax:.2f}, log T = {ratios['log_T']:.2f}, "
          f"d log T = {ratios['d'] * ratios['log_T']:.1f}")
    assert rmax <= ratios["d"] * ratios["log_T"]

# %% [markdown]
# **Model-based tabular LOOP, rectangular relaxation** (card §3.9 (d)(ii)). Each pair's block
# $x = (P(\cdot|s,a), r(s,a))$ keeps its own ellipsoid; extended value iteration's inner step is
# then a small QCQP per pair — maximise $\langle x, (u, 1)\rangle$ over the ellipsoid *and* the
# valid models ($P$ in the simplex, $r \in [0,1]$). Dropping the validity constraints gives a
# closed form (a further relaxation): never smaller, equal when its maximiser happens to be
# valid.

# %%
step_exact = L.RectangularInnerStep(2, 1)
step_closed = L.RectangularInnerStep(2, 1, exact=False)
x_hat = np.full((2, 1, 3), 0.5)
Lam_blocks = np.broadcast_to(100.0 * np.eye(3), (2, 1, 3, 3))
for step in (step_exact, step_closed):
    step.set(x_hat, Lam_blocks, beta=1.0)
u = np.array([0.0, 1.0])
v_exact, v_closed = step_exact(u)[0][0, 0], step_closed(u)[0][0, 0]
print(f"QCQP: {v_exact:.6f}  closed form: {v_closed:.6f}")
# hand computation: max dp + dr s.t. 2 dp^2 + dr^2 <= 0.01 is 0.1 sqrt(3/2); the closed form
# ignores sum p = 1 and reaches 0.1 sqrt(2). CLARABEL accuracy ~1e-8, allowance 1e-6
assert abs(v_exact - (1 + 0.1 * np.sqrt(1.5))) < 1e-6 and v_exact < v_closed

# %% [markdown]
# With the same radius, LOOP's rectangular planner is **optimistic at every plan** — the
# per-pair sets contain LOOP's coupled set, so while $f^*$ is covered the planned gain is at
# least $J^*$ (up to EVI's stopping error $\varepsilon_k/2$). Shrinking the radius tenfold
# pushes $f^*$ out of the sets and the planned gain falls below $J^*$: claim
# `loop.he2024.lem.optimism.rectangular` and its control.

# %%
J3 = L.true_hypothesis(mdp3).J
B3 = float(np.ptp(L.true_hypothesis(mdp3).V))
for shrink in (1.0, 0.1):
    beta_r = shrink * L.value_beta(150, B3, 0.02)         # c_beta (B + 1)^2 log T, scaled
    tr_r = L.loop_model_rectangular(mdp3, 150, rng=rng, beta=beta_r)
    worst = float((J3 - tr_r.J - 0.5 / np.sqrt(tr_r.starts + 1.0)).max())
    print(f"radius x {shrink:g}: {tr_r.n_plans} plans, max_k J* - J_k - eps_k/2 = {worst:+.3f}")
    if shrink == 1.0:
        assert worst <= 1e-6          # optimistic at every plan (QCQP accuracy 1e-6)

# %% [markdown]
# ## 8. Linear-AMDP baselines: FOPO and OLSVI.FH, and what removing their bonus does
#
# FOPO (Wei et al. 2021, card §3.7) uses the same confidence set as value-based linear LOOP but
# re-plans when $\det\Lambda_t$ doubles; OLSVI.FH runs LSVI-UCB on blocks of $H \approx T^{1/4}$
# steps (recalled rate $\tilde O((dT)^{3/4})$). On the card's random linear AMDPs nothing needs
# exploring, so even the greedy versions have flat regret; RiverSwim written as a linear AMDP
# with one-hot features ($d = SA$) keeps the exploration problem, and there both bonuses matter.

# %%
from rlsandbox.proofs_check.loop import riverswim_onehot

lin3 = riverswim_onehot(3)
T_LIN = 2 ** 12 if QUICK else 2 ** 14
G_lin = {"FOPO": L.fopo(lin3, T_LIN, rng=rng),
         "FOPO, beta = 0 (greedy)": L.fopo(lin3, T_LIN, rng=rng, beta=0.0),
         "OLSVI.FH": L.olsvi_fh(lin3, T_LIN, rng=rng),
         "OLSVI.FH, bonus 0": L.olsvi_fh(lin3, T_LIN, rng=rng, bonus=0.0)}
G_lin = {k: L.gap_regret(tr, lin3.to_tabular(gamma=1.0))[-1] for k, tr in G_lin.items()}
for k, v in G_lin.items():
    print(f"{k:>24}: G(T) = {v:8.1f}   ((J* - 0.005) T = {(J3 - 0.005) * T_LIN:.0f})")
assert G_lin["FOPO"] < G_lin["FOPO, beta = 0 (greedy)"]
assert G_lin["OLSVI.FH"] < G_lin["OLSVI.FH, bonus 0"]

# %% [markdown]
# ## 9. UCRL2's regret bound: vacuous on RiverSwim, informative on a diameter-1 MDP
#
# Jaksch et al. (2010, Thm 2; card §3.6) prove $\Delta(T) \le 34\, D S \sqrt{A T \log(T/\delta)}$
# with probability $1 - \delta$ for all $T$ at once. A bound above the trivial $T J^*$ says
# nothing; on the card's small instances it stays above it for every horizon we can simulate.
# On `two_state_switch` ($D = 1$, $S = A = 2$, $J^* = 1/(1+q)$) it drops below $T J^*$ near
# $T = 2^{17}$: there UCRL2 can be checked against it, and the card's negative control (both
# confidence radii $\times 10^{-3}$) breaks it — the learner keeps the first action it tried
# ("stay", reward 0.1) and pays $(J^* - 0.1)$ per step. Claim `loop.jaksch2010.thm2.bound`.

# %%
from rlsandbox.mdps.loop import hard_linear_mixture, two_state_switch

T_B = 2 ** 18 if QUICK else 2 ** 20
for name, m in (("RiverSwim-3", rls.mdps.riverswim(3, gamma=1.0)),
                ("hard instance d=3", hard_linear_mixture(3, 0.1, 0.05).to_tabular(gamma=1.0)),
                ("two_state_switch", two_state_switch(0.05, 0.1))):
    ratio = L.ucrl2_regret_bound(T_B, diameter(m), m.S, m.A, 0.05) / (T_B * L.true_hypothesis(m).J)
    print(f"{name:>18}: bound / (T J*) at T = 2^{int(np.log2(T_B))}: {ratio:6.2f}")

sw = two_state_switch(0.05, 0.1)
t = np.arange(2, T_B + 1)
bound = L.ucrl2_regret_bound(t, 1.0, 2, 2, 0.05)
show = np.unique(np.geomspace(1, t.size, 400).astype(int)) - 1     # log-spaced points to draw
fig, ax = plt.subplots(figsize=(6, 4))
worst = {}
for scale in (1.0, 1e-3):
    Delta = L.regret(L.ucrl2(sw, T_B, rng=rng, radius_scale=scale), sw, realised=True)[1:]
    worst[scale] = float(np.max(Delta / bound))         # checked at every t, drawn at `show`
    ax.loglog(t[show], np.maximum(Delta[show], 1e-3), label=f"UCRL2, radii x {scale:g}")
ax.loglog(t[show], bound[show], "k--", label="34 D S sqrt(A t log(t/delta))")
ax.loglog(t[show], t[show] * L.true_hypothesis(sw).J, "k:", label="t J* (trivial)")
ax.set_xlabel("t"); ax.set_ylabel("realised regret Delta(t)"); ax.legend(fontsize=8)
print({k: round(v, 4) for k, v in worst.items()}, "= max_t Delta(t) / bound(t)")
assert worst[1.0] < 1.0 < worst[1e-3]      # the bound holds, and the control breaks it
