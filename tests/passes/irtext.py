"""Helpers for IR-text-in, IR-text-out pass tests."""

from __future__ import annotations

import textwrap

import graphc as gc
from graphc.passes.manager import PASSES


def ir(text: str) -> str:
    """Dedented IR text with one trailing newline (how the printer ends a graph)."""
    return textwrap.dedent(text).strip() + "\n"


def run_pass(name: str, text: str) -> str:
    """Parse ``text``, run the pass ``name``, verify, and print the result."""
    graph = PASSES[name](gc.parse(ir(text)))
    gc.verify(graph)
    return gc.print_ir(graph)
