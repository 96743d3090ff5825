"""Preference bandits (card preference_coverage §2-3): model objects, data, losses, exact
solutions and training, against hand computations, the card's fixtures and "reduces to"
identities.

Tolerances. float64 round-off only, with the constant stated where it is used; ``U`` below is
the unit round-off 2^-53. Card fixtures are printed to 3-6 significant digits, so they are
compared at half a unit of their last printed digit. Finite-difference gradients use central
differences with step h = 1e-6: truncation error <= h^2/6 max|ell'''| and round-off
<= 2 U |L| / h, both far below the 1e-7 used.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, strategies as st
from scipy.optimize import linprog, minimize_scalar

from rlsandbox.algorithms import preference as pref
from rlsandbox.algorithms.preference import token as tk
from rlsandbox.mdps import preference as inst

EPS = np.finfo(np.float64).eps


@st.composite
def bandits(draw, zeros: bool = False, separate_mu: bool = False):
    """Random bandits of the card's §4 distribution (drawn through the zoo builder)."""
    seed = draw(st.integers(0, 2**32 - 1))
    zero_prob = draw(st.sampled_from([0.0, 0.3])) if zeros else 0.0
    return inst.random_preference_bandit(rng=seed, zero_prob=zero_prob, separate_mu=separate_mu)


def random_logpi(b, rng, conc=1.0):
    """A random policy supported on the reference support."""
    w = rng.dirichlet(np.full(b.K, conc), size=b.nX) * b.support
    w = np.maximum(w, 1e-300) * b.support
    return pref.log_policy(w / w.sum(1, keepdims=True))


# =============================================================================== model
def test_two_response_hand_computation():
    # piref = (1/2, 1/2), r = (1, 0), beta = 1: pi*(a) = e / (e + 1), log Z = log((e+1)/2),
    # KL(pi* || piref) = pi*(a) log(2 pi*(a)) + pi*(b) log(2 pi*(b)), J* = log Z
    b = pref.PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    pa = np.e / (np.e + 1)
    assert abs(b.pi_star[0, 0] - pa) <= 4 * EPS
    kl = pa * np.log(2 * pa) + (1 - pa) * np.log(2 * (1 - pa))
    assert abs(pref.kl_to_reference(b, b.log_pi_star) - kl) <= 16 * EPS
    assert abs(b.J_star - np.log((np.e + 1) / 2)) <= 4 * EPS
    assert abs(pref.objective(b, b.log_pi_star) - b.J_star) <= 16 * EPS


def test_p1_fixtures():
    # card C4, instance P1: pi* = (0.880797, 0.119203, 0); KL = 0.327813; J = 0.716890;
    # per-labelled-pair minimum DPO loss = binary entropy of sigma(1) = 0.582203 nats
    b = inst.song_zero_mass()
    np.testing.assert_allclose(b.pi_star[0], [0.880797, 0.119203, 0.0], rtol=0, atol=5e-7)
    assert abs(pref.kl_to_reference(b, b.log_pi_star) - 0.327813) <= 5e-7
    assert abs(b.J_star - 0.716890) <= 5e-7
    q = pref.population_pairs(b)
    assert abs(pref.preference_loss(b, q, b.log_pi_star, pref.dpo(b.beta)) - 0.582203) <= 5e-7


def test_p1_family_has_same_dpo_loss_and_infinite_kl():
    # card C4: pi_t = ((1-t) pi*(a), (1-t) pi*(b), t) has the DPO loss of pi* for every t,
    # KL = +inf and J = -inf for t > 0, true reward (1-t) 0.880797
    b = inst.song_zero_mass()
    q = pref.population_pairs(b)
    base = pref.preference_loss(b, q, b.log_pi_star, pref.dpo(b.beta))
    for t in (0.1, 0.5, 0.99):
        pi = np.array([[(1 - t) * b.pi_star[0, 0], (1 - t) * b.pi_star[0, 1], t]])
        lp = pref.log_policy(pi)
        # the margin h = log(pi(a)/pi(b)) is unchanged by the common factor (1-t): the loss
        # agrees to a few ulps of its value
        assert abs(pref.preference_loss(b, q, lp, pref.dpo(b.beta)) - base) <= 8 * EPS
        assert pref.kl_to_reference(b, lp) == np.inf
        assert pref.objective(b, lp) == -np.inf
        g = pref.gaps(b, lp)
        assert g.G_J == np.inf and abs(g.G_r - t * b.pi_star[0, 0]) <= 8 * EPS


@given(bandits(zeros=True))
def test_gap_identity_and_F1(b):
    # (F1) J(pi*) = beta sum rho log Z = max J; (F2) J(pi*) - J(pi) = beta KL(pi || pi*)
    rng = np.random.default_rng(0)
    lp = random_logpi(b, rng)
    lhs = b.J_star - pref.objective(b, lp)
    g = pref.gaps(b, lp)
    # both sides are sums of nX*K terms of size <= |r| + beta |log pi|: relative round-off
    # a few hundred ulps of the largest term
    scale = np.abs(b.r).max() + b.beta * (np.abs(lp[np.isfinite(lp)]).max() + 1)
    assert abs(lhs - g.G_J) <= 200 * EPS * scale
    assert g.G_J >= 0
    assert abs(pref.objective(b, b.log_pi_star) - b.J_star) <= 200 * EPS * scale


