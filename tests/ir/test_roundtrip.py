"""Text round trip: for every catalogue case and for random graphs, print -> parse -> print is
the identity, the parsed graph verifies, and it computes the same numbers as the original."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.backends.numpy.interpreter import run_graph
from graphc.frontend.api import apply
from graphc.ir.opdef import REGISTRY
from tests.ir.samples import FUSED
from tests.op_cases import Case, all_cases

CASES = all_cases()


def build_case(case: Case, arrays: list[np.ndarray]) -> gc.Graph:
    """The case's op on its arrays: input 0 a parameter (holding its array), the rest inputs."""
    g = gc.Graph(f"case_{case.op}")
    with g:
        handles = [
            gc.parameter("p0", a) if i == 0 else gc.placeholder(f"x{i}", a.shape, a.dtype)
            for i, a in enumerate(arrays)
        ]
        out = apply(REGISTRY[case.op], *handles, **case.attrs)
    g.outputs = [t.ir for t in (out if isinstance(out, tuple) else (out,))]
    return g


def assert_same_results(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)  # same kernels, same order: bitwise equal


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case_round_trips(case: Case) -> None:
    arrays = case.make(np.random.default_rng(0))
    g = build_case(case, arrays)
    text = str(g)
    parsed = gc.parse(text)
    assert str(parsed) == text
    gc.verify(g)
    gc.verify(parsed)
    if arrays:
        assert parsed.params[0].param.value is None  # text carries no parameter values
        parsed.param_by_name("p0").param.value = arrays[0]
    with np.errstate(all="ignore"):
        want = run_graph(g, arrays[1:])
        got = run_graph(parsed, arrays[1:])
    assert_same_results(got, want)


def test_quickstart_graph_round_trips() -> None:
    g = gc.Graph("mlp")
    with g:
        x = gc.placeholder("x", ("B", 64), "float32")
        y = gc.placeholder("y", ("B",), "int64")
        w = gc.parameter("w", np.zeros((64, 10), np.float32))
        b = gc.parameter("b", np.zeros(10, np.float32))
        c = gc.constant(np.float32(0.5))
        logits = x @ w + b * c
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
    g.outputs = [loss.ir, logits.ir]
    g.updates = [(w.ir, (w - w * c).ir)]
    text = str(g)
    assert str(gc.parse(text)) == text
    assert "update %w = " in text and "params(%w: f32[64,10], %b: f32[10])" in text


def test_literals_round_trip_exactly() -> None:
    values = [
        np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 3.4028235e38], np.float32),
        np.array([0.1, 1 / 3, -2.5e-300, 1e300], np.float64),
        np.array([[-(2**31), 2**31 - 1]], np.int32),
        np.array([-(2**63), 2**63 - 1, 0], np.int64),
        np.array([True, False, True]),
        np.full((2, 3), 7.5, np.float32),  # a splat
        np.zeros((0, 3), np.float32),
        np.float64(2.0),
    ]
    g = gc.Graph("lits")
    with g:
        outs = [gc.constant(v) for v in values]
    g.outputs = [t.ir for t in outs]
    parsed = gc.parse(str(g))
    assert str(parsed) == str(g)
    for v, node in zip(values, parsed.nodes, strict=True):
        got = node.attrs["value"]
        assert got.dtype == np.asarray(v).dtype and got.shape == np.shape(v)
        assert got.tobytes() == np.asarray(v).tobytes()  # bitwise: keeps -0.0 and nan


def test_strings_and_names_round_trip() -> None:
    g = gc.Graph("odd name-1")
    with g:
        x = gc.placeholder("x.in", ("N",))
        y = gc.exp(x)
    y.ir.node.loc = gc.ir.loc.Loc('dir "q"\\f\n.py', 7, "vjp(exp)")
    g.outputs = [y.ir]
    text = str(g)
    assert '@"odd name-1"' in text and r'loc("dir \"q\"\\f\n.py":7, "vjp(exp)")' in text
    parsed = gc.parse(text)
    assert str(parsed) == text
    assert parsed.nodes[0].loc == y.ir.node.loc


# -- random graphs of elementwise and reduce ops ---------------------------------------------
UNARY = ["neg", "abs", "exp", "tanh", "sigmoid", "relu", "square", "sin", "floor", "softplus"]
BINARY = ["add", "sub", "mul", "maximum", "minimum"]
REDUCE = ["sum", "mean", "max", "min", "prod", "logsumexp"]
SHAPES = [("B", 3), (1, 3), (3,), (), ("B", 1)]
FLOATS = st.floats(width=32, allow_nan=True, allow_infinity=True)


@st.composite
def random_graphs(draw: st.DrawFn) -> gc.Graph:
    """A graph of 1-8 elementwise/reduce/constant steps over f32 placeholders."""
    g = gc.Graph("random")
    with g:
        pool = [gc.placeholder(f"x{i}", s) for i, s in enumerate(draw(st.lists(
            st.sampled_from(SHAPES), min_size=1, max_size=3)))]
        for _ in range(draw(st.integers(1, 8))):
            pool.append(draw(_step(pool)))
    g.outputs = [t.ir for t in pool[-draw(st.integers(1, min(3, len(pool)))):]]
    return g


