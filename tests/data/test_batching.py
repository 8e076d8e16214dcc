"""gc.data.batches: coverage, order, seeds, drop_last."""

import numpy as np
import pytest

import graphc as gc
from graphc.data import batches

X = np.arange(10 * 2).reshape(10, 2)
Y = np.arange(10)


def test_unshuffled_batches_in_order_with_short_last():
    got = list(batches(X, Y, 4, shuffle=False))
    assert [len(yb) for _, yb in got] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate([yb for _, yb in got]), Y)


def test_shuffled_batches_cover_every_row_once_and_keep_pairs():
    got = list(batches(X, Y, 3, seed=0))
    ys = np.concatenate([yb for _, yb in got])
    assert sorted(ys) == list(range(10)) and not np.array_equal(ys, Y)
    for xb, yb in got:
        np.testing.assert_array_equal(xb, X[yb])


def test_seed_makes_the_order_reproducible():
    first = [yb for _, yb in batches(X, Y, 3, seed=5)]
    second = [yb for _, yb in batches(X, Y, 3, seed=5)]
    other = [yb for _, yb in batches(X, Y, 3, seed=6)]
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_drop_last_gives_equal_batches():
    got = list(batches(X, Y, 4, seed=0, drop_last=True))
    assert [len(yb) for _, yb in got] == [4, 4]


@pytest.mark.parametrize(
    ("args", "match"), [((X, Y[:9], 2), "rows"), ((X, Y, 0), "batch_size")]
)
def test_errors(args, match):
    with pytest.raises(gc.GraphcError, match=match):
        list(batches(*args))
