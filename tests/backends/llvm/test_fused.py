"""Random elementwise graphs (fused by the default pipeline) agree with the NumPy interpreter.

Hypothesis draws expression trees over 1-3 inputs whose shapes broadcast against each other,
optionally ending in a reduction (fused_reduce) or fed by a matmul (fused_matmul epilogue).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.backends import compile_for

UNARY = {
    "exp": lambda x: gc.exp(x * 0.5),
    "tanh": gc.tanh,
    "sigmoid": gc.sigmoid,
    "neg": gc.neg,
    "relu": gc.relu,
    "square": gc.square,
    "sin": gc.sin,
    "erf": gc.erf,
    "softplus": gc.softplus,
    "log1p": lambda x: gc.log1p(gc.abs(x)),
    "sqrt": lambda x: gc.sqrt(gc.abs(x) + 1.0),
}
BINARY = {
    "add": gc.add,
    "sub": gc.sub,
    "mul": gc.mul,
    "maximum": gc.maximum,
    "minimum": gc.minimum,
    "div": lambda a, b: a / (gc.abs(b) + 1.0),
    "where": lambda a, b: gc.where(a > b, a, b * 2.0),
}


@st.composite
def shapes(draw: st.DrawFn) -> list[tuple[int, ...]]:
    """1-3 shapes broadcasting to a common (rows, cols) or (depth, rows, cols) shape."""
    full = draw(st.lists(st.integers(1, 9), min_size=1, max_size=3))
    out = [tuple(full)]
    for _ in range(draw(st.integers(0, 2))):
        keep = draw(st.integers(0, len(full)))
        dims = [d if draw(st.booleans()) else 1 for d in full[len(full) - keep :]]
        out.append(tuple(dims))
    return out


@st.composite
def expressions(draw: st.DrawFn, n_inputs: int) -> list:
    """A postfix program: ("in", i), ("un", name) or ("bin", name) steps."""
    prog: list = [("in", draw(st.integers(0, n_inputs - 1)))]
    depth = 1
    for _ in range(draw(st.integers(1, 7))):
        choice = draw(st.sampled_from(["un", "bin"]))
        if choice == "un":
            prog.append(("un", draw(st.sampled_from(sorted(UNARY)))))
        else:
            prog += [
                ("in", draw(st.integers(0, n_inputs - 1))),
                ("bin", draw(st.sampled_from(sorted(BINARY)))),
            ]
            depth += 1
    return prog


def _evaluate(prog: list, xs: list) -> gc.Tensor:
    stack: list = []
    for kind, arg in prog:
        if kind == "in":
            stack.append(xs[arg])
        elif kind == "un":
            stack.append(UNARY[arg](stack.pop()))
        else:
            b, a = stack.pop(), stack.pop()
            stack.append(BINARY[arg](a, b))
    return stack[-1]


def _compare(build, arrays: list[np.ndarray]) -> None:  # noqa: ANN001
    results = []
    for backend, passes in (("llvm", None), ("numpy", [])):
        with gc.Graph("random"):
            xs = [gc.placeholder(f"x{i}", a.shape, a.dtype) for i, a in enumerate(arrays)]
            results.append(gc.function(xs, build(xs), backend=backend, passes=passes)(*arrays))
    got, want = results
    tol = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol)


SETTINGS = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(shapes(), st.data(), st.sampled_from([np.float32, np.float64]))
def test_random_fused_elementwise(shape_list: list, data: st.DataObject, dtype: type) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    arrays = [rng.uniform(-2, 2, s).astype(dtype) for s in shape_list]
    prog = data.draw(expressions(len(arrays)))
    reduce = data.draw(st.sampled_from([None, "sum", "max", "mean"]))

    def build(xs: list) -> gc.Tensor:
        y = _evaluate(prog, xs)
        y = y + xs[0] * 0.0  # the result has the full broadcast shape
        return y if reduce is None else getattr(gc, reduce)(y, axis=-1)

    _compare(build, arrays)


@SETTINGS
@given(st.integers(1, 20), st.integers(1, 20), st.integers(1, 20), st.data())
def test_random_matmul_epilogue(m: int, k: int, n: int, data: st.DataObject) -> None:
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16)))
    arrays = [rng.uniform(-1, 1, s).astype(np.float32) for s in ((m, k), (k, n), (n,))]
    prog = data.draw(expressions(2))

    def build(xs: list) -> gc.Tensor:
        product = gc.matmul(xs[0], xs[1])
        return _evaluate(prog, [product, xs[2]])

    _compare(build, arrays)


# --- epilogues whose results have other dtypes than the product --------------------------------
# The GEMM (conv) writes the product into a result of its dtype, or into scratch when there is
# none; it used to take result 0 whatever its dtype (a bool mask first: a compile error).
EPILOGUE_YIELDS = {
    "mask first": ("bool, f32", "%m, %r"),
    "relu first": ("f32, bool", "%r, %m"),
    "mask only": ("bool", "%m"),
}
EPILOGUE_BASES = {
    "fused_matmul": ("%x: f32[4,6], %w: f32[6,5], %b: f32[5]", "[4,5]", ((4, 6), (6, 5), (5,)), ""),
    "fused_conv2d": (
        "%x: f32[2,3,6,6], %w: f32[4,3,3,3], %b: f32[4,1,1]",
        "[2,4,4,4]",
        ((2, 3, 6, 6), (4, 3, 3, 3), (4, 1, 1)),
        ' {stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1}',
    ),
}


def _epilogue_graph(op: str, dtypes: str, yields: str) -> gc.Graph:
    params, shape, _, attrs = EPILOGUE_BASES[op]
    results = ", ".join(f"{d.strip()}{shape}" for d in dtypes.split(","))
    names = ", ".join(f"%o{i}" for i in range(len(dtypes.split(","))))
    return gc.parse(f"""
graph @g({params}) -> ({results}) {{
  {names} = {op} %x, %w, %b{attrs} : {results} {{
    ^(%p: f32, %q: f32):
      %t = add %p, %q : f32
      %z = constant {{value = dense<f32: 0.0>}} : f32
      %m = greater %t, %z : bool
      %r = relu %t : f32
      yield {yields}
  }}
  return {names}
}}
""")


@pytest.mark.parametrize("op", sorted(EPILOGUE_BASES))
@pytest.mark.parametrize("label", sorted(EPILOGUE_YIELDS))
def test_epilogue_results_of_other_dtypes(op: str, label: str) -> None:
    graph = _epilogue_graph(op, *EPILOGUE_YIELDS[label])
    rng = np.random.default_rng(3)
    arrays = [rng.uniform(-1, 1, s).astype(np.float32) for s in EPILOGUE_BASES[op][2]]
    want = compile_for("numpy", graph).run(arrays, {})
    got = compile_for("llvm", graph).run(arrays, {})
    assert [g.dtype for g in got] == [w.dtype for w in want]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_integer_matmul_epilogue(dtype: type) -> None:
    # the fuse pass gives integer matmuls epilogues too: the product must not go to the float GEMM
    x = np.arange(-6, 6, dtype=dtype).reshape(3, 4)
    w = np.arange(20, dtype=dtype).reshape(4, 5) % 7 - 3
    b = np.arange(5, dtype=dtype)
    with gc.Graph("int_epilogue"):
        xs = [gc.placeholder(n, a.shape, dtype) for n, a in (("x", x), ("w", w), ("b", b))]
        fn = gc.function(xs, gc.relu(gc.matmul(xs[0], xs[1]) + xs[2]), backend="llvm")
    np.testing.assert_array_equal(fn(x, w, b), np.maximum(x @ w + b, 0))
