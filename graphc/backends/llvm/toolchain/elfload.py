"""Load the object files the code generator emits straight into memory, without LLVM.

A process that finds its code in the compile cache would otherwise import llvmlite.binding
(~25 ms, most of a warm start) and create an MCJIT engine per object just to copy a few
kilobytes and patch some addresses. This loader does that part itself, for exactly what
``jit.target_machine`` emits on x86-64 Linux: ELF64 relocatable objects in the large code model
(``codemodel="jitdefault"``), whose code refers to data, constants and other functions through
absolute 64-bit addresses (R_X86_64_64). Anything outside that subset (another machine, GOT,
TLS or common symbols, a 32-bit displacement out of range, an unknown external symbol) raises
``UnsupportedObjectError`` before any code can run, and the caller links the object with MCJIT.
"""

from __future__ import annotations

import ctypes
import mmap
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass

SHT_SYMTAB, SHT_RELA, SHT_NOBITS = 2, 4, 8
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
STB_LOCAL = 0
EM_X86_64 = 62
SKIPPED = frozenset({".eh_frame"})  # unwind tables: nothing unwinds through generated code

_IDENT = b"\x7fELF\x02\x01"  # ELF, 64-bit, little-endian
_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SYMBOL = struct.Struct("<IBBHQQ")
_RELA = struct.Struct("<QQq")
_PROT_READ, _PROT_EXEC = 0x1, 0x4


class UnsupportedObjectError(Exception):
    """The object uses something this loader does not handle (link it with MCJIT instead)."""


@dataclass(frozen=True)
class Section:
    name: str
    kind: int
    flags: int
    offset: int
    size: int
    link: int
    info: int
    align: int


def _patch_abs64(s: int, a: int, p: int) -> tuple[str, int]:
    return "<Q", (s + a) & 0xFFFF_FFFF_FFFF_FFFF


def _patch_pc64(s: int, a: int, p: int) -> tuple[str, int]:
    return "<q", s + a - p


def _patch_pc32(s: int, a: int, p: int) -> tuple[str, int]:
    value = s + a - p
    if not -(1 << 31) <= value < 1 << 31:
        raise UnsupportedObjectError("a 32-bit displacement does not reach its target")
    return "<i", value


# relocation type -> how to compute and store it (x86-64 psABI names: 64, PC32, PLT32, PC64)
PATCHES: dict[int, Callable[[int, int, int], tuple[str, int]]] = {
    1: _patch_abs64,
    2: _patch_pc32,
    4: _patch_pc32,  # PLT32 to a known address: same as PC32
    24: _patch_pc64,
}


class Image:
    """An object's sections loaded into one mapping: code read+execute, data read+write."""

    def __init__(self, memory: mmap.mmap, base: int, symbols: dict[str, int]) -> None:
        self._memory = memory  # the code lives as long as this image
        self.base = base
        self.symbols = symbols

    def address(self, name: str) -> int:
        """The address of global symbol ``name`` (0 when the object does not define it)."""
        return self.symbols.get(name, 0)


def supported_host() -> bool:
    """Whether this process can use the loader at all (x86-64 Linux)."""
    import platform

    return sys.platform.startswith("linux") and platform.machine() in ("x86_64", "AMD64")


def load(obj: bytes, resolve: Callable[[str], int]) -> Image:
    """Load ``obj``; ``resolve(name)`` gives external symbols' addresses (0 if unknown)."""
    sections = _sections(obj)
    placed, size, code_end = _layout(sections)
    memory = mmap.mmap(-1, max(size, mmap.PAGESIZE), prot=mmap.PROT_READ | mmap.PROT_WRITE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(memory))
    for index, offset in placed.items():
        sec = sections[index]
        if sec.kind != SHT_NOBITS:
            memory[offset : offset + sec.size] = obj[sec.offset : sec.offset + sec.size]
    addresses, exported = _symbols(obj, sections, placed, base, resolve)
    _relocate(obj, sections, placed, base, memory, addresses)
    if code_end:
        _protect(base, code_end)
    return Image(memory, base, exported)


def _sections(obj: bytes) -> list[Section]:
    if len(obj) < _HEADER.size or not obj.startswith(_IDENT):
        raise UnsupportedObjectError("not a 64-bit little-endian ELF object")
    head = _HEADER.unpack_from(obj)
    e_type, machine, shoff, shentsize, shnum, shstrndx = (
        head[1], head[2], head[6], head[11], head[12], head[13]
    )
    if e_type != 1 or machine != EM_X86_64 or shentsize != _SECTION.size:
        raise UnsupportedObjectError(
            f"ELF type {e_type}, machine {machine}: expected an x86-64 relocatable object"
        )
    raw = [_SECTION.unpack_from(obj, shoff + i * shentsize) for i in range(shnum)]
    names_at = raw[shstrndx][4]
    return [
        Section(_cstring(obj, names_at + r[0]), r[1], r[2], r[4], r[5], r[6], r[7], max(r[8], 1))
        for r in raw
    ]


