"""rlsandbox: exact tabular and linear MDPs, where RL theorems are checked numerically.

Public API (see DESIGN.md): problem objects :class:`TabularMDP`, :class:`FiniteHorizonMDP`;
solvers :func:`solve`, :func:`evaluate`, :func:`q_values`, :func:`bellman_optimality`,
:func:`solve_batch`; the zoo :mod:`rlsandbox.mdps`.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

from rlsandbox.mdp import FiniteHorizonMDP, TabularMDP
from rlsandbox.dp import (BatchSolution, Solution, advantages, bellman_evaluation,
                          bellman_optimality, evaluate, q_values, solve, solve_batch)
from rlsandbox import dp, mdps

try:
    __version__ = _version("rlsandbox")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["TabularMDP", "FiniteHorizonMDP", "solve", "evaluate", "q_values", "advantages",
           "bellman_optimality", "bellman_evaluation", "solve_batch", "Solution",
           "BatchSolution", "dp", "mdps", "__version__"]
