"""Datasets and batching for the examples: sklearn's digits, MNIST IDX files, minibatches."""

from graphc.data.batching import batches
from graphc.data.digits import digits
from graphc.data.mnist import mnist, read_idx

__all__ = ["batches", "digits", "mnist", "read_idx"]
