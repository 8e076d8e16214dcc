"""A note on stderr when a compile takes long: what is compiling, then how long it took.

Shown only when stderr is a terminal and the compile outlasts ``AFTER`` seconds (a timer
thread prints the first line, so a quick compile prints nothing)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

AFTER = 1.0  # seconds a compile runs before it says so


@contextmanager
def announce(what: str) -> Iterator[None]:
    """Around a compile: after AFTER seconds print ``what``, and at the end the time taken."""
    stream = sys.stderr
    if not getattr(stream, "isatty", lambda: False)():
        yield
        return
    start, shown = time.perf_counter(), threading.Event()

    def show() -> None:
        shown.set()
        stream.write(f"graphc: compiling {what} ...\n")
        stream.flush()

    timer = threading.Timer(AFTER, show)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        if shown.is_set():
            stream.write(f"graphc: compiled {what} in {time.perf_counter() - start:.1f} s\n")
            stream.flush()
