"""``python -m model.cli``: the ``lifecircle`` command."""

import sys

from model.cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn imports the main module
    sys.exit(main())
