"""Train a multilayer perceptron on handwritten digits with graphc.

    python examples/mlp_digits.py                      # sklearn's 8x8 digits, numpy backend
    python examples/mlp_digits.py --backend llvm --plot curves.png --save mlp.npz
    python examples/mlp_digits.py --mnist ~/data/mnist # the real MNIST IDX files
    python examples/mlp_digits.py --report report.html # the explorer page, with the curves
    mpiexec -n 2 python examples/mlp_digits.py --distributed  # data parallel over 2 processes

The model is built from gc ops and gc.nn layers; gc.grad differentiates the loss, an optimizer
turns the gradients into parameter updates, and gc.function compiles one training step (the
forward pass, the backward pass and the updates) into a single callable. This file also holds
the training loop that examples/cnn_digits.py shares.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

# One BLAS thread unless the user says otherwise: a training step's GEMMs are small, and
# OpenBLAS's spinning threads made this run 5-8x slower on a busy 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import graphc as gc  # noqa: E402
from graphc.support.files import atomic_file  # noqa: E402


@dataclass
class Model:
    """What a model builder returns: logits for training and for evaluation, and parameters."""

    train_logits: gc.Tensor
    eval_logits: gc.Tensor
    params: list[gc.Tensor]  # trained by the optimizer
    state: list[gc.Tensor] = field(default_factory=list)  # saved, not trained (BN statistics)
    updates: list = field(default_factory=list)  # extra updates of a step (BN statistics)


Builder = Callable[[gc.Tensor, int, np.random.Generator], Model]


def build_mlp(x: gc.Tensor, classes: int, rng: np.random.Generator) -> Model:
    """x [B, F] -> dense 256 relu -> dense 128 relu -> dense classes."""
    layers = [
        gc.nn.Dense(256, activation="relu", name="fc1", init="he_uniform", seed=rng),
        gc.nn.Dense(128, activation="relu", name="fc2", init="he_uniform", seed=rng),
        gc.nn.Dense(classes, name="out", seed=rng),
    ]
    h = x
    for layer in layers:
        h = layer(h)
    return Model(h, h, [p for layer in layers for p in layer.params])


def parser(description: str, epochs: int, lr: float, batch_size: int) -> argparse.ArgumentParser:
    """The command line both examples share, with per-model defaults."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--backend", choices=["numpy", "llvm"], default="numpy")
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--seed", type=int, default=0, help="initialization and shuffling seed")
    p.add_argument("--batch-size", type=int, default=batch_size)
    p.add_argument("--lr", type=float, default=lr, help="Adam learning rate")
    p.add_argument("--mnist", metavar="DIR", help="train on the MNIST IDX files in DIR")
    p.add_argument("--dump-ir", action="store_true", help="print the training step's IR")
    p.add_argument("--plot", metavar="FILE.png", help="write loss and accuracy curves")
    p.add_argument("--save", metavar="FILE.npz", help="save the trained parameters")
    p.add_argument("--report", metavar="FILE.html",
                   help="write the explorer page of the training step with the curves")
    p.add_argument("--distributed", action="store_true",
                   help="data parallel under mpiexec: each rank trains on its share of every "
                        "--batch-size global batch (pip install 'graphc[mpi]')")
    return p


def load(args: argparse.Namespace, images: bool) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): MNIST from --mnist, else sklearn's digits."""
    if args.mnist:
        return gc.data.mnist(args.mnist, images=images)
    return gc.data.digits(images=images)


@dataclass
class Program:
    """The compiled step and evaluation functions and what they update."""

    step: gc.Function
    evaluate: gc.Function
    model: Model
    lr: gc.Tensor  # a parameter: the schedule sets it between epochs


def compile_program(args: argparse.Namespace, x_shape: tuple, build: Builder) -> Program:
    """Build the graph: model, mean cross-entropy, Adam updates, accuracy; compile both."""
    rng = np.random.default_rng(args.seed)
    with gc.Graph("train"):
        x = gc.placeholder("x", ("B", *x_shape[1:]))
        y = gc.placeholder("y", ("B",), "int64")
        model = build(x, 10, rng)
        loss = gc.mean(gc.softmax_cross_entropy(model.train_logits, y))
        lr = gc.parameter("lr", np.float32(args.lr))
        optimizer = gc.optim.Adam(model.params, lr=lr, distributed=args.distributed)
        updates = optimizer.updates(loss) + model.updates
        step = gc.function([x, y], loss, updates=updates, backend=args.backend)
        eval_loss = gc.sum(gc.softmax_cross_entropy(model.eval_logits, y))
        hits = gc.sum(gc.cast(gc.equal(gc.argmax(model.eval_logits, axis=1), y), "float32"))
        evaluate = gc.function([x, y], [eval_loss, hits], backend=args.backend)
    return Program(step, evaluate, model, lr)


