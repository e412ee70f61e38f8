"""A 16-point sweep in-process vs on a 2-worker Dask LocalCluster (loopback): wall time side by side.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sweep_dask.py [--steps S] [--workers W]

Each point trains a ReLU MLP 32 → 128 (×2 hidden) → 1 by full-batch gradient descent on 512 random
samples, seeded from the point (`sweep.point_seed`), one torch thread. The cluster's start and the workers'
first imports are timed apart from the sweep; the two tables must be identical. Workers are started without
the MALLOC_TRIM_THRESHOLD_ that Dask's nanny sets by default (measured 2.5x slower torch here; see docs/dask.md).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd


def train(p: dict, steps: int) -> dict:
    """One sweep point: final loss of a small MLP trained at learning rate p['lr'] from seed point_seed(p)."""
    import torch

    from replicate import runtime, sweep

    runtime.set_threads(1)
    gen = runtime.seed_everything(sweep.point_seed(p))
    X = torch.randn(512, 32, generator=gen)
    y = torch.sin(X[:, :1] * 2)
    model = torch.nn.Sequential(torch.nn.Linear(32, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 1))
    opt = torch.optim.SGD(model.parameters(), lr=p["lr"])
    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return {"loss": loss.item()}


def main() -> None:
    import functools

    import dask
    from distributed import Client, LocalCluster

    from replicate import sweep

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    points = [{"lr": lr, "seed": s} for lr in (0.01, 0.02, 0.05, 0.1) for s in range(4)]
    fn = functools.partial(train, steps=args.steps)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        fn(points[0])  # warm-up: imports and first-call costs, as the workers' warm-up below
        start = time.perf_counter()
        local = sweep.run_sweep(points, fn, Path(tmp, "local.csv"), progress=False)
        rows.append(("in-process", 1, 0.0, 0.0, time.perf_counter() - start))

        start = time.perf_counter()
        no_trim = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
        with dask.config.set(no_trim), LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                                    host="127.0.0.1", dashboard_address=None,
                                                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}) as cluster, \
                Client(cluster) as client:
            started = time.perf_counter() - start
            start = time.perf_counter()
            client.run(fn, points[0])  # the same warm-up on every worker
            warm = time.perf_counter() - start
            start = time.perf_counter()
            remote = sweep.run_sweep(points, fn, Path(tmp, "dask.csv"), progress=False, executor=client)
            rows.append(("dask LocalCluster", args.workers, started, warm, time.perf_counter() - start))
    pd.testing.assert_frame_equal(remote, local)
    print(f"{len(points)} points × {args.steps} GD steps of an MLP 32→128×2→1; tables identical: yes")
    print(f"{'executor':<20}{'workers':>8}{'cluster start s':>17}{'warm-up s':>11}{'sweep s':>9}{'speed-up':>10}")
    for name, workers, started, warm, wall in rows:
        print(f"{name:<20}{workers:>8}{started:>17.2f}{warm:>11.2f}{wall:>9.2f}{rows[0][4] / wall:>9.2f}×")


if __name__ == "__main__":
    main()
