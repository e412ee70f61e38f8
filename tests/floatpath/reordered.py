"""Another CPU's floating-point path, at no measurable cost, for `make test`'s nbval (tests/floatpath/sitecustomize.py).

Two changes, the same mathematics, other rounding. Torch's default ATen kernels (ATEN_CPU_CAPABILITY=default, set
by the Makefile) draw torch.randn's normals and compute log-softmax with other transcendental rounding than the
vectorised kernels every publishing machine used, so initial weights and data differ in their last bits (measured:
matmuls, convolutions, exp and plain sums of given inputs keep every bit). And `.sum` over all elements or one axis
adds two parts split at an odd index, as a different vector width or thread split does (an odd split is never a
block boundary of a vectorised kernel). At smoke, the two changed result bits in all 12 chapter notebooks (the uv
model's only through `.sum`). Matmuls and convolutions split the same way perturbed their arithmetic too but cost
1.5× (relu-networks) to 2.4× (update-size) in nbval, so they are not reordered: on another CPU MKL's own blocking
also changes them. A published number that does not reproduce under this is float-path noise its rerun tolerance
does not cover."""

from __future__ import annotations

import torch

_tensor_sum = torch.Tensor.sum


def _split(n: int) -> int:
    """Where a reduction of length n ≥ 2 is split: about a third in, always odd."""
    return n // 3 | 1


def tensor_sum(x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    """x.sum() over all elements or x.sum(dim) over one axis, in two parts (any other form: unchanged)."""
    if len(args) > 1 or set(kwargs) - {"dim"} or not x.is_floating_point() or x.numel() < 2:
        return _tensor_sum(x, *args, **kwargs)
    dim = args[0] if args else kwargs.get("dim")
    if dim is None:
        flat = x.reshape(-1)
        h = _split(flat.shape[0])
        return _tensor_sum(flat[:h]) + _tensor_sum(flat[h:])
    if not isinstance(dim, int) or x.shape[dim] < 2:
        return _tensor_sum(x, *args, **kwargs)
    n, h = x.shape[dim], _split(x.shape[dim])
    return _tensor_sum(x.narrow(dim, 0, h), dim) + _tensor_sum(x.narrow(dim, h, n - h), dim)


def install() -> None:
    """Route the tensor method `.sum` through the reordered sum (torch.sum stays: TorchScript compiles what it finds
    under that name, as forward-mode AD's decompositions do, and cannot compile this)."""
    torch.Tensor.sum = tensor_sum
