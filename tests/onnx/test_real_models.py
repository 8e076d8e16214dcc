"""A torch-exported CNN (squeezenet1_1's layers: ceil-mode pooling, concat, adaptive pooling)
and transformer encoder import and match onnxruntime on both backends; the full-size models
are ``python -m benchmarks.onnx_models``."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import graphc.onnx

torch = pytest.importorskip("torch", reason="torch (the bench extra) exports the models")
from benchmarks import onnx_models  # noqa: E402


@pytest.mark.parametrize(("name", "shape"), [("squeezenet1_1", (1, 3, 64, 64)),
                                             ("transformer_encoder", (2, 5, 128))])
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_exported_model_matches_onnxruntime(name, shape, backend, tmp_path):
    path = str(tmp_path / f"{name}.onnx")
    x = onnx_models.export(name, path, shape)
    (want,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    (got,) = graphc.onnx.load(path).compile(backend=backend)(x)
    assert got.shape == want.shape
    assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()


def test_symbolic_batch(tmp_path):
    """Exported with a dynamic batch axis: the importer folds the Shape -> Gather -> Mul ->
    Concat -> Reshape chains on the symbolic dim N; one compile runs two batch sizes."""
    path = str(tmp_path / "enc.onnx")
    onnx_models.export("transformer_encoder", path, (2, 5, 128), dynamic_batch=True)
    model = graphc.onnx.load(path)
    assert model.graph.inputs[0].type.shape == ("N", 5, 128)
    run = model.compile(backend="numpy")
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    for n in (1, 3):
        x = np.random.default_rng(n).normal(size=(n, 5, 128)).astype(np.float32)
        (want,) = sess.run(None, {"x": x})
        (got,) = run(x)
        assert np.abs(got - want).max() <= 1e-4 * np.abs(want).max()
