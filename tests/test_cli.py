"""``rlsandbox solve`` and ``rlsandbox list instances``: in-process through
``rlsandbox.cli.main`` (capsys), plus one real subprocess run of the README's first command.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import rlsandbox as rls
from rlsandbox.cli import EX_USAGE, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def solve_json(capsys, *argv):
    code, out, err = run(capsys, "solve", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------------------ solve: output
def test_solve_riverswim_table(capsys):
    code, out, err = run(capsys, "solve", "riverswim")
    assert code == 0 and err == ""
    sol = rls.solve(rls.mdps.riverswim(), method="pi")
    lines = out.splitlines()
    assert lines[0].startswith("riverswim") and "certified ||V - V*||_inf <=" in out
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["state", "V*"])
    rows = [line.split() for line in lines[header + 1:header + 7]]
    decimals = len(rows[0][1].split(".")[1])
    for s, row in enumerate(rows):
        assert int(row[0]) == s
        assert abs(float(row[1]) - sol.V[s]) <= 0.5 * 10.0 ** -decimals     # printed rounding
        assert row[2] == ("left", "right")[sol.policy[s]]


def test_solve_json_matches_the_library(capsys):
    out = solve_json(capsys, "riverswim")
    sol = rls.solve(rls.mdps.riverswim(), method="pi")
    assert out["instance"] == "riverswim" and out["source"] == "zoo" and out["method"] == "pi"
    assert out["V"] == sol.V.tolist()                  # JSON round-trips float64 exactly
    assert out["policy"] == sol.policy.tolist()
    assert out["error_bound"] == sol.error_bound and out["converged"] is True
    assert out["iterations"] == sol.iterations and out["S"] == 6 and out["A"] == 2
    assert out["optimal_actions"] == [[1]] * 6 and out["action_names"] == ["left", "right"]
    assert out["value_at_rho"] == float(sol.V[0])


@pytest.mark.parametrize("method", ["vi", "mpi", "lp"])
def test_methods_agree_within_their_certificates(capsys, method):
    ref = solve_json(capsys, "chain")
    out = solve_json(capsys, "chain", "--method", method)
    assert out["method"] == method and out["converged"]
    gap = np.abs(np.array(out["V"]) - np.array(ref["V"])).max()
    assert gap <= out["error_bound"] + ref["error_bound"]


def test_gamma_params_and_seed(capsys):
    out = solve_json(capsys, "garnet", "-p", "S=15", "-p", "branching=2", "--seed", "4",
                     "--gamma", "0.5")
    mdp = rls.mdps.garnet(15, 3, 2, rng=4).replace(gamma=0.5)
    sol = rls.solve(mdp)
    assert out["gamma"] == 0.5 and out["params"] == {"S": 15, "A": 3, "branching": 2, "rng": 4}
    assert out["V"] == sol.V.tolist()
    out = solve_json(capsys, "riverswim", "-p", "variant=strehl2008", "-p", "n_states=8")
    assert out["S"] == 8 and out["params"]["variant"] == "strehl2008"


def test_gridworld_drawn_on_its_layout(capsys):
    code, out, _ = run(capsys, "solve", "russell_norvig_4x3", "--gamma", "0.99")
    assert code == 0
    sol = rls.solve(rls.mdps.russell_norvig_4x3(gamma=0.99))
    arrows = np.array(["^", ">", "v", "<"])[sol.policy]
    # cells row-major with the wall (1, 1) skipped; terminals print their layout letter
    want = [[arrows[0], arrows[1], arrows[2], "G"], [arrows[4], "#", arrows[5], "X"],
            list(arrows[7:11])]
    drawn = out.split("optimal policy (^ > v <):\n")[1].splitlines()[:3]
    assert [row.split() for row in drawn] == want


def test_rows_truncation(capsys):
    code, out, _ = run(capsys, "solve", "garnet", "-p", "S=40", "--rows", "5")
    assert code == 0 and "... 35 more states" in out
    code, out, _ = run(capsys, "solve", "garnet", "-p", "S=40", "--rows", "0")
    assert code == 0 and "more states" not in out


def test_linear_instance_is_solved_through_its_tabular_form(capsys):
    out = solve_json(capsys, "random_linear_mdp")
    sol = rls.solve(rls.mdps.make("random_linear_mdp").to_tabular())
    assert out["V"] == sol.V.tolist()


# ------------------------------------------------------------------ solve: .npz files
def test_solve_npz(capsys, tmp_path):
    mdp = rls.mdps.russell_norvig_4x3(gamma=0.9)
    path = tmp_path / "rn.npz"
    np.savez(path, P=mdp.P, R=mdp.R, gamma=mdp.gamma, rho=mdp.rho, terminal=mdp.terminal)
    out = solve_json(capsys, str(path))
    sol = rls.solve(mdp)
    assert out["source"] == "file" and out["V"] == sol.V.tolist()
    assert out["terminal"] == [3, 6] and out["value_at_rho"] == float(mdp.rho @ sol.V)
    np.savez(tmp_path / "min.npz", P=mdp.P, R=mdp.R, gamma=np.array([0.9]))   # rho optional
    assert solve_json(capsys, str(tmp_path / "min.npz"))["S"] == 11


class _Payload:
    """Unpickling this object would create a directory: evidence of unpickling."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_npz_object_array_refused_without_unpickling(capsys, tmp_path):
    marker = str(tmp_path / "UNPICKLED")
    path = tmp_path / "evil.npz"
    P = np.empty((1, 1, 1), dtype=object)
    P[0, 0, 0] = _Payload(marker)
    np.savez(path, P=P, R=np.zeros((1, 1)), gamma=0.9)        # numpy pickles object arrays
    code, out, err = run(capsys, "solve", str(path))
    assert code == EX_USAGE and out == ""
    assert "cannot be loaded without unpickling" in err and "'P'" in err
    assert not os.path.exists(marker)


