"""graphc: a declarative computation-graph compiler (explicit graphs, symbolic gradients)."""

from graphc.frontend.api import constant, parameter, placeholder
from graphc.frontend.function import Function, function
from graphc.frontend.functional import *  # noqa: F403
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import (
    BackendError,
    DTypeError,
    GradError,
    GraphcError,
    InputError,
    ParseError,
    ShapeError,
    VerifyError,
)
from graphc.ir.graph import Graph
from graphc.ir.printer import print_graph as print_ir
from graphc.ir.types import DType, TensorType, bool_, float32, float64, int32, int64

__version__ = "0.1.0"

__all__ = [
    "BackendError", "DTypeError", "DType", "Function", "GradError", "Graph", "GraphcError",
    "InputError", "ParseError", "ShapeError", "Tensor", "TensorType", "VerifyError", "bool_",
    "constant", "float32", "float64", "function", "int32", "int64", "parameter", "placeholder",
    "print_ir",
]
