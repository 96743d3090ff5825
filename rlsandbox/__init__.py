"""rlsandbox: exact tabular and linear MDPs, where RL theorems are checked numerically.

Public API (see DESIGN.md): problem objects :class:`TabularMDP`, :class:`FiniteHorizonMDP`;
solvers :func:`solve`, :func:`evaluate`, :func:`q_values`, :func:`bellman_optimality`,
:func:`solve_batch`, :func:`solve_average`; measures :func:`occupancy`; linear models
:class:`LinearMDP`, :class:`LinearMixtureMDP`; the zoo :mod:`rlsandbox.mdps`; sampling
:mod:`rlsandbox.sampling`; hypothesis strategies :mod:`rlsandbox.testing` (imported on demand,
it needs the ``test`` extra).
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP
from rlsandbox.linear import LinearMDP, LinearMixtureMDP
from rlsandbox.dp import (AverageSolution, BatchSolution, FiniteHorizonSolution, PolicyGain,
                          Solution, advantages, bellman_evaluation, bellman_optimality, evaluate,
                          policy_gain, q_values, solve, solve_average, solve_batch)
from rlsandbox.measures import occupancy, state_occupancy
from rlsandbox import dp, mdps, measures, sampling

try:
    __version__ = _version("rlsandbox")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["TabularMDP", "FiniteHorizonMDP", "LinearMDP", "LinearMixtureMDP", "solve",
           "evaluate", "q_values", "advantages", "bellman_optimality", "bellman_evaluation",
           "solve_batch", "solve_average", "policy_gain", "occupancy", "state_occupancy",
           "Solution", "BatchSolution", "FiniteHorizonSolution", "AverageSolution", "PolicyGain",
           "dp", "mdps", "measures", "sampling", "__version__"]