@st.composite
def _step(draw: st.DrawFn, pool: list) -> gc.Tensor:
    kind = draw(st.sampled_from(["unary", "binary", "reduce", "const", "leaky"]))
    x = draw(st.sampled_from(pool))
    if kind == "unary":
        return getattr(gc, draw(st.sampled_from(UNARY)))(x)
    if kind == "leaky":
        return gc.leaky_relu(x, alpha=draw(st.floats(-2, 2, allow_nan=False)))
    if kind == "const":
        c = gc.constant(np.array(draw(st.lists(FLOATS, min_size=3, max_size=3)), np.float32))
        try:
            return x * c
        except gc.ShapeError:  # [B] against the constant's [3]: use the constant itself
            return c
    if kind == "reduce":
        axes = draw(st.none() | st.lists(st.integers(-x.ndim, x.ndim - 1), max_size=x.ndim,
                                         unique_by=lambda a: a % x.ndim) if x.ndim else st.none())
        op = getattr(gc, draw(st.sampled_from(REDUCE)))
        return op(x, axis=None if axes is None else tuple(axes), keepdims=draw(st.booleans()))
    y = draw(st.sampled_from(pool))
    try:
        return getattr(gc, draw(st.sampled_from(BINARY)))(x, y)
    except gc.ShapeError:  # e.g. B against 3: not broadcastable, use the operand itself
        return gc.neg(x)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs(), st.integers(1, 3))
def test_random_graphs_round_trip(g: gc.Graph, batch: int) -> None:
    text = str(g)
    parsed = gc.parse(text)
    assert str(parsed) == text
    gc.verify(parsed)
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(a.type.concrete({"B": batch})).astype(np.float32)
              for a in g.inputs]
    with np.errstate(all="ignore"):
        assert_same_results(run_graph(parsed, arrays), run_graph(g, arrays))


def test_comments_and_free_layout_parse_to_canonical_text() -> None:
    text = """// a comment line
graph @g(%x: f32[B*2]) -> (f32[2*B]) {   // trailing comment
  %r = exp %x : f32[2*B]
  %s = add %r,%x:f32[2*B] loc("m.py":3)
  return %s }"""
    assert str(gc.parse(text)) == (
        "graph @g(%x: f32[2*B]) -> (f32[2*B]) {\n"
        "  %0 = exp %x : f32[2*B]\n"
        '  %1 = add %0, %x : f32[2*B]  loc("m.py":3)\n'
        "  return %1\n}\n"
    )


def test_save_and_load_ir(tmp_path: Path) -> None:
    g = gc.parse(readme_text())
    path = tmp_path / "model.gir"
    gc.save_ir(g, path)
    gc.save_ir(g, path)  # replacing an existing file
    assert path.read_text() == str(g)
    assert [p.name for p in tmp_path.iterdir()] == ["model.gir"]  # no temp files left
    assert str(gc.load_ir(path)) == str(g)
    path.write_text(str(g).replace("matmul", "matmull"))
    with pytest.raises(gc.ParseError, match=r"model\.gir:3:8: unknown op 'matmull'"):
        gc.load_ir(path)


def test_parsed_parameters_have_no_value_until_fed() -> None:
    g = gc.parse(readme_text())
    x = np.ones((2, 64), np.float32)
    y = np.zeros(2, np.int64)
    with pytest.raises(gc.BackendError, match="parameter 'w' has no value"):
        run_graph(g, [x, y])
    g.param_by_name("w").param.value = np.zeros((64, 10), np.float32)
    g.param_by_name("b").param.value = np.zeros(10, np.float32)
    loss, logits, new_w = run_graph(g, [x, y])
    np.testing.assert_allclose(loss, np.log(10), rtol=1e-6)  # uniform logits
    assert logits.shape == (2, 10) and new_w.shape == (64, 10)


def readme_text() -> str:
    """The IR example of README.md."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return readme.split("## The IR text format", 1)[1].split("```\n", 2)[1]


def test_readme_example_round_trips() -> None:
    text = readme_text()
    assert text.startswith("graph @mlp(")
    g = gc.parse(text)
    assert str(g) == text
    gc.verify(g)


def test_fused_bodies_round_trip_and_run() -> None:
    g = gc.parse(FUSED)
    assert str(g) == FUSED
    gc.verify(g)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 8)).astype(np.float32)
    w = rng.standard_normal((8, 4)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    g.param_by_name("w").param.value, g.param_by_name("b").param.value = w, b
    z, y = run_graph(g, [x])
    want_y = (np.exp(np.maximum(x @ w + b, 0)) * 2).sum(axis=1)
    np.testing.assert_allclose(y, want_y, rtol=1e-5)
    np.testing.assert_allclose(z, np.tanh(want_y) * want_y, rtol=1e-5)
