"""`python -m aion_factory.cli`: the same as the `aion` command."""

import sys

from . import main

sys.exit(main())
