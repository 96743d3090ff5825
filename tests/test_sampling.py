"""Tests of rlsandbox.sampling and its kernels (rlsandbox/kernels/sampling.py).

Exact tests first: each kernel against its ``.py_func`` and against ``np.searchsorted`` (the
inverse-CDF rule), determinism, dense == sparse bit for bit, support of every draw. Then
statistical tests, all at a stated, tiny false-alarm rate so they are not flaky:

* frequencies: an exact two-sided binomial test per entry (``scipy.stats.binomtest``) with a
  Bonferroni correction, family-wise alpha = 1e-6 per test function;
* means (returns, lengths, visitation): |mean - exact| <= 5 standard errors (+ the stated
  truncation bias), a two-sided normal tail of 5.7e-7 per compared quantity (the CLT applies:
  the averaged variables are bounded and n >= 4000).
"""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

import rlsandbox as rls
from rlsandbox.kernels.sampling import (_categorical_csr, _categorical_dense, _csr_cdf,
                                        _rollouts, _search)
from rlsandbox.measures import occupancy, state_occupancy
from rlsandbox.sampling import (GenerativeSamples, Trajectories, Transitions, generative,
                                trajectories, transitions)
from rlsandbox.testing import finite_horizon_mdps, policies, tabular_mdps

ALPHA = 1e-6        # family-wise false-alarm rate of each frequency test
Z = 5.0             # standard errors allowed for a mean


def binomial_ok(counts: np.ndarray, n: np.ndarray | int, p: np.ndarray) -> bool:
    """Exact binomial tests of counts ~ Bin(n, p), entry by entry, Bonferroni at ALPHA.

    p == 0 entries must have zero counts, p == 1 entries full counts (any other outcome has
    probability 0)."""
    counts, p = np.ravel(counts), np.ravel(p)
    n = np.broadcast_to(n, counts.shape).ravel()
    m = counts.size
    for k, nn, pp in zip(counts, n, p):
        if nn == 0:
            continue
        if pp == 0.0 or pp == 1.0:
            if k != nn * pp:
                return False
            continue
        if scipy.stats.binomtest(int(k), int(nn), float(pp)).pvalue < ALPHA / m:
            return False
    return True


def random_mdp(rng, S, A, gamma, *, zeros=0.3, r_sas=False, terminal=None):
    P = rng.dirichlet(np.ones(S), size=(S, A))
    P[rng.random((S, A, S)) < zeros] = 0.0           # sparse supports
    P[np.arange(S)[:, None], np.arange(A)[None, :], rng.integers(0, S, (S, A))] += 0.1
    P /= P.sum(axis=-1, keepdims=True)
    R = rng.uniform(-1, 1, size=(S, A, S) if r_sas else (S, A))
    return rls.TabularMDP(P, R, gamma, rho=rng.dirichlet(np.ones(S)), terminal=terminal)


# ================================================================= kernels
def test_search_is_searchsorted_right():
    p = np.array([0.0, 0.2, 0.0, 0.3, 0.5, 0.0])
    c = np.cumsum(p) / p.sum()
    u = np.concatenate([[0.0, 0.2, 0.5, np.nextafter(1.0, 0.0)], c[:-1],
                        np.random.default_rng(0).random(200)])
    u = u[u < 1.0]                  # uniforms lie in [0, 1); c[:-1] contains 1.0 (p[-1] == 0)
    for uu in u:
        k = _search(c, 0, c.size, uu)
        assert k == np.searchsorted(c, uu, side="right") == _search.py_func(c, 0, c.size, uu)
        assert p[k] > 0                                 # zero-probability outcomes never drawn
    # a sub-range [lo, hi) of a longer table
    assert _search(np.array([9.0, 0.5, 1.0, 9.0]), 1, 3, 0.7) == 2


def test_csr_cdf_matches_numpy_and_ends_at_one():
    rng = np.random.default_rng(1)
    M = sp.csr_array(rng.dirichlet(np.ones(5), size=7) * (rng.random((7, 5)) < 0.6) + np.eye(7, 5))
    out, out_py = np.empty(M.nnz), np.empty(M.nnz)
    _csr_cdf(M.data, M.indptr.astype(np.int64), out)
    _csr_cdf.py_func(M.data, M.indptr.astype(np.int64), out_py)
    np.testing.assert_array_equal(out, out_py)
    for r in range(7):
        row = M.data[M.indptr[r]:M.indptr[r + 1]]
        c = np.cumsum(row)
        np.testing.assert_array_equal(out[M.indptr[r]:M.indptr[r + 1]], c / c[-1])
        assert out[M.indptr[r + 1] - 1] == 1.0


