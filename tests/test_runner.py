"""The runner: seeds spawned up front in a fixed order, bitwise-identical results across
--jobs 1 / --jobs 2 / a Dask LocalCluster, the on-disk store, and errors in claim code.

The toy claims below are registered per test (monkeypatch) and reach the worker processes
through the plugin variable RLSANDBOX_CLAIM_PLUGINS="test_runner:toy_claims" (workers are
spawned, so they import this module themselves; pytest puts tests/ on the sys.path they inherit).
"""
from __future__ import annotations

import functools
import json

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.proofs_check import (PLUGINS_ENV, REGISTRY, CellError, Claim, Instance,
                                    Measurement, Store, run, select, zoo_instances)
from rlsandbox.proofs_check.report import summary
from rlsandbox.proofs_check.runner import _claim_words, plan

EPS = np.finfo(np.float64).eps
PLUGIN = f"{__name__}:toy_claims"


# ---------------------------------------------------------------- toy claims

def dirichlet_sizes(n_random, rng):
    return [Instance(f"dirichlet(n={n})", {"n": n}, functools.partial(int, n))
            for n in [2, *rng.integers(3, 40, size=n_random).tolist()]]


def dirichlet_sum(n, rng):
    # entries normalised by their float sum (relative error <= eps each), then n of them summed
    # (<= (n - 1) eps, Higham 2002 §4.2): 2 n eps bounds the round-off
    return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.0, tol=2 * n * EPS,
                       extra={"first": rng.random()})


def dirichlet_sum_drop_first(n, rng):
    return Measurement(rng.dirichlet(np.ones(n))[1:].sum(), 1.0, tol=2 * n * EPS)


def garnets(n_random, rng):
    out = zoo_instances("riverswim")
    for k in range(n_random):
        S = int(rng.integers(3, 12))
        params = {"S": S, "A": 3, "branching": min(3, S), "gamma": 0.9,
                  "seed": int(rng.integers(2 ** 31))}
        build = functools.partial(rls.mdps.garnet, S, 3, params["branching"], gamma=0.9,
                                  rng=params["seed"])
        out.append(Instance(f"garnet(S={S},A=3)#{k}", params, build))
    return out


def _bellman_residual(mdp, rng, gamma_backup):
    pi = rng.dirichlet(np.ones(mdp.A), size=mdp.S)
    V = rls.evaluate(mdp, pi)
    TV = mdp.R_pi(pi) + gamma_backup * (mdp.dense_P() * pi[:, :, None]).sum(1) @ V
    # V solves (I - gamma P_pi) V = R_pi by LU; the matrix is row diagonally dominant, so
    # partial pivoting has growth <= 2 and the residual is <= c S eps (|R| + |V|) with a
    # small c (Higham 2002, Thm 9.4 with Wilkinson's bound); c = 8 is generous
    tol = 8 * mdp.S * EPS * (np.abs(mdp.R).max() + np.abs(V).max())
    return Measurement(float(np.abs(TV - V).max()), 0.0, tol=tol, extra={"V": V})


def bellman_identity(mdp, rng):
    return _bellman_residual(mdp, rng, mdp.gamma)


def bellman_identity_wrong_gamma(mdp, rng):
    # gamma^2 in the backup: the residual is gamma (1 - gamma) |P_pi V| > 0 since V > 0
    return _bellman_residual(mdp, rng, mdp.gamma ** 2)


def sorted_draws(n, rng):
    return Measurement(np.sort(rng.random(n + 2))[::-1])


def unsorted_draws(n, rng):
    return Measurement(rng.random(n + 8))   # 10+ i.i.d. draws are not sorted (prob 1 - 1/10!)


def power_law(n, rng):
    x = np.geomspace(1.0, 100.0, 12)
    return Measurement(x ** -1.0 * np.exp(0.05 * rng.standard_normal(x.size)), extra={"x": x})


def power_law_half(n, rng):
    x = np.geomspace(1.0, 100.0, 12)
    return Measurement(x ** -0.5 * np.exp(0.05 * rng.standard_normal(x.size)), extra={"x": x})


def rare_event(n, rng):
    return Measurement(float(rng.random() < 0.02))


def frequent_event(n, rng):
    return Measurement(float(rng.random() < 0.5))


