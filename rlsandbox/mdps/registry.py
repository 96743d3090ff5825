"""The zoo registry: every named instance, its builder, defaults and one-line description.

``make(name, **params)`` builds an instance: the entry's ``defaults`` are filled in, then
``params`` override them; unknown parameter names are refused (nothing is silently ignored).
Random entries carry ``rng=0`` in their defaults, so ``make("garnet")`` is one fixed,
reproducible instance; pass ``rng=...`` for others. Entries needing an optional dependency
(gymnasium) stay listed without it and raise ``ModuleNotFoundError`` from ``make``.

The CLI (``rlsandbox solve``, ``rlsandbox list instances``), the claims framework
(``zoo_instances``) and the contract-matrix tests all read this registry.
"""
from __future__ import annotations

import difflib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from rlsandbox.mdps import average, classic, grid, linear, random_mdps

__all__ = ["ZooEntry", "ZOO", "make", "names", "register_instance"]


@dataclass(frozen=True)
class ZooEntry:
    """One named instance of the zoo.

    Attributes
    ----------
    name : registry key (``make(name)``).
    build : the builder; called as ``build(**{**defaults, **params})``. It returns a
        :class:`~rlsandbox.TabularMDP`, or for ``kind == "linear"`` a
        :class:`~rlsandbox.linear.LinearMDP` / ``LinearMixtureMDP`` (``.to_tabular()`` gives
        the exact tabular model).
    description : one line for ``rlsandbox list instances``.
    defaults : parameters ``make`` passes unless overridden (JSON-able).
    random : True if the builder draws from ``rng``.
    requires : an optional module the builder needs (e.g. ``"gymnasium"``), or None.
    action_names : labels of the actions in index order, or None.
    layout : for gridworlds, ``layout(params) -> str`` giving the ASCII layout whose
        non-wall, non-cliff cells are the states in order (used to print values on the grid).
    kind : ``"tabular"`` or ``"linear"`` (what ``build`` returns, see above).
    """

    name: str
    build: Callable[..., Any]
    description: str
    defaults: Mapping[str, Any] = field(default_factory=dict)
    random: bool = False
    requires: str | None = None
    action_names: tuple[str, ...] | None = None
    layout: Callable[[Mapping[str, Any]], str] | None = None
    kind: str = "tabular"

    def available(self) -> bool:
        """False when the optional module in ``requires`` is not installed."""
        return self.requires is None or importlib.util.find_spec(self.requires) is not None

    def parameters(self) -> list[str]:
        """Names of the keyword parameters the builder accepts."""
        sig = inspect.signature(self.build)
        return [p.name for p in sig.parameters.values()
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]


_ZOO: dict[str, ZooEntry] = {}
#: Read-only view ``{name: ZooEntry}`` of every registered instance, in registration order.
ZOO: Mapping[str, ZooEntry] = MappingProxyType(_ZOO)


def register_instance(entry: ZooEntry) -> ZooEntry:
    """Add an entry to :data:`ZOO` (a duplicate name raises ``ValueError``).

    Examples
    --------
    >>> from rlsandbox.mdps.registry import ZooEntry, register_instance, make, _ZOO
    >>> from rlsandbox.mdps import riverswim
    >>> _ = register_instance(ZooEntry("my_river", riverswim, "RiverSwim, 8 states",
    ...                                defaults={"n_states": 8}))
    >>> make("my_river").S
    8
    >>> del _ZOO["my_river"]                            # keep the shared registry clean
    """
    if not isinstance(entry, ZooEntry):
        raise TypeError(f"register_instance expects a ZooEntry, got {type(entry).__name__}")
    if entry.name in _ZOO:
        raise ValueError(f"zoo instance {entry.name!r} is already registered; choose another name")
    unknown = set(entry.defaults) - set(entry.parameters())
    if unknown:
        raise ValueError(f"defaults of {entry.name!r} name parameters {sorted(unknown)} that its "
                         f"builder does not accept ({entry.parameters()})")
    _ZOO[entry.name] = entry
    return entry


