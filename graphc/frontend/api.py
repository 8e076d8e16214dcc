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
        # None means "any size": a fresh symbol per axis (x_0), bound at call time like a name.
        dims.append(check_dim(f"{name.replace('.', '_')}_{axis}" if d is None else d))
    return tuple(dims)


def placeholder(name: str, shape: Any = (), dtype: Any = "float32") -> Tensor:
    """A graph input fed at call time; dims are ints, symbolic names or None.

    Each None is its own size (axis 0 of "x" is the symbol x_0), never assumed equal to
    another; name dims that must agree: x (B, 64) and labels (B,) share the batch size B.
    """
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


def _none_symbol(v: Value, axis: int) -> str:
    return f"{str(v.name).replace('.', '_')}_{axis}"


def _none_dims_hint(g: Graph, values: list[Value]) -> str:
    """When operands carry dims made from ``None``: each None is its own size, so say how to
    state that two of them are equal (the most common case: a batch dim)."""
    used = {s for v in values for s in v.type.symbols()}
    made = [(d, p, axis) for p in g.inputs for axis, d in enumerate(p.type.shape)
            if d == _none_symbol(p, axis) and d in used]
    if not made:
        return ""
    which = ", ".join(f"{d} (axis {axis} of {p.name!r})" for d, p, axis in made)
    named = " and ".join(f"gc.placeholder({p.name!r}, {_named_shape(p, axis)})"
                         for _, p, axis in made)
    return (f"{which} came from None, and each None dim is its own size; if they are the "
            f"same size, give them one name: {named}")


def _named_shape(p: Value, axis: int) -> tuple:
    return tuple("B" if i == axis else d for i, d in enumerate(p.type.shape))


def _graph_of(op: OpDef, operands: tuple[Any, ...]) -> Graph:
    tensors = [o for o in operands if isinstance(o, Tensor)]
    if any(t.graph is not tensors[0].graph for t in tensors):
        types = ", ".join(str(o.type) if isinstance(o, Tensor) else type(o).__name__
                          for o in operands)
        where = ", ".join(f"operand {i} ({o.type}) is in @{o.graph.name}"
                          for i, o in enumerate(operands) if isinstance(o, Tensor))
        raise GraphcError(f"{op.name}({types}) at {user_loc()}: operands come from different "
                          f"graphs: {where}; an op reads tensors of one graph")
    return tensors[0].graph if tensors else default_graph()


def _as_value(g: Graph, x: Any, like: DType | None) -> Value:
    """Tensors pass through; Python and NumPy scalars/arrays become constants."""
    if isinstance(x, Tensor):
        return x.ir
    if isinstance(x, (bool, int, float)) and like is not None:
        if isinstance(x, float) and not like.is_float:
            raise DTypeError(f"float literal {x!r} used with a {like} operand")
        return constant_in(g, np.asarray(x, like.np), None).ir
    return constant_in(g, x, None).ir


_traces: list[Any] = []  # scan bodies being traced, innermost last (graphc.frontend.loop)


def current_trace() -> Any:
    """The innermost scan body being traced, or None."""
    return _traces[-1] if _traces else None


def push_trace(trace: Any) -> None:
    """Start tracing a scan body: tensors of enclosing graphs read by ops become captures."""
    _traces.append(trace)


def pop_trace(trace: Any) -> None:
    """Stop tracing ``trace``."""
    _traces.remove(trace)


def _captured(operands: tuple[Any, ...]) -> tuple[Any, ...]:
    trace = current_trace()
    if trace is None:
        return operands
    return tuple(trace.capture(o) if isinstance(o, Tensor) else o for o in operands)


def apply(op: OpDef, /, *operands: Any, **attrs: Any) -> Any:
    """Record ``op`` on operands in their graph; returns a Tensor (tuple for multi-result)."""
    operands = _captured(operands)
    g = _graph_of(op, operands)
    like = next((o.dtype for o in operands if isinstance(o, Tensor)), None)
    values = [_as_value(g, o, like) for o in operands]
    try:
        node = g.add_node(op, values, attrs, user_loc())
    except ShapeError as e:
        hint = _none_dims_hint(g, values)
        if not hint:
            raise
        raise ShapeError(f"{e}; {hint}") from None
    outs = tuple(Tensor(v, g) for v in node.outputs)
    return outs[0] if len(outs) == 1 else outs


def wrap(value: Value, graph: Graph) -> Tensor:
    """A Tensor handle on an existing IR value."""
    return Tensor(value, graph)
