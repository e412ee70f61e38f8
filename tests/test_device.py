"""Nothing computes on torch's default device by accident.

Each chapter notebook runs its paper preset as a one-step dry run (also the test that the paper preset runs and
writes nothing), in this process, with torch's default device set to 'meta'. A tensor made without an explicit device lands there and fails the run (meta tensors hold no data),
so a pass means every tensor was made on the device the notebook was given, or drawn on the CPU on purpose
(`runtime.on_cpu`: data and initial weights, so a seed gives the same numbers on every device) and moved. On a
CUDA machine the same slip would silently train on the CPU; this is its CPU-only stand-in. That the given device
is used end to end is checked on CUDA by tests/test_gpu.py.
"""

from pathlib import Path

import pytest
import torch
from inprocess import run_in_process

from replicate import cli

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = [nb for nb in cli.notebooks(ROOT / "book") if nb.parent != ROOT / "book"]


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
        ns = run_in_process(text, tmp_path, "paper", dry_run=True)
    errors = [e for t in tables if sweep.ERROR in t for e in t[sweep.ERROR].dropna()]
    assert not errors, f"{len(errors)} sweep points failed; first: {errors[0]}"
    assert ns["rows"], "the notebook judged no claims"
    assert not any(tmp_path.iterdir()), "a dry run wrote results"
