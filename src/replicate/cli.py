"""`replicate list`, `replicate run` and `replicate publish`: the book's notebooks at any scale.

    replicate list
    replicate run book/<chapter>/<notebook> --scale paper [-p NAME VALUE]... [--device cuda] [--dry-run]
                  [--executor dask --scheduler tcp://HOST:PORT] [--force] [--output DIR]
    replicate run --all --scale gpu [--executor dask --scheduler tcp://HOST:PORT]
    replicate publish --scale gpu

`run` converts the text notebook (the source of truth) with jupytext, executes it with papermill into
`runs/<scale>/<chapter>/<notebook>.ipynb`, and points the notebook's `results_dir` and `figures_dir` at that
folder. The kernel's stderr (sweep progress bars, warnings, the memory estimate) streams to the terminal, with a
heartbeat line (running cell n/N, elapsed seconds) every HEARTBEAT_S; at the end the claims verdicts and the output
files are listed. `--all` runs every chapter notebook in book order, skipping those already finished with the same
identity. `publish` copies a finished scale into `book/<chapter>/results/<scale>/`. Bad input exits with code 2
and one line, no traceback; Ctrl-C exits 130.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from contextlib import ExitStack, contextmanager, nullcontext
from pathlib import Path

from replicate.scales import SCALES

FLAG_PARAMETERS = {"scale": "--scale", "results_dir": "--output", "figures_dir": "--output",
                   "dry_run": "--dry-run", "executor": "--executor", "scheduler": "--scheduler"}
FIGURES = (".png", ".svg", ".pdf")
HEARTBEAT_S = 10  # seconds between "cell n/N" lines while a notebook runs


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage dump) and exit code 2."""

    def error(self, message: str):
        print(f"replicate: {message}", file=sys.stderr)
        sys.exit(2)


def repository() -> Path:
    """The book's repository holding the working directory; UsageError (saying where to run) outside one."""
    from replicate.paths import repository_root

    root = repository_root()
    if root is None:
        home = repository_root(Path(__file__).resolve().parent)
        where = f"cd {home}" if home else "cd into a checkout of the book (the folder holding _toc.yml)"
        raise UsageError(f"not inside the book's repository ({Path.cwd()}): {where} and run it there")
    return root


def notebooks(book: Path | None = None) -> list[Path]:
    """The text twins of every paired notebook under book/."""
    book = book if book is not None else repository() / "book"
    return sorted(p.with_suffix(".py") for p in book.rglob("*.ipynb")
                  if p.with_suffix(".py").exists() and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
                  and "results" not in p.relative_to(book).parts)


def book_order(root: Path) -> list[Path]:
    """The chapter notebooks (book/<chapter>/<nb>.py) in the order of the table of contents."""
    import yaml

    def files(node) -> list[str]:
        if isinstance(node, dict):
            return ([node["file"]] if "file" in node else []) + [f for v in node.values() for f in files(v)]
        return [f for v in node for f in files(v)] if isinstance(node, list) else []

    known = set(notebooks(root / "book"))
    order = [(root / f).with_suffix(".py") for f in files(yaml.safe_load((root / "_toc.yml").read_text()))]
    return [p for p in dict.fromkeys(order) if p in known and p.parent.parent == root / "book"]


def read_text_notebook(text_path: Path):
    """The notebook from its text twin (jupytext), every cell with a `tags` list as papermill expects."""
    import jupytext

    nb = jupytext.read(text_path)
    nb.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return nb


def parameters(text_path: Path) -> dict[str, dict]:
    """Name → {default, inferred_type_name, help} of the notebook's `parameters` cell."""
    from papermill.inspection import _infer_parameters

    return {p.name: p._asdict() for p in _infer_parameters(read_text_notebook(text_path), name="python3")}


