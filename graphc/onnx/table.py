"""The importer table (ONNX op_type -> converter) and the context a converter sees.

A converter is ``fn(ctx, *inputs) -> Tensor | list[Tensor]``: inputs are Tensors in the graph
being built (None for an omitted optional input). ``ctx.attr`` reads an attribute with its
default, ``ctx.static(i)`` the value of input i when it is computable at import time (shape
subgraphs, constants, initializers), ``ctx.fail`` raises an UnsupportedError naming the node.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.frontend.tensor import Tensor
from graphc.ir.types import DType, as_dtype
from graphc.onnx.errors import StaticInputError, UnsupportedError

Converter = Callable[..., Any]
CONVERTERS: dict[str, Converter] = {}

# ONNX TensorProto element types graphc has
DTYPES: dict[int, DType] = {1: as_dtype("float32"), 11: as_dtype("float64"),
                            6: as_dtype("int32"), 7: as_dtype("int64"), 9: as_dtype("bool")}
ONNX_TYPE_NAMES = {0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16",
                   6: "int32", 7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double",
                   12: "uint32", 13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"}


def converts(*op_types: str) -> Callable[[Converter], Converter]:
    """Register ``fn`` as the converter of ``op_types``."""
    def deco(fn: Converter) -> Converter:
        for t in op_types:
            CONVERTERS[t] = fn
        return fn
    return deco


class NodeContext:
    """One ONNX node being converted: its attributes, opset and import-time values."""

    def __init__(self, node: Any, opset: int, attrs: dict[str, Any],
                 static: Callable[[Tensor], np.ndarray | None],
                 subgraph: Callable[..., list[Tensor]]) -> None:
        self.node = node
        self.subgraph = subgraph  # converts a GraphProto attribute in the enclosing scope
        self.opset = opset
        self.attrs = attrs
        self._static = static

    @property
    def where(self) -> str:
        name = self.node.name or (self.node.output[0] if self.node.output else "?")
        return f"ONNX node {name!r} ({self.node.op_type}, opset {self.opset})"

    def fail(self, what: str) -> UnsupportedError:
        """An UnsupportedError naming this node and ``what`` is not supported."""
        return UnsupportedError(f"{self.where}: {what}")

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attrs.get(name, default)

    def static(self, x: Tensor | None, what: str = "this input") -> np.ndarray | None:
        """x's value at import time (None stays None); raises when x depends on an input."""
        if x is None:
            return None
        v = self._static(x)
        if v is None:
            input_name = x.name if x.ir.node is None and x.ir.param is None else None
            raise StaticInputError(f"{self.where}: {what} must be computable at import time "
                                   f"(a constant, an initializer or a static shape "
                                   f"computation)", input_name)
        return v

    def ints(self, x: Tensor | None, what: str = "this input") -> list[int] | None:
        v = self.static(x, what)
        return None if v is None else [int(i) for i in np.asarray(v).reshape(-1)]

    def dims(self, x: Any, what: str = "shape") -> list:
        """A shape input's entries: ints, or symbolic dims when it came from Shape."""
        from graphc.onnx.symbolic import SymShape

        if isinstance(x, SymShape):
            return list(x.dims.reshape(-1))
        return self.ints(x, what)

    def dtype(self, onnx_type: int) -> DType:
        if onnx_type not in DTYPES:
            raise self.fail(f"unsupported dtype {ONNX_TYPE_NAMES.get(onnx_type, onnx_type)}")
        return DTYPES[onnx_type]
