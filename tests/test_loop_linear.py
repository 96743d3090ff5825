"""LOOP's linear classes (card §3.7-§3.9 (b), (c)), FOPO, UCRL2-VTR and the AGEC diagnostics:
closed forms, brute-force statistics and the exact regret identity on every new learner."""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.algorithms.loop import (LinearStats, agec_ratios, bellman_error, decompose,
                                       fopo, loop_model_hard, loop_model_rectangular,
                                       loop_model_relaxed, loop_value,
                                       loop_value_linear, mixture_beta, mixture_evi, ucrl2_vtr,
                                       vtr_bernstein_radii, vtr_bernstein_weights)
from rlsandbox.algorithms.loop.hypotheses import Hypothesis
from rlsandbox.algorithms.loop.linear import _regression_stats
from rlsandbox.mdps.linear import random_linear_mdp, random_linear_mixture
from rlsandbox.mdps.loop import hard_instance_values, hard_linear_mixture, riverswim_model

EPS = np.finfo(np.float64).eps


@pytest.fixture(scope="module")
def lin():
    return random_linear_mdp(3, 2, 2, rng=np.random.default_rng(3))


@pytest.mark.parametrize("d, delta_inst, gap", [(2, 0.1, 0.05), (3, 0.1, 0.05), (4, 0.2, 0.1)])
def test_mixture_evi_true_theta_gives_card_values(d, delta_inst, gap):
    # card §5.2: J* = (delta + gap) / (2 delta + gap), sp(V*) = 1 / (2 delta + gap); beta = 0 and
    # the true theta make the relaxed EVI plain relative value iteration on the true model,
    # stopped at sp(Tu - u) < 1e-11 (gain within 1e-11 / 2)
    mix = hard_linear_mixture(d, delta_inst, gap)
    out = mixture_evi(mix.R, mix.psi, mix.theta, np.zeros((d, d)), 0.0, eps=1e-11)
    ref = hard_instance_values(delta_inst, gap)
    assert out["converged"]
    assert out["gain"] == pytest.approx(ref["J"], abs=1e-11)
    assert np.ptp(out["u"]) == pytest.approx(ref["span"], abs=1e-9)


def test_value_targeted_loss_is_an_ellipsoid():
    # card §3.9 (c), §4 C6 (ii): L(theta) - min L = ||theta - theta_hat||^2_Lam, brute force
    rng = np.random.default_rng(0)
    mix = random_linear_mixture(3, 2, 3, rng=rng)
    S, A, d, lam = 3, 2, 3, 1.0
    V = [rng.normal(size=S) for _ in range(2)]
    X = [np.einsum("jsat,t->saj", mix.psi, v) for v in V]
    s, a, s2 = rng.integers(0, S, 40), rng.integers(0, A, 40), rng.integers(0, S, 40)
    epoch = np.repeat([0, 1], 20)
    C = [np.zeros((S, A))] * 2
    Lam, b = _regression_stats(X, V, C, epoch, s, a, s2, lam, d)
    xs = np.stack([X[k][s[i], a[i]] for i, k in enumerate(epoch)])
    ys = np.array([V[k][s2[i]] for i, k in enumerate(epoch)])

    def loss(th):
        return float(((xs @ th - ys) ** 2).sum() + lam * th @ th)
    th_hat = np.linalg.solve(Lam, b)
    for _ in range(5):
        th = rng.normal(size=d)
        lhs = loss(th) - loss(th_hat)
        rhs = float((th - th_hat) @ Lam @ (th - th_hat))
        # float64: both sides are sums of 40 + d squares of O(|loss|) terms
        assert lhs == pytest.approx(rhs, abs=200 * EPS * loss(th))


def test_hard_closed_form_first_plan():
    # no data: Lam = lam I, vartheta_hat = 0, so p+ = delta + sqrt(beta) alpha sqrt(d - 1) for
    # every action (tie: the first action) [card §3.9 (c)]
    d, delta, gap = 3, 0.1, 0.05
    tr = loop_model_hard(d, delta, gap, 50, rng=0, beta=0.01)
    alpha = np.sqrt(gap / ((d - 1) * (1 + gap)))
    p = min(1.0, delta + 0.1 * alpha * np.sqrt(d - 1))
    assert tr.J[0] == pytest.approx(p / (p + delta), abs=1e-14)
    assert tr.pi[0, 0] == 0
    assert tr.V[0, 1] == pytest.approx(1 / (p + delta), abs=1e-13)


