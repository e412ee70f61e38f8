"""Train E models at once, members differing by seed, LR and per-layer LR multipliers.

Two engines behind one API: 'vmap' (stacked parameters, `torch.func.vmap` of `grad_and_value`, SGD
written out on the stacked tensors) and 'loop' (one ordinary nn.Module + torch.optim.SGD per member,
for whatever vmap cannot do, e.g. BatchNorm running statistics). On the same members they agree to
rounding error. Every member sees the same batch at every step; its init comes from its own seed only.

'auto' (the default) takes 'loop' for models vmap cannot train (BatchNorm), else `AUTO_ENGINE` for the
device. CPU: vmap, measured by benchmarks/ensemble.py (CPU process time, 1 thread, 16 members of an MLP
40 → 256×4 → 10): 1.2–1.3× the marginal per-step speed of a plain per-model torch.optim.SGD loop at
batch 128, equal (1.0×) at batch 1024, where the matrix products dominate either way. CUDA: vmap, unmeasured
here (no GPU in this session); one batched kernel per layer instead of E small ones is where it should
gain most.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap
from tqdm import tqdm

from replicate.losses import accuracy, get_loss
from replicate.models import lr_multipliers, param_groups, seeded
from replicate.runtime import show_progress

ENGINES = ("auto", "vmap", "loop")
AUTO_ENGINE = {"cpu": "vmap", "cuda": "vmap", "mps": "vmap"}  # see the module docstring for what was measured


@dataclass
class Member:
    """One ensemble member: init seed, base LR η, and optional per-layer LR multipliers {layer: factor}."""

    seed: int
    lr: float
    lr_mult: dict[str, float] | None = None

    def __post_init__(self):
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"Member.lr must be a finite number > 0; got {self.lr!r}")


@dataclass
class TrainConfig:
    """SGD as torch.optim.SGD: g ← ∇L + wd·θ; b ← μ·b + g (b₀ = g); g ← g + μ·b (Nesterov) or b; θ ← θ − η_t·g.

    steps: number of updates; the loss is logged at steps 0…steps (before each update, and once after
    the last). batch_size None = full batch, else epochs of a shared permutation drawn from `data_seed`
    (the last incomplete batch of an epoch is dropped). η_t = η · lr_mult · lr_schedule(t).
    A member diverges at step t if its loss is non-finite or > diverge_factor × its step-0 loss
    (None: only non-finite); it is then frozen (no more updates) and its history stops at t.
    eval_every None: evaluate only after the last step (when eval data is given).
    """

    steps: int
    loss: str = "mse"
    batch_size: int | None = None
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    lr_schedule: Callable[[int], float] | None = None
    diverge_factor: float | None = 1e4
    log_every: int = 1
    eval_every: int | None = None
    eval_batch_size: int = 4096
    data_seed: int = 0
    engine: str = "auto"
    progress: bool = True

    def __post_init__(self):
        get_loss(self.loss)
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {list(ENGINES)}; got {self.engine!r}")
        checks = {
            "steps": self.steps >= 0,
            "batch_size": self.batch_size is None or self.batch_size >= 1,
            "momentum": self.momentum >= 0,
            "weight_decay": self.weight_decay >= 0,
            "diverge_factor": self.diverge_factor is None or self.diverge_factor > 1,
            "log_every": self.log_every >= 1,
            "eval_every": self.eval_every is None or self.eval_every >= 1,
            "eval_batch_size": self.eval_batch_size >= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"TrainConfig.{name} is out of range: {getattr(self, name)!r}")
        if self.nesterov and self.momentum == 0:
            raise ValueError("TrainConfig.nesterov=True needs momentum > 0")


@dataclass
class EnsembleState:
    """What a callback sees at a logged step: losses (E,), divergence flags (E,), member modules."""

    step: int
    loss: torch.Tensor
    diverged: torch.Tensor
    member_module: Callable[[int], nn.Module]


@dataclass
class EnsembleResult:
    """history: tidy table (member, seed, lr, step, loss, [train_acc], [eval_loss, eval_acc], diverged, callback columns).

    params: stacked state dict {name: (E, …)}; diverged_step: step of divergence or -1.
    """

    history: pd.DataFrame
    diverged: torch.Tensor
    diverged_step: torch.Tensor
    params: dict[str, torch.Tensor]
    members: list[Member]
    _engine: object = field(repr=False)

    def member_module(self, i: int) -> nn.Module:
        """Member i after training as an ordinary nn.Module (a copy)."""
        return self._engine.member_module(i)


def choose_engine(engine: str, model: nn.Module, device: torch.device) -> str:
    """The engine train_ensemble runs: `engine` itself, or for 'auto' loop (BatchNorm) / AUTO_ENGINE[device]."""
    if engine != "auto":
        return engine
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return "loop"
    return AUTO_ENGINE.get(device.type, "vmap")


def _per_member_loss(loss_fn, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return vmap(loss_fn, in_dims=(0, None))(out, y)


class _VmapEngine:
    """Stacked parameters {name: (E, …)}; one vmapped grad call per step for all members."""

    def __init__(self, models: list[nn.Module], members: list[Member], loss_fn, cfg: TrainConfig):
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in models[0].modules()):
            raise ValueError("engine='vmap' cannot train BatchNorm models (running statistics); use engine='loop'")
        self.template, self.loss_fn, self.cfg = models[0], loss_fn, cfg
        names = [name for name, _ in self.template.named_parameters()]
        self.params = {n: torch.stack([m.get_parameter(n).detach() for m in models]) for n in names}
        mults = [lr_multipliers(model, member.lr_mult) for model, member in zip(models, members)]
        self.lrs = {
            n: torch.tensor([mb.lr * mult[n] for mb, mult in zip(members, mults)], dtype=p.dtype, device=p.device)
            .view(-1, *[1] * (p.dim() - 1))
            for n, p in self.params.items()
        }
        self.momentum_buffers: dict[str, torch.Tensor] | None = None
        self.grads: dict[str, torch.Tensor] = {}

        def loss_and_output(params, x, y):
            out = functional_call(self.template, params, (x,))
            return loss_fn(out, y), out

        self._grad = vmap(grad_and_value(loss_and_output, has_aux=True), in_dims=(0, None, None))
        self._forward = vmap(lambda params, x: functional_call(self.template, params, (x,)), in_dims=(0, None))

    def forward(self, x, y, active, need_grad):
        if need_grad:
            self.grads, (loss, out) = self._grad(self.params, x, y)
            return loss, out
        out = self.evaluate(x)
        return _per_member_loss(self.loss_fn, out, y), out

    @torch.no_grad()
    def evaluate(self, x):
        return self._forward(self.params, x)

    @torch.no_grad()
    def update(self, active: torch.Tensor, lr_scale: float) -> None:
        # Stock optimizers cannot give each member its own LR, so torch.optim.SGD's update is written
        # out here on the stacked tensors; frozen members are kept by torch.where (NaNs never mix in).
        cfg, frozen = self.cfg, not bool(active.all())
        first = self.momentum_buffers is None
        if cfg.momentum and first:
            self.momentum_buffers = {}
        for n, p in self.params.items():
            mask = active.view_as(self.lrs[n])
            g = self.grads[n]
            if cfg.weight_decay:
                g = g.add(p, alpha=cfg.weight_decay)
            if cfg.momentum:
                if first:
                    buf = g.clone()
                elif frozen:
                    old = self.momentum_buffers[n]
                    buf = torch.where(mask, old * cfg.momentum + g, old)
                else:
                    buf = self.momentum_buffers[n].mul_(cfg.momentum).add_(g)
                self.momentum_buffers[n] = buf
                g = g.add(buf, alpha=cfg.momentum) if cfg.nesterov else buf
            step = self.lrs[n] * lr_scale
            if frozen:
                self.params[n] = torch.where(mask, p - step * g, p)
            else:
                p.addcmul_(step, g, value=-1.0)

    def state(self) -> dict[str, torch.Tensor]:
        return {n: p.clone() for n, p in self.params.items()}

    def member_module(self, i: int) -> nn.Module:
        module = copy.deepcopy(self.template)
        with torch.no_grad():
            for n, p in module.named_parameters():
                p.copy_(self.params[n][i])
        return module


class _LoopEngine:
    """One module and one torch.optim.SGD (a parameter group per parameter) per member."""

    def __init__(self, models: list[nn.Module], members: list[Member], loss_fn, cfg: TrainConfig):
        self.models, self.loss_fn = models, loss_fn
        self.optimizers = [
            torch.optim.SGD(param_groups(model, mb.lr, mb.lr_mult), lr=mb.lr, momentum=cfg.momentum,
                            nesterov=cfg.nesterov, weight_decay=cfg.weight_decay)
            for model, mb in zip(models, members)
        ]
        self.base_lrs = [[g["lr"] for g in opt.param_groups] for opt in self.optimizers]

    def forward(self, x, y, active, need_grad):
        losses, outs = [], []
        for model, opt, is_active in zip(self.models, self.optimizers, active.tolist()):
            if not is_active:  # frozen: no forward (BN statistics must not move)
                losses.append(torch.full((), math.nan, dtype=x.dtype, device=x.device))
                outs.append(None)
                continue
            model.train()
            saved = None if need_grad else copy.deepcopy(dict(model.named_buffers()))
            with torch.set_grad_enabled(need_grad):
                out = model(x)
                loss = self.loss_fn(out, y)
            if saved is not None:  # the last, logging-only forward leaves BN statistics as they were
                with torch.no_grad():
                    for name, buffer in model.named_buffers():
                        buffer.copy_(saved[name])
            if need_grad:
                opt.zero_grad(set_to_none=True)
                loss.backward()
            losses.append(loss.detach())
            outs.append(out.detach())
        like = next(o for o in outs if o is not None) if any(o is not None for o in outs) else None
        outs = [torch.full_like(like, math.nan) if o is None else o for o in outs] if like is not None else None
        return torch.stack(losses), (torch.stack(outs) if outs is not None else None)

    @torch.no_grad()
    def evaluate(self, x):
        outs = []
        for model in self.models:
            model.eval()
            outs.append(model(x))
            model.train()
        return torch.stack(outs)

    def update(self, active: torch.Tensor, lr_scale: float) -> None:
        for opt, base, is_active in zip(self.optimizers, self.base_lrs, active.tolist()):
            if is_active:
                for group, lr in zip(opt.param_groups, base):
                    group["lr"] = lr * lr_scale
                opt.step()

    def state(self) -> dict[str, torch.Tensor]:
        dicts = [m.state_dict() for m in self.models]
        return {k: torch.stack([d[k].detach().clone() for d in dicts]) for k in dicts[0]}

    def member_module(self, i: int) -> nn.Module:
        return copy.deepcopy(self.models[i])


def _batch_indices(n: int, batch_size: int | None, steps: int, seed: int):
    """Yield the sample indices of steps 0…steps (None = full batch), the same for every member."""
    if batch_size is None:
        for _ in range(steps + 1):
            yield None
        return
    if batch_size > n:
        raise ValueError(f"batch_size ({batch_size}) must be <= the number of samples ({n})")
    gen = torch.Generator().manual_seed(seed)
    per_epoch = n // batch_size
    for t in range(steps + 1):
        if t % per_epoch == 0:
            perm = torch.randperm(n, generator=gen, device="cpu")
        k = t % per_epoch
        yield perm[k * batch_size:(k + 1) * batch_size]


def _evaluate(engine, loss_fn, X, y, chunk: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Per-member (loss, accuracy) on (X, y), in chunks weighted by size; accuracy only for K > 1."""
    n, loss, acc = len(X), 0.0, 0.0
    for start in range(0, n, chunk):
        xc, yc = X[start:start + chunk], y[start:start + chunk]
        out = engine.evaluate(xc)
        w = len(xc) / n
        loss = loss + w * _per_member_loss(loss_fn, out, yc)
        acc = acc + w * accuracy(out, _labels(yc))
    return loss, (acc if out.shape[-1] > 1 else None)


