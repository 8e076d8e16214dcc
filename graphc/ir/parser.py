"""Parser of the text IR (the form graphc.ir.printer prints): recursive descent over tokens.

Every node is built through make_node, so attributes are validated and result types inferred;
the written result types must equal the inferred ones. Parameters read from text have no value
(``param.value is None``) until one is assigned (the CLI's ``run --input w=w.npy`` does that).
Every malformed input raises ParseError with line and column; nothing else escapes parse().
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from graphc.ir.errors import GraphcError, ParseError
from graphc.ir.graph import Graph, Node, Param, Value, make_node
from graphc.ir.lexer import Token, TokenStream, tokenize
from graphc.ir.loc import UNKNOWN, Loc
from graphc.ir.opdef import REGISTRY, OpDef, lookup
from graphc.ir.types import DTYPES, Dim, DType, TensorType, check_dim

_DTYPES: dict[str, DType] = {d.short: d for d in DTYPES}
_DTYPE_NAMES = ", ".join(_DTYPES)
_MISSING = object()
_WORDS: dict[str, Any] = {"true": True, "false": False, "none": None, "inf": math.inf,
                          "nan": math.nan, **_DTYPES}
MAX_DENSE = 1 << 26  # elements of one dense literal


class _Scope:
    """SSA names visible in one region; a body sees only its own names."""

    def __init__(self, outer: _Scope | None = None) -> None:
        self.values: dict[str, Value] = {}
        self.outer = outer

    def outer_has(self, name: str) -> bool:
        scope = self.outer
        while scope is not None:
            if name in scope.values:
                return True
            scope = scope.outer
        return False


class _Parser(TokenStream):
    """Recursive descent over the token list of one graph."""

    # -- names -------------------------------------------------------------------------
    def define(self, scope: _Scope, tok: Token, value: Value) -> None:
        if tok.text in scope.values:
            raise self.error(tok, f"redefinition of {tok.text}")
        scope.values[tok.text] = value

    def use(self, scope: _Scope) -> Value:
        return self.use_at(scope)[1]

    def use_at(self, scope: _Scope) -> tuple[Token, Value]:
        """A %name read in ``scope`` and the value it names."""
        tok = self.expect_kind("name", "a value (%name)")
        value = scope.values.get(tok.text)
        if value is not None:
            return tok, value
        if scope.outer_has(tok.text):
            raise self.error(tok, f"{tok.text} is defined outside this body; "
                             "a body may only use its own arguments and results")
        close = difflib.get_close_matches(tok.text, list(scope.values), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise self.error(tok, f"undefined value {tok.text}{hint}")

    # -- graph -------------------------------------------------------------------------
    def graph(self) -> Graph:
        self.expect("graph", "ident")
        graph = Graph(self.expect_kind("global", "a graph name (@name)").text)
        scope = _Scope()
        self.arguments(scope, graph.add_input)
        if self.at("params", "ident"):
            self.next()
            self.arguments(scope, lambda name, t: graph.add_param(Param(name, None), t))
        self.expect("->")
        self.expect("(")
        declared = self.comma_list(self.type, ")")
        self.expect(")")
        self.expect("{")
        graph.outputs = self.block(graph, scope, "return", declared)
        self.expect("}")
        self.expect_kind("eof", "end of input after the graph's closing '}'")
        return graph

    def arguments(self, scope: _Scope, add: Callable[[str, TensorType], Value]) -> None:
        """``(%a: type, ...)``: each argument made by ``add(name, type)`` and defined."""

        def argument() -> None:
            tok = self.expect_kind("name", "an argument (%name: type)")
            self.expect(":")
            t = self.type()[0]
            if tok.text in scope.values:  # before add(): the graph would refuse the name
                raise self.error(tok, f"redefinition of {tok.text}")
            scope.values[tok.text] = add(tok.text[1:], t)

        self.expect("(")
        self.comma_list(argument, ")")
        self.expect(")")

    def block(self, graph: Graph, scope: _Scope, end: str, declared: list | None) -> list[Value]:
        """Statements up to ``end`` (return or yield); the values it names."""
        while True:
            tok = self.peek()
            if tok.kind == "name":
                self.node(graph, scope)
            elif tok.kind == "ident" and tok.text == "update" and end == "return":
                self.update(graph, scope)
            elif tok.kind == "ident" and tok.text == end:
                self.next()
                return self.results(scope, tok, declared)
            else:
                extra = ", 'update'" if end == "return" else ""
                raise self.error(tok, f"expected '%name = op ...'{extra} or {end!r}, "
                                 f"got {tok.describe()}")

    def results(self, scope: _Scope, end: Token, declared: list | None) -> list[Value]:
        """The values after return/yield, checked against the signature's types."""
        pairs = []
        if self.peek().kind == "name":
            pairs = self.comma_list(lambda: self.use_at(scope), "}")
        if declared is not None and len(pairs) != len(declared):
            raise self.error(end, f"{end.text} gives {len(pairs)} value(s); "
                             f"the signature declares {len(declared)}")
        for (tok, v), (t, _) in zip(pairs, declared or [], strict=False):
            if v.type != t:
                raise self.error(tok, f"{tok.text} has type {v.type}; the signature declares {t}")
        return [v for _, v in pairs]

    def update(self, graph: Graph, scope: _Scope) -> None:
        self.next()
        target_tok = self.peek()
        target = self.use(scope)
        if not any(target is p for p in graph.params):
            raise self.error(target_tok, f"update target {target_tok.text} is not a parameter")
        if any(target is p for p, _ in graph.updates):
            raise self.error(target_tok, f"parameter {target_tok.text} is updated twice")
        self.expect("=")
        value_tok = self.peek()
        value = self.use(scope)
        if value.type != target.type:
            raise self.error(value_tok, f"update of {target_tok.text} ({target.type}) "
                             f"with a value of type {value.type}")
        graph.updates.append((target, value))

    # -- nodes -------------------------------------------------------------------------
    def node(self, graph: Graph, scope: _Scope) -> None:
        names = self.comma_list(lambda: self.expect_kind("name", "a result name"), "=")
        self.expect("=")
        op_tok = self.expect_kind("ident", "an op name")
        op = self.op(op_tok)
        inputs = [] if self.peek().kind != "name" else self.comma_list(lambda: self.use(scope), ":")
        attrs = self.attr_dict() if self.at("{") else {}
        self.expect(":")
        types = self.comma_list(self.type, "{")
        body = self.body(op, scope) if self.at("{") else None
        if op.has_body and body is None:
            raise self.error(self.peek(), f"op {op.name} needs a body '{{ ^(...): ... }}'")
        loc = self.loc()
        node = self.make(op_tok, op, inputs, attrs, body, loc)
        self.check_results(op_tok, node, names, types)
        graph.nodes.append(node)
        for tok, value in zip(names, node.outputs, strict=True):
            self.define(scope, tok, value)

    def op(self, tok: Token) -> OpDef:
        try:
            return lookup(tok.text)
        except KeyError:
            close = difflib.get_close_matches(tok.text, list(REGISTRY), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise self.error(tok, f"unknown op {tok.text!r}{hint}") from None

    def make(self, tok: Token, op: OpDef, inputs: list[Value], attrs: dict[str, Any],
             body: Graph | None, loc: Loc | None) -> Node:
        """make_node with its errors re-raised as ParseError at the op's position."""
        where = loc or Loc(self.filename or "<text>", tok.line)
        try:
            node = make_node(op, inputs, attrs, where, body)
        except GraphcError as e:
            raise self.error(tok, str(e)) from None
        except Exception as e:  # an op's rule failing on input it did not foresee
            raise self.error(tok, f"op {op.name} rejected its operands: "
                             f"{type(e).__name__}: {e}") from None
        node.loc = loc or UNKNOWN
        return node

    def check_results(self, op_tok: Token, node: Node, names: list[Token], types: list) -> None:
        n = len(node.outputs)
        if len(names) != n or len(types) != n:
            raise self.error(op_tok, f"op {node.op.name} produces {n} result(s); the text names "
                             f"{len(names)} and gives {len(types)} type(s)")
        for value, (t, tok) in zip(node.outputs, types, strict=True):
            if value.type != t:
                raise self.error(tok, f"result type {t} does not match {value.type}, "
                                 f"the type op {node.op.name} infers")

    def body(self, op: OpDef, outer: _Scope) -> Graph:
        brace = self.expect("{")
        if not op.has_body:
            raise self.error(brace, f"op {op.name} takes no body; expected 'loc' or a new line")
        with self.nested(brace):
            self.expect("^")
            body, scope = Graph(f"{op.name}_body"), _Scope(outer)
            self.arguments(scope, body.add_input)
            self.expect(":")
            body.outputs = self.block(body, scope, "yield", None)
            self.expect("}")
        return body

    def loc(self) -> Loc | None:
        if not self.at("loc", "ident"):
            return None
        self.next()
        self.expect("(")
        file = self.expect_kind("string", "a file name string").text
        self.expect(":")
        line = self.natural("a line number >= 0")
        rule = None
        if self.at(","):
            self.next()
            rule = self.expect_kind("string", "a rule name string").text
        self.expect(")")
        return Loc(file, line, rule)

    def natural(self, what: str) -> int:
        tok = self.expect_kind("int", what)
        if tok.text.startswith("-"):
            raise self.error(tok, f"expected {what}, got {tok.text}")
        return int(tok.text)

    # -- types -------------------------------------------------------------------------
    def type(self) -> tuple[TensorType, Token]:
        tok = self.expect_kind("ident", "a type (f32, i64[B,10], ...)")
        dtype = _DTYPES.get(tok.text)
        if dtype is None:
            raise self.error(tok, f"unknown dtype {tok.text!r}; expected one of {_DTYPE_NAMES}")
        shape: list[Dim] = []
        if self.at("["):
            self.next()
            shape = self.comma_list(self.dim, "]")
            self.expect("]")
        try:
            return TensorType(dtype, tuple(shape)), tok
        except GraphcError as e:
            raise self.error(tok, str(e)) from None

    def dim(self) -> Dim:
        first = self.peek()
        parts = [self.factor()]
        while self.at("*"):
            self.next()
            parts.append(self.factor())
        try:
            return check_dim("*".join(parts))
        except GraphcError as e:
            raise self.error(first, str(e)) from None

    def factor(self) -> str:
        tok = self.peek()
        if tok.kind == "ident":
            return self.next().text
        return str(self.natural("a dim (an int >= 0 or a symbol such as B)"))

    # -- attributes --------------------------------------------------------------------
    def attr_dict(self) -> dict[str, Any]:
        self.expect("{")
        attrs: dict[str, Any] = {}
        for key, value in self.comma_list(self.attr, "}"):
            if key.text in attrs:
                raise self.error(key, f"attribute {key.text!r} given twice")
            attrs[key.text] = value
        self.expect("}")
        return attrs

    def attr(self) -> tuple[Token, Any]:
        key = self.expect_kind("ident", "an attribute name")
        self.expect("=")
        return key, self.value()

    def value(self) -> Any:
        tok = self.peek()
        if tok.text == "[" and tok.kind == "punct":
            with self.nested(self.next()):
                items = self.comma_list(self.value, "]")
                self.expect("]")
            return tuple(items)
        if tok.kind == "ident" and tok.text == "dense":
            return self.dense()
        if tok.kind == "string":
            return self.next().text
        return self.scalar("an attribute value (number, string, true, false, none, dtype, "
                           "[list] or dense<...>)")

    def scalar(self, what: str) -> Any:
        tok = self.next()
        if tok.kind == "int":
            return int(tok.text)
        if tok.kind == "float":
            return float(tok.text)
        if tok.kind == "punct" and tok.text == "-" and self.at("inf", "ident"):
            self.next()
            return -math.inf
        word = _WORDS.get(tok.text, _MISSING) if tok.kind == "ident" else _MISSING
        if word is _MISSING:
            raise self.error(tok, f"expected {what}, got {tok.describe()}")
        return word

    def dense(self) -> np.ndarray:
        self.next()
        self.expect("<")
        t, ttok = self.type()
        if not t.is_static:
            raise self.error(ttok, f"a dense literal needs a static shape, got {t}")
        size = math.prod(t.shape)  # type: ignore[arg-type]
        if size > MAX_DENSE:
            raise self.error(ttok, f"dense literal of {size} elements; at most {MAX_DENSE}")
        self.expect(":")
        start = self.peek()
        values, splat = self.dense_values(t.dtype)
        self.expect(">")
        if not splat and len(values) != size:
            raise self.error(start, f"dense<{t}> needs {size} value(s), got {len(values)}")
        try:
            with np.errstate(all="raise"):
                if splat:
                    return np.full(t.shape, values[0], t.dtype.np)
                return np.array(values, t.dtype.np).reshape(t.shape)
        except (OverflowError, ValueError, TypeError, FloatingPointError) as e:
            raise self.error(start, f"value out of range for {t.dtype}: {e}") from None

    def dense_values(self, dtype: DType) -> tuple[list[Any], bool]:
        """The literal's values and whether it is a splat (one value for every element)."""
        what = "true or false" if dtype.is_bool else "an int" if dtype.is_int else "a number"
        kinds = (bool,) if dtype.is_bool else (int,) if dtype.is_int else (int, float)

        def item() -> Any:
            tok = self.peek()
            v = self.scalar(what)
            if type(v) not in kinds:
                raise self.error(tok, f"expected {what} for dtype {dtype}, got {tok.describe()}")
            return v

        if not self.at("["):
            return [item()], True
        self.next()
        values = self.comma_list(item, "]")
        self.expect("]")
        return values, False


def parse(text: str, filename: str = "<text>") -> Graph:
    """The Graph of IR ``text``; any malformed input raises ParseError (line:column)."""
    name = None if filename == "<text>" else filename
    if not isinstance(text, str):
        raise ParseError(f"expected IR text (str), got {type(text).__name__}", 1, 1, name)
    return _Parser(tokenize(text, name), name).graph()
