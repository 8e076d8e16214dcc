"""Catalogue cases for the shape, indexing and linalg ops (see tests/op_cases/__init__.py).

``ref`` computes each result with NumPy directly from the input arrays (never with graphc).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from graphc.ops.indexing import END
from tests.op_cases import Case, f32

Array = Callable[[np.random.Generator], np.ndarray]


def args(*builders: Array) -> Callable[[np.random.Generator], list[np.ndarray]]:
    """A case builder from one builder per input."""
    return lambda rng: [b(rng) for b in builders]


def ints(*shape: int, low: int = 0, high: int, dtype: type = np.int64) -> Array:
    """A builder of integers in [low, high)."""
    return lambda rng: rng.integers(low, high, shape).astype(dtype)


def f64(*shape: int) -> Array:
    return lambda rng: rng.uniform(-2, 2, shape)


def _scatter_add(g: np.ndarray, idx: np.ndarray, axis: int | None, shape) -> np.ndarray:
    """take's adjoint by an explicit loop over the index array."""
    out = np.zeros(shape, g.dtype)
    target = out.reshape(-1) if axis is None else out
    lead = (slice(None),) * (axis or 0)
    for pos in np.ndindex(idx.shape):
        target[lead + (idx[pos],)] += g[lead + pos]
    return out


def _one_hot(idx: np.ndarray, depth: int, dtype: type) -> np.ndarray:
    out = np.zeros(idx.shape + (depth,), dtype)
    for pos in np.ndindex(idx.shape):
        if 0 <= idx[pos] < depth:
            out[pos + (idx[pos],)] = 1
    return out


def _slice_grad(g: np.ndarray, shape, index) -> np.ndarray:
    out = np.zeros(shape, g.dtype)
    out[index] = g
    return out


RESHAPE = [
    Case("reshape", args(f32(2, 3, 4)), {"shape": (-1, 4)}, "infer-last",
         ref=lambda x: x.reshape(6, 4)),
    Case("reshape", args(f32(2, 12)), {"shape": (-1, 3, 4)}, "split-axis",
         ref=lambda x: x.reshape(2, 3, 4)),
    Case("reshape", args(f64(6)), {"shape": (3, -1)}, "f64", ref=lambda x: x.reshape(3, 2)),
    Case("reshape", args(f32(1, 1)), {"shape": ()}, "to-scalar", ref=lambda x: x.reshape(())),
    Case("reshape", args(ints(2, 3, high=9)), {"shape": (-1, 3, 1)}, "int",
         ref=lambda x: x.reshape(2, 3, 1)),
]

TRANSPOSE = [
    Case("transpose", args(f32(2, 3, 4)), {"perm": (2, 0, 1)}, "3d",
         ref=lambda x: np.transpose(x, (2, 0, 1))),
    Case("transpose", args(f32(2, 3, 4)), {}, "reverse", ref=lambda x: x.T),
    Case("transpose", args(f32(3, 4)), {"perm": (-1, 0)}, "negative-axis", ref=lambda x: x.T),
]

BROADCAST_TO = [
    Case("broadcast_to", args(f32(3, 1)), {"shape": (2, 3, 4)}, "expand",
         ref=lambda x: np.broadcast_to(x, (2, 3, 4))),
    Case("broadcast_to", args(f32(4)), {"shape": (3, 4)}, "prepend",
         ref=lambda x: np.broadcast_to(x, (3, 4))),
    Case("broadcast_to", args(f32()), {"shape": (2, 2)}, "scalar",
         ref=lambda x: np.full((2, 2), x)),
    Case("broadcast_to", args(f32(2, 1)), {"shape": (2, 5)}, "batch",
         ref=lambda x: np.broadcast_to(x, (2, 5))),
]

EXPAND_SQUEEZE = [
    Case("expand_dims", args(f32(2, 3)), {"axis": (0,)}, "front", ref=lambda x: x[None]),
    Case("expand_dims", args(f32(2, 3)), {"axis": (-1,)}, "back", ref=lambda x: x[..., None]),
    Case("expand_dims", args(f32(2, 3)), {"axis": (1, 3)}, "two",
         ref=lambda x: x[:, None, :, None]),
    Case("squeeze", args(f32(2, 1, 3, 1)), {}, "all", ref=lambda x: x.reshape(2, 3)),
    Case("squeeze", args(f32(2, 1, 3, 1)), {"axis": (1,)}, "one",
         ref=lambda x: x.reshape(2, 3, 1)),
    Case("squeeze", args(f32(2, 1, 3, 1)), {"axis": -1}, "negative",
         ref=lambda x: x.reshape(2, 1, 3)),
]

