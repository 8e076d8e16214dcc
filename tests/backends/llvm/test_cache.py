"""The compile cache: hits in memory and across processes, corrupt entries recovered, keys."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.support import cache

ROOT = Path(__file__).resolve().parents[3]

PROGRAM = textwrap.dedent("""
    import numpy as np, graphc as gc
    x = gc.placeholder("x", ("B", 3))
    fn = gc.function([x], gc.tanh(x) * 2.0 + 1.0, backend="llvm")
    out = fn(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert np.allclose(out, np.tanh(np.arange(6).reshape(2, 3)) * 2 + 1, atol=1e-6)
    print(fn.compile_report()[0].cache)
""")


def _run_child(cache_dir: Path, **env: str) -> str:
    full = {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT), **env}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM],
        env=full,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _function(scale: float = 2.0) -> gc.Function:
    with gc.Graph("cached"):
        x = gc.placeholder("x", (4,))
        return gc.function([x], gc.exp(x) * scale, backend="llvm")


def test_second_process_hits_the_disk_cache(cache_dir: Path) -> None:
    assert _run_child(cache_dir) == "miss"
    assert _run_child(cache_dir) == "disk"


def test_cache_disabled_by_environment(cache_dir: Path) -> None:
    assert _run_child(cache_dir, GRAPHC_CACHE="0") == "miss"
    assert _run_child(cache_dir, GRAPHC_CACHE="0") == "miss"
    assert not cache_dir.exists() or not list(cache_dir.glob("*.gco"))


def test_directory_is_private(cache_dir: Path) -> None:
    _function()(np.ones(4, np.float32))
    assert stat.S_IMODE(cache_dir.stat().st_mode) == 0o700
    assert list(cache_dir.glob("*.gco"))


def test_same_graph_hits_memory_then_disk(cache_dir: Path) -> None:
    first, second = _function(), _function()
    x = np.ones(4, np.float32)
    first(x)
    second(x)
    assert first.compile_report()[0].cache == "miss"
    assert second.compile_report()[0].cache == "memory"
    cache.clear_memory()
    third = _function()
    np.testing.assert_allclose(third(x), np.exp(x) * 2, rtol=1e-6)
    assert third.compile_report()[0].cache == "disk"


def test_key_changes_with_the_ir(cache_dir: Path) -> None:
    x = np.ones(4, np.float32)
    a, b = _function(2.0), _function(3.0)
    np.testing.assert_allclose(a(x), np.e * 2, rtol=1e-6)
    np.testing.assert_allclose(b(x), np.e * 3, rtol=1e-6)
    assert b.compile_report()[0].cache == "miss"
    assert len(list(cache_dir.glob("*.gco"))) >= 2


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_entry_is_ignored_and_recompiled(cache_dir: Path, damage: str) -> None:
    x = np.ones(4, np.float32)
    _function()(x)
    (entry,) = [p for p in cache_dir.glob("*.gco")]
    data = bytearray(entry.read_bytes())
    broken = {
        "truncate": bytes(data[: len(data) // 2]),
        "flip": bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:]),
        "garbage": os.urandom(len(data)),
        "empty": b"",
    }[damage]
    entry.write_bytes(broken)
    cache.clear_memory()
    again = _function()
    np.testing.assert_allclose(again(x), np.exp(x) * 2, rtol=1e-6)
    assert again.compile_report()[0].cache == "miss"
    assert cache.decode(entry.stem, entry.read_bytes()) is not None  # rewritten intact


def test_foreign_entry_is_rejected() -> None:
    entry = cache.Entry({"a": 1}, b"object code")
    data = cache.encode("key-one", entry)
    assert cache.decode("key-one", data) == entry
    assert cache.decode("key-two", data) is None  # e.g. a file renamed to another key
