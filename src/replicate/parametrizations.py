"""Per-layer parametrisation tables for ReLU MLPs: init std, forward multiplier, LR multiplier.

Layer l computes h_l = a_l · W_l x_l + b_l with W_l ~ N(0, σ_l²) entrywise, b_l = 0 at init, and SGD
moves W_l with learning rate η · c_l (b_l with η · c_l^b). Notation: d = input dimension, n = width,
K = outputs, L = depth = number of hidden layers (the network has L + 1 weight matrices), fan_in of
layer l is d (input layer) or n (hidden and output layers). The four tables:

==========  ===========  ==============  ==================  =========  ===================
name        layer        σ² (init var)   a (multiplier)      c (LR)     c^b (bias LR)
==========  ===========  ==============  ==================  =========  ===================
sp          all          2/fan_in (He)   1                   1          1
ntk         all          1               √(2/fan_in)         1          1
mup         input        2/d             1                   n/d        n
mup         hidden       2/n             1                   1          n
mup         output       1/n²            1                   1/n        1
depth_mup   any          as mup          as mup              mup·L^-3/2 mup·L^-3/2
==========  ===========  ==============  ==================  =========  ===================

μP is Yang & Hu's maximal-update parametrisation for SGD in the form of Yang et al. 2022
(Tensor Programs V, Table 3: input weights and all biases at LR η·fan_out, output weights at
η/fan_in, init var 1/fan_in² for the output layer), with He's factor 2 on the ReLU layers, and the
input-weight LR divided by the input dimension d as in the mean-field table of Jelassi et al. 2023
(η·n/d). The two differ only by the constant d, which Tensor Programs treat as O(1); at finite d the
division keeps the input layer's share of a pre-activation's change equal to one hidden layer's, instead
of d times larger (which would hide the L³ growth that chapter measures). Under this table a hidden
pre-activation moves by Θ(1) per coordinate after one SGD step, whatever n.

depth-μP (an assumption, stated here once): Jelassi et al. 2023 find the μP maximal-update LR of ReLU
MLPs scales as L^(-3/2); depth-μP multiplies every μP LR multiplier by L^(-3/2), so the base LR η at
which updates are maximal no longer depends on depth (equivalently the μP LR is η_depth-μP · L^(-3/2)).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

PARAMETRIZATIONS = ("sp", "ntk", "mup", "depth_mup")

# (σ², a, c, c^b) as printed formulas, per parametrisation and layer kind; the numbers come from _scales.
FORMULAS = {
    "sp": {k: ("2/fan_in", "1", "1", "1") for k in ("input", "hidden", "output")},
    "ntk": {k: ("1", "sqrt(2/fan_in)", "1", "1") for k in ("input", "hidden", "output")},
    "mup": {
        "input": ("2/d", "1", "n/d", "n"),
        "hidden": ("2/n", "1", "1", "n"),
        "output": ("1/n^2", "1", "1/n", "1"),
    },
    "depth_mup": {
        "input": ("2/d", "1", "(n/d)·L^-3/2", "n·L^-3/2"),
        "hidden": ("2/n", "1", "L^-3/2", "n·L^-3/2"),
        "output": ("1/n^2", "1", "1/(n·L^3/2)", "L^-3/2"),
    },
}


@dataclass(frozen=True)
class LayerScale:
    """One row of a parametrisation table; `name` is the layer's module name in the model."""

    name: str
    kind: str  # 'input' | 'hidden' | 'output'
    fan_in: int
    fan_out: int
    init_std: float
    multiplier: float
    lr_mult: float
    bias_lr_mult: float


def check_parametrization(name: str) -> str:
    if name not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization must be one of {list(PARAMETRIZATIONS)}; got {name!r}")
    return name


def _scales(name: str, kind: str, fan_in: int, fan_out: int, depth: int) -> tuple[float, float, float, float]:
    """(init_std, multiplier, lr_mult, bias_lr_mult) for one layer; n is the hidden width."""
    if name == "sp":
        return math.sqrt(2.0 / fan_in), 1.0, 1.0, 1.0
    if name == "ntk":
        return 1.0, math.sqrt(2.0 / fan_in), 1.0, 1.0
    depth_factor = depth**-1.5 if name == "depth_mup" else 1.0
    if kind == "input":
        std, lr, blr = math.sqrt(2.0 / fan_in), fan_out / fan_in, fan_out
    elif kind == "hidden":
        std, lr, blr = math.sqrt(2.0 / fan_in), 1.0, fan_out
    else:
        std, lr, blr = 1.0 / fan_in, 1.0 / fan_in, 1.0
    return std, 1.0, lr * depth_factor, blr * depth_factor


def layer_table(parametrization: str, in_features: int, width: int, depth: int, out_features: int) -> list[LayerScale]:
    """The table of an MLP d → n (× depth hidden layers) → K; layer l is named 'layers.l'."""
    check_parametrization(parametrization)
    for arg, value in (("in_features", in_features), ("width", width), ("depth", depth), ("out_features", out_features)):
        if value < 1:
            raise ValueError(f"{arg} must be >= 1; got {value}")
    dims = [in_features] + [width] * depth + [out_features]
    rows = []
    for layer in range(depth + 1):
        kind = "input" if layer == 0 else "output" if layer == depth else "hidden"
        fan_in, fan_out = dims[layer], dims[layer + 1]
        rows.append(LayerScale(f"layers.{layer}", kind, fan_in, fan_out, *_scales(parametrization, kind, fan_in, fan_out, depth)))
    return rows


def table_frame(table: list[LayerScale], parametrization: str | None = None) -> pd.DataFrame:
    """The table as a DataFrame; with the parametrisation's name, add the formula of each column."""
    frame = pd.DataFrame([asdict(row) for row in table])
    if parametrization is not None:
        formulas = [FORMULAS[check_parametrization(parametrization)][kind] for kind in frame["kind"]]
        for column, values in zip(("init_var_formula", "multiplier_formula", "lr_mult_formula", "bias_lr_mult_formula"), zip(*formulas)):
            frame[column] = values
    return frame
