"""ONNX in and out: ``load`` an ONNX model as a graphc graph, ``export`` a graph to ONNX.

Needs the optional ``onnx`` package (``pip install graphc[onnx]``). The importer is a table,
one small function per ONNX op_type (ops_*.py), building graph nodes with the frontend's op
functions; shape-computing subgraphs are evaluated at import time with the ops' reference
kernels. This package sits above the frontend (it builds graphs with it) and below the CLI.
"""

from graphc.onnx.errors import UnsupportedError
from graphc.onnx.exporter import export
from graphc.onnx.importer import Model, load

__all__ = ["Model", "UnsupportedError", "export", "load"]
