"""The DESIGN.md call shapes of ``rls.solve`` and the boundary checks added after the audit.

Regression tests, named after what they guard: option names checked per method (``tol`` is the
DESIGN.md alias of ``eps``), finite-horizon ``solve`` refusing options it would ignore, and
rewards whose values overflow float64 refused at construction instead of leaking inf/NaN.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

import rlsandbox as rls


@pytest.fixture
def mdp():
    return rls.mdps.riverswim()


def test_tol_is_an_alias_of_eps(mdp):
    a = rls.solve(mdp, method="vi", tol=1e-6)
    b = rls.solve(mdp, method="vi", eps=1e-6)
    np.testing.assert_array_equal(a.V, b.V)        # the same computation, bit for bit
    assert a.error_bound < 0.5e-6                   # Puterman's rule: within eps/2 of V*


@pytest.mark.parametrize("method, option, takes", [
    ("pi", "tol", "max_iter, pi0"),
    ("lp", "max_iter", "no options"),
    ("vi", "m", "eps, max_iter, V0"),
])
def test_gh_audit_unknown_option_is_refused_not_ignored(mdp, method, option, takes):
    with pytest.raises(TypeError, match=re.escape(f"method {method!r} does not take "
                                                  f"{option!r}; it takes {takes}")):
        rls.solve(mdp, method=method, **{option: 3})


def test_tol_and_eps_together_are_refused(mdp):
    with pytest.raises(TypeError, match="either tol or eps"):
        rls.solve(mdp, method="vi", tol=1e-6, eps=1e-6)


def test_gh_audit_finite_horizon_solve_refuses_method_and_options(mdp):
    fh = rls.FiniteHorizonMDP(mdp.P, mdp.R, H=4)
    assert rls.solve(fh).V.shape == (5, mdp.S)
    with pytest.raises(TypeError, match="backward induction, which takes no method or options"):
        rls.solve(fh, method="nonsense")
    with pytest.raises(TypeError, match="and eps"):
        rls.solve(fh, eps=1e-3)


def test_linear_model_gets_a_to_tabular_hint():
    lin = rls.mdps.make("random_linear_mdp")
    with pytest.raises(TypeError, match=re.escape("lin.to_tabular(gamma=...)")):
        rls.solve(lin)


@pytest.mark.parametrize("gamma", [0.0, 0.9, 0.999])
def test_gh_audit_overflowing_values_refused_at_construction(gamma):
    # max|R| / (1 - gamma) beyond 1e300: solvers would produce inf and then NaN (the audit saw
    # VI return -inf with converged=True); the model is refused once, at the boundary
    P = np.full((2, 1, 2), 0.5)
    R = np.full((2, 1), 1e300 * (1.0 - gamma) * 2.0)
    with pytest.raises(ValueError, match=r"beyond what float64 values can hold \(1e300\); "
                                         r"rescale R"):
        rls.TabularMDP(P, R, gamma)
    with pytest.raises(ValueError, match="beyond what float64 values can hold"):
        rls.FiniteHorizonMDP(P, np.full((2, 1), 1e299), H=20)


def test_large_but_representable_rewards_solve_without_nan():
    P = np.full((2, 1, 2), 0.5)
    sol = rls.solve(rls.TabularMDP(P, np.full((2, 1), 1e298), 0.9), method="vi")
    assert np.all(np.isfinite(sol.V)) and np.isfinite(sol.error_bound) and sol.converged
    # V* = 1e298 / (1 - 0.9) in real arithmetic; VI is within its certificate, plus 1e-13
    # relative for float64 round-off (each sweep adds ~2 eps_mach relative; ~250 sweeps)
    assert np.all(np.abs(sol.V - 1e299) <= sol.error_bound + 1e299 * 1e-13)
