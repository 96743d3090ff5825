"""Linear MDPs, linear mixture MDPs and their random generators.

Tolerances. An entry ``phi[s, a] @ mu[h][:, s']`` summed in float64 differs from the exactly
rounded sum (``math.fsum``) by at most ``d eps sum_i |phi_i mu_i|`` (``_dot_tol``). Value
comparisons use the finite-horizon round-off bound of tests/test_finite_horizon.py.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import rlsandbox as rls
from rlsandbox.dp.finite_horizon import backward_induction, evaluate_finite
from rlsandbox.linear import LinearMDP, LinearMixtureMDP
from rlsandbox.mdps.linear import random_linear_mdp, random_linear_mixture

EPS = np.finfo(np.float64).eps


def _dot_tol(d: int, scale: float) -> float:
    return d * EPS * scale


# --------------------------------------------------------------- to_tabular = the formula
@pytest.mark.parametrize("H, d_rectangular", [(None, True), (3, True), (None, False), (2, False)])
def test_to_tabular_matches_the_formula_entrywise(H, d_rectangular):
    rng = np.random.default_rng(11)
    S, A, d = 4, 3, 3
    lin = random_linear_mdp(S, A, d, rng=rng, H=H, gamma=None if H else 0.8,
                            d_rectangular=d_rectangular)
    tab = lin.to_tabular()
    mu = lin.mu if H else lin.mu[None]
    theta = lin.theta if H else lin.theta[None]
    P_tab = tab.P if H else tab.P[None]
    R_tab = tab.R if H else tab.R[None]
    for h, s, a in itertools.product(range(mu.shape[0]), range(S), range(A)):
        for t in range(S):
            terms = [lin.phi[s, a, i] * mu[h, i, t] for i in range(d)]
            assert abs(P_tab[h, s, a, t] - math.fsum(terms)) <= \
                _dot_tol(d, math.fsum(map(abs, terms))) + EPS   # + eps: the products' own rounding
        terms = [lin.phi[s, a, i] * theta[h, i] for i in range(d)]
        assert abs(R_tab[h, s, a] - math.fsum(terms)) <= _dot_tol(d, math.fsum(map(abs, terms))) + EPS
    if H:
        assert isinstance(tab, rls.FiniteHorizonMDP) and tab.H == H
    else:
        assert isinstance(tab, rls.TabularMDP) and tab.gamma == 0.8
    np.testing.assert_array_equal(tab.rho, lin.rho)


def test_to_tabular_gamma_override_and_average_reward():
    lin = random_linear_mdp(3, 2, 2, rng=np.random.default_rng(0))
    assert lin.gamma is None
    assert lin.to_tabular(gamma=0.5).gamma == 0.5
    assert lin.to_tabular(gamma=1.0).gamma == 1.0       # average reward: TabularMDP accepts 1
    with pytest.raises(ValueError, match=r"has no gamma and no horizon.*to_tabular\(gamma=\.\.\.\)"):
        lin.to_tabular()
    fh_lin = random_linear_mdp(3, 2, 2, rng=np.random.default_rng(0), H=2)
    with pytest.raises(ValueError, match=r"gamma == 0.9 passed to to_tabular of a finite-horizon "
                                         r"LinearMDP \(H == 2\)"):
        fh_lin.to_tabular(gamma=0.9)


@pytest.mark.parametrize("which", ["discounted", "finite"])
def test_from_tabular_round_trip_is_exact(which):
    rng = np.random.default_rng(5)
    S, A = 3, 2
    if which == "discounted":
        mdp = rls.TabularMDP(rng.dirichlet(np.ones(S), size=(S, A)), rng.standard_normal((S, A)),
                             0.9, rho=rng.dirichlet(np.ones(S)))
    else:
        mdp = rls.FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(4, S, A)),
                                   rng.standard_normal((4, S, A)))
    lin = LinearMDP.from_tabular(mdp)
    assert lin.d == S * A and lin.is_d_rectangular
    back = lin.to_tabular()
    # one-hot features: each entry is 1 * x plus exact zeros, so the round trip is exact
    np.testing.assert_array_equal(back.P, mdp.P)
    np.testing.assert_array_equal(back.R, mdp.R)
    np.testing.assert_array_equal(back.rho, mdp.rho)


def test_stationary_parameters_broadcast_over_the_horizon():
    rng = np.random.default_rng(3)
    phi = rng.dirichlet(np.ones(2), size=(3, 2))
    mu = rng.dirichlet(np.ones(3), size=2)
    theta = rng.random(2)
    lin = LinearMDP(phi, mu, theta, H=4)
    assert lin.mu.shape == (4, 2, 3) and lin.theta.shape == (4, 2) and lin.P.shape == (4, 3, 2, 3)
    assert all(np.array_equal(lin.mu[h], mu) for h in range(4))
    per_step = LinearMDP(phi, np.array([mu, mu]), theta)           # H implied by mu
    assert per_step.H == 2 and per_step.is_finite_horizon
    mixed = LinearMDP(phi, mu, np.array([theta, 2 * theta, theta]))   # H implied by theta
    assert mixed.H == 3
    np.testing.assert_array_equal(mixed.R[1], 2 * mixed.R[0])


# --------------------------------------------------------------- validation messages
def _two_state():
    phi = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])          # (S, A, d) = (2, 1, 2), one-hot
    mu = np.array([[0.5, 0.5], [0.25, 0.75]])
    return phi, mu, np.zeros(2)


def test_negative_implied_entry_names_state_action_and_next_state():
    phi, mu, theta = _two_state()
    mu = mu.copy()
    mu[1] = [1.25, -0.25]
    with pytest.raises(ValueError, match=r"P\[1, 0, 1\] = phi\[1, 0\] @ mu\[:, 1\] = -0.25 is "
                                         r"negative; the implied transition kernel must be >= 0"):
        LinearMDP(phi, mu, theta, gamma=0.9)


def test_row_sum_message_names_first_step_state_action_and_its_sum():
    phi, mu, theta = _two_state()
    mu_h = np.array([mu, mu * np.array([[1.0], [0.9]])])        # step 1, factor 1 sums to 0.9
    with pytest.raises(ValueError, match=r"P\[1, 1, 0, :\] = phi\[1, 0\] @ mu\[1\] sums to 0.9; "
                                         r"every row of the implied transition kernel must sum "
                                         r"to 1 \(atol 1e-09\)"):
        LinearMDP(phi, mu_h, theta)
    with pytest.raises(ValueError, match=r"P\[0, 0, :\] = phi\[0, 0\] @ mu sums to 1.1"):
        LinearMDP(phi * 1.1, mu, theta, gamma=0.5)


def test_d_rectangular_hint_in_kernel_messages():
    phi, mu, theta = _two_state()
    with pytest.raises(ValueError, match=r"every phi\[s, a\] in the simplex and every factor"):
        LinearMDP(phi * 2.0, mu, theta, gamma=0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(mu=np.full((3, 2), 1 / 2)), r"mu has shape \(3, 2\); expected \(d, S\) = \(2, 2\) or "
                                      r"\(H, d, S\) to match phi of shape \(2, 1, 2\)"),
    (dict(theta=np.zeros(3)), r"theta has shape \(3,\); expected \(d,\) = \(2,\) or \(H, d\)"),
    (dict(phi=np.ones((2, 1))), r"phi has 2 dimensions \(shape \(2, 1\)\); expected 3"),
    (dict(phi=np.ones((2, 0, 2))), r"phi has shape \(2, 0, 2\); expected \(S, A, d\) with S, A, "
                                   r"d >= 1"),
    (dict(phi=np.array([[[np.nan, 1.0]], [[0.0, 1.0]]])), r"phi\[0, 0, 0\] is nan; every entry"),
    (dict(H=3, mu=np.full((2, 2, 2), 0.5)), r"mu has shape \(2, 2, 2\) \(2 steps\) but the horizon "
                                            r"is H == 3"),
    (dict(mu=np.full((2, 2, 2), 0.5), theta=np.zeros((3, 2))),
     r"theta has shape \(3, 2\) \(3 steps\) but the horizon is H == 2"),
    (dict(H=2, gamma=0.9), r"gamma == 0.9 was given for a finite-horizon model \(H == 2\)"),
    (dict(gamma=1.5), r"gamma == 1.5, must be in \[0, 1\]"),
    (dict(H=0), r"H == 0, must be in \[1, inf\]"),
    (dict(rho=np.array([0.5, 0.6])), r"rho sums to 1.1"),
])
def test_linear_mdp_validation_messages(kwargs, message):
    phi, mu, theta = _two_state()
    args = dict(phi=phi, mu=mu, theta=theta)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        LinearMDP(**args)


def test_linear_mdp_type_errors():
    phi, mu, theta = _two_state()
    with pytest.raises(TypeError, match=r"phi has dtype complex128"):
        LinearMDP(phi.astype(complex), mu, theta)
    with pytest.raises(TypeError, match=r"H must be an integer, got float"):
        LinearMDP(phi, mu, theta, H=2.0)


def test_arrays_are_read_only_copies():
    phi, mu, theta = _two_state()
    lin = LinearMDP(phi, mu, theta, gamma=0.5)
    for arr in (lin.phi, lin.mu, lin.theta, lin.P, lin.R, lin.rho):
        assert not arr.flags.writeable
    mu[0, 0] = 0.0                       # the caller's array is not shared
    assert lin.mu[0, 0] == 0.5
    with pytest.raises(AttributeError):
        lin.gamma = 0.9


# --------------------------------------------------------------- d-rectangular flag
def _r2pvi_simulated(*, q: float | None, xi_norm: float = 0.2, delta: float = 0.3) -> LinearMDP:
    """The simulated linear MDP of the r2pvi card, §5.1 (from Liu & Xu 2024), states x1..x5 as
    0..4 (x4 = index 3 the fail state, x5 = index 4 the good state), 16 actions a in {-1, 1}^4,
    H = 3, d = 4. ``q=None`` is the nominal model; a float q is the perturbed test model (step 1
    only: factor 1 -> x2 without the 0.001 leak, factor 4 -> q x4 + (1 - q) x5)."""
    actions = np.array(list(itertools.product([-1.0, 1.0], repeat=4)))
    t = actions @ np.full(4, xi_norm / 4)                     # <xi, a>, (16,)
    phi = np.zeros((5, 16, 4))
    for s in range(3):                                        # x1, x2, x3
        phi[s, :, s] = 1.0 - delta - t
        phi[s, :, 3] = delta + t
    phi[3, :, 2] = 1.0                                        # x4: factor 3
    phi[4, :, 3] = 1.0                                        # x5: factor 4
    e = np.eye(5)
    x2, x3, x4, x5 = e[1], e[2], e[3], e[4]
    mu = np.array([[x4] * 4] * 3)                             # unused factors: delta_x4
    mu[0, 0] = 0.999 * x2 + 0.001 * x4 if q is None else x2
    mu[0, 3] = x5 if q is None else q * x4 + (1.0 - q) * x5
    mu[1, 1] = 0.999 * x3 + 0.001 * x4
    mu[1, 2] = x4
    mu[1, 3] = x5
    theta = np.array([np.zeros(4), e[3][:4], e[3][:4]])       # theta_1 = 0, theta_2 = theta_3 = e_4
    return LinearMDP(phi, mu, theta, rho=e[0])


def test_r2pvi_simulated_instance_is_d_rectangular_and_has_the_card_values():
    nominal = _r2pvi_simulated(q=None)
    assert nominal.is_d_rectangular
    nominal.require_d_rectangular("R2PVI")                    # does not raise
    # r2pvi card §5.1: in the test model the nominal-optimal policy earns 1.6249 - q, and the
    # best achievable at q = 1 is 0.9 * 1.2497 = 1.1248 (4 decimals). Exact values by hand:
    # V_2(x2) = 0.5 + 0.5 * 0.999 * 0.5 + 0.5 * 1 = 1.24975 (<xi, a> = 0.2), V_2(x5) = 2, V(x4) = 0;
    # q = 0: V_1(x1) = 0.5 * 1.24975 + 0.5 * 2 = 1.624875; q = 1: 0.9 * 1.24975 = 1.124775.
    for q, exact, card in [(0.0, 1.624875, 1.6249), (1.0, 1.124775, 1.1248)]:
        sol = backward_induction(_r2pvi_simulated(q=q).to_tabular())
        assert sol.value == pytest.approx(exact, abs=1e-12)   # round-off: H (S + 1) eps * 3
        assert abs(sol.value - card) <= 5e-5                  # the card's 4-decimal rounding
    # the nominal-optimal policy (<xi, a> = 0.2 at x1, i.e. a = (1, 1, 1, 1), index 15) at q = 1
    test = _r2pvi_simulated(q=1.0).to_tabular()
    pi_nom = backward_induction(nominal.to_tabular()).policy
    assert pi_nom[0, 0] == 15
    assert float(test.rho @ evaluate_finite(test, pi_nom)[0]) == pytest.approx(0.624875, abs=1e-12)


def test_d_rectangular_flag_false_cases():
    phi, mu, theta = _two_state()
    assert LinearMDP(phi, mu, theta, gamma=0.5).is_d_rectangular
    # valid kernel, features off the simplex: phi scaled by 2, factors scaled by 1/2
    scaled = LinearMDP(2.0 * phi, 0.5 * mu, theta, gamma=0.5)
    np.testing.assert_array_equal(scaled.P, LinearMDP(phi, mu, theta, gamma=0.5).P)
    assert not scaled.is_d_rectangular
    with pytest.raises(ValueError, match=r"R2PVI needs a d-rectangular linear MDP, but "
                                         r"phi\[0, 0, :\] sums to 2, not 1"):
        scaled.require_d_rectangular("R2PVI")
    # valid kernel, signed factor measure (features in the simplex)
    phi2 = np.array([[[0.5, 0.5]], [[0.75, 0.25]]])
    mu2 = np.array([[1.5, -0.5], [-0.5, 1.5]])            # P rows (0.5, 0.5), (1, 0)
    signed = LinearMDP(phi2, mu2, theta, gamma=0.5)
    assert not signed.is_d_rectangular
    with pytest.raises(ValueError, match=r"mu\[0, 1\] = -0.5 is negative; every factor"):
        signed.require_d_rectangular("DRPVI")


def test_non_rectangular_generator_rotates_the_rectangular_model():
    """Same seed: phi, mu, theta are drawn identically, then mu is mixed with uniform and the
    model rotated, so P' = P / 2 + 1 / (2 S) and R' = R up to the rotation's round-off."""
    S, A, d, H = 5, 3, 4, 2
    rect = random_linear_mdp(S, A, d, rng=np.random.default_rng(9), H=H)
    gen = random_linear_mdp(S, A, d, rng=np.random.default_rng(9), H=H, d_rectangular=False)
    assert rect.is_d_rectangular and not gen.is_d_rectangular
    assert (gen.phi < 0).any()
    # round-off of phi @ Q, Q.T @ mu and their product: a few d^2 eps (|entries| <= sqrt(d))
    tol = 8 * d * d * EPS
    np.testing.assert_allclose(gen.P, 0.5 * rect.P + 0.5 / S, rtol=0, atol=tol)
    np.testing.assert_allclose(gen.R, rect.R, rtol=0, atol=tol)
    one = random_linear_mdp(S, A, 1, rng=np.random.default_rng(9), gamma=0.9, d_rectangular=False)
    assert not one.is_d_rectangular and (one.phi == -1.0).all()


