"""W9: data-parallel training steps over MPI (global batch 128, 8x8 digits).

    python -m benchmarks.w9_distributed            # the measurement (a few minutes)
    python -m benchmarks.w9_distributed --quick    # a few steps each: checks the harness only

Models (float32, SGD 0.01): the MLP 64-256-128-10 of examples/mlp_digits.py and a CNN like
examples/cnn_digits.py's (conv3x3 1->16, batch norm, relu, maxpool2, conv3x3 16->32, batch norm,
relu, maxpool2, dense 128->10) without dropout and with per-rank batch norm statistics, which is
what PyTorch DDP does by default. Configurations, each in its own processes:

- graphc llvm, 1 process, 1 thread (GRAPHC_THREADS=1), batch 128
- graphc llvm, 1 process, 2 threads, batch 128
- graphc llvm, ``mpiexec -n 2``, 1 thread per rank, 64 per rank, ``SGD(distributed=True)``
- PyTorch DistributedDataParallel (gloo, loopback), ``mpiexec -n 2``, 1 thread per rank

Each rank times its steps after a barrier (so the ranks start together); the figure is rank 0's
median per step, i.e. per global batch of 128. "allreduce" is a sum-allreduce of one float32
buffer as large as all the gradients (graphc's bucket), timed alone the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.report import Section

ROOT = Path(__file__).resolve().parent.parent
GLOBAL_BATCH = 128
LR = 0.01
MODELS = ("MLP", "CNN")


def _batch(images: bool, rank: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Rank ``rank``'s share of the first global batch of sklearn's digits."""
    from sklearn.datasets import load_digits

    d = load_digits()
    share = GLOBAL_BATCH // size
    x = (d.data[:GLOBAL_BATCH] / 16.0).astype(np.float32)[rank * share:(rank + 1) * share]
    y = d.target[:GLOBAL_BATCH].astype(np.int64)[rank * share:(rank + 1) * share]
    return (x.reshape(-1, 1, 8, 8) if images else x), y


# --- graphc ---------------------------------------------------------------------------------


def _graphc_model(gc, x, images: bool) -> list:  # noqa: ANN001 (gc is the module)
    rng = np.random.default_rng(0)
    if not images:
        layers = [gc.nn.Dense(256, activation="relu", name="fc1", seed=rng),
                  gc.nn.Dense(128, activation="relu", name="fc2", seed=rng),
                  gc.nn.Dense(10, name="out", seed=rng)]
        h = x
        for layer in layers:
            h = layer(h)
        return [h, [p for layer in layers for p in layer.params], []]
    h, params, updates = x, [], []
    for i, ch in enumerate((16, 32)):
        conv = gc.nn.Conv2d(ch, 3, padding=1, name=f"conv{i}", bias=False, seed=rng)
        norm = gc.nn.BatchNorm(name=f"bn{i}")
        h, up = norm(conv(h), training=True)
        h = gc.max_pool2d(gc.relu(h), 2)
        params += conv.params + norm.params
        updates += up
    head = gc.nn.Dense(10, name="out", seed=rng)
    return [head(gc.flatten(h, 1)), params + head.params, updates]


def graphc_step(images: bool) -> tuple[Callable[[], object], int]:
    import graphc as gc
    from graphc import distributed as dist

    size, rank = dist.size(), dist.rank()
    xb, yb = _batch(images, rank, size)
    with gc.Graph("w9"):
        x = gc.placeholder("x", xb.shape)
        y = gc.placeholder("y", yb.shape, "int64")
        logits, params, updates = _graphc_model(gc, x, images)
        loss = gc.mean(gc.softmax_cross_entropy(logits, y))
        opt = gc.optim.SGD(params, lr=LR, distributed=size > 1)
        f = gc.function([x, y], loss, updates=opt.updates(loss) + updates, backend="llvm")
    return (lambda: f(xb, yb)), sum(p.value.size for p in params)


# --- PyTorch DDP ----------------------------------------------------------------------------


def torch_step(images: bool) -> tuple[Callable[[], object], int]:
    import torch

    nn = torch.nn
    rank, size = _mpi_env()
    torch.manual_seed(0)
    if images:
        m = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16),
                          nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 32, 3, padding=1, bias=False),
                          nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(128, 10))
    else:
        m = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                          nn.Linear(128, 10))
    n = sum(p.numel() for p in m.parameters())
    ddp = nn.parallel.DistributedDataParallel(m)
    opt = torch.optim.SGD(ddp.parameters(), lr=LR)
    xb, yb = (torch.from_numpy(a) for a in _batch(images, rank, size))

    def step() -> object:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(ddp(xb), yb)
        loss.backward()
        opt.step()
        return loss

    return step, n


def _mpi_env() -> tuple[int, int]:
    env = os.environ
    return int(env.get("OMPI_COMM_WORLD_RANK", 0)), int(env.get("OMPI_COMM_WORLD_SIZE", 1))


