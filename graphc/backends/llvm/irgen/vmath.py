"""Vectorizable math in LLVM IR: exp, expm1, log, log1p, tanh, sigmoid, softplus, erf, sin, cos.

LLVM turns libm calls into scalar calls, so these are written as straight-line IR (polynomials,
bit tricks, selects) in internal always-inline functions; after inlining into a loop the loop
vectorizer widens them. Only ``contract`` is used as a fast-math flag: inf, nan, signed zeros and
denormals behave as in NumPy. Each function is emitted once per module, on first use.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc.backends.llvm.irgen import mathconst as mc
from graphc.backends.llvm.irgen.basics import FM, Arith, float_bits

MathBody = Callable[[Arith, ir.Value], ir.Value]


def _exp_parts(a: Arith, x: ir.Value) -> tuple[ir.Value, ir.Value]:
    """x = k*ln2 + r with |r| <= ln2/2: returns (k as float, expm1(r))."""
    hi, lo = mc.LN2[a.bits]
    k = a.rint(a.mul(x, a.c(mc.LOG2E)))
    r = a.fma(a.neg(k), a.c(hi), x)
    r = a.fma(a.neg(k), a.c(lo), r)
    q = a.horner(r, mc.EXPM1[a.bits])
    return k, a.fma(a.mul(r, r), q, r)


def _scale(a: Arith, y: ir.Value, k: ir.Value) -> ir.Value:
    """y * 2**k in two exact steps, so results round once into the denormal range or to inf."""
    ki = a.b.fptosi(k, a.ity)
    k1 = a.b.ashr(ki, a.ic(1))
    k2 = a.b.sub(ki, k1)
    return a.mul(a.mul(y, a.pow2(k1)), a.pow2(k2))


def exp(a: Arith, x: ir.Value) -> ir.Value:
    """exp(x): 2**k * (1 + p(r)), the input clamped so results saturate to 0 or inf."""
    lim = mc.LIMITS[a.bits]
    xc = a.clamp(x, lim.exp_lo, lim.exp_hi)
    k, p = _exp_parts(a, xc)
    y = _scale(a, a.add(p, a.c(1.0)), k)
    return a.select(a.isnan(x), x, y)


def _expm1_moderate(
    a: Arith, x: ir.Value, big: ir.Value | None = None
) -> tuple[ir.Value, ir.Value, ir.Value]:
    """expm1(x) = 2**k * p + (2**k - 1) while 2**k is normal (k is forced to 0 where ``big``);
    returns (y, k, p)."""
    k, p = _exp_parts(a, x)
    kk = k if big is None else a.select(big, a.c(0.0), k)
    t = a.pow2(a.b.fptosi(kk, a.ity))
    return a.add(a.mul(t, p), a.sub(t, a.c(1.0))), k, p


def expm1(a: Arith, x: ir.Value) -> ir.Value:
    """exp(x) - 1 without the cancellation near 0."""
    lim = mc.LIMITS[a.bits]
    xc = a.clamp(x, lim.expm1_lo, lim.exp_hi)
    big = a.fcmp(">", xc, a.c((lim.mant + 2) * 0.6931471805599453))  # there -1 is negligible
    small, k, p = _expm1_moderate(a, xc, big)
    large = a.sub(_scale(a, a.add(p, a.c(1.0)), k), a.c(1.0))
    return a.select(a.isnan(x), x, a.select(big, large, small))


def log(a: Arith, x: ir.Value) -> ir.Value:
    """log(x): exponent and mantissa split, then fdlibm's log(1+f) polynomial."""
    lim = mc.LIMITS[a.bits]
    tiny = a.fcmp("<", x, a.c(lim.min_normal))
    xs = a.select(tiny, a.mul(x, a.c(2.0**lim.mant)), x)  # denormals: scale up, exact
    eoff = a.select(tiny, a.c(-float(lim.mant)), a.c(0.0))
    ix = a.b.add(a.to_bits(xs), a.ic(lim.one_bits - lim.sqrt_half_bits))
    e = a.b.sub(a.b.ashr(ix, a.ic(lim.mant)), a.ic(lim.bias))
    mbits = a.b.add(a.b.and_(ix, a.ic((1 << lim.mant) - 1)), a.ic(lim.sqrt_half_bits))
    f = a.sub(a.from_bits(mbits), a.c(1.0))  # mantissa in [sqrt(1/2), sqrt(2)) minus 1
    ef = a.add(a.b.sitofp(e, a.ty), eoff)
    y = _log_body(a, f, ef)
    y = a.select(a.fcmp("==", x, a.c(float("inf"))), x, y)
    y = a.select(a.fcmp("==", x, a.c(0.0)), a.c(float("-inf")), y)
    return a.select(a.fcmp("u<", x, a.c(0.0)), a.c(float("nan")), y)