# --------------------------------------------------------------- the linear-Q property
def _lstsq_residual(phi: np.ndarray, Q: np.ndarray):
    """Least-squares fit of Q (S, A) on the features (S, A, d); returns (w, max |residual|)."""
    X = phi.reshape(-1, phi.shape[-1])
    w, *_ = np.linalg.lstsq(X, Q.ravel(), rcond=None)
    return w, float(np.abs(X @ w - Q.ravel()).max())


def _span_tol(phi: np.ndarray, Q: np.ndarray, q_err: float) -> float:
    """Backward-stable least squares: residual <= c eps cond(X) ||Q||_2 + the error already in Q
    (``q_err`` per entry, times sqrt(S A) in 2-norm); c = 10."""
    X = phi.reshape(-1, phi.shape[-1])
    n = X.shape[0]
    return 10 * EPS * np.linalg.cond(X) * np.linalg.norm(Q) + np.sqrt(n) * q_err


@pytest.mark.parametrize("seed", range(3))
def test_q_pi_is_linear_in_the_features_finite_horizon(seed):
    """[jin2020, Prop 2.3]: Q^pi_h = phi @ w^pi_h; with full-rank features w^pi_h is unique and
    equals theta_h + mu_h @ V^pi_{h+1}. Negative control: one tabular row changed breaks it."""
    rng = np.random.default_rng(seed)
    S, A, d, H = 6, 3, 3, 4                                   # d < S A: the span is a real constraint
    lin = random_linear_mdp(S, A, d, rng=rng, H=H, d_rectangular=bool(seed % 2))
    fh = lin.to_tabular()
    pi = rng.dirichlet(np.ones(A), size=(H, S))
    V = evaluate_finite(fh, pi)
    Qs = fh.R + np.einsum("hsat,ht->hsa", fh.P, V[1:])
    q_err = 2 * H * (S + 1) * EPS * float(np.abs(fh.R).max()) * (H + 1)
    for h in range(H):
        w, res = _lstsq_residual(lin.phi, Qs[h])
        tol = _span_tol(lin.phi, Qs[h], q_err)
        assert res <= tol, (h, res, tol)
        np.testing.assert_allclose(w, lin.theta[h] + lin.mu[h] @ V[h + 1], rtol=0,
                                   atol=tol * np.linalg.norm(np.linalg.pinv(lin.phi.reshape(-1, d))))
    # negative control: move P[0, 0, 0, :] to a point mass at the best next state
    P = np.array(fh.P)
    P[0, 0, 0] = np.eye(S)[int(np.argmax(V[1]))]
    bent = rls.FiniteHorizonMDP(P, fh.R)
    Vb = evaluate_finite(bent, pi)
    Qb = bent.R[0] + bent.P[0] @ Vb[1]
    _, res = _lstsq_residual(lin.phi, Qb)
    assert res > 1e3 * _span_tol(lin.phi, Qb, q_err)