def notebook_presets(text_path: Path) -> tuple[dict, dict | None] | None:
    """The preset dict and dry-run overrides the notebook passes to `scales.resolve(<module>.<PRESETS>, ...)`, read
    from its source (None for a page that resolves no preset: the scorecard, the registry)."""
    import importlib
    import re

    source = text_path.read_text()
    aliases = {m.group(2) or m.group(1): m.group(1)
               for m in re.finditer(r"from replicate\.papers import (\w+)(?: as (\w+))?", source)}
    call = re.search(r"scales\.resolve\(\s*(\w+)\.(\w+)", source)
    if not call or call.group(1) not in aliases:
        return None
    module = importlib.import_module(f"replicate.papers.{aliases[call.group(1)]}")
    dry = re.search(r"dry_overrides\s*=\s*(\w+)\.(\w+)", source[call.start():])
    dry_overrides = getattr(importlib.import_module(f"replicate.papers.{aliases[dry.group(1)]}"), dry.group(2)) \
        if dry and dry.group(1) in aliases else None
    return getattr(module, call.group(2)), dry_overrides


def check_config(text_path: Path, scale: str, values: dict) -> None:
    """The notebook's config at `scale` with the -p values that name its fields, validated here, before any kernel
    starts (every notebook passes its parameters to `scales.resolve` under their own names); the memory check
    stays in the run."""
    import dataclasses

    from replicate import scales

    found = notebook_presets(text_path)
    if found is None:
        return
    presets = found[0]
    fields = {f.name for config in presets.values() for f in dataclasses.fields(config)}
    try:
        scales.configure(presets, scale, {k: v for k, v in values.items() if k in fields})
    except scales.ParameterError as err:
        raise UsageError(f"{text_path.stem}: {err}") from None


def find_notebook(name: str, root: Path) -> Path:
    """The book notebook `name` names (with or without book/ and .py); nothing outside the book."""
    known = notebooks(root / "book")
    listing = ", ".join(str(p.relative_to(root).with_suffix("")) for p in known)
    if not name.strip():
        raise UsageError(f"name a notebook; known notebooks: {listing}")
    for base in (Path.cwd(), root, root / "book"):
        for c in (base / name, (base / name).with_name((base / name).name + ".py")):
            if c.resolve() in known:
                return c.resolve()
    full = {str(p.relative_to(root).with_suffix("")): p for p in known}
    spellings = {form: n for n, p in full.items() for form in (n, n.removeprefix("book/"), p.stem)}
    stub = name.removesuffix(".py")
    close = [f for f in spellings if f.startswith(stub)] or difflib.get_close_matches(stub, list(spellings), 1)
    hint = f"did you mean {spellings[close[0]]}?" if close else f"known notebooks: {listing}"
    raise UsageError(f"no notebook {name!r} in the book (replicate runs the book's notebooks only); {hint}")


def _short(text: str, n: int = 40) -> str:
    return repr(text if len(text) <= n else text[:n] + "…")


def parse_value(text: str, name: str = "value"):
    """A -p value: a Python literal if it parses as one (3, 0.1, (64, 128), None, True), else the string.

    Text that opens like a literal ([, (, {) but does not parse is refused rather than passed on as a string.
    """
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        if text.lstrip()[:1] in ("[", "(", "{") or isinstance(err, (MemoryError, RecursionError)):
            raise UsageError(f"-p {name}: cannot read {_short(text)} as a Python literal") from None
        if _is_number(text):  # inf, nan: float() reads them, literal_eval does not
            raise UsageError(f"-p {name} must be finite; got {_short(text)}")
        return text
    _check_literal(name, value)
    return list(value) if isinstance(value, tuple) else value  # papermill writes lists, not tuples


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_literal(name: str, value) -> None:
    """Only what a notebook parameter can hold and papermill can write: None, bool, int, finite float, str, and
    lists/tuples/dicts of them (not complex, bytes, sets)."""
    import math

    if isinstance(value, (list, tuple)):
        for item in value:
            _check_literal(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_literal(name, key)
            _check_literal(name, item)
    elif isinstance(value, float) and not math.isfinite(value):
        raise UsageError(f"-p {name} must be finite; got {value}")
    elif value is not None and not isinstance(value, (bool, int, float, str)):
        raise UsageError(f"-p {name}: a {type(value).__name__} is not a parameter value "
                         f"(numbers, strings, True/False, None, lists)")


def check_value(name: str, value, param: dict):
    """Check a -p value against the type of the parameter's default literal (int, float, bool, str); an override
    whose default is None is checked by the notebook's `scales.resolve`."""
    import math

    try:
        default = ast.literal_eval(param["default"])
    except (ValueError, SyntaxError):
        return value
    kind = type(default).__name__
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"-p {name} must be an integer; got {_short(str(value))}")
        if not 0 <= value < 2**63:
            raise UsageError(f"-p {name} must be an integer in [0, 2**63); got {value}")
    elif kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))
                              or not math.isfinite(value)):
        raise UsageError(f"-p {name} must be a finite number; got {_short(str(value))}")
    elif kind == "bool" and not isinstance(value, bool):
        raise UsageError(f"-p {name} must be True or False; got {_short(str(value))}")
    elif kind == "str" and not isinstance(value, str):
        raise UsageError(f"-p {name} must be a string; got {_short(str(value))}")
    elif kind == "str" and name.endswith("_dir") and not Path(value).is_dir():
        raise UsageError(f"-p {name}: no folder {_short(value)}")
    return value