def _log_body(a: Arith, f: ir.Value, e: ir.Value) -> ir.Value:
    """e*ln2 + log(1+f) for f in [sqrt(1/2)-1, sqrt(2)-1] (fdlibm's argument arrangement)."""
    hi, lo = mc.LN2[a.bits]
    s = a.div(f, a.add(a.c(2.0), f))
    z = a.mul(s, s)
    r = a.mul(z, a.horner(z, mc.LOG_R[a.bits]))
    hf = a.mul(a.c(0.5), a.mul(f, f))
    inner = a.fma(s, a.add(hf, r), a.mul(e, a.c(lo)))
    return a.fma(e, a.c(hi), a.sub(f, a.sub(hf, inner)))


def log1p(a: Arith, x: ir.Value) -> ir.Value:
    """log(1 + x), accurate for small x."""
    u = a.add(x, a.c(1.0))
    # Kahan: log(u) * x / (u - 1) cancels the rounding error of u = 1 + x
    y = a.mul(log(a, u), a.div(x, a.sub(u, a.c(1.0))))
    y = a.select(a.fcmp("==", u, a.c(1.0)), x, y)
    return a.select(a.fcmp("==", x, a.c(float("inf"))), x, y)


def tanh(a: Arith, x: ir.Value) -> ir.Value:
    """tanh(|x|) = t / (t + 2) with t = expm1(2|x|), saturated beyond tanh_hi, sign copied."""
    hi = a.c(mc.LIMITS[a.bits].tanh_hi)
    ax = a.fabs(x)
    ax = a.select(a.fcmp(">", ax, hi), hi, ax)  # tanh is 1.0 beyond; nan passes
    t, _, _ = _expm1_moderate(a, a.add(ax, ax))  # 0 <= 2|x| <= 2*tanh_hi: no clamps needed
    return a.copysign(a.div(t, a.add(t, a.c(2.0))), x)  # nan stays nan


def sigmoid(a: Arith, x: ir.Value) -> ir.Value:
    """1 / (1 + exp(-|x|)), mirrored for negative x: exp never overflows."""
    e = exp(a, a.neg(a.fabs(x)))
    r = a.div(a.c(1.0), a.add(a.c(1.0), e))
    return a.select(a.fcmp("u>=", x, a.c(0.0)), r, a.mul(e, r))


def softplus(a: Arith, x: ir.Value) -> ir.Value:
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)), as NumPy's logaddexp(0, x)."""
    return a.add(a.maximum(x, a.c(0.0)), log1p(a, exp(a, a.neg(a.fabs(x)))))


def erf(a: Arith, x: ir.Value) -> ir.Value:
    """erf(x): f32 rounds the f64 routine; f64 is a series below 1, 1 - erfc(x) above."""
    if a.bits == 32:  # float32 evaluates the double routine once and rounds: <= 1 ulp
        wide = Arith(a.b, a.module, 64)
        return a.b.fptrunc(a.module_math.call("erf", wide, a.b.fpext(x, wide.ty)), a.ty)
    ax = a.fabs(x)
    small = a.mul(ax, a.horner(a.mul(ax, ax), mc.ERF_SMALL))
    axc = a.clamp(ax, 1.0, 6.0)
    mid = a.fcmp("<", axc, a.c(2.0))
    coeffs = [a.select(mid, a.c(m), a.c(t)) for m, t in zip(mc.ERFC_MID, mc.ERFC_TAIL, strict=True)]
    u = a.sub(axc, a.select(mid, a.c(1.5), a.c(4.0)))
    erfc = a.mul(exp(a, a.neg(a.mul(axc, axc))), a.horner_values(u, coeffs))
    y = a.select(a.fcmp("<", ax, a.c(1.0)), small, a.sub(a.c(1.0), erfc))
    return a.select(a.isnan(x), x, a.copysign(y, x))


