"""The runner: every claim on every instance and run, seeded, resumable, serial or parallel.

Seeds (bsuite's two-seed pattern, STYLE.md §5). From the root ``seed`` (and ``instance_seed``,
default ``seed``) every stream is derived *before* dispatch, in a fixed order:

* a claim's streams are keyed by its id, not by its position among the selected claims:
  ``w = sha256(id)`` truncated to two 32-bit words, so ``verify X`` and ``verify X Y`` give X
  the same results;
* the instance generator gets ``SeedSequence(instance_seed, spawn_key=(*w, 0))``;
* the runs get ``R = SeedSequence(seed, spawn_key=(*w, 1))``; ``R.spawn(n_instances)`` gives
  one stream per instance, each ``.spawn(runs)`` one per run, and each of those ``.spawn(2)``
  the measure's and the control's streams.

A *cell* is one (claim, instance, run). Its result (the measure's and the control's
:class:`Measurement`, as JSON) depends only on the cell's description, so ``--jobs N`` (local
processes, ``spawn`` start method) and ``--scheduler ADDRESS`` (a Dask cluster) give results
bitwise identical to ``--jobs 1``: workers look the claim up by id (plugins come through the
environment, see :mod:`rlsandbox.proofs_check.registry`), regenerate the instance list from the
cell's instance seed, check that the instance's name and params match, and return the
measurements; the parent aggregates them in the fixed cell order. This assumes the measures'
numerical libraries are deterministic for a given input regardless of thread count (true of
the small dense problems here; Dask workers run BLAS single-threaded by default).

Store. With a :class:`~rlsandbox.proofs_check.store.Store`, a cell found there is not
recomputed, and every computed cell is written as soon as it arrives (atomically): a run killed
at any moment loses nothing and, started again, ends with the same results. ``fresh=True``
ignores stored cells (and overwrites them).
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import json
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rlsandbox._validate import check_int
from rlsandbox.proofs_check.checks import Verdict, check
from rlsandbox.proofs_check.claim import Claim, Instance, Measurement
from rlsandbox.proofs_check.registry import REGISTRY, get_claim
from rlsandbox.proofs_check.store import Store

__all__ = ["Cell", "CellError", "CellResult", "ClaimPlan", "ClaimResult", "RunResult", "plan",
           "run", "run_claim"]

Seed = tuple[int, tuple[int, ...]]          # (entropy, spawn_key) of a SeedSequence


class CellError(RuntimeError):
    """A claim's own code (instances, build, measure, control or check) raised."""


@dataclass(frozen=True)
class Cell:
    """One unit of work: plain data, so it pickles for any executor."""

    claim_id: str
    instance: int                           # index into the claim's instance list
    run: int
    n_random: int
    instance_seed: Seed
    measure_seed: Seed
    control_seed: Seed


@dataclass(frozen=True)
class ClaimPlan:
    """A claim's instances and cells, with the store key material of each cell."""

    claim: Claim
    n_random: int
    instances: tuple[Instance, ...]
    cells: tuple[Cell, ...]
    materials: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class CellResult:
    """The measure's and the control's measurements on one (instance, run)."""

    instance: int
    run: int
    measure: Measurement
    control: Measurement


@dataclass(frozen=True)
class ClaimResult:
    """A claim's cells and the check's verdicts on the measure and on the negative control."""

    claim: Claim
    n_random: int
    instances: tuple[Instance, ...]
    cells: tuple[CellResult, ...]
    verdict: Verdict
    control: Verdict

    @property
    def holds(self) -> bool:
        """The claim's check passed on every instance (or in aggregate)."""
        return self.verdict.holds

    @property
    def caught(self) -> bool:
        """The same check failed on the negative control, as it must."""
        return not self.control.holds


