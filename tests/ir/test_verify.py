"""The verifier: one deliberately broken graph per rule; each error names the node (op, the
user's file:line) and quotes the node's line of the printed IR."""

from __future__ import annotations

import re

import numpy as np
import pytest

import graphc as gc
from graphc.ir.graph import Graph, Node, Param, Value
from graphc.ir.loc import Loc
from graphc.ir.opdef import REGISTRY, OpDef
from graphc.ir.types import TensorType

F2 = TensorType.of("f32", (2,))


def small() -> tuple[Graph, list[Node]]:
    """%x, %y -> add -> exp -> sum, with parameter %w updated to the exp result."""
    g = Graph("small")
    x, y = g.add_input("x", F2), g.add_input("y", F2)
    w = g.add_param(Param("w", np.zeros(2, np.float32)), F2)
    a = g.add_node(REGISTRY["add"], [x, y], loc=Loc("model.py", 10))
    e = g.add_node(REGISTRY["exp"], [a.output], loc=Loc("model.py", 11))
    s = g.add_node(REGISTRY["sum"], [e.output], {"axis": 0}, loc=Loc("model.py", 12))
    g.outputs = [s.output]
    g.updates = [(w, e.output)]
    return g, [a, e, s]


def check_fails(g: Graph, *parts: str) -> str:
    with pytest.raises(gc.VerifyError) as info:
        gc.verify(g)
    message = str(info.value)
    for part in parts:
        assert part in message, message
    return message


def test_a_valid_graph_passes() -> None:
    g, _ = small()
    gc.verify(g)


def test_use_before_definition_names_node_and_quotes_line() -> None:
    g, (a, e, s) = small()
    g.nodes = [e, a, s]
    message = check_fails(g, "exp at model.py:11", "operand 0 is used before its definition")
    assert re.search(r"IR line 2: %0 = exp %<undefined> : f32\[2\]  loc\(\"model.py\":11\)",
                     message)


def test_cycle_is_reported() -> None:
    g, (a, e, s) = small()
    a.inputs[1] = e.output  # add reads exp, exp reads add
    check_fails(g, "add at model.py:10", "used before its definition", "(cycle: ")


def test_value_of_another_graph() -> None:
    g, (a, _, _) = small()
    other = Graph("other").add_input("z", F2)
    a.inputs[0] = other
    check_fails(g, "add at model.py:10", "operand 0 (<Value z: f32[2]>) is not defined in "
                "graph @small")


def test_result_types_must_match_the_rule() -> None:
    g, (_, e, _) = small()
    e.outputs[0].type = TensorType.of("f64", (2,))
    check_fails(g, "exp at model.py:11", "result types (f64[2]) differ from the inferred (f32[2])",
                "IR line 3: %1 = exp %0 : f64[2]")


def test_operand_types_rejected_by_the_rule() -> None:
    g, (a, _, _) = small()
    a.inputs[1] = g.add_input("i", TensorType.of("i64", (2,)))
    check_fails(g, "add at model.py:10", "the op's type rule rejects the operands",
                "operand dtypes differ")


def test_invalid_attribute() -> None:
    g, (_, _, s) = small()
    s.attrs["axis"] = (3,)
    check_fails(g, "sum at model.py:12", "invalid attributes", "axis 3 out of range")


def test_unknown_attribute() -> None:
    g, (_, e, _) = small()
    e.attrs["alpha"] = 1.0
    check_fails(g, "exp at model.py:11", "invalid attributes", "unknown attribute(s) ['alpha']",
                "%1 = exp %0 {alpha = 1.0}")


def test_attributes_must_be_canonical() -> None:
    g, (_, _, s) = small()
    s.attrs["axis"] = (-1,)
    check_fails(g, "sum at model.py:12", "not in canonical form")


def test_wrong_arity() -> None:
    g, (_, e, _) = small()
    e.inputs.append(g.inputs[0])
    check_fails(g, "exp at model.py:11", "takes 1 operand(s), got 2")


def test_node_listed_twice() -> None:
    g, (a, _, _) = small()
    g.nodes.append(a)
    check_fails(g, "add at model.py:10", "appears twice")


