"""Graph analyses shared by passes and backends (the layer above ops, below both).

``liveness``: when each value is made and last needed, and which values are views of which;
``packing``: first-fit placement of buffers with lifetimes at aligned offsets in one arena;
``memory``: the one memory planner, driven by a backend's ``Policy`` (what it can write into a
given buffer, write in place, or return as a view). Nothing here imports passes or backends.
"""
