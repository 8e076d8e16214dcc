"""Shared native kernels (the GEMM) compiled once per machine, not once per graph.

The GEMM is by far the largest code the backend emits; compiling it into every graph's module
would dominate cold compile time. Instead it is built into its own object (cached on disk like
graph code), loaded once per process, and its symbols are registered with jit's symbol table
(both object loaders resolve through it), so graph modules only declare ``graphc_gemm_<dtype>``
(externs.py) and call it.

The first compile on a machine (an empty cache) builds these pieces too. llvmlite serializes
every LLVM call of a process behind one lock, so a thread cannot compile them beside the graph;
``compile_ahead`` hands their IR to a helper process (compile_worker.py) that compiles them
while this process compiles the graph, and ``ensure`` takes the objects from it (or compiles
here if the helper failed).
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from graphc.backends.llvm.native import threads
from graphc.backends.llvm.toolchain import compile_worker, jit
from graphc.ir.graph import Graph
from graphc.support import cache

_loaded: dict[str, jit.Loaded] = {}
_ahead: dict[str, Ahead] = {}  # pieces a helper process is compiling
_lock = threading.Lock()
AHEAD_TIMEOUT = 300.0  # seconds to wait for the helper before compiling here instead
# Runs compile_worker.py as a script without putting its folder on sys.path (its module names
# must not shadow anything); a fixed command, the file path is the only argument.
_RUN_SCRIPT = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
_compile_seconds = [0.0]
SOURCES = ("native/gemm*.py", "native/parallel.py", "native/threads.py", "native/runtime.py",
           "irgen/*.py", "toolchain/*.py")  # relative to the backend package


def compile_seconds() -> float:
    """Total time this process spent compiling runtime pieces (for compile reports)."""
    return _compile_seconds[0]


def _build_gemm(dtype: str) -> str:
    from llvmlite import ir

    from graphc.backends.llvm.native import gemm

    module = ir.Module(name=f"graphc_runtime_gemm_{dtype}")
    module.triple = jit.host()[0]
    gemm.emit_gemm(module, dtype)
    return str(module)


def _build_pool() -> str:
    from llvmlite import ir

    from graphc.backends.llvm.native import parallel

    module = ir.Module(name="graphc_runtime_pool")
    module.triple = jit.host()[0]
    parallel.emit_pool(module)
    return str(module)


BUILDERS = {
    "gemm_f32": lambda: _build_gemm("f32"),
    "gemm_f64": lambda: _build_gemm("f64"),
    "pool": _build_pool,
}
EXPORTS = {
    "gemm_f32": ["graphc_gemm_f32"],
    "gemm_f64": ["graphc_gemm_f64"],
    "pool": ["graphc_parallel", "graphc_pool_worker"],
}


def start_pool(workers: int) -> None:
    """Make sure the pool has helper threads for ``workers``-way kernels in this process."""
    ensure("pool")
    loaded = _loaded["pool"]
    state = loaded.address("graphc_pool", data=True)
    threads.start_helpers(loaded.address("graphc_pool_worker"), state, workers)


def required(module: Any) -> list[str]:
    """The runtime pieces whose symbols ``module`` references."""
    return sorted(n for n, symbols in EXPORTS.items() if any(s in module.globals for s in symbols))


def _key(name: str) -> str:
    from graphc.backends.llvm.executable import backend_fingerprint

    sources = "".join(backend_fingerprint(pattern) for pattern in SOURCES)
    return cache.make_key("runtime", name, sources, jit.toolchain_id())


class Ahead:
    """Runtime pieces compiled by a helper process; a thread feeds it their IR and collects the
    objects, so the caller is free to compile its graph meanwhile."""

    def __init__(self, names: list[str], texts: list[str], keys: list[str] | None = None) -> None:
        import subprocess  # only on a cold start: ~5 ms of import a warm start need not pay

        self.names, self.keys = names, keys
        self.objects: list[bytes] | None = None
        script = compile_worker.__file__
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _RUN_SCRIPT, script],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )
        payload = compile_worker.request(jit.host(), jit.OPT_LEVEL, texts)
        self.thread = threading.Thread(target=self._talk, args=(payload,), daemon=True)
        self.thread.start()

    def _talk(self, payload: bytes) -> None:
        import subprocess

        try:
            reply, _ = self.proc.communicate(payload, timeout=AHEAD_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
            return
        if self.proc.returncode == 0:
            self.objects = compile_worker.objects(reply, len(self.names))
        for key, name, obj in zip(self.keys or [], self.names, self.objects or [], strict=False):
            # cached even if this process never asks for it (a piece predicted but not needed)
            cache.store(key, cache.Entry({"runtime": name}, obj))

    def result(self, name: str) -> bytes | None:
        """The object code of ``name`` (waits for the helper), or None if it failed."""
        self.thread.join()
        return None if self.objects is None else self.objects[self.names.index(name)]


def _key(name: str) -> str:
    from graphc.backends.llvm.executable import backend_fingerprint

    sources = "".join(backend_fingerprint(pattern) for pattern in SOURCES)
    return cache.make_key("runtime", name, sources, jit.toolchain_id())


def obtain(name: str) -> cache.Entry:
    """Runtime piece ``name``'s object code: from the cache, the helper process compiling it, or
    compiled here; stored in the cache."""
    key = _key(name)
    entry, _ = cache.lookup(key)
    if entry is not None:
        return entry
    t0 = time.perf_counter()
    ahead = _ahead.pop(name, None)
    obj = ahead.result(name) if ahead is not None else None
    if obj is None:
        obj, _ = jit.compile_ir(BUILDERS[name](), jit.Timings())
    _compile_seconds[0] += time.perf_counter() - t0
    entry = cache.Entry({"runtime": name}, obj)
    cache.store(key, entry)
    return entry


def likely_pieces(graph: Graph) -> list[str]:
    """The big pieces a graph's code will need, known before it is generated: the GEMM of each
    float dtype its matrix products and convolutions use. (The thread pool is small and only
    needed when a kernel turns out big enough to split: it compiles here when it is.)"""
    return sorted(
        {
            f"gemm_{node.outputs[0].type.dtype.short}"
            for node in graph.nodes
            if node.op.contraction and node.outputs[0].type.dtype.short in ("f32", "f64")
        }
    )


def compile_ahead(names: Sequence[str]) -> None:
    """Start compiling the pieces in ``names`` that are neither loaded nor cached in a helper
    process, so that it overlaps this process compiling the graph that needs them (only with a
    second CPU to run it on)."""
    if not sys.executable or threads.available_cpus() < 2:
        return
    with _lock:
        missing = [
            n for n in names
            if n in BUILDERS and n not in _loaded and n not in _ahead
            and cache.lookup(_key(n))[0] is None
        ]
        if not missing:
            return
        texts = [BUILDERS[n]() for n in missing]
        try:
            ahead = Ahead(missing, texts, [_key(n) for n in missing])
        except OSError:
            return  # no helper: obtain() compiles them here
        _ahead.update(dict.fromkeys(missing, ahead))


def ensure(name: str) -> None:
    """Compile (or load from the cache) runtime piece ``name`` and register its symbols."""
    if name in _loaded:
        return
    with _lock:
        if name in _loaded:
            return
        loaded = jit.Loaded(obtain(name).obj)
        for symbol in EXPORTS[name]:
            jit.register_symbol(symbol, loaded.address(symbol))
        _loaded[name] = loaded
        if name == "pool":  # helper threads run its code until the process ends: never free it
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(loaded))