@pytest.mark.parametrize("learner", ["hard", "hard_doubling", "relaxed", "vtr", "linear", "fopo",
                                     "rectangular", "vtr_bernstein"])
def test_regret_identity_holds_for_every_learner(learner, lin):
    # card §3.4: the decomposition is exact for any hypothesis sequence with a_t = pi_f(s_t)
    if learner.startswith("hard"):
        mdp = hard_linear_mixture(3, 0.1, 0.05).to_tabular(gamma=1.0)
        tr = loop_model_hard(3, 0.1, 0.05, 800, rng=1,
                             switching="doubling" if learner.endswith("doubling") else "lazy")
    elif learner in ("relaxed", "vtr"):
        mix = random_linear_mixture(3, 2, 2, rng=np.random.default_rng(2))
        mdp = mix.to_tabular(gamma=1.0)
        tr = (loop_model_relaxed if learner == "relaxed" else ucrl2_vtr)(mix, 600, rng=1)
    elif learner == "vtr_bernstein":
        mix = hard_linear_mixture(3, 0.1, 0.05)
        mdp = mix.to_tabular(gamma=1.0)
        tr = ucrl2_vtr(mix, 600, rng=1, bonus="bernstein")
        assert tr.algorithm == "ucrl2_vtr[bernstein]" and tr.n_plans >= 2
    elif learner == "rectangular":
        mdp = riverswim_model(3)
        tr = loop_model_rectangular(mdp, 800, rng=1)
        assert tr.n_plans >= 2
    else:
        mdp = lin.to_tabular(gamma=1.0)
        tr = (loop_value_linear if learner == "linear" else fopo)(lin, 600, rng=1)
    dec = decompose(tr, mdp)
    assert abs(dec.regret - dec.loop_rhs) <= dec.tol_loop
    assert abs(dec.regret - dec.gap_rhs) <= dec.tol_gap


def _linear_excess(phi, tr, k, i, lam):
    st = LinearStats.from_data(phi, s=tr.s[:i], a=tr.a[:i], r=tr.r[:i], s_next=tr.s[1:i + 1])
    F = phi.reshape(-1, phi.shape[-1])
    w = np.linalg.lstsq(F, tr.Q[k].reshape(-1), rcond=None)[0]
    Lam = st.Lambda + lam * np.eye(F.shape[1])
    z = Lam @ w - (st.b_r - tr.J[k] * st.c + st.Nphi @ tr.V[k])
    return float(z @ np.linalg.solve(Lam, z))


def test_lazy_test_of_linear_loop_matches_bruteforce(lin):
    # each re-plan k >= 1 happens at the first step where the previous hypothesis' excess loss
    # (recomputed from scratch) exceeds c_sw beta [card §3.1]
    tr = loop_value_linear(lin, 3000, rng=4, c_beta=0.05)
    phi = np.asarray(lin.phi)
    thr = 4.0 * tr.beta
    assert tr.n_plans >= 2
    for k in range(1, tr.n_plans):
        i = int(tr.starts[k])
        assert _linear_excess(phi, tr, k - 1, i, 1.0) > thr * (1 - 1e-9)
        assert _linear_excess(phi, tr, k - 1, i - 1, 1.0) <= thr * (1 + 1e-9)


def test_fopo_replans_at_most_d_log_doubling(lin):
    # determinant doubling: det Lam_T <= (lam + T / d)^d for ||phi|| <= 1 (Dirichlet features),
    # so N(T) <= 1 + d log2(1 + T / (d lam)) [wei2021; card §4 C2]
    T, d = 3000, lin.d
    assert np.linalg.norm(lin.phi, axis=-1).max() <= 1.0
    tr = fopo(lin, T, rng=5)
    assert tr.n_plans <= 1 + d * np.log2(1 + T / d)


