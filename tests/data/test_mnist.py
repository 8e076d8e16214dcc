"""The IDX reader on small files the tests write: raw, gzipped, and corrupt ones."""

import gzip
import struct

import numpy as np
import pytest

import graphc as gc
from graphc.data import mnist, read_idx

NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def idx_bytes(arr: np.ndarray, type_code: int = 0x08) -> bytes:
    """An IDX file written from the format description (independent of the reader)."""
    header = bytes([0, 0, type_code, arr.ndim]) + b"".join(struct.pack(">I", d) for d in arr.shape)
    return header + arr.tobytes()


def write_mnist(directory, n_train=5, n_test=3, gz=False, rows=4, cols=3):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, rows, cols), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, (n_test, rows, cols), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for key, arr in arrays.items():
        data = idx_bytes(arr)
        if gz:
            (directory / (NAMES[key] + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / NAMES[key]).write_bytes(data)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_reads_raw_and_gzipped(tmp_path, gz):
    arrays = write_mnist(tmp_path, gz=gz)
    x_train, y_train, x_test, y_test = mnist(tmp_path)
    assert x_train.shape == (5, 12) and x_test.shape == (3, 12)
    assert x_train.dtype == np.float32 and y_train.dtype == np.int64
    np.testing.assert_allclose(x_train * 255, arrays["train_images"].reshape(5, 12), atol=1e-4)
    np.testing.assert_array_equal(y_train, arrays["train_labels"])
    np.testing.assert_array_equal(y_test, arrays["test_labels"])
    assert x_test.min() >= 0.0 and x_test.max() <= 1.0


def test_images_option_gives_nchw(tmp_path):
    arrays = write_mnist(tmp_path)
    x_train, _, x_test, _ = mnist(tmp_path, images=True)
    assert x_train.shape == (5, 1, 4, 3) and x_test.shape == (3, 1, 4, 3)
    np.testing.assert_allclose(x_train[:, 0] * 255, arrays["train_images"], atol=1e-4)


def _corrupt(tmp_path, key, data, gz=False):
    write_mnist(tmp_path)
    path = tmp_path / NAMES[key]
    if gz:
        path.unlink()
        path = tmp_path / (NAMES[key] + ".gz")
    path.write_bytes(data)
    return path


def test_wrong_magic_names_the_file(tmp_path):
    labels = idx_bytes(np.zeros(5, np.uint8))
    path = _corrupt(tmp_path, "train_images", labels)  # a label file where images belong
    with pytest.raises(gc.GraphcError, match="wrong magic number 0x00000801, expected 0x00000803"
                       ) as info:
        mnist(tmp_path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("cut", [2, 9, 30, -1])
def test_truncated_file_names_the_file(tmp_path, cut):
    full = idx_bytes(np.zeros((5, 4, 3), np.uint8))
    path = _corrupt(tmp_path, "train_images", full[:cut])
    with pytest.raises(gc.GraphcError, match="truncated") as info:
        mnist(tmp_path)
    assert str(path) in str(info.value)


def test_trailing_bytes_are_an_error(tmp_path):
    data = idx_bytes(np.zeros(3, np.uint8)) + b"\0"
    _corrupt(tmp_path, "test_labels", data)
    with pytest.raises(gc.GraphcError, match="t10k-labels-idx1-ubyte: trailing bytes"):
        mnist(tmp_path)


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(idx_bytes(np.zeros((3, 4, 3), np.uint8)))
    _corrupt(tmp_path, "test_images", data[: len(data) // 2], gz=True)
    with pytest.raises(gc.GraphcError, match=r"t10k-images-idx3-ubyte\.gz: cannot read"):
        mnist(tmp_path)


def test_missing_file_names_the_file(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / NAMES["test_labels"]).unlink()
    with pytest.raises(gc.GraphcError, match="t10k-labels-idx1-ubyte: missing MNIST file"):
        mnist(tmp_path)


def test_missing_directory(tmp_path):
    with pytest.raises(gc.GraphcError, match="no such MNIST directory"):
        mnist(tmp_path / "absent")


def test_image_and_label_counts_must_agree(tmp_path):
    _corrupt(tmp_path, "train_labels", idx_bytes(np.zeros(4, np.uint8)))
    with pytest.raises(gc.GraphcError, match="5 images but .* 4 labels"):
        mnist(tmp_path)


def test_read_idx_other_element_types(tmp_path):
    arr = np.arange(-3, 3, dtype=">i4").reshape(2, 3)
    (tmp_path / "a.idx").write_bytes(idx_bytes(arr, 0x0C))
    got = read_idx(tmp_path / "a.idx")
    np.testing.assert_array_equal(got, arr)
    assert got.dtype == np.int32 and got.dtype.isnative


def test_read_idx_rejects_non_idx(tmp_path):
    (tmp_path / "x").write_bytes(b"\x89PNG....")
    with pytest.raises(gc.GraphcError, match="not an IDX file"):
        read_idx(tmp_path / "x")


def test_dims_whose_product_overflows_int64_are_an_error(tmp_path):
    # 4 x 2**16 elements is 2**64, which wraps to 0 in int64: a header-only file must not pass
    header = bytes([0, 0, 0x08, 4]) + struct.pack(">IIII", *[2**16] * 4)
    path = tmp_path / "huge-idx4-ubyte"
    path.write_bytes(header)
    with pytest.raises(gc.GraphcError, match="truncated IDX file"):
        read_idx(path)
