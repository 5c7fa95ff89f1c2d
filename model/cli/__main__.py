"""``python -m model.cli``: the ``lifecircle`` command."""

import sys

from model.cli import main

sys.exit(main())
