"""Every notebook: its pair in sync, a `parameters` cell first, a run at smoke (its paper preset's one-step dry run:
tests/test_device.py, in process)."""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest
from inprocess import run_in_process

from replicate import cli

ROOT = Path(__file__).resolve().parents[1]
os.chdir(ROOT)
NOTEBOOKS = cli.notebooks(ROOT / "book")
CHAPTER_NOTEBOOKS = [nb for nb in NOTEBOOKS if nb.parent != ROOT / "book"]
ids = [str(nb.relative_to(ROOT / "book").with_suffix("")) for nb in NOTEBOOKS]


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("text", NOTEBOOKS, ids=ids)
def test_pair_is_in_sync(text):
    """The .ipynb holds exactly the cells of its text twin (the source of truth): run `make sync` if not."""
    source = jupytext.read(text)
    stored = nbformat.read(text.with_suffix(".ipynb"), as_version=4)
    stored_cells = [c for c in stored.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    def key(c):
        return c.cell_type, c.source, c.metadata.get("tags", [])
    assert [key(c) for c in source.cells] == [key(c) for c in stored_cells]


@pytest.mark.parametrize("text", NOTEBOOKS, ids=ids)
def test_stored_notebook_was_executed(text):
    stored = nbformat.read(text.with_suffix(".ipynb"), as_version=4)
    counts = [c.execution_count for c in code_cells(stored)]
    assert all(n is not None for n in counts), "the stored .ipynb was not executed: run `make notebooks`"
    assert not any(o.get("output_type") == "error" for c in code_cells(stored) for o in c.outputs)


@pytest.mark.parametrize("text", CHAPTER_NOTEBOOKS, ids=[str(n.relative_to(ROOT / "book")) for n in CHAPTER_NOTEBOOKS])
def test_first_code_cell_is_parameters_with_scale_cpu(text):
    first = code_cells(jupytext.read(text))[0]
    assert "parameters" in first.metadata.get("tags", [])
    params = cli.parameters(text)
    assert params["scale"]["default"] == '"cpu"'
    assert {"dry_run", "results_dir", "figures_dir"} <= set(params)
    claims_cell = code_cells(jupytext.read(text))[-1].source
    assert claims_cell.startswith("# NBVAL_CHECK_OUTPUT") and "rerun.compare" in claims_cell


@pytest.mark.parametrize("text", CHAPTER_NOTEBOOKS, ids=[str(n.relative_to(ROOT / "book")) for n in CHAPTER_NOTEBOOKS])
def test_runs_at_smoke_and_writes_claims(text, tmp_path):
    """In this process (the CLI's papermill run of a real notebook: tests/test_cli.py)."""
    run_in_process(text, tmp_path, "smoke")
    claims = (tmp_path / f"{text.stem}.claims.csv").read_text()
    assert "verdict" in claims.splitlines()[0] and len(claims.splitlines()) > 1


def nbval(path):
    return subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-q", "-p", "no:cacheprovider", str(path)],
                          capture_output=True, text=True, timeout=300)


def test_nbval_fails_when_a_headline_number_changes(tmp_path):
    """The regression mechanism itself: a checked cell whose printed number changed fails nbval."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cell = nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nprint(round(2 / 3, 3))", execution_count=2)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="0.667\n")]
    nb.cells = [nbformat.v4.new_code_cell("x = 1", execution_count=1), cell]
    nbformat.write(nb, tmp_path / "good.ipynb")
    assert nbval(tmp_path / "good.ipynb").returncode == 0
    cell.outputs[0]["text"] = "0.668\n"
    nbformat.write(nb, tmp_path / "changed.ipynb")
    out = nbval(tmp_path / "changed.ipynb")
    assert out.returncode == 1 and "0.668" in out.stdout
