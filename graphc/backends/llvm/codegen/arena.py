"""Arena layout: place buffers with known lifetimes at offsets in one block, reusing space.

Buffers are placed in order of definition; each takes the lowest offset whose range is free for
its whole lifetime (first fit over the buffers still alive). Offsets are 64-byte aligned so
vector loads never straddle cache lines needlessly.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass

ALIGN = 64


def align_up(n: int, to: int = ALIGN) -> int:
    return (n + to - 1) // to * to


@dataclass(frozen=True)
class Interval:
    """One buffer: its key, size in bytes, and the steps (inclusive) during which it is live."""

    key: Hashable
    nbytes: int
    start: int
    end: int


def pack(intervals: Sequence[Interval]) -> tuple[dict[Hashable, int], int]:
    """Offsets for every interval and the arena size; overlapping lifetimes never overlap bytes."""
    placed: list[tuple[Interval, int]] = []
    offsets: dict[Hashable, int] = {}
    total = 0
    for iv in sorted(intervals, key=lambda i: (i.start, -i.nbytes)):
        size = align_up(max(iv.nbytes, 1))
        live = sorted(
            (off, off + align_up(max(o.nbytes, 1)))
            for o, off in placed
            if o.start <= iv.end and iv.start <= o.end
        )
        offset = 0
        for lo, hi in live:
            if offset + size <= lo:
                break
            offset = max(offset, hi)
        placed.append((iv, offset))
        offsets[iv.key] = offset
        total = max(total, offset + size)
    return offsets, total
