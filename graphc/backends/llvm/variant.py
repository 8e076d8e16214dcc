"""One compiled binding of a graph's symbolic dims: its loaded code and argument block.

The block passed to the entry function is ``[inputs..., params..., outputs..., arena]``
(layout.py); a Variant keeps it built, rebinding only the arrays that changed since the last
call, and says how the code was obtained (CompileReport).
"""

from __future__ import annotations

import ctypes
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from graphc.backends.llvm.adaptive import WorkerChooser
from graphc.backends.llvm.toolchain import jit

_ENTRY_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
RECYCLE_BYTES = 1 << 20  # outputs this big are recycled once the caller drops them
STAGE_BYTES = 1 << 14  # outputs this small are computed in place and copied out


@dataclass
class CompileReport:
    """How one variant was obtained: phase times (seconds) and where the code came from."""

    dims: dict[str, int]
    cache: str  # "miss" (compiled), "memory" or "disk"
    ir_build: float = 0.0
    optimize: float = 0.0
    codegen: float = 0.0
    load: float = 0.0
    arena_bytes: int = 0
    runtime: float = 0.0  # compiling shared runtime kernels (the GEMM), once per machine
    loader: str = ""  # what put the code in memory: "elf" (elfload.py) or "mcjit"
    kernels: tuple[int, int] = (0, 0)  # (kernel functions emitted, kernel calls in the entry)

    @property
    def total(self) -> float:
        return self.ir_build + self.optimize + self.codegen + self.load

    def __str__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in sorted(self.dims.items())) or "static"
        loader = f", {self.loader} loader" if self.loader else ""
        return (
            f"llvm compile [{dims}]: cache {self.cache}{loader}; "
            f"IR build {self.ir_build * 1e3:.1f} ms, "
            f"optimize {self.optimize * 1e3:.1f} ms, codegen {self.codegen * 1e3:.1f} ms, "
            f"load {self.load * 1e3:.1f} ms; arena {self.arena_bytes} bytes"
            + (f"; runtime kernels {self.runtime * 1e3:.0f} ms" if self.runtime else "")
            + (f"; {self.kernels[0]} kernels for {self.kernels[1]} calls (kernels at the "
               f"full opt level, the entry function {_entry_level(self.kernels[1])})"
               if self.kernels[1] else "")
        )


@dataclass
class Variant:
    """Compiled code for one dims binding and its reusable argument block."""

    meta: dict[str, Any]
    loaded: jit.Loaded
    report: CompileReport
    lock: threading.Lock = field(default_factory=threading.Lock)
    chooser: WorkerChooser | None = None  # adaptive thread count (adaptive.py), if any

    def __post_init__(self) -> None:
        m = self.meta
        self.n_in, self.n_par = m["n_inputs"], m["n_params"]
        self.out_specs = [(tuple(s), np.dtype(d)) for s, d in m["outputs"]]
        self.block = (ctypes.c_void_p * (self.n_in + self.n_par + len(self.out_specs) + 1))()
        # arena: 64-byte aligned view into an owned buffer
        raw = np.empty(m["arena_bytes"] + 64, np.uint8)
        start = (-raw.ctypes.data) % 64
        self.arena = raw[start : start + m["arena_bytes"]]
        self.block[len(self.block) - 1] = raw.ctypes.data + start
        self.entry = _ENTRY_TYPE(self.loaded.address(m["entry"]))
        # the module's error flag: 0, or the index + 1 of the node that hit a bad index
        self.error = ctypes.c_int64.from_address(self.loaded.address(m["error_symbol"], data=True))
        # the module's thread count for forked kernels (absent: nothing is forked)
        workers = m.get("workers_symbol")
        self.workers = (
            ctypes.c_int64.from_address(self.loaded.address(workers, data=True))
            if workers
            else None
        )
        self.params_seen: list[Any] = [None] * self.n_par
        self.inputs_seen: list[Any] = [None] * self.n_in
        self.last_outs: list[np.ndarray | None] = [None] * len(self.out_specs)
        # Small outputs are computed into staging arrays bound once and copied out per call:
        # a copy is cheaper than fetching a fresh array's address through ctypes (~1 us).
        self.staged = [
            np.empty(shape, dtype) if _small(shape, dtype) else None
            for shape, dtype in self.out_specs
        ]
        base = self.n_in + self.n_par
        for k, arr in enumerate(self.staged):
            if arr is not None:
                self.block[base + k] = arr.ctypes.data
        self.block_address = ctypes.addressof(self.block)

    def bind_inputs(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Point the block at the input arrays (the same array object as last time: no work;
        holding it keeps its address valid). Returns contiguous copies the call must keep."""
        copies = []
        for i, a in enumerate(inputs):
            if a is not self.inputs_seen[i]:
                if a.flags.c_contiguous:
                    self.inputs_seen[i] = a
                else:
                    a = np.ascontiguousarray(a)
                    copies.append(a)
                    self.inputs_seen[i] = None
                self.block[i] = a.ctypes.data
        return copies

    def bind_outputs(self) -> list[np.ndarray | None]:
        """Fresh arrays for the big outputs, bound into the block (None for staged ones)."""
        outs: list[np.ndarray | None] = []
        base = self.n_in + self.n_par
        for k, (shape, dtype) in enumerate(self.out_specs):
            if self.staged[k] is not None:
                outs.append(None)
                continue
            # Only this variant still references a dropped array (reference count 2: our list
            # and the getrefcount argument), so reusing it is unobservable, and it saves the page
            # faults of a fresh multi-megabyte allocation on every call.
            if self.last_outs[k] is not None and sys.getrefcount(self.last_outs[k]) == 2:
                out = self.last_outs[k]
            else:
                out = np.empty(shape, dtype)
                self.block[base + k] = out.ctypes.data
            self.last_outs[k] = out if out.nbytes >= RECYCLE_BYTES else None
            outs.append(out)
        return outs

    def collect(self, outs: list[np.ndarray | None]) -> list[np.ndarray]:
        """The call's outputs: the fresh arrays, and copies of the staged ones."""
        return [o if o is not None else s.copy() for o, s in zip(outs, self.staged, strict=True)]


def _small(shape: tuple[int, ...], dtype: np.dtype) -> bool:
    return int(np.prod(shape, dtype=np.int64)) * dtype.itemsize <= STAGE_BYTES


def _entry_level(calls: int) -> str:
    from graphc.backends.llvm.codegen.emit import entry_attributes

    return "unoptimized" if "optnone" in entry_attributes(calls) else "optimized"
