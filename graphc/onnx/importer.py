"""``load``: an ONNX ModelProto (or file) to a graphc graph, one converter per node.

Values computable from constants and initializers are evaluated while importing (each new node
whose operands are all known is run with its op's reference kernel), so exporters' shape
subgraphs (Shape -> Gather -> Concat -> Reshape) become static attributes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from graphc.frontend.api import constant, parameter, placeholder
from graphc.frontend.function import function
from graphc.frontend.tensor import Tensor
from graphc.ir.clone import extract
from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value, current_graph
from graphc.ir.loc import Loc
from graphc.onnx import (  # noqa: F401  (fill the table)
    ops_control,
    ops_math,
    ops_nn,
    ops_resize,
    ops_shape,
)
from graphc.onnx.errors import StaticInputError, UnsupportedError, require_onnx
from graphc.onnx.symbolic import CONSUMERS, FOLDERS, SymShape
from graphc.onnx.table import CONVERTERS, DTYPES, ONNX_TYPE_NAMES, NodeContext
from graphc.ops import core
from graphc.ops.evaluate import run_node

FIRST_OPSET = 13
STATIC_LIMIT = 1 << 16  # elements: larger values are not evaluated at import time
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")


class Model:
    """An imported ONNX model: ``.graph`` (inputs, initializers as parameters, outputs)."""

    def __init__(self, graph: Graph, inputs: list[Tensor], outputs: list[Tensor],
                 input_names: list[str], output_names: list[str]) -> None:
        self.graph = graph
        self.input_names = input_names
        self.output_names = output_names
        self._inputs = inputs
        self._outputs = outputs

    def compile(self, backend: str = "llvm", passes: Any = None,
                **options: Any) -> Callable[..., list[np.ndarray]]:
        """A callable taking the inputs positionally and returning the list of outputs."""
        fn = function(self._inputs, list(self._outputs), backend=backend, passes=passes,
                      **options)

        def run(*args: Any) -> list[np.ndarray]:
            return [np.asarray(o) for o in fn(*args)]
        run.function = fn  # type: ignore[attr-defined]
        return run


def load(model: Any, fixed: dict[str, Any] | None = None) -> Model:
    """Import an ONNX model (a path or a ModelProto) as a graphc Model.

    ``fixed`` maps input names to values known at compile time (shapes, axes, counts that
    the model takes as inputs): they become constants and leave the compiled signature.
    """
    onnx = require_onnx()
    proto = _read(onnx, model)
    opset = _opset(proto)
    source = os.fspath(model) if isinstance(model, (str, os.PathLike)) else "<onnx>"
    return _Importer(proto.graph, opset, dict(fixed or {}), source).run()


def _read(onnx: Any, model: Any) -> Any:
    if isinstance(model, onnx.ModelProto):
        return model
    if not isinstance(model, (str, os.PathLike)):
        raise GraphcError(f"graphc.onnx.load takes a path or an onnx.ModelProto, got {model!r}")
    try:
        with open(model, "rb") as f:
            data = f.read()
    except OSError as e:
        raise GraphcError(f"cannot read ONNX file {os.fspath(model)!r}: {e.strerror}") from None
    proto = onnx.ModelProto()
    try:
        proto.ParseFromString(data)
    except Exception as e:  # protobuf's DecodeError and friends
        raise GraphcError(f"{os.fspath(model)!r} is not a valid ONNX model file "
                          f"({type(e).__name__}: {e})") from None
    if not proto.HasField("graph"):
        raise GraphcError(f"{os.fspath(model)!r} is not a valid ONNX model file (no graph)")
    return proto


def _opset(proto: Any) -> int:
    versions = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not versions:
        raise UnsupportedError("the model imports no ai.onnx opset")
    return versions[0]


def ident(name: str, taken: set[str]) -> str:
    """An identifier for an ONNX value name (graphc names are [A-Za-z_][A-Za-z0-9_.]*)."""
    base = name if _IDENT.fullmatch(name) else "v_" + re.sub(r"[^A-Za-z0-9_.]", "_", name)
    out, k = base, 1
    while out in taken:
        out, k = f"{base}_{k}", k + 1
    taken.add(out)
    return out


class _Importer:
    def __init__(self, graph_proto: Any, opset: int, fixed: dict[str, Any],
                 source: str) -> None:
        self.proto = graph_proto
        self.source = source
        self.count = 0  # ONNX nodes converted: graphc nodes point at the ONNX node's number
        self.fixed = fixed
        self.opset = opset
        self.graph = Graph(ident(graph_proto.name or "onnx", set()))
        self.env: dict[str, Tensor] = {}
        self.known: dict[Value, np.ndarray] = {}
        self.names: set[str] = set()
        self.onnx_names: dict[str, str] = {}  # placeholder name -> ONNX input name
        self.onnx = require_onnx()

    def run(self) -> Model:
        with self.graph:
            self._initializers()
            inputs = self._inputs()
            for node in self.proto.node:
                self.convert(node)
            outputs = [self._output(o.name) for o in self.proto.output]
        # outputs that are inputs/parameters themselves go through an identity copy
        outs = [o if o.ir.node is not None else _copy(o, self.graph) for o in outputs]
        program = extract(self.graph, [t.ir for t in inputs], [t.ir for t in outs],
                          name=self.graph.name)
        return Model(program, inputs, outs, [i.name for i in self._input_protos()
                                             if i.name not in self.fixed],
                     [o.name for o in self.proto.output])

    # -- arguments -------------------------------------------------------------------------
    def _initializers(self) -> None:
        numpy_helper = self.onnx.numpy_helper
        for init in self.proto.initializer:
            if init.data_type not in DTYPES:
                raise UnsupportedError(f"initializer {init.name!r}: unsupported dtype "
                                       f"{ONNX_TYPE_NAMES.get(init.data_type, init.data_type)}")
            arr = numpy_helper.to_array(init)
            t = parameter(ident(init.name, self.names), arr)
            self.env[init.name] = t
            if arr.size <= STATIC_LIMIT:
                self.known[t.ir] = arr

    def _input_protos(self) -> list[Any]:
        inits = {i.name for i in self.proto.initializer}
        return [i for i in self.proto.input if i.name not in inits]

    def _fix(self, vi: Any) -> None:
        tt = vi.type.tensor_type
        arr = np.asarray(self.fixed[vi.name], DTYPES[tt.elem_type].np)
        t = constant(arr, DTYPES[tt.elem_type])
        self.env[vi.name] = t
        self.known[t.ir] = arr

    def _inputs(self) -> list[Tensor]:
        out = []
        unknown = set(self.fixed) - {vi.name for vi in self._input_protos()}
        if unknown:
            raise GraphcError(f"fixed= names {sorted(unknown)}, which are not model inputs")
        for vi in self._input_protos():
            tt = vi.type.tensor_type
            if not vi.type.HasField("tensor_type"):
                raise UnsupportedError(f"input {vi.name!r}: only tensor inputs are supported")
            if tt.elem_type not in DTYPES:
                raise UnsupportedError(f"input {vi.name!r}: unsupported dtype "
                                       f"{ONNX_TYPE_NAMES.get(tt.elem_type, tt.elem_type)}")
            if vi.name in self.fixed:
                self._fix(vi)
                continue
            name = ident(vi.name, self.names)
            t = placeholder(name, _dims(vi.name, tt), DTYPES[tt.elem_type])
            self.onnx_names[name] = vi.name
            self.env[vi.name] = t
            out.append(t)
        return out

    def _output(self, name: str) -> Tensor:
        if name not in self.env:
            raise GraphcError(f"ONNX graph output {name!r} is computed by no node")
        if isinstance(self.env[name], SymShape):
            raise UnsupportedError(f"ONNX graph output {name!r} is a shape with symbolic dims "
                                   f"{list(self.env[name].dims)}; graphc outputs are tensors")
        return self.env[name]

    # -- nodes -----------------------------------------------------------------------------
    def convert(self, node: Any) -> None:
        ctx = NodeContext(node, self.opset, self._attrs(node), self.static, self.subgraph)
        if node.domain not in ("", "ai.onnx"):
            raise ctx.fail(f"domain {node.domain!r} is not supported")
        conv = CONVERTERS.get(node.op_type)
        if conv is None:
            raise ctx.fail("this op_type is not supported")
        ins = [self._input(ctx, n) for n in node.input]
        graph = current_graph() or self.graph  # a loop body while Scan traces one
        start = len(graph.nodes)
        if any(isinstance(i, SymShape) for i in ins) and node.op_type not in CONSUMERS:
            conv = self._fold_symbolic
        try:
            out = conv(ctx, *ins)
        except StaticInputError as e:
            raise self._static_hint(e) from None
        except UnsupportedError:
            raise
        except GraphcError as e:
            raise type(e)(f"{ctx.where}: {e}") from None
        except (TypeError, ValueError, KeyError, IndexError) as e:  # a malformed node
            raise GraphcError(f"{ctx.where}: cannot import this node (missing or malformed "
                              f"attributes or inputs?): {type(e).__name__}: {e}") from None
        outs = list(out) if isinstance(out, (list, tuple)) else [out]
        for i, name in enumerate(node.output):
            if not name:
                continue
            if i >= len(outs) or outs[i] is None:
                raise ctx.fail(f"output {i} ({name!r}) is not supported")
            self.env[name] = outs[i]
        self.count += 1
        where = Loc(self.source, self.count, f"{node.op_type} {node.name or node.output[0]}")
        for n in graph.nodes[start:]:
            n.loc = where
        self._evaluate(graph, start)

    def subgraph(self, body: Any, bind: dict[str, Tensor] | None = None) -> list[Tensor]:
        """Convert a branch's or loop body's nodes where the graph is being built (they see
        the outer names; ``bind`` gives the body's own inputs)."""
        self.env.update(bind or {})
        for node in body.node:
            self.convert(node)
        return [self._output(o.name) for o in body.output]

    def _fold_symbolic(self, ctx: NodeContext, *ins: Any) -> Tensor | SymShape:
        """A shape op on symbolic dims, folded on the dims (see graphc.onnx.symbolic)."""
        fold = FOLDERS.get(ctx.node.op_type)
        args = [i if i is None or isinstance(i, SymShape) else self.known.get(i.ir) for i in ins]
        if fold is None or any(a is None and i is not None for a, i in zip(args, ins,
                                                                            strict=True)):
            raise ctx.fail("an input depends on symbolic dims (a Shape of a tensor whose "
                           "shape has symbols) in a way graphc does not fold")
        out = SymShape(np.asarray(fold(ctx, *args), dtype=object))
        return out if out.symbolic else constant(out.dims.astype(np.int64))

    def _static_hint(self, e: StaticInputError) -> StaticInputError:
        """The error naming the ONNX input to fix, when one feeds the value directly."""
        name = self.onnx_names.get(e.input_name or "")
        if name is None:
            return StaticInputError(str(e), None)
        return StaticInputError(f"{e}; it is model input {name!r}: fix it at import time with "
                                f"graphc.onnx.load(model, fixed={{{name!r}: value}})", name)

    def _input(self, ctx: NodeContext, name: str) -> Tensor | None:
        if not name:
            return None
        if name not in self.env:
            raise GraphcError(f"{ctx.where}: input {name!r} is computed by no earlier node")
        return self.env[name]

    def _attrs(self, node: Any) -> dict[str, Any]:
        get = self.onnx.helper.get_attribute_value
        out = {}
        for a in node.attribute:
            v = get(a)
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, self.onnx.TensorProto):
                v = self.onnx.numpy_helper.to_array(v)
            elif isinstance(v, list) and v and isinstance(v[0], bytes):
                v = [b.decode() for b in v]
            out[a.name] = v
        return out

    # -- import-time values ----------------------------------------------------------------
    def _evaluate(self, graph: Graph, start: int) -> None:
        """Run each new node whose operands are all known (small results only)."""
        for n in graph.nodes[start:]:
            if n.op is core.constant:
                self.known[n.output] = n.attrs["value"]
                continue
            if n.body is not None or any(v not in self.known for v in n.inputs):
                continue
            if not all(v.type.is_static and _size(v.type.shape) <= STATIC_LIMIT
                       for v in n.outputs):
                continue
            with np.errstate(all="ignore"):
                results = run_node(n, [self.known[v] for v in n.inputs])
            self.known.update(zip(n.outputs, results, strict=True))

    def static(self, t: Tensor) -> np.ndarray | None:
        return self.known.get(t.ir)


def _size(shape: Sequence[int]) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _dims(name: str, tt: Any) -> tuple:
    if not tt.HasField("shape"):
        raise UnsupportedError(f"input {name!r} has no shape (rank unknown)")
    dims = []
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            dims.append(int(d.dim_value))
        elif d.HasField("dim_param") and _IDENT.fullmatch(d.dim_param):
            dims.append(d.dim_param.replace(".", "_"))
        else:
            dims.append(None if not d.dim_param else
                        "d_" + re.sub(r"[^A-Za-z0-9_]", "_", d.dim_param))
    return tuple(dims)


def _copy(t: Tensor, g: Graph) -> Tensor:
    with g:
        return t + constant(np.zeros((), t.dtype.np)) if t.dtype.name != "bool" else \
            t & constant(np.ones((), bool))