def test_categorical_kernels_against_py_func_and_searchsorted():
    rng = np.random.default_rng(2)
    table = rng.dirichlet(np.ones(4), size=3)
    table[1, 2] = 0.0
    table /= table.sum(axis=1, keepdims=True)
    cdf = np.cumsum(table, axis=1)
    cdf /= cdf[:, -1:]
    rows = rng.integers(0, 3, 50)
    u = rng.random(50)
    out, out_py = np.empty(50, np.int64), np.empty(50, np.int64)
    _categorical_dense(cdf, rows, u, out)
    _categorical_dense.py_func(cdf, rows, u, out_py)
    np.testing.assert_array_equal(out, out_py)
    np.testing.assert_array_equal(out, [np.searchsorted(cdf[r], x, side="right")
                                        for r, x in zip(rows, u)])
    M = sp.csr_array(table)
    ccdf = np.empty(M.nnz)
    indptr, indices = M.indptr.astype(np.int64), M.indices.astype(np.int64)
    _csr_cdf(M.data, indptr, ccdf)
    out2, out2_py = np.empty(50, np.int64), np.empty(50, np.int64)
    _categorical_csr(ccdf, indices, indptr, rows, u, out2)
    _categorical_csr.py_func(ccdf, indices, indptr, rows, u, out2_py)
    np.testing.assert_array_equal(out2, out2_py)
    np.testing.assert_array_equal(out2, out)           # CSR table draws the same outcomes


def test_rollout_kernel_against_py_func():
    mdp = random_mdp(np.random.default_rng(3), 4, 2, 0.9,
                     terminal=None)
    P = sp.csr_array(mdp.P.reshape(8, 4))
    indptr, indices = P.indptr.astype(np.int64), P.indices.astype(np.int64)
    cdf = np.empty(P.nnz)
    _csr_cdf(P.data, indptr, cdf)
    pi_cdf = np.cumsum(np.full((1, 4, 2), 0.5), axis=-1)
    rho_cdf = np.cumsum(mdp.rho) / mdp.rho.sum()
    term = np.array([False, False, True, False])       # kernel treats 2 as terminal
    rng = np.random.default_rng(4)
    u0, ua, us = rng.random(6), rng.random((6, 7)), rng.random((6, 7))
    outs = []
    for f in (_rollouts, _rollouts.py_func):
        s, a, L = np.empty((6, 8), np.int64), np.empty((6, 7), np.int64), np.empty(6, np.int64)
        f(cdf, indices, indptr, 2, pi_cdf, rho_cdf, term, u0, ua, us, s, a, L)
        outs.append((s, a, L))
    for x, y in zip(*outs):
        np.testing.assert_array_equal(x, y)
    s, a, L = outs[0]
    for i in range(6):                                 # replay episode i by hand
        st_ = np.searchsorted(rho_cdf, u0[i], side="right")
        assert s[i, 0] == st_
        for t in range(L[i]):
            assert a[i, t] == np.searchsorted(pi_cdf[0, st_], ua[i, t], side="right")
            row = st_ * 2 + a[i, t]
            lo, hi = indptr[row], indptr[row + 1]
            st_ = indices[lo + np.searchsorted(cdf[lo:hi], us[i, t], side="right")]
            assert s[i, t + 1] == st_
        assert L[i] == 7 or term[s[i, L[i]]]
        assert (a[i, L[i]:] == -1).all() and (s[i, L[i]:] == s[i, L[i]]).all()


# ================================================================= determinism, dense == sparse
def _arrays(x):
    return [v for v in (getattr(x, f, None) for f in ("s", "a", "r", "s_next", "length"))
            if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("which", ["trajectories", "transitions", "generative"])
def test_same_seed_same_bits_and_dense_equals_sparse(which):
    mdp = random_mdp(np.random.default_rng(5), 6, 3, 0.9, r_sas=True)
    sparse = mdp.replace(P=mdp.csr_P())
    pi = np.random.default_rng(6).dirichlet(np.ones(3), size=6)

    def run(m, rng):
        if which == "trajectories":
            return trajectories(m, pi, n=50, horizon=30, rng=rng)
        if which == "transitions":
            return transitions(m, pi, n=500, rng=rng)
        return generative(m, n_per_pair=40, rng=rng)

    a, b = run(mdp, 7), run(mdp, np.random.default_rng(7))
    c, d = run(sparse, 7), run(mdp, 8)
    for x, y, z, w in zip(_arrays(a), _arrays(b), _arrays(c), _arrays(d)):
        np.testing.assert_array_equal(x, y)             # int seed == Generator(seed)
        np.testing.assert_array_equal(x, z)             # dense == CSR, bit for bit
        assert x.dtype in (np.int64, np.float64)
        assert not x.flags.writeable
    assert any(not np.array_equal(x, w) for x, w in zip(_arrays(a), _arrays(d)))
    g = np.random.default_rng(9)                        # a Generator's stream continues
    assert any(not np.array_equal(x, y) for x, y in zip(_arrays(run(mdp, g)), _arrays(run(mdp, g))))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([False, True]).flatmap(lambda term: tabular_mdps(
    S=(1, 5), A=(1, 3), gamma=(0.0, 0.95), sparse=st.booleans(), terminal=term)).flatmap(
    lambda m: st.tuples(st.just(m), policies(m))), st.integers(0, 2**32 - 1))