def toy_claims():
    common = dict(paper="classic", cite="[toy]", assumptions="toy", provenance="derived")
    return [
        Claim(id="classic.runner_toy.dirichlet_sum", statement="Dirichlet entries sum to one",
              kind="equality", instances=dirichlet_sizes, measure=dirichlet_sum,
              negative_control=dirichlet_sum_drop_first, control_note="drops entry 0",
              **common),
        Claim(id="classic.runner_toy.bellman_identity", statement="V_pi = R_pi + gamma P_pi V_pi",
              kind="upper_bound", instances=garnets, measure=bellman_identity,
              negative_control=bellman_identity_wrong_gamma, control_note="gamma^2 backup",
              **common),
        Claim(id="classic.runner_toy.sorted", statement="a sorted sequence is monotone",
              kind="monotone", options={"direction": "nonincreasing"},
              instances=dirichlet_sizes, measure=sorted_draws,
              negative_control=unsorted_draws, control_note="not sorted", **common),
        Claim(id="classic.runner_toy.rate", statement="errors decay like 1/x", kind="rate",
              options={"slope": (-1.1, -0.9)}, instances=dirichlet_sizes, measure=power_law,
              negative_control=power_law_half, control_note="decays like x^-1/2", **common),
        Claim(id="classic.runner_toy.rare", statement="the event has probability <= 5%",
              kind="high_probability", options={"delta": 0.05}, runs=8,
              instances=dirichlet_sizes, measure=rare_event, negative_control=frequent_event,
              control_note="probability 1/2", **common),
    ]


@pytest.fixture
def toys(monkeypatch):
    for claim in toy_claims():
        monkeypatch.setitem(REGISTRY, claim.id, claim)
    monkeypatch.setenv(PLUGINS_ENV, PLUGIN)        # for spawned workers
    return select(["classic.runner_toy"])


def _stored(store_dir):
    return {p.name: p.read_bytes() for p in sorted(store_dir.rglob("*.json"))}


# ---------------------------------------------------------------- seeds

def test_seeds_are_spawned_in_a_fixed_order_per_claim(toys):
    claim = REGISTRY["classic.runner_toy.rare"]
    (p,) = plan([claim], seed=11, instances=2)
    w = _claim_words(claim.id)
    # recompute the documented spawning independently: R = SeedSequence(seed, (w, 1));
    # R.spawn(n_instances)[i].spawn(runs)[r].spawn(2) = (measure, control)
    per_instance = np.random.SeedSequence(11, spawn_key=(*w, 1)).spawn(len(p.instances))
    expected = []
    for ss in per_instance:
        for run_ss in ss.spawn(claim.runs):
            m, c = run_ss.spawn(2)
            expected.append(((m.entropy, m.spawn_key), (c.entropy, c.spawn_key)))
    assert [(c.measure_seed, c.control_seed) for c in p.cells] == expected
    assert [(c.instance, c.run) for c in p.cells] == [(i, r) for i in range(3) for r in range(8)]
    assert p.cells[0].instance_seed == (11, (*w, 0))
    assert len({c.measure_seed for c in p.cells} | {c.control_seed for c in p.cells}) == 48


def test_a_claims_streams_do_not_depend_on_the_other_selected_claims(toys):
    alone = plan([toys[3]], seed=4)[0]
    together = plan(toys, seed=4)[3]
    assert alone.cells == together.cells and alone.materials == together.materials


def test_instance_seed_fixes_the_instances_and_seed_the_runs(toys):
    claim = REGISTRY["classic.runner_toy.bellman_identity"]
    a = plan([claim], seed=1, instances=3)[0]
    b = plan([claim], seed=2, instance_seed=1, instances=3)[0]
    assert [i.params for i in a.instances] == [i.params for i in b.instances]
    assert all(x.measure_seed != y.measure_seed for x, y in zip(a.cells, b.cells))
    c = plan([claim], seed=1, instance_seed=9, instances=3)[0]
    assert [i.params for i in c.instances][1:] != [i.params for i in a.instances][1:]


# ---------------------------------------------------------------- determinism across executors

def test_jobs_2_is_bitwise_identical_to_jobs_1(toys, tmp_path):
    serial = run(toys, seed=3, quick=True, store=tmp_path / "s1")
    parallel = run(toys, seed=3, quick=True, jobs=2, store=tmp_path / "s2")
    assert parallel.computed == serial.computed == 4 + 4 + 4 + 4 + 4 * 8
    assert serial.status == "ok" and all(c.caught for c in serial.claims)
    assert json.dumps(summary(serial, cells=True)) == json.dumps(summary(parallel, cells=True))
    assert _stored(tmp_path / "s1") == _stored(tmp_path / "s2")     # the stored bytes too


def test_dask_local_cluster_is_bitwise_identical_to_jobs_1(toys, tmp_path):
    distributed = pytest.importorskip("distributed")
    serial = run(toys, seed=5, instances=2, store=tmp_path / "s1")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        remote = run(toys, seed=5, instances=2, scheduler=cluster.scheduler_address,
                     store=tmp_path / "s2")
    assert remote.computed == serial.computed > 0
    assert json.dumps(summary(serial, cells=True)) == json.dumps(summary(remote, cells=True))
    assert _stored(tmp_path / "s1") == _stored(tmp_path / "s2")


