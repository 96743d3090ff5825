"""Validation kernels, private: one compiled pass where NumPy would make several.

No validation of their own: callers pass C-contiguous float64 arrays. A kernel only answers
"certainly valid"; when it says no, the caller runs the elementwise NumPy checks, which are
authoritative and name the first offending entry (:mod:`rlsandbox._validate`).
"""
from __future__ import annotations

import numpy as np

from rlsandbox.kernels import kernel

#: Unit round-off of float64, 2^-53.
_U = 1.1102230246251565e-16


@kernel
def _rows_are_distributions(x, atol):
    """True if every row of ``x`` (m, n) is finite, >= 0 and sums to 1 within ``atol`` whatever
    the summation order.

    Each row is summed in order; any order's sum of n nonnegative terms is within
    (n - 1) u sum_j x_j of it [higham2002, eq. (4.4)], so the row is accepted only when
    |t - 1| + 2 n u (t + 1) <= atol, i.e. when NumPy's pairwise sum passes the same test too.
    False means "not certain": the caller decides with the NumPy checks.
    """
    m, n = x.shape
    slack = 2.0 * n * _U
    for i in range(m):
        t0 = 0.0                     # two running sums: any order is covered by the slack
        t1 = 0.0
        ok = True
        j = 0
        while j + 2 <= n:
            v0 = x[i, j]
            v1 = x[i, j + 1]
            ok = ok and 0.0 <= v0 < np.inf and 0.0 <= v1 < np.inf   # NaN, inf, < 0 fail
            t0 += v0
            t1 += v1
            j += 2
        if j < n:
            v0 = x[i, j]
            ok = ok and 0.0 <= v0 < np.inf
            t0 += v0
        t = t0 + t1
        if not (ok and abs(t - 1.0) + slack * (t + 1.0) <= atol):
            return False
    return True