def published_runs(text: Path) -> str:
    """'cpu 676 s on AMD EPYC, …': the wall time of each published run of the notebook (its provenance records)."""
    records = sorted(text.parent.glob(f"results/{text.stem}.provenance.json"))
    records += sorted(text.parent.glob(f"results/*/{text.stem}.provenance.json"))
    runs = []
    for record in records:
        try:
            r = json.loads(record.read_text())
            runs.append(f"{r['scale']} {float(r['wall_time_s']):.0f} s on {r.get('cpu') or r.get('device', '?')}")
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return ", ".join(runs)


def cmd_list(_args) -> int:
    """Every notebook in the book's order, with its published runs' wall times and its parameters."""
    root = repository()
    chapters = book_order(root)
    for nb in chapters + [p for p in notebooks(root / "book") if p not in chapters]:
        runs = published_runs(nb)
        print(str(nb.relative_to(root).with_suffix("")) + (f"  (published: {runs})" if runs else ""))
        for name, p in parameters(nb).items():
            print(f"    {name} = {p['default']}" + (f"  # {p['help']}" if p["help"] else ""))
    return 0


def check_run_options(args) -> None:
    """Scale, device, executor and scheduler, checked before any kernel starts."""
    from replicate import runtime
    from replicate.executors import check_scheduler

    if args.scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}; got {args.scale!r}")
    if args.device is not None:
        if not args.device.strip():
            raise UsageError("--device must name a device: auto, cpu, cuda, cuda:N or mps; got ''")
        try:
            runtime.choose_device(args.device)
        except ValueError as err:
            raise UsageError(f"--device: {err}") from None
    elif os.environ.get("REPLICATE_DEVICE"):
        try:
            runtime.choose_device(os.environ["REPLICATE_DEVICE"])
        except ValueError as err:
            raise UsageError(f"REPLICATE_DEVICE: {err}") from None
    threads = os.environ.get("REPLICATE_THREADS", "1")
    if not threads.strip().isdigit() or int(threads) < 1:
        raise UsageError(f"REPLICATE_THREADS must be a whole number >= 1; got {threads!r}")
    if (args.executor == "dask") != bool(args.scheduler):
        raise UsageError("--executor dask and --scheduler tcp://HOST:PORT go together")
    if args.scheduler:
        check_scheduler(args.scheduler)


def notebook_values(text: Path, pairs: list[list[str]]) -> tuple[dict, dict]:
    """(the notebook's parameters, the checked -p values)."""
    known = parameters(text)
    values = {}
    for name, raw in pairs:
        if name in FLAG_PARAMETERS:
            raise UsageError(f"set {name} with {FLAG_PARAMETERS[name]}, not -p")
        if name not in known:
            allowed = ", ".join(n for n in known if n not in FLAG_PARAMETERS)
            raise UsageError(f"unknown parameter {name!r} for {text.stem}; allowed: {allowed}")
        values[name] = check_value(name, parse_value(raw, name), known[name])
    return known, values


