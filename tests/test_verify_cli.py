"""`rlsandbox verify` and `rlsandbox list claims` end to end: table, --json, files, exit codes.

Most tests call rlsandbox.cli.main in-process with toy claims registered per test; one runs
the real command in a subprocess, which finds the toys through RLSANDBOX_CLAIM_PLUGINS.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlsandbox.cli import main
from rlsandbox.proofs_check import PLUGINS_ENV, REGISTRY, Claim, Instance, Measurement

EPS = np.finfo(np.float64).eps
TESTS = Path(__file__).resolve().parent


def sizes(n_random, rng):
    return [Instance(f"n={n}", {"n": n}, lambda n=n: n)
            for n in [2, *rng.integers(3, 30, size=n_random).tolist()]]


def total(n, rng):
    # n entries normalised by their float sum, then summed: round-off <= 2 n eps (Higham §4.2)
    return Measurement(rng.dirichlet(np.ones(n)).sum(), 1.0, tol=2 * n * EPS)


def total_minus_first(n, rng):
    return Measurement(rng.dirichlet(np.ones(n))[1:].sum(), 1.0, tol=2 * n * EPS)


def total_too_high(n, rng):
    return Measurement(rng.dirichlet(np.ones(n)).sum() + 0.5, 1.0, tol=2 * n * EPS)


def crash(n, rng):
    raise RuntimeError("the measure is broken")


def toy_claims():
    common = dict(paper="classic", cite="[toy, Eq. 1]", assumptions="n >= 2",
                  provenance="derived", kind="equality", instances=sizes)
    return [
        Claim(id="classic.cli_toy.good", statement="Dirichlet entries sum to one",
              measure=total, negative_control=total_minus_first,
              control_note="drops the first entry", quick=2, default=4, **common),
        Claim(id="classic.cli_toy.uncaught", statement="a control that breaks nothing",
              measure=total, negative_control=total, control_note="no break", quick=1,
              **common),
        Claim(id="classic.cli_toy.violated", statement="a false statement",
              measure=total_too_high, negative_control=total_minus_first,
              control_note="drops the first entry", quick=1, **common),
        Claim(id="classic.cli_toy.crash", statement="a claim whose code raises",
              measure=crash, negative_control=total_minus_first, control_note="n/a",
              quick=1, **common),
    ]


@pytest.fixture
def toys(monkeypatch):
    for claim in toy_claims():
        monkeypatch.setitem(REGISTRY, claim.id, claim)
    monkeypatch.setenv(PLUGINS_ENV, f"{__name__}:toy_claims")


SUMMARY_FIELDS = {"id", "paper", "provenance", "kind", "instances", "violations",
                  "worst_margin", "tightness", "negative_control"}


def test_table_files_and_exit_0(toys, tmp_path, capsys):
    assert main(["verify", "classic.cli_toy.good", "--quick", "--out", str(tmp_path)]) == 0
    out, err = capsys.readouterr()
    header, rule, row = out.splitlines()[:3]
    assert header.split() == ["claim", "paper", "provenance", "kind", "instances", "result",
                              "violations", "worst", "margin", "tightness", "control"]
    assert row.split()[:7] == ["classic.cli_toy.good", "classic", "derived", "equality", "3",
                               "holds", "0"]
    assert row.split()[-1] == "caught" and "status: ok (exit code 0)" in out
    assert "3 cells (0 from the store, 3 computed)" in err
    md = (tmp_path / "report.md").read_text()
    for text in ("| classic.cli_toy.good | classic | derived | equality | 3 | holds | 0 |",
                 "## classic.cli_toy.good", "Dirichlet entries sum to one", "[toy, Eq. 1]",
                 "drops the first entry: caught", "![classic.cli_toy.good]"):
        assert text in md
    assert (tmp_path / "classic.cli_toy.good.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "ok" and len(report["claims"][0]["cell_results"]) == 3
    assert not list(tmp_path.glob(".*.tmp"))                         # atomic writes cleaned up


def test_json_stdout_is_one_object_with_the_contract_fields(toys, tmp_path, capsys):
    code = main(["verify", "classic.cli_toy.good", "classic.cli_toy.uncaught", "--quick",
                 "--json", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    data = json.loads(out)                                           # nothing else on stdout
    assert code == 2 and data["status"] == "control_not_caught"
    assert [c["id"] for c in data["claims"]] == ["classic.cli_toy.good",
                                                 "classic.cli_toy.uncaught"]
    for claim in data["claims"]:
        assert SUMMARY_FIELDS <= set(claim)
        assert "cell_results" not in claim
    assert [c["negative_control"] for c in data["claims"]] == ["caught", "not_caught"]
    good = data["claims"][0]
    assert (good["instances"], good["violations"]) == (3, 0) and good["worst_margin"] > 0
    # report.json holds the same summary, plus every cell
    report = json.loads((tmp_path / "report.json").read_text())
    for claim in report["claims"]:
        claim.pop("cell_results")
    assert report == data


def test_exit_1_when_a_claim_is_violated(toys, tmp_path, capsys):
    code = main(["verify", "classic.cli_toy.violated", "classic.cli_toy.uncaught", "--quick",
                 "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "VIOLATED" in out and "NOT CAUGHT" in out and "status: violated (exit code 1)" in out


def test_exit_70_when_claim_code_raises(toys, tmp_path, capsys):
    code = main(["verify", "classic.cli_toy.crash", "--quick", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 70
    assert "claim 'classic.cli_toy.crash', instance 0 (n=2), run 0" in err
    assert "RuntimeError: the measure is broken" in err


@pytest.mark.parametrize("argv, message", [
    (["verify", "classic.cli_toy.nope"], "did you mean 'classic.cli_toy.good'"),
    (["verify", "harpg"], "no claims of paper 'harpg' are registered"),
    (["verify", "--jobs", "0"], "argument --jobs: 0 worker processes"),
    (["verify", "--instances", "-1"], "argument --instances: -1 is negative"),
    (["verify", "--seed", "x"], "argument --seed: 'x' is not an integer"),
    (["verify", "--jobs", "2", "--scheduler", "tcp://127.0.0.1:8786"],
     "argument --scheduler: not allowed with argument --jobs"),
    (["list", "claims", "--paper", "nature"], "--paper == 'nature'; expected one of"),
])
def test_exit_64_on_bad_usage(toys, argv, message, capsys):
    saved = dict(REGISTRY)                          # restored below in its registration order
    for cid in [cid for cid, claim in saved.items() if claim.paper == "harpg"]:
        del REGISTRY[cid]                           # a paper slug with no registered claims
    try:
        _expect_usage_error(argv, message, capsys)
    finally:
        REGISTRY.clear()
        REGISTRY.update(saved)


def _expect_usage_error(argv, message, capsys):
    try:
        code = main(argv)
    except SystemExit as exc:                       # argparse and listings exit themselves
        code = exc.code
    assert code == 64
    assert message in capsys.readouterr().err


def test_help_documents_exit_codes(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["verify", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for line in ("0   every claim holds and every negative control is caught",
                 "1   a claim is violated", "2   a negative control was not caught",
                 "64  bad usage", "--scheduler ADDR", "--fresh", "--json"):
        assert line in text


def test_list_claims_honours_paper(toys, capsys):
    assert main(["list", "claims", "--paper", "classic", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["claims"]
    ids = [r["id"] for r in rows]
    assert {"classic.cli_toy.good", "classic.cli_toy.crash"} <= set(ids)
    assert all(r["paper"] == "classic" for r in rows)
    assert main(["list", "claims", "--paper", "mdpo", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["claims"]
    assert all(r["paper"] == "mdpo" for r in rows) and "classic.cli_toy.good" not in \
        [r["id"] for r in rows]


def test_default_run_directory_and_store(toys, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["verify", "classic.cli_toy.good", "--quick"]) == 0
    assert main(["verify", "classic.cli_toy.good", "--quick"]) == 0  # second run: all stored
    err = capsys.readouterr().err
    assert "3 cells (3 from the store, 0 computed)" in err
    runs = sorted(p for p in (tmp_path / "results").iterdir() if p.name != ".store")
    assert 1 <= len(runs) <= 2                      # same second -> same directory name
    assert all((p / "report.md").is_file() and (p / "report.json").is_file() for p in runs)
    assert list((tmp_path / "results" / ".store").rglob("*.json"))


def test_real_subprocess_matches_in_process(toys, tmp_path, capsys):
    env = {**os.environ, PLUGINS_ENV: f"{__name__}:toy_claims",
           "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    argv = ["verify", "classic.cli_toy.good", "--instances", "3", "--seed", "9", "--json"]
    proc = subprocess.run([sys.executable, "-m", "rlsandbox.cli", *argv, "--out",
                           str(tmp_path / "sub")], env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert main([*argv, "--out", str(tmp_path / "inproc")]) == 0
    assert json.loads(proc.stdout) == json.loads(capsys.readouterr().out)
    assert (tmp_path / "sub" / "report.json").read_bytes() == \
        (tmp_path / "inproc" / "report.json").read_bytes()


def test_quick_checks_every_registered_claim(tmp_path):
    """The CI command: every registered claim holds and is caught under --quick, and --jobs 2
    agrees exactly with an in-process serial run. (The 90 s budget is measured, not asserted:
    timing belongs in benchmarks, not in unit tests.)"""
    from rlsandbox.proofs_check import run, select
    from rlsandbox.proofs_check.report import summary

    env = {k: v for k, v in os.environ.items() if k != PLUGINS_ENV}
    proc = subprocess.run([sys.executable, "-m", "rlsandbox.cli", "verify", "--quick", "--jobs",
                           "2", "--json", "--out", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=600)
    data = json.loads(proc.stdout)
    failed = [(c["id"], c["violations"], c["negative_control"]) for c in data["claims"]
              if not c["holds"] or c["negative_control"] != "caught"]
    assert proc.returncode == 0 and data["status"] == "ok", failed
    assert [c["id"] for c in data["claims"]] == [c.id for c in select()]
    serial = summary(run(select(), quick=True))
    assert json.loads(json.dumps(serial)) == data
