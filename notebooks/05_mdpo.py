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
# # Mirror descent policy optimization: the tabular theory, checked
#
# MDPO (Tomar, Shani, Efroni, Ghavamzadeh, ICLR 2022) is a deep-RL algorithm built on one
# tabular idea: **policy mirror descent** (PMD). Its theory comes from Shani et al. (2020),
# Xiao (2022) and Lan (2023). In a small MDP every quantity of that theory can be computed
# exactly, so we can watch the bounds hold, see how tight they are, and break them on purpose.
#
# 1. the setting: values, occupancies and Xiao's mismatch coefficient $\theta_\rho$;
# 2. the algorithm: the per-state mirror step, in log space;
# 3. the bounds: Xiao's per-iteration inequality (card C3) and linear rate (C4);
# 4. negative controls: what breaks the bounds;
# 5. MDPO itself: $m$ gradient steps instead of the exact step.
#
# The card `shared/papers/mdpo.md` (cited as [card, ...]) states every formula used here.
# Set `RLSANDBOX_QUICK=1` for tiny sizes (the test suite does).

# %%
import os

import matplotlib.pyplot as plt
import numpy as np

import rlsandbox as rls
from rlsandbox.algorithms.mdpo import QNoise, geometric, kl_step, mdpo_on_policy, pmd
from rlsandbox.algorithms.mdpo import theory as T
from rlsandbox.mdps.mdpo import mdpo_random, stationary_start, bandit_loop

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
S, A, K = (8, 3, 30) if QUICK else (20, 4, 80)
GAMMA = 0.9
rng = np.random.default_rng(2022)           # the notebook's only random source
print(f"quick mode: {'on' if QUICK else 'off'} (S={S}, A={A}, K={K})")

mdp = mdpo_random(S=S, A=A, gamma=GAMMA, rng=rng)
mdp

# %% [markdown]
# ## 1. The setting
#
# A random dense MDP (the card's family M1: Dirichlet(0.5) transition rows, rewards in
# $[0, 1)$), start distribution $\rho$ uniform. For a policy $\pi$,
# $V^\pi = (I - \gamma P_\pi)^{-1} r_\pi$, $Q^\pi = r + \gamma P V^\pi$, and the discounted
# occupancy $d^\pi_\rho = (1-\gamma)\rho^\top (I - \gamma P_\pi)^{-1}$ (a distribution).
# The optimum $\pi^*$ comes from policy iteration; Xiao's mismatch coefficient is
#
# $$ \theta_\rho = \frac{1}{1-\gamma}\Big\| \frac{d^{\pi^*}_\rho}{\rho} \Big\|_\infty
#    \;\ge\; \frac{1}{1-\gamma}. $$
#
# `theory.reference` computes all of it.

# %%
ref = T.reference(mdp)
print(f"V*(rho) = {ref.rho @ ref.V_star:.4f}, certified to {ref.V_err:.1e}")
print(f"C*_rho = {ref.C_rho:.3f}, theta_rho = {ref.theta_rho:.2f} (>= 1/(1-gamma) = "
      f"{1 / (1 - GAMMA):.0f})")
assert ref.theta_rho >= 1 / (1 - GAMMA)

# %% [markdown]
# ## 2. The mirror step
#
# PMD with the KL mirror map updates every state separately [card §3.1]:
#
# $$ \pi_{k+1}(\cdot|s) \propto \pi_k(\cdot|s)\, \exp\big(\eta_k Q^{\pi_k}(s, \cdot)\big), $$
#
# the exact maximiser of $\eta_k \langle Q^{\pi_k}(s,\cdot), p\rangle - \mathrm{KL}(p \,\|\,
# \pi_k(\cdot|s))$. The library keeps $\log \pi$ (step sizes reach $10^5$ and more, and
# $\exp$ would underflow). Check the closed form against a direct computation, and the
# invariance to per-state shifts of $Q$ (so $Q$ and the advantage $A = Q - V$ give the same
# step):

# %%
pi0 = np.full((S, A), 1.0 / A)
V0 = rls.evaluate(mdp, pi0)
Q0 = np.asarray(rls.q_values(mdp, V0))
eta = 2.0
step_lib = np.exp(kl_step(np.log(pi0), Q0, eta))
direct = pi0 * np.exp(eta * Q0)
direct /= direct.sum(axis=1, keepdims=True)
step_adv = np.exp(kl_step(np.log(pi0), Q0 - V0[:, None], eta))
# both are softmaxes of exponents of size <= eta * max Q <= 20: a few ulps of that
print("max |library - direct| =", np.abs(step_lib - direct).max())
assert np.abs(step_lib - direct).max() < 1e-12
assert np.abs(step_lib - step_adv).max() < 1e-12

