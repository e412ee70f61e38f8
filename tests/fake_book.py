"""A one-notebook book in a temporary folder, for CLI tests that must not depend on the real chapters."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jupytext

NOTEBOOK = '''# %% tags=["parameters"]
scale = "cpu"  # smoke | cpu | gpu | paper
n = None  # override: points
pause = None  # override: seconds per point
mem = None  # override: the memory estimate in bytes
fail = None  # override: the point that raises
lr = None  # override: a positive finite number
seed = 0  # base seed
dry_run = False  # one step
results_dir = None  # tables here
figures_dir = None  # figures here
executor = None  # None | local | dask
scheduler = None  # tcp://HOST:PORT

# %%
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replicate import data, results, runtime, scales, sweep


@dataclass(frozen=True)
class Cfg:
    n: int
    pause: float
    mem: int
    fail: int
    lr: float

    def validate(self):
        scales.positive("n", self.n)
        scales.positive("lr", self.lr)

    def memory_bytes(self) -> int:
        return self.mem


PRESETS = {s: Cfg(3, 0.0, 10**6, -1, 0.1) for s in scales.SCALES}
cfg = scales.resolve(PRESETS, scale, dict(n=n, pause=pause, mem=mem, fail=fail, lr=lr), dry_run=dry_run,
                     dry_overrides={"n": 1})
out = runtime.results_dir(results_dir, "ch", scale)
if dry_run:
    data.load_or_stand_in("cifar-10", n_train=4, n_test=4, dry_run=True)  # no file in $REPLICATE_DATA: a stand-in


def point(p):
    time.sleep(cfg.pause)
    if p["i"] == cfg.fail:
        raise ValueError("boom")
    return {"y": p["i"] ** 2}


table = sweep.run_sweep([{"i": i} for i in range(cfg.n)], point,
                        None if dry_run else sweep.sweep_path(out, "nb", cfg, seed=seed), desc="points",
                        executor=sweep.executor_from(executor, scheduler), on_error="record")
if not dry_run:
    results.write_table(table, out / "nb.points.csv")
    results.write_table(pd.DataFrame({"id": ["fake.claim"], "verdict": ["reproduced"], "ours": ["1.0 [0.9, 1.1]"]}),
                        out / "nb.claims.csv")
    (out / "nb.provenance.json").write_text(json.dumps({"scale": scale}))
    (Path(figures_dir) / "fake-figure.png").write_bytes(b"png")
'''

TOC = """format: jb-book
root: intro
parts:
  - caption: Chapter
    chapters:
      - file: book/ch/index
        sections:
          - file: book/ch/nb
"""


def make(root: Path) -> Path:
    """Write the fake book under root; return root."""
    (root / "book" / "ch").mkdir(parents=True)
    (root / "_toc.yml").write_text(TOC)
    text = root / "book" / "ch" / "nb.py"
    text.write_text(NOTEBOOK)
    jupytext.write(jupytext.reads(NOTEBOOK, fmt="py:percent"), text.with_suffix(".ipynb"))
    return root


def replicate(*args: str, cwd: Path, env: dict | None = None, timeout: float = 180):
    """`python -m replicate ARGS` in cwd."""
    return subprocess.run([sys.executable, "-m", "replicate", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)
