"""Which kernels run in parallel chunks, and how a chunk cuts a kernel's operands.

A split kernel is compiled as ``fn(args..., chunk, tid)``: chunk ``c`` covers rows
``[c * size, (c + 1) * size)`` of dim ``dim`` of the result (the last chunk is shorter when the
size does not divide evenly; it gets its own static copy of the body), so every loop keeps
static trip counts and vectorizes as in the serial kernel. Each element is computed exactly as
the serial kernel computes it (GEMM chunks only cut M or N, never K), so results are identical
bit for bit whatever the thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import i64, memory_type
from graphc.backends.llvm.irgen.loops import View
from graphc.ir.graph import Node

MIN_ELEMENTS = 1 << 16  # elementwise kernels smaller than this are not worth a fork/join
CHUNK_ELEMENTS = 1 << 15  # elements per elementwise chunk (a few L2-sized slices per thread)
MIN_MACS = 1 << 20  # GEMMs below this many multiply-adds (~20 us) stay serial
GEMM_COLUMNS = 32  # columns per GEMM chunk (one B panel of the f32 micro-kernel)
GEMM_ROWS = 48  # rows per GEMM chunk when N is thin (a multiple of every tile height)
# Batch-splittable kernels (the op's ``batch_split`` trait: {input: the dim cut with the
# result's dim 0}; an epilogue op's extra inputs too when they have a full batch dim) run as
# the same kernel on smaller operands, so the kernels themselves need no change. When operand
# 0 is not cut (the conv weight gradient: its rows are output channels), every chunk reads all
# of it: one chunk per thread then.
MIN_BATCH_ELEMENTS = 1 << 15  # batch kernels whose result is smaller stay serial
BATCH_CHUNKS_PER_THREAD = 4


@dataclass(frozen=True)
class Split:
    """A kernel cut into ``count`` chunks of ``size`` rows along result dim ``dim``."""

    dim: int
    size: int
    total: int
    batch: bool = False  # a batch-split kernel: its operands are cut before it is emitted

    @property
    def count(self) -> int:
        return -(-self.total // self.size)

    @property
    def tail(self) -> int:
        """Rows of the last chunk."""
        return self.total - (self.count - 1) * self.size


@dataclass(frozen=True)
class Part:
    """One chunk inside a kernel: rows [start, start + size) of dim ``dim`` (start is dynamic)."""

    b: ir.IRBuilder
    start: ir.Value
    size: int
    dim: int

    def along(self, dim: int) -> Part:
        return replace(self, dim=dim)


def plan_split(
    node: Node, in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...], threads: int = 2
) -> Split | None:
    """How ``node``'s kernel splits into chunks, or None when it stays serial."""
    from graphc.backends.llvm.kernels.table import KERNEL, SCALAR

    if not out_shape or math.prod(out_shape) == 0:
        return None
    op = node.op
    if (op in SCALAR and op not in KERNEL) or op.elementwise_body:
        return _elementwise_split(out_shape)
    if on_matmul(node) and len(in_shapes[0]) == 2 and len(in_shapes[1]) == 2:
        return _gemm_split(node, in_shapes, out_shape)
    if op.batch_split is not None and node.inputs[0].type.dtype.is_float:
        if op.batch_split.get(0) != 0:  # one chunk per thread: each repeats the im2col
            ok = node.attrs.get("groups", 1) == 1 and math.prod(in_shapes[1]) >= MIN_MACS >> 4
            return Split(0, -(-out_shape[0] // threads), out_shape[0], batch=True) if ok else None
        return _batch_split(out_shape, threads)
    return None


def on_matmul(node: Node) -> bool:
    """A matrix product (matmul, or an epilogue op anchored on it): the GEMM splits it."""
    return node.op is ops.matmul or node.op.anchor is ops.matmul


def _batch_split(out_shape: tuple[int, ...], threads: int) -> Split | None:
    """About BATCH_CHUNKS_PER_THREAD chunks per thread, of a size dividing the batch if one
    is close (each distinct chunk size compiles its own copy of the kernel)."""
    n = out_shape[0]
    if n < 2 or math.prod(out_shape) < MIN_BATCH_ELEMENTS:
        return None
    target = max(1, -(-n // (threads * BATCH_CHUNKS_PER_THREAD)))
    size = next((d for d in range(target, (target + 1) // 2 - 1, -1) if n % d == 0), target)
    return Split(0, size, n, batch=True)


def batch_inputs(node: Node, shapes: list[tuple[int, ...]], rank: int) -> dict[int, int]:
    """{input index: dim} of the inputs of a batch-split kernel that its chunks cut."""
    cut = dict(node.op.batch_split or {})
    if node.op.anchor is not None:
        n = shapes[0][0]
        cut |= {i: 0 for i in range(2, len(shapes)) if len(shapes[i]) == rank and shapes[i][0] == n}
    return cut


def _elementwise_split(out_shape: tuple[int, ...]) -> Split | None:
    total = math.prod(out_shape)
    if total < MIN_ELEMENTS or out_shape[0] < 2:
        return None
    row = total // out_shape[0]
    size = max(1, CHUNK_ELEMENTS // row)
    size = max(size, -(-out_shape[0] // 1024))  # at most ~1024 chunks
    split = Split(0, size, out_shape[0])
    return split if split.count >= 2 else None


def _gemm_split(node: Node, in_shapes: list, out_shape: tuple[int, ...]) -> Split | None:
    m, k = in_shapes[0]
    n = in_shapes[1][1]
    if not node.inputs[0].type.dtype.is_float or m * n * k < MIN_MACS:
        return None
    split = Split(1, GEMM_COLUMNS, n) if n >= 2 * GEMM_COLUMNS else Split(0, GEMM_ROWS, m)
    return split if split.count >= 2 else None


def part_rows(v: View, part: Part | None) -> View:
    """The slice of ``v`` along dim ``part.dim`` that chunk ``part`` handles."""
    if part is None:
        return v
    stride = v.strides[part.dim]
    shape = (*v.shape[: part.dim], part.size, *v.shape[part.dim + 1 :])
    if stride == 0 or v.shape[part.dim] == 1:  # broadcast along the split dim: same elements
        return v.with_layout(shape, v.strides)
    b = part.b
    ptr = b.gep(v.ptr, [b.mul(part.start, i64(stride))], source_etype=memory_type(v.dtype))
    return replace(v, ptr=ptr, shape=shape)