@pytest.mark.parametrize("arrays, match", [
    ({"P": np.ones((2, 1, 2)) / 2, "R": np.zeros((2, 1))}, r"missing \['gamma'\]"),
    ({"P": np.ones((2, 1, 2)) / 2, "R": np.zeros((2, 1)), "gamma": 0.9, "Q": 1},
     r"unexpected arrays \['Q'\]"),
    ({"P": np.ones((2, 1, 2)), "R": np.zeros((2, 1)), "gamma": 0.9}, r"P\[0, 0, :\] sums to 2"),
    ({"P": np.ones((2, 1, 2)) / 2, "R": np.zeros((2, 1)), "gamma": [0.9, 0.8]},
     r"gamma has shape \(2,\)"),
    ({"P": np.ones((2, 1, 2)) / 2, "R": np.zeros((2, 1)), "gamma": 1.0}, "--gamma 0.99"),
])
def test_npz_errors(capsys, tmp_path, arrays, match):
    path = tmp_path / "m.npz"
    np.savez(path, **arrays)
    code, out, err = run(capsys, "solve", str(path))
    assert code == EX_USAGE and out == ""
    assert err.startswith("rlsandbox solve: error:")
    assert re.search(match, err), err


def test_unreadable_files(capsys, tmp_path):
    text = tmp_path / "notes.npz"
    text.write_text("not a zip archive")
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    for path, match in ((text, "is not a readable .npz file"),
                        (tmp_path / "missing.npz", "no such file"),
                        (single, "holds a single array")):
        code, out, err = run(capsys, "solve", str(path))
        assert code == EX_USAGE and match in err, err


# ------------------------------------------------------------------ solve: usage errors
@pytest.mark.parametrize("argv, match", [
    (["solve", "rivrswim"], "Did you mean 'riverswim'"),
    (["solve", "riverswim", "-p", "S=3"], "has no parameter 'S'"),
    (["solve", "riverswim", "-p", "variant"], "is not KEY=VALUE"),
    (["solve", "riverswim", "-p", "variant=nope"], "variant == 'nope'"),
    (["solve", "riverswim", "--seed", "3"], "--seed applies to random instances"),
    (["solve", "cliff_walking"], "gamma == 1 (an undiscounted, episodic model)"),
    (["solve", "riverswim", "--gamma", "1.5"], "outside [0, 1)"),
    (["solve", "riverswim", "--rows", "-1"], "--rows -1 is negative"),
    (["solve", "random_linear_mdp", "-p", "H=3", "-p", "gamma=null"], "FiniteHorizonMDP"),
])
def test_usage_errors_exit_64(capsys, argv, match):
    code, out, err = run(capsys, *argv)
    assert code == EX_USAGE and out == ""
    assert match in err and err.count("\n") == 1, err


def test_argparse_errors_exit_64(capsys):
    with pytest.raises(SystemExit) as info:
        main(["solve", "riverswim", "--method", "newton"])
    assert info.value.code == EX_USAGE
    assert "invalid choice: 'newton'" in capsys.readouterr().err


def test_internal_errors_are_not_usage_errors(monkeypatch):
    """A ValueError from inside the solver is a bug: it propagates with its traceback instead
    of being reported as bad usage (exit 64)."""
    def broken(*args, **kwargs):
        raise ValueError("internal bug")
    monkeypatch.setattr(rls.dp, "solve", broken)
    with pytest.raises(ValueError, match="internal bug"):
        main(["solve", "riverswim"])


# ------------------------------------------------------------------ list instances
def test_list_instances(capsys):
    code, out, _ = run(capsys, "list", "instances")
    assert code == 0 and out.splitlines()[0] == "instances:"
    listed = [line.split()[0] for line in out.splitlines()[1:]]
    assert listed == rls.mdps.names()
    code, out, _ = run(capsys, "list", "instances", "--json")
    rows = json.loads(out)["instances"]
    assert [r["name"] for r in rows] == rls.mdps.names()
    garnet = next(r for r in rows if r["name"] == "garnet")
    assert garnet["random"] and garnet["defaults"]["rng"] == 0 and "branching" in garnet["parameters"]


# ------------------------------------------------------------------ a real process
def _command() -> list[str]:
    script = shutil.which("rlsandbox", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "rlsandbox.cli"]


def test_subprocess_readme_command():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}     # the output must not need UTF-8
    done = subprocess.run(_command() + ["solve", "riverswim"], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "certified ||V - V*||_inf <=" in done.stdout and "right" in done.stdout
    done = subprocess.run(_command() + ["solve", "riverswim", "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["V"] == rls.solve(rls.mdps.riverswim()).V.tolist()