# %% [markdown]
# ## 3. The bounds
#
# With geometrically increasing steps $\eta_k = \eta_0/\gamma^k$, Xiao's Theorem 10 gives a
# linear rate [card C4]:
#
# $$ \delta_k = V^*(\rho) - V^{\pi_k}(\rho) \;\le\; \Big(1 - \frac{1}{\theta_\rho}\Big)^k
#    \Big(\delta_0 + \frac{D^*_0}{\gamma \eta_0}\Big), \qquad
#    D^*_k = \sum_s d^*(s)\, \mathrm{KL}(\pi^*(\cdot|s) \,\|\, \pi_k(\cdot|s)). $$
#
# It rests on a per-iteration inequality (Xiao Prop. 9, card C3), the sharp detector:
#
# $$ \theta_{k+1}(\delta_{k+1} - \delta_k) + \delta_k \;\le\;
#    \frac{D^*_k - D^*_{k+1}}{(1-\gamma)\eta_k}, \qquad
#    \theta_{k+1} = \|d^* / d^{\pi_{k+1}}_\rho\|_\infty . $$

# %%
run = pmd(mdp, K=K, step=geometric(1.0, GAMMA))
delta = T.gaps(ref, run.V)
D = T.dstar_kl(ref, run.logpi)
k = np.arange(K + 1)
bound = T.xiao_linear_bound(ref.theta_rho, delta[0], D[0], 1.0, GAMMA, k)
ratio = delta / bound
print(f"max delta_k / bound = {ratio.max():.3f} (at k = {int(ratio.argmax())})")
# allowance: two exact evaluations of values <= 1/(1-gamma) = 10, round-off ~1e-12
assert np.all(delta <= bound + 1e-9)

from rlsandbox.proofs_check.mdpo import c3_sides   # both sides of C3 and their allowance

lhs, rhs, tol = c3_sides(mdp, run, "kl", ref)
print(f"C3: max (lhs - rhs) = {np.max(lhs - rhs):.2e}; the allowance is ~{tol.max():.0e}")
assert np.all(lhs <= rhs + tol)

fig, ax = plt.subplots(figsize=(6, 3.6))
ax.semilogy(k, np.maximum(delta, 1e-17), label=r"$\delta_k$ (PMD-KL, $\eta_k = 1/\gamma^k$)")
ax.semilogy(k, bound, "--", label=r"C4 bound $(1 - 1/\theta_\rho)^k(\ldots)$")
ax.set_xlabel("iteration k")
ax.legend()
ax.set_title("the linear rate holds, with room to spare later on");

# %% [markdown]
# How tight is it? The ratio $\delta_k/\text{bound}_k$ is largest in the first iterations (the
# card reports up to ~0.91 over random MDPs, the claim `mdpo.c4.linear` measures it); then
# PMD becomes much faster than $(1 - 1/\theta_\rho)^k$: once the steps are large the update is
# greedy, i.e. policy iteration, which reaches $\pi^*$ in finitely many steps. The
# per-iteration inequality C3 is the sharper check: its two sides nearly meet (median ratio
# about 0.9 over the claim's instances).
#
# ## 4. Negative controls
#
# A check that cannot fail tests nothing. Two deliberate breaks:
#
# * **forget the $1/(1-\gamma)$ in $\theta_\rho$** (card Pitfall 7), i.e. claim the rate
#   $(1 - 1/C^*_\rho)^k$. On an MDP whose start distribution is the stationary distribution of
#   $\pi^*$, $C^*_\rho = 1$ and that "rate" is 0 after one step;
# * **inexact evaluation**: feed the step $Q$ values perturbed by noise of size 0.1 that
#   favours the worse action of `bandit_loop` (one state, action gap 0.05).

# %%
stat = stationary_start(S=S, A=A, gamma=GAMMA, rng=rng)
ref_s = T.reference(stat)
run_s = pmd(stat, K=10, step=geometric(1.0, GAMMA))
delta_s = T.gaps(ref_s, run_s.V)
D0_s = T.dstar_kl(ref_s, run_s.logpi)[0]
right = T.xiao_linear_bound(ref_s.theta_rho, delta_s[0], D0_s, 1.0, GAMMA, np.arange(11))
wrong = T.xiao_linear_bound(ref_s.C_rho, delta_s[0], D0_s, 1.0, GAMMA, np.arange(11))
print(f"C*_rho = {ref_s.C_rho:.6f}; delta_1 = {delta_s[1]:.3f}; "
      f"correct bound {right[1]:.3f}, broken bound {wrong[1]:.1e}")
assert np.all(delta_s <= right + 1e-9) and delta_s[1] > wrong[1] + 1e-9

