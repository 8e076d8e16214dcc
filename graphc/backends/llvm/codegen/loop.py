"""``scan`` in native code: the body is compiled into the same module as an entry function of
its own (its kernels, GEMM calls and arena planned by the same layout code as a whole graph), and
the scan node's kernel is a loop that calls it once per step: no Python between steps.

The kernel's scratch holds the body's arena (reused by every step) and one buffer per carry the
body writes its new carry into; the running carry lives in the node's result buffer, so after
the last step the final carry is already in place. Per step the argument block points at the
current carries, the step's slices of the sequences, the captures, the new-carry buffers, the
step's rows of the stacked outputs and the body arena.
"""

from __future__ import annotations

import math

from llvmlite import ir

from graphc.backends.llvm.codegen.layout import Layout, plan
from graphc.backends.llvm.irgen.basics import I8, PTR, VOID, i64
from graphc.backends.llvm.irgen.loops import for_range
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.ir.errors import BackendError
from graphc.ir.graph import Graph, Node
from graphc.ops.loop import scan  # not ops.scan: that name is the cumsum/argsort module

ALIGN = 64


def _align(n: int) -> int:
    return -(-n // ALIGN) * ALIGN


def body_dims(node: Node, in_shapes: list[tuple[int, ...]]) -> dict[str, int]:
    """The body's symbolic dims, read off the operands' concrete shapes."""
    nc, ns = node.attrs["carries"], node.attrs["sequences"]
    dims: dict[str, int] = {}
    body: Graph = node.body  # type: ignore[assignment]
    for i, (arg, shape) in enumerate(zip(body.inputs, in_shapes, strict=True)):
        step = shape[1:] if nc <= i < nc + ns else shape
        for d, n in zip(arg.type.shape, step, strict=True):
            if isinstance(d, str):
                dims[d] = n
    return dims


def body_layout(node: Node, in_shapes: list[tuple[int, ...]]) -> Layout:
    """Where the body's values live for one step (threads 1: the body runs serially)."""
    return plan(node.body, body_dims(node, in_shapes))  # type: ignore[arg-type]


def _carry_bytes(node: Node, in_shapes: list[tuple[int, ...]]) -> list[int]:
    nc = node.attrs["carries"]
    return [math.prod(s) * v.type.dtype.np.itemsize
            for s, v in zip(in_shapes[:nc], node.inputs[:nc], strict=True)]


def scan_scratch(node: Node, in_shapes: list[tuple[int, ...]],
                 out_shapes: list[tuple[int, ...]]) -> int:
    """The body arena, then one buffer per carry."""
    arena = _align(body_layout(node, in_shapes).arena_bytes)
    return arena + sum(_align(n) for n in _carry_bytes(node, in_shapes))


def _memcpy(b: ir.IRBuilder, dst: ir.Value, src: ir.Value, n: int) -> None:
    if n == 0:
        return
    module = b.module
    fn = module.globals.get("llvm.memcpy.p0.p0.i64") or ir.Function(
        module, ir.FunctionType(VOID, [PTR, PTR, ir.IntType(64), ir.IntType(1)]),
        "llvm.memcpy.p0.p0.i64")
    b.call(fn, [dst, src, i64(n), ir.Constant(ir.IntType(1), 0)])


def _offset(b: ir.IRBuilder, ptr: ir.Value, index: ir.Value, row_bytes: int) -> ir.Value:
    return b.gep(ptr, [b.mul(index, i64(row_bytes))], source_etype=I8)


def _body_entry(k: KernelCtx, lay: Layout) -> ir.Function:
    from graphc.backends.llvm.codegen.emit import ModuleEmitter  # emit imports this module

    emitter = ModuleEmitter(k.module, k.node.body, lay, share=k.extras.get("share", True),
                            prefix=k.extras.get("prefix", f"n{k.index}."), math=k.math)
    return emitter.emit()


@kernel(scan, scratch=scan_scratch)
def _scan(k: KernelCtx) -> None:
    node, b = k.node, k.b
    nc, ns = node.attrs["carries"], node.attrs["sequences"]
    if k.scratch is None:
        raise BackendError(f"{node.describe()}: scan needs its scratch area")
    in_shapes = [v.shape for v in k.ins]
    lay = body_layout(node, in_shapes)
    entry = _body_entry(k, lay)
    steps = in_shapes[nc][0] if ns else node.attrs["length"][0]
    carry_bytes = _carry_bytes(node, in_shapes)
    arena = k.scratch
    temps, at = [], _align(lay.arena_bytes)
    for n in carry_bytes:
        temps.append(b.gep(k.scratch, [i64(at)], source_etype=I8))
        at += _align(n)
    for i in range(nc):
        _memcpy(b, k.outs[i].ptr, k.ins[i].ptr, carry_bytes[i])
    n_args = lay.arena_slot + 1
    with b.goto_entry_block():
        block = b.alloca(ir.ArrayType(PTR, n_args), name="scan.args")

    def put(slot: int, ptr: ir.Value) -> None:
        b.store(ptr, b.gep(block, [i64(0), i64(slot)], inbounds=True))

    n_in = len(node.inputs)
    for i in range(nc):
        put(i, k.outs[i].ptr)  # the running carry
        put(n_in + i, temps[i])  # the body's new carry
    for j in range(nc + ns, n_in):
        put(j, k.ins[j].ptr)  # captures
    put(n_args - 1, arena)
    seq_rows = [math.prod(v.shape[1:]) * v.dtype.np.itemsize for v in k.ins[nc:nc + ns]]
    y_rows = [math.prod(v.shape[1:]) * v.dtype.np.itemsize for v in k.outs[nc:]]
    with for_range(b, 0, steps, name="step") as t:
        row = b.sub(i64(steps - 1), t) if node.attrs["reverse"] else t
        for s in range(ns):
            put(nc + s, _offset(b, k.ins[nc + s].ptr, row, seq_rows[s]))
        for m, rb in enumerate(y_rows):
            put(n_in + nc + m, _offset(b, k.outs[nc + m].ptr, row, rb))
        b.call(entry, [block])
        for i in range(nc):
            _memcpy(b, k.outs[i].ptr, temps[i], carry_bytes[i])
