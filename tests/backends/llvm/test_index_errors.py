"""Out-of-range indices and labels raise a BackendError naming the node, as on the numpy backend.

Kernels cannot raise: they set the module's error flag and the executable raises after the call.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc import ops
from graphc.frontend.api import apply
from graphc.support import cache

HERE = Path(__file__).name
BACKENDS = ["numpy", "llvm"]
TABLE = np.arange(12, dtype=np.float32).reshape(3, 4)
LOGITS = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], np.float32)


def _take(backend: str, axis: int | None = 0) -> gc.Function:
    with gc.Graph("take"):
        x = gc.placeholder("x", (3, 4))
        i = gc.placeholder("i", ("N",), "int64")
        return gc.function([x, i], gc.take(x, i, axis=axis), backend=backend)


def _sce(backend: str, label_dtype: str = "int64") -> gc.Function:
    with gc.Graph("sce"):
        x = gc.placeholder("x", (2, 3))
        y = gc.placeholder("y", (2,), label_dtype)
        return gc.function([x, y], gc.softmax_cross_entropy(x, y), backend=backend)


def _raises(op: str, fn: gc.Function, *args: np.ndarray) -> str:
    with pytest.raises(gc.BackendError, match=rf"^{op} at .*{HERE}:\d+: ") as info:
        fn(*args)
    return str(info.value)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [[0, 3], [-4, 1], [7], [np.iinfo(np.int64).min]])
def test_take_out_of_range_raises(backend: str, bad: list[int]) -> None:
    _raises("take", _take(backend), TABLE, np.array(bad))


@pytest.mark.parametrize("backend", BACKENDS)
def test_flat_take_out_of_range_raises(backend: str) -> None:
    _raises("take", _take(backend, axis=None), TABLE, np.array([11, 12]))


def test_llvm_message_says_what_was_expected() -> None:
    msg = _raises("take", _take("llvm", axis=1), TABLE, np.array([4]))
    assert "index out of range: expected -4 <= index < 4 (axis 1 of shape [3, 4])" in msg


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [[0, 3], [-1, 0]])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_sce_bad_label_raises(backend: str, bad: list[int], dtype: str) -> None:
    msg = _raises("softmax_cross_entropy", _sce(backend, dtype), LOGITS, np.array(bad, dtype))
    if backend == "llvm":
        assert "label out of range: expected 0 <= label < 3" in msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_take_grad_out_of_range_raises(backend: str) -> None:
    with gc.Graph("scatter"):
        g = gc.placeholder("g", (2, 4))
        i = gc.placeholder("i", (2,), "int64")
        out = apply(ops.take_grad, g, i, axis=0, shape=(3, 4))
        fn = gc.function([g, i], out, backend=backend)
    _raises("take_grad", fn, np.ones((2, 4), np.float32), np.array([1, 3]))


def test_valid_inputs_unchanged_and_flag_reset_after_an_error() -> None:
    fn = _take("llvm")
    good = np.array([2, -1, 0, -3])
    want = TABLE[[2, 2, 0, 0]]  # negative indices count from the end
    np.testing.assert_array_equal(fn(TABLE, good), want)
    _raises("take", fn, TABLE, np.array([5]))
    np.testing.assert_array_equal(fn(TABLE, good), want)  # the error did not stick
    sce = _sce("llvm")
    labels = np.array([2, 0])
    shifted = LOGITS - LOGITS.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(sce(LOGITS, labels), -log_p[[0, 1], [2, 0]], rtol=1e-6)
    _raises("softmax_cross_entropy", sce, LOGITS, np.array([3, 0]))
    np.testing.assert_allclose(sce(LOGITS, labels), -log_p[[0, 1], [2, 0]], rtol=1e-6)


def test_first_failing_node_is_named() -> None:
    with gc.Graph("two"):
        x = gc.placeholder("x", (3, 4))
        i = gc.placeholder("i", (1,), "int64")
        j = gc.placeholder("j", (1,), "int64")
        first = gc.take(x, i, axis=0)
        second = gc.take(x, j, axis=1)  # written on the line after: the message must name this
        fn = gc.function([x, i, j], first + second, backend="llvm")
    line = second.ir.node.loc.line  # type: ignore[union-attr]
    msg = _raises("take", fn, TABLE, np.array([0]), np.array([9]))
    assert f"{HERE}:{line}:" in msg
    msg = _raises("take", fn, TABLE, np.array([9]), np.array([9]))
    assert f"{HERE}:{line - 1}:" in msg


def test_error_flag_found_in_code_from_the_disk_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHC_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRAPHC_CACHE", raising=False)
    cache.clear_memory()
    _take("llvm")(TABLE, np.array([0]))  # compiles and stores
    cache.clear_memory()
    fn = _take("llvm")
    _raises("take", fn, TABLE, np.array([3]))
    assert fn.compile_report()[0].cache == "disk"
