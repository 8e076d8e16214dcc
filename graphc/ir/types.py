"""dtypes and tensor types; dims are ints or symbolic products such as ``B`` or ``B*64``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from graphc.ir.errors import DTypeError, ShapeError


@dataclass(frozen=True)
class DType:
    """A scalar element type: its short IR name and its NumPy dtype."""

    short: str
    np: np.dtype

    @property
    def name(self) -> str:
        """NumPy's name (float32, ...)."""
        return self.np.name

    @property
    def is_float(self) -> bool:
        """Whether this is f32 or f64."""
        return self.np.kind == "f"

    @property
    def is_int(self) -> bool:
        """Whether this is i32 or i64."""
        return self.np.kind == "i"

    @property
    def is_bool(self) -> bool:
        """Whether this is bool."""
        return self.np.kind == "b"

    def __str__(self) -> str:
        return self.short

    def __repr__(self) -> str:
        return f"dtype({self.short})"


float32 = DType("f32", np.dtype(np.float32))
float64 = DType("f64", np.dtype(np.float64))
int32 = DType("i32", np.dtype(np.int32))
int64 = DType("i64", np.dtype(np.int64))
bool_ = DType("bool", np.dtype(np.bool_))

DTYPES: tuple[DType, ...] = (float32, float64, int32, int64, bool_)
_BY_NAME = {d.short: d for d in DTYPES} | {d.name: d for d in DTYPES}


def as_dtype(x: object) -> DType:
    """Accept a DType, 'float32', 'f32', np.float32 or np.dtype and return the DType."""
    if isinstance(x, DType):
        return x
    if isinstance(x, str) and x in _BY_NAME:
        return _BY_NAME[x]
    try:
        name = np.dtype(x).name  # type: ignore[call-overload]
    except TypeError:
        name = None
    if name in _BY_NAME:
        return _BY_NAME[name]
    known = ", ".join(d.name for d in DTYPES)
    raise DTypeError(f"unsupported dtype {x!r}; expected one of {known}")


# --- dims -------------------------------------------------------------------------------
# A dim is an int (>= 0) or a str: a symbol "B" or a product "2*B*T" (canonical order:
# integer coefficient first, then symbols sorted). Products let reshape/flatten keep
# symbolic batch sizes (flatten of [B,4,4] is [B*16]; reshape of that to [-1,16] is [B]).
Dim = int | str
_SYMBOL = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _factors(d: Dim) -> tuple[int, tuple[str, ...]]:
    if isinstance(d, int):
        return d, ()
    coef, syms = 1, []
    for part in d.split("*"):
        if part.isdigit():
            coef *= int(part)
        else:
            syms.append(part)
    return coef, tuple(sorted(syms))


def _make(coef: int, syms: tuple[str, ...]) -> Dim:
    if not syms or coef == 0:
        return coef
    parts = ([str(coef)] if coef != 1 else []) + sorted(syms)
    return "*".join(parts)


INT64_MAX = 2**63 - 1  # sizes, element counts and byte counts are int64 in every backend


def check_dim(d: object) -> Dim:
    """Validate one dim (int >= 0 or symbolic expression) and return it canonically."""
    if isinstance(d, (int, np.integer)) and not isinstance(d, bool):
        if d < 0:
            raise ShapeError(f"negative dimension {d}")
        if d > INT64_MAX:
            raise ShapeError(f"dimension {d} is beyond int64 (at most 2**63-1)")
        return int(d)
    if isinstance(d, str) and all(p.isdigit() or _SYMBOL.fullmatch(p) for p in d.split("*")):
        coef, syms = _factors(d)
        if coef > INT64_MAX:
            raise ShapeError(f"dimension {d} is beyond int64 (at most 2**63-1)")
        return _make(coef, syms)
    raise ShapeError(f"invalid dimension {d!r}: expected an int >= 0 or a symbolic name")


def dim_mul(a: Dim, b: Dim) -> Dim:
    """Product of two dims, symbolic where needed."""
    ca, sa = _factors(a)
    cb, sb = _factors(b)
    return _make(ca * cb, sa + sb)


