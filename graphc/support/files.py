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
def atomic_file(path: PathLike, mode: int = 0o644, fsync: bool = False,
                clean: bool = False) -> Iterator[BinaryIO]:
    """A binary file open for writing whose content replaces ``path`` when the block ends
    without error. ``mode``: the file's permissions (mkstemp alone would give 0600);
    ``fsync``: force the data to disk before the rename makes it visible; ``clean``: first
    remove the temporary files that writers of ``path`` killed before their rename left."""
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    if clean:
        remove_stale(folder, base)
    # the writer's pid in the name tells a later writer whether this file is still being written
    prefix = f".{base}.{os.getpid()}."
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=prefix, suffix=_SUFFIX)
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


_SUFFIX = ".tmp"


def remove_stale(folder: str, base: str) -> list[str]:
    """Remove the temporary files of ``base`` whose writer process no longer runs on this
    machine (a save killed before its rename); returns their paths."""
    start = f".{base}."
    removed = []
    with contextlib.suppress(OSError):
        for name in os.listdir(folder):
            if not (name.startswith(start) and name.endswith(_SUFFIX)):
                continue
            pid = name[len(start):].split(".", 1)[0]
            if pid.isdigit() and not _running(int(pid)):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(folder, name))
                    removed.append(os.path.join(folder, name))
    return removed


def _running(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def atomic_write(path: PathLike, data: bytes, mode: int = 0o644, fsync: bool = False) -> None:
    """Replace ``path`` with ``data`` atomically (see atomic_file)."""
    with atomic_file(path, mode, fsync) as f:
        f.write(data)
