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
# # DPO vs online RLHF through coverage: exact tabular separations
#
# Preference fine-tuning learns a policy $\pi$ from comparisons "$y^+$ is preferred to $y^-$
# for prompt $x$". Two families of methods:
#
# * **RLHF**: fit a reward model $\hat r$ to the comparisons (Bradley-Terry), then maximise
#   the KL-regularised objective $J_{\hat r}(\pi) = E_\pi[\hat r] - \beta\,
#   KL(\pi \| \pi_{ref})$ *on the policy's own samples* (online);
# * **DPO**: minimise a logistic loss of the log-ratio margin directly on the offline
#   comparisons, with no reward model and no sampling.
#
# Song et al. (NeurIPS 2024, "The Importance of Online Data: Understanding Preference
# Fine-tuning via Coverage", cited SONG24) show that DPO needs **global coverage** of the data
# (every response any policy might take must appear), while RLHF needs only **local
# coverage** of a KL ball around $\pi_{ref}$, and that DPO can end with **unbounded reverse
# KL**. Their fix, **HyPO**, adds the reverse-KL term on online unlabelled samples.
#
# Everything below is computed exactly on tiny tabular bandits with
# `rlsandbox.algorithms.preference`, following the card `shared/papers/preference_coverage.md`
# (cited as [card, §n / Cn]). Set `RLSANDBOX_QUICK=1` for the small sizes the tests run.

# %%
import math
import os

import matplotlib.pyplot as plt
import numpy as np

from rlsandbox.algorithms import preference as pref
from rlsandbox.algorithms.preference import members
from rlsandbox.algorithms.preference import token as tk
from rlsandbox.mdps import preference as inst

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
N_RANDOM = 200 if QUICK else 2000
EPS64 = np.finfo(np.float64).eps
rng = np.random.default_rng(2024)          # the notebook's only random source
print(f"quick mode: {'on' if QUICK else 'off'} ({N_RANDOM} random instances)")

# %% [markdown]
# ## 1. The setting
#
# A prompt $x$ (probability $\rho(x)$), $K$ responses, a reference policy $\pi_{ref}(y|x)$
# (possibly with zeros), a true reward $r^*(x, y)$ and a KL coefficient $\beta$. The
# KL-regularised optimum is the **Gibbs policy**
#
# $$ \pi^*(y|x) = \pi_{ref}(y|x)\, e^{r^*(x,y)/\beta} / Z(x), \qquad
#    J(\pi^*) = \beta \textstyle\sum_x \rho(x) \log Z(x), $$
#
# and every policy's regularised gap is a KL divergence [card §2.2, F2]:
# $J(\pi^*) - J(\pi) = \beta\, KL_\rho(\pi \| \pi^*)$. We check the identity on a random
# bandit; both sides are sums of $nX \cdot K$ terms, so they agree to a few hundred ulps.

# %%
b = inst.random_preference_bandit(rng=rng, nX=3, K=5)
print(b)
pi = pref.log_policy(rng.dirichlet(np.ones(b.K), size=b.nX))
lhs = b.J_star - pref.objective(b, pi)
rhs = pref.gaps(b, pi).G_J
print(f"J(pi*) - J(pi) = {lhs:.12f}   beta KL(pi || pi*) = {rhs:.12f}")
assert abs(lhs - rhs) <= 256 * b.nX * b.K * EPS64 * (1 + abs(lhs))

# %% [markdown]
# ## 2. DPO's minimisers: the exact set, and where it is too big
#
# With Bradley-Terry comparisons $P(y \succ y') = \sigma(r^*(y) - r^*(y'))$, DPO minimises
# $\sum q(x, y^+, y^-)\, f\big(\beta[(\log\pi - \log\pi_{ref})(y^+) - (\log\pi -
# \log\pi_{ref})(y^-)]\big)$, $f(z) = -\log\sigma(z)$. Its minimisers are pinned only on the
# responses that are compared, and only up to one constant per connected component of the
# comparison graph; the mass on never-compared responses is free [card C3].
#
# **P1** (card C4): $\pi_{ref} = (1/2, 1/2, 0)$, $r^* = (1, 0, 0)$, $\beta = 1/2$, only $\{a, b\}$
# is ever compared. The family $\pi_t = ((1-t)\pi^*(a), (1-t)\pi^*(b), t)$ has *exactly* the
# minimal DPO loss $H(\sigma(1)) = 0.582203$ for every $t$, yet for $t > 0$ it puts mass where
# $\pi_{ref} = 0$: infinite reverse KL, $J = -\infty$. RLHF with a bounded reward returns
# $\pi^*$.