def identity(text: Path, scale: str, values: dict, device: str | None) -> str:
    """What a finished run's numbers depend on: notebook source, library code, scale, parameters, device."""
    from replicate.sweep import code_digest

    record = [text.read_text(), code_digest(), scale, sorted(values.items(), key=str), device or "auto"]
    return hashlib.sha256(json.dumps(record, default=str).encode()).hexdigest()


def finished_points(folder: Path) -> int:
    """Points finished (no error) in the sweep files of folder."""
    from replicate.sweep_file import ERROR

    return sum(ERROR not in f for records in _sweep_records(folder) for f in records.values())


def _sweep_records(folder: Path) -> list[dict]:
    """The stored points (key → rows) of each readable sweep file in folder."""
    from replicate import sweep_file

    found = []
    for f in folder.glob(f"*{sweep_file.SUFFIX}"):
        try:
            found.append(sweep_file.read(f)[0])
        except (OSError, ValueError):  # a count for a message; an unreadable file counts 0
            continue
    return found


def summary(text: Path, out_dir: Path, started: float, scale: str) -> None:
    """Print the claims verdicts (at smoke, marked as a check that the notebook runs, not a result) and where the
    notebook, tables and figures are."""
    import pandas as pd

    claims = out_dir / f"{text.stem}.claims.csv"
    if claims.exists():
        rows = pd.read_csv(claims, keep_default_na=False)
        print(f"claims ({text.stem}" + (", smoke: a check that it runs, not results; the book's verdicts are at cpu)"
                                        if scale == "smoke" else f", {scale}):"))
        for r in rows.itertuples():
            print(f"  {r.id:<46} {r.verdict:<27} {r.ours}")
    new = lambda p: p.stat().st_mtime >= started - 1  # noqa: E731
    tables = sorted(p.name for p in out_dir.glob(f"{text.stem}.*.csv"))
    figures = sorted(p.name for p in out_dir.iterdir() if p.suffix in FIGURES and new(p))
    print(f"notebook: {out_dir / (text.stem + '.ipynb')}")
    print(f"tables:   {out_dir}/ {' '.join(tables) or '(none)'}")
    print(f"figures:  {out_dir}/ {' '.join(figures) or '(none)'}")


class KernelStderr:
    """Where the kernel's stderr stream (what the notebook's code writes to sys.stderr: progress bars, warnings)
    goes: straight to ours, less tqdm's notice that the notebook has no widgets (its plain bars work)."""

    NOISE = ("TqdmWarning: IProgress not found", "from .autonotebook import tqdm as notebook_tqdm")

    def write(self, text: str) -> None:
        sys.stderr.write("".join(line for line in text.splitlines(keepends=True)
                                 if not any(n in line for n in self.NOISE)))

    def flush(self) -> None:
        sys.stderr.flush()


def kernel_manager(log):
    """A kernel manager whose kernel process writes its own stderr (ipykernel's log lines, shutdown noise) to
    the open file `log` instead of the terminal."""
    from jupyter_client.manager import AsyncKernelManager

    class LoggedKernelManager(AsyncKernelManager):
        async def start_kernel(self, **kwargs):
            return await super().start_kernel(**{"stderr": log, **kwargs})

    return LoggedKernelManager


def running_cell(output: Path) -> str:
    """'cell n/N' of the code cell papermill is executing, read from the output notebook it saves at every cell
    start (its `metadata.papermill.status`); '' while that file is absent or half written."""
    try:
        cells = [c for c in json.loads(output.read_text())["cells"] if c["cell_type"] == "code"]
    except (OSError, ValueError, KeyError):
        return ""
    status = [c.get("metadata", {}).get("papermill", {}).get("status") for c in cells]
    return f"cell {status.index('running') + 1}/{len(cells)}" if "running" in status else ""


@contextmanager
def heartbeat(name: str, output: Path):
    """A line on stderr every HEARTBEAT_S seconds while the block runs: the notebook, its running cell, the time
    since it started (a cell can compute for minutes with nothing else to print)."""
    started, done = time.time(), threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            cell = running_cell(output)
            print(f"  {name}: {cell + ', ' if cell else ''}{time.time() - started:.0f} s", file=sys.stderr,
                  flush=True)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


