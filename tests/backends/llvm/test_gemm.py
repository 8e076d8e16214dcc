"""The packed GEMM kernel (graphc/backends/llvm/gemm.py) against float64 NumPy products."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llvmlite import ir

from graphc.backends.llvm.native import gemm
from graphc.ir.errors import BackendError
from tests.backends.llvm.harness import compile_kernels

NP = {"f32": np.float32, "f64": np.float64}
BATCH = ((2, 3), ((0, 5 * 7), (3 * 7 * 4, 7 * 4), (3 * 5 * 4, 5 * 4)))  # A broadcast over dim 0


@pytest.fixture(scope="module")
def kernels() -> dict[str, Callable[..., None]]:
    """The host's f32/f64 kernels, a batched one, and AVX2/SSE-blocked ones (run here too)."""
    module = ir.Module()
    fns = {dt: gemm.emit_gemm(module, dt) for dt in NP}
    fns["batched"] = gemm.emit_batched_gemm(module, "f64", *BATCH)
    for bits in (256, 128):
        if bits != gemm.gemm_config("f32").bits:
            fns[f"f32@{bits}"] = gemm.emit_gemm(module, "f32", gemm.gemm_config("f32", bits))
    compiled = compile_kernels(module, [fn.name for fn in fns.values()])
    return {key: compiled[fn.name] for key, fn in fns.items()}


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


def _strides(a: np.ndarray) -> tuple[int, int]:
    return a.strides[0] // a.itemsize, a.strides[1] // a.itemsize


def _operand(rng: np.random.Generator, rows: int, cols: int, dt: str, trans: bool) -> tuple:
    """(base array, the [rows, cols] view the GEMM reads: transposed storage when trans)."""
    base = rng.standard_normal((cols, rows) if trans else (rows, cols)).astype(NP[dt])
    return base, (base.T if trans else base)


def run_gemm(f: Callable, a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float = 1.0,
             beta: float = 0.0, work: np.ndarray | None = None) -> None:
    """Call the kernel on views a [M,K], b [K,N] and a C whose rows may be padded."""
    (m, k), n = a.shape, b.shape[1]
    f(m, n, k, _ptr(a), *_strides(a), _ptr(b), *_strides(b), _ptr(c), c.strides[0] // c.itemsize,
      alpha, beta, None if work is None else _ptr(work))


def expected(a: np.ndarray, b: np.ndarray, c: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    ref = alpha * (a.astype(np.float64) @ b.astype(np.float64))
    return ref if beta == 0 else ref + beta * c.astype(np.float64)


def assert_close(got: np.ndarray, want: np.ndarray, dt: str, k: int) -> None:
    eps = np.finfo(NP[dt]).eps
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=8 * eps * max(k, 1) ** 0.5 * scale)


