"""Shape, indexing and linear-algebra ops as NumPy-like functions (gc.reshape, x[...], @)."""

from __future__ import annotations
