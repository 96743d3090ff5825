"""The distributional-DP claims (paper "distributional"): each holds on its quick instances and
its negative control is caught, through the claims framework; each control fails on its named
instance whatever the seed; the claims carry the card's ids and provenance."""
from __future__ import annotations

import numpy as np
import pytest

from rlsandbox.proofs_check import REGISTRY, check_cell, run_claim

DIST = [cid for cid in REGISTRY if cid.startswith("distributional.")]

#: Card §4 claims implemented: every id C1-C12 and B1-B4 of the card (C8 in three parts, B3
#: in three, B4 in two, C6 in two: its controls (a) and (b)).
EXPECTED = {"distributional.c1.stock_identity", "distributional.c2.sufficiency",
            "distributional.c3.stock_necessary", "distributional.c4.mixture_necessary",
            "distributional.c5.time_aware", "distributional.c6.cvar_outer",
            "distributional.c6.exhaustive_search",
            "distributional.c7.mean_variance", "distributional.c8.vi_rate",
            "distributional.c8.greedy_policy", "distributional.c8.approximate_vi",
            "distributional.c11.policy_iteration", "distributional.c12.instance_c_table",
            "distributional.c9.grid_error", "distributional.c10.band",
            "distributional.b1.evaluation_contraction", "distributional.b2.control_expansion",
            "distributional.b3.categorical_bound", "distributional.b3.categorical_mean",
            "distributional.b4.quantile_bound", "distributional.b4.quantile_contraction",
            "distributional.b3.categorical_contraction"}

#: Provenance as the card marks it: C2 is the paper's theorem reconstructed (unverified);
#: B1-B3 and the B4 contraction quote published results; the rest the card derived.
PROVENANCE = {"distributional.c2.sufficiency": "unverified",
              "distributional.b1.evaluation_contraction": "paper",
              "distributional.b2.control_expansion": "paper",
              "distributional.b3.categorical_bound": "paper",
              "distributional.b3.categorical_mean": "paper",
              "distributional.b4.quantile_contraction": "paper",
              "distributional.b3.categorical_contraction": "paper"}


def test_the_card_claims_are_registered():
    assert set(DIST) == EXPECTED
    for cid in DIST:
        claim = REGISTRY[cid]
        assert claim.paper == "distributional"
        assert claim.provenance == PROVENANCE.get(cid, "derived"), cid


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
def test_claim_holds_and_control_is_caught(claim_id):
    result = run_claim(claim_id, quick=True, seed=0)
    assert result.holds, (claim_id, result.verdict)
    assert result.caught, (claim_id, result.control)


@pytest.mark.parametrize("claim_id", sorted(EXPECTED))
@pytest.mark.parametrize("seed", [1, 2])
def test_control_fails_on_the_first_named_instance(claim_id, seed):
    """Every claim lists first a named instance on which its control fails by construction
    (module docstring of rlsandbox.proofs_check.distributional)."""
    claim = REGISTRY[claim_id]
    inst = claim.instances(0, np.random.default_rng(seed))[0]
    problem = inst.build()
    rng_m, rng_c = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    assert check_cell(claim.kind, claim.measure(problem, rng_m), claim.options).holds
    assert not check_cell(claim.kind, claim.negative_control(problem, rng_c),
                          claim.options).holds, inst.name


def test_measures_are_exact_where_the_card_is():
    """Finite-horizon and lattice claims compare exact rationals: tolerance 0."""
    for cid in ("distributional.c2.sufficiency", "distributional.c6.cvar_outer",
                "distributional.c6.exhaustive_search",
                "distributional.c8.vi_rate", "distributional.c3.stock_necessary",
                "distributional.c8.greedy_policy", "distributional.c8.approximate_vi",
                "distributional.c11.policy_iteration", "distributional.c12.instance_c_table"):
        claim = REGISTRY[cid]
        for inst in claim.instances(1, np.random.default_rng(0)):
            assert claim.measure(inst.build(), np.random.default_rng(0)).tol == 0.0


def test_c9_reports_the_card_error_at_m401():
    """Card C9: sup error 0.0035 at M = 401 (ours against an M = 16001 reference), far below
    the bound 0.23 (tightness ~0.015)."""
    claim = REGISTRY["distributional.c9.grid_error"]
    m = claim.measure(claim.instances(0, np.random.default_rng(0))[0].build(),
                      np.random.default_rng(0))
    assert m.extra["worst"] == "M=401"
    assert abs(m.measured - 0.0035) <= 1e-4 and m.measured <= m.bound