@given(bandits(zeros=True))
def test_gibbs_shift_invariance_and_support(b):
    # (F3) per-prompt shifts leave pi_r unchanged; (F4) supp pi_r = S_ref
    c = np.arange(b.nX, dtype=float)[:, None] * 3.7
    lp1, lp2 = pref.gibbs(b), pref.gibbs(b, b.r + c)
    np.testing.assert_allclose(np.exp(lp1), np.exp(lp2), rtol=0, atol=64 * EPS)
    assert np.array_equal(np.isfinite(lp1), b.support)


def test_log_space_keeps_underflowing_members_meaningful():
    # card C5 at delta = 1e-8: pi^delta puts mass e^{-2000} on a and b (0 as a float), but its
    # log-ratios are finite and its in-distribution error is (1 - delta) eps (card C5)
    b = inst.song_small_mass(1e-8)
    eps = 0.01
    lp = pref.gibbs(b, b.r + np.sqrt(eps / 1e-8) * np.array([[0.0, 0.0, 1.0]]))
    assert np.isfinite(lp).all() and np.exp(lp[0, 0]) == 0.0
    err = pref.dpo_error(b, lp)
    # g = r_shift/beta - log Z: log Z ~ 2000 absorbs 2000 of magnitude, error ~ U * 2000^2
    assert abs(err - (1 - 1e-8) * eps) <= 1e-9
    g = pref.gaps(b, lp)
    assert abs(g.kl_ref - 18.421) <= 5e-4                # card fixture (KL, G_J, G_r)
    assert abs(g.G_J - 10.020) <= 5e-4 and abs(g.G_r - 0.866) <= 5e-4


def test_bandit_validation_messages():
    with pytest.raises(ValueError, match="rho\\[1\\] == 0.0; every prompt needs rho"):
        pref.PreferenceBandit(piref=[[0.5, 0.5], [0.5, 0.5]], r=np.zeros((2, 2)), beta=1.0,
                              rho=[1.0, 0.0])
    with pytest.raises(ValueError, match="mu\\[0, 2\\] = 0.2 > 0 but piref\\[0, 2\\] = 0"):
        pref.PreferenceBandit(piref=[[0.5, 0.5, 0.0]], r=np.zeros((1, 3)), beta=1.0,
                              mu=[[0.4, 0.4, 0.2]])
    with pytest.raises(ValueError, match="spans 2 over the reference support, more than R = 1"):
        pref.PreferenceBandit(piref=[[0.5, 0.5]], r=[[2.0, 0.0]], beta=1.0, R=1.0)
    with pytest.raises(ValueError, match="beta == 0.0, must be in"):
        pref.PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=0.0)
    with pytest.raises(ValueError, match="K = 1 response"):
        pref.PreferenceBandit(piref=[[1.0]], r=[[1.0]], beta=1.0)
    with pytest.raises(ValueError, match="sums to"):
        pref.PreferenceBandit(piref=[[0.5, 0.6]], r=[[1.0, 0.0]], beta=1.0)
    b = inst.song_zero_mass()
    with pytest.raises(ValueError, match="logpi\\[0, 1\\] is nan"):
        pref.kl_to_reference(b, [[0.0, np.nan, -np.inf]])
    with pytest.raises(ValueError, match="must exponentiate to a distribution"):
        pref.kl_to_reference(b, [[0.0, 0.0, -np.inf]])


# ================================================================================ data
@given(bandits(separate_mu=True))
def test_population_pairs_are_bradley_terry(b):
    q = pref.population_pairs(b)
    assert abs(q.total - 1.0) <= 64 * EPS
    edge = q.edge_weight > 0
    # the labelled win rate of every edge is sigma(r(y) - r(y')) (card §2.3)
    np.testing.assert_allclose(q.win_rate()[edge], pref.bt_probability(b.r)[edge],
                               rtol=16 * EPS, atol=16 * EPS)
    assert not (q.covered & ~b.support).any()


def test_sampled_pairs_match_population_in_expectation():
    b = inst.random_preference_bandit(rng=3, nX=2, K=4)
    q = pref.population_pairs(b).W
    n = 20_000
    N = pref.sample_pairs(b, n, rng=1).W
    assert N.sum() == n
    # each count is Binomial(n, q): |N - n q| <= 5 sd except with prob < 6e-7 per cell
    assert (np.abs(N - n * q) <= 5 * np.sqrt(n * q * (1 - q)) + 1e-12).all()
    assert np.array_equal(N, pref.sample_pairs(b, n, rng=1).W)        # same seed, same data


def test_flip_labels_expectation():
    b = inst.random_preference_bandit(rng=4, nX=1, K=3)
    data = pref.sample_pairs(b, 5000, rng=0)
    eps = 0.2
    flipped = np.mean([pref.flip_labels(data, eps, rng=s).W for s in range(200)], axis=0)
    expect = pref.noisy_population(data, eps).W
    # the flipped count of a cell is a sum of two binomials: variance <= N eps (1 - eps) summed
    # over both orientations; mean of 200 runs: 5 sd of that mean
    sd = np.sqrt((data.W + data.W.transpose(0, 2, 1)) * eps * (1 - eps) / 200)
    assert (np.abs(flipped - expect) <= 5 * sd + 1e-12).all()
    assert pref.flip_labels(data, eps, rng=1).total == data.total


