"""Estimates of a run's peak memory in bytes, from its config: the building blocks of each config's `memory_bytes()`
(which `scales.check_memory` compares with the machine's or the GPU's memory before a run).

Estimates, not measurements: each term counts what is alive at the peak and errs high (about ×1–2.5 against the
resident memory measured on CPU for the factors below); models are sized on the `meta` device (shapes only, no
memory). Host-only terms (loading a data set) are counted against a GPU too, which errs high there as well; CUDA
kernels' workspaces are not counted. A config estimates one sweep point at a time (the in-process executor).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from replicate.data import STAND_IN_SHAPES

BASE = 2**30  # the interpreter with torch, pandas and matplotlib loaded; on a GPU, the CUDA context
SIZES = {"mnist": (60_000, 10_000), "fashion-mnist": (60_000, 10_000), "cifar-10": (50_000, 10_000)}


def dtype_bytes(dtype: str) -> int:
    """Bytes per element of a torch dtype named as in the configs ("float32", "float64", …)."""
    return torch.empty((), dtype=getattr(torch, dtype)).element_size()


def mlp_params(in_features: int, width: int, depth: int, out_features: int, bias: bool = True) -> int:
    """Parameters of `models.MLP(in_features, width, depth, out_features, bias=bias)`: depth hidden layers."""
    weights = in_features * width + (depth - 1) * width * width + width * out_features
    return weights + (depth * width + out_features if bias else 0)


def n_params(make: Callable[[], nn.Module]) -> int:
    """Parameters of the model `make()` builds, counted on the meta device."""
    with torch.device("meta"):
        return sum(p.numel() for p in make().parameters())


class _Tally(TorchDispatchMode):
    """Elements of the tensors ops create (views and in-place results allocate nothing): in all, and the most alive
    at once."""

    def __init__(self) -> None:
        super().__init__()
        self.created = self.live = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if not any(r.alias_info for r in func._schema.returns):
            for t in tree_leaves(out):
                if isinstance(t, torch.Tensor):
                    self.created += t.numel()
                    self.live += t.numel()
                    weakref.finalize(t, self._free, t.numel())
            self.peak = max(self.peak, self.live)
        return out

    def _free(self, elements: int) -> None:
        self.live -= elements


def activations(make: Callable[[], nn.Module], shape: tuple[int, ...], train: bool = True) -> int:
    """Elements per input example of `shape` that a forward of `make()` holds: all it creates for a training step
    (what the backward keeps is among them), the most alive at once for a no-grad forward (train=False). Counted on
    the meta device (no memory), as the difference between batches of 4 and 2, halved."""
    def count(batch: int) -> int:
        with torch.device("meta"):
            model, x = make(), torch.empty(batch, *shape)
        with torch.no_grad(), _Tally() as tally:
            model(x)
        return tally.created if train else tally.peak

    return math.ceil((count(4) - count(2)) / 2)


def dataset_bytes(name: str) -> int:
    """Loading an image data set (`data.load`) holds its raw file (1 byte a pixel) and two float32 copies of every
    image for a moment, before the subset is taken: 10 bytes a pixel, counted as if kept. 0 for the small sets
    (digits, mnist1d, generated data), which BASE covers."""
    if name not in SIZES:
        return 0
    return 10 * sum(SIZES[name]) * math.prod(STAND_IN_SHAPES[name])


def training_bytes(params: int, members: int, batch: int, created: int, data: int = 0, dtype: str = "float32",
                   momentum: bool = False, at_once: int | None = None) -> int:
    """`members` networks of `params` parameters trained at once on batches of `batch` examples (`created` elements
    each: `activations`), the activations of `at_once` of them alive together (default all; the loop engine: 1),
    beside `data` elements of data on the device.

    Per member 6 parameter-sized tensors, 7 with momentum (measured on the vmap engine, CPU resident memory: 5.2 and
    5.8): the member's module, its stacked copy, the gradients of this step and the last, the update's temporaries,
    the final state's copy, the momentum buffer. Activations: 3× what the forward creates (measured 2.2 for `MLP`
    under the vmap engine, 1.1 for a conv net under the loop engine).
    """
    at_once = members if at_once is None else at_once
    return dtype_bytes(dtype) * (members * params * (7 if momentum else 6) + at_once * 3 * batch * created + data)


def forward_bytes(members: int, batch: int, alive: int, dtype: str = "float32") -> int:
    """A no-grad forward (an evaluation) of `members` networks at once on `batch` examples, `alive` elements at most
    each (`activations(train=False)`), counted 2× (measured 1.4 for `MLP` under the vmap engine)."""
    return dtype_bytes(dtype) * members * batch * 2 * alive


def curvature_bytes(params: int, examples: int, created: int, max_iter: int, dtype: str = "float32") -> int:
    """Top eigenvalues by Lanczos (`sharpness.top_eigenvalues`) of one model over `examples` examples at once.

    The basis (max_iter vectors of `params`) and 40 parameter-sized tensors (measured on CPU: 25 with hvp_mode
    reuse_graph, the CPU default, 35 with forward_over_reverse, CUDA's: the model, the block product and its
    residuals, the Ritz vectors, the gradient kept with its graph, the product's intermediates and its flat copy);
    the curvature-vector product's graph over all examples: 6× what a forward creates (`activations`; measured 4.4
    with reuse_graph).
    """
    return dtype_bytes(dtype) * ((max_iter + 40) * params + 6 * examples * created)
