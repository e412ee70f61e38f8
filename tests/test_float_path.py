"""The stand-in for another CPU's float path in `make test`'s nbval (tests/floatpath: torch's default ATen kernels and a
reordered `.sum`): random draws, log-softmax and sums change bits, by rounding only."""

import os
import subprocess
import sys
from pathlib import Path

import torch

FLOATPATH = Path(__file__).parent / "floatpath"
sys.path.insert(0, str(FLOATPATH))
import reordered  # noqa: E402

OPS = """
import sys, numpy as np, torch
g = np.random.default_rng(0)  # numpy draws the inputs of the deterministic ops
u = torch.from_numpy(g.standard_normal((50, 1000))).float()
torch.manual_seed(0)
torch.save({"randn": torch.randn(50, 1000), "log_softmax": u.log_softmax(-1), "sum32": (u * u).sum(-1),
            "sum64": (u.double() ** 2).sum(-1), "sum_all": u.sum().reshape(1)}, sys.argv[1])
"""


def run_ops(tmp_path, name, **env):
    path = tmp_path / f"{name}.pt"
    subprocess.run([sys.executable, "-c", OPS, str(path)], check=True,
                   env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": "", **env})
    return torch.load(path)


def test_every_reduction_changes_bits_by_rounding_only(tmp_path):
    plain = run_ops(tmp_path, "plain", ATEN_CPU_CAPABILITY="")
    stand_in = run_ops(tmp_path, "stand_in", ATEN_CPU_CAPABILITY="default", PYTHONPATH=str(FLOATPATH))
    for op, a in plain.items():
        b, eps = stand_in[op], torch.finfo(a.dtype).eps
        assert (a != b).float().mean() > 0.02, f"{op}: the float path did not change"
        assert (a - b).norm() <= 50 * eps * a.norm(), f"{op}: more than rounding changed"


def test_reordered_sum_is_the_sum():
    x = torch.randn(7, 1000, dtype=torch.float64)
    for args in [(), (0,), (-1,), (1, True), ((0, 1),)]:
        assert torch.allclose(reordered.tensor_sum(x, *args), reordered._tensor_sum(x, *args), rtol=1e-14, atol=1e-12)
    assert reordered.tensor_sum(x, dim=1).shape == (7,) and reordered.tensor_sum(x.long()).dtype == torch.long


def test_installed_at_start_up_of_every_python_process():
    code = "import torch, reordered; assert torch.Tensor.sum is reordered.tensor_sum"
    env = {**os.environ, "PYTHONPATH": str(FLOATPATH)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
