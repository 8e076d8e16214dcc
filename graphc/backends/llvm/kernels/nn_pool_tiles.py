"""max_pool2d and its gradient over windows that tile the image, vectorized along the width.

One step handles up to ``lanes`` adjacent windows of one output row: each tap row of those
windows is one contiguous masked vector load (``kw * lanes`` elements), split into its ``kw``
tap vectors by shuffles; the gradient's kept values are interleaved back and written with one
masked store per tap row, so every input element is read once and written once. Masks cover
the row's last, partial step (and rows narrower than a vector), so no element outside the
image is touched and no scalar tail loop is needed.

The arithmetic is that of the scalar tile kernels (nn_pool.py) lane by lane: the maximum folds
the taps in row-major order from -inf with ``llvm.maximum``, the first maximum follows the same
compare chain (NaN counts as the largest value), the kept gradient is ``0 + g``; results are
bit-identical to the scalar path and to the general kernels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I32, Arith, i64
from graphc.backends.llvm.irgen.loops import View, loop_nest
from graphc.backends.llvm.kernels.table import KernelCtx
from graphc.backends.llvm.native.gemm_blocks import host_vector_bits


@dataclass(frozen=True)
class _Rows:
    """One pool's geometry over flat [planes, H, W] buffers, and its vector width."""

    b: ir.IRBuilder
    a: Arith
    kernel: tuple[int, int]
    hw: tuple[int, int]
    out_hw: tuple[int, int]
    lanes: int

    @staticmethod
    def of(k: KernelCtx, a: Arith, image: View, out_shape: tuple[int, ...],
           kernel: tuple[int, int]) -> _Rows:
        ow = out_shape[3]
        widest = host_vector_bits() // a.bits
        lanes = min(widest, 1 << max(2, (ow - 1).bit_length()))  # no wider than the row needs
        return _Rows(k.b, a, kernel, tuple(image.shape[2:]), tuple(out_shape[2:]), lanes)

    @property
    def steps(self) -> int:
        """Vector steps per output row."""
        return -(-self.out_hw[1] // self.lanes)

    def vec(self, n: int) -> ir.VectorType:
        return ir.VectorType(self.a.ty, n)

    def splat(self, x: float, n: int) -> ir.Constant:
        return ir.Constant(self.vec(n), [self.a.c(x)] * n)

    def mask(self, valid: ir.Value, n: int, per: int) -> ir.Value:
        """Lanes 0..n-1 whose index is below ``valid * per`` (valid: outputs left in the row)."""
        b, vt = self.b, ir.VectorType(I32, n)
        limit = b.trunc(b.mul(valid, i64(per)), I32)
        first = b.insert_element(ir.Constant(vt, None), limit, ir.Constant(I32, 0))
        splat = b.shuffle_vector(first, ir.Constant(vt, None), ir.Constant(vt, [0] * n))
        return b.icmp_unsigned("<", ir.Constant(vt, list(range(n))), splat)

    def load(self, ptr: ir.Value, at: ir.Value, mask: ir.Value, n: int, fill: float,
             inbounds: bool = True) -> ir.Value:
        """Masked load of n elements at ptr + at (masked-off lanes: fill). ``inbounds=False``
        when the first element may lie outside the buffer (a window in the padding)."""
        vt = self.vec(n)
        fn = _declare(self.a.module, f"masked.load.v{n}{_short(self.a)}.p0", vt,
                      [ptr.type, mask.type, vt])
        return self.b.call(fn, [self._at(ptr, at, inbounds), mask, self.splat(fill, n)])

    def store(self, ptr: ir.Value, at: ir.Value, mask: ir.Value, value: ir.Value,
              inbounds: bool = True) -> None:
        """Masked store of ``value`` at ptr + at."""
        n = value.type.count
        fn = _declare(self.a.module, f"masked.store.v{n}{_short(self.a)}.p0", ir.VoidType(),
                      [value.type, ptr.type, mask.type])
        self.b.call(fn, [value, self._at(ptr, at, inbounds), mask])

    def _at(self, ptr: ir.Value, at: ir.Value, inbounds: bool) -> ir.Value:
        return self.b.gep(ptr, [at], inbounds=inbounds, source_etype=self.a.ty)

    def split(self, wide: ir.Value) -> list[ir.Value]:
        """The kw tap vectors of a loaded tap row (lane l of tap j: element j + kw*l)."""
        kw, n = self.kernel[1], self.lanes
        if kw == 1:
            return [wide]
        return [self.b.shuffle_vector(wide, ir.Constant(wide.type, None),
                                      ir.Constant(ir.VectorType(I32, n),
                                                  [j + kw * m for m in range(n)]))
                for j in range(kw)]

    def join(self, taps: list[ir.Value]) -> ir.Value:
        """The inverse of split: kw vectors interleaved into one tap row."""
        kw, n = len(taps), self.lanes
        whole = _concat(self.b, taps)
        order = [j * n + m for m in range(n) for j in range(kw)]
        return self.b.shuffle_vector(whole, ir.Constant(whole.type, None),
                                     ir.Constant(ir.VectorType(I32, kw * n), order))


def _declare(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    """Get or declare the vector intrinsic ``llvm.<name>`` (full overload suffix given)."""
    existing = module.globals.get(f"llvm.{name}")
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ret, args), f"llvm.{name}")


