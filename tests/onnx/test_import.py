"""graphc.onnx.load: models built with onnx.helper, run against NumPy written out."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import graphc as gc
from graphc.onnx import UnsupportedError, load


def _model(nodes, inputs, outputs, inits=(), opset=18):
    g = helper.make_graph(nodes, "m", inputs, outputs, initializer=list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


def _mlp():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3)).astype(np.float32)
    b = rng.normal(size=(3,)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Add", ["h", "b"], ["z"]),
             helper.make_node("Relu", ["z"], ["y"])]
    m = _model(nodes, [_vi("x", ["N", 4])], [_vi("y", ["N", 3])],
               [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    return m, w, b


def test_graph_has_inputs_parameters_outputs():
    m, w, _ = _mlp()
    model = load(m)
    assert model.input_names == ["x"] and model.output_names == ["y"]
    (x,) = model.graph.inputs
    assert x.type.shape == ("N", 4)  # dim_param is a symbolic dim
    assert [p.name for p in model.graph.params] == ["w", "b"]
    np.testing.assert_array_equal(model.graph.param_by_name("w").param.value, w)
    assert len(model.graph.outputs) == 1


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_mlp_runs(backend, tmp_path):
    m, w, b = _mlp()
    path = tmp_path / "m.onnx"
    onnx.save(m, path)
    x = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)
    (y,) = load(str(path)).compile(backend=backend)(x)
    np.testing.assert_allclose(y, np.maximum(x @ w + b, 0), rtol=1e-5, atol=1e-6)


def test_shape_subgraph_is_folded():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as exporters write a flatten."""
    c = numpy_helper.from_array
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["y"])]
    inits = [c(np.array(0, np.int64), "zero"), c(np.array([0], np.int64), "zero1"),
             c(np.array([-1], np.int64), "minus1")]
    model = load(_model(nodes, [_vi("x", [2, 3, 4])], [_vi("y", [2, 12])], inits))
    assert [n.op.name for n in model.graph.nodes] == ["reshape"]
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    (y,) = model.compile(backend="numpy")(x)
    np.testing.assert_array_equal(y, x.reshape(2, 12))


def test_if_with_constant_condition_is_folded():
    then = helper.make_graph([helper.make_node("Neg", ["x"], ["t"])], "then", [],
                             [_vi("t", [3])])
    other = helper.make_graph([helper.make_node("Abs", ["x"], ["e"])], "else", [],
                              [_vi("e", [3])])
    nodes = [helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(
                 np.array(False))),
             helper.make_node("If", ["c"], ["y"], then_branch=then, else_branch=other)]
    model = load(_model(nodes, [_vi("x", [3])], [_vi("y", [3])]))
    x = np.array([-1, 2, -3], np.float32)
    np.testing.assert_array_equal(model.compile(backend="numpy")(x)[0], np.abs(x))


def test_reduce_axes_input_and_slice_inputs():
    c = numpy_helper.from_array
    nodes = [helper.make_node("ReduceSum", ["x", "axes"], ["r"], keepdims=0),
             helper.make_node("Slice", ["r", "starts", "ends", "ax", "steps"], ["y"])]
    inits = [c(np.array([1], np.int64), "axes"), c(np.array([-1], np.int64), "starts"),
             c(np.array([-(2**63)], np.int64), "ends"), c(np.array([0], np.int64), "ax"),
             c(np.array([-2], np.int64), "steps")]
    model = load(_model(nodes, [_vi("x", [5, 3])], [_vi("y", [3])], inits))
    x = np.arange(15, dtype=np.float32).reshape(5, 3)
    np.testing.assert_array_equal(model.compile(backend="numpy")(x)[0], x.sum(1)[::-2])


def test_unknown_op_names_node_op_and_opset():
    m = _model([helper.make_node("Frobnicate", ["x"], ["y"], name="f1")],
               [_vi("x", [2])], [_vi("y", [2])], opset=17)
    with pytest.raises(UnsupportedError, match=r"'f1' \(Frobnicate, opset 17\)"):
        load(m)


def test_unsupported_dtype_names_the_input():
    m = _model([helper.make_node("Relu", ["x"], ["y"])],
               [_vi("x", [2], TensorProto.FLOAT16)], [_vi("y", [2], TensorProto.FLOAT16)])
    with pytest.raises(UnsupportedError, match="input 'x': unsupported dtype float16"):
        load(m)


