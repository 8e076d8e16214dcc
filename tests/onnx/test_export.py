"""graphc.onnx.export: checked models, onnxruntime equal, export -> import round trips."""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np
import onnxruntime as ort
import pytest

import graphc as gc
from graphc.onnx import UnsupportedError, export, load

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples"))
from cnn_digits import build_cnn  # noqa: E402
from mlp_digits import build_mlp  # noqa: E402


def _ort(path, feeds):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


@pytest.mark.parametrize(("build", "shape"), [(build_mlp, (64,)), (build_cnn, (1, 8, 8))])
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_examples_run_in_onnxruntime(build, shape, backend, tmp_path):
    rng = np.random.default_rng(0)
    with gc.Graph("m"):
        x = gc.placeholder("x", ("B", *shape))
        f = gc.function([x], build(x, 10, rng).eval_logits, backend=backend)
    path = tmp_path / "m.onnx"
    model = export(f, path)  # llvm: the fused program, written as primitive ops
    assert not any(n.op_type.startswith("fused") for n in model.graph.node)
    xb = rng.normal(size=(5, *shape)).astype(np.float32)
    want = f(xb)
    (got,) = _ort(path, {"x": xb})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    (back,) = load(str(path)).compile(backend=backend)(xb)
    np.testing.assert_allclose(back, want, rtol=1e-5, atol=1e-6)


def test_training_step_exports_its_forward_and_says_so(tmp_path):
    rng = np.random.default_rng(0)
    with gc.Graph("train"):
        x = gc.placeholder("x", ("B", 64))
        y = gc.placeholder("y", ("B",), "int64")
        m = build_mlp(x, 10, rng)
        loss = gc.mean(gc.softmax_cross_entropy(m.train_logits, y))
        step = gc.function([x, y], loss, updates=gc.optim.SGD(m.params, lr=0.1).updates(loss))
        forward = gc.function([x, y], loss)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        export(step, tmp_path / "step.onnx")
    assert any("training step" in str(w.message) for w in caught)
    xb = rng.normal(size=(4, 64)).astype(np.float32)
    yb = np.array([1, 2, 3, 4])
    want = forward(xb, yb)  # before the step runs (it updates the parameters)
    (got,) = _ort(tmp_path / "step.onnx", {"x": xb, "y": yb})
    np.testing.assert_allclose(got, want, rtol=1e-5)


def _many_ops(x, idx):
    h = gc.softmax(x, axis=-1) + gc.log_softmax(x, axis=0) * 0.5
    h = gc.layer_norm(h) - gc.rsqrt(gc.square(x) + 1.0)
    h = gc.concat([h, gc.pad(x, [(0, 0), (1, 0)], value=2.0)[:, :4]], axis=0)
    h = gc.where(h > 0.0, gc.gelu(h), gc.elu(h))
    h = h + gc.cast(gc.argmax(h, axis=1, keepdims=True), "float32")
    h = gc.transpose(gc.reshape(h, (2, 4, 3)), (1, 0, 2))
    r = [gc.sum(h, axis=(0, 2)), gc.max(h, axis=1).reshape((-1,)), gc.logsumexp(h, axis=0)
         .reshape((-1,)), gc.take(x.reshape((-1,)), idx), gc.cumsum(gc.exp(x), axis=1)[0]]
    return gc.concat(r, axis=0)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_round_trip_same_numbers(backend, tmp_path):
    with gc.Graph("ops"):
        x = gc.placeholder("x", (3, 4))
        idx = gc.placeholder("idx", (5,), "int64")
        f = gc.function([x, idx], _many_ops(x, idx), backend=backend)
    export(f, tmp_path / "ops.onnx")
    xb = np.random.default_rng(2).normal(size=(3, 4)).astype(np.float32)
    ib = np.array([0, 3, 11, 5, 5])
    want = f(xb, ib)
    (back,) = load(str(tmp_path / "ops.onnx")).compile(backend=backend)(xb, ib)
    np.testing.assert_allclose(back, want, rtol=1e-5, atol=1e-6)
    (got,) = _ort(tmp_path / "ops.onnx", {"x": xb, "idx": ib})
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def test_export_errors(tmp_path):
    with gc.Graph("g") as g:
        x = gc.placeholder("x", (4,))
        noisy = x + gc.random.uniform(gc.random.state("k", 0), (4,))  # not foldable
        f = gc.function([x], noisy)
    with pytest.raises(UnsupportedError, match="random"):
        export(f, tmp_path / "r.onnx")
    with pytest.raises(gc.GraphcError, match="no results"):
        export(g, tmp_path / "g.onnx")
    with pytest.raises(gc.GraphcError, match="opset"):
        export(gc.function([x], x * 2.0), tmp_path / "o.onnx", opset=9)
    assert not os.path.exists(tmp_path / "r.onnx")
