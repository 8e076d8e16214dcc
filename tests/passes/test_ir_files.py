"""Pass tests written as IR files (tests/passes/ir/*.gir): each case runs through ``graphc opt``
as its RUN line says, its output must satisfy its CHECK lines, and its numbers must not change
(the reference interpreter on random inputs, before and after)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import graphc as gc
from graphc.backends.numpy.interpreter import run_graph
from graphc.cli import main
from graphc.ops.shape import runtime_dims
from tests.passes.filecheck import Check, CheckError, IRCase, filecheck, read_cases

FILES = sorted((Path(__file__).parent / "ir").glob("*.gir"))
CASES = [c for f in FILES for c in read_cases(f)]
DIM = 3  # every symbolic dim, for the numbers check


def _opt(case: IRCase, tmp_path: Path, capsys) -> str:
    path = tmp_path / f"{case.id}.gir"
    path.write_text(case.source)
    capsys.readouterr()
    code = main(["opt", *case.run, str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _run(graph: gc.Graph, dims: dict[str, int]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)  # the same values for the graph before and after
    inputs = [_random(rng, v.type, dims) for v in graph.inputs]
    for p in graph.params:
        p.param.value = _random(rng, p.type, dims)  # type: ignore[union-attr]
    with np.errstate(all="ignore"), runtime_dims(dims):
        return run_graph(graph, inputs)


def _random(rng: np.random.Generator, t: gc.TensorType, dims: dict[str, int]) -> np.ndarray:
    shape = t.concrete(dims)
    if t.dtype.is_float:
        return rng.uniform(0.5, 2.0, shape).astype(t.dtype.np)  # log, sqrt and div stay finite
    return rng.integers(0, 3, shape).astype(t.dtype.np)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_ir_file(case: IRCase, tmp_path, capsys):
    out = _opt(case, tmp_path, capsys)
    filecheck(out, case.checks)
    before, after = gc.parse(case.source), gc.parse(out)
    dims = {str(d): DIM for v in before.inputs for d in v.type.shape if isinstance(d, str)}
    for a, b in zip(_run(before, dims), _run(after, dims), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_every_check_line_can_fail(case: IRCase, tmp_path, capsys):
    """A wrong expected text fails the case: each CHECK/CHECK-NEXT line, changed, is not
    found; each CHECK-NOT fails on the unoptimized graph (after the CHECK before it), so it
    catches a pass that did not do its job."""
    out = _opt(case, tmp_path, capsys)
    unoptimized = gc.print_ir(gc.parse(case.source))
    for i, c in enumerate(case.checks):
        if c.kind == "CHECK-NOT":
            anchor = [Check("CHECK", p.text, p.line) for p in case.checks[:i]
                      if p.kind != "CHECK-NOT" and p.text in unoptimized][-1:]
            with pytest.raises(CheckError, match=f"line {c.line}: CHECK-NOT"):
                filecheck(unoptimized, [*anchor, c])
            continue
        wrong = Check(c.kind, c.text + " <wrong>", c.line)
        with pytest.raises(CheckError, match=f"line {c.line}: "):
            filecheck(out, [*case.checks[:i], wrong, *case.checks[i + 1 :]])


def test_there_are_cases():
    assert {f.stem for f in FILES} >= {"canonicalize", "cse", "dce", "fold"}


OUT = "a\n  b\n  c\nd\n"


@pytest.mark.parametrize(
    ("checks", "ok"),
    [
        ([("CHECK", "a"), ("CHECK-NEXT", "b"), ("CHECK", "d")], True),
        ([("CHECK", "a"), ("CHECK-NEXT", "c")], False),  # c is not right after a
        ([("CHECK", "b"), ("CHECK", "a")], False),  # order matters
        ([("CHECK", "a"), ("CHECK-NOT", "c"), ("CHECK", "b")], True),
        ([("CHECK", "a"), ("CHECK-NOT", "b"), ("CHECK", "c")], False),
        ([("CHECK", "c"), ("CHECK-NOT", "a")], True),  # a is before the previous match
        ([("CHECK", "c"), ("CHECK-NOT", "d")], False),  # a trailing NOT runs to the end
        ([("CHECK", "e")], False),
    ],
)
def test_filecheck_semantics(checks, ok):
    parsed = [Check(k, t, n) for n, (k, t) in enumerate(checks)]
    if ok:
        filecheck(OUT, parsed)
    else:
        with pytest.raises(CheckError):
            filecheck(OUT, parsed)