def test_mixture_beta_formula():
    # (span/2 sqrt(2 log(1/delta) + d log(1 + T x^2/(d lam))) + sqrt(lam) S)^2 [abbasi2011]
    got = mixture_beta(2, 100, 4.0, lam=2.0, delta=0.1, x_max=1.5, theta_norm=0.5)
    root = 2.0 * np.sqrt(2 * np.log(10) + 2 * np.log(1 + 100 * 2.25 / 4)) + np.sqrt(2) * 0.5
    assert got == pytest.approx(root ** 2, rel=1e-14)


def test_agec_ratios_match_bruteforce():
    mdp = riverswim_model(3)
    tr = loop_value(mdp, 120, rng=0)
    out = agec_ratios(tr, mdp)
    E = [bellman_error(Hypothesis(tr.Q[k], tr.J[k], tr.pi[k]), mdp) for k in range(tr.n_plans)]
    e, denom = [], 0.0
    for t in range(tr.T):
        Ek = E[tr.epoch[t]]
        e.append(Ek[tr.s[t], tr.a[t]])
        for i in range(t):                     # sum over the earlier samples, one by one
            denom += Ek[tr.s[i], tr.a[i]] ** 2
    tot = sum(e)
    burn = out["burn_in"]
    assert out["dominance_denominator"] == pytest.approx(denom, rel=1e-12)
    assert out["dominance"] == pytest.approx(max(tot - burn, 0) ** 2 / denom, rel=1e-10)
    assert out["transferability"] == pytest.approx(
        sum(x * x for x in e) / (tr.beta * np.log(tr.T)), rel=1e-12)


def test_bad_inputs():
    with pytest.raises(TypeError, match="stationary rlsandbox.LinearMDP"):
        loop_value_linear(riverswim_model(3), 10, rng=0)
    with pytest.raises(TypeError, match="LinearMixtureMDP"):
        ucrl2_vtr(riverswim_model(3), 10, rng=0)
    with pytest.raises(TypeError, match="fopo fixes switching"):
        fopo(random_linear_mdp(3, 2, 2, rng=0), 10, rng=0, switching="lazy")


def test_rectangular_relaxation_is_optimistic_on_riverswim():
    # card §3.9 (d)(ii): a superset of LOOP's set, so its gain is optimistic while f* is covered;
    # with the practical radius on RiverSwim-3 every plan has J >= J* (EVI accuracy: the gain is
    # the midpoint of [min, max](T u - u), within eps / 2 = 1 / (2 sqrt(t)) of the optimum)
    from rlsandbox.algorithms.loop import true_hypothesis
    mdp = riverswim_model(3)
    tr = loop_model_rectangular(mdp, 2000, rng=2)
    eps = 1.0 / np.sqrt(tr.starts + 1.0)
    assert np.all(tr.J >= true_hypothesis(mdp).J - eps / 2)


def test_olsvi_fh_blocks_and_first_plan(lin):
    # card §3.7: blocks of H steps; with no data every w_h = 0, so Q_h = min(bonus ||phi||/sqrt(lam),
    # H - h + 1) whatever V_{h+1} is, and the first block's J = V_1(s_1) / H is
    # max_a bonus ||phi(s_1, a)|| / H when that is below the first step's cap H
    from rlsandbox.algorithms.loop import olsvi_fh
    T, H = 256, 4
    tr = olsvi_fh(lin, T, rng=0, H=H)
    assert tr.n_plans == T // H and np.array_equal(tr.starts, np.arange(0, T, H))
    bonus = tr.info["bonus"]
    assert bonus == pytest.approx(0.1 * H * np.sqrt(lin.d * np.log(T)), rel=1e-15)
    widths = bonus * np.linalg.norm(lin.phi[tr.s[0]], axis=-1)
    assert widths.max() < H                             # the first step's cap is not active
    assert tr.J[0] == pytest.approx(widths.max() / H, rel=1e-12)


# ------------------------------------------------ (d-ii) inner step: QCQP vs closed form
# CLARABEL's default feasibility / gap tolerances are 1e-8 (relative); on these O(1) problems the
# QCQP's value and constraints are accurate to well under 1e-6, the allowance used below.
QCQP_TOL = 1e-6