def _cstring(data: bytes, at: int) -> str:
    return data[at : data.index(b"\0", at)].decode()


def _layout(sections: list[Section]) -> tuple[dict[int, int], int, int]:
    """Offsets of the loaded sections in the mapping: code first, then (from a fresh page)
    data, so the code pages can be made executable and the data pages stay writable."""
    wanted = [
        i for i, s in enumerate(sections)
        if s.flags & SHF_ALLOC and s.size and s.name not in SKIPPED
    ]
    code = [i for i in wanted if sections[i].flags & SHF_EXECINSTR]
    data = [i for i in wanted if not sections[i].flags & SHF_EXECINSTR]
    placed: dict[int, int] = {}
    end = 0
    for i in code:
        end = _align(end, sections[i].align)
        placed[i], end = end, end + sections[i].size
    code_end = _align(end, mmap.PAGESIZE)
    end = code_end
    for i in data:
        end = _align(end, sections[i].align)
        placed[i], end = end, end + sections[i].size
    return placed, _align(end, mmap.PAGESIZE), code_end if code else 0


def _align(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


def _symbols(
    obj: bytes,
    sections: list[Section],
    placed: dict[int, int],
    base: int,
    resolve: Callable[[str], int],
) -> tuple[list[int | None], dict[str, int]]:
    """Every symbol's address (None: in a section not loaded) and the global ones by name."""
    tables = [s for s in sections if s.kind == SHT_SYMTAB]
    if len(tables) != 1:
        raise UnsupportedObjectError(f"{len(tables)} symbol tables")
    table, names_at = tables[0], sections[tables[0].link].offset
    addresses: list[int | None] = []
    exported: dict[str, int] = {}
    for k in range(table.size // _SYMBOL.size):
        name_off, info, _, shndx, value, _ = _SYMBOL.unpack_from(obj, table.offset + k * 24)
        name = _cstring(obj, names_at + name_off) if name_off else ""
        address = _symbol_address(name, shndx, value, placed, base, resolve)
        addresses.append(address)
        if info >> 4 != STB_LOCAL and shndx != SHN_UNDEF and address is not None:
            exported[name] = address
    return addresses, exported


def _symbol_address(
    name: str,
    shndx: int,
    value: int,
    placed: dict[int, int],
    base: int,
    resolve: Callable[[str], int],
) -> int | None:
    if shndx == SHN_UNDEF:
        if not name:
            return 0  # the null symbol
        found = resolve(name)
        if not found:
            raise UnsupportedObjectError(f"external symbol {name!r} is not known to this process")
        return found
    if shndx == SHN_ABS:
        return value
    if shndx == SHN_COMMON or shndx >= 0xFF00:
        raise UnsupportedObjectError(f"symbol {name!r} in special section {shndx:#x}")
    return base + placed[shndx] + value if shndx in placed else None


def _relocate(
    obj: bytes,
    sections: list[Section],
    placed: dict[int, int],
    base: int,
    memory: mmap.mmap,
    addresses: list[int | None],
) -> None:
    for rel in sections:
        if rel.kind != SHT_RELA or rel.info not in placed:
            continue  # relocations of a section not loaded (unwind tables)
        where = placed[rel.info]
        for k in range(rel.size // _RELA.size):
            offset, info, addend = _RELA.unpack_from(obj, rel.offset + k * _RELA.size)
            patch = PATCHES.get(info & 0xFFFF_FFFF)
            target = addresses[info >> 32]
            if patch is None or target is None:
                raise UnsupportedObjectError(f"relocation type {info & 0xFFFF_FFFF} in {rel.name}")
            fmt, value = patch(target, addend, base + where + offset)
            struct.pack_into(fmt, memory, where + offset, value)


def _protect(address: int, length: int) -> None:
    """Make the code pages read+execute (they were written through a writable mapping)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    if libc.mprotect(address, length, _PROT_READ | _PROT_EXEC) != 0:
        raise UnsupportedObjectError(f"mprotect failed (errno {ctypes.get_errno()})")


def process_symbol(name: str) -> int:
    """The address of ``name`` in the process (libc, libm, ...), or 0."""
    try:
        return ctypes.cast(getattr(_process(), name), ctypes.c_void_p).value or 0
    except AttributeError:
        return 0


_PROCESS: list[ctypes.CDLL] = []


def _process() -> ctypes.CDLL:
    if not _PROCESS:
        _PROCESS.append(ctypes.CDLL(None))
    return _PROCESS[0]
