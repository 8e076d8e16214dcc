"""The in-house ELF loader: same results as MCJIT, refuses what it does not handle, and lets a
warm process run cached code without importing llvmlite.binding."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.backends.llvm.toolchain import elfload, jit
from graphc.ir.errors import BackendError

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.skipif(not elfload.supported_host(), reason="ELF loader: x86-64 Linux")

# Data and code referring to each other by absolute address, a constant pool, a call through a
# function pointer kept in data, and a libm call resolved from the process.
MODULE = textwrap.dedent("""
    @table = internal global [4 x float] [float 1.0, float 2.0, float 3.0, float 4.0]
    @counter = global i64 0
    @fnptr = global float (float)* @twice
    declare float @sqrtf(float)
    define internal float @twice(float %x) {
      %y = fmul float %x, 2.0
      ret float %y
    }
    define float @probe(i64 %i, float %x) {
      %p = getelementptr [4 x float], [4 x float]* @table, i64 0, i64 %i
      %t = load float, float* %p
      %f = load float (float)*, float (float)** @fnptr
      %d = call float %f(float %x)
      %s = call float @sqrtf(float %d)
      %r = fadd float %s, %t
      %c = load i64, i64* @counter
      %c1 = add i64 %c, 1
      store i64 %c1, i64* @counter
      ret float %r
    }
""")


def _object(text: str = MODULE) -> bytes:
    mod = jit.parse_and_verify(f'target triple = "{jit.host()[0]}"\n' + text)
    jit.optimize(mod)
    return jit.target_machine().emit_object(mod)


def _call_probe(loaded: jit.Loaded) -> tuple[list[float], int]:
    import ctypes

    probe = ctypes.CFUNCTYPE(ctypes.c_float, ctypes.c_int64, ctypes.c_float)(
        loaded.address("probe")
    )
    results = [probe(i, 8.0 * (i + 1)) for i in range(4)]
    return results, ctypes.c_int64.from_address(loaded.address("counter", data=True)).value


def test_elf_and_mcjit_agree_on_data_code_and_external_references() -> None:
    obj = _object()
    elf, mcjit = jit.Loaded(obj, "elf"), jit.Loaded(obj, "mcjit")
    assert (elf.how, mcjit.how) == ("elf", "mcjit")
    expected = [float(np.sqrt(np.float32(16.0 * (i + 1)))) + i + 1 for i in range(4)]
    for loaded in (elf, mcjit):
        results, count = _call_probe(loaded)
        assert results == pytest.approx(expected, rel=1e-6)
        assert count == 4  # its own writable copy of @counter, written 4 times


def test_code_pages_are_not_writable_and_data_pages_are() -> None:
    image = elfload.load(_object(), jit._resolve)
    code, data = image.address("probe"), image.address("counter")
    maps = Path("/proc/self/maps").read_text().splitlines()

    def perms(address: int) -> str:
        for line in maps:
            lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
            if lo <= address < hi:
                return line.split()[1]
        raise AssertionError(f"{address:#x} is not mapped")

    assert perms(code).startswith("r-x")
    assert perms(data).startswith("rw-")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda obj: b"not an object at all", "not a 64-bit little-endian ELF"),
        (lambda obj: obj[:18] + struct.pack("<H", 183) + obj[20:], "machine 183"),  # AArch64
        (lambda obj: obj[:16] + struct.pack("<H", 3) + obj[18:], "ELF type 3"),  # shared object
    ],
)
def test_objects_it_cannot_handle_are_refused_before_anything_runs(mutate, message) -> None:
    with pytest.raises(elfload.UnsupportedObjectError, match=message):
        elfload.load(mutate(_object()), jit._resolve)


def test_an_unknown_external_symbol_is_refused() -> None:
    text = "declare void @graphc_no_such_symbol()\n"
    text += "define void @f() {\n  call void @graphc_no_such_symbol()\n  ret void\n}\n"
    with pytest.raises(elfload.UnsupportedObjectError, match="graphc_no_such_symbol"):
        elfload.load(_object(text), jit._resolve)


def test_auto_falls_back_to_mcjit_and_elf_only_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    obj = _object()

    def refuse(obj: bytes, resolve: object) -> elfload.Image:
        raise elfload.UnsupportedObjectError("pretend: a TLS relocation")

    monkeypatch.setattr(elfload, "load", refuse)
    loaded = jit.Loaded(obj, "auto")
    assert loaded.how == "mcjit"
    assert _call_probe(loaded)[1] == 4
    with pytest.raises(BackendError, match="ELF loader cannot load: pretend: a TLS relocation"):
        jit.Loaded(obj, "elf")


def test_loader_environment_variable_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHC_LOADER", "dlopen")
    with pytest.raises(BackendError, match=r"GRAPHC_LOADER='dlopen': expected one of auto"):
        jit.loader()
    monkeypatch.setenv("GRAPHC_LOADER", " MCJIT ")
    assert jit.loader() == "mcjit"


def _mlp_losses(loader: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], str]:
    monkeypatch.setenv("GRAPHC_LOADER", loader)
    rng = np.random.default_rng(0)
    with gc.Graph("mlp"):
        x = gc.placeholder("x", ("B", 20))
        y = gc.placeholder("y", ("B",), "int64")
        w1 = gc.parameter("w1", rng.normal(0, 0.3, (20, 16)).astype(np.float32))
        w2 = gc.parameter("w2", rng.normal(0, 0.3, (16, 5)).astype(np.float32))
        loss = gc.mean(gc.softmax_cross_entropy(gc.relu(x @ w1) @ w2, y))
        g1, g2 = gc.grad(loss, [w1, w2])
        fn = gc.function(
            [x, y], loss, updates=[(w1, w1 - 0.1 * g1), (w2, w2 - 0.1 * g2)], backend="llvm"
        )
    xs = rng.normal(size=(64, 20)).astype(np.float32)
    ys = rng.integers(0, 5, 64)
    losses = [float(fn(xs, ys)) for _ in range(5)]
    report = fn.compile_report()[0]
    assert f"{report.loader} loader" in str(report)
    return losses, report.loader


def test_a_training_step_gives_identical_losses_with_either_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    elf, how_elf = _mlp_losses("elf", monkeypatch)
    mcjit, how_mcjit = _mlp_losses("mcjit", monkeypatch)
    assert (how_elf, how_mcjit) == ("elf", "mcjit")
    assert elf == mcjit  # same machine code, bit for bit
    assert elf[-1] < elf[0]


WARM_PROGRAM = textwrap.dedent("""
    import sys
    import numpy as np, graphc as gc
    x = gc.placeholder("x", ("B", 8))
    w = gc.parameter("w", np.full((8, 4), 0.5, np.float32))
    fn = gc.function([x], gc.relu(x @ w) + gc.exp(x[:, :4]), backend="llvm")
    out = fn(np.ones((3, 8), np.float32))
    assert np.allclose(out, 4.0 + np.e), out
    print(fn.compile_report()[0].cache, "llvmlite.binding" in sys.modules)
