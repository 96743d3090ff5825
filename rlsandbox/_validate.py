"""Input checkers: one function per rule, each raising a message in the STYLE.md §6 anatomy.

Every public constructor and entry point validates through these, once. A checker returns
the cleaned value (float64, C-contiguous, read-only copy for arrays) so callers never
re-derive it. Nothing here clips, renormalises or replaces values: bad input raises.

Message anatomy: what was wrong, where (the first offending index), the offending value,
the allowed set, and how to fix it.
"""
from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import scipy.sparse as sp

from rlsandbox.kernels.checks import _rows_are_distributions

#: Absolute tolerance on row sums of stochastic arrays (P rows, rho, policies).
#: A row counts as a distribution when |sum - 1| <= ROW_SUM_ATOL.
ROW_SUM_ATOL = 1e-9


def _fmt_index(idx: tuple[int, ...]) -> str:
    return ", ".join(str(int(i)) for i in idx)


def readonly(x: np.ndarray) -> np.ndarray:
    """Return ``x`` with its writeable flag cleared (in place) and return it."""
    x.flags.writeable = False
    return x


def check_float_array(name: str, x: Any, *, ndim: int | tuple[int, ...] | None = None,
                      shape: tuple[int | None, ...] | None = None,
                      copy: bool = True, finite: bool = True) -> np.ndarray:
    """Convert ``x`` to a C-contiguous float64 array and check type, ndim, shape, finiteness.

    Integer and boolean arrays become float64; complex, object and string arrays raise
    ``TypeError``. ``shape`` may contain ``None`` for a free axis. ``finite=False`` leaves the
    finiteness check to the caller (:func:`check_distribution_rows` does it in its own pass).
    """
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}")
    if sp.issparse(x):
        raise TypeError(f"{name} must be a dense array, got a scipy.sparse {type(x).__name__}; "
                        f"pass {name}.toarray()")
    arr = np.asarray(x)
    if arr.dtype == object:
        bad = next((v for v in arr.flat if v is None or isinstance(v, (str, bytes))), False)
        if bad is not False:
            raise TypeError(f"{name} has dtype object holding {type(bad).__name__} {bad!r}; "
                            f"pass an array of real numbers")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} has dtype object with non-numeric entries; "
                            f"pass an array of real numbers") from None
    if not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
            or arr.dtype == np.bool_):
        raise TypeError(f"{name} has dtype {arr.dtype}; expected real numbers (float or int)")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            want = " or ".join(str(n) for n in allowed)
            raise ValueError(f"{name} has {arr.ndim} dimensions (shape {arr.shape}); expected {want}")
    if shape is not None:
        if arr.ndim != len(shape) or any(w is not None and w != g for g, w in zip(arr.shape, shape)):
            want = "(" + ", ".join("*" if w is None else str(w) for w in shape) + ")"
            raise ValueError(f"{name} has shape {arr.shape}; expected {want}")
    out = np.array(arr, dtype=np.float64, order="C", copy=True) if copy else \
        np.ascontiguousarray(arr, dtype=np.float64)
    if finite:
        check_finite(name, out)
    return out


def check_finite(name: str, x: np.ndarray) -> None:
    """Raise if ``x`` holds NaN or +-inf, naming the first offending index."""
    bad = ~np.isfinite(x)
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), x.shape)
        raise ValueError(f"{name}[{_fmt_index(idx)}] is {x[idx]}; every entry of {name} must be "
                         f"finite (no NaN or inf)")


def check_nonnegative(name: str, x: np.ndarray) -> None:
    """Raise if any entry is negative, naming the first one."""
    neg = x < 0
    if neg.any():
        idx = np.unravel_index(int(np.argmax(neg)), x.shape)
        raise ValueError(f"{name}[{_fmt_index(idx)}] = {x[idx]:.6g} is negative; probabilities "
                         f"must be >= 0. Nothing is clipped: fix the entry at its source")


def check_rows_sum_to_one(name: str, x: np.ndarray, *, atol: float = ROW_SUM_ATOL) -> None:
    """Raise if some row ``x[..., :]`` does not sum to 1 within ``atol``."""
    with np.errstate(over="ignore"):     # huge entries: the sum is inf and the row is refused
        sums = x.sum(axis=-1)
    bad = np.abs(sums - 1.0) > atol
    if bad.any():
        idx = np.unravel_index(int(np.argmax(bad)), sums.shape)
        where = f"{name}[{_fmt_index(idx)}, :]" if idx else name
        raise ValueError(f"{where} sums to {sums[idx]:.12g}; every row of {name} must sum to 1 "
                         f"(atol {atol:g}). If {name} holds unnormalised weights, pass "
                         f"{name} / {name}.sum(-1, keepdims=True)")


