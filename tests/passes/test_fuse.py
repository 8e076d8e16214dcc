"""fuse: IR text in, expected IR text out (written by hand); the fusion report."""

from __future__ import annotations

import graphc as gc
from graphc.passes.fuse import explain_fusion
from tests.passes.irtext import ir, run_pass


def test_elementwise_chain_and_broadcast_become_one_fused_node():
    before = """
    graph @g(%x: f32[B,4], %b: f32[4]) -> (f32[B,4]) {
      %0 = add %x, %b : f32[B,4]
      %1 = constant {value = dense<f32: 0.5>} : f32
      %2 = mul %0, %1 : f32[B,4]
      %3 = tanh %2 : f32[B,4]
      return %3
    }
    """
    after = """
    graph @g(%x: f32[B,4], %b: f32[4]) -> (f32[B,4]) {
      %0 = fused %x, %b : f32[B,4] {
        ^(%a0: f32, %a1: f32):
          %1 = add %a0, %a1 : f32
          %2 = constant {value = dense<f32: 0.5>} : f32
          %3 = mul %1, %2 : f32
          %4 = tanh %3 : f32
          yield %4
      }
      return %0
    }
    """
    assert run_pass("fuse", before) == ir(after)


def test_values_read_outside_the_group_are_yielded():
    before = """
    graph @g(%x: f32[8]) -> (f32[8], f32[8]) {
      %0 = exp %x : f32[8]
      %1 = neg %0 : f32[8]
      return %0, %1
    }
    """
    after = """
    graph @g(%x: f32[8]) -> (f32[8], f32[8]) {
      %0, %1 = fused %x : f32[8], f32[8] {
        ^(%a0: f32):
          %2 = exp %a0 : f32
          %3 = neg %2 : f32
          yield %2, %3
      }
      return %0, %1
    }
    """
    assert run_pass("fuse", before) == ir(after)


def test_matmul_takes_bias_and_activation_as_epilogue():
    before = """
    graph @g(%x: f32[B,3], %w: f32[3,5], %b: f32[5]) -> (f32[B,5]) {
      %0 = matmul %x, %w : f32[B,5]
      %1 = add %0, %b : f32[B,5]
      %2 = relu %1 : f32[B,5]
      return %2
    }
    """
    after = """
    graph @g(%x: f32[B,3], %w: f32[3,5], %b: f32[5]) -> (f32[B,5]) {
      %0 = fused_matmul %x, %w, %b : f32[B,5] {
        ^(%a0: f32, %a1: f32):
          %1 = add %a0, %a1 : f32
          %2 = relu %1 : f32
          yield %2
      }
      return %0
    }
    """
    assert run_pass("fuse", before) == ir(after)


def test_elementwise_producer_moves_into_its_only_reduction():
    before = """
    graph @g(%x: f32[B,4], %y: f32[B,4]) -> (f32[B]) {
      %0 = sub %x, %y : f32[B,4]
      %1 = square %0 : f32[B,4]
      %2 = sum %1 {axis = [1]} : f32[B]
      return %2
    }
    """
    after = """
    graph @g(%x: f32[B,4], %y: f32[B,4]) -> (f32[B]) {
      %0 = fused_reduce %x, %y {reduce = "sum", axis = [1]} : f32[B] {
        ^(%a0: f32, %a1: f32):
          %1 = sub %a0, %a1 : f32
          %2 = square %1 : f32
          yield %2
      }
      return %0
    }
    """
    assert run_pass("fuse", before) == ir(after)


def test_softmax_is_three_kernels():
    before = """
    graph @g(%x: f32[B,10]) -> (f32[B,10]) {
      %0 = softmax %x {axis = 1} : f32[B,10]
      return %0
    }
    """
    after = """
    graph @g(%x: f32[B,10]) -> (f32[B,10]) {
      %0 = max %x {axis = [1], keepdims = true} : f32[B,1]
      %1 = fused_reduce %x, %0 {reduce = "sum", axis = [1], keepdims = true} : f32[B,1] {
        ^(%a0: f32, %a1: f32):
          %2 = sub %a0, %a1 : f32
          %3 = exp %2 : f32
          yield %3
      }
      %4 = fused %x, %0, %1 : f32[B,10] {
        ^(%a0: f32, %a1: f32, %a2: f32):
          %5 = sub %a0, %a1 : f32
          %6 = exp %5 : f32
          %7 = div %6, %a2 : f32
          yield %7
      }
      return %4
    }
    """
    assert run_pass("fuse", before) == ir(after)


def test_fusion_never_forms_a_cycle():
    # %2 reads %0 and the reduction of %0: putting %2 with %0 would make the reduction both
    # read and feed one kernel
    before = """
    graph @g(%x: f32[4,4]) -> (f32[4,4], f32[4,4]) {
      %0 = exp %x : f32[4,4]
      %1 = sum %0 {axis = [1], keepdims = true} : f32[4,1]
      %2 = matmul %0, %0 : f32[4,4]
      %3 = div %0, %1 : f32[4,4]
      return %2, %3
    }
    """
    assert run_pass("fuse", before) == ir(before)  # exp is stored for the matmul anyway
    report = str(explain_fusion(gc.parse(ir(before))))
    assert "exp -> f32[4,4]  =>  div -> f32[4,4]: would create a cycle" in report
    assert "exp -> f32[4,4]  =>  sum -> f32[4,1]: multiple consumers" in report


def test_report_says_why_neighbours_were_not_fused():
    g = gc.parse(ir("""
    graph @g(%x: f32[B,4], %w: f32[4,4], %v: f32[4]) -> (f32[B,4], f32[4]) {
      %0 = exp %x : f32[B,4]
      %1 = matmul %0, %w : f32[B,4]
      %2 = mul %v, %v : f32[4]
      %3 = add %1, %2 : f32[B,4]
      %4 = neg %1 : f32[B,4]
      return %3, %2
    }
    """))
    report = str(explain_fusion(g))
    assert "exp -> f32[B,4]  =>  matmul -> f32[B,4]: consumer is matmul, not elementwise" in report
    assert "shape mismatch ([4] vs [B,4])" in report
    assert len(g.nodes) == 5  # explaining does not modify the graph


def test_fuse_is_idempotent_on_its_output():
    before = """
    graph @g(%x: f32[B,4], %w: f32[4,4]) -> (f32[B,4]) {
      %0 = matmul %x, %w : f32[B,4]
      %1 = sigmoid %0 : f32[B,4]
      %2 = mul %1, %x : f32[B,4]
      return %2
    }
    """
    once = run_pass("fuse", before)
    assert run_pass("fuse", once) == once
