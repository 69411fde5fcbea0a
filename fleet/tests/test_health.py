"""/healthz and /readyz against the real parts: a Redis of the test's own that it stops, a real
lane worker that it kills, the emulator's CLI made to fail and its HTTP server stopped."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.test import Client

from fleet import health as lane_health
from observability import health
from provisioning.tests.conftest import http_emulator_process
from provisioning.tests.test_workers import PrivateRedis, Workers, wait_for


@pytest.fixture(autouse=True)
def _fresh_answers(settings) -> Iterator[None]:
    settings.READY_CACHE_SECONDS = 0
    settings.YUNOHOST_PING_INTERVAL = 0
    settings.READY_CHECK_TIMEOUT = 2
    health.reset()
    lane_health.forget_pings()
    # A lane worker's heartbeat, as one would write it (the Redis pass expects a worker).
    lane_health._Beater().beat()
    yield
    health.reset()
    lane_health.forget_pings()


def readyz() -> tuple[int, dict]:
    response = Client().get("/readyz")
    assert response["Content-Type"] == "application/json"
    return response.status_code, response.json()


def failing(body: dict) -> set[str]:
    return {name for name, check in body["checks"].items() if not check["ok"]}


def assert_shape(body: dict) -> None:
    assert set(body) == {"status", "checks"}
    for check in body["checks"].values():
        assert set(check) <= {"ok", "ms", "error"}
        assert isinstance(check["ms"], float)
        assert ("error" in check) == (not check["ok"])


def test_healthz_answers_without_the_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_names_every_check_and_answers_200_when_all_pass(emulator, db):
    status, body = readyz()
    assert_shape(body)
    assert (status, body["status"]) == (200, "ok"), body
    assert {"database", "lane:main"} <= set(body["checks"])


def test_the_lane_is_named_after_the_configured_server(emulator, db, settings):
    settings.YUNOHOST_SERVER_NAME = "ynh1"
    assert "lane:ynh1" in readyz()[1]["checks"]


def test_a_failing_yunohost_cli_fails_the_lane_and_recovers(emulator, db, settings, tmp_path):
    broken = tmp_path / "yunohost"
    broken.write_text("#!/bin/sh\necho 'Error: the server is on fire' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    working = settings.YUNOHOST_BIN
    settings.YUNOHOST_BIN = str(broken)

    status, body = readyz()
    assert_shape(body)
    assert (status, body["status"], failing(body)) == (503, "fail", {"lane:main"})
    assert "yunohost domain list failed" in body["checks"]["lane:main"]["error"]

    settings.YUNOHOST_BIN = working
    assert readyz()[0] == 200


def test_a_stopped_yunohost_api_fails_the_lane_and_recovers(emulator, db, settings, tls_cert):
    with http_emulator_process(emulator.path, tls=tls_cert) as url:
        settings.YUNOHOST_BACKEND = "api"
        settings.YUNOHOST_API_URL = url
        settings.YUNOHOST_API_PASSWORD = "admin:Adm1n-api-Secret"
        settings.YUNOHOST_API_CA_BUNDLE = str(tls_cert[0])
        assert readyz()[0] == 200
    status, body = readyz()  # the emulator's HTTP server is gone
    assert (status, failing(body)) == (503, {"lane:main"})
    assert body["checks"]["lane:main"]["error"] == "YunoHost's API did not answer (ConnectionError)."
    assert "Adm1n-api-Secret" not in str(body)
    with http_emulator_process(emulator.path, tls=tls_cert) as url:
        settings.YUNOHOST_API_URL = url
        assert readyz()[0] == 200


def test_the_answer_is_kept_for_a_few_seconds(emulator, db, settings, tmp_path):
    settings.READY_CACHE_SECONDS = 60
    assert readyz()[0] == 200
    settings.YUNOHOST_BIN = str(tmp_path / "missing")
    lane_health.forget_pings()
    assert readyz()[0] == 200  # the kept answer
    health.reset()
    assert readyz()[0] == 503


def _cache_on(settings, url: str) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


@pytest.fixture
def two_redis() -> Iterator[tuple[PrivateRedis, PrivateRedis]]:
    cache, broker = PrivateRedis(), PrivateRedis()
    cache.start()
    broker.start()
    yield cache, broker
    cache.kill()
    broker.kill()


def test_a_stopped_cache_fails_the_cache_check_and_recovers(emulator, db, settings, two_redis):
    cache, broker = two_redis
    _cache_on(settings, cache.url)
    settings.CELERY_BROKER_URL = broker.url
    settings.CELERY_TASK_ALWAYS_EAGER = True  # no lane worker here: the heartbeat is another test's
    assert readyz()[0] == 200

    cache.kill()
    status, body = readyz()
    assert (status, failing(body)) == (503, {"cache"})
    assert body["checks"]["cache"]["error"] == "The cache (Redis) did not answer (ConnectionError)."

    cache.start()
    assert readyz()[0] == 200


def test_a_stopped_broker_fails_the_broker_check_and_recovers(emulator, db, settings, two_redis):
    cache, broker = two_redis
    _cache_on(settings, cache.url)
    settings.CELERY_BROKER_URL = broker.url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    lane_health._Beater().beat()  # on the new cache: only the broker is missing
    assert readyz()[0] == 200, readyz()[1]

    broker.kill()
    status, body = readyz()
    assert (status, failing(body)) == (503, {"broker"})
    assert body["checks"]["broker"]["error"] == "The broker did not answer (ConnectionError)."

    broker.start()
    assert readyz()[0] == 200


@pytest.mark.redis
@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_killed_lane_worker_fails_the_lane_and_a_new_one_recovers(emulator, default_tier, settings, tmp_path):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.YUNOHOST_WORKER_HEARTBEAT_STALE = 3
    workers = Workers(tmp_path, emulator)
    cache.delete(lane_health.heartbeat_key("main"))
    beats = {"YUNOHOST_WORKER_HEARTBEAT_INTERVAL": "1", "YUNOHOST_WORKER_HEARTBEAT_STALE": "3"}
    try:
        assert failing(readyz()[1]) == {"lane:main"}  # no worker yet
        workers.start("lane", concurrency=1, **beats)
        wait_for(lambda: readyz()[0] == 200, timeout=10, what="the worker's heartbeat")

        workers.kill("lane")
        wait_for(lambda: readyz()[0] == 503, timeout=10, what="the heartbeat to go stale")
        _, body = readyz()
        assert failing(body) == {"lane:main"}
        assert body["checks"]["lane:main"]["error"] == "No lane worker has beaten in the last 3 s."

        workers.start("again", concurrency=1, **beats)
        wait_for(lambda: readyz()[0] == 200, timeout=10, what="the new worker's heartbeat")
    finally:
        print(workers.logs())
        workers.stop_all()
