"""gc.init: fans, bounds and standard deviations from the PyTorch formulas, seeds, dtypes."""

import math

import numpy as np
import pytest

import graphc as gc
from graphc.frontend import init

RANDOM = [init.uniform, init.normal, init.glorot_uniform, init.glorot_normal,
          init.he_uniform, init.he_normal]


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((784, 128), (784, 128)), ((16, 3, 5, 5), (75, 400)), ((8, 4, 3), (12, 24))],
)
def test_fans_dense_in_out_and_conv_oihw(shape, expected):
    assert init.fans(shape) == expected


def test_fans_need_rank_two():
    with pytest.raises(gc.GraphcError, match="rank >= 2"):
        init.fans((5,))


@pytest.mark.parametrize("fn", RANDOM)
def test_same_seed_same_values_other_seed_other_values(fn):
    a, b, c = fn((20, 30), seed=3), fn((20, 30), seed=3), fn((20, 30), seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("fn", RANDOM)
def test_dtype_default_float32_and_float64_on_request(fn):
    assert fn((4, 5), seed=0).dtype == np.float32
    assert fn((4, 5), seed=0, dtype="float64").dtype == np.float64
    assert fn((4, 5), seed=0, dtype=gc.float64).shape == (4, 5)


@pytest.mark.parametrize("fn", RANDOM)
def test_integer_dtype_is_refused(fn):
    with pytest.raises(gc.GraphcError, match="floating-point"):
        fn((4, 5), seed=0, dtype="int32")


def test_a_generator_is_a_shared_stream():
    rng = np.random.default_rng(7)
    first, second = init.normal((10,), seed=rng), init.normal((10,), seed=rng)
    assert not np.array_equal(first, second)
    again = np.random.default_rng(7)
    np.testing.assert_array_equal(init.normal((10,), seed=again), first)


def test_zeros_and_ones():
    np.testing.assert_array_equal(init.zeros((2, 3)), np.zeros((2, 3), np.float32))
    assert init.ones(4, dtype="float64").dtype == np.float64
    assert init.ones(4).sum() == 4


def test_uniform_bounds_and_mean():
    x = init.uniform((200, 200), low=-3.0, high=5.0, seed=0)
    assert x.min() >= -3.0 and x.max() <= 5.0
    assert abs(x.mean() - 1.0) < 0.05
    assert abs(x.std() - 8 / math.sqrt(12)) < 0.03


def test_normal_mean_and_std():
    x = init.normal((300, 300), mean=2.0, std=0.5, seed=1)
    assert abs(x.mean() - 2.0) < 0.01
    assert abs(x.std() - 0.5) < 0.01


def _check_uniform(x, bound):
    assert np.abs(x).max() <= bound * (1 + 1e-6)
    assert np.abs(x).max() > 0.98 * bound  # fills the interval, not a narrower one
    assert abs(x.std() / (bound / math.sqrt(3)) - 1) < 0.03


def test_glorot_uniform_dense():
    _check_uniform(init.glorot_uniform((300, 200), seed=0), math.sqrt(6 / 500))


def test_glorot_uniform_gain():
    _check_uniform(init.glorot_uniform((300, 200), gain=2.0, seed=0), 2 * math.sqrt(6 / 500))


def test_glorot_normal_conv():
    x = init.glorot_normal((64, 32, 3, 3), seed=0)  # fan_in 288, fan_out 576
    assert abs(x.std() / math.sqrt(2 / (288 + 576)) - 1) < 0.03
    assert abs(x.mean()) < 0.005


def test_he_uniform_conv_fan_in():
    _check_uniform(init.he_uniform((64, 32, 3, 3), seed=0), math.sqrt(2) * math.sqrt(3 / 288))


def test_he_normal_dense_fan_in_and_fan_out():
    x = init.he_normal((400, 100), seed=0)
    assert abs(x.std() / math.sqrt(2 / 400) - 1) < 0.03
    y = init.he_normal((400, 100), mode="fan_out", seed=0)
    assert abs(y.std() / math.sqrt(2 / 100) - 1) < 0.03


def test_he_uniform_tanh_gain():
    x = init.he_uniform((500, 50), nonlinearity="tanh", seed=0)
    _check_uniform(x, 5 / 3 * math.sqrt(3 / 500))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(gc.GraphcError, match="nonlinearity"):
        init.he_normal((3, 3), nonlinearity="swish")
    with pytest.raises(gc.GraphcError, match="mode"):
        init.he_normal((3, 3), mode="fan_avg")
    with pytest.raises(gc.GraphcError, match="shape"):
        init.zeros((2, -1))
    with pytest.raises(gc.GraphcError, match="low <= high"):
        init.uniform((2,), low=1.0, high=0.0)


def test_initializer_values_become_parameters():
    with gc.Graph("g"):
        w = gc.parameter("w", init.he_uniform((3, 4), seed=0))
    assert w.type == gc.TensorType.of("float32", (3, 4))
