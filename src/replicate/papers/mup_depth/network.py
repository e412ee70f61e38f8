"""Jelassi, Hanin et al. (2023): the note's network and its one-step update, exactly (torch.func).

Network (paper, Sec. 1): z^(1) = W^(1) x, z^(ℓ) = W^(ℓ) σ(z^(ℓ−1)) for ℓ = 2..L, f = W^(L+1) σ(z^(L)),
σ = ReLU, no biases, mean-field initialisation (`mean_field_table`): He init on the ReLU layers,
output weights N(0, 1/n²). One gradient-descent step on the MSE L = 1/(2B) Σ_b (f(x_b) − y_b)² with
per-layer rates η·c_ℓ moves every pre-activation by Δz^(ℓ). The update size of layer ℓ is

    M_ℓ(η) = (1/(nB)) Σ_{i,b} (Δz_i^(ℓ)(x_b))²                                          (eq. 1)

and the maximal-update LR η* is the largest η with M_L(η) = O(1) (we take M_L(η*) = 1). To first order
in η, Δz^(ℓ) = η·J_ℓ·t with t = −c ⊙ ∇_θ L (J_ℓ the Jacobian of z^(ℓ) in the parameters), so

    M_ℓ(η) = C_ℓ·η² + O(η³),   C_ℓ = (1/(nB))‖J_ℓ t‖²,                                  (eq. 2)

computed exactly here by one `torch.func.grad` and one `torch.func.jvp` (no finite differences). The
note's result is C_L = Θ(L³) at large n ≫ L, hence η*_lin = C_L^(−1/2) ∝ L^(−3/2) (eq. 3).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import torch
from torch.func import functional_call, grad, jvp

from replicate.losses import mse
from replicate.models import MLP, seeded

GROUPS = ("input", "hidden", "output")
LR_TABLES = ("mean_field", "unit")


def mean_field_table(in_features: int, width: int, depth: int, lr_table: str = "mean_field") -> pd.DataFrame:
    """Per-layer table (init variance, forward multiplier, LR scale c_ℓ) of the note's mean-field MLP.

    mean_field: input W^(1) ~ N(0, 2/n₀), c = n/n₀; hidden N(0, 2/n), c = 1; output N(0, 1/n²), c = 1/n
    (μP for SGD, Tensor Programs V Table 3, with the input LR written n/n₀ for x ~ N(0, I_{n₀})).
    unit: the same init, every c = 1 (to expose the first and last layers' width dependence).
    """
    if lr_table not in LR_TABLES:
        raise ValueError(f"lr_table must be one of {list(LR_TABLES)}; got {lr_table!r}")
    rows = []
    for layer in range(depth + 1):
        kind = "input" if layer == 0 else "output" if layer == depth else "hidden"
        fan_in = in_features if kind == "input" else width
        init_var, formula = {"input": (2 / in_features, "2/n0"), "hidden": (2 / width, "2/n"),
                             "output": (1 / width**2, "1/n^2")}[kind]
        lr, lr_formula = {"input": (width / in_features, "n/n0"), "hidden": (1.0, "1"),
                          "output": (1 / width, "1/n")}[kind]
        if lr_table == "unit":
            lr, lr_formula = 1.0, "1"
        rows.append(dict(layer=f"layers.{layer}", kind=kind, fan_in=fan_in, init_var=init_var,
                         init_var_formula=formula, multiplier=1.0, lr_scale=lr, lr_scale_formula=lr_formula))
    return pd.DataFrame(rows)


def make_model(in_features: int, width: int, depth: int, seed: int, dtype: torch.dtype = torch.float64, *,
               device: torch.device | str = "cpu") -> MLP:
    """The note's network: `replicate.models.MLP` under 'mup' init (= the mean-field init above), no biases, on
    `device`.

    The init is drawn on the CPU from torch's generator seeded with `seed`, without touching the global RNG state.
    """
    return seeded(lambda: MLP(in_features, width, depth, 1, parametrization="mup", bias=False), seed, device, dtype)


def gaussian_batch(batch: int, in_features: int, seed: int, dtype: torch.dtype = torch.float64, *,
                   device: torch.device | str = "cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """x ~ N(0, I_{n₀}) (batch rows, drawn on the CPU) and targets y = 1, on `device`."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, in_features, generator=g, dtype=dtype, device="cpu")
    return x.to(device), torch.ones(batch, 1, dtype=dtype, device=device)


def _lr_scales(model: MLP, table: pd.DataFrame) -> dict[str, float]:
    scale = dict(zip(table.layer, table.lr_scale))
    return {name: scale[name.rpartition(".")[0]] for name, _ in model.named_parameters()}


def _kinds(model: MLP) -> dict[str, str]:
    kind = {row.name: row.kind for row in model.table}
    return {name: kind[name.rpartition(".")[0]] for name, _ in model.named_parameters()}


def step_direction(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame) -> dict[str, torch.Tensor]:
    """t = −c ⊙ ∇_θ L: the GD step per unit η, L = 1/(2B) Σ_b (f(x_b) − y_b)²."""
    params = {k: v.detach() for k, v in model.named_parameters()}
    g = grad(lambda p: mse(functional_call(model, p, (x,)), y))(params)
    scales = _lr_scales(model, table)
    return {k: -scales[k] * g[k] for k in params}


def _outputs(model: MLP, params: dict[str, torch.Tensor], x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    out, pre = functional_call(model, params, (x,), {"return_preactivations": True})
    return (*pre, out)


def linear_response(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
                    groups: tuple[str, ...] = GROUPS) -> tuple[torch.Tensor, torch.Tensor]:
    """(C_ℓ for ℓ = 1..L, C_f) of eq. (2) for the step restricted to the layer kinds in `groups`.

    C_ℓ = mean_{i,b} (J_ℓ t)², C_f = mean_b (J_f t)², exactly (one jvp along the step direction t).
    """
    params = {k: v.detach() for k, v in model.named_parameters()}
    t = step_direction(model, x, y, table)
    kinds = _kinds(model)
    t = {k: v if kinds[k] in groups else torch.zeros_like(v) for k, v in t.items()}
    _, tangents = jvp(lambda p: _outputs(model, p, x), (params,), (t,))
    return torch.stack([d.pow(2).mean() for d in tangents[:-1]]), tangents[-1].pow(2).mean()


def _stepped_preactivation(model: MLP, t: dict[str, torch.Tensor], x: torch.Tensor, eta: float) -> torch.Tensor:
    """z^(L) of the network θ + η·t, as Σ (W + η T) v = W v + η T v layer by layer (no weight copies).

    Valid for the note's network: forward multipliers 1 and no biases (checked).
    """
    assert all(row.multiplier == 1.0 for row in model.table) and all(m.bias is None for m in model.layers)
    h = x
    for row, layer in zip(model.table[:-1], model.layers):
        w = layer.weight.detach()
        z = h @ w.T + eta * (h @ t[f"{row.name}.weight"].T)
        h = torch.relu(z)
    return z


def full_step(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
              etas: np.ndarray) -> torch.Tensor:
    """M_L(η) of eq. (1) after one full (nonlinear) GD step θ + η·t, for each η in `etas`."""
    t = step_direction(model, x, y, table)
    with torch.no_grad():
        z0 = _stepped_preactivation(model, t, x, 0.0)
        return torch.stack([(_stepped_preactivation(model, t, x, float(eta)) - z0).pow(2).mean() for eta in etas])


def full_step_eta_star(model: MLP, x: torch.Tensor, y: torch.Tensor, table: pd.DataFrame,
                       eta_lin: float, iters: int = 30) -> float:
    """The η with M_L(η) = 1 after one full GD step, by bisection in log η around η*_lin = C_L^(−1/2).

    The bracket [η*_lin/100, 100·η*_lin] is widened until M_L changes side of 1 across it.
    """
    t = step_direction(model, x, y, table)
    with torch.no_grad():
        z0 = _stepped_preactivation(model, t, x, 0.0)

        def m(eta: float) -> float:
            return float((_stepped_preactivation(model, t, x, eta) - z0).pow(2).mean())

        lo, hi = math.log(eta_lin / 100), math.log(eta_lin * 100)
        while m(math.exp(lo)) >= 1:
            lo -= math.log(100)
        while m(math.exp(hi)) < 1:
            hi += math.log(100)
        for _ in range(iters):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if m(math.exp(mid)) < 1 else (lo, mid)
    return math.exp((lo + hi) / 2)


def seed_of(base: int, n: int, depth: int, s: int) -> int:
    """A distinct, reproducible seed per (base seed, width, depth, seed index)."""
    return base * 1_000_003 + s * 7919 + n * 31 + depth


