"""gc.optim against the torch.optim documented update rules, computed by hand in NumPy.

The cost is the quadratic 0.5 * sum(a * (w - c)**2), whose gradient a * (w - c) the tests
write as graph ops (independent of gc.grad).
"""

import numpy as np
import pytest

import graphc as gc
from graphc.frontend import optim

A = np.array([1.0, 0.5, 2.0, 3.0])
C = np.array([0.3, -1.0, 2.0, 0.5])
W0 = np.array([1.0, 1.0, -1.0, 0.0])
STEPS = 6


def _grad(w):
    return A * (w - C)


def ref_sgd(lr, momentum=0.0, nesterov=False, weight_decay=0.0, dampening=0.0):
    w, b, out = W0.copy(), None, []
    for _ in range(STEPS):
        g = _grad(w) + weight_decay * w
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
        out.append(w)
    return out


def ref_adagrad(lr, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10):
    w, s, out = W0.copy(), np.full(4, initial_accumulator_value), []
    for t in range(1, STEPS + 1):
        g = _grad(w) + weight_decay * w
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g * g
        w = w - clr * g / (np.sqrt(s) + eps)
        out.append(w)
    return out


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False):
    w, v, gavg, b, out = W0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for _ in range(STEPS):
        g = _grad(w) + weight_decay * w
        v = alpha * v + (1 - alpha) * g * g
        vt = v
        if centered:
            gavg = alpha * gavg + (1 - alpha) * g
            vt = v - gavg * gavg
        if momentum > 0:
            b = momentum * b + g / (np.sqrt(vt) + eps)
            w = w - lr * b
        else:
            w = w - lr * g / (np.sqrt(vt) + eps)
        out.append(w)
    return out


def ref_adam(lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False, decoupled=0.0):
    b1, b2 = betas
    w, m, v, vmax, out = W0.copy(), np.zeros(4), np.zeros(4), np.zeros(4), []
    for t in range(1, STEPS + 1):
        g = _grad(w) + weight_decay * w
        w = w - lr * decoupled * w  # AdamW's decoupled decay
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat = m / (1 - b1**t)
        if amsgrad:
            vmax = np.maximum(vmax, v)
            v_hat = vmax / (1 - b2**t)
        else:
            v_hat = v / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(w)
    return out


CASES = [
    ("sgd", optim.SGD, {"lr": 0.1}, ref_sgd),
    ("sgd-momentum", optim.SGD, {"lr": 0.1, "momentum": 0.9}, ref_sgd),
    ("sgd-dampening", optim.SGD, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3}, ref_sgd),
    ("sgd-nesterov-wd", optim.SGD,
     {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.1}, ref_sgd),
    ("adagrad", optim.AdaGrad, {"lr": 0.3}, ref_adagrad),
    ("adagrad-all", optim.AdaGrad,
     {"lr": 0.3, "lr_decay": 0.2, "weight_decay": 0.05, "initial_accumulator_value": 0.1},
     ref_adagrad),
    ("rmsprop", optim.RMSprop, {"lr": 0.01}, ref_rmsprop),
    ("rmsprop-centered-momentum", optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
     ref_rmsprop),
    ("adam", optim.Adam, {"lr": 0.1}, ref_adam),
    ("adam-wd-amsgrad", optim.Adam,
     {"lr": 0.05, "betas": (0.8, 0.9), "weight_decay": 0.1, "amsgrad": True}, ref_adam),
]


def _run(cls, kwargs, dtype, steps=STEPS):
    with gc.Graph("quadratic"):
        w = gc.parameter("w", W0.astype(dtype))
        x = gc.placeholder("x", (), dtype)  # a dummy input: the step reads only parameters
        g = gc.constant(A, dtype) * (w - gc.constant(C, dtype)) + x
        opt = cls([w], **kwargs)
        step = gc.function([x], [g], updates=opt.updates(grads=[g]))
    seen = []
    for _ in range(steps):
        step(np.zeros((), dtype))
        seen.append(w.value.copy())
    return seen, opt


