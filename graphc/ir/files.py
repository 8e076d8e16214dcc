"""Reading and writing IR files (.gir); writes are atomic (graphc.support.files)."""

from __future__ import annotations

import os

from graphc.ir.errors import ParseError
from graphc.ir.graph import Graph
from graphc.ir.parser import parse
from graphc.support.files import atomic_write


def load_ir(path: str | os.PathLike[str]) -> Graph:
    """Parse the .gir file at ``path`` (ParseError positions name the file)."""
    with open(path, "rb") as f:
        data = f.read()
    return parse(decode(data, os.fspath(path)), os.fspath(path))


def decode(data: bytes, filename: str | None = None) -> str:
    """``data`` as UTF-8 text; a ParseError at the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        column = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ParseError(f"byte 0x{data[e.start]:02x} is not UTF-8 text ({e.reason}); "
                         ".gir files are UTF-8", line, column, filename) from None


def save_ir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph``'s text IR to ``path`` atomically."""
    atomic_write(path, str(graph).encode("utf-8"))
