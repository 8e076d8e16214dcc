"""Catalogue cases that reject a symbolic leading axis, pinned with the reason (the message).

The symbolic variants of the catalogue, gradient and llvm parity tests name axis 0 "B" in
every input whose axis 0 has the first input's size. For these cases that is not a valid call
(a weight becomes symbolic, a static target shape no longer matches, a dim like B + 4 cannot be
expressed); the tests assert that exactly these cases are rejected, with a ShapeError whose
message matches the pattern here. A case newly rejected or newly accepted fails the tests:
update this list on purpose.
"""

from __future__ import annotations

from graphc.ir.errors import AttributeError_, ShapeError

REJECTION_ERRORS = (ShapeError, AttributeError_)

SYMBOLIC_REJECTIONS: dict[str, str] = {
    "reshape-f64": r"elements to \[3,-1\]: B\w* is not a multiple of 3",
    "reshape-to-scalar": r"cannot reshape B\w* elements to \[\]",
    "broadcast_to-expand": r"cannot broadcast \[B\w*,1\] to \[2,3,4\]",
    "broadcast_to-prepend": r"cannot broadcast \[B\w*\] to \[3,4\]",
    "broadcast_to-batch": r"cannot broadcast \[B\w*,1\] to \[2,5\]",
    "concat-three": r"B\w* \+ 4 is not a dim graphc can express",
    "split-indices": r"split indices need a static axis",
    "slice_grad-strided": r"does not match the slice shape \[3,3\]",
    "slice_grad-reversed": r"does not match the slice shape \[2,6\]",
    "pad-zeros": r"padding symbolic axis 0 .* cannot express",
    "pad-int": r"padding symbolic axis 0 .* cannot express",
    "take_grad-2d": r"does not match the taken shape",
    "matmul-vec-batched": r"contracting dims differ",
    "conv2d-rect": r"weight .* must have a static shape",
    "conv2d_input_grad-rect": r"weight .* must have a static shape",
    "gather_grad": r"shape \[3,5\] and indices \[B\w*,4\] must agree on every axis but 1",
    "random_bits-jax-key-42": r"a random key is i32\[2\]",
    "random_bits-empty": r"a random key is i32\[2\]",
    "random_uniform-f32": r"a random key is i32\[2\]",
    "random_uniform-f64": r"a random key is i32\[2\]",
}

NO_LEADING_AXIS = "rank-0 first input: no leading axis to make symbolic (the static test runs it)"
