"""Data-parallel training over MPI: the world of processes started by ``mpiexec``.

    import graphc as gc
    from graphc import distributed as dist
    dist.init()                      # optional: a collective starts MPI under mpiexec anyway
    opt = gc.optim.SGD(params, lr=0.1, distributed=True)
    for xb, yb in gc.data.batches(x, y, 128, rank=dist.rank(), size=dist.size()): ...

Outside ``mpiexec`` the world is this one process: rank 0 of size 1, collectives are the
identity and mpi4py is never imported. MPI comes with the extra ``graphc[mpi]`` (mpi4py and an
Open MPI wheel, which brings ``mpiexec``). The collectives themselves are graph ops
(``gc.allreduce``, ``gc.broadcast``) defined in graphc.ops.collective.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphc.ops import collective

__all__ = ["barrier", "broadcast_array", "init", "is_root", "rank", "size"]


def init() -> Any:
    """Start MPI (idempotent) and return mpi4py's COMM_WORLD; a DistributedError naming the
    ``graphc[mpi]`` extra when mpi4py is not installed."""
    return collective.init()


def rank() -> int:
    """This process's rank (0 outside mpiexec)."""
    return collective.world_rank()


def size() -> int:
    """The number of processes (1 outside mpiexec)."""
    return collective.world_size()


def is_root() -> bool:
    """True on rank 0: the rank that prints, evaluates and writes checkpoints."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank reaches this point (nothing to wait for in one process)."""
    collective.run_barrier()


def broadcast_array(arr: np.ndarray, root: int = 0) -> np.ndarray:
    """``arr`` overwritten in place with rank ``root``'s values (returned)."""
    collective.run_collective("broadcast", arr, root)
    return arr
