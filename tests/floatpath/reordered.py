"""Another CPU's floating-point path, at almost no cost: every float linear layer, convolution, `@` and plain
`.sum` adds its reduction in two parts split at an odd index, as a different GEMM blocking, vector width or thread
split does (an odd split is never one of MKL's own block boundaries, multiples of the vector width: MKL's sgemm
already splits K = 300 at 150, where a split at the half changed no bit). It rounds differently from the machine
that published the book while computing the same mathematics. `make test` runs nbval with this installed (tests/floatpath/sitecustomize.py) and torch's default
(non-vectorised) ATen kernels, which change exp, log and fused multiply-adds as well: a published number that
does not reproduce under it is float-path noise the rerun tolerance does not cover."""

from __future__ import annotations

import torch
import torch.nn.functional as F

_linear, _conv2d, _matmul, _tensor_sum = F.linear, F.conv2d, torch.Tensor.__matmul__, torch.Tensor.sum


def _split(n: int) -> int:
    """Where a reduction of length n ≥ 2 is split: about a third in, always odd."""
    return n // 3 | 1


def _float(*ts: torch.Tensor) -> bool:
    return all(isinstance(t, torch.Tensor) and t.is_floating_point() for t in ts)


def linear(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
    """x Wᵀ + b with the in-features summed in two parts."""
    if w.dim() != 2 or w.shape[1] < 2 or not _float(x, w):
        return _linear(x, w, b)
    h = _split(w.shape[1])
    return _linear(x[..., :h], w[:, :h], b) + _linear(x[..., h:], w[:, h:])


def conv2d(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None = None, stride=1, padding=0, dilation=1,
           groups: int = 1) -> torch.Tensor:
    """A convolution with the input channels summed in two parts (ungrouped convolutions)."""
    if groups != 1 or w.shape[1] < 2 or not _float(x, w):
        return _conv2d(x, w, b, stride, padding, dilation, groups)
    h = _split(w.shape[1])
    return (_conv2d(x[:, :h], w[:, :h], b, stride, padding, dilation)
            + _conv2d(x[:, h:], w[:, h:], None, stride, padding, dilation))


def matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """a @ b with the contracted axis summed in two parts."""
    if not _float(a, b) or a.dim() == 0 or b.dim() == 0 or a.shape[-1] < 2:
        return _matmul(a, b)
    h = _split(a.shape[-1])
    b1, b2 = (b[:h], b[h:]) if b.dim() == 1 else (b[..., :h, :], b[..., h:, :])
    return _matmul(a[..., :h], b1) + _matmul(a[..., h:], b2)


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
    """Route F.linear, F.conv2d and the tensor methods @ and .sum through the reordered sums. torch.matmul and
    torch.sum stay: TorchScript compiles functions it finds under those names (forward-mode AD's decompositions
    do), and cannot compile these."""
    F.linear, F.conv2d, torch.Tensor.__matmul__, torch.Tensor.sum = linear, conv2d, matmul, tensor_sum
