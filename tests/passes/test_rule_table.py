"""Every canonicalize rule, table-driven: where it must fire, and a near miss where it must not.

Each case builds a small graph with the frontend, runs canonicalize, and checks which ops are
left (an op the rule removes is gone; the replacement op is there) and that the numbers did not
change. Every rule of canonicalize.RULES must have a case here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

import graphc as gc
from graphc.passes.canonicalize import RULES

T = gc.Tensor
Build = Callable[[T, T, T], T]  # (x f32[2,3] > 0, y f32[2,3], v f32[3]) -> result


def _t(x: T, perm: tuple[int, ...]) -> T:
    return gc.transpose(x, perm)


# rule -> (build, ops that must be gone, ops that must be there)
FIRES: dict[str, tuple[Build, set[str], set[str]]] = {
    "add-zero": (lambda x, y, v: x + 0.0, {"add"}, set()),
    "add-zeros-like": (lambda x, y, v: x + gc.zeros_like(y), {"add"}, set()),
    "add-zeros-like-broadcast": (lambda x, y, v: v + gc.zeros_like(y), {"add"},
                                 {"broadcast_to"}),
    "sub-zero": (lambda x, y, v: x - 0.0, {"sub"}, set()),
    "mul-one": (lambda x, y, v: x * 1.0, {"mul"}, set()),
    "mul-ones-like": (lambda x, y, v: x * gc.ones_like(y), {"mul"}, set()),
    "mul-zero-int": (lambda x, y, v: gc.cast(gc.cast(x, gc.int32) * 0, gc.float32), {"mul"},
                     {"full_like"}),
    "mul-minus-one": (lambda x, y, v: x * -1.0, {"mul"}, {"neg"}),
    "div-one": (lambda x, y, v: x / 1.0, {"div"}, set()),
    "pow-one": (lambda x, y, v: x**1.0, {"pow"}, set()),
    "pow-two": (lambda x, y, v: x**2.0, {"pow"}, {"square"}),
    "neg-neg": (lambda x, y, v: gc.neg(gc.neg(x)), {"neg"}, set()),
    "add-neg": (lambda x, y, v: x + (-y), {"add", "neg"}, {"sub"}),
    "sub-neg": (lambda x, y, v: x - (-y), {"sub", "neg"}, {"add"}),
    "cast-same": (lambda x, y, v: gc.cast(x, gc.float32), {"cast"}, set()),
    "reduce-no-axes": (lambda x, y, v: gc.sum(x, axis=()), {"sum"}, set()),
    "reshape-same": (lambda x, y, v: gc.reshape(x, (2, 3)), {"reshape"}, set()),
    "reshape-reshape": (lambda x, y, v: gc.reshape(gc.reshape(x, (6,)), (3, 2)), set(),
                        {"reshape"}),
    "transpose-transpose": (lambda x, y, v: _t(_t(x, (1, 0)), (1, 0)), {"transpose"}, set()),
    "transpose-identity": (lambda x, y, v: _t(x, (0, 1)), {"transpose"}, set()),
    "collective-one-process": (lambda x, y, v: gc.allreduce(x) + gc.broadcast(y),
                               {"allreduce", "broadcast"}, {"add"}),
    "broadcast-scalar-constant": (
        lambda x, y, v: x + gc.broadcast_to(gc.constant(np.float32(2.0)), (2, 3)),
        {"broadcast_to"}, {"add"}),
    "log-softmax": (lambda x, y, v: gc.log(gc.softmax(x, axis=-1)), {"log", "softmax"},
                    {"log_softmax"}),
    "log-sigmoid": (lambda x, y, v: gc.log(gc.sigmoid(x)), {"log", "sigmoid"}, {"softplus"}),
    "log-exp": (lambda x, y, v: gc.log(gc.exp(x)), {"log", "exp"}, set()),
    "exp-log": (lambda x, y, v: gc.exp(gc.log(gc.square(y))), {"log", "exp"}, {"square"}),
    "log-one-plus": (lambda x, y, v: gc.log(1.0 + x), {"log", "add"}, {"log1p"}),
}

# near misses -> (build, ops that must stay)
STAYS: dict[str, tuple[Build, set[str]]] = {
    "mul-two": (lambda x, y, v: x * 2.0, {"mul"}),
    "mul-twos-like": (lambda x, y, v: x * gc.full_like(y, 2.0), {"mul"}),
    "mul-zero-float": (lambda x, y, v: x * 0.0, {"mul"}),
    "add-ones-like": (lambda x, y, v: x + gc.ones_like(y), {"add"}),
    "sub-one": (lambda x, y, v: x - 1.0, {"sub"}),
    "div-two": (lambda x, y, v: x / 2.0, {"div"}),
    "pow-three": (lambda x, y, v: x**3.0, {"pow"}),
    "mul-minus-two": (lambda x, y, v: x * -2.0, {"mul"}),
    "exp-log-unknown-sign": (lambda x, y, v: gc.exp(gc.log(y)), {"exp", "log"}),
    "log-two-plus": (lambda x, y, v: gc.log(2.0 + x), {"log", "add"}),
    "cast-other": (lambda x, y, v: gc.cast(x, gc.float64), {"cast"}),
    "transpose-swap": (lambda x, y, v: _t(x, (1, 0)), {"transpose"}),
    "sum-axis": (lambda x, y, v: gc.sum(x, axis=0), {"sum"}),
    "broadcast-vector-constant": (
        lambda x, y, v: x + gc.broadcast_to(gc.constant(np.array([[1.0], [2.0]], np.float32)),
                                            (2, 3)), {"broadcast_to"}),
    "reshape-other": (lambda x, y, v: gc.reshape(x, (3, 2)), {"reshape"}),
}

RNG = np.random.default_rng(5)
X = RNG.uniform(0.5, 2.0, (2, 3)).astype(np.float32)
Y = RNG.uniform(-2.0, 2.0, (2, 3)).astype(np.float32)
V = RNG.uniform(-2.0, 2.0, (3,)).astype(np.float32)


def _ops(build: Build, passes) -> tuple[list[str], np.ndarray]:
    with gc.Graph("rule"):
        x, y, v = (gc.placeholder(n, a.shape) for n, a in (("x", X), ("y", Y), ("v", V)))
        fn = gc.function([x, y, v], build(x, y, v), passes=passes)
    ops = re.findall(r"= (\w+)\b", fn.ir())
    with np.errstate(all="ignore"):
        return ops, np.asarray(fn(X, Y, V))


def _same_numbers(build: Build, out: np.ndarray) -> None:
    _, want = _ops(build, [])
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_every_rule_has_a_case() -> None:
    assert set(RULES.names()) == set(FIRES)


@pytest.mark.parametrize("rule", sorted(FIRES))
def test_rule_fires(rule: str) -> None:
    build, gone, there = FIRES[rule]
    ops, out = _ops(build, ["canonicalize"])
    assert not gone & set(ops), f"{rule}: {sorted(gone & set(ops))} left in {ops}"
    assert there <= set(ops), f"{rule}: {sorted(there - set(ops))} missing from {ops}"
    if rule == "reshape-reshape":
        assert ops.count("reshape") == 1, ops
    _same_numbers(build, out)


@pytest.mark.parametrize("label", sorted(STAYS))
def test_near_miss_is_left_alone(label: str) -> None:
    build, stays = STAYS[label]
    ops, out = _ops(build, ["canonicalize"])
    assert stays <= set(ops), f"{label}: {sorted(stays - set(ops))} rewritten away: {ops}"
    _same_numbers(build, out)
