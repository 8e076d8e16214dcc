"""``export``: a graphc graph (or the program of a compiled function) to an ONNX model.

Each graphc op has one emitter in export_ops.EMITTERS writing ONNX nodes; fused ops are
written as their primitive ops (the body inlined). A function with parameter updates (a
training step) exports its outputs only, and warns.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from graphc.frontend.function import Function
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value
from graphc.ir.types import DType
from graphc.onnx.errors import UnsupportedError, require_onnx
from graphc.support.files import atomic_write

DEFAULT_OPSET = 18  # Reduce* axes and Split sizes are inputs from here on
ELEM_TYPES = {"float32": 1, "float64": 11, "int32": 6, "int64": 7, "bool": 9}


def elem_type(dt: DType) -> int:
    """The ONNX TensorProto element type of a graphc dtype."""
    return ELEM_TYPES[dt.name]


class Emitter:
    """Collects ONNX nodes and initializers, naming values as it goes."""

    def __init__(self, onnx: Any, opset: int) -> None:
        self.onnx = onnx
        self.opset = opset
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.names: dict[Value, str] = {}
        self._count = 0

    def fresh(self, hint: str = "t") -> str:
        self._count += 1
        return f"{hint}_{self._count}"

    def node(self, op_type: str, inputs: list[str], n_out: int = 1, **attrs: Any) -> Any:
        """Add a node; returns its output name (a list when n_out > 1)."""
        outs = [self.fresh(op_type.lower()) for _ in range(n_out)]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outs, name=outs[0],
                                                     **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value: Any, dtype: Any = None) -> str:
        """An initializer holding ``value``."""
        arr = np.asarray(value, dtype)
        name = self.fresh("const")
        self.inits.append(self.onnx.numpy_helper.from_array(arr, name))
        return name

    def ints(self, values: Any) -> str:
        return self.const(np.asarray(list(values), np.int64).reshape(-1))


def export(what: Graph | Function, path: str | os.PathLike[str] | None,
           opset: int | None = None) -> Any:
    """Write ``what`` (a graph with results, or a compiled function) as an ONNX model to
    ``path`` (None: only return it); returns the ModelProto, checked with full_check."""
    onnx = require_onnx()
    graph = _graph_of(what)
    opset = _check_opset(onnx, DEFAULT_OPSET if opset is None else opset)
    e = Emitter(onnx, opset)
    inputs = [_value_info(onnx, v, str(v.name)) for v in graph.inputs]
    for v in graph.inputs:
        e.names[v] = str(v.name)
    for p in graph.params:
        e.names[p] = str(p.name)
        e.inits.append(onnx.numpy_helper.from_array(np.asarray(p.param.value), str(p.name)))
    emit_nodes(e, graph.needed(graph.outputs))
    outputs = _outputs(e, graph)
    g = onnx.helper.make_graph(e.nodes, graph.name, inputs, outputs, initializer=e.inits)
    model = onnx.helper.make_model(g, opset_imports=[onnx.helper.make_opsetid("", opset)],
                                   producer_name="graphc")
    model.ir_version = min(model.ir_version, onnx.IR_VERSION)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as err:  # the checker's own exceptions: say it is graphc's fault
        raise GraphcError(f"graphc.onnx.export wrote a model the ONNX checker rejects: {err}"
                          ) from None
    if path is not None:
        atomic_write(os.fspath(path), model.SerializeToString())
    return model


def emit_nodes(e: Emitter, nodes: list[Any]) -> None:
    from graphc.onnx.export_ops import EMITTERS  # the table imports Emitter from here

    for n in nodes:
        emit = EMITTERS.get(n.op.name)
        if emit is None:
            raise UnsupportedError(f"{n.describe()}: graphc op {n.op.name!r} has no ONNX export")
        outs = emit(e, n, [e.names[v] for v in n.inputs])
        outs = outs if isinstance(outs, list) else [outs]
        e.names.update(zip(n.outputs, outs, strict=True))


def _graph_of(what: Any) -> Graph:
    if isinstance(what, Function):
        if what.graph.updates:
            warnings.warn("graphc.onnx.export: the function updates parameters (a training "
                          "step); only its outputs (the forward computation) are exported",
                          stacklevel=3)
        return what.graph
    if not isinstance(what, Graph):
        raise GraphcError(f"graphc.onnx.export takes a gc.Graph or a compiled Function, "
                          f"got {what!r}")
    if not what.outputs:
        raise GraphcError(f"graph @{what.name} has no results to export; compile it with "
                          "gc.function or save it with gc.save_ir(g, path, outputs=[...])")
    return what


def _check_opset(onnx: Any, opset: int) -> int:
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, int) or not DEFAULT_OPSET <= opset <= newest:
        raise GraphcError(f"export opset must be an int in [{DEFAULT_OPSET}, {newest}], "
                          f"got {opset!r}")
    return opset


def _value_info(onnx: Any, v: Value, name: str) -> Any:
    shape = [d if isinstance(d, int) else str(d) for d in v.type.shape]
    return onnx.helper.make_tensor_value_info(name, elem_type(v.type.dtype), shape)


def _outputs(e: Emitter, graph: Graph) -> list[Any]:
    """Output value infos; a result that is an argument or repeated gets its own Identity."""
    out, seen = [], set()
    for v in graph.outputs:
        name = e.names[v]
        if v.node is None or name in seen:
            name = e.node("Identity", [name])
        seen.add(name)
        out.append(_value_info(e.onnx, v, name))
    return out
