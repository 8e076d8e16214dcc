"""gc.nn.RNN/LSTM/GRU vs torch.nn with copied weights: outputs, final states, every gradient."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

torch = pytest.importorskip("torch")

T, B, I, H = 5, 3, 4, 6

CASES = [
    ("RNN", {"nonlinearity": "tanh"}, False, False),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}, True, True),
    ("LSTM", {}, False, True),
    ("LSTM", {"num_layers": 2}, True, False),
    ("GRU", {}, True, True),
    ("GRU", {"num_layers": 2}, False, False),
    ("LSTM", {"num_layers": 2, "bidirectional": True}, True, True),
    ("GRU", {"bidirectional": True}, False, False),
    ("RNN", {"bidirectional": True}, False, True),
]


def _states(kind: str, st):
    return list(st) if kind == "LSTM" else [st]


def _torch_run(kind: str, kw: dict, batch_first: bool, x: np.ndarray, init):
    torch.manual_seed(0)
    layer = getattr(torch.nn, kind)(I, H, batch_first=batch_first, **kw).double()
    xt = torch.tensor(x, requires_grad=True)
    init_t = None if init is None else [torch.tensor(s, requires_grad=True) for s in init]
    arg = None if init_t is None else (tuple(init_t) if kind == "LSTM" else init_t[0])
    out, st = layer(xt, arg)
    results = [out, *_states(kind, st)]
    cost = sum((r * torch.tensor(np.cos(np.arange(r.numel())).reshape(r.shape))).sum()
               for r in results)
    cost.backward()
    grads = {k: p.grad.numpy() for k, p in layer.named_parameters()}
    grads["x"] = xt.grad.numpy()
    for i, s in enumerate(init_t or []):
        grads[f"s{i}"] = s.grad.numpy()
    weights = {k: v.numpy().copy() for k, v in layer.state_dict().items()}
    return [r.detach().numpy() for r in results], grads, weights


def _graphc_run(kind: str, kw: dict, batch_first: bool, x: np.ndarray, init, weights,
                backend: str):
    with gc.Graph("rnn"):
        xp = gc.placeholder("x", x.shape, "float64")
        inits = [] if init is None else [gc.placeholder(f"s{i}", s.shape, "float64")
                                         for i, s in enumerate(init)]
        layer = getattr(gc.nn, kind)(I, H, batch_first=batch_first, name="rnn", **kw)
        arg = None if not inits else (tuple(inits) if kind == "LSTM" else inits[0])
        out, st = layer(xp, arg)
        for k, v in weights.items():
            getattr(layer, k).value = v
        results = [out, *_states(kind, st)]
        cost = None
        for r in results:
            n = int(np.prod([d if isinstance(d, int) else 0 for d in r.shape]))
            term = gc.sum(r * gc.constant(np.cos(np.arange(n)).reshape(r.shape)))
            cost = term if cost is None else cost + term
        wrt = [getattr(layer, k) for k in weights] + [xp, *inits]
        grads = gc.grad(cost, wrt)
        f = gc.function([xp, *inits], results + grads, backend=backend)
    values = f(x, *(init or []))
    names = list(weights) + ["x"] + [f"s{i}" for i in range(len(inits))]
    return values[:len(results)], dict(zip(names, values[len(results):], strict=True))


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("kind, kw, batch_first, with_init", CASES)
def test_matches_torch(kind: str, kw: dict, batch_first: bool, with_init: bool,
                       backend: str) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((B, T, I) if batch_first else (T, B, I))
    layers = kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    init = None
    if with_init:
        init = [rng.standard_normal((layers, B, H)) for _ in range(2 if kind == "LSTM" else 1)]
    want, want_grads, weights = _torch_run(kind, kw, batch_first, x, init)
    got, got_grads = _graphc_run(kind, kw, batch_first, x, init, weights, backend)
    for a, b in zip(got, want, strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    assert set(got_grads) == set(want_grads)
    for k, g in want_grads.items():
        np.testing.assert_allclose(got_grads[k], g, rtol=1e-9, atol=1e-11, err_msg=k)


def test_parameter_names_and_shapes_follow_torch() -> None:
    with gc.Graph("names"):
        x = gc.placeholder("x", ("T", "B", 3))
        layer = gc.nn.LSTM(3, 5, num_layers=2, name="enc")
        layer(x)
    torch_shapes = {k: tuple(v.shape) for k, v in torch.nn.LSTM(3, 5, 2).state_dict().items()}
    ours = {p.name.split(".", 1)[1]: p.shape for p in layer.params}
    assert ours == torch_shapes
    assert all(p.dtype == gc.float32 for p in layer.params)


def test_bad_input_shape() -> None:
    with gc.Graph("bad"):
        x = gc.placeholder("x", (4, 2, 7))
        with pytest.raises(gc.ShapeError, match="I = 3"):
            gc.nn.GRU(3, 5)(x)
    with pytest.raises(gc.GraphcError, match="nonlinearity"):
        gc.nn.RNN(3, 5, nonlinearity="sigmoid")


def test_checkpoint_gives_the_same_gradients() -> None:
    """checkpoint=True saves only (h, c) per step and recomputes the cell: same numbers."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((T, B, I))
    grads = []
    for checkpoint in (False, True):
        with gc.Graph("ck"):
            xp = gc.placeholder("x", x.shape, "float64")
            layer = gc.nn.LSTM(I, H, name="lstm", seed=3, checkpoint=checkpoint)
            out, (h, c) = layer(xp)
            cost = gc.sum(out * out) + gc.sum(c)
            fwd = next(n for n in xp.graph.nodes if n.op.name == "scan")
            f = gc.function([xp], gc.grad(cost, [*layer.params, xp]))
            saved = len(fwd.outputs) - 3  # beyond h, c and the stacked h
        grads.append((f(x), saved))
    (plain, saved_plain), (ck, saved_ck) = grads
    assert saved_ck == 2 < saved_plain
    for a, b in zip(plain, ck, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