def test_dask_matches_jobs_1_on_a_real_claim(tmp_path):
    """A real claim (LU and BLAS inside the measure, not a toy) through a loopback Dask cluster
    gives the same stored bits as the serial run."""
    distributed = pytest.importorskip("distributed")
    claim = [REGISTRY["classic.certificates.error_bound"]]
    serial = run(claim, seed=11, quick=True, store=tmp_path / "s1")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  local_directory=str(tmp_path / "dask")) as cluster:
        remote = run(claim, seed=11, quick=True, scheduler=cluster.scheduler_address,
                     store=tmp_path / "s2")
    assert remote.computed == serial.computed > 0
    assert json.dumps(summary(serial, cells=True)) == json.dumps(summary(remote, cells=True))
    assert _stored(tmp_path / "s1") == _stored(tmp_path / "s2")


# ---------------------------------------------------------------- the store

def test_store_resumes_and_fresh_recomputes(toys, tmp_path):
    store = tmp_path / "store"
    first = run(toys[:2], seed=1, instances=2, store=store)
    n = first.computed
    assert first.cached == 0 and len(_stored(store)) == n
    again = run(toys[:2], seed=1, instances=2, store=store)
    assert (again.cached, again.computed) == (n, 0)
    assert json.dumps(summary(again, cells=True)) == json.dumps(summary(first, cells=True))
    fresh = run(toys[:2], seed=1, instances=2, store=store, fresh=True)
    assert (fresh.cached, fresh.computed) == (0, n)
    other = run(toys[:2], seed=2, instances=2, store=store)          # new key material
    assert other.cached == 0


def test_store_ignores_unreadable_or_foreign_files(toys, tmp_path):
    store = Store(tmp_path / "store")
    (p,) = plan([toys[0]], seed=0, instances=2)
    first = run([toys[0]], seed=0, instances=2, store=store)
    path0, path1 = store.path(p.materials[0]), store.path(p.materials[1])
    path0.write_text(path0.read_text()[:40])                        # torn (not via os.replace)
    record = json.loads(path1.read_text())
    record["key"]["run"] = 99                                        # material does not match
    path1.write_text(json.dumps(record))
    (path1.parent / f".{path1.name}.abc.tmp").write_text("garbage")  # a killed write's temp file
    again = run([toys[0]], seed=0, instances=2, store=store)
    assert (again.cached, again.computed) == (first.computed - 2, 2)
    assert json.dumps(summary(again, cells=True)) == json.dumps(summary(first, cells=True))


def test_store_key_covers_version_and_claim_code(toys):
    (p,) = plan([toys[0]], seed=0, instances=0, quick=True)
    material = p.materials[0]
    assert material["version"] == rls.__version__ and material["quick"] is True
    assert material["claim"] == toys[0].id and material["params"] == {"n": 2}
    assert len(material["code"]) == 64                               # sha256 of this file


# ---------------------------------------------------------------- errors in claim code

def exploding_measure(n, rng):
    raise ZeroDivisionError("boom")


def not_a_measurement(n, rng):
    return 1.0


def no_instances(n_random, rng):
    return []


def _broken(**changes):
    fields = dict(id="classic.runner_toy.broken", paper="classic", cite="[toy]",
                  statement="broken", assumptions="toy", provenance="derived",
                  kind="equality", instances=dirichlet_sizes, measure=dirichlet_sum,
                  negative_control=dirichlet_sum_drop_first, control_note="drops entry 0")
    fields.update(changes)
    return Claim(**fields)


def test_claim_code_errors_name_claim_instance_and_run():
    with pytest.raises(CellError, match=r"claim 'classic.runner_toy.broken', instance 0 "
                                        r"\(dirichlet\(n=2\)\), run 0: ZeroDivisionError: boom"):
        run([_broken(measure=exploding_measure)], instances=0)
    with pytest.raises(CellError, match="returned a float; it must return a Measurement"):
        run([_broken(negative_control=not_a_measurement)], instances=0)
    with pytest.raises(CellError, match="returned no instance"):
        run([_broken(instances=no_instances)], instances=0)


def test_worker_errors_keep_the_workers_traceback(monkeypatch, tmp_path):
    broken = _broken(measure=exploding_measure)
    monkeypatch.setitem(REGISTRY, broken.id, broken)
    monkeypatch.setenv(PLUGINS_ENV, f"{__name__}:broken_claims")
    with pytest.raises(CellError, match=r"(?s)ZeroDivisionError: boom.*exploding_measure"):
        run([broken], instances=1, jobs=2, store=tmp_path)


def broken_claims():
    return [_broken(measure=exploding_measure)]


def test_parallel_runs_need_the_registered_claim(toys):
    stranger = _broken(id="classic.runner_toy.stranger")
    with pytest.raises(ValueError, match="not the registered claim of that id"):
        run([stranger], jobs=2)
    with pytest.raises(ValueError, match="choose local processes"):
        run(toys, jobs=2, scheduler="tcp://127.0.0.1:8786")
