"""The stand-in for another CPU's float path (tests/floatpath/reordered.py, `make test`'s nbval): it changes the
bits of every kind of reduction the notebooks use, by rounding only, and reaches a kernel's code at start-up."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent / "floatpath"))
import reordered  # noqa: E402

FLOATPATH = Path(__file__).parent / "floatpath"


def cases(dtype):
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g, dtype=dtype)  # noqa: E731
    x, w, b, img, k, u = r(64, 300), r(200, 300), r(200), r(4, 16, 12, 12), r(8, 16, 3, 3), r(50, 1000)
    return [(reordered._linear, reordered.linear, (x, w, b)),
            (reordered._matmul, reordered.matmul, (x, w.T)),
            (reordered._matmul, reordered.matmul, (x[0], w.T)),
            (reordered._conv2d, reordered.conv2d, (img, k, None, 1, 1)),
            (reordered._tensor_sum, reordered.tensor_sum, (u * u, -1)),
            (lambda u: torch.stack([reordered._tensor_sum(v) for v in u]),
             lambda u: torch.stack([reordered.tensor_sum(v) for v in u]), (u,))]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_every_reduction_changes_bits_by_rounding_only(dtype):
    eps = torch.finfo(dtype).eps
    for original, changed, args in cases(dtype):
        a, b = original(*args), changed(*args)
        assert (a != b).float().mean() > 0.2, f"{changed}: the float path did not change"
        assert (a - b).norm() <= 50 * eps * a.norm(), f"{changed}: more than rounding changed"


def test_gradients_flow_through_the_reordered_ops():
    x, w = torch.randn(8, 30), torch.randn(5, 30, requires_grad=True)
    reordered.linear(x, w).square().sum().backward()
    assert torch.allclose(w.grad, 2 * (x @ w.T).T @ x, rtol=1e-4, atol=1e-4)


def test_installed_at_start_up_of_every_python_process():
    code = ("import torch, torch.nn.functional as F, reordered; "
            "assert F.linear is reordered.linear and torch.Tensor.__matmul__ is reordered.matmul "
            "and torch.Tensor.sum is reordered.tensor_sum and F.conv2d is reordered.conv2d")
    env = {**os.environ, "PYTHONPATH": str(FLOATPATH)}
    assert subprocess.run([sys.executable, "-c", code], env=env).returncode == 0
