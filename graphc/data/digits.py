"""scikit-learn's bundled 8x8 handwritten digits with a fixed, stratified train/test split."""

from __future__ import annotations

import numpy as np

from graphc.ir.errors import GraphcError

Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _load_digits():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise GraphcError(
            "gc.data.digits() needs scikit-learn (it ships the digits data set): "
            "pip install graphc[examples]"
        ) from None
    return load_digits()


def stratified_split(y: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """(train indices, test indices): ``test_fraction`` of every class, shuffled with ``seed``."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(test_fraction * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def digits(images: bool = False, test_fraction: float = 0.2, seed: int = 0) -> Split:
    """(x_train, y_train, x_test, y_test): 1797 digits, float32 in [0, 1], int64 labels.

    x is [N, 64], or [N, 1, 8, 8] (NCHW) with ``images=True``. The split keeps
    ``test_fraction`` of each class for testing (stratified), fixed by ``seed``; the default
    gives 1438 training and 359 test images.
    """
    if not 0.0 < test_fraction < 1.0:
        raise GraphcError(f"test_fraction must be in (0, 1), got {test_fraction}")
    bunch = _load_digits()
    x = (np.asarray(bunch.data, np.float64) / 16.0).astype(np.float32)  # pixels are 0..16
    y = np.asarray(bunch.target, np.int64)
    if images:
        x = x.reshape(-1, 1, 8, 8)
    train, test = stratified_split(y, test_fraction, seed)
    return x[train], y[train], x[test], y[test]