def _labels(y: torch.Tensor) -> torch.Tensor:
    """One-hot targets → class indices; indices unchanged."""
    return y.argmax(dim=-1) if y.is_floating_point() and y.dim() == 2 else y


def train_ensemble(
    make_model: Callable[[], nn.Module],
    members: Sequence[Member],
    X: torch.Tensor,
    y: torch.Tensor,
    cfg: TrainConfig,
    *,
    X_eval: torch.Tensor | None = None,
    y_eval: torch.Tensor | None = None,
    callback: Callable[[int, EnsembleState], dict | None] | None = None,
) -> EnsembleResult:
    """Train every member (model = make_model() under torch.manual_seed(member.seed)) on (X, y).

    callback(step, state) runs at every logged step before the update; a dict it returns
    ({column: value or E values}) becomes extra history columns at that step.
    """
    members = list(members)
    if not members:
        raise ValueError("members must not be empty")
    if len(X) != len(y):
        raise ValueError(f"X and y must have as many samples; got {len(X)} and {len(y)}")
    if (X_eval is None) != (y_eval is None):
        raise ValueError("give both X_eval and y_eval, or neither")
    loss_fn = get_loss(cfg.loss)
    models = [seeded(make_model, m.seed, X.device, X.dtype) for m in members]
    engine = (_VmapEngine if choose_engine(cfg.engine, models[0], X.device) == "vmap" else _LoopEngine)(
        models, members, loss_fn, cfg)
    E = len(members)
    diverged = torch.zeros(E, dtype=torch.bool, device=X.device)
    diverged_step = torch.full((E,), -1, dtype=torch.long, device="cpu")
    loss0, records = None, []
    bar = tqdm(total=cfg.steps, disable=not (cfg.progress and show_progress()), desc="train_ensemble")
    for t, idx in enumerate(_batch_indices(len(X), cfg.batch_size, cfg.steps, cfg.data_seed)):
        xb, yb = (X, y) if idx is None else (X[idx], y[idx])
        loss, out = engine.forward(xb, yb, ~diverged, need_grad=t < cfg.steps)
        loss0 = loss.clone() if loss0 is None else loss0
        bad = ~torch.isfinite(loss)
        if cfg.diverge_factor is not None:
            bad |= loss > cfg.diverge_factor * loss0
        newly = bad & ~diverged
        diverged_step[newly.cpu()] = t
        diverged |= newly
        evaluate = X_eval is not None and (t == cfg.steps or (cfg.eval_every is not None and t % cfg.eval_every == 0))
        log = t % cfg.log_every == 0 or t == cfg.steps
        if log or evaluate:
            row = {"step": t, "loss": loss, "diverged": diverged.clone()}
            if out.shape[-1] > 1:
                row["train_acc"] = accuracy(out, _labels(yb))
            if evaluate:
                row["eval_loss"], row["eval_acc"] = _evaluate(engine, loss_fn, X_eval, y_eval, cfg.eval_batch_size)
            if log and callback is not None:
                row.update(callback(t, EnsembleState(t, loss, diverged.clone(), engine.member_module)) or {})
            records.append(row)
        if t < cfg.steps:
            if not bool(diverged.all()):
                scale = 1.0 if cfg.lr_schedule is None else float(cfg.lr_schedule(t))
                engine.update(~diverged, scale)
            bar.update()
    bar.close()
    history = _tidy(records, members, diverged_step)
    return EnsembleResult(history, diverged.cpu(), diverged_step, engine.state(), members, engine)


def _tidy(records: list[dict], members: list[Member], diverged_step: torch.Tensor) -> pd.DataFrame:
    """One row per (member, logged step), up to and including a member's divergence step."""
    E = len(members)
    frames = []
    for row in records:
        columns = {"member": np.arange(E), "seed": [m.seed for m in members], "lr": [m.lr for m in members]}
        for key, value in row.items():
            if value is None:
                continue
            value = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else value
            columns[key] = np.broadcast_to(np.asarray(value), (E,))
        frames.append(pd.DataFrame(columns))
    history = pd.concat(frames, ignore_index=True)
    stop = diverged_step.numpy()[history["member"].to_numpy()]
    keep = (stop < 0) | (history["step"].to_numpy() <= stop)
    return history[keep].sort_values(["member", "step"], kind="stable").reset_index(drop=True)
