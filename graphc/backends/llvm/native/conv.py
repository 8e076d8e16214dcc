"""conv2d and its two gradient ops as LLVM kernels: im2col / col2im around the packed GEMM.

Shapes are static (the backend compiles per binding of the symbolic dims): each kernel is a
thin loop nest for one ``ConvGeom``, named after it, around the shared GEMM and the shared
im2col/col2im. Layouts are contiguous NCHW activations and OIHW weights, exactly as the
catalogue ops (graphc/ops/nn.py) define them. C signatures::

    void graphc_conv2d_<tag>(T* x, T* w, T* y, T* work)              // y = conv2d(x, w)
    void graphc_conv2d_input_grad_<tag>(T* gy, T* w, T* gx, T* work)  // gx = conv2d_input_grad
    void graphc_conv2d_weight_grad_<tag>(T* x, T* gy, T* gw, T* work) // gw = conv2d_weight_grad

``work`` holds ``conv_workspace_bytes(dtype, geom)`` bytes (one column matrix, then the GEMM's
packing buffer), 64-byte aligned at best, and must not be null (a static fallback would cost
every graph a large zeroed data section). Outputs never alias inputs.

Per image and group, the forward pass is ``y[n, g] = W_g @ col`` with ``col = im2col(x[n, g])``
of shape [Cg*KH*KW, OH*OW]; the input gradient is ``col2im(W_g^T @ gy[n, g])``; the weight
gradient accumulates ``gy[n, g] @ col^T`` over the batch (or its transpose, see
``_swap_weight_grad``). Transposes are GEMM strides. 1x1, stride 1, unpadded: no im2col.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import i64
from graphc.backends.llvm.irgen.blocks import (
    FLOAT_TYPES,
    elem_ptr,
    new_function,
)
from graphc.backends.llvm.irgen.loops import for_range
from graphc.backends.llvm.native.gemm import emit_gemm, gemm_workspace_bytes
from graphc.backends.llvm.native.gemm_blocks import ELEM_BYTES
from graphc.backends.llvm.native.im2col import Geo, emit_col2im, emit_im2col
from graphc.ir.errors import BackendError

__all__ = [
    "ConvGeom",
    "conv_workspace_bytes",
    "emit_conv2d",
    "emit_conv2d_input_grad",
    "emit_conv2d_weight_grad",
]


@dataclass(frozen=True)
class ConvGeom:
    """The static geometry of one conv2d: input [N,C,H,W], weight [O,C/groups,KH,KW]."""

    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilation: tuple[int, int] = (1, 1)
    groups: int = 1
    gy_channels: int = 0  # channels of the gy a weight gradient reads (0: o; more: a chunk of o)

    def __post_init__(self) -> None:
        if self.c % self.groups or self.o % self.groups:
            raise BackendError(f"conv2d: {self.c} input / {self.o} output channels do not split "
                               f"into {self.groups} groups")
        if min(self.out_hw) < 1:
            raise BackendError(f"conv2d: window {self.kh}x{self.kw} does not fit {self.h}x{self.w}")

    @classmethod
    def from_shapes(cls, x: Sequence[int], w: Sequence[int], attrs: Mapping) -> ConvGeom:
        """From the x and w shapes and the (canonical, pair-valued) attrs of a conv2d node."""
        return cls(x[0], x[1], x[2], x[3], w[0], w[2], w[3], tuple(attrs["stride"]),
                   tuple(attrs["padding"]), tuple(attrs["dilation"]), attrs["groups"])

    @property
    def out_hw(self) -> tuple[int, int]:
        """(OH, OW), PyTorch's floor formula."""
        return tuple(  # type: ignore[return-value]
            (size + 2 * p - d * (k - 1) - 1) // s + 1
            for size, k, s, p, d in zip((self.h, self.w), (self.kh, self.kw), self.stride,
                                        self.padding, self.dilation, strict=True)
        )

    @property
    def cg(self) -> int:
        """Input channels per group."""
        return self.c // self.groups

    @property
    def og(self) -> int:
        """Output channels per group."""
        return self.o // self.groups

    @property
    def kdim(self) -> int:
        """Rows of the column matrix (the GEMM's K for the forward pass)."""
        return self.cg * self.kh * self.kw

    @property
    def npix(self) -> int:
        """Output pixels per image, OH*OW (columns of the column matrix)."""
        return self.out_hw[0] * self.out_hw[1]

    @property
    def direct(self) -> bool:
        """True when the column matrix is the input itself (1x1, stride 1, no padding)."""
        return (self.kh, self.kw, self.stride, self.padding) == (1, 1, (1, 1), (0, 0))

    @property
    def tag(self) -> str:
        """A name fragment unique to this geometry."""
        pairs = "_".join(f"{a}x{b}" for a, b in (self.stride, self.padding, self.dilation))
        dims = f"n{self.n}c{self.c}h{self.h}w{self.w}o{self.o}k{self.kh}x{self.kw}"
        chunk = f"_of{self.gy_channels}" if self.gy_channels else ""
        return f"{dims}_{pairs}_g{self.groups}{chunk}"


