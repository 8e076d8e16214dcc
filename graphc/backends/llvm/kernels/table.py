"""The lowering table: how each op of the catalogue becomes LLVM IR.

Two kinds of entries, both keyed by the OpDef (so "find usages of ops.exp" shows this backend):
- ``@lowers(ops.exp)`` registers a *scalar body* builder ``(s: Scalar, args) -> value`` for an
  elementwise op; the backend wraps it in a broadcasting loop nest, and fused nodes chain bodies.
- ``@kernel(ops.sum)`` registers a *kernel emitter* ``(k: KernelCtx) -> None`` that writes the
  node's whole loop nest (reductions, shape, linalg and nn ops), optionally with scratch space.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import I64, Arith, i64
from graphc.backends.llvm.irgen.loops import View
from graphc.backends.llvm.irgen.vmath import MathLib
from graphc.ir.graph import Node
from graphc.ir.opdef import OpDef
from graphc.ir.types import DType


@dataclass
class Scalar:
    """What a scalar body builder sees: the builder, the math library, dtypes and attributes."""

    b: ir.IRBuilder
    math: MathLib
    in_dtypes: list[DType]
    out_dtype: DType
    attrs: dict[str, Any]

    @property
    def dtype(self) -> DType:
        """The operand dtype that decides float/int/bool arithmetic."""
        return self.in_dtypes[-1] if self.in_dtypes else self.out_dtype

    def arith(self, dtype: DType | None = None) -> Arith:
        d = dtype or self.dtype
        return Arith(self.b, self.b.module, 32 if d.short == "f32" else 64, self.math)


ScalarFn = Callable[[Scalar, list[ir.Value]], ir.Value]


@dataclass
class KernelCtx:
    """What a kernel emitter sees: the node, dense views of its buffers, scratch, the module."""

    b: ir.IRBuilder
    math: MathLib
    node: Node
    ins: list[View]
    outs: list[View]
    scratch: ir.Value | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    index: int = 0  # the node's position in the graph (error_flag stores index + 1)

    @property
    def attrs(self) -> dict[str, Any]:
        return self.node.attrs

    @property
    def module(self) -> ir.Module:
        return self.b.module

    def fail_if(self, bad: ir.Value) -> None:
        """Record this node in the module's error flag when ``bad`` (an i1) holds.

        Kernels cannot raise; the executable reads the flag after each call and raises naming
        the node. The branch is marked unlikely, so the hot path pays one predictable compare.
        The first failing node wins (compare-and-swap from 0).
        """
        with self.b.if_then(bad, likely=False):
            code = i64(self.index + 1)
            self.b.cmpxchg(error_flag(self.module), i64(0), code, "monotonic", "monotonic")

    def scalar(self, in_dtypes: list[DType], out_dtype: DType, attrs: dict | None = None) -> Scalar:
        return Scalar(self.b, self.math, in_dtypes, out_dtype, attrs if attrs is not None else {})


ERROR_SYMBOL = "graphc_error"


def module_i64(module: ir.Module, name: str, initial: int) -> ir.GlobalVariable:
    """The module's i64 global ``name`` (created with ``initial`` on first use): state the
    executable reads or sets by symbol name."""
    found = module.globals.get(name)
    if found is not None:
        return found
    gv = ir.GlobalVariable(module, I64, name)
    gv.initializer = ir.Constant(I64, initial)
    gv.align = 8
    return gv


def error_flag(module: ir.Module) -> ir.GlobalVariable:
    """The module's zeroed i64 error flag (0: no error; else the failing node's index + 1)."""
    return module_i64(module, ERROR_SYMBOL, 0)


TRIG_OPS = frozenset({ops.sin, ops.cos})


def _uses_trig(node: Node) -> bool:
    body = node.body
    return node.op in TRIG_OPS or (body is not None and any(n.op in TRIG_OPS for n in body.nodes))


def speculate_trig(k: KernelCtx, emit: Callable[[], None]) -> None:
    """Emit an elementwise loop (``emit``) with branch-free sin/cos, which vectorizes, and then
    the loop again with the exact libm path only if some argument was beyond TRIG_LIMIT (rare:
    |x| > 1e5). Rerunning is only safe when no output overwrites an input: the codegen says so
    in ``k.extras["inplace"]`` (absent: assumed unsafe, the exact loop alone is emitted)."""
    if k.extras.get("inplace", True) or not _uses_trig(k.node):
        emit()
        return
    b = k.b
    with b.goto_entry_block():
        flag = b.alloca(ir.IntType(1), name="trig.beyond")
    b.store(ir.Constant(ir.IntType(1), 0), flag)
    k.math.speculate = flag
    try:
        emit()
    finally:
        k.math.speculate = None
    with b.if_then(b.load(flag), likely=False):
        emit()


KernelFn = Callable[[KernelCtx], None]
# scratch bytes a kernel needs, from (node, input shapes, output shapes)
ScratchFn = Callable[[Node, list[tuple[int, ...]], list[tuple[int, ...]]], int]

SCALAR: dict[OpDef, ScalarFn] = {}
KERNEL: dict[OpDef, KernelFn] = {}
SCRATCH: dict[OpDef, ScratchFn] = {}
VIEWS: set[OpDef] = set()  # kernels that read inputs through any strides (see views.py)


def lowers(*ops: OpDef) -> Callable[[ScalarFn], ScalarFn]:
    """Register a scalar body builder for elementwise ``ops``."""

    def register(fn: ScalarFn) -> ScalarFn:
        for op in ops:
            SCALAR[op] = fn
        return fn

    return register


def kernel(
    *ops: OpDef, scratch: ScratchFn | None = None, views: bool = False
) -> Callable[[KernelFn], KernelFn]:
    """Register a kernel emitter for ``ops``: optional scratch-size rule; ``views=True`` if it
    reads its inputs through their strides (so view ops feeding it need no copy)."""

    def register(fn: KernelFn) -> KernelFn:
        for op in ops:
            KERNEL[op] = fn
            if scratch is not None:
                SCRATCH[op] = scratch
            if views:
                VIEWS.add(op)
        return fn

    return register
