"""im2col / col2im for the conv kernels (conv.py): one image and group at a time.

One function per dtype and module with the geometry as arguments: specializing them per conv
cost about a second of LLVM time per kernel for no measurable speed. Only output rows and
columns whose input lies inside the image are read (the valid ranges are computed per tap), so
the inner loops carry no bounds checks and vectorize.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I64, i64
from graphc.backends.llvm.irgen.blocks import (
    FLOAT_TYPES,
    ceil_div,
    imin,
    new_function,
)
from graphc.backends.llvm.irgen.loops import for_range

if TYPE_CHECKING:
    from graphc.backends.llvm.native.conv import ConvGeom

__all__ = ["Geo", "emit_col2im", "emit_im2col"]


class Geo(NamedTuple):
    """A conv geometry as i64 IR values (the arguments of im2col / col2im)."""

    cg: ir.Value
    h: ir.Value
    w: ir.Value
    kh: ir.Value
    kw: ir.Value
    sh: ir.Value
    sw: ir.Value
    ph: ir.Value
    pw: ir.Value
    dh: ir.Value
    dw: ir.Value
    oh: ir.Value
    ow: ir.Value

    @staticmethod
    def of(g: ConvGeom) -> list[ir.Value]:
        """The argument list for ``g``."""
        return [i64(v) for v in (g.cg, g.h, g.w, g.kh, g.kw, *g.stride, *g.padding, *g.dilation,
                                 *g.out_hw)]


def _valid_range(b: ir.IRBuilder, tap: ir.Value, stride: ir.Value, pad: ir.Value, dil: ir.Value,
                 size: ir.Value, count: ir.Value) -> tuple[ir.Value, ir.Value]:
    """[lo, hi): the outputs o with 0 <= o*stride - pad + tap*dil < size (may be empty)."""
    start = b.sub(pad, b.mul(tap, dil))  # o*stride >= start
    lo = b.select(b.icmp_signed(">", start, i64(0)), ceil_div(b, start, stride), i64(0))
    end = b.add(start, size)  # o*stride < end
    hi = imin(b, b.select(b.icmp_signed(">", end, i64(0)), ceil_div(b, end, stride), i64(0)),
              count)
    return imin(b, lo, hi), hi


class _Row(NamedTuple):
    """One output row of one tap: where it lives in col and in the image, and its valid span."""

    col: ir.Value  # element offset of (col row, oh) in the column matrix
    image: ir.Value | None  # element offset of input row ih in the [Cg, H, W] image (None: pad)
    lo: ir.Value  # valid output columns [lo, hi); input column = ow*sw + shift
    hi: ir.Value
    shift: ir.Value


def _taps(b: ir.IRBuilder, geo: Geo, body: Callable[[_Row], None], pad_rows: bool) -> None:
    """Call ``body`` for every (channel, tap, output row); rows in the padding only if pad_rows."""
    npix = b.mul(geo.oh, geo.ow)
    with for_range(b, 0, geo.cg, name="c") as c, for_range(b, 0, geo.kh, name="i") as i:
        lo, hi = _valid_range(b, i, geo.sh, geo.ph, geo.dh, geo.h, geo.oh)
        with for_range(b, 0, geo.kw, name="j") as j:
            jlo, jhi = _valid_range(b, j, geo.sw, geo.pw, geo.dw, geo.w, geo.ow)
            shift = b.sub(b.mul(j, geo.dw), geo.pw)
            row = b.mul(b.add(b.mul(b.add(b.mul(c, geo.kh), i), geo.kw), j), npix)

            def at(oh: ir.Value) -> ir.Value:
                return b.add(row, b.mul(oh, geo.ow))

            for a, z in ((0, lo), (hi, geo.oh)) if pad_rows else ():
                with for_range(b, a, z, name="zr") as oh:
                    body(_Row(at(oh), None, jlo, jhi, shift))
            with for_range(b, lo, hi, name="oh") as oh:
                ih = b.add(b.sub(b.mul(oh, geo.sh), geo.ph), b.mul(i, geo.dh))
                image = b.add(b.mul(c, b.mul(geo.h, geo.w)), b.mul(ih, geo.w))
                body(_Row(at(oh), image, jlo, jhi, shift))


def _along_row(b: ir.IRBuilder, geo: Geo, row: _Row, body: Callable[[ir.Value, ir.Value], None],
               ) -> None:
    """body(ow, input column) for ow in [lo, hi): unit stride gets its own loop to vectorize."""
    with b.if_else(b.icmp_signed("==", geo.sw, i64(1))) as (unit, strided):
        for arm, stride in ((unit, i64(1)), (strided, geo.sw)):
            with arm, for_range(b, row.lo, row.hi, name="ow") as ow:
                body(ow, b.add(b.mul(ow, stride), row.shift))


GeoBody = Callable[[ir.IRBuilder, ir.Value, ir.Value, Geo], None]


def _geo_function(module: ir.Module, op: str, dtype: str, build: GeoBody) -> ir.Function:
    """``graphc_<op>_<dtype>(p, q, geometry...)``, its body from ``build``; once per module."""
    name = f"graphc_{op}_{dtype}"
    if name in module.globals:
        return module.globals[name]
    t = FLOAT_TYPES[dtype]
    fn = new_function(module, name, [t.as_pointer()] * 2 + [I64] * len(Geo._fields), True)
    fn.attributes.add("noinline")
    b = ir.IRBuilder(fn.entry_basic_block)
    build(b, fn.args[0], fn.args[1], Geo(*fn.args[2:]))
    b.ret_void()
    return fn


def emit_im2col(module: ir.Module, dtype: str) -> ir.Function:
    """im2col(x, col, geometry...): x [Cg, H, W] (one image and group) -> col [Kdim, OH*OW]."""
    return _geo_function(module, "im2col", dtype, _im2col_body)


def _im2col_body(b: ir.IRBuilder, x: ir.Value, col: ir.Value, geo: Geo) -> None:
    zero = ir.Constant(x.type.pointee, 0.0)

    def fill(row: _Row) -> None:
        dst = b.gep(col, [row.col])
        spans = ((0, geo.ow),) if row.image is None else ((0, row.lo), (row.hi, geo.ow))
        for a, z in spans:
            with for_range(b, a, z, name="zw") as ow:
                b.store(zero, b.gep(dst, [ow]))
        if row.image is None:
            return
        src = b.gep(x, [row.image])
        _along_row(b, geo, row, lambda ow, iw: b.store(b.load(b.gep(src, [iw])), b.gep(dst, [ow])))

    _taps(b, geo, fill, pad_rows=True)


def emit_col2im(module: ir.Module, dtype: str) -> ir.Function:
    """col2im(col, gx, geometry...): gx [Cg, H, W] += the taps of col (gx pre-zeroed)."""
    return _geo_function(module, "col2im", dtype, _col2im_body)


def _col2im_body(b: ir.IRBuilder, col: ir.Value, gx: ir.Value, geo: Geo) -> None:
    def add(row: _Row) -> None:
        src, dst = b.gep(col, [row.col]), b.gep(gx, [row.image])

        def one(ow: ir.Value, iw: ir.Value) -> None:
            ptr = b.gep(dst, [iw])
            b.store(b.fadd(b.load(ptr), b.load(b.gep(src, [ow]))), ptr)

        _along_row(b, geo, row, one)

    _taps(b, geo, add, pad_rows=False)