def test_every_draw_is_in_the_support(mdp_pi, seed):
    mdp, pi = mdp_pi
    P, pi_sto = mdp.dense_P(), np.eye(mdp.A)[pi] if pi.ndim == 1 else pi
    tr = trajectories(mdp, pi, n=20, horizon=15, rng=seed)
    m = tr.mask
    assert (mdp.rho[tr.s[:, 0]] > 0).all()
    s, a, s2 = tr.s[:, :-1][m], tr.a[m], tr.s[:, 1:][m]
    assert (pi_sto[s, a] > 0).all() and (P[s, a, s2] > 0).all()
    assert not mdp.terminal[s].any()                    # no step is taken from a terminal state
    stopped = tr.length < tr.T
    assert mdp.terminal[tr.s[stopped, tr.length[stopped]]].all()
    np.testing.assert_array_equal(tr.r[m], mdp.R[s, a])
    assert (tr.r[~m] == 0).all() and (tr.a[~m] == -1).all()
    data = transitions(mdp, pi, n=30, rng=seed, states=mdp.rho) if mdp.gamma == 1 else \
        transitions(mdp, pi, n=30, rng=seed)
    assert (data.mu[data.s, data.a] > 0).all() and (P[data.s, data.a, data.s_next] > 0).all()
    np.testing.assert_array_equal(data.done, mdp.terminal[data.s_next])
    g = generative(mdp, n_per_pair=3, rng=seed)
    assert np.take_along_axis(P, g.s_next, axis=-1).min() > 0


# ================================================================= statistics
def test_generative_frequencies_match_P():
    mdp = random_mdp(np.random.default_rng(10), 5, 3, 0.9, zeros=0.4)
    m = 20_000
    g = generative(mdp, n_per_pair=m, rng=11)
    counts = np.rint(g.empirical_P() * m).astype(np.int64)
    assert (counts.sum(-1) == m).all()
    assert binomial_ok(counts, m, mdp.P)


def test_transition_dataset_follows_the_occupancy():
    mdp = random_mdp(np.random.default_rng(12), 5, 2, 0.8)
    pi = np.random.default_rng(13).dirichlet(np.ones(2), size=5)
    n = 20_000
    data = transitions(mdp, pi, n=n, rng=14)
    np.testing.assert_allclose(data.mu, occupancy(mdp, pi), rtol=0, atol=1e-15)
    N = data.counts()
    assert N.sum() == n and binomial_ok(N, n, data.mu)
    # next states given (s, a): conditional binomials with the realised pair counts
    assert binomial_ok(data.next_state_counts(), np.repeat(N.ravel(), mdp.S), mdp.P)
    # explicit state distribution
    nu = np.array([0.0, 0.5, 0.25, 0.25, 0.0])
    data2 = transitions(mdp, pi, n=n, rng=15, states=nu)
    assert binomial_ok(np.bincount(data2.s, minlength=5), n, nu)


def test_discounted_returns_and_visitation_match_exact_values():
    # R[s, a, s'] so that sampled rewards use the next-state reward of the model
    mdp = random_mdp(np.random.default_rng(16), 5, 2, 0.9, r_sas=True)
    pi = np.random.default_rng(17).dirichlet(np.ones(2), size=5)
    n, T = 4000, 300
    tr = trajectories(mdp, pi, n=n, horizon=T, rng=18)
    G = tr.returns(mdp.gamma)
    V = rls.evaluate(mdp, pi)
    # truncation: E[G] = V(rho) - gamma^T E[V(s_T)], |bias| <= gamma^T max|V| (~2e-14 here)
    bias = mdp.gamma ** T * np.abs(V).max()
    assert abs(G.mean() - mdp.rho @ V) <= Z * G.std(ddof=1) / np.sqrt(n) + bias
    # discounted visitation (1-g) sum_t g^t 1{s_t = s} estimates d^pi_rho(s), per state
    w = (1 - mdp.gamma) * mdp.gamma ** np.arange(T + 1)
    visits = np.stack([(w * (tr.s == s)).sum(axis=1) for s in range(mdp.S)], axis=1)
    d = state_occupancy(mdp, pi)
    se = visits.std(axis=0, ddof=1) / np.sqrt(n)
    assert (np.abs(visits.mean(axis=0) - d) <= Z * se + mdp.gamma ** (T + 1)).all()


