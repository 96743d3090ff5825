"""Fuzzing the validation boundary: malformed input raises ValueError/TypeError, nothing else.

Two kinds of test:

* *Corruptions.* Start from a valid model drawn by :func:`rlsandbox.testing.tabular_mdps` and
  break exactly one thing (P, R, gamma, rho or terminal; dense or sparse P): a wrong shape,
  NaN / inf, a negative probability, a row that does not sum to 1, a wrong dtype (strings,
  complex, object, None). Every case is invalid by construction, so it must raise
  ``ValueError`` or ``TypeError`` - not another exception, not a hang, not a model.
* *Arbitrary data.* Arrays of any floats (NaN, inf, subnormals, +-1e308) and arbitrary Python
  objects for the scalars: construction either raises ``ValueError``/``TypeError`` or returns a
  model that satisfies every invariant (finite, read-only float64 arrays, stochastic rows,
  gamma in [0, 1]).

A watchdog (SIGALRM, 10 s per call) turns a hang into a failure with a message instead of a
stuck test run.
"""
from __future__ import annotations

import contextlib
import signal
import sys

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

import rlsandbox as rls
from rlsandbox._validate import ROW_SUM_ATOL
from rlsandbox.testing import tabular_mdps

BAD = (ValueError, TypeError)


class Hang(Exception):
    pass


