"""graphc's reliability figures: differential fuzzing, parser fuzzing, compile-cache faults,
checkpoints killed mid-save and the command line on bad input (``python -m reliability``).

Every section uses the public API only (gc.*, the ``graphc`` command, gc.save/gc.load and
GRAPHC_CACHE_DIR), so it measures what users get.
"""