""")


def test_a_warm_process_never_imports_llvmlite_binding(cache_dir: Path) -> None:
    env = {**os.environ, "GRAPHC_CACHE_DIR": str(cache_dir), "PYTHONPATH": str(ROOT)}
    env.pop("GRAPHC_LOADER", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", WARM_PROGRAM], env=env, capture_output=True, text=True,
            timeout=120,
        )
        for _ in range(2)
    ]
    for done in runs:
        assert done.returncode == 0, done.stderr
    assert [r.stdout.split() for r in runs] == [["miss", "True"], ["disk", "False"]]


def test_host_record_is_reused_and_matches_llvm(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jit._host_record.cache_clear()
    jit.host.cache_clear()
    try:
        asked = jit.host()  # no record yet: asks LLVM and saves one
        llvm = jit.binding()
        assert asked == (
            llvm.get_process_triple(),
            llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(),
        )
        assert list(cache_dir.glob(f"*{jit.HOST_SUFFIX}"))
        jit._host_record.cache_clear()
        jit.host.cache_clear()
        from graphc.support import cache

        cache.clear_memory()

        def no_llvm() -> None:
            raise AssertionError("the saved host record should have answered")

        monkeypatch.setattr(jit, "binding", no_llvm)
        assert jit.host() == asked
    finally:
        jit._host_record.cache_clear()
        jit.host.cache_clear()


def test_a_corrupt_host_record_is_ignored(cache_dir: Path) -> None:
    jit._host_record.cache_clear()
    jit.host.cache_clear()
    try:
        expected = jit.host()
        for path in cache_dir.glob(f"*{jit.HOST_SUFFIX}"):
            path.write_bytes(path.read_bytes()[:-3] + b"xyz")
        from graphc.support import cache

        cache.clear_memory()
        jit._host_record.cache_clear()
        jit.host.cache_clear()
        assert jit.host() == expected
    finally:
        jit._host_record.cache_clear()
        jit.host.cache_clear()