@contextlib.contextmanager
def watchdog(seconds: float = 10.0):
    """Raise :class:`Hang` if the body runs longer than ``seconds`` (POSIX main thread only)."""
    if sys.platform == "win32":
        yield
        return

    def on_alarm(signum, frame):
        raise Hang(f"call did not return within {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def must_refuse(fn, *args, **kwargs):
    """Call ``fn``; it must raise ValueError/TypeError (any other exception propagates)."""
    with watchdog():
        try:
            out = fn(*args, **kwargs)
        except BAD:
            return
    pytest.fail(f"malformed input was accepted and returned {out!r}")


def model_invariants(m: rls.TabularMDP) -> None:
    """Everything a constructed model promises (DESIGN.md: validated once, immutable)."""
    P = m.dense_P()
    S, A = m.S, m.A
    assert P.shape == (S, A, S) and m.R.shape == (S, A) and m.rho.shape == (S,)
    for arr in (P, m.R, m.rho):
        assert arr.dtype == np.float64 and np.isfinite(arr).all()
    for arr in ((m.P.data, m.P.indices, m.P.indptr) if m.is_sparse else (m.P,)) + (m.R, m.rho,
                                                                                    m.terminal):
        assert not arr.flags.writeable
    assert (P >= 0).all() and np.all(np.abs(P.sum(-1) - 1) <= ROW_SUM_ATOL)
    assert (m.rho >= 0).all() and abs(m.rho.sum() - 1) <= ROW_SUM_ATOL
    assert isinstance(m.gamma, float) and 0.0 <= m.gamma <= 1.0
    assert m.terminal.dtype == np.bool_ and m.terminal.shape == (S,)


# ------------------------------------------------------------------ corruptions
def _index(data, shape, label):
    return tuple(data.draw(st.integers(0, n - 1), label=f"{label}[{i}]") for i, n in enumerate(shape))


NON_REAL = st.sampled_from(["str", "bytes-like", "complex", "object-None", "object-str",
                            "None", "python-str", "datetime", "dict"])


def _wrong_dtype(x: np.ndarray, kind: str, data):
    if kind == "str":
        return x.astype(str)
    if kind == "bytes-like":
        return x.astype("S8")
    if kind == "complex":
        return x + 1j * data.draw(st.sampled_from([0.0, 1e-3, 1.0]), label="imag")
    if kind in ("object-None", "object-str"):
        out = x.astype(object)
        out[_index(data, x.shape, "obj")] = None if kind == "object-None" else "0.5"
        return out
    if kind == "None":
        return None
    if kind == "python-str":
        return "P"
    if kind == "datetime":
        return np.zeros(x.shape, dtype="datetime64[s]")
    return {"values": x}


def _wrong_shape(x: np.ndarray, data):
    kind = data.draw(st.sampled_from(["drop-axis", "add-axis", "grow-last", "grow-first",
                                      "empty", "scalar", "transpose"]), label="shape-kind")
    if kind == "drop-axis":
        return x[0] if x.ndim > 1 else x.reshape(1, -1)[:, :0]
    if kind == "add-axis":          # trailing axis of length S + 1: never (S, A, S)
        return np.repeat(x[..., None], x.shape[0] + 1, axis=-1)
    if kind == "grow-last":
        return np.concatenate([x, np.zeros((*x.shape[:-1], 1))], axis=-1)
    if kind == "grow-first":
        return np.concatenate([x, x[:1]], axis=0)
    if kind == "empty":
        return np.zeros((0,) * x.ndim)
    if kind == "scalar":
        return np.float64(0.5)
    # transpose changes the shape only if it is not symmetric; otherwise grow instead
    y = np.swapaxes(x, 0, -1)
    return y if y.shape != x.shape else np.concatenate([x, x[:1]], axis=0)


def _non_finite(x: np.ndarray, data):
    y = x.copy()
    y[_index(data, x.shape, "nonfinite")] = data.draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    return y


def _negative_prob(x: np.ndarray, data):
    """Make one entry negative; keep the row sum at 1 by moving the mass elsewhere in the row
    (or not), so the negativity itself is what must be caught."""
    y = x.copy()
    idx = _index(data, x.shape, "neg")
    delta = data.draw(st.floats(1e-6, 2.0), label="delta")
    shift = y[idx] + delta                      # new value is -delta
    y[idx] = -delta
    if x.shape[-1] > 1 and data.draw(st.booleans(), label="keep-sum"):
        j = (idx[-1] + 1) % x.shape[-1]
        y[(*idx[:-1], j)] += shift
    return y


def _row_sum(x: np.ndarray, data):
    """Scale one row so its sum is off by at least 1e-7 (100x the 1e-9 tolerance)."""
    y = x.copy()
    idx = _index(data, x.shape[:-1], "row")
    f = data.draw(st.one_of(st.floats(0.0, 1 - 1e-7), st.floats(1 + 1e-7, 10.0)), label="factor")
    y[idx] = y[idx] * f
    return y


def _valid_parts(mdp):
    return {"P": np.array(mdp.dense_P()), "R": np.array(mdp.R), "gamma": mdp.gamma,
            "rho": np.array(mdp.rho), "terminal": np.array(mdp.terminal)}


@given(tabular_mdps(S=(1, 4), A=(1, 3)), st.sampled_from(["P", "R", "rho"]),
       st.sampled_from(["shape", "nonfinite", "dtype", "negative", "rowsum"]), st.data())
def test_corrupted_array_is_refused(mdp, field, kind, data):
    parts = _valid_parts(mdp)
    x = parts[field]
    if kind in ("negative", "rowsum") and field == "R":
        kind = "nonfinite"          # any real reward is valid: only shape/finiteness/dtype apply
    if kind == "shape":
        bad = _wrong_shape(x, data)
    elif kind == "nonfinite":
        bad = _non_finite(x, data)
    elif kind == "dtype":
        dtype = data.draw(NON_REAL, label="dtype")
        if field == "rho" and dtype == "None":
            dtype = "dict"          # rho=None is valid (uniform)
        bad = _wrong_dtype(x, dtype, data)
    elif kind == "negative":
        bad = _negative_prob(x, data)
    else:
        bad = _row_sum(x, data)
    parts[field] = bad
    must_refuse(rls.TabularMDP, **parts)


@given(tabular_mdps(S=(1, 4), A=(1, 3)),
       st.sampled_from(["nonfinite", "negative", "rowsum", "complex", "shape", "coo-1d"]),
       st.data())
def test_corrupted_sparse_P_is_refused(mdp, kind, data):
    parts = _valid_parts(mdp)
    S, A = mdp.S, mdp.A
    flat = parts["P"].reshape(S * A, S)
    if kind == "nonfinite":
        M = sp.csr_array(_non_finite(flat, data))
    elif kind == "negative":
        M = sp.csr_array(_negative_prob(flat, data))
    elif kind == "rowsum":
        M = sp.csr_array(_row_sum(flat, data))
    elif kind == "complex":
        M = sp.csr_array(flat.astype(np.complex128))
    elif kind == "shape":
        extra = data.draw(st.integers(1, S), label="extra-rows") if S > 1 else 1
        M = sp.csr_array(np.vstack([flat, flat[:extra]]))      # rows not a multiple of S ...
        if M.shape[0] % S == 0:                                 # ... unless S | extra: add a column
            M = sp.csr_array(np.hstack([flat, np.zeros((S * A, 1))]))
    else:
        M = sp.coo_array(flat[0])
    parts["P"] = M
    must_refuse(rls.TabularMDP, **parts)


bad_gammas = st.one_of(
    st.floats(allow_nan=True).filter(lambda g: not 0.0 <= g <= 1.0),
    st.complex_numbers(allow_nan=True).filter(lambda z: z.imag != 0),
    st.text(max_size=4), st.none(), st.booleans(),
    st.lists(st.floats(0, 1), min_size=1, max_size=3),
    hnp.arrays(np.float64, st.integers(1, 3), elements=st.floats(0, 1)),
    st.just(np.float64(np.nan)), st.just(object()), st.just(1.0 + 0j),
)


@given(tabular_mdps(S=(1, 3), A=(1, 2)), bad_gammas)
def test_bad_gamma_is_refused(mdp, gamma):
    parts = _valid_parts(mdp)
    parts["gamma"] = gamma
    must_refuse(rls.TabularMDP, **parts)


@given(tabular_mdps(S=(1, 4), A=(1, 3)),
       st.sampled_from(["int", "float", "str", "object", "shape", "not-absorbing", "reward"]),
       st.data())
def test_bad_terminal_is_refused(mdp, kind, data):
    parts = _valid_parts(mdp)
    S, A = mdp.S, mdp.A
    s = data.draw(st.integers(0, S - 1), label="state")
    mask = np.zeros(S, dtype=bool)
    mask[s] = True
    if kind == "int":
        parts["terminal"] = mask.astype(int)
    elif kind == "float":
        parts["terminal"] = mask.astype(float)
    elif kind == "str":
        parts["terminal"] = mask.astype(str)
    elif kind == "object":
        parts["terminal"] = mask.astype(object)
    elif kind == "shape":
        parts["terminal"] = np.concatenate([mask, [False]])
    elif kind == "not-absorbing":
        # zero reward at s but some action leaves s with positive probability
        a = data.draw(st.integers(0, A - 1), label="action")
        P = parts["P"]
        P[s] = 0.0
        P[s, :, s] = 1.0
        if S == 1:              # a single state is always absorbing: break it differently
            parts["R"][s, a] = 1.0
        else:
            P[s, a] = 0.0
            P[s, a, (s + 1) % S] = 1.0
            parts["R"][s] = 0.0
        parts["terminal"] = mask
    else:
        P = parts["P"]
        P[s] = 0.0
        P[s, :, s] = 1.0
        a = data.draw(st.integers(0, A - 1), label="action")
        parts["R"][s, a] = data.draw(st.one_of(st.floats(1e-9, 1e3), st.floats(-1e3, -1e-9)))
        parts["terminal"] = mask
    must_refuse(rls.TabularMDP, **parts)


@given(tabular_mdps(S=(1, 4), A=(1, 3)), st.data())
def test_malformed_policy_is_refused(mdp, data):
    S, A = mdp.S, mdp.A
    kind = data.draw(st.sampled_from(["action-range", "float-det", "shape", "rowsum",
                                      "negative", "nonfinite", "dtype"]), label="kind")
    if kind == "action-range":
        pi = np.zeros(S, dtype=np.int64)
        pi[data.draw(st.integers(0, S - 1))] = data.draw(st.one_of(st.integers(A, A + 5),
                                                                   st.integers(-5, -1)))
    elif kind == "float-det":
        pi = np.zeros(S)
    elif kind == "shape":
        pi = np.full((S, A + 1), 1 / (A + 1))
    else:
        base = np.full((S, A), 1.0 / A)
        pi = {"rowsum": _row_sum, "negative": _negative_prob, "nonfinite": _non_finite}.get(
            kind, lambda x, d: _wrong_dtype(x, d.draw(NON_REAL, label="dtype"), d))(base, data)
    must_refuse(rls.evaluate, mdp, pi)


# --------------------------------------------------------------- arbitrary data
any_floats = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)
spiky = st.one_of(st.floats(0, 1), st.sampled_from([0.0, 1.0, -0.0, 0.5, np.nan, np.inf,
                                                    -1.0, 1e308, -1e308, 5e-324]))
