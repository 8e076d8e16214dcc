"""Minibatches over (x, y) arrays."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from graphc.ir.errors import GraphcError


def batches(
    x: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    seed: int | np.random.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch, y_batch) pairs covering the data once, shuffled when ``shuffle``.

    ``seed`` makes the order reproducible (pass e.g. ``seed + epoch`` for a new order per epoch,
    or one Generator for a stream); ``drop_last`` drops a final short batch so every batch has
    exactly ``batch_size`` rows (one shape: one compiled kernel).
    """
    if len(x) != len(y):
        raise GraphcError(f"x has {len(x)} rows but y has {len(y)}")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise GraphcError(f"batch_size must be a positive int, got {batch_size!r}")
    n = len(x)
    order = np.arange(n)
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield x[idx], y[idx]