def test_result_owned_by_another_node() -> None:
    g, (a, e, _) = small()
    e.outputs[0] = a.outputs[0]
    check_fails(g, "exp at model.py:11", "result 0 does not belong to this node")


def test_graph_result_must_be_defined() -> None:
    g, _ = small()
    g.outputs = [Value(F2, name="ghost")]
    check_fails(g, "graph @small: result 0", "is not defined")


def test_update_target_must_be_a_parameter() -> None:
    g, (_, e, _) = small()
    g.updates = [(g.inputs[0], e.output)]
    check_fails(g, "graph @small: update target <Value x: f32[2]> is not a parameter")


def test_update_types_must_match() -> None:
    g, (_, _, s) = small()
    g.updates = [(g.params[0], s.output)]
    check_fails(g, "the update of %w (f32[2]) has type f32")


def test_update_value_must_be_defined() -> None:
    g, _ = small()
    g.updates = [(g.params[0], Value(F2))]
    check_fails(g, "the update of %w reads an undefined value")


def test_parameter_updated_twice() -> None:
    g, (_, e, _) = small()
    g.updates = [(g.params[0], e.output), (g.params[0], e.output)]
    check_fails(g, "parameter %w is updated twice")


def test_argument_names_are_unique() -> None:
    g, _ = small()
    g.inputs.append(Value(F2, name="w"))
    check_fails(g, "two arguments are named %w")


def test_parameters_need_a_cell_and_inputs_must_not_have_one() -> None:
    g, _ = small()
    g.params[0].param = None
    check_fails(g, "parameter %w has no Param cell")
    g, _ = small()
    g.inputs[0].param = Param("x", None)
    check_fails(g, "input %x carries a Param cell")


# -- bodies ----------------------------------------------------------------------------------
def _body_rule(in_types, attrs, body=None) -> list[TensorType]:
    return [TensorType(v.type.dtype, in_types[0].shape) for v in body.outputs]


BODY_OP = OpDef("test_body", "fused", _body_rule, lambda *a: a, arity=None, has_body=True)


def with_body() -> tuple[Graph, Node, Graph]:
    g = Graph("fusedg")
    x = g.add_input("x", F2)
    body = Graph("body")
    a0 = body.add_input("a0", TensorType.of("f32"))
    t = body.add_node(REGISTRY["tanh"], [a0], loc=Loc("model.py", 20))
    body.outputs = [t.output]
    node = g.add_node(BODY_OP, [x], loc=Loc("model.py", 21), body=body)
    g.outputs = [node.output]
    return g, node, body


def test_a_valid_body_passes() -> None:
    gc.verify(with_body()[0])


def test_body_may_only_use_its_own_values() -> None:
    g, _, body = with_body()
    body.nodes[0].inputs[0] = g.inputs[0]
    check_fails(g, "tanh at model.py:20", "is not an argument or result of this body",
                "IR line 4: %1 = tanh %x")


def test_body_node_types_are_checked() -> None:
    g, _, body = with_body()
    body.nodes[0].outputs[0].type = TensorType.of("f64")
    check_fails(g, "tanh at model.py:20", "result types (f64) differ")


def test_body_op_needs_a_body_and_others_take_none() -> None:
    g, node, body = with_body()
    node.body = None
    check_fails(g, "test_body at model.py:21", "needs a body")
    g, (a, _, _) = small()
    a.body = body
    check_fails(g, "add at model.py:10", "takes no body")


def test_body_may_not_update() -> None:
    g, _, body = with_body()
    body.params.append(Value(F2, name="p", param=Param("p", None)))
    check_fails(g, "a body may not have parameters or updates")


def test_verify_accepts_parsed_and_built_graphs() -> None:
    g = gc.Graph("m")
    with g:
        x = gc.placeholder("x", ("B", 3))
        y = gc.sum(gc.relu(x) * 2.0, axis=-1, keepdims=True)
    g.outputs = [y.ir]
    gc.verify(g)
    gc.verify(gc.parse(str(g)))
