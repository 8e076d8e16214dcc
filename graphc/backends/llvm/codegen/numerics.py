"""check_numerics in generated code: after a node, a scan of its float results for NaN.

When a node's results hold NaN and its float operands do not, the entry function stores
``-(node index + 1)`` in the error flag and returns at once: parameter updates are then still
unwritten (the numerics policy copies them in at the end), so the executable can evaluate the
graph with the reference kernels to name the op and the user's line exactly as the numpy
backend does (graphc.analysis.numerics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I1, PTR
from graphc.backends.llvm.irgen.blocks import entry_alloca
from graphc.backends.llvm.irgen.loops import View, linear, load, loop_nest
from graphc.ir.graph import Node, Value


def nan_code(index: int) -> int:
    """The error flag value for a NaN first made by node ``index`` (kernel errors are > 0)."""
    return -(index + 1)


def _any_nan(b: ir.IRBuilder, views: Sequence[View]) -> ir.Value:
    found = entry_alloca(b, I1)
    b.store(ir.Constant(I1, 0), found)
    for v in views:
        with loop_nest(b, v.shape) as idx:
            x = load(b, v, linear(b, idx, v.strides, v.offset))
            b.store(b.or_(b.load(found), b.fcmp_unordered("uno", x, x)), found)
    return b.load(found)


def nan_checker(module: ir.Module, index: int, node: Node,
                view: Callable[[ir.Value, Value], View]) -> ir.Function | None:
    """``i1 n<index>.nan(operands..., results...)``: whether the node made NaN from NaN-free
    operands; None when it has no float result. ``view(ptr, value)`` lays a value out."""
    if not any(v.type.dtype.is_float for v in node.outputs):
        return None
    values = [*node.inputs, *node.outputs]
    fn = ir.Function(module, ir.FunctionType(I1, [PTR] * len(values)), f"n{index}.nan")
    fn.linkage = "internal"
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    views = [view(a, v) for a, v in zip(fn.args, values, strict=True)]
    floats = [(v, w) for v, w in zip(values, views, strict=True) if v.type.dtype.is_float]
    made = _any_nan(b, [w for v, w in floats if v in node.outputs])
    had = _any_nan(b, [w for v, w in floats if v not in node.outputs])
    b.ret(b.and_(made, b.not_(had)))
    return fn
