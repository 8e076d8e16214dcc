"""A pytest plugin recording which lines of the mutated modules each test runs.

Loaded with ``-p tools.mutation.covplugin``; MUTATION_COVER_FILES lists the absolute paths to
watch (os.pathsep separated) and MUTATION_COVER_OUT names the JSON file written at the end:
{"lines": {"path:line": [test index, ...]}, "tests": [[nodeid, seconds], ...]}. Only frames
of watched files get a line tracer, so the rest of the run pays one call per function.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import defaultdict

import pytest

_FILES = set(filter(None, os.environ.get("MUTATION_COVER_FILES", "").split(os.pathsep)))
_lines: set[tuple[str, int]] = set()
_hits: dict[str, set[int]] = defaultdict(set)
_tests: list[tuple[str, float]] = []


def _local(frame, event, arg):
    if event == "line":
        _lines.add((frame.f_code.co_filename, frame.f_lineno))
    return _local


def _global(frame, event, arg):
    if frame.f_code.co_filename in _FILES:
        _lines.add((frame.f_code.co_filename, frame.f_lineno))
        return _local
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _lines.clear()
    start = time.perf_counter()
    sys.settrace(_global)
    threading.settrace(_global)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)
    index = len(_tests)
    _tests.append((item.nodeid, time.perf_counter() - start))
    for path, line in _lines:
        _hits[f"{path}:{line}"].add(index)


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("MUTATION_COVER_OUT")
    if not out:
        return
    data = {"lines": {k: sorted(v) for k, v in _hits.items()}, "tests": _tests}
    tmp = f"{out}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(tmp, out)
