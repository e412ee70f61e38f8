"""The repository's shape: the library depends on what it imports, extras hold the rest, every dependency is pinned
in constraints.txt and environment.yml pins the same versions; the licence is there; paired notebooks."""

import ast
import re
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# Import name → distribution name, where they differ.
DISTRIBUTION = {"sklearn": "scikit-learn", "yaml": "pyyaml", "jupyter_client": "jupyter-client"}
# Imported inside functions only: glue and HTML tables in the book ([book]: myst-nb, IPython) and the Dask executor.
LAZY_EXTRAS = {"myst_nb": "book", "IPython": "book", "distributed": "dask"}
# Needed at run time but never imported: the kernel `replicate run` executes notebooks in.
RUNTIME_NOT_IMPORTED = {"ipykernel"}
# conda-forge's names for PyPI distributions, where they differ.
CONDA = {"torch": "pytorch", "matplotlib": "matplotlib-base", "dask": "dask-core"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(requirements) -> set[str]:
    return {_norm(Requirement(r).name) for r in requirements}


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {_norm(Requirement(l).name): str(Requirement(l).specifier) for l in lines if l and not l.startswith("#")}


def _third_party_imports(package: Path) -> dict[str, bool]:
    """Top-level modules imported by the package, not from the standard library: name → imported at module level."""
    found: dict[str, bool] = {}
    for file in package.rglob("*.py"):
        tree = ast.parse(file.read_text())
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                root = name.split(".")[0]
                if root in sys.stdlib_module_names or root in ("replicate", "__future__"):
                    continue
                found[root] = found.get(root, False) or id(node) in top
    return found


def test_runtime_dependencies_are_what_the_library_imports():
    imports = _third_party_imports(ROOT / "src" / "replicate")
    runtime = _names(PROJECT["dependencies"])
    extras = PROJECT["optional-dependencies"]
    needed = {_norm(DISTRIBUTION.get(m, m)) for m in imports if m not in LAZY_EXTRAS}
    assert needed == runtime - RUNTIME_NOT_IMPORTED, f"imported {sorted(needed)}; declared {sorted(runtime)}"
    for module, extra in LAZY_EXTRAS.items():
        assert not imports.get(module, False), f"{module} must be imported lazily (it comes with the [{extra}] extra)"
    assert "distributed" in _names(extras["dask"])


def test_extras_and_all():
    extras = PROJECT["optional-dependencies"]
    assert {"book", "test", "dask", "all"} <= set(extras)
    assert _names(extras["book"]) >= {"jupyter-book", "sphinxcontrib-bibtex"}
    assert _names(extras["test"]) >= {"pytest", "pytest-xdist", "nbval", "selenium"}
    assert _names(extras["dask"]) == {"dask", "distributed"}
    assert extras["all"] == ["replicate[book,test,dask]"]
    assert not _names(PROJECT["dependencies"]) & {"jupyter-book", "selenium", "pytest", "nbval", "dask"}


def test_constraints_pin_every_dependency_and_torch():
    pins = _pins()
    assert pins["torch"] == "==2.13.0"
    for extra in PROJECT["optional-dependencies"].values():
        for r in extra:
            name = _norm(Requirement(r).name)
            if name != "replicate":
                assert pins.get(name, "").startswith("=="), name
    for r in PROJECT["dependencies"]:
        name = _norm(Requirement(r).name)
        assert pins.get(name, "").startswith("=="), name


def _environment() -> dict[str, str]:
    """environment.yml's packages as PyPI name → pinned version (conda specs 'name==v' or 'name v build', pip 'name==v')."""
    inverse = {c: p for p, c in CONDA.items()}
    out = {}
    for dep in yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]:
        if isinstance(dep, dict):
            for line in dep["pip"]:
                if not line.startswith("-e"):
                    req = Requirement(line)
                    out[_norm(req.name)] = str(req.specifier)
            continue
        name, version = (re.split(r"==| ", dep) + [""])[:2]
        if name.split("=")[0] not in ("python", "pip"):
            out[_norm(inverse.get(name, name))] = f"=={version}"
    return out


def test_environment_yml_pins_the_constraints_versions_from_conda_forge():
    env = _environment()
    spec = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert spec["channels"] == ["conda-forge"]
    assert "pytorch 2.13.0 cpu_*" in spec["dependencies"], "torch must be conda-forge's CPU build"
    pins = _pins()
    wanted = _names(PROJECT["dependencies"]) | {n for k, ds in PROJECT["optional-dependencies"].items() if k != "all"
                                                for n in _names(ds)}
    assert wanted <= set(env), f"missing from environment.yml: {sorted(wanted - set(env))}"
    for name, version in env.items():
        if name not in ("python", "pip"):
            assert version == pins[name], f"{name}: environment.yml {version}, constraints.txt {pins[name]}"


def test_licence_file_and_spdx_string():
    assert PROJECT["license"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")


def test_makefile_installs_every_extra_and_the_cpu_torch_by_default():
    makefile = (ROOT / "Makefile").read_text()
    assert 'pip install -q -c $(CONSTRAINTS) -e ".[all]"' in makefile
    assert "TORCH_INDEX ?= https://download.pytorch.org/whl/cpu" in makefile


def test_toc_files_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    files += [s["file"] for part in toc["parts"] for c in part["chapters"] for s in c.get("sections", [])]
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
