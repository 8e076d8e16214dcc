"""The llvm executable: dims bindings, zero-size data, in-place updates, inspection, the CLI."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.cli import main as cli_main


def _affine(backend: str = "llvm") -> gc.Function:
    with gc.Graph("affine"):
        x = gc.placeholder("x", ("B", 3))
        w = gc.parameter("w", np.arange(6, dtype=np.float32).reshape(3, 2))
        return gc.function([x], gc.tanh(gc.matmul(x, w)) + 1.0, backend=backend)


def test_one_variant_per_dims_binding() -> None:
    fn = _affine()
    for rows in (2, 5, 2, 0):
        x = np.linspace(-1, 1, rows * 3, dtype=np.float32).reshape(rows, 3)
        want = np.tanh(x @ np.arange(6, dtype=np.float32).reshape(3, 2)) + 1
        np.testing.assert_allclose(fn(x), want, rtol=1e-6, atol=1e-6)
    assert [r.dims for r in fn.compile_report()] == [{"B": 2}, {"B": 5}, {"B": 0}]


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value encountered")
@pytest.mark.parametrize("shape", [(0, 4), (3, 0), (0,)])
def test_zero_size_inputs(shape: tuple[int, ...]) -> None:
    with gc.Graph("empty"):
        x = gc.placeholder("x", shape)
        outs = [gc.exp(x) * 2.0, gc.sum(x, axis=-1), gc.transpose(x), gc.mean(x * 3.0, axis=0)]
        if shape[-1]:  # NumPy cannot take a max over an empty axis
            outs.append(gc.softmax(x, axis=-1))
        fn = gc.function([x], outs, backend="llvm")
        ref = gc.function([x], outs)
    data = np.zeros(shape, np.float32)
    for got, want in zip(fn(data), ref(data), strict=True):
        assert got.shape == want.shape
        np.testing.assert_array_equal(got, want)


def _sgd(backend: str) -> tuple[gc.Function, gc.Tensor]:
    with gc.Graph("sgd"):
        x = gc.placeholder("x", (4, 3))
        w = gc.parameter("w", np.ones((3, 2), np.float32))
        loss = gc.mean(gc.square(gc.matmul(x, w)))
        (g,) = gc.grad(loss, [w])
        return gc.function([x], loss, updates=[(w, w - 0.1 * g)], backend=backend), w


def test_updates_are_in_place_and_match_numpy() -> None:
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3)
    fast, w_fast = _sgd("llvm")
    slow, w_slow = _sgd("numpy")
    cell = w_fast.ir.param
    before = cell.value
    for _ in range(3):
        np.testing.assert_allclose(fast(x), slow(x), rtol=1e-6)
    assert cell.value is before  # updated in place, not replaced
    np.testing.assert_allclose(cell.value, w_slow.ir.param.value, rtol=1e-6)


def test_parameter_replaced_between_calls_is_seen() -> None:
    fast, w = _sgd("llvm")
    x = np.ones((4, 3), np.float32)
    fast(x)
    w.ir.param.value = np.asfortranarray(np.zeros((3, 2), np.float32))  # new, non-C-contiguous
    assert float(fast(x)) == 0.0
    assert w.ir.param.value.flags.c_contiguous


def test_concurrent_calls_agree() -> None:
    fn = _affine()
    x = np.linspace(-1, 1, 3000, dtype=np.float32).reshape(1000, 3)
    want = fn(x)
    results: list[np.ndarray] = []

    def work() -> None:
        for _ in range(20):
            results.append(fn(x))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_inspection() -> None:
    fn = _affine()
    with pytest.raises(gc.BackendError, match="llvm_ir\\(B=32\\)"):
        fn.llvm_ir()  # no binding of B yet
    fn(np.ones((2, 3), np.float32))
    assert 'define void @"graphc_entry"' in fn.llvm_ir() or "@graphc_entry" in fn.llvm_ir()
    assert "graphc_gemm_f32" in fn.llvm_ir(optimized=True)
    assert "ret" in fn.asm(B=4)
    (report,) = fn.compile_report()
    assert report.cache in ("miss", "memory", "disk") and report.dims == {"B": 2}
    assert "llvm compile [B=2]" in str(report)
    with pytest.raises(gc.GraphcError, match="backend='llvm'"):
        _affine("numpy").llvm_ir()


def test_profile_counts_cycles_per_node() -> None:
    from graphc.backends.llvm.executable import compile_graph

    fn = _affine()
    exe = compile_graph(fn.graph, profile=True)
    exe.run([np.ones((64, 3), np.float32)], {"B": 64})
    rows = exe.profile()
    assert len(rows) == len(fn.graph.nodes) and rows[0][1] > 0


def test_cli_prints_ir_and_asm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "g.gir"
    path.write_text(
        "graph @g(%x: f32[B,8]) -> (f32[B,8]) {\n  %0 = exp %x : f32[B,8]\n  return %0\n}\n"
    )
    assert cli_main(["llvm", str(path), "--dim", "B=4"]) == 0
    assert "graphc_entry" in capsys.readouterr().out
    assert cli_main(["llvm", str(path), "--dim", "B=4", "--asm"]) == 0
    assert "graphc_entry" in capsys.readouterr().out
    assert cli_main(["llvm", str(path)]) == 1
    assert "--dim" in capsys.readouterr().err


def test_big_outputs_are_recycled_only_when_dropped() -> None:
    with gc.Graph("big"):
        x = gc.placeholder("x", (1 << 19,))
        fn = gc.function([x], x * 2.0, backend="llvm")
    ones = np.ones(1 << 19, np.float32)
    kept = fn(ones)
    again = fn(ones * 3)
    assert kept is not again and float(kept[0]) == 2.0 and float(again[0]) == 6.0
    address = again.ctypes.data
    del again
    assert fn(ones).ctypes.data == address  # the dropped array's memory is reused


@pytest.mark.parametrize("rows", [3, 300])
def test_two_threads_match_one(rows: int) -> None:
    rng = np.random.default_rng(0)
    data = [rng.normal(size=s).astype(np.float32) for s in ((rows, 64), (64, 1024), (1024,))]
    results = []
    for threads in (1, 2):
        with gc.Graph("threads"):
            x, w, b = (gc.placeholder(n, a.shape) for n, a in zip("xwb", data, strict=True))
            y = gc.tanh(gc.matmul(x, w) + b)
            z = gc.sigmoid(y * 2.0) - gc.exp(-y)
            tall = gc.matmul(gc.transpose(w), gc.transpose(x))  # more rows than columns
            fn = gc.function([x, w, b], [y, z, tall], backend="llvm", threads=threads)
        results.append(fn(*data))
    assert ("graphc_parallel" in fn.llvm_ir()) == (rows == 300)  # small kernels stay serial
    for one, two in zip(*results, strict=True):
        np.testing.assert_array_equal(one, two)


def test_threads_in_a_forked_child() -> None:
    """A child forked after the helper thread started gets a helper of its own."""
    import multiprocessing

    assert _threaded_sum() == 2.0 * 4096 * 256  # starts the helper here
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply(_threaded_sum, ()) == 2.0 * 4096 * 256


def _threaded_sum() -> float:
    with gc.Graph("child"):
        x = gc.placeholder("x", (4096, 256))
        fn = gc.function([x], x * 2.0, backend="llvm", threads=2)
    return float(fn(np.ones((4096, 256), np.float32)).sum(dtype=np.float64))


def test_update_reading_its_own_transpose_is_not_done_in_place() -> None:
    """w <- w.T * 0.5 + w must read the old w everywhere, not half-updated values."""
    start = np.arange(9, dtype=np.float32).reshape(3, 3)
    results = []
    for backend in ("llvm", "numpy"):
        with gc.Graph("self_transpose"):
            x = gc.placeholder("x", ())
            w = gc.parameter("w", start.copy())
            fn = gc.function([x], x, updates=[(w, gc.transpose(w) * 0.5 + w)], backend=backend)
        fn(np.float32(1.0))
        results.append(w.ir.param.value)
    np.testing.assert_array_equal(*results)
