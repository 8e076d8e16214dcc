"""How a compiled Function takes its inputs: positionally, by placeholder name as keywords
(``f(x=xb, y=yb)``), or as one dict keyed by placeholder Tensor or name (``f({x: xb})``, as
TF's feed_dict)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from graphc.frontend.tensor import Tensor
from graphc.ir.errors import InputError
from graphc.ir.graph import Value

HOW = "call it with the inputs in order, by name (f(x=...)) or as a dict ({x: ...})"


def is_feed_dict(args: tuple) -> bool:
    """Whether ``args`` is one dict of feeds rather than positional arrays."""
    return len(args) == 1 and isinstance(args[0], Mapping)


def arrange(names: Sequence[str], sources: Sequence[Value], args: tuple,
            kwargs: dict[str, Any]) -> list[Any]:
    """The inputs in order from positional ``args`` and keyword or dict feeds."""
    if is_feed_dict(args):
        if kwargs:
            raise InputError(f"a feed dict and keyword inputs together; {HOW}")
        args, kwargs = (), {_name_of(k, names, sources): v for k, v in args[0].items()}
    if len(args) > len(names):
        raise InputError(f"expected {len(names)} inputs ({', '.join(names)}), got {len(args)}")
    given = dict(zip(names, args, strict=False))
    for name, value in kwargs.items():
        if name not in names:
            raise InputError(f"no input named {name!r}; the inputs are {', '.join(names)}")
        if name in given:
            raise InputError(f"input {name!r} given twice")
        given[name] = value
    missing = [n for n in names if n not in given]
    if missing:
        raise InputError(f"missing input(s) {', '.join(map(repr, missing))}; {HOW}")
    return [given[n] for n in names]


def _name_of(key: Any, names: Sequence[str], sources: Sequence[Value]) -> str:
    """A feed dict key: a placeholder name, or a placeholder Tensor among the inputs."""
    if isinstance(key, str):
        return key
    if isinstance(key, Tensor):
        for name, v in zip(names, sources, strict=True):
            if key.ir is v:
                return name
        raise InputError(f"feed key {key!r} is not an input of this function; the inputs are "
                         f"{', '.join(names)}")
    raise InputError(f"feed dict keys are placeholder Tensors or names, got {key!r}")
