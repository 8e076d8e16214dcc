"""Tensor: the user's handle on an IR value, with NumPy-like operators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph, Value
from graphc.ir.types import DType, TensorType


def _f():
    # functional imports tensor; the late import breaks the cycle
    from graphc.frontend import functional

    return functional


def _binary(name: str) -> tuple[Callable[[Tensor, Any], Tensor], Callable[[Tensor, Any], Tensor]]:
    """The operator method for gc.<name>(self, o) and its reflected form gc.<name>(o, self)."""

    def method(self: Tensor, o: Any) -> Tensor:
        return getattr(_f(), name)(self, o)

    def reflected(self: Tensor, o: Any) -> Tensor:
        return getattr(_f(), name)(o, self)

    return method, reflected


def _unary(name: str) -> Callable[[Tensor], Tensor]:
    def method(self: Tensor) -> Tensor:
        return getattr(_f(), name)(self)

    return method


class Tensor:
    """A symbolic value in a graph; arithmetic on it records ops in that graph."""

    __array_priority__ = 1000  # so ndarray + Tensor defers to Tensor.__radd__

    def __init__(self, value: Value, graph: Graph) -> None:
        self.ir = value
        self.graph = graph

    # -- description -------------------------------------------------------------------
    @property
    def type(self) -> TensorType:
        """The IR type: dtype and (possibly symbolic) shape."""
        return self.ir.type

    @property
    def shape(self) -> tuple:
        """Dims: ints, or symbolic names bound at call time."""
        return self.ir.type.shape

    @property
    def ndim(self) -> int:
        """The rank."""
        return self.ir.type.rank

    @property
    def dtype(self) -> DType:
        """The element type."""
        return self.ir.type.dtype

    @property
    def name(self) -> str | None:
        """The placeholder or parameter name (None for op results)."""
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

    # -- operators: each one is the gc function of that name (see _binary, _unary) -------
    __add__, __radd__ = _binary("add")
    __sub__, __rsub__ = _binary("sub")
    __mul__, __rmul__ = _binary("mul")
    __truediv__, __rtruediv__ = _binary("div")
    __pow__, __rpow__ = _binary("pow")
    __matmul__, __rmatmul__ = _binary("matmul")
    __lt__, __le__ = _binary("less")[0], _binary("less_equal")[0]
    __gt__, __ge__ = _binary("greater")[0], _binary("greater_equal")[0]
    __and__, __or__ = _binary("logical_and")[0], _binary("logical_or")[0]
    __neg__, __abs__, __invert__ = _unary("neg"), _unary("abs"), _unary("logical_not")

    def __getitem__(self, index: Any) -> Tensor:
        return _f().getitem(self, index)

    # == and != stay identity so tensors can be dict keys; use gc.equal / gc.not_equal.
    __hash__ = object.__hash__

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy's name)
        """The axes reversed (gc.transpose)."""
        return _f().transpose(self)

    def reshape(self, *shape: Any) -> Tensor:
        """gc.reshape; the shape as one tuple or as separate dims."""
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _f().reshape(self, shape)

    def astype(self, dtype: Any) -> Tensor:
        """gc.cast to ``dtype``."""
        return _f().cast(self, dtype)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """gc.sum over ``axis``."""
        return _f().sum(self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """gc.mean over ``axis``."""
        return _f().mean(self, axis, keepdims)

