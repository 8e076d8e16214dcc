"""A fork/join pool in native code for big kernels (``threads=N``; see chunks.py for what splits).

Helper threads live in native code: Python threads call ``graphc_pool_worker(tid)`` (ctypes
releases the GIL) and never return. ``graphc_parallel(fn, ctx, parts, workers)`` publishes a job
of ``parts`` chunks; the caller (thread 0) and helpers 1..workers-1 claim chunks from one atomic
ticket and run ``fn(ctx, chunk, tid)`` until none is left. Chunks outnumber threads, so a helper
that is slow to wake (a busy machine) takes only what is left and the caller never waits on a
descheduled thread for more than one chunk. Helpers spin briefly between jobs (the kernels of one
call follow each other closely), then sleep on a futex, so an idle process uses no CPU. A second
caller that finds the pool busy (another Python thread's call) runs its chunks alone.

State in ``graphc_pool`` (i32 words, groups on their own cache lines): the ticket, an i64 at
word 0: job generation << 32 | workers << 24 | chunks << 12 | next unclaimed chunk (one atomic
word, so a stale helper can never pair an old generation with a new job's sizes); chunks done at
word 16; helpers asleep at word 32; the busy flag at word 48. The job's (fn, ctx) is
``graphc_pool_job``, stable from a successful claim until the chunk is counted done.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from graphc.backends.llvm.irgen.basics import I32, I64, PTR, VOID, i64
from graphc.backends.llvm.native.threads import MAX_THREADS

TICKET, GEN_WORD, FINISHED, JOINING, ASLEEP, BUSY = 0, 1, 16, 17, 32, 48  # i32 word indexes
FIELD_BITS = 12  # chunks and next chunk: 12 bits each; workers: 8 bits
MAX_PARTS = (1 << FIELD_BITS) - 1
SPIN_CYCLES = 800_000  # ~0.3 ms of spinning before a helper sleeps (longer: idle CPU burnt)
JOIN_SPIN_CYCLES = 400_000  # ~150 us (a few GEMM chunks) of spinning before the caller sleeps
SYS_FUTEX, FUTEX_WAIT, FUTEX_WAKE = 202, 128, 129  # x86-64 Linux, private futexes
JOB_TYPE = ir.FunctionType(VOID, [PTR, I64, I64])  # fn(ctx, chunk, thread id)
# graphc_parallel(fn, ctx, chunks, workers)
PARALLEL_TYPE = ir.FunctionType(VOID, [JOB_TYPE.as_pointer(), PTR, I64, I64])


def _slot(b: ir.IRBuilder, pool: ir.GlobalVariable, index: int) -> ir.Value:
    return b.gep(pool, [i64(0), i64(index)], inbounds=True)


def _ticket(b: ir.IRBuilder, pool: ir.GlobalVariable) -> ir.Value:
    return b.bitcast(_slot(b, pool, TICKET), I64.as_pointer())


def _field(b: ir.IRBuilder, ticket: ir.Value, shift: int, bits: int) -> ir.Value:
    return b.and_(b.lshr(ticket, i64(shift)), i64((1 << bits) - 1))


def _intrinsic(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    return module.globals.get(name) or ir.Function(module, ir.FunctionType(ret, args), name)


def _futex(b: ir.IRBuilder, addr: ir.Value, op: int, value: ir.Value) -> None:
    fn = b.module.globals.get("syscall") or ir.Function(
        b.module, ir.FunctionType(I64, [I64], var_arg=True), "syscall"
    )
    b.call(fn, [i64(SYS_FUTEX), addr, ir.Constant(I32, op), value, ir.Constant(PTR, None)])


def _pause(b: ir.IRBuilder) -> None:
    b.call(_intrinsic(b.module, "llvm.x86.sse2.pause", VOID, []), [])


def _spin_then_sleep(
    b: ir.IRBuilder,
    prefix: str,
    spin_cycles: int,
    check: Callable[[], tuple[ir.Value, ir.Value]],
    nap: Callable[[], None],
) -> ir.Value:
    """Loop until ``check()`` (emitted at the loop head, returning (value, ready)) is ready:
    pause between checks, and once ``spin_cycles`` cycles have passed run ``nap()`` (which may
    sleep on a futex) before checking again. Returns the value of the last check."""
    clock = _intrinsic(b.module, "llvm.readcyclecounter", I64, [])
    start = b.call(clock, [])
    fn = b.function
    head, spin, sleep, done = (
        fn.append_basic_block(f"{prefix}.{n}") for n in ("head", "spin", "nap", "done")
    )
    b.branch(head)
    b.position_at_end(head)
    value, ready = check()
    b.cbranch(ready, done, spin)
    b.position_at_end(spin)
    _pause(b)
    long = b.icmp_unsigned(">", b.sub(b.call(clock, []), start), i64(spin_cycles))
    b.cbranch(long, sleep, head)
    b.position_at_end(sleep)
    nap()
    b.branch(head)
    b.position_at_end(done)
    return value


def _wait_change(b: ir.IRBuilder, pool: ir.Value, seen: ir.Value) -> ir.Value:
    """Spin, then sleep, until the job generation differs from ``seen``; returns it."""
    word = _slot(b, pool, GEN_WORD)

    def check() -> tuple[ir.Value, ir.Value]:
        gen = b.load_atomic(word, "acquire", 4, typ=I32)
        return gen, b.icmp_unsigned("!=", gen, seen)

    def nap() -> None:
        one = ir.Constant(I32, 1)
        b.atomic_rmw("add", _slot(b, pool, ASLEEP), one, "seq_cst")
        again = b.load_atomic(word, "seq_cst", 4, typ=I32)
        with b.if_then(b.icmp_unsigned("==", again, seen)):
            _futex(b, word, FUTEX_WAIT, seen)
        b.atomic_rmw("sub", _slot(b, pool, ASLEEP), one, "seq_cst")

    return _spin_then_sleep(b, "w", SPIN_CYCLES, check, nap)


def _claim_all(b: ir.IRBuilder, pool: ir.GlobalVariable, gen: ir.Value, tid: ir.Value) -> None:
    """Claim and run chunks of job ``gen`` until none is left (or a newer job replaced it)."""
    fn = b.function
    head, run, done = (fn.append_basic_block(n) for n in ("c.head", "c.run", "c.done"))
    b.branch(head)
    b.position_at_end(head)
    ticket = b.load_atomic(_ticket(b, pool), "acquire", 8, typ=I64)
    same = b.icmp_unsigned("==", b.trunc(b.lshr(ticket, i64(32)), I32), gen)
    part = _field(b, ticket, 0, FIELD_BITS)
    left = b.icmp_unsigned("<", part, _field(b, ticket, FIELD_BITS, FIELD_BITS))
    mine = b.icmp_unsigned("<", tid, _field(b, ticket, 2 * FIELD_BITS, 8))
    b.cbranch(b.and_(b.and_(same, left), mine), run, done)
    b.position_at_end(run)
    won = b.extract_value(
        b.cmpxchg(_ticket(b, pool), ticket, b.add(ticket, i64(1)), "acq_rel", "acquire"), 1
    )
    with b.if_then(won):
        fn_slot, ctx_slot = _job_slots(b)
        job = b.load(fn_slot, typ=JOB_TYPE.as_pointer())  # typed: llvmlite needs the callee type
        b.call(job, [b.load(ctx_slot, typ=PTR), part, tid])
        _count_done(b, pool, _field(b, ticket, FIELD_BITS, FIELD_BITS))
    b.branch(head)
    b.position_at_end(done)


def _count_done(b: ir.IRBuilder, pool: ir.GlobalVariable, parts: ir.Value) -> None:
    """Count a chunk done; whoever finishes the last one wakes a caller asleep in the join."""
    one = ir.Constant(I32, 1)
    old = b.atomic_rmw("add", _slot(b, pool, FINISHED), one, "seq_cst")
    last = b.icmp_unsigned("==", b.zext(b.add(old, one), I64), parts)
    with b.if_then(last):
        joining = b.load_atomic(_slot(b, pool, JOINING), "seq_cst", 4, typ=I32)
        with b.if_then(b.icmp_unsigned("!=", joining, ir.Constant(I32, 0))):
            _futex(b, _slot(b, pool, FINISHED), FUTEX_WAKE, one)


def _job_slots(b: ir.IRBuilder) -> tuple[ir.Value, ir.Value]:
    job = b.module.globals["graphc_pool_job"]
    return _slot(b, job, 0), _slot(b, job, 1)


def emit_pool(module: ir.Module) -> None:
    """``graphc_pool`` state, ``graphc_pool_worker(tid)`` and ``graphc_parallel``."""
    gv = ir.GlobalVariable(module, ir.ArrayType(I32, 64), "graphc_pool")
    gv.initializer = ir.Constant(gv.value_type, None)
    gv.align = 64
    job = ir.GlobalVariable(module, ir.ArrayType(PTR, 2), "graphc_pool_job")
    job.initializer = ir.Constant(job.value_type, None)
    job.align = 64
    _emit_worker(module, gv)
    _emit_parallel(module, gv)


def _emit_worker(module: ir.Module, pool: ir.GlobalVariable) -> None:
    fn = ir.Function(module, ir.FunctionType(VOID, [I64]), "graphc_pool_worker")
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    loop = fn.append_basic_block("loop")
    entry = b.block
    b.branch(loop)
    b.position_at_end(loop)
    seen = b.phi(I32)
    seen.add_incoming(ir.Constant(I32, 0), entry)
    gen = _wait_change(b, pool, seen)
    _claim_all(b, pool, gen, fn.args[0])
    seen.add_incoming(gen, b.block)
    b.branch(loop)


def _emit_parallel(module: ir.Module, pool: ir.GlobalVariable) -> None:
    fn = ir.Function(module, PARALLEL_TYPE, "graphc_parallel")
    job, ctx, parts, workers = fn.args
    b = ir.IRBuilder(fn.append_basic_block("entry"))
    zero, one = ir.Constant(I32, 0), ir.Constant(I32, 1)
    with b.if_then(b.icmp_signed("<=", workers, i64(1))):  # one thread: no job, no wake-ups
        _run_alone(b, job, ctx, parts)
        b.ret_void()
    got = b.extract_value(b.cmpxchg(_slot(b, pool, BUSY), zero, one, "acquire", "monotonic"), 1)
    with b.if_then(b.not_(got)):  # another thread's job is running: do this one alone
        _run_alone(b, job, ctx, parts)
        b.ret_void()
    fn_slot, ctx_slot = _job_slots(b)
    b.store(job, fn_slot)
    b.store(ctx, ctx_slot)
    b.store_atomic(zero, _slot(b, pool, FINISHED), "seq_cst", 4)
    old = b.load_atomic(_ticket(b, pool), "acquire", 8, typ=I64)
    gen = b.add(b.trunc(b.lshr(old, i64(32)), I32), one)
    sizes = b.or_(b.shl(workers, i64(2 * FIELD_BITS)), b.shl(parts, i64(FIELD_BITS)))
    b.store_atomic(b.or_(b.shl(b.zext(gen, I64), i64(32)), sizes), _ticket(b, pool), "seq_cst", 8)
    asleep = b.load_atomic(_slot(b, pool, ASLEEP), "seq_cst", 4, typ=I32)
    with b.if_then(b.icmp_unsigned("!=", asleep, zero)):
        _futex(b, _slot(b, pool, GEN_WORD), FUTEX_WAKE, ir.Constant(I32, MAX_THREADS))
    _claim_all(b, pool, gen, i64(0))
    _join(b, pool, b.trunc(parts, I32))
    b.store_atomic(zero, _slot(b, pool, BUSY), "release", 4)
    b.ret_void()


def _run_alone(b: ir.IRBuilder, job: ir.Value, ctx: ir.Value, parts: ir.Value) -> None:
    fn = b.function
    head, body, done = (fn.append_basic_block(n) for n in ("a.head", "a.body", "a.done"))
    pre = b.block
    b.branch(head)
    b.position_at_end(head)
    p = b.phi(I64)
    p.add_incoming(i64(0), pre)
    b.cbranch(b.icmp_unsigned("<", p, parts), body, done)
    b.position_at_end(body)
    b.call(job, [ctx, p, i64(0)])
    p.add_incoming(b.add(p, i64(1)), body)
    b.branch(head)
    b.position_at_end(done)


def _join(b: ir.IRBuilder, pool: ir.GlobalVariable, parts: ir.Value) -> None:
    """Wait until every chunk is counted done: spin briefly, then sleep on a futex, so that a
    helper descheduled mid-chunk (a busy machine) gets this core instead of a spinning caller."""
    word = _slot(b, pool, FINISHED)

    def check() -> tuple[ir.Value, ir.Value]:
        finished = b.load_atomic(word, "acquire", 4, typ=I32)
        return finished, b.icmp_unsigned("==", finished, parts)

    def nap() -> None:
        b.store_atomic(ir.Constant(I32, 1), _slot(b, pool, JOINING), "seq_cst", 4)
        again = b.load_atomic(word, "seq_cst", 4, typ=I32)
        with b.if_then(b.icmp_unsigned("!=", again, parts)):
            _futex(b, word, FUTEX_WAIT, again)
        b.store_atomic(ir.Constant(I32, 0), _slot(b, pool, JOINING), "seq_cst", 4)

    _spin_then_sleep(b, "j", JOIN_SPIN_CYCLES, check, nap)
