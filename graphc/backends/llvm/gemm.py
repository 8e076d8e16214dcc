"""Packed, register-blocked GEMM in LLVM IR: C = alpha * op(A) @ op(B) + beta * C.

Emitted once per module per dtype (``emit_gemm``); every other kernel that needs a matrix
product (matmul, batched matmul, conv2d and its gradients) calls it.

C signature of ``graphc_gemm_f32`` (``_f64`` likewise with double)::

    void graphc_gemm_f32(i64 M, i64 N, i64 K,
                         float* A, i64 rsa, i64 csa,   // A[i, k] = A[i*rsa + k*csa]
                         float* B, i64 rsb, i64 csb,   // B[k, j] = B[k*rsb + j*csb]
                         float* C, i64 ldc,            // C[i, j] = C[i*ldc + j]
                         float alpha, float beta,
                         float* work)                  // gemm_workspace_bytes(dtype), or null

Transposes are strides: op(A) = A^T is ``rsa=1, csa=lda``. ``beta == 0`` overwrites C without
reading its values (NaN garbage in C is fine). ``K == 0`` gives ``C = beta*C``. ``work`` must
not alias A, B or C; null selects a module-private static buffer (then the kernel is not
reentrant: two threads calling it at once need their own workspaces).

Design (BLIS-like, measured on Zen 4): only B is packed, into zero-padded panels of NR columns
(NR = 2 vectors); the micro-kernel keeps MR x NR accumulators in vector registers and
broadcasts A elements straight from memory with any strides (an A pack would be a strided
gather anyway), so no transposed copy of A is ever made. Blocks are balanced (784 = 4 x 196,
not 3 x 256 + 16) so no block degenerates into a thin, slow one.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any

import llvmlite.binding as llvm
from llvmlite import ir

I64 = ir.IntType(64)
I32 = ir.IntType(32)
FLOAT_TYPES: dict[str, ir.Type] = {"f32": ir.FloatType(), "f64": ir.DoubleType()}
_ELEM_BYTES = {"f32": 4, "f64": 8}


# --- host configuration -----------------------------------------------------------------


def host_vector_bits() -> int:
    """Widest vector register of the host CPU in bits (512 with AVX-512F, 256 with AVX)."""
    feats = llvm.get_host_cpu_features()
    if feats.get("avx512f"):
        return 512
    return 256 if feats.get("avx") else 128


@dataclass(frozen=True)
class GemmConfig:
    """Register and cache blocking of the GEMM for one dtype on one host."""

    vw: int  # elements per vector register
    mr: int  # rows of the wide micro-tile (MR x 2 vectors of accumulators)
    mr_narrow: int  # rows of the narrow micro-tile (two half vectors), for N edges
    kc: int  # depth of a packed B panel (cache block over K)
    mc: int  # rows of A per block (keeps the A block in L2)
    nc: int  # columns of B per packed block

    @property
    def nr(self) -> int:
        """Columns of a micro-tile (two vectors)."""
        return 2 * self.vw


@cache
def gemm_config(dtype: str, vector_bits: int | None = None) -> GemmConfig:
    """Blocking for ``dtype`` on a host with ``vector_bits``-wide registers (default: this one)."""
    bits = vector_bits or host_vector_bits()
    vw = bits // (8 * _ELEM_BYTES[dtype])
    regs = 32 if bits == 512 else 16
    # MR rows x 2 vectors of accumulators + 2 B vectors + 1 broadcast must fit the registers.
    mr = min(8, (regs - 3) // 2)
    mr_narrow = min(12, regs - 3)
    nc = 512 * 4 // _ELEM_BYTES[dtype]  # a KC x NC panel of B stays within half of a 1 MiB L2
    return GemmConfig(vw=vw, mr=mr, mr_narrow=mr_narrow, kc=256, mc=256, nc=nc)


def gemm_workspace_bytes(dtype: str) -> int:
    """Bytes of the ``work`` buffer ``graphc_gemm_<dtype>`` needs (64-byte alignment is best)."""
    cfg = gemm_config(dtype)
    return cfg.kc * cfg.nc * _ELEM_BYTES[dtype]


# --- small IR helpers shared with conv.py --------------------------------------------------


def i64(v: int | ir.Value) -> ir.Value:
    """An i64 constant from an int, or the value unchanged."""
    return ir.Constant(I64, v) if isinstance(v, int) else v


def imin(b: ir.IRBuilder, x: ir.Value, y: ir.Value) -> ir.Value:
    """Signed minimum of two i64 values."""
    x, y = i64(x), i64(y)
    return b.select(b.icmp_signed("<", x, y), x, y)


def ceil_div(b: ir.IRBuilder, x: ir.Value, y: int | ir.Value) -> ir.Value:
    """ceil(x / y) for x >= 0, y > 0."""
    y = i64(y)
    return b.sdiv(b.add(i64(x), b.sub(y, i64(1))), y)


@contextmanager
def for_range(
    b: ir.IRBuilder, start: int | ir.Value, stop: int | ir.Value, step: int | ir.Value = 1,
    name: str = "i",
) -> Iterator[ir.Value]:
    """Emit ``for (i = start; i < stop; i += step)`` around the body; yields i (i64)."""
    fn, pre = b.function, b.block
    head, body, done = (fn.append_basic_block(f"{name}.{s}") for s in ("head", "body", "done"))
    b.branch(head)
    b.position_at_end(head)
    idx = b.phi(I64, name)
    idx.add_incoming(i64(start), pre)
    b.cbranch(b.icmp_signed("<", idx, i64(stop)), body, done)
    b.position_at_end(body)
    yield idx
    idx.add_incoming(b.add(idx, i64(step)), b.block)
    b.branch(head)
    b.position_at_end(done)


def elem_ptr(b: ir.IRBuilder, base: ir.Value, *offsets: int | ir.Value) -> ir.Value:
    """Address ``base + sum(offsets)`` in elements."""
    off = i64(offsets[0])
    for o in offsets[1:]:
        off = b.add(off, i64(o))
    return b.gep(base, [off])


def _align(t: ir.Type) -> int:
    return 4 if isinstance(t, ir.FloatType) else 8


def load_vec(b: ir.IRBuilder, ptr: ir.Value, vty: ir.VectorType) -> ir.Value:
    """Unaligned vector load (element alignment only)."""
    return b.load(b.bitcast(ptr, vty.as_pointer()), align=_align(vty.element))


def store_vec(b: ir.IRBuilder, val: ir.Value, ptr: ir.Value) -> None:
    """Unaligned vector store (element alignment only)."""
    b.store(val, b.bitcast(ptr, val.type.as_pointer()), align=_align(val.type.element))


def splat(b: ir.IRBuilder, scalar: ir.Value, vty: ir.VectorType) -> ir.Value:
    """Broadcast a scalar to every lane of ``vty``."""
    one = b.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(I32, 0))
    mask = ir.Constant(ir.VectorType(I32, vty.count), [0] * vty.count)
    return b.shuffle_vector(one, ir.Constant(vty, ir.Undefined), mask)


def entry_alloca(b: ir.IRBuilder, ty: ir.Type) -> ir.Value:
    """A stack slot allocated in the entry block (a static frame slot, not a dynamic alloca)."""
    with b.goto_entry_block():
        b.position_at_start(b.function.entry_basic_block)
        return b.alloca(ty)


def vector_fma(module: ir.Module, vty: ir.VectorType) -> ir.Function:
    """The ``llvm.fma`` intrinsic on ``vty`` (llvmlite cannot name vector intrinsics itself)."""
    suffix = "f32" if isinstance(vty.element, ir.FloatType) else "f64"
    name = f"llvm.fma.v{vty.count}{suffix}"
    if name in module.globals:
        return module.globals[name]
    return ir.Function(module, ir.FunctionType(vty, [vty, vty, vty]), name)


def new_function(module: ir.Module, name: str, args: list[ir.Type], internal: bool) -> ir.Function:
    """A void function with nounwind and a builder-ready entry block."""
    fn = ir.Function(module, ir.FunctionType(ir.VoidType(), args), name)
    fn.attributes.add("nounwind")
    if internal:
        fn.linkage = "internal"
    fn.append_basic_block("entry")
    return fn


# --- micro-kernel -------------------------------------------------------------------------


@dataclass(frozen=True)
class TileShape:
    """A micro-tile: ``rows`` x (``vectors`` x ``lanes``) accumulators held in registers."""

    rows: int
    lanes: int
    vectors: int

    @property
    def width(self) -> int:
        """Columns of C the tile covers."""
        return self.lanes * self.vectors


def tile_shapes(cfg: GemmConfig) -> tuple[TileShape, TileShape]:
    """The wide tile (2 full vectors) and the narrow one for N edges (2 half vectors)."""
    return TileShape(cfg.mr, cfg.vw, 2), TileShape(cfg.mr_narrow, max(1, cfg.vw // 2), 2)


class _TileEmitter:
    """Builds one tile function: the k loop of FMAs, then C = alpha*acc + beta*C."""

    def __init__(self, fn: ir.Function, shape: TileShape, bstride: int) -> None:
        self.b = ir.IRBuilder(fn.entry_basic_block)
        self.shape, self.bstride = shape, bstride
        self.kc, self.a, self.rsa, self.csa, self.bp, self.c, self.ldc = fn.args[:7]
        self.alpha, self.beta, self.mr, self.nr = fn.args[7:]
        self.vty = ir.VectorType(self.alpha.type, shape.lanes)

    def emit(self) -> None:
        b, s = self.b, self.shape
        accs = self.accumulate()
        bz = b.fcmp_ordered("==", self.beta, ir.Constant(self.alpha.type, 0.0))
        full_m = b.icmp_signed("==", self.mr, i64(s.rows))
        full = b.and_(full_m, b.icmp_signed("==", self.nr, i64(s.width)))
        with b.if_else(full) as (then, otherwise):
            with then:
                self.store_full(accs, bz)
            with otherwise:
                self.store_edge(accs, bz)
        b.ret_void()

    def accumulate(self) -> list[ir.Value]:
        """All the k loop's accumulators; a full tile's row addresses are affine in the row."""
        b, s = self.b, self.shape
        full = b.icmp_signed("==", self.mr, i64(s.rows))
        # Rows past mr re-read the last valid row: in bounds, and their results are discarded.
        # Only edge tiles pay for that clamp: it hides the affine form x86 addressing needs.
        last = b.sub(self.mr, i64(1))
        rows = {
            "full": [b.mul(i64(i), self.rsa) for i in range(s.rows)],
            "edge": [b.mul(imin(b, i64(i), last), self.rsa) for i in range(s.rows)],
        }
        outs, blocks = {}, {}
        with b.if_else(full) as (then, otherwise):
            for key, arm in (("full", then), ("edge", otherwise)):
                with arm:
                    outs[key] = self.k_loop(rows[key])
                    blocks[key] = b.block
        return [
            _phi_edges(b.phi(self.vty), [(outs[k][n], blocks[k]) for k in outs])
            for n in range(s.rows * s.vectors)
        ]

    def k_loop(self, row_offsets: list[ir.Value]) -> list[ir.Value]:
        """The k loop: rows x vectors accumulators in phis, one FMA each per k."""
        b, s, vty = self.b, self.shape, self.vty
        fma, zero = vector_fma(b.module, vty), ir.Constant(vty, None)
        pre, fn = b.block, b.function
        loop, done = fn.append_basic_block("k.loop"), fn.append_basic_block("k.done")
        b.cbranch(b.icmp_signed(">", self.kc, i64(0)), loop, done)
        b.position_at_end(loop)
        k = b.phi(I64, "k")
        accs = [b.phi(vty) for _ in range(s.rows * s.vectors)]
        brow = b.mul(k, i64(self.bstride))
        bvec = [load_vec(b, elem_ptr(b, self.bp, brow, j * s.lanes), vty) for j in range(s.vectors)]
        col, new = b.gep(self.a, [b.mul(k, self.csa)]), []
        for i, off in enumerate(row_offsets):
            a = splat(b, b.load(b.gep(col, [off])), vty)
            new += [b.call(fma, [a, bv, accs[i * s.vectors + j]]) for j, bv in enumerate(bvec)]
        k1 = b.add(k, i64(1))
        _phi_edges(k, [(i64(0), pre), (k1, loop)])
        for phi, v in zip(accs, new, strict=True):
            _phi_edges(phi, [(zero, pre), (v, loop)])
        b.cbranch(b.icmp_signed("<", k1, self.kc), loop, done)
        b.position_at_end(done)
        return [_phi_edges(b.phi(vty), [(zero, pre), (v, loop)]) for v in new]

    def blend(self, acc: ir.Value, old: ir.Value, bz: ir.Value) -> ir.Value:
        """alpha*acc + beta*old, or alpha*acc when beta == 0 (old may be NaN garbage then)."""
        b = self.b
        alpha, beta = self.alpha, self.beta
        if isinstance(acc.type, ir.VectorType):
            alpha, beta = splat(b, alpha, acc.type), splat(b, beta, acc.type)
            bz = splat(b, bz, ir.VectorType(bz.type, acc.type.count))
        scaled = b.fmul(alpha, acc)
        return b.select(bz, scaled, b.fadd(scaled, b.fmul(beta, old)))

    def store_full(self, accs: list[ir.Value], bz: ir.Value) -> None:
        """Write a whole tile with vector loads and stores of C."""
        b, s = self.b, self.shape
        for n, acc in enumerate(accs):
            i, j = divmod(n, s.vectors)
            ptr = elem_ptr(b, self.c, b.mul(i64(i), self.ldc), j * s.lanes)
            store_vec(b, self.blend(acc, load_vec(b, ptr, self.vty), bz), ptr)

    def store_edge(self, accs: list[ir.Value], bz: ir.Value) -> None:
        """Write the valid mr x nr corner of a tile through a scratch copy of the accumulators."""
        b, s = self.b, self.shape
        base = b.bitcast(entry_alloca(b, ir.ArrayType(self.alpha.type, s.rows * s.width)),
                         self.alpha.type.as_pointer())
        for n, acc in enumerate(accs):
            store_vec(b, acc, elem_ptr(b, base, n * s.lanes))
        with for_range(b, 0, self.mr, name="ei") as i, for_range(b, 0, self.nr, name="ej") as j:
            t = b.load(elem_ptr(b, base, b.mul(i, i64(s.width)), j))
            ptr = elem_ptr(b, self.c, b.mul(i, self.ldc), j)
            b.store(self.blend(t, b.load(ptr), bz), ptr)


def _phi_edges(phi: ir.PhiInstr, edges: list[tuple[ir.Value, ir.Block]]) -> ir.PhiInstr:
    for value, block in edges:
        phi.add_incoming(value, block)
    return phi


def _emit_tile(module: ir.Module, dtype: str, shape: TileShape) -> ir.Function:
    """tile(kc, A, rsa, csa, Bp, C, ldc, alpha, beta, mr, nr): one block of C from a B panel."""
    cfg, t = gemm_config(dtype), FLOAT_TYPES[dtype]
    name = f"graphc_gemm_{dtype}_tile{shape.rows}x{shape.width}"
    if name in module.globals:
        return module.globals[name]
    p = t.as_pointer()
    fn = new_function(module, name, [I64, p, I64, I64, p, p, I64, t, t, I64, I64], internal=True)
    # Inlined into the driver's loop nest, the tile would share its integer registers with the
    # driver's loop state and spill row pointers inside the k loop.
    fn.attributes.add("noinline")
    _TileEmitter(fn, shape, cfg.nr).emit()
    return fn


# --- B packing and the blocked driver ----------------------------------------------------


def _emit_pack_b(module: ir.Module, dtype: str) -> ir.Function:
    """packb(kc, nc, B, rsb, csb, Bp): B[kc, nc] into zero-padded [nc/NR][kc][NR] panels."""
    cfg, t = gemm_config(dtype), FLOAT_TYPES[dtype]
    name = f"graphc_gemm_{dtype}_packb"
    if name in module.globals:
        return module.globals[name]
    p = t.as_pointer()
    fn = new_function(module, name, [I64, I64, p, I64, I64, p], internal=True)
    kc, nc, src0, rsb, csb, bp = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    with for_range(b, 0, nc, cfg.nr, name="jr") as jr:
        pk = _Pack(b, cfg, kc, imin(b, i64(cfg.nr), b.sub(nc, jr)),
                   b.gep(src0, [b.mul(jr, csb)]), rsb, csb, elem_ptr(b, bp, b.mul(jr, kc)))
        full = b.icmp_signed("==", pk.ncols, i64(cfg.nr))
        rows = b.and_(full, b.icmp_signed("==", csb, i64(1)))
        cols = b.and_(full, b.icmp_signed("==", rsb, i64(1)))
        with b.if_else(rows) as (then, otherwise):
            with then:
                pk.rows()
            with otherwise, b.if_else(cols) as (then2, otherwise2):
                with then2:
                    pk.columns(pk.transposed())
                with otherwise2:
                    pk.columns(i64(0))
    b.ret_void()
    return fn


@dataclass
class _Pack:
    """Packs one NR-column panel of B: dst[k*NR + j] = src[k*rsb + j*csb], zero past ncols."""

    b: ir.IRBuilder
    cfg: GemmConfig
    kc: ir.Value
    ncols: ir.Value
    src: ir.Value
    rsb: ir.Value
    csb: ir.Value
    dst: ir.Value

    def dst_at(self, k: ir.Value, j: int | ir.Value) -> ir.Value:
        return elem_ptr(self.b, self.dst, self.b.mul(k, i64(self.cfg.nr)), j)

    def rows(self) -> None:
        """Row-major B (csb == 1), a full panel: copy vector by vector."""
        b, vw = self.b, self.cfg.vw
        vty = ir.VectorType(self.src.type.pointee, vw)
        with for_range(b, 0, self.kc, name="k") as k:
            for v in range(0, self.cfg.nr, vw):
                val = load_vec(b, elem_ptr(b, self.src, b.mul(k, self.rsb), v), vty)
                store_vec(b, val, self.dst_at(k, v))

    def transposed(self) -> ir.Value:
        """Column-major B (rsb == 1): VW x VW blocks transposed in registers; returns k done."""
        b, vw = self.b, self.cfg.vw
        vty = ir.VectorType(self.src.type.pointee, vw)
        kdone = b.mul(b.sdiv(self.kc, i64(vw)), i64(vw))
        with for_range(b, 0, kdone, vw, name="kt") as k0:
            for v in range(0, self.cfg.nr, vw):
                cols = [load_vec(b, elem_ptr(b, self.src, b.mul(i64(v + j), self.csb), k0), vty)
                        for j in range(vw)]
                for r, row in enumerate(transpose_square(b, cols)):
                    store_vec(b, row, self.dst_at(b.add(k0, i64(r)), v))
        return kdone

    def columns(self, k_start: ir.Value) -> None:
        """Any strides, one column at a time from k_start; zero columns past ncols (N edge)."""
        b = self.b
        zero = ir.Constant(self.src.type.pointee, 0.0)
        with for_range(b, 0, self.cfg.nr, name="pj") as j:
            col = b.gep(self.src, [b.mul(j, self.csb)])
            with b.if_else(b.icmp_signed("<", j, self.ncols)) as (then, otherwise):
                with then, for_range(b, k_start, self.kc, name="pk") as k:
                    b.store(b.load(b.gep(col, [b.mul(k, self.rsb)])), self.dst_at(k, j))
                with otherwise, for_range(b, k_start, self.kc, name="pz") as k:
                    b.store(zero, self.dst_at(k, j))


def transpose_square(b: ir.IRBuilder, rows: list[ir.Value]) -> list[ir.Value]:
    """Transpose n vectors of n lanes (n a power of two) with log2(n) rounds of shuffles."""
    n, rows = len(rows), list(rows)
    d = n // 2
    while d:
        # Swap bit d of the row index with bit d of the lane index.
        lo = [x if not x & d else n + x - d for x in range(n)]
        hi = [x + d if not x & d else n + x for x in range(n)]
        for i in (i for i in range(n) if not i & d):
            a, c = rows[i], rows[i + d]
            rows[i], rows[i + d] = (b.shuffle_vector(a, c, _mask(m)) for m in (lo, hi))
        d //= 2
    return rows


def _mask(idx: list[int]) -> ir.Constant:
    return ir.Constant(ir.VectorType(I32, len(idx)), idx)


def _static_workspace(module: ir.Module, dtype: str) -> ir.GlobalVariable:
    """The module-private workspace used when the caller passes a null ``work``."""
    cfg, t = gemm_config(dtype), FLOAT_TYPES[dtype]
    gv = ir.GlobalVariable(module, ir.ArrayType(t, cfg.kc * cfg.nc), f"graphc_gemm_{dtype}_ws")
    gv.linkage, gv.align = "internal", 64
    gv.initializer = ir.Constant(gv.value_type, None)
    return gv


def _balanced_step(b: ir.IRBuilder, n: ir.Value, block: int, multiple: int = 1) -> ir.Value:
    """Split n into ceil(n/block) near-equal blocks; the block size, rounded up to `multiple`."""
    parts = b.select(b.icmp_signed(">", n, i64(block)), ceil_div(b, n, block), i64(1))
    step = ceil_div(b, n, parts)
    return b.mul(ceil_div(b, step, multiple), i64(multiple))


def emit_gemm(module: ir.Module, dtype: str) -> ir.Function:
    """Emit (once per module) ``graphc_gemm_<dtype>``; see the module docstring for its ABI."""
    name = f"graphc_gemm_{dtype}"
    if name in module.globals:
        return module.globals[name]
    cfg, t = gemm_config(dtype), FLOAT_TYPES[dtype]
    p = t.as_pointer()
    packb = _emit_pack_b(module, dtype)
    wide, narrow = tile_shapes(cfg)
    tiles = {shape: _emit_tile(module, dtype, shape) for shape in (wide, narrow)}
    args = [I64, I64, I64, p, I64, I64, p, I64, I64, p, I64, t, t, p]
    fn = new_function(module, name, args, internal=False)
    m, n, k, a, rsa, csa, bmat, rsb, csb, c, ldc, alpha, beta, work = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    static = b.bitcast(_static_workspace(module, dtype), p)
    work = b.select(b.icmp_unsigned("==", work, ir.Constant(p, None)), static, work)
    kstep = _balanced_step(b, k, cfg.kc)
    nk = b.select(b.icmp_signed(">", k, i64(0)), ceil_div(b, k, b.select(
        b.icmp_signed(">", kstep, i64(0)), kstep, i64(1))), i64(1))
    nstep, mstep = _balanced_step(b, n, cfg.nc, cfg.nr), _balanced_step(b, m, cfg.mc)
    with for_range(b, 0, n, nstep, name="jc") as jc, for_range(b, 0, nk, name="pk") as pk:
        nc, pc = imin(b, nstep, b.sub(n, jc)), b.mul(pk, kstep)
        kc = imin(b, kstep, b.sub(k, pc))
        beff = b.select(b.icmp_signed("==", pk, i64(0)), beta, ir.Constant(t, 1.0))
        b.call(packb, [kc, nc, elem_ptr(b, bmat, b.mul(pc, rsb), b.mul(jc, csb)), rsb, csb, work])
        with for_range(b, 0, m, mstep, name="ic") as ic:
            mc = imin(b, mstep, b.sub(m, ic))
            abase = elem_ptr(b, a, b.mul(ic, rsa), b.mul(pc, csa))
            cbase = elem_ptr(b, c, b.mul(ic, ldc), jc)
            with for_range(b, 0, nc, cfg.nr, name="jr") as jr:
                nr = imin(b, i64(cfg.nr), b.sub(nc, jr))
                panel = (kc, abase, rsa, csa, elem_ptr(b, work, b.mul(jr, kc)), b.gep(cbase, [jr]))
                rest = (ldc, alpha, beff, mc, nr)
                with b.if_else(b.icmp_signed(">", nr, i64(narrow.width))) as (then, otherwise):
                    with then:
                        _row_tiles(b, tiles[wide], wide.rows, panel, rest)
                    with otherwise:
                        _row_tiles(b, tiles[narrow], narrow.rows, panel, rest)
    b.ret_void()
    return fn


def _row_tiles(b, tile, rows, panel, rest):  # noqa: ANN001, ANN202
    """Call ``tile`` down one packed B panel, ``rows`` rows of C at a time."""
    kc, abase, rsa, csa, bp, cbase = panel
    ldc, alpha, beta, mc, nr = rest
    with for_range(b, 0, mc, rows, name="ir") as ir_:
        mr = imin(b, i64(rows), b.sub(mc, ir_))
        a_ir, c_ir = b.gep(abase, [b.mul(ir_, rsa)]), b.gep(cbase, [b.mul(ir_, ldc)])
        b.call(tile, [kc, a_ir, rsa, csa, bp, c_ir, ldc, alpha, beta, mr, nr])


# --- standalone JIT harness (tests and measurements) -------------------------------------

_CTYPES = {"i64": ctypes.c_int64, "float": ctypes.c_float, "double": ctypes.c_double}


def host_target_machine(opt: int = 3) -> llvm.TargetMachine:
    """A target machine for this host's CPU name and features."""
    llvm.initialize_native_target()  # idempotent; only initialize() itself raises in 0.50
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    feats = llvm.get_host_cpu_features().flatten()
    return target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=feats, opt=opt)


def optimize_module(mod: llvm.ModuleRef, tm: llvm.TargetMachine, level: int = 3) -> None:
    """Run the new pass manager's default pipeline at ``level`` with loop vectorization."""
    pto = llvm.PipelineTuningOptions(speed_level=level)
    pto.loop_vectorization = pto.slp_vectorization = pto.loop_unrolling = True
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def compile_kernel_for_test(module: ir.Module, name: str) -> Callable[..., None]:
    """JIT ``module`` at O3 for this host and return function ``name`` as a ctypes callable."""
    tm = host_target_machine()
    module.triple, module.data_layout = llvm.get_process_triple(), str(tm.target_data)
    mod = llvm.parse_assembly(str(module))
    mod.verify()
    optimize_module(mod, tm)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    fnty = module.globals[name].function_type
    argtypes = [_CTYPES.get(str(a), ctypes.c_void_p) for a in fnty.args]
    cfunc: Any = ctypes.CFUNCTYPE(None, *argtypes)(engine.get_function_address(name))
    cfunc.engine = engine  # the engine owns the code: keep it alive as long as the callable
    return cfunc