FLATTEN = [
    Case("flatten", args(f32(2, 3, 4)), {}, "all", ref=lambda x: x.reshape(24)),
    Case("flatten", args(f32(2, 3, 4)), {"start_axis": 1}, "batch",
         ref=lambda x: x.reshape(2, 12)),
    Case("flatten", args(f32(2, 3, 4, 5)), {"start_axis": 1, "end_axis": 2}, "middle",
         ref=lambda x: x.reshape(2, 12, 5)),
    Case("flatten", args(f32()), {}, "scalar", ref=lambda x: x.reshape(1)),
]

CONCAT_SPLIT = [
    Case("concat", args(f32(2, 3), f32(2, 5)), {"axis": 1}, "axis1",
         ref=lambda a, b: np.concatenate([a, b], 1)),
    Case("concat", args(f32(2, 3), f32(4, 3), f32(1, 3)), {"axis": 0}, "three",
         ref=lambda a, b, c: np.concatenate([a, b, c], 0)),
    Case("concat", args(f32(2, 2, 1), f32(2, 2, 3)), {"axis": -1}, "negative-axis",
         ref=lambda a, b: np.concatenate([a, b], -1)),
    Case("concat", args(f32(3)), {}, "single", ref=lambda a: a.copy()),
    Case("split", args(f32(4, 6)), {"axis": 1, "sections": 3}, "sections",
         ref=lambda x: tuple(np.split(x, 3, axis=1))),
    Case("split", args(f32(5, 2)), {"indices": (1, 3)}, "indices",
         ref=lambda x: tuple(np.split(x, [1, 3]))),
    Case("split", args(f32(3, 7)), {"axis": -1, "sizes": (2, 5)}, "sizes",
         ref=lambda x: tuple(np.split(x, [2], axis=1))),
    Case("split", args(f32(2, 3)), {"axis": 1, "sections": 1}, "one",
         ref=lambda x: x.copy()),
]

_S1 = {"begin": (1, 0), "end": (4, 6), "step": (1, 2)}
_S2 = {"begin": (4, END), "end": (0, -END), "step": (-2, -1)}
SLICE = [
    Case("slice", args(f32(5, 6)), _S1, "strided", ref=lambda x: x[1:4, 0:6:2]),
    Case("slice", args(f32(5, 6)), _S2, "reversed", ref=lambda x: x[4:0:-2, ::-1]),
    Case("slice", args(f32(3, 6)), {"begin": (0, 1), "end": (END, -1)}, "batch",
         ref=lambda x: x[:, 1:-1]),
    Case("slice", args(f32(4, 2, 3)), {"begin": (-3, 0, 2), "end": (-1, 2, 3)}, "negative",
         ref=lambda x: x[-3:-1, 0:2, 2:3]),
    Case("slice", args(f32(2, 3)), {"begin": (0, 5), "end": (END, 9)}, "empty",
         ref=lambda x: x[:, 5:9]),
    Case("slice_grad", args(f32(3, 3)), {"shape": (5, 6), **_S1}, "strided",
         ref=lambda g: _slice_grad(g, (5, 6), np.s_[1:4, 0:6:2])),
    Case("slice_grad", args(f32(2, 6)), {"shape": (5, 6), **_S2}, "reversed",
         ref=lambda g: _slice_grad(g, (5, 6), np.s_[4:0:-2, ::-1])),
]

PAD = [
    Case("pad", args(f32(2, 3)), {"before": (1, 0), "after": (2, 1)}, "zeros",
         ref=lambda x: np.pad(x, ((1, 2), (0, 1)))),
    Case("pad", args(f32(2, 3)), {"before": (0, 2), "after": (0, 1), "value": -1.5}, "value",
         ref=lambda x: np.pad(x, ((0, 0), (2, 1)), constant_values=-1.5)),
    Case("pad", args(ints(3, high=5)), {"before": (2,), "after": (1,), "value": 7.0}, "int",
         ref=lambda x: np.pad(x, (2, 1), constant_values=7)),
]

