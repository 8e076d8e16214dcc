"""The IR: dtypes and symbolic shapes, Value/Node/Graph, the OpDef record and registry, the
text form (printer, parser), the verifier.

Layers import downward only: support <- ir <- ops <- analysis <- {passes, backends} <-
{frontend, data} <- cli. ir imports only graphc.support and itself; the op catalogue
(graphc.ops) fills the registry without ir importing it (tests/test_layers.py checks this).
"""
