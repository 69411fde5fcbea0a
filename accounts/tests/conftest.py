"""Fixtures for the registration, confirmation and reset tests.

`api` and `web` are clients that also run what the request queued for after its commit
(the emails): a test's transaction never commits, so without them nothing would be sent.
`tasks_inline` runs Celery tasks in-process on the PostgreSQL + Redis pass too, where the
broker is real but no worker listens.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db.models.signals import pre_save
from django.test import Client
from rest_framework.test import APIClient

from conftest import PASSWORD

STRONG = "tidal-lantern-orbit-pebble-91"  # another strong password, not PASSWORD
SCREENSHOTS = Path(os.environ.get("BLAHAJ_ARTIFACTS", "test-artifacts")).resolve() / "screenshots"
screenshots_taken: list[Path] = []


def pytest_terminal_summary(terminalreporter):
    if screenshots_taken:
        terminalreporter.write_line(f"browser screenshots ({len(screenshots_taken)}): {SCREENSHOTS}")


class Committing:
    """A test client whose requests run their on-commit callbacks (queued emails)."""

    def __init__(self, client, capture, **defaults) -> None:
        self.client, self.capture, self.defaults = client, capture, defaults

    def _call(self, method: str, path: str, data=None, **extra):
        with self.capture(execute=True):
            return getattr(self.client, method)(path, data, **{**self.defaults, **extra})

    def get(self, path: str, data=None, **extra):
        return self._call("get", path, data, **extra)

    def post(self, path: str, data=None, **extra):
        return self._call("post", path, data, **extra)


@pytest.fixture
def api(tasks_inline, default_tier, django_capture_on_commit_callbacks) -> Committing:
    return Committing(APIClient(), django_capture_on_commit_callbacks, format="json")


@pytest.fixture
def web(tasks_inline, default_tier, django_capture_on_commit_callbacks) -> Committing:
    return Committing(Client(), django_capture_on_commit_callbacks)


def links(message) -> list[str]:
    """The links in an email's text part, in order."""
    return re.findall(r"https?://\S+", message.body)


def link_path(message) -> str:
    """The path of the email's first link, to follow with a test client."""
    url = urlsplit(links(message)[0])
    assert f"{url.scheme}://{url.netloc}" == settings.SITE_URL
    return url.path + (f"?{url.query}" if url.query else "")


def link_token(message) -> str:
    """The token at the end of the email's link (for the API, which takes it in a body)."""
    return link_path(message).rstrip("/").rsplit("/", 1)[1]


@pytest.fixture
def member(web, user) -> Committing:
    """A browser signed in to /account/ as alice."""
    response = web.post(
        "/account/login/", {"identifier": "alice", "password": PASSWORD}, HTTP_USER_AGENT="Firefox/1 (Linux)"
    )
    assert (response.status_code, response["Location"]) == (302, "/account/")
    return web


@pytest.fixture
def signup_body() -> dict:
    return {
        "username": "dana",
        "display_name": "Dana Scully",
        "email": "dana@example.org",
        "password": PASSWORD,
    }


@pytest.fixture
def registered(api, signup_body, mailoutbox):
    """Dana, signed up through the API: her account and her confirmation email."""
    from accounts.models import User

    response = api.post("/api/user/register", signup_body)
    assert response.status_code == 201, response.content
    return User.objects.get(username="dana"), mailoutbox[-1]


@pytest.fixture
def rates(settings):
    """Override per-IP limits for one test, e.g. `rates(register="2/hour")` (read per request)."""

    def override(**scopes: str) -> None:
        current = settings.REST_FRAMEWORK
        settings.REST_FRAMEWORK = {
            **current,
            "DEFAULT_THROTTLE_RATES": {**current["DEFAULT_THROTTLE_RATES"], **scopes},
        }

    return override


@pytest.fixture
def before_account_insert():
    """`before_account_insert(action)`: call `action(user)` right before a new account's INSERT,
    after the service's own checks: the moment a concurrent sign-up can slip in. Django's
    `pre_save` signal, so the services under test run unpatched."""
    from accounts.models import User

    receivers = []

    def hook(action) -> None:
        def receiver(sender, instance, **kwargs) -> None:
            if instance._state.adding:
                action(instance)

        pre_save.connect(receiver, sender=User, weak=False)
        receivers.append(receiver)

    yield hook
    for receiver in receivers:
        pre_save.disconnect(receiver, sender=User)