def names() -> list[str]:
    """Names of all registered instances, in registration order.

    Examples
    --------
    >>> from rlsandbox.mdps import names
    >>> "riverswim" in names() and "garnet" in names()
    True
    """
    return list(_ZOO)


def _entry(name: Any) -> ZooEntry:
    if not isinstance(name, str):
        raise TypeError(f"instance name must be a str, got {type(name).__name__} {name!r}")
    if name not in _ZOO:
        close = difflib.get_close_matches(name, list(_ZOO), n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"unknown zoo instance {name!r}.{hint} Known instances: "
                         f"{', '.join(_ZOO)} (rlsandbox list instances)")
    return _ZOO[name]


def make(name: str, **params: Any) -> Any:
    """Build the zoo instance ``name`` with the entry's defaults overridden by ``params``.

    Examples
    --------
    >>> import rlsandbox as rls
    >>> rls.mdps.make("riverswim", variant="strehl2008")
    TabularMDP(S=6, A=2, gamma=0.95, dense)
    >>> rls.mdps.make("garnet", S=20).S
    20
    """
    entry = _entry(name)
    allowed = entry.parameters()
    unknown = [k for k in params if k not in allowed]
    if unknown:
        raise ValueError(f"zoo instance {name!r} has no parameter {unknown[0]!r}; its parameters "
                         f"are {', '.join(allowed) or '(none)'}")
    if not entry.available():
        raise ModuleNotFoundError(f"zoo instance {name!r} needs the optional package "
                                  f"{entry.requires!r}: pip install 'rlsandbox[gym]'",
                                  name=entry.requires)
    return entry.build(**{**entry.defaults, **params})


# ------------------------------------------------------------------ gymnasium entries
_FROZENLAKE_ACTIONS = ("left", "down", "right", "up")


def _latest(name: str) -> str:
    """The newest registered version of a gymnasium environment (``Taxi`` -> ``Taxi-v4``):
    gymnasium deprecates old versions between releases, and the zoo entry follows it."""
    import gymnasium
    versions = [spec.version for spec in gymnasium.registry.values()
                if spec.name == name and spec.namespace is None and spec.version is not None]
    if not versions:
        raise ValueError(f"gymnasium {gymnasium.__version__} registers no environment {name!r}")
    return f"{name}-v{max(versions)}"


def _frozenlake(map_name: str = "4x4", is_slippery: bool = True, gamma: float = 1.0):
    from rlsandbox.mdps.gym_io import from_gymnasium
    return from_gymnasium(_latest("FrozenLake"), gamma=gamma,
                          env_kwargs={"map_name": map_name, "is_slippery": is_slippery})


def _taxi(gamma: float = 1.0):
    from rlsandbox.mdps.gym_io import from_gymnasium
    return from_gymnasium(_latest("Taxi"), gamma=gamma)


def _gymnasium(env_id: str = "CliffWalking-v1", gamma: float = 1.0):
    from rlsandbox.mdps.gym_io import from_gymnasium
    return from_gymnasium(env_id, gamma=gamma)


def _frozenlake_layout(params: Mapping[str, Any]) -> str:
    # gymnasium's maps (toy_text/frozen_lake.py MAPS) in this module's cell alphabet:
    # F (frozen) -> '.', H (hole) -> 'X'; every cell is a state, row-major.
    maps = {"4x4": ["SFFF", "FHFH", "FFFH", "HFFG"],
            "8x8": ["SFFFFFFF", "FFFFFFFF", "FFFHFFFF", "FFFFFHFF",
                    "FFFHFFFF", "FHHFFFHF", "FHFFHFHF", "FFFHFFFG"]}
    rows = maps[params.get("map_name", "4x4")]
    return "\n".join(r.replace("F", ".").replace("H", "X") for r in rows)


