"""The whole graph as one LLVM module with one native entry point.

``void graphc_entry(i8** args)`` takes the prebuilt argument block (inputs, params, outputs,
arena; see layout.py), runs one internal function per node in graph order, then the final
copies. Kernel functions get ``noalias`` pointers except where a buffer is shared (an in-place
parameter update), which is what lets LLVM vectorize them without runtime checks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from llvmlite import ir

from graphc.backends.llvm.codegen import chunks, numerics
from graphc.backends.llvm.codegen.chunks import Split
from graphc.backends.llvm.codegen.counters import count_cycles, profile_counters, read_cycles
from graphc.backends.llvm.codegen.layout import Buffer, Layout, plan
from graphc.backends.llvm.irgen.basics import I8, I64, PTR, VOID, i64
from graphc.backends.llvm.irgen.loops import View, elementwise
from graphc.backends.llvm.irgen.vmath import MathLib
from graphc.backends.llvm.kernels import table
from graphc.backends.llvm.kernels.table import KERNEL, SCALAR, KernelCtx, Scalar, speculate_trig
from graphc.backends.llvm.native import externs, parallel, runtime
from graphc.backends.llvm.toolchain import jit
from graphc.ir.errors import BackendError
from graphc.ir.graph import Graph, Node, Value
from graphc.ir.printer import print_graph
from graphc.ops import core

ENTRY = "graphc_entry"


@dataclass
class ModuleCode:
    """Generated IR plus what the runtime needs to call it (JSON-able ``meta``)."""

    ir_text: str
    meta: dict[str, Any]


def generate(
    graph: Graph,
    dims: dict[str, int],
    timings: jit.Timings | None = None,
    profile: bool = False,
    threads: int = 1,
    numerics: bool = False,
    share: bool = True,
) -> ModuleCode:
    """LLVM IR for ``graph`` with its symbolic dims bound to ``dims``.

    With ``profile``, the entry function also adds each kernel's cycle count (CPU time stamp
    counter) to a counter per node, readable through the ``graphc_profile`` symbol. With
    ``threads`` > 1, big elementwise and GEMM kernels run in chunks on a thread pool
    (chunks.py, parallel.py). With ``numerics``, the first node that makes NaN from NaN-free
    operands stops the call and sets the error flag (numerics.py). With ``share``, kernels whose
    code is the same (identical layers) are emitted once and called with different buffers."""
    t0 = time.perf_counter()
    check_supported(graph)
    lay = plan(graph, dims, threads, numerics)
    module = ir.Module(name=graph.name)
    module.triple = jit.host()[0]
    emitter = ModuleEmitter(module, graph, lay, profile, threads, numerics, share)
    emitter.emit()
    text = str(module)
    if timings is not None:
        timings.ir_build += time.perf_counter() - t0
    workers = WORKERS_SYMBOL if WORKERS_SYMBOL in module.globals else None
    meta = {**_meta(graph, lay), "runtime": runtime.required(module), "workers_symbol": workers,
            "kernels": [len(emitter.kernels), emitter.calls]}
    return ModuleCode(text, meta)


KERNEL_ATTRIBUTES = ("noinline",)
# Tiered: kernels always get the full pipeline (their loops are where the time goes). The entry
# loads pointers, calls kernels and copies updates; -O3 on it grew with every call site (5.7 of
# 6.8 s at 172 calls), but unoptimized it made the 30-call MLP b32 step ~15% slower (its copy
# loops and spills). So a small entry is optimized and a large one, where a call's share of the
# step is small, is not.
ENTRY_OPT_MAX_CALLS = 64


def entry_attributes(calls: int) -> tuple[str, ...]:
    """The entry function's attributes for ``calls`` kernel calls (optnone past the limit)."""
    return ("noinline",) if calls <= ENTRY_OPT_MAX_CALLS else ("optnone", "noinline")
WORKERS_SYMBOL = "graphc_workers"  # i64: threads each forked kernel may use (adaptive.py)




