"""llvmlite binding: parse and verify IR, optimize at O3 for the host CPU, emit and load objects.

llvmlite 0.50 initializes LLVM itself (``llvm.binding.initialize()`` raises); only the native
target and asm printer need registering. MCJIT owns its TargetMachine, so each engine gets one.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field

import llvmlite
import llvmlite.binding as llvm

from graphc.ir.errors import BackendError

OPT_LEVEL = 3


@functools.cache
def _init() -> None:
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()


@functools.cache
def host() -> tuple[str, str, str]:
    """(target triple, CPU name, CPU features) of this machine."""
    _init()
    return (
        llvm.get_process_triple(),
        llvm.get_host_cpu_name(),
        llvm.get_host_cpu_features().flatten(),
    )


def toolchain_id(opt: int = OPT_LEVEL) -> str:
    """Everything besides the IR that changes the machine code (part of the cache key)."""
    triple, cpu, features = host()
    version = ".".join(map(str, llvm.llvm_version_info))
    return f"llvmlite={llvmlite.__version__};llvm={version};{triple};{cpu};{features};O{opt}"


def target_machine(opt: int = OPT_LEVEL) -> llvm.TargetMachine:
    """A fresh TargetMachine for the host CPU (one per engine: MCJIT takes ownership)."""
    triple, cpu, features = host()
    target = llvm.Target.from_triple(triple)
    return target.create_target_machine(
        cpu=cpu, features=features, opt=opt, reloc="static", codemodel="jitdefault"
    )


@dataclass
class Timings:
    """Seconds spent in each compile phase, for compile_report()."""

    ir_build: float = 0.0
    optimize: float = 0.0
    codegen: float = 0.0
    load: float = 0.0
    extra: dict[str, float] = field(default_factory=dict)


def parse_and_verify(ir_text: str) -> llvm.ModuleRef:
    """Parse LLVM IR text and verify it before any optimization."""
    _init()
    try:
        mod = llvm.parse_assembly(ir_text)
        mod.verify()
    except RuntimeError as e:
        raise BackendError(f"llvm backend generated invalid IR: {e}") from None
    return mod


def optimize(mod: llvm.ModuleRef, opt: int = OPT_LEVEL) -> None:
    """Run the new pass manager's default pipeline at ``opt`` for the host CPU."""
    tm = target_machine(opt)
    pto = llvm.create_pipeline_tuning_options(speed_level=opt)
    pto.loop_vectorization = opt >= 2
    pto.slp_vectorization = opt >= 2
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)


def compile_ir(ir_text: str, timings: Timings, opt: int = OPT_LEVEL) -> tuple[bytes, str]:
    """IR text -> (object code, optimized IR text)."""
    t0 = time.perf_counter()
    mod = parse_and_verify(ir_text)
    optimize(mod, opt)
    t1 = time.perf_counter()
    obj = target_machine(opt).emit_object(mod)
    timings.optimize += t1 - t0
    timings.codegen += time.perf_counter() - t1
    return obj, str(mod)


def assembly(optimized_ir: str, opt: int = OPT_LEVEL) -> str:
    """Host assembly of already optimized IR."""
    return target_machine(opt).emit_assembly(parse_and_verify(optimized_ir))


class Loaded:
    """An object file loaded into its own MCJIT engine; keeps the code alive."""

    def __init__(self, obj: bytes) -> None:
        _init()
        self._engine = llvm.create_mcjit_compiler(llvm.parse_assembly(""), target_machine())
        self._engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
        self._engine.finalize_object()

    def address(self, name: str, data: bool = False) -> int:
        """The address of function (or, with ``data``, global variable) ``name``."""
        engine = self._engine
        addr = engine.get_global_value_address(name) if data else engine.get_function_address(name)
        if not addr:
            raise BackendError(f"llvm backend: symbol {name!r} missing from compiled object")
        return addr
