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
# # Bellman operators, contraction and certified solutions
#
# This notebook walks through the core of discounted dynamic programming on small random MDPs,
# computing every object exactly with `rlsandbox`:
#
# 1. the Bellman operators $T^\pi$ and $T$, and their fixed points $V^\pi$ and $V^*$;
# 2. contraction, checked numerically: $\|TU - TV\|_\infty \le \gamma \|U - V\|_\infty$;
# 3. value iteration with Puterman's stopping rule, and what it guarantees;
# 4. certified solutions: the a-posteriori `error_bound` and the `optimal_actions` mask;
# 5. value iteration, policy iteration, modified policy iteration and linear programming side
#    by side, and the convergence figure of the gallery.
#
# Reference: M. L. Puterman, *Markov Decision Processes* (Wiley, 1994/2005), chapter 6
# (cited as [puterman2005, §...] as in the library's docstrings).
#
# Set the environment variable `RLSANDBOX_QUICK=1` to run everything on tiny sizes (the test
# suite does this); the explanations do not change.

# %%
import os
import time

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import rlsandbox as rls

QUICK = os.environ.get("RLSANDBOX_QUICK", "0") == "1"
S, A, BRANCHING = (8, 3, 3) if QUICK else (40, 4, 5)
N_PAIRS = 200 if QUICK else 2000
GAMMA = 0.9
EPS64 = np.finfo(np.float64).eps
rng = np.random.default_rng(2024)          # the notebook's only random source
print(f"quick mode: {'on' if QUICK else 'off'} (S={S}, A={A}, {N_PAIRS} pairs)")

mdp = rls.mdps.make("garnet", S=S, A=A, branching=BRANCHING, gamma=GAMMA, rng=rng)
mdp

# %% [markdown]
# The instance is a *garnet*: every state-action pair $(s, a)$ moves to one of `BRANCHING`
# random next states with random probabilities, and pays a reward $R(s, a) \in [0, 1)$.
# The transition kernel is `mdp.P[s, a, s']` (shape `(S, A, S)`), the reward `mdp.R[s, a]`.
#
# ## 1. The Bellman operators
#
# For a policy $\pi$ (here a stochastic matrix `pi[s, a]`), the evaluation operator is
#
# $$ (T^\pi V)(s) = \sum_a \pi(a \mid s) \Big( R(s, a)
#    + \gamma \sum_{s'} P(s' \mid s, a) V(s') \Big) = R_\pi(s) + \gamma (P_\pi V)(s), $$
#
# and the optimality operator takes the best action instead of averaging:
#
# $$ (T V)(s) = \max_a \Big( R(s, a) + \gamma \sum_{s'} P(s' \mid s, a) V(s') \Big). $$
#
# `rls.bellman_evaluation(mdp, pi, V)` and `rls.bellman_optimality(mdp, V)` compute them
# (the latter also returns the greedy policy). We check $T^\pi$ against the matrix form
# $R_\pi + \gamma P_\pi V$, and that $T V \ge T^\pi V$ for every $\pi$ (a maximum is at least
# any average). Comparisons of computed numbers allow for float64 round-off, with the bound
# stated next to each (no tolerance is tuned to make a check pass).

# %%
pi = rng.dirichlet(np.ones(A), size=S)           # a random stochastic policy (S, A)
V = rng.normal(size=S)

TpiV = rls.bellman_evaluation(mdp, pi, V)
TV, greedy = rls.bellman_optimality(mdp, V)
matrix_form = mdp.R_pi(pi) + GAMMA * mdp.P_pi(pi) @ V

# Both sides sum S*A products of numbers bounded by max|R| + max|V|: the float64 round-off
# of each is at most (S*A + 2) * eps * (max|R| + gamma max|V|) [higham2002, §3.1].
roundoff = (S * A + 2) * EPS64 * (np.abs(mdp.R).max() + GAMMA * np.abs(V).max())
print("max |T^pi V - (R_pi + gamma P_pi V)| =", np.abs(TpiV - matrix_form).max(),
      " (round-off allowance", roundoff, ")")
assert np.abs(TpiV - matrix_form).max() <= 2 * roundoff
assert np.all(TV >= TpiV - 2 * roundoff)
print("greedy policy of V:", greedy)

