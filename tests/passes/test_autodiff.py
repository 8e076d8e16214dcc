"""gc.grad / gc.jacobian / gc.check_grad: errors, accumulation, higher order, locations."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.frontend.gradcheck import GradCheckError

RNG = np.random.default_rng(0)


def _f32(*shape: int) -> np.ndarray:
    return RNG.uniform(-1, 1, shape).astype(np.float32)


# --- errors -------------------------------------------------------------------------------


def test_cost_must_be_a_float_scalar() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (3,))
        with pytest.raises(gc.GradError, match="float scalar"):
            gc.grad(x * 2.0, [x])
        n = gc.placeholder("n", (), "int32")
        with pytest.raises(gc.GradError, match="float scalar"):
            gc.grad(n * 2, [x])


def test_integer_wrt_is_an_error() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (3,))
        labels = gc.placeholder("labels", (3,), "int64")
        cost = gc.sum(x * gc.cast(labels, "float32"))
        with pytest.raises(gc.GradError, match="labels.*only floating-point"):
            gc.grad(cost, [x, labels])


def test_disconnected_raises_unless_zero_requested() -> None:
    with gc.Graph():
        x = gc.placeholder("x", ("B", 3))
        unused = gc.placeholder("unused", ("B", 2))
        cost = gc.sum(gc.exp(x))
        with pytest.raises(gc.GradError, match="does not depend on %unused"):
            gc.grad(cost, [x, unused])
        gx, gu = gc.grad(cost, [x, unused], disconnected="zero")
        with pytest.raises(gc.GradError, match="disconnected"):
            gc.grad(cost, [x], disconnected="ignore")
    xv, uv = _f32(4, 3), _f32(4, 2)
    got_x, got_u = gc.function([x, unused], [gx, gu])(xv, uv)
    np.testing.assert_allclose(got_x, np.exp(xv), rtol=1e-6)
    np.testing.assert_array_equal(got_u, np.zeros((4, 2), np.float32))


def test_connected_through_zero_gradient_ops_gives_zeros() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (4,))
        cost = gc.sum(gc.floor(x) + gc.sign(x))
        gx = gc.grad(cost, x)  # a single Tensor in, a single Tensor out
    np.testing.assert_array_equal(gc.function([x], gx)(_f32(4)), np.zeros(4, np.float32))


def test_wrt_from_another_graph() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (2,))
        cost = gc.sum(x)
    with gc.Graph():
        y = gc.placeholder("y", (2,))
    with pytest.raises(gc.GradError, match="belongs to graph"):
        gc.grad(cost, [y])


def test_missing_rule_is_a_clear_error_and_leaves_the_graph_alone(monkeypatch) -> None:
    from graphc import ops

    monkeypatch.setattr(ops.sin, "vjp", None)
    with gc.Graph() as g:
        x = gc.placeholder("x", (3,))
        cost = gc.sum(gc.exp(gc.sin(x)))
        before = str(g)
        with pytest.raises(gc.GradError, match=r"sin at .*test_autodiff.py:\d+: sin has no grad"):
            gc.grad(cost, [x])
    assert str(g) == before


# --- values -------------------------------------------------------------------------------


def test_shared_subexpressions_accumulate() -> None:
    with gc.Graph() as g:
        x = gc.placeholder("x", (5,))
        y = x * x  # used three times
        cost = gc.sum(y + gc.sin(y) + y * x)
        (gx,) = gc.grad(cost, [x])
    xv = _f32(5)
    want = 2 * xv + np.cos(xv**2) * 2 * xv + 3 * xv**2
    np.testing.assert_allclose(gc.function([x], gx)(xv), want, rtol=1e-5)
    assert any(n.loc.rule == "grad-accumulate" for n in g.nodes)


def test_only_needed_gradient_nodes_are_kept() -> None:
    with gc.Graph() as g:
        x = gc.placeholder("x", ("B", 1, 5, 5))
        w = gc.parameter("w", _f32(2, 1, 3, 3))
        (gw,) = gc.grad(gc.sum(gc.conv2d(x, w)), [w])
    ops = [n.op.name for n in g.nodes]
    assert "conv2d_weight_grad" in ops
    assert "conv2d_input_grad" not in ops  # d cost / d x was not asked for


def test_gradient_with_respect_to_an_intermediate_value() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (3,))
        h = gc.exp(x)
        gh, gx = gc.grad(gc.sum(h * h), [h, x])
    xv = _f32(3)
    got_h, got_x = gc.function([x], [gh, gx])(xv)
    np.testing.assert_allclose(got_h, 2 * np.exp(xv), rtol=1e-6)
    np.testing.assert_allclose(got_x, 2 * np.exp(2 * xv), rtol=1e-6)


def test_multi_result_node_with_one_result_used() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (4, 6))
        left, right = gc.split(x, 2, axis=1)
        gx = gc.grad(gc.sum(gc.exp(right)), x)
    xv = _f32(4, 6)
    got = gc.function([x], gx)(xv)
    np.testing.assert_array_equal(got[:, :3], np.zeros((4, 3), np.float32))
    np.testing.assert_allclose(got[:, 3:], np.exp(xv[:, 3:]), rtol=1e-6)


def test_symbolic_batch_mlp_gradients() -> None:
    with gc.Graph():
        x = gc.placeholder("x", ("B", 4))
        y = gc.placeholder("y", ("B",), "int64")
        w = gc.parameter("w", _f32(4, 3))
        b = gc.parameter("b", _f32(3))
        loss = gc.mean(gc.softmax_cross_entropy(x @ w + b, y))
        gw, gb = gc.grad(loss, [w, b])
    xv, yv = _f32(6, 4), RNG.integers(0, 3, 6)
    logits = xv.astype(np.float64) @ w.value + b.value
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    d = (p - np.eye(3)[yv]) / 6
    got_w, got_b = gc.function([x, y], [gw, gb])(xv, yv)
    np.testing.assert_allclose(got_w, xv.T @ d, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got_b, d.sum(0), rtol=1e-4, atol=1e-6)


def test_max_reduction_splits_ties_evenly() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (2, 3))
        gx = gc.grad(gc.sum(gc.max(x, axis=1)), x)
    xv = np.array([[1, 3, 3], [2, 2, 2]], np.float32)
    want = np.array([[0, 0.5, 0.5], [1 / 3, 1 / 3, 1 / 3]], np.float32)
    np.testing.assert_allclose(gc.function([x], gx)(xv), want, rtol=1e-6)


def test_kinks_follow_pytorch() -> None:
    with gc.Graph():
        a = gc.placeholder("a", (3,))
        b = gc.placeholder("b", (3,))
        cost = gc.sum(gc.abs(a) + gc.relu(a) + gc.maximum(a, b))
        ga, gb = gc.grad(cost, [a, b])
    av = np.array([0.0, 1.0, -1.0], np.float32)
    bv = np.array([0.0, 0.0, 0.0], np.float32)
    got_a, got_b = gc.function([a, b], [ga, gb])(av, bv)
    # abs'(0) = 0, relu'(0) = 0, maximum ties split 0.5 / 0.5
    np.testing.assert_allclose(got_a, [0.5, 3.0, -1.0])
    np.testing.assert_allclose(got_b, [0.5, 0.0, 1.0])


def test_pow_gradient_at_zero_base_is_finite() -> None:
    with gc.Graph():
        a = gc.placeholder("a", (2,))
        b = gc.placeholder("b", (2,))
        ga, gb = gc.grad(gc.sum(a**b), [a, b])
    got_a, got_b = gc.function([a, b], [ga, gb])(np.zeros(2, np.float32),
                                                np.array([0.0, 2.0], np.float32))
    np.testing.assert_array_equal(got_a, [0.0, 0.0])
    np.testing.assert_array_equal(got_b, [0.0, 0.0])


# --- higher order -------------------------------------------------------------------------


def _hvp_case(f):
    """Hessian-vector product of f at x along v, symbolic vs differences of gradients."""
    x0, v0 = RNG.uniform(-1, 1, 6), RNG.uniform(-1, 1, 6)
    with gc.Graph():
        x = gc.placeholder("x", (6,), "float64")
        v = gc.placeholder("v", (6,), "float64")
        (g,) = gc.grad(f(x), [x])
        (hv,) = gc.grad(gc.sum(g * v), [x])
        grad_fn = gc.function([x], g)
        hvp = gc.function([x, v], hv)(x0, v0)
    eps = 1e-5
    fd = (grad_fn(x0 + eps * v0) - grad_fn(x0 - eps * v0)) / (2 * eps)
    np.testing.assert_allclose(hvp, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(
    "f",
    [
        lambda x: gc.sum(gc.tanh(x) * gc.exp(x * 0.5)) + gc.logsumexp(x * x),
        lambda x: gc.sum(gc.softmax(gc.reshape(x, (2, 3))) ** 3.0),
        lambda x: gc.mean(gc.sigmoid(x) / (1.5 + gc.cos(x))),
        lambda x: gc.prod(1.2 + gc.sin(x)) + gc.sum((1.5 + gc.tanh(x)) ** gc.cos(x)),
        lambda x: gc.mse(gc.gelu(x), gc.where(x > 0.0, gc.softplus(x), gc.elu(x))),
    ],
    ids=["elementwise", "softmax", "mean-div", "prod-pow", "mse-where"],
)
def test_hessian_vector_product(f) -> None:
    _hvp_case(f)


def test_second_order_through_conv_and_avg_pool() -> None:
    def f(x):
        img = gc.reshape(x, (1, 1, 6, 6))
        w = gc.constant(np.linspace(-1, 1, 18).reshape(2, 1, 3, 3))
        return gc.sum(gc.tanh(gc.avg_pool2d(gc.conv2d(img, w, padding=1), 2)))

    x0, v0 = RNG.uniform(-1, 1, 36), RNG.uniform(-1, 1, 36)
    with gc.Graph():
        x = gc.placeholder("x", (36,), "float64")
        v = gc.placeholder("v", (36,), "float64")
        (g,) = gc.grad(f(x), [x])
        (hv,) = gc.grad(gc.sum(g * v), [x])
        grad_fn, hvp_fn = gc.function([x], g), gc.function([x, v], hv)
    eps = 1e-5
    fd = (grad_fn(x0 + eps * v0) - grad_fn(x0 - eps * v0)) / (2 * eps)
    np.testing.assert_allclose(hvp_fn(x0, v0), fd, rtol=1e-6, atol=1e-8)


def test_second_order_through_max_pool() -> None:
    def f(x):
        img = gc.reshape(x, (1, 2, 4, 4))
        return gc.sum(gc.max_pool2d(gc.sin(img), 2, padding=1) ** 3.0)

    x0, v0 = RNG.uniform(-1, 1, 32), RNG.uniform(-1, 1, 32)
    with gc.Graph():
        x = gc.placeholder("x", (32,), "float64")
        v = gc.placeholder("v", (32,), "float64")
        (g,) = gc.grad(f(x), [x])
        (hv,) = gc.grad(gc.sum(g * v), [x])
        grad_fn, hvp_fn = gc.function([x], g), gc.function([x, v], hv)
    eps = 1e-6
    fd = (grad_fn(x0 + eps * v0) - grad_fn(x0 - eps * v0)) / (2 * eps)
    np.testing.assert_allclose(hvp_fn(x0, v0), fd, rtol=1e-5, atol=1e-8)


def test_jacobian_of_a_vector_function() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (3,), "float64")
        a = gc.constant(np.arange(6.0).reshape(2, 3))
        y = gc.tanh(a @ x)
        jac = gc.jacobian(y, x)
    assert jac.shape == (2, 3)
    x0, a0 = RNG.uniform(-1, 1, 3), np.arange(6.0).reshape(2, 3)
    want = (1 - np.tanh(a0 @ x0) ** 2)[:, None] * a0
    np.testing.assert_allclose(gc.function([x], jac)(x0), want, rtol=1e-12)


def test_jacobian_needs_a_static_float_y() -> None:
    with gc.Graph():
        x = gc.placeholder("x", ("B",))
        with pytest.raises(gc.GradError, match="static shape"):
            gc.jacobian(x * 2.0, x)


# --- locations ----------------------------------------------------------------------------


def test_gradient_nodes_point_at_the_users_line() -> None:
    with gc.Graph() as g:
        x = gc.placeholder("x", (3,))
        y = gc.exp(x); line = y.ir.node.loc.line  # noqa: E702  (same line on purpose)
        gc.grad(gc.sum(y), [x])
    rules = {n.loc.rule: n.loc for n in g.nodes if n.loc.rule}
    assert rules["vjp(exp)"].file.endswith("test_autodiff.py")
    assert rules["vjp(exp)"].line == line
    assert f'test_autodiff.py":{line}, "vjp(exp)")' in str(g)


# --- check_grad ---------------------------------------------------------------------------


def test_check_grad_function_form_passes() -> None:
    x, w = RNG.normal(size=(3, 4)), RNG.normal(size=(4, 2))
    report = gc.check_grad(lambda x, w: gc.sum(gc.tanh(x @ w)), [x, w])
    assert report.ok and report.checked == 12 + 8


def test_check_grad_graph_form_on_float32_parameters() -> None:
    with gc.Graph():
        x = gc.placeholder("x", ("B", 3))
        y = gc.placeholder("y", ("B",), "int32")
        w = gc.parameter("w", _f32(3, 4))
        loss = gc.mean(gc.softmax_cross_entropy(gc.relu(x @ w), y))
    feeds = {x: _f32(5, 3) + 2, y: RNG.integers(0, 4, 5).astype(np.int32)}
    report = gc.check_grad(loss, [w, x], feeds)
    assert report.ok, str(report)


def test_check_grad_reports_a_wrong_gradient(monkeypatch) -> None:
    from graphc import ops

    # a deliberately wrong rule: d sin = sin instead of cos
    monkeypatch.setattr(ops.sin, "vjp", lambda e, node, g: [e.mul(g[0], e.sin(node.inputs[0]))])
    x0 = np.array([0.1, 1.2, -0.7])
    with pytest.raises(GradCheckError) as info:
        gc.check_grad(lambda x: gc.sum(gc.sin(x)), [x0])
    worst = info.value.report.worst
    i = int(np.argmax(np.abs(np.cos(x0) - np.sin(x0)) / (1e-6 + 1e-5 * np.abs(np.cos(x0)))))
    assert worst.index == (i,) and worst.wrt == "x"
    assert worst.numeric == pytest.approx(np.cos(x0[i]), rel=1e-7)
    assert worst.symbolic == pytest.approx(np.sin(x0[i]), rel=1e-12)
    assert f"x[{i}]" in str(info.value) and "relative error" in str(info.value)
    report = gc.check_grad(lambda x: gc.sum(gc.sin(x)), [x0], raise_on_failure=False)
    assert not report.ok


def test_check_grad_needs_feeds_for_placeholders() -> None:
    with gc.Graph():
        x = gc.placeholder("x", (2,))
        w = gc.parameter("w", _f32(2))
        cost = gc.sum(x * w)
    with pytest.raises(gc.GradError, match="placeholder 'x'"):
        gc.check_grad(cost, [w], {})
