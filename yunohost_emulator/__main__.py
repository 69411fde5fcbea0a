"""``python3 -m provisioning.emulator ...``: the same as ``provisioning/bin/yunohost ...``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(1)
