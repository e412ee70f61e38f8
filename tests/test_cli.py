import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
NB = "book/lewkowycz2020-catapult/uv-model"


def replicate(*args, cwd=ROOT):
    env = {**os.environ, "CI": "1"}  # no progress bars
    return subprocess.run([sys.executable, "-m", "replicate.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env=env)


@pytest.mark.parametrize("args, message", [
    (["run", NB, "--scale", "huge"], "--scale must be one of smoke, cpu, paper; got 'huge'"),
    (["run", "book/nope"], "no notebook 'book/nope'"),
    (["run", NB, "--scale", "smoke", "-p", "width", "3"], "unknown parameter 'width'"),
    (["run", NB, "--scale", "smoke", "-p", "widths", "[-5]"], "ParameterError: widths must be > 0"),
])
def test_bad_input_exits_2_with_one_line(args, message, tmp_path):
    out = replicate(*args, "--output", str(tmp_path)) if args[0] == "run" else replicate(*args)
    assert out.returncode == 2
    lines = [line for line in out.stderr.splitlines() if line.strip() and "IPKernelApp" not in line]
    assert len(lines) == 1 and message in lines[0], out.stderr


def test_list_shows_notebooks_and_parameters():
    out = replicate("list")
    assert out.returncode == 0 and NB in out.stdout and "scale = \"cpu\"" in out.stdout


def test_run_smoke_writes_notebook_results_and_figures(tmp_path):
    out = replicate("run", NB, "--scale", "smoke", "-p", "seeds", "1", "--output", str(tmp_path))
    assert out.returncode == 0, out.stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"uv-model.ipynb", "uv-model.claims.csv", "uv-model.runs.csv", "uv-phase-diagram.png"} <= names
    runs = pd.read_csv(tmp_path / "uv-model.runs.csv")
    assert set(runs["seed"]) == {0} and set(runs["n"]) == {100, 1000}


@pytest.mark.parametrize("args, message", [
    (["run", NB, "--executor", "spark"], "invalid choice: 'spark'"),
    (["run", NB, "--executor", "dask"], "--executor dask and --scheduler tcp://HOST:PORT go together"),
    (["run", NB, "--executor", "local"], "runs no sweep: it takes no --executor"),
])
def test_executor_options_are_checked(args, message):
    out = replicate(*args)
    lines = out.stderr.strip().splitlines()
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("replicate: ") and message in lines[0]
