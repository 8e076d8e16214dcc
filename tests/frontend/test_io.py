"""gc.save / gc.load: round trips, atomic writes, and failures that change nothing."""

import os

import numpy as np
import pytest

import graphc as gc


@pytest.fixture
def params():
    with gc.Graph("model"):
        w = gc.parameter("fc.w", np.arange(6, dtype=np.float32).reshape(2, 3))
        b = gc.parameter("fc.b", np.array([1.0, 2.0, 3.0], np.float32))
        n = gc.parameter("steps", np.int64(7))
    return w, b, n


def _values(ps):
    return [p.value.copy() for p in ps]


def _assert_unchanged(ps, before):
    for p, v in zip(ps, before, strict=True):
        np.testing.assert_array_equal(p.value, v)
        assert p.value.dtype == v.dtype


def test_round_trip(tmp_path, params):
    path = tmp_path / "model.npz"
    saved = _values(params)
    gc.save(path, list(params))
    for p in params:
        p.value = np.zeros_like(p.value)
    gc.load(path, list(params))
    _assert_unchanged(params, saved)
    with np.load(path) as f:  # an ordinary .npz that NumPy reads by parameter name
        assert sorted(f.files) == ["fc.b", "fc.w", "steps"]


def test_dict_uses_its_own_names(tmp_path, params):
    w, b, _ = params
    gc.save(tmp_path / "m.npz", {"weight": w, "bias": b})
    with np.load(tmp_path / "m.npz") as f:
        assert sorted(f.files) == ["bias", "weight"]
    w.value = np.zeros((2, 3), np.float32)
    gc.load(tmp_path / "m.npz", {"weight": w, "bias": b})
    assert w.value[1, 2] == 5


def test_no_temporary_files_are_left(tmp_path, params):
    gc.save(tmp_path / "a.npz", list(params))
    gc.save(tmp_path / "a.npz", list(params))  # overwrite in place
    assert os.listdir(tmp_path) == ["a.npz"]


def test_a_failed_save_keeps_the_old_file(tmp_path, params, monkeypatch):
    path = tmp_path / "a.npz"
    gc.save(path, list(params))
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(RuntimeError, match="disk full"):
        gc.save(path, list(params))
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["a.npz"]


def test_missing_name_changes_nothing(tmp_path, params):
    w, b, n = params
    gc.save(tmp_path / "a.npz", [w, n])
    before = _values(params)
    w.value = before[0] + 1
    before[0] = w.value.copy()
    with pytest.raises(gc.GraphcError, match="no value for parameter.*'fc.b'"):
        gc.load(tmp_path / "a.npz", list(params))
    _assert_unchanged(params, before)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((3, 2), np.float32), r"'fc.w' has shape \[3, 2\] in the file, expected \[2, 3\]"),
        (np.zeros((2, 3), np.float64), r"'fc.w' has dtype float64 in the file, expected float32"),
    ],
)
def test_shape_or_dtype_mismatch_changes_nothing(tmp_path, params, bad, match):
    w, b, n = params
    path = tmp_path / "a.npz"
    np.savez(path, **{"fc.w": bad, "fc.b": np.full(3, 9, np.float32), "steps": np.int64(1)})
    before = _values(params)
    with pytest.raises(gc.GraphcError, match=match):
        gc.load(path, [b, n, w])  # the bad entry last: the good ones must not be assigned
    _assert_unchanged(params, before)


def test_unexpected_names_strict_and_lenient(tmp_path, params):
    w, b, n = params
    gc.save(tmp_path / "a.npz", list(params))
    with pytest.raises(gc.GraphcError, match="unexpected name.*'steps'.*strict=False"):
        gc.load(tmp_path / "a.npz", [w, b])
    w.value = np.zeros((2, 3), np.float32)
    gc.load(tmp_path / "a.npz", [w, b], strict=False)
    assert w.value.sum() == 15


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"just some text\n", "not an .npz archive"),
        (b"", "not an .npz archive"),
        (b"PK\x03\x04 torn zip data", "npz"),
    ],
)
def test_files_that_are_not_npz(tmp_path, params, content, match):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    before = _values(params)
    with pytest.raises(gc.GraphcError, match=match) as info:
        gc.load(path, list(params))
    assert "bad.npz" in str(info.value)
    _assert_unchanged(params, before)


def test_npy_and_truncated_npz(tmp_path, params):
    np.save(tmp_path / "one.npy", np.zeros(3))
    with pytest.raises(gc.GraphcError, match="one.npy: not an .npz"):
        gc.load(tmp_path / "one.npy", list(params))
    gc.save(tmp_path / "full.npz", list(params))
    data = (tmp_path / "full.npz").read_bytes()
    (tmp_path / "torn.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(gc.GraphcError, match="torn.npz"):
        gc.load(tmp_path / "torn.npz", list(params))


def test_missing_file(tmp_path, params):
    with pytest.raises(gc.GraphcError, match="nothere.npz: no such parameter file"):
        gc.load(tmp_path / "nothere.npz", list(params))


def test_only_parameters_and_unique_names(tmp_path, params):
    w, _, _ = params
    with w.graph:
        x = gc.placeholder("x", (2,))
    with pytest.raises(gc.GraphcError, match="parameter Tensors"):
        gc.save(tmp_path / "a.npz", [x])
    with pytest.raises(gc.GraphcError, match="twice"):
        gc.save(tmp_path / "a.npz", [w, w])
    assert not os.listdir(tmp_path)
