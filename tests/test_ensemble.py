import dataclasses

import pytest
import torch

from replicate.ensemble import AUTO_ENGINE, Member, TrainConfig, choose_engine, train_ensemble
from replicate.losses import get_loss
from replicate.models import MLP, SmallConvNet, param_groups

D, N, K = 8, 24, 3


def data(n=48, loss="ce", seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(n, D, generator=gen, dtype=torch.float64)
    labels = torch.randint(0, K, (n,), generator=gen)
    return X, labels if loss == "ce" else torch.nn.functional.one_hot(labels, K).double()


def make(parametrization="sp"):
    return lambda: MLP(D, N, 2, K, parametrization)


MEMBERS = [Member(0, 0.05), Member(1, 0.2, {"layers.0": 0.1}), Member(2, 0.1)]
CONFIGS = [
    dict(loss="ce", batch_size=16, momentum=0.9, nesterov=True, weight_decay=1e-3, lr_schedule=lambda t: 0.97**t),
    dict(loss="mse", batch_size=None, momentum=0.5),
    dict(loss="mse", batch_size=12),
]


@pytest.mark.parametrize("parametrization", ["sp", "mup"])
@pytest.mark.parametrize("kw", CONFIGS)
def test_vmap_engine_equals_loop_engine(kw, parametrization):
    X, y = data(loss=kw["loss"])
    results = [
        train_ensemble(make(parametrization), MEMBERS, X, y, TrainConfig(steps=12, engine=e, progress=False, **kw),
                       X_eval=X[:20], y_eval=y[:20])
        for e in ("vmap", "loop")
    ]
    for name, p in results[0].params.items():
        torch.testing.assert_close(p, results[1].params[name], rtol=0, atol=1e-6)
    cols = ["loss", "eval_loss", "eval_acc"]
    torch.testing.assert_close(torch.tensor(results[0].history[cols].to_numpy()),
                               torch.tensor(results[1].history[cols].to_numpy()), rtol=0, atol=1e-6, equal_nan=True)


def test_members_equal_individually_trained_models():
    """Reference: torch.optim.SGD on one model, batches = epochs of randperm(data_seed), last partial dropped."""
    X, y = data(n=40)
    cfg = TrainConfig(steps=9, loss="ce", batch_size=16, momentum=0.9, weight_decay=1e-2, progress=False, data_seed=3)
    result = train_ensemble(make("mup"), MEMBERS, X, y, cfg)
    for i, member in enumerate(MEMBERS):
        torch.manual_seed(member.seed)
        model = make("mup")().double()
        opt = torch.optim.SGD(param_groups(model, member.lr, member.lr_mult), momentum=0.9, weight_decay=1e-2)
        gen = torch.Generator().manual_seed(3)
        for t in range(cfg.steps):
            if t % 2 == 0:
                perm = torch.randperm(40, generator=gen)
            idx = perm[(t % 2) * 16:(t % 2 + 1) * 16]
            opt.zero_grad()
            get_loss("ce")(model(X[idx]), y[idx]).backward()
            opt.step()
        for name, p in result.member_module(i).named_parameters():
            torch.testing.assert_close(p, model.get_parameter(name), rtol=0, atol=1e-6)


def test_member_init_depends_only_on_its_seed():
    X, y = data()
    cfg = TrainConfig(steps=3, loss="ce", progress=False)
    a = train_ensemble(make(), [Member(3, 0.1), Member(5, 0.1)], X, y, cfg)
    b = train_ensemble(make(), [Member(7, 0.3), Member(3, 0.1), Member(9, 0.1)], X, y, cfg)
    for name, p in a.params.items():
        torch.testing.assert_close(p[0], b.params[name][1], rtol=0, atol=1e-12)
    assert not torch.equal(a.params["layers.0.weight"][0], a.params["layers.0.weight"][1])


@pytest.mark.parametrize("engine", ["vmap", "loop"])
def test_diverging_member_is_frozen_and_does_not_disturb_others(engine):
    X, y = data(loss="mse")
    cfg = TrainConfig(steps=15, loss="mse", momentum=0.9, engine=engine, progress=False, diverge_factor=100)
    calm = [Member(0, 0.05), Member(1, 0.1)]
    alone = train_ensemble(make(), calm, X, y, cfg)
    mixed = train_ensemble(make(), [calm[0], Member(4, 1e4), calm[1]], X, y, cfg)
    assert mixed.diverged.tolist() == [False, True, False]
    step = int(mixed.diverged_step[1])
    assert step >= 1 and mixed.diverged_step[[0, 2]].tolist() == [-1, -1]
    history = mixed.history
    assert history[history.member == 1].step.max() == step
    assert history[(history.member == 1) & (history.step == step)].diverged.item()
    for name, p in alone.params.items():
        torch.testing.assert_close(mixed.params[name][[0, 2]], p, rtol=0, atol=1e-12)
        assert torch.isfinite(mixed.params[name]).all()  # frozen at the divergence step, before any NaN


def test_history_eval_callback_and_member_module():
    X, y = data()
    seen = []

    def callback(step, state):
        seen.append(step)
        return {"out_norm": [state.member_module(i)(X).norm().item() for i in range(2)], "tag": step * 10}

    cfg = TrainConfig(steps=6, loss="ce", log_every=2, eval_every=3, progress=False)
    result = train_ensemble(make(), [Member(0, 0.1), Member(1, 0.2)], X, y, cfg, X_eval=X, y_eval=y, callback=callback)
    h = result.history
    assert seen == [0, 2, 4, 6]
    assert sorted(h.step.unique()) == [0, 2, 3, 4, 6]
    assert {"member", "seed", "lr", "step", "loss", "train_acc", "eval_loss", "eval_acc", "diverged", "out_norm"} <= set(h.columns)
    assert h[h.step == 2].eval_loss.isna().all() and h[h.step == 3].eval_loss.notna().all()
    assert len(h) == 2 * 5
    final = h[h.step == 6].sort_values("member")
    # Full batch: step-6 train loss = eval loss on the same data, and member_module reproduces it.
    torch.testing.assert_close(torch.tensor(final.loss.to_numpy()), torch.tensor(final.eval_loss.to_numpy()))
    for i in range(2):
        assert get_loss("ce")(result.member_module(i)(X), y).item() == pytest.approx(final.loss.iloc[i])
        assert final.out_norm.iloc[i] == pytest.approx(result.member_module(i)(X).norm().item())


def test_loop_engine_trains_batchnorm_convnet_and_vmap_refuses():
    gen = torch.Generator().manual_seed(0)
    X, y = torch.randn(32, 1, 8, 8, generator=gen), torch.randint(0, 2, (32,), generator=gen)
    X[y == 1] += 0.5
    make_net = lambda: SmallConvNet(1, 2, widths=(4,), bn=True)
    cfg = TrainConfig(steps=30, loss="ce", batch_size=16, momentum=0.9, engine="loop", progress=False)
    result = train_ensemble(make_net, [Member(0, 0.1), Member(1, 0.05)], X, y, cfg)
    first, last = result.history.groupby("member").loss.first(), result.history.groupby("member").loss.last()
    assert (last < first).all()
    assert result.params["features.1.running_mean"].shape == (2, 4)
    with pytest.raises(ValueError, match="engine='loop'"):
        train_ensemble(make_net, [Member(0, 0.1)], X, y, TrainConfig(steps=1, loss="ce", engine="vmap", progress=False))
    # engine="auto" (the default) takes the loop engine for BatchNorm, the same run as engine="loop"
    auto = train_ensemble(make_net, [Member(0, 0.1), Member(1, 0.05)], X, y, dataclasses.replace(cfg, engine="auto"))
    assert type(auto._engine).__name__ == "_LoopEngine"
    torch.testing.assert_close(auto.params["features.1.running_mean"], result.params["features.1.running_mean"])


def test_auto_engine_choice():
    device = torch.device("cpu")
    assert choose_engine("auto", SmallConvNet(1, 2, widths=(4,), bn=True), device) == "loop"
    assert choose_engine("auto", make()(), device) == AUTO_ENGINE["cpu"] == "vmap"  # benchmarks/ensemble.py
    assert choose_engine("auto", make()(), torch.device("cuda")) == "vmap"  # unmeasured: no GPU here
    assert choose_engine("loop", make()(), device) == "loop"
    assert TrainConfig(steps=1).engine == "auto"


def test_bad_input():
    with pytest.raises(ValueError, match="Member.lr"):
        Member(0, 0.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        TrainConfig(steps=1, loss="hinge")
    with pytest.raises(ValueError, match="engine must be one of"):
        TrainConfig(steps=1, engine="jax")
    with pytest.raises(ValueError, match="nesterov"):
        TrainConfig(steps=1, nesterov=True)
    X, y = data()
    with pytest.raises(ValueError, match="unknown layers"):
        train_ensemble(make(), [Member(0, 0.1, {"input": 0.1})], X, y, TrainConfig(steps=1, loss="ce"))
    with pytest.raises(ValueError, match="batch_size"):
        train_ensemble(make(), [Member(0, 0.1)], X, y, TrainConfig(steps=1, loss="ce", batch_size=1000))