def test_q_pi_is_linear_in_the_features_discounted():
    """Q^pi = phi @ (theta + gamma mu @ V^pi) for a discounted linear MDP."""
    rng = np.random.default_rng(21)
    S, A, d, gamma = 7, 2, 4, 0.9
    lin = random_linear_mdp(S, A, d, rng=rng, gamma=gamma)
    mdp = lin.to_tabular()
    pi = rng.dirichlet(np.ones(A), size=S)
    V = rls.evaluate(mdp, pi)
    Q = rls.q_values(mdp, V)
    # V from an LU solve: error <= c S eps cond(I - gamma P_pi) |V| with cond <= 2/(1 - gamma)
    v_err = 10 * S * EPS * (2 / (1 - gamma)) * float(np.abs(V).max())
    _, res = _lstsq_residual(lin.phi, Q)
    assert res <= _span_tol(lin.phi, Q, v_err + (S + 1) * EPS * float(np.abs(Q).max()))
    Q_random = rng.standard_normal((S, A))                # a generic Q is far from the span
    _, res_random = _lstsq_residual(lin.phi, Q_random)
    assert res_random > 1e-3


# --------------------------------------------------------------- linear mixture
def test_linear_mixture_to_tabular_matches_the_formula():
    mix = random_linear_mixture(4, 2, 3, rng=np.random.default_rng(2), H=3)
    assert mix.is_convex_mixture
    fh = mix.to_tabular()
    for h, s, a, t in itertools.product(range(3), range(4), range(2), range(4)):
        terms = [mix.theta[h, j] * mix.psi[h, j, s, a, t] for j in range(3)]
        assert abs(fh.P[h, s, a, t] - math.fsum(terms)) <= _dot_tol(3, math.fsum(terms)) + EPS
    np.testing.assert_array_equal(fh.R, mix.R)
    stat = random_linear_mixture(4, 2, 3, rng=np.random.default_rng(2), gamma=0.7)
    assert stat.to_tabular().gamma == 0.7 and stat.P.shape == (4, 2, 4)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_loop_hard_linear_mixture_instance(d):
    """The hard linear-mixture AMDP of the loop card §5.2 (Wu-Zhou-Gu construction): features
    phi(x'|x, a) in R^d with negative entries and theta~* off the simplex, yet
    P(x1|x0, a) = delta + <a, theta>, P(x0|x1, a) = delta exactly as the card states."""
    delta, gap = 0.1, 0.05
    signs = np.array([1.0, -1.0, 1.0][: d - 1])
    theta = signs * gap / (d - 1)
    actions = np.array(list(itertools.product([-1.0, 1.0], repeat=d - 1)))
    alpha = math.sqrt(gap / ((d - 1) * (1 + gap)))
    beta0 = math.sqrt(1 / (1 + gap))
    theta_tilde = np.concatenate([theta / alpha, [1 / beta0]])
    n = len(actions)
    psi = np.zeros((d, 2, n, 2))                         # psi[:, x, a, x'] = phi(x'|x, a)
    for k, a in enumerate(actions):
        psi[:, 0, k, 0] = np.concatenate([-alpha * a, [beta0 * (1 - delta)]])
        psi[:, 0, k, 1] = np.concatenate([alpha * a, [beta0 * delta]])
        psi[:, 1, k, 0] = np.concatenate([np.zeros(d - 1), [beta0 * delta]])
        psi[:, 1, k, 1] = np.concatenate([np.zeros(d - 1), [beta0 * (1 - delta)]])
    R = np.array([[0.0] * n, [1.0] * n])                # reward 0 in x0, 1 in x1
    mix = LinearMixtureMDP(psi, theta_tilde, R, gamma=1.0)
    assert not mix.is_convex_mixture
    # |entries| of psi and theta~ are <= 1 / beta0 ~ 1.03 and d terms are summed: d eps * 4
    tol = 4 * d * EPS
    np.testing.assert_allclose(mix.P[0, :, 1], delta + actions @ theta, rtol=0, atol=tol)
    np.testing.assert_allclose(mix.P[1, :, 0], delta, rtol=0, atol=tol)
    assert mix.to_tabular().gamma == 1.0


