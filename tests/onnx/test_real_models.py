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
