"""`python -m probe` is the same as `probe`."""

import sys

from .cli import main

sys.exit(main())
