"""Catalogue cases for this family of ops (see tests/op_cases/__init__.py)."""

from __future__ import annotations

from tests.op_cases import Case

CASES: list[Case] = []