def test_linear_mixture_validation_messages():
    stay = np.eye(2)[:, None, :].repeat(2, axis=1)
    psi = np.array([stay, stay[::-1]])
    R = np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"P\[0, 0, :\] = sum_j theta\[j\] psi\[j, 0, 0, :\] sums "
                                         r"to 0.9"):
        LinearMixtureMDP(psi, np.array([0.6, 0.3]), R, gamma=0.5)
    with pytest.raises(ValueError, match=r"P\[1, 0, 0, 1\] = sum_j theta\[1, j\] psi\[1, j, 0, 0, 1\] "
                                         r"= -0.5 is negative"):
        LinearMixtureMDP(psi, np.array([[1.0, 0.0], [1.5, -0.5]]), R)
    with pytest.raises(ValueError, match=r"R has shape \(2, 3\); expected \(S, A\) = \(2, 2\)"):
        LinearMixtureMDP(psi, np.array([0.5, 0.5]), np.zeros((2, 3)), gamma=0.5)
    with pytest.raises(ValueError, match=r"theta has shape \(3,\); expected \(d,\) = \(2,\)"):
        LinearMixtureMDP(psi, np.full(3, 1 / 3), R, gamma=0.5)
    with pytest.raises(ValueError, match=r"psi has shape \(2, 2, 2, 3\); expected"):
        LinearMixtureMDP(np.full((2, 2, 2, 3), 1 / 3), np.array([0.5, 0.5]), R, gamma=0.5)
    with pytest.raises(ValueError, match=r"R has shape \(3, 2, 2\) \(3 steps\) but the horizon is "
                                         r"H == 2"):
        LinearMixtureMDP(psi, np.array([[0.5, 0.5]] * 2), np.zeros((3, 2, 2)))


