"""Entry point for `python -m kdash`."""

import sys

from kdash.cli import main

sys.exit(main())
