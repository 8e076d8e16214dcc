"""``graphc_collective``: the native entry of the collectives, a call back into Python
(graphc.ops.collective.run_collective, i.e. mpi4py) on a result buffer.

Registered when the executable is imported, not with the lowering table: a process whose
object comes from the compile cache never imports the kernels, yet must resolve the symbol.
"""

from __future__ import annotations

import ctypes
import sys
import traceback

import numpy as np

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
