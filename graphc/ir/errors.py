"""The graphc exception hierarchy: every error graphc raises derives from GraphcError."""

from __future__ import annotations


class GraphcError(Exception):
    """Base class of every error graphc raises on purpose."""


class ShapeError(GraphcError):
    """Operand shapes are incompatible with an op's rule."""


class DTypeError(GraphcError):
    """Operand dtypes are incompatible with an op's rule."""


class AttributeError_(GraphcError):
    """An op attribute is missing, unknown or out of range."""


class UnknownOpError(GraphcError, KeyError):
    """No op of that name is registered (a KeyError too, as a failed registry lookup)."""

    def __str__(self) -> str:  # KeyError would print the message in quotes
        return str(self.args[0]) if self.args else ""


class VerifyError(GraphcError):
    """The IR breaks an invariant (def before use, types, attributes)."""


class InputError(GraphcError):
    """A compiled function was called with arguments that do not match its inputs."""


class GradError(GraphcError):
    """A gradient was asked for that cannot be built."""


class BackendError(GraphcError):
    """A backend cannot compile or run a graph."""


class NumericsError(GraphcError):
    """A node produced NaN while numerics checking was on."""


class ParseError(GraphcError):
    """Malformed IR text; carries the 1-based line and column."""

    def __init__(self, message: str, line: int, column: int, filename: str | None = None) -> None:
        where = f"{filename}:{line}:{column}" if filename else f"{line}:{column}"
        super().__init__(f"{where}: {message}")
        self.line = line
        self.column = column
        self.reason = message
        self.filename = filename


class DistributedError(GraphcError):
    """MPI is missing, misconfigured, or a collective was used in a way the ranks cannot agree
    on (a root beyond the world, a rank that failed)."""
