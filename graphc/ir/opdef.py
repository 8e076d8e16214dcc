"""OpDef: the one definition of an op (attributes, type rule, NumPy kernel, gradient rule)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphc.ir.errors import AttributeError_, UnknownOpError
from graphc.ir.types import DType, TensorType, as_dtype, check_dim

Attrs = dict[str, Any]
InferFn = Callable[..., list[TensorType]]
REQUIRED = object()


def _coerce_int(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise AttributeError_(f"expected an int, got {v!r}")
    return int(v)


def _coerce_float(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise AttributeError_(f"expected a number, got {v!r}")
    return float(v)


def _coerce_bool(v: object) -> bool:
    if not isinstance(v, (bool, np.bool_)):
        raise AttributeError_(f"expected true or false, got {v!r}")
    return bool(v)


def _coerce_str(v: object) -> str:
    if not isinstance(v, str):
        raise AttributeError_(f"expected a string, got {v!r}")
    return v


def _coerce_ints(v: object) -> tuple[int, ...]:
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return (int(v),)
    if not isinstance(v, (tuple, list)):
        raise AttributeError_(f"expected a list of ints, got {v!r}")
    return tuple(_coerce_int(x) for x in v)


def _coerce_dims(v: object) -> tuple[int | str, ...]:
    """Shape-like: ints (-1 allowed, the op checks) and symbolic dims."""
    if not isinstance(v, (tuple, list)):
        v = (v,)
    return tuple(int(d) if isinstance(d, (int, np.integer)) and d < 0 else check_dim(d) for d in v)


def _coerce_array(v: object) -> np.ndarray:
    arr = np.asarray(v)
    as_dtype(arr.dtype)  # raises DTypeError for unsupported element types
    return arr


def _coerce_dtype(v: object) -> DType:
    return as_dtype(v)


def _optional(coerce: Callable[[object], Any]) -> Callable[[object], Any]:
    return lambda v: None if v is None else coerce(v)


COERCE: dict[str, Callable[[object], Any]] = {
    "int": _coerce_int,
    "float": _coerce_float,
    "bool": _coerce_bool,
    "str": _coerce_str,
    "ints": _coerce_ints,
    "dims": _coerce_dims,
    "dtype": _coerce_dtype,
    "array": _coerce_array,
    "int?": _optional(_coerce_int),
    "ints?": _optional(_coerce_ints),
}


@dataclass(frozen=True)
class AttrSpec:
    """An attribute's kind (a key of COERCE) and default (REQUIRED if none)."""

    kind: str
    default: Any = REQUIRED


