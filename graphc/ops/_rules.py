"""Type-rule helpers shared by the op families."""

from __future__ import annotations

from collections.abc import Sequence

from graphc.ir.errors import AttributeError_, DTypeError, ShapeError
from graphc.ir.opdef import Attrs
from graphc.ir.types import DType, TensorType, broadcast_shapes

FLOAT = "float"
NUMERIC = "numeric"  # ints and floats, not bool
BOOL = "bool"
ANY = "any"

_ACCEPTS = {
    FLOAT: lambda d: d.is_float,
    NUMERIC: lambda d: d.is_float or d.is_int,
    BOOL: lambda d: d.is_bool,
    ANY: lambda d: True,
}


def require_dtype(t: TensorType, kind: str, what: str = "operand") -> DType:
    """The operand's dtype if it is of ``kind`` (float, numeric, bool, any)."""
    if not _ACCEPTS[kind](t.dtype):
        raise DTypeError(f"{what} has dtype {t.dtype}; expected a {kind} dtype")
    return t.dtype


def same_dtype(types: Sequence[TensorType], kind: str) -> DType:
    """All operands share one dtype of ``kind``; graphc never promotes implicitly."""
    dtypes = {t.dtype for t in types}
    if len(dtypes) > 1:
        names = ", ".join(str(t.dtype) for t in types)
        raise DTypeError(f"operand dtypes differ ({names}); cast one explicitly")
    return require_dtype(types[0], kind)


def broadcast(types: Sequence[TensorType]) -> tuple:
    return broadcast_shapes(*(t.shape for t in types))


def elementwise_rule(kind: str, result: DType | None = None):
    """Rule for n-ary elementwise ops: same dtype of ``kind``, broadcast shapes."""

    def infer(in_types: Sequence[TensorType], attrs: Attrs) -> list[TensorType]:
        dtype = same_dtype(in_types, kind)
        return [TensorType(result or dtype, broadcast(in_types))]

    return infer


def where_rule(in_types: Sequence[TensorType], attrs: Attrs) -> list[TensorType]:
    cond, a, b = in_types
    require_dtype(cond, BOOL, "condition")
    dtype = same_dtype([a, b], ANY)
    return [TensorType(dtype, broadcast(in_types))]


def cast_rule(in_types: Sequence[TensorType], attrs: Attrs) -> list[TensorType]:
    return [in_types[0].with_dtype(attrs["dtype"])]


def canon_axes(axes: Sequence[int] | None, rank: int) -> tuple[int, ...]:
    """Sorted, non-negative, unique axes; None means every axis."""
    if axes is None:
        return tuple(range(rank))
    out = set()
    for a in axes:
        if not -rank <= a < rank:  # a scalar has no axis, as in NumPy
            raise AttributeError_(f"axis {a} out of range for rank {rank}")
        out.add(a % rank)
    if len(out) != len(axes):
        raise AttributeError_(f"repeated axis in {list(axes)}")
    return tuple(sorted(out))


def canon_axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise AttributeError_(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def reduced_shape(shape: tuple, axes: tuple[int, ...], keepdims: bool) -> tuple:
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def require_nonempty(shape: tuple, axes: Sequence[int]) -> None:
    """Reductions without an identity (max, argmax, ...) need every reduced static dim > 0."""
    for a in axes:
        if shape[a] == 0:
            raise ShapeError(f"axis {a} has size 0 and this reduction has no identity; "
                             "expected a non-empty axis")


def require_rank(t: TensorType, rank: int, what: str) -> None:
    if t.rank != rank:
        raise ShapeError(f"{what} must have rank {rank}, got {t}")

