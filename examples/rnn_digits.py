"""Classify handwritten digits read row by row with an LSTM (gc.nn.LSTM over gc.scan).

    python examples/rnn_digits.py                      # sklearn's 8x8 digits, numpy backend
    python examples/rnn_digits.py --plot rnn.png --dump-ir
    python examples/rnn_digits.py --mnist ~/data/mnist # MNIST: 28 steps of 28 pixels

Each image is a sequence: 8 steps of one 8-pixel row (MNIST: 28 of 28). An LSTM reads the rows
(one ``scan`` node in the IR whatever the length, its body the LSTM cell, differentiated into a
reverse scan) and a dense layer classifies its last hidden state. The training loop, command
line, plotting and saving come from examples/mlp_digits.py.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the shared training loop
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy loads: see mlp_digits.py

import numpy as np  # noqa: E402
from mlp_digits import Model, parser, run  # noqa: E402

import graphc as gc  # noqa: E402

HIDDEN = 64


def build_lstm(x: gc.Tensor, classes: int, rng: np.random.Generator) -> Model:
    """x [B, 1, rows, cols] -> rows steps of cols pixels -> LSTM -> dense on the last h."""
    _, _, rows, cols = x.shape
    seq = gc.reshape(x, ("B", rows, cols))
    lstm = gc.nn.LSTM(cols, HIDDEN, batch_first=True, name="lstm", seed=rng)
    _, (h_n, _) = lstm(seq)
    head = gc.nn.Dense(classes, name="out", seed=rng)
    logits = head(h_n[0])
    return Model(logits, logits, lstm.params + head.params)


def main(argv: list[str] | None = None) -> int:
    """Train the LSTM."""
    args = parser(__doc__.splitlines()[0], epochs=15, lr=1e-2, batch_size=32).parse_args(argv)
    return run(build_lstm, images=True, args=args)


if __name__ == "__main__":
    sys.exit(main())