@dataclass(eq=False)
class OpDef:
    """Everything graphc knows about one op, defined in one place.

    infer(in_types, attrs) -> result types, raising ShapeError/DTypeError;
    kernel(*arrays, **attrs) -> array or tuple of arrays (the NumPy reference);
    canon(in_types, attrs) -> attrs in canonical form (e.g. negative axes made positive);
    vjp(ctx, node, out_grads) -> input gradients (None: no gradient rule).

    Traits: what passes and backends may assume about the op, set where the op is defined and
    tested as ``node.op.<trait>``, never by the op's name. Flags (all False by default):
    - ``differentiable``: has a gradient (True by default; False for integer/boolean results);
    - ``elementwise``: a scalar function applied per element with NumPy broadcasting; the only
      ops (with constants) allowed in a fused body;
    - ``commutative``: operands 0 and 1 may swap (CSE, rewrite patterns);
    - ``has_body``: the node carries a region (the fused ops);
    - ``region_body``: the body is a graph of whole-tensor ops (``scan``), which passes
      rewrite like any graph (fused bodies are scalar and left alone); its vjp gets a fourth
      argument, the autodiff pass's ``gradients``, to differentiate the body;
    - ``elementwise_body``: the body runs per element of the broadcast operands (``fused``), so
      the node as a whole behaves like an elementwise op;
    - ``constant_like``: reads no operand; the value is an attribute (``constant``);
    - ``broadcast``: per element the identity (``broadcast_to``): fusion passes it through;
    - ``view``: the result is operand 0's elements re-indexed (reshape, transpose, slice ...),
      so a backend may return a strided view instead of computing it;
    - ``reduction``: reduces over ``axis`` and ``fused_reduce`` can run it (its name is a
      ``reduce`` attribute value): sum, mean, max, min, prod;
    - ``contraction``: sums products over a contracted dimension (matmul, convolutions): a
      backend runs it on its GEMM;
    - ``nonnegative``: every result element is >= 0 or nan (exp, sqrt, relu, softmax ...);
    - ``collective``: communicates with the other MPI ranks (allreduce, broadcast): never
      folded at compile time, the identity (and dropped) in a world of one process.
    Traits with data:
    - ``anchor``: for an epilogue op (``fused_matmul``), the op whose result is the body's
      argument 0 and whose operands are inputs 0-1; ``epilogue_op(anchor)`` is the reverse;
    - ``batch_split``: {operand index: dim} that shrink with result dim 0 when the result is
      computed in chunks along it (convolutions, pooling; conv2d_weight_grad only without
      groups); None: not batch-splittable.
    - ``check_bound(shapes, attrs)``: the shape rule's checks that need sizes, run again at
      call time on the operands' concrete shapes once symbolic dims are bound (a max over an
      axis of size B, called with B = 0); raises ShapeError. None: nothing to check.
    - ``prune(node, used)``: a copy of the node computing only the results at indices ``used``
      (and those it cannot drop), with the old -> new result index map; None: keep the node.
      DCE calls it on nodes with unread results (a scan's stacked outputs nobody reads).
    - ``invariant_args(node)``: the body arguments that hold the same value in every run of
      the body (a scan's captures): ``hoist`` moves body ops that read only those out of the loop.
    Cost: ``cost(node, in_shapes, out_shapes)``: the floating-point operations of one
    application for concrete shapes (the profiler's FLOPs; rules in graphc/ops/_cost.py).
    """

    name: str
    family: str
    infer: InferFn
    kernel: Callable[..., Any]
    arity: int | None = 1  # None: variadic
    attrs: dict[str, AttrSpec] = field(default_factory=dict)
    canon: Callable[[Sequence[TensorType], Attrs], Attrs] | None = None
    vjp: Callable[..., Any] | None = None
    differentiable: bool = True
    elementwise: bool = False
    commutative: bool = False
    has_body: bool = False
    region_body: bool = False
    elementwise_body: bool = False
    constant_like: bool = False
    broadcast: bool = False
    view: bool = False
    reduction: bool = False
    contraction: bool = False
    nonnegative: bool = False
    collective: bool = False
    anchor: OpDef | None = None
    batch_split: dict[int, int] | None = None
    cost: Callable[..., float] | None = None
    check_bound: Callable[[Sequence[tuple[int, ...]], Attrs], None] | None = None
    prune: Callable[..., Any] | None = None
    invariant_args: Callable[..., Sequence[int]] | None = None
    doc: str = ""

    def check_attrs(self, attrs: Attrs, in_types: Sequence[TensorType]) -> Attrs:
        """Coerce and default attributes; arity and unknown names are errors."""
        if self.arity is not None and len(in_types) != self.arity:
            raise AttributeError_(f"takes {self.arity} operand(s), got {len(in_types)}")
        unknown = set(attrs) - set(self.attrs)
        if unknown:
            raise AttributeError_(
                f"unknown attribute(s) {sorted(unknown)}; expected {sorted(self.attrs)}"
            )
        out: Attrs = {}
        for key, spec in self.attrs.items():
            if key in attrs:
                try:
                    out[key] = COERCE[spec.kind](attrs[key])
                except AttributeError_ as e:
                    raise AttributeError_(f"attribute {key!r}: {e}") from None
            elif spec.default is REQUIRED:
                raise AttributeError_(f"missing required attribute {key!r}")
            else:
                out[key] = spec.default
        return self.canon(in_types, out) if self.canon else out

    def __repr__(self) -> str:
        return f"<op {self.name}>"


REGISTRY: dict[str, OpDef] = {}
_EPILOGUES: dict[OpDef, OpDef] = {}  # anchor -> its epilogue op, kept by register()


def register(op: OpDef) -> OpDef:
    """Add an op to the catalogue; names are unique."""
    if op.name in REGISTRY:
        raise ValueError(f"op {op.name!r} registered twice")
    REGISTRY[op.name] = op
    if op.anchor is not None:
        _EPILOGUES[op.anchor] = op
    return op


def lookup(name: str) -> OpDef:
    """The registered op called ``name`` (UnknownOpError, a KeyError, if none).

    The catalogue (graphc.ops, imported by the graphc package) fills REGISTRY; ir itself never
    imports it."""
    op = REGISTRY.get(name)
    if op is None:
        raise UnknownOpError(f"unknown op {name!r} ({len(REGISTRY)} ops registered)")
    return op


def ops_with(trait: str) -> tuple[str, ...]:
    """Names of the registered ops with flag ``trait`` set (for rewrite patterns)."""
    return tuple(name for name, op in REGISTRY.items() if getattr(op, trait))


def epilogue_op(anchor: OpDef) -> OpDef | None:
    """The registered op that runs ``anchor`` with an elementwise epilogue (``fused_matmul``
    for ``matmul``); None if there is none."""
    return _EPILOGUES.get(anchor)
