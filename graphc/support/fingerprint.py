"""Fingerprints of source trees: a hash over files (subdirectories included) and their paths,
so that editing any module of a package invalidates what was cached from its code."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path


def source_files(root: Path, patterns: Iterable[str] = ("**/*.py",)) -> list[Path]:
    """The files under ``root`` matching any of ``patterns`` (glob, ``**`` recurses), sorted."""
    return sorted({p for pattern in patterns for p in root.glob(pattern) if p.is_file()})


def tree_fingerprint(root: Path, patterns: Iterable[str] = ("**/*.py",)) -> str:
    """SHA-256 over each matching file's path relative to ``root`` and its bytes."""
    h = hashlib.sha256()
    for path in source_files(root, patterns):
        h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()