@dataclass(frozen=True)
class RunResult:
    """All claims of a run, in selection order.

    ``status``/``exit_code``: ``"ok"``/0 when every claim holds and every control is caught;
    ``"violated"``/1 when a claim fails; else ``"control_not_caught"``/2.
    """

    claims: tuple[ClaimResult, ...]
    config: dict[str, Any]
    cached: int                             # cells read from the store
    computed: int                           # cells computed in this run

    @property
    def status(self) -> str:
        if not all(c.holds for c in self.claims):
            return "violated"
        if not all(c.caught for c in self.claims):
            return "control_not_caught"
        return "ok"

    @property
    def exit_code(self) -> int:
        return {"ok": 0, "violated": 1, "control_not_caught": 2}[self.status]


def _claim_words(claim_id: str) -> tuple[int, int]:
    digest = hashlib.sha256(claim_id.encode()).digest()
    return int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")


def _seed(ss: np.random.SeedSequence) -> Seed:
    return int(ss.entropy), tuple(int(k) for k in ss.spawn_key)


def _rng(seed: Seed) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed[0], spawn_key=seed[1]))


def _code_fingerprint(claim: Claim) -> str:
    """sha256 over the source files defining the claim's functions (module name + bytes), so
    that editing a claim module invalidates its stored cells. Functions without a source file
    (builtins) contribute nothing; library code they call is covered by the package version."""
    sources: dict[str, bytes] = {}
    for fn in (claim.instances, claim.measure, claim.negative_control):
        while isinstance(fn, functools.partial):
            fn = fn.func
        try:
            path = inspect.getsourcefile(inspect.unwrap(fn))
        except TypeError:
            continue
        if path and Path(path).is_file():
            sources[getattr(fn, "__module__", None) or path] = Path(path).read_bytes()
    h = hashlib.sha256()
    for module in sorted(sources):
        h.update(module.encode() + b"\0" + hashlib.sha256(sources[module]).digest())
    return h.hexdigest()


def _instances(claim: Claim, n_random: int, seed: Seed) -> tuple[Instance, ...]:
    try:
        out = claim.instances(n_random, _rng(seed))
    except Exception as exc:
        raise CellError(f"{claim.id}: instances({n_random}, rng) raised {type(exc).__name__}: "
                        f"{exc}") from exc
    if isinstance(out, (str, bytes)) or not isinstance(out, Sequence):
        raise CellError(f"{claim.id}: instances() must return a sequence of Instance, got "
                        f"{type(out).__name__}")
    out = tuple(out)
    bad = [type(i).__name__ for i in out if not isinstance(i, Instance)]
    if bad:
        raise CellError(f"{claim.id}: instances() returned a {bad[0]}; every item must be an "
                        f"Instance(name, params, build)")
    if not out:
        raise CellError(f"{claim.id}: instances({n_random}, rng) returned no instance; a claim "
                        f"needs at least one (named zoo instances come first)")
    return out


def plan(claims: Sequence[Claim], *, seed: int = 0, instance_seed: int | None = None,
         quick: bool = False, instances: int | None = None) -> list[ClaimPlan]:
    """Instances, cells and store key material of every claim, all seeds spawned up front.

    ``instances`` overrides the number of random instances (else ``claim.quick`` under
    ``quick``, ``claim.default`` otherwise).
    """
    from rlsandbox import __version__

    seed = check_int("seed", seed, low=0)
    instance_seed = seed if instance_seed is None else check_int("instance_seed",
                                                                 instance_seed, low=0)
    if instances is not None:
        instances = check_int("instances", instances, low=0)
    plans = []
    for claim in claims:
        words = _claim_words(claim.id)
        n_random = instances if instances is not None else (claim.quick if quick else
                                                            claim.default)
        inst_seed = _seed(np.random.SeedSequence(instance_seed, spawn_key=(*words, 0)))
        insts = _instances(claim, n_random, inst_seed)
        runs_ss = np.random.SeedSequence(seed, spawn_key=(*words, 1))
        code = _code_fingerprint(claim)
        cells, materials = [], []
        for i, (inst, inst_ss) in enumerate(zip(insts, runs_ss.spawn(len(insts)))):
            for r, run_ss in enumerate(inst_ss.spawn(claim.runs)):
                m_ss, c_ss = run_ss.spawn(2)
                cell = Cell(claim.id, i, r, n_random, inst_seed, _seed(m_ss), _seed(c_ss))
                cells.append(cell)
                materials.append({
                    "claim": claim.id, "code": code, "instance": inst.name,
                    "params": inst.params, "index": i, "n_random": n_random,
                    "instance_seed": [inst_seed[0], list(inst_seed[1])], "run": r,
                    "measure_seed": [cell.measure_seed[0], list(cell.measure_seed[1])],
                    "control_seed": [cell.control_seed[0], list(cell.control_seed[1])],
                    "quick": bool(quick), "version": __version__})
        plans.append(ClaimPlan(claim, n_random, insts, tuple(cells), tuple(materials)))
    return plans