def test_pair_data_validation():
    W = np.zeros((1, 2, 2))
    with pytest.raises(ValueError, match="all zeros"):
        pref.PairData(W)
    W[0, 1, 1] = 1
    with pytest.raises(ValueError, match="W\\[0, 1, 1\\] = 1; a comparison of a response with"):
        pref.PairData(W)
    b = inst.song_zero_mass()
    bad = pref.pairs_from_list(1, 3, [(0, 0, 2)])
    with pytest.raises(ValueError, match="compares response 2 at prompt 0, where piref = 0"):
        pref.preference_loss(b, bad, b.log_pi_star, pref.dpo(0.5))
    with pytest.raises(ValueError, match="flip rate must be < 1/2"):
        pref.noisy_population(pref.pairs_from_list(1, 2, [(0, 0, 1)]), 0.5)


def test_comparison_graph_components_and_zermelo():
    W = np.zeros((2, 5, 5))
    W[0, 0, 1] = W[0, 1, 2] = W[0, 2, 0] = 1      # a 3-cycle: strongly connected
    W[0, 3, 4] = 1                                 # one-way pair: no MLE
    W[1, 0, 1] = W[1, 1, 0] = 2
    g = pref.comparison_graph(pref.PairData(W))
    assert g.labels.tolist() == [[0, 0, 0, 1, 1], [0, 0, -1, -1, -1]]
    assert g.n_components.tolist() == [2, 1]
    assert g.strongly_connected.tolist() == [[True, False], [True, False]]
    assert not g.mle_exists


# ============================================================================== losses
def test_logistic_identities():
    z = np.linspace(-30, 30, 121)
    f = pref.logistic_loss
    # f(-z) = f(z) + z (card §2.1); the sum f(z) + z cancels up to U (|z| + f(z))
    assert (np.abs(f(-z) - (f(z) + z)) <= 4 * EPS * (np.abs(z) + 1)).all()
    for eps in (0.1, 0.3, 0.45):
        rd, cd = pref.rdpo(1.0, eps), pref.cdpo(1.0, eps)
        # C12(b): rDPO's closed form; C12(a): unbiased under flips; cDPO = f(z) + eps z
        num = ((1 - eps) * f(z) - eps * f(-z)) / (1 - 2 * eps)
        scale = (np.abs(z) + 1) / (1 - 2 * eps)
        assert (np.abs(rd.value(z) - num) <= 16 * EPS * scale).all()
        unbiased = (1 - eps) * rd.value(z) + eps * rd.value(-z)
        assert (np.abs(unbiased - f(z)) <= 16 * EPS * scale).all()
        assert (np.abs(cd.value(z) - ((1 - eps) * f(z) + eps * f(-z))) <= 16 * EPS * scale).all()


def test_simpo_without_margin_is_noref_dpo():
    # SimPO with |y| = 1 and gamma = 0 reduces to the reference-free DPO loss with beta = scale
    z = np.linspace(-5, 5, 11)
    assert np.array_equal(pref.simpo(2.0, 0.0).value(z), pref.dpo_noref(2.0).value(z))


@pytest.mark.parametrize("loss", [pref.dpo(0.7), pref.dpo_noref(0.7), pref.ipo(0.3),
                                  pref.rdpo(0.7, 0.2), pref.cdpo(0.7, 0.2),
                                  pref.simpo(2.0, 1.0)], ids=lambda l: l.name)
def test_loss_gradients_match_finite_differences(loss):
    b = inst.random_preference_bandit(rng=11, nX=2, K=4, d=3)
    data = pref.sample_pairs(b, 50, rng=2)
    rng = np.random.default_rng(5)
    theta = np.log(b.piref) + rng.normal(size=b.piref.shape)
    lp = theta - np.log(np.exp(theta).sum(1, keepdims=True))
    G = pref.loss_gradient_logits(b, data, lp, loss)
    h = 1e-6
    for x in range(b.nX):
        for y in range(b.K):
            tp, tm = theta.copy(), theta.copy()
            tp[x, y] += h
            tm[x, y] -= h
            Lp = pref.preference_loss(b, data, tp - np.log(np.exp(tp).sum(1, keepdims=True)),
                                      loss)
            Lm = pref.preference_loss(b, data, tm - np.log(np.exp(tm).sum(1, keepdims=True)),
                                      loss)
            assert abs((Lp - Lm) / (2 * h) - G[x, y]) <= 1e-7 * max(1.0, abs(Lp))
    th = rng.normal(size=b.d)
    Gl = pref.loss_gradient_loglinear(b, data, th, loss)
    for i in range(b.d):
        e = np.zeros(b.d)
        e[i] = h
        Lp = pref.preference_loss(b, data, pref.loglinear_policy(b, th + e), loss)
        Lm = pref.preference_loss(b, data, pref.loglinear_policy(b, th - e), loss)
        assert abs((Lp - Lm) / (2 * h) - Gl[i]) <= 1e-7 * max(1.0, abs(Lp))


