"""The largest learning rate at which training succeeds (η*), by bracketing in log space.

`max_lr` asks `succeeds` about points_per_round LRs per round (one ensemble run), log-uniformly inside
the current bracket, so the bracket's log-width shrinks by a factor (points_per_round + 1) per round:
reaching upper/lower ≤ 1 + rel_tol from [lo, hi] takes r = ⌈log(log(hi/lo)/log(1+rel_tol)) / log(p+1)⌉
rounds and 2 + p·r trainings. Plain bisection (p = 1) needs the fewest trainings; more points per round
need fewer rounds, which only pays where the extra LRs ride free in one batched run. So
points_per_round=None takes `POINTS_PER_ROUND` for the device: 1 on CPU, where a round's cost grows with
its LRs (benchmarks/lr_search.py: 10 trainings against 18 for 4 a round, 1.65× less CPU time, the same
bracket), 4 on CUDA (unmeasured here: no GPU in this session).

Rule for seeds and non-monotone outcomes: `succeeds` may return shape (n_lrs,) or (n_lrs, n_seeds);
an LR succeeds if `rule` ('all' | 'majority' | 'any') of its seeds succeed. The bracket is
[largest succeeding LR, smallest failing LR above it]; if some LR below `lower` failed, or one seed's
outcomes are not monotone in the LR, `monotone` is False and the bracket is still reported as is.
`value` is `lower`: an LR that was tested and succeeded, never an interpolated point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import torch

from replicate.runtime import choose_device

RULES = ("all", "majority", "any")
POINTS_PER_ROUND = {"cpu": 1, "cuda": 4, "mps": 1}


class BracketError(ValueError):
    """The searched interval does not bracket the threshold: lo fails or hi succeeds."""


@dataclass
class MaxLRResult:
    """η* ∈ [lower, upper]; evaluations = LRs tested, trainings = evaluations × seeds, rounds = calls.

    lower = largest_success (the largest LR that succeeded under the rule), upper = first_failure (the
    smallest failing LR above it); monotone: among the LRs tested, no success above a failure, in the
    aggregate or any seed (bisection tests few LRs, so it can miss a trainable island it never samples).
    """

    value: float
    lower: float
    upper: float
    evaluations: int
    trainings: int
    rounds: int
    monotone: bool
    history: pd.DataFrame  # lr, round, success (aggregated), and success of each seed

    @property
    def largest_success(self) -> float:
        return self.lower

    @property
    def first_failure(self) -> float:
        return self.upper


def _aggregate(outcome: torch.Tensor, n_lrs: int) -> torch.Tensor:
    """(n_lrs,) or (n_lrs, n_seeds) bool → (n_lrs, n_seeds) bool, checked."""
    outcome = torch.as_tensor(outcome, device="cpu")
    if outcome.dtype != torch.bool:
        raise ValueError(f"succeeds must return a bool tensor; got dtype {outcome.dtype}")
    if outcome.dim() == 1:
        outcome = outcome[:, None]
    if outcome.dim() != 2 or outcome.shape[0] != n_lrs:
        raise ValueError(f"succeeds must return shape ({n_lrs},) or ({n_lrs}, n_seeds); got {tuple(outcome.shape)}")
    return outcome


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
    points_per_round: int | None = None,
    rule: str = "majority",
    max_rounds: int = 50,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device | None = None,
) -> MaxLRResult:
    """Bracket the largest LR in [lo, hi] for which `succeeds` holds, until upper/lower ≤ 1 + rel_tol.

    Semantics: every round refines the cell above the largest LR that has succeeded (under `rule`) among all LRs
    tested so far. So `value` = `lower` is the largest *tested* LR that succeeded, wherever it lies: if it sits
    above a failure (an island: the success region is not an interval), it is still returned, `monotone` is
    False, and the edge located is the island's. `upper` is the next tested LR above it, which failed. With a
    monotone outcome this is Algorithm 1 of Iyer et al. (bisection of the last success); otherwise it is the
    sup over the tested LRs of the Definition (Sec. 2), and an island between two tested LRs is never seen.

    The first round tests points_per_round + 2 LRs, lo and hi included; lo must succeed and hi fail.
    points_per_round None: POINTS_PER_ROUND for `device` (None: runtime.choose_device(), where training
    runs). rule over seeds: 'majority' by default, so one noisy seed does not decide a bracket.
    """
    if points_per_round is None:
        points_per_round = POINTS_PER_ROUND.get(choose_device(None if device is None else str(device)).type, 1)
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
        per_seed = _aggregate(succeeds(torch.tensor(lrs, dtype=dtype, device="cpu")), len(lrs)).numpy()
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
