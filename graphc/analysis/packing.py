"""First-fit packing: buffers with known lifetimes at offsets in one arena, reusing space.

Buffers are placed in order of definition (larger first on ties); each takes the lowest offset
whose bytes are free for its whole lifetime. Offsets are 64-byte aligned so vector loads never
straddle cache lines needlessly.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

ALIGN = 64


def align_up(n: int, to: int = ALIGN) -> int:
    """``n`` rounded up to a multiple of ``to``."""
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class Interval:
    """One buffer: its key, size in bytes, and the steps (inclusive) during which it is live."""

    key: Hashable
    nbytes: int
    start: int
    end: int


def pack(intervals: Sequence[Interval]) -> tuple[dict[Hashable, int], int]:
    """Offsets for every interval and the arena size; overlapping lifetimes never share bytes."""
    placed: list[tuple[int, int, int, int]] = []  # offset, size, start, end
    offsets: dict[Hashable, int] = {}
    total = 0
    for iv in sorted(intervals, key=lambda i: (i.start, -i.nbytes)):
        size = align_up(max(iv.nbytes, 1))
        offset = first_fit(placed, size, iv.start, iv.end)
        placed.append((offset, size, iv.start, iv.end))
        offsets[iv.key] = offset
        total = max(total, offset + size)
    return offsets, total


def first_fit(placed: list[tuple[int, int, int, int]], size: int, start: int, end: int) -> int:
    """The lowest offset where ``size`` bytes fit beside ``placed`` (offset, size, start, end)
    blocks whose lifetimes overlap [start, end]."""
    busy = sorted((off, off + sz) for off, sz, a, e in placed if a <= end and start <= e)
    offset = 0
    for lo, hi in busy:
        if offset + size <= lo:
            break
        offset = max(offset, hi)
    return offset