def _random_blocks(rng, S, A, scale):
    k = S + 1
    x_hat = np.concatenate([rng.dirichlet(np.ones(S), size=(S, A)),
                            rng.uniform(0.1, 0.9, size=(S, A, 1))], axis=-1)
    G = rng.normal(size=(S, A, k, k))
    Lam = scale * (np.einsum("saij,sakj->saik", G, G) + np.eye(k))
    return x_hat, Lam


@pytest.mark.parametrize("seed", range(6))
def test_rectangular_qcqp_is_below_the_closed_form_and_valid(seed):
    # card §3.9 (d)(ii): the QCQP's set (ellipsoid and valid models) lies inside the closed
    # form's (ellipsoid, value range only), so exact <= relaxed; its maximiser is a valid model in
    # the ellipsoid; and it beats every sampled valid point of the ellipsoid (brute-force side)
    from rlsandbox.algorithms.loop import RectangularInnerStep
    rng = np.random.default_rng(seed)
    S, A, beta = 3, 2, float(rng.uniform(0.5, 3.0))
    x_hat, Lam = _random_blocks(rng, S, A, scale=float(rng.choice([2.0, 20.0])))
    exact, relaxed = RectangularInnerStep(S, A), RectangularInnerStep(S, A, exact=False)
    exact.set(x_hat, Lam, beta=beta)
    relaxed.set(x_hat, Lam, beta=beta)
    u = rng.uniform(0.0, 3.0, size=S)
    z = np.append(u, 1.0)
    v_ex, x_ex = exact(u)
    v_rel, _ = relaxed(u)
    assert exact.infeasible == 0                  # x_hat itself is valid: every set is non-empty
    assert np.all(v_ex <= v_rel + QCQP_TOL)
    assert np.all(x_ex[..., :S] >= -QCQP_TOL)
    assert np.all(np.abs(x_ex[..., :S].sum(-1) - 1) <= QCQP_TOL)
    assert np.all(x_ex[..., S] >= -QCQP_TOL) and np.all(x_ex[..., S] <= 1 + QCQP_TOL)
    dev = x_ex - x_hat
    assert np.all(np.einsum("sai,saij,saj->sa", dev, Lam, dev) <= beta * (1 + QCQP_TOL))
    # brute force: valid points x_hat + t (y - x_hat), y a random valid model, t as large as the
    # ellipsoid allows (<= 1 keeps them valid by convexity of the validity set)
    for _ in range(200):
        y = np.concatenate([rng.dirichlet(np.ones(S), size=(S, A)), rng.random((S, A, 1))], -1)
        e = y - x_hat
        t = np.minimum(1.0, np.sqrt(beta / np.einsum("sai,saij,saj->sa", e, Lam, e)))
        assert np.all((x_hat + t[..., None] * e) @ z <= v_ex + QCQP_TOL)


def test_rectangular_qcqp_equals_the_closed_form_when_the_maximiser_is_valid():
    # the two coincide exactly where the closed form's maximiser
    # x_hat + sqrt(beta) Lam^-1 z / ||z||_{Lam^-1} is itself valid: an interior x_hat, a small
    # radius, and Lam^-1 z with zero sum over the p coordinates (the closed form ignores
    # p.1 = 1). Construction: Lam block-diagonal between p and r, u = Lam_pp w with sum(w) = 0
    from rlsandbox.algorithms.loop import RectangularInnerStep
    S, A, k = 3, 2, 4
    rng = np.random.default_rng(5)
    x_hat = np.concatenate([np.full((S, A, S), 1.0 / S), np.full((S, A, 1), 0.5)], axis=-1)
    G = rng.normal(size=(S, S))
    Lpp = 400.0 * (G @ G.T / S + np.eye(S))
    Lam = np.zeros((S, A, k, k))
    Lam[..., :S, :S] = Lpp
    Lam[..., S, S] = 400.0
    w = rng.normal(size=S)
    u = Lpp @ (w - w.mean()) / 400.0
    exact, relaxed = RectangularInnerStep(S, A), RectangularInnerStep(S, A, exact=False)
    for step in (exact, relaxed):
        step.set(x_hat, Lam, beta=1.0)
    v_ex, _ = exact(u)
    v_rel, x_rel = relaxed(u)
    # the closed form's maximiser is valid here (float64 round-off of the solve: 1e-12)
    assert np.all(np.abs(x_rel[..., :S].sum(-1) - 1.0) <= 1e-12) and np.all(x_rel >= 0)
    assert np.all(x_rel[..., S] <= 1.0)
    assert np.allclose(v_ex, v_rel, atol=QCQP_TOL, rtol=0)
    # a u with Lam^-1 z off the simplex's tangent space: the closed form is strictly looser
    u2 = u + np.array([0.0, 1.0, 2.0])
    assert np.all(exact(u2)[0] < relaxed(u2)[0] - 1e-3)


