"""The native pool's helper threads (parallel.py emits the code they run), started at run time.

Kept apart from parallel.py so that starting them needs no llvmlite: a process whose code comes
from the compile cache never imports the IR builder.
"""

from __future__ import annotations

import ctypes
import os
import threading

MAX_THREADS = 255  # the pool's ticket has 8 bits for the worker count


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

_helpers: dict[str, int] = {}
_THUNKS: list[object] = []  # ctypes must keep the entry callable alive while threads run
_start_lock = threading.Lock()


def start_helpers(worker_address: int, state_address: int, threads: int) -> None:
    """Make sure helpers 1..threads-1 run ``graphc_pool_worker`` in this process."""
    with _start_lock:
        if _helpers.get("pid") != os.getpid():
            if not _helpers:
                os.register_at_fork(after_in_child=_restart_in_child)
            _helpers.update(pid=os.getpid(), worker=worker_address, state=state_address, count=1)
        _spawn(threads)


def _spawn(threads: int) -> None:
    if not _THUNKS:
        _THUNKS.append(ctypes.CFUNCTYPE(None, ctypes.c_int64)(_helpers["worker"]))
    for tid in range(_helpers["count"], min(threads, MAX_THREADS)):
        name = f"graphc-llvm-helper-{tid}"
        threading.Thread(target=_THUNKS[0], args=(tid,), name=name, daemon=True).start()
        _helpers["count"] = tid + 1


def _restart_in_child() -> None:
    """A forked child has no helper threads: clear the pool state and start fresh ones."""
    global _start_lock
    _start_lock = threading.Lock()  # a parent thread may have held it at the fork
    ctypes.memset(_helpers["state"], 0, 256)
    count, _helpers["count"], _helpers["pid"] = _helpers["count"], 1, os.getpid()
    _spawn(count)


