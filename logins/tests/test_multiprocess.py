"""Revocation and lockout hold across server processes: they share Redis, not memory."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from conftest import PASSWORD, login
from logins import services
from logins.revocation import mirror
from testing import ROOT, child_env, gunicorn

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two_servers(user):
    with gunicorn() as first, gunicorn() as second:
        yield first, second


def _login(base: str, password: str = PASSWORD) -> requests.Response:
    return requests.post(f"{base}/api/user/login", json={"username": "alice", "password": password}, timeout=10)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_revoked_on_one_process_is_refused_by_another(two_servers):
    first, second = two_servers
    tokens = _login(first).json()

    me = requests.get(f"{second}/api/user/me", headers=_bearer(tokens["access"]), timeout=10)
    assert (me.status_code, me.json()["username"]) == (200, "alice")
    revoked = requests.delete(f"{first}/api/user/revoke-access", headers=_bearer(tokens["access"]), timeout=10)
    assert (revoked.status_code, revoked.json()) == (200, {"status": "success", "message": "Access token revoked!"})
    revoked = requests.delete(f"{first}/api/user/revoke-refresh", headers=_bearer(tokens["refresh"]), timeout=10)
    assert (revoked.status_code, revoked.json()) == (200, {"status": "success", "message": "Refresh token revoked!"})

    me = requests.get(f"{second}/api/user/me", headers=_bearer(tokens["access"]), timeout=10)
    refresh = requests.post(f"{second}/api/user/refresh", headers=_bearer(tokens["refresh"]), timeout=10)
    assert (me.status_code, me.json()["code"]) == (401, "token_not_valid")
    assert (refresh.status_code, refresh.json()["code"]) == (401, "token_not_valid")


def test_failures_spread_over_processes_add_up_to_one_lockout(two_servers):
    first, second = two_servers
    for attempt in range(5):
        failed = _login(two_servers[attempt % 2], "wrong-password-x")
        assert (failed.status_code, failed.json()["code"]) == (401, "invalid_credentials")

    locked = [_login(base) for base in (first, second)]

    assert [response.status_code for response in locked] == [429, 429]
    assert locked[0].json()["code"] == "too_many_attempts"
    assert int(locked[1].headers["Retry-After"]) > 800


# --- the per-process revocation mirror ------------------------------------------------------


def _in_another_process(code: str) -> None:
    script = "import django; django.setup()\n" + code
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**child_env(), "DJANGO_SETTINGS_MODULE": "blahaj.settings"},
        check=True,
    )


def test_a_warm_mirror_hears_a_revocation_made_by_another_process(api_client, user):
    access = _login_in_process(api_client)
    me = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (me.status_code, me.json()["username"]) == (200, "alice")
    assert mirror.ready() and mirror.user(str(user.pk)) is not None  # served from memory

    _in_another_process(
        "from accounts.models import User; from logins import services\n"
        f"services.user_revoke_all_tokens(user=User.objects.get(pk={user.pk}))\n"
    )

    response = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def test_a_new_mirror_starts_from_what_redis_already_knows(api_client, user):
    access = _login_in_process(api_client)
    revoked = api_client.delete("/api/user/revoke-access", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert revoked.status_code == 200
    mirror.reset()  # as a process that starts after the revocation

    response = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert mirror.ready() and len(mirror.denied) == 1


def test_a_mirror_whose_subscription_dropped_starts_again_from_redis(api_client, user):
    access = _login_in_process(api_client)
    assert mirror.ready()
    subscription = mirror._pubsub
    assert subscription is not None and subscription.connection is not None
    subscription.connection.disconnect()  # Redis went away under the subscription...
    services.token_revoke_access(token=AccessToken(access))  # ...while this was published

    response = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert len(mirror.denied) == 1  # rebuilt from a snapshot after the reconnect


def _login_in_process(client) -> str:
    return login(client, "alice")["access"]
