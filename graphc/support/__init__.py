"""The bottom layer: helpers that know nothing of graphs and import nothing from graphc
(``cache``: the disk and memory cache of compiled code and pipeline outputs)."""
