"""IR texts shared by the round-trip tests and the parser fuzz."""

VALID = """graph @g(%x: f32[B,3], %y: i64[B]) params(%w: f32[3,3]) -> (f32[B,3], f32[1,1]) {
  %0 = matmul %x, %w : f32[B,3]  loc("m.py":3)
  %1 = constant {value = dense<f32[3]: [1.0, -inf, nan]>} : f32[3]
  %2 = add %0, %1 : f32[B,3]  loc("m.py":4, "vjp(add)")
  %3 = sum %2 {axis = [0, 1], keepdims = true} : f32[1,1]
  %4 = cast %y {dtype = f32} : f32[B]
  %5 = leaky_relu %4 {alpha = 0.25} : f32[B]
  update %w = %w
  return %2, %3
}
"""

FUSED = """graph @f(%x: f32[B,8]) params(%w: f32[8,4], %b: f32[4]) -> (f32[B], f32[B]) {
  %0 = matmul %x, %w : f32[B,4]  loc("m.py":9)
  %1 = fused_reduce %0, %b {reduce = "sum", axis = [1]} : f32[B] {
    ^(%a0: f32, %a1: f32):
      %2 = add %a0, %a1 : f32  loc("m.py":9)
      %3 = relu %2 : f32  loc("m.py":9)
      %4 = exp %3 : f32  loc("m.py":10)
      %5 = constant {value = dense<f32: 2.0>} : f32  loc("m.py":10)
      %6 = mul %4, %5 : f32  loc("m.py":10)
      yield %6
  }  loc("m.py":10)
  %7 = fused %1 : f32[B] {
    ^(%a0: f32):
      %8 = tanh %a0 : f32  loc("m.py":11)
      %9 = mul %8, %a0 : f32  loc("m.py":11)
      yield %9
  }  loc("m.py":11)
  return %7, %1
}
"""
