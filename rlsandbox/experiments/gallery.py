"""Making a figure: run, plot, and write PNG + CSV + JSON atomically; redraw from the CSV.

Seeds. One root seed ``seed`` is split by ``numpy.random.SeedSequence(seed).spawn(2)`` into a
stream for ``run`` (instances and runs; the figure module spawns its own children from it) and a
stream for the bootstrap in ``plot``. Both are fixed by the root seed, so the same seed gives
a byte-identical CSV and PNG, and :func:`replot` can redraw the PNG from the CSV alone.

Files, written atomically (:mod:`rlsandbox._io`) in this order so that the JSON's presence
implies the other two are complete:

* ``<name>.csv``: the DataFrame passed to ``plot``, ``DataFrame.to_csv(index=False)`` with
  shortest round-trip float formatting, read back exactly by :func:`read_figure_data`;
* ``<name>.png``: the figure (must stay below :data:`MAX_PNG_BYTES`);
* ``<name>.json``: figure name, command line that reproduces it, argv, config (``asdict``),
  root seed, ``n_boot``, quick flag, git commit, package versions, wall time, diagnostics.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rlsandbox._io import atomic_write
from rlsandbox._validate import check_int
from rlsandbox.experiments import FIGURES, load_figure
from rlsandbox.experiments.plotting import png_bytes

__all__ = ["FigureResult", "make_figure", "replot", "read_figure_data", "metadata_fields",
           "MAX_PNG_BYTES", "N_BOOT", "N_BOOT_QUICK"]

#: Committed PNGs stay small (issue §5).
MAX_PNG_BYTES = 300 * 1024
#: Bootstrap resamples: published figures / quick mode.
N_BOOT, N_BOOT_QUICK = 1000, 200
#: Packages whose versions the JSON records.
_VERSIONED = ("rlsandbox", "numpy", "scipy", "numba", "pandas", "matplotlib")
#: Fields every figure JSON has (tests check them).
METADATA_FIELDS = ("figure", "command", "argv", "config", "root_seed", "n_boot", "quick",
                   "git_commit", "git_dirty", "versions", "wall_time_s", "rows", "diagnostics",
                   "files")


def metadata_fields() -> tuple[str, ...]:
    """Keys present in every figure's JSON metadata."""
    return METADATA_FIELDS


@dataclass(frozen=True, slots=True, eq=False)
class FigureResult:
    """What :func:`make_figure` wrote and the data it plotted.

    Attributes
    ----------
    name : figure name.
    png, csv, json : paths written.
    data : the DataFrame passed to ``plot`` (and written to ``csv``).
    metadata : the dict written to ``json``.
    """

    name: str
    png: Path
    csv: Path
    json: Path
    data: pd.DataFrame
    metadata: dict


def _git(*args: str) -> str | None:
    repo = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "--no-optional-locks", "-C", str(repo), *args],
                             capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _git_state() -> tuple[str, bool | None]:
    """(commit, dirty): ``git rev-parse HEAD`` of the source tree, or ("unknown", None).

    ``dirty`` says whether tracked files other than the gallery itself (``figures/``) differ
    from the commit: regenerating several figures in a row rewrites ``figures/``, which does not
    make the code that produced them differ from the recorded commit.
    """
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return "unknown", None
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".",
                  ":(exclude)figures")
    return commit, (None if status is None else bool(status))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in _VERSIONED:
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _command(name: str, *, quick: bool, seed: int, out: Path, n_boot: int) -> str:
    argv = ["rlsandbox", "figures", name]
    if quick:
        argv.append("--quick")
    argv += ["--seed", str(seed), "--out", str(out)]
    if n_boot != (N_BOOT_QUICK if quick else N_BOOT):
        argv += ["--boot", str(n_boot)]
    return shlex.join(argv)


def _check_data(name: str, data: Any) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"figure {name}: run() returned {type(data).__name__}; it must return a "
                        f"tidy pandas.DataFrame")
    if data.empty:
        raise ValueError(f"figure {name}: run() returned an empty DataFrame")
    num = data.select_dtypes(include="number")
    bad = ~np.isfinite(num.to_numpy(dtype=np.float64))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(f"figure {name}: data column {num.columns[c]!r} row {r} is "
                         f"{num.iat[r, c]}; plotted data must be finite")
    return data.reset_index(drop=True)


def _csv_text(data: pd.DataFrame) -> str:
    # shortest-repr floats, which read_figure_data parses back bit for bit
    return data.to_csv(index=False, lineterminator="\n")


