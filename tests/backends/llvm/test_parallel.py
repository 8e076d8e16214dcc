"""The thread pool: chunked kernels give the serial results bit for bit; the threads option."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm.codegen import chunks
from graphc.backends.llvm.executable import compile_graph, default_threads
from graphc.ir.errors import BackendError


def _mlp_step(threads: int, rows: int) -> tuple[gc.Function, list[gc.Tensor]]:
    """A training step whose GEMMs split over columns (wide), rows (thin N) and with epilogues."""
    rng = np.random.default_rng(0)
    shapes = [(384, 176), (176,), (176, 24), (24,)]
    with gc.Graph("mlp"):
        x = gc.placeholder("x", ("B", 384))
        y = gc.placeholder("y", ("B",), "int64")
        ps = [gc.parameter(f"p{i}", rng.normal(0, 0.2, s).astype(np.float32))
              for i, s in enumerate(shapes)]
        h = gc.relu(x @ ps[0] + ps[1])
        loss = gc.mean(gc.softmax_cross_entropy(h @ ps[2] + ps[3], y))
        grads = gc.grad(loss, ps)
        ups = [(p, p - 0.1 * g) for p, g in zip(ps, grads, strict=True)]
        fn = gc.function([x, y], [loss, h], updates=ups, backend="llvm", threads=threads)
    return fn, ps


def _cnn_step(threads: int) -> tuple[gc.Function, list[gc.Tensor]]:
    rng = np.random.default_rng(0)
    shapes = [(8, 3, 3, 3), (8,), (16, 8, 3, 3), (16,), (16 * 4 * 4, 5), (5,)]
    with gc.Graph("cnn"):
        x = gc.placeholder("x", ("B", 3, 16, 16))
        y = gc.placeholder("y", ("B",), "int64")
        ps = [gc.parameter(f"p{i}", rng.normal(0, 0.3, s).astype(np.float32))
              for i, s in enumerate(shapes)]
        h = gc.max_pool2d(gc.relu(gc.conv2d(x, ps[0], ps[1], padding=1)), 2)
        h = gc.avg_pool2d(gc.relu(gc.conv2d(h, ps[2], ps[3], padding=1)), 2)
        logits = gc.flatten(h, start_axis=1) @ ps[4] + ps[5]
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
        grads = gc.grad(loss, ps)
        ups = [(p, p - 0.1 * g) for p, g in zip(ps, grads, strict=True)]
        fn = gc.function([x, y], loss, updates=ups, backend="llvm", threads=threads)
    return fn, ps


def _run_steps(build, threads: int, args: list[np.ndarray], steps: int = 3) -> list[np.ndarray]:
    fn, ps = build(threads)
    outs = []
    for _ in range(steps):
        got = fn(*args)
        outs += [np.array(o) for o in (got if isinstance(got, list) else [got])]
    return outs + [np.array(p.ir.param.value) for p in ps]


@pytest.mark.parametrize("rows", [300, 37])
def test_mlp_steps_are_identical_on_1_2_and_3_threads(rows: int) -> None:
    rng = np.random.default_rng(1)
    args = [rng.normal(size=(rows, 384)).astype(np.float32), rng.integers(0, 24, rows)]
    results = [_run_steps(lambda t: _mlp_step(t, rows), t, args) for t in (1, 2, 3)]
    fn, _ = _mlp_step(2, rows)
    fn(*args)
    assert "graphc_parallel" in fn.llvm_ir()
    for other in results[1:]:
        for one, many in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(one, many)


def test_cnn_steps_are_identical_on_1_and_2_threads() -> None:
    rng = np.random.default_rng(2)
    batch = 7  # chunks of the batch with a shorter last one
    args = [rng.normal(size=(batch, 3, 16, 16)).astype(np.float32), rng.integers(0, 5, batch)]
    one, two = (_run_steps(_cnn_step, t, args) for t in (1, 2))
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)


def test_cnn_kernels_are_split() -> None:
    fn, _ = _cnn_step(2)
    text = fn.llvm_ir(B=64)
    for op in ("conv2d_input_grad", "conv2d_weight_grad", "max_pool2d_grad", "max_pool2d"):
        assert f".{op}.job" in text, op


@pytest.mark.parametrize("n", [(1 << 16) + 5, 5 * (1 << 15)])
def test_elementwise_chunks_cover_every_element(n: int) -> None:
    x = np.random.default_rng(3).normal(size=n).astype(np.float32)
    results = []
    for threads in (1, 2):
        with gc.Graph("ew"):
            xs = gc.placeholder("x", (n,))
            fn = gc.function([xs], gc.tanh(xs) * xs + 1.0, backend="llvm", threads=threads)
        results.append(fn(x))
    assert chunks.plan_split(fn.graph.nodes[-1], [(n,)], (n,)) is not None
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_allclose(results[1], np.tanh(x) * x + 1.0, rtol=1e-6, atol=1e-6)


def test_calls_from_two_python_threads_at_once() -> None:
    """Two executables sharing the pool at the same moment: one runs its chunks alone."""
    n = 1 << 18
    x = np.arange(n, dtype=np.float32)
    fns = []
    for k in range(2):
        with gc.Graph(f"busy{k}"):
            xs = gc.placeholder("x", (n,))
            fns.append(gc.function([xs], xs * float(k + 2), backend="llvm", threads=2))
    errors: list[str] = []

    def work(k: int) -> None:
        for _ in range(40):
            if not np.array_equal(fns[k](x), x * float(k + 2)):
                errors.append(f"executable {k} computed a wrong result")

    workers = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert errors == []


def _graph():  # noqa: ANN202 - the IR graph of a tiny function
    with gc.Graph("g"):
        x = gc.placeholder("x", (4,))
        return gc.function([x], x * 2.0).graph


def test_threads_option_env_var_and_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRAPHC_THREADS", raising=False)
    assert compile_graph(_graph()).threads == default_threads()
    assert 1 <= default_threads() <= 4
    assert compile_graph(_graph(), threads=3).threads == 3
    monkeypatch.setenv("GRAPHC_THREADS", "1")
    assert compile_graph(_graph()).threads == 1
    assert compile_graph(_graph(), threads=2).threads == 2  # the option wins over the variable


@pytest.mark.parametrize("bad", [0, -1, 1000, "two", 2.5, True])
def test_bad_thread_counts_are_rejected(bad: object) -> None:
    with pytest.raises(BackendError, match="threads"):
        compile_graph(_graph(), threads=bad)


def test_bad_env_var_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHC_THREADS", "lots")
    with pytest.raises(BackendError, match="GRAPHC_THREADS='lots'"):
        compile_graph(_graph())
