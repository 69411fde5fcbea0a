"""The websites test kit: the lane's emulator and runner, clients that run what a request
queued for after its commit, and members on tiers that allow more."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import TestCase
from rest_framework.test import APIClient

from conftest import login
from factories import TierFactory
from provisioning.tests.conftest import emulator, run_lane, staff_notes  # noqa: F401 - fixtures and helper

SITE = f"alice.{settings.YUNOHOST_DOMAIN}"


class Committing:
    """An API client whose every request runs its on-commit callbacks, as a real commit would."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def __getattr__(self, method: str):
        call = getattr(self.client, method)

        def run(*args, **kwargs):
            kwargs.setdefault("format", "json") if method in ("post", "put", "patch") else None
            with TestCase.captureOnCommitCallbacks(execute=True):
                return call(*args, **kwargs)

        return run


def _bearer(username: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), username)['access']}")
    return client


@pytest.fixture
def owner_api(user, tasks_inline, emulator) -> Committing:  # noqa: F811
    return Committing(_bearer(user.username))


@pytest.fixture
def staff_api(staff_user, tasks_inline, emulator) -> Committing:  # noqa: F811
    return Committing(_bearer(staff_user.username))


@pytest.fixture
def other_api(other_user, tasks_inline) -> Committing:
    return Committing(_bearer(other_user.username))


@pytest.fixture
def plus_tier(db):
    return TierFactory(slug="plus", max_websites=3, custom_domains=True)


def confirmation_token(mailoutbox) -> str:
    """The token of the last website confirmation email."""
    message = [m for m in mailoutbox if "Confirm your website" in m.subject][-1]
    found = re.search(r"https?://\S+", message.body)
    assert found is not None, message.body
    return found.group(0).split("token=", 1)[1]


def confirm_path(mailoutbox) -> str:
    message = [m for m in mailoutbox if "Confirm your website" in m.subject][-1]
    found = re.search(r"https?://\S+", message.body)
    assert found is not None, message.body
    url = urlsplit(found.group(0))
    assert f"{url.scheme}://{url.netloc}" == settings.SITE_URL
    return f"{url.path}?{url.query}"
