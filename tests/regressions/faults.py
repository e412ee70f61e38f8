"""Plausible regressions, one or more per chapter: each wraps a real library function so that a cpu rerun of the
notebook computes a wrong number (λ1 off by 1 %, …); `make nbval` must then fail on that notebook."""

from __future__ import annotations

import dataclasses
import functools
import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """`target` ("module:attribute") replaced by `wrap(original)`; `notebook` the one whose rerun must differ."""

    notebook: str
    target: str
    wrap: Callable[[Callable], Callable]
    what: str

    def inject(self) -> None:
        module, name = self.target.split(":")
        mod = importlib.import_module(module)
        setattr(mod, name, functools.wraps(getattr(mod, name))(self.wrap(getattr(mod, name))))


def scaled(keys: tuple[str, ...], factor: float) -> Callable[[Callable], Callable]:
    """A function whose dict result has `keys` multiplied by `factor`."""
    def wrap(f):
        return lambda *a, **k: {key: v * factor if key in keys else v for key, v in f(*a, **k).items()}
    return wrap


def depth_ignored(f: Callable) -> Callable:
    """Per-layer scales computed as if every network had depth 1 (depth-μP's L^-3/2 lost)."""
    return lambda name, kind, fan_in, fan_out, depth: f(name, kind, fan_in, fan_out, 1)


def eta_doubled(f: Callable) -> Callable:
    """Trajectories computed at 2η while the caller records η."""
    return lambda f0, lam0, eta, n, steps, *a, **k: f(f0, lam0, 2 * eta, n, steps, *a, **k)


def large_lr_removed(f: Callable) -> Callable:
    """Every schedule of `f(cfg, …)` (`run_patch`, `run_synth`) trained at its small learning rate: the config's
    η_large set to η_small."""
    return lambda cfg, *a, **k: f(dataclasses.replace(cfg, lr_large=cfg.lr_small), *a, **k)


def buffers_skipped(f: Callable) -> Callable:
    """The exp-LR arm starts from torch's default momentum buffer (v₀ = g₀) instead of Theorem 1's v₋₁."""
    return lambda *a, **k: None


FAULTS: dict[str, Fault] = {
    "lambda1-x1.01": Fault("book/iyer2023-maximal-initial-lr/sharpness-at-init.ipynb",
                           "replicate.papers.max_initial_lr:sharpness_at_init", scaled(("lam1", "lam1_pre"), 1.01),
                           "λ1 at init 1 % too large"),
    "depth-mup-without-depth": Fault("book/jelassi2023-mup-depth/lr-sweep.ipynb", "replicate.parametrizations:_scales",
                                     depth_ignored, "depth-μP's L^-3/2 learning-rate factor dropped"),
    "uv-eta-x2": Fault("book/lewkowycz2020-catapult/uv-model.ipynb", "replicate.papers.catapult.uv:uv_trajectories",
                       eta_doubled, "the uv model trained at twice the learning rate it reports"),
    # the patch notebook rather than synthetic (~560 s; the same fault runs through the real run_synth in
    # tests/test_large_lr.py): its rerun stops at the official arm's early table check (~50 s of its 300)
    "patch-large-lr-removed": Fault("book/li-wei-ma2019-large-lr/patch.ipynb", "replicate.papers.large_lr:run_patch",
                                    large_lr_removed, "the large-LR arm trained at the small LR (mechanism removed)"),
    "exp-lr-initial-buffer-skipped": Fault("book/li-arora2020-exp-lr/equivalence.ipynb",
                                           "replicate.schedules:set_initial_momentum_buffers", buffers_skipped,
                                           "Theorem 1's initial momentum buffer not set"),
}