# %%
p1 = inst.song_zero_mass()
q = pref.population_pairs(p1)
loss = pref.dpo(p1.beta)
M = pref.dpo_minimizer_set(p1, q)
print("pi* =", np.round(p1.pi_star[0], 6), " min DPO loss =",
      round(pref.preference_loss(p1, q, p1.log_pi_star, loss), 6))
for t in (0.0, 0.3, 0.9):
    pit = pref.log_policy([[(1 - t) * p1.pi_star[0, 0], (1 - t) * p1.pi_star[0, 1], t]])
    g = pref.gaps(p1, pit)
    print(f"t={t}: DPO loss {pref.preference_loss(p1, q, pit, loss):.6f}  KL(pi||piref) "
          f"{g.kl_ref}  E r* {pref.expected_reward(p1, pit):.4f}")
    assert abs(pref.preference_loss(p1, q, pit, loss) - 0.582203) <= 5e-7
print("sup over DPO minimisers of KL(pi || piref):", M.sup_kl_reference())
rl = pref.rlhf(p1, q, tie_break="worst")
print("RLHF (worst tie-break):", np.round(np.exp(rl.logpi[0]), 6),
      " KL =", round(pref.kl_to_reference(p1, rl.logpi), 6), "<= R/beta =", p1.R / p1.beta)
assert np.allclose(np.exp(rl.logpi), p1.pi_star, atol=1e-12)

# %% [markdown]
# With full coverage (every response compared, one connected component) the set shrinks to
# $\{\pi^*\}$, and minimising the exact population loss from $\pi_{ref}$ by Newton's method lands on
# $\pi^*$. The broken **DPO without the reference** lands on $\mathrm{softmax}(r^*/\beta)$
# instead (the card's C3 negative control).

# %%
full = inst.song_zero_mass_covered(0.1)
qf = pref.population_pairs(full)
dpo_lp = pref.hypo_penalized(full, qf, 0.0, pref.dpo(full.beta))
noref_lp = pref.hypo_penalized(full, qf, 0.0, pref.dpo_noref(full.beta))
softmax = np.exp(full.r / full.beta) / np.exp(full.r / full.beta).sum()
print("pi*          ", np.round(full.pi_star[0], 6))
print("DPO          ", np.round(np.exp(dpo_lp[0]), 6))
print("DPO-noref    ", np.round(np.exp(noref_lp[0]), 6), " softmax(r*/beta)",
      np.round(softmax[0], 6))
assert np.abs(np.exp(dpo_lp) - full.pi_star).max() < 1e-6
assert np.abs(np.exp(noref_lp) - softmax).max() < 1e-6

# %% [markdown]
# ## 3. The bounds: global coverage for DPO, local coverage for RLHF
#
# Write $E_\mu(\hat r) = \sum_x \rho(x) \mathrm{Var}_{y\sim\mu}[\hat r - r^*]$ for the
# in-distribution reward error (BT cannot see per-prompt constants) and
# $C_2(\pi) = \sum_x \rho(x) \sum_y \pi(y|x)^2/\mu(y|x)$. By Cauchy-Schwarz [card C6, C7]:
#
# * **RLHF** ($\hat\pi = \pi_{\hat r}$): $J(\pi^*) - J(\hat\pi) \le
#   \sqrt{C_2(\pi^*) E} + \sqrt{C_2(\hat\pi) E}$, and with $\hat r \in [0, R]^K$ both policies
#   lie in the KL ball of radius $R/\beta$, so this is $\le 2\sqrt{C_{loc}(R/\beta)\, E}$:
#   **local** coverage suffices;
# * **DPO** (any $\pi$, implicit reward $\beta\log\pi/\pi_{ref}$): the same with
#   $E = E^{dpo}_\mu(\pi)$, but $\pi$ is arbitrary, so only $2\sqrt{C_{glo} E}$ is uniform:
#   **global** coverage.
#
# Dropping the second term (keeping only $\pi^*$'s coverage) is the card's negative control:
# it fails on a fraction of random instances.

