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
    rank: int = 0,
    size: int = 1,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (x_batch, y_batch) pairs covering the data once, shuffled when ``shuffle``.

    ``seed`` makes the order reproducible (pass e.g. ``seed + epoch`` for a new order per epoch,
    or one Generator for a stream); ``drop_last`` drops a final short batch so every batch has
    exactly ``batch_size`` rows (one shape: one compiled kernel).

    Data parallel: with ``size`` ranks, ``batch_size`` is the global batch and rank ``rank``
    gets rows ``[rank * k, (rank + 1) * k)`` of each global batch (k = batch_size // size, so
    batch_size must be a multiple of size); every rank passes the same ``seed``, so the shares
    are disjoint and together cover the batch. A final short batch is cut to a multiple of
    ``size`` rows (the remainder, fewer than ``size`` rows, is skipped in that epoch).
    """
    if len(x) != len(y):
        raise GraphcError(f"x has {len(x)} rows but y has {len(y)}")
    if not isinstance(batch_size, int | np.integer) or batch_size < 1:
        raise GraphcError(f"batch_size must be a positive int, got {batch_size!r}")
    _check_share(batch_size, rank, size)
    n = len(x)
    order = np.arange(n)
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        order = rng.permutation(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        k = len(idx) // size
        if k == 0:
            return
        idx = idx[rank * k : (rank + 1) * k]
        yield x[idx], y[idx]


def _check_share(batch_size: int, rank: int, size: int) -> None:
    if not isinstance(size, int | np.integer) or size < 1:
        raise GraphcError(f"size must be a positive int (the number of ranks), got {size!r}")
    if not isinstance(rank, int | np.integer) or not 0 <= rank < size:
        raise GraphcError(f"rank must be an int with 0 <= rank < size={size}, got {rank!r}")
    if batch_size % size:
        raise GraphcError(f"the global batch_size {batch_size} must be a multiple of the "
                          f"{size} ranks (each rank gets an equal share)")
