"""Quickstart: build a graph, print its text IR, round-trip it, compile it and run it.

Run with ``python examples/quickstart.py`` (or ``make demo``).
"""

from __future__ import annotations

import numpy as np

import graphc as gc


def build() -> tuple[gc.Graph, dict[str, gc.Tensor]]:
    """A linear classifier with a softmax cross-entropy loss (the public-API example)."""
    rng = np.random.default_rng(0)
    g = gc.Graph("mlp")
    with g:  # ops created inside go into g
        x = gc.placeholder("x", ("B", 64), "float32")  # a dim is an int, a name, or None
        y = gc.placeholder("y", ("B",), "int64")
        w = gc.parameter("w", rng.normal(0, 0.1, (64, 10)).astype(np.float32))
        b = gc.parameter("b", np.zeros(10, np.float32))
        c = gc.constant(np.float32(0.5))
        logits = x @ w + b * c
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
    return g, {"x": x, "y": y, "w": w, "loss": loss, "logits": logits}


def main() -> None:
    g, t = build()
    text = str(g)  # the text IR; gc.print_ir(g) is the same
    print(text)
    assert str(gc.parse(text)) == text, "the text IR round-trips"
    print("round trip: parse(print(g)) prints identically")

    f = gc.function([t["x"], t["y"]], [t["loss"], t["logits"]], backend="numpy")
    rng = np.random.default_rng(1)
    xb = rng.normal(size=(32, 64)).astype(np.float32)
    yb = rng.integers(0, 10, size=32)
    loss_v, logits_v = f(xb, yb)  # returns NumPy arrays
    print("the program gc.function compiled (only what the outputs need):")
    print(f.ir())
    print(f"logits {logits_v.dtype}{list(logits_v.shape)}, loss = {float(loss_v):.4f}")


if __name__ == "__main__":
    main()
