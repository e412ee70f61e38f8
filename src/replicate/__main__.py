"""`python -m replicate …`: the same as the `replicate` command."""

import sys

from replicate.cli import main

sys.exit(main())
