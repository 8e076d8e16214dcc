"""The MNIST IDX format: a strict reader and the four-file MNIST layout (raw or gzipped)."""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

from graphc.ir.errors import GraphcError

# IDX type codes (third magic byte) -> big-endian element type
_IDX_TYPES: dict[int, str] = {
    0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"
}
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801
_FILES = {
    "train_images": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "train_labels": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "test_images": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "test_labels": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}


def _read_bytes(path: str) -> bytes:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rb") as f:
                return f.read()
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise GraphcError(f"{path}: no such IDX file") from None
    except (OSError, EOFError, zlib.error) as e:  # bad or truncated gzip stream
        raise GraphcError(f"{path}: cannot read the IDX file ({e})") from None


def _header(path: str, data: bytes, magic: int | None) -> tuple[np.dtype, tuple[int, ...], int]:
    """(element dtype, dims, header size) of an IDX file, validated against ``magic``."""
    if len(data) < 4:
        raise GraphcError(f"{path}: truncated IDX file ({len(data)} bytes, no magic number)")
    found = int.from_bytes(data[:4], "big")
    if magic is not None and found != magic:
        raise GraphcError(f"{path}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}")
    if data[0] or data[1] or data[2] not in _IDX_TYPES:
        raise GraphcError(f"{path}: not an IDX file (magic number 0x{found:08x})")
    ndim, size = data[3], 4 + 4 * data[3]
    if len(data) < size:
        raise GraphcError(f"{path}: truncated IDX header ({len(data)} bytes, need {size})")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    return np.dtype(_IDX_TYPES[data[2]]), dims, size


def read_idx(path: str | os.PathLike, magic: int | None = None) -> np.ndarray:
    """The array stored in an IDX file (raw or .gz); checks magic, header and length."""
    path = os.fspath(path)
    data = _read_bytes(path)
    dtype, dims, offset = _header(path, data, magic)
    want = offset + math.prod(dims) * dtype.itemsize  # Python ints: no int64 wrap-around
    if len(data) != want:
        what = "truncated" if len(data) < want else "trailing bytes in"
        raise GraphcError(
            f"{path}: {what} IDX file: dims {list(dims)} need {want} bytes, found {len(data)}"
        )
    arr = np.frombuffer(data, dtype, offset=offset).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def _find(directory: str, key: str) -> str:
    for base in _FILES[key]:
        for name in (base, base + ".gz"):
            path = os.path.join(directory, name)
            if os.path.isfile(path):
                return path
    expected = os.path.join(directory, _FILES[key][0])
    raise GraphcError(f"{expected}: missing MNIST file (looked for it raw and as .gz)")


def _split(directory: str, part: str, images: bool) -> tuple[np.ndarray, np.ndarray]:
    img_path, lbl_path = _find(directory, f"{part}_images"), _find(directory, f"{part}_labels")
    x, y = read_idx(img_path, IMAGES_MAGIC), read_idx(lbl_path, LABELS_MAGIC)
    if len(x) != len(y):
        raise GraphcError(f"{img_path} holds {len(x)} images but {lbl_path} {len(y)} labels")
    x = x.astype(np.float32) / np.float32(255.0)
    x = x.reshape(len(x), 1, *x.shape[1:]) if images else x.reshape(len(x), -1)
    return x, y.astype(np.int64)


def mnist(
    directory: str | os.PathLike, images: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) from the four MNIST IDX files in ``directory``.

    Pixels are float32 in [0, 1]; x is [N, rows*cols], or [N, 1, rows, cols] with
    ``images=True``; labels are int64. Files may be raw or gzipped (``.gz``).
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise GraphcError(f"{directory}: no such MNIST directory")
    x_train, y_train = _split(directory, "train", images)
    x_test, y_test = _split(directory, "test", images)
    return x_train, y_train, x_test, y_test
