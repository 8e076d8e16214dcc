"""The atomic writer: whole replacement, permissions, nothing left behind on failure."""

from __future__ import annotations

import os
import stat

import pytest

from graphc.support.files import atomic_file, atomic_write


def test_replaces_the_whole_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write(target, b"a much longer first version\n")
    atomic_write(target, b"two\n")
    assert target.read_bytes() == b"two\n"
    assert os.listdir(tmp_path) == ["a.txt"]


def test_mode_is_applied(tmp_path):
    atomic_write(tmp_path / "p", b"x", mode=0o600)
    atomic_write(tmp_path / "q", b"x")
    assert stat.S_IMODE((tmp_path / "p").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "q").stat().st_mode) == 0o644


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_file(target, fsync=True) as f:
        f.write(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["a.txt"]
