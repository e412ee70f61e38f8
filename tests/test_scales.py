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


def test_preset_and_overrides():
    cfg = scales.resolve(PRESETS, "cpu", {"widths": [32, 64], "lr": 1, "steps": None})
    assert cfg == Cfg((32, 64), 1.0, 20)
    assert isinstance(cfg.lr, float)


def test_dry_run_keeps_sizes_and_takes_one_step():
    cfg = scales.resolve(PRESETS, "paper", dry_run=True, dry_overrides={"steps": 1})
    assert cfg.widths == (512,) and cfg.steps == 1
    assert scales.resolve(PRESETS, "paper", dry_overrides={"steps": 1}).steps == 1000


@pytest.mark.parametrize("scale, overrides, message", [
    ("big", {}, "scale must be one of smoke, cpu, paper; got 'big'"),
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
