"""The test cast: alice (`user`), bob (`other_user`), carol (`staff_user`), and clients.

The suite runs twice (see scripts/test): on SQLite with in-process tasks, and on
PostgreSQL with Redis. Tests marked `redis` need the second pass's Redis.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import TestCase
from rest_framework.test import APIClient

os.environ.setdefault("BLAHAJ_TESTING", "true")

from blahaj.celery import app as celery_app
from factories import PASSWORD, DefaultTierFactory, UserFactory
from provisioning.testing_ldap import PrivateSlapd, SlapdError


def pytest_collection_modifyitems(config, items):
    # A test marked for a server this pass lacks runs on the other pass instead (scripts/test
    # runs both); it is deselected, so the summary says so plainly.
    missing = set()
    if not settings.REDIS_URL:
        missing.add("redis")
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        missing.add("postgres")
    deselected = [item for item in items if any(item.get_closest_marker(name) for name in missing)]
    if deselected:
        items[:] = [item for item in items if item not in deselected]
        config.hook.pytest_deselected(items=deselected)


@pytest.fixture
def tasks_inline():
    """Celery tasks (emails, lane runs) in-process, also on the pass where a broker is real but
    no worker reads it."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before


@pytest.fixture(autouse=True)
def _clean_cache():
    from accounts.revocation import mirror

    cache.clear()
    mirror.reset()
    yield
    cache.clear()
    mirror.reset()


@pytest.fixture(autouse=True)
def _private_yunohost(tmp_path, settings):
    """Every test gets its own emulator state and lane lock, never the developer's data/."""
    settings.YUNOHOST_EMULATOR_STATE = str(tmp_path / "yunohost.json")
    settings.YUNOHOST_LANE_LOCK_FILE = str(tmp_path / "lane.lock")


@pytest.fixture(autouse=True)
def _signup_defences_off(settings):
    """Sign-up tests that are not about the abuse defences post forms without a solved
    challenge, and there is no network here for DNS: accounts/tests/test_defences*.py turn
    each defence back on."""
    settings.SIGNUP_CHALLENGE = "off"
    settings.SIGNUP_CHECK_MX = False


@pytest.fixture(scope="session")
def slapd() -> Iterator[PrivateSlapd]:
    """A private slapd with YunoHost's tree (provisioning/testing_ldap.py), for the whole run.

    It fails, never skips, when slapd cannot start: scripts/test installs it (ensure_slapd).
    """
    server = PrivateSlapd()
    try:
        server.start()
    except SlapdError as e:
        pytest.fail(str(e), pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def default_tier(db):
    # Transactional tests flush the tables, data migration included: put starter back.
    return DefaultTierFactory()


@pytest.fixture
def make_user(db, default_tier):
    def make(username: str = "alice", *, password: str = PASSWORD, **fields):
        return UserFactory(username=username, password=password, **fields)

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("bob")


@pytest.fixture
def staff_user(make_user):
    return make_user("carol", is_staff=True)


@contextmanager
def committed() -> Iterator[None]:
    """Run what the block queued for after its commit (cache invalidation, revocation events,
    emails, lane messages), as a real commit would: the test's own transaction never commits."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        yield


class CommittingAPIClient(APIClient):
    """An API client whose every request runs its on-commit callbacks, as in production."""

    def request(self, **kwargs):
        with committed():
            return super().request(**kwargs)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def login(client: APIClient, username: str, password: str = PASSWORD) -> dict:
    response = client.post("/api/user/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def tokens(api_client, user) -> dict:
    return login(api_client, user.username)


@pytest.fixture
def auth_client(tokens) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    client = APIClient()
    access = login(client, staff_user.username)["access"]
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client