_GRID = grid.ACTIONS
for _e in (
    ZooEntry("riverswim", classic.riverswim,
             "RiverSwim, 6-state chain with a hard-to-reach reward (Osband et al. 2013; "
             "variant='strehl2008')", action_names=("left", "right")),
    ZooEntry("chain", classic.chain,
             "Chain problem, 5 states, slip 0.2, rewards 2 (back) / 10 (end) (Strens 2000)",
             action_names=("forward", "back")),
    ZooEntry("puterman_two_state", classic.puterman_two_state,
             "two-state example of Puterman (2005) sec. 3.1, discount 0.95",
             action_names=("a1", "a2")),
    ZooEntry("sutton_barto_gridworld", grid.sutton_barto_gridworld,
             "5x5 gridworld with A->A' (+10), B->B' (+5), gamma 0.9 (Sutton & Barto Ex. 3.5/3.8)",
             action_names=_GRID, layout=lambda p: "\n".join(["....."] * 5)),
    ZooEntry("sutton_barto_4x4", grid.sutton_barto_4x4,
             "4x4 gridworld, -1 per step, episodic, gamma 1 (Sutton & Barto Ex. 4.1)",
             action_names=_GRID, layout=lambda p: grid.SUTTON_BARTO_4X4_LAYOUT),
    ZooEntry("cliff_walking", grid.cliff_walking,
             "4x12 cliff walking, -1 per step, -100 cliff, episodic, gamma 1 (Sutton & Barto Ex. 6.6)",
             action_names=_GRID, layout=lambda p: grid.CLIFF_LAYOUT),
    ZooEntry("russell_norvig_4x3", grid.russell_norvig_4x3,
             "4x3 world, slip 0.8/0.1/0.1, reward -0.04, gamma 1 (Russell & Norvig sec. 17.1)",
             action_names=_GRID, layout=lambda p: grid.RUSSELL_NORVIG_4X3_LAYOUT),
    ZooEntry("gridworld", grid.gridworld,
             "gridworld from an ASCII layout (parameter layout='S..G'; walls #, goal G, trap X, "
             "cliff C)", action_names=_GRID,
             layout=lambda p: p.get("layout", grid.DEFAULT_LAYOUT)),
    ZooEntry("garnet", random_mdps.garnet,
             "random Garnet(S, A, branching): sparse random kernel, U[0,1) rewards "
             "(Archibald et al. 1995)",
             defaults={"S": 10, "A": 3, "branching": 3, "rng": 0}, random=True),
    ZooEntry("random_dense", random_mdps.random_dense,
             "random dense MDP, Dirichlet(alpha) kernel rows, U[0,1) rewards",
             defaults={"S": 10, "A": 3, "rng": 0}, random=True),
    ZooEntry("random_communicating", average.random_communicating,
             "random communicating MDP (a ring under action 0 plus Garnet rows), for average "
             "reward, gamma 1", defaults={"S": 10, "A": 3, "rng": 0}, random=True),
    ZooEntry("random_weakly_communicating", average.random_weakly_communicating,
             "random weakly communicating MDP (communicating core + transient states), gamma 1",
             defaults={"S": 10, "A": 3, "rng": 0}, random=True),
    ZooEntry("random_linear_mdp", linear.random_linear_mdp,
             "random linear MDP, simplex features and factor distributions (a LinearMDP)",
             defaults={"S": 10, "A": 3, "d": 4, "rng": 0, "gamma": 0.9}, random=True,
             kind="linear"),
    ZooEntry("random_linear_mixture", linear.random_linear_mixture,
             "random linear mixture MDP, convex mixture of Dirichlet kernels (a LinearMixtureMDP)",
             defaults={"S": 10, "A": 3, "d": 4, "rng": 0, "gamma": 0.9}, random=True,
             kind="linear"),
    ZooEntry("frozenlake", _frozenlake,
             "gymnasium FrozenLake (slippery 4x4; map_name='8x8'), exact table, gamma 1",
             requires="gymnasium", action_names=_FROZENLAKE_ACTIONS, layout=_frozenlake_layout),
    ZooEntry("taxi", _taxi, "gymnasium Taxi (newest version), exact table, 500 states + end state, gamma 1",
             requires="gymnasium",
             action_names=("south", "north", "east", "west", "pickup", "dropoff")),
    ZooEntry("gymnasium", _gymnasium,
             "any toy-text gymnasium env by id (env_id='CliffWalking-v1'), exact table, gamma 1",
             requires="gymnasium"),
):
    register_instance(_e)
del _e
