"""Data parallelism in the graph: gradient buckets averaged over the MPI ranks, and parameters
started from rank 0's values.

Gradients are flattened into a few contiguous buckets (per dtype, up to BUCKET_ELEMENTS each)
so one training step makes a handful of allreduce calls, not one per parameter: an allreduce
of a small tensor costs its latency (tens of microseconds), of a big one its bandwidth.
In a single process nothing is built: the flatten and split copies would stay in the graph
even after canonicalize dropped the allreduce between them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from graphc.frontend import functional as fn
from graphc.frontend import shaping
from graphc.frontend.tensor import Tensor
from graphc.ops import collective

BUCKET_ELEMENTS = 1 << 22  # 16 MiB of float32 per bucket (PyTorch DDP's default is 25 MB)


def buckets(grads: Sequence[Tensor], limit: int = BUCKET_ELEMENTS) -> list[list[int]]:
    """Indices of ``grads`` grouped into buckets: one dtype each, in order, at most ``limit``
    elements unless a single gradient is larger."""
    out: list[list[int]] = []
    filled: dict[str, tuple[list[int], int]] = {}
    for i, g in enumerate(grads):
        n = math.prod(g.shape)
        bucket, size = filled.get(g.dtype.name, (None, 0))
        if bucket is None or size + n > limit:
            bucket, size = [], 0
            out.append(bucket)
        bucket.append(i)
        filled[g.dtype.name] = (bucket, size + n)
    return out


def average_gradients(grads: Sequence[Tensor], limit: int = BUCKET_ELEMENTS) -> list[Tensor]:
    """``grads`` averaged over every rank, bucket by bucket (unchanged in one process)."""
    grads = list(grads)
    if collective.world() is None:
        return grads
    result: list[Tensor | None] = [None] * len(grads)
    for bucket in buckets(grads, limit):
        for i, g in zip(bucket, _reduce_bucket([grads[i] for i in bucket]), strict=True):
            result[i] = g
    return result  # type: ignore[return-value]


def _reduce_bucket(grads: list[Tensor]) -> list[Tensor]:
    if len(grads) == 1:
        return [fn.allreduce(grads[0], op="mean")]
    flat = fn.allreduce(shaping.concat([shaping.reshape(g, [-1]) for g in grads]), op="mean")
    sizes = [math.prod(g.shape) for g in grads]
    cuts = [sum(sizes[: j + 1]) for j in range(len(sizes) - 1)]
    pieces = shaping.split(flat, cuts)
    return [shaping.reshape(p, g.shape) for p, g in zip(pieces, grads, strict=True)]


def broadcast_parameters(params: Sequence[Tensor], root: int = 0) -> None:
    """Overwrite every parameter's value with rank ``root``'s, in place (a no-op in one
    process): all ranks then start from identical weights."""
    if collective.world() is None:
        return
    for p in params:
        cell = p.ir.param
        cell.value = np.require(cell.value, requirements=["C", "W"])  # MPI writes into it
        collective.run_collective("broadcast", cell.value, root)