def test_kl_gradients_match_finite_differences():
    b = inst.random_preference_bandit(rng=12, nX=2, K=4, d=2, zero_prob=0.3)
    rng = np.random.default_rng(1)
    theta = np.where(b.support, np.log(np.where(b.support, b.piref, 1)) +
                     rng.normal(size=b.piref.shape), -np.inf)
    norm = lambda t: t - np.log(np.exp(t).sum(1, keepdims=True))  # noqa: E731
    G = pref.kl_gradient_logits(b, norm(theta))
    h = 1e-6
    for x, y in zip(*np.nonzero(b.support)):
        tp, tm = theta.copy(), theta.copy()
        tp[x, y] += h
        tm[x, y] -= h
        d = (pref.kl_to_reference(b, norm(tp)) - pref.kl_to_reference(b, norm(tm))) / (2 * h)
        assert abs(d - G[x, y]) <= 1e-7
    assert (G[~b.support] == 0).all()
    th = rng.normal(size=2)
    Gl = pref.kl_gradient_loglinear(b, th)
    for i in range(2):
        e = np.zeros(2)
        e[i] = h
        d = (pref.kl_to_reference(b, pref.loglinear_policy(b, th + e)) -
             pref.kl_to_reference(b, pref.loglinear_policy(b, th - e))) / (2 * h)
        assert abs(d - Gl[i]) <= 1e-7


def test_dpo_gradient_hand_computation():
    # one pair y0 > y1 at piref: h = 0, gradient -beta sigma(0) (e0 - e1) = (-beta/2, beta/2)
    b = pref.PreferenceBandit(piref=[[0.2, 0.3, 0.5]], r=np.zeros((1, 3)), beta=0.8)
    G = pref.loss_gradient_logits(b, pref.pairs_from_list(1, 3, [(0, 0, 1)]), b.log_piref,
                                  pref.dpo(0.8))
    assert G.tolist() == [[-0.4, 0.4, 0.0]]


# ============================================================================== exact
@given(bandits(zeros=True, separate_mu=True))
def test_bt_mle_recovers_reward_up_to_component_constants(b):
    # card C3: population data -> BT scores = r* + c per component
    q = pref.population_pairs(b)
    fit = pref.bt_mle(q)
    g = fit.graph
    for x in range(b.nX):
        for k in range(int(g.n_components[x])):
            idx = g.members(x, k)
            d = fit.scores[x, idx] - b.r[x, idx]
            # Newton runs until its step is at round-off level: the scores are then exact up
            # to ~ cond(H) ulps, H the pinned Hessian (Laplacian with weights W sigma sigma')
            # at the solution; 64 for headroom
            Wc = q.W[x][np.ix_(idx, idx)]
            dr = b.r[x, idx][:, None] - b.r[x, idx][None, :]
            A = (Wc + Wc.T) * np.exp(-np.logaddexp(0, dr) - np.logaddexp(0, -dr))
            H = (np.diag(A.sum(axis=1)) - A)[:-1, :-1]
            assert np.ptp(d) <= 64 * EPS * np.linalg.cond(H) * (1 + np.abs(b.r).max())
            assert fit.exists[x, k]


@given(bandits())
def test_full_coverage_dpo_minimizer_is_pi_star(b):
    # card C3(a): connected graph covering every response -> M = {pi*}
    q = pref.population_pairs(b)
    M = pref.dpo_minimizer_set(b, q)
    assert M.is_singleton
    np.testing.assert_allclose(np.exp(M.gd_limit()), b.pi_star, rtol=0, atol=1e-8)
    assert M.sup_gap() <= 1e-8 * max(1.0, b.beta)


def test_p1_minimizer_set_worst_cases():
    b = inst.song_zero_mass()
    M = pref.dpo_minimizer_set(b, pref.population_pairs(b))
    assert not M.is_singleton
    assert M.sup_kl_reference() == np.inf and M.sup_gap() == np.inf
    # inf E r* = min(E_{w_block} r*, r*(c)) = min(0.880797, 0) = 0 (card C4)
    assert M.worst_reward() == 0.0
    # every member has the minimal DPO loss; the GD member is pi*
    q = pref.population_pairs(b)
    member = M.member([[0.3]], [[0.0, 0.0, 0.7]])
    loss = pref.dpo(b.beta)
    assert abs(pref.preference_loss(b, q, member, loss) -
               pref.preference_loss(b, q, b.log_pi_star, loss)) <= 8 * EPS
    np.testing.assert_allclose(np.exp(M.gd_limit()), b.pi_star, rtol=0, atol=1e-12)


