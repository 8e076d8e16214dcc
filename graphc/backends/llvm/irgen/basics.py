"""Small helpers over llvmlite.ir: element types, intrinsics, and float arithmetic (Arith)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llvmlite import ir

from graphc.ir.types import DType

if TYPE_CHECKING:
    from graphc.backends.llvm.irgen.vmath import MathLib

# Fast-math: only contraction (a*b+c -> fma). No nnan/ninf/nsz, so special values stay NumPy's.
FM = ("contract",)
# Reductions may also reassociate, which lets LLVM vectorize them.
FM_REDUCE = ("contract", "reassoc")

I1, I8, I32, I64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64)
F32, F64 = ir.FloatType(), ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

_VALUE = {"f32": F32, "f64": F64, "i32": I32, "i64": I64, "bool": I1}
_MEMORY = {**_VALUE, "bool": I8}


def value_type(dtype: DType) -> ir.Type:
    """The register type of a dtype (bool is i1)."""
    return _VALUE[dtype.short]


def memory_type(dtype: DType) -> ir.Type:
    """The in-memory type of a dtype (bool is one byte, as in NumPy)."""
    return _MEMORY[dtype.short]


def float_bits(bits: int) -> ir.Type:
    """The float type of that width (32 or 64)."""
    return F32 if bits == 32 else F64


def i64(v: int | ir.Value) -> ir.Value:
    """An i64 constant from an int, or the value unchanged."""
    return ir.Constant(I64, v) if isinstance(v, int) else v


def align_of(t: ir.Type) -> int:
    """The natural alignment in bytes of a scalar memory type (also of a vector's elements)."""
    if isinstance(t, ir.IntType):
        return max(1, t.width // 8)
    return 4 if isinstance(t, ir.FloatType) else 8


def _suffix(t: ir.Type) -> str:
    if isinstance(t, ir.FloatType):
        return "f32"
    if isinstance(t, ir.DoubleType):
        return "f64"
    return f"i{t.width}"


def declare_intrinsic(
    module: ir.Module, name: str, ret: ir.Type, args: Sequence[ir.Type]
) -> ir.Function:
    """Get or declare ``llvm.<name>.<type suffix>`` (suffix from the first argument)."""
    full = f"llvm.{name}.{_suffix(args[0])}" if args else f"llvm.{name}"
    existing = module.globals.get(full)
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ret, list(args)), full)


def call_intrinsic(
    b: ir.IRBuilder, name: str, *args: ir.Value, ret: ir.Type | None = None
) -> ir.Value:
    """Call ``llvm.<name>`` on ``args`` (declared on first use; returns args[0]'s type)."""
    fn = declare_intrinsic(b.module, name, ret or args[0].type, [a.type for a in args])
    return b.call(fn, list(args))


_ORDERED = {"<", ">", "<=", ">=", "==", "!="}


class Arith:
    """Float arithmetic of one precision on a builder, with NumPy's special-value semantics."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module, bits: int, math: MathLib | None = None):
        self.b = b
        self.module = module
        self.bits = bits
        self.ty = float_bits(bits)
        self.ity = I32 if bits == 32 else I64
        self.module_math = math

    def c(self, x: float) -> ir.Constant:
        return ir.Constant(self.ty, float(x))

    def ic(self, n: int) -> ir.Constant:
        return ir.Constant(self.ity, n)

    def add(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fadd(x, y, flags=FM)

    def sub(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fsub(x, y, flags=FM)

    def mul(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fmul(x, y, flags=FM)

    def div(self, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.fdiv(x, y, flags=FM)

    def neg(self, x: ir.Value) -> ir.Value:
        return self.b.fneg(x)

    def fma(self, x: ir.Value, y: ir.Value, z: ir.Value) -> ir.Value:
        return call_intrinsic(self.b, "fma", x, y, z)

    def horner(self, x: ir.Value, coeffs: Sequence[float]) -> ir.Value:
        """c0 + x*(c1 + x*(c2 + ...)) with fused multiply-adds."""
        return self.horner_values(x, [self.c(v) for v in coeffs])

    def horner_values(self, x: ir.Value, coeffs: Sequence[ir.Value]) -> ir.Value:
        acc = coeffs[-1]
        for cv in reversed(coeffs[:-1]):
            acc = self.fma(acc, x, cv)
        return acc

    def rint(self, x: ir.Value) -> ir.Value:
        return call_intrinsic(self.b, "rint", x)

    def fabs(self, x: ir.Value) -> ir.Value:
        return call_intrinsic(self.b, "fabs", x)

    def copysign(self, mag: ir.Value, sign: ir.Value) -> ir.Value:
        return call_intrinsic(self.b, "copysign", mag, sign)

    def fcmp(self, op: str, x: ir.Value, y: ir.Value) -> ir.Value:
        """Ordered comparison ('<', '==', ...); 'u<' etc. are unordered (true when nan)."""
        if op in _ORDERED:
            return self.b.fcmp_ordered(op, x, y)
        return self.b.fcmp_unordered(op[1:], x, y)

    def isnan(self, x: ir.Value) -> ir.Value:
        return self.b.fcmp_unordered("uno", x, x)

    def select(self, cond: ir.Value, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b.select(cond, x, y)

    def clamp(self, x: ir.Value, lo: float, hi: float) -> ir.Value:
        """x limited to [lo, hi]; nan passes through."""
        x = self.select(self.fcmp("<", x, self.c(lo)), self.c(lo), x)
        return self.select(self.fcmp(">", x, self.c(hi)), self.c(hi), x)

    def maximum(self, x: ir.Value, y: ir.Value) -> ir.Value:
        """np.maximum: x if x >= y or x is nan, else y (so a nan on either side wins)."""
        keep = self.b.or_(self.fcmp(">=", x, y), self.isnan(x))
        return self.select(keep, x, y)

    def minimum(self, x: ir.Value, y: ir.Value) -> ir.Value:
        keep = self.b.or_(self.fcmp("<=", x, y), self.isnan(x))
        return self.select(keep, x, y)

    def to_bits(self, x: ir.Value) -> ir.Value:
        return self.b.bitcast(x, self.ity)

    def from_bits(self, n: ir.Value) -> ir.Value:
        return self.b.bitcast(n, self.ty)

    def pow2(self, k: ir.Value) -> ir.Value:
        """2**k for an integer k in the normal exponent range."""
        mant = 23 if self.bits == 32 else 52
        bias = 127 if self.bits == 32 else 1023
        return self.from_bits(self.b.shl(self.b.add(k, self.ic(bias)), self.ic(mant)))

    def math(self, name: str, x: ir.Value) -> ir.Value:
        """Call a vmath function (exp, log, tanh, ...) of this precision."""
        assert self.module_math is not None
        return self.module_math.call(name, self, x)


def const_of(ty: ir.Type, value: Any) -> ir.Constant:
    """An IR constant of ``ty`` from a Python number (bool for i1)."""
    if isinstance(ty, (ir.FloatType, ir.DoubleType)):
        return ir.Constant(ty, float(value))
    return ir.Constant(ty, int(value))
