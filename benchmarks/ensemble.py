"""Ensemble engine vs loop engine (steps/s), and max_lr's trainings vs a log grid of equal resolution.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble.py [--threads N] [--repeats R]

E = 16 members (distinct seeds and LRs) of a ReLU MLP 40 → 256 (×4 hidden) → 10, CE, SGD with
momentum 0.9, float32. Engines run interleaved and the best of R repeats is kept, so that load from
other processes on a shared machine hurts both alike.
"""

from __future__ import annotations

import argparse
import time

import torch

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import grid_size, max_lr
from replicate.models import MLP

E, D, WIDTH, DEPTH, K = 16, 40, 256, 4, 10


def steps_per_second(engine: str, batch_size: int, steps: int, X, y) -> float:
    members = [Member(seed, 0.01 * (1 + seed % 4)) for seed in range(E)]
    cfg = TrainConfig(steps=steps, loss="ce", batch_size=batch_size, momentum=0.9, engine=engine,
                      log_every=steps, progress=False)
    start = time.perf_counter()
    train_ensemble(lambda: MLP(D, WIDTH, DEPTH, K, "sp"), members, X, y, cfg)
    return steps / (time.perf_counter() - start)


def search_counts(rel_tol: float = 0.05, lo: float = 1e-3, hi: float = 1e2) -> tuple[int, int, float]:
    """η* of a small MLP (full-batch GD, MSE, NTK): success = no divergence and the loss went down."""
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(256, D, generator=gen), torch.randn(256, 1, generator=gen)
    cfg = TrainConfig(steps=50, loss="mse", progress=False, diverge_factor=10)

    def succeeds(lrs: torch.Tensor) -> torch.Tensor:
        result = train_ensemble(lambda: MLP(D, 64, 2, 1, "ntk"), [Member(0, float(lr)) for lr in lrs], X, y, cfg)
        loss = result.history.groupby("member").loss
        return ~result.diverged & torch.tensor((loss.last() < loss.first()).to_numpy())

    result = max_lr(succeeds, lo, hi, rel_tol=rel_tol)
    return result.trainings, grid_size(lo, hi, rel_tol), result.value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(8192, D, generator=gen), torch.randint(0, K, (8192,), generator=gen)
    print(f"E={E} MLP {D}→{WIDTH}×{DEPTH}→{K}, float32, torch threads={torch.get_num_threads()}, best of {args.repeats}")
    print(f"{'measurement':<34}{'ensemble (vmap)':>16}{'loop':>12}{'ratio':>9}")
    for batch_size, steps in ((128, 30), (1024, 8)):
        best = {"vmap": 0.0, "loop": 0.0}
        steps_per_second("vmap", batch_size, 2, X, y)  # warm-up
        for _ in range(args.repeats):
            for engine in best:
                best[engine] = max(best[engine], steps_per_second(engine, batch_size, steps, X, y))
        print(f"{f'steps/s, batch {batch_size}':<34}{best['vmap']:>16.2f}{best['loop']:>12.2f}{best['vmap'] / best['loop']:>8.2f}x")
    trainings, grid, value = search_counts()
    print(f"{'trainings for a 5% bracket':<34}{f'max_lr {trainings}':>16}{f'grid {grid}':>12}{grid / trainings:>8.1f}x")
    print(f"(max_lr found η* ≈ {value:.4g} on [1e-3, 1e2])")


if __name__ == "__main__":
    main()