def _short(a: Arith) -> str:
    return "f32" if a.bits == 32 else "f64"


def _concat(b: ir.IRBuilder, parts: list[ir.Value]) -> ir.Value:
    """Equal-length vectors end to end (padded with undefined lanes to a power of two)."""
    while len(parts) > 1:
        if len(parts) % 2:
            parts = [*parts, ir.Constant(parts[0].type, None)]
        n = parts[0].type.count
        mask = ir.Constant(ir.VectorType(I32, 2 * n), list(range(2 * n)))
        parts = [b.shuffle_vector(parts[i], parts[i + 1], mask) for i in range(0, len(parts), 2)]
    return parts[0]


def _walk(r: _Rows, planes: int):
    """loop_nest over (plane, output row, vector step), with the outputs left in the row."""
    return loop_nest(r.b, [planes, r.out_hw[0], r.steps])


def _offsets(r: _Rows, p: ir.Value, oh: ir.Value, s: ir.Value) -> tuple[ir.Value, ir.Value,
                                                                        ir.Value]:
    """(first output index, input index of tap row 0, outputs left in the row) of a step."""
    b, (h, w), (oh_n, ow_n), (kh, kw) = r.b, r.hw, r.out_hw, r.kernel
    col = b.mul(s, i64(r.lanes))
    out_at = b.add(b.mul(b.add(b.mul(p, i64(oh_n)), oh), i64(ow_n)), col)
    row0 = b.add(b.mul(p, i64(h * w)), b.mul(oh, i64(kh * w)))
    left = b.sub(i64(ow_n), col)
    valid = b.select(b.icmp_signed("<", left, i64(r.lanes)), left, i64(r.lanes))
    return out_at, b.add(row0, b.mul(col, i64(kw))), valid


def _tap_rows(r: _Rows, x: ir.Value, row0: ir.Value, wide_mask: ir.Value) -> list[list[ir.Value]]:
    """The window taps of a step as vectors, [tap row][tap column]."""
    w, (kh, kw) = r.hw[1], r.kernel
    return [r.split(r.load(x, r.b.add(row0, i64(i * w)), wide_mask, kw * r.lanes, -math.inf))
            for i in range(kh)]


def max_pool_vector(k: KernelCtx, a: Arith, x: View, out: View, kernel: tuple[int, int]) -> None:
    """out = max over each tile, folded in row-major tap order from -inf."""
    r = _Rows.of(k, a, x, out.shape, kernel)
    maximum = _declare(a.module, f"maximum.v{r.lanes}{_short(a)}", r.vec(r.lanes),
                       [r.vec(r.lanes)] * 2)
    with _walk(r, out.shape[0] * out.shape[1]) as (p, oh, s):
        out_at, row0, valid = _offsets(r, p, oh, s)
        acc = r.splat(-math.inf, r.lanes)
        for row in _tap_rows(r, x.ptr, row0, r.mask(valid, kernel[1] * r.lanes, kernel[1])):
            for tap in row:
                acc = r.b.call(maximum, [acc, tap])
        r.store(out.ptr, out_at, r.mask(valid, r.lanes, 1), acc)


