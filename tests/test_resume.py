"""Kill a real `rlsandbox verify` (SIGKILL) once some cells are stored, start it again, and
check that it resumes (stored cells are reused, not rewritten) and ends with exactly the
report of a clean uninterrupted run.

The claim is a toy made slow on purpose (each cell sleeps), so the kill lands mid-run; the
subprocesses load it through RLSANDBOX_CLAIM_PLUGINS="test_resume:toy_claims".
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from rlsandbox.proofs_check import Claim, Instance, Measurement

TESTS = Path(__file__).resolve().parent
EPS = np.finfo(np.float64).eps
N_RANDOM = 29                     # 1 named + 29 random instances = 30 cells
CELL_SECONDS = 0.08


def sizes(n_random, rng):
    return [Instance(f"n={n}", {"n": n}, lambda n=n: n)
            for n in [2, *rng.integers(3, 50, size=n_random).tolist()]]


def slow_sum(n, rng):
    time.sleep(CELL_SECONDS)      # slow enough to be killed mid-run
    # n entries normalised by their float sum, then summed: round-off <= 2 n eps (Higham §4.2)
    return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.0, tol=2 * n * EPS,
                       extra={"entries": rng.dirichlet(np.ones(n)).tolist()})


def slow_sum_drop_first(n, rng):
    return Measurement(rng.dirichlet(np.ones(n))[1:].sum(), 1.0, tol=2 * n * EPS)


def toy_claims():
    return [Claim(id="classic.resume_toy.slow_sum", paper="classic", cite="[toy]",
                  statement="Dirichlet entries sum to one", assumptions="n >= 2",
                  provenance="derived", kind="equality", instances=sizes, measure=slow_sum,
                  negative_control=slow_sum_drop_first, control_note="drops entry 0")]


def _command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "rlsandbox.cli", "verify", "classic.resume_toy.slow_sum",
            "--instances", str(N_RANDOM), "--seed", "4", "--out", str(out), *extra]


def _env() -> dict[str, str]:
    return {**os.environ, "RLSANDBOX_CLAIM_PLUGINS": f"{__name__}:toy_claims",
            "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}


def _verify(out: Path, *extra: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(_command(out, *extra), env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc


def _cells(out: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in (out / ".store").rglob("*.json")}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean")
    _verify(out)
    return out


def _kill_after(out: Path, n_cells: int, *extra: str) -> dict[Path, bytes]:
    """Start verify in its own process group, SIGKILL the group once n_cells are stored."""
    proc = subprocess.Popen(_command(out, *extra), env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while len(_cells(out)) < n_cells:
            assert proc.poll() is None, "verify finished before it could be killed"
            assert time.monotonic() < deadline, "no cells stored in time"
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)           # the run and its worker processes
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return _cells(out)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_killed_run_resumes_to_the_clean_report(clean_run, tmp_path, jobs):
    out = tmp_path / "run"
    before = _kill_after(out, 5, "--jobs", jobs)
    assert 5 <= len(before) < 30 and not (out / "report.json").exists()
    proc = _verify(out, "--jobs", jobs)
    stored, computed = map(int, re.search(r"\((\d+) from the store, (\d+) computed\)",
                                          proc.stderr).groups())
    # everything stored before the kill is reused as it was, and only the rest is computed
    assert stored == len(before) and computed == 30 - stored
    after = _cells(out)
    assert len(after) == 30 and all(after[p] == data for p, data in before.items())
    for name in ("report.json", "report.md"):
        assert (out / name).read_bytes() == (clean_run / name).read_bytes()
    if jobs != "1":
        return
    # --fresh ignores the store: every cell again, same report
    fresh = _verify(out, "--fresh")
    assert "(0 from the store, 30 computed)" in fresh.stderr
    assert (out / "report.json").read_bytes() == (clean_run / "report.json").read_bytes()
