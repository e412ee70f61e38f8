"""Scale-invariant networks and data for Li & Arora (2020): the small conv net, PreResNet32, batches, augmentation.

The networks are scale-invariant in all their trainable weights: conv layers without bias, BatchNorm without
affine parameters and with batch statistics only, and a frozen random linear head. In the small conv net each
layer is scale-invariant on its own; in PreResNet32 (the paper's net) each block's first conv is, and the convs
writing one stage's residual stream (stem or shortcut, second convs) are jointly — enough for Thm. 1, which scales
all weights by the same α^t.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from replicate import data
from replicate.runtime import on_cpu
from replicate.scales import ParameterError

DATASETS = ("fashion-mnist", "mnist")
ACCURACY_DATASETS = (*DATASETS, "cifar-10")
MODELS = ("small", "preresnet32")

class ScaleInvariantConvNet(nn.Module):
    """[conv3×3 (no bias) → BN (no affine, batch statistics) → ReLU → maxpool2] per width, the last block
    global-average-pooled, then a frozen linear head with N(0, head_std²) entries (a buffer, never trained).

    Every trainable tensor is a conv weight whose scale the following BN removes, so L(c·W_l) = L(W_l) for each
    layer l and c > 0 (up to BN's ε, which is why `eps` is tiny in the exactness tests).
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...], eps: float = 1e-5,
                 head_std: float = 1.0, generator: torch.Generator | None = None):
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one conv layer")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        channels = in_channels
        for width in widths:
            self.convs.append(nn.Conv2d(channels, width, 3, padding=1, bias=False))
            self.norms.append(nn.BatchNorm2d(width, eps=eps, affine=False, track_running_stats=False))
            channels = width
        with torch.no_grad():
            for conv in self.convs:
                fan_in = conv.weight[0].numel()
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / math.sqrt(fan_in))
        self.register_buffer("head", torch.randn(num_classes, channels, generator=generator) * head_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.convs) - 1
        for i, (conv, norm) in enumerate(zip(self.convs, self.norms)):
            x = torch.relu(norm(conv(x)))
            x = x.mean(dim=(-2, -1)) if i == last else F.max_pool2d(x, 2)
        return x @ self.head.T


@on_cpu
def make_net(in_channels: int, num_classes: int, widths: tuple[int, ...], *, seed: int, eps: float = 1e-5,
             head_std: float = 1.0, dtype: torch.dtype = torch.float32,
             device: torch.device | str = "cpu") -> ScaleInvariantConvNet:
    """A seeded ScaleInvariantConvNet in `dtype` on `device` (its weights drawn on the CPU)."""
    g = torch.Generator().manual_seed(seed)
    return ScaleInvariantConvNet(in_channels, num_classes, widths, eps, head_std, g).to(device=device, dtype=dtype)


def _conv(cin: int, cout: int, k: int, stride: int, generator: torch.Generator | None) -> nn.Conv2d:
    """A bias-free conv with N(0, 1/fan_in) weights (the small net's initialisation)."""
    conv = nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) / math.sqrt(conv.weight[0].numel()))
    return conv


