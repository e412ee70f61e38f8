"""The networks: WRN-16-10 and the activation noise of the official code, and the toy's two-layer net."""

from __future__ import annotations

import math

import torch
from torch import nn


class ActNoise(nn.Module):
    """x + σ_t·ξ with one N(0, 1) map ξ of shape (1, 1, H, W) per call, shared over batch and channels
    (for (N, F) inputs of an MLP: one scalar of shape (1, 1), shared over batch and units).

    σ_t = std for the first `steps_on` training forwards, then std·decay (official: ×1e-5 from epoch 30).
    Identity in eval mode. The forward count is a buffer, so it travels with the module's state.
    """

    def __init__(self, std: float, steps_on: int, decay: float = 1e-5):
        super().__init__()
        self.std, self.steps_on, self.decay = std, steps_on, decay
        self.register_buffer("calls", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        level = self.std if int(self.calls) < self.steps_on else self.std * self.decay
        self.calls += 1
        # official (1, 1, H, W): shared over batch and channels, drawn per spatial position; an MLP unit is a
        # channel with a 1×1 map, so on (N, F) the same rule gives one scalar (1, 1) shared over batch and units
        shape = (1, 1, *x.shape[2:])
        return x + level * torch.randn(shape, dtype=x.dtype, device=x.device)


def add_act_noise(model: nn.Module, std: float, steps_on: int, decay: float = 1e-5) -> nn.Module:
    """Put ActNoise before every nn.ReLU of `model` (in place; in both nets every ReLU follows a BN)."""
    for name, child in list(model.named_children()):
        if isinstance(child, nn.ReLU):
            setattr(model, name, nn.Sequential(ActNoise(std, steps_on, decay), nn.ReLU()))
        else:
            add_act_noise(child, std, steps_on, decay)
    return model


class WideBasic(nn.Module):
    """Pre-activation block: out = conv2(relu(bn2(conv1(a)))) + shortcut, a = relu(bn1(x)).

    The shortcut is x when channels are kept, else a 1×1 conv of a (as in the official BasicBlock).
    """

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2, self.relu2 = nn.BatchNorm2d(cout), nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.shortcut = None if cin == cout else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(a))))
        return out + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(nn.Module):
    """WRN-depth-k (Zagoruyko & Komodakis), channels 16, 16k, 32k, 64k; (depth − 4)/6 blocks per group.

    Init as the official code: conv weights N(0, 2/(k²·out_channels)), BN weight 1 and bias 0, linear bias 0.
    """

    def __init__(self, depth: int = 16, widen_factor: int = 10, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"depth must be 6n + 4; got {depth}")
        n = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        blocks, cin = [], widths[0]
        for group, stride in zip(widths[1:], (1, 2, 2)):
            for i in range(n):
                blocks.append(WideBasic(cin, group, stride if i == 0 else 1))
                cin = group
        self.blocks = nn.Sequential(*blocks)
        self.bn, self.relu = nn.BatchNorm2d(cin), nn.ReLU()
        self.fc = nn.Linear(cin, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.data.normal_(0, math.sqrt(2.0 / (m.kernel_size[0] * m.kernel_size[1] * m.out_channels)))
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.data.fill_(1.0)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(out.mean(dim=(-2, -1)))


class TwoLayerNet(nn.Module):
    """f(x) = relu(Wx + b)·A with W ~ N(0, 1/d), b = 0 and A a fixed buffer: the logit difference is
    aᵀrelu(Wx + b), a_j = +1/√m for the first half of the units and −1/√m for the second."""

    def __init__(self, in_features: int, width: int):
        super().__init__()
        self.hidden = nn.Linear(in_features, width)
        with torch.no_grad():
            self.hidden.weight.normal_(0.0, 1.0 / math.sqrt(in_features))
            self.hidden.bias.zero_()
        a = torch.cat([torch.ones(width - width // 2), -torch.ones(width // 2)]) / math.sqrt(width)
        self.register_buffer("head", torch.stack([-a / 2, a / 2], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.hidden(x)) @ self.head
