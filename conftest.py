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
from django.utils import translation
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from rest_framework.test import APIClient

os.environ.setdefault("BLAHAJ_TESTING", "true")

from blahaj.celery import app as celery_app
from factories import PASSWORD, DefaultTierFactory, UserFactory
from legacy import service_accounts
from logins import tokens as jwt
from logins.authentication import _verified_payload as verified_tokens
from mfa.models import AuthenticatorApp
from yunohost_standins.slapd import PrivateSlapd, SlapdError


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
    from logins.revocation import mirror

    cache.clear()
    mirror.reset()
    verified_tokens.cache_clear()
    yield
    cache.clear()
    mirror.reset()


@pytest.fixture(autouse=True)
def _english_to_begin_with():
    """Each test starts in the default language: a French request earlier in the thread (Django
    leaves the last request's language active) must not change what the next test reads."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _private_yunohost(tmp_path, settings):
    """Every test gets its own emulator state and lane lock, never the developer's data/."""
    settings.YUNOHOST_EMULATOR_STATE = str(tmp_path / "yunohost.json")
    settings.YUNOHOST_LANE_LOCK_FILE = str(tmp_path / "lane.lock")


@pytest.fixture(autouse=True)
def _signup_defences_off(settings):
    """Sign-up tests that are not about the abuse defences post forms without a solved
    challenge, and there is no network here for DNS: defences/tests/test_defences*.py turn
    each defence back on."""
    settings.SIGNUP_CHALLENGE = "off"
    settings.SIGNUP_CHECK_MX = False


@pytest.fixture(scope="session")
def slapd() -> Iterator[PrivateSlapd]:
    """A private slapd with YunoHost's tree (yunohost_standins/slapd.py), for the whole run.

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


def totp_device(user) -> AuthenticatorApp:
    """The account's confirmed TOTP device (created if it has none), as an authenticator app
    would hold it."""
    device = AuthenticatorApp.objects.filter(user=user, confirmed=True).first()
    return device or AuthenticatorApp.objects.create(user=user, name="Test authenticator", confirmed=True)


def totp_code(device: AuthenticatorApp, *, fresh: bool = True) -> str:
    """The device's current code. `fresh`: forget the last step used first, so that a test may
    log in twice within one 30-second step (a real app would wait for the next code)."""
    if fresh:
        AuthenticatorApp.objects.filter(pk=device.pk).update(last_t=-1)
    device.refresh_from_db()
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def verified_login(client, user) -> None:
    """Sign a Django test client in as `user` with the admin's second-factor step passed (a
    session of staff with STAFF_REQUIRE_MFA needs both)."""
    device = totp_device(user)
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def staff_access(user) -> str:
    """An access token of `user` with the second factor in it (as after /api/user/login/mfa)."""
    totp_device(user)
    return jwt.issue_for_user(user, factors=jwt.WITH_SECOND_FACTOR)["access"]


@pytest.fixture
def staff_user(make_user):
    """Staff, with TOTP set up (required of staff): `login()` passes its second step."""
    carol = make_user("carol", is_staff=True)
    totp_device(carol)
    return carol


@pytest.fixture
def admin_client(client, admin_user):
    """pytest-django's admin client, past the admin's second-factor step."""
    verified_login(client, admin_user)
    return client


@pytest.fixture
def service_account(db, default_tier):
    """The sign-up front end's account: not staff, allowed /create_user."""
    return service_accounts.service_account_create(username="signup_frontend", password=PASSWORD)


# What the sign-up front end's form posts to /create_user (a legacy route, legacy/urls.py).
FRONT_END_FORM = {
    "username": "dana",
    "display_name": "Dana Scully",
    "recovery_email": "dana@example.org",
    "discord_username": "dana.s",
}


def legacy_login(client, username: str, password: str = PASSWORD):
    """POST /login, the legacy route the front end's server logs in with."""
    return client.post("/login", {"username": username, "password": password}, format="json")


@pytest.fixture
def front_end(service_account, default_tier):
    """Like the front end's server: a fresh login of its service account before each /create_user."""

    def sign_up(client=None, **form):
        client = client or APIClient()
        tokens = legacy_login(client, service_account.username)
        assert tokens.status_code == 200, tokens.content
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access_token']}")
        return client.post("/create_user", {**FRONT_END_FORM, **form}, format="json")

    return sign_up


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
    """Log in over the API; an account with TOTP passes the second step with its current code."""
    response = client.post("/api/user/login", {"username": username, "password": password}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    if body.get("mfa_required"):
        device = AuthenticatorApp.objects.get(user__username=username.lower(), confirmed=True)
        response = client.post(
            "/api/user/login/mfa", {"mfa_token": body["mfa_token"], "code": totp_code(device)}, format="json"
        )
        assert response.status_code == 200, response.content
        body = response.json()
    return body


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