bl = bandit_loop(0.05, gamma=GAMMA)
noisy = pmd(bl, K=10, step=1.0, noise=QNoise(0.1, "toward_worst"))
lhs_n, rhs_n, tol_n = c3_sides(bl, noisy, "kl")
print("C3 on the noisy run: violated at", int(np.sum(lhs_n > rhs_n + tol_n)), "of 10 steps")
assert np.all(lhs_n > rhs_n + tol_n)

# %% [markdown]
# ## 5. MDPO: $m$ gradient steps instead of the exact step
#
# MDPO does not compute the closed form; it takes $m$ gradient steps on the same objective in
# the policy's parameters [card §3.6]:
#
# $$ \Psi(\theta) = \sum_s w(s)\Big[\sum_a \pi_\theta(a|s) A_k(s,a)
#    - \tfrac{1}{t_k}\mathrm{KL}\big(\pi_\theta(\cdot|s) \,\|\, \pi_k(\cdot|s)\big)\Big]. $$
#
# At $\theta = \log\pi_k$ the KL term has zero gradient, so $m = 1$ is a policy-gradient
# step; as $m \to \infty$ the iterate approaches the exact mirror step. The theory covers
# only the exact step (card Pitfall 26), so here we *measure* what finite $m$ costs.

# %%
ms = [1, 10, 100] if QUICK else [1, 10, 100, 1000]
K_m = 10 if QUICK else 30
gaps_m, inner = {}, {}
for m in ms + [np.inf]:
    out = mdpo_on_policy(mdp, K=K_m, m=m, step=1.0, weights="on_policy")
    gaps_m[m] = T.gaps(ref, out.run.V)[-1]
    inner[m] = out.inner_error[0]
    print(f"m = {m:>6}: inner error of the first update {inner[m]:.1e}, "
          f"gap after {K_m} iterations {gaps_m[m]:.2e}")
assert all(gaps_m[a] >= gaps_m[b] for a, b in zip(ms, ms[1:] + [np.inf]))
assert all(inner[a] > inner[b] for a, b in zip(ms, ms[1:]))

# %% [markdown]
# More inner steps get closer to the exact step and converge faster, the tabular shadow of
# the MDPO paper's "m = 10 beats m = 1". The gallery figure `mdpo_t1_inner_steps` repeats this
# over five MDPs and four step-size schedules, and `mdpo_t4_pmd_rates` shows the sublinear
# (constant step) and linear (geometric step) regimes with their bounds.
#
# Every statement of this notebook is also a registered claim, checked on many instances by
# `rlsandbox verify mdpo` (each with its negative control):

# %%
from rlsandbox.proofs_check import run_claim

for cid in ("mdpo.c3.per_iteration", "mdpo.c4.linear"):
    res = run_claim(cid, quick=True, seed=0)
    print(f"{cid}: holds={res.holds}, control caught={res.caught}, "
          f"median tightness {res.verdict.tightness:.3f}")
    assert res.holds and res.caught

# %% [markdown]
# ## 6. Beyond the exact step: samples, and linear rates without regularisation
#
# **From rollouts.** The deep MDPO estimates advantages from trajectories (GAE) and averages
# its objective over the sampled states. Grouping the samples by state turns that sampled
# objective into the same tabular $\Psi$ with weights $w(s) = n(s)/n$ and importance-weighted
# advantages [card §3.6]. With more trajectories per iteration the sampled run follows the
# exact one more closely (figure `mdpo_t2_trust_regions` compares it with TRPO and PPO).
#
# **APMD.** Lan's APMD perturbs the MDP by a vanishing entropy term $\tau_k \to 0$ with steps
# $1 + \eta_k\tau_k = 1/\gamma$ and converges linearly *without* regularising the problem
# [card §3.4, C14]. Keeping $\tau$ constant (the claim's negative control) converges to the
# regularised optimum instead, so the unregularised gap stalls at the regularisation bias
# (card C15); figure `mdpo_t7_lan` shows both schedules.

# %%
from rlsandbox.algorithms.mdpo import anneal, apmd, sampled_mdpo

K_s = 10 if QUICK else 30
exact_run = mdpo_on_policy(mdp, K=K_s, m=10, step=anneal(K_s)).run
for N in ((2, 32) if QUICK else (2, 16, 128)):
    samp = sampled_mdpo(mdp, K=K_s, m=10, step=anneal(K_s), N=N, H=40, rng=rng).run
    diff = abs(samp.values(mdp.rho)[-1] - exact_run.values(mdp.rho)[-1])
    print(f"N = {N:>3} trajectories/iteration: |V_sampled(rho) - V_exact(rho)| after "
          f"{K_s} iterations = {diff:.3f}")

