"""A data-parallel training run, started by tests/distributed under mpiexec or alone.

    mpiexec -n 2 python -m tests.distributed.dp_worker OUT.npz --backend numpy

Trains a small MLP on the digits with SGD for --steps steps of global batch --batch (each
rank its share, from gc.data.batches(rank=, size=)), starting every rank from different
weights (seeded by the rank) that the distributed optimizer replaces with rank 0's. Rank 0
saves the losses (each the global batch's mean, averaged by an allreduce in the graph) and the
final parameters to OUT.npz via gc.save (rank 0 writes, the others wait).
--fail-at N makes rank --fail-rank raise (or, with --kill, SIGKILL itself) at step N, after a
checkpoint saved at step N - 2, so the test can check that the others stop and no partial
checkpoint is left.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import graphc as gc  # noqa: E402
from graphc import distributed as dist  # noqa: E402


def build(backend: str, seed: int, batch: int, steps: int, bn: bool = False):
    rng = np.random.default_rng(seed)
    with gc.Graph("dp"):
        x = gc.placeholder("x", (batch, 64))
        y = gc.placeholder("y", (batch,), "int64")
        # before a batch norm a bias has no gradient (the norm subtracts the mean): none
        fc1 = gc.nn.Dense(32, activation=None if bn else "relu", name="fc1", bias=not bn,
                          seed=rng)
        fc2 = gc.nn.Dense(10, name="fc2", seed=rng)
        h, extra = fc1(x), []
        if bn:  # synchronized batch norm: the statistics of the global batch
            norm = gc.nn.BatchNorm(name="bn", sync=True)
            h, extra = norm(h)
            h = gc.relu(h)
        loss = gc.mean(gc.softmax_cross_entropy(fc2(h), y))
        params = fc1.params + fc2.params + (norm.params if bn else [])
        record = gc.parameter("losses", np.zeros(steps, np.float32))
        opt = gc.optim.SGD(params, lr=0.1, distributed=True)
        step = gc.function([x, y], gc.allreduce(loss, op="mean"),
                           updates=opt.updates(loss) + extra, backend=backend)
    return step, params + (norm.state if bn else []), record


def _shares(x: np.ndarray, y: np.ndarray, batch: int):
    """This rank's share of every global batch, epoch after epoch (seed 7 + epoch on all)."""
    for epoch in range(1000):
        yield from gc.data.batches(x, y, batch, seed=7 + epoch, drop_last=True,
                                   rank=dist.rank(), size=dist.size())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--backend", default="numpy")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--batch", type=int, default=128, help="the global batch")
    p.add_argument("--fail-at", type=int, default=-1)
    p.add_argument("--fail-rank", type=int, default=1)
    p.add_argument("--kill", action="store_true")
    p.add_argument("--bn", action="store_true", help="with a synchronized batch norm")
    args = p.parse_args(argv)
    rank, size = dist.rank(), dist.size()
    x_all, y_all, _, _ = gc.data.digits()
    step, params, record = build(args.backend, rank, args.batch // size, args.steps, args.bn)
    losses: list[float] = []
    for i, (xb, yb) in zip(range(args.steps), _shares(x_all, y_all, args.batch), strict=False):
        if i == args.fail_at and rank == args.fail_rank:
            if args.kill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError(f"rank {rank} failing on purpose at step {i}")
        if args.fail_at >= 0 and i == args.fail_at - 2:
            gc.save(args.out, params)
        losses.append(float(step(xb, yb)))
    record.value = np.array(losses, np.float32)
    gc.save(args.out, [*params, record])
    return 0


if __name__ == "__main__":
    sys.exit(main())
