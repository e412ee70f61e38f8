"""replicate.schedules: the roots α, β, the paper's growth constant, LambdaLR use, TEXP, and the exact recursion."""


import pytest
import torch

from replicate import schedules


@pytest.mark.parametrize("lr,wd,mom", [(0.1, 5e-4, 0.9), (0.01, 5e-4, 0.9), (0.5, 1e-3, 0.5), (0.1, 0.0, 0.9)])
def test_roots_solve_the_quadratic_and_alpha_is_the_larger(lr, wd, mom):
    a, b = schedules.exp_lr_roots(lr, wd, mom)
    for x in (a, b):
        assert abs(x * x - (1 + mom - wd * lr) * x + mom) < 1e-14
    assert a >= b and abs(a * b - mom) < 1e-14 and abs(a + b - (1 + mom - wd * lr)) < 1e-14


def test_no_momentum_gives_one_minus_lambda_eta():
    assert schedules.exp_lr_alpha(0.1, 5e-4, 0.0) == pytest.approx(1 - 5e-5, abs=1e-15)


def test_paper_constants():
    """α = 0.99949773, 1.4812 per epoch of 391 steps; 1.0399 and 1.0039 after the two decays."""
    assert schedules.exp_lr_alpha(0.1, 5e-4, 0.9) == pytest.approx(0.99949773, abs=1e-8)
    assert round(schedules.growth_per_epoch(0.1, 5e-4, 0.9, 391), 4) == 1.4812
    assert round(schedules.growth_per_epoch(0.01, 5e-4, 0.9, 391), 4) == 1.0399
    assert round(schedules.growth_per_epoch(0.001, 5e-4, 0.9, 391), 4) == 1.0039
    rule = 1 + 2 * 5e-4 * 0.1 / (1 - 0.9)
    assert schedules.growth_per_step(0.1, 5e-4, 0.9) == pytest.approx(rule, rel=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        schedules.exp_lr_alpha(-0.1, 5e-4, 0.9)
    with pytest.raises(ValueError):
        schedules.exp_lr_alpha(0.1, 5e-4, 1.0)
    with pytest.raises(ValueError):
        schedules.exp_lr_alpha(1.0, 1.0, 0.9)  # 1 + γ − λη = 0.9 < 2√γ: complex roots


def test_lambda_lr_applies_the_exponential_schedule():
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, schedules.exp_lr_factor(0.1, 5e-4, 0.9))
    a = schedules.exp_lr_alpha(0.1, 5e-4, 0.9)
    for t in range(5):
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * a ** (-2 * t - 1), rel=1e-12)
        opt.step()
        sched.step()


def test_initial_buffer_is_used_by_torch_sgd():
    p = torch.nn.Parameter(torch.tensor([2.0, -1.0], dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.1, momentum=0.9)
    schedules.set_initial_momentum_buffers(opt, 0.1, 5e-4, 0.9)
    v = opt.state[p]["momentum_buffer"].clone()
    assert torch.allclose(v, -0.005025 * torch.tensor([2.0, -1.0], dtype=torch.float64), rtol=1e-3)
    p.grad = torch.zeros_like(p)
    before = p.detach().clone()
    opt.step()
    assert torch.allclose(p.detach(), before - 0.1 * 0.9 * v)  # v₀ = γ v₋₁ + g₀ with g₀ = 0


def test_step_decay_factor():
    f = schedules.step_decay_factor([10, 20], 0.1)
    assert [f(0), f(9), f(10), f(19), f(20)] == [1, 1, pytest.approx(0.1), pytest.approx(0.1), pytest.approx(0.01)]


def test_texp_growth_and_switches():
    lr, wd, mom, ms = 0.1, 5e-4, 0.9, [10, 20]
    f = schedules.texp_factor(lr, wd, mom, ms, 0.1)
    a = [schedules.exp_lr_alpha(lr * 0.1**i, wd, mom) for i in range(3)]
    exp0 = schedules.exp_lr_factor(lr, wd, mom)
    assert all(f(t) == pytest.approx(exp0(t), rel=1e-12) for t in range(10))
    assert f(11) / f(10) == pytest.approx(a[1] ** -2, rel=1e-12)
    assert f(25) / f(24) == pytest.approx(a[2] ** -2, rel=1e-12)
    assert f(10) / f(9) == pytest.approx(0.1 / (a[0] * a[1]), rel=1e-12)
    assert f(20) / f(19) == pytest.approx(0.1 / (a[1] * a[2]), rel=1e-12)


def test_equivalent_lrs_tends_to_the_exponential_growth():
    lrs = schedules.equivalent_lrs([0.1] * 400, 5e-4, 0.9)
    a = schedules.exp_lr_alpha(0.1, 5e-4, 0.9)
    assert lrs[0] == pytest.approx(0.1 / (1 - 0.1 * 5e-4), rel=1e-14)
    assert lrs[399] / lrs[398] == pytest.approx(a**-2, rel=1e-12)


def _scale_invariant_loss(theta, target):
    """1 − cos(θ, target): L(cθ) = L(θ)."""
    return 1 - theta @ target / (theta.norm() * target.norm())


@pytest.mark.parametrize("schedule", ["constant", "step"])
def test_equivalent_lrs_is_exact_on_a_scale_invariant_loss(schedule):
    """WD run and no-WD run under `equivalent_lrs`, both from a zero buffer, stay parallel (float64)."""
    g = torch.Generator().manual_seed(0)
    theta0, target = torch.randn(10, generator=g, dtype=torch.float64), torch.randn(10, generator=g,
                                                                                    dtype=torch.float64)
    steps, wd, mom = 60, 0.005, 0.9
    lrs = [0.3] * steps if schedule == "constant" else [0.3] * 20 + [0.03] * 20 + [0.003] * 20
    a = torch.nn.Parameter(theta0.clone())
    b = torch.nn.Parameter(theta0.clone())
    opt_a = torch.optim.SGD([a], lr=lrs[0], momentum=mom, weight_decay=wd)
    opt_b = torch.optim.SGD([b], lr=1.0, momentum=mom)
    tilde = schedules.equivalent_lrs(lrs, wd, mom)
    worst = 0.0
    for t in range(steps):
        for opt, p, lr in ((opt_a, a, lrs[t]), (opt_b, b, tilde[t])):
            opt.param_groups[0]["lr"] = lr
            opt.zero_grad()
            _scale_invariant_loss(p, target).backward()
            opt.step()
        worst = max(worst, float((a / a.norm() - b / b.norm()).norm().detach()))
    assert worst < 1e-12
    assert float(a.detach().norm()) < float(b.detach().norm())  # the WD run shrinks relative to its twin


def test_equivalent_lrs_rejects_a_scale_that_changes_sign():
    with pytest.raises(ValueError):
        schedules.equivalent_lrs([0.3] * 100, 0.05, 0.9)  # complex roots: s_t oscillates through 0