f_star, nu, _, _ = T.lan_setup(mdp, 0.0)
K_a = 60 if QUICK else 150
for variant in ("a", "constant"):
    gap = f_star - apmd(mdp, K=K_a, variant=variant, tau0=1.0).V @ nu
    print(f"APMD tau schedule {variant!r}: gap at k = {K_a // 2}: {gap[K_a // 2]:.2e}, "
          f"at k = {K_a}: {gap[-1]:.2e}")
gap_a = f_star - apmd(mdp, K=K_a, variant="a").V @ nu
gap_c = f_star - apmd(mdp, K=K_a, variant="constant").V @ nu
assert gap_a[-1] < 1e-2 * gap_a[0] and gap_c[-1] > 0.5 * gap_c[K_a // 2]

# %% [markdown]
# The decaying schedule drives the unregularised gap down geometrically; the constant one
# stops at the bias $V^*(\nu^*) - V^{\pi^*_\tau}(\nu^*) > 0$. Both facts are registered claims
# (`mdpo.c14.apmd_linear` with this control, `mdpo.c15.bias`), as are Shani's exact TRPO on
# the visited states (`mdpo.c10.exact_trpo`) and the $M^{-1/2}$ accuracy of Sample-Based
# TRPO's estimate (`mdpo.c11.sample_based_trpo`).

# %% [markdown]
# ## 7. The sharp detector with an inexact step, and Assumption 1
#
# With an estimate $\hat Q_k$ in place of $Q_k$ the proof of C3 goes through with an extra
# term: if $\tau_k$ is the largest per-state half-range of $\hat Q_k - Q_k$ (a per-state
# constant changes no mirror step), then
# $\theta_{k+1}(\delta_{k+1}-\delta_k)+\delta_k \le \frac{D^*_k-D^*_{k+1}}{(1-\gamma)\eta_k}
# + \frac{2\tau_k\theta_{k+1}}{1-\gamma}$ (derivation in `tests/test_mdpo_c3_variants.py`).
# Below, generative-model PMD with few rollouts: the exact inequality fails on some steps,
# the inexact one, fed the *realised* error, holds on every step.

# %%
from rlsandbox.algorithms.mdpo import exact_trpo, sampled_pmd
from rlsandbox.mdps.mdpo import two_islands

ref = T.reference(mdp)
samp = sampled_pmd(mdp, K=8, step=geometric(1.0, GAMMA), M=2, H=10, rng=rng)
lhs_s, rhs_s, tol_s = c3_sides(mdp, samp, "kl", ref)
err = np.asarray(samp.Q_used) - np.asarray(samp.Q[:-1])
tau_k = ((err.max(axis=2) - err.min(axis=2)) / 2).max(axis=1)
extra = 2 * tau_k * T.thetas(mdp, ref, samp.pi)[1:] / (1 - GAMMA)
print("steps violating exact C3:  ", int((lhs_s > rhs_s + tol_s).sum()), "of", len(lhs_s))
print("steps violating inexact C3:", int((lhs_s > rhs_s + tol_s + extra).sum()))
assert np.all(lhs_s <= rhs_s + tol_s + extra)

# %% [markdown]
# Shani's Exact TRPO updates only the states its restart distribution $\nu$ reaches. Its rate
# for $\mu\cdot V$ (registered as `mdpo.c10.exact_trpo_rate`, the explicit form of C8) needs
# Assumption 1: every state $\pi^*$ visits from $\mu$ must be reachable from $\nu$. On two
# disconnected islands with $\nu$ on the first and $\mu$ on the second (the card's negative
# control), the gap never moves while the bound keeps falling.

# %%
isl = two_islands(S=5, A=3, gamma=0.5, rng=0)
ref_i = T.reference(isl)
K_i = 300
t_i = np.sqrt(2 * np.log(isl.A) / (K_i + 1)) * (1 - 0.5)    # argmin of the final bound, h = 2
run_i = exact_trpo(isl, K=K_i, step=t_i, nu=isl.rho)
mu_in, mu_out = isl.rho, (isl.rho == 0) / (isl.rho == 0).sum()
bound_i = T.shani_unregularized_bound(0.5, isl.A, 1.0, np.full(K_i + 1, t_i))
for name, mu in (("mu = nu (Assumption 1 holds)", mu_in), ("mu on island 2 (violated)", mu_out)):
    gap_i = (ref_i.V_star - run_i.V) @ mu
    print(f"{name:32s} gap at N = 0: {gap_i[0]:.3f}, at N = {K_i}: {gap_i[-1]:.3f}; "
          f"bound at N = {K_i}: {bound_i[-1]:.3f}")
assert (ref_i.V_star - run_i.V[-1]) @ mu_in <= bound_i[-1]
assert (ref_i.V_star - run_i.V[-1]) @ mu_out > bound_i[-1]
