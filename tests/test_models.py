import math

import pytest
import torch

from replicate.models import MLP, SmallConvNet, lr_multipliers, param_groups
from replicate.parametrizations import layer_table, table_frame

D, N, L, K = 12, 64, 3, 5


def test_tables_match_formulas():
    sp, ntk, mup, dmup = (layer_table(p, D, N, L, K) for p in ("sp", "ntk", "mup", "depth_mup"))
    for row in sp:
        assert (row.init_std, row.multiplier, row.lr_mult) == (math.sqrt(2 / row.fan_in), 1.0, 1.0)
    for row in ntk:
        assert (row.init_std, row.multiplier, row.lr_mult) == (1.0, math.sqrt(2 / row.fan_in), 1.0)
    assert [r.kind for r in mup] == ["input", "hidden", "hidden", "output"]
    assert [r.init_std for r in mup] == pytest.approx([math.sqrt(2 / D), math.sqrt(2 / N), math.sqrt(2 / N), 1 / N])
    assert [r.lr_mult for r in mup] == pytest.approx([N / D, 1, 1, 1 / N])
    assert [r.bias_lr_mult for r in mup] == pytest.approx([N, N, N, 1])
    assert [r.lr_mult for r in dmup] == pytest.approx([r.lr_mult * L**-1.5 for r in mup])
    frame = table_frame(mup, "mup")
    assert list(frame["lr_mult_formula"]) == ["n/d", "1", "1", "1/n"]
    assert len(MLP(D, N, L, K, "ntk").table_frame()) == L + 1


def test_init_follows_table_and_sp_equals_ntk_at_init():
    torch.manual_seed(0)
    sp = MLP(D, 512, 2, K, "sp")
    for row, layer in zip(sp.table, sp.layers):
        assert layer.weight.std().item() == pytest.approx(row.init_std, rel=0.1)
        assert torch.all(layer.bias == 0)
    # SP and NTK are the same function at init (W = σ z vs σ·z with z shared), with different gradients.
    torch.manual_seed(1)
    a = MLP(D, 128, 2, K, "sp").double()
    torch.manual_seed(1)
    b = MLP(D, 128, 2, K, "ntk").double()
    x = torch.randn(7, D, dtype=torch.float64)
    torch.testing.assert_close(a(x), b(x))


def test_preactivations_and_he_variance_preserved():
    torch.manual_seed(0)
    model = MLP(D, 1024, 4, K, "sp")
    x = torch.randn(256, D)
    out, pre = model(x, return_preactivations=True)
    assert len(pre) == 4 and pre[0].shape == (256, 1024)
    torch.testing.assert_close(out, model(x))
    second_moments = torch.stack([h.pow(2).mean() for h in pre[1:]])
    # He: E[h_l²] = E[h_{l-1}²] for hidden layers.
    assert second_moments.max() / second_moments.min() < 1.3


def _preactivation_change(parametrization: str, width: int, lr: float) -> float:
    """RMS change of the last hidden pre-activation after one SGD step (mean over 3 seeds)."""
    changes = []
    for seed in range(3):
        gen = torch.Generator().manual_seed(100 + seed)
        x, y = torch.randn(16, D, generator=gen, dtype=torch.float64), torch.randn(16, 1, generator=gen, dtype=torch.float64)
        torch.manual_seed(seed)
        model = MLP(D, width, 3, 1, parametrization).double()
        before = model(x, return_preactivations=True)[1][-1].detach()
        opt = torch.optim.SGD(param_groups(model, lr))
        (0.5 * (model(x) - y).pow(2).sum(-1).mean()).backward()
        opt.step()
        after = model(x, return_preactivations=True)[1][-1].detach()
        changes.append((after - before).pow(2).mean().sqrt().item())
    return sum(changes) / len(changes)


def test_mup_update_size_is_width_independent_and_sp_grows():
    widths = (128, 512, 2048)
    mup = [_preactivation_change("mup", n, lr=0.2) for n in widths]
    sp = [_preactivation_change("sp", n, lr=0.2) for n in widths]
    assert max(mup) / min(mup) < 1.3, mup
    assert sp[-1] / sp[0] > 2.5, sp  # ≈ √16 = 4 for SP at a fixed LR


def test_param_groups_apply_table_and_layer_multipliers():
    torch.manual_seed(0)
    model = MLP(D, N, L, K, "mup").double()
    mults = lr_multipliers(model, {"layers.0": 0.01})
    assert mults["layers.0.weight"] == pytest.approx(N / D * 0.01)
    assert mults["layers.3.weight"] == pytest.approx(1 / N)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD(param_groups(model, 0.1, {"layers.0": 0.01}))
    model(torch.randn(4, D, dtype=torch.float64)).sum().backward()
    opt.step()
    for n, p in model.named_parameters():
        torch.testing.assert_close(p.detach(), before[n] - 0.1 * mults[n] * p.grad)


def test_small_conv_net():
    net = SmallConvNet(3, 10, widths=(8, 16), bn=True)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in SmallConvNet(1, 4, bn=False).modules())


def test_bad_input():
    with pytest.raises(ValueError, match="parametrization must be one of"):
        MLP(D, N, L, K, "xavier")
    with pytest.raises(ValueError, match="width must be >= 1"):
        MLP(D, 0, L, K)
    with pytest.raises(ValueError, match="unknown layers"):
        param_groups(MLP(D, N, L, K), 0.1, {"layers.9": 0.5})
    with pytest.raises(ValueError, match="lr must be > 0"):
        param_groups(MLP(D, N, L, K), 0.0)