def conv_workspace_bytes(dtype: str, geom: ConvGeom) -> int:
    """Bytes of ``work`` the conv kernels of ``geom`` need (the same for all three)."""
    return sum(_scratch_elems(geom)) * ELEM_BYTES[dtype] + gemm_workspace_bytes(dtype)


def _scratch_elems(g: ConvGeom) -> tuple[int, int]:
    """(column matrix, transposed weight gradient) elements; the GEMM's buffer follows."""
    return 0 if g.direct else g.kdim * g.npix, g.o * g.kdim if _swap_weight_grad(g) else 0


def _swap_weight_grad(g: ConvGeom) -> bool:
    # gw [Og, Kdim] = gy @ col^T has a thin N when Kdim < Og (a 1-channel 3x3 conv: N = 9), which
    # wastes most of each vector; col @ gy^T = gw^T [Kdim, Og] keeps the wide side in the vectors.
    return g.kdim < g.og


# --- the three kernels ---------------------------------------------------------------------


@dataclass
class _Kernel:
    """The frame shared by the three kernels: builder, pointers, workspace split, the GEMM."""

    g: ConvGeom
    dtype: str
    fn: ir.Function
    b: ir.IRBuilder
    col: ir.Value
    gwt: ir.Value
    gemm_ws: ir.Value

    @classmethod
    def new(cls, module: ir.Module, name: str, dtype: str, g: ConvGeom) -> _Kernel:
        """A new kernel ``name(a, b, out, work)`` with ``work`` split into its parts."""
        p = FLOAT_TYPES[dtype].as_pointer()
        fn = new_function(module, name, [p, p, p, p], internal=False)
        b = ir.IRBuilder(fn.entry_basic_block)
        work = fn.args[3]
        cols, gwt = _scratch_elems(g)
        return cls(g, dtype, fn, b, work, elem_ptr(b, work, cols), elem_ptr(b, work, cols + gwt))

    def gemm(self, mnk: tuple, a: tuple, bm: tuple, c: tuple, beta: float | ir.Value) -> None:
        """C[M,N] = A @ B (+ beta*C): a/bm = (ptr, row stride, col stride), c = (ptr, ldc)."""
        t = FLOAT_TYPES[self.dtype]
        beta = ir.Constant(t, beta) if isinstance(beta, float) else beta
        args = [*map(i64, mnk), a[0], i64(a[1]), i64(a[2]), bm[0], i64(bm[1]), i64(bm[2]),
                c[0], i64(c[1]), ir.Constant(t, 1.0), beta, self.gemm_ws]
        self.b.call(emit_gemm(self.b.module, self.dtype), args)

    @contextmanager
    def images(self) -> Iterator[tuple[ir.Value, ir.Value]]:
        """Loop over images and groups; yields (n, group)."""
        b, g = self.b, self.g
        with for_range(b, 0, g.n, name="n") as n, for_range(b, 0, g.groups, name="grp") as grp:
            yield n, grp

    def image(self, base: ir.Value, n: ir.Value, grp: ir.Value) -> ir.Value:
        """The [Cg, H, W] block of image n, group grp, of an [N, C, H, W] tensor."""
        g = self.g
        return self.at(base, (n, g.c * g.h * g.w), (grp, g.cg * g.h * g.w))

    def columns(self, x: ir.Value, n: ir.Value, grp: ir.Value) -> ir.Value:
        """The [Kdim, OH*OW] column matrix of image n, group grp (im2col unless direct)."""
        image = self.image(x, n, grp)
        if self.g.direct:
            return image
        im2col = emit_im2col(self.b.module, self.dtype)
        self.b.call(im2col, [image, self.col, *Geo.of(self.g)])
        return self.col

    def at(self, base: ir.Value, *terms: tuple[ir.Value | int, int]) -> ir.Value:
        """base + sum(index * stride) in elements."""
        b = self.b
        return elem_ptr(b, base, *(b.mul(i64(ix), i64(st)) for ix, st in terms))


KernelBody = Callable[[_Kernel, ir.Value, ir.Value, ir.Value], None]


def _emit(module: ir.Module, dtype: str, g: ConvGeom, op: str, body: KernelBody) -> ir.Function:
    """``graphc_<op>_<dtype>_<tag>(a, b, out, work)`` once per module; ``body`` builds it."""
    if dtype not in FLOAT_TYPES:
        raise BackendError(f"{op}: no LLVM kernel for dtype {dtype}; expected f32 or f64")
    name = f"graphc_{op}_{dtype}_{g.tag}"
    if name in module.globals:
        return module.globals[name]
    k = _Kernel.new(module, name, dtype, g)
    body(k, *k.fn.args[:3])
    k.b.ret_void()
    return k.fn


