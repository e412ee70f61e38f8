import math

import pytest
import torch

from replicate.ensemble import Member, TrainConfig, train_ensemble
from replicate.lr_search import POINTS_PER_ROUND, grid_size, max_lr
from replicate.models import MLP


def quadratic_gd(eigenvalues: torch.Tensor, steps: int = 2000):
    """succeeds(lrs): GD on ½ xᵀ diag(λ) x from x₀ = 1 ends no farther from 0 than it started (⇔ η ≤ 2/λ_max)."""
    calls = []

    def succeeds(lrs: torch.Tensor) -> torch.Tensor:
        calls.append(len(lrs))
        factor = (1 - lrs[:, None] * eigenvalues[None, :]).abs()  # per-mode contraction, all LRs at once
        x_final = factor.log().mul(steps).exp()
        return x_final.norm(dim=1) <= math.sqrt(len(eigenvalues))

    return succeeds, calls


@pytest.mark.parametrize("top", [0.37, 4.0, 250.0])
def test_max_lr_finds_two_over_lambda(top):
    eig = torch.tensor([0.01, 0.1, 0.5 * top, top], dtype=torch.float64)
    succeeds, calls = quadratic_gd(eig)
    result = max_lr(succeeds, 1e-4, 1e3, rel_tol=0.05)
    truth = 2 / top
    assert abs(result.value - truth) / truth <= 0.05
    assert result.lower <= truth * (1 + 1e-3) and result.upper >= truth
    assert result.upper / result.lower <= 1.05 and result.monotone
    assert result.evaluations == sum(calls) == len(result.history) and result.rounds == len(calls)
    assert result.evaluations * 3 <= grid_size(1e-4, 1e3, 0.05)


def test_seeds_rule():
    eigs = torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64)  # three "seeds", λ = 1, 2, 4
    def succeeds(lrs):
        return ((1 - lrs[:, None] * eigs.T).abs() < 1)  # (n_lrs, 3)
    assert max_lr(succeeds, 0.01, 10, rule="all").value == pytest.approx(0.5, rel=0.05)
    assert max_lr(succeeds, 0.01, 10, rule="majority").value == pytest.approx(1.0, rel=0.05)
    result = max_lr(succeeds, 0.01, 10, rule="any")
    assert result.value == pytest.approx(2.0, rel=0.05) and result.trainings == 3 * result.evaluations


def test_non_monotone_outcome_reports_the_bracket():
    def succeeds(lrs):  # trainable below 1 and again on the island [3, 5]
        return (lrs < 1) | ((lrs > 3) & (lrs < 5))
    result = max_lr(succeeds, 0.1, 10, points_per_round=4)  # 4 points land on the island; bisection
    assert not result.monotone                                # (midpoint 1.0 fails) never sees it
    assert 3 < result.lower < 5 <= result.upper and result.upper / result.lower <= 1.05
    assert bool(succeeds(torch.tensor([result.value])))  # value is a tested success, not an interpolation


def test_max_lr_drives_an_ensemble():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 6, generator=gen, dtype=torch.float64), torch.randn(32, 2, generator=gen, dtype=torch.float64)
    cfg = TrainConfig(steps=25, loss="mse", progress=False, diverge_factor=10)
    make = lambda: MLP(6, 32, 1, 2, "ntk")

    def succeeds(lrs):
        return ~train_ensemble(make, [Member(0, float(lr)) for lr in lrs], X, y, cfg).diverged

    result = max_lr(succeeds, 1e-3, 100.0, rel_tol=0.1)
    assert succeeds(torch.tensor([result.lower])).item() and not succeeds(torch.tensor([result.upper])).item()


def test_max_lr_bad_input():
    ok = lambda lrs: lrs < 1
    with pytest.raises(ValueError, match="lo must be"):
        max_lr(ok, 0.0, 10)
    with pytest.raises(ValueError, match="hi must be"):
        max_lr(ok, 1.0, 0.5)
    with pytest.raises(ValueError, match="lower lo"):
        max_lr(ok, 2.0, 10)
    with pytest.raises(ValueError, match="raise hi"):
        max_lr(ok, 0.1, 0.9)
    with pytest.raises(ValueError, match="rule must be"):
        max_lr(ok, 0.1, 10, rule="most")
    with pytest.raises(ValueError, match="bool tensor"):
        max_lr(lambda lrs: lrs, 0.1, 10)


def test_default_points_per_round_is_plain_bisection_on_cpu():
    eig = torch.tensor([0.1, 4.0], dtype=torch.float64)
    succeeds, calls = quadratic_gd(eig)
    result = max_lr(succeeds, 1e-4, 1e3, rel_tol=0.05, device="cpu")
    assert POINTS_PER_ROUND["cpu"] == 1 and calls[0] == 3 and set(calls[1:]) == {1}
    # bisection in log space: 2 + ⌈log2(log(hi/lo)/log(1+rel_tol))⌉ trainings
    assert result.evaluations == 2 + math.ceil(math.log2(math.log(1e7) / math.log(1.05)))
    four, _ = quadratic_gd(eig)
    assert max_lr(four, 1e-4, 1e3, rel_tol=0.05, points_per_round=4).evaluations > result.evaluations
    # the result records the bracket's two ends under their own names (old attributes kept)
    assert result.largest_success == result.lower == result.value and result.first_failure == result.upper
    assert bool(succeeds(torch.tensor([result.largest_success]))) and not bool(succeeds(torch.tensor([result.first_failure])))


def test_majority_is_the_default_rule():
    eigs = torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64)
    def succeeds(lrs):
        return (1 - lrs[:, None] * eigs.T).abs() < 1
    assert max_lr(succeeds, 0.01, 10).value == max_lr(succeeds, 0.01, 10, rule="majority").value