def execute(text: Path, values: dict, out_dir: Path, args) -> int:
    """Run one notebook with papermill, its stderr stream shown here; 0, or 1 when the notebook failed (a
    ParameterError, DataError or SweepLocked inside is bad input: UsageError)."""
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    output = out_dir / f"{text.stem}.ipynb"
    print(f"running {text.stem} at scale {args.scale}"
          + (" (dry run, in a temporary folder)" if args.dry_run else f" → {output}"), flush=True)
    with tempfile.NamedTemporaryFile("w", prefix=f"replicate-kernel-{text.stem}-", suffix=".log", delete=False) as log:
        try:
            with heartbeat(text.stem, output):
                papermill.execute_notebook(read_text_notebook(text), str(output), parameters=values,
                                           cwd=str(text.parent), progress_bar=False, kernel_name="python3",
                                           stderr_file=KernelStderr(), kernel_manager_class=kernel_manager(log))
        except DeadKernelError:
            print(f"replicate: {text.stem}: the notebook's kernel died (killed, or out of memory); "
                  f"{finished_points(out_dir)} finished points kept, a rerun resumes (kernel log {log.name})",
                  file=sys.stderr)
            return 1
        except PapermillExecutionError as err:
            line = " ".join(f"{err.ename}: {err.evalue}".split())
            if err.ename in ("ParameterError", "DataError", "SweepLocked"):
                Path(log.name).unlink(missing_ok=True)
                raise UsageError(line) from None
            print(f"replicate: {text.stem} failed: {line} (see {output}; kernel log {log.name})", file=sys.stderr)
            return 1
        except BaseException:
            Path(log.name).unlink(missing_ok=True)
            raise
    Path(log.name).unlink(missing_ok=True)
    return 0


