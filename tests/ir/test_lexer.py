"""The lexer's regular-expression fast path reads every text exactly as the character scanner."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graphc.ir.errors import ParseError
from graphc.ir.lexer import Lexer, Token, tokenize

PIECES = [
    "%x", "%0", "%a.b_1", "@g", "@\"odd name\"", "@", "%", "graph", "f32", "->", "-", "-1",
    "1", "12", "1.5", "1.", "1e", "1e5", "1.5e-3", "2.5E+10", "1e5e", "7x", "\"s\"",
    "\"a\\\\b\\n\"", "\"bad\\q\"", "\"open", "\"two\nlines\"", "// note\n", "/", "#", "\n", " ",
    "\t", "(", ")", "[", "]", "{", "}", "<", ">", ",", ":", "=", "*", "^", "dense", "loc",
]


def _both(text: str) -> tuple[object, object]:
    """(fast tokens or the error, scanner tokens or the error), errors as (message, line, col)."""
    results = []
    for read in (lambda: tokenize(text, "f.gir"), lambda: Lexer(text, "f.gir").scan()):
        try:
            results.append(read())
        except ParseError as e:
            results.append(("error", str(e)))
    return results[0], results[1]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_fast_path_matches_the_scanner(pieces: list[str]) -> None:
    fast, slow = _both("".join(pieces))
    assert fast == slow


def test_positions_and_kinds_of_a_line() -> None:
    toks = tokenize('graph @g(%x: f32[2]) {\n  %0 = exp %x : f32[2]  loc("m.py":3)\n}')
    assert toks[:3] == [Token("ident", "graph", 1, 1), Token("global", "g", 1, 7),
                        Token("punct", "(", 1, 9)]
    zero = next(t for t in toks if t.text == "%0")
    assert (zero.line, zero.col) == (2, 3)
    assert Token("string", "m.py", 2, 29) in toks
    assert toks[-1] == Token("eof", "", 3, 2)


@pytest.mark.parametrize(
    ("text", "where"),
    [("%x\n  ?", "2:3"), ("\n\n1e", "3:3"), ('\n "a\\q"', "2:4"), ("x\n/ y", "2:1")],
)
def test_errors_point_at_line_and_column(text: str, where: str) -> None:
    with pytest.raises(ParseError, match=where):
        tokenize(text)


def test_number_kinds() -> None:
    kinds = [(t.kind, t.text) for t in tokenize("-3 4.5 1e3 -2.0e-1")[:-1]]
    assert kinds == [("int", "-3"), ("float", "4.5"), ("float", "1e3"), ("float", "-2.0e-1")]
