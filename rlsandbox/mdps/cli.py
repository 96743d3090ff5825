"""``rlsandbox solve`` and ``rlsandbox list instances`` (the zoo's part of the command line).

``rlsandbox solve INSTANCE`` builds a zoo instance (or loads a model from a ``.npz`` file),
solves it exactly and prints V*, an optimal policy, every optimal action, and the certified
error bound ``||V - V*||_inf <= error_bound`` with the iteration count: a table for people,
or one JSON object on stdout with ``--json``.

A ``.npz`` file holds the arrays ``P`` (S, A, S), ``R`` (S, A) or (S, A, S), ``gamma`` (a
scalar), and optionally ``rho`` (S,) and ``terminal`` (S,) bool; it is read with
``numpy.load(path, allow_pickle=False)``, so object arrays are refused and nothing is ever
unpickled, and validated by :class:`~rlsandbox.TabularMDP`. Bad input (unknown instance or
parameter, unreadable or invalid file, gamma == 1) prints one message naming the problem and
the fix to stderr and exits with 64 (EX_USAGE).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from typing import Any

EX_USAGE = 64

_METHODS = {"vi": "value iteration", "pi": "policy iteration",
            "mpi": "modified policy iteration", "lp": "linear programming (HiGHS)"}
_ARROWS = {"up": "^", "right": ">", "down": "v", "left": "<"}
_NPZ_KEYS = ("P", "R", "gamma", "rho", "terminal")

_EPILOG = """\
examples:
  rlsandbox solve riverswim
  rlsandbox solve riverswim -p variant=strehl2008 --method vi
  rlsandbox solve garnet -p S=50 -p branching=5 --seed 3 --json
  rlsandbox solve cliff_walking --gamma 0.99
  rlsandbox solve gridworld -p layout=S..#/.X../...G -p slip=0.2
  rlsandbox solve model.npz             (arrays P, R, gamma; optional rho, terminal)

exit codes: 0 solved; 64 bad usage (unknown instance, bad parameter or file, gamma == 1)
"""


class UsageError(Exception):
    """Bad user input for ``solve``: reported on stderr with exit code 64."""


def register(subparsers: Any) -> None:
    """Add the ``solve`` subcommand (see :mod:`rlsandbox.cli`)."""
    p = subparsers.add_parser(
        "solve", help="solve a zoo instance or a .npz model exactly",
        description="Solve a zoo instance (rlsandbox list instances) or a model stored in a "
                    ".npz file, printing V*, an optimal policy and the certified error bound.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("instance", metavar="INSTANCE",
                   help="zoo instance name, or path to a .npz file with P, R, gamma (a zoo "
                        "name wins over a file of the same name: write ./NAME for the file)")
    p.add_argument("--method", choices=tuple(_METHODS), default="pi",
                   help="solver: vi, pi (default), mpi or lp")
    p.add_argument("--gamma", type=float, default=None, metavar="G",
                   help="override the discount factor (must be in [0, 1))")
    p.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                   help="zoo builder parameter; VALUE is read as JSON if it parses, else as a "
                        "string (repeatable)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of a random instance (same as -p rng=SEED)")
    p.add_argument("--rows", type=int, default=30, metavar="N",
                   help="print at most N states in the table (0: all; default 30)")
    p.add_argument("--json", action="store_true", help="print one JSON object to stdout")
    p.set_defaults(func=run_solve)


# ------------------------------------------------------------------ loading
def _parse_params(items: list[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-p {item!r} is not KEY=VALUE; e.g. -p S=20 or -p variant=strehl2008")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        params[key] = value
    return params


def _is_file_argument(arg: str) -> bool:
    return arg.endswith((".npz", ".npy")) or os.sep in arg or os.path.exists(arg)


def load_npz(path: str):
    """A validated :class:`~rlsandbox.TabularMDP` from a ``.npz`` file (never unpickles).

    Raises :class:`UsageError` with a message naming the problem and the fix.
    """
    import numpy as np
    from rlsandbox.mdp import TabularMDP
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise UsageError(f"{path} is not a readable .npz file ({exc}); write one with "
                         f"numpy.savez(path, P=P, R=R, gamma=gamma)") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise UsageError(f"{path} holds a single array, not an .npz archive; write one with "
                         f"numpy.savez(path, P=P, R=R, gamma=gamma)")
    with data:
        keys = list(data.files)
        missing = [k for k in ("P", "R", "gamma") if k not in keys]
        if missing:
            raise UsageError(f"{path} has arrays {keys}; missing {missing}. Required: P (S, A, S), "
                             f"R (S, A) or (S, A, S), gamma; optional: rho (S,), terminal (S,)")
        extra = [k for k in keys if k not in _NPZ_KEYS]
        if extra:
            raise UsageError(f"{path} has unexpected arrays {extra}; allowed: "
                             f"{', '.join(_NPZ_KEYS)}. Nothing is ignored silently: remove them")
        arrays = {}
        for k in keys:
            try:
                arrays[k] = data[k]
            except ValueError as exc:
                raise UsageError(f"{path}: array {k!r} cannot be loaded without unpickling "
                                 f"({exc}); rlsandbox never unpickles files. Store numeric "
                                 f"arrays (float P, R, gamma; float rho; bool terminal)") from None
    gamma = arrays["gamma"]
    if gamma.shape not in ((), (1,)):
        raise UsageError(f"{path}: gamma has shape {gamma.shape}; expected a scalar")
    gamma = gamma.reshape(())                  # 0-d; numbers become Python floats below,
    if gamma.dtype.kind in "iuf":              # anything else reaches TabularMDP's type check
        gamma = gamma.item()
    try:
        return TabularMDP(arrays["P"], arrays["R"], gamma, rho=arrays.get("rho"),
                          terminal=arrays.get("terminal"))
    except (ValueError, TypeError) as exc:
        raise UsageError(f"{path}: {exc}") from None


def _load(args: argparse.Namespace):
    """``(mdp, label, entry or None, params)`` for the command's INSTANCE argument."""
    from rlsandbox.mdps.registry import ZOO, make
    params = _parse_params(args.param)
    if _is_file_argument(args.instance) and args.instance not in ZOO:
        if params or args.seed is not None:
            raise UsageError("-p/--seed apply to zoo instances, not to .npz files")
        return load_npz(args.instance), args.instance, None, {}
    entry = ZOO.get(args.instance)
    if args.seed is not None:
        if entry is not None and not entry.random:
            raise UsageError(f"--seed applies to random instances; {args.instance!r} is not "
                             f"random (random ones: {', '.join(n for n, e in ZOO.items() if e.random)})")
        params["rng"] = args.seed
    if entry is not None and not entry.available():
        raise UsageError(f"zoo instance {args.instance!r} needs the optional package "
                         f"{entry.requires!r}: pip install 'rlsandbox[gym]'")
    try:
        mdp = make(args.instance, **params)
    except (ValueError, TypeError) as exc:   # unknown name/parameter, or a builder's checker
        raise UsageError(str(exc)) from None
    if entry.kind == "linear":
        mdp = mdp.to_tabular()                # the exact tabular model of a linear MDP
    from rlsandbox.mdp import TabularMDP
    if not isinstance(mdp, TabularMDP):
        raise UsageError(f"{args.instance!r} with these parameters is a {type(mdp).__name__}; "
                         f"`rlsandbox solve` handles discounted models only (drop H=...), "
                         f"solve finite-horizon models with rlsandbox.solve in Python")
    return mdp, args.instance, entry, {**entry.defaults, **params}


