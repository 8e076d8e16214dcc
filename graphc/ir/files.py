"""Reading and writing IR files (.gir); writes are atomic (temp file, then os.replace)."""

from __future__ import annotations

import os
import tempfile

from graphc.ir.graph import Graph
from graphc.ir.parser import parse


def load_ir(path: str | os.PathLike[str]) -> Graph:
    """Parse the .gir file at ``path`` (ParseError positions name the file)."""
    with open(path, encoding="utf-8") as f:
        return parse(f.read(), os.fspath(path))


def save_ir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph``'s text IR to ``path`` atomically."""
    atomic_write(path, str(graph).encode("utf-8"))


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers never see a partial file."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix="-" + os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
