"""gc.data.digits: the bundled scikit-learn digits with a fixed stratified split."""

import sys

import numpy as np
import pytest

import graphc as gc
from graphc.data import digits


@pytest.fixture(scope="module")
def split():
    return digits()


def test_shapes_and_dtypes(split):
    x_train, y_train, x_test, y_test = split
    assert x_train.shape == (1438, 64) and x_test.shape == (359, 64)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))


def test_split_is_stratified(split):
    _, y_train, _, y_test = split
    all_counts = np.bincount(y_train, minlength=10) + np.bincount(y_test, minlength=10)
    fraction = np.bincount(y_test, minlength=10) / all_counts
    assert np.all(np.abs(fraction - 0.2) < 0.01)


def test_fixed_seed_is_deterministic_and_seeds_differ(split):
    again = digits()
    for a, b in zip(split, again, strict=True):
        np.testing.assert_array_equal(a, b)
    other = digits(seed=1)
    assert not np.array_equal(other[1], split[1])


def test_images_are_nchw(split):
    x_train, _, x_test, _ = digits(images=True)
    assert x_train.shape == (1438, 1, 8, 8) and x_test.shape == (359, 1, 8, 8)
    np.testing.assert_array_equal(x_train.reshape(-1, 64), split[0])


def test_bad_fraction():
    with pytest.raises(gc.GraphcError, match="test_fraction"):
        digits(test_fraction=1.5)


def test_missing_scikit_learn_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # import raises ImportError
    with pytest.raises(gc.GraphcError, match=r"pip install graphc\[examples\]"):
        digits()