# %%
ratios_rlhf, ratios_dpo, single_fail = [], [], 0
for _ in range(N_RANDOM):
    bb = inst.random_preference_bandit(rng=rng)
    c2s = pref.second_moment_coverage(bb, bb.log_pi_star)
    r_hat = rng.uniform(0, bb.R, size=bb.r.shape)                   # a bounded reward model
    E = pref.reward_error(bb, r_hat)
    gap = bb.J_star - pref.objective(bb, pref.gibbs(bb, r_hat))
    bound = 2 * math.sqrt(pref.local_coverage(bb, bb.R / bb.beta) * E)
    ratios_rlhf.append(gap / bound)
    lp = members.random_policies(bb, rng=rng, n=1)[0]            # an arbitrary DPO output
    E = pref.dpo_error(bb, lp)
    gap = bb.J_star - pref.objective(bb, lp)
    full_bound = math.sqrt(c2s * E) + math.sqrt(pref.second_moment_coverage(bb, lp) * E)
    ratios_dpo.append(gap / full_bound)
    single_fail += gap > math.sqrt(c2s * E) * (1 + 1e-12) + 1e-12
ratios_rlhf, ratios_dpo = np.array(ratios_rlhf), np.array(ratios_dpo)
print(f"RLHF: max gap / 2 sqrt(C_loc E) = {ratios_rlhf.max():.3f} over {N_RANDOM} instances")
print(f"DPO:  max gap / (sqrt(C2* E) + sqrt(C2(pi) E)) = {ratios_dpo.max():.3f}")
print(f"single-policy bound violated on {single_fail}/{N_RANDOM} = "
      f"{single_fail / N_RANDOM:.1%} of instances (card: ~15%)")
assert ratios_rlhf.max() <= 1 + 1e-9 and ratios_dpo.max() <= 1 + 1e-9 and single_fail > 0

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.hist(ratios_rlhf, bins=40, alpha=0.6, label="RLHF: gap / 2 sqrt(C_loc E)")
ax.hist(ratios_dpo, bins=40, alpha=0.6, label="DPO: gap / (sqrt(C2* E) + sqrt(C2 E))")
ax.axvline(1.0, color="k", lw=0.8)
ax.set_xlabel("tightness (bound holds iff <= 1)")
ax.legend(fontsize=8)
fig

# %% [markdown]
# ## 4. The separation as coverage vanishes (card C5, figure E1)
#
# **P2**: $\pi_{ref} = \mu = ((1-\delta)/2, (1-\delta)/2, \delta)$, $r^* = (1, 0.5, 0)$,
# $\beta = 0.5$, $R = 1$, error budget $\varepsilon = 0.01$. Every RLHF output with
# $E_\mu \le \varepsilon$ has $KL \le R/\beta = 2$ and $G_J \le 2e^{R/2\beta}\sqrt\varepsilon
# = 0.544$ whatever $\delta$; the DPO member $\pi^\delta$ (implicit reward
# $r^* + \sqrt{\varepsilon/\delta}\, e_c$, error $(1-\delta)\varepsilon$) has
# $KL \to \log(1/\delta) = \log C_{glo}$.

# %%
print(" delta    KL(pi^delta)  log(1/delta)   G_J(pi^delta)   RLHF bound on G_J")
for delta in (1e-2, 1e-4, 1e-6, 1e-8):
    p2 = inst.song_small_mass(delta)
    lp = pref.gibbs(p2, members.dpo_member_reward(p2, 0.01))
    g = pref.gaps(p2, lp)
    print(f"{delta:6.0e}   {g.kl_ref:10.3f}   {math.log(1 / delta):10.3f}   {g.G_J:12.3f}"
          f"   {2 * math.e * 0.1:10.4f}")
    assert abs(pref.dpo_error(p2, lp) - (1 - delta) * 0.01) <= 1e-9
    if delta <= 1e-4:                          # card C5 fixtures: 9.208, 13.816, 18.421
        assert abs(g.kl_ref - math.log(1 / delta)) <= 0.01