class PreActBlock(nn.Module):
    """Pre-activation basic block: with a = ReLU(BN(x)), x + conv2(ReLU(BN(conv1(a)))); when the shape changes the
    shortcut is a 1×1 conv of a (He et al.'s shared pre-activation), not of x. BN: no affine, batch statistics."""

    def __init__(self, cin: int, cout: int, stride: int, eps: float, generator: torch.Generator | None):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=eps, affine=False, track_running_stats=False)
        self.conv1 = _conv(cin, cout, 3, stride, generator)
        self.bn2 = nn.BatchNorm2d(cout, eps=eps, affine=False, track_running_stats=False)
        self.conv2 = _conv(cout, cout, 3, 1, generator)
        self.shortcut = _conv(cin, cout, 1, stride, generator) if stride != 1 or cin != cout else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.relu(self.bn1(x))
        out = self.conv2(torch.relu(self.bn2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class PreResNet32(nn.Module):
    """PreResNet32 (He et al. 2016, the paper's CIFAR net): 3×3 stem conv, 3 stages × 5 `PreActBlock`s of widths
    `widths` (strides 1, 2, 2), final BN → ReLU → global average pool, then a frozen N(0, head_std²) linear head.

    Scale invariance: every read of the residual stream goes through BN, so L is invariant to scaling each
    block's conv1 alone, and to scaling the writers of one stage's stream *together* (stage 1: stem and its five
    conv2; stages 2, 3: the shortcut and the five conv2); scaling one conv2 alone changes the residual/shortcut mix,
    hence the function. So L(cθ) = L(θ) for the whole θ, which is what Thm. 1 uses.
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, int, int] = (16, 32, 64),
                 blocks: int = 5, eps: float = 1e-5, head_std: float = 1.0,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.stem = _conv(in_channels, widths[0], 3, 1, generator)
        layers, channels = [], widths[0]
        for stage, width in enumerate(widths):
            for b in range(blocks):
                layers.append(PreActBlock(channels, width, 2 if stage > 0 and b == 0 else 1, eps, generator))
                channels = width
        self.blocks = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(channels, eps=eps, affine=False, track_running_stats=False)
        self.register_buffer("head", torch.randn(num_classes, channels, generator=generator) * head_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.norm(self.blocks(self.stem(x))))
        return x.mean(dim=(-2, -1)) @ self.head.T


@on_cpu
def make_preresnet32(in_channels: int, num_classes: int, widths: tuple[int, int, int] = (16, 32, 64), *,
                     seed: int, eps: float = 1e-5, head_std: float = 1.0, dtype: torch.dtype = torch.float32,
                     device: torch.device | str = "cpu") -> PreResNet32:
    """A seeded PreResNet32 in `dtype` on `device` (its weights drawn on the CPU)."""
    g = torch.Generator().manual_seed(seed)
    return PreResNet32(in_channels, num_classes, widths, eps=eps, head_std=head_std,
                       generator=g).to(device=device, dtype=dtype)


def augment(X: torch.Tensor, generator: torch.Generator, pad: int = 4) -> torch.Tensor:
    """Standard CIFAR augmentation: a random crop of the `pad`-zero-padded image (same size) and a horizontal flip
    with probability 1/2, drawn per image from `generator` (on its device), applied on X's device."""
    n, c, h, w = X.shape
    Xp = F.pad(X, (pad, pad, pad, pad))
    dy, dx = (torch.randint(2 * pad + 1, (n,), generator=generator, device=generator.device).to(X.device)
              for _ in range(2))
    rows = (dy[:, None] + torch.arange(h, device=X.device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=X.device))[:, None, None, :]
    images, channels = torch.arange(n, device=X.device), torch.arange(c, device=X.device)
    out = Xp[images[:, None, None, None], channels[None, :, None, None], rows, cols]
    flip = (torch.rand(n, generator=generator, device=generator.device) < 0.5).to(X.device)
    return torch.where(flip[:, None, None, None], out.flip(-1), out)


def load_images(name: str, n_train: int, n_test: int, downsample: int, seed: int = 0, *,
                device: torch.device | str = "cpu") -> data.Dataset:
    """Real (Fashion-)MNIST subsets, average-pooled by `downsample` (28×28 → 14×14 for 2), standardised (on the
    CPU), on `device`."""
    ds = data.load(name, n_train=n_train, n_test=n_test, seed=seed)
    pool = (lambda X: F.avg_pool2d(X, downsample)) if downsample > 1 else (lambda X: X)
    Xtr, Xte = pool(ds.X_train), pool(ds.X_test)
    mean, std = Xtr.mean(), Xtr.std()
    return data.Dataset(ds.name, ((Xtr - mean) / std).to(device), ds.y_train.to(device),
                        ((Xte - mean) / std).to(device), ds.y_test.to(device), ds.num_classes)


def batch_order(n: int, batch_size: int, steps: int, seed: int) -> list[torch.Tensor]:
    """Index batches (on the CPU) for `steps` steps: seeded reshuffles each epoch, incomplete last batch dropped."""
    g = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ParameterError(f"batch_size must be <= the number of training samples ({n}); got {batch_size}")
    out = []
    while len(out) < steps:
        perm = torch.randperm(n, generator=g, device="cpu")
        out += [perm[i * batch_size:(i + 1) * batch_size] for i in range(per_epoch)]
    return out[:steps]


def normalised_weights_gap(a: nn.Module, b: nn.Module) -> float:
    """max over layers of ‖W_a/‖W_a‖ − W_b/‖W_b‖‖: the distance in function space (scale removed)."""
    return max(float((pa / pa.norm() - pb / pb.norm()).norm().detach())
               for pa, pb in zip(a.parameters(), b.parameters()))

