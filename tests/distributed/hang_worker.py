"""Rank 1 hangs (sleeps forever) while rank 0 enters an allreduce or a barrier (for
tests/distributed).

    GRAPHC_MPI_TIMEOUT=2 mpiexec -n 2 python -m tests.distributed.hang_worker --backend llvm
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import graphc as gc
from graphc import distributed as dist


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="numpy")
    p.add_argument("--op", choices=("allreduce", "barrier"), default="allreduce")
    args = p.parse_args()
    with gc.Graph("hang"):
        x = gc.placeholder("x", (4,))
        f = gc.function([x], gc.allreduce(x), backend=args.backend)
    dist.barrier()  # both ranks are up; from here on rank 1 never answers
    if dist.rank() == 1:
        while True:
            time.sleep(3600)
    if args.op == "barrier":
        dist.barrier()
    else:
        f(np.ones(4, np.float32))
    print(f"rank 0 returned from the {args.op}", flush=True)


if __name__ == "__main__":
    main()