# --------------------------------------------------------------- generators
def test_generators_need_an_explicit_rng_and_are_deterministic():
    with pytest.raises(TypeError, match=r"rng is None; pass rng=<int seed> or a numpy.random.Generator"):
        random_linear_mdp(3, 2, 2, rng=None)
    with pytest.raises(TypeError, match=r"rng is None; pass rng=<int seed> or a numpy.random.Generator"):
        random_linear_mixture(3, 2, 2, rng=None)
    a = random_linear_mdp(4, 2, 3, rng=np.random.default_rng(1), H=2)
    b = random_linear_mdp(4, 2, 3, rng=1, H=2)                   # a seed is turned into a Generator
    c = random_linear_mdp(4, 2, 3, rng=np.random.default_rng(2), H=2)
    for name in ("phi", "mu", "theta", "P", "R"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.phi, c.phi)
    m1 = random_linear_mixture(4, 2, 3, rng=np.random.default_rng(1))
    m2 = random_linear_mixture(4, 2, 3, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(m1.P, m2.P)


def test_generator_argument_errors():
    with pytest.raises(ValueError, match=r"gamma == 0.9 and H == 3 were both given"):
        random_linear_mdp(3, 2, 2, rng=0, H=3, gamma=0.9)
    with pytest.raises(ValueError, match=r"concentration == 0.0, must be in \(0, inf\)"):
        random_linear_mixture(3, 2, 2, rng=0, concentration=0.0)
    with pytest.raises(ValueError, match=r"d == 0, must be in \[1, inf\]"):
        random_linear_mdp(3, 2, 0, rng=0)


@settings(max_examples=50, deadline=None)
@given(S=st.integers(1, 6), A=st.integers(1, 3), d=st.integers(1, 5),
       H=st.one_of(st.none(), st.integers(1, 4)), seed=st.integers(0, 2**32 - 1),
       concentration=st.sampled_from([0.1, 0.3, 1.0, 5.0]))
def test_random_linear_mdp_is_valid_rectangular_with_rewards_in_unit_interval(S, A, d, H, seed,
                                                                               concentration):
    lin = random_linear_mdp(S, A, d, rng=np.random.default_rng(seed), H=H,
                            concentration=concentration)
    assert lin.is_d_rectangular
    assert (lin.R >= 0).all() and (lin.R <= 1.0 + d * EPS).all()   # convex combination of U[0, 1]
    tab = lin.to_tabular(gamma=None if H else 0.5)                   # re-validated by the core
    assert isinstance(tab, rls.FiniteHorizonMDP if H else rls.TabularMDP)
    # d_rectangular=False stays valid (constructor re-checks) and is flagged
    gen = random_linear_mdp(S, A, d, rng=np.random.default_rng(seed), H=H, d_rectangular=False,
                            concentration=concentration)
    assert not gen.is_d_rectangular
    assert gen.P.min() >= 0.5 / S - 8 * d * d * EPS                 # the uniform mixing margin


@settings(max_examples=50, deadline=None)
@given(S=st.integers(1, 5), A=st.integers(1, 3), d=st.integers(1, 4),
       H=st.one_of(st.none(), st.integers(1, 3)), seed=st.integers(0, 2**32 - 1))
def test_random_linear_mixture_is_a_valid_convex_mixture(S, A, d, H, seed):
    mix = random_linear_mixture(S, A, d, rng=np.random.default_rng(seed), H=H)
    assert mix.is_convex_mixture
    tab = mix.to_tabular(gamma=None if H else 0.9)
    assert (tab.R >= 0).all() and (tab.R < 1).all()
