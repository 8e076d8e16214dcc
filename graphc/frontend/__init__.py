"""The Python builder: handles with operators, op functions, gc.grad, gc.function.

The frontend only builds IR and hands it to passes and backends: it may import every layer
below it (support <- ir <- ops <- analysis <- {passes, backends} <- frontend <- cli), and
nothing below imports it.
"""