# --- one worker (one rank) ------------------------------------------------------------------


def _median(call: Callable[[], object], barrier: Callable[[], None], runs: int) -> float:
    times = []
    for _ in range(runs):
        barrier()
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def worker(system: str, runs: int) -> None:
    """Time both models' steps on this rank; rank 0 prints one JSON line per model."""
    if system == "ddp":
        import torch
        import torch.distributed as td

        torch.set_num_threads(1)
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29533")
        rank, size = _mpi_env()
        td.init_process_group("gloo", rank=rank, world_size=size)
        barrier, make, allreduce = td.barrier, torch_step, None
    else:
        from graphc import distributed as dist

        rank, size, barrier, make = dist.rank(), dist.size(), dist.barrier, graphc_step
        allreduce = _mpi_allreduce if size > 1 else None
    for model in MODELS:
        step, n = make(model == "CNN")
        for _ in range(3):
            step()
        t = _median(step, barrier, runs)
        ar = _median(allreduce(n), barrier, max(runs, 20)) if allreduce else 0.0
        if rank == 0:
            print(json.dumps({"model": model, "step": t, "allreduce": ar, "params": n}),
                  flush=True)
    if system == "ddp":
        td.destroy_process_group()


def _mpi_allreduce(n: int) -> Callable[[], None]:
    from mpi4py import MPI

    from graphc import distributed as dist

    comm, buf = dist.init(), np.ones(n, np.float32)
    return lambda: comm.Allreduce(MPI.IN_PLACE, buf)


# --- the launcher ---------------------------------------------------------------------------

CONFIGS = (  # label, worker system, ranks, threads per rank
    ("graphc llvm, 1 process, 1 thread", "graphc", 1, 1),
    ("graphc llvm, 1 process, 2 threads", "graphc", 1, 2),
    ("graphc llvm, 2 ranks x 1 thread (distributed=True)", "graphc", 2, 1),
    ("PyTorch DDP gloo, 2 ranks x 1 thread", "ddp", 2, 1),
)


def _mpiexec(ranks: int) -> list[str]:
    local = Path(sys.executable).parent / "mpiexec"
    found = str(local) if local.exists() else shutil.which("mpiexec")
    if not found:
        raise SystemExit("mpiexec not found: pip install -e .[mpi]")
    flags = ["--allow-run-as-root"] if os.geteuid() == 0 else []
    # Only when there are fewer cores than ranks: oversubscribed, Open MPI yields while it
    # waits, and a collective after a long wait (a compile on the other rank) then took 16 ms
    # instead of 0.04 ms on a busy machine, for every later call
    if ranks > (os.cpu_count() or 1):
        flags.append("--oversubscribe")
    return [found, *flags]


def launch(system: str, ranks: int, threads: int, runs: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1",
           "OMP_NUM_THREADS": str(threads), "GRAPHC_THREADS": str(threads)}
    cmd = [sys.executable, "-m", "benchmarks.w9_distributed", "--worker", system,
           "--runs", str(runs)]
    if ranks > 1:
        cmd = [*_mpiexec(ranks), "-n", str(ranks), *cmd]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return [json.loads(ln) for ln in done.stdout.splitlines() if ln.startswith("{")]


COLUMNS = ["model", "system", "step ms (median, per global batch 128)",
           "allreduce ms (floats)", "allreduce share of step"]


def rows(results: dict[str, list[dict]]) -> list[list[str]]:
    out = []
    for model in MODELS:
        for label, found in results.items():
            r = next(r for r in found if r["model"] == model)
            ar = r["allreduce"]
            comm = ([f"{ar * 1e3:.3f} ({r['params']})", f"{ar / r['step'] * 100:.1f}%"] if ar
                    else ["-", "-"])
            out.append([model, label, f"{r['step'] * 1e3:.2f}", *comm])
    return out


def sections(quick: bool, runs: int = 200) -> list[Section]:
    """W9's table (``python -m benchmarks --only W9`` and this module's own command)."""
    runs = 3 if quick else runs
    load = os.getloadavg()
    results = {label: launch(system, ranks, threads, runs)
               for label, system, ranks, threads in CONFIGS}
    note = (f"{runs} timed steps per configuration and model; load average at start "
            f"{load[0]:.1f}, at end {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    return [Section("W9: data-parallel training steps over MPI", COLUMNS, rows(results),
                    [note])]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.w9_distributed", description=__doc__)
    p.add_argument("--quick", action="store_true", help="3 timed steps each: checks the harness")
    p.add_argument("--runs", type=int, default=200, help="timed steps per model (default 200)")
    p.add_argument("--worker", choices=("graphc", "ddp"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    runs = 3 if args.quick else args.runs
    if args.worker:
        worker(args.worker, runs)
        return 0
    for section in sections(args.quick, runs):
        print(section.markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