any_scalar = st.one_of(any_floats, st.integers(-2, 2), st.text(max_size=3), st.none(),
                       st.booleans(), st.complex_numbers(max_magnitude=2))


@given(st.integers(1, 3), st.integers(1, 2), st.data())
def test_arbitrary_data_gives_valid_model_or_clean_error(S, A, data):
    P_shape = data.draw(st.sampled_from([(S, A, S), (S, A, S + 1), (S * A, S), (S, A)]), label="Pshape")
    R_shape = data.draw(st.sampled_from([(S, A), (S, A, S), (A, S), (S,)]), label="Rshape")
    P = data.draw(hnp.arrays(np.float64, P_shape, elements=spiky), label="P")
    if data.draw(st.booleans(), label="normalise"):       # make valid rows likely
        with np.errstate(all="ignore"):
            P = P / P.sum(-1, keepdims=True)
    R = data.draw(hnp.arrays(np.float64, R_shape, elements=spiky | any_floats), label="R")
    rho = data.draw(st.one_of(st.none(), hnp.arrays(np.float64, S, elements=spiky)), label="rho")
    gamma = data.draw(any_scalar, label="gamma")
    terminal = data.draw(st.one_of(st.none(), hnp.arrays(np.bool_, S)), label="terminal")
    sparse = data.draw(st.booleans(), label="sparse") and P.ndim == 3
    if sparse:
        P = sp.csr_array(P.reshape(-1, P.shape[-1]))
    with watchdog():
        try:
            m = rls.TabularMDP(P, R, gamma, rho=rho, terminal=terminal)
        except BAD:
            return
    model_invariants(m)


