"""Contract matrix: every zoo instance x every discounted solver (STYLE §7.3).

Each cell solves one instance with one method and checks that the result is certified
(``converged``) and agrees with every other method within the two certificates:

    ||V_m - V_m'||_inf <= error_bound_m + error_bound_m'

which holds because each side is within its own ``error_bound`` of the same V* (triangle
inequality); no other tolerance is used.

Instances whose default ``gamma`` is 1 (episodic textbook models, gymnasium imports, average-
reward generators) are listed in ``EXPECTED_REFUSALS``: every solver must refuse them with the
``gamma == 1`` message; they also enter the matrix at ``gamma = 0.9``. ``EXPECTED_FAILURES``
lists solver runs that must report ``converged=False``. A test checks that every registry entry
appears in the matrix, so a new zoo entry cannot be left out silently.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.mdps import ZOO, make, names

METHODS = ("vi", "pi", "mpi", "lp")

#: Entries whose defaults have gamma == 1: every discounted solver must refuse them.
EXPECTED_REFUSALS = {
    "sutton_barto_4x4": "episodic, undiscounted (Sutton & Barto Ex. 4.1)",
    "cliff_walking": "episodic, undiscounted (Sutton & Barto Ex. 6.6)",
    "russell_norvig_4x3": "episodic, undiscounted (AIMA Fig. 17.3 uses gamma = 1)",
    "random_communicating": "average-reward generator, gamma 1 by default",
    "random_weakly_communicating": "average-reward generator, gamma 1 by default",
    "frozenlake": "gymnasium episodes are undiscounted",
    "taxi": "gymnasium episodes are undiscounted",
    "gymnasium": "gymnasium episodes are undiscounted",
}

#: (instance id, method, solver options): runs that must report converged=False.
EXPECTED_FAILURES = [
    ("riverswim", "vi", {"max_iter": 3}),        # 3 sweeps cannot reach eps = 1e-8 at gamma 0.95
    ("riverswim", "pi", {"max_iter": 1}),        # PI starts at all-left (action 0); the optimum
                                                 # is all-right, so 1 step cannot confirm it
    ("garnet", "mpi", {"max_iter": 2, "m": 0}),  # MPI with m = 0 is VI: 2 sweeps are too few
]

# (id, name, params): the registry defaults, gamma-1 entries again at gamma 0.9, variants.
INSTANCES = [(name, name, {}) for name in names() if name not in EXPECTED_REFUSALS]
INSTANCES += [(f"{name}-gamma0.9", name, {"gamma": 0.9}) for name in EXPECTED_REFUSALS]
INSTANCES += [
    ("riverswim-strehl2008", "riverswim", {"variant": "strehl2008"}),
    ("riverswim-gamma0.99", "riverswim", {"gamma": 0.99}),
    ("garnet-sparse-S60", "garnet", {"S": 60, "A": 4, "branching": 3, "sparse": True, "rng": 5}),
    ("random_dense-alpha0.2", "random_dense", {"S": 12, "A": 3, "alpha": 0.2, "rng": 9}),
    ("gridworld-slip", "gridworld", {"slip": 0.3, "step_reward": -0.1}),
    ("random_linear_mdp-signed", "random_linear_mdp", {"d_rectangular": False}),
]
INSTANCE_IDS = [i for i, _, _ in INSTANCES]
_BY_ID = {i: (name, params) for i, name, params in INSTANCES}


def _skip_if_unavailable(name):
    entry = ZOO[name]
    if not entry.available():
        pytest.skip(f"{name} needs the optional package {entry.requires}")


@functools.cache
def _mdp(instance_id):
    name, params = _BY_ID[instance_id]
    obj = make(name, **params)
    return obj.to_tabular() if ZOO[name].kind == "linear" else obj


@functools.cache
def _default_model(name):
    obj = make(name)
    return obj.to_tabular() if ZOO[name].kind == "linear" else obj


@functools.cache
def _solve(instance_id, method):
    return rls.solve(_mdp(instance_id), method=method)


def test_every_registry_entry_is_in_the_matrix():
    covered = {name for _, name, _ in INSTANCES}
    assert covered == set(names())
    assert set(EXPECTED_REFUSALS) <= set(names())
    assert len(set(INSTANCE_IDS)) == len(INSTANCE_IDS)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("instance_id", INSTANCE_IDS)
def test_solver_agrees_with_every_other(instance_id, method):
    _skip_if_unavailable(_BY_ID[instance_id][0])
    sol = _solve(instance_id, method)
    mdp = _mdp(instance_id)
    assert sol.converged, f"{instance_id} / {method} did not converge"
    assert sol.V.shape == (mdp.S,) and np.isfinite(sol.V).all()
    assert sol.optimal_actions[np.arange(mdp.S), sol.policy].all()   # policy within its mask
    for other in METHODS:
        if other == method:
            continue
        ref = _solve(instance_id, other)
        gap = float(np.abs(sol.V - ref.V).max())
        assert gap <= sol.error_bound + ref.error_bound, (
            f"{instance_id}: ||V_{method} - V_{other}|| = {gap:.3g} exceeds "
            f"{sol.error_bound:.3g} + {ref.error_bound:.3g}")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", sorted(EXPECTED_REFUSALS))
def test_gamma_one_models_are_refused(name, method):
    _skip_if_unavailable(name)
    mdp = _default_model(name)
    assert mdp.gamma == 1.0
    with pytest.raises(ValueError, match=r"mdp.gamma == 1.0, must be in \[0, 1\)"):
        rls.solve(mdp, method=method)


@pytest.mark.parametrize("instance_id, method, options", EXPECTED_FAILURES,
                         ids=[f"{i}-{m}" for i, m, _ in EXPECTED_FAILURES])
def test_expected_non_convergence(instance_id, method, options):
    sol = rls.solve(_mdp(instance_id), method=method, **options)
    assert not sol.converged
    # non-convergence is a result, and the certificate stays honest for the V returned
    ref = _solve(instance_id, "pi")
    assert float(np.abs(sol.V - ref.V).max()) <= sol.error_bound + ref.error_bound
