"""gc.load of damaged checkpoints: a GraphcError naming file and member, nothing changed;
temporary files of killed saves are removed by the next save."""

from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

import graphc as gc

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def w():
    with gc.Graph("model"):
        return gc.parameter("w", np.arange(6, dtype=np.float32).reshape(2, 3))


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _patch_headers(data: bytes, offset: int, value: bytes) -> bytes:
    """``value`` written at ``offset`` of every local and central header (flags: 6 and 8,
    method: 8 and 10)."""
    out = bytearray(data)
    for sig, extra in ((b"PK\x03\x04", 0), (b"PK\x01\x02", 2)):
        at = out.find(sig)
        while at >= 0:
            out[at + offset + extra: at + offset + extra + len(value)] = value
            at = out.find(sig, at + 4)
    return bytes(out)


def _corrupt_first_member(data: bytes) -> bytes:
    """The first member's compressed bytes overwritten (its headers left intact)."""
    name_len, extra_len = struct.unpack("<HH", data[26:30])
    start = 30 + name_len + extra_len
    return data[:start] + b"\xff" * 16 + data[start + 16:]


GOOD = _npy(np.zeros((2, 3), np.float32))


def _huge_header() -> bytes:
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1, 3), np.float32))
    header["shape"] = (2**40, 3)
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + b"\0" * 12


DAMAGE = {
    "not a .npy member": _zip({"w": b"hello"}),
    "garbage .npy member": _zip({"w.npy": b"\x93NUMPY garbage"}),
    "compression method": _patch_headers(_zip({"w.npy": GOOD}), 8, struct.pack("<H", 99)),
    "encrypted flag": _patch_headers(_zip({"w.npy": GOOD}), 6, struct.pack("<H", 1)),
    "bad deflate data": _corrupt_first_member(_zip({"w.npy": GOOD}, zipfile.ZIP_DEFLATED)),
    "huge declared shape": _zip({"w.npy": _huge_header()}),
    "truncated member": _zip({"w.npy": GOOD[:-5]}),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_member_names_file_and_member(tmp_path: Path, w, damage: str) -> None:
    path = tmp_path / "ckpt.npz"
    path.write_bytes(DAMAGE[damage])
    before = w.value.copy()
    with pytest.raises(gc.GraphcError, match=r"ckpt\.npz: member 'w' "):
        gc.load(path, [w])
    np.testing.assert_array_equal(w.value, before)


KILLED_SAVE = """
import os, signal, sys
import numpy as np
import graphc as gc

def killed(f, **arrays):  # the process dies in the middle of writing the archive
    f.write(b"PK partial data")
    f.flush()
    os.kill(os.getpid(), signal.SIGKILL)

with gc.Graph("m"):
    w = gc.parameter("w", np.ones(3, np.float32))
np.savez = killed
gc.save(sys.argv[1], [w])
"""


def test_next_save_removes_temporary_files_of_killed_saves(tmp_path: Path, w) -> None:
    path = tmp_path / "ckpt.npz"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        proc = subprocess.run([sys.executable, "-c", KILLED_SAVE, str(path)], env=env,
                              timeout=120)
        assert proc.returncode == -9
    # each save removed the one its killed predecessor left: one is left, not three
    assert len([p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]) == 1
    assert not path.exists()
    (tmp_path / ".other.npz.1.x.tmp").write_bytes(b"")  # another file's: left alone
    gc.save(path, [w])
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.npz.1.x.tmp", "ckpt.npz"]
    gc.load(path, [w])
