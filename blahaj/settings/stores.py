"""The data stores: the database and the cache."""

from __future__ import annotations

from typing import Any

import dj_database_url

from .environment import BASE_DIR, DATA_DIR, TESTING, env_int, env_str

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (server, worker) share the file in development: wait for the
    # writer instead of failing with "database is locked".
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis keeps one client per process; Django's own backend builds a new
            # one per call, which costs more than the round trip on the auth fast path.
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("BLAHAJ_CACHE_PREFIX", "blahaj"),
        }
    }
elif TESTING:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
else:
    # Embedded mode: a cache on disk, which every process (the server and its workers,
    # scripts/manage) shares and a restart keeps: a revoked token stays revoked, a rate limit
    # holds. Nothing is culled before MAX_ENTRIES (a culled revocation would come back to life).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": env_str("BLAHAJ_CACHE_DIR", str(DATA_DIR / "cache")),
            "OPTIONS": {"MAX_ENTRIES": env_int("BLAHAJ_CACHE_MAX_ENTRIES", 100_000)},
        }
    }