def test_worst_reward_matches_linprog():
    # card C4: inf over the closure of M of E r* is an LP over block and unseen masses
    b = inst.random_preference_bandit(rng=7, nX=2, K=6)
    mask = np.zeros((2, 6, 6), bool)
    mask[0, 0, 1] = mask[0, 2, 3] = mask[1, 1, 2] = True
    M = pref.dpo_minimizer_set(b, pref.population_pairs(b, edges=mask))
    total = 0.0
    for x in range(2):
        verts = M.vertices(x)
        c = np.array([np.exp(row) @ b.r[x] for _, row in verts])
        res = linprog(c, A_eq=np.ones((1, len(c))), b_eq=[1.0], bounds=[(0, None)] * len(c),
                      method="highs")
        total += b.rho[x] * res.fun
    # HiGHS optimum at a vertex: exact up to the LP's feasibility tolerance 1e-9
    assert abs(total - M.worst_reward()) <= 1e-9


def test_sup_kl_dominates_random_members():
    b = inst.random_preference_bandit(rng=8, nX=1, K=7)
    mask = np.zeros((1, 7, 7), bool)
    mask[0, 0, 1] = mask[0, 1, 2] = mask[0, 3, 4] = True
    M = pref.dpo_minimizer_set(b, pref.population_pairs(b, edges=mask))
    rng = np.random.default_rng(0)
    sup_kl, sup_gap = M.sup_kl_reference(), M.sup_gap()
    mk = M.min_kl_member()
    kl_min = pref.kl_to_reference(b, mk)
    for _ in range(200):
        w = rng.dirichlet(np.full(4, 0.3))
        a = np.array([[w[0], w[1]]])
        bu = np.zeros((1, 7))
        bu[0, [5, 6]] = w[2:]
        if (a <= 0).any():
            continue
        lp = M.member(a, bu)
        kl = pref.kl_to_reference(b, lp)
        assert kl <= sup_kl + 1e-12 and kl >= kl_min - 1e-12
        assert pref.gaps(b, lp).G_J <= sup_gap + 1e-12


def test_min_kl_member_is_the_small_lambda_limit_of_hypo():
    # card C8(b): the penalised HyPO minimiser approaches the min-KL member at rate O(lambda)
    b = inst.random_preference_bandit(rng=9, nX=1, K=7, beta=0.5)
    mask = np.zeros((1, 7, 7), bool)
    mask[0, 0, 1] = mask[0, 1, 2] = mask[0, 3, 4] = True
    q = pref.population_pairs(b, edges=mask)
    mk = np.exp(pref.dpo_minimizer_set(b, q).min_kl_member())
    dist = [np.abs(np.exp(pref.hypo_penalized(b, q, lam, pref.dpo(b.beta))) - mk).max()
            for lam in (1e-2, 1e-3, 1e-4)]
    # O(lambda): each tenfold decrease of lambda shrinks the distance by a factor 10 up to
    # the second-order term; allow [5, 20]
    assert 5 <= dist[0] / dist[1] <= 20 and 5 <= dist[1] / dist[2] <= 20


def test_hypo_penalized_p1_fixtures():
    # card C8(c): pi(a) = 0.8808, 0.8762, 0.8272, 0.5940 and J = 0.7169, 0.7168, 0.7108, 0.5851
    # for lambda = 0, 0.01, 0.1, 1 (labelled-pair expectation normalised to 1)
    b = inst.song_zero_mass()
    q = pref.population_pairs(b)
    for lam, pa, J in [(0.0, 0.8808, 0.7169), (0.01, 0.8762, 0.7168), (0.1, 0.8272, 0.7108),
                       (1.0, 0.5940, 0.5851)]:
        lp = pref.hypo_penalized(b, q, lam, pref.dpo(b.beta))
        assert abs(np.exp(lp[0, 0]) - pa) <= 5e-5
        assert abs(pref.objective(b, lp) - J) <= 5e-5
        assert np.exp(lp[0, 2]) == 0.0


def test_rlhf_recovers_pi_star_under_partial_coverage():
    # card C3(b): each G_x connected and covering S_ref -> RLHF = pi* for every tie-break,
    # even though piref has zeros (C_glo = inf)
    b = inst.random_preference_bandit(rng=10, nX=3, K=6, zero_prob=0.4)
    q = pref.population_pairs(b)
    for tb in pref.TIE_BREAKS:
        out = pref.rlhf(b, q, tie_break=tb)
        np.testing.assert_allclose(np.exp(out.logpi), b.pi_star, rtol=0, atol=1e-10)
        assert (out.reward >= 0).all() and (out.reward <= b.R + 1e-12).all()


def test_rlhf_tie_breaks_hand_computation():
    # three responses, only {0, 1} compared, piref uniform, r* = (1, 0, 0.5), beta = 1, R = 1:
    # BT scores (1, 0) span R, so offsets are fixed; the unseen response gets 0, 1/2, 1
    b = pref.PreferenceBandit(piref=[[1 / 3] * 3], r=[[1.0, 0.0, 0.5]], beta=1.0, R=1.0)
    q = pref.population_pairs(b, edges=np.array([[0, 0, 1]]))
    for tb, u in [("pessimistic", 0.0), ("neutral", 0.5), ("optimistic", 1.0)]:
        out = pref.rlhf(b, q, tie_break=tb)
        np.testing.assert_allclose(out.reward, [[1.0, 0.0, u]], rtol=0, atol=1e-12)
    # worst: J(pi_r) for r_hat(2) in {0, 1}; by hand J_x = E r* - beta KL; the smaller wins
    Js = {}
    for u in (0.0, 1.0):
        lp = pref.gibbs(b, [[1.0, 0.0, u]])
        Js[u] = pref.objective(b, lp)
    worst = min(Js, key=Js.get)
    out = pref.rlhf(b, q, tie_break="worst")
    assert out.reward[0, 2] == worst
    # two evaluations of J (3 terms of size <= 2) from differently shifted rewards: 64 U
    assert abs(pref.objective(b, out.logpi) - Js[worst]) <= 64 * EPS