# %% [markdown]
# HyPO's constraint $KL \le \kappa = R/\beta$ keeps its worst case bounded too (at the edge of
# the ball), though on P2 above RLHF's bound: local coverage $C_{loc}(R/\beta)$ itself grows
# like $1/(\delta\log(1/\delta))$ here. The gallery figure `preference_e1_coverage` sweeps
# every method.

# %%
for delta in (1e-4, 1e-8):
    p2 = inst.song_small_mass(delta)
    s, edge = members.boundary_member(p2, 0.01, p2.R / p2.beta)
    g = pref.gaps(p2, edge)
    print(f"delta={delta:.0e}: HyPO edge member KL {g.kl_ref:.3f} (<= 2), G_J {g.G_J:.3f}, "
          f"C_loc(2) = {pref.local_coverage(p2, 2.0):.3g}")
    assert g.kl_ref <= 2.0 + 1e-12

# %% [markdown]
# ## 5. Training: DPO extrapolates and collapses, HyPO's online KL term stops it (E3)
#
# **L1 "ood-collapse"**: four responses, log-linear features misspecified for the rare $y_3$,
# three comparisons seen once. Gradient descent on DPO moves $\theta$ along
# $\phi(y^+) - \phi(y^-)$, which the unseen $y_3$ is most aligned with: all mass goes to
# $y_3$ (true reward $-1$), KL $= \log 10^4 = 9.21$. HyPO adds $\lambda\,KL(\pi_\theta\|
# \pi_{ref})$, estimated online from $k$ unlabelled samples with the leave-one-out baseline.

# %%
from rlsandbox.experiments import preference_e3_reverse_kl as e3  # noqa: E402

cfg = e3.Config(steps=2000 if QUICK else 10_000, lams=(0.0, 0.02, 0.1, 1.0),
                rloo_steps=1000 if QUICK else 10_000, n_seeds=3 if QUICK else 10, n_grid=25)
df = e3.run(cfg, rng=rng)
fig, ax = plt.subplots(figsize=(7, 3.5))
for (method, lam), sub in df[df.seed == 0].groupby(["method", "lam"]):
    sub = sub.sort_values("step")
    ax.plot(np.maximum(sub.step, 0.8), sub.kl, label=f"{method} lam={lam:g}")
ax.set_xscale("log")
ax.set_xlabel("step")
ax.set_ylabel("reverse KL")
ax.legend(fontsize=7)
final = df.sort_values("step").groupby(["method", "lam", "seed"]).tail(1)   # each run's last step
last = final.groupby(["method", "lam"])[["kl", "reward"]].median()
print(last.round(3))
dpo_final = last.loc[("dpo", 0.0)]
assert abs(dpo_final.kl - math.log(1e4)) < 0.01 and dpo_final.reward < -0.99
assert last.loc[("hypo", 1.0)].kl < 0.05 and last.loc[("hypo", 0.02)].kl > 9
fig

# %% [markdown]
# ## 6. Token level: DPO's policy is a Q-function (Rafailov et al. 2024)
#
# In a deterministic token tree, the soft Bellman equations with reference give
# $\beta\log\frac{\pi^*(a|s)}{\pi_{ref}(a|s)} = r(s,a) + V^*(s') - V^*(s)$; summed along a
# response this telescopes to $R(x,y) - V^*(x)$, and the prompt constant cancels in a
# Bradley-Terry comparison: sequence-level DPO *is* token-level inverse soft-Q learning
# [card §2.7, C14].

# %%
tree = inst.random_token_tree(rng=rng, V=3, T=3)
sol = tk.soft_solve(tree)
seq = tk.sequence_sum(sol.log_pi, tree.T)
ref = tk.sequence_sum(tree.log_piref, tree.T)
R = tk.sequence_return(tree)
err = np.abs(tree.beta * (seq - ref) - (R - sol.V[0].reshape(1, 1, 1, 1))).max()
print(f"max |sum_t beta log(pi*/piref) - (R - V*(x))| = {err:.2e}")
assert err <= 1e-12 * (1 + np.abs(R).max())

