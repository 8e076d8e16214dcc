"""UnsupportedError, and the guarded import of the optional ``onnx`` package."""

from __future__ import annotations

from types import ModuleType

from graphc.ir.errors import GraphcError


class UnsupportedError(GraphcError):
    """An ONNX node (op_type, domain, dtype or attribute value) graphc cannot import."""


class StaticInputError(UnsupportedError):
    """A value the importer needs at compile time (a shape, axes, a count) depends on a model
    input; ``input_name`` is that input when it feeds the value directly (else None)."""

    def __init__(self, message: str, input_name: str | None) -> None:
        super().__init__(message)
        self.input_name = input_name


def require_onnx() -> ModuleType:
    """The ``onnx`` module, or a GraphcError saying which extra brings it."""
    try:
        import onnx
    except ImportError:
        raise GraphcError("graphc.onnx needs the onnx package: pip install 'graphc[onnx]' "
                          "(or pip install onnx)") from None
    return onnx