def test_ipo_closed_form_equals_laplacian():
    # card C11(a, b): full-support i.i.d. pairs; both give the same log-ratios up to a constant
    b = inst.random_preference_bandit(rng=13, nX=2, K=5, separate_mu=True)
    q = pref.population_pairs(b)
    for tau in (0.1, 0.5, 1.0):
        g_closed = pref.ipo_closed_form(b, tau) - b.log_piref
        g_lap = pref.ipo_minimizer_set(b, q, tau).log_ratio
        # lstsq on a 5x5 Laplacian: error ~ cond(L) U |b| with cond <= (max/min weight) K
        assert np.ptp(g_closed - g_lap, axis=1).max() <= 1e-10
        h = pref.hypo_penalized(b, q, 0.0, pref.ipo(tau))          # direct minimisation
        np.testing.assert_allclose(np.exp(h), np.exp(pref.ipo_closed_form(b, tau)),
                                   rtol=0, atol=1e-7)


def test_ipo_deterministic_pair_keeps_target_margin():
    # card C11(c): one pair seen once; IPO's margin is 1/(2 tau), DPO has no minimiser
    b = pref.PreferenceBandit(piref=[[0.5, 0.5]], r=[[1.0, 0.0]], beta=1.0)
    data = pref.pairs_from_list(1, 2, [(0, 0, 1)])
    for tau in (0.1, 1.0):
        M = pref.ipo_minimizer_set(b, data, tau)
        assert abs(M.log_ratio[0, 0] - M.log_ratio[0, 1] - 1 / (2 * tau)) <= 8 * EPS / tau
    with pytest.raises(ValueError, match="not strongly connected"):
        pref.dpo_minimizer_set(b, data)


def test_noisy_pair_minimizers_fixture_and_first_order_conditions():
    # card C12(c): p = 0.8, eps = 0.3: DPO 0.620, cDPO 0.548, rDPO 0.800
    out = pref.noisy_pair_minimizers(0.8, 0.3)
    assert abs(out["dpo"] - 0.620) <= 5e-4 and abs(out["cdpo"] - 0.548) <= 5e-4
    assert abs(out["rdpo"] - 0.800) <= 5e-4
    pt = 0.62
    for name, loss in [("dpo", pref.dpo(1.0)), ("cdpo", pref.cdpo(1.0, 0.3)),
                       ("rdpo", pref.rdpo(1.0, 0.3))]:
        # independent check: the population loss pt l(z) + (1 - pt) l(-z) is stationary at
        # z = logit(closed form); its derivative is a difference of O(1) terms: ~ 8 U
        z = np.log(out[name] / (1 - out[name]))
        d = pt * loss.derivative(z) - (1 - pt) * loss.derivative(-z)
        assert abs(d) <= 16 * EPS
        # and it is a minimum: the loss is convex in z (logistic plus a linear term)
        assert pt * loss.value(z) + (1 - pt) * loss.value(-z) < \
            min(pt * loss.value(z + 1e-3) + (1 - pt) * loss.value(-z - 1e-3),
                pt * loss.value(z - 1e-3) + (1 - pt) * loss.value(-z + 1e-3))


def test_rdpo_empirical_unbounded_below():
    # card C12(d): eps = 0.3, 2 wins / 18 losses: no minimiser; the loss decreases linearly.
    # The card's numbers -19.9, -200, -2000 at z = -5, -50, -500 are the un-normalised loss
    # (1 - eps) f(z) - eps f(-z) summed (i.e. (1 - 2 eps) x ours): checked at their rounding
    eps = 0.3
    loss = pref.rdpo(1.0, eps)
    assert pref.rdpo_empirical_minimizer(2, 18, eps) is None
    total = lambda z: 2 * loss.value(z) + 18 * loss.value(-z)  # noqa: E731
    for z, card, half_unit in [(-5, -19.9, 0.05), (-50, -200.0, 0.5), (-500, -2000.0, 0.5)]:
        assert abs((1 - 2 * eps) * total(z) - card) <= half_unit
    # slope as z -> -inf: 2 (-1 - c) + 18 c with c = eps/(1-2eps) = 0.75 -> total ~ 10 z
    assert abs(total(-500.0) - 10 * -500.0) <= 1e-9


