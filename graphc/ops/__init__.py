"""The op catalogue: importing this package registers every op in REGISTRY."""

from graphc.ir.opdef import REGISTRY, OpDef
from graphc.ops.core import *  # noqa: F403
from graphc.ops.elementwise import *  # noqa: F403
from graphc.ops.reduce import *  # noqa: F403

__all__ = ["REGISTRY", "OpDef"]
