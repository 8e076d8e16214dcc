"""clip_grad_norm and schedules against torch, gc.summary's table."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

torch = pytest.importorskip("torch")
S = gc.optim.schedules


@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(max_norm: float) -> None:
    rng = np.random.default_rng(0)
    gs = [rng.normal(size=s).astype(np.float32) for s in ((3, 4), (5,), ())]
    with gc.Graph("c"):
        ps = [gc.placeholder(f"g{i}", g.shape) for i, g in enumerate(gs)]
        clipped, norm = gc.optim.clip_grad_norm(ps, max_norm)
        got = gc.function(ps, [*clipped, norm], backend="llvm")(*gs)
    ts = [torch.nn.Parameter(torch.zeros(g.shape)) for g in gs]
    for t, g in zip(ts, gs, strict=True):
        t.grad = torch.tensor(g)
    want_norm = torch.nn.utils.clip_grad_norm_(ts, max_norm)
    np.testing.assert_allclose(got[-1], want_norm.numpy(), rtol=1e-6)
    for g, t in zip(got[:-1], ts, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-6, atol=1e-7)


def _torch_lrs(make, steps: int) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_schedules_match_torch() -> None:
    lrs = torch.optim.lr_scheduler
    cases = [
        (S.step(0.1, 3, 0.5), lambda o: lrs.StepLR(o, 3, 0.5)),
        (S.cosine(0.1, 10, 0.01), lambda o: lrs.CosineAnnealingLR(o, 10, 0.01)),
        (S.linear_warmup(0.1, 4), lambda o: lrs.LambdaLR(o, lambda t: min(1.0, (t + 1) / 4))),
    ]
    # 11 steps: past T_max torch's cosine rises again, graphc's holds min_lr (tested below)
    for mine, theirs in cases:
        np.testing.assert_allclose([mine(t) for t in range(11)], _torch_lrs(theirs, 11),
                                   rtol=1e-12)


def test_warmup_cosine_shape_and_lr_parameter() -> None:
    f = S.warmup_cosine(1.0, warmup=10, total=110, min_lr=0.1)
    assert f(0) == pytest.approx(0.1) and f(9) == pytest.approx(1.0)
    assert f(10) == pytest.approx(1.0) and f(60) == pytest.approx(0.55)
    assert f(110) == pytest.approx(0.1) and f(500) == pytest.approx(0.1)
    with gc.Graph("lr"):
        lr = gc.parameter("lr", 0.0, "float32")
        S.set_lr(lr, f(5))
        assert lr.value.dtype == np.float32 and lr.value == np.float32(0.6)
    with pytest.raises(gc.GraphcError):
        S.warmup_cosine(1.0, 10, 10)


def test_summary_lists_parameters() -> None:
    with gc.Graph("m") as g:
        x = gc.placeholder("x", ("B", 3))
        layer = gc.nn.Dense(4, name="fc")
        layer(x)
        gc.random.state("rng", 0)
    s = gc.summary(g)
    assert [(r.name, r.type, r.count) for r in s.rows] == [
        ("fc.w", "f32[3,4]", 12), ("fc.b", "f32[4]", 4), ("rng", "i32[2]", 2)]
    assert gc.summary(layer.params).total == 16
    text = str(s)
    assert "fc.w" in text and text.splitlines()[-1].split()[-1] == "18"
