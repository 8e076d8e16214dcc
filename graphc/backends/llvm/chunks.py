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

from graphc.backends.llvm.irutil import i64, memory_type
from graphc.backends.llvm.loops import View
from graphc.ir.graph import Node

MIN_ELEMENTS = 1 << 16  # elementwise kernels smaller than this are not worth a fork/join
CHUNK_ELEMENTS = 1 << 15  # elements per elementwise chunk (a few L2-sized slices per thread)
MIN_MACS = 1 << 20  # GEMMs below this many multiply-adds (~20 us) stay serial
GEMM_COLUMNS = 32  # columns per GEMM chunk (one B panel of the f32 micro-kernel)
GEMM_ROWS = 48  # rows per GEMM chunk when N is thin (a multiple of every tile height)
SPLIT_ELEMENTWISE = ("fused",)
SPLIT_GEMM = ("matmul", "fused_matmul")


@dataclass(frozen=True)
class Split:
    """A kernel cut into ``count`` chunks of ``size`` rows along result dim ``dim``."""

    dim: int
    size: int
    total: int

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
    node: Node, in_shapes: list[tuple[int, ...]], out_shape: tuple[int, ...]
) -> Split | None:
    """How ``node``'s kernel splits into chunks, or None when it stays serial."""
    from graphc.backends.llvm.lowering import KERNEL, SCALAR

    if not out_shape or math.prod(out_shape) == 0:
        return None
    name = node.op.name
    if (node.op in SCALAR and node.op not in KERNEL) or name in SPLIT_ELEMENTWISE:
        return _elementwise_split(out_shape)
    if name in SPLIT_GEMM and len(in_shapes[0]) == 2 and len(in_shapes[1]) == 2:
        return _gemm_split(node, in_shapes, out_shape)
    return None


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
