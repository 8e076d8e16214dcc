"""gc.einsum: Einstein sums lowered to transposes, reshapes, sums and batched matmuls.

Operands are combined left to right. For each pair, a letter in both operands that is still
needed (in the output or a later operand) is a batch axis, one that is not is contracted, and
the others are kept rows or columns: the pair becomes one batched matmul over
[batch..., rows, contracted] @ [batch..., contracted, cols]. Letters only one operand has and
nothing later needs are summed out first.
"""

from __future__ import annotations

from collections.abc import Sequence

from graphc.frontend import functional as fn
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import GraphcError, ShapeError
from graphc.ir.types import Dim, dim_prod

__all__ = ["einsum"]

Letters = str


def _parse(spec: str, n: int) -> tuple[list[Letters], Letters]:
    spec = spec.replace(" ", "")
    if "." in spec:
        raise GraphcError(f"einsum {spec!r}: ellipsis (...) is not supported; name every axis")
    lhs, arrow, out = spec.partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise GraphcError(f"einsum {spec!r} names {len(ins)} operand(s), got {n}")
    for letters in ins:
        if not letters.isalpha() and letters:
            raise GraphcError(f"einsum {spec!r}: axes are named by letters, got {letters!r}")
        if len(set(letters)) != len(letters):
            raise GraphcError(f"einsum {spec!r}: a repeated letter in one operand (a diagonal) "
                              "is not supported")
    if not arrow:  # NumPy's implicit output: the letters used once, in alphabetical order
        out = "".join(sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1))
    if set(out) - set(lhs) or len(set(out)) != len(out):
        raise GraphcError(f"einsum {spec!r}: output letters must be distinct input letters")
    return ins, out


def _sizes(ins: list[Letters], xs: Sequence[Tensor]) -> dict[str, Dim]:
    sizes: dict[str, Dim] = {}
    for letters, x in zip(ins, xs, strict=True):
        if len(letters) != x.ndim:
            raise ShapeError(f"einsum operand {letters!r} needs rank {len(letters)}, got {x.type}")
        for c, d in zip(letters, x.shape, strict=True):
            if sizes.setdefault(c, d) != d:
                raise ShapeError(f"einsum axis {c!r} has sizes {sizes[c]} and {d}")
    return sizes


def _arrange(x: Tensor, have: Letters, want: Letters) -> Tensor:
    perm = tuple(have.index(c) for c in want)
    return x if perm == tuple(range(len(perm))) else fn.transpose(x, perm)


def _sum_out(x: Tensor, have: Letters, keep: set[str]) -> tuple[Tensor, Letters]:
    drop = tuple(i for i, c in enumerate(have) if c not in keep)
    if not drop:
        return x, have
    return fn.sum(x, axis=drop), "".join(c for c in have if c in keep)


def _pair(a: Tensor, al: Letters, b: Tensor, bl: Letters, later: set[str],
          sizes: dict[str, Dim]) -> tuple[Tensor, Letters]:
    a, al = _sum_out(a, al, later | set(bl))
    b, bl = _sum_out(b, bl, later | set(al))
    batch = "".join(c for c in al if c in bl and c in later)
    con = "".join(c for c in al if c in bl and c not in later)
    left = "".join(c for c in al if c not in bl)
    right = "".join(c for c in bl if c not in al)
    bdims = tuple(sizes[c] for c in batch)

    def grouped(x: Tensor, have: Letters, first: Letters, second: Letters) -> Tensor:
        x = _arrange(x, have, batch + first + second)
        rows, cols = (dim_prod(tuple(sizes[c] for c in g)) for g in (first, second))
        return fn.reshape(x, (*bdims, rows, cols))

    out = fn.matmul(grouped(a, al, left, con), grouped(b, bl, con, right))
    letters = batch + left + right
    return fn.reshape(out, tuple(sizes[c] for c in letters)), letters


def einsum(spec: str, *operands: Tensor) -> Tensor:
    """np.einsum for named axes (no ellipsis, no diagonals), as matmuls, sums and transposes."""
    ins, out = _parse(spec, len(operands))
    sizes = _sizes(ins, operands)
    x, have = _sum_out(operands[0], ins[0], set(out) | set("".join(ins[1:])))
    for i in range(1, len(operands)):
        later = set(out) | set("".join(ins[i + 1:]))
        x, have = _pair(x, have, operands[i], ins[i], later, sizes)
    x, have = _sum_out(x, have, set(out))
    return _arrange(x, have, out)
