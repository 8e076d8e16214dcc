"""The problems every system solves: parameters and data (float32, fixed seeds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LR = 0.1
MLP_SIZES = (784, 256, 256, 10)
CLASSES = 10


def _glorot(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, fan_out: int):
    lim = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-lim, lim, size=shape).astype(np.float32)


def _bias(rng: np.random.Generator, n: int) -> np.ndarray:
    # Non-zero biases, so a system that mishandles them disagrees in the first loss.
    return rng.uniform(-0.1, 0.1, size=n).astype(np.float32)


def mlp_params(seed: int = 0) -> list[np.ndarray]:
    """[W1, b1, W2, b2, W3, b3] for 784-256-256-10; W is (fan_in, fan_out)."""
    rng = np.random.default_rng(seed)
    out: list[np.ndarray] = []
    for n_in, n_out in zip(MLP_SIZES[:-1], MLP_SIZES[1:], strict=True):
        out += [_glorot(rng, (n_in, n_out), n_in, n_out), _bias(rng, n_out)]
    return out


def batch(shape: tuple[int, ...], seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Inputs of ``shape`` (standard normal, float32) and int64 labels in [0, 10)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape, dtype=np.float32)
    y = rng.integers(0, CLASSES, size=shape[0], dtype=np.int64)
    return x, y


@dataclass(frozen=True)
class CNNShape:
    """The CNN of W2: conv3x3 1->c1, pool, conv3x3 c1->c2, pool, dense -> hidden -> 10."""

    batch: int = 64
    side: int = 28
    c1: int = 32
    c2: int = 64
    hidden: int = 128

    @property
    def flat(self) -> int:
        return self.c2 * (self.side // 4) ** 2


def cnn_params(s: CNNShape, seed: int = 0) -> list[np.ndarray]:
    """[K1, c1, K2, c2, W3, b3, W4, b4]: conv kernels OIHW, dense W (fan_in, fan_out)."""
    rng = np.random.default_rng(seed)
    k1 = _glorot(rng, (s.c1, 1, 3, 3), 9, 9 * s.c1)
    k2 = _glorot(rng, (s.c2, s.c1, 3, 3), 9 * s.c1, 9 * s.c2)
    w3 = _glorot(rng, (s.flat, s.hidden), s.flat, s.hidden)
    w4 = _glorot(rng, (s.hidden, CLASSES), s.hidden, CLASSES)
    return [k1, _bias(rng, s.c1), k2, _bias(rng, s.c2), w3, _bias(rng, s.hidden), w4,
            _bias(rng, CLASSES)]


def cnn_batch(s: CNNShape, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """A batch of 1-channel images and labels for the CNN."""
    return batch((s.batch, 1, s.side, s.side), seed)


def softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[np.float32, np.ndarray]:
    """Mean softmax cross-entropy and its gradient w.r.t. the logits (hand-written NumPy)."""
    rows = np.arange(len(y))
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    loss = (np.log(s[:, 0]) - z[rows, y]).mean()
    g = e / s
    g[rows, y] -= 1.0
    g *= np.float32(1.0 / len(y))
    return loss, g


def sgd(params: list[np.ndarray], grads: list[np.ndarray]) -> None:
    """p -= lr * g in place."""
    lr = np.float32(LR)
    for p, g in zip(params, grads, strict=True):
        g *= lr
        p -= g