# %% [markdown]
# The fixed point of $T^\pi$ is the value of $\pi$, $V^\pi = (I - \gamma P_\pi)^{-1} R_\pi$,
# which `rls.evaluate` computes by an LU solve. Applying $T^\pi$ to it changes nothing, up to
# the round-off of a backward-stable solve.

# %%
V_pi = rls.evaluate(mdp, pi)
fixed_point_residual = np.abs(rls.bellman_evaluation(mdp, pi, V_pi) - V_pi).max()
# LU with partial pivoting is backward stable: the computed V^pi solves (M + dM) x = R_pi with
# ||dM|| <= c S eps ||M|| [higham2002, Thm 9.4], and M = I - gamma P_pi is diagonally dominant
# (growth factor <= 2) with ||M||_inf <= 1 + gamma. So the residual is at most
# 4 S eps (1 + gamma) max|V^pi|, plus the round-off of evaluating T^pi itself (A + S + 2 terms).
v_max = np.abs(mdp.R).max() / (1 - GAMMA)      # |V^pi| <= max|R| / (1 - gamma)
allowance = (4 * S * (1 + GAMMA) + (S + A + 2)) * EPS64 * (v_max + np.abs(mdp.R).max())
print(f"||T^pi V^pi - V^pi||_inf = {fixed_point_residual:.2e}  (allowance {allowance:.1e})")
assert fixed_point_residual <= allowance

# %% [markdown]
# ## 2. Contraction, numerically
#
# $T$ and $T^\pi$ are **$\gamma$-contractions** in the sup norm [puterman2005, Prop 6.2.4]:
#
# $$ \|T U - T V\|_\infty \le \gamma \|U - V\|_\infty \quad \text{for all } U, V. $$
#
# (The reason: $|\max_a x_a - \max_a y_a| \le \max_a |x_a - y_a|$, and $P(\cdot \mid s, a)$
# averages $U - V$.) By Banach's fixed-point theorem $T$ has exactly one fixed point, $V^*$,
# and iterating $T$ from anywhere converges to it [puterman2005, Thm 6.2.3].
#
# Below: the ratio $\|TU - TV\|_\infty / \|U - V\|_\infty$ over many random pairs. The bound
# is attained by a constant shift: $T(V + c\mathbf{1}) = TV + \gamma c \mathbf{1}$ exactly.
# $T$ is also **monotone**: $U \le V$ entrywise implies $TU \le TV$.

# %%
def sup(x):
    return float(np.max(np.abs(x)))


def roundoff_T(*Vs):
    """Float64 error allowance of one computed backup (T V)(s): a sum of S products plus a
    reward and a max, so at most (S + 2) eps (max|R| + gamma max|V|) [higham2002, §3.1]."""
    return (S + 2) * EPS64 * (np.abs(mdp.R).max() + GAMMA * max(sup(v) for v in Vs))


ratios, violations, monotone_violations = [], 0, 0
for _ in range(N_PAIRS):
    U = rng.normal(scale=rng.uniform(0.1, 10.0), size=S)
    W = U + rng.normal(scale=rng.uniform(0.01, 5.0), size=S)
    TU, _ = rls.bellman_optimality(mdp, U)
    TW, _ = rls.bellman_optimality(mdp, W)
    ratios.append(sup(TU - TW) / sup(U - W))
    # the contraction inequality, with the round-off of the two computed backups as slack
    violations += sup(TU - TW) > GAMMA * sup(U - W) + 2 * roundoff_T(U, W)
    W_up = U + np.abs(W - U)                      # W_up >= U entrywise
    TW_up, _ = rls.bellman_optimality(mdp, W_up)
    monotone_violations += np.any(TW_up < TU - 2 * roundoff_T(U, W_up))
ratios = np.array(ratios)

c = 3.0
shift_gap = sup(rls.bellman_optimality(mdp, V + c)[0] - TV - GAMMA * c)

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.hist(ratios, bins=40, color="C0", alpha=0.8)
ax.axvline(GAMMA, color="k", linestyle="--", label=rf"$\gamma$ = {GAMMA}")
ax.set_xlabel(r"$\|TU - TV\|_\infty / \|U - V\|_\infty$")
ax.set_ylabel("pairs")
ax.set_title(f"{N_PAIRS} random pairs (U, V)")
ax.legend()
plt.show()

