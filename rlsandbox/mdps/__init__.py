"""The instance zoo: named and random tabular MDPs, and gymnasium import/export.

Every builder returns a validated :class:`~rlsandbox.TabularMDP` and cites its source in its
docstring (parameters, published values and where they are printed, deviations).

* classic: :func:`riverswim`, :func:`chain`, :func:`puterman_two_state`
* gridworlds: :func:`gridworld` (ASCII layouts), :func:`cliff_walking`,
  :func:`sutton_barto_4x4`, :func:`sutton_barto_gridworld`, :func:`russell_norvig_4x3`
* random (keyword ``rng``, deterministic per seed): :func:`garnet`, :func:`random_dense`,
  :func:`random_communicating`, :func:`random_weakly_communicating` (average reward),
  :func:`random_linear_mdp`, :func:`random_linear_mixture` (linear MDPs)
* gymnasium (optional extra): :func:`from_gymnasium`, :func:`to_gymnasium`
* the registry: :data:`ZOO`, :func:`make`, :func:`names`

Examples
--------
>>> import rlsandbox as rls
>>> rls.mdps.make("chain")
TabularMDP(S=5, A=2, gamma=0.99, dense)
"""
from rlsandbox.mdps.average import random_communicating, random_weakly_communicating
from rlsandbox.mdps.classic import RIVERSWIM_VARIANTS, chain, puterman_two_state, riverswim
from rlsandbox.mdps.grid import (ACTIONS, CLIFF_LAYOUT, DEFAULT_LAYOUT, RUSSELL_NORVIG_4X3_LAYOUT,
                                 SUTTON_BARTO_4X4_LAYOUT, cliff_walking, grid_coordinates,
                                 gridworld, parse_layout, russell_norvig_4x3, sutton_barto_4x4,
                                 sutton_barto_gridworld)
from rlsandbox.mdps.gym_io import from_gymnasium, to_gymnasium
from rlsandbox.mdps.linear import random_linear_mdp, random_linear_mixture
from rlsandbox.mdps.random_mdps import garnet, random_dense
from rlsandbox.mdps.registry import ZOO, ZooEntry, make, names, register_instance

__all__ = ["riverswim", "chain", "puterman_two_state", "RIVERSWIM_VARIANTS",
           "gridworld", "grid_coordinates", "parse_layout", "ACTIONS", "cliff_walking",
           "sutton_barto_4x4", "sutton_barto_gridworld", "russell_norvig_4x3",
           "CLIFF_LAYOUT", "DEFAULT_LAYOUT", "RUSSELL_NORVIG_4X3_LAYOUT", "SUTTON_BARTO_4X4_LAYOUT",
           "garnet", "random_dense", "random_communicating", "random_weakly_communicating",
           "random_linear_mdp", "random_linear_mixture", "from_gymnasium", "to_gymnasium",
           "ZOO", "ZooEntry", "make", "names", "register_instance"]
