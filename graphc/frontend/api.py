"""Graph building: placeholder, parameter, constant, and apply (op + operands -> Tensor)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import DTypeError, GraphcError, ShapeError
from graphc.ir.graph import Graph, Param, Value, current_graph
from graphc.ir.loc import user_loc
from graphc.ir.opdef import OpDef
from graphc.ir.types import DType, TensorType, as_dtype, check_dim
from graphc.ops import core

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_default_graph: Graph | None = None


def default_graph() -> Graph:
    """The active ``with graph:`` graph, else a module-wide default graph."""
    global _default_graph
    active = current_graph()
    if active is not None:
        return active
    if _default_graph is None:
        _default_graph = Graph("default")
    return _default_graph


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise GraphcError(f"{what} name {name!r} must be an identifier ([A-Za-z_][A-Za-z0-9_.]*)")
    return name


def _dims(name: str, shape: Any) -> tuple:
    if isinstance(shape, (int, str)):
        shape = (shape,)
    dims = []
    for axis, d in enumerate(shape):
        # None means "any size": a fresh symbol per axis, bound at call time like a name.
        dims.append(check_dim(f"{name.replace('.', '_')}_{axis}" if d is None else d))
    return tuple(dims)


def placeholder(name: str, shape: Any = (), dtype: Any = "float32") -> Tensor:
    """A graph input fed at call time; dims are ints, symbolic names or None."""
    g = default_graph()
    t = TensorType(as_dtype(dtype), _dims(_check_name(name, "placeholder"), shape))
    return Tensor(g.add_input(name, t), g)


def parameter(name: str, value: Any, dtype: Any = None) -> Tensor:
    """A named graph parameter holding ``value`` (updated in place by gc.function updates)."""
    g = default_graph()
    arr = np.array(value, dtype=None if dtype is None else as_dtype(dtype).np)
    dt = as_dtype(arr.dtype)
    p = Param(_check_name(name, "parameter"), np.asarray(arr, dt.np, order="C"))  # keeps rank 0
    return Tensor(g.add_param(p, TensorType(dt, tuple(arr.shape))), g)


def set_param_value(t: Tensor, new: Any) -> None:
    """Replace a parameter's value; shape and dtype must match its type."""
    arr = np.asarray(new)
    want = t.type
    if arr.shape != want.shape:
        raise ShapeError(f"parameter {t.name!r} is {want}, got {arr.dtype}{list(arr.shape)}")
    if arr.dtype != want.dtype.np:
        raise DTypeError(f"parameter {t.name!r} is {want}, got {arr.dtype}{list(arr.shape)}; "
                         f"convert it first (e.g. .astype(np.{want.dtype.np.name}))")
    t.ir.param.value = np.asarray(arr, order="C")  # type: ignore[union-attr]


def constant(value: Any, dtype: Any = None) -> Tensor:
    """A literal array in the graph (Python floats default to float32)."""
    return constant_in(default_graph(), value, None if dtype is None else as_dtype(dtype))


def constant_in(g: Graph, value: Any, dtype: DType | None) -> Tensor:
    """A constant in graph ``g`` (``dtype`` None: from the value; bare floats are f32)."""
    arr = np.asarray(value)
    if dtype is None and arr.dtype == np.float64 and not isinstance(value, np.ndarray | np.generic):
        dtype = as_dtype("float32")  # a bare Python float is float32, as in PyTorch
    if dtype is not None:
        arr = arr.astype(dtype.np)
    node = g.add_node(core.constant, [], {"value": arr}, user_loc())
    return Tensor(node.output, g)


def _graph_of(operands: tuple[Any, ...]) -> Graph:
    graphs = {id(o.graph): o.graph for o in operands if isinstance(o, Tensor)}
    if len(graphs) > 1:
        names = ", ".join(f"@{g.name}" for g in graphs.values())
        raise GraphcError(f"operands come from different graphs ({names})")
    return next(iter(graphs.values())) if graphs else default_graph()


def _as_value(g: Graph, x: Any, like: DType | None) -> Value:
    """Tensors pass through; Python and NumPy scalars/arrays become constants."""
    if isinstance(x, Tensor):
        return x.ir
    if isinstance(x, (bool, int, float)) and like is not None:
        if isinstance(x, float) and not like.is_float:
            raise DTypeError(f"float literal {x!r} used with a {like} operand")
        return constant_in(g, np.asarray(x, like.np), None).ir
    return constant_in(g, x, None).ir


def apply(op: OpDef, *operands: Any, **attrs: Any) -> Any:
    """Record ``op`` on operands in their graph; returns a Tensor (tuple for multi-result)."""
    g = _graph_of(operands)
    like = next((o.dtype for o in operands if isinstance(o, Tensor)), None)
    values = [_as_value(g, o, like) for o in operands]
    node = g.add_node(op, values, attrs, user_loc())
    outs = tuple(Tensor(v, g) for v in node.outputs)
    return outs[0] if len(outs) == 1 else outs


def wrap(value: Value, graph: Graph) -> Tensor:
    """A Tensor handle on an existing IR value."""
    return Tensor(value, graph)
