"""Ensemble engines vs a plain per-model torch.optim.SGD loop: marginal CPU cost per step.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ensemble.py [--repeats R]

E = 16 members (distinct seeds and LRs) of a ReLU MLP 40 → 256 (×4 hidden) → 10, CE, SGD with momentum
0.9, float32, 1 thread. Time is CPU process time (time.process_time: load from other processes on a
shared machine does not count), each configuration run at two lengths so that start-up (model
construction, vmap tracing) cancels: marginal ms per step = (t_long − t_short) / (long − short), the
three methods interleaved within every repeat, medians over repeats. The baseline is what a user would
write: for each model in turn, its own torch.optim.SGD loop over the same batches.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.losses import cross_entropy
from replicate.models import MLP, param_groups

E, D, WIDTH, DEPTH, K = 16, 40, 256, 4, 10
LENGTHS = {128: (10, 40), 1024: (4, 16)}  # batch size → (short, long) run lengths in steps


def members() -> list[Member]:
    return [Member(seed, 0.01 * (1 + seed % 4)) for seed in range(E)]


def make_model() -> MLP:
    return MLP(D, WIDTH, DEPTH, K, "sp")


def run_engine(engine: str, batch_size: int, steps: int, X, y) -> None:
    cfg = TrainConfig(steps=steps, loss="ce", batch_size=batch_size, momentum=0.9, engine=engine,
                      log_every=steps, progress=False, diverge_factor=None)
    train_ensemble(make_model, members(), X, y, cfg)


def run_plain_loop(batch_size: int, steps: int, X, y) -> None:
    gen = torch.Generator().manual_seed(0)
    batches = [torch.randint(len(X), (batch_size,), generator=gen) for _ in range(steps)]
    for member in members():
        torch.manual_seed(member.seed)
        model = make_model()
        opt = torch.optim.SGD(param_groups(model, member.lr), lr=member.lr, momentum=0.9)
        for idx in batches:
            opt.zero_grad(set_to_none=True)
            cross_entropy(model(X[idx]), y[idx]).backward()
            opt.step()


def cpu_seconds(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(8192, D, generator=gen), torch.randint(0, K, (8192,), generator=gen)
    methods = {
        "vmap engine": lambda b, s: run_engine("vmap", b, s, X, y),
        "loop engine": lambda b, s: run_engine("loop", b, s, X, y),
        "plain SGD loop": lambda b, s: run_plain_loop(b, s, X, y),
    }
    print(f"E={E} MLP {D}→{WIDTH}×{DEPTH}→{K}, float32, 1 thread; CPU process time; marginal ms per step "
          f"(all {E} members), median of {args.repeats} interleaved repeats; ratio = plain loop / method")
    for batch_size, (short, long) in LENGTHS.items():
        for fn in methods.values():  # warm-up
            fn(batch_size, 2)
        marginal: dict[str, list[float]] = {name: [] for name in methods}
        for _ in range(args.repeats):
            for name, fn in methods.items():
                t_short = cpu_seconds(lambda: fn(batch_size, short))
                t_long = cpu_seconds(lambda: fn(batch_size, long))
                marginal[name].append((t_long - t_short) / (long - short))
        med = {name: statistics.median(v) for name, v in marginal.items()}
        base = med["plain SGD loop"]
        print(f"batch {batch_size} (runs of {short} and {long} steps):")
        for name, t in med.items():
            print(f"  {name:<18}{1e3 * t:9.2f} ms/step{base / t:8.2f}×")


if __name__ == "__main__":
    main()
