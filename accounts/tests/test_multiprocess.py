"""Revocation and lockout hold across server processes: they share Redis, not memory."""

from __future__ import annotations

import pytest
import requests

from blahaj.testing import gunicorn
from conftest import PASSWORD

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

    assert requests.get(f"{second}/api/user/me", headers=_bearer(tokens["access"]), timeout=10).status_code == 200
    assert requests.delete(f"{first}/api/user/revoke-access", headers=_bearer(tokens["access"]), timeout=10).status_code == 200
    assert requests.delete(f"{first}/api/user/revoke-refresh", headers=_bearer(tokens["refresh"]), timeout=10).status_code == 200

    me = requests.get(f"{second}/api/user/me", headers=_bearer(tokens["access"]), timeout=10)
    refresh = requests.post(f"{second}/api/user/refresh", headers=_bearer(tokens["refresh"]), timeout=10)
    assert (me.status_code, me.json()["code"]) == (401, "token_not_valid")
    assert (refresh.status_code, refresh.json()["code"]) == (401, "token_not_valid")


def test_failures_spread_over_processes_add_up_to_one_lockout(two_servers):
    first, second = two_servers
    for attempt in range(5):
        assert _login(two_servers[attempt % 2], "wrong-password-x").status_code == 401

    locked = [_login(base) for base in (first, second)]

    assert [response.status_code for response in locked] == [429, 429]
    assert locked[0].json()["code"] == "too_many_attempts"
    assert int(locked[1].headers["Retry-After"]) > 800