# %% [markdown]
# Training at the token level: gradient descent on per-state logits with the DPO loss of
# *summed* token log-ratios (`tk.train_token`) reaches the soft-optimal $\pi^*$ of the tree. Along
# the way the average implicit reward of responses drawn like $\pi_{ref}$ equals
# $-\beta KL(\pi_{ref}\|\pi) \le 0$ (card C16: why implicit rewards of "chosen" responses
# decline), while responses drawn from $\pi^*$ see it rise to $\beta KL(\pi^*\|\pi_{ref})$.
# Likelihood search on $\pi^*$ maximises the *regularised* return $R + \beta\log\pi_{ref}$
# (card C15).

#
# How fast it gets there depends on coverage once more: the comparisons are drawn from
# $\pi_{ref}$, so responses that $\pi^*$ favours but $\pi_{ref}$ rarely produces are rarely
# compared, and their log-ratios move slowly (try the tree above: it is much slower). The
# tree below (seed 1) is a well-covered one.

# %%
tree2 = inst.random_token_tree(rng=1, V=3, T=3)
bt = tk.to_bandit(tree2)
run_tok = tk.train_token(tree2, pref.population_pairs(bt), pref.dpo(tree2.beta),
                         steps=1500, lr=2.0, record=[0, 10, 100, 1500])
for step, lp in zip(run_tok.steps, run_tok.logpi_path):
    r_pi = tree2.beta * (lp[0] - bt.log_piref[0])
    print(f"step {step:5d}: E_ref[r_pi] = {np.exp(bt.log_piref[0]) @ r_pi:+.4f}, "
          f"E_pi*[r_pi] = {bt.pi_star[0] @ r_pi:+.4f}, "
          f"max|pi - pi*| = {np.abs(np.exp(lp[0]) - bt.pi_star[0]).max():.1e}")
    assert np.exp(bt.log_piref[0]) @ r_pi <= 1e-12
kl_star = tree2.beta * pref.kl_to_reference(bt, bt.log_pi_star)
print(f"beta KL(pi* || piref) = {kl_star:.4f}")
assert np.abs(np.exp(run_tok.logpi_path[-1][0]) - bt.pi_star[0]).max() < 1e-2
beam = tk.beam_search(tree, sol.log_pi, tree.V ** (tree.T - 1))[0]
reg = (R + tree.beta * ref).reshape(-1)
print("exact beam on pi* picks", beam.tolist(), "; it maximises R + beta log piref:",
      bool(reg[np.ravel_multi_index(tuple(beam), (3, 3, 3))] >= reg.max() - 1e-12))

# %% [markdown]
# SimPO on sequences (card §3.5) compares *mean* token log-probabilities,
# $u = \frac{1}{|y^+|}\log\pi(y^+|x) - \frac{1}{|y^-|}\log\pi(y^-|x)$, with no reference at all.
# One comparison with $P(y \succ y') = 0.8$ ($\beta_{SimPO} = 2$, $\gamma = 1$): whatever
# $\pi_{ref}$ the tree has, training ends at the card's root $u = 1.07698$ (C13) -- nothing
# anchors SimPO to the reference, unlike DPO.

# %%
W1 = np.zeros((1, 4, 4))
W1[0, 0, 3], W1[0, 3, 0] = 0.8, 0.2                  # y = (0, 0) vs y' = (1, 1)
for seed in (0, 1):
    tree_s = inst.random_token_tree(rng=seed, V=2, T=2)
    out_s = tk.train_token(tree_s, pref.PairData(W1), pref.simpo(2.0, 1.0), steps=400, lr=2.0,
                           record=[400])
    u = (out_s.logpi_path[-1, 0, 0] - out_s.logpi_path[-1, 0, 3]) / tree_s.T
    print(f"tree {seed}: piref(y) = {np.exp(tk.to_bandit(tree_s).log_piref[0, 0]):.3f}, "
          f"mean-log-prob margin u = {u:.5f}")
    assert abs(u - pref.simpo_stationary_margin(0.8, 2.0, 1.0)) < 1e-9