# ------------------------------------------------------------------ output
def _action_label(entry, a: int) -> str:
    if entry is not None and entry.action_names is not None:
        return entry.action_names[a]
    return str(a)


def _grid_lines(entry, params: dict, mdp, sol) -> list[str]:
    """V* and the policy drawn on the layout, for gridworld entries (else no lines)."""
    if entry is None or entry.layout is None:
        return []
    import numpy as np
    from rlsandbox.mdps.grid import grid_coordinates, parse_layout
    layout = entry.layout(params)
    grid = parse_layout(layout)
    coords = grid_coordinates(layout)
    if coords.shape[0] not in (mdp.S, mdp.S - 1):    # S - 1: an appended end state
        return []
    index = -np.ones(grid.shape, dtype=np.int64)
    index[coords[:, 0], coords[:, 1]] = np.arange(coords.shape[0])
    v_rows, p_rows = [], []
    for r in range(grid.shape[0]):
        v_cells, p_cells = [], []
        for c in range(grid.shape[1]):
            s = int(index[r, c])
            if s < 0:
                v_cells.append(f"{grid[r, c] * 3:>8}")
                p_cells.append(str(grid[r, c]))
            elif mdp.terminal[s]:
                v_cells.append(f"{'(' + grid[r, c] + ')':>8}")
                p_cells.append(str(grid[r, c]))
            else:
                v_cells.append(f"{_fmt(sol.V[s], min(3, _decimals(sol.V))):>8}")
                name = _action_label(entry, int(sol.policy[s]))
                p_cells.append(_ARROWS.get(name, name[:1]))
        v_rows.append("".join(v_cells))
        p_rows.append(" ".join(p_cells))
    return (["", "V* on the grid (# wall, C cliff, (G)/(X) terminal):"] + v_rows
            + ["", "optimal policy (^ > v <):"] + ["  " + row for row in p_rows])


def _decimals(V) -> int:
    """Decimals showing about 6 significant digits of the largest |V| (values are printed
    with one shared number of decimals, so they line up and round-off noise such as 1e-16
    on a terminal state prints as 0)."""
    import math
    top = float(max(abs(float(V.max())), abs(float(V.min())), 1e-300))
    return max(0, min(10, 6 - (math.floor(math.log10(top)) + 1)))


