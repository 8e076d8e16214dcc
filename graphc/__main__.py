"""``python -m graphc``: the graphc command line."""

from graphc.cli import main

raise SystemExit(main())
