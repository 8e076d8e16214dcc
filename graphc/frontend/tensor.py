"""Tensor: the user's handle on an IR value, with NumPy-like operators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value
from graphc.ir.types import DType, TensorType

if TYPE_CHECKING:
    pass


class Tensor:
    """A symbolic value in a graph; arithmetic on it records ops in that graph."""

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, value: Value, graph: Graph) -> None:
        self.ir = value
        self.graph = graph

    # -- description -------------------------------------------------------------------
    @property
    def type(self) -> TensorType:
        return self.ir.type

    @property
    def shape(self) -> tuple:
        return self.ir.type.shape

    @property
    def ndim(self) -> int:
        return self.ir.type.rank

    @property
    def dtype(self) -> DType:
        return self.ir.type.dtype

    @property
    def name(self) -> str | None:
        return self.ir.name

    @property
    def value(self) -> np.ndarray:
        """The current value of a parameter."""
        if self.ir.param is None:
            raise GraphcError(f"{self!r} is not a parameter, so it holds no value")
        return self.ir.param.value

    @value.setter
    def value(self, new: Any) -> None:
        from graphc.frontend.api import set_param_value

        set_param_value(self, new)

    def __repr__(self) -> str:
        what = self.ir.name or (self.ir.node.op.name if self.ir.node else "value")
        return f"<Tensor {what}: {self.type}>"

    def __bool__(self) -> bool:
        raise GraphcError("a symbolic Tensor has no truth value; use gc.where for choices")

    def __len__(self) -> int:
        first = self.shape[0] if self.shape else None
        if not isinstance(first, int):
            raise GraphcError(f"len() of {self!r} is not a static int")
        return first

    # -- operators ---------------------------------------------------------------------
    def __add__(self, o: Any) -> Tensor:
        return _f().add(self, o)

    def __radd__(self, o: Any) -> Tensor:
        return _f().add(o, self)

    def __sub__(self, o: Any) -> Tensor:
        return _f().sub(self, o)

    def __rsub__(self, o: Any) -> Tensor:
        return _f().sub(o, self)

    def __mul__(self, o: Any) -> Tensor:
        return _f().mul(self, o)

    def __rmul__(self, o: Any) -> Tensor:
        return _f().mul(o, self)

    def __truediv__(self, o: Any) -> Tensor:
        return _f().div(self, o)

    def __rtruediv__(self, o: Any) -> Tensor:
        return _f().div(o, self)

    def __pow__(self, o: Any) -> Tensor:
        return _f().pow(self, o)

    def __rpow__(self, o: Any) -> Tensor:
        return _f().pow(o, self)

    def __matmul__(self, o: Any) -> Tensor:
        return _f().matmul(self, o)

    def __rmatmul__(self, o: Any) -> Tensor:
        return _f().matmul(o, self)

    def __neg__(self) -> Tensor:
        return _f().neg(self)

    def __abs__(self) -> Tensor:
        return _f().abs(self)

    def __lt__(self, o: Any) -> Tensor:
        return _f().less(self, o)

    def __le__(self, o: Any) -> Tensor:
        return _f().less_equal(self, o)

    def __gt__(self, o: Any) -> Tensor:
        return _f().greater(self, o)

    def __ge__(self, o: Any) -> Tensor:
        return _f().greater_equal(self, o)

    def __and__(self, o: Any) -> Tensor:
        return _f().logical_and(self, o)

    def __or__(self, o: Any) -> Tensor:
        return _f().logical_or(self, o)

    def __invert__(self) -> Tensor:
        return _f().logical_not(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _f().getitem(self, index)

    # == and != stay identity so tensors can be dict keys; use gc.equal / gc.not_equal.
    __hash__ = object.__hash__

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy's name)
        return _f().transpose(self)

    def reshape(self, *shape: Any) -> Tensor:
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _f().reshape(self, shape)

    def astype(self, dtype: Any) -> Tensor:
        return _f().cast(self, dtype)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _f().sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        return _f().mean(self, axis, keepdims)


def _f():
    # functional imports tensor; the late import breaks the cycle
    from graphc.frontend import functional

    return functional
