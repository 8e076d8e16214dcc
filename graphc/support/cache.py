"""Compile cache: in memory per process and on disk, keyed by everything that shapes the code.

Disk entries are one file per key, written atomically (temp file + rename) with a header:
magic, SHA-256 of (key + payload), payload length. A truncated, corrupt or foreign entry fails
the check and is ignored (then overwritten by a fresh compile); nothing is ever unpickled.

Environment: ``GRAPHC_CACHE=0`` disables caching, ``GRAPHC_CACHE_DIR`` moves the directory
(default ``$XDG_CACHE_HOME/graphc`` or ``~/.cache/graphc``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphc.support.files import atomic_write

MAGIC = b"GRAPHC-LLVM-OBJ\x01"
SUFFIX = ".gco"  # compiled object code
CODEGEN_VERSION = "2"  # part of every graph key: bump to invalidate all entries by hand
_HEADER = struct.Struct("<32sQ")  # checksum, payload length
_META_LEN = struct.Struct("<I")


@dataclass
class Entry:
    """One compiled artifact: the object code and the JSON-able metadata to run it."""

    meta: dict[str, Any]
    obj: bytes


_memory: dict[str, Entry] = {}


def enabled() -> bool:
    return os.environ.get("GRAPHC_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """Where entries live (not created until the first write)."""
    explicit = os.environ.get("GRAPHC_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "graphc"


def make_key(*parts: str) -> str:
    """A hex digest over the key parts (IR text, dims, toolchain, codegen version...)."""
    h = hashlib.sha256()
    for p in parts:
        data = p.encode()
        h.update(struct.pack("<Q", len(data)))
        h.update(data)
    return h.hexdigest()


def _checksum(key: str, payload: bytes) -> bytes:
    return hashlib.sha256(key.encode() + b"\0" + payload).digest()


def encode(key: str, entry: Entry) -> bytes:
    """The bytes of a disk entry for ``key``."""
    meta = json.dumps(entry.meta, sort_keys=True, separators=(",", ":")).encode()
    payload = _META_LEN.pack(len(meta)) + meta + entry.obj
    return MAGIC + _HEADER.pack(_checksum(key, payload), len(payload)) + payload


def decode(key: str, data: bytes) -> Entry | None:
    """The entry in ``data`` if it is intact and belongs to ``key``; None otherwise."""
    head = len(MAGIC) + _HEADER.size
    if len(data) < head or not data.startswith(MAGIC):
        return None
    digest, length = _HEADER.unpack_from(data, len(MAGIC))
    payload = data[head:]
    if len(payload) != length or _checksum(key, payload) != digest:
        return None
    (meta_len,) = _META_LEN.unpack_from(payload)
    try:
        meta = json.loads(payload[_META_LEN.size : _META_LEN.size + meta_len])
    except ValueError:
        return None
    return Entry(meta, payload[_META_LEN.size + meta_len :])


def _path(key: str, suffix: str) -> Path:
    return cache_dir() / f"{key}{suffix}"


def lookup(key: str, suffix: str = SUFFIX) -> tuple[Entry | None, str]:
    """(entry, where): where is 'memory', 'disk' or 'miss'. ``suffix`` names the kind of
    entry on disk (object code ``.gco``, optimized IR of the pass pipeline ``.gpl``)."""
    if not enabled():
        return None, "miss"
    if key in _memory:
        return _memory[key], "memory"
    try:
        data = _path(key, suffix).read_bytes()
    except OSError:
        return None, "miss"
    entry = decode(key, data)
    if entry is None:
        return None, "miss"
    _memory[key] = entry
    return entry, "disk"


def store(key: str, entry: Entry, suffix: str = SUFFIX) -> None:
    """Remember ``entry`` in memory and write it to disk atomically (errors are not fatal)."""
    if not enabled():
        return
    _memory[key] = entry
    with contextlib.suppress(OSError):
        _write_atomic(_path(key, suffix), encode(key, entry))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, data, mode=0o600)  # a private cache: its directory is 0700 too


def clear_memory() -> None:
    """Forget the in-process entries (tests use this to force a disk lookup)."""
    _memory.clear()
