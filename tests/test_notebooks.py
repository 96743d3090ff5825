"""Every notebook in notebooks/ (jupytext percent scripts) executes cleanly in quick mode.

Each ``notebooks/*.py`` is converted with jupytext and run with nbclient on a kernel that uses
*this* interpreter: the test writes its own kernelspec (argv = ``sys.executable -m
ipykernel_launcher``, env ``RLSANDBOX_QUICK=1``) into a temporary directory, so it needs no
``ipykernel install`` and cannot pick up another environment's python3 kernel. The notebooks
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

from jupyter_client.kernelspec import KernelSpecManager  # noqa: E402  (after importorskip)
from jupyter_client.manager import KernelManager  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
KERNEL = "rlsandbox-test-python"
#: Seconds per cell; quick mode keeps every cell to a few seconds (first Numba loads included).
CELL_TIMEOUT = 180


def test_there_are_notebooks():
    assert any(p.name.startswith("01_") for p in NOTEBOOKS)


@pytest.fixture(scope="module")
def kernel_manager_factory(tmp_path_factory):
    spec_dir = tmp_path_factory.mktemp("kernels") / KERNEL
    spec_dir.mkdir()
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "rlsandbox test (this interpreter)",
        "language": "python",
        "env": {"RLSANDBOX_QUICK": "1"},
    }))
    ksm = KernelSpecManager(kernel_dirs=[str(spec_dir.parent)])

    def factory():
        return KernelManager(kernel_name=KERNEL, kernel_spec_manager=ksm)
    return factory


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_percent_script_with_title(path):
    text = path.read_text()
    assert "format_name: percent" in text, f"{path.name}: save it as a jupytext percent script"
    nb = jupytext.read(path)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.lstrip().startswith("# ")
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_in_quick_mode(path, tmp_path, kernel_manager_factory, monkeypatch):
    monkeypatch.setenv("RLSANDBOX_QUICK", "1")
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, km=kernel_manager_factory(), timeout=CELL_TIMEOUT, allow_errors=False,
        resources={"metadata": {"path": str(tmp_path)}})   # cwd: nothing lands in the repo
    client.execute()                                         # raises CellExecutionError
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.get("execution_count") for c in code), "some cell did not run"
    errors = [o for c in code for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    # the notebook ran in quick mode: by convention (notebooks/README.md) its setup cell prints
    # "quick mode: on" when RLSANDBOX_QUICK=1
    stdout = "".join(o.get("text", "") for c in code for o in c.get("outputs", [])
                     if o.get("name") == "stdout")
    assert "quick mode: on" in stdout
