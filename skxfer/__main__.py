"""``python -m skxfer``: the command line of :mod:`skxfer._cli`."""

import sys

from skxfer._cli import main

if __name__ == "__main__":
    sys.exit(main())