def test_simpo_stationary_margin_fixture():
    # card C13: root 1.07698 for p = 0.8, beta = 2, gamma = 1; logit(p)/beta = 0.69315 at gamma 0
    u = pref.simpo_stationary_margin(0.8, 2.0, 1.0)
    assert abs(u - 1.07698) <= 5e-6
    assert abs(pref.simpo_stationary_margin(0.8, 2.0, 0.0) - np.log(4) / 2) <= 1e-13
    loss = pref.simpo(2.0, 1.0)
    res = minimize_scalar(lambda v: 0.8 * loss.value(v) + 0.2 * loss.value(-v),
                          bounds=(-10, 10), method="bounded", options={"xatol": 1e-11})
    # locating a minimum from function values is accurate only to ~sqrt(U) |u| (the loss is
    # flat to second order there), so the independent minimiser agrees to 1e-7
    assert abs(res.x - u) <= 1e-7


# ============================================================================ training
def test_l2_extrapolation_fixtures():
    # card C10, instance L2: log-linear GD step 0.5 on the single pair y0 > y1, beta = 1
    b, data = inst.extrapolation(), inst.extrapolation_pairs()
    out = pref.train(b, data, pref.dpo(1.0), steps=50, lr=0.5, param="loglinear",
                     record=[10, 50])
    np.testing.assert_allclose(np.exp(out.logpi_path[0, 0]), [0.1628, 0.0345, 0.7682, 0.0345],
                               rtol=0, atol=5e-5)
    np.testing.assert_allclose(np.exp(out.logpi_path[1, 0]), [0.0407, 0.0017, 0.9558, 0.0017],
                               rtol=0, atol=5e-5)
    tab = pref.train(b, data, pref.dpo(1.0), steps=10, lr=0.5, record=[10])
    # tabular analog: unseen y2, y3 stay equal and fall (card C10)
    np.testing.assert_allclose(np.exp(tab.logpi[0]), [0.5717, 0.0595, 0.1844, 0.1844],
                               rtol=0, atol=5e-5)


def test_tabular_gd_conserves_component_sums_and_freezes_unseen():
    # card C10(i) and §6 pitfall 3: sum over a component of (theta - log piref) is invariant,
    # unseen logits never move; gd_limit is the stationary point on that invariant set
    b = inst.random_preference_bandit(rng=14, nX=1, K=6, beta=0.5)
    mask = np.zeros((1, 6, 6), bool)
    mask[0, 0, 1] = mask[0, 1, 2] = mask[0, 3, 4] = True
    q = pref.population_pairs(b, edges=mask)
    out = pref.train(b, q, pref.dpo(b.beta), steps=200, lr=2.0, record=[200])
    theta = out.theta
    for comp in ([0, 1, 2], [3, 4]):
        # 200 updates of size <= lr * beta * max W: accumulated round-off <= 200 * 4 U |theta|
        assert abs((theta[0, comp] - b.log_piref[0, comp]).sum()) <= 1e-12
    assert theta[0, 5] == b.log_piref[0, 5]
    M = pref.dpo_minimizer_set(b, q)
    G = pref.loss_gradient_logits(b, q, M.gd_limit(), pref.dpo(b.beta))
    assert np.abs(G).max() <= 1e-12                    # first-order condition at the limit
    long = pref.train(b, q, pref.dpo(b.beta), steps=4000, lr=2.0, record=[0, 1000, 4000])
    dist = [np.abs(np.exp(lp) - np.exp(M.gd_limit())).max() for lp in long.logpi_path]
    assert dist[2] < dist[1] < dist[0]


def test_train_matches_exact_gradient_and_hypo_zero_lambda_is_dpo():
    b = inst.random_preference_bandit(rng=15, nX=2, K=4)
    q = pref.population_pairs(b)
    a = pref.train(b, q, pref.dpo(b.beta), steps=30, lr=0.7, record=[30])
    c = pref.train(b, q, pref.dpo(b.beta), steps=30, lr=0.7, lam=0.0, record=[30])
    assert np.array_equal(a.logpi, c.logpi)
    # one step by hand from the exact gradients of losses.py
    lam = 0.3
    one = pref.train(b, q, pref.dpo(b.beta), steps=1, lr=0.7, lam=lam, record=[1])
    theta0 = np.log(b.piref)
    G = pref.loss_gradient_logits(b, q, b.log_piref, pref.dpo(b.beta)) + \
        lam * pref.kl_gradient_logits(b, b.log_piref)
    np.testing.assert_allclose(one.theta, theta0 - 0.7 * G, rtol=0, atol=32 * EPS)


def test_rloo_is_unbiased_and_mean_baseline_is_biased():
    # card C17: E[RLOO] = grad KL; the all-sample baseline gives (k-1)/k grad KL
    b = inst.random_preference_bandit(rng=16, nX=2, K=4)
    lp = random_logpi(b, np.random.default_rng(3))
    G = pref.kl_gradient_logits(b, lp)
    k, n = 4, 40_000
    for baseline, factor in (("loo", 1.0), ("mean", (k - 1) / k)):
        est = pref.rloo_kl_gradient(b, lp, k, rng=7, baseline=baseline, replicates=n)
        se = est.std(axis=0) / np.sqrt(n)
        # CLT: each coordinate's mean within 5 standard errors (p ~ 6e-7 per coordinate)
        assert (np.abs(est.mean(axis=0) - factor * G) <= 5 * se + 1e-15).all()
    est = pref.rloo_kl_gradient(b, lp, k, rng=7, baseline="mean", replicates=n)
    se = est.std(axis=0) / np.sqrt(n)
    assert (np.abs(est.mean(axis=0) - G) > 5 * se).any()


