"""Tokens of the text IR: a hand-written scanner that tracks line and column."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from graphc.ir.errors import ParseError

# kinds: name (%x), global (@g), ident, int, float, string, punct, eof
PUNCT = frozenset("()[]{}<>,:=*^-")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "t": "\t"}
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")
_IDENT_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDENT_CHARS = _IDENT_START | frozenset("0123456789")
_DIGITS = frozenset("0123456789")
_MAX_DIGITS = 4000  # Python refuses to convert longer int literals
_MAX_DEPTH = 64  # nesting of lists and bodies; deeper input is an error, not a RecursionError


class Token(NamedTuple):
    """One token: its kind, text (the literal's value for strings), and 1-based position.
    (A named tuple: the IR of a cached pipeline is tokenized on gc.function's warm path, and a
    tuple is built several times faster than a frozen dataclass.)"""

    kind: str
    text: str
    line: int
    col: int

    def describe(self) -> str:
        """How error messages show this token."""
        if self.kind == "eof":
            return "end of input"
        if self.kind == "string":
            return "a string"
        return repr(self.text)


class Lexer:
    """Turns IR text into a list of tokens ending with an eof token."""

    def __init__(self, text: str, filename: str | None = None) -> None:
        self.text = text
        self.filename = filename
        self.pos = 0
        self.line = 1
        self.col = 1

    def error(self, message: str, line: int | None = None, col: int | None = None) -> ParseError:
        """A ParseError at (line, col), by default the cursor."""
        return ParseError(message, line or self.line, col or self.col, self.filename)

    def tokens(self) -> list[Token]:
        """Every token of the text, ending with an eof token.

        Common tokens come from one regular expression (parsing a cached pipeline's IR is on
        the warm path of gc.function); anything else (escapes, quoted graph names, errors) goes
        through the character scanner below, which has the final word on every token."""
        out: list[Token] = []
        text, pos, line, line_start = self.text, 0, 1, 0
        while pos < len(text):
            m = _FAST.match(text, pos)
            kind = m.lastgroup if m is not None else None
            if kind is None or (kind == "number" and len(m.group()) > _MAX_DIGITS):
                self.pos, self.line, self.col = pos, line, pos - line_start + 1
                out.append(self._next())
                pos, line, line_start = self.pos, self.line, self.pos - self.col + 1
                continue
            if kind == "space":
                newlines = m.group().count("\n")
                if newlines:
                    line += newlines
                    line_start = m.start() + m.group().rindex("\n") + 1
            else:
                out.append(_fast_token(kind, m.group(kind), line, pos - line_start + 1))
            pos = m.end()
        out.append(Token("eof", "", line, pos - line_start + 1))
        return out

    def scan(self) -> list[Token]:
        """Every token by the character scanner alone (the reference for the fast path)."""
        out = []
        while True:
            self._skip_space()
            if self.pos >= len(self.text):
                out.append(Token("eof", "", self.line, self.col))
                return out
            out.append(self._next())

    def _peek(self, ahead: int = 0) -> str:
        i = self.pos + ahead
        return self.text[i] if i < len(self.text) else ""

    def _advance(self) -> str:
        ch = self.text[self.pos]
        self.pos += 1
        if ch == "\n":
            self.line, self.col = self.line + 1, 1
        else:
            self.col += 1
        return ch

    def _skip_space(self) -> None:
        while self.pos < len(self.text):
            ch = self._peek()
            if ch in " \t\r\n":
                self._advance()
            elif ch == "/" and self._peek(1) == "/":  # comments run to the end of the line
                while self.pos < len(self.text) and self._peek() != "\n":
                    self._advance()
            else:
                return

    def _next(self) -> Token:
        ch, line, col = self._peek(), self.line, self.col
        if ch == "%":
            return Token("name", "%" + self._word(_NAME_CHARS, "a value name"), line, col)
        if ch == "@":
            self._advance()
            if self._peek() == '"':
                return Token("global", self._string(), line, col)
            return Token("global", self._word(_IDENT_CHARS, "a graph name", skip=0), line, col)
        if ch == '"':
            return Token("string", self._string(), line, col)
        if ch in _DIGITS or (ch == "-" and self._peek(1) in _DIGITS):
            return self._number(line, col)
        if ch == "-" and self._peek(1) == ">":
            self._advance(), self._advance()
            return Token("punct", "->", line, col)
        if ch in _IDENT_START:
            return Token("ident", self._word(_IDENT_CHARS, "an identifier", skip=0), line, col)
        if ch in PUNCT:
            self._advance()
            return Token("punct", ch, line, col)
        raise self.error(f"unexpected character {ch!r}")

    def _word(self, chars: frozenset[str], what: str, skip: int = 1) -> str:
        line, col = self.line, self.col
        for _ in range(skip):
            self._advance()
        start = self.pos
        while self._peek() in chars:
            self._advance()
        if self.pos == start:
            raise self.error(f"expected {what}", line, col)
        return self.text[start : self.pos]

    def _string(self) -> str:
        line, col = self.line, self.col
        self._advance()
        chars = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated string", line, col)
            ch = self._advance()
            if ch == '"':
                return "".join(chars)
            if ch == "\\":
                esc = self._peek()
                if esc not in _ESCAPES:  # reported at the backslash
                    raise self.error('unknown escape in string; expected \\\\, \\", \\n or \\t',
                                     self.line, self.col - 1)
                chars.append(_ESCAPES[self._advance()])
            else:
                chars.append(ch)

    def _number(self, line: int, col: int) -> Token:
        start = self.pos
        if self._peek() == "-":
            self._advance()
        self._digits()
        kind = "int"
        if self._peek() == "." and self._peek(1) in _DIGITS:
            self._advance()
            self._digits()
            kind = "float"
        if self._peek() in ("e", "E"):
            self._exponent()
            kind = "float"
        text = self.text[start : self.pos]
        if len(text) > _MAX_DIGITS:
            raise self.error(f"number literal too long ({len(text)} characters)", line, col)
        return Token(kind, text, line, col)

    def _digits(self) -> None:
        while self._peek() in _DIGITS:
            self._advance()

    def _exponent(self) -> None:
        self._advance()
        if self._peek() in ("+", "-"):
            self._advance()
        if self._peek() not in _DIGITS:
            raise self.error("expected digits in the exponent")
        self._digits()


# The tokens the fast path of Lexer.tokens() takes whole, exactly as the scanner would read them;
# a number followed by more number characters (``1.``, ``1e``) is left to the scanner, and so
# is the ``-`` in front of it.
_FAST = re.compile(
    r"""(?P<space>(?:[ \t\r\n]+|//[^\n]*)+)
    |(?P<name>%[A-Za-z0-9_.]+)
    |@(?P<global>[A-Za-z0-9_]+)
    |(?P<arrow>->)
    |(?P<number>-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![0-9eE.])
    |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    |"(?P<string>[^"\\\n]*)"
    |(?P<punct>[()\[\]{}<>,:=*^]|-(?![0-9]))""",
    re.VERBOSE,
)
_FAST_KIND = {"arrow": "punct"}


def _fast_token(kind: str, text: str, line: int, col: int) -> Token:
    if kind == "number":
        kind = "float" if any(c in text for c in ".eE") else "int"
    return Token(_FAST_KIND.get(kind, kind), text, line, col)


def tokenize(text: str, filename: str | None = None) -> list[Token]:
    """All tokens of ``text``; raises ParseError at the first malformed one."""
    return Lexer(text, filename).tokens()


class TokenStream:
    """A cursor over tokens with the expect/peek helpers a recursive-descent parser needs."""

    def __init__(self, tokens: list[Token], filename: str | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.filename = filename
        self.depth = 0

    def peek(self) -> Token:
        """The next token, not consumed."""
        return self.tokens[self.pos]

    def next(self) -> Token:
        """Consume the next token (eof is never consumed)."""
        tok = self.tokens[self.pos]
        if tok.kind != "eof":
            self.pos += 1
        return tok

    def at(self, text: str, kind: str = "punct") -> bool:
        """Whether the next token is ``text`` of ``kind``."""
        tok = self.peek()
        return tok.kind == kind and tok.text == text

    def error(self, tok: Token, message: str) -> ParseError:
        """A ParseError at ``tok``'s position."""
        return ParseError(message, tok.line, tok.col, self.filename)

    def expect(self, text: str, kind: str = "punct") -> Token:
        """Consume ``text`` of ``kind`` or raise a ParseError that says so."""
        tok = self.peek()
        if tok.kind != kind or tok.text != text:
            raise self.error(tok, f"expected {text!r}, got {tok.describe()}")
        return self.next()

    def expect_kind(self, kind: str, what: str) -> Token:
        """Consume a token of ``kind``, described as ``what`` in the error."""
        tok = self.peek()
        if tok.kind != kind:
            raise self.error(tok, f"expected {what}, got {tok.describe()}")
        return self.next()

    def comma_list(self, item: Callable[[], Any], close: str) -> list[Any]:
        """``item (',' item)*`` up to ``close`` (not consumed); empty when ``close`` is next."""
        out = [] if self.at(close) else [item()]
        while self.at(","):
            self.next()
            out.append(item())
        return out

    @contextmanager
    def nested(self, tok: Token) -> Iterator[None]:
        """One level of nesting; deep input is a ParseError, not a RecursionError."""
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise self.error(tok, f"nesting deeper than {_MAX_DEPTH} levels")
        try:
            yield
        finally:
            self.depth -= 1
