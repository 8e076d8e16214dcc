"""The one way graphc writes files: a temporary file beside the target, renamed over it.

Readers see the old file or the new one, never a half-written one; on an error the temporary
file is removed and the target is untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

PathLike = str | os.PathLike[str]


@contextlib.contextmanager
def atomic_file(path: PathLike, mode: int = 0o644, fsync: bool = False) -> Iterator[BinaryIO]:
    """A binary file open for writing whose content replaces ``path`` when the block ends
    without error. ``mode``: the file's permissions (mkstemp alone would give 0600);
    ``fsync``: force the data to disk before the rename makes it visible."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write(path: PathLike, data: bytes, mode: int = 0o644, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (see atomic_file)."""
    with atomic_file(path, mode, fsync) as f:
        f.write(data)
