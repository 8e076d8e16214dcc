"""The vectorized math functions: special values like NumPy, and a few ulp over the whole range.

Truth is computed in extended precision (np.longdouble, 64-bit mantissa on x86) or by math.erf,
and each function's error is measured in ulps of the result's dtype. Inputs: random bit
patterns over every finite float, plus dense samples of the interesting ranges.
"""

from __future__ import annotations

import functools
import math
import re

import numpy as np
import pytest

import graphc as gc

LD = np.longdouble
UNARY = [
    "exp",
    "log",
    "log1p",
    "tanh",
    "sigmoid",
    "softplus",
    "erf",
    "sin",
    "cos",
    "sqrt",
    "rsqrt",
    "gelu",
    "elu",
]
FLOATS = [np.float32, np.float64]

SPECIAL = [
    0.0,
    -0.0,
    np.inf,
    -np.inf,
    np.nan,
    1.0,
    -1.0,
    1e-30,
    -1e-30,
    1e30,
    -1e30,
    88.72,
    89.5,
    -103.5,
    -200.0,
    709.7,
    -745.5,
    1e5,
    3e5,
    -7e8,
    1e-310,
    5e-324,
    1.4e-45,
]


def _erf(x: np.ndarray) -> np.ndarray:
    return np.array([math.erf(float(v)) for v in x.astype(np.float64)], dtype=LD)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x / np.sqrt(LD(2))))


TRUTH = {
    "exp": np.exp,
    "log": np.log,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": lambda x: np.logaddexp(LD(0), x),
    "erf": _erf,
    "sin": np.sin,
    "cos": np.cos,
    "sqrt": np.sqrt,
    "rsqrt": lambda x: 1 / np.sqrt(x),
    "gelu": _gelu,
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
}
# max ulp error allowed against the truth (NumPy's own functions are within 1-3 ulp too)
BOUND = {"gelu": 8.0, "rsqrt": 1.5, "sqrt": 0.5}


def _inputs(dtype: type) -> np.ndarray:
    rng = np.random.default_rng(1)
    bits = np.uint32 if dtype == np.float32 else np.uint64
    raw = rng.integers(0, np.iinfo(bits).max, 20000, dtype=bits, endpoint=True).view(dtype)
    parts = [
        raw[np.isfinite(raw)],
        rng.uniform(-30, 30, 20000),
        rng.uniform(-1, 1, 5000) * 1e-3,
        rng.uniform(-1e4, 1e4, 5000),
        np.array(SPECIAL),
    ]
    with np.errstate(over="ignore"):
        return np.concatenate([p.astype(dtype) for p in parts])