def read_figure_data(path: str | os.PathLike) -> pd.DataFrame:
    """Read a figure CSV back exactly (floats round-trip bit for bit).

    Examples
    --------
    >>> import pathlib, tempfile, pandas as pd
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "d.csv"
    >>> _ = p.write_text(_csv_text(pd.DataFrame({"k": [0, 1], "value": [0.1, 1 / 3]})))
    >>> read_figure_data(p)["value"].tolist() == [0.1, 1 / 3]
    True
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{str(p)!r} does not exist; make the figure first with "
                         f"`rlsandbox figures {p.stem}`")
    # pandas >= 3 parses floats exactly by default (and deprecates the option); pandas 2 needs
    # float_precision="round_trip" for bit-exact values
    exact = {} if int(pd.__version__.split(".")[0]) >= 3 else {"float_precision": "round_trip"}
    return pd.read_csv(p, keep_default_na=False, na_values=[], **exact)


def _config_from_json(Config: type, d: dict) -> Any:
    kwargs = {}
    for f in dataclasses.fields(Config):
        if f.name not in d:
            continue
        v = d[f.name]
        kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return Config(**kwargs)


def make_figure(name: str, *, out: str | os.PathLike = "figures", quick: bool = False,
                seed: int = 0, n_boot: int | None = None) -> FigureResult:
    """Run figure ``name`` and write ``out/<name>.{csv,png,json}`` atomically.

    Parameters
    ----------
    name : a key of :data:`rlsandbox.experiments.FIGURES`.
    out : output directory (created if missing).
    quick : use the module's ``QUICK`` configuration (what the test suite runs).
    seed : root seed (int >= 0); ``SeedSequence(seed).spawn(2)`` gives the run and bootstrap
        streams.
    n_boot : bootstrap resamples; default 1000, or 200 with ``quick``.

    Returns
    -------
    FigureResult with the paths, the plotted DataFrame and the metadata.

    Examples
    --------
    >>> import tempfile
    >>> res = make_figure("vi_pi_convergence", out=tempfile.mkdtemp(), quick=True)
    >>> res.png.name, res.metadata["quick"], res.metadata["root_seed"]
    ('vi_pi_convergence.png', True, 0)
    """
    mod = load_figure(name)
    seed = check_int("seed", seed, low=0)
    n_boot = check_int("n_boot", (N_BOOT_QUICK if quick else N_BOOT) if n_boot is None
                       else n_boot, low=1)
    out = Path(out)
    config = mod.QUICK if quick else mod.DEFAULT
    ss_run, ss_boot = np.random.SeedSequence(seed).spawn(2)
    t0 = time.perf_counter()
    raw = mod.run(config, rng=np.random.default_rng(ss_run))
    diagnostics = dict(getattr(raw, "attrs", {}).get("diagnostics", {}))
    data = _check_data(name, raw)
    fig = mod.plot(data, config=config, n_boot=n_boot, rng=np.random.default_rng(ss_boot))
    png = png_bytes(fig)
    wall = time.perf_counter() - t0
    if len(png) > MAX_PNG_BYTES:
        raise ValueError(f"figure {name}: PNG is {len(png)} bytes, above the {MAX_PNG_BYTES} "
                         f"byte limit for the gallery; lower the dpi or simplify the plot")
    commit, dirty = _git_state()
    paths = {ext: out / f"{name}.{ext}" for ext in ("csv", "png", "json")}
    meta = {
        "figure": name,
        "description": FIGURES[name].description,
        "command": _command(name, quick=quick, seed=seed, out=out, n_boot=n_boot),
        "argv": list(sys.argv),
        "config": dataclasses.asdict(config),
        "root_seed": seed,
        "n_boot": n_boot,
        "quick": bool(quick),
        "git_commit": commit,
        "git_dirty": dirty,
        "versions": _versions(),
        "wall_time_s": round(wall, 3),
        "rows": int(len(data)),
        "diagnostics": diagnostics,
        "files": {ext: p.name for ext, p in paths.items()},
    }
    atomic_write(paths["csv"], _csv_text(data))
    atomic_write(paths["png"], png)
    atomic_write(paths["json"], json.dumps(meta, indent=2, sort_keys=False) + "\n")
    return FigureResult(name, paths["png"], paths["csv"], paths["json"], data, meta)


def replot(name: str, *, out: str | os.PathLike = "figures",
           png: str | os.PathLike | None = None) -> Path:
    """Redraw ``out/<name>.png`` from ``out/<name>.csv`` and ``out/<name>.json``, no rerun.

    The config, root seed and ``n_boot`` come from the JSON, so the bootstrap draws are the
    original ones and the PNG is byte-identical to the one :func:`make_figure` wrote (same
    package versions assumed). ``png`` redirects the output (default: overwrite in place).
    """
    mod = load_figure(name)
    out = Path(out)
    meta_path = out / f"{name}.json"
    if not meta_path.is_file():
        raise ValueError(f"{str(meta_path)!r} does not exist; make the figure first with "
                         f"`rlsandbox figures {name} --out {out}`")
    meta = json.loads(meta_path.read_text())
    data = read_figure_data(out / f"{name}.csv")
    config = _config_from_json(mod.Config, meta["config"])
    _, ss_boot = np.random.SeedSequence(int(meta["root_seed"])).spawn(2)
    fig = mod.plot(data, config=config, n_boot=int(meta["n_boot"]),
                   rng=np.random.default_rng(ss_boot))
    target = Path(png) if png is not None else out / f"{name}.png"
    atomic_write(target, png_bytes(fig))
    return target
