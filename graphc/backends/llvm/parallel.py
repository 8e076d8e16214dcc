"""A two-thread fork/join runtime for big kernels (opt-in: ``threads=2``).

One helper thread lives in native code: a Python thread calls ``graphc_pool_worker`` (ctypes
releases the GIL) and never returns. ``graphc_parallel(fn, ctx)`` publishes a job of two parts,
``fn(ctx, 0)`` and ``fn(ctx, 1)``; both threads claim parts until none is left, so when the
helper is slow to wake (a busy machine) the caller simply runs both parts itself and nothing
waits on a descheduled thread. The helper spins briefly between jobs (consecutive kernels of
one call start at once), then sleeps on a futex, so an idle process uses no CPU.

State in ``graphc_pool`` (i32 words, each on its own cache line): the ticket, an i64 at word 0
holding (job generation << 32 | next unclaimed part); parts finished at word 16; helper asleep
at word 32. The job's (fn, ctx) is ``graphc_pool_job``.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading

from llvmlite import ir

from graphc.backends.llvm.irutil import I32, I64, PTR, VOID, i64
from graphc.backends.llvm.loops import View
from graphc.ir.graph import Node

TICKET, GEN_WORD, FINISHED, ASLEEP = 0, 1, 16, 32  # i32 word indexes (GEN_WORD: ticket >> 32)
PARTS = 2
SPIN_CYCLES = 300_000  # about 0.1 ms of spinning before the helper sleeps
SYS_FUTEX, FUTEX_WAIT, FUTEX_WAKE = 202, 128, 129  # x86-64 Linux, private futexes
JOB_TYPE = ir.FunctionType(VOID, [PTR, I64])


def _slot(b: ir.IRBuilder, pool: ir.GlobalVariable, index: int) -> ir.Value:
    return b.gep(pool, [i64(0), i64(index)], inbounds=True)


def _ticket(b: ir.IRBuilder, pool: ir.GlobalVariable) -> ir.Value:
    return b.bitcast(_slot(b, pool, TICKET), I64.as_pointer())


def _intrinsic(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    return module.globals.get(name) or ir.Function(module, ir.FunctionType(ret, args), name)


def _futex(b: ir.IRBuilder, addr: ir.Value, op: int, value: ir.Value) -> None:
    fn = b.module.globals.get("syscall") or ir.Function(
        b.module, ir.FunctionType(I64, [I64], var_arg=True), "syscall"
    )
    b.call(fn, [i64(SYS_FUTEX), addr, ir.Constant(I32, op), value, ir.Constant(PTR, None)])


def _pause(b: ir.IRBuilder) -> None:
    b.call(_intrinsic(b.module, "llvm.x86.sse2.pause", VOID, []), [])


def _wait_change(b: ir.IRBuilder, pool: ir.Value, seen: ir.Value) -> ir.Value:
    """Spin, then sleep, until the job generation differs from ``seen``; returns it."""
    clock = _intrinsic(b.module, "llvm.readcyclecounter", I64, [])
    start = b.call(clock, [])
    fn = b.function
    head, spin, nap, done = (
        fn.append_basic_block(n) for n in ("w.head", "w.spin", "w.nap", "w.done")
    )
    b.branch(head)
    b.position_at_end(head)
    gen = b.load_atomic(_slot(b, pool, GEN_WORD), "acquire", 4, typ=I32)
    b.cbranch(b.icmp_unsigned("!=", gen, seen), done, spin)
    b.position_at_end(spin)
    _pause(b)
    long = b.icmp_unsigned(">", b.sub(b.call(clock, []), start), i64(SPIN_CYCLES))
    b.cbranch(long, nap, head)
    b.position_at_end(nap)
    b.store_atomic(ir.Constant(I32, 1), _slot(b, pool, ASLEEP), "seq_cst", 4)
    again = b.load_atomic(_slot(b, pool, GEN_WORD), "seq_cst", 4, typ=I32)
    with b.if_then(b.icmp_unsigned("==", again, seen)):
        _futex(b, _slot(b, pool, GEN_WORD), FUTEX_WAIT, seen)
    b.store_atomic(ir.Constant(I32, 0), _slot(b, pool, ASLEEP), "seq_cst", 4)
    b.branch(head)
    b.position_at_end(done)
    return gen


def _claim_all(b: ir.IRBuilder, pool: ir.GlobalVariable, gen: ir.Value) -> None:
    """Claim and run parts of job ``gen`` until none is left (or a newer job replaced it)."""
    fn = b.function
    head, run, done = (fn.append_basic_block(n) for n in ("c.head", "c.run", "c.done"))
    b.branch(head)
    b.position_at_end(head)
    ticket = b.load_atomic(_ticket(b, pool), "acquire", 8, typ=I64)
    same = b.icmp_unsigned("==", b.trunc(b.lshr(ticket, i64(32)), I32), gen)
    part = b.and_(ticket, i64(0xFFFFFFFF))
    open_ = b.and_(same, b.icmp_unsigned("<", part, i64(PARTS)))
    b.cbranch(open_, run, done)
    b.position_at_end(run)
    won = b.extract_value(
        b.cmpxchg(_ticket(b, pool), ticket, b.add(ticket, i64(1)), "acq_rel", "acquire"), 1
    )
    with b.if_then(won):
        fn_slot, ctx_slot = _job_slots(b, pool)
        job = b.load(fn_slot, typ=JOB_TYPE.as_pointer())  # typed: llvmlite needs the callee type
        b.call(job, [b.load(ctx_slot, typ=PTR), part])
        b.atomic_rmw("add", _slot(b, pool, FINISHED), ir.Constant(I32, 1), "acq_rel")
    b.branch(head)
    b.position_at_end(done)


def _job_slots(b: ir.IRBuilder, pool: ir.GlobalVariable) -> tuple[ir.Value, ir.Value]:
    job = b.module.globals["graphc_pool_job"]
    return _slot(b, job, 0), _slot(b, job, 1)


def emit_pool(module: ir.Module) -> None:
    """``graphc_pool`` state, ``graphc_pool_worker()`` and ``graphc_parallel(fn, ctx)``."""
    gv = ir.GlobalVariable(module, ir.ArrayType(I32, 64), "graphc_pool")
    gv.initializer = ir.Constant(gv.value_type, None)
    gv.align = 64
    job = ir.GlobalVariable(module, ir.ArrayType(PTR, 2), "graphc_pool_job")
    job.initializer = ir.Constant(job.value_type, None)
    job.align = 64
    _emit_worker(module, gv)
    _emit_parallel(module, gv)


def _emit_worker(module: ir.Module, pool: ir.GlobalVariable) -> None:
    fn = ir.Function(module, ir.FunctionType(VOID, []), "graphc_pool_worker")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    loop = fn.append_basic_block("loop")
    entry = b.block
    b.branch(loop)
    b.position_at_end(loop)
    seen = b.phi(I32)
    seen.add_incoming(ir.Constant(I32, 0), entry)
    gen = _wait_change(b, pool, seen)
    _claim_all(b, pool, gen)
    seen.add_incoming(gen, b.block)
    b.branch(loop)


def _emit_parallel(module: ir.Module, pool: ir.GlobalVariable) -> None:
    fn = ir.Function(module, ir.FunctionType(VOID, [PTR, PTR]), "graphc_parallel")
    job, ctx = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    fn_slot, ctx_slot = _job_slots(b, pool)
    b.store(job, fn_slot)
    b.store(ctx, ctx_slot)
    b.store_atomic(ir.Constant(I32, 0), _slot(b, pool, FINISHED), "seq_cst", 4)
    old = b.load_atomic(_ticket(b, pool), "acquire", 8, typ=I64)
    gen = b.add(b.trunc(b.lshr(old, i64(32)), I32), ir.Constant(I32, 1))
    b.store_atomic(b.shl(b.zext(gen, I64), i64(32)), _ticket(b, pool), "seq_cst", 8)
    asleep = b.load_atomic(_slot(b, pool, ASLEEP), "seq_cst", 4, typ=I32)
    with b.if_then(b.icmp_unsigned("!=", asleep, ir.Constant(I32, 0))):
        _futex(b, _slot(b, pool, GEN_WORD), FUTEX_WAKE, ir.Constant(I32, 1))
    _claim_all(b, pool, gen)
    head, spin, done = (fn.append_basic_block(n) for n in ("j.head", "j.spin", "j.done"))
    b.branch(head)
    b.position_at_end(head)
    finished = b.load_atomic(_slot(b, pool, FINISHED), "acquire", 4, typ=I32)
    b.cbranch(b.icmp_unsigned("==", finished, ir.Constant(I32, PARTS)), done, spin)
    b.position_at_end(spin)
    _pause(b)
    b.branch(head)
    b.position_at_end(done)
    b.ret_void()


_helper: dict[str, int] = {}


def start_helper(worker_address: int, state_address: int) -> None:
    """Start the helper thread (once per process) in ``graphc_pool_worker``."""
    if _helper.get("pid") == os.getpid():
        return
    if not _helper:
        os.register_at_fork(after_in_child=_restart_in_child)
    _helper.update(pid=os.getpid(), worker=worker_address, state=state_address)
    entry = ctypes.CFUNCTYPE(None)(worker_address)
    threading.Thread(target=entry, name="graphc-llvm-helper", daemon=True).start()
    _helper["thunk"] = id(entry)
    _THUNKS.append(entry)  # ctypes must keep the callable alive while the thread runs


_THUNKS: list[object] = []


def _restart_in_child() -> None:
    """A forked child has no helper thread: clear the pool state and start a fresh one."""
    ctypes.memset(_helper["state"], 0, 256)
    _helper.pop("pid", None)
    start_helper(_helper["worker"], _helper["state"])


# --- graph side: which kernels split, and how -------------------------------------------------
MIN_ELEMENTS = 1 << 16  # elementwise kernels smaller than this are not worth a fork/join
MIN_FLOPS = 1 << 21  # nor GEMMs below this many multiply-adds
SPLIT_ELEMENTWISE = ("fused",)
SPLIT_GEMM = ("matmul", "fused_matmul")


def splittable(node: Node, in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> bool:
    """Whether ``node``'s kernel can run as two row halves (and it is big enough to pay)."""
    from graphc.backends.llvm.lowering import KERNEL, SCALAR

    if not out_shape or out_shape[split_dim(node, in_shapes, out_shape)] < 2:
        return False
    if (node.op in SCALAR and node.op not in KERNEL) or node.op.name in SPLIT_ELEMENTWISE:
        return math.prod(out_shape) >= MIN_ELEMENTS
    if node.op.name in SPLIT_GEMM and len(in_shapes[0]) == 2 and len(in_shapes[1]) == 2:
        m, k = in_shapes[0]
        return node.inputs[0].type.dtype.is_float and m * k * in_shapes[1][1] >= MIN_FLOPS
    return False


def split_dim(node: Node, in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]) -> int:
    """The result dim the two threads divide: rows, or for a GEMM with more columns than rows
    the columns (then each thread packs only its half of B)."""
    if node.op.name in SPLIT_GEMM and out_shape[-1] > out_shape[0]:
        return len(out_shape) - 1
    return 0


def part_rows(v: View, part: tuple[int, int, int] | None) -> View:
    """The slice of ``v`` along dim part[2] that thread part[0] of part[1] handles."""
    if part is None:
        return v
    t, n, dim = part
    lo, hi = v.shape[dim] * t // n, v.shape[dim] * (t + 1) // n
    shape = (*v.shape[:dim], hi - lo, *v.shape[dim + 1 :])
    return v.with_layout(shape, v.strides, lo * v.strides[dim])
