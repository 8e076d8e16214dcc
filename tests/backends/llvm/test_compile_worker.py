"""Runtime kernels compiled by a helper process on a cold start: same bytes as compiling in
process, and any failure of the helper falls back to compiling here."""

from __future__ import annotations

import struct
import sys

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm.native import runtime, threads
from graphc.backends.llvm.toolchain import compile_worker, jit
from graphc.support import cache


def _pool_ir() -> str:
    return runtime.BUILDERS["pool"]()


def test_helper_process_compiles_the_same_bytes_as_this_process() -> None:
    text = _pool_ir()
    ahead = runtime.Ahead(["pool", "again"], [text, text])
    here, _ = jit.compile_ir(text, jit.Timings())
    assert ahead.result("pool") == here
    assert ahead.result("again") == here


def test_helper_that_cannot_start_python_gives_no_result(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", "/bin/false")  # exits 1 at once, reads nothing
    ahead = runtime.Ahead(["pool"], [_pool_ir()])
    assert ahead.result("pool") is None


def test_helper_given_invalid_ir_gives_no_result() -> None:
    ahead = runtime.Ahead(["bad"], ["define void @f() { this is not IR }"])
    assert ahead.result("bad") is None


@pytest.mark.parametrize("cut", [1, 7, 8, 20])
def test_a_short_reply_is_rejected(cut: int) -> None:
    reply = struct.pack("<Q", 16) + b"x" * 16
    assert compile_worker.objects(reply, 1) == [b"x" * 16]
    assert compile_worker.objects(reply[:-cut], 1) is None
    assert compile_worker.objects(reply + b"extra", 1) is None  # trailing bytes: not ours


def test_request_header_is_one_json_line_then_the_texts() -> None:
    data = compile_worker.request(("t", "c", "+f"), 3, ["ab", "cde"])
    head, body = data.split(b"\n", 1)
    assert body == b"abcde"
    assert b'"sizes": [2, 3]' in head


def _mlp_step() -> gc.Function:
    rng = np.random.default_rng(1)
    with gc.Graph("cold"):
        x = gc.placeholder("x", ("B", 12), "float64")
        w = gc.parameter("w", rng.normal(size=(12, 6)).astype(np.float64))
        loss = gc.mean(gc.relu(x @ w))
        (g,) = gc.grad(loss, [w])
        return gc.function([x], loss, updates=[(w, w - 0.1 * g)], backend="llvm", threads=2)


def _reset_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget loaded runtime pieces (restored after the test) so a cold start can happen."""
    monkeypatch.setattr(runtime, "_loaded", dict(runtime._loaded))
    runtime._loaded.pop("gemm_f64", None)
    monkeypatch.setattr(runtime, "_ahead", {})


def test_a_cold_start_uses_the_helper(cache_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    _reset_runtime(monkeypatch)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    started: list[list[str]] = []
    real = runtime.Ahead

    helpers: list[runtime.Ahead] = []

    def spy(names: list[str], texts: list[str], keys: list[str]) -> runtime.Ahead:
        started.append(list(names))
        helpers.append(real(names, texts, keys))
        return helpers[-1]

    monkeypatch.setattr(runtime, "Ahead", spy)
    fn = _mlp_step()
    x = np.ones((4, 12))
    first = float(fn(x))
    assert started and "gemm_f64" in started[0]
    assert "gemm_f64" not in runtime._ahead  # collected from the helper
    for h in helpers:
        h.thread.join()
    cache.clear_memory()
    for name in started[0]:  # every piece the helper compiled is on disk, needed or not
        assert cache.lookup(runtime._key(name))[0] is not None, name
    assert np.isfinite(first) and float(fn(x)) <= first


def test_a_failed_helper_falls_back_to_compiling_here(
    cache_dir, monkeypatch: pytest.MonkeyPatch
) -> None:
    _reset_runtime(monkeypatch)
    monkeypatch.setattr(threads, "available_cpus", lambda: 2)
    monkeypatch.setattr(sys, "executable", "/bin/false")
    fn = _mlp_step()
    assert np.isfinite(float(fn(np.ones((4, 12)))))
    assert "gemm_f64" in runtime._loaded


def test_one_cpu_compiles_everything_here(cache_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    _reset_runtime(monkeypatch)
    monkeypatch.setattr(threads, "available_cpus", lambda: 1)

    def forbidden(names: list[str], texts: list[str], keys: list[str]) -> None:
        raise AssertionError("no helper process with one CPU")

    monkeypatch.setattr(runtime, "Ahead", forbidden)
    fn = _mlp_step()
    assert np.isfinite(float(fn(np.ones((4, 12)))))
