"""canonicalize: rule locations and the rule engine (the rules' IR-in/IR-out cases are in
tests/passes/ir/canonicalize.gir)."""

from __future__ import annotations

import pytest

import graphc as gc
from graphc.ir.errors import GraphcError
from graphc.passes.rewrite import P, Rule, RuleSet, X, apply_rules
from tests.passes.irtext import ir, run_pass


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
