"""The GPU scale: CUDA paths (skipped cleanly without CUDA), and on any machine, that every notebook's gpu and
paper presets resolve, report a memory estimate (the gpu presets within 80 GiB), and resolve as one-step dry runs."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from fake_book import make, replicate

from replicate import cli, data, ensemble, losses, models, scales, sharpness, sweep

ROOT = Path(__file__).resolve().parents[1]
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
GIB = 2**30
GPU_MEMORY = 80 * GIB  # the gpu presets are sized for one modern GPU (80 GB class)
CHAPTER_NOTEBOOKS = sorted(p for p in (ROOT / "book").glob("*/*.py") if p.with_suffix(".ipynb").exists())


# --- CUDA paths ----------------------------------------------------------------------------------------------------

def _problem(device):
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(64, 10, generator=gen), torch.randn(64, 2, generator=gen)
    torch.manual_seed(0)
    return models.MLP(10, 32, 3, 2).to(device), X.to(device), y.to(device)


@cuda
def test_model_forward_on_cuda_matches_cpu():
    model, X, _ = _problem("cpu")
    gpu_model, X_gpu, _ = _problem("cuda")
    assert next(gpu_model.parameters()).is_cuda
    torch.testing.assert_close(gpu_model(X_gpu).cpu(), model(X), rtol=1e-4, atol=1e-5)


@cuda
def test_ensemble_trains_on_cuda_like_on_cpu():
    _, X, y = _problem("cpu")
    members = [ensemble.Member(seed=s, lr=0.05) for s in range(4)]
    cfg = ensemble.TrainConfig(steps=5)
    make_model = lambda: models.MLP(10, 32, 3, 2)  # noqa: E731
    on_cpu = ensemble.train_ensemble(make_model, members, X, y, cfg)
    on_gpu = ensemble.train_ensemble(make_model, members, X.cuda(), y.cuda(), cfg)
    assert next(iter(on_gpu.params.values())).is_cuda
    torch.testing.assert_close(torch.tensor(on_gpu.history["loss"].to_numpy()),
                               torch.tensor(on_cpu.history["loss"].to_numpy()), rtol=1e-3, atol=1e-5)


@cuda
def test_sharpness_products_on_cuda_match_cpu():
    model, X, y = _problem("cpu")
    gpu_model, X_gpu, y_gpu = _problem("cuda")
    mse = losses.get_loss("mse")
    lam = sharpness.top_eigenvalues(model, mse, X, y, k=1).eigenvalues
    lam_gpu = sharpness.top_eigenvalues(gpu_model, mse, X_gpu, y_gpu, k=1).eigenvalues
    torch.testing.assert_close(torch.as_tensor(lam_gpu).cpu(), torch.as_tensor(lam), rtol=1e-3, atol=1e-5)
    v = torch.randn(sum(p.numel() for p in model.parameters()))
    torch.testing.assert_close(sharpness.hvp(gpu_model, mse, X_gpu, y_gpu, v.cuda()).cpu(),
                               sharpness.hvp(model, mse, X, y, v), rtol=1e-3, atol=1e-5)


@cuda
def test_data_on_device_and_its_sweep_identity():
    ds = data.load("digits")
    X = ds.X_train.cuda()
    assert X.is_cuda and X.dtype == torch.float32
    assert sweep.data_digest((X, ds.y_train.cuda())) == sweep.data_digest((ds.X_train, ds.y_train))  # device-free


@cuda
def test_memory_limit_is_the_gpus_under_device_cuda(monkeypatch):
    monkeypatch.setenv("REPLICATE_DEVICE", "cuda")
    have, where = scales.memory_limit()
    assert where.startswith("GPU") and have == torch.cuda.get_device_properties(0).total_memory


@cuda
def test_replicate_run_device_cuda(tmp_path):
    book = make(tmp_path / "book")
    out = replicate("run", "ch/nb", "--device", "cuda", "--output", str(tmp_path / "out"), cwd=book,
                    env={**os.environ, "CI": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(GPU cuda" in out.stderr  # the memory estimate is checked against the GPU


@cuda
@pytest.mark.parametrize("text", CHAPTER_NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in CHAPTER_NOTEBOOKS])
def test_notebook_computes_on_cuda(text, tmp_path):
    """At smoke with --device cuda, every notebook's run allocates CUDA memory (its provenance records the peak):
    the data and the networks went to the device. tests/test_device.py checks on any machine that nothing is
    made on torch's default device instead."""
    out = subprocess.run([sys.executable, "-m", "replicate.cli", "run", str(text.relative_to(ROOT)), "--scale",
                          "smoke", "--device", "cuda", "--output", str(tmp_path)], cwd=ROOT, capture_output=True,
                         text=True, timeout=900, env={**os.environ, "CI": "1"})
    assert out.returncode == 0, out.stderr[-3000:]
    record = json.loads((tmp_path / f"{text.stem}.provenance.json").read_text())
    assert record["device"].startswith("cuda") and record.get("cuda_peak_memory_bytes", 0) > 0, record


# --- presets of every notebook (CPU only) --------------------------------------------------------------------------

def notebook_presets(text: Path) -> tuple[dict, dict | None]:
    found = cli.notebook_presets(text)
    assert found, f"{text.name} calls no scales.resolve(<module>.<PRESETS>, ...)"
    return found


@pytest.mark.parametrize("scale", ["gpu", "paper"])
@pytest.mark.parametrize("text", CHAPTER_NOTEBOOKS, ids=[f"{p.parent.name}/{p.stem}" for p in CHAPTER_NOTEBOOKS])
def test_gpu_and_paper_presets_resolve_fit_and_dry_run(text, scale, monkeypatch):
    presets, dry_overrides = notebook_presets(text)
    if scale not in presets:
        pytest.skip(f"{text.parent.name}/{text.stem} has no {scale!r} preset yet (presets: {', '.join(presets)})")
    monkeypatch.setenv("REPLICATE_FORCE", "1")  # resolve the full preset even where this machine is too small
    monkeypatch.setenv("REPLICATE_DEVICE", "cpu")
    config = scales.resolve(presets, scale)
    assert dataclasses.is_dataclass(config)
    assert hasattr(config, "memory_bytes"), f"{type(config).__name__} defines no memory_bytes()"
    need = config.memory_bytes()
    assert 0 < need and (scale != "gpu" or need <= GPU_MEMORY), f"{scale} preset needs {need / GIB:.1f} GiB"
    dry = scales.resolve(presets, scale, dry_run=True, dry_overrides=dry_overrides)
    assert type(dry) is type(config)


def test_every_notebook_has_a_gpu_preset():
    """The lead's end-of-session check: reported as a skip (not a failure) while chapters add their presets."""
    missing = [f"{p.parent.name}/{p.stem}" for p in CHAPTER_NOTEBOOKS if "gpu" not in notebook_presets(p)[0]]
    if missing:
        pytest.skip(f"no gpu preset yet: {', '.join(missing)}")
