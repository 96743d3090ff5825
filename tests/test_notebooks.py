"""Every notebook in notebooks/ (jupytext percent scripts) executes cleanly in quick mode.

Each ``notebooks/*.py`` is converted with jupytext and run with nbclient on a kernel that uses
*this* interpreter: the test writes its own kernelspec (argv = ``sys.executable -m
ipykernel_launcher``, env ``RLSANDBOX_QUICK=1``) into a temporary ``JUPYTER_PATH``, so it needs
no ``ipykernel install`` and cannot pick up another environment's python3 kernel. The notebooks
assert their own mathematical checks; any failing cell fails the test.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
KERNEL = "rlsandbox-test-python"
#: Seconds per cell; quick mode keeps every cell to a few seconds (first Numba loads included).
CELL_TIMEOUT = 180


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory):
    """A JUPYTER_PATH whose kernels/ holds one kernelspec running this interpreter."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rlsandbox test (this interpreter)",
        "language": "python",
        "env": {"RLSANDBOX_QUICK": "1"},
    }))
    return root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_percent_script_with_title(path):
    text = path.read_text()
    assert "format_name: percent" in text, f"{path.name}: save it as a jupytext percent script"
    nb = jupytext.read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# ")
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, tmp_path, jupyter_path, monkeypatch):
    monkeypatch.setenv("RLSANDBOX_QUICK", "1")
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))   # searched first for kernelspecs
    nb = jupytext.read(path)
    # nbclient owns (starts and shuts down) the kernel; cwd is tmp_path, so nothing the
    # notebook might write lands in the repository
    client = nbclient.NotebookClient(
        nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}})
    client.execute()                                         # raises CellExecutionError
    assert client.km is None or not client.km.has_kernel
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "some cell did not run"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # the notebook ran in quick mode: by convention (notebooks/README.md) its setup cell prints
    # "quick mode: on" when RLSANDBOX_QUICK=1
    stdout = "".join(o.get("text", "") for c in code for o in c.get("outputs", [])
                     if o.get("name") == "stdout")
    assert "quick mode: on" in stdout
