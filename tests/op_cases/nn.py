"""Catalogue cases for the nn ops (see tests/op_cases/__init__.py).

``ref`` implementations are deliberately naive (loops over output pixels on small inputs) so
they share nothing with the vectorized kernels. Random float inputs make ties in max pooling
windows (where the gradient jumps) practically impossible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tests.op_cases import Case, f32
from tests.op_cases.math import args, ints


def _softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x.astype(np.float64))
    return (e / e.sum(axis=axis, keepdims=True)).astype(x.dtype)


def _log_softmax(x: np.ndarray, axis: int) -> np.ndarray:
    wide = x.astype(np.float64)
    return (wide - np.log(np.exp(wide).sum(axis=axis, keepdims=True))).astype(x.dtype)


def _sce(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    out = np.empty(labels.shape, logits.dtype)
    for i in np.ndindex(labels.shape):
        row = logits[i].astype(np.float64)
        out[i] = np.log(np.exp(row).sum()) - row[labels[i]]
    return out


def _mse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.mean((a.astype(np.float64) - b) ** 2), a.dtype)


def _pairs(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def _padded(x: np.ndarray, p, value: float = 0.0) -> np.ndarray:
    ph, pw = _pairs(p)
    return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)


def _out(size: int, k: int, s: int, p: int, d: int = 1) -> int:
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def conv_ref(x, w, stride=1, padding=0, dilation=1, groups=1) -> np.ndarray:
    """Direct definition of NCHW/OIHW cross-correlation."""
    (sh, sw), (ph, pw), (dh, dw) = _pairs(stride), _pairs(padding), _pairs(dilation)
    n, c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    oh, ow = _out(h, kh, sh, ph, dh), _out(wd, kw, sw, pw, dw)
    xp = _padded(x.astype(np.float64), padding)
    out = np.zeros((n, o, oh, ow))
    per_group = o // groups
    for oc in range(o):
        first = (oc // per_group) * cg
        for i in range(oh):
            for j in range(ow):
                patch = xp[:, first : first + cg, i * sh : i * sh + dh * (kh - 1) + 1 : dh,
                           j * sw : j * sw + dw * (kw - 1) + 1 : dw]
                out[:, oc, i, j] = np.sum(patch * w[oc], axis=(1, 2, 3))
    return out.astype(x.dtype)


def _pool_ref(reduce: Callable, pad_value: float):
    def ref(x, kernel_size, stride=None, padding=0) -> np.ndarray:
        (kh, kw), (ph, pw) = _pairs(kernel_size), _pairs(padding)
        sh, sw = _pairs(kernel_size if stride is None else stride)
        oh, ow = _out(x.shape[2], kh, sh, ph), _out(x.shape[3], kw, sw, pw)
        xp = _padded(x, padding, pad_value)
        out = np.zeros(x.shape[:2] + (oh, ow), x.dtype)
        for i in range(oh):
            for j in range(ow):
                out[:, :, i, j] = reduce(xp[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw])
        return out

    return ref


max_pool_ref = _pool_ref(lambda win: win.max(axis=(2, 3)), -np.inf)
avg_pool_ref = _pool_ref(lambda win: win.mean(axis=(2, 3)), 0.0)


def _adjoint(forward: Callable, shape: tuple, gy: np.ndarray) -> np.ndarray:
    """Transpose of a linear map given as a function: column by column on basis inputs."""
    out = np.zeros(shape)
    for i in np.ndindex(shape):
        basis = np.zeros(shape)
        basis[i] = 1.0
        out[i] = np.sum(forward(basis) * gy)
    return out.astype(gy.dtype)


def _conv_cases(label: str, x: tuple, w: tuple, **attrs) -> list[Case]:
    gy_shape = conv_ref(np.zeros(x, np.float32), np.zeros(w, np.float32), **attrs).shape
    input_size, kernel_size = x[2:], w[2:]
    return [
        Case("conv2d", args(f32(*x), f32(*w)), attrs, label,
             ref=lambda a, b: conv_ref(a, b, **attrs)),
        Case("conv2d_input_grad", args(f32(*gy_shape), f32(*w)),
             {**attrs, "input_size": input_size}, label,
             ref=lambda gy, b: _adjoint(lambda a: conv_ref(a, b, **attrs), x, gy)),
        Case("conv2d_weight_grad", args(f32(*x), f32(*gy_shape)),
             {**attrs, "kernel_size": kernel_size}, label,
             ref=lambda a, gy: _adjoint(lambda b: conv_ref(a, b, **attrs), w, gy)),
    ]


CONV = [
    *_conv_cases("basic", (2, 3, 5, 5), (4, 3, 3, 3)),
    *_conv_cases("stride-pad", (2, 2, 6, 5), (3, 2, 3, 3), stride=2, padding=1),
    *_conv_cases("dilation", (1, 2, 7, 7), (2, 2, 3, 3), dilation=2, padding=(1, 2)),
    *_conv_cases("groups", (2, 4, 5, 5), (6, 2, 2, 2), groups=2),
    *_conv_cases("rect", (2, 3, 6, 5), (2, 3, 3, 2), stride=(2, 1), padding=(1, 0)),
]


def _max_grad_ref(x, gy, **attrs) -> np.ndarray:
    """max pooling's gradient by perturbing every input entry (ties are absent)."""
    eps = 1e-3
    out = np.zeros(x.shape, np.float64)
    for i in np.ndindex(x.shape):
        bumped = x.astype(np.float64)
        bumped[i] += eps
        out[i] = np.sum((max_pool_ref(bumped, **attrs) - max_pool_ref(x, **attrs)) * gy) / eps
    return out.astype(x.dtype)


