"""Kernel sharing: identical kernels are emitted once and called with different buffers, and the
results are bit for bit those of the build with one function per node (share_kernels=False)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY
from tests.op_cases import all_cases

CASES = all_cases()


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch):
    monkeypatch.setenv("GRAPHC_CACHE", "0")  # both builds really compile


def _catalogue_twice() -> tuple[list, list, list]:
    """Every op case twice over separate inputs (so each kernel has an identical twin)."""
    inputs, outs, arrays = [], [], []
    for k, case in enumerate(CASES):
        for twin in range(2):
            made = case.make(np.random.default_rng(twin))
            xs = [gc.placeholder(f"c{k}_{twin}_x{i}", a.shape, a.dtype)
                  for i, a in enumerate(made)]
            out = apply(REGISTRY[case.op], *xs, **case.attrs)
            outs += list(out) if isinstance(out, tuple) else [out]
            inputs += xs
            arrays += made
    return inputs, outs, arrays


def _bits(arrays: list[np.ndarray]) -> list[bytes]:
    return [np.ascontiguousarray(a).tobytes() for a in arrays]


def test_every_op_case_is_bit_identical_with_and_without_sharing():
    with gc.Graph("catalogue"):
        inputs, outs, arrays = _catalogue_twice()
        results, reports = {}, {}
        for share in (True, False):
            fn = gc.function(inputs, outs, backend="llvm", passes=[], share_kernels=share)
            results[share] = _bits(fn(*arrays))
            reports[share] = fn.compile_report()[0].kernels
    assert results[True] == results[False]
    emitted, calls = reports[True]
    assert reports[False] == (calls, calls)
    assert emitted < calls * 0.6  # every twin (and more) shares its kernel


def _mlp_step(share: bool, layers: int = 3) -> tuple[list[bytes], tuple[int, int]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((16, 20), dtype=np.float32)
    y = rng.integers(0, 10, 16)
    with gc.Graph("mlp"):
        xs = gc.placeholder("x", ("B", 20), "float32")
        ys = gc.placeholder("y", ("B",), "int64")
        layers_ = [gc.nn.Dense(32, "relu", seed=1 + i) for i in range(layers + 1)]
        layers_.append(gc.nn.Dense(10, seed=9))
        h = xs
        for layer in layers_:
            h = layer(h)
        loss = gc.mean(gc.softmax_cross_entropy(h, ys))
        opt = gc.optim.SGD([p for layer in layers_ for p in layer.params], 0.1)
        fn = gc.function([xs, ys], loss, updates=opt.updates(loss), backend="llvm",
                         share_kernels=share)
    losses = [fn(x, y) for _ in range(3)]
    return _bits(losses), fn.compile_report()[0].kernels


def test_mlp_training_is_bit_identical_and_layers_share_kernels():
    shared, (emitted, calls) = _mlp_step(True)
    assert shared == _mlp_step(False)[0]
    assert emitted < calls


def _cnn_step(share: bool) -> tuple[list[bytes], tuple[int, int]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 3, 12, 12), dtype=np.float32)
    y = rng.integers(0, 10, 4)
    with gc.Graph("cnn"):
        xs = gc.placeholder("x", ("B", 3, 12, 12), "float32")
        ys = gc.placeholder("y", ("B",), "int64")
        stem = gc.nn.Conv2d(8, 3, padding=1, seed=1, bias=False)
        h = gc.relu(stem(xs))
        trained, bns = list(stem.params), []
        for i in range(2):  # two identical residual blocks
            conv, bn = gc.nn.Conv2d(8, 3, padding=1, seed=2 + i, bias=False), gc.nn.BatchNorm()
            z, ups = bn(conv(h))
            trained += conv.params + bn.params
            bns += ups
            h = gc.relu(z + h)
        fc = gc.nn.Dense(10, seed=7)
        loss = gc.mean(gc.softmax_cross_entropy(fc(gc.mean(h, axis=(2, 3))), ys))
        opt = gc.optim.SGD(trained + fc.params, 0.1)
        fn = gc.function([xs, ys], loss, updates=opt.updates(loss) + bns, backend="llvm",
                         share_kernels=share)
    losses = [fn(x, y) for _ in range(3)]
    return _bits(losses), fn.compile_report()[0].kernels


def test_cnn_training_is_bit_identical_and_blocks_share_kernels():
    shared, (emitted, calls) = _cnn_step(True)
    assert shared == _cnn_step(False)[0]
    assert emitted < calls
