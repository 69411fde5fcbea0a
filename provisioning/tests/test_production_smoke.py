"""Production-like, end to end: gunicorn with the production settings (debug off, a real secret,
real password hashing), a Celery worker for the YunoHost lane (-Q yunohost -c 1) and one for the
rest (-Q default: email), PostgreSQL, Redis, and YunoHost reached over its HTTP API (the HTTP
emulator over TLS with a private CA). Someone signs up, confirms through the emailed link, gets
a YunoHost account, logs in, refreshes, revokes; then the lane worker is killed in the middle of
a slow `user create` and the account still ends up created exactly once."""

from __future__ import annotations

import email
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import transaction

from accounts.models import User
from blahaj.celery import app as celery_app
from provisioning import services
from provisioning.models import Operation
from testing import child_env, gunicorn

from .conftest import API_ADMIN, API_PASSWORD, http_emulator_process
from .test_workers import Workers, _purge, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SITE = "https://accounts.blahaj.test"  # what the emails link to; the test follows it to gunicorn
SEPARATOR = "-" * 79  # between two messages in a file of Django's file-based email backend
# Short heartbeats so that a killed worker's operation is taken back within seconds.
TIMING = {
    "YUNOHOST_TIMEOUT": "4",
    "YUNOHOST_LANE_LOCK_MARGIN": "1",
    "YUNOHOST_HEARTBEAT_INTERVAL": "1",
    "YUNOHOST_HEARTBEAT_STALE": "3",
    "CELERY_VISIBILITY_TIMEOUT": "6",
}


def _confirmation_link(mail_dir: Path, address: str) -> str | None:
    for path in sorted(mail_dir.glob("*.log")):
        for raw in path.read_text().split(SEPARATOR):
            message = email.message_from_string(raw.strip())
            if message["To"] != address:
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    payload = part.get_payload(decode=True)
                    text = payload.decode() if isinstance(payload, bytes) else str(payload)
                    found = re.search(re.escape(SITE) + r"(/confirm/[^/\s]+/)", text)
                    if found:
                        return found.group(1)
    return None


def _sign_up_and_confirm(url: str, mail_dir: Path, username: str, password: str) -> None:
    body = {
        "username": username,
        "display_name": username.title(),
        "email": f"{username}@example.org",
        "password": password,
    }
    response = requests.post(f"{url}/api/user/register", json=body, timeout=20)
    assert (response.status_code, response.json()) == (201, {"status": "success"})
    wait_for(
        lambda: _confirmation_link(mail_dir, body["email"]) is not None,
        timeout=30,
        what=f"the confirmation email to {username}",
    )
    confirmed = requests.get(url + str(_confirmation_link(mail_dir, body["email"])), timeout=20, allow_redirects=False)
    assert confirmed.status_code == 200 and "confirmed" in confirmed.text.lower()


def _on_yunohost(emulator, username: str) -> bool:
    return username in emulator.state()["users"]


def _purge_default_queue(redis_url: str) -> None:
    with celery_app.connection_for_write(redis_url) as connection:
        connection.default_channel.queue_purge("default")  # type: ignore[attr-defined]


@pytest.fixture
def workers(transactional_db, default_tier, emulator, tmp_path) -> Iterator[Workers]:
    lane = Workers(tmp_path, emulator)
    _purge(lane.redis_url)
    _purge_default_queue(lane.redis_url)
    yield lane
    print(lane.logs())  # shown by pytest when the test failed
    lane.stop_all()


