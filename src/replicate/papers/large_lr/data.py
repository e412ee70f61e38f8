"""The data of both experiments: the official patch (`PatchAugmentFixed`) and the synthetic two-pattern task.

Patch (official `data_util.pm_sym_pattern`, `PatchAugmentFixed`, `TransformOnlyDataset`): a shared vector z and a
tiny class pattern ζ_y; a patched image holds z + s·ζ_y (s = ±1) in a centred p×p square. Synthetic: the
clustered pattern x₂ = z + s·ζ_y (eq. 3.1 of the derivation page) and the linear pattern
x₁ = c(μ(2y − 1)w* + ξ)/√d, two Gaussians along w* (eq. 3.2).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch

from replicate.runtime import on_cpu
from replicate.scales import ParameterError, one_of, positive

CLEAN, PATCHED, PATCH_ONLY = 0, 1, 2
KINDS = {CLEAN: "clean", PATCHED: "image + patch", PATCH_ONLY: "patch only"}


@dataclass(frozen=True)
class PatchConfig:
    """The patch of `train_patches.py` (defaults: the official values).

    patch ← z + s·ζ_{y,k} on rows/cols [start, start + patch_size), start = int(image_size/2 − patch_size/2)
    ('center'; 12 for 32 and 7) or 0 ('corner'); z = z_scale·N(0, 1)^{C×p×p}, ζ ~ U[−patch_sep, patch_sep];
    a fixed fraction `prop_augment` of examples is transformed; of those, a fraction `patch_only_prob` is zeroed
    and gets z + s·patch_only_scale·U[0, 1]·ζ_y.
    """

    image_size: int = 32
    channels: int = 3
    num_classes: int = 10
    patch_size: int = 7
    location: str = "center"
    z_scale: float = 1.25
    patch_sep: float = 0.1
    num_patterns: int = 1
    prop_augment: float = 0.8
    patch_only_prob: float = 0.2
    patch_only_scale: float = 1.75

    def validate(self) -> None:
        for name in ("image_size", "channels", "num_classes", "patch_size", "z_scale", "patch_sep",
                     "num_patterns", "patch_only_scale"):
            positive(name, getattr(self, name))
        one_of("location", self.location, ("center", "corner"))
        if self.patch_size > self.image_size:
            raise ParameterError(f"patch_size must be <= image_size; got {self.patch_size} > {self.image_size}")
        for name in ("prop_augment", "patch_only_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ParameterError(f"{name} must be in [0, 1]; got {getattr(self, name)}")

    @property
    def start(self) -> int:
        """First row/column of the patch (official `get_start_for_patch_loc`, for any image size)."""
        return int(self.image_size / 2 - self.patch_size / 2) if self.location == "center" else 0

    @property
    def region(self) -> tuple[slice, slice]:
        s = self.start
        return slice(s, s + self.patch_size), slice(s, s + self.patch_size)


def make_patterns(cfg: PatchConfig, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, ζ): z of shape (C, p, p) = z_scale·N(0, 1); ζ of shape (K, num_patterns, C, p, p) ~ U[−sep, sep].

    The label → patch map is a function of `seed` only.
    """
    g = torch.Generator().manual_seed(seed)
    shape = (cfg.channels, cfg.patch_size, cfg.patch_size)
    z = cfg.z_scale * torch.randn(shape, generator=g)
    zeta = (torch.rand((cfg.num_classes, cfg.num_patterns, *shape), generator=g) * 2 - 1) * cfg.patch_sep
    return z, zeta