def check_distribution_rows(name: str, x: np.ndarray, *, atol: float = ROW_SUM_ATOL) -> None:
    """Raise unless every entry of the float64 C-contiguous ``x`` is finite and >= 0 and every
    row ``x[..., :]`` sums to 1 within ``atol``.

    One compiled pass decides the common case (valid input); only when it cannot certify the
    rows do the elementwise checks run, which name the first offending entry.
    """
    if x.ndim >= 1 and x.size and _rows_are_distributions(x.reshape(-1, x.shape[-1]), atol):
        return
    check_finite(name, x)
    check_nonnegative(name, x)
    check_rows_sum_to_one(name, x, atol=atol)


def check_stochastic(name: str, x: Any, *, ndim: int | tuple[int, ...] | None = None,
                     shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """A float64 read-only copy of ``x`` whose last axis holds probability distributions."""
    arr = check_float_array(name, x, ndim=ndim, shape=shape, finite=False)
    check_distribution_rows(name, arr)
    return readonly(arr)


def check_stochastic_csr(name: str, x: Any, *, n_cols: int | None = None,
                         A: int | None = None) -> sp.csr_array:
    """Validate a scipy.sparse matrix whose rows are distributions; return a read-only CSR copy.

    Explicit zeros are kept, indices are sorted, duplicates summed (scipy's canonical form).
    With ``A`` given, row ``s*A + a`` is named ``P[s, a, :]`` in messages (the (S*A, S) layout).
    """
    def where(row: int) -> str:
        return f"{name}[{row // A}, {row % A}, :] (row {row})" if A else f"{name} row {row}"

    if not sp.issparse(x):
        raise TypeError(f"{name} must be a scipy.sparse matrix, got {type(x).__name__}")
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)
            or x.dtype == np.bool_):
        raise TypeError(f"{name} has dtype {x.dtype}; expected real numbers (float or int)")
    if x.ndim != 2:
        raise ValueError(f"{name} has shape {x.shape}; expected a 2-D sparse matrix")
    m = sp.csr_array(x, dtype=np.float64, copy=True)
    m.sum_duplicates()
    m.sort_indices()
    if n_cols is not None and m.shape[1] != n_cols:
        raise ValueError(f"{name} has shape {m.shape}; expected (*, {n_cols})")
    check_finite(f"{name}.data", m.data)
    if (m.data < 0).any():
        k = int(np.argmax(m.data < 0))
        row = int(np.searchsorted(m.indptr, k, side="right") - 1)
        raise ValueError(f"{where(row)} has entry {m.data[k]:.6g} in column {m.indices[k]}, "
                         f"which is negative; probabilities must be >= 0")
    with np.errstate(over="ignore"):     # huge entries: the sum is inf and the row is refused
        sums = np.asarray(m.sum(axis=1)).ravel()
    bad = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{where(row)} sums to {sums[row]:.12g}; every row must sum to 1 "
                         f"(atol {ROW_SUM_ATOL:g}). If it holds unnormalised weights, divide each "
                         f"row by its sum before building the model")
    for arr in (m.data, m.indices, m.indptr):
        arr.flags.writeable = False
    return m


def check_scalar(name: str, x: Any) -> float:
    """A real, finite Python float from ``x`` (bools refused)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        if isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.number):
            x = x.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(x).__name__} {x!r}")
    v = float(x)
    if not np.isfinite(v):
        raise ValueError(f"{name} is {v}; expected a finite real number")
    return v


def check_in_range(name: str, x: Any, *, low: float | None = None, high: float | None = None,
                   low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """A float in the interval [low, high] (ends open as flagged), else ``ValueError``."""
    v = check_scalar(name, x)
    ok_low = low is None or (v > low if low_open else v >= low)
    ok_high = high is None or (v < high if high_open else v <= high)
    if not (ok_low and ok_high):
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        msg = f"{name} == {v!r}, must be in {interval}"
        raise ValueError(msg + (f". {hint}" if hint else ""))
    return v


def check_int(name: str, x: Any, *, low: int | None = None, high: int | None = None) -> int:
    """A Python int (numpy integers accepted; floats and bools refused) within [low, high]."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(x).__name__} {x!r}")
    v = int(x)
    if (low is not None and v < low) or (high is not None and v > high):
        lo = "-inf" if low is None else str(low)
        hi = "inf" if high is None else str(high)
        raise ValueError(f"{name} == {v}, must be in [{lo}, {hi}]")
    return v


