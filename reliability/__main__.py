"""``python -m reliability``: see reliability/runner.py."""

import sys

from reliability.runner import main

sys.exit(main())
