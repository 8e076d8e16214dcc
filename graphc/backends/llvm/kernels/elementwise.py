"""Scalar bodies of the elementwise ops (float, integer and bool), with NumPy's semantics."""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import FM, I1, call_intrinsic, value_type
from graphc.backends.llvm.kernels.table import Scalar, lowers
from graphc.ir.types import DType


def _is_float(s: Scalar) -> bool:
    return s.dtype.is_float


def _fconst(s: Scalar, x: float) -> ir.Constant:
    return ir.Constant(value_type(s.dtype), x)


def _iconst(s: Scalar, x: int) -> ir.Constant:
    return ir.Constant(value_type(s.dtype), x)


# --- unary math through vmath ----------------------------------------------------------
def _math(name: str) -> Callable[[Scalar, list[ir.Value]], ir.Value]:
    def body(s: Scalar, xs: list[ir.Value]) -> ir.Value:
        return s.arith().math(name, xs[0])

    return body


for _op, _name in (
    (ops.exp, "exp"),
    (ops.log, "log"),
    (ops.log1p, "log1p"),
    (ops.tanh, "tanh"),
    (ops.sigmoid, "sigmoid"),
    (ops.softplus, "softplus"),
    (ops.erf, "erf"),
    (ops.sin, "sin"),
    (ops.cos, "cos"),
):
    lowers(_op)(_math(_name))