def _fmt(v: float, digits: int) -> str:
    return f"{round(float(v), digits) + 0.0:.{digits}f}"     # + 0.0 turns -0.0 into 0.0


def _table(label: str, entry, params: dict, mdp, sol, rows: int) -> str:
    import numpy as np
    lines = []
    desc = f"  {entry.description}" if entry is not None else ""
    lines.append(f"{label}{desc}")
    lines.append(f"{mdp!r}")
    status = "converged" if sol.converged else "NOT converged (iteration budget exhausted)"
    lines.append(f"{_METHODS[sol.method]}: {status} after {sol.iterations} iteration(s); "
                 f"certified ||V - V*||_inf <= {sol.error_bound:.2g}")
    lines.append("")
    lines.append(f"{'state':>7} {'V*':>14}  {'policy':<10} optimal actions")
    shown = mdp.S if rows <= 0 else min(rows, mdp.S)
    digits = _decimals(sol.V)
    for s in range(shown):
        opt = [_action_label(entry, int(a)) for a in np.flatnonzero(sol.optimal_actions[s])]
        mark = "  (terminal)" if mdp.terminal[s] else ""
        lines.append(f"{s:>7} {_fmt(sol.V[s], digits):>14}  "
                     f"{_action_label(entry, int(sol.policy[s])):<10} {', '.join(opt)}{mark}")
    if shown < mdp.S:
        lines.append(f"{'':>7} ... {mdp.S - shown} more states (--rows 0 shows all; --json "
                     f"prints everything)")
    lines.append("")
    lines.append(f"value of the start distribution: rho . V* = {float(mdp.rho @ sol.V):.6g}")
    lines.extend(_grid_lines(entry, params, mdp, sol))
    lines.append("")
    lines.append("(--json: machine-readable output; rlsandbox list instances: more models; "
                 "rlsandbox solve --help: options)")
    return "\n".join(lines)


def _json(label: str, entry, params: dict, mdp, sol) -> str:
    import numpy as np
    out = {
        "instance": label,
        "source": "zoo" if entry is not None else "file",
        "params": params,
        "S": mdp.S, "A": mdp.A, "gamma": mdp.gamma,
        "method": sol.method,
        "converged": bool(sol.converged),
        "iterations": int(sol.iterations),
        "error_bound": float(sol.error_bound),
        "residual": float(sol.residual),
        "V": [float(v) for v in sol.V],
        "policy": [int(a) for a in sol.policy],
        "optimal_actions": [[int(a) for a in np.flatnonzero(row)] for row in sol.optimal_actions],
        "action_names": list(entry.action_names) if entry is not None and entry.action_names
        else None,
        "terminal": [int(s) for s in np.flatnonzero(mdp.terminal)],
        "value_at_rho": float(mdp.rho @ sol.V),
    }
    return json.dumps(out, indent=2)


def run_solve(args: argparse.Namespace) -> int:
    """The ``solve`` subcommand: 0 on success, 64 on bad usage (message on stderr)."""
    try:
        mdp, label, entry, params = _load(args)
        if args.gamma is not None:
            if not 0.0 <= args.gamma < 1.0:
                raise UsageError(f"--gamma {args.gamma} is outside [0, 1); the discounted "
                                 f"solvers need 0 <= gamma < 1")
            mdp = mdp.replace(gamma=args.gamma)
        if not mdp.gamma < 1.0:
            raise UsageError(f"{label} has gamma == {mdp.gamma:g} (an undiscounted, episodic "
                             f"model); the solvers of `rlsandbox solve` need gamma < 1: rerun "
                             f"with --gamma 0.99, for example")
        if args.rows < 0:
            raise UsageError(f"--rows {args.rows} is negative; use 0 to print every state")
    except UsageError as exc:
        print(f"rlsandbox solve: error: {exc}", file=sys.stderr)
        return EX_USAGE
    from rlsandbox.dp import solve
    sol = solve(mdp, method=args.method)
    if args.json:
        print(_json(label, entry, params, mdp, sol))
    else:
        print(_table(label, entry, params, mdp, sol, args.rows))
    return 0


# ------------------------------------------------------------------ listing
def _list_instances(args: argparse.Namespace) -> list[dict]:
    from rlsandbox.mdps.registry import ZOO
    rows = []
    for name, entry in ZOO.items():
        available = entry.available()
        desc = entry.description + ("" if available else f" [needs {entry.requires}]")
        rows.append({"name": name, "description": desc, "defaults": dict(entry.defaults),
                     "parameters": entry.parameters(), "random": entry.random,
                     "requires": entry.requires, "available": available})
    return rows


LISTINGS = {"instances": _list_instances}