def apply_patches(x: torch.Tensor, y: torch.Tensor, cfg: PatchConfig, z: torch.Tensor, zeta: torch.Tensor,
                  seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Patched copy of normalised images x (N, C, H, W) whose patch encodes labels y, and each example's kind.

    kind is CLEAN (untouched), PATCHED (patch ← z + s·ζ_y) or PATCH_ONLY (image ← 0, patch ← z + s·1.75·u·ζ_y,
    u ~ U[0, 1]). Which examples, the signs s, the pattern index and u are drawn once from `seed` (the official
    code draws the transformed subset once, and s, u and whether a transformed example is patch-only at every
    load).
    """
    g = torch.Generator().manual_seed(seed)
    n = len(x)
    transform = torch.rand(n, generator=g) < cfg.prop_augment
    only = transform & (torch.rand(n, generator=g) < cfg.patch_only_prob)
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    pattern = torch.randint(cfg.num_patterns, (n,), generator=g)
    u = torch.rand(n, generator=g)
    scale = torch.where(only, cfg.patch_only_scale * u, torch.ones(n)) * sign
    patch = z + scale.view(n, 1, 1, 1) * zeta[y, pattern]
    out = x.clone()
    out[only] = 0.0
    rows, cols = cfg.region
    out[:, :, rows, cols] = torch.where(transform.view(n, 1, 1, 1), patch, out[:, :, rows, cols])
    kind = torch.full((n,), CLEAN, dtype=torch.long)
    kind[transform] = PATCHED
    kind[only] = PATCH_ONLY
    return out, kind


def patch_only_set(n: int, cfg: PatchConfig, z: torch.Tensor, zeta: torch.Tensor,
                   seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The official patch-accuracy set (`TransformOnlyDataset` + `PatchAugmentFixed`): n all-zero images (the
    mean colour) with random labels, every one transformed with the training `patch_only_prob`: a fraction
    1 − 0.2 = 80 % carries the exact training patch z ± ζ_y, 20 % the rescaled z ± 1.75·u·ζ_y.
    Returns (images, labels, kind); kind is PATCHED for the exact patch and PATCH_ONLY for the rescaled one."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(cfg.num_classes, (n,), generator=g)
    x = torch.zeros(n, cfg.channels, cfg.image_size, cfg.image_size)
    every = dataclasses.replace(cfg, prop_augment=1.0)
    out, kind = apply_patches(x, y, every, z, zeta, seed + 1)
    return out, y, kind


def conflict_set(x: torch.Tensor, y: torch.Tensor, cfg: PatchConfig, z: torch.Tensor, zeta: torch.Tensor,
                 seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image carries the exact patch z ± ζ_{y'} of another class y' = y + r (mod K), r ~ U{1..K−1}:
    which label the net predicts (the image's y or the patch's y') measures memorisation of the patch.
    Returns (images, patch labels y')."""
    g = torch.Generator().manual_seed(seed)
    other = (y + torch.randint(1, cfg.num_classes, y.shape, generator=g)) % cfg.num_classes
    every = dataclasses.replace(cfg, prop_augment=1.0, patch_only_prob=0.0)
    out, _ = apply_patches(x, other, every, z, zeta, seed + 1)
    return out, other


# ----------------------------------------------------------------------------------------------------------
# The synthetic two-pattern distribution
# ----------------------------------------------------------------------------------------------------------

COMPONENTS = ("linear", "clustered", "both")


@dataclass(frozen=True)
class SynthSpec:
    """x = (x₁, x₂) ∈ ℝ^{d_linear + d_cluster}, y ∈ {0, 1}; `mix` = fractions (linear only, clustered only, both).

    The linear pattern (the paper's P) x₁ = scale·(margin·(2y − 1)·w* + ξ)/√d_linear, ξ ~ N(0, I), ‖w*‖ = 1: two
    Gaussians along w* (Bayes accuracy Φ(margin)). The clustered pattern (the paper's Q) x₂ = z + s·ζ_y with
    z = z_scale·N(0, I), ζ_y ~ U[−sep, sep]^{d_cluster}, s = ±1: 4 distinct points."""

    d_linear: int
    d_cluster: int
    z_scale: float
    sep: float
    mix: tuple[float, ...]
    margin: float = 1.5
    scale: float = 2.0


@dataclass(frozen=True)
class SynthData:
    """Inputs (N, d_linear + d_cluster), labels (N,), and which component each example carries (index into
    COMPONENTS); plus the test sets of each component alone (`X_only[c]`, `y_only[c]`)."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    comp_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor
    comp_test: torch.Tensor
    X_only: dict[str, torch.Tensor]
    y_only: dict[str, torch.Tensor]

    def to(self, device: torch.device | str) -> SynthData:
        """A copy with every tensor on `device`."""
        return SynthData(*(t.to(device) for t in (self.X_train, self.y_train, self.comp_train, self.X_test,
                                                  self.y_test, self.comp_test)),
                         {c: x.to(device) for c, x in self.X_only.items()},
                         {c: y.to(device) for c, y in self.y_only.items()})


def synth_sample(n: int, spec: SynthSpec, w_star: torch.Tensor, z: torch.Tensor, zeta: torch.Tensor,
                 g: torch.Generator, comp: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
    """n examples (eqs. 3.1–3.2 of the derivation page), drawn in this order: component (from `mix`, unless
    `comp` (N,) fixes it), label, the linear pattern's noise ξ, the sign s."""
    if comp is None:
        comp = torch.multinomial(torch.tensor(spec.mix), n, replacement=True, generator=g)
    y = torch.randint(2, (n,), generator=g)
    xi = torch.randn(n, spec.d_linear, generator=g)
    x1 = spec.scale * (spec.margin * (2 * y - 1).view(-1, 1).float() * w_star + xi) / spec.d_linear ** 0.5
    sign = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0).view(-1, 1)
    x2 = z + sign * zeta[y]
    x1 = x1 * (comp != 1).view(-1, 1)  # COMPONENTS[1] = clustered only: no linear part
    x2 = x2 * (comp != 0).view(-1, 1)  # COMPONENTS[0] = linear only: no clustered part
    return torch.cat([x1, x2], dim=1), y, comp


