"""allreduce and broadcast: copy the operand into the result, then hand the result buffer to
MPI through one call back into Python (graphc.ops.collective.run_collective, i.e. mpi4py).

Why a callback and not MPI from the generated code: MPI's handles (MPI_COMM_WORLD,
MPI_FLOAT, MPI_SUM) are link-time globals in Open MPI and integers in MPICH, so code calling
libmpi directly would depend on the MPI flavour and on locating its library. The callback costs
one GIL acquisition (a few microseconds, measured against a millisecond-scale allreduce of a
model's gradients), keeps the whole step one native call, and the compiled object stays
portable and cacheable: ``graphc_collective`` is resolved when the object is loaded.
"""

from __future__ import annotations

import ctypes
import sys
import traceback

import numpy as np
from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import I64, PTR, i64
from graphc.backends.llvm.kernels.shape import flat_copy
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.backends.llvm.toolchain import jit
from graphc.ir.types import DTYPES
from graphc.ops.collective import REDUCE_OPS, run_collective

SYMBOL = "graphc_collective"
KINDS = ("allreduce", "broadcast")
CALLBACK_TYPE = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
                                 ctypes.c_int64, ctypes.c_int64)


def _run(kind: int, ptr: int, count: int, dtype: int, arg: int) -> int:
    """graphc_collective(kind, buffer, elements, dtype index, op index or root) -> 0 or 1."""
    try:
        dt = DTYPES[dtype].np
        raw = (ctypes.c_char * (count * dt.itemsize)).from_address(ptr) if count else b""
        buf = np.frombuffer(raw, dt) if count else np.empty(0, dt)
        run_collective(KINDS[kind], buf, REDUCE_OPS[arg] if KINDS[kind] == "allreduce" else arg)
        return 0
    except BaseException:  # noqa: BLE001  (nothing may unwind through native frames)
        traceback.print_exc(file=sys.stderr)
        return 1


_CALLBACK = CALLBACK_TYPE(_run)  # a module global: the native code may call it at any time
jit.register_symbol(SYMBOL, ctypes.cast(_CALLBACK, ctypes.c_void_p).value or 0)


def _declare(module: ir.Module) -> ir.Function:
    fn_type = ir.FunctionType(I64, [I64, PTR, I64, I64, I64])
    return module.globals.get(SYMBOL) or ir.Function(module, fn_type, SYMBOL)


def _emit(k: KernelCtx, kind: str, arg: int) -> None:
    flat_copy(k)
    out = k.outs[0]
    dtype = DTYPES.index(out.dtype)
    call = k.b.call(_declare(k.module), [i64(KINDS.index(kind)), out.ptr, i64(out.size),
                                         i64(dtype), i64(arg)])
    k.fail_if(k.b.icmp_signed("!=", call, i64(0)))


@kernel(ops.allreduce)
def _allreduce(k: KernelCtx) -> None:
    _emit(k, "allreduce", REDUCE_OPS.index(k.attrs["op"]))


@kernel(ops.broadcast)
def _broadcast(k: KernelCtx) -> None:
    _emit(k, "broadcast", k.attrs["root"])
