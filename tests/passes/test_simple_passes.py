"""dce, cse and fold: IR text in, expected IR text out (written by hand)."""

from __future__ import annotations

from tests.passes.irtext import ir, run_pass


def test_dce_drops_what_no_result_or_update_reads():
    before = """
    graph @g(%x: f32[4]) params(%w: f32[4]) -> (f32[4]) {
      %0 = exp %x : f32[4]
      %1 = log %x : f32[4]
      %2 = add %0, %w : f32[4]
      %3 = mul %w, %w : f32[4]
      %4 = neg %3 : f32[4]
      update %w = %2
      return %0
    }
    """
    after = """
    graph @g(%x: f32[4]) params(%w: f32[4]) -> (f32[4]) {
      %0 = exp %x : f32[4]
      %1 = add %0, %w : f32[4]
      update %w = %1
      return %0
    }
    """
    assert run_pass("dce", before) == ir(after)


def test_cse_merges_equal_nodes_and_normalizes_commutative_operands():
    before = """
    graph @g(%x: f32[4], %y: f32[4]) -> (f32[4]) {
      %0 = add %x, %y : f32[4]
      %1 = add %y, %x : f32[4]
      %2 = sub %x, %y : f32[4]
      %3 = sub %y, %x : f32[4]
      %4 = mul %0, %1 : f32[4]
      %5 = mul %2, %3 : f32[4]
      %6 = add %4, %5 : f32[4]
      return %6
    }
    """
    after = """
    graph @g(%x: f32[4], %y: f32[4]) -> (f32[4]) {
      %0 = add %x, %y : f32[4]
      %1 = sub %x, %y : f32[4]
      %2 = sub %y, %x : f32[4]
      %3 = mul %0, %0 : f32[4]
      %4 = mul %1, %2 : f32[4]
      %5 = add %3, %4 : f32[4]
      return %5
    }
    """
    assert run_pass("cse", before) == ir(after)


def test_cse_compares_constants_by_content_and_attributes_by_value():
    before = """
    graph @g(%x: f32[2,3]) -> (f32[2], f32[3], f32[2], f32[2]) {
      %0 = constant {value = dense<f32[2]: [1.0, 2.0]>} : f32[2]
      %1 = constant {value = dense<f32[2]: [1.0, 2.0]>} : f32[2]
      %2 = constant {value = dense<f32[2]: [1.0, -0.0]>} : f32[2]
      %3 = constant {value = dense<f32[2]: [1.0, 0.0]>} : f32[2]
      %4 = sum %x {axis = [1]} : f32[2]
      %5 = sum %x {axis = [0]} : f32[3]
      %6 = sum %x {axis = [1]} : f32[2]
      %7 = add %4, %0 : f32[2]
      %8 = add %6, %1 : f32[2]
      %9 = add %2, %3 : f32[2]
      return %7, %5, %8, %9
    }
    """
    after = """
    graph @g(%x: f32[2,3]) -> (f32[2], f32[3], f32[2], f32[2]) {
      %0 = constant {value = dense<f32[2]: [1.0, 2.0]>} : f32[2]
      %1 = constant {value = dense<f32[2]: [1.0, -0.0]>} : f32[2]
      %2 = constant {value = dense<f32[2]: [1.0, 0.0]>} : f32[2]
      %3 = sum %x {axis = [1]} : f32[2]
      %4 = sum %x {axis = [0]} : f32[3]
      %5 = add %3, %0 : f32[2]
      %6 = add %1, %2 : f32[2]
      return %5, %4, %5, %6
    }
    """
    assert run_pass("cse", before) == ir(after)


def test_fold_evaluates_constant_subgraphs_and_drops_their_operands():
    before = """
    graph @g(%x: f32[3]) -> (f32[3]) {
      %0 = constant {value = dense<f32[3]: [1.0, 2.0, 3.0]>} : f32[3]
      %1 = constant {value = dense<f32: 2.0>} : f32
      %2 = mul %0, %1 : f32[3]
      %3 = neg %2 : f32[3]
      %4 = add %x, %3 : f32[3]
      return %4
    }
    """
    after = """
    graph @g(%x: f32[3]) -> (f32[3]) {
      %0 = constant {value = dense<f32[3]: [-2.0, -4.0, -6.0]>} : f32[3]
      %1 = add %x, %0 : f32[3]
      return %1
    }
    """
    assert run_pass("fold", before) == ir(after)


def test_fold_keeps_large_results_and_anything_reading_arguments():
    before = """
    graph @g(%x: f32[3]) params(%w: f32[3]) -> (f32[100,100], f32[3], f32[3]) {
      %0 = constant {value = dense<f32: 1.5>} : f32
      %1 = broadcast_to %0 {shape = [100, 100]} : f32[100,100]
      %2 = exp %x : f32[3]
      %3 = mul %w, %0 : f32[3]
      return %1, %2, %3
    }
    """
    assert run_pass("fold", before) == ir(before)
