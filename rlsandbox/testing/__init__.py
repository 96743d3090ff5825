"""Testing helpers for users writing their own property tests of RL theory.

The hypothesis strategies of :mod:`rlsandbox.testing.strategies`, re-exported here:
:func:`tabular_mdps`, :func:`policies`, :func:`finite_horizon_mdps`, :func:`linear_mdps`,
:func:`datasets` and :func:`simplex`, and for distributional DP :func:`outcome_mdps`,
:func:`finite_dists` and :func:`initial_stocks`. Importing this package needs ``hypothesis`` (the
``test`` extra).
"""
from rlsandbox.testing.strategies import (datasets, finite_horizon_mdps, linear_mdps, policies,
                                          simplex, tabular_mdps)
from rlsandbox.testing.strategies import finite_dists, initial_stocks, outcome_mdps

__all__ = ["tabular_mdps", "policies", "finite_horizon_mdps", "linear_mdps", "datasets", "simplex",
           "outcome_mdps", "finite_dists", "initial_stocks"]