def _first_max(r: _Rows, values: list[ir.Value]) -> ir.Value:
    """Per lane, the index of the first maximum (NaN counts as the maximum), as i32 lanes."""
    b, a, it = r.b, r.a, ir.VectorType(I32, r.lanes)
    best, where = values[0], ir.Constant(it, [0] * r.lanes)
    for t, v in enumerate(values[1:], start=1):
        first_nan = b.and_(a.isnan(v), b.fcmp_ordered("ord", best, best))
        take = b.or_(b.fcmp_ordered(">", v, best), first_nan)
        best, where = b.select(take, v, best), b.select(take, ir.Constant(it, [t] * r.lanes),
                                                        where)
    return where


def max_pool_grad_vector(k: KernelCtx, a: Arith, x: View, gy: View, gx: View,
                         kernel: tuple[int, int]) -> None:
    """gx = gy at each tile's first maximum, 0 at its other taps (uncovered inputs untouched)."""
    r = _Rows.of(k, a, x, gy.shape, kernel)
    b, w, (kh, kw), n = r.b, r.hw[1], kernel, r.lanes
    it = ir.VectorType(I32, n)
    zero = r.splat(0.0, n)
    with _walk(r, gy.shape[0] * gy.shape[1]) as (p, oh, s):
        out_at, row0, valid = _offsets(r, p, oh, s)
        wide_mask = r.mask(valid, kw * n, kw)
        g = r.load(gy.ptr, out_at, r.mask(valid, n, 1), n, 0.0)
        where = _first_max(r, [t for row in _tap_rows(r, x.ptr, row0, wide_mask) for t in row])
        for i in range(kh):
            kept = [b.fadd(zero, b.select(b.icmp_signed("==", where,
                                                        ir.Constant(it, [i * kw + j] * n)),
                                          g, zero))
                    for j in range(kw)]
            r.store(gx.ptr, b.add(row0, i64(i * w)), wide_mask, r.join(kept) if kw > 1
                    else kept[0])