@functools.cache
def _results(dtype: type) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Every function on every input, compiled as one llvm graph per dtype."""
    x = _inputs(dtype)
    with gc.Graph("vmath"):
        p = gc.placeholder("x", x.shape, dtype)
        outs = [getattr(gc, name)(p) for name in UNARY]
        fn = gc.function([p], outs, backend="llvm")
    return x, dict(zip(UNARY, fn(x), strict=True))


def ulp_error(got: np.ndarray, truth: np.ndarray, dtype: type) -> np.ndarray:
    """|got - truth| in ulps of truth rounded to dtype; 0 where both are the same nan/inf."""
    with np.errstate(over="ignore"):
        rounded = truth.astype(dtype)
    same = (got == rounded) | (np.isnan(got) & np.isnan(rounded))
    spacing = np.spacing(np.abs(rounded)).astype(LD)
    spacing = np.where(spacing == 0, LD(np.finfo(dtype).smallest_subnormal), spacing)
    with np.errstate(invalid="ignore"):
        err = np.abs(got.astype(LD) - truth) / spacing
    return np.where(same, 0, np.nan_to_num(err, nan=np.inf))


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", UNARY)
def test_ulp_error_against_truth(name: str, dtype: type) -> None:
    x, results = _results(dtype)
    with np.errstate(all="ignore"):
        truth = TRUTH[name](x.astype(LD))
    err = ulp_error(results[name], truth, dtype)
    if name == "gelu":  # like the reference, 1 + erf(x) cancels for x << 0: judge x > -1 only
        err = np.where(x > -1, err, 0)
    worst = int(np.argmax(err))
    bound = BOUND.get(name, 3.0)
    assert err[worst] <= bound, (
        f"{name}({x[worst]!r}) = {results[name][worst]!r}, truth {truth[worst]!r}: "
        f"{err[worst]:.3g} ulp > {bound}"
    )


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.__name__)
@pytest.mark.parametrize("name", UNARY)
def test_special_values_like_numpy_reference(name: str, dtype: type) -> None:
    """inf, nan, signed zeros, denormals and huge values give what the interpreter gives."""
    x, results = _results(dtype)
    special = np.array(SPECIAL).astype(dtype)
    got = results[name][-len(special) :]
    with gc.Graph("reference"):
        p = gc.placeholder("x", special.shape, dtype)
        want = gc.function([p], getattr(gc, name)(p))(special)
    for xv, g, w in zip(special, got, want, strict=True):
        if np.isnan(w) or np.isinf(w) or w == 0:
            assert (np.isnan(g) and np.isnan(w)) or g == w, f"{name}({xv!r}): {g!r} vs {w!r}"
            if w == 0 and g == 0 and name in ("sin", "tanh", "erf", "log1p", "exp"):
                assert np.signbit(g) == np.signbit(w), f"{name}({xv!r}) sign of zero"
        else:
            np.testing.assert_allclose(g, w, rtol=8 * np.finfo(dtype).eps, err_msg=f"{name}")


def test_math_loops_are_vectorized() -> None:
    """exp/log/tanh/sigmoid loops become vector code (no scalar libm calls)."""
    with gc.Graph("vec"):
        x = gc.placeholder("x", (4096,))
        fn = gc.function([x], gc.sigmoid(x) + gc.tanh(x) + gc.log(gc.exp(x)), backend="llvm")
    fn(np.zeros(4096, np.float32))
    ir = fn.llvm_ir(optimized=True)
    assert "<16 x float>" in ir or "<8 x float>" in ir
    assert "@expf" not in ir and "@tanhf" not in ir and "@logf" not in ir


def _sin_cos_graph(n: int) -> gc.Function:
    with gc.Graph("trig"):
        x = gc.placeholder("x", (n,))
        return gc.function([x], [gc.sin(x) * 2.0 + 1.0, gc.cos(x)], backend="llvm", threads=1)


def test_sin_cos_loops_are_vectorized_and_rerun_exactly_for_huge_arguments() -> None:
    """The loop runs branch-free (vector code); an argument beyond TRIG_LIMIT makes it rerun
    with libm's exact reduction, so huge arguments are still right."""
    fn = _sin_cos_graph(4096)
    x = np.random.default_rng(5).uniform(-20, 20, 4096).astype(np.float32)
    fn(x)
    ir = fn.llvm_ir(optimized=True)
    assert re.search(r"<(4|8|16) x double>", ir), "sin/cos loop was not vectorized"
    for huge in ([], [7], [0, 4095], list(range(0, 4096, 97))):
        xs = x.copy()
        xs[huge] = np.float32(3.0e7) * np.sign(xs[huge] + 0.5)
        got_sin, got_cos = fn(xs)
        want_sin = np.sin(xs.astype(np.float64)) * 2 + 1
        want_cos = np.cos(xs.astype(np.float64))
        np.testing.assert_allclose(got_sin, want_sin, rtol=0, atol=4e-7)
        np.testing.assert_allclose(got_cos, want_cos, rtol=0, atol=4e-7)


def test_an_in_place_update_with_huge_arguments_is_exact() -> None:
    """An update written into its parameter cannot be rerun: that kernel keeps the exact form."""
    w0 = np.array([0.5, 3.0e7, -1.0e9, 2.0, 1e-3] * 20, np.float32)
    with gc.Graph("trig_update"):
        w = gc.parameter("w", w0.copy())
        x = gc.placeholder("x", (1,))
        fn = gc.function([x], gc.sum(w * x), updates=[(w, gc.sin(w) * 0.5)], backend="llvm")
    fn(np.ones(1, np.float32))
    np.testing.assert_allclose(
        w.value, np.sin(w0.astype(np.float64)) * 0.5, rtol=0, atol=2e-7
    )
