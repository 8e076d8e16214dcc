"""First-fit packing, checked on hand-made lifetimes: the documented order and reuse."""

from __future__ import annotations

from graphc.analysis.packing import Interval, align_up, pack


def test_larger_buffer_born_on_the_same_step_goes_first() -> None:
    offsets, total = pack([Interval("small", 64, 1, 3), Interval("big", 256, 1, 3)])
    assert offsets == {"big": 0, "small": 256} and total == 320


def test_space_of_a_dead_buffer_is_reused_and_live_ones_never_overlap() -> None:
    ivs = [Interval("a", 100, 0, 1), Interval("b", 64, 0, 3), Interval("c", 128, 2, 3),
           Interval("d", 1, 4, 4)]
    offsets, total = pack(ivs)
    assert offsets == {"a": 0, "b": 128, "c": 0, "d": 0}  # a: 128 aligned bytes, then free
    assert total == 192


def test_lifetimes_touching_at_one_step_do_not_share() -> None:
    offsets, _ = pack([Interval("x", 64, 0, 2), Interval("y", 64, 2, 4)])
    assert offsets == {"x": 0, "y": 64}  # both live at step 2
    offsets, _ = pack([Interval("p", 128, 1, 1), Interval("q", 64, 1, 1)])
    assert offsets == {"p": 0, "q": 128}


def test_alignment_and_the_empty_arena() -> None:
    assert [align_up(n) for n in (1, 63, 64, 65, 128)] == [64, 64, 64, 128, 128]
    assert pack([]) == ({}, 0)
    offsets, total = pack([Interval("z", 0, 0, 0), Interval("w", 8, 0, 0)])
    assert total == 128 and offsets["w"] != offsets["z"]