def run_one(text: Path, values: dict, known: dict, args, out_dir: Path) -> int:
    """One notebook into out_dir (a temporary folder, removed afterwards, for a dry run)."""
    given, values = values, dict(values)
    if args.dry_run:
        values["dry_run"] = True
    if args.executor and "executor" in known:
        values.update(executor=args.executor, scheduler=args.scheduler)
    if not args.dry_run:
        check_output(out_dir, repository())
    target = Path(tempfile.mkdtemp(prefix="replicate-dry-run-")) if args.dry_run else out_dir
    target.mkdir(parents=True, exist_ok=True)
    values.update(scale=args.scale, results_dir=str(target), figures_dir=None if args.dry_run else str(target))
    values = {k: v for k, v in values.items() if k in known}
    marker = out_dir / f"{text.stem}.run.json"  # written when the run finishes; publish and --all read it
    started = time.time()
    try:
        # One run of a notebook per folder: a second one is refused before it touches the first one's files.
        with nullcontext() if args.dry_run else run_lock(target / text.stem):
            if not args.dry_run:
                marker.unlink(missing_ok=True)
            rc = execute(text, values, target, args)
    except KeyboardInterrupt:
        print(f"interrupted; {finished_points(target)} finished points kept", file=sys.stderr)
        raise
    except UsageError:
        if args.dry_run:
            shutil.rmtree(target, ignore_errors=True)
        raise
    if args.dry_run:
        if rc:
            print(f"replicate: the dry run's notebook is kept in {target}", file=sys.stderr)
            return rc
        wrote = sorted(p.name for p in target.iterdir() if p.name != f"{text.stem}.ipynb")
        shutil.rmtree(target, ignore_errors=True)
        print(f"dry run of {text.stem} at scale {args.scale}: parameters validated, preset resolved, the notebook "
              f"executed end to end with one step of training; nothing was written"
              + (f" (it tried to write {', '.join(wrote)}: a notebook bug, discarded)" if wrote else ""))
        return 0
    if rc == 0 and (failed := failed_points(target)):
        print(f"replicate: {text.stem}: {failed} sweep point(s) failed (their rows hold the error); the run is not "
              f"finished: rerun to retry them", file=sys.stderr)
        rc = 1
    if rc == 0:
        summary(text, target, started, args.scale)
        marker.write_text(json.dumps({"identity": identity(text, args.scale, given, args.device),
                                      "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}) + "\n")
    return rc


@contextmanager
def run_lock(stem: Path):
    """The writer lock of one notebook's run in its folder (`<stem>.lock`), refused with one line while held."""
    from replicate.sweep import SweepLocked, writer_lock

    with ExitStack() as stack:
        try:
            stack.enter_context(writer_lock(stem))
        except SweepLocked as err:
            raise UsageError(f"{stem.name} is already running into {stem.parent}: {err}") from None
        yield


def cmd_run(args) -> int:
    root = repository()
    scale_given, args.scale = args.scale is not None, args.scale or "cpu"
    check_run_options(args)
    if args.device:
        os.environ["REPLICATE_DEVICE"] = args.device
    os.environ["REPLICATE_CLI"] = "1"  # the kernel prints its memory estimate
    if args.force:
        os.environ["REPLICATE_FORCE"] = "1"
    if args.all:
        return run_all(args, root)
    if args.notebook is None:
        raise UsageError("name a notebook, or --all")
    text = find_notebook(args.notebook, root)
    known, values = notebook_values(text, args.p)
    if scale_given and "scale" not in known:
        raise UsageError(f"{text.stem} has no scale: it renders the published results; drop --scale")
    if args.executor and "executor" not in known:
        raise UsageError(f"{text.stem} runs no sweep: it takes no --executor")
    if "scale" in known:
        check_config(text, args.scale, values)
    out_dir = (Path(args.output) if args.output else root / "runs" / args.scale / text.parent.name).resolve()
    return run_one(text, values, known, args, out_dir)


def check_output(out_dir: Path, root: Path) -> None:
    """Refuse an output folder inside book/ (only `make notebooks` and `publish` write published results) or one
    that is not a writable folder, with one line."""
    if out_dir.is_relative_to((root / "book").resolve()):
        raise UsageError(f"--output {out_dir} is inside book/: published results are written only by `make "
                         f"notebooks` (cpu) and `replicate publish` (other scales); run into runs/ and publish")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"--output {out_dir} exists and is not a folder")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"--output {out_dir}: cannot create it ({err.strerror or type(err).__name__})") from None
    if not os.access(out_dir, os.W_OK):
        raise UsageError(f"--output {out_dir} is not writable")


def failed_points(folder: Path) -> int:
    """Points recorded with an error in the sweep files of folder (a run with any is not finished)."""
    from replicate.sweep_file import ERROR

    return sum(ERROR in f for records in _sweep_records(folder) for f in records.values())


def run_all(args, root: Path) -> int:
    """Every chapter notebook in book order under <output or runs>/<scale>/<chapter>/; finished ones skipped."""
    if args.notebook is not None or args.p:
        raise UsageError("--all runs every notebook at its preset: give no notebook and no -p")
    base = (Path(args.output) if args.output else root / "runs" / args.scale).resolve()
    failed, done = [], 0
    for text in book_order(root):
        known, values = notebook_values(text, [])
        out_dir = base / text.parent.name
        marker = out_dir / f"{text.stem}.run.json"
        if not args.dry_run and marker.exists() and (out_dir / f"{text.stem}.claims.csv").exists() and \
                json.loads(marker.read_text()).get("identity") == identity(text, args.scale, values, args.device):
            print(f"replicate: {text.parent.name}/{text.stem} already finished with the same identity: skipped",
                  file=sys.stderr)
            done += 1
            continue
        try:
            rc = run_one(text, values, known, args, out_dir)
        except UsageError as err:
            print(f"replicate: {text.parent.name}/{text.stem}: {err}", file=sys.stderr)
            rc = 2
        done += rc == 0
        if rc:
            failed.append(f"{text.parent.name}/{text.stem}")
    print(f"{done} notebooks finished" + (f"; failed: {', '.join(failed)}" if failed else "") + f" ({base})")
    return 1 if failed else 0


def cmd_publish(args) -> int:
    """Copy the finished notebooks of runs/<scale>/<chapter>/ into book/<chapter>/results/<scale>/."""
    from replicate.runtime import git_state

    root = repository()
    if args.scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}; got {args.scale!r}")
    if args.scale == "cpu":
        raise UsageError("the book's cpu results are published by `make notebooks`, not by publish")
    source = (Path(args.source) if args.source else root / "runs" / args.scale).resolve()
    by_chapter: dict[str, list[Path]] = {}
    for text in book_order(root):
        folder = source / text.parent.name
        finished = (".claims.csv", ".provenance.json", ".ipynb", ".run.json")
        if all((folder / f"{text.stem}{suffix}").exists() for suffix in finished):
            by_chapter.setdefault(text.parent.name, []).append(text)
    if not by_chapter:
        raise UsageError(f"no finished notebook under {source}: run `replicate run --all --scale {args.scale}` first")
    records = {(chapter, t.stem): json.loads((source / chapter / f"{t.stem}.provenance.json").read_text())
               for chapter, texts in by_chapter.items() for t in texts}
    wrong = [f"{c}/{stem}: {r.get('scale')}" for (c, stem), r in records.items() if r.get("scale") != args.scale]
    if wrong:  # checked before anything is copied: a refused publish changes nothing
        raise UsageError(f"{source} holds runs made at another scale ({', '.join(wrong)}): publish --scale "
                         f"{args.scale} takes only runs made at {args.scale}")
    for chapter, texts in by_chapter.items():
        folder, dest = source / chapter, root / "book" / chapter / "results" / args.scale
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        files = [p for t in texts for p in folder.glob(f"{t.stem}.*")
                 if p.suffix in (".csv", ".json", ".ipynb") and not p.name.endswith(".run.json")]
        files += [p for p in folder.iterdir() if p.suffix in FIGURES]
        for p in files:
            shutil.copy2(p, dest / p.name)
        dirty = [t.stem for t in texts if records[chapter, t.stem].get("dirty")]
        record = {"scale": args.scale, "source": str(folder), "notebooks": [t.stem for t in texts],
                  "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "publisher": git_state()}
        (dest / "published.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"published {', '.join(t.stem for t in texts)} → {dest.relative_to(root)} ({len(files)} files)"
              + (f"; warning: run from a modified tree: {', '.join(dirty)}" if dirty else ""))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="replicate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="notebooks and their parameters").set_defaults(fn=cmd_list)
    run = sub.add_parser("run", help="execute a notebook (or --all) at a scale")
    run.add_argument("notebook", nargs="?", help="e.g. book/lewkowycz2020-catapult/uv-model")
    run.add_argument("--all", action="store_true", help="every chapter notebook, in book order, resumable")
    run.add_argument("--scale", help=" | ".join(SCALES) + " (default cpu)")
    run.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="a parameter")
    run.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (sets REPLICATE_DEVICE)")
    run.add_argument("--executor", choices=["local", "dask"], help="where sweep points run (default local)")
    run.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (with --executor dask)")
    run.add_argument("--dry-run", action="store_true", help="one step of the preset, to check that it runs")
    run.add_argument("--force", action="store_true", help="run even if the memory estimate exceeds the machine's")
    run.add_argument("--output", help="output folder (default runs/<scale>/<chapter>; with --all, runs/<scale>)")
    run.set_defaults(fn=cmd_run)
    publish = sub.add_parser("publish", help="copy a finished scale into book/<chapter>/results/<scale>/")
    publish.add_argument("--scale", required=True, help=" | ".join(s for s in SCALES if s != "cpu"))
    publish.add_argument("--source", help="the runs folder of that scale (default runs/<scale>)")
    publish.set_defaults(fn=cmd_publish)
    args = parser.parse_args(argv)
    from replicate.scales import ParameterError

    signal.signal(signal.SIGTERM, _terminated)  # a killed job ends like Ctrl-C: one line, finished points kept
    try:
        return args.fn(args)
    except (UsageError, ParameterError) as err:
        print(f"replicate: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `replicate list | head`: the reader left; stop quietly (Python's documented recipe)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt as stop:
        # Exit at once: at a normal interpreter shutdown asyncio would print the dead kernel's never-retrieved
        # task exception (a traceback) after our one line.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(143 if isinstance(stop, Terminated) else 130)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (exit 143 instead of 130)."""


def _terminated(signum, frame):
    raise Terminated()


if __name__ == "__main__":
    sys.exit(main())
