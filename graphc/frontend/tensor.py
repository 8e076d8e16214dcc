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

    __floordiv__, __rfloordiv__ = _binary("floor_divide")
    __mod__, __rmod__ = _binary("remainder")

    def __getitem__(self, index: Any) -> Tensor:
        return _f().getitem(self, index)

    # == and != are elementwise (gc.equal / gc.not_equal) as in NumPy, PyTorch and JAX; the
    # hash stays identity so tensors remain usable as dict and set keys (as in PyTorch).
    def __eq__(self, o: object) -> Any:  # type: ignore[override]
        return _f().equal(self, o) if _comparable(o) else NotImplemented

    def __ne__(self, o: object) -> Any:  # type: ignore[override]
        return _f().not_equal(self, o) if _comparable(o) else NotImplemented

    __hash__ = object.__hash__

    @property
    def T(self) -> Tensor:  # noqa: N802  (NumPy's name)
        """The axes reversed (gc.transpose)."""
        return _f().transpose(self)

    def reshape(self, *shape: Any) -> Tensor:
        """gc.reshape; the shape as one tuple or as separate dims."""
        return _f().reshape(self, _dims_arg(shape))

    def transpose(self, *axes: Any) -> Tensor:
        """gc.transpose; the axes as one tuple or as separate ints (none reverses them)."""
        return _f().transpose(self, _dims_arg(axes) or None)

    def astype(self, dtype: Any) -> Tensor:
        """gc.cast to ``dtype``."""
        return _f().cast(self, dtype)

    def squeeze(self, axis: Any = None) -> Tensor:
        """gc.squeeze."""
        return _f().squeeze(self, axis)

    def flatten(self) -> Tensor:
        """All axes merged into one (NumPy's ndarray.flatten)."""
        return _f().reshape(self, (-1,))

    def clip(self, low: Any = None, high: Any = None) -> Tensor:
        """gc.clip: values limited to [low, high] (None: no bound on that side)."""
        return _f().clip(self, low, high)


def _comparable(o: object) -> bool:
    """Operands ``==`` compares elementwise; others (None, strings...) keep Python's answer."""
    return isinstance(o, (Tensor, bool, int, float, np.ndarray, np.generic))


def _dims_arg(dims: tuple) -> tuple:
    """``f(2, 3)`` and ``f((2, 3))`` both give (2, 3), as in NumPy's reshape and transpose."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return dims


def _reduction_method(name: str) -> Callable[..., Tensor]:
    def method(self: Tensor, axis: Any = None, keepdims: bool = False) -> Tensor:
        return getattr(_f(), name)(self, axis, keepdims)

    method.__name__ = name
    method.__doc__ = f"gc.{name} over ``axis`` (None: every axis)."
    return method


def _unary_method(name: str) -> Callable[[Tensor], Tensor]:
    method = _unary(name)
    method.__name__ = name
    method.__doc__ = f"gc.{name}(self)."
    return method


# NumPy-style methods, each one the gc function of that name
for _name in ("sum", "mean", "max", "min", "prod", "argmax", "argmin", "logsumexp", "var", "std"):
    setattr(Tensor, _name, _reduction_method(_name))
for _name in ("exp", "expm1", "log", "log1p", "sqrt", "square", "abs", "sign", "tanh", "sigmoid",
              "relu", "floor", "ceil", "sin", "cos", "reciprocal", "rsqrt"):
    setattr(Tensor, _name, _unary_method(_name))