def dim_prod(dims: tuple[Dim, ...]) -> Dim:
    """Product of dims (1 for an empty tuple)."""
    out: Dim = 1
    for d in dims:
        out = dim_mul(out, d)
    return out


def dim_div(a: Dim, b: Dim) -> Dim | None:
    """Exact quotient a / b, or None when it is not a whole dim."""
    ca, sa = _factors(a)
    cb, sb = _factors(b)
    rest = list(sa)
    for s in sb:
        if s not in rest:
            return None
        rest.remove(s)
    if cb == 0 or ca % cb:
        return None
    return _make(ca // cb, tuple(rest))


def is_static(d: Dim) -> bool:
    """Whether ``d`` is a plain int."""
    return isinstance(d, int)


def dim_symbols(d: Dim) -> tuple[str, ...]:
    """The symbols of ``d`` (sorted, repeated for powers)."""
    return _factors(d)[1]


def check_size(t: TensorType, env: dict[str, int]) -> None:
    """ShapeError when ``t`` with its symbols bound needs more than int64 bytes."""
    size = t.dtype.np.itemsize * math.prod(eval_dim(d, env) for d in t.shape)
    if size > INT64_MAX:
        bound = ", ".join(f"{s}={env[s]}" for s in sorted(t.symbols()))
        raise ShapeError(f"{t} with {bound} needs {size} bytes: beyond int64, more than any "
                         "machine can address")


def eval_dim(d: Dim, env: dict[str, int]) -> int:
    """The int value of a dim given bindings of its symbols."""
    coef, syms = _factors(d)
    return coef * math.prod(env[s] for s in syms)


# --- tensor types ---------------------------------------------------------------------


@dataclass(frozen=True)
class TensorType:
    """dtype plus shape; rank 0 prints as just the dtype (``f32``)."""

    dtype: DType
    shape: tuple[Dim, ...]

    def __post_init__(self) -> None:
        # No backend can index or allocate more than int64 bytes: such a type is an error
        # where it is made (an op's shape rule, a placeholder, the parser), never a wrap later.
        size = self.dtype.np.itemsize
        for d in self.shape:
            size *= d if isinstance(d, int) else _factors(d)[0]
        if size > INT64_MAX:
            times = " times its symbolic dims" if self.symbols() else ""
            raise ShapeError(f"{self} needs {size} bytes{times}: beyond int64, more than any "
                             "machine can address")

    @staticmethod
    def of(dtype: object, shape: tuple | list = ()) -> TensorType:
        """A type from any dtype spelling and a shape whose dims are checked."""
        return TensorType(as_dtype(dtype), tuple(check_dim(d) for d in shape))

    @property
    def rank(self) -> int:
        """The number of dims."""
        return len(self.shape)

    @property
    def is_static(self) -> bool:
        """Whether every dim is a plain int."""
        return all(isinstance(d, int) for d in self.shape)

    def with_shape(self, shape: tuple[Dim, ...]) -> TensorType:
        """The same dtype with ``shape``."""
        return TensorType(self.dtype, tuple(shape))

    def with_dtype(self, dtype: DType) -> TensorType:
        """The same shape with ``dtype``."""
        return TensorType(dtype, self.shape)

    def symbols(self) -> set[str]:
        """Every symbol in the shape."""
        return {s for d in self.shape for s in dim_symbols(d)}

    def concrete(self, env: dict[str, int]) -> tuple[int, ...]:
        """The int shape given bindings of the symbols."""
        return tuple(eval_dim(d, env) for d in self.shape)

    def __str__(self) -> str:
        if not self.shape:
            return self.dtype.short
        return f"{self.dtype.short}[{','.join(str(d) for d in self.shape)}]"


def broadcast_shapes(*shapes: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """NumPy broadcasting over symbolic dims; raises ShapeError (caller adds context)."""
    rank = max((len(s) for s in shapes), default=0)
    padded = [(1,) * (rank - len(s)) + tuple(s) for s in shapes]
    out = []
    for axis, dims in enumerate(zip(*padded, strict=True)):
        distinct = {d for d in dims if d != 1}
        if len(distinct) > 1:
            raise ShapeError(f"dims {sorted(map(str, distinct))} at axis {axis} do not broadcast")
        out.append(distinct.pop() if distinct else 1)
    return tuple(out)