def test_hypo_with_rloo_tracks_exact_hypo():
    # the RLOO-trained HyPO ends near the exact-gradient run (noise of a few steps' estimates)
    b, data = inst.ood_collapse(), inst.ood_collapse_pairs()
    exact = pref.train(b, data, pref.dpo(b.beta), steps=1000, lr=0.5, lam=1.0,
                       param="loglinear", record=[1000])
    noisy = pref.train(b, data, pref.dpo(b.beta), steps=1000, lr=0.5, lam=1.0,
                       param="loglinear", record=[1000], kl_estimator="rloo", k=8, rng=0)
    assert noisy.kl[0] < 0.2 and exact.kl[0] < 0.05      # both far from the DPO collapse (9.21)


def test_online_dpo_and_policy_gradient_fixed_points():
    b = inst.random_preference_bandit(rng=17, nX=2, K=4)
    out = pref.online_dpo(b, rounds=2, steps=3, lr=0.5, logpi0=b.log_pi_star)
    np.testing.assert_allclose(np.exp(out), b.pi_star, rtol=0, atol=1e-12)
    pg = pref.rlhf_policy_gradient(b, b.r, steps=3, lr=0.5, logpi0=b.log_pi_star)
    np.testing.assert_allclose(np.exp(pg), b.pi_star, rtol=0, atol=1e-12)
    # from piref with population labels: each round's DPO minimiser is pi* (full coverage)
    pop = pref.online_dpo(b, rounds=10, steps=20, lr=1.0)
    assert pref.gaps(b, pop).G_J < 0.1 * pref.gaps(b, b.log_piref).G_J
    # sampled labels: reproducible from the seed (finite samples may move away from pi*:
    # a pair seen in one direction only pushes its margin up without bound, card §6 pitfall 4)
    s1 = pref.online_dpo(b, rounds=2, steps=5, lr=0.5, n_pairs=500, rng=3)
    assert np.array_equal(s1, pref.online_dpo(b, rounds=2, steps=5, lr=0.5, n_pairs=500, rng=3))


# =============================================================================== token
def test_token_tree_one_step_is_the_bandit():
    # T = 1: the token MDP is the bandit (card §2.7: DPO23 is the T = 1 case)
    tree = tk.TokenTree([np.log([[0.2, 0.3, 0.5]])], [np.array([[1.0, -0.5, 0.3]])], beta=0.7)
    sol = tk.soft_solve(tree)
    b = pref.PreferenceBandit(piref=[[0.2, 0.3, 0.5]], r=[[1.0, -0.5, 0.3]], beta=0.7)
    np.testing.assert_allclose(sol.log_pi[0], b.log_pi_star, rtol=0, atol=8 * EPS)
    assert abs(sol.V[0][0] - b.beta * b.log_Z[0]) <= 8 * EPS


def test_token_bandit_equivalence_and_beam_search_exactness():
    tree = inst.random_token_tree(rng=5, V=3, T=3, nX=2)
    sol = tk.soft_solve(tree)
    b = tk.to_bandit(tree)
    seq = tk.sequence_logprob(tree, sol.log_pi).reshape(2, -1)
    # C14(c): sequence probabilities of the token-level pi* are the bandit's pi*; sums of
    # 3 token log-probs vs one log-softmax over 27: ~ 3 * 8 U |values|
    np.testing.assert_allclose(seq, b.log_pi_star, rtol=0, atol=1e-13)
    exact = tk.beam_search(tree, sol.log_pi, 3 ** 2)
    flat = np.argmax(b.log_pi_star, axis=1)
    assert [int(np.ravel_multi_index(tuple(e), (3, 3, 3))) for e in exact] == flat.tolist()


@pytest.mark.parametrize("loss_name", ["dpo", "ipo", "simpo"])
def test_hypo_penalized_inlined_gradient_matches_public_losses(loss_name):
    # hypo_penalized inlines the loss and gradient for speed: at its result the *public*
    # gradient (losses.py) of loss + lam KL must vanish to the optimiser's accuracy. L-BFGS
    # stops at gtol = 1e-11 or when the objective stops decreasing in float64; a minimum
    # located to the resolution U |L| of the objective has a gradient of order
    # sqrt(U |L| lambda_max) (lambda_max <= 1 here), so 4 sqrt(eps) (1 + |L|) bounds it
    b = inst.random_preference_bandit(rng=21, nX=2, K=5, zero_prob=0.3)
    q = pref.population_pairs(b)
    loss = {"dpo": pref.dpo(b.beta), "ipo": pref.ipo(0.5), "simpo": pref.simpo(2.0, 1.0)}[
        loss_name]
    for lam in (0.0, 0.3):
        lp = pref.hypo_penalized(b, q, lam, loss)
        G = pref.loss_gradient_logits(b, q, lp, loss) + lam * pref.kl_gradient_logits(b, lp)
        L = pref.preference_loss(b, q, lp, loss) + lam * pref.kl_to_reference(b, lp)
        assert np.abs(G[b.support]).max() <= 4 * np.sqrt(EPS) * (1 + abs(L))
