"""gc.nn layers: parameter names and shapes, values against NumPy, reuse, batch_norm forms."""

import numpy as np
import pytest

import graphc as gc

RNG = np.random.default_rng(0)


def _conv_ref(x, w, b, stride, pad):
    """Direct-loop NCHW x OIHW cross-correlation."""
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = (h - kh) // stride + 1, (wd - kw) // stride + 1
    out = np.zeros((n, o, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i * stride : i * stride + kh, j * stride : j * stride + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, w)
    return out + b[None, :, None, None]


def test_dense_parameters_and_values():
    with gc.Graph("g") as g:
        x = gc.placeholder("x", ("B", 5))
        y = gc.nn.dense(x, 3, activation="relu", name="fc", seed=0)
    assert [(p.name, p.type.shape) for p in g.params] == [("fc.w", (5, 3)), ("fc.b", (3,))]
    w, b = g.param_by_name("fc.w").param.value, g.param_by_name("fc.b").param.value
    assert np.all(b == 0) and np.abs(w).max() <= np.sqrt(6 / 8)  # glorot_uniform by default
    xs = RNG.normal(size=(4, 5)).astype(np.float32)
    got = gc.function([x], y)(xs)
    np.testing.assert_allclose(got, np.maximum(xs @ w + b, 0), rtol=1e-5, atol=1e-6)
    assert y.shape == ("B", 3)


def test_dense_layer_object_reuses_parameters():
    with gc.Graph("g") as g:
        a, c = gc.placeholder("a", (2, 4)), gc.placeholder("c", (7, 4))
        layer = gc.nn.Dense(6, activation=gc.tanh, bias=False, seed=1)
        ya, yc = layer(a), layer(c)
    assert [p.name for p in g.params] == ["dense.w"]
    assert layer.params == [layer.w] and layer.b is None
    assert ya.shape == (2, 6) and yc.shape == (7, 6)


def test_automatic_names_are_unique_and_explicit_duplicates_are_errors():
    with gc.Graph("g") as g:
        x = gc.placeholder("x", (2, 4))
        gc.nn.dense(gc.nn.dense(x, 4), 4)
        assert {p.name for p in g.params} == {"dense.w", "dense.b", "dense_1.w", "dense_1.b"}
        gc.nn.dense(x, 3, name="fc")
        with pytest.raises(gc.GraphcError, match="already has a parameter named 'fc.w'.*name="):
            gc.nn.dense(x, 3, name="fc")


def test_seed_and_initializer():
    with gc.Graph("g"):
        x = gc.placeholder("x", (2, 4))
        a = gc.nn.Dense(3, seed=7, init="he_normal")
        b = gc.nn.Dense(3, seed=7, init=gc.init.he_normal)
        a(x), b(x)
    np.testing.assert_array_equal(a.w.value, b.w.value)
    np.testing.assert_array_equal(a.w.value, gc.init.he_normal((4, 3), seed=7))


def test_layer_errors():
    with gc.Graph("g"):
        x = gc.placeholder("x", (2, "F"))
        i = gc.placeholder("i", (2, 4), "int64")
        cases = [
            (lambda: gc.nn.dense(x, 3), "static size"),
            (lambda: gc.nn.dense(i, 3), "float Tensor"),
            (lambda: gc.nn.Dense(0), "positive int"),
            (lambda: gc.nn.Dense(3, activation="nope"), "unknown activation"),
            (lambda: gc.nn.Dense(3, init="nope"), "unknown initializer"),
            (lambda: gc.nn.conv2d(x, 3, 3), "NCHW"),
            (lambda: gc.nn.batch_norm(gc.placeholder("z", (2, 3, 4))), r"\[N, C\]"),
        ]
        for make, match in cases:
            with pytest.raises(gc.GraphcError, match=match):
                make()


def test_a_layer_belongs_to_one_graph():
    layer = gc.nn.Dense(2)
    for name in ("a", "b"):
        with gc.Graph(name):
            x = gc.placeholder("x", (1, 3))
            if name == "a":
                layer(x)
            else:
                with pytest.raises(gc.GraphcError, match="another graph"):
                    layer(x)


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (1, 1), (2, 1)])
def test_conv2d_parameters_and_values(stride, padding):
    with gc.Graph("g") as g:
        x = gc.placeholder("x", ("B", 2, 6, 5))
        y = gc.nn.conv2d(x, 3, 3, stride=stride, padding=padding, name="c1", seed=0)
    assert [(p.name, p.type.shape) for p in g.params] == [("c1.w", (3, 2, 3, 3)), ("c1.b", (3,))]
    w = g.param_by_name("c1.w").param.value
    b = RNG.normal(size=3).astype(np.float32)
    g.param_by_name("c1.b").param.value = b
    assert np.abs(w).max() <= np.sqrt(6 / 18)  # he_uniform, fan_in = 2 * 3 * 3
    xs = RNG.normal(size=(2, 2, 6, 5)).astype(np.float32)
    want = _conv_ref(xs, w, b, stride, padding)
    np.testing.assert_allclose(gc.function([x], y)(xs), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 2, 5)])