def check_choice(name: str, x: Any, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (strings), else a message listing them."""
    if x not in choices:
        raise ValueError(f"{name} == {x!r}; expected one of {', '.join(map(repr, choices))}")
    return x


def check_policy(name: str, pi: Any, S: int, A: int, *, leading: tuple[int, ...] = ()) -> np.ndarray:
    """Validate a policy for ``S`` states and ``A`` actions.

    Accepts a stochastic policy ``(*leading, S, A)`` (rows distributions) or a deterministic
    one ``(*leading, S)`` of integer actions in ``[0, A)``. Returns a read-only copy: float64
    for stochastic, int64 for deterministic.
    """
    arr = np.asarray(pi)
    det_shape = (*leading, S)
    sto_shape = (*leading, S, A)
    if arr.shape == det_shape and (np.issubdtype(arr.dtype, np.integer)):
        out = np.array(arr, dtype=np.int64, copy=True)
        bad = (out < 0) | (out >= A)
        if bad.any():
            idx = np.unravel_index(int(np.argmax(bad)), out.shape)
            raise ValueError(f"{name}[{_fmt_index(idx)}] = {out[idx]} is not an action; "
                             f"actions are integers in [0, {A})")
        return readonly(out)
    if arr.shape == det_shape:
        raise TypeError(f"{name} has shape {arr.shape} (a deterministic policy) but dtype "
                        f"{arr.dtype}; deterministic policies are integer arrays. "
                        f"Pass {name}.astype(int) if the entries are whole numbers")
    if arr.shape != sto_shape:
        raise ValueError(f"{name} has shape {arr.shape}; expected {sto_shape} (stochastic) "
                         f"or {det_shape} (deterministic, integer actions)")
    return check_stochastic(name, arr)


def as_stochastic(pi: np.ndarray, A: int) -> np.ndarray:
    """One-hot ``(..., S, A)`` float64 from a validated deterministic ``(..., S)`` policy;
    stochastic policies are returned unchanged."""
    if np.issubdtype(pi.dtype, np.floating):
        return pi
    out = np.zeros((*pi.shape, A))
    np.put_along_axis(out, pi[..., None], 1.0, axis=-1)
    return out


def check_rng(name: str, rng: Any) -> np.random.Generator:
    """A ``numpy.random.Generator`` from ``rng``: a Generator (returned as is, so its stream
    continues), a non-negative int seed, or a ``SeedSequence``.

    ``None`` is refused: library functions never draw from an unseeded source (STYLE.md §5);
    the CLI and notebooks choose a seed at their edge. Legacy ``RandomState`` objects and
    bools are refused too.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise TypeError(f"{name} is None; pass {name}=<int seed> or a numpy.random.Generator so "
                        f"that the result is reproducible (e.g. {name}=0)")
    if isinstance(rng, np.random.SeedSequence):
        return np.random.default_rng(rng)
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, numbers.Integral):
        raise TypeError(f"{name} must be a numpy.random.Generator, an int seed or a "
                        f"numpy.random.SeedSequence, got {type(rng).__name__} {rng!r}")
    if int(rng) < 0:
        raise ValueError(f"{name} == {int(rng)}; an int seed must be >= 0")
    return np.random.default_rng(int(rng))


def check_bool(name: str, x: Any) -> bool:
    """A Python bool from ``x`` (``bool`` or ``numpy.bool_``); ints and strings are refused."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def check_distribution(name: str, x: Any, *, shape: tuple[int, ...],
                       event_ndim: int | None = None) -> np.ndarray:
    """A read-only float64 copy of a probability distribution over the last ``event_ndim``
    axes of ``x`` (all axes by default), e.g. a data distribution ``mu[s, a]`` over pairs.

    Entries must be >= 0 and each distribution must sum to 1 within ``ROW_SUM_ATOL``.
    """
    arr = check_float_array(name, x, shape=shape)
    check_nonnegative(name, arr)
    k = arr.ndim if event_ndim is None else event_ndim
    lead = arr.shape[:arr.ndim - k]
    with np.errstate(over="ignore"):     # huge entries: the sum is inf and x is refused
        sums = arr.reshape(*lead, -1).sum(axis=-1)
    bad = np.abs(sums - 1.0) > ROW_SUM_ATOL
    if bad.any():
        idx = np.unravel_index(int(np.argmax(np.atleast_1d(bad))), np.shape(sums)) if lead else ()
        where = f"{name}[{_fmt_index(idx)}]" if idx else name
        axes = tuple(range(arr.ndim - k, arr.ndim))
        raise ValueError(f"{where} sums to {np.asarray(sums)[idx]:.12g} over its last {k} axes; a "
                         f"distribution must sum to 1 (atol {ROW_SUM_ATOL:g}). If {name} holds "
                         f"counts or weights, pass {name} / {name}.sum(axis={axes}, keepdims=True)")
    return readonly(arr)


def check_value_scale(name: str, R: np.ndarray, horizon: float) -> None:
    """Refuse rewards whose values cannot be represented in float64.

    Every value is bounded by ``max|R| * horizon`` (``horizon = 1/(1-gamma)`` for a discounted
    model, ``H`` for a finite-horizon one). If that bound exceeds 1e300, sums inside the solvers
    overflow to inf and differences of infinities give NaN, so the model is refused here, once.
    """
    scale = float(np.abs(R).max()) if R.size else 0.0
    with np.errstate(over="ignore"):
        bound = scale * horizon
    if not bound <= 1e300:
        raise ValueError(f"max|{name}| = {scale:.6g} times the effective horizon {horizon:.6g} is "
                         f"{bound:.6g}, beyond what float64 values can hold (1e300); rescale "
                         f"{name} (values scale linearly with the rewards)")