@given(tabular_mdps(S=(1, 3), A=(1, 2), sparse=st.booleans()),
       st.floats(1e300, np.finfo(np.float64).max) | st.floats(-np.finfo(np.float64).max, -1e300),
       st.data())
def test_huge_next_state_rewards_never_give_an_infinite_model(mdp, big, data):
    # R[s, a, s'] finite but near the float64 limit: its expectation over P may overflow, which
    # must raise rather than produce a model with R = inf
    S, A = mdp.S, mdp.A
    R_sas = data.draw(hnp.arrays(np.float64, (S, A, S), elements=st.sampled_from([big, 0.0])))
    with watchdog():
        try:
            m = mdp.replace(R=R_sas)
        except BAD:
            return
    model_invariants(m)


@pytest.fixture(scope="module")
def compiled_batch_kernels():
    """Compile (or load from cache) the batch kernels outside the watchdog: a cold Numba cache
    costs seconds on the first call, which is not a hang."""
    P = np.ones((1, 1, 1, 1))
    for method in ("pi", "vi"):
        rls.solve_batch(P, np.zeros((1, 1, 1)), 0.5, method=method)


@given(st.integers(1, 3), st.integers(1, 2), st.integers(1, 3), st.data())
def test_solve_batch_arbitrary_data_raises_cleanly_or_solves(compiled_batch_kernels, N, S, A, data):
    P = data.draw(hnp.arrays(np.float64, (N, S, A, S), elements=spiky), label="P")
    if data.draw(st.booleans(), label="normalise"):
        with np.errstate(all="ignore"):
            P = P / P.sum(-1, keepdims=True)
    # rewards up to 1e6 (not 1e308): V* = R / (1 - gamma) itself must be representable
    R = data.draw(hnp.arrays(np.float64, data.draw(st.sampled_from([(N, S, A), (S, A)])),
                             elements=st.floats(-1e6, 1e6) | st.sampled_from([np.nan, np.inf])),
                  label="R")
    gamma = data.draw(st.one_of(any_scalar, hnp.arrays(np.float64, st.integers(1, 3),
                                                       elements=any_floats)), label="gamma")
    with watchdog():
        try:
            out = rls.solve_batch(P, R, gamma, max_iter=200)
        except BAD:
            return
    assert np.isfinite(out.V).all() and out.V.shape == (N, S)
    assert out.policy.dtype == np.int64 and ((out.policy >= 0) & (out.policy < A)).all()