def _where(claim: Claim, instance: Instance, cell: Cell) -> str:
    return f"claim {claim.id!r}, instance {cell.instance} ({instance.name}), run {cell.run}"


def _measure_cell(claim: Claim, instance: Instance, cell: Cell) -> dict[str, Any]:
    """Build the instance once and apply the measure and the control, each with its stream."""
    problem = instance.build()
    out = {}
    for part, fn, seed in (("measure", claim.measure, cell.measure_seed),
                           ("control", claim.negative_control, cell.control_seed)):
        m = fn(problem, _rng(seed))
        if not isinstance(m, Measurement):
            raise TypeError(f"{'measure' if part == 'measure' else 'negative_control'} returned "
                            f"a {type(m).__name__}; it must return a Measurement")
        out[part] = m.to_json()
    return out


def _execute_local(claim: Claim, instance: Instance, cell: Cell) -> dict[str, Any]:
    try:
        return _measure_cell(claim, instance, cell)
    except Exception as exc:
        raise CellError(f"{_where(claim, instance, cell)}: {type(exc).__name__}: {exc}") from exc


_WORKER_INSTANCES: dict[tuple, tuple[Instance, ...]] = {}


def _execute_remote(cell: Cell, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Worker side: look the claim up, regenerate its instances, measure one cell."""
    try:
        claim = get_claim(cell.claim_id)
        key = (cell.claim_id, cell.n_random, cell.instance_seed)
        if key not in _WORKER_INSTANCES:
            if len(_WORKER_INSTANCES) > 64:   # long-lived Dask workers: keep the cache small
                _WORKER_INSTANCES.clear()
            _WORKER_INSTANCES[key] = _instances(claim, cell.n_random, cell.instance_seed)
        instance = _WORKER_INSTANCES[key][cell.instance]
        if instance.name != name or instance.params != params:
            raise RuntimeError(f"the worker generated instance {instance.name!r} "
                               f"{instance.params} where the parent has {name!r} {params}: "
                               f"instances() must depend on (n_random, rng) only, and worker "
                               f"and parent must run the same code")
        return _measure_cell(claim, instance, cell)
    except Exception as exc:   # keep the worker's traceback: the parent only sees the message
        raise CellError(f"claim {cell.claim_id!r}, instance {cell.instance} ({name}), run "
                        f"{cell.run}: {type(exc).__name__}: {exc}\n"
                        f"{traceback.format_exc()}") from None


def _dispatch(todo: list[tuple[int, int]], plans: list[ClaimPlan], jobs: int, scheduler: Any,
              finish: Callable[[int, int, dict[str, Any]], None]) -> None:
    """Compute the cells ``todo`` ((plan, cell) indices) and call ``finish`` as each arrives."""
    if scheduler is None and jobs == 1:
        for p, c in todo:
            pl = plans[p]
            cell = pl.cells[c]
            finish(p, c, _execute_local(pl.claim, pl.instances[cell.instance], cell))
        return

    def args(p: int, c: int) -> tuple:
        cell = plans[p].cells[c]
        inst = plans[p].instances[cell.instance]
        return cell, inst.name, inst.params

    if scheduler is None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: workers start from a clean interpreter, as remote Dask workers do
        with ProcessPoolExecutor(max_workers=jobs,
                                 mp_context=multiprocessing.get_context("spawn")) as ex:
            futures = {ex.submit(_execute_remote, *args(p, c)): (p, c) for p, c in todo}
            try:
                for fut in as_completed(futures):
                    finish(*futures[fut], fut.result())
            except BaseException:
                ex.shutdown(wait=False, cancel_futures=True)
                raise
        return

    try:
        import distributed
    except ImportError as exc:
        raise ValueError("--scheduler needs Dask's distributed package; install it with "
                         "pip install 'rlsandbox[dask]'") from exc
    own = isinstance(scheduler, str)
    try:
        client = distributed.Client(scheduler, timeout=10) if own else scheduler
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"cannot connect to the Dask scheduler at {scheduler!r} ({exc}); "
                         f"give the address of a running scheduler, e.g. tcp://127.0.0.1:8786"
                         ) from exc
    try:
        futures = {client.submit(_execute_remote, *args(p, c), pure=False): (p, c)
                   for p, c in todo}
        try:
            for fut in distributed.as_completed(list(futures)):
                finish(*futures[fut], fut.result())
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        if own:
            client.close()


def run(claims: Sequence[Claim | str], *, seed: int = 0, instance_seed: int | None = None,
        quick: bool = False, instances: int | None = None, jobs: int = 1,
        scheduler: Any = None, store: Store | str | Path | None = None, fresh: bool = False,
        progress: bool = False) -> RunResult:
    """Run claims on their instances and negative controls, and check them.

    Parameters
    ----------
    claims : sequence of Claim or claim id
        Ids are looked up in the registry. With ``jobs > 1`` or a scheduler every claim must
        be the registered one (workers find claims by id).
    seed : int >= 0
        Root seed of the runs (and of the instances unless ``instance_seed`` is given).
    instance_seed : int >= 0, optional
        Root seed of the instance generators: same ``instance_seed``, new ``seed`` = same
        instances, new runs.
    quick : bool
        ``claim.quick`` random instances instead of ``claim.default``.
    instances : int >= 0, optional
        Random instances per claim, overriding ``quick``/``default``.
    jobs : int >= 1
        Local worker processes.
    scheduler : str or distributed.Client, optional
        Address of a running Dask scheduler (or a connected client); excludes ``jobs > 1``.
    store : Store or path, optional
        Where finished cells are kept; None keeps nothing.
    fresh : bool
        Recompute every cell even if stored (results are stored again).
    progress : bool
        tqdm progress bar on stderr (shown only when stderr is a terminal).

    Returns
    -------
    RunResult

    Raises
    ------
    CellError
        A claim's own code raised; the message names the claim, instance and run.

    Examples
    --------
    >>> import numpy as np
    >>> from rlsandbox.proofs_check import Claim, Instance, Measurement
    >>> def sizes(n_random, rng):
    ...     return [Instance(f"n={n}", {"n": n}, lambda n=n: n)
    ...             for n in [2, *rng.integers(3, 30, size=n_random).tolist()]]
    >>> def total(n, rng):   # sum of n numbers in [0, 1]: round-off <= 2 n eps (Higham §4.2)
    ...     return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.0, tol=2 * n * 2.0 ** -52)
    >>> def total_minus_first(n, rng):
    ...     return Measurement(rng.dirichlet(np.ones(n))[1:].sum(), 1.0, tol=2 * n * 2.0 ** -52)
    >>> claim = Claim("classic.toy.dirichlet_sum", "classic", "[toy]", "sums to one", "n >= 2",
    ...               "derived", "equality", sizes, total, total_minus_first, "drops an entry")
    >>> result = run([claim], seed=1, instances=4)
    >>> result.status, len(result.claims[0].cells), result.claims[0].caught
    ('ok', 5, True)
    """
    jobs = check_int("jobs", jobs, low=1)
    if jobs > 1 and scheduler is not None:
        raise ValueError(f"jobs == {jobs} and scheduler == {scheduler!r}: choose local processes "
                         f"(jobs) or a Dask cluster (scheduler), not both")
    if isinstance(scheduler, str) and not scheduler.strip():
        raise ValueError("scheduler is an empty string; give a Dask scheduler address such as "
                         "tcp://127.0.0.1:8786")
    selected: dict[str, Claim] = {}
    for item in claims:
        claim = get_claim(item) if isinstance(item, str) else item
        if not isinstance(claim, Claim):
            raise TypeError(f"claims holds a {type(item).__name__}; pass Claim objects or ids")
        if claim.id in selected and selected[claim.id] is not claim:
            raise ValueError(f"two different claims share the id {claim.id!r}")
        selected[claim.id] = claim
    if jobs > 1 or scheduler is not None:
        for claim in selected.values():
            if REGISTRY.get(claim.id) != claim:
                raise ValueError(f"claim {claim.id!r} is not the registered claim of that id; "
                                 f"parallel workers look claims up by id: register it (at "
                                 f"import of a module named in RLSANDBOX_CLAIM_PLUGINS) or "
                                 f"run with jobs=1")
    if store is not None and not isinstance(store, Store):
        store = Store(store)
    plans = plan(list(selected.values()), seed=seed, instance_seed=instance_seed, quick=quick,
                 instances=instances)

    results: list[list[Any]] = [[None] * len(p.cells) for p in plans]
    todo = []
    for p, pl in enumerate(plans):
        for c, material in enumerate(pl.materials):
            stored = None if (store is None or fresh) else store.get(material)
            if stored is None:
                todo.append((p, c))
            else:
                results[p][c] = stored
    cached = sum(len(p.cells) for p in plans) - len(todo)

    from tqdm import tqdm
    bar = tqdm(total=sum(len(p.cells) for p in plans), initial=cached, unit="cell",
               desc="verify", file=sys.stderr, disable=None if progress else True,
               dynamic_ncols=True)

    def finish(p: int, c: int, result: dict[str, Any]) -> None:
        # the aggregate always reads what a resumed run would read back: the stored JSON
        text = store.put(plans[p].materials[c], result) if store is not None else \
            json.dumps(result, sort_keys=True, allow_nan=False)
        results[p][c] = json.loads(text)
        bar.update(1)

    try:
        _dispatch(todo, plans, jobs, scheduler, finish)
    finally:
        bar.close()

    claim_results = []
    for pl, res in zip(plans, results):
        cells = tuple(CellResult(cell.instance, cell.run, Measurement.from_json(r["measure"]),
                                 Measurement.from_json(r["control"]))
                      for cell, r in zip(pl.cells, res))
        labels = [_where(pl.claim, pl.instances[cell.instance], cell) for cell in pl.cells]
        try:
            verdict = check(pl.claim, [c.measure for c in cells], labels=labels)
            control = check(pl.claim, [c.control for c in cells],
                            labels=[f"{lab} (negative control)" for lab in labels])
        except (TypeError, ValueError) as exc:
            raise CellError(f"claim {pl.claim.id!r}: its measurements cannot be checked: "
                            f"{exc}") from exc
        claim_results.append(ClaimResult(pl.claim, pl.n_random, pl.instances, cells, verdict,
                                         control))
    from rlsandbox import __version__
    config = {"seed": seed, "instance_seed": seed if instance_seed is None else instance_seed,
              "quick": bool(quick), "instances": instances, "version": __version__}
    return RunResult(tuple(claim_results), config, cached, len(todo))


def run_claim(claim: Claim | str, **options: Any) -> ClaimResult:
    """Run one claim (see :func:`run` for the options) and return its :class:`ClaimResult`.

    The entry point for pytest: ``r = run_claim(claim, quick=True)``, then
    ``assert r.holds and r.caught``.
    """
    return run([claim], **options).claims[0]
