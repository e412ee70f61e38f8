"""Point functions for tests/test_sweep_dask.py, in a light module: Dask workers import it to run them."""

from __future__ import annotations

import os
import time
from pathlib import Path


def train_point(p: dict):
    """A tiny seeded regression: the numbers depend on the point only, not on the process that runs it."""
    import pandas as pd
    import torch

    from replicate import runtime, sweep

    runtime.set_threads(1)
    gen = runtime.seed_everything(sweep.point_seed(p, 7))
    X = torch.randn(64, 5, generator=gen)
    y = X @ torch.randn(5, 1, generator=gen)
    model = torch.nn.Linear(5, 1)  # initialised from the global RNG seeded above
    opt = torch.optim.SGD(model.parameters(), lr=p["lr"])
    rows = []
    for step in range(20):
        loss = torch.nn.functional.mse_loss(model(X), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        rows.append({"step": step, "loss": loss.item()})
    return pd.DataFrame(rows)


def slow_point(p: dict, marks: str, seconds: float) -> dict:
    """Leave a `start-<i>-<pid>` file (the test counts calls), sleep, return i²; a negative i raises."""
    Path(marks, f"start-{p['i']}-{os.getpid()}").touch()
    time.sleep(seconds)
    if p["i"] < 0:
        raise ValueError("bad point")
    return {"y": p["i"] ** 2}
