"""Source ops: constant (a literal array held as an attribute)."""

from __future__ import annotations

import numpy as np

from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType, as_dtype
from graphc.ops._cost import free


def _constant_rule(in_types, attrs) -> list[TensorType]:
    value: np.ndarray = attrs["value"]
    return [TensorType(as_dtype(value.dtype), tuple(int(d) for d in value.shape))]


constant = register(
    OpDef(
        "constant",
        "source",
        _constant_rule,
        lambda value: value,
        arity=0,
        attrs={"value": AttrSpec("array")},
        differentiable=False,
        constant_like=True,
        cost=free,
        doc="a literal array",
    )
)