@on_cpu
def synth_data(spec: SynthSpec, n_train: int, n_test: int, seed: int, *, n_test_linear: int | None = None,
               n_test_clustered: int | None = None, device: torch.device | str = "cpu") -> SynthData:
    """All from one generator seeded with `seed`, in this order: w* = N(0, I) normalised, z, ζ (2 × d_cluster),
    the training set, the mixed test set, the linear-only test set (`n_test_linear`, default n_test), the
    clustered-only test set (`n_test_clustered`, default n_test). Drawn on the CPU, returned on `device`."""
    g = torch.Generator().manual_seed(seed)
    w_star = torch.randn(spec.d_linear, generator=g)
    w_star = w_star / w_star.norm()
    z = spec.z_scale * torch.randn(spec.d_cluster, generator=g)
    zeta = (torch.rand(2, spec.d_cluster, generator=g) * 2 - 1) * spec.sep
    Xtr, ytr, ctr = synth_sample(n_train, spec, w_star, z, zeta, g)
    Xte, yte, cte = synth_sample(n_test, spec, w_star, z, zeta, g)
    X_only, y_only = {}, {}
    sizes = (n_test if n_test_linear is None else n_test_linear,
             n_test if n_test_clustered is None else n_test_clustered)
    for c, (name, m) in enumerate(zip(COMPONENTS[:2], sizes)):
        X_only[name], y_only[name], _ = synth_sample(m, spec, w_star, z, zeta, g, comp=torch.full((m,), c))
    return SynthData(Xtr, ytr, ctr, Xte, yte, cte, X_only, y_only).to(device)


def without_clustered(sd: SynthData, d_linear: int) -> SynthData:
    """The no-Q control's data: the training examples that carry the linear pattern, their clustered part x₂
    zeroed (the clustered-only examples dropped), all labelled linear-only; the test sets unchanged."""
    keep = sd.comp_train != 1
    X = sd.X_train[keep].clone()
    X[:, d_linear:] = 0.0
    return dataclasses.replace(sd, X_train=X, y_train=sd.y_train[keep], comp_train=torch.zeros_like(sd.y_train[keep]))
