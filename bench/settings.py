"""The project's settings plus a comparison endpoint, for bench/auth.py only."""

import os

from blahaj.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

if os.environ.get("BENCH_NO_METRICS"):  # bench/auth.py --metrics: the same server without them
    MIDDLEWARE = [name for name in MIDDLEWARE if name != "observability.metrics.middleware"]  # noqa: F405