def test_rectangular_runs_exact_and_relaxed_are_both_optimistic():
    # card §3.9 (d)(ii) on RiverSwim-3: with f* covered both planners are optimistic (J >= J*
    # up to EVI's stopping error eps / 2 = 1 / (2 sqrt(t + 1))). The first plan of both runs
    # sees the same (empty) data, so there exact <= relaxed; strictly here, since the ridge
    # centre x_hat = 0 is not a valid model and the QCQP must reach the simplex first
    from rlsandbox.algorithms.loop import true_hypothesis
    mdp = riverswim_model(3)
    J_star = true_hypothesis(mdp).J
    runs = {inner: loop_model_rectangular(mdp, 600, rng=2, inner=inner)
            for inner in ("qcqp", "closed_form")}
    for tr in runs.values():
        assert np.all(tr.J >= J_star - 0.5 / np.sqrt(tr.starts + 1.0))
    assert runs["qcqp"].J[0] < runs["closed_form"].J[0] - 1e-3
    assert runs["qcqp"].info["qcqp_infeasible"] == 0
    assert runs["closed_form"].algorithm == "loop_model_rectangular[closed_form]"


@pytest.mark.parametrize("d", [3, 5])
def test_bernstein_weights_with_the_true_theta_are_the_exact_variance(d):
    # card §3.8, vtr_bernstein_weights: with theta_hat = theta_tilde = theta* and no error term
    # (Linv = 0), Vbar(s, a) = Var_{P(.|s,a)} w. Hand-computed on the hard instance (card §5.2):
    # w = (-c, c) and x0 -> x1 w.p. p_a = delta + <a, theta>, x1 -> x0 w.p. delta, so
    # Var = 4 c^2 p (1 - p); sigma^2 = max(D^2 / d, Var). Tolerance: float64 round-off of
    # d-term inner products of size <= c^2 (a few eps c^2 d).
    mix = hard_linear_mixture(d, 0.1, 0.05)
    psi, theta = np.asarray(mix.psi), np.asarray(mix.theta)
    c, D = 1.7, 10.0
    w = np.array([-c, c])
    X = np.einsum("jsat,t->saj", psi, w)
    X2 = np.einsum("jsat,t->saj", psi, w ** 2)
    Z = np.zeros((d, d))
    out = vtr_bernstein_weights(X, X2, theta, Z, theta, Z, D, 1.0, 1.0)
    p = mix.to_tabular(gamma=1.0).P[:, :, 1].copy()
    p[1] = 1.0 - p[1]                                   # the probability of leaving x1
    tol = 16 * d * EPS * c ** 2
    np.testing.assert_allclose(out["variance"], 4 * c ** 2 * p * (1 - p), rtol=0, atol=tol)
    assert np.all(out["error"] == 0.0)
    np.testing.assert_allclose(out["sigma"] ** 2, np.maximum(D ** 2 / d, out["variance"]),
                               rtol=4 * EPS)


def test_bernstein_error_term_by_hand():
    # d = 1, h = D^2/4 = 4: E = min(h, D sqrt(beta_check) ||x||_{Linv})
    #                          + min(h, sqrt(beta_tilde) ||x2||_{L2inv})
    # = min(4, 4 * 1 * 0.2) + min(4, 2 * 0.3) = 1.4; with Linv = 4 the first term clips at h:
    # 4 + 0.6. Vbar = [x2 theta~]_[0, h] - [x theta^]_[-D/2, D/2]^2 = 1 - 0.25; sigma is the
    # floor D / sqrt(d) = 4 (Vbar + E <= 3 D^2/4 < D^2 when d = 1). A few roundings: 4 eps.
    for Linv, err in ((0.04, 1.4), (4.0, 4.6)):
        out = vtr_bernstein_weights([[[1.0]]], [[[1.0]]], [0.5], [[Linv]], [1.0], [[0.09]],
                                    4.0, 1.0, 4.0)
        assert out["error"].item() == pytest.approx(err, rel=4 * EPS)
        assert out["variance"].item() == 0.75 and out["sigma"].item() == 4.0