# %% [markdown]
# ## 6b. Noisy labels: DPO, cDPO and robust DPO (Chowdhury et al. 2024)
#
# Flip each label with a known rate $\varepsilon$. Vanilla DPO then estimates the wrong
# preference strength (a bias that does not shrink with $n$); label smoothing (cDPO) shrinks
# it further; **rDPO**'s loss $f(z) - \frac{\varepsilon}{1-2\varepsilon} z$ is unbiased and
# its error decays like $\sqrt{d/n}/(1-2\varepsilon)$ [card §3.6, C12]. A log-linear instance
# with $d = 4$ (the card's C12(e) setting; figure `preference_e9_rdpo_rate`):

# %%
blin, theta_star = inst.random_loglinear_bandit(rng=1)
eps_flip = 0.3
for n in (1000, 16000):
    data = pref.flip_labels(pref.sample_pairs(blin, n, rng=rng), eps_flip, rng=rng)
    errs = {name: np.linalg.norm(pref.loglinear_minimizer(blin, data, loss) - theta_star)
            for name, loss in (("DPO", pref.dpo(1.0)), ("cDPO", pref.cdpo(1.0, eps_flip)),
                               ("rDPO", pref.rdpo(1.0, eps_flip)))}
    print(f"n = {n:5d}: " + ", ".join(f"{k} {v:.3f}" for k, v in errs.items()))
assert errs["rDPO"] < errs["DPO"] < errs["cDPO"]

# %% [markdown]
# ## 6c. HyPO: penalised vs constrained
#
# The penalised HyPO objective $L_{DPO} + \lambda KL$ is *biased* even under full coverage:
# its minimiser moves away from $\pi^*$ by $\lambda v + O(\lambda^2)$ (card C8(c); the card's P1
# fixtures $\pi(a) = 0.8808, 0.8762, 0.8272, 0.5940$ for $\lambda = 0, 0.01, 0.1, 1$). The
# constrained form (minimise the DPO loss subject to $KL \le \kappa$) is not, as long as the
# ball contains $\pi^*$ -- $\kappa = R/\beta$ always does (C2) -- and it is what the coverage
# bound of C8(a) needs.

# %%
p1 = inst.song_zero_mass()
q1 = pref.population_pairs(p1)
for lam in (0.0, 0.01, 0.1, 1.0):
    a = math.exp(pref.hypo_penalized(p1, q1, lam, pref.dpo(p1.beta))[0, 0])
    print(f"penalised lam={lam:<5g}: pi(a) = {a:.4f}")
lp_c, lam_c = pref.hypo_constrained(p1, q1, p1.R / p1.beta, pref.dpo(p1.beta))
print(f"constrained kappa = R/beta: pi(a) = {math.exp(lp_c[0, 0]):.4f} (pi*(a) = "
      f"{p1.pi_star[0, 0]:.4f}), multiplier {lam_c}")
assert abs(math.exp(lp_c[0, 0]) - p1.pi_star[0, 0]) < 1e-9

# %% [markdown]
# ## 7. The same statements as registered claims
#
# Each statement above is a claim of `rlsandbox verify preference`, with a negative control
# that must fail. Here four of them, on their quick instances. The last is the exact
# population separation of card C3(b): with piref zeros (so DPO's minimiser set contains
# infinite-KL members) but a connected comparison graph on the reference support, RLHF returns
# $\pi^*$ for every tie-break; its control drops one edge, after which RLHF's per-component
# offsets are as free as DPO's.

# %%
from rlsandbox.proofs_check import REGISTRY, run_claim  # noqa: E402

for cid in ("preference.song24.dpo_needs_global_coverage",
            "preference.song24.rlhf_partial_coverage", "preference.rdpo.rate",
            "preference.pref.rlhf_connected_coverage"):
    res = run_claim(REGISTRY[cid], quick=True)
    print(f"{cid}: holds={res.holds}, control caught={res.caught}, "
          f"tightness={res.verdict.tightness}")
    assert res.holds and res.caught
