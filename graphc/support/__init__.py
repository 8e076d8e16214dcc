"""The bottom layer: helpers that know nothing of graphs and import nothing from graphc outside
support (``files``: the one atomic file writer; ``cache``: the disk and memory cache of compiled
code and pipeline outputs). Layers: support <- ir <- ops <- analysis <- {passes, backends} <-
frontend <- cli.
"""
