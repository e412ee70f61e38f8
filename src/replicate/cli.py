"""`replicate list` and `replicate run`: notebooks at any scale, through jupytext and papermill.

    replicate list
    replicate run book/<chapter>/<notebook> --scale paper [-p NAME VALUE]... [--device cuda] [--dry-run]
                  [--executor dask --scheduler tcp://HOST:PORT]

`run` converts the text notebook (the source of truth) with jupytext, executes it with papermill into
`runs/<scale>/<chapter>/<notebook>.ipynb`, and points the notebook's `results_dir` and `figures_dir` at that
folder. Bad input exits with code 2 and one line, no traceback.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from replicate.runtime import show_progress
from replicate.scales import SCALES

BOOK = Path("book")


class UsageError(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage dump) and exit code 2."""

    def error(self, message: str):
        print(f"replicate: {message}", file=sys.stderr)
        sys.exit(2)


def notebooks(book: Path = BOOK) -> list[Path]:
    """The text twins of every paired notebook under book/."""
    return sorted(p.with_suffix(".py") for p in book.rglob("*.ipynb")
                  if p.with_suffix(".py").exists() and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts)


def read_text_notebook(text_path: Path):
    """The notebook from its text twin (jupytext), every cell with a `tags` list as papermill expects."""
    import jupytext

    nb = jupytext.read(text_path)
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    return nb


def parameters(text_path: Path) -> dict[str, dict]:
    """Name → {default, inferred_type_name, help} of the notebook's `parameters` cell."""
    from papermill.inspection import _infer_parameters

    return {p.name: p._asdict() for p in _infer_parameters(read_text_notebook(text_path))}


def find_notebook(name: str) -> Path:
    path = Path(name)
    candidates = [path, path.with_suffix(".py"), BOOK / path, (BOOK / path).with_suffix(".py")]
    for c in candidates:
        if c.suffix == ".py" and c.exists():
            return c
    known = ", ".join(str(p.with_suffix("")) for p in notebooks())
    raise UsageError(f"no notebook {name!r}; known notebooks: {known}")


def parse_value(text: str):
    """A -p value: a Python literal if it parses as one (3, 0.1, (64, 128), None, True), else the string."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return list(value) if isinstance(value, tuple) else value  # papermill writes lists, not tuples


def cmd_list(_args) -> int:
    for nb in notebooks():
        params = parameters(nb)
        print(nb.with_suffix(""))
        for name, p in params.items():
            print(f"    {name} = {p['default']}" + (f"  # {p['help']}" if p["help"] else ""))
    return 0


def cmd_run(args) -> int:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if args.scale not in SCALES:
        raise UsageError(f"--scale must be one of {', '.join(SCALES)}; got {args.scale!r}")
    text = find_notebook(args.notebook)
    known = parameters(text)
    values = {name: parse_value(value) for name, value in args.p}
    unknown = [n for n in values if n not in known]
    if unknown:
        raise UsageError(f"unknown parameter {unknown[0]!r} for {text.with_suffix('')}; allowed: {', '.join(known)}")
    if args.dry_run:
        values["dry_run"] = True
    if (args.executor == "dask") != bool(args.scheduler):
        raise UsageError("--executor dask and --scheduler tcp://HOST:PORT go together")
    if args.executor:
        if "executor" not in known:
            raise UsageError(f"{text.with_suffix('')} runs no sweep: it takes no --executor")
        values.update(executor=args.executor, scheduler=args.scheduler)
    out_dir = (Path(args.output) if args.output else Path("runs") / args.scale / text.parent.name).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    values.update(scale=args.scale, results_dir=str(out_dir), figures_dir=str(out_dir))
    values = {k: v for k, v in values.items() if k in known}
    if args.device:
        os.environ["REPLICATE_DEVICE"] = args.device
    output = out_dir / f"{text.stem}.ipynb"
    try:
        papermill.execute_notebook(read_text_notebook(text), str(output), parameters=values, cwd=str(text.parent),
                                   progress_bar=show_progress(), kernel_name="python3")
    except PapermillExecutionError as err:
        line = f"{err.ename}: {err.evalue}"
        if err.ename in ("ParameterError", "DataError"):
            raise UsageError(line) from None
        print(f"replicate: {text.with_suffix('')} failed: {line} (see {output})", file=sys.stderr)
        return 1
    print(f"wrote {output} and the results beside it")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="replicate", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="notebooks and their parameters").set_defaults(fn=cmd_list)
    run = sub.add_parser("run", help="execute a notebook at a scale")
    run.add_argument("notebook", help="e.g. book/lewkowycz2020-catapult/uv-model")
    run.add_argument("--scale", default="cpu", help="smoke | cpu | paper")
    run.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"), help="a parameter")
    run.add_argument("--device", help="auto | cpu | cuda | cuda:N | mps (sets REPLICATE_DEVICE)")
    run.add_argument("--executor", choices=["local", "dask"], help="where sweep points run (default local)")
    run.add_argument("--scheduler", help="Dask scheduler address tcp://HOST:PORT (with --executor dask)")
    run.add_argument("--dry-run", action="store_true", help="one step of the preset, to check that it runs")
    run.add_argument("--output", help="output folder (default runs/<scale>/<chapter>)")
    run.set_defaults(fn=cmd_run)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except UsageError as err:
        print(f"replicate: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
