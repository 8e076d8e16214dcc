"""gc.scan: results vs the same cell unrolled in Python, text round trip, passes in the body,
and the bad-input errors (each naming the user's line)."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc

RNG = np.random.default_rng(0)
BACKENDS = ["numpy", "llvm"]


def _rand(*shape: int, dtype=np.float32) -> np.ndarray:
    return RNG.standard_normal(shape).astype(dtype)


def _rnn_graph(dtype: str, steps, reverse: bool = False, unroll: int | None = None,
               backend: str = "numpy"):
    """An RNN cell with two carries, two sequences and captured weights, as a scan (or unrolled
    in Python for ``unroll`` steps: the reference)."""
    weights = np.random.default_rng(1)  # the same weights in the scan and its reference
    w = weights.standard_normal((3, 4)).astype(dtype)
    u = (weights.standard_normal((4, 4)) * 0.5).astype(dtype)
    g = gc.Graph("rnn")
    with g:
        x = gc.placeholder("x", (steps, 2, 3), dtype)
        m = gc.placeholder("m", (steps, 2, 4), dtype)
        h0 = gc.placeholder("h0", (2, 4), dtype)
        wp, up = gc.parameter("w", w), gc.parameter("u", u)

        def cell(carry, xs):
            h, acc = carry
            xt, mt = xs
            hn = gc.tanh(xt @ wp + h @ up) * mt
            return (hn, acc + gc.sum(hn, axis=1)), hn * 2.0

        acc0 = gc.sum(h0, axis=1) * 0.0
        if unroll is None:
            (h, acc), ys = gc.scan(cell, (h0, acc0), (x, m), reverse=reverse)
        else:
            carry, outs = (h0, acc0), [None] * unroll
            order = range(unroll - 1, -1, -1) if reverse else range(unroll)
            for t in order:
                carry, outs[t] = cell(carry, (x[t], m[t]))
            (h, acc), ys = carry, gc.stack(outs, axis=0)
        fn = gc.function([x, m, h0], [h, acc, ys], backend=backend)
    return g, fn


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("steps", [1, 5])
def test_scan_matches_unrolled(backend: str, dtype: str, reverse: bool, steps: int) -> None:
    feeds = [_rand(steps, 2, 3, dtype=dtype), np.abs(_rand(steps, 2, 4, dtype=dtype)),
             _rand(2, 4, dtype=dtype)]
    _, scanned = _rnn_graph(dtype, steps, reverse, backend=backend)
    _, unrolled = _rnn_graph(dtype, steps, reverse, unroll=steps)
    tol = 1e-5 if dtype == "float32" else 1e-12
    for a, b in zip(scanned(*feeds), unrolled(*feeds), strict=True):
        assert a.dtype == np.dtype(dtype)
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_symbolic_length_one_function_every_length(backend: str) -> None:
    _, scanned = _rnn_graph("float64", "T", backend=backend)
    for steps in (1, 3, 7):
        feeds = [_rand(steps, 2, 3, dtype=np.float64), np.abs(_rand(steps, 2, 4, dtype=np.float64)),
                 _rand(2, 4, dtype=np.float64)]
        _, unrolled = _rnn_graph("float64", steps, unroll=steps)
        for a, b in zip(scanned(*feeds), unrolled(*feeds), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_length_without_sequences_and_no_y(backend: str) -> None:
    with gc.Graph("count"):
        x0 = gc.placeholder("x0", (3,), "float64")
        final, ys = gc.scan(lambda c, _: (c * 2.0 + 1.0, None), x0, length=4)
        assert ys is None
        f = gc.function([x0], [final], backend=backend)
    v = np.array([0.0, 1.0, -1.0])
    want = v
    for _ in range(4):
        want = want * 2.0 + 1.0
    np.testing.assert_allclose(f(v)[0], want)


@pytest.mark.parametrize("backend", BACKENDS)
def test_list_carry_and_single_sequence_structure(backend: str) -> None:
    with gc.Graph("cumsum"):
        x = gc.placeholder("x", (6, 2), "float64")
        c0 = gc.placeholder("c0", (2,), "float64")
        (total,), ys = gc.scan(lambda c, xt: ([c[0] + xt], (c[0] + xt, xt * xt)), [c0], x)
        assert isinstance(ys, tuple) and len(ys) == 2
        f = gc.function([x, c0], [total, *ys], backend=backend)
    xv, cv = _rand(6, 2, dtype=np.float64), _rand(2, dtype=np.float64)
    total_v, run, sq = f(xv, cv)
    np.testing.assert_allclose(run, cv + np.cumsum(xv, axis=0))
    np.testing.assert_allclose(total_v, cv + xv.sum(0))
    np.testing.assert_allclose(sq, xv * xv)


@pytest.mark.parametrize("backend", BACKENDS)
def test_nested_scan_captures_through_both_levels(backend: str) -> None:
    w = _rand(2, 2, dtype=np.float64)
    with gc.Graph("nested"):
        x = gc.placeholder("x", (3, 4, 2), "float64")
        wp = gc.parameter("w", w)

        def outer(c, xt):
            inner, _ = gc.scan(lambda d, r: (gc.tanh(d + r @ wp), None), c, xt)
            return inner, None

        final, _ = gc.scan(outer, gc.constant(np.zeros(2)), x)
        f = gc.function([x], [final], backend=backend)
    xv = _rand(3, 4, 2, dtype=np.float64)
    d = np.zeros(2)
    for t in range(3):
        for r in range(4):
            d = np.tanh(d + xv[t, r] @ w)
    np.testing.assert_allclose(f(xv)[0], d, rtol=1e-12)


def test_text_round_trip_and_passes_inside_the_body() -> None:
    g, fn = _rnn_graph("float32", "T")
    text = gc.print_ir(g)
    assert "scan" in text and "yield" in text
    assert gc.print_ir(gc.parse(text)) == text
    optimized = fn.ir()
    assert "fused" in optimized.split("scan", 1)[1]  # the body was fused
    assert gc.print_ir(gc.parse(optimized)) == optimized
    feeds = [_rand(4, 2, 3), np.abs(_rand(4, 2, 4)), _rand(2, 4)]
    ref = _rnn_graph("float32", 4, unroll=4)[1](*feeds)
    for a, b in zip(fn(*feeds), ref, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_cse_and_fold_inside_the_body() -> None:
    with gc.Graph("redundant"):
        x = gc.placeholder("x", (5, 3), "float64")

        def cell(c, xt):
            k = gc.constant(2.0, "float64") * gc.constant(3.0, "float64")
            return c + gc.exp(xt) * k + gc.exp(xt), None

        final, _ = gc.scan(cell, gc.constant(np.zeros(3)), x)
        f = gc.function([x], [final], passes="canonicalize,cse,fold,dce")
    body = f.ir().split("^(", 1)[1]
    assert body.count("exp") == 1  # cse merged the two exps
    assert "dense<f64: 6.0>" in body  # fold computed 2 * 3
    xv = _rand(5, 3, dtype=np.float64)
    np.testing.assert_allclose(f(xv)[0], (np.exp(xv) * 7.0).sum(0), rtol=1e-12)


# -- bad input ---------------------------------------------------------------------------------


def _line_of(marker: str) -> str:
    import inspect

    src, start = inspect.getsourcelines(_bad_inputs)
    return str(start + next(i for i, s in enumerate(src) if marker in s))


def _bad_inputs(case: str) -> None:
    with gc.Graph("bad"):
        x = gc.placeholder("x", (4, 2), "float32")
        h = gc.placeholder("h", (2,), "float32")
        if case == "dtype":
            gc.scan(lambda c, xt: (gc.cast(c, "float64"), None), h, x)  # MARK dtype
        elif case == "shape":
            gc.scan(lambda c, xt: (gc.sum(c), None), h, x)  # MARK shape
        elif case == "empty":
            gc.scan(lambda c, xt: (c, None), h, gc.placeholder("e", (0, 2)))  # MARK empty
        elif case == "leading":
            gc.scan(lambda c, xs: (c, None), h, (x, gc.placeholder("z", (3, 2))))  # MARK leading
        elif case == "foreign":
            with gc.Graph("other"):
                alien = gc.placeholder("alien", (2,), "float32")
            gc.scan(lambda c, xt: (c + alien, None), h, x)  # MARK foreign


@pytest.mark.parametrize("case, error, words", [
    ("dtype", gc.DTypeError, "carry 0 changes type"),
    ("shape", gc.ShapeError, "carry 0 changes type"),
    ("empty", gc.ShapeError, "length 0"),
    ("leading", gc.ShapeError, "leading dims differ"),
    ("foreign", gc.GraphcError, "different graphs"),
])
def test_bad_input_names_the_user_line(case: str, error: type, words: str) -> None:
    with pytest.raises(error) as info:
        _bad_inputs(case)
    msg = str(info.value)
    assert words in msg
    assert f"test_scan.py:{_line_of('MARK ' + case)}" in msg, msg


def test_length_zero_bound_at_call_time() -> None:
    with gc.Graph("zero"):
        x = gc.placeholder("x", ("T", 2), "float32")
        final, _ = gc.scan(lambda c, xt: (c + xt, None), gc.constant(np.zeros(2, np.float32)), x)
        f = gc.function([x], [final])
    with pytest.raises(gc.ShapeError, match="length 0"):
        f(np.zeros((0, 2), np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_dce_drops_unread_stacked_outputs(backend: str) -> None:
    """After gc.grad the forward scan also stacks residuals; a function of the forward alone
    drops them (and the ys nobody reads), keeping the numbers."""
    g, _ = _rnn_graph("float64", "T")
    with g:
        x, m, h0 = g.inputs
        scan_node = next(n for n in g.nodes if n.op.name == "scan")
        h, acc = (gc.Tensor(v, g) for v in scan_node.outputs[:2])
        gc.grad(gc.sum(h * h), [gc.Tensor(p, g) for p in g.params])
        assert len(scan_node.outputs) > 3  # carries, ys, then what the backward reads
        f = gc.function([gc.Tensor(v, g) for v in (x, m, h0)], [h, acc], backend=backend)
    head = next(line for line in f.ir().splitlines() if " = scan " in line)
    assert head.split(" = ")[0].count("%") == 2, head  # only the two carries are left
    feeds = [_rand(3, 2, 3, dtype=np.float64), np.abs(_rand(3, 2, 4, dtype=np.float64)),
             _rand(2, 4, dtype=np.float64)]
    want = _rnn_graph("float64", 3, unroll=3)[1](*feeds)
    for a, b in zip(f(*feeds), want[:2], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_hoist_moves_loop_invariant_ops_out(backend: str) -> None:
    """A captured weight's transpose and scaling run once, before the loop."""
    u = _rand(4, 4, dtype=np.float64) * 0.5
    with gc.Graph("licm"):
        x = gc.placeholder("x", ("T", 4), "float64")
        up = gc.parameter("u", u)
        final, ys = gc.scan(lambda h, xt: (gc.tanh(h @ (gc.transpose(up) * 0.5) + xt), h),
                            gc.constant(np.zeros(4)), x)
        f = gc.function([x], [final, ys], backend=backend)
    outer, body = f.ir().split("^(", 1)
    assert "transpose" in outer and "transpose" not in body
    xv = _rand(6, 4, dtype=np.float64)
    h, hs = np.zeros(4), []
    for t in range(6):
        hs.append(h)
        h = np.tanh(h @ (u.T * 0.5) + xv[t])
    got = f(xv)
    np.testing.assert_allclose(got[0], h, rtol=1e-12)
    np.testing.assert_allclose(got[1], np.stack(hs), rtol=1e-12)
