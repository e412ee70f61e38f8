"""η* search: max_lr with 4 LRs a round (one ensemble run per round) vs plain bisection (1 LR a round).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/lr_search.py [--repeats R]

η* of a ReLU MLP 40 → 256 (×2 hidden) → 1 (NTK parametrisation), full-batch GD for 30 steps on 1,024
Gaussian samples with random targets, MSE; success = no divergence and a final loss below the first.
Both searches bracket η* in [1e-3, 1e2] to rel_tol = 0.05 and must agree on the bracket. Time is CPU
process time, 1 thread, the two searches interleaved within each repeat, medians; ratio = p=4 / bisection.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import max_lr
from replicate.models import MLP

D, WIDTH, DEPTH, N, LO, HI, REL_TOL = 40, 256, 2, 1024, 1e-3, 1e2, 0.05


def search(points_per_round: int, X: torch.Tensor, y: torch.Tensor):
    cfg = TrainConfig(steps=30, loss="mse", progress=False, diverge_factor=10, log_every=30)

    def succeeds(lrs: torch.Tensor) -> torch.Tensor:
        result = train_ensemble(lambda: MLP(D, WIDTH, DEPTH, 1, "ntk"), [Member(0, float(lr)) for lr in lrs], X, y, cfg)
        loss = result.history.groupby("member").loss
        return ~result.diverged & torch.tensor((loss.last() < loss.first()).to_numpy())

    return max_lr(succeeds, LO, HI, rel_tol=REL_TOL, points_per_round=points_per_round)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(N, D, generator=gen), torch.randn(N, 1, generator=gen)
    times: dict[int, list[float]] = {1: [], 4: []}
    results = {}
    for _ in range(args.repeats):
        for p in times:
            start = time.process_time()
            results[p] = search(p, X, y)
            times[p].append(time.process_time() - start)
    print(f"η* search on [{LO:g}, {HI:g}] to rel_tol {REL_TOL}: MLP {D}→{WIDTH}×{DEPTH}→1, {N} samples, 30 GD steps; "
          f"1 thread, CPU process time, median of {args.repeats} interleaved repeats")
    for p, name in ((1, "bisection (points_per_round=1)"), (4, "max_lr, points_per_round=4")):
        r = results[p]
        print(f"  {name:<32}{r.trainings:4d} trainings {r.rounds:3d} rounds {statistics.median(times[p]):8.2f} s"
              f"   bracket [{r.lower:.4g}, {r.upper:.4g}]")
    print(f"  ratio (p=4 / bisection): {statistics.median(times[4]) / statistics.median(times[1]):.2f}× CPU time, "
          f"{results[4].trainings / results[1].trainings:.2f}× trainings")


if __name__ == "__main__":
    main()