# --- any window, stride and padding -----------------------------------------------------------
@dataclass(frozen=True)
class _Windows:
    """A general pool's geometry: tap (i, j) of the lanes of a step is one strided row segment."""

    r: _Rows
    stride: tuple[int, int]
    padding: tuple[int, int]

    @property
    def wide(self) -> int:
        """Elements of one tap's load: lane l reads element stride_w * l."""
        return self.stride[1] * self.r.lanes

    def row(self, p: ir.Value, oh: ir.Value, i: int) -> tuple[ir.Value, ir.Value]:
        """(element offset of input row ih of plane p, clamped into the image; whether ih is)."""
        b, (h, w) = self.r.b, self.r.hw
        ih = b.add(b.mul(oh, i64(self.stride[0])), i64(i - self.padding[0]))
        ok = b.and_(b.icmp_signed(">=", ih, i64(0)), b.icmp_signed("<", ih, i64(h)))
        return b.add(b.mul(p, i64(h * w)), b.mul(b.select(ok, ih, i64(0)), i64(w))), ok

    def tap_mask(self, col0: ir.Value, j: int, row_ok: ir.Value) -> tuple[ir.Value, ir.Value]:
        """(input column of element 0 of tap j's load, the mask of its elements in the image)."""
        b, n = self.r.b, self.wide
        base = b.add(b.mul(col0, i64(self.stride[1])), i64(j - self.padding[1]))
        iota = ir.Constant(ir.VectorType(I32, n), list(range(n)))
        inside = b.and_(b.icmp_signed(">=", iota, _splat_i32(b, b.neg(base), n)),
                        b.icmp_signed("<", iota, _splat_i32(b, b.sub(i64(self.r.hw[1]), base), n)))
        none = ir.Constant(inside.type, [0] * n)
        return base, b.select(row_ok, inside, none)

    def pick(self, wide: ir.Value) -> ir.Value:
        """Lane l = element stride_w * l."""
        s, n = self.stride[1], self.r.lanes
        if s == 1:
            return wide
        order = ir.Constant(ir.VectorType(I32, n), [s * m for m in range(n)])
        return self.r.b.shuffle_vector(wide, ir.Constant(wide.type, None), order)

    def place(self, lanes: ir.Value, zero: ir.Value) -> ir.Value:
        """The inverse of pick: lane l at element stride_w * l, zeros between."""
        s, n = self.stride[1], self.r.lanes
        if s == 1:
            return lanes
        order = [e // s if e % s == 0 else n for e in range(self.wide)]
        return self.r.b.shuffle_vector(lanes, zero, ir.Constant(ir.VectorType(I32, self.wide),
                                                                order))

    def taps(self, x: ir.Value, p: ir.Value, oh: ir.Value, col0: ir.Value) -> list[ir.Value]:
        """Every tap's lanes in row-major tap order; taps in the padding read -inf."""
        r, out = self.r, []
        for i in range(r.kernel[0]):
            row, ok = self.row(p, oh, i)
            for j in range(r.kernel[1]):
                base, mask = self.tap_mask(col0, j, ok)
                at = r.b.add(row, base)
                out.append(self.pick(r.load(x, at, mask, self.wide, -math.inf, False)))
        return out


def _splat_i32(b: ir.IRBuilder, x: ir.Value, n: int) -> ir.Value:
    vt = ir.VectorType(I32, n)
    first = b.insert_element(ir.Constant(vt, None), b.trunc(x, I32), ir.Constant(I32, 0))
    return b.shuffle_vector(first, ir.Constant(vt, None), ir.Constant(vt, [0] * n))


def _windows(k: KernelCtx, a: Arith, x: View, out_shape: tuple[int, ...]) -> _Windows:
    at = k.attrs
    kernel = tuple(at["kernel_size"])
    r = _Rows.of(k, a, x, out_shape, kernel)  # type: ignore[arg-type]
    return _Windows(r, tuple(at["stride"] or kernel), tuple(at["padding"]))  # type: ignore[arg-type]


def max_pool_windows_vector(k: KernelCtx, a: Arith, x: View, out: View) -> None:
    """out = max over each window, folded in row-major tap order from -inf (padding: -inf)."""
    win = _windows(k, a, x, out.shape)
    r = win.r
    maximum = _declare(a.module, f"maximum.v{r.lanes}{_short(a)}", r.vec(r.lanes),
                       [r.vec(r.lanes)] * 2)
    with _walk(r, out.shape[0] * out.shape[1]) as (p, oh, s):
        out_at, _, valid = _offsets(r, p, oh, s)
        acc = r.splat(-math.inf, r.lanes)
        for tap in win.taps(x.ptr, p, oh, r.b.mul(s, i64(r.lanes))):
            acc = r.b.call(maximum, [acc, tap])
        r.store(out.ptr, out_at, r.mask(valid, r.lanes, 1), acc)


def max_pool_windows_grad_vector(k: KernelCtx, a: Arith, x: View, gy: View, gx: View) -> None:
    """gx += gy at each window's first maximum (gx zeroed before).

    Per element the additions come in the scalar kernel's window order: a step's lanes are
    adjacent windows of one output row, and only taps of one tap row can share an element, the
    later window through the smaller tap column; so tap columns are applied in falling order.
    """
    win = _windows(k, a, x, gy.shape)
    r = win.r
    b, n, (kh, kw) = r.b, r.lanes, r.kernel
    it, zero = ir.VectorType(I32, n), r.splat(0.0, n)
    every = ir.Constant(ir.VectorType(I32, win.wide), [e % win.stride[1] for e in range(win.wide)])
    with _walk(r, gy.shape[0] * gy.shape[1]) as (p, oh, s):
        out_at, _, valid = _offsets(r, p, oh, s)
        col0 = b.mul(s, i64(n))
        g = r.load(gy.ptr, out_at, r.mask(valid, n, 1), n, 0.0)
        where = _first_max(r, win.taps(x.ptr, p, oh, col0))
        ours = b.and_(r.mask(valid, win.wide, win.stride[1]),
                      b.icmp_signed("==", every, ir.Constant(every.type, [0] * win.wide)))
        for i in range(kh):
            row, ok = win.row(p, oh, i)
            for j in reversed(range(kw)):
                base, mask = win.tap_mask(col0, j, ok)
                mask = b.and_(mask, ours)
                kept = b.select(b.icmp_signed("==", where, ir.Constant(it, [i * kw + j] * n)),
                                g, zero)
                at = b.add(row, base)
                old = r.load(gx.ptr, at, mask, win.wide, 0.0, False)
                r.store(gx.ptr, at, mask, b.fadd(old, win.place(kept, zero)), False)
