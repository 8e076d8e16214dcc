"""Malformed IR text: each error names line:column and what was expected; a hypothesis fuzz
checks that nothing but ParseError ever escapes parse()."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import graphc as gc
from graphc.ir.opdef import REGISTRY, AttrSpec, OpDef
from graphc.ir.types import TensorType
from tests.ir.samples import FUSED, VALID

HEAD = "graph @g(%x: f32[2], %i: i64[2]) params(%w: f32[2]) -> (f32[2]) {\n"


def body(*lines: str, ret: str = "  return %x") -> str:
    """A graph with the given statement lines (line 2 onwards), then return and '}'."""
    return HEAD + "".join(line + "\n" for line in lines) + ret + "\n}\n"


ERRORS = [  # (text, line, column, part of the message)
    ("", 1, 1, "expected 'graph', got end of input"),
    ("graph g()", 1, 7, "expected a graph name (@name), got 'g'"),
    ("graph @g(%x f32)", 1, 13, "expected ':', got 'f32'"),
    ("graph @g(%x: f33[2])", 1, 14, "unknown dtype 'f33'; expected one of f32, f64, i32"),
    ("graph @g(%x: f32[2,-1])", 1, 20, "expected a dim (an int >= 0 or a symbol such as B)"),
    ("graph @g(%x: f32, %x: f32) -> () {", 1, 19, "redefinition of %x"),
    ("graph @g() -> () {\n  return\n}\ngraph", 4, 1, "expected end of input after the graph"),
    (body("  %0 = ad %x, %x : f32[2]"), 2, 8, "unknown op 'ad'; did you mean"),
    (body("  %0 = add %x, %y : f32[2]"), 2, 16, "undefined value %y"),
    (body("  %0 = add %x, %x0 : f32[2]"), 2, 16, "undefined value %x0 (did you mean %x"),
    (body("  %0 = add %x, %x : f32[3]"), 2, 21, "result type f32[3] does not match f32[2]"),
    (body("  %0 = add %x : f32[2]"), 2, 8, "takes 2 operand(s), got 1"),
    (body("  %0 = add %x, %i : f32[2]"), 2, 8, "operand dtypes differ (f32, i64)"),
    (body("  %0 = sum %x {axis = [3]} : f32"), 2, 8, "axis 3 out of range for rank 1"),
    (body("  %0 = sum %x {bogus = 1} : f32"), 2, 8, "unknown attribute(s) ['bogus']"),
    (body("  %0 = sum %x {axis = [0], axis = [0]} : f32"), 2, 28, "attribute 'axis' given twice"),
    (body("  %0 = sum %x {keepdims = maybe} : f32"), 2, 27, "expected an attribute value"),
    (body("  %0, %1 = add %x, %x : f32[2]"), 2, 12, "produces 1 result(s); the text names 2"),
    (body("  %0 = add %x, %x : f32[2]", "  %0 = neg %x : f32[2]"), 3, 3, "redefinition of %0"),
    (body("  %0 = add %x, %x : f32[2] { ^(): yield }"), 2, 28, "op add takes no body"),
    (body('  %0 = neg %x : f32[2]  loc("m.py":-3)'), 2, 36, "expected a line number >= 0, got -3"),
    (body("  %0 = neg %x : f32[2]  loc(m:3)"), 2, 29, "expected a file name string"),
    (body('  %0 = neg %x : f32[2]  loc("m.py:3)'), 2, 29, "unterminated string"),
    (body('  %0 = neg %x : f32[2]  loc("m\\q":3)'), 2, 31, "unknown escape in string"),
    (body("  %0 = neg %x : f32[2] $"), 2, 24, "unexpected character '$'"),
    (body("  %0 = neg %x : f32[2]", ret="  return %0, %0"), 3, 3, "return gives 2 value(s)"),
    (body("  %0 = cast %x {dtype = f64} : f64[2]", ret="  return %0"), 3, 10,
     "%0 has type f64[2]; the signature declares f32[2]"),
    (body("  update %x = %x"), 2, 10, "update target %x is not a parameter"),
    (body("  update %w = %i"), 2, 15, "update of %w (f32[2]) with a value of type i64[2]"),
    (body("  update %w = %x", "  update %w = %x"), 3, 10, "parameter %w is updated twice"),
    (body("  yield %x"), 2, 3, "expected '%name = op ...', 'update' or 'return', got 'yield'"),
    (body("  %0 = constant {value = dense<f32[3]: [1.0, 2.0]>} : f32[3]"), 2, 40,
     "dense<f32[3]> needs 3 value(s), got 2"),
    (body("  %0 = constant {value = dense<i32[2]: [1, 2.5]>} : i32[2]"), 2, 44,
     "expected an int for dtype i32, got '2.5'"),
    (body("  %0 = constant {value = dense<i32[1]: [4294967296]>} : i32[1]"), 2, 40,
     "value out of range for i32"),
    (body("  %0 = constant {value = dense<f32[1]: [1e39]>} : f32[1]"), 2, 40,
     "value out of range for f32"),
    (body("  %0 = constant {value = dense<f32[B]: 0.0>} : f32[2]"), 2, 32,
     "a dense literal needs a static shape, got f32[B]"),
    (body("  %0 = constant {value = dense<f32[65536,65536]: 0.0>} : f32[2]"), 2, 32,
     "dense literal of 4294967296 elements"),
    (body("  %0 = sum %x {axis = " + "[" * 80 + "0" + "]" * 80 + "} : f32"), 2, 87,
     "nesting deeper than 64 levels"),
    (body("  %0 = sum %x {axis = 1e} : f32"), 2, 25, "expected digits in the exponent"),
    (body("  %0 = sum %x {axis = " + "9" * 5000 + "} : f32"), 2, 23, "number literal too long"),
]


@pytest.mark.parametrize("text, line, column, message", ERRORS, ids=range(len(ERRORS)))
def test_error_position_and_message(text: str, line: int, column: int, message: str) -> None:
    with pytest.raises(gc.ParseError) as info:
        gc.parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    assert message in err.reason
    assert str(err).startswith(f"{line}:{column}: ")


def test_filename_prefixes_the_position() -> None:
    with pytest.raises(gc.ParseError, match=r"^model\.gir:2:8: unknown op 'ad'"):
        gc.parse(body("  %0 = ad %x, %x : f32[2]"), "model.gir")


def test_not_text_is_a_parse_error() -> None:
    with pytest.raises(gc.ParseError, match="expected IR text"):
        gc.parse(b"graph @g() -> () {}")  # type: ignore[arg-type]


# -- bodies (an op with has_body; the fusion pass defines the real ones) ----------------------
def _body_rule(in_types, attrs, body) -> list[TensorType]:
    shape = in_types[0].shape
    return [TensorType(v.type.dtype, shape) for v in body.outputs]


@pytest.fixture
def body_op(monkeypatch: pytest.MonkeyPatch) -> OpDef:
    op = OpDef("test_body", "fused", _body_rule, lambda *a: a, arity=None, has_body=True,
               attrs={"tag": AttrSpec("int", 0)})
    monkeypatch.setitem(REGISTRY, op.name, op)
    return op


BODY_OK = """graph @g(%x: f32[2], %y: f32[2]) -> (f32[2]) {
  %0 = test_body %x, %y {tag = 3} : f32[2] {
    ^(%a0: f32, %a1: f32):
      %1 = add %a0, %a1 : f32
      %2 = tanh %1 : f32
      yield %2
  }  loc("m.py":4)
  return %0
}
"""


def test_body_round_trips(body_op: OpDef) -> None:
    g = gc.parse(BODY_OK)
    assert str(g) == BODY_OK
    assert [n.op.name for n in g.nodes[0].body.nodes] == ["add", "tanh"]
    gc.verify(g)


@pytest.mark.parametrize("old, new, line, column, message", [
    ("%1 = add %a0, %a1", "%1 = add %a0, %x", 4, 21, "%x is defined outside this body"),
    ("yield %2", "return %2", 6, 7, "expected '%name = op ...' or 'yield'"),
    ("{tag = 3} : f32[2] {", "{tag = 3} : f32[2]", 3, 5, "op test_body needs a body"),
    ("^(%a0: f32, %a1: f32):", "(%a0: f32, %a1: f32):", 3, 5, "expected '^'"),
    ("%2 = tanh %1", "%a0 = tanh %1", 5, 7, "redefinition of %a0"),
])
def test_body_errors(body_op: OpDef, old: str, new: str, line: int, column: int,
                     message: str) -> None:
    with pytest.raises(gc.ParseError) as info:
        gc.parse(BODY_OK.replace(old, new))
    assert (info.value.line, info.value.column) == (line, column), str(info.value)
    assert message in info.value.reason


# -- fuzz ------------------------------------------------------------------------------------
ALPHABET = st.sampled_from(list("%@^(){}[]<>,:=*-\"\\. \n_0123456789aefgilmnrstuxyBdw") +
                           ["graph", "add", "dense", "f32", "i64", "return", "update", "loc"])


def _parses_or_raises_parse_error(text: str) -> None:
    try:
        g = gc.parse(text)
    except gc.ParseError as e:
        assert 1 <= e.line <= text.count("\n") + 1
        assert e.column >= 1
        return
    assert str(gc.parse(str(g))) == str(g)  # whatever parses, round-trips


def test_valid_fuzz_seed_parses() -> None:
    g = gc.parse(VALID)
    assert str(g) == VALID
    g.param_by_name("w").param.value = np.eye(3, dtype=np.float32)


@settings(max_examples=400, deadline=None)
@given(st.lists(ALPHABET, max_size=60).map("".join))
def test_fuzz_random_text(text: str) -> None:
    _parses_or_raises_parse_error(text)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80))
def test_fuzz_arbitrary_unicode(text: str) -> None:
    _parses_or_raises_parse_error(text)


@st.composite
def mutations(draw: st.DrawFn) -> str:
    """VALID or FUSED with 1-3 edits: delete, insert or replace a span, or duplicate/drop a
    line."""
    text = draw(st.sampled_from([VALID, FUSED]))
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        j = draw(st.integers(i, min(len(text), i + 12)))
        piece = draw(st.lists(ALPHABET, max_size=4).map("".join))
        kind = draw(st.sampled_from(["delete", "insert", "replace", "line"]))
        if kind == "delete":
            text = text[:i] + text[j:]
        elif kind == "insert":
            text = text[:i] + piece + text[i:]
        elif kind == "replace":
            text = text[:i] + piece + text[j:]
        else:
            lines = text.split("\n")
            k = draw(st.integers(0, len(lines) - 1))
            lines[k:k + 1] = draw(st.sampled_from([[], [lines[k], lines[k]]]))
            text = "\n".join(lines)
    return text


@settings(max_examples=600, deadline=None)
@given(mutations())
def test_fuzz_mutations_of_valid_ir(text: str) -> None:
    _parses_or_raises_parse_error(text)