TAKE = [
    Case("take", args(f32(5, 3), ints(4, high=5)), {"axis": 0}, "rows", grad_inputs=(0,),
         ref=lambda x, i: x[i]),
    Case("take", args(f32(2, 5), ints(2, 2, low=-5, high=5)), {"axis": 1}, "2d-negative",
         grad_inputs=(0,), ref=lambda x, i: x[:, i]),
    Case("take", args(f32(3, 4), ints(5, high=12, dtype=np.int32)), {}, "flat-int32",
         grad_inputs=(0,), ref=lambda x, i: x.reshape(-1)[i]),
    Case("take_grad", args(f32(4, 3), ints(4, high=5)), {"axis": 0, "shape": (5, 3)}, "rows",
         grad_inputs=(0,), ref=lambda g, i: _scatter_add(g, i, 0, (5, 3))),
    Case("take_grad", args(f32(2, 2, 2), ints(2, 2, high=3)), {"axis": 1, "shape": (2, 3)},
         "2d", grad_inputs=(0,), ref=lambda g, i: _scatter_add(g, i, 1, (2, 3))),
    Case("take_grad", args(f32(5), ints(5, high=6)), {"shape": (2, 3)}, "flat",
         grad_inputs=(0,), ref=lambda g, i: _scatter_add(g, i, None, (2, 3))),
    Case("one_hot", args(ints(2, 3, low=-1, high=5)), {"depth": 4}, "out-of-range",
         ref=lambda i: _one_hot(i, 4, np.float32)),
    Case("one_hot", args(ints(5, high=3, dtype=np.int32)), {"depth": 3, "dtype": "float64"},
         "f64", ref=lambda i: _one_hot(i, 3, np.float64)),
    Case("one_hot", args(ints(3, high=2)), {"depth": 2, "dtype": "int32"}, "int",
         ref=lambda i: _one_hot(i, 2, np.int32)),
]


def _mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Matrix product by einsum in float64 (independent of np.matmul), cast back."""
    a2 = a[None] if a.ndim == 1 else a
    b2 = b[:, None] if b.ndim == 1 else b
    out = np.einsum("...ik,...kj->...ij", a2.astype(np.float64), b2.astype(np.float64))
    out = out[..., 0, :] if a.ndim == 1 else out
    out = out[..., 0] if b.ndim == 1 else out
    return out.astype(a.dtype)


MATMUL = [
    Case("matmul", args(f32(3, 4), f32(4, 5)), {}, "2d", ref=_mm),
    Case("matmul", args(f32(4), f32(4, 5)), {}, "vec-mat", ref=_mm),
    Case("matmul", args(f32(3, 4), f32(4)), {}, "mat-vec", ref=_mm),
    Case("matmul", args(f32(4), f32(4)), {}, "dot", ref=_mm),
    Case("matmul", args(f32(2, 3, 4), f32(4, 5)), {}, "batched", ref=_mm),
    Case("matmul", args(f32(2, 1, 3, 4), f32(5, 4, 2)), {}, "broadcast-batch", ref=_mm),
    Case("matmul", args(f32(4), f32(2, 4, 3)), {}, "vec-batched", ref=_mm),
    Case("matmul", args(f64(2, 3, 4), f64(4)), {}, "f64-batched-mat-vec", ref=_mm),
    Case("matmul", args(ints(2, 3, high=5), ints(3, 2, high=5)), {}, "int", grad_inputs=(),
         ref=_mm),
]

# constant (graphc.ops.core) sits here because it is a source of shapes rather than math
CORE = [
    Case("constant", lambda rng: [], {"value": np.arange(6, dtype=np.float32).reshape(2, 3)},
         "f32", ref=lambda: np.arange(6, dtype=np.float32).reshape(2, 3)),
]

CASES: list[Case] = (RESHAPE + TRANSPOSE + BROADCAST_TO + EXPAND_SQUEEZE + FLATTEN
                     + CONCAT_SPLIT + SLICE + PAD + TAKE + MATMUL + CORE)
