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

Design (BLIS-like, measured on Zen 4): the micro-kernel keeps MR x NR accumulators in vector
registers (NR = 2 vectors) and broadcasts A elements straight from memory with any strides (an
A pack would be a strided gather anyway), so A is never copied except for the few rows of an
M-edge tile. B is read in place when it is row-major; otherwise (transposed: 16x16 blocks
transposed in registers; general strides; the N edge) it is packed into zero-padded panels.
Blocks are balanced (784 = 4 x 196, not 3 x 256 + 16) so none degenerates into a thin, slow one.
``emit_batched_gemm`` loops it over static batch dims. Threads: the ABI splits cleanly over
column ranges (B + lo*csb, C + lo, N = part; one workspace per thread), in B panels of NR
columns at no extra memory traffic; the backend's fork/join pool decides when that pays.
"""

from __future__ import annotations

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I64, i64
from graphc.backends.llvm.irgen.blocks import (
    FLOAT_TYPES,
    ceil_div,
    elem_ptr,
    imin,
    new_function,
)
from graphc.backends.llvm.irgen.loops import for_range
from graphc.backends.llvm.native.gemm_blocks import (
    ELEM_BYTES,
    GemmConfig,
    emit_pack_b,
    emit_pad_rows,
    emit_tile,
    gemm_config,
)
from graphc.ir.errors import BackendError

__all__ = [
    "emit_batched_gemm",
    "emit_gemm",
    "gemm_config",
    "gemm_workspace_bytes",
]


def gemm_workspace_bytes(dtype: str, cfg: GemmConfig | None = None) -> int:
    """Bytes of the ``work`` buffer ``graphc_gemm_<dtype>`` needs (64-byte alignment is best)."""
    return (cfg or gemm_config(dtype)).workspace_elems * ELEM_BYTES[dtype]


def _static_workspace(module: ir.Module, cfg: GemmConfig) -> ir.GlobalVariable:
    """The module-private workspace used when the caller passes a null ``work``."""
    ty = ir.ArrayType(cfg.ty, cfg.workspace_elems)
    gv = ir.GlobalVariable(module, ty, f"{cfg.prefix}_ws")
    gv.linkage, gv.align = "internal", 64
    gv.initializer = ir.Constant(gv.value_type, None)
    return gv


def _balanced_step(b: ir.IRBuilder, n: ir.Value, block: int, multiple: int = 1) -> ir.Value:
    """Split n into ceil(n/block) near-equal blocks; the block size, rounded up to `multiple`."""
    parts = b.select(b.icmp_signed(">", n, i64(block)), ceil_div(b, n, block), i64(1))
    step = ceil_div(b, n, parts)
    return b.mul(ceil_div(b, step, multiple), i64(multiple))


def emit_gemm(module: ir.Module, dtype: str, cfg: GemmConfig | None = None) -> ir.Function:
    """Emit (once per module) ``graphc_gemm_<dtype>``; see the module docstring for its ABI.

    ``cfg`` overrides the host's blocking (e.g. ``gemm_config("f32", 256)`` for AVX2 code);
    a non-host vector width adds ``_v<bits>`` to the function names.
    """
    if dtype not in FLOAT_TYPES or (cfg is not None and cfg.dtype != dtype):
        raise BackendError(f"GEMM: no LLVM kernel for dtype {dtype}; expected f32 or f64")
    cfg = cfg or gemm_config(dtype)
    if cfg.prefix in module.globals:
        return module.globals[cfg.prefix]
    t = cfg.ty
    p = t.as_pointer()
    args = [I64, I64, I64, p, I64, I64, p, I64, I64, p, I64, t, t, p]
    fn = new_function(module, cfg.prefix, args, internal=False)
    _Driver(fn, cfg).emit()
    return fn


class _Driver:
    """The blocked loop nest: N blocks > K blocks (pack B) > M blocks > B panels > row tiles."""

    def __init__(self, fn: ir.Function, cfg: GemmConfig) -> None:
        self.cfg, self.b = cfg, ir.IRBuilder(fn.entry_basic_block)
        self.m, self.n, self.k, self.a, self.rsa, self.csa = fn.args[:6]
        self.bmat, self.rsb, self.csb, self.c, self.ldc, self.alpha, self.beta = fn.args[6:13]
        module, b, p = fn.module, self.b, cfg.ty.as_pointer()
        self.packb, self.pad = emit_pack_b(module, cfg), emit_pad_rows(module, cfg)
        self.tiles = [(shape, emit_tile(module, cfg, shape)) for shape in cfg.tiles]
        static = b.bitcast(_static_workspace(module, cfg), p)
        work = fn.args[13]
        self.work = b.select(b.icmp_unsigned("==", work, ir.Constant(p, None)), static, work)
        self.apad = elem_ptr(b, self.work, cfg.kc * cfg.nc)

    def emit(self) -> None:
        b, cfg, k = self.b, self.cfg, self.k
        kk = b.select(b.icmp_signed(">", k, i64(0)), k, i64(1))  # K == 0 still runs once: C*=beta
        kstep = _balanced_step(b, kk, cfg.kc)
        nstep, mstep = _balanced_step(b, self.n, cfg.nc, cfg.nr), _balanced_step(b, self.m, cfg.mc)
        with for_range(b, 0, self.n, nstep, name="jc") as jc, \
                for_range(b, 0, kk, kstep, name="pc") as pc:
            nc, kc = imin(b, nstep, b.sub(self.n, jc)), imin(b, kstep, b.sub(k, pc))
            # Only the first K block applies the caller's beta; the others accumulate.
            beta = b.select(b.icmp_signed("==", pc, i64(0)), self.beta, ir.Constant(cfg.ty, 1.0))
            src = elem_ptr(b, self.bmat, b.mul(pc, self.rsb), b.mul(jc, self.csb))
            b.call(self.packb, [kc, nc, src, self.rsb, self.csb, self.work])
            with for_range(b, 0, self.m, mstep, name="ic") as ic:
                mc = imin(b, mstep, b.sub(self.m, ic))
                abase = elem_ptr(b, self.a, b.mul(ic, self.rsa), b.mul(pc, self.csa))
                cbase = elem_ptr(b, self.c, b.mul(ic, self.ldc), jc)
                self.panels(kc, nc, mc, abase, src, cbase, beta)
        b.ret_void()

    def panels(self, kc: ir.Value, nc: ir.Value, mc: ir.Value, abase: ir.Value, bsrc: ir.Value,
               cbase: ir.Value, beta: ir.Value) -> None:
        """Every B panel of the block against mc rows of A: wide tiles, narrow at edges."""
        b, cfg = self.b, self.cfg
        narrow = self.tiles[1][0]
        with for_range(b, 0, nc, cfg.nr, name="jr") as jr:
            nr = imin(b, i64(cfg.nr), b.sub(nc, jr))
            bp = self.panel_source(kc, jr, nr, bsrc)
            cj = b.gep(cbase, [jr])
            with b.if_else(b.icmp_signed(">", nr, i64(narrow.width))) as (then, otherwise):
                for arm, (shape, fn) in ((then, self.tiles[0]), (otherwise, self.tiles[1])):
                    with arm, for_range(b, 0, mc, shape.rows, name="ir") as i:
                        self.tile(fn, shape.rows, i, kc, mc, nr, abase, bp, cj, beta)

    def panel_source(self, kc: ir.Value, jr: ir.Value, nr: ir.Value,
                     bsrc: ir.Value) -> tuple[ir.Value, ir.Value]:
        """(first element, row stride) of the B panel at jr: in place when it is row-major and
        full (a copy would cost more than it saves at these sizes, measured), else packed."""
        b, cfg = self.b, self.cfg
        full = b.icmp_signed("==", nr, i64(cfg.nr))
        in_place = b.and_(full, b.icmp_signed("==", self.csb, i64(1)))
        ptr = b.select(in_place, b.gep(bsrc, [jr]), elem_ptr(b, self.work, b.mul(jr, kc)))
        return ptr, b.select(in_place, self.rsb, i64(cfg.nr))

    def tile(self, fn: ir.Function, rows: int, i: ir.Value, kc: ir.Value, mc: ir.Value,
             nr: ir.Value, abase: ir.Value, bp: tuple[ir.Value, ir.Value], cj: ir.Value,
             beta: ir.Value) -> None:
        """One tile call; an M-edge tile reads a zero-padded copy of its A rows instead."""
        b = self.b
        mr = imin(b, i64(rows), b.sub(mc, i))
        a_i, c_i = b.gep(abase, [b.mul(i, self.rsa)]), b.gep(cj, [b.mul(i, self.ldc)])
        edge = b.icmp_signed("<", mr, i64(rows))
        with b.if_then(edge):
            b.call(self.pad, [a_i, self.rsa, self.csa, mr, i64(rows), kc, self.apad])
        a_i = b.select(edge, self.apad, a_i)
        rsa, csa = b.select(edge, kc, self.rsa), b.select(edge, i64(1), self.csa)
        b.call(fn, [kc, a_i, rsa, csa, *bp, c_i, self.ldc, self.alpha, beta, mr, nr])


def emit_batched_gemm(module: ir.Module, dtype: str, batch: tuple[int, ...],
                      strides: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
                      ) -> ir.Function:
    """Emit a GEMM looped over static ``batch`` dims: same ABI as ``graphc_gemm_<dtype>``.

    ``strides`` are the per-batch-dim element strides of A, B and C (0 where an operand is
    broadcast); for batch index ``i`` the matrices start at ``A + sum(i[d] * strides[0][d])``
    and so on. One function per (dtype, batch, strides) signature.
    """
    tag = "_".join("x".join(map(str, t)) for t in (batch, *strides))
    name = f"graphc_bgemm_{dtype}_{tag}"
    if name in module.globals:
        return module.globals[name]
    gemm = emit_gemm(module, dtype)
    fn = new_function(module, name, list(gemm.function_type.args), internal=False)
    args = list(fn.args)
    b = ir.IRBuilder(fn.entry_basic_block)
    _batch_loop(b, gemm, args, batch, strides, (i64(0), i64(0), i64(0)))
    b.ret_void()
    return fn


def _batch_loop(b: ir.IRBuilder, gemm: ir.Function, args: list[ir.Value], batch: tuple[int, ...],
                strides: tuple, offs: tuple[ir.Value, ir.Value, ir.Value]) -> None:
    if not batch:
        call = list(args)
        for slot, off in zip((3, 6, 9), offs, strict=True):
            call[slot] = b.gep(args[slot], [off])
        b.call(gemm, call)
        return
    inner = tuple(s[1:] for s in strides)
    with for_range(b, 0, batch[0], name="bi") as i:
        step = tuple(b.add(o, b.mul(i, i64(s[0]))) for o, s in zip(offs, strides, strict=True))
        _batch_loop(b, gemm, args, batch[1:], inner, step)