def test_episodes_stop_at_terminal_states_with_the_right_mean_length():
    # live states 0..3 each exit to terminal state 4 w.p. >= 0.25 per step
    rng = np.random.default_rng(19)
    S, A = 5, 2
    P = np.zeros((S, A, S))
    P[:4, :, :4] = 0.75 * rng.dirichlet(np.ones(4), size=(4, A))
    P[:4, :, 4] = 0.25
    P[4, :, 4] = 1.0
    R = np.where(np.arange(S)[:, None] < 4, 1.0, 0.0) * np.ones((S, A))
    term = np.arange(S) == 4
    mdp = rls.TabularMDP(P, R, 1.0, rho=np.array([0.4, 0.3, 0.2, 0.1, 0.0]), terminal=term)
    pi = np.array([0, 1, 0, 1, 0])
    n, T = 5000, 200
    tr = trajectories(mdp, pi, n=n, horizon=T, rng=20)
    assert (tr.length < T).all()          # P(length >= 200) = 0.75^200 ~ 1e-25 per episode
    assert (tr.s[np.arange(n), tr.length] == 4).all()
    x = state_occupancy(mdp, pi, normalized=False)     # expected visits before termination
    se = tr.length.std(ddof=1) / np.sqrt(n)
    assert abs(tr.length.mean() - x.sum()) <= Z * se
    np.testing.assert_array_equal(tr.returns(1.0), tr.length)     # reward 1 per live step
    # to_transitions keeps exactly the steps taken, with done on the last one
    data = tr.to_transitions()
    assert len(data) == tr.length.sum() and data.done.sum() == n
    np.testing.assert_array_equal(np.bincount(data.episode, minlength=n), tr.length)


def test_finite_horizon_samplers():
    rng = np.random.default_rng(21)
    H, S, A = 3, 4, 2
    fh = rls.FiniteHorizonMDP(rng.dirichlet(np.ones(S), size=(H, S, A)),
                              rng.uniform(0, 1, size=(H, S, A)), rho=rng.dirichlet(np.ones(S)))
    pi = rng.dirichlet(np.ones(A), size=(H, S))         # non-stationary
    n = 5000
    tr = trajectories(fh, pi, n=n, rng=22)
    assert tr.s.shape == (n, H + 1) and tr.H == H and (tr.length == H).all()
    V = rls.evaluate(fh, pi)
    G = tr.returns()
    assert abs(G.mean() - fh.rho @ V[0]) <= Z * G.std(ddof=1) / np.sqrt(n)
    d = state_occupancy(fh, pi)                         # per-step marginals P(s_h = s)
    for h in range(H):
        assert binomial_ok(np.bincount(tr.s[:, h], minlength=S), n, d[h])
    data = tr.to_transitions()
    np.testing.assert_array_equal(data.r, fh.R[data.h, data.s, data.a])
    assert data.counts().shape == (H, S, A) and (data.counts().sum(axis=(1, 2)) == n).all()
    iid = transitions(fh, pi, n=n, rng=23)
    assert len(iid) == n * H and iid.mu.shape == (H, S, A)
    np.testing.assert_allclose(iid.mu, occupancy(fh, pi), rtol=0, atol=1e-15)
    assert binomial_ok(iid.counts(), n, iid.mu)
    g = generative(fh, n_per_pair=2000, rng=24)
    assert g.s_next.shape == (H, S, A, 2000)
    assert binomial_ok(np.rint(g.empirical_P() * 2000), 2000, fh.P)
    np.testing.assert_array_equal(g.r, np.broadcast_to(fh.R[..., None], g.r.shape))
    with pytest.raises(ValueError, match="has H == 3"):
        trajectories(fh, pi, n=2, horizon=4, rng=0)


@settings(max_examples=20, deadline=None)
@given(finite_horizon_mdps(H=(1, 3), S=(1, 4), A=(1, 3)).flatmap(
    lambda m: st.tuples(st.just(m), policies(m))), st.integers(0, 2**32 - 1))
