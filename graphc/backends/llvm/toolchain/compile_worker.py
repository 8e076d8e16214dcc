"""LLVM IR text -> object code with llvmlite alone: jit.py's pipeline, and a helper process.

llvmlite serializes every LLVM call of a process behind one lock, so two modules cannot compile
at once in one process. On a cold start the shared runtime kernels (the GEMM, ~0.3 s of LLVM
time) and the graph's module are both needed; runtime.compile_ahead runs this file as a script
in a helper process that compiles the runtime kernels while the caller compiles the graph. The
script imports nothing of graphc (it starts in ~50 ms), and jit.py uses the same functions, so
both produce the same bytes for the same IR.

Script protocol, binary, nothing evaluated: stdin holds one JSON line ``{"triple", "cpu",
"features", "opt", "sizes"}`` and then the UTF-8 IR texts of ``sizes`` bytes back to back;
stdout gets, per module, its object's length (8 bytes, little-endian) and the object.
"""

from __future__ import annotations

import json
import struct
import sys
from typing import Any

_LENGTH = struct.Struct("<Q")


def target_machine(llvm: Any, host: tuple[str, str, str], opt: int) -> Any:
    """A TargetMachine for ``host`` (triple, CPU name, features) in the large code model, whose
    objects hold only absolute relocations (what elfload.py handles)."""
    triple, cpu, features = host
    return llvm.Target.from_triple(triple).create_target_machine(
        cpu=cpu, features=features, opt=opt, reloc="static", codemodel="jitdefault"
    )


def optimize(llvm: Any, mod: Any, host: tuple[str, str, str], opt: int) -> None:
    """The new pass manager's default pipeline at ``opt`` for the host CPU."""
    pto = llvm.create_pipeline_tuning_options(speed_level=opt)
    pto.loop_vectorization = opt >= 2
    pto.slp_vectorization = opt >= 2
    pb = llvm.create_pass_builder(target_machine(llvm, host, opt), pto)
    pb.getModulePassManager().run(mod, pb)


def emit_object(llvm: Any, mod: Any, host: tuple[str, str, str], opt: int) -> bytes:
    """Machine code of an (optimized) module, as an ELF relocatable object."""
    return target_machine(llvm, host, opt).emit_object(mod)


def _serve(stdin: Any, stdout: Any) -> None:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    header = json.loads(stdin.readline())
    host = (str(header["triple"]), str(header["cpu"]), str(header["features"]))
    opt = int(header["opt"])
    for size in header["sizes"]:
        mod = llvm.parse_assembly(stdin.read(int(size)).decode())
        mod.verify()
        optimize(llvm, mod, host, opt)
        obj = emit_object(llvm, mod, host, opt)
        stdout.write(_LENGTH.pack(len(obj)) + obj)
    stdout.flush()


def request(host: tuple[str, str, str], opt: int, texts: list[str]) -> bytes:
    """The bytes to send to a helper for compiling ``texts``."""
    data = [t.encode() for t in texts]
    head = {"triple": host[0], "cpu": host[1], "features": host[2], "opt": opt,
            "sizes": [len(d) for d in data]}
    return json.dumps(head).encode() + b"\n" + b"".join(data)


def objects(reply: bytes, count: int) -> list[bytes] | None:
    """The ``count`` objects in a helper's reply, or None if it is short or malformed."""
    out, at = [], 0
    for _ in range(count):
        if at + _LENGTH.size > len(reply):
            return None
        (size,) = _LENGTH.unpack_from(reply, at)
        at += _LENGTH.size
        if at + size > len(reply):
            return None
        out.append(reply[at : at + size])
        at += size
    return out if at == len(reply) else None


if __name__ == "__main__":
    _serve(sys.stdin.buffer, sys.stdout.buffer)
