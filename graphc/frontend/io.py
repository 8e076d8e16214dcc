"""Saving and loading parameter values as .npz archives (gc.save / gc.load).

``params`` is a list of parameter Tensors (keyed by their names) or a dict ``name -> Tensor``
(keyed by the dict's names, e.g. to load weights saved under other names). Saving writes
atomically (graphc.support.files), so a crash never leaves a torn file. Loading reads with
``allow_pickle=False``, checks every entry first (missing names, shapes, dtypes) and only then
assigns, so a failed load changes nothing.
Names in the file that ``params`` does not ask for are an error by default (``strict=True``,
as in PyTorch's ``load_state_dict``); ``strict=False`` ignores them, which loads a subset
(e.g. the model weights out of a checkpoint that also holds optimizer state).
Under mpiexec rank 0 writes and the others wait; every rank loads (from a file system they
share), so a run may resume on another number of ranks.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import DistributedError, GraphcError
from graphc.ops import collective
from graphc.support.files import atomic_file

Params = Sequence[Tensor] | Mapping[str, Tensor]
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip entry, or an empty archive


def _named(params: Params) -> dict[str, Tensor]:
    """The ``name -> parameter Tensor`` table of ``params``, checked."""
    if isinstance(params, Tensor):
        params = [params]
    items = list(params.items()) if isinstance(params, Mapping) else [(p, p) for p in params]
    table: dict[str, Tensor] = {}
    for key, t in items:
        if not isinstance(t, Tensor) or t.ir.param is None:
            raise GraphcError(f"gc.save/gc.load take parameter Tensors, got {t!r}")
        name = key if isinstance(key, str) else t.name
        if name in table:
            raise GraphcError(f"parameter name {name!r} appears twice in params")
        table[name] = t
    return table


def save(path: str | os.PathLike, params: Params) -> None:
    """Write the current values of ``params`` to the .npz file ``path`` atomically.

    Under mpiexec only rank 0 writes (data-parallel ranks hold the same values) and the others
    wait for it; if rank 0 fails, every rank raises."""
    table = _named(params)
    comm = collective.world()
    if comm is None:
        _write(path, table)
        return
    status = np.zeros(1, np.int64)
    try:
        if comm.Get_rank() == 0:
            _write(path, table)
    except BaseException:
        status[0] = 1
        collective.run_collective("broadcast", status, 0)
        raise
    collective.run_collective("broadcast", status, 0)
    if status[0]:
        raise DistributedError(f"{os.fspath(path)}: rank 0 failed to save the checkpoint")


def _write(path: str | os.PathLike, table: dict[str, Tensor]) -> None:
    arrays = {name: t.value for name, t in table.items()}
    # fsync: on disk before the rename makes it visible; clean: saves of this path that were
    # killed before their rename left temporary files, removed now
    with atomic_file(path, fsync=True, clean=True) as f:
        np.savez(f, **arrays)  # a file object: numpy does not append ".npz"


def _read(path: str) -> dict[str, np.ndarray]:
    """Every array of the archive, read eagerly so errors surface before any assignment."""
    if not os.path.isfile(path):
        raise GraphcError(f"{path}: no such parameter file")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic not in _ZIP_MAGIC:  # numpy would try to unpickle anything else
        raise GraphcError(f"{path}: not an .npz archive (gc.save writes zip-based .npz files)")
    try:
        archive = np.load(path, allow_pickle=False)
    except Exception as e:  # zipfile and numpy raise many kinds for a damaged archive
        raise GraphcError(f"{path}: not a readable .npz archive of parameters "
                          f"({type(e).__name__}: {e})") from None
    with archive:
        return {name: _member(path, archive, name) for name in archive.files}


def _member(path: str, archive: Any, name: str) -> np.ndarray:
    """One array of the archive; any damage is a GraphcError naming the file and member."""
    try:
        arr = archive[name]
    except Exception as e:  # bad compression data or method, encryption flag, bad header...
        raise GraphcError(f"{path}: member {name!r} is damaged ({type(e).__name__}: {e})"
                          ) from None
    if not isinstance(arr, np.ndarray):  # numpy returns the raw bytes of a non-.npy member
        raise GraphcError(f"{path}: member {name!r} is not a .npy array (gc.save writes one "
                          "per parameter)")
    return arr


def _check(path: str, name: str, t: Tensor, arr: np.ndarray) -> None:
    want = t.type
    if arr.shape != tuple(want.shape):
        raise GraphcError(
            f"{path}: parameter {name!r} has shape {list(arr.shape)} in the file, "
            f"expected {list(want.shape)}"
        )
    if arr.dtype != want.dtype.np:
        raise GraphcError(
            f"{path}: parameter {name!r} has dtype {arr.dtype} in the file, "
            f"expected {want.dtype.name}"
        )


def load(path: str | os.PathLike, params: Params, strict: bool = True) -> None:
    """Assign the values stored in ``path`` to ``params``; on any error nothing changes."""
    path = os.fspath(path)
    table = _named(params)
    arrays = _read(path)
    missing = [name for name in table if name not in arrays]
    if missing:
        raise GraphcError(f"{path}: no value for parameter(s) {', '.join(map(repr, missing))}")
    extra = [name for name in arrays if name not in table]
    if strict and extra:
        raise GraphcError(
            f"{path}: unexpected name(s) {', '.join(map(repr, extra))} in the file "
            "(pass strict=False to ignore them)"
        )
    for name, t in table.items():
        _check(path, name, t, arrays[name])
    for name, t in table.items():
        t.ir.param.value = np.asarray(arrays[name], order="C")  # type: ignore[union-attr]