def check_supported(graph: Graph) -> None:
    for n in graph.nodes:
        if n.op not in KERNEL and n.op not in SCALAR:
            raise BackendError(
                f"{n.describe()}: the llvm backend has no lowering for {n.op.name!r}"
            )
        if n.body is not None and n.op.region_body:
            check_supported(n.body)


def _meta(graph: Graph, lay: Layout) -> dict[str, Any]:
    return {
        "entry": ENTRY,
        "n_inputs": lay.n_inputs,
        "n_params": lay.n_params,
        "outputs": [[list(lay.shapes[v]), v.type.dtype.name] for v in graph.outputs],
        "arena_bytes": lay.arena_bytes,
        "error_symbol": table.ERROR_SYMBOL,
    }


class ModuleEmitter:
    """Builds the entry function and one kernel function per node."""

    def __init__(
        self, module: ir.Module, graph: Graph, lay: Layout, profile: bool = False, threads: int = 1,
        numerics: bool = False, share: bool = True, prefix: str = "", math: MathLib | None = None,
    ):
        self.prefix = prefix  # a region body's functions are named after the node holding it
        self.threads = threads
        self.share = share
        self.kernels: dict[str, ir.Function] = {}  # kernel code (name left out) -> function
        self.texts: dict[str, str] = {}  # kernel name -> its code
        self.by_key: dict[tuple, ir.Function | None] = {}  # _kernel_key -> function
        self.tramps: dict[str, ir.Function] = {}  # kernel name -> its thread-pool trampoline
        self.calls = 0
        self.numerics = numerics
        self.module = module
        self.graph = graph
        self.lay = lay
        self.math = math or MathLib(module)
        self.consts: dict[int, ir.GlobalVariable] = {}
        self.counters = profile_counters(module, len(graph.nodes)) if profile else None
        table.error_flag(module)  # always defined: the executable looks it up by name
        self.index = {id(n): i for i, n in enumerate(graph.nodes)}

    def emit(self) -> ir.Function:
        """The entry function ``void (i8** args)`` (``<prefix>graphc_entry``)."""
        fn = ir.Function(self.module, ir.FunctionType(VOID, [PTR]), self.prefix + ENTRY)
        fn.attributes.add("nounwind")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        self.slots = [
            b.load(b.gep(fn.args[0], [i64(k)], source_etype=PTR), typ=PTR)
            for k in range(self.lay.arena_slot + 1)
        ]
        for v, slot in self.lay.first_copies:
            self._copy(b, v, self.lay.where[v], Buffer("arg", slot))
        for i, node in enumerate(self.graph.nodes):
            if node.op is not core.constant and node.outputs[0] not in self.lay.aliases:
                start = read_cycles(b) if self.counters is not None else None
                self._call_kernel(b, i, node)
                if start is not None:
                    count_cycles(b, self.counters, i, start)
                if self.numerics:
                    self._check_nan(b, fn, i, node)
        for v, dest in self.lay.last_copies:
            self._copy(b, v, self.lay.where[v], dest)
        b.ret_void()
        for attr in entry_attributes(self.calls):
            fn.attributes.add(attr)
        return fn

    # -- buffers ---------------------------------------------------------------------------
    def pointer(self, b: ir.IRBuilder, v: Value) -> ir.Value:
        loc = self.lay.where[v]
        if loc.kind == "arg":
            return self.slots[loc.index]
        if loc.kind == "const":
            return self._constant(v)
        return b.gep(self.slots[-1], [i64(loc.index)], inbounds=True, source_etype=I8)

    def _constant(self, v: Value) -> ir.GlobalVariable:
        node = v.node
        assert node is not None
        if id(node) not in self.consts:
            data = bytearray(np.ascontiguousarray(node.attrs["value"]).tobytes())
            gv = ir.GlobalVariable(
                self.module, ir.ArrayType(I8, len(data)), f"{self.prefix}const{len(self.consts)}"
            )
            gv.global_constant = True
            gv.linkage = "private"
            gv.align = 64
            gv.initializer = ir.Constant(ir.ArrayType(I8, len(data)), data)
            self.consts[id(node)] = gv
        return self.consts[id(node)]

    def _copy(self, b: ir.IRBuilder, v: Value, src: Buffer, dst: Buffer) -> None:
        if src == dst or self.lay.nbytes(v) == 0:
            return
        dst_ptr = self.slots[dst.index] if dst.kind == "arg" else None
        assert dst_ptr is not None
        memcpy = self.module.globals.get("llvm.memcpy.p0.p0.i64") or ir.Function(
            self.module,
            ir.FunctionType(VOID, [PTR, PTR, ir.IntType(64), ir.IntType(1)]),
            "llvm.memcpy.p0.p0.i64",
        )
        b.call(
            memcpy,
            [dst_ptr, self.pointer(b, v), i64(self.lay.nbytes(v)), ir.Constant(ir.IntType(1), 0)],
        )

    # -- kernels ---------------------------------------------------------------------------
    def _call_kernel(self, b: ir.IRBuilder, index: int, node: Node) -> None:
        values = [self.lay.alias(v).root for v in node.inputs] + node.outputs
        locs = [self.lay.where[v] for v in values]
        needs_scratch = node.op in table.SCRATCH
        split = None
        if self.threads > 1:
            in_shapes = [self.lay.shapes[v] for v in node.inputs]
            out_shape = self.lay.shapes[node.outputs[0]]
            split = chunks.plan_split(node, in_shapes, out_shape, self.threads)
        fn = self._kernel(index, node, locs, needs_scratch, split)
        self.calls += 1
        args = [self.pointer(b, v) for v in values]
        if needs_scratch:
            args.append(b.gep(self.slots[-1], [i64(self.lay.scratch_offset)], source_etype=I8))
        if split is not None:
            self._fork(b, fn, args, split.count)
        else:
            b.call(fn, args)

    def _kernel(self, index: int, node: Node, locs: list[Buffer], scratch: bool,
                split: Split | None) -> ir.Function:
        """The node's kernel function: one built before from the same inputs when sharing (no
        IR built again), else a new one (dropped again if its code repeats another's)."""
        key = self._kernel_key(node, locs, scratch, split) if self.share else None
        found = self.by_key.get(key) if key is not None else None
        if found is not None:
            return found
        fn = self._shared(self._kernel_function(index, node, locs, scratch, split))
        if key is not None and key not in self.by_key:
            # a kernel that records its node in the error flag differs per node: never reused
            self.by_key[key] = None if table.ERROR_SYMBOL in self.texts[fn.name] else fn
        return fn

    def _kernel_key(self, node: Node, locs: list[Buffer], scratch: bool,
                    split: Split | None) -> tuple:
        """Everything a kernel emitter sees (KernelCtx): the op, attributes, body, types, the
        views of the operands, the result shapes, which pointers may alias, scratch, the split
        and whether a result overwrites an operand."""
        views = []
        for v in node.inputs:
            a = self.lay.alias(v)
            views.append((self.lay.shapes[v], a.strides, a.offset))
        return (
            node.op.name, _attrs_key(node.attrs),
            print_graph(node.body) if node.body is not None else None,
            tuple(str(v.type) for v in (*node.inputs, *node.outputs)), tuple(views),
            tuple(self.lay.shapes[v] for v in node.outputs),
            tuple(locs.count(loc) == 1 and loc.kind != "const" for loc in locs),
            scratch, split, self._overwrites_input(node),
        )

    def _shared(self, fn: ir.Function) -> ir.Function:
        """The first function with the same code as ``fn`` (which is then dropped), or ``fn``.

        Kernels are keyed by their whole text but their name: identical code is the only
        structural key that cannot miss a difference (views, strides, aliasing, attributes)."""
        if not self.share:
            self.kernels[fn.name] = fn
            return fn
        text = str(fn)
        key = text.replace(f'@"{fn.name}"', "@kernel", 1).replace(f"@{fn.name}(", "@kernel(", 1)
        first = self.kernels.setdefault(key, fn)
        self.texts.setdefault(first.name, text)
        if first is not fn:
            del self.module.globals[fn.name]
        return first

    def _check_nan(self, b: ir.IRBuilder, entry: ir.Function, index: int, node: Node) -> None:
        """Return from the entry function, flagging the node, if it made NaN."""
        checker = numerics.nan_checker(self.module, index, node, self._view)
        if checker is None:
            return
        values = [self.lay.alias(v).root for v in node.inputs] + node.outputs
        made = b.call(checker, [self.pointer(b, v) for v in values])
        stop, go = (entry.append_basic_block(f"{kind}.n{index}") for kind in ("nan", "ok"))
        b.cbranch(made, stop, go)
        b.position_at_end(stop)
        b.store(i64(numerics.nan_code(index)), table.error_flag(self.module))
        b.ret_void()
        b.position_at_end(go)

    def _fork(self, b: ir.IRBuilder, fn: ir.Function, args: list[ir.Value], count: int) -> None:
        """fn(args..., chunk, tid) for every chunk on the pool: args go through a stack block."""
        tramp = self.tramps.get(fn.name)
        if tramp is None:
            tramp = self.tramps[fn.name] = self._trampoline(fn, len(args))
        with b.goto_entry_block():
            block = b.alloca(ir.ArrayType(PTR, len(args)))
        for k, a in enumerate(args):
            b.store(a, b.gep(block, [i64(0), i64(k)], inbounds=True))
        # the thread count is a global the executable may lower to 1 per call (adaptive.py)
        workers = b.load(table.module_i64(self.module, WORKERS_SYMBOL, self.threads), typ=I64)
        b.call(externs.declare_parallel(self.module), [tramp, block, i64(count), workers])

    def _trampoline(self, fn: ir.Function, n_args: int) -> ir.Function:
        tramp = ir.Function(self.module, parallel.JOB_TYPE, fn.name + ".job")
        tramp.linkage = "internal"
        tb = ir.IRBuilder(tramp.append_basic_block("entry"))
        ctx, chunk, tid = tramp.args
        loaded = [tb.load(tb.gep(ctx, [i64(k)], source_etype=PTR), typ=PTR) for k in range(n_args)]
        tb.call(fn, [*loaded, chunk, tid])
        tb.ret_void()
        return tramp

    def _view(self, ptr: ir.Value, v: Value) -> View:
        a = self.lay.alias(v)
        return View(ptr, v.type.dtype, self.lay.shapes[v], a.strides, a.offset)

    def _kernel_function(
        self, index: int, node: Node, locs: list[Buffer], scratch: bool, split: Split | None = None
    ) -> ir.Function:
        n_args = len(locs) + int(scratch)
        kinds = [PTR] * n_args + ([ir.IntType(64)] * 2 if split else [])
        name = f"{self.prefix}n{index}.{node.op.name}"
        fn = ir.Function(self.module, ir.FunctionType(VOID, kinds), name)
        fn.linkage = "internal"
        fn.attributes.add("nounwind")
        # Kept out of the entry function: inlining every call would make one huge function,
        # whose optimization and codegen grow faster than linearly (and a kernel's loop nest
        # dwarfs the cost of the call).
        for attr in KERNEL_ATTRIBUTES:
            fn.attributes.add(attr)
        for arg, loc in zip(fn.args, locs, strict=False):
            if locs.count(loc) == 1 and loc.kind != "const":
                arg.add_attribute("noalias")
        b = ir.IRBuilder(fn.append_basic_block("entry"))
        n_in = len(node.inputs)
        ins = [self._view(a, v) for a, v in zip(fn.args, node.inputs, strict=False)]
        outs = [
            View.dense(a, v.type.dtype, self.lay.shapes[v])
            for a, v in zip(fn.args[n_in:], node.outputs, strict=False)
        ]
        scratch_ptr = fn.args[n_args - 1] if scratch else None
        if split is None:
            emit_node(self._ctx(b, node, ins, outs, scratch_ptr))
        else:
            self._emit_chunk(b, node, ins, outs, scratch_ptr, split, fn.args[-2:])
        b.ret_void()
        return fn

    def _emit_chunk(
        self,
        b: ir.IRBuilder,
        node: Node,
        ins: list[View],
        outs: list[View],
        scratch: ir.Value | None,
        split: Split,
        chunk_tid: tuple[ir.Value, ir.Value],
    ) -> None:
        """One chunk of the kernel; the scratch area is the running thread's own."""
        chunk, tid = chunk_tid
        if scratch is not None:
            per_thread = i64(self.lay.scratch_per_thread)
            scratch = b.gep(scratch, [b.mul(tid, per_thread)], source_etype=I8)
        start = b.mul(chunk, i64(split.size))
        if split.tail == split.size:
            part = chunks.Part(b, start, split.size, split.dim)
            self._chunk_body(b, node, ins, outs, scratch, part)
            return
        last = b.icmp_unsigned("==", chunk, i64(split.count - 1))
        with b.if_else(last) as (tail, full):
            for arm, size in ((full, split.size), (tail, split.tail)):
                with arm:
                    part = chunks.Part(b, start, size, split.dim)
                    self._chunk_body(b, node, ins, outs, scratch, part)

    def _chunk_body(
        self,
        b: ir.IRBuilder,
        node: Node,
        ins: list[View],
        outs: list[View],
        scratch: ir.Value | None,
        part: chunks.Part,
    ) -> None:
        if part.dim == 0 and node.op.batch_split is not None:
            cut = chunks.batch_inputs(node, [v.shape for v in ins], len(outs[0].shape))
            ins = [
                chunks.part_rows(v, part.along(cut[i])) if i in cut else v
                for i, v in enumerate(ins)
            ]
            outs = [chunks.part_rows(v, part) for v in outs]
            emit_node(self._ctx(b, node, ins, outs, scratch))
            return
        ctx = self._ctx(b, node, ins, outs, scratch)
        ctx.extras["part"] = part
        emit_node(ctx)

    def _ctx(
        self, b: ir.IRBuilder, node: Node, ins: list[View], outs: list[View], scratch: Any
    ) -> KernelCtx:
        inplace = self._overwrites_input(node)
        extras = {"inplace": inplace, "prefix": f"{self.prefix}n{self.index[id(node)]}.",
                  "share": self.share}
        return KernelCtx(b, self.math, node, ins, outs, scratch, extras, self.index[id(node)])

    def _overwrites_input(self, node: Node) -> bool:
        """Whether an output's buffer overlaps an input's (then a kernel cannot be rerun)."""
        lay = self.lay

        def span(v: Value) -> tuple[Buffer, int, int]:
            root = lay.alias(v).root
            loc = lay.where[root]
            start = loc.index if loc.kind == "arena" else 0
            return loc, start, start + lay.nbytes(root)

        ins = [span(v) for v in node.inputs]
        for out_loc, lo, hi in (span(v) for v in node.outputs):
            for in_loc, ilo, ihi in ins:
                same_buffer = in_loc == out_loc or (
                    in_loc.kind == out_loc.kind == "arena" and ilo < hi and lo < ihi
                )
                if same_buffer:
                    return True
        return False


def _attrs_key(attrs: dict[str, Any]) -> tuple:
    """Attributes as a hashable value (arrays by dtype, shape and bytes: repr truncates)."""
    def one(v: Any) -> Any:
        if isinstance(v, np.ndarray):
            return ("array", v.dtype.str, v.shape, v.tobytes())
        if isinstance(v, (list, tuple)):
            return tuple(one(x) for x in v)
        if isinstance(v, float):
            return ("float", v.hex())
        return (type(v).__name__, repr(v))

    return tuple((k, one(v)) for k, v in sorted(attrs.items()))


def emit_node(k: KernelCtx) -> None:
    """The node's kernel: its registered emitter, or a loop nest around its scalar body."""
    if k.node.op in KERNEL:
        KERNEL[k.node.op](k)
        return
    part = k.extras.get("part")
    out = chunks.part_rows(k.outs[0], part)
    body = SCALAR[k.node.op]
    s = Scalar(k.b, k.math, [v.dtype for v in k.ins], out.dtype, k.attrs)
    ins = [chunks.part_rows(v.broadcast(k.outs[0].shape), part) for v in k.ins]
    speculate_trig(k, lambda: elementwise(k.b, out.shape, ins, [out], lambda xs: [body(s, xs)]))
