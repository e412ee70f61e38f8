from dataclasses import dataclass

import pytest

from replicate import scales


@dataclass(frozen=True)
class Cfg:
    widths: tuple[int, ...]
    lr: float
    steps: int
    dataset: str = "mnist"

    def validate(self):
        scales.positive("widths", self.widths)
        scales.positive("lr", self.lr)
        scales.one_of("dataset", self.dataset, ("mnist", "digits"))


PRESETS = {"smoke": Cfg((4,), 0.1, 2), "cpu": Cfg((8, 16), 0.1, 20), "paper": Cfg((512,), 0.05, 1000)}


@dataclass(frozen=True)
class Sized:
    width: int
    steps: int = 10

    def memory_bytes(self) -> int:
        return self.width * 2**20  # 1 MiB per unit of width


SIZED = {"cpu": Sized(8), "gpu": Sized(2**40)}  # the gpu preset would need 2**60 bytes


def test_preset_and_overrides():
    cfg = scales.resolve(PRESETS, "cpu", {"widths": [32, 64], "lr": 1, "steps": None})
    assert cfg == Cfg((32, 64), 1.0, 20)
    assert isinstance(cfg.lr, float)


def test_dry_run_keeps_sizes_and_takes_one_step():
    cfg = scales.resolve(PRESETS, "paper", dry_run=True, dry_overrides={"steps": 1})
    assert cfg.widths == (512,) and cfg.steps == 1
    assert scales.resolve(PRESETS, "paper", dry_overrides={"steps": 1}).steps == 1000


def test_a_dry_run_refuses_what_the_real_run_would_refuse():
    """The dry run's own overrides replace a bad value (-p lr -1 under dry_overrides lr=0.1): the real run's
    config is validated as well, so `--dry-run` never says "validated" for a run that would be refused."""
    with pytest.raises(scales.ParameterError, match="lr must be > 0"):
        scales.resolve(PRESETS, "paper", {"lr": -1.0}, dry_run=True, dry_overrides={"lr": 0.1, "steps": 1})


@pytest.mark.parametrize("scale, overrides, message", [
    ("big", {}, "scale must be one of smoke, cpu, gpu, paper; got 'big'"),
    ("cpu", {"lr": float("inf")}, "lr must be > 0 and finite; got inf"),
    ("cpu", {"lr": float("nan")}, "lr must be a number; got nan"),
    ("cpu", {"widths": [float("inf")]}, "widths must be of type int; got inf"),
    ("cpu", {"steps": 1e23}, "steps must be of type int; got 1e+23"),
    ("cpu", {"steps": 10**30}, "steps must be an integer below 2**63"),
    ("cpu", {"steps": 2.5}, "steps must be of type int"),
    ("cpu", {"widths": [-8]}, "widths must be > 0"),
    ("cpu", {"dataset": "imagenet"}, "dataset must be one of mnist, digits; got 'imagenet'"),
    ("cpu", {"width": 3}, "unknown parameter 'width'"),
    ("cpu", {"steps": "ten"}, "steps must be of type int"),
    ("cpu", {"widths": []}, "widths must not be empty"),
])
def test_bad_parameters_fail_with_one_line(scale, overrides, message):
    with pytest.raises(scales.ParameterError) as err:
        scales.resolve(PRESETS, scale, overrides)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_memory_estimate_printed_and_a_run_too_big_refused(monkeypatch, capsys):
    monkeypatch.setenv("REPLICATE_CLI", "1")
    monkeypatch.setenv("REPLICATE_DEVICE", "cpu")
    monkeypatch.delenv("REPLICATE_FORCE", raising=False)
    assert scales.resolve(SIZED, "cpu") == Sized(8)
    assert "estimated memory 0.01 GiB (this machine:" in capsys.readouterr().err
    with pytest.raises(scales.ParameterError, match="pass --force") as err:
        scales.resolve(SIZED, "gpu")
    assert "\n" not in str(err.value)
    assert scales.resolve(SIZED, "gpu", dry_run=True, dry_overrides={"steps": 1}).steps == 1  # a dry run refuses none
    err = capsys.readouterr().err
    assert "estimated memory 1073741824.00 GiB" in err  # ... but reports the full run's estimate
    assert "dry run only: the real run needs an estimated 1073741824.0 GiB" in err and "would be refused here" in err
    scales.resolve(SIZED, "cpu", dry_run=True, dry_overrides={"steps": 1})
    assert "would be refused" not in capsys.readouterr().err
    monkeypatch.setenv("REPLICATE_FORCE", "1")
    assert scales.resolve(SIZED, "gpu").width == 2**40
    have, where = scales.memory_limit()
    assert have > 2**28 and where == "this machine"
