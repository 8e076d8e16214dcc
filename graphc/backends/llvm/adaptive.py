"""Per-call choice between a graph's thread count and one thread, by timing both.

On a shared machine the second vCPU comes and goes. Measured on this 2-vCPU VM, the MLP
training step at batch 32: 0.31 ms on 2 threads and 0.43 ms on 1 while both vCPUs are free,
but 0.73 ms on 2 threads and 0.43 ms on 1 while the other vCPU is busy elsewhere; such spells
last seconds. So unless the user pins the thread count, an executable times its calls: it runs
with its threads and every ``period`` calls tries the other setting for PROBE calls (after
SETTLE calls, so that helper threads asleep during a stretch on one thread are awake); the faster
median (by MARGIN) is kept. A probe that loses doubles the period (up to MAX_PERIOD calls), so
a clear winner is re-checked rarely. Results are bit-identical for every thread count, so a
switch shows only in the time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

PROBE = 8  # calls timed per setting when comparing
SETTLE = 2  # first calls of a probe not compared: helper threads may be waking from sleep
MIN_PERIOD = 64  # calls between probes right after a switch
MAX_PERIOD = 4096  # ... and at most, after losing probes
MARGIN = 0.95  # the probed setting must be 5% faster to take over


class WorkerChooser:
    """Which thread count the next call uses; ``record`` feeds back each call's seconds."""

    def __init__(self, threads: int) -> None:
        self.settings = (threads, 1)
        self.current = 0  # index into settings
        self.period = MIN_PERIOD
        self.until_probe = MIN_PERIOD
        self.recent: deque[float] = deque(maxlen=PROBE)  # the current setting's last calls
        self.probe: list[float] | None = None  # the other setting's calls while probing
        self.switches = 0

    @property
    def workers(self) -> int:
        """Threads for the next call."""
        probing = self.probe is not None
        return self.settings[self.current ^ probing]

    def record(self, seconds: float) -> None:
        """The wall time of the call just made with ``workers`` threads."""
        if self.probe is not None:
            self.probe.append(seconds)
            if len(self.probe) == SETTLE + PROBE:
                self._decide(self.probe[SETTLE:])
            return
        self.recent.append(seconds)
        self.until_probe -= 1
        if self.until_probe <= 0 and len(self.recent) == PROBE:
            self.probe = []

    def _decide(self, probe: list[float]) -> None:
        if _median(probe) < MARGIN * _median(self.recent):
            self.current ^= 1
            self.recent = deque(probe, maxlen=PROBE)
            self.period = MIN_PERIOD
            self.switches += 1
        else:
            self.period = min(2 * self.period, MAX_PERIOD)
        self.probe = None
        self.until_probe = self.period


def _median(times: Sequence[float]) -> float:
    """The median (the statistics module costs ~4 ms of import on a warm start)."""
    ordered = sorted(times)
    half = len(ordered) // 2
    return ordered[half] if len(ordered) % 2 else (ordered[half - 1] + ordered[half]) / 2
