"""The largest learning rate at which training succeeds (η*), and a fastai-style LR range test.

`max_lr` brackets η* in log space. Each round asks `succeeds` about several LRs at once (one ensemble
run), log-uniformly inside the current bracket, so the bracket's log-width shrinks by a factor
(points_per_round + 1) per round; a log grid of the same final resolution needs log(hi/lo)/log(1+rel_tol)
trainings.

Rule for seeds and non-monotone outcomes: `succeeds` may return shape (n_lrs,) or (n_lrs, n_seeds);
an LR succeeds if `rule` ('all' | 'majority' | 'any') of its seeds succeed. The bracket is
[largest succeeding LR, smallest failing LR above it]; if some LR below `lower` failed, or one seed's
outcomes are not monotone in the LR, `monotone` is False and the bracket is still reported as is.
`value` is `lower`: an LR that was tested and succeeded, never an interpolated point.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from replicate.losses import get_loss
from replicate.models import param_groups

RULES = ("all", "majority", "any")


class BracketError(ValueError):
    """The searched interval does not bracket the threshold: lo fails or hi succeeds."""


@dataclass
class MaxLRResult:
    """η* ∈ [lower, upper]; evaluations = LRs tested, trainings = evaluations × seeds, rounds = calls."""

    value: float
    lower: float
    upper: float
    evaluations: int
    trainings: int
    rounds: int
    monotone: bool
    history: pd.DataFrame  # lr, round, success (aggregated), and success of each seed


def _aggregate(outcome: torch.Tensor, n_lrs: int) -> torch.Tensor:
    """(n_lrs,) or (n_lrs, n_seeds) bool → (n_lrs, n_seeds) bool, checked."""
    outcome = torch.as_tensor(outcome)
    if outcome.dtype != torch.bool:
        raise ValueError(f"succeeds must return a bool tensor; got dtype {outcome.dtype}")
    if outcome.dim() == 1:
        outcome = outcome[:, None]
    if outcome.dim() != 2 or outcome.shape[0] != n_lrs:
        raise ValueError(f"succeeds must return shape ({n_lrs},) or ({n_lrs}, n_seeds); got {tuple(outcome.shape)}")
    return outcome.cpu()


def _decide(per_seed: np.ndarray, rule: str) -> np.ndarray:
    if rule == "all":
        return per_seed.all(axis=1)
    if rule == "any":
        return per_seed.any(axis=1)
    return per_seed.sum(axis=1) * 2 > per_seed.shape[1]


def _is_monotone(ok: np.ndarray) -> bool:
    """ok sorted by LR: no success above a failure."""
    failed = np.cumsum(~ok) > 0
    return not bool((failed & ok).any())


def max_lr(
    succeeds: Callable[[torch.Tensor], torch.Tensor],
    lo: float,
    hi: float,
    *,
    rel_tol: float = 0.05,
    points_per_round: int = 4,
    rule: str = "majority",
    max_rounds: int = 50,
    dtype: torch.dtype = torch.float64,
) -> MaxLRResult:
    """Bracket the largest LR in [lo, hi] for which `succeeds` holds, until upper/lower ≤ 1 + rel_tol.

    The first round tests points_per_round + 2 LRs, lo and hi included; lo must succeed and hi fail.
    """
    if not (lo > 0 and math.isfinite(lo)):
        raise ValueError(f"lo must be a finite LR > 0; got {lo}")
    if not (hi > lo and math.isfinite(hi)):
        raise ValueError(f"hi must be finite and > lo ({lo}); got {hi}")
    if not rel_tol > 0:
        raise ValueError(f"rel_tol must be > 0; got {rel_tol}")
    if points_per_round < 1:
        raise ValueError(f"points_per_round must be >= 1; got {points_per_round}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {list(RULES)}; got {rule!r}")
    lrs_seen, outcomes, rounds_seen = [], [], []
    lrs = np.geomspace(lo, hi, points_per_round + 2)
    for rnd in range(max_rounds):
        per_seed = _aggregate(succeeds(torch.tensor(lrs, dtype=dtype)), len(lrs)).numpy()
        if outcomes and per_seed.shape[1] != len(outcomes[0]):
            raise ValueError("succeeds must return the same number of seeds in every round")
        lrs_seen += list(lrs)
        outcomes += list(per_seed)
        rounds_seen += [rnd] * len(lrs)
        order = np.argsort(lrs_seen, kind="stable")
        all_lrs, all_seeds = np.asarray(lrs_seen)[order], np.asarray(outcomes)[order]
        ok = _decide(all_seeds, rule)
        if rnd == 0 and not ok[0]:
            raise BracketError(f"training fails already at lo={lo}: lower lo")
        if rnd == 0 and ok[-1]:
            raise BracketError(f"training still succeeds at hi={hi}: raise hi")
        top = int(np.flatnonzero(ok)[-1])
        lower, upper = float(all_lrs[top]), float(all_lrs[top + 1])
        if upper / lower <= 1 + rel_tol:
            break
        lrs = np.geomspace(lower, upper, points_per_round + 2)[1:-1]
    monotone = _is_monotone(ok) and all(_is_monotone(all_seeds[:, s]) for s in range(all_seeds.shape[1]))
    history = pd.DataFrame({"lr": all_lrs, "round": np.asarray(rounds_seen)[order], "success": ok})
    for s in range(all_seeds.shape[1]):
        history[f"success_seed{s}"] = all_seeds[:, s]
    n = len(all_lrs)
    return MaxLRResult(lower, lower, upper, n, n * all_seeds.shape[1], rnd + 1, monotone, history)


def grid_size(lo: float, hi: float, rel_tol: float) -> int:
    """Points of a log grid on [lo, hi] with neighbour ratio ≤ 1 + rel_tol (same resolution as max_lr)."""
    return math.ceil(math.log(hi / lo) / math.log1p(rel_tol)) + 1


@dataclass
class RangeTestResult:
    """history: step, lr, loss, smoothed_loss. lr_min: LR at the smoothed-loss minimum / 10 (fastai);
    lr_steep: LR of the steepest descent of the smoothed loss against log LR."""

    history: pd.DataFrame
    lr_min: float
    lr_steep: float


def lr_range_test(
    model: nn.Module,
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    loss: str = "ce",
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_it: int = 100,
    batch_size: int = 64,
    momentum: float = 0.0,
    beta: float = 0.98,
    stop_factor: float = 4.0,
    seed: int = 0,
) -> RangeTestResult:
    """fastai's LR finder on a copy of `model` (the model itself is untouched).

    Mini-batch SGD with η_t = start_lr · (end_lr/start_lr)^(t/(num_it−1)); smoothed loss
    s_t = EMA_β(loss) / (1 − β^(t+1)); stop once the loss is non-finite or s_t > stop_factor · min s.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError(f"need 0 < start_lr < end_lr; got start_lr={start_lr}, end_lr={end_lr}")
    if num_it < 2:
        raise ValueError(f"num_it must be >= 2; got {num_it}")
    loss_fn = get_loss(loss)
    model = copy.deepcopy(model).train()
    opt = torch.optim.SGD(param_groups(model, start_lr), lr=start_lr, momentum=momentum)
    base = [g["lr"] / start_lr for g in opt.param_groups]
    gen = torch.Generator().manual_seed(seed)
    rows, avg, best = [], 0.0, math.inf
    for t, lr in enumerate(np.geomspace(start_lr, end_lr, num_it)):
        idx = torch.randint(len(X), (min(batch_size, len(X)),), generator=gen)
        for group, mult in zip(opt.param_groups, base):
            group["lr"] = float(lr) * mult
        value = loss_fn(model(X[idx]), y[idx])
        raw = value.item()
        if not math.isfinite(raw):
            break
        avg = beta * avg + (1 - beta) * raw
        smooth = avg / (1 - beta ** (t + 1))
        rows.append((t, float(lr), raw, smooth))
        best = min(best, smooth)
        if smooth > stop_factor * best:
            break
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()
    history = pd.DataFrame(rows, columns=["step", "lr", "loss", "smoothed_loss"])
    if len(history) < 2:
        raise ValueError("the loss was non-finite from the first steps: lower start_lr")
    lr_min = float(history["lr"].iloc[int(history["smoothed_loss"].idxmin())]) / 10
    slope = np.gradient(history["smoothed_loss"].to_numpy(), np.log(history["lr"].to_numpy()))
    return RangeTestResult(history, lr_min, float(history["lr"].iloc[int(np.argmin(slope))]))
