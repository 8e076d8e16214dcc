"""canonicalize: IR text in, expected IR text out (written by hand), and the rule engine."""

from __future__ import annotations

import pytest

import graphc as gc
from graphc.ir.errors import GraphcError
from graphc.passes.rewrite import P, Rule, RuleSet, X, apply_rules
from tests.passes.irtext import ir, run_pass


def test_algebraic_identities():
    before = """
    graph @g(%x: f32[4], %y: f32[4]) -> (f32[4], f32[4], f32[4], f32[4]) {
      %0 = constant {value = dense<f32: 0.0>} : f32
      %1 = constant {value = dense<f32: 1.0>} : f32
      %2 = add %0, %x : f32[4]
      %3 = mul %2, %1 : f32[4]
      %4 = div %3, %1 : f32[4]
      %5 = neg %4 : f32[4]
      %6 = neg %5 : f32[4]
      %7 = sub %6, %0 : f32[4]
      %8 = neg %y : f32[4]
      %9 = add %x, %8 : f32[4]
      %10 = cast %9 {dtype = f32} : f32[4]
      %11 = sum %10 {axis = []} : f32[4]
      %12 = constant {value = dense<f32: 2.0>} : f32
      %13 = pow %y, %12 : f32[4]
      return %7, %11, %13, %6
    }
    """
    after = """
    graph @g(%x: f32[4], %y: f32[4]) -> (f32[4], f32[4], f32[4], f32[4]) {
      %0 = sub %x, %y : f32[4]
      %1 = square %y : f32[4]
      return %x, %0, %1, %x
    }
    """
    assert run_pass("canonicalize", before) == ir(after)


def test_identities_never_change_a_type():
    # x + zeros[2,4] broadcasts x: replacing it by x would change the result's shape
    before = """
    graph @g(%x: f32[4]) -> (f32[2,4]) {
      %0 = constant {value = dense<f32[2,4]: 0.0>} : f32[2,4]
      %1 = add %x, %0 : f32[2,4]
      return %1
    }
    """
    assert run_pass("canonicalize", before) == ir(before)


def test_multiplying_by_zero_is_folded_for_integers_only():
    before = """
    graph @g(%i: i32[3], %f: f32[3]) -> (i32[3], f32[3]) {
      %0 = constant {value = dense<i32: 0>} : i32
      %1 = mul %i, %0 : i32[3]
      %2 = constant {value = dense<f32: 0.0>} : f32
      %3 = mul %f, %2 : f32[3]
      return %1, %3
    }
    """
    after = """
    graph @g(%i: i32[3], %f: f32[3]) -> (i32[3], f32[3]) {
      %0 = full_like %i : i32[3]
      %1 = constant {value = dense<f32: 0.0>} : f32
      %2 = mul %f, %1 : f32[3]
      return %0, %2
    }
    """
    assert run_pass("canonicalize", before) == ir(after)


def test_shape_identities():
    before = """
    graph @g(%x: f32[2,3,4]) -> (f32[2,3,4], f32[4,6], f32[2,3,4], f32[3,2,4]) {
      %0 = transpose %x {perm = [1, 2, 0]} : f32[3,4,2]
      %1 = transpose %0 {perm = [2, 0, 1]} : f32[2,3,4]
      %2 = reshape %x {shape = [6, 4]} : f32[6,4]
      %3 = reshape %2 {shape = [4, 6]} : f32[4,6]
      %4 = reshape %x {shape = [2, 3, 4]} : f32[2,3,4]
      %5 = transpose %x {perm = [2, 1, 0]} : f32[4,3,2]
      %6 = transpose %5 {perm = [1, 2, 0]} : f32[3,2,4]
      return %1, %3, %4, %6
    }
    """
    after = """
    graph @g(%x: f32[2,3,4]) -> (f32[2,3,4], f32[4,6], f32[2,3,4], f32[3,2,4]) {
      %0 = reshape %x {shape = [4, 6]} : f32[4,6]
      %1 = transpose %x {perm = [1, 0, 2]} : f32[3,2,4]
      return %x, %0, %x, %1
    }
    """
    assert run_pass("canonicalize", before) == ir(after)


def test_broadcast_scalar_constant_operand_is_read_directly():
    before = """
    graph @g(%x: f32[B,4]) -> (f32[B,4]) {
      %0 = constant {value = dense<f32: 3.0>} : f32
      %1 = broadcast_to %0 {shape = ["B", 4]} : f32[B,4]
      %2 = mul %x, %1 : f32[B,4]
      return %2
    }
    """
    after = """
    graph @g(%x: f32[B,4]) -> (f32[B,4]) {
      %0 = constant {value = dense<f32: 3.0>} : f32
      %1 = mul %x, %0 : f32[B,4]
      return %1
    }
    """
    assert run_pass("canonicalize", before) == ir(after)


def test_numerical_stabilization():
    before = """
    graph @g(%x: f32[2,5]) -> (f32[2,5], f32[2,5], f32[2,5], f32[2,5], f32[2,5]) {
      %0 = softmax %x {axis = 1} : f32[2,5]
      %1 = log %0 : f32[2,5]
      %2 = sigmoid %x : f32[2,5]
      %3 = log %2 : f32[2,5]
      %4 = exp %x : f32[2,5]
      %5 = log %4 : f32[2,5]
      %6 = log %x : f32[2,5]
      %7 = exp %6 : f32[2,5]
      %8 = sqrt %x : f32[2,5]
      %9 = log %8 : f32[2,5]
      %10 = exp %9 : f32[2,5]
      return %1, %3, %5, %7, %10
    }
    """
    after = """
    graph @g(%x: f32[2,5]) -> (f32[2,5], f32[2,5], f32[2,5], f32[2,5], f32[2,5]) {
      %0 = log_softmax %x {axis = 1} : f32[2,5]
      %1 = neg %x : f32[2,5]
      %2 = softplus %1 : f32[2,5]
      %3 = neg %2 : f32[2,5]
      %4 = log %x : f32[2,5]
      %5 = exp %4 : f32[2,5]
      %6 = sqrt %x : f32[2,5]
      return %0, %3, %x, %5, %6
    }
    """
    assert run_pass("canonicalize", before) == ir(after)


def test_rewritten_nodes_are_marked_with_the_rule():
    g = gc.parse(ir("""
    graph @g(%x: f32[3]) -> (f32[3]) {
      %0 = sigmoid %x : f32[3]  loc("model.py":7)
      %1 = log %0 : f32[3]  loc("model.py":7)
      return %1
    }
    """))
    text = run_pass("canonicalize", gc.print_ir(g))
    assert 'softplus %0 : f32[3]  loc("model.py":7, "log-sigmoid")' in text


def test_engine_reports_rules_that_never_settle():
    flip = RuleSet([Rule("flip", P("neg", X), lambda m, e: e.neg(e.neg(e.neg(m["x"]))))])
    g = gc.parse(ir("""
    graph @g(%x: f32[3]) -> (f32[3]) {
      %0 = neg %x : f32[3]
      return %0
    }
    """))
    with pytest.raises(GraphcError, match="fixed point.*flip"):
        apply_rules(g, flip, max_sweeps=3)
