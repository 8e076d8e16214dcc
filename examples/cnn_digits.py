"""Train a small convolutional network on handwritten digits with graphc.

    python examples/cnn_digits.py                      # sklearn's 8x8 digits, numpy backend
    python examples/cnn_digits.py --plot cnn.png --save cnn.npz
    python examples/cnn_digits.py --mnist ~/data/mnist # the real MNIST IDX files (28x28)

Two convolution blocks (conv, batch norm, relu, 2x2 max pool, dropout) and a dense classifier
after a dropout, the source material's conv -> relu -> pool -> dropout pattern. Batch norm and
dropout have two forms over the same parameters: while training, batch statistics (the running
statistics are updated by the training step) and random masks; for evaluation, running
statistics and no dropout. The dropout key is graph state ("dropout.rng", advanced by every
step and saved with --save), so a resumed run continues the same random stream. The training
loop, command line, plotting and saving come from examples/mlp_digits.py.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared training loop
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: see mlp_digits.py

import numpy as np  # noqa: E402
from mlp_digits import Model, parser, run  # noqa: E402

import graphc as gc  # noqa: E402

BLOCK_DROPOUT, HEAD_DROPOUT = 0.1, 0.25


def build_cnn(x: gc.Tensor, classes: int, rng: np.random.Generator) -> Model:
    """x [B, 1, H, W] -> 2 x (conv 3x3, batch norm, relu, max pool 2, dropout) -> dropout ->
    dense classes."""
    # no conv bias: batch norm subtracts the per-channel mean right after, cancelling it
    convs = [gc.nn.Conv2d(16, 3, padding=1, name="conv1", bias=False, seed=rng),
             gc.nn.Conv2d(32, 3, padding=1, name="conv2", bias=False, seed=rng)]
    # on several ranks (mpiexec, --distributed) the batch statistics are the global batch's
    sync = gc.distributed.size() > 1
    norms = [gc.nn.BatchNorm(name="bn1", sync=sync), gc.nn.BatchNorm(name="bn2", sync=sync)]
    drops = [gc.nn.Dropout(BLOCK_DROPOUT), gc.nn.Dropout(BLOCK_DROPOUT),
             gc.nn.Dropout(HEAD_DROPOUT)]
    head = gc.nn.Dense(classes, name="out", seed=rng)
    key_state = gc.random.state("dropout.rng", int(rng.integers(2**31)))
    key, key_update = gc.random.next_key(key_state)  # a fresh key for every training step
    keys = gc.random.split(key, len(drops))
    logits, updates = [], [key_update]
    for training in (True, False):
        h = x
        for conv, norm, drop, k in zip(convs, norms, drops, keys, strict=False):
            h, norm_updates = norm(conv(h), training=training)
            h = drop(gc.max_pool2d(gc.relu(h), 2), k, training)
            updates += norm_updates
        h = drops[-1](gc.flatten(h, 1), keys[-1], training)
        logits.append(head(h))
    params = [p for layer in (*convs, *norms, head) for p in layer.params]
    state = [s for norm in norms for s in norm.state] + [key_state]
    return Model(logits[0], logits[1], params, state, updates)


def main(argv: list[str] | None = None) -> int:
    """Train the CNN."""
    args = parser(__doc__.splitlines()[0], epochs=15, lr=3e-3, batch_size=32).parse_args(argv)
    return run(build_cnn, images=True, args=args)


if __name__ == "__main__":
    sys.exit(main())