def _gather_ref(x, gx, **attrs) -> np.ndarray:
    """gx at each window's maximum: the directional derivative of max pooling along gx."""
    eps = 1e-3
    bumped = x.astype(np.float64) + eps * gx
    return ((max_pool_ref(bumped, **attrs) - max_pool_ref(x, **attrs)) / eps).astype(x.dtype)


def _pool_cases(label: str, x: tuple, **attrs) -> list[Case]:
    gy_shape = max_pool_ref(np.zeros(x, np.float32), **attrs).shape
    return [
        Case("max_pool2d", args(f32(*x)), attrs, label, ref=lambda a: max_pool_ref(a, **attrs)),
        Case("avg_pool2d", args(f32(*x)), attrs, label, ref=lambda a: avg_pool_ref(a, **attrs)),
        Case("max_pool2d_grad", args(f32(*x), f32(*gy_shape)), attrs, label,
             ref=lambda a, gy: _max_grad_ref(a, gy, **attrs)),
        Case("max_pool2d_gather", args(f32(*x), f32(*x)), attrs, label,
             ref=lambda a, gx: _gather_ref(a, gx, **attrs)),
        Case("avg_pool2d_grad", args(f32(*gy_shape)), {**attrs, "input_size": x[2:]}, label,
             ref=lambda gy: _adjoint(lambda a: avg_pool_ref(a, **attrs), x, gy)),
    ]


POOL = [
    *_pool_cases("k2", (2, 3, 4, 6), kernel_size=2),
    *_pool_cases("k3-s2-p1", (2, 2, 5, 5), kernel_size=3, stride=2, padding=1),
    *_pool_cases("rect", (1, 2, 5, 6), kernel_size=(2, 3), stride=(1, 2)),
]

SOFTMAX = [
    Case(op, args(f32(*shape)), attrs, label,
         ref=lambda x, ref=ref, a=attrs: ref(x, a.get("axis", -1)))
    for op, ref in [("softmax", _softmax), ("log_softmax", _log_softmax)]
    for label, shape, attrs in [("last", (3, 5), {}), ("axis0", (3, 5), {"axis": 0}),
                                ("rank3", (2, 3, 4), {"axis": 1})]
]

LOSS = [
    Case("softmax_cross_entropy", args(f32(4, 5), ints(4, low=0, high=5, dtype=np.int64)),
         label="i64", ref=_sce),
    Case("softmax_cross_entropy", args(f32(6, 3), ints(6, low=0, high=3, dtype=np.int32)),
         label="i32", ref=_sce),
    Case("softmax_cross_entropy", args(f32(2, 3, 4), ints(2, 3, low=0, high=4)), label="rank3",
         ref=_sce),
    Case("mse", args(f32(3, 4), f32(3, 4)), label="same", ref=_mse),
    Case("mse", args(f32(3, 4), f32(4)), label="broadcast", ref=_mse),
]

CASES: list[Case] = SOFTMAX + LOSS + CONV + POOL
