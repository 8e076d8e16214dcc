"""Source fingerprints hash whole trees: a change in any subpackage invalidates the cache."""

from __future__ import annotations

from pathlib import Path

import graphc
from graphc.support.fingerprint import source_files, tree_fingerprint


def _tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "top.py").write_text("a = 1\n")
    (root / "sub" / "mid.py").write_text("b = 2\n")
    (root / "sub" / "deeper" / "leaf.py").write_text("c = 3\n")
    (root / "sub" / "notes.txt").write_text("not source\n")


def test_a_change_anywhere_in_the_tree_changes_the_fingerprint(tmp_path: Path):
    _tree(tmp_path)
    first = tree_fingerprint(tmp_path)
    (tmp_path / "sub" / "notes.txt").write_text("edited\n")
    assert tree_fingerprint(tmp_path) == first  # not a source file
    (tmp_path / "sub" / "deeper" / "leaf.py").write_text("c = 4\n")
    second = tree_fingerprint(tmp_path)
    assert second != first
    (tmp_path / "sub" / "deeper" / "leaf.py").rename(tmp_path / "sub" / "leaf.py")
    assert tree_fingerprint(tmp_path) not in (first, second)  # paths count, not only bytes


def test_graphc_fingerprints_cover_the_subpackages():
    root = Path(graphc.__file__).parent
    llvm = {p.relative_to(root / "backends" / "llvm").as_posix()
            for p in source_files(root / "backends" / "llvm")}
    assert {"kernels/table.py", "codegen/layout.py", "native/gemm.py", "irgen/loops.py",
            "toolchain/jit.py"} <= llvm
    pipeline = {p.relative_to(root).as_posix() for p in source_files(
        root, ["__init__.py", "ir/**/*.py", "analysis/**/*.py", "passes/**/*.py"])}
    assert {"analysis/memory.py", "passes/fuse.py", "__init__.py"} <= pipeline
