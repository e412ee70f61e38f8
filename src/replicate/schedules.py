"""Learning-rate schedules for torch optimizers, and the exponential schedule of Li & Arora (2020).

Conventions: one step = one optimizer step (iteration) t = 0, 1, 2, …; a *factor* function t ↦ f(t) is what
`torch.optim.lr_scheduler.LambdaLR` expects (the learning rate at step t is base_lr·f(t)). Momentum is PyTorch's:
v_t = γ v_{t−1} + g_t, θ_{t+1} = θ_t − η_t v_t (dampening 0, not Nesterov), weight decay λ coupled (g includes λθ).

For a scale-invariant loss, SGD with (η, λ, γ) equals SGD with (η̃_t, 0, γ) where (Li & Arora 2020, Thm. 1)

    η̃_t = η α^(−2t−1),   α = the larger root of x² − (1 + γ − λη) x + γ = 0,

provided the no-WD run starts with the momentum buffer v₋₁ = −(1 − α) θ₀ / (α η) (`exp_lr_initial_buffer`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch


def _check(lr: float, weight_decay: float, momentum: float) -> None:
    if not lr > 0:
        raise ValueError(f"lr must be > 0; got {lr}")
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0; got {weight_decay}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1); got {momentum}")
    b = 1 + momentum - weight_decay * lr
    if b <= 0 or b * b < 4 * momentum:
        raise ValueError(f"x² − (1 + γ − λη)x + γ has no positive real root for lr={lr}, "
                         f"weight_decay={weight_decay}, momentum={momentum}")


def exp_lr_roots(lr: float, weight_decay: float, momentum: float) -> tuple[float, float]:
    """(α, β), α ≥ β, the roots of x² − (1 + γ − λη)x + γ = 0: α + β = 1 + γ − λη, αβ = γ."""
    _check(lr, weight_decay, momentum)
    b = 1 + momentum - weight_decay * lr
    disc = math.sqrt(b * b - 4 * momentum)
    alpha = (b + disc) / 2
    beta = momentum / alpha if momentum > 0 else 0.0  # stable form of (b − disc)/2
    return alpha, beta


def exp_lr_alpha(lr: float, weight_decay: float, momentum: float) -> float:
    """α, the larger root of x² − (1 + γ − λη)x + γ = 0 (α = 1 − λη when γ = 0)."""
    return exp_lr_roots(lr, weight_decay, momentum)[0]


def growth_per_step(lr: float, weight_decay: float, momentum: float) -> float:
    """η̃_{t+1}/η̃_t = α^(−2) ≈ 1 + 2λη/(1 − γ)."""
    return exp_lr_alpha(lr, weight_decay, momentum) ** -2


def growth_per_epoch(lr: float, weight_decay: float, momentum: float, steps_per_epoch: int) -> float:
    """α^(−2·steps_per_epoch): 1.4812 for (η, λ, γ) = (0.1, 5e-4, 0.9) and 391 steps (CIFAR-10, batch 128)."""
    return growth_per_step(lr, weight_decay, momentum) ** steps_per_epoch


def exp_lr_factor(lr: float, weight_decay: float, momentum: float) -> Callable[[int], float]:
    """LambdaLR factor t ↦ α^(−2t−1) (base lr = η): the no-WD equivalent of constant η with WD λ."""
    alpha = exp_lr_alpha(lr, weight_decay, momentum)
    return lambda t: alpha ** (-2 * t - 1)


def exp_lr_initial_buffer(param: torch.Tensor, lr: float, weight_decay: float, momentum: float) -> torch.Tensor:
    """v₋₁ = −(1 − α) θ₀ / (α η): the momentum buffer that makes η̃_t = η α^(−2t−1) exact from step 0."""
    alpha = exp_lr_alpha(lr, weight_decay, momentum)
    return -(1 - alpha) / (alpha * lr) * param.detach().clone()


def set_initial_momentum_buffers(optimizer: torch.optim.SGD, lr: float, weight_decay: float,
                                 momentum: float) -> None:
    """Put v₋₁ (`exp_lr_initial_buffer`) into every parameter's momentum buffer before the first step.

    torch.optim.SGD then computes v₀ = γ v₋₁ + g₀ at its first step (instead of v₀ = g₀).
    """
    for group in optimizer.param_groups:
        if group["momentum"] != momentum or group.get("dampening", 0) != 0 or group.get("nesterov", False):
            raise ValueError("the optimizer must be SGD with the same momentum, dampening 0 and nesterov False")
        for p in group["params"]:
            optimizer.state[p]["momentum_buffer"] = exp_lr_initial_buffer(p, lr, weight_decay, momentum)


def step_decay_factor(milestones: Sequence[int], gamma: float = 0.1) -> Callable[[int], float]:
    """LambdaLR factor of step decay: gamma^(number of milestones ≤ t)."""
    ms = sorted(milestones)
    return lambda t: gamma ** sum(t >= m for m in ms)


def texp_factor(lr: float, weight_decay: float, momentum: float, milestones: Sequence[int],
                gamma: float = 0.1) -> Callable[[int], float]:
    """LambdaLR factor of TEXP, the tapered-exponential equivalent of step decay (Li & Arora 2020, Thm. 2).

    Phase I uses η_I = η·gamma^I and α_I = α(η_I, λ, γ). Inside phase I the rate grows by α_I^(−2) per step;
    on entering phase I (step T_I) it is multiplied by gamma/(α_{I−1} α_I), i.e. divided by C_I = 1/gamma
    and switched to the new growth rate. Phase 0 is exactly `exp_lr_factor` (η̃_0 = η/α_0).
    """
    ms = sorted(milestones)
    alphas = [exp_lr_alpha(lr * gamma**i, weight_decay, momentum) for i in range(len(ms) + 1)]

    def factor(t: int) -> float:
        log_f = -math.log(alphas[0])  # η̃_0 = η α_0^(−1)
        start = 0
        for i, m in enumerate(ms):
            if t < m:
                break
            log_f += -2 * (m - 1 - start) * math.log(alphas[i])  # growth inside phase i, up to step m − 1
            log_f += math.log(gamma) - math.log(alphas[i]) - math.log(alphas[i + 1])  # the switch at step m
            start = m
        phase = sum(t >= m for m in ms)
        return math.exp(log_f - 2 * (t - start) * math.log(alphas[phase]))

    return factor


def equivalent_lrs(lrs: Sequence[float], weight_decay: float, momentum: float) -> list[float]:
    """Exact no-WD learning rates η̃_t for any WD schedule η_t, both runs starting from a zero momentum buffer.

    With θ_t = s_t φ_t and γ'_t = γ η_t/η_{t−1} (γ'_0 = 0) the scale obeys the linear recursion

        s_{t+1} = (1 + γ'_t − η_t λ) s_t − γ'_t s_{t−1},   s_0 = 1,   and   η̃_t = η_t / (s_t s_{t+1}).

    For constant η, s_t = Aα^t + Bβ^t, so η̃_t → η α^(−2t−1)/A² after a transient of a few 1/(1 − β) steps.
    """
    out, s_prev, s, prev_lr = [], 1.0, 1.0, None
    for lr in lrs:
        g = 0.0 if prev_lr is None else momentum * lr / prev_lr
        s_next = (1 + g - lr * weight_decay) * s - g * s_prev
        if s_next <= 0:
            raise ValueError(f"the scale s_t reached {s_next:.3g} <= 0: no equivalent no-WD run (λη too large)")
        out.append(lr / (s * s_next))
        s_prev, s, prev_lr = s, s_next, lr
    return out
