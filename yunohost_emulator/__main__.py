"""``python3 -m yunohost_emulator ...``: the same as ``yunohost_emulator/bin/yunohost ...``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