def test_finite_horizon_draws_are_in_the_support(fh_pi, seed):
    fh, pi = fh_pi
    pi_sto = np.eye(fh.A)[pi] if pi.ndim == 2 else pi
    tr = trajectories(fh, pi, n=10, rng=seed)
    h = np.arange(fh.H)[None, :]
    s, a, s2 = tr.s[:, :-1], tr.a, tr.s[:, 1:]
    assert (pi_sto[h, s, a] > 0).all() and (fh.P[h, s, a, s2] > 0).all()


# ================================================================= results and export
def test_to_pandas_exports():
    mdp = random_mdp(np.random.default_rng(25), 4, 2, 0.9)
    pi = np.full((4, 2), 0.5)
    tr = trajectories(mdp, pi, n=5, horizon=6, rng=26)
    df = tr.to_pandas()
    assert list(df.columns) == ["episode", "h", "s", "a", "r", "s_next", "done"]
    assert len(df) == tr.length.sum() and df["s"].dtype == np.int64
    data = transitions(mdp, pi, n=100, rng=27)
    df2 = data.to_pandas()
    assert list(df2.columns) == ["s", "a", "r", "s_next", "done"] and len(df2) == 100
    np.testing.assert_array_equal(
        df2.groupby(["s", "a"]).size().reindex(pd_index(4, 2), fill_value=0).to_numpy(),
        data.counts().ravel())
    g = generative(mdp, n_per_pair=3, rng=28)
    df3 = g.to_pandas()
    assert list(df3.columns) == ["s", "a", "k", "s_next", "r"] and len(df3) == 4 * 2 * 3
    np.testing.assert_array_equal(df3["s_next"].to_numpy(), g.s_next.ravel())
    gt = g.to_transitions()
    np.testing.assert_array_equal(gt.counts(), np.full((4, 2), 3))
    np.testing.assert_allclose(gt.mu, 1 / 8)
    assert isinstance(tr, Trajectories) and isinstance(data, Transitions) \
        and isinstance(g, GenerativeSamples)


def pd_index(S, A):
    import pandas as pd
    return pd.MultiIndex.from_product([range(S), range(A)], names=["s", "a"])


def test_returns_by_hand():
    mdp = random_mdp(np.random.default_rng(29), 3, 2, 0.5)
    tr = trajectories(mdp, np.zeros(3, dtype=int), n=3, horizon=4, rng=30)
    manual = sum(0.5 ** t * tr.r[:, t] for t in range(4))
    np.testing.assert_allclose(tr.returns(0.5), manual, rtol=4 * np.finfo(float).eps)
    with pytest.raises(ValueError, match=r"gamma == 1.5, must be in \[0, 1\]"):
        tr.returns(1.5)


# ================================================================= validation
def test_validation_messages():
    mdp = rls.mdps.riverswim()
    pi = np.zeros(mdp.S, dtype=int)
    with pytest.raises(ValueError, match="n == 0, must be in"):
        trajectories(mdp, pi, n=0, horizon=3, rng=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        transitions(mdp, pi, n=2.5, rng=0)
    with pytest.raises(ValueError, match="horizon is required for a TabularMDP"):
        trajectories(mdp, pi, n=2, rng=0)
    with pytest.raises(TypeError, match="rng is None"):
        generative(mdp, n_per_pair=2, rng=None)
    with pytest.raises(ValueError, match="n_per_pair == 0"):
        generative(mdp, n_per_pair=0, rng=0)
    with pytest.raises(ValueError, match="states == 'uniform'; expected 'occupancy'"):
        transitions(mdp, pi, n=2, rng=0, states="uniform")
    with pytest.raises(ValueError, match=r"states has shape \(3,\)"):
        transitions(mdp, pi, n=2, rng=0, states=np.full(3, 1 / 3))
    with pytest.raises(ValueError, match="states sums to"):
        transitions(mdp, pi, n=2, rng=0, states=np.full(mdp.S, 0.1))
    with pytest.raises(ValueError, match="rho sums to"):
        trajectories(mdp, pi, n=2, horizon=2, rng=0, rho=np.full(mdp.S, 0.1))
    with pytest.raises(TypeError, match="expects a TabularMDP or FiniteHorizonMDP"):
        generative(mdp.dense_P(), n_per_pair=2, rng=0)
    episodic = rls.TabularMDP(np.eye(2)[:, None, :], np.zeros((2, 1)), 1.0,
                              terminal=np.array([False, True]))
    with pytest.raises(ValueError, match="states='occupancy' needs gamma < 1"):
        transitions(episodic, np.zeros(2, dtype=int), n=2, rng=0)
