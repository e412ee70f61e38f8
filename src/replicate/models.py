"""Ordinary nn.Modules: ReLU MLPs under an explicit parametrisation table, and small BN conv nets.

The table (see `replicate.parametrizations`) sets each layer's init std and forward multiplier here,
and its LR multiplier through optimizer parameter groups (`param_groups`), never through attributes on
tensors.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch
from torch import nn
import torch.nn.functional as F

from replicate.parametrizations import LayerScale, layer_table, table_frame


class MLP(nn.Module):
    """ReLU MLP d → n → … → n → K with `depth` hidden layers: h_l = a_l W_l x_l + b_l, x_{l+1} = relu(h_l)."""

    def __init__(self, in_features: int, width: int, depth: int, out_features: int,
                 parametrization: str = "sp", bias: bool = True):
        super().__init__()
        self.parametrization = parametrization
        self.table: list[LayerScale] = layer_table(parametrization, in_features, width, depth, out_features)
        self.layers = nn.ModuleList(nn.Linear(row.fan_in, row.fan_out, bias=bias) for row in self.table)
        self.reset_parameters()

    @torch.no_grad()
    def reset_parameters(self) -> None:
        """W_l ~ N(0, init_std²) from torch's global generator, b_l = 0."""
        for row, layer in zip(self.table, self.layers):
            layer.weight.normal_(0.0, row.init_std)
            if layer.bias is not None:
                layer.bias.zero_()

    def forward(self, x: torch.Tensor, return_preactivations: bool = False):
        """Output (…, K); with return_preactivations, also the list [h_0, …, h_{depth-1}] of hidden pre-activations."""
        preactivations = []
        for row, layer in zip(self.table, self.layers):
            if row.multiplier == 1.0:
                h = F.linear(x, layer.weight, layer.bias)
            else:
                h = row.multiplier * F.linear(x, layer.weight)
                h = h if layer.bias is None else h + layer.bias
            if row.kind == "output":
                return (h, preactivations) if return_preactivations else h
            preactivations.append(h)
            x = torch.relu(h)
        raise AssertionError("the table has no output layer")

    def table_frame(self) -> pd.DataFrame:
        """The parametrisation table with its formulas (one row per layer)."""
        return table_frame(self.table, self.parametrization)

    def lr_multipliers(self) -> dict[str, float]:
        """Parameter name → LR multiplier from the table (weights: lr_mult, biases: bias_lr_mult)."""
        mults = {}
        for row in self.table:
            mults[f"{row.name}.weight"] = row.lr_mult
            mults[f"{row.name}.bias"] = row.bias_lr_mult
        return {name: mults[name] for name, _ in self.named_parameters()}


class SmallConvNet(nn.Module):
    """[conv3×3 → (BN) → ReLU → maxpool2] per width, then global average pool and a linear head.

    PyTorch's default init; trained by the loop engine (BN running statistics are module state).
    """

    def __init__(self, in_channels: int, num_classes: int, widths: tuple[int, ...] = (32, 64), bn: bool = True):
        super().__init__()
        if not widths:
            raise ValueError("widths must name at least one conv layer")
        blocks, channels = [], in_channels
        for width in widths:
            blocks += [nn.Conv2d(channels, width, 3, padding=1, bias=not bn)]
            blocks += [nn.BatchNorm2d(width)] if bn else []
            blocks += [nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*blocks)
        self.head = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).mean(dim=(-2, -1)))


def seeded(make_model: Callable[[], nn.Module], seed: int, device: torch.device | str = "cpu",
           dtype: torch.dtype | None = None) -> nn.Module:
    """make_model() under torch.manual_seed(seed), drawn on the CPU (so a seed gives the same network on every
    device), leaving the global generator as it was; then moved to `device` (and `dtype`)."""
    with torch.random.fork_rng(devices=[]), torch.device("cpu"):
        torch.manual_seed(seed)
        model = make_model()
    return model.to(device=device, dtype=dtype)


def layer_name(param_name: str) -> str:
    """'layers.0.weight' → 'layers.0': the module a parameter belongs to."""
    return param_name.rpartition(".")[0]


def lr_multipliers(model: nn.Module, layer_mult: dict[str, float] | None = None) -> dict[str, float]:
    """Parameter name → LR multiplier: the model's table (1 without one) × `layer_mult[layer]`."""
    names = [name for name, _ in model.named_parameters()]
    table = model.lr_multipliers() if isinstance(model, MLP) else dict.fromkeys(names, 1.0)
    layer_mult = layer_mult or {}
    layers = {layer_name(name) for name in names}
    unknown = set(layer_mult) - layers
    if unknown:
        raise ValueError(f"lr_mult names unknown layers {sorted(unknown)}; layers are {sorted(layers)}")
    for layer, mult in layer_mult.items():
        if not mult > 0:
            raise ValueError(f"lr_mult[{layer!r}] must be > 0; got {mult}")
    return {name: table[name] * layer_mult.get(layer_name(name), 1.0) for name in names}


def param_groups(model: nn.Module, lr: float, layer_mult: dict[str, float] | None = None) -> list[dict]:
    """Parameter groups for torch.optim: one per parameter, lr = lr × table multiplier × layer_mult."""
    if not lr > 0:
        raise ValueError(f"lr must be > 0; got {lr}")
    mults = lr_multipliers(model, layer_mult)
    return [{"params": [p], "lr": lr * mults[name], "name": name} for name, p in model.named_parameters()]
