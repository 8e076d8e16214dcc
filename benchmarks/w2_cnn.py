"""W2: one SGD training step of a small CNN on 64 1x28x28 images."""

from __future__ import annotations

from collections.abc import Callable

from benchmarks import cnn_numpy, cnn_peers, graphc_steps
from benchmarks.harness import BASELINE, GRAPHC, PEER, System, Workload, loss_probe, rel_compare
from benchmarks.models import CNNShape, cnn_batch, cnn_params

REFERENCE = "NumPy by hand"
QUICK = CNNShape(batch=8)


def systems(s: CNNShape) -> list[System]:
    """Every contender (builders are lazy)."""
    init = cnn_params(s)
    x, y = cnn_batch(s)

    def gcs(backend: str) -> Callable[[], Callable]:
        return lambda: graphc_steps.cnn_step(backend, init, x, y, s)

    return [
        System(REFERENCE, BASELINE, lambda: cnn_numpy.cnn_step(init, x, y, s),
               "im2col + BLAS, argmax pooling"),
        System("graphc numpy", GRAPHC, gcs("numpy")),
        System("graphc llvm", GRAPHC, gcs("llvm")),
        *[System(name, PEER, lambda b=b: b(init, x, y), note, slow)
          for name, b, note, slow in cnn_peers.BUILDERS],
    ]


def workloads(quick: bool) -> list[Workload]:
    """A single workload."""
    s = QUICK if quick else CNNShape()
    title = (f"W2: CNN training step, batch {s.batch}x1x{s.side}x{s.side} (conv3x3 1->{s.c1}, "
             f"pool, conv3x3 {s.c1}->{s.c2}, pool, dense {s.flat}->{s.hidden}->10)")
    notes = ["float32, ReLU, 2x2 max pooling, softmax cross-entropy, SGD lr 0.1; check = largest "
             "relative difference of the first 3 losses against NumPy by hand (ok within 1e-4). "
             "No floor row: the conv layers have no single-library GEMM floor worth quoting."]
    return [Workload(title, systems(s), loss_probe(3), rel_compare(1e-4), REFERENCE, notes)]
