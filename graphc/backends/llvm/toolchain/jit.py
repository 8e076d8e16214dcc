"""llvmlite binding: parse and verify IR, optimize at O3 for the host CPU, emit and load objects.

llvmlite.binding is imported on first need, not with this module: a process whose code comes from
the compile cache loads it with elfload (no LLVM at all) and answers ``host()`` from a record
saved next to the cache entries, so a warm start never pays the ~25 ms import. llvmlite 0.50
initializes LLVM itself (``llvm.binding.initialize()`` raises); only the native target and asm
printer need registering. MCJIT owns its TargetMachine, so each engine gets one.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import llvmlite  # the package alone (its version): cheap, unlike llvmlite.binding

from graphc.backends.llvm.toolchain import compile_worker, elfload
from graphc.ir.errors import BackendError
from graphc.support import cache

OPT_LEVEL = 3
HOST_SUFFIX = ".host"  # cache entries recording what LLVM detects about this CPU
LOADERS = ("auto", "elf", "mcjit")  # GRAPHC_LOADER: auto = elf where supported, else MCJIT
_CPUINFO_KEYS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags")
_symbols: dict[str, int] = {}  # runtime symbols graph objects link against (see runtime.py)


@functools.cache
def binding() -> ModuleType:
    """llvmlite.binding with the native target and asm printer registered."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    for name, address in _symbols.items():
        llvm.add_symbol(name, address)
    return llvm


@functools.cache
def host() -> tuple[str, str, str]:
    """(target triple, CPU name, CPU features) of this machine."""
    return _host_record()["host"]


@functools.cache
def _host_record() -> dict[str, Any]:
    """What LLVM detects about the host, saved in the cache under a key built from the CPU as
    the kernel reports it (/proc/cpuinfo), so a warm process need not ask LLVM again."""
    key = _cpu_signature()
    if key is not None:
        entry, _ = cache.lookup(key, HOST_SUFFIX)
        if entry is not None and _valid_host(entry.meta):
            return {"host": tuple(entry.meta["host"]), "llvm": entry.meta["llvm"]}
    llvm = binding()
    record = {
        "host": (
            llvm.get_process_triple(),
            llvm.get_host_cpu_name(),
            llvm.get_host_cpu_features().flatten(),
        ),
        "llvm": ".".join(map(str, llvm.llvm_version_info)),
    }
    if key is not None:
        cache.store(key, cache.Entry({**record, "host": list(record["host"])}, b""), HOST_SUFFIX)
    return record


def _valid_host(meta: dict[str, Any]) -> bool:
    host_ = meta.get("host")
    return (
        isinstance(host_, list)
        and len(host_) == 3
        and all(isinstance(x, str) for x in host_)
        and isinstance(meta.get("llvm"), str)
    )


def _cpu_signature() -> str | None:
    """A key for the host record: llvmlite's version, the kernel and the first CPU's identity
    and feature flags; None where /proc/cpuinfo does not exist (then LLVM is asked)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            first_cpu = f.read().split("\n\n", 1)[0]
    except OSError:
        return None
    identity = [f"{k}={' '.join(v.split())}" for k, v in _cpuinfo_fields(first_cpu)]
    return cache.make_key("host", llvmlite.__version__, os.uname().release, *identity)


def _cpuinfo_fields(block: str) -> list[tuple[str, str]]:
    """(key, value) for the identity keys of one /proc/cpuinfo processor block."""
    found = {}
    for line in block.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() in _CPUINFO_KEYS:
            found[name.strip()] = value.strip()
    return [(k, found.get(k, "")) for k in _CPUINFO_KEYS]


def toolchain_id(opt: int = OPT_LEVEL) -> str:
    """Everything besides the IR that changes the machine code (part of the cache key)."""
    triple, cpu, features = host()
    version = _host_record()["llvm"]
    return f"llvmlite={llvmlite.__version__};llvm={version};{triple};{cpu};{features};O{opt}"


def target_machine(opt: int = OPT_LEVEL) -> Any:
    """A fresh llvmlite TargetMachine for the host CPU (one per engine: MCJIT takes ownership)."""
    return compile_worker.target_machine(binding(), host(), opt)


@dataclass
class Timings:
    """Seconds spent in each compile phase, for compile_report()."""

    ir_build: float = 0.0
    optimize: float = 0.0
    codegen: float = 0.0
    load: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def parse_and_verify(ir_text: str) -> Any:
    """Parse LLVM IR text (to an llvmlite ModuleRef) and verify it before any optimization."""
    llvm = binding()
    try:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    except RuntimeError as e:
        raise BackendError(f"llvm backend generated invalid IR: {e}") from None
    return mod


def optimize(mod: Any, opt: int = OPT_LEVEL) -> None:
    """Run the new pass manager's default pipeline at ``opt`` for the host CPU."""
    compile_worker.optimize(binding(), mod, host(), opt)


def compile_ir(ir_text: str, timings: Timings, opt: int = OPT_LEVEL) -> tuple[bytes, str]:
    """IR text -> (object code, optimized IR text)."""
    t0 = time.perf_counter()
    mod = parse_and_verify(ir_text)
    optimize(mod, opt)
    t1 = time.perf_counter()
    obj = compile_worker.emit_object(binding(), mod, host(), opt)
    timings.optimize += t1 - t0
    timings.codegen += time.perf_counter() - t1
    return obj, str(mod)


def assembly(optimized_ir: str, opt: int = OPT_LEVEL) -> str:
    """Host assembly of already optimized IR."""
    return target_machine(opt).emit_assembly(parse_and_verify(optimized_ir))


def register_symbol(name: str, address: int) -> None:
    """Make ``name`` resolvable by every object loaded after this (either loader)."""
    _symbols[name] = address
    if binding.cache_info().currsize:  # LLVM already loaded: tell its dynamic linker too
        binding().add_symbol(name, address)


def _resolve(name: str) -> int:
    return _symbols.get(name) or elfload.process_symbol(name)


def loader() -> str:
    """The object loader: GRAPHC_LOADER (auto, elf or mcjit), checked; default auto."""
    chosen = os.environ.get("GRAPHC_LOADER", "auto").strip().lower() or "auto"
    if chosen not in LOADERS:
        raise BackendError(f"GRAPHC_LOADER={chosen!r}: expected one of {', '.join(LOADERS)}")
    return chosen


class Loaded:
    """An object file loaded into memory (by elfload, or into its own MCJIT engine); keeps the
    code alive. ``how`` says which loader took it: 'elf' or 'mcjit'."""

    def __init__(self, obj: bytes, how: str | None = None) -> None:
        how = how or loader()
        self._image: elfload.Image | None = None
        self._engine: Any = None
        if how != "mcjit" and elfload.supported_host():
            try:
                self._image, self.how = elfload.load(obj, _resolve), "elf"
                return
            except elfload.UnsupportedObjectError as exc:
                if how == "elf":
                    raise BackendError(f"llvm backend: the ELF loader cannot load: {exc}") from None
        llvm = binding()
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()
        self.how = "mcjit"

    def address(self, name: str, data: bool = False) -> int:
        """The address of function (or, with ``data``, global variable) ``name``."""
        if self._image is not None:
            addr = self._image.address(name)
        elif data:
            addr = self._engine.get_global_value_address(name)
        else:
            addr = self._engine.get_function_address(name)
        if not addr:
            raise BackendError(f"llvm backend: symbol {name!r} missing from compiled object")
        return addr
