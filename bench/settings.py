"""The project's settings plus a comparison endpoint, for bench/auth.py only."""

from blahaj.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
