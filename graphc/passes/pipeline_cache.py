"""Pipeline cache: a pipeline's output IR text, keyed by its input IR text, in memory and on disk.

The built-in passes are deterministic functions of the IR text (constants, names and locations
are all in it), so the optimized graph of a repeated ``gc.function`` (a new process with a warm
disk cache, or the same program built twice) is parsed back instead of recomputed. The key
covers the input IR, the pass names and the source of graphc's IR, ops and passes. Entries share
the llvm backend's store (graphc.support.cache: same directory, files ``<key>.gpl``,
atomic writes, checksums, ``GRAPHC_CACHE=0`` disables it). The text carries no parameter
values: each parsed parameter is bound back to the input graph's cell by its recorded position.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

from graphc.ir.errors import GraphcError
from graphc.ir.graph import Graph
from graphc.ir.parser import parse
from graphc.support.fingerprint import tree_fingerprint

SOURCE_DIRS = ("support", "ir", "ops", "analysis", "passes")
SUFFIX = ".gpl"  # file suffix of pipeline entries in the cache directory


@functools.cache
def source_fingerprint() -> str:
    """A hash of the code that decides a pipeline's output (graphc/__init__ has the version)."""
    root = Path(__file__).resolve().parent.parent
    return tree_fingerprint(root, ["__init__.py", *(f"{d}/**/*.py" for d in SOURCE_DIRS)])


def cacheable(passes: Sequence[object]) -> bool:
    """Only graphc's own passes are covered by the fingerprint; a user's pass is never cached."""
    return all(getattr(p, "__module__", "").startswith("graphc.passes.") for p in passes)


def key(input_ir: str, names: Sequence[str]) -> str:
    """The cache key of running ``names`` on the graph printed as ``input_ir``."""
    from graphc.ops.collective import world_size
    from graphc.support import cache

    # canonicalize drops collectives in a world of one process: the output depends on its size
    world = f"world={world_size()}"
    return cache.make_key("pipeline", source_fingerprint(), ",".join(names), world, input_ir)


def rebind(graph: Graph, source: Graph, positions: Sequence[int]) -> Graph:
    """Point ``graph``'s parameters at the cells of ``source``'s (parameter i is source's
    parameter positions[i]): the parsed graph then reads and updates the user's arrays."""
    if len(positions) != len(graph.params):
        raise ValueError("cached pipeline entry does not match its graph's parameters")
    for value, j in zip(graph.params, positions, strict=True):
        value.param = source.params[j].param
    return graph


def lookup(cache_key: str, source: Graph) -> Graph | None:
    """The cached output for ``source`` with its parameters rebound, or None on a miss."""
    from graphc.support import cache

    entry, _ = cache.lookup(cache_key, SUFFIX)
    if entry is None or entry.meta.get("kind") != "pipeline":
        return None
    try:
        return rebind(parse(entry.obj.decode()), source, entry.meta["params"])
    except (GraphcError, ValueError, KeyError, IndexError, TypeError):
        return None  # a checksummed entry that still does not fit: recompute (never crash)


def store(cache_key: str, source: Graph, result: Graph, text: str) -> None:
    """Remember ``result`` (printed as ``text``) as the pipeline's output for ``source``."""
    from graphc.support import cache

    cells = {id(v.param): j for j, v in enumerate(source.params)}
    positions = [cells.get(id(v.param)) for v in result.params]
    if None in positions:
        return  # a pass made a parameter of its own: nothing to bind it to, do not cache
    entry = cache.Entry({"kind": "pipeline", "params": positions}, text.encode())
    cache.store(cache_key, entry, SUFFIX)
