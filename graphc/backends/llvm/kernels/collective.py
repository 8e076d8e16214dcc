"""allreduce and broadcast: copy the operand into the result, then hand the result buffer to
MPI through one call back into Python (graphc.ops.collective.run_collective, i.e. mpi4py).

Why a callback and not MPI from the generated code: MPI's handles (MPI_COMM_WORLD,
MPI_FLOAT, MPI_SUM) are link-time globals in Open MPI and integers in MPICH, so code calling
libmpi directly would depend on the MPI flavour and on locating its library. The callback costs
one GIL acquisition (a few microseconds, measured against a millisecond-scale allreduce of a
model's gradients), keeps the whole step one native call, and the compiled object stays
portable and cacheable: ``graphc_collective`` (native/mpi.py) is resolved when the object is
loaded.
"""

from __future__ import annotations

from llvmlite import ir

from graphc import ops
from graphc.backends.llvm.irgen.basics import I64, PTR, i64
from graphc.backends.llvm.kernels.shape import flat_copy
from graphc.backends.llvm.kernels.table import KernelCtx, kernel
from graphc.backends.llvm.native.mpi import KINDS, SYMBOL
from graphc.ir.types import DTYPES
from graphc.ops.collective import REDUCE_OPS


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