@pytest.mark.parametrize("batch", ["static", "symbolic"])
def test_batch_norm_training_form(shape, batch):
    axes = (0,) if len(shape) == 2 else (0, 2, 3)
    with gc.Graph("g") as g:
        x = gc.placeholder("x", shape if batch == "static" else ("N", *shape[1:]))
        y, updates = gc.nn.batch_norm(x, name="bn", momentum=0.25)
        step = gc.function([x], y, updates=updates)
    assert [p.name for p in g.params] == [
        "bn.gamma", "bn.beta", "bn.running_mean", "bn.running_var"]
    xs = (RNG.normal(size=shape) * 3 + 2).astype(np.float32)
    ys = step(xs)
    mean, var = xs.mean(axis=axes, keepdims=True), xs.var(axis=axes, keepdims=True)
    np.testing.assert_allclose(ys, (xs - mean) / np.sqrt(var + 1e-5), rtol=1e-4, atol=1e-4)
    rm, rv = g.param_by_name("bn.running_mean"), g.param_by_name("bn.running_var")
    np.testing.assert_allclose(rm.param.value, 0.25 * xs.mean(axis=axes), rtol=1e-5)
    unbiased = xs.var(axis=axes, ddof=1)
    np.testing.assert_allclose(rv.param.value, 0.75 + 0.25 * unbiased, rtol=1e-5)


def test_batch_norm_inference_form_uses_running_statistics():
    with gc.Graph("g"):
        x = gc.placeholder("x", ("N", 2, 3, 3))
        bn = gc.nn.BatchNorm(name="bn")
        y_train, updates = bn(x, training=True)
        y_eval, no_updates = bn(x, training=False)
    assert no_updates == [] and len(updates) == 2
    bn.running_mean.value = np.array([1.0, -1.0], np.float32)
    bn.running_var.value = np.array([4.0, 0.25], np.float32)
    bn.gamma.value = np.array([2.0, 1.0], np.float32)
    bn.beta.value = np.array([0.0, 0.5], np.float32)
    xs = RNG.normal(size=(3, 2, 3, 3)).astype(np.float32)
    got = gc.function([x], y_eval)(xs)
    mean, std = np.array([1.0, -1.0]), np.sqrt(np.array([4.0, 0.25]) + 1e-5)
    want = (xs - mean[:, None, None]) / std[:, None, None] * np.array([2.0, 1.0])[:, None, None]
    want = want + np.array([0.0, 0.5])[:, None, None]
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert bn.params == [bn.gamma, bn.beta] and bn.state == [bn.running_mean, bn.running_var]
    train_out = gc.function([x], y_train)(xs)  # batch statistics: a different result
    assert not np.allclose(train_out, got, atol=1e-2)


def test_batch_norm_channel_mismatch_on_reuse():
    with gc.Graph("g"):
        bn = gc.nn.BatchNorm()
        bn(gc.placeholder("a", (4, 3)))
        with pytest.raises(gc.ShapeError, match="3 channels"):
            bn(gc.placeholder("b", (4, 5)))


def test_gradients_flow_through_layers():
    with gc.Graph("g"):
        x = gc.placeholder("x", (4, 1, 5, 5))
        conv = gc.nn.Conv2d(2, 3, padding=1, activation="relu", seed=0)
        bn = gc.nn.BatchNorm()
        h, _ = bn(conv(x))
        fc = gc.nn.Dense(3, seed=0)
        cost = gc.mean(gc.square(fc(gc.flatten(h, 1))))
        params = conv.params + bn.params + fc.params
        grads = gc.grad(cost, params)
        values = gc.function([x], grads)(RNG.normal(size=(4, 1, 5, 5)).astype(np.float32))
    assert [v.shape for v in values] == [p.shape for p in params]
    assert all(np.isfinite(v).all() and np.abs(v).sum() > 0 for v in values)


def test_a_failed_first_call_creates_no_parameters():
    with gc.Graph("g") as g:
        gc.parameter("bn.running_var", np.ones(3, np.float32))
        bn = gc.nn.BatchNorm(name="bn")
        x = gc.placeholder("x", (4, 3))
        with pytest.raises(gc.GraphcError, match="'bn.running_var'"):
            bn(x)
        assert [p.name for p in g.params] == ["bn.running_var"] and bn.params == []
        layer = gc.nn.Dense(2)
        with pytest.raises(gc.ShapeError):
            layer(gc.placeholder("z", (4, "F")))
        assert layer(x).shape == (4, 2) and layer.name == "dense"  # usable afterwards


def test_dense_on_a_batch_of_sequences():
    with gc.Graph("g"):
        x = gc.placeholder("x", (2, 5, 4))
        layer = gc.nn.Dense(3, seed=0)
        y = layer(x)
    xs = RNG.normal(size=(2, 5, 4)).astype(np.float32)
    want = xs @ layer.w.value + layer.b.value
    np.testing.assert_allclose(gc.function([x], y)(xs), want, rtol=1e-5, atol=1e-6)
