"""`replicate list|run|publish`: bad input is one line and exit 2; progress, summary, Ctrl-C, dry runs, memory,
`--all` and `publish`. Most runs use a one-notebook fake book (tests/fake_book.py) in a temporary folder."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from fake_book import make, replicate

from replicate import cli

ROOT = Path(__file__).resolve().parents[1]
NB = "book/lewkowycz2020-catapult/uv-model"
QUIET = {**os.environ, "CI": "1"}  # no progress bars
LOUD = {k: v for k, v in os.environ.items() if k not in ("CI", "REPLICATE_PROGRESS")}


def one_line(out) -> str:
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert out.returncode == 2 and len(lines) == 1 and lines[0].startswith("replicate: "), out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    return lines[0]


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return make(tmp_path_factory.mktemp("fake"))


@pytest.mark.parametrize("args, message", [
    (["--scale", "huge"], "--scale must be one of smoke, cpu, gpu, paper; got 'huge'"),
    (["-p", "seed", "abc"], "-p seed must be an integer; got 'abc'"),
    (["-p", "seed", "1.5"], "-p seed must be an integer"),
    (["-p", "seed", "1e23"], "-p seed must be an integer"),
    (["-p", "seed", str(10**30)], "-p seed must be an integer in [0, 2**63)"),
    (["--device", "tpu"], "device must be one of"),
    (["-p", "executor", "spark"], "set executor with --executor, not -p"),
    (["-p", "scale", "paper"], "set scale with --scale, not -p"),
    (["-p", "dry_run", "no"], "set dry_run with --dry-run, not -p"),
    (["-p", "results_dir", "x"], "set results_dir with --output, not -p"),
    (["--executor", "spark"], "invalid choice: 'spark'"),
    (["--executor", "dask"], "--executor dask and --scheduler tcp://HOST:PORT go together"),
    (["--executor", "dask", "--scheduler", "notaurl"], "scheduler must be an address like tcp://HOST:8786"),
    (["--executor", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the Dask scheduler"),
    (["-p", "n", "[" * 100_000], "cannot read"),
    (["-p", "n", "3", "-p", "width", "3"], "unknown parameter 'width'"),
    (["--device", ""], "--device must name a device"),
    (["-p", "n", "1j"], "-p n: a complex is not a parameter value"),
    (["-p", "n", "{1, 2}"], "-p n: a set is not a parameter value"),
    (["-p", "lr", "inf"], "-p lr must be finite; got 'inf'"),
    (["-p", "lr", "nan"], "-p lr must be finite"),
    (["-p", "lr", "1e999"], "-p lr must be finite; got inf"),
    (["-p", "lr", "[1.0, 1e999]"], "-p lr must be finite; got inf"),
])
def test_bad_input_exits_2_with_one_line_before_any_kernel(book, tmp_path, args, message):
    out = replicate("run", "ch/nb", *args, "--output", str(tmp_path / "out"), cwd=book, env=QUIET)
    assert message in one_line(out)
    assert not (tmp_path / "out").exists()  # refused before anything ran


@pytest.mark.parametrize("args, message", [
    (["-p", "n", "0"], "ParameterError: n must be > 0 and finite"),
    (["-p", "lr", "-0.5"], "ParameterError: lr must be > 0 and finite"),
    (["-p", "n", "1e23"], "ParameterError: n must be of type int; got 1e+23"),
    (["-p", "mem", str(2**62)], "choose a smaller scale or overrides, or pass --force"),
])
def test_bad_values_caught_in_the_notebook_exit_2(book, tmp_path, args, message):
    out = replicate("run", "ch/nb", *args, "--output", str(tmp_path), cwd=book, env=QUIET)
    assert message in one_line(out)


@pytest.mark.parametrize("name, value, message", [
    ("REPLICATE_DEVICE", "tpu", "REPLICATE_DEVICE: device must be one of"),
    ("REPLICATE_THREADS", "abc", "REPLICATE_THREADS must be a whole number >= 1; got 'abc'"),
    ("REPLICATE_THREADS", "0", "REPLICATE_THREADS must be a whole number >= 1"),
])
def test_bad_environment_exits_2_with_one_line_before_any_kernel(book, tmp_path, name, value, message):
    out = replicate("run", "ch/nb", "--output", str(tmp_path / "out"), cwd=book, env={**QUIET, name: value})
    assert message in one_line(out)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["book/scorecard", "--scale", "paper"], "scorecard has no scale: it renders the published results"),
    (["book/claims-registry", "--scale", "gpu"], "claims-registry has no scale"),
    (["book/scorecard", "-p", "book_dir", "/nonexistent"], "-p book_dir: no folder '/nonexistent'"),
])
def test_the_books_own_pages_refuse_what_they_cannot_do(tmp_path, args, message):
    out = replicate("run", *args, "--output", str(tmp_path / "out"), cwd=ROOT, env=QUIET)
    assert message in one_line(out)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["book/lewkowycz2020-catapult/uv-model", "-p", "seeds", "-3"], "uv-model: seeds must be > 0 and finite; got -3"),
    (["book/lewkowycz2020-catapult/relu-networks", "--dry-run", "-p", "lr_factors", "[-1.0]"],
     "relu-networks: lr_factors must be > 0 and finite"),
    (["book/jelassi2023-mup-depth/lr-sweep", "-p", "depths", "[]"], "lr-sweep: depths must not be empty"),
])
def test_a_value_the_notebooks_config_refuses_is_refused_before_any_kernel(tmp_path, args, message):
    """The CLI validates the notebook's own config (its presets, read from the notebook's source) with the -p values
    before papermill starts a kernel: no "running" line, no output folder."""
    out = replicate("run", *args, "--output", str(tmp_path / "out"), cwd=ROOT, env=QUIET)
    assert message in one_line(out) and "running" not in out.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("typo, meant", [("uv-modle", "book/lewkowycz2020-catapult/uv-model"),
                                         ("lewkowycz2020-catapult/relu", "book/lewkowycz2020-catapult/relu-networks"),
                                         ("book/lewkowicz2020-catapult/uv-model", "book/lewkowycz2020-catapult/uv-model")])
def test_a_mistyped_notebook_gets_a_did_you_mean(typo, meant):
    assert one_line(replicate("run", typo, cwd=ROOT, env=QUIET)).endswith(f"did you mean {meant}?")


def test_device_cuda_without_cuda_is_refused(book):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert "CUDA is not available" in one_line(replicate("run", "ch/nb", "--device", "cuda", cwd=book, env=QUIET))


def test_run_only_runs_the_books_notebooks(book, tmp_path):
    outside = tmp_path / "evil.py"
    outside.write_text("# %%\nprint('ran')\n")
    for name in (str(outside), "", "../evil", "book/nope"):
        line = one_line(replicate("run", name, cwd=book, env=QUIET))
        assert "known notebooks: book/ch/nb" in line or line.endswith("did you mean book/ch/nb?")


def test_list_outside_the_repository_says_where(tmp_path):
    line = one_line(replicate("list", cwd=tmp_path, env=QUIET))
    assert "not inside the book's repository" in line and str(ROOT) in line


def test_list_shows_notebooks_in_book_order_with_published_times_and_parameters():
    out = replicate("list", cwd=ROOT, env=QUIET)
    assert out.returncode == 0 and NB in out.stdout and "scale = \"cpu\"" in out.stdout
    names = [line.split()[0] for line in out.stdout.splitlines() if line.startswith("book/")]
    chapters = [str(p.relative_to(ROOT).with_suffix("")) for p in cli.book_order(ROOT)]
    assert names[:len(chapters)] == chapters  # the table of contents' order, then the book's own pages
    assert re.search(r"eta-star  \(published: cpu \d+ s on ", out.stdout)


def test_list_into_a_reader_that_stops_early_ends_quietly():
    """`replicate list | head -1`: no BrokenPipeError traceback when the reader closes the pipe."""
    proc = subprocess.Popen([sys.executable, "-m", "replicate", "list"], cwd=ROOT, env=QUIET, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.readline().startswith(b"book/")
    proc.stdout.close()
    assert "Traceback" not in proc.stderr.read().decode()
    proc.wait(60)


def test_python_dash_m_replicate_works(book):
    out = subprocess.run([sys.executable, "-m", "replicate", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "publish" in out.stdout


def test_progress_reaches_the_terminal_during_the_run_then_a_summary(book, tmp_path):
    """The sweep's bar (done/total, elapsed<ETA) arrives on the CLI's stderr while the notebook still runs."""
    proc = subprocess.Popen([sys.executable, "-m", "replicate", "run", "ch/nb", "-p", "n", "3", "-p", "pause", "1.5",
                             "--output", str(tmp_path)], cwd=book, env=LOUD, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen: dict[str, float] = {}
    err: list[str] = []

    def read():
        while chunk := proc.stderr.read(1):
            err.append(chunk)
            tail = "".join(err[-200:])
            if ("1/3 [" in tail or "2/3 [" in tail) and "first" not in seen:  # any bar before the last point
                seen["first"] = time.time()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stdout = proc.stdout.read()  # not communicate(): it would race the reader thread for stderr
    proc.wait(timeout=180)
    ended = time.time()
    reader.join(5)
    text = "".join(err)
    assert proc.returncode == 0, text[-2000:]
    assert "first" in seen and ended - seen["first"] > 1.5  # shown while the other two points still ran
    assert "points:" in text and "3/3 [" in text and "<" in text  # done/total, elapsed<ETA
    assert "estimated memory 0.00 GiB" in text
    assert "fake.claim" in stdout and "reproduced" in stdout and "1.0 [0.9, 1.1]" in stdout
    assert f"notebook: {tmp_path}/nb.ipynb" in stdout and "nb.points.csv" in stdout and "fake-figure.png" in stdout


def test_a_heartbeat_names_the_running_cell_while_a_long_cell_computes(book, tmp_path):
    """Without progress bars (CI), a cell that computes for longer than HEARTBEAT_S still shows the run is alive."""
    out = replicate("run", "ch/nb", "-p", "n", "2", "-p", "pause", str(0.7 * cli.HEARTBEAT_S), "--output",
                    str(tmp_path), cwd=book, env=QUIET)
    assert out.returncode == 0, out.stderr[-2000:]
    beats = re.findall(r"^  nb: cell (\d+)/(\d+), (\d+) s$", out.stderr, re.M)
    assert beats, out.stderr[-2000:]
    running, total, _ = beats[-1]
    assert 1 < int(running) <= int(total)  # the sweep's cell, not the parameters


# `python -m replicate`, with SIGINT handled as a terminal's Ctrl-C would be: a child inherits an ignored or blocked
# SIGINT, and Python then never raises KeyboardInterrupt. In the full suite on 2 workers the CLI ran to the end
# through the interrupt (exit 0), twice, while the same test alone passed every time.
INTERRUPTIBLE = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                 "signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); sys.argv[0] = 'replicate'; "
                 "runpy.run_module('replicate', run_name='__main__', alter_sys=True)")


def finished_lines(folder: Path) -> int:
    """Points saved so far in folder's sweep files (one line each)."""
    return sum(len(f.read_text().splitlines()) for f in folder.glob("*.sweep.jsonl"))