print(f"largest ratio {ratios.max():.6f} (gamma = {GAMMA}); contraction violated on "
      f"{violations} pairs, monotonicity on {monotone_violations}; "
      f"||T(V + c) - (TV + gamma c)||_inf = {shift_gap:.1e}")
assert violations == 0 and monotone_violations == 0
assert shift_gap <= 2 * roundoff_T(V, V + c)

# %% [markdown]
# ## 3. Value iteration and Puterman's stopping rule
#
# Value iteration computes $V_k = T V_{k-1}$ from $V_0 = 0$. Contraction gives two bounds:
#
# * *a priori*: $\|V_k - V^*\|_\infty \le \gamma^k \|V_0 - V^*\|_\infty$;
# * *a posteriori* (computable, no $V^*$ needed):
#   $\|V_k - V^*\|_\infty \le \frac{\gamma}{1-\gamma} \|V_k - V_{k-1}\|_\infty$.
#
# Puterman's rule stops at the first $k$ with
# $\|V_k - V_{k-1}\|_\infty < \varepsilon (1-\gamma) / (2\gamma)$; then
# $\|V_k - V^*\|_\infty < \varepsilon/2$ and the greedy policy of $V_k$ is
# $\varepsilon$-optimal: $\|V^{\pi_k} - V^*\|_\infty \le \varepsilon$
# [puterman2005, Thm 6.3.1]. We check all three guarantees against $V^*$ from policy
# iteration (whose own certified error is ~1e-12, see §4).

# %%
star = rls.solve(mdp, method="pi")
rows = []
for eps in (1e-1, 1e-3, 1e-6):
    sol = rls.dp.value_iteration(mdp, eps=eps)
    err = sup(sol.V - star.V)
    loss = sup(rls.evaluate(mdp, sol.policy) - star.V)
    rows.append({"eps": eps, "sweeps": sol.iterations, "converged": sol.converged,
                 "||V_k - V*||": err, "eps/2": eps / 2, "certificate error_bound": sol.error_bound,
                 "greedy loss ||V^pi_k - V*||": loss})
    # V* itself is only known to within star.error_bound, so each side gets that slack
    assert sol.converged
    assert err < eps / 2 + star.error_bound
    assert err <= sol.error_bound + star.error_bound
    assert loss <= eps + star.error_bound
pd.DataFrame(rows)

# %% [markdown]
# The certificate `error_bound` is the a-posteriori bound (plus a tiny float64 allowance): it
# always sits above the true error, and here it is close to it. The greedy policy is often
# optimal long before the values have converged (its loss is exactly 0 in most rows).
#
# ## 4. Certified solutions
#
# Every solver returns a `Solution` with
#
# * `error_bound`: a bound on $\|V - V^*\|_\infty$ computed from the returned $V$ alone:
#   $\|TV - V\|_\infty / (1-\gamma)$ for PI, MPI and LP [puterman2005, §6.6], the VI bound
#   above for VI;
# * `optimal_actions[s, a]`: `True` unless action $a$ is *provably* suboptimal at $s$.
#   With $e$ = `error_bound`, $Q = R + \gamma P V$ is within $\gamma e$ of $Q^*$, so an action
#   whose $Q$ is more than $2\gamma e$ (plus a round-off tolerance) below the best cannot be
#   optimal. The mask therefore contains **every** optimal action: ties are kept, never broken
#   silently.
#
# A loose solve (large $\varepsilon$) can rule out fewer actions; as the accuracy improves the
# mask shrinks to the truly optimal actions.

# %%
rows = []
for eps in (10.0, 1.0, 1e-1, 1e-3, 1e-8):
    sol = rls.dp.value_iteration(mdp, eps=eps)
    rows.append({"eps": eps, "error_bound": sol.error_bound,
                 "mean #actions kept per state": sol.optimal_actions.sum(axis=1).mean(),
                 "contains PI's optimal policy": bool(
                     sol.optimal_actions[np.arange(S), star.policy].all())})
    assert sol.optimal_actions[np.arange(S), star.policy].all()