@pytest.mark.parametrize(("label", "cls", "kwargs", "ref"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_matches_the_documented_formula(label, cls, kwargs, ref, dtype):
    got, _ = _run(cls, kwargs, dtype)
    tol = {"float32": 2e-5, "float64": 1e-10}[dtype]
    for step, (g, r) in enumerate(zip(got, ref(**kwargs), strict=True)):
        np.testing.assert_allclose(g, r, rtol=tol, atol=tol, err_msg=f"step {step + 1}")


@pytest.mark.parametrize("decay", [0.0, 0.1])
def test_adamw_decouples_weight_decay(decay):
    kwargs = {"lr": 0.05, "weight_decay": decay}
    got, _ = _run(optim.AdamW, kwargs, "float64")
    want = ref_adam(lr=0.05, decoupled=decay)
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    if decay:  # and differs from Adam's L2 decay
        assert not np.allclose(got, ref_adam(lr=0.05, weight_decay=decay))


def test_adam_state_names_and_step_count():
    _, opt = _run(optim.Adam, {"lr": 0.1}, "float32", steps=3)
    assert sorted(opt.state) == ["adam.m.w", "adam.step", "adam.v.w"]
    assert opt.state["adam.step"].value == 3
    assert opt.state["adam.step"].value.dtype == np.float32


def test_a_second_optimizer_gets_fresh_names():
    with gc.Graph("g"):
        w = gc.parameter("w", np.zeros(3, np.float32))
        first, second = optim.Adam([w]), optim.Adam([w])
        named = optim.SGD([w], momentum=0.9, name="slow")
    assert "adam.m.w" in first.state and "adam_1.m.w" in second.state
    assert list(named.state) == ["slow.momentum.w"]


def test_lr_may_be_a_tensor_changed_between_steps():
    with gc.Graph("g"):
        w = gc.parameter("w", np.ones(2, np.float32))
        lr = gc.parameter("lr", np.float32(0.5))
        x = gc.placeholder("x", ())
        g = w + x  # gradient of 0.5 * |w|^2
        step = gc.function([x], [g], updates=optim.SGD([w], lr=lr).updates(grads=[g]))
    step(np.float32(0))
    np.testing.assert_allclose(w.value, [0.5, 0.5])
    lr.value = np.float32(0.1)
    step(np.float32(0))
    np.testing.assert_allclose(w.value, [0.45, 0.45])


def test_plain_sgd_keeps_no_state():
    with gc.Graph("g"):
        w = gc.parameter("w", np.ones(2, np.float32))
        assert optim.SGD([w], lr=0.1).state == {}


def _graph_with_param():
    g = gc.Graph("g")
    with g:
        w = gc.parameter("w", np.ones(2, np.float32))
    return g, w


def test_errors_name_what_is_wrong():
    g, w = _graph_with_param()
    with g:
        x = gc.placeholder("x", (2,))
        i = gc.parameter("i", np.ones(2, np.int64))
    cases = [
        (lambda: optim.SGD([x]), "parameter"),
        (lambda: optim.SGD([i]), "only float parameters"),
        (lambda: optim.SGD([]), "at least one"),
        (lambda: optim.SGD([w, w]), "twice"),
        (lambda: optim.SGD([w], lr=-1.0), "lr"),
        (lambda: optim.SGD([w], lr=x), "Tensor lr must be a float scalar"),
        (lambda: optim.SGD([w], nesterov=True), "Nesterov"),
        (lambda: optim.Adam([w], betas=(0.9, 1.0)), "betas"),
        (lambda: optim.Adam([w]).updates(), "either"),
        (lambda: optim.Adam([w]).updates(grads=[x, x]), "2 gradients given for 1"),
        (lambda: optim.Adam([w]).updates(grads=[w.sum()]), "gradient of 'w' must be a f32\\[2\\]"),
    ]
    for make, match in cases:
        with pytest.raises(gc.GraphcError, match=match):
            make()


def test_a_cost_is_differentiated_with_gc_grad():
    with gc.Graph("quadratic"):
        w = gc.parameter("w", W0.astype("float64"))
        x = gc.placeholder("x", (), "float64")
        diff = w - gc.constant(C, "float64") + x
        cost = 0.5 * gc.sum(gc.constant(A, "float64") * gc.square(diff))
        step = gc.function([x], cost, updates=optim.Adam([w], lr=0.1).updates(cost))
    for want in ref_adam(lr=0.1):
        step(np.zeros((), np.float64))
        np.testing.assert_allclose(w.value, want, rtol=1e-10, atol=1e-12)