def test_unsupported_attribute_value():
    m = _model([helper.make_node("LpNormalization", ["x"], ["y"], p=3, name="n")],
               [_vi("x", [2])], [_vi("y", [2])])
    with pytest.raises(UnsupportedError, match="'n' .*p=3"):
        load(m)


def test_runtime_shape_input_says_how_to_fix_it():
    m = _model([helper.make_node("Reshape", ["x", "s"], ["y"])],
               [_vi("x", [6]), _vi("s", [2], TensorProto.INT64)], [_vi("y", [2, 3])])
    with pytest.raises(UnsupportedError, match=r"fixed=\{'s': value\}"):
        load(m)
    model = load(m, fixed={"s": np.array([2, 3])})
    assert model.input_names == ["x"]
    x = np.arange(6, dtype=np.float32)
    np.testing.assert_array_equal(model.compile(backend="numpy")(x)[0], x.reshape(2, 3))


def test_malformed_file_is_a_graphc_error(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage\xff\xff\xff")
    with pytest.raises(gc.GraphcError, match="bad.onnx"):
        load(str(bad))
    with pytest.raises(gc.GraphcError, match="cannot read"):
        load(str(tmp_path / "missing.onnx"))


def test_missing_onnx_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx raises ImportError
    with pytest.raises(gc.GraphcError, match=r"graphc\[onnx\]"):
        load("whatever.onnx")


def _flatten_batch(extra_nodes=(), out="shape"):
    c = numpy_helper.from_array
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
             helper.make_node("Mul", ["n1", "two"], ["n2"]),
             helper.make_node("Concat", ["n2", "minus1"], ["shape"], axis=0),
             *extra_nodes,
             helper.make_node("Reshape", ["x", out], ["y"])]
    inits = [c(np.array(0, np.int64), "zero"), c(np.array([0], np.int64), "zero1"),
             c(np.array([2], np.int64), "two"), c(np.array([-1], np.int64), "minus1")]
    return _model(nodes, [_vi("x", ["N", 4, 3])], [_vi("y", ["M", 6])], inits)


def test_symbolic_shape_subgraph_is_folded():
    model = load(_flatten_batch())
    assert [n.op.name for n in model.graph.nodes] == ["reshape"]
    assert model.graph.nodes[0].attrs["shape"] == ("2*N", 6)
    run = model.compile(backend="numpy")
    for n in (1, 3):
        x = np.arange(n * 12, dtype=np.float32).reshape(n, 4, 3)
        np.testing.assert_array_equal(run(x)[0], x.reshape(2 * n, 6))


def test_symbolic_arithmetic_graphc_cannot_express():
    add = helper.make_node("Add", ["shape", "one"], ["bad"], name="plus")
    m = _flatten_batch([add], out="bad")
    m.graph.initializer.append(numpy_helper.from_array(np.array([1, 0], np.int64), "one"))
    with pytest.raises(UnsupportedError, match=r"'plus' \(Add, opset 18\): Add of the symbolic"):
        load(m)


def test_malformed_node_is_a_graphc_error():
    m = _model([helper.make_node("MaxPool", ["x"], ["y"], name="pool")],  # no kernel_shape
               [_vi("x", [1, 1, 4, 4])], [_vi("y", [1, 1, 2, 2])])
    with pytest.raises(gc.GraphcError, match=r"'pool' \(MaxPool, opset 18\): cannot import"):
        load(m)


def test_scan_maps_onto_gc_scan():
    """A running sum: state s, scan input rows of x; outputs the final s and every s."""
    body = helper.make_graph(
        [helper.make_node("Add", ["s_in", "row"], ["s_out"]),
         helper.make_node("Mul", ["s_out", "w"], ["y"])], "body",
        [_vi("s_in", [3]), _vi("row", [3])], [_vi("s_out", [3]), _vi("y", [3])])
    node = helper.make_node("Scan", ["s0", "x"], ["s", "ys"], body=body, num_scan_inputs=1,
                            scan_input_directions=[1])
    w = numpy_helper.from_array(np.array([1, 2, 3], np.float32), "w")  # captured from outside
    model = load(_model([node], [_vi("s0", [3]), _vi("x", [4, 3])],
                        [_vi("s", [3]), _vi("ys", [4, 3])], [w]))
    assert "scan" in [n.op.name for n in model.graph.nodes]
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    s, ys = model.compile(backend="numpy")(np.ones(3, np.float32), x)
    sums = 1 + np.cumsum(x[::-1], axis=0)  # scan_input_directions=[1]: last row first
    np.testing.assert_allclose(s, sums[-1])
    np.testing.assert_allclose(ys, sums * [1, 2, 3])
