"""The GEMM's building blocks: host blocking, the register-blocked micro-kernel, B packing.

Each piece is an internal LLVM function emitted once per module (``graphc_gemm_<t>_*``);
``gemm.py`` strings them together into the blocked driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I64, i64
from graphc.backends.llvm.irgen.blocks import (
    FLOAT_TYPES,
    cold,
    elem_ptr,
    entry_alloca,
    imin,
    load_vec,
    new_function,
    phi_edges,
    splat,
    store_vec,
    transpose_square,
    vector_fma,
)
from graphc.backends.llvm.irgen.loops import for_range
from graphc.backends.llvm.toolchain import jit

ELEM_BYTES = {"f32": 4, "f64": 8}


# --- host configuration -----------------------------------------------------------------


@cache
def host_vector_bits() -> int:
    """Widest vector register of the host CPU in bits (512 with AVX-512F, 256 with AVX)."""
    feats = set(jit.host()[2].split(","))
    if "+avx512f" in feats:
        return 512
    return 256 if "+avx" in feats else 128


@dataclass(frozen=True)
class GemmConfig:
    """Register and cache blocking of the GEMM for one dtype and one vector width."""

    dtype: str
    bits: int  # vector register width
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

    @property
    def prefix(self) -> str:
        """Name prefix of this configuration's functions (the host's has no width suffix)."""
        suffix = "" if self.bits == host_vector_bits() else f"_v{self.bits}"
        return f"graphc_gemm_{self.dtype}{suffix}"

    @property
    def ty(self) -> ir.Type:
        """The LLVM element type."""
        return FLOAT_TYPES[self.dtype]

    @property
    def tiles(self) -> tuple[TileShape, TileShape]:
        """The wide tile (2 full vectors) and the narrow one for N edges (2 half vectors)."""
        return TileShape(self.mr, self.vw, 2), TileShape(self.mr_narrow, max(1, self.vw // 2), 2)

    @property
    def workspace_elems(self) -> int:
        """The packed B block, then room for one zero-padded edge panel of A (M edges)."""
        return self.kc * self.nc + self.kc * max(self.mr, self.mr_narrow)


@cache
def gemm_config(dtype: str, vector_bits: int | None = None) -> GemmConfig:
    """Blocking for ``dtype`` on a host with ``vector_bits``-wide registers (default: this one)."""
    bits = vector_bits or host_vector_bits()
    vw = bits // (8 * ELEM_BYTES[dtype])
    regs = 32 if bits == 512 else 16
    # MR rows x 2 vectors of accumulators + 2 B vectors + 1 broadcast must fit the registers.
    mr = min(8, (regs - 3) // 2)
    mr_narrow = min(12, (regs - 3) // 2)  # two half-width vectors per row
    nc = 512 * 4 // ELEM_BYTES[dtype]  # a KC x NC panel of B stays within half of a 1 MiB L2
    return GemmConfig(dtype, bits, vw=vw, mr=mr, mr_narrow=mr_narrow, kc=256, mc=256, nc=nc)


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


class _TileEmitter:
    """Builds one tile function: the k loop of FMAs, then C = alpha*acc + beta*C."""

    def __init__(self, fn: ir.Function, cfg: GemmConfig, shape: TileShape) -> None:
        self.b = ir.IRBuilder(fn.entry_basic_block)
        self.cfg, self.shape = cfg, shape
        self.kc, self.a, self.rsa, self.csa, self.bp, self.ldb, self.c, self.ldc = fn.args[:8]
        self.alpha, self.beta, self.mr, self.nr = fn.args[8:]
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
        """All the k loop's accumulators (A rows at affine offsets, as x86 addressing likes)."""
        return self.k_loop([self.b.mul(i64(i), self.rsa) for i in range(self.shape.rows)])

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
        brow = b.mul(k, self.ldb)
        bvec = [load_vec(b, elem_ptr(b, self.bp, brow, j * s.lanes), vty) for j in range(s.vectors)]
        col, new = b.gep(self.a, [b.mul(k, self.csa)]), []
        for i, off in enumerate(row_offsets):
            a = splat(b, b.load(b.gep(col, [off])), vty)
            new += [b.call(fma, [a, bv, accs[i * s.vectors + j]]) for j, bv in enumerate(bvec)]
        k1 = b.add(k, i64(1))
        phi_edges(k, [(i64(0), pre), (k1, loop)])
        for phi, v in zip(accs, new, strict=True):
            phi_edges(phi, [(zero, pre), (v, loop)])
        b.cbranch(b.icmp_signed("<", k1, self.kc), loop, done)
        b.position_at_end(done)
        return [phi_edges(b.phi(vty), [(zero, pre), (v, loop)]) for v in new]

    def store_full(self, accs: list[ir.Value], bz: ir.Value) -> None:
        """Write a whole tile with vector stores; C is only read when beta != 0."""
        b, s = self.b, self.shape
        ptrs = [elem_ptr(b, self.c, b.mul(i64(n // s.vectors), self.ldc), n % s.vectors * s.lanes)
                for n in range(len(accs))]
        alpha = splat(b, self.alpha, self.vty)
        # A cold C (a fresh output) would cost a memory round trip per line just to be ignored.
        with b.if_else(bz) as (then, otherwise):
            with then:
                for acc, ptr in zip(accs, ptrs, strict=True):
                    store_vec(b, b.fmul(alpha, acc), ptr)
            with otherwise:
                for acc, ptr in zip(accs, ptrs, strict=True):
                    old = load_vec(b, ptr, self.vty)
                    store_vec(b, blend(b, acc, old, self.alpha, self.beta, bz), ptr)

    def store_edge(self, accs: list[ir.Value], bz: ir.Value) -> None:
        """Write the valid mr x nr corner of a tile through a scratch copy of the accumulators."""
        b, s, t = self.b, self.shape, self.alpha.type
        base = b.bitcast(entry_alloca(b, ir.ArrayType(t, s.rows * s.width)), t.as_pointer())
        for n, acc in enumerate(accs):
            store_vec(b, acc, elem_ptr(b, base, n * s.lanes))
        args = [base, i64(s.width), self.c, self.ldc, self.alpha, self.beta, self.mr, self.nr]
        b.call(_emit_edge(b.module, self.cfg), args)


def _emit_edge(module: ir.Module, cfg: GemmConfig) -> ir.Function:
    """edge(tile, width, C, ldc, alpha, beta, mr, nr): blend a tile's valid corner into C."""
    name = f"{cfg.prefix}_edge"
    if name in module.globals:
        return module.globals[name]
    t = cfg.ty
    p = t.as_pointer()
    fn = new_function(module, name, [p, I64, p, I64, t, t, I64, I64], internal=True)
    cold(fn)
    tile, width, c, ldc, alpha, beta, mr, nr = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    bz = b.fcmp_ordered("==", beta, ir.Constant(t, 0.0))
    with for_range(b, 0, mr, name="ei") as i, for_range(b, 0, nr, name="ej") as j:
        val = b.load(elem_ptr(b, tile, b.mul(i, width), j))
        ptr = elem_ptr(b, c, b.mul(i, ldc), j)
        b.store(blend(b, val, b.load(ptr), alpha, beta, bz), ptr)
    b.ret_void()
    return fn


def blend(b: ir.IRBuilder, acc: ir.Value, old: ir.Value, alpha: ir.Value, beta: ir.Value,
          beta_zero: ir.Value) -> ir.Value:
    """alpha*acc + beta*old, or alpha*acc when beta == 0 (old may be NaN garbage then)."""
    if isinstance(acc.type, ir.VectorType):
        alpha, beta = splat(b, alpha, acc.type), splat(b, beta, acc.type)
        beta_zero = splat(b, beta_zero, ir.VectorType(beta_zero.type, acc.type.count))
    scaled = b.fmul(alpha, acc)
    return b.select(beta_zero, scaled, b.fadd(scaled, b.fmul(beta, old)))


def emit_tile(module: ir.Module, cfg: GemmConfig, shape: TileShape) -> ir.Function:
    """tile(kc, A, rsa, csa, B, ldb, C, ldc, alpha, beta, mr, nr): a block of C from a B panel.

    B's rows are ``ldb`` apart: NR in a packed panel, B's own row stride when read in place.
    """
    name = f"{cfg.prefix}_tile{shape.rows}x{shape.width}"
    if name in module.globals:
        return module.globals[name]
    t = cfg.ty
    p = t.as_pointer()
    fn = new_function(module, name, [I64, p, I64, I64, p, I64, p, I64, t, t, I64, I64], True)
    # Inlined into the driver's loop nest, the tile would share its integer registers with the
    # driver's loop state and spill row pointers inside the k loop.
    fn.attributes.add("noinline")
    _TileEmitter(fn, cfg, shape).emit()
    return fn


# --- packing ------------------------------------------------------------------------------


def emit_pack_b(module: ir.Module, cfg: GemmConfig) -> ir.Function:
    """packb(kc, nc, B, rsb, csb, Bp): B[kc, nc] into zero-padded [nc/NR][kc][NR] panels."""
    name = f"{cfg.prefix}_packb"
    if name in module.globals:
        return module.globals[name]
    p = cfg.ty.as_pointer()
    fn = new_function(module, name, [I64, I64, p, I64, I64, p], internal=True)
    fn.attributes.add("noinline")
    kc, nc, src0, rsb, csb, bp = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    with for_range(b, 0, nc, cfg.nr, name="jr") as jr:
        pk = _Pack(b, cfg, kc, imin(b, i64(cfg.nr), b.sub(nc, jr)),
                   b.gep(src0, [b.mul(jr, csb)]), rsb, csb, elem_ptr(b, bp, b.mul(jr, kc)))
        full = b.icmp_signed("==", pk.ncols, i64(cfg.nr))
        in_place = b.and_(full, b.icmp_signed("==", csb, i64(1)))
        cols = b.and_(full, b.icmp_signed("==", rsb, i64(1)))
        # Full panels of a row-major B are read in place by the tiles (see panel_source).
        with b.if_then(b.not_(in_place)), b.if_else(cols) as (then, otherwise):
            with then:
                pk.columns(pk.transposed())
            with otherwise:
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
        fn = _emit_pack_columns(self.b.module, self.cfg)
        self.b.call(fn, [k_start, self.kc, self.ncols, self.src, self.rsb, self.csb, self.dst])


def _emit_pack_columns(module: ir.Module, cfg: GemmConfig) -> ir.Function:
    """packcols(k0, kc, ncols, src, rsb, csb, dst): the general path of B packing."""
    name = f"{cfg.prefix}_packcols"
    if name in module.globals:
        return module.globals[name]
    t, nr = cfg.ty, cfg.nr
    p = t.as_pointer()
    fn = new_function(module, name, [I64, I64, I64, p, I64, I64, p], internal=True)
    cold(fn)
    k0, kc, ncols, src, rsb, csb, dst = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    with for_range(b, 0, ncols, name="pj") as j:
        col = b.gep(src, [b.mul(j, csb)])
        with for_range(b, k0, kc, name="pk") as k:
            b.store(b.load(b.gep(col, [b.mul(k, rsb)])), elem_ptr(b, dst, b.mul(k, i64(nr)), j))
    # Zero padding up to the width of the tile that will read this panel (N edge).
    half = cfg.tiles[1].width
    width = b.select(b.icmp_signed(">", ncols, i64(half)), i64(nr), i64(half))
    with for_range(b, ncols, width, name="zj") as j, for_range(b, k0, kc, name="zk") as k:
        b.store(ir.Constant(t, 0.0), elem_ptr(b, dst, b.mul(k, i64(nr)), j))
    b.ret_void()
    return fn


def emit_pad_rows(module: ir.Module, cfg: GemmConfig) -> ir.Function:
    """padrows(A, rsa, csa, mr, rows, kc, dst): dst[rows][kc] = A's first mr rows, then 0."""
    name = f"{cfg.prefix}_padrows"
    if name in module.globals:
        return module.globals[name]
    t = cfg.ty
    p = t.as_pointer()
    fn = new_function(module, name, [p, I64, I64, I64, I64, I64, p], internal=True)
    cold(fn)
    a, rsa, csa, mr, rows, kc, dst = fn.args
    b = ir.IRBuilder(fn.entry_basic_block)
    with for_range(b, 0, mr, name="pi") as i, for_range(b, 0, kc, name="pk") as k:
        val = b.load(elem_ptr(b, a, b.mul(i, rsa), b.mul(k, csa)))
        b.store(val, elem_ptr(b, dst, b.mul(i, kc), k))
    with for_range(b, mr, rows, name="zi") as i, for_range(b, 0, kc, name="zk") as k:
        b.store(ir.Constant(t, 0.0), elem_ptr(b, dst, b.mul(i, kc), k))
    b.ret_void()
    return fn