def accuracy(program: Program, x: np.ndarray, y: np.ndarray, chunk: int = 2000) -> tuple:
    """(mean loss, accuracy) over a data set, in chunks to bound memory."""
    total_loss = total_hits = 0.0
    for start in range(0, len(x), chunk):
        loss, hits = program.evaluate(x[start : start + chunk], y[start : start + chunk])
        total_loss, total_hits = total_loss + float(loss), total_hits + float(hits)
    return total_loss / len(x), total_hits / len(x)


def cosine(lr: float, epoch: int, epochs: int) -> float:
    """Cosine decay from ``lr`` towards 0: large steps early, a settled model at the end."""
    return lr * 0.5 * (1.0 + np.cos(np.pi * (epoch - 1) / epochs))


def train(args: argparse.Namespace, data: tuple[np.ndarray, ...], build: Builder) -> float:
    """Run the epochs with a progress bar; returns the final test accuracy."""
    x_train, y_train, x_test, y_test = data
    program = compile_program(args, x_train.shape, build)
    if args.dump_ir:
        print(program.step.ir())
    rng = np.random.default_rng(args.seed + 1)
    steps = args.epochs * (len(x_train) // args.batch_size)
    curves: dict[str, list[float]] = {"train loss": [], "test loss": [], "test accuracy": []}
    rank, size = (gc.distributed.rank(), gc.distributed.size()) if args.distributed else (0, 1)
    with tqdm(total=steps, desc="training", unit="step", file=sys.stderr,
              disable=rank != 0) as bar:
        for epoch in range(1, args.epochs + 1):
            program.lr.value = np.float32(cosine(args.lr, epoch, args.epochs))
            losses = []
            for xb, yb in gc.data.batches(x_train, y_train, args.batch_size, seed=rng,
                                          drop_last=True,  # one batch shape: one kernel set
                                          rank=rank, size=size):  # this rank's share
                losses.append(float(program.step(xb, yb)))
                bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.4f}", refresh=False)
                bar.update()
            test_loss, test_acc = accuracy(program, x_test, y_test)
            for key, value in zip(curves, (np.mean(losses), test_loss, test_acc), strict=True):
                curves[key].append(float(value))
            bar.set_postfix(epoch=epoch, loss=f"{np.mean(losses):.4f}", test_acc=f"{test_acc:.4f}")
    finish(args, program, curves)
    return curves["test accuracy"][-1]


def plot(path: str, curves: dict[str, list[float]]) -> None:
    """Loss and accuracy per epoch as a PNG (matplotlib's Agg backend, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    epochs = range(1, len(curves["train loss"]) + 1)
    ax_loss.plot(epochs, curves["train loss"], label="train")
    ax_loss.plot(epochs, curves["test loss"], label="test")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy", title="loss")
    ax_loss.legend()
    ax_acc.plot(epochs, curves["test accuracy"], color="tab:green")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="test accuracy")
    fig.tight_layout()
    with atomic_file(path) as f:  # a crash never leaves a half-written image
        fig.savefig(f, format="png", dpi=100)
    plt.close(fig)


def finish(args: argparse.Namespace, program: Program, curves: dict[str, list[float]]) -> None:
    """Plot and save as asked, then print the final test accuracy (rank 0 alone writes and
    prints; gc.save runs on every rank and writes once)."""
    if args.save:
        gc.save(args.save, program.model.params + program.model.state)
    if not gc.distributed.is_root():
        return
    if args.save:
        print(f"saved {len(program.model.params + program.model.state)} arrays to {args.save}")
    if args.plot:
        plot(args.plot, curves)
        print(f"wrote {args.plot}")
    if args.report:
        program.step.explore(args.report, history=curves)
        print(f"wrote {args.report}")
    print(f"test accuracy: {curves['test accuracy'][-1]:.4f}")


def run(build: Builder, images: bool, args: argparse.Namespace) -> int:
    """Load data, train, report; graphc errors become one line on stderr and exit code 1."""
    start = time.perf_counter()
    try:
        train(args, load(args, images), build)
    except gc.GraphcError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if gc.distributed.is_root():
        print(f"time: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Train the MLP."""
    args = parser(__doc__.splitlines()[0], epochs=20, lr=2e-3, batch_size=32).parse_args(argv)
    return run(build_mlp, images=False, args=args)


if __name__ == "__main__":
    sys.exit(main())