def _sincos(a: Arith, x: ir.Value, quadrant_offset: int, libm: str | None) -> ir.Value:
    """sin (offset 0) or cos (offset 1); |x| > TRIG_LIMIT goes to libm for exact reduction
    (without ``libm``: the fast path only, exact within TRIG_LIMIT, for speculating loops)."""
    w = Arith(a.b, a.module, 64)
    xd = x if a.bits == 64 else a.b.fpext(x, w.ty)
    k = w.rint(w.mul(xd, w.c(mc.TWO_OVER_PI)))
    r = xd
    for part in mc.PIO2:
        r = w.fma(w.neg(k), w.c(part), r)
    z = w.mul(r, r)
    s = w.fma(w.mul(r, z), w.horner(z, mc.SIN), r)
    c = w.fma(w.mul(z, z), w.horner(z, mc.COS), w.fma(w.c(-0.5), z, w.c(1.0)))
    q = a.b.add(a.b.fptosi(k, ir.IntType(32)), ir.Constant(ir.IntType(32), quadrant_offset))
    swap = a.b.trunc(q, ir.IntType(1))
    neg = a.b.icmp_unsigned(
        "!=", a.b.and_(q, ir.Constant(ir.IntType(32), 2)), ir.Constant(ir.IntType(32), 0)
    )
    y = w.select(swap, c, s)
    y = w.select(neg, w.neg(y), y)
    if quadrant_offset == 0:
        y = w.select(w.fcmp("==", xd, w.c(0.0)), xd, y)  # keeps the sign of -0.0
    if libm is None:
        return y if a.bits == 64 else a.b.fptrunc(y, a.ty)
    return _libm_fallback(a, w, xd, y, libm)


def _libm_fallback(a: Arith, w: Arith, xd: ir.Value, fast: ir.Value, libm: str) -> ir.Value:
    big = w.fcmp("u>", w.fabs(xd), w.c(mc.TRIG_LIMIT))
    fn = a.module.globals.get(libm) or ir.Function(a.module, ir.FunctionType(w.ty, [w.ty]), libm)
    entry = a.b.block
    with a.b.if_then(big, likely=False):
        slow = a.b.call(fn, [xd])
        slow_block = a.b.block
    phi = a.b.phi(w.ty)
    phi.add_incoming(fast, entry)
    phi.add_incoming(slow, slow_block)
    return phi if a.bits == 64 else a.b.fptrunc(phi, a.ty)


def sin(a: Arith, x: ir.Value) -> ir.Value:
    """sin(x): Cody-Waite reduction by pi/2 in f64, libm beyond TRIG_LIMIT."""
    return _sincos(a, x, 0, "sin")


def cos(a: Arith, x: ir.Value) -> ir.Value:
    """cos(x): sin's reduction one quadrant on."""
    return _sincos(a, x, 1, "cos")


def sin_fast(a: Arith, x: ir.Value) -> ir.Value:
    """sin without the libm branch: exact only for |x| <= TRIG_LIMIT (see MathLib.speculate)."""
    return _sincos(a, x, 0, None)


def cos_fast(a: Arith, x: ir.Value) -> ir.Value:
    """cos without the libm branch: exact only for |x| <= TRIG_LIMIT."""
    return _sincos(a, x, 1, None)


# functions whose exact form branches to libm (which keeps a loop from vectorizing) and their
# branch-free forms, exact within TRIG_LIMIT
SPECULABLE = {"sin": "sin_fast", "cos": "cos_fast"}

FUNCTIONS: dict[str, MathBody] = {
    "exp": exp,
    "expm1": expm1,
    "log": log,
    "log1p": log1p,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "erf": erf,
    "sin": sin,
    "cos": cos,
    "sin_fast": sin_fast,
    "cos_fast": cos_fast,
}


class MathLib:
    """Emits each math function into one module on first use and calls it."""

    def __init__(self, module: ir.Module) -> None:
        self.module = module
        self.fns: dict[tuple[str, int], ir.Function] = {}
        # While set (an i1 alloca), sin/cos are emitted branch-free and OR into it whether an
        # argument was beyond TRIG_LIMIT: the loop vectorizes, and the caller reruns it exactly
        # when the flag is set (loops.speculate_trig).
        self.speculate: ir.Value | None = None

    def call(self, name: str, a: Arith, x: ir.Value) -> ir.Value:
        if self.speculate is not None and name in SPECULABLE:
            beyond = a.fcmp("u>", a.fabs(x), a.c(mc.TRIG_LIMIT))
            a.b.store(a.b.or_(a.b.load(self.speculate), beyond), self.speculate)
            name = SPECULABLE[name]
        return a.b.call(self.function(name, a.bits), [x], fastmath=FM)

    def function(self, name: str, bits: int) -> ir.Function:
        key = (name, bits)
        if key not in self.fns:
            self.fns[key] = self._define(name, bits)
        return self.fns[key]

    def _define(self, name: str, bits: int) -> ir.Function:
        ty = float_bits(bits)
        fn = ir.Function(self.module, ir.FunctionType(ty, [ty]), f"graphc.{name}.f{bits}")
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline")
        fn.attributes.add("nounwind")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        a = Arith(b, self.module, bits, self)
        b.ret(FUNCTIONS[name](a, fn.args[0]))
        return fn
