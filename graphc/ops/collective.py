"""Collective ops over MPI (allreduce, broadcast) and the process's communicator.

The communicator lives here, below passes and backends, because every layer that runs or
rewrites a collective needs it: the NumPy kernels call mpi4py, canonicalize drops collectives
when the world has one process, the llvm backend's runtime calls back into ``run_collective``.

The world is MPI's COMM_WORLD once ``init()`` ran. A process started by ``mpiexec`` is detected
from the launcher's environment (Open MPI, MPICH/PMI, PMIx), so a collective under ``mpiexec``
never silently runs as the identity; outside a launch mpi4py is not imported at all and the
world is this one process. ``init()`` installs an exception hook that aborts the whole job, so
a rank that fails stops the others (MPI would otherwise wait for it forever).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

from graphc.ir.errors import AttributeError_, DistributedError, DTypeError, GradError
from graphc.ir.opdef import AttrSpec, OpDef, register
from graphc.ir.types import TensorType
from graphc.ops._cost import free

__all__ = ["allreduce", "broadcast"]

EXTRA_HINT = "install the MPI extra: pip install 'graphc[mpi]' (mpi4py and an MPI library)"
# environment variables a launcher sets to the world size (Open MPI, PMIx, MPICH/Hydra PMI)
LAUNCH_SIZE_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "MPI_LOCALNRANKS")
REDUCE_OPS = ("sum", "mean", "max", "min")
TIMEOUT_VAR = "GRAPHC_MPI_TIMEOUT"  # seconds a collective may wait for the other ranks
SPIN_SECONDS = 0.01  # poll without sleeping first: a collective usually completes in microseconds
_STATE: dict[str, Any] = {"comm": None, "mpi": None}


def launched_size() -> int:
    """The world size the launcher announced in the environment (1 outside ``mpiexec``)."""
    for var in LAUNCH_SIZE_VARS:
        value = os.environ.get(var, "").strip()
        if value.isdigit():
            return int(value)
    return 1


def init() -> Any:
    """Start MPI (idempotent) and return COMM_WORLD; DistributedError naming the extra if
    mpi4py is missing."""
    if _STATE["comm"] is not None:
        return _STATE["comm"]
    try:
        from mpi4py import MPI
    except ImportError as e:
        raise DistributedError(f"graphc.distributed needs mpi4py ({e}); {EXTRA_HINT}") from None
    _STATE["mpi"], _STATE["comm"] = MPI, MPI.COMM_WORLD
    if MPI.COMM_WORLD.Get_size() > 1:
        _abort_on_uncaught(MPI.COMM_WORLD)
    return _STATE["comm"]


def _abort_on_uncaught(comm: Any) -> None:
    """An uncaught exception on one rank aborts every rank (the others would hang in their next
    collective): the traceback is printed first, then MPI_Abort ends the job."""
    previous = sys.excepthook

    def hook(kind, value, tb) -> None:
        previous(kind, value, tb)
        sys.stderr.write(f"graphc.distributed: rank {comm.Get_rank()} failed ({kind.__name__}); "
                         "aborting every rank\n")
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook


def world() -> Any | None:
    """COMM_WORLD when there is more than one process (starting MPI under a launcher), else
    None: every collective is then the identity."""
    if _STATE["comm"] is None and launched_size() > 1:
        init()
    comm = _STATE["comm"]
    return comm if comm is not None and comm.Get_size() > 1 else None


def world_size() -> int:
    comm = world()
    return 1 if comm is None else comm.Get_size()


def world_rank() -> int:
    comm = world()
    return 0 if comm is None else comm.Get_rank()


def run_collective(kind: str, buf: np.ndarray, arg: str | int) -> None:
    """In place on contiguous ``buf``: allreduce with op ``arg``, or broadcast from root
    ``arg``. The identity in a world of one process."""
    comm = world()
    if comm is None:
        return
    timeout = collective_timeout()
    if kind == "broadcast":
        _check_root(int(arg), comm.Get_size())
        if timeout is None:
            comm.Bcast(buf, root=int(arg))
        else:
            _wait(comm.Ibcast(buf, root=int(arg)), comm, kind, timeout)
        return
    mpi = _STATE["mpi"]
    op = {"sum": mpi.SUM, "mean": mpi.SUM, "max": mpi.MAX, "min": mpi.MIN}[arg]
    if timeout is None:
        comm.Allreduce(mpi.IN_PLACE, buf, op=op)
    else:
        _wait(comm.Iallreduce(mpi.IN_PLACE, buf, op=op), comm, kind, timeout)
    if arg == "mean":
        buf /= buf.dtype.type(comm.Get_size())


def run_barrier() -> None:
    """Wait until every rank is here (nothing to wait for in one process), within
    GRAPHC_MPI_TIMEOUT when it is set."""
    comm = world()
    if comm is None:
        return
    timeout = collective_timeout()
    if timeout is None:
        comm.Barrier()
    else:
        _wait(comm.Ibarrier(), comm, "barrier", timeout)


def collective_timeout() -> float | None:
    """Seconds from GRAPHC_MPI_TIMEOUT (None when unset: collectives block as MPI's do)."""
    raw = os.environ.get(TIMEOUT_VAR, "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise DistributedError(f"{TIMEOUT_VAR}={raw!r}: expected a positive number of seconds")
    return seconds


def _wait(request: Any, comm: Any, kind: str, timeout: float) -> None:
    """Poll the nonblocking collective ``request`` until done; past ``timeout`` seconds a rank
    is hung or gone, so every rank is aborted: the pending request cannot be cancelled, and a
    DistributedError raised here would leave the job waiting in its next collective."""
    start = time.perf_counter()
    while not request.Test():
        waited = time.perf_counter() - start
        if waited > timeout:
            _abort_timed_out(comm, kind, timeout)
        if waited > SPIN_SECONDS:
            time.sleep(0.001)


def _abort_timed_out(comm: Any, kind: str, timeout: float) -> None:
    error = DistributedError(
        f"{kind} on rank {comm.Get_rank()} of {comm.Get_size()} waited more than {timeout:g} s "
        f"({TIMEOUT_VAR}) for the other ranks: a rank is hung or dead; aborting every rank")
    sys.stderr.write(f"graphc.distributed: DistributedError: {error}\n")
    sys.stderr.flush()
    comm.Abort(1)
    raise error  # Abort does not return; this is for a communicator that ignores it


def _check_root(root: int, size: int) -> None:
    if not 0 <= root < size:
        raise DistributedError(f"broadcast root {root} is not a rank of this world "
                               f"(expected 0 <= root < {size})")


def _same_type(in_types, attrs) -> list[TensorType]:
    t = in_types[0]
    if t.dtype.is_bool:
        raise DTypeError(f"collectives move numbers, got {t}")
    if attrs.get("op") == "mean" and not t.dtype.is_float:
        raise DTypeError(f"allreduce op 'mean' needs a float operand, got {t}")
    return [t]


def _canon_allreduce(in_types, attrs):
    if attrs["op"] not in REDUCE_OPS:
        raise AttributeError_(f"allreduce op {attrs['op']!r}: expected one of {REDUCE_OPS}")
    return attrs


def _canon_broadcast(in_types, attrs):
    if attrs["root"] < 0:
        raise AttributeError_(f"broadcast root {attrs['root']} is negative")
    return attrs


def _kernel(kind: str, key: str):
    def run(x: np.ndarray, **attrs: Any) -> np.ndarray:
        buf = np.array(x, order="C", copy=True)
        run_collective(kind, buf, attrs[key])
        return buf

    return run


def _allreduce_vjp(e, node, gouts):
    """Every rank's result depends on every rank's operand: the cotangents sum (or average)
    over the ranks the same way."""
    if node.attrs["op"] not in ("sum", "mean"):
        raise GradError(f"{node.describe()}: allreduce op {node.attrs['op']!r} has no gradient "
                        "rule (sum and mean do)")
    return [e.op("allreduce", gouts[0], op=node.attrs["op"])]


allreduce = register(OpDef(
    "allreduce", "collective", _same_type, _kernel("allreduce", "op"),
    attrs={"op": AttrSpec("str", "sum")}, canon=_canon_allreduce, vjp=_allreduce_vjp,
    collective=True, cost=free,
    doc="x combined elementwise over every rank (op sum, mean, max or min); identity on 1",
))

# Not differentiable: the gradient of a broadcast belongs to the root alone, which a graph
# that every rank runs alike cannot say; autodiff raises rather than give a wrong one.
broadcast = register(OpDef(
    "broadcast", "collective", _same_type, _kernel("broadcast", "root"),
    attrs={"root": AttrSpec("int", 0)}, canon=_canon_broadcast, differentiable=False,
    collective=True, cost=free,
    doc="rank ``root``'s x on every rank; identity on 1 process",
))
