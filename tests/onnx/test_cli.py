"""graphc import / export / run on .onnx files."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from graphc.cli import main


def _model(path):
    w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    g = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Tanh", ["h"], ["y"])],
        "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        initializer=[numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)]), path)
    return w


def test_import_export_run(tmp_path, capsys):
    w = _model(tmp_path / "m.onnx")
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.gir")]) == 0
    assert (tmp_path / "m.gir").read_text().startswith("graph @m(%x: f32[N,4]) params(%w")
    assert main(["export", str(tmp_path / "m.gir"), "--params", str(tmp_path / "m.npz"),
                 "-o", str(tmp_path / "back.onnx")]) == 0
    for name in ("m.onnx", "back.onnx"):
        out = tmp_path / name.replace(".onnx", "_out")
        assert main(["run", str(tmp_path / name), "--input", f"x={tmp_path / 'x.npy'}",
                     "--backend", "llvm", "--out", str(out)]) == 0
        np.testing.assert_allclose(np.load(out / "out0.npy"), np.tanh(x @ w), rtol=1e-5)
    assert "out0: float32[2, 3]" in capsys.readouterr().out


def test_errors_are_one_line(tmp_path, capsys):
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    assert main(["run", str(tmp_path / "bad.onnx")]) != 0
    assert "not a valid ONNX model file" in capsys.readouterr().err
    _model(tmp_path / "m.onnx")
    assert main(["import", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "m.gir")]) == 0
    assert main(["export", str(tmp_path / "m.gir"), "-o", str(tmp_path / "o.onnx")]) != 0
    assert "has no value; pass --params" in capsys.readouterr().err