@lowers(ops.sqrt)
def _sqrt(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return call_intrinsic(s.b, "sqrt", xs[0])


@lowers(ops.rsqrt)
def _rsqrt(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.fdiv(_fconst(s, 1.0), call_intrinsic(s.b, "sqrt", xs[0]), flags=FM)


@lowers(ops.reciprocal)
def _reciprocal(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.fdiv(_fconst(s, 1.0), xs[0], flags=FM)


@lowers(ops.floor)
def _floor(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return call_intrinsic(s.b, "floor", xs[0])


@lowers(ops.ceil)
def _ceil(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return call_intrinsic(s.b, "ceil", xs[0])


@lowers(ops.neg)
def _neg(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.fneg(xs[0]) if _is_float(s) else s.b.sub(_iconst(s, 0), xs[0])


@lowers(ops.abs)
def _abs(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    if _is_float(s):
        return call_intrinsic(s.b, "fabs", xs[0])
    x = xs[0]
    return s.b.select(s.b.icmp_signed("<", x, _iconst(s, 0)), s.b.sub(_iconst(s, 0), x), x)


@lowers(ops.sign)
def _sign(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    x, b = xs[0], s.b
    if _is_float(s):
        zero = b.select(b.fcmp_ordered("==", x, _fconst(s, 0.0)), _fconst(s, 0.0), x)  # nan stays
        neg = b.select(b.fcmp_ordered("<", x, _fconst(s, 0.0)), _fconst(s, -1.0), zero)
        return b.select(b.fcmp_ordered(">", x, _fconst(s, 0.0)), _fconst(s, 1.0), neg)
    neg = b.select(b.icmp_signed("<", x, _iconst(s, 0)), _iconst(s, -1), _iconst(s, 0))
    return b.select(b.icmp_signed(">", x, _iconst(s, 0)), _iconst(s, 1), neg)


@lowers(ops.square)
def _square(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return _mul(s, [xs[0], xs[0]])


@lowers(ops.relu)
def _relu(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return _maximum(s, [xs[0], _fconst(s, 0.0) if _is_float(s) else _iconst(s, 0)])


@lowers(ops.leaky_relu)
def _leaky_relu(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    x, b = xs[0], s.b
    scaled = b.fmul(x, _fconst(s, s.attrs["alpha"]), flags=FM)
    return b.select(b.fcmp_ordered(">=", x, _fconst(s, 0.0)), x, scaled)


@lowers(ops.elu)
def _elu(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    x, a = xs[0], s.arith()
    em1 = a.math("expm1", a.minimum(x, a.c(0.0)))
    return a.select(a.fcmp(">", x, a.c(0.0)), x, a.mul(a.c(s.attrs["alpha"]), em1))


@lowers(ops.gelu)
def _gelu(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    x, a = xs[0], s.arith()
    phi = a.add(a.c(1.0), a.math("erf", a.mul(x, a.c(0.7071067811865476))))
    return a.mul(a.mul(a.c(0.5), x), phi)


@lowers(ops.logical_not)
def _logical_not(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.xor(xs[0], ir.Constant(I1, 1))


@lowers(ops.full_like)
def _full_like(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    v = s.attrs["value"]
    if s.out_dtype.is_float:
        return ir.Constant(value_type(s.out_dtype), v)
    return ir.Constant(value_type(s.out_dtype), int(bool(v)) if s.out_dtype.is_bool else int(v))


# --- binary ----------------------------------------------------------------------------
def _arith2(fop: str, iop: str):
    def body(s: Scalar, xs: list[ir.Value]) -> ir.Value:
        if _is_float(s):
            return getattr(s.b, fop)(xs[0], xs[1], flags=FM)
        return getattr(s.b, iop)(xs[0], xs[1])

    return body


_add = lowers(ops.add)(_arith2("fadd", "add"))
_sub = lowers(ops.sub)(_arith2("fsub", "sub"))
_mul = lowers(ops.mul)(_arith2("fmul", "mul"))
_div = lowers(ops.div)(_arith2("fdiv", "sdiv"))


@lowers(ops.pow)
def _pow(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    # libm's pow (NumPy calls the same); its special cases (0**-1, (-8)**(1/3), 1**nan) are many
    name = "powf" if s.dtype.short == "f32" else "pow"
    ty = value_type(s.dtype)
    fn = s.b.module.globals.get(name) or ir.Function(
        s.b.module, ir.FunctionType(ty, [ty, ty]), name
    )
    return s.b.call(fn, xs)


@lowers(ops.maximum)
def _maximum(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    if _is_float(s):
        return s.arith().maximum(xs[0], xs[1])
    return call_intrinsic(s.b, "smax", xs[0], xs[1])


@lowers(ops.minimum)
def _minimum(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    if _is_float(s):
        return s.arith().minimum(xs[0], xs[1])
    return call_intrinsic(s.b, "smin", xs[0], xs[1])


def _compare(op: str):
    def body(s: Scalar, xs: list[ir.Value]) -> ir.Value:
        if _is_float(s):  # nan compares false, except != which is true
            return s.b.fcmp_unordered(op, *xs) if op == "!=" else s.b.fcmp_ordered(op, *xs)
        if s.dtype.is_bool:
            return s.b.icmp_unsigned(op, *xs)
        return s.b.icmp_signed(op, *xs)

    return body


for _op, _cmp in (
    (ops.equal, "=="),
    (ops.not_equal, "!="),
    (ops.less, "<"),
    (ops.less_equal, "<="),
    (ops.greater, ">"),
    (ops.greater_equal, ">="),
):
    lowers(_op)(_compare(_cmp))


@lowers(ops.logical_and)
def _logical_and(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.and_(xs[0], xs[1])


@lowers(ops.logical_or)
def _logical_or(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.or_(xs[0], xs[1])


@lowers(ops.where)
def _where(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return s.b.select(xs[0], xs[1], xs[2])


# --- cast ------------------------------------------------------------------------------
def _kind(d: DType) -> str:
    return "f" if d.is_float else ("b" if d.is_bool else "i")


def _cast_float_int(b: ir.IRBuilder, x: ir.Value, src: DType, dst: DType) -> ir.Value:
    # saturating: NaN and out-of-range values give defined results instead of poison
    ty = value_type(dst)
    fn_name = f"llvm.fptosi.sat.i{ty.width}.{src.short}"
    fn = b.module.globals.get(fn_name) or ir.Function(
        b.module, ir.FunctionType(ty, [x.type]), fn_name
    )
    return b.call(fn, [x])


def cast_value(b: ir.IRBuilder, x: ir.Value, src: DType, dst: DType) -> ir.Value:
    """``x`` of dtype ``src`` converted like NumPy's astype(dst)."""
    if src == dst:
        return x
    ty = value_type(dst)
    rules = {
        ("f", "f"): lambda: b.fpext(x, ty) if isinstance(ty, ir.DoubleType) else b.fptrunc(x, ty),
        ("f", "i"): lambda: _cast_float_int(b, x, src, dst),
        ("f", "b"): lambda: b.fcmp_unordered("!=", x, ir.Constant(x.type, 0.0)),
        ("i", "f"): lambda: b.sitofp(x, ty),
        ("i", "i"): lambda: b.sext(x, ty) if ty.width > x.type.width else b.trunc(x, ty),
        ("i", "b"): lambda: b.icmp_unsigned("!=", x, ir.Constant(x.type, 0)),
        ("b", "f"): lambda: b.uitofp(x, ty),
        ("b", "i"): lambda: b.zext(x, ty),
    }
    return rules[_kind(src), _kind(dst)]()


@lowers(ops.cast)
def _cast(s: Scalar, xs: list[ir.Value]) -> ir.Value:
    return cast_value(s.b, xs[0], s.in_dtypes[0], s.out_dtype)
