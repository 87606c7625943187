"""``python -m charsuite`` runs the command line."""

import sys

from charsuite.cli import main

sys.exit(main())