print(f"policy iteration: {star}")
pd.DataFrame(rows)

# %% [markdown]
# **Ties.** Give the MDP an extra action that copies action 0. Wherever action 0 is optimal,
# so is its copy, and the certificate keeps both; `policy` reports the lowest index.

# %%
P_dup = np.concatenate([mdp.P, mdp.P[:, :1, :]], axis=1)      # (S, A + 1, S)
R_dup = np.concatenate([mdp.R, mdp.R[:, :1]], axis=1)         # (S, A + 1)
twin = rls.TabularMDP(P_dup, R_dup, GAMMA)
sol_twin = rls.solve(twin, method="pi")
mask = sol_twin.optimal_actions
print("states where action 0 is optimal:", np.flatnonzero(mask[:, 0]))
print("states where its copy (action", A, ") is optimal:", np.flatnonzero(mask[:, A]))
assert np.array_equal(mask[:, 0], mask[:, A])
assert np.all(sol_twin.policy != A)          # lowest-index rule: the copy is never reported

# %% [markdown]
# ## 5. VI, PI, modified PI and LP side by side
#
# All four solvers reach the same $V^*$ within their certificates, and every returned policy
# lies in the optimal-action mask. Policy iteration needs few (exact, costly) iterations;
# value iteration many cheap ones; modified PI sits in between; the LP is solved in one call
# by HiGHS [puterman2005, §6.4, §6.5, §6.9].

# %%
rows = []
for method in ("vi", "pi", "mpi", "lp"):
    t0 = time.perf_counter()
    sol = rls.solve(mdp, method=method)
    seconds = time.perf_counter() - t0
    gap = sup(sol.V - star.V)
    rows.append({"method": method, "iterations": sol.iterations, "seconds": seconds,
                 "error_bound": sol.error_bound, "||V - V*_PI||": gap,
                 "policy certified optimal": bool(star.optimal_actions[np.arange(S),
                                                                       sol.policy].all())})
    assert sol.converged
    # both solutions are certified: the triangle inequality bounds their distance
    assert gap <= sol.error_bound + star.error_bound
pd.DataFrame(rows)

# %% [markdown]
# ## 6. The convergence figure
#
# The gallery figure `vi_pi_convergence` (made by `rlsandbox figures vi_pi_convergence`,
# see `figures/README.md`) repeats this on many garnets with bootstrap confidence bands:
# (a) VI's error against $\gamma^k$ for several discounts, (b) how tight the a-priori and
# a-posteriori bounds are, (c) PI's error per improvement against VI's per sweep. Here it is
# in its quick configuration (exactly what the test suite runs).

# %%
from rlsandbox.experiments import vi_pi_convergence as fig_mod

config = fig_mod.QUICK
data = fig_mod.run(config, rng=np.random.default_rng(0))
fig = fig_mod.plot(data, config=config, n_boot=200, rng=np.random.default_rng(1))
fig

# %% [markdown]
# The plot reads only this tidy table (one row per instance, discount, quantity and iteration);
# it is what `figures/vi_pi_convergence.csv` holds for the published version.

# %%
data.head()

# %% [markdown]
# ## 7. The same facts as registered claims
#
# Each statement checked above is also a *claim* of `rlsandbox.proofs_check`: a theorem with
# its citation, an instance generator (named zoo instances plus seeded random MDPs), a
# measurement of both sides, and a **negative control**, a deliberately broken variant on
# which the same check must fail (otherwise the check could not detect anything).
# `rlsandbox verify classic --quick` runs all classic claims from the command line; here we run
# the ones this notebook is about, in quick mode, without a result store.

# %%
from rlsandbox.proofs_check import run, select

claims = select(["classic.bellman", "classic.vi", "classic.pi", "classic.certificates"])
result = run(claims, quick=True, seed=0)
table = pd.DataFrame([{
    "claim": r.claim.id, "cite": r.claim.cite, "kind": r.claim.kind,
    "instances": len(r.instances), "violations": r.verdict.violations,
    "worst margin": r.verdict.worst_margin, "median tightness": r.verdict.tightness,
    "negative control": "caught" if r.caught else "NOT CAUGHT",
} for r in result.claims])
print("status:", result.status)
assert result.status == "ok", table
table