def test_weighted_regression_stats_match_weighted_least_squares():
    # _regression_stats with sigma: Lam = lam I + sum x x^T / sigma^2, b = sum x y / sigma^2, so
    # Lam^{-1} b is the ridge solution of the sqrt-weighted system (brute force via lstsq on the
    # stacked [X / sigma; sqrt(lam) I] system); tolerance: both solves of this 3x3 ridge system
    # are backward stable, so each is within ~d cond(Lam) eps ||x|| of the exact solution
    # (factor 8 for the two solves and the forming of Lam, b)
    rng = np.random.default_rng(5)
    S, A, d, lam = 3, 2, 3, 0.5
    Xs = [rng.normal(size=(S, A, d)) for _ in range(2)]
    Ws = [rng.normal(size=S) for _ in range(2)]
    Cs = [np.zeros((S, A)) for _ in range(2)]
    sig = [rng.uniform(0.5, 3.0, size=(S, A)) for _ in range(2)]
    n = 40
    s, a, s2 = rng.integers(S, size=n), rng.integers(A, size=n), rng.integers(S, size=n)
    epoch = np.repeat([0, 1], n // 2)
    Xw = [X / sg[:, :, None] for X, sg in zip(Xs, sig)]
    Lam, b = _regression_stats(Xw, Ws, Cs, epoch, s, a, s2, lam, d, sigma=sig)
    rows = np.array([Xs[k][s[i], a[i]] / sig[k][s[i], a[i]] for i, k in enumerate(epoch)])
    ys = np.array([Ws[k][s2[i]] / sig[k][s[i], a[i]] for i, k in enumerate(epoch)])
    M = np.vstack([rows, np.sqrt(lam) * np.eye(d)])
    ref = np.linalg.lstsq(M, np.concatenate([ys, np.zeros(d)]), rcond=None)[0]
    tol = 8 * d * np.linalg.cond(Lam) * EPS * max(1.0, np.abs(ref).max())
    np.testing.assert_allclose(np.linalg.solve(Lam, b), ref, rtol=0, atol=tol)


def test_bernstein_radii_closed_form_and_floor():
    # vtr_bernstein_radii at d = 2, hand-computed: L = x_max sqrt(d) / D, lg = log(4 T^2 / (delta/3))
    d, T, D, lam, delta, xm = 2, 100, 4.0, 1.0, 0.3, 2.0
    L = xm * np.sqrt(d) / D
    lg = np.log(4 * T ** 2 / 0.1)
    hat = (8 * np.sqrt(d * np.log(1 + T * L ** 2 / (d * lam)) * lg) + 4 * np.sqrt(d) * lg
           + 1.0) ** 2
    r = vtr_bernstein_radii(d, T, D, lam=lam, delta=delta, x_max=xm, x2_max=3.0)
    assert r["hat"] == pytest.approx(hat, rel=1e-14)
    assert r["check"] == pytest.approx(mixture_beta(d, T, np.sqrt(d), lam=lam, delta=0.1,
                                                    x_max=L), rel=1e-14)
    # in a run the estimated variance plus error lifts some weights above the floor
    # D / sqrt(d) (sigma = sqrt(max(D^2/d, Vbar + E)); at d = 3 Vbar + E can reach 3 D^2 / 4)
    mix = hard_linear_mixture(3, 0.1, 0.05)
    tr = ucrl2_vtr(mix, 400, rng=0, bonus="bernstein")
    assert max(tr.info["sigma_max"]) > 1.1 * tr.info["D"] / np.sqrt(3)
    with pytest.raises(ValueError, match="bonus"):
        ucrl2_vtr(mix, 10, rng=0, bonus="bernstien")
