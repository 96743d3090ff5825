"""Preference card algorithms beyond the core: constrained HyPO (§3.7), the box- and
ball-constrained log-linear fit (C12(d, e), §3.1), token-level DPO training (§2.7) and
warm-started penalised HyPO (C8(c)), each against a closed form, a finite difference, cvxpy
or a card fixture.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit

from rlsandbox.algorithms import preference as pref
from rlsandbox.algorithms.preference import token as tk
from rlsandbox.mdps import preference as inst

U = np.finfo(np.float64).eps / 2


def test_hypo_constrained_binds_on_p2_and_returns_min_kl_member_inside():
    # card §3.7 hypo_constrained(kappa): on P2 (full coverage) pi* has KL 0.07 < kappa = 2, so
    # the unique DPO minimiser pi* is returned with multiplier 0; a radius below KL(pi*)
    # binds: KL = kappa (bisection accuracy ~1e-7 relative) and the multiplier is positive
    b = inst.song_small_mass(1e-2)
    q = pref.population_pairs(b)
    lp, lam = pref.hypo_constrained(b, q, b.R / b.beta, pref.dpo(b.beta))
    assert lam == 0.0 and np.abs(np.exp(lp) - b.pi_star).max() < 1e-9
    kappa = 0.5 * pref.kl_to_reference(b, b.log_pi_star)
    lp, lam = pref.hypo_constrained(b, q, kappa, pref.dpo(b.beta))
    kl = pref.kl_to_reference(b, lp)
    assert lam > 0 and kl <= kappa and kl >= kappa * (1 - 1e-6)
    # its DPO loss is no larger than that of the piref -> pi* geometric path member inside
    # the ball with the same KL (a feasible competitor)
    loss = pref.dpo(b.beta)
    for t in np.linspace(0.0, 1.0, 41):
        z = (1 - t) * b.log_piref + t * b.log_pi_star
        other = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        if pref.kl_to_reference(b, other) <= kl:
            assert pref.preference_loss(b, q, lp, loss) <= \
                pref.preference_loss(b, q, other, loss) + 1e-9


def test_hypo_constrained_validation():
    b = inst.song_zero_mass()
    with pytest.raises(ValueError, match="kappa"):
        pref.hypo_constrained(b, pref.population_pairs(b), -1.0, pref.dpo(b.beta))


def test_loglinear_minimizer_is_stationary_and_matches_realisable_truth():
    # population data from a realisable bandit: the DPO fit is theta* exactly (card §2.6);
    # Newton stops at a step of 1e-13 relative, so the gradient is at round-off
    b, theta = inst.random_loglinear_bandit(rng=3, nX=5, K=4, d=3)
    q = pref.population_pairs(b)
    for loss in (pref.dpo(1.0), pref.rdpo(1.0, 0.2), pref.cdpo(1.0, 0.2)):
        th = pref.loglinear_minimizer(b, pref.noisy_population(q, 0.2) if loss.name != "dpo"
                                      else q, loss)
        g = pref.loss_gradient_loglinear(b, pref.noisy_population(q, 0.2)
                                         if loss.name != "dpo" else q, th, loss)
        assert np.abs(g).max() < 1e-12
    th = pref.loglinear_minimizer(b, q, pref.dpo(1.0))
    assert np.abs(th - theta).max() < 1e-9
    # rDPO on noisy population labels is unbiased (C12(c) in log-linear form), DPO is not
    noisy = pref.noisy_population(q, 0.2)
    assert np.abs(pref.loglinear_minimizer(b, noisy, pref.rdpo(1.0, 0.2)) - theta).max() < 1e-9
    assert np.abs(pref.loglinear_minimizer(b, noisy, pref.dpo(1.0)) - theta).max() > 0.1


def test_loglinear_minimizer_box_is_respected_when_rdpo_is_unbounded():
    # card C12(d): one pair with p_hat = 0.1 <= eps = 0.3: the rDPO loss is unbounded below;
    # the box [-bound, bound] keeps the fit finite, at the boundary
    b = pref.PreferenceBandit(piref=[[0.5, 0.5]], r=[[0.0, 0.0]], beta=1.0, phi=[[[1.0], [0.0]]])
    W = np.zeros((1, 2, 2))
    W[0, 0, 1], W[0, 1, 0] = 2, 18
    th = pref.loglinear_minimizer(b, pref.PairData(W), pref.rdpo(1.0, 0.3), bound=5.0)
    assert abs(abs(th[0]) - 5.0) < 1e-9


def _cvxpy_ball_fit(b, data, loss, bound):
    """The card §3.1 / §3.6 ball-constrained fit stated in cvxpy: f(z) = logistic(-z)."""
    cp = pytest.importorskip("cvxpy")
    xs, yp, ym = np.nonzero(data.W > 0)
    dphi = b.phi[xs, yp] - b.phi[xs, ym]
    th = cp.Variable(b.d)
    z = loss.a * (dphi @ th)
    obj = data.W[data.W > 0] @ (cp.logistic(-z) + loss.c * z)
    cp.Problem(cp.Minimize(obj), [cp.norm(th, 2) <= bound]).solve(solver="CLARABEL")
    return np.array(th.value)


@pytest.mark.parametrize("loss_name, bound", [("dpo", 0.5), ("dpo", 5.0), ("rdpo", 2.0)])
def test_loglinear_minimizer_l2_ball_matches_cvxpy(loss_name, bound):
    # card §3.1 (RLHF's linear class ||w|| <= B) and §3.6 (||theta||_2 <= B): on these 30
    # sampled pairs the unconstrained MLE has norm 3.2, so B = 0.5 binds, B = 5 does not (the
    # Newton branch), and rDPO with
    # eps = 0.45 on 30 pairs has no minimiser in a ball of radius 2 (C12(d): unbounded below)
    b, theta = inst.random_loglinear_bandit(rng=11, nX=4, K=5, d=3)
    rng = np.random.default_rng(5)
    data = pref.sample_pairs(b, 30, rng=rng)
    loss = pref.dpo(1.0) if loss_name == "dpo" else pref.rdpo(1.0, 0.45)
    if loss_name == "rdpo":
        data = pref.flip_labels(data, 0.45, rng=rng)
    th = pref.loglinear_minimizer(b, data, loss, bound=bound, norm="2")
    ref = _cvxpy_ball_fit(b, data, loss, bound)
    assert np.linalg.norm(th) <= bound * (1 + 4 * U)
    # KKT of the ball [boyd2004, §5.5.3] at our point: grad F = -nu theta, nu >= 0 when the ball
    # binds, grad F = 0 inside; the radius is matched to 1e-12 relative, so the residual is at
    # that level times the gradient's scale
    g = pref.loss_gradient_loglinear(b, data, th, loss)
    if np.linalg.norm(th) < bound * (1 - 1e-9):
        assert np.linalg.norm(g) <= 1e-9
    else:
        nu = -float(g @ th) / bound ** 2
        assert nu > 0 and np.linalg.norm(g + nu * th) <= 1e-9 * (1 + np.linalg.norm(g))
    # Clarabel stops at a relative duality gap of 1e-8: the objectives agree to that (x100 for
    # the exponential-cone feasibility slack), the points to ~sqrt of it (curvature O(1))
    W = data.W[data.W > 0]
    xs, yp, ym = np.nonzero(data.W > 0)
    dphi = b.phi[xs, yp] - b.phi[xs, ym]

    def value(t):
        return float(W @ loss.value(dphi @ t))
    assert value(th) <= value(ref) + 1e-6 * (1 + abs(value(ref)))
    assert np.linalg.norm(th - ref) <= 1e-4


def test_token_dpo_gradient_matches_finite_differences():
    tree = inst.random_token_tree(rng=2, V=2, T=3, nX=1)
    b = tk.to_bandit(tree)
    data = pref.sample_pairs(b, 50, rng=0)
    loss = pref.dpo(tree.beta)
    one = tk.train_token(tree, data, loss, steps=1, lr=1e-3, record=[0, 1])
    # the step moves theta by -lr grad: the loss drops by lr ||grad||^2 to first order;
    # compare with a central finite-difference directional derivative along the step
    theta0 = [np.array(z) for z in tree.log_piref]
    theta1 = [np.array(z) for z in one.log_pi]

    def L(levels):
        lp = tk.policy_levels_from_logits(levels)
        seq = tk.sequence_sum(lp, tree.T).reshape(1, -1)
        return pref.preference_loss(b, data, seq, loss)

    d = [a - c for a, c in zip(theta1, [z - np.log(np.exp(z).sum(-1, keepdims=True))
                                        for z in theta0])]
    h = 1e-4
    fd = (L([a + h * e for a, e in zip(theta0, d)]) - L([a - h * e for a, e in zip(theta0, d)]))
    fd /= 2 * h
    # d = -lr grad + a per-state constant (normalisation), and grad sums to 0 over each
    # state's actions, so dL/dt along d = -lr ||grad||^2 = -||d - mean d||^2 / lr.
    # Central difference: truncation O(h^2 ||d||^3) ~ 1e-14, round-off ~ U L / h ~ 1e-10
    grad_sq = sum(float(((e - e.mean(axis=-1, keepdims=True)) ** 2).sum()) for e in d) / 1e-3
    assert grad_sq > 0
    assert abs(fd + grad_sq) <= 1e-6 * grad_sq


@pytest.mark.parametrize("name", ["simpo", "dpo_noref"])
def test_token_reference_free_gradient_matches_finite_differences(name):
    # card §3.5: sequence SimPO uses the mean token log-prob margin (1/|y|) log pi(y+|x) -
    # (1/|y|) log pi(y-|x), |y| = T here; DPO-noref the summed one (card §3.2). The loss is
    # written out here from those definitions, independently of train_token
    tree = inst.random_token_tree(rng=6, V=2, T=3, nX=2)
    b = tk.to_bandit(tree)
    data = pref.sample_pairs(b, 60, rng=1)
    loss = pref.simpo(2.0, 1.0) if name == "simpo" else pref.dpo_noref(tree.beta)
    scale = 1.0 / tree.T if name == "simpo" else 1.0
    xs, yp, ym = np.nonzero(data.W > 0)

    def L(levels):
        seq = tk.sequence_sum(tk.policy_levels_from_logits(levels), tree.T).reshape(2, -1)
        return float(data.W[data.W > 0] @ loss.value(scale * (seq[xs, yp] - seq[xs, ym])))
    lr = 1e-3
    one = tk.train_token(tree, data, loss, steps=1, lr=lr, record=[0, 1])
    theta0 = [np.array(z) for z in tree.log_piref]
    d = [np.array(a) - c for a, c in zip(one.log_pi, theta0)]   # -lr grad + per-state consts
    h = 1e-4
    fd = (L([a + h * e for a, e in zip(theta0, d)]) - L([a - h * e for a, e in zip(theta0, d)]))
    fd /= 2 * h
    # as in the DPO test: dL/dt along d = -||d - mean d||^2 / lr; central difference
    # truncation O(h^2) ~ 1e-8 relative, round-off ~ U L / h ~ 1e-12
    grad_sq = sum(float(((e - e.mean(axis=-1, keepdims=True)) ** 2).sum()) for e in d) / lr
    assert grad_sq > 0
    assert abs(fd + grad_sq) <= 1e-6 * grad_sq
    assert abs(one.loss[0] - L(theta0)) <= 1e-13 * abs(L(theta0))


def test_token_simpo_reaches_the_card_root_whatever_the_reference():
    # card C13 / §3.5: one compared pair with P(y > y') = p = 0.8, simpo_beta = 2, gamma = 1:
    # the stationary mean-log-prob margin is the root 1.07698 of p sigma(gamma - beta u) =
    # (1 - p) sigma(beta u + gamma) (card: "root 1.07698"), and SimPO ignores piref
    p, sb, sg = 0.8, 2.0, 1.0
    root = pref.simpo_stationary_margin(p, sb, sg)
    assert abs(root - 1.07698) <= 5e-6                  # card prints 6 significant digits
    loss = pref.simpo(sb, sg)
    for seed in (0, 1):
        tree = inst.random_token_tree(rng=seed, V=2, T=2, nX=1)
        W = np.zeros((1, 4, 4))
        W[0, 0, 3], W[0, 3, 0] = p, 1 - p                 # y = (0, 0) vs y' = (1, 1)
        out = tk.train_token(tree, pref.PairData(W), loss, steps=400, lr=2.0, record=[400])
        seq = out.logpi_path[-1, 0]
        u = (seq[0] - seq[3]) / tree.T
        # dL/du and L''(u*) in closed form; |u - u*| <= |L'(u)| / min L'' near u*, and L'' is
        # within 10% of L''(u*) there: bound with a factor 2
        dL = sb * (-p * expit(sg - sb * u) + (1 - p) * expit(sb * u + sg))
        d2 = sb ** 2 * (p * expit(sg - sb * root) * expit(sb * root - sg)
                        + (1 - p) * expit(sb * root + sg) * expit(-sb * root - sg))
        assert abs(dL) <= 1e-10
        assert abs(u - root) <= 2 * abs(dL) / d2 + 8 * U


def test_token_dpo_equals_bandit_dpo_at_the_optimum():
    # card §2.7 (c): token-level DPO and sequence-level DPO share the optimum pi*
    tree = inst.random_token_tree(rng=4, V=2, T=2, nX=2)
    b = tk.to_bandit(tree)
    out = tk.train_token(tree, pref.population_pairs(b), pref.dpo(tree.beta), steps=4000,
                         lr=2.0, record=[4000])
    assert np.abs(np.exp(out.logpi_path[-1]) - b.pi_star).max() < 1e-6




def test_hypo_penalized_warm_start_reaches_the_same_minimiser():
    # card C8(c) P1 fixture pi(a) = 0.8272 at lam = 0.1 (printed to 4 decimals), from piref
    # and from pi*; both solves stop at gradient 1e-11, the problem's curvature is O(0.1):
    # the two minimisers agree to 1e-8
    b = inst.song_zero_mass()
    q = pref.population_pairs(b)
    cold = pref.hypo_penalized(b, q, 0.1, pref.dpo(b.beta))
    warm = pref.hypo_penalized(b, q, 0.1, pref.dpo(b.beta), logpi0=b.log_pi_star)
    assert abs(np.exp(cold[0, 0]) - 0.8272) <= 5e-5
    assert np.abs(np.exp(cold) - np.exp(warm)).max() <= 1e-8
    with pytest.raises(ValueError, match="logpi0"):
        pref.hypo_penalized(b, q, 0.1, pref.dpo(b.beta), logpi0=np.zeros((2, 3)))


def test_token_identities_with_reference_zeros_are_never_nan():
    # card §6 pitfall 2 / issue "never NaN": a tree whose piref has zeros (pi* = 0 there, both
    # sides of each log identity -inf) -- every C14 identity still holds to its round-off
    # allowance, and the control (piref dropped inside V) still breaks them with finite errors
    t = inst.random_token_tree(rng=3, V=3, T=3, nX=2)
    lp = [np.array(level) for level in t.log_piref]
    lp[0][0, 2] = -np.inf
    lp[1][1, 0, 1] = -np.inf
    lp = [level - np.log(np.exp(level).sum(axis=-1, keepdims=True)) for level in lp]
    tree = tk.TokenTree(lp, t.r, t.beta)
    errs = tk.identity_errors(tree, rng=1)
    assert all(np.isfinite(e) and e <= tol for e, tol in errs.values()), errs
    bad = tk.identity_errors(tree, rng=1, reference_in_value=False)
    assert not any(np.isnan(e) for e, _ in bad.values())
    assert bad["normalisation"][0] > 100 * bad["normalisation"][1]
