"""Nothing computes on torch's default device by accident.

Each chapter notebook runs its paper preset as a one-step dry run, in this process, with torch's default device
set to 'meta'. A tensor made without an explicit device lands there and fails the run (meta tensors hold no data),
so a pass means every tensor was made on the device the notebook was given, or drawn on the CPU on purpose
(`runtime.on_cpu`: data and initial weights, so a seed gives the same numbers on every device) and moved. On a
CUDA machine the same slip would silently train on the CPU; this is its CPU-only stand-in. That the given device
is used end to end is checked on CUDA by tests/test_gpu.py.
"""

import os
from pathlib import Path

import jupytext
import matplotlib
import pytest
import torch

from replicate import cli

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [nb for nb in cli.notebooks(ROOT / "book") if nb.parent != ROOT / "book"]


def run_in_process(text: Path, out: Path, scale: str = "paper") -> dict:
    """Execute the notebook's code cells here (one-step dry run at `scale`); return its namespace."""
    import matplotlib.pyplot as plt

    cells = [c.source for c in jupytext.read(text).cells if c.cell_type == "code"]
    ns: dict = {"__name__": "__main__"}
    exec(cells[0], ns)
    ns.update(scale=scale, dry_run=True, results_dir=str(out), figures_dir=None)
    cwd = Path.cwd()
    os.chdir(text.parent)
    try:
        for i, source in enumerate(cells[1:], 1):
            exec(compile(source, f"{text.name}, code cell {i}", "exec"), ns)
    finally:
        os.chdir(cwd)
        plt.close("all")
    return ns


def test_a_tensor_on_the_default_device_fails_the_check():
    """The check can fail: data made on the default device does not mix with CPU data."""
    with torch.device("meta"), pytest.raises((RuntimeError, NotImplementedError)):
        (torch.ones(3) + torch.ones(3, device="cpu")).sum().item()


def test_on_cpu_draws_on_the_cpu_whatever_the_default():
    from replicate import data, runtime

    with torch.device("meta"):
        assert runtime.on_cpu(torch.randn)(3).device.type == "cpu"
        assert data.load("digits", n_train=8, n_test=8).X_train.device.type == "cpu"


@pytest.mark.parametrize("text", NOTEBOOKS, ids=[str(n.relative_to(ROOT / "book").with_suffix("")) for n in NOTEBOOKS])
def test_notebook_makes_nothing_on_the_default_device(text, tmp_path, monkeypatch):
    from replicate import sweep

    monkeypatch.setenv("CI", "1")  # no progress bars
    run_sweep, tables = sweep.run_sweep, []
    monkeypatch.setattr(sweep, "run_sweep", lambda *a, **k: tables.append(run_sweep(*a, **k)) or tables[-1])
    with torch.device("meta"):
        ns = run_in_process(text, tmp_path)
    errors = [e for t in tables if sweep.ERROR in t for e in t[sweep.ERROR].dropna()]
    assert not errors, f"{len(errors)} sweep points failed; first: {errors[0]}"
    assert ns["rows"], "the notebook judged no claims"
