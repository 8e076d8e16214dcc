"""The lowering table (``table``: ``@lowers`` scalar bodies, ``@kernel`` loop nests) and its
entries, one module per op family named like ``graphc/ops/*``: ``elementwise``, ``reduce``,
``shape`` (shape and indexing ops), ``linalg``, ``nn`` (softmax, losses) with ``nn_pool``,
``nn_conv`` and ``norm`` (layer_norm) beside it, ``random``, ``scan`` (cumsum, argsort,
gather), ``special`` (expm1, stop_gradient, iota), ``fused`` (nodes with a body). Importing
this package imports every family, so the table is full and never imports its own entries.
"""

from graphc.backends.llvm.kernels import (  # noqa: F401  (each fills the table on import)
    collective,
    elementwise,
    fused,
    linalg,
    nn,
    nn_conv,
    nn_pool,
    norm,
    random,
    reduce,
    scan,
    shape,
    special,
)
from graphc.backends.llvm.kernels.table import KERNEL, SCALAR


def missing_lowerings() -> list[str]:
    """Names of catalogue ops this backend cannot compile (a test keeps this empty)."""
    from graphc.ir.opdef import REGISTRY
    from graphc.ops import core  # noqa: F401  (fills the registry)

    return sorted(name for name, op in REGISTRY.items() if not (op in SCALAR or op in KERNEL))
