"""Subcommands of the ``graphc`` command that live beside it (the cli layer).

Each module registers its Command with ``graphc.cli.register`` when imported; graphc.cli lists
them in EXTENSIONS. They may import every layer below (passes, backends, frontend).
"""
