"""The op catalogue: importing this package registers every op in REGISTRY.

One definition per op (attributes, shape rule, NumPy kernel, VJP, traits); ``evaluate.run_node``
is the reference evaluation of one node. ops imports only ir and support: layers import
downward (support <- ir <- ops <- analysis <- {passes, backends} <- frontend <- cli).
"""

from graphc.ir.opdef import REGISTRY, OpDef
from graphc.ops.collective import *  # noqa: F403
from graphc.ops.core import *  # noqa: F403
from graphc.ops.elementwise import *  # noqa: F403
from graphc.ops.fused import *  # noqa: F403
from graphc.ops.indexing import *  # noqa: F403
from graphc.ops.linalg import *  # noqa: F403
from graphc.ops.loop import *  # noqa: F403
from graphc.ops.nn import *  # noqa: F403
from graphc.ops.norm import *  # noqa: F403
from graphc.ops.random import *  # noqa: F403
from graphc.ops.reduce import *  # noqa: F403
from graphc.ops.scan import *  # noqa: F403
from graphc.ops.shape import *  # noqa: F403
from graphc.ops.special import *  # noqa: F403

__all__ = ["REGISTRY", "OpDef"]