def emit_conv2d(module: ir.Module, dtype: str, g: ConvGeom) -> ir.Function:
    """Emit ``graphc_conv2d_<dtype>_<tag>(x, w, y, work)``: y = conv2d(x, w)."""
    return _emit(module, dtype, g, "conv2d", _forward)


def emit_conv2d_input_grad(module: ir.Module, dtype: str, g: ConvGeom) -> ir.Function:
    """Emit ``graphc_conv2d_input_grad_<dtype>_<tag>(gy, w, gx, work)``."""
    return _emit(module, dtype, g, "conv2d_input_grad", _input_grad)


def emit_conv2d_weight_grad(module: ir.Module, dtype: str, g: ConvGeom) -> ir.Function:
    """Emit ``graphc_conv2d_weight_grad_<dtype>_<tag>(x, gy, gw, work)``."""
    return _emit(module, dtype, g, "conv2d_weight_grad", _weight_grad)


def _forward(k: _Kernel, x: ir.Value, w: ir.Value, y: ir.Value) -> None:
    g = k.g
    with k.images() as (n, grp):
        cols = k.columns(x, n, grp)
        out = k.at(y, (n, g.o * g.npix), (grp, g.og * g.npix))
        k.gemm((g.og, g.npix, g.kdim), (k.at(w, (grp, g.og * g.kdim)), g.kdim, 1),
               (cols, g.npix, 1), (out, g.npix), 0.0)


def _input_grad(k: _Kernel, gy: ir.Value, w: ir.Value, gx: ir.Value) -> None:
    g = k.g
    if not g.direct:  # col2im accumulates into gx
        _zero(k.b, gx, g.n * g.c * g.h * g.w)
    with k.images() as (n, grp):
        image = k.image(gx, n, grp)
        cols = image if g.direct else k.col
        k.gemm((g.kdim, g.npix, g.og), (k.at(w, (grp, g.og * g.kdim)), 1, g.kdim),
               (k.at(gy, (n, g.o * g.npix), (grp, g.og * g.npix)), g.npix, 1), (cols, g.npix),
               0.0)
        if not g.direct:
            k.b.call(emit_col2im(k.b.module, k.dtype), [k.col, image, *Geo.of(g)])


def _weight_grad(k: _Kernel, x: ir.Value, gy: ir.Value, gw: ir.Value) -> None:
    g = k.g
    swap = _swap_weight_grad(g)
    acc = k.gwt if swap else gw
    if g.n == 0:
        _zero(k.b, acc, g.o * g.kdim)
    t = FLOAT_TYPES[k.dtype]
    with k.images() as (n, grp):
        cols = k.columns(x, n, grp)
        first = k.b.icmp_signed("==", n, i64(0))
        beta = k.b.select(first, ir.Constant(t, 0.0), ir.Constant(t, 1.0))
        gyg = k.at(gy, (n, (g.gy_channels or g.o) * g.npix), (grp, g.og * g.npix))
        out = k.at(acc, (grp, g.og * g.kdim))
        if swap:  # gw_g^T [Kdim, Og] += col [Kdim, P] @ gy_g^T [P, Og]
            k.gemm((g.kdim, g.og, g.npix), (cols, g.npix, 1), (gyg, 1, g.npix), (out, g.og), beta)
        else:  # gw_g [Og, Kdim] += gy_g [Og, P] @ col^T [P, Kdim]
            k.gemm((g.og, g.kdim, g.npix), (gyg, g.npix, 1), (cols, 1, g.npix), (out, g.kdim), beta)
    if swap:
        _transpose_blocks(k.b, k.gwt, gw, g.groups, g.kdim, g.og)


def _transpose_blocks(b: ir.IRBuilder, src: ir.Value, dst: ir.Value, count: int, rows: int,
                      cols: int) -> None:
    """dst[blk][c][r] = src[blk][r][c] for ``count`` row-major [rows, cols] blocks."""
    with for_range(b, 0, count * rows, name="tr") as r, for_range(b, 0, cols, name="tc") as c:
        blk, row = b.sdiv(r, i64(rows)), b.srem(r, i64(rows))
        val = b.load(elem_ptr(b, src, b.mul(r, i64(cols)), c))
        b.store(val, elem_ptr(b, dst, b.mul(blk, i64(rows * cols)), b.mul(c, i64(rows)), row))


def _zero(b: ir.IRBuilder, ptr: ir.Value, count: int) -> None:
    zero = ir.Constant(ptr.type.pointee, 0.0)
    with for_range(b, 0, count, name="z") as i:
        b.store(zero, b.gep(ptr, [i]))
