"""graphc: a declarative computation-graph compiler (explicit graphs, symbolic gradients)."""

from graphc import data, distributed
from graphc.frontend import init, nn, optim, random
from graphc.frontend.api import constant, parameter, placeholder
from graphc.frontend.function import Function, function
from graphc.frontend.functional import *  # noqa: F403
from graphc.frontend.grad import grad, jacobian
from graphc.frontend.gradcheck import GradCheckError, GradCheckReport, check_grad
from graphc.frontend.io import load, save
from graphc.frontend.irio import save_ir
from graphc.frontend.loop import scan
from graphc.frontend.summary import summary
from graphc.frontend.tensor import Tensor
from graphc.ir.errors import (
    BackendError,
    DistributedError,
    DTypeError,
    GradError,
    GraphcError,
    InputError,
    NumericsError,
    ParseError,
    ShapeError,
    VerifyError,
)
from graphc.ir.files import load_ir
from graphc.ir.graph import Graph
from graphc.ir.parser import parse
from graphc.ir.printer import print_graph as print_ir
from graphc.ir.types import DType, TensorType, bool_, float32, float64, int32, int64
from graphc.ir.verify import verify

__version__ = "0.1.0"

from graphc.frontend import functional as _functional

__all__ = [
    *_functional.__all__,
    "BackendError", "NumericsError", "DistributedError", "DTypeError", "DType", "Function",
    "GradError", "Graph",
    "GraphcError",
    "InputError", "ParseError", "ShapeError", "Tensor", "TensorType", "VerifyError", "bool_",
    "constant", "float32", "float64", "function", "int32", "int64", "parameter", "placeholder",
    "print_ir",
    "load_ir", "parse", "save_ir", "scan", "verify",
    "data", "distributed", "init", "load", "nn", "optim", "random", "save", "summary",
    "GradCheckError", "GradCheckReport", "check_grad", "grad", "jacobian",
]
