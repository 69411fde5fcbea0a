"""An ended login session dies in every server process (Redis and the revocation mirror),
and a member's new password reaches YunoHost through a real Celery worker."""
# ruff: noqa: F811 - fixtures are imported by name, then requested as arguments

from __future__ import annotations

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from accounts import yunohost as accounts_lane
from accounts.models import User
from conftest import PASSWORD, login
from logins.models import LoginSession
from logins.revocation import mirror
from logins.tests.test_multiprocess import _in_another_process
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, run_lane, sha256  # noqa: F401 - fixtures
from provisioning.tests.test_workers import wait_for, workers  # noqa: F401 - fixtures
from testing import gunicorn

from .conftest import STRONG

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(base: str) -> dict:
    response = requests.post(f"{base}/api/user/login", json={"username": "alice", "password": PASSWORD}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_session_ended_on_one_process_is_refused_by_another(user):
    with gunicorn() as first, gunicorn() as second:
        laptop, phone = _login(first), _login(second)
        sid = AccessToken(laptop["access"])["sid"]
        me = requests.get(f"{second}/api/user/me", headers=_bearer(laptop["access"]), timeout=10)
        assert me.status_code == 200  # the second process's mirror is warm and knows the user

        ended = requests.delete(f"{first}/api/user/sessions/{sid}", headers=_bearer(phone["access"]), timeout=10)
        assert ended.status_code == 204

        me = requests.get(f"{second}/api/user/me", headers=_bearer(laptop["access"]), timeout=10)
        refresh = requests.post(f"{second}/api/user/refresh", headers=_bearer(laptop["refresh"]), timeout=10)
        assert (me.status_code, me.json()["code"]) == (401, "token_not_valid")
        assert (refresh.status_code, refresh.json()["code"]) == (401, "token_not_valid")
        still = requests.get(f"{second}/api/user/me", headers=_bearer(phone["access"]), timeout=10)
        assert still.status_code == 200
        listed = requests.get(f"{second}/api/user/sessions", headers=_bearer(phone["access"]), timeout=10).json()
        assert [row["current"] for row in listed] == [True]


def test_a_warm_mirror_hears_of_a_session_ended_by_another_process(api_client, user):
    access = login(api_client, "alice")["access"]
    sid = AccessToken(access)["sid"]
    assert api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 200
    assert mirror.ready() and mirror.user(str(user.pk)) is not None  # served from memory

    _in_another_process(
        "from accounts.models import User; from selfservice import services\n"
        f"services.session_end(user=User.objects.get(pk={user.pk}), session_id={sid!r})\n"
    )

    response = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert sid in mirror.ended_sessions


def test_a_new_mirror_starts_from_the_sessions_redis_already_knows_ended(api_client, user):
    access = login(api_client, "alice")["access"]
    sid = AccessToken(access)["sid"]
    assert api_client.delete(f"/api/user/sessions/{sid}", HTTP_AUTHORIZATION=f"Bearer {access}").status_code == 204
    mirror.reset()  # as a process that starts after the session ended

    response = api_client.get("/api/user/me", HTTP_AUTHORIZATION=f"Bearer {access}")

    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")
    assert mirror.ready() and sid in mirror.ended_sessions


@pytest.mark.worker
def test_a_password_changed_by_the_member_reaches_yunohost_through_a_worker(workers, emulator, make_user, api_client):
    alice = make_user("alice", status=User.Status.PROVISIONING, pending_password="")
    accounts_lane.account_create(user=alice)
    run_lane()
    assert User.objects.get(pk=alice.pk).status == User.Status.ACTIVE
    workers.start("one")
    access = login(api_client, "alice")["access"]

    response = api_client.post(
        "/api/user/change-password",
        {"current_password": PASSWORD, "new_password": STRONG},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {access}",
    )

    assert response.status_code == 200, response.content

    def updated() -> bool:
        return Operation.objects.filter(
            kind=Operation.Kind.USER_UPDATE, subject="user:alice", status=Operation.Status.SUCCEEDED
        ).exists()

    wait_for(updated, timeout=60, what="the worker's user update")
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(STRONG)
    assert LoginSession.objects.filter(user=alice, ended_at__isnull=True).count() == 1
