"""The repository's shape: environment.yml and pyproject agree; constraints pin torch; paired notebooks."""

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    pip = next(d["pip"] for d in env if isinstance(d, dict))
    assert {str(Requirement(r)) for r in pip if r != "-e ."} == {str(Requirement(r)) for r in project}


def test_constraints_pin_every_dependency_and_torch():
    pins = {Requirement(line).name.lower(): line for line in (ROOT / "constraints.txt").read_text().splitlines()
            if line and not line.startswith("#")}
    assert pins["torch"] == "torch==2.13.0"
    for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]:
        name = Requirement(r).name.lower()
        assert name in pins and "==" in pins[name], name


def test_toc_files_exist():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]
    files += [s["file"] for part in toc["parts"] for c in part["chapters"] for s in c.get("sections", [])]
    for f in files:
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