def test_production_stack_end_to_end(workers, emulator, tls_cert, tmp_path, settings):
    started = time.monotonic()
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with http_emulator_process(emulator.path, tls=tls_cert, lock_timeout=10) as api_url:
        production = {
            "BLAHAJ_TESTING": "false",  # real password hashing, no test shortcuts
            "DJANGO_DEBUG": "false",
            "SITE_URL": SITE,
            # TLS ends at nginx in production (which also redirects plain HTTP); here the test
            # itself stands where nginx would and talks plain HTTP to gunicorn.
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(mail_dir),
            "YUNOHOST_BACKEND": "api",
            "YUNOHOST_API_URL": api_url,
            "YUNOHOST_API_PASSWORD": f"{API_ADMIN}:{API_PASSWORD}",
            "YUNOHOST_API_CA_BUNDLE": str(tls_cert[0]),
            **TIMING,
        }
        workers.start("lane", concurrency=1, **production)
        workers.start("rest", queue="default", **production)
        with gunicorn(workers=2, env=child_env(**{**workers.env(), **production})) as url:
            password = "a Long enough passphrase 42!"
            _sign_up_and_confirm(url, mail_dir, "smoke", password)
            wait_for(lambda: _on_yunohost(emulator, "smoke"), timeout=30, what="the YunoHost account")
            wait_for(
                lambda: User.objects.get(username="smoke").status == User.Status.ACTIVE,
                timeout=15,
                what="the account to be active",
            )
            assert emulator.log("user create")[0]["via"] == "api"

            login = requests.post(f"{url}/api/user/login", json={"username": "smoke", "password": password}, timeout=20)
            assert login.status_code == 200, login.text
            tokens = login.json()
            me = requests.get(f"{url}/api/user/me", headers={"Authorization": f"Bearer {tokens['access']}"}, timeout=20)
            assert (me.status_code, me.json()["username"], me.json()["status"]) == (200, "smoke", "active")
            bearer_refresh = {"Authorization": f"Bearer {tokens['refresh']}"}
            refreshed = requests.post(f"{url}/api/user/refresh", headers=bearer_refresh, timeout=20)
            assert refreshed.status_code == 200 and refreshed.json()["access"]
            revoked = requests.delete(f"{url}/api/user/revoke-refresh", headers=bearer_refresh, timeout=20)
            assert (revoked.status_code, revoked.json()) == (
                200,
                {"status": "success", "message": "Refresh token revoked!"},
            )
            again = requests.post(f"{url}/api/user/refresh", headers=bearer_refresh, timeout=20)
            assert again.status_code == 401

            # A slow `user create`, and the lane worker dies in the middle of it.
            with emulator_delay(emulator, "user create", 2):
                _sign_up_and_confirm(url, mail_dir, "phoenix", password)
                operation = Operation.objects.get(kind="user.create", subject="user:phoenix")
                wait_for(
                    lambda: Operation.objects.get(pk=operation.pk).status == "running", timeout=20, what="the claim"
                )
                time.sleep(0.7)  # well inside the 2 s command
                workers.kill("lane")
                workers.start("lane2", concurrency=1, **production)
                settings.YUNOHOST_HEARTBEAT_STALE = 3  # this process plays beat, with the workers' timings

                def swept_and_done() -> bool:
                    services.operations_sweep()
                    return Operation.objects.get(pk=operation.pk).status == "succeeded"

                wait_for(swept_and_done, timeout=40, what="recovery", every=0.5)

    with transaction.atomic():
        phoenix = User.objects.get(username="phoenix")
    assert phoenix.status == User.Status.ACTIVE
    assert sorted(emulator.state()["users"]) == ["phoenix", "smoke"]
    creates = {
        name: [e["exit"] for e in emulator.log("user create") if e["argv"][2] == name] for name in ("smoke", "phoenix")
    }
    # The killed worker's request still completed on YunoHost; the re-run found the user there.
    assert creates["smoke"] == [0] and creates["phoenix"].count(0) == 1
    # The operation was run again after the kill (attempt 2): its first run never reported back.
    assert Operation.objects.get(subject="user:phoenix").attempts == 2
    assert Operation.objects.filter(kind="user.create").count() == 2
    assert set(Operation.objects.values_list("status", flat=True)) == {"succeeded"}
    assert time.monotonic() - started < 90


@contextmanager
def emulator_delay(emulator, command: str, seconds: float) -> Iterator[None]:
    """A delay on one command of the running HTTP emulator (the state's ``delays`` key)."""
    import yunohost_emulator as emulator_module

    with emulator_module.transaction(str(emulator.path)) as state:
        state.setdefault("delays", {})[command] = seconds
    try:
        yield
    finally:
        with emulator_module.transaction(str(emulator.path)) as state:
            state["delays"].pop(command, None)
