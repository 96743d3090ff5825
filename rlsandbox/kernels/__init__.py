"""Numba kernels: pure loops on arrays, no validation, private to the package.

Every kernel is compiled through :func:`kernel`, which fixes the project's options:
``cache=True`` (compiled code is reused across processes) and no ``fastmath`` (NaN handling
and summation order stay as written). Kernels write into caller-allocated ``out_*`` arrays.
Set ``NUMBA_DISABLE_JIT=1`` to debug them as plain Python.
"""
from __future__ import annotations

import numba


def kernel(fn=None, **options):
    """``numba.njit`` with the project's shared options (``cache=True``, ``fastmath=False``).

    Extra keyword options (e.g. ``parallel=True``) are passed through; ``parallel`` only on
    loops over independent states that write disjoint slots.
    """
    opts = {"cache": True, "fastmath": False, "nogil": True}
    opts.update(options)
    if fn is None:
        return lambda f: numba.njit(**opts)(f)
    return numba.njit(**opts)(fn)
