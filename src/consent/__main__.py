"""``python -m consent``: the same command line as the ``consent`` script."""

from consent.cli import main

raise SystemExit(main())