def kernels(pid: int) -> list[int]:
    """The ipykernel processes among pid's descendants (from /proc)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        for child in Path(f"/proc/{parent}/task/{parent}/children").read_text().split():
            todo.append(int(child))
            if b"ipykernel" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the kernel through /proc")
def test_a_killed_kernel_ends_the_run_with_one_line_and_keeps_finished_points(book, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "replicate", "run", "ch/nb", "-p", "n", "50", "-p", "pause", "0.3",
                             "--output", str(tmp_path)], cwd=book, env=QUIET, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 150
    while time.time() < deadline and not finished_lines(tmp_path) > 3:
        time.sleep(0.2)
    (kernel,) = kernels(proc.pid)
    os.kill(kernel, signal.SIGKILL)  # as the OOM killer would
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "Traceback" not in err, err[-2000:]
    line = next(x for x in err.splitlines() if "kernel died" in x)
    kept = int(line.split("died (killed, or out of memory); ")[1].split()[0])
    assert 3 <= kept <= finished_lines(tmp_path)  # a line torn by the kill is not a finished point
    rerun = replicate("run", "ch/nb", "-p", "n", "50", "-p", "pause", "0.0", "--output", str(tmp_path), cwd=book,
                      env=QUIET)
    assert rerun.returncode == 0 and list(pd.read_csv(tmp_path / "nb.points.csv")["i"]) == list(range(50))


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_keeps_finished_points_with_one_line(book, tmp_path, sig, code):
    parent = (signal.getsignal(signal.SIGINT), signal.pthread_sigmask(signal.SIG_BLOCK, []))
    proc = subprocess.Popen([sys.executable, "-c", INTERRUPTIBLE, "run", "ch/nb", "-p", "n", "50", "-p", "pause", "0.3",
                             "--output", str(tmp_path)], cwd=book, env=QUIET, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 150
    while time.time() < deadline and not finished_lines(tmp_path) > 3:
        time.sleep(0.2)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, f"SIGINT in the test process (handler, blocked): {parent}; {err[-2000:]}"
    kept = int(err.split("interrupted; ")[1].split()[0])
    assert kept >= 3 and "Traceback" not in err
    rerun = replicate("run", "ch/nb", "-p", "n", "50", "-p", "pause", "0.0", "--output", str(tmp_path), cwd=book,
                      env=QUIET)
    assert rerun.returncode == 0
    assert not list(tmp_path.glob(".*.tmp")) and not list(tmp_path.glob("*.lock"))
    assert list(pd.read_csv(tmp_path / "nb.points.csv")["i"]) == list(range(50))


def test_dry_run_writes_nothing_and_announces_the_stand_in(book, tmp_path):
    out = replicate("run", "ch/nb", "--scale", "paper", "--dry-run", "-p", "mem", str(2**62), "--output",
                    str(tmp_path / "out"), cwd=book, env={**QUIET, "REPLICATE_DATA": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "nothing was written" in out.stdout and "parameters validated" in out.stdout
    assert "cifar-10 file missing, random tensors" in out.stderr  # the stand-in, announced in the terminal
    assert "estimated memory" in out.stderr  # the full run's estimate; a dry run refuses nothing
    assert not (tmp_path / "out").exists() and not (book / "runs").exists()


def test_memory_refusal_is_overridden_by_force(book, tmp_path):
    out = replicate("run", "ch/nb", "-p", "mem", str(2**62), "--force", "--output", str(tmp_path), cwd=book, env=QUIET)
    assert out.returncode == 0 and (tmp_path / "nb.claims.csv").exists()


def test_failed_point_is_recorded_the_run_goes_on_and_exits_unfinished(book, tmp_path):
    out = replicate("run", "ch/nb", "-p", "fail", "1", "--output", str(tmp_path), cwd=book, env=QUIET)
    assert out.returncode == 1 and "1 of 3 points failed" in out.stderr and "not finished" in out.stderr
    table = pd.read_csv(tmp_path / "nb.points.csv")
    assert list(table["i"]) == [0, 1, 2] and table["error"].notna().tolist() == [False, True, False]
    assert not (tmp_path / "nb.run.json").exists()  # so `--all` retries it


def test_output_inside_book_is_refused(book):
    out = replicate("run", "ch/nb", "--output", "book/ch/results", cwd=book, env=QUIET)
    assert "inside book/" in one_line(out)


def test_a_refused_second_run_touches_nothing_of_the_running_one(book, tmp_path):
    import socket

    (tmp_path / "nb.lock").write_text(f"{os.getpid()}@{socket.gethostname()}\n")  # a live run holds the folder
    (tmp_path / "nb.run.json").write_text("{}\n")
    (tmp_path / "nb.ipynb").write_text("kept\n")
    line = one_line(replicate("run", "ch/nb", "--output", str(tmp_path), cwd=book, env=QUIET))
    assert "already running" in line and "remove" in line
    assert (tmp_path / "nb.run.json").read_text() == "{}\n" and (tmp_path / "nb.ipynb").read_text() == "kept\n"


def test_all_then_publish(book):
    env = {**QUIET, "REPLICATE_DATA": str(book)}
    first = replicate("run", "--all", "--scale", "gpu", cwd=book, env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    out = book / "runs" / "gpu" / "ch"
    assert (out / "nb.claims.csv").exists() and (out / "nb.run.json").exists()
    again = replicate("run", "--all", "--scale", "gpu", cwd=book, env=env)
    assert again.returncode == 0 and "already finished with the same identity: skipped" in again.stderr
    assert "give no notebook and no -p" in one_line(replicate("run", "--all", "-p", "n", "2", cwd=book, env=env))
    assert "publish" in one_line(replicate("publish", "--scale", "cpu", cwd=book, env=env))
    published = replicate("publish", "--scale", "gpu", cwd=book, env=env)
    assert published.returncode == 0, published.stderr
    dest = book / "book" / "ch" / "results" / "gpu"
    names = {p.name for p in dest.iterdir()}
    assert {"nb.claims.csv", "nb.points.csv", "nb.provenance.json", "nb.ipynb", "fake-figure.png",
            "published.json"} <= names
    assert not any(".sweep." in n for n in names)
    assert json.loads((dest / "published.json").read_text())["notebooks"] == ["nb"]
    assert "no finished notebook" in one_line(replicate("publish", "--scale", "paper", cwd=book, env=env))
    wrong = replicate("publish", "--scale", "paper", "--source", str(book / "runs" / "gpu"), cwd=book, env=env)
    assert "made at another scale" in one_line(wrong) and not (book / "book" / "ch" / "results" / "paper").exists()


def test_real_notebook_smoke_run_writes_notebook_results_and_figures(tmp_path):
    out = replicate("run", NB, "--scale", "smoke", "-p", "seeds", "1", "--output", str(tmp_path), cwd=ROOT,
                    env=QUIET, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    names = {p.name for p in tmp_path.iterdir()}
    assert {"uv-model.ipynb", "uv-model.claims.csv"} <= names
    assert "claims (uv-model, smoke: a check that it runs, not results" in out.stdout
