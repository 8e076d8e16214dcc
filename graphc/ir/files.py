"""Reading and writing IR files (.gir); writes are atomic (graphc.support.files)."""

from __future__ import annotations

import os

from graphc.ir.graph import Graph
from graphc.ir.parser import parse
from graphc.support.files import atomic_write


def load_ir(path: str | os.PathLike[str]) -> Graph:
    """Parse the .gir file at ``path`` (ParseError positions name the file)."""
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), os.fspath(path))


def save_ir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph``'s text IR to ``path`` atomically."""
    atomic_write(path, str(graph).encode("utf-8"))
