"""Keyword options a backend does not understand raise, listing the valid ones."""

from __future__ import annotations

import numpy as np
import pytest

import graphc as gc
from graphc.backends import OPTIONS


def _graph() -> tuple[gc.Tensor, gc.Tensor]:
    g = gc.Graph("opts")
    with g:
        x = gc.placeholder("x", (3,))
    return x, x * 2.0


@pytest.mark.parametrize("backend, options, message", [
    ("numpy", {"chek_numerics": True}, "'chek_numerics' is unknown (did you mean "
     "'check_numerics'?)"),
    ("llvm", {"thread": 2}, "'thread' is unknown (did you mean 'threads'?)"),
    ("numpy", {"threads": 2}, "'threads' is not supported by backend 'numpy' (backend "
     "'llvm' has it)"),
    ("llvm", {"memory_plan": False}, "'memory_plan' is not supported by backend 'llvm' "
     "(backend 'numpy' has it)"),
    ("numpy", {"frobnicate": 1}, "'frobnicate' is unknown;"),
])
def test_unknown_or_unsupported_option_raises(backend: str, options: dict, message: str) -> None:
    x, y = _graph()
    with pytest.raises(gc.BackendError, match=message.replace("(", r"\(").replace(")", r"\)")
                       .replace("?", r"\?")) as info:
        gc.function([x], y, backend=backend, **options)
    for valid in (*OPTIONS[backend], "print_after_all", "verify_each"):
        assert valid in str(info.value)


def test_check_numerics_raises_unless_the_backend_supports_it() -> None:
    x, y = _graph()
    if "check_numerics" in OPTIONS["llvm"]:
        gc.function([x], y, backend="llvm", check_numerics=True)
    else:
        with pytest.raises(gc.BackendError, match="not supported by backend 'llvm'"):
            gc.function([x], y, backend="llvm", check_numerics=True)


@pytest.mark.parametrize("backend", sorted(OPTIONS))
def test_valid_options_are_accepted(backend: str) -> None:
    x, y = _graph()
    options = {"numpy": {"check_numerics": True, "memory_plan": False},
               "llvm": {"opt_level": 2, "threads": 1}}[backend]
    f = gc.function([x], y, backend=backend, verify_each=True, **options)
    np.testing.assert_array_equal(f(np.ones(3, np.float32)), [2, 2, 2])