SHAPES = [  # (M, N, K): tiny, primes, exact tiles, one past them, narrow N, multi-block M/N/K
    (1, 1, 1), (2, 3, 5), (7, 13, 11), (17, 31, 37), (8, 32, 256), (9, 33, 257), (12, 16, 1),
    (13, 10, 300), (128, 10, 256), (100, 600, 530), (600, 40, 20), (33, 65, 16),
]


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize(("ta", "tb"), [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_matches_numpy(kernels: dict, dt: str, ta: bool, tb: bool, shape: tuple) -> None:
    m, n, k = shape
    rng = np.random.default_rng(m * 1000 + n * 10 + k)
    _, a = _operand(rng, m, k, dt, ta)
    _, b = _operand(rng, k, n, dt, tb)
    c = np.full((m, n), np.nan, NP[dt])  # beta == 0 must not read C
    run_gemm(kernels[dt], a, b, c)
    assert_close(c, expected(a, b, c, 1.0, 0.0), dt, k)


@pytest.mark.parametrize("dt", ["f32", "f64"])
@pytest.mark.parametrize(("alpha", "beta"), [(1.0, 1.0), (-0.5, 0.25), (2.0, -1.0), (0.0, 3.0)])
def test_alpha_beta(kernels: dict, dt: str, alpha: float, beta: float) -> None:
    rng = np.random.default_rng(7)
    a = rng.standard_normal((37, 300)).astype(NP[dt])  # K > KC: later K blocks accumulate
    b = rng.standard_normal((300, 45)).astype(NP[dt])
    c = rng.standard_normal((37, 45)).astype(NP[dt])
    want = expected(a, b, c, alpha, beta)
    run_gemm(kernels[dt], a, b, c, alpha, beta)
    assert_close(c, want, dt, 300)


@pytest.mark.parametrize("beta", [0.0, 0.5])
def test_k_zero_scales_c(kernels: dict, beta: float) -> None:
    c = np.full((5, 6), 4.0, np.float32) if beta else np.full((5, 6), np.nan, np.float32)
    a, b = np.zeros((5, 0), np.float32), np.zeros((0, 6), np.float32)
    run_gemm(kernels["f32"], a, b, c, 1.0, beta)
    np.testing.assert_array_equal(c, np.full((5, 6), 4.0 * beta, np.float32))


@pytest.mark.parametrize(("m", "n"), [(0, 5), (5, 0)])
def test_empty_output_writes_nothing(kernels: dict, m: int, n: int) -> None:
    sentinel = np.full((6, 6), 7.0)
    a, b = np.ones((m, 4)), np.ones((4, n))
    kernels["f64"](m, n, 4, _ptr(a), 4, 1, _ptr(b), max(n, 1), 1, _ptr(sentinel), 6, 1.0, 0.0,
                   None)
    np.testing.assert_array_equal(sentinel, 7.0)


def test_strided_views_and_padded_c(kernels: dict) -> None:
    """Non-unit strides on both axes (the general packing path); C columns past N untouched."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((60, 90))[::2, ::3]  # [30, 30], strides (180, 3)
    b = rng.standard_normal((90, 140))[::3, 1::2]  # [30, 70], strides (420, 2)
    big = np.full((30, 80), -3.0)
    run_gemm(kernels["f64"], a, b, big[:, :70])
    assert_close(big[:, :70], a @ b, "f64", 30)
    np.testing.assert_array_equal(big[:, 70:], -3.0)


def test_negative_strides(kernels: dict) -> None:
    """Reversed views (negative strides) on every operand axis."""
    rng = np.random.default_rng(4)
    a = rng.standard_normal((40, 50))[::-1, ::-2]  # [40, 25]
    b = rng.standard_normal((25, 70))[::-1]  # row-major with a negative row stride
    c = np.empty((40, 70))
    run_gemm(kernels["f64"], a, b, c)
    assert_close(c, a @ b, "f64", 25)


def test_caller_workspace_matches_static(kernels: dict) -> None:
    rng = np.random.default_rng(11)
    a, b = rng.standard_normal((70, 300)), rng.standard_normal((300, 90))
    work = np.zeros(gemm.gemm_workspace_bytes("f64") // 8)
    c1, c2 = np.empty((70, 90)), np.empty((70, 90))
    run_gemm(kernels["f64"], a, b, c1, work=work)
    run_gemm(kernels["f64"], a, b, c2)
    np.testing.assert_array_equal(c1, c2)
    assert np.abs(work).sum() > 0  # the packing really went through the caller's buffer


def test_batched_broadcast(kernels: dict) -> None:
    rng = np.random.default_rng(5)
    a = rng.standard_normal((3, 5, 7))  # read with batch strides (0, 35): broadcast over dim 0
    b = rng.standard_normal((2, 3, 7, 4))
    c = np.empty((2, 3, 5, 4))
    kernels["batched"](5, 4, 7, _ptr(a), 7, 1, _ptr(b), 4, 1, _ptr(c), 4, 1.0, 0.0, None)
    np.testing.assert_allclose(c, np.matmul(a[None], b), rtol=1e-12, atol=1e-12)


def test_emit_is_idempotent() -> None:
    module = ir.Module()
    first, second = gemm.emit_gemm(module, "f32"), gemm.emit_gemm(module, "f32")
    assert first is second
    assert str(module).count("define void @\"graphc_gemm_f32\"") == 1


@pytest.mark.parametrize("bits", [256, 128])
@pytest.mark.parametrize("shape", [(7, 13, 11), (13, 10, 300), (33, 65, 16)], ids=str)
def test_narrower_vector_configs(kernels: dict, bits: int, shape: tuple) -> None:
    """The blocking chosen for AVX2 and SSE hosts computes the same products."""
    key = f"f32@{bits}"
    if key not in kernels:
        pytest.skip(f"{bits}-bit vectors are this host's own configuration")
    m, n, k = shape
    rng = np.random.default_rng(bits)
    _, a = _operand(rng, m, k, "f32", True)
    _, b = _operand(rng, k, n, "f32", True)
    c = np.full((m, n), np.nan, np.float32)
    run_gemm(kernels[key], a, b, c)
    assert_close(c, expected(a, b, c, 1.0, 0.0), "f32", k)


def test_rejects_integer_dtype() -> None:
    with pytest.raises(BackendError, match="i32"):
        gemm.emit_gemm(ir.Module(), "i32")


@pytest.mark.parametrize(("bits", "dt", "lanes"), [(512, "f32", 16), (512, "f64", 8),
                                                    (256, "f32", 8), (128, "f64", 2)])
def test_config_fits_registers(bits: int, dt: str, lanes: int) -> None:
    cfg = gemm.gemm_config(dt, bits)
    regs = 32 if bits == 512 else 16
    assert cfg.vw == lanes and cfg.nr == 2 * lanes
    for shape in cfg.tiles:  # accumulators + B vectors + one broadcast
        assert shape.rows * shape.vectors + shape.vectors + 1 <= regs
    assert cfg.nc % cfg.nr == 0


@settings(max_examples=40, deadline=None)
@given(m=st.integers(0, 40), n=st.integers(0, 70), k=st.integers(0, 40), ta=st.booleans(),
       tb=st.booleans(), beta=st.sampled_from([0.0, 1.0, -2.0]))
def test_random_shapes(kernels: dict, m: int, n: int, k: int, ta: bool, tb: bool,
                       beta: float) -> None:
    rng = np.random.default_rng(m + 41 * n + 1681 * k)
    _, a = _operand(rng, m, k, "f64", ta)
    _, b = _operand(rng, k, n, "f64", tb)
    c = rng.standard_normal((m, n))
    want = expected(a, b, c, 1.5, beta)
    run_gemm(kernels["f64"], a, b, c, 1.5, beta)
    assert_close(c, want, "f64", k)

