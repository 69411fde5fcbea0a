"""A sign-up cannot take over a YunoHost user the service did not make (an admin's, made by hand
on the server): every door that creates a name refuses it like a taken one, the lane refuses it
if it appears later (provisioning/tests/test_lane.py), and staff's import is what adopts one."""

from __future__ import annotations

import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command

from accounts import yunohost as accounts_lane
from accounts.models import User
from provisioning.models import Operation, OwnedObject
from provisioning.tests.conftest import emulator, run_lane, sha256  # noqa: F401 - fixture
from yunohost_client import get_client

ADMINS_SECRET = "the admins' Secret 1"
pytestmark = pytest.mark.django_db


@pytest.fixture
def admins_user(request):
    """`dana`, made by hand on the server by an admin; the emulator's state."""
    server = request.getfixturevalue("emulator")
    get_client().user_create(
        username="dana", fullname="Dana Admin", password=ADMINS_SECRET, domain=settings.YUNOHOST_DOMAIN
    )
    return server


def _untouched(server) -> None:
    assert server.state()["users"]["dana"]["password_sha256"] == sha256(ADMINS_SECRET)
    assert not OwnedObject.objects.filter(kind="user", name="dana").exists()


def test_the_api_sign_up_refuses_a_name_yunohost_has(admins_user, api, signup_body, mailoutbox):
    response = api.post("/api/user/register", signup_body)

    assert response.status_code == 409, response.content
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}
    assert not User.objects.filter(username="dana").exists() and mailoutbox == []
    _untouched(admins_user)


def test_the_legacy_create_user_refuses_it_with_its_own_code(admins_user, front_end):
    response = front_end()

    assert response.status_code == 432, response.content
    assert response.json()["error"] == "Username already taken"
    assert not User.objects.filter(username="dana").exists()
    _untouched(admins_user)


def test_staff_cannot_create_it_either(admins_user, staff_client):
    response = staff_client.post(
        "/api/users/", {"username": "dana", "display_name": "Dana", "email": "dana@example.org"}, format="json"
    )

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "username_taken"
    _untouched(admins_user)


def test_a_sign_up_goes_on_when_yunohost_does_not_answer(api, signup_body, settings, caplog):
    settings.YUNOHOST_BIN = "/nonexistent/yunohost"

    response = api.post("/api/user/register", signup_body)

    assert response.status_code == 201, response.content
    assert "user info could not be read" in caplog.text


def test_an_imported_user_is_adopted_and_then_changed_through_the_lane(admins_user, settings):
    settings.YUNOHOST_LOCK_TIMEOUT = 0
    call_command("yunohost_import", stdout=StringIO(), stderr=StringIO())

    dana = User.objects.get(username="dana")
    assert OwnedObject.objects.get(kind="user", name="dana").state == "created"
    # A reset, a change, staff disabling it: each gives YunoHost the new password.
    accounts_lane.account_set_password(user=dana, password="A new Passw0rd!")
    run_lane()

    update = Operation.objects.get(kind="user.update")
    assert update.status == "succeeded", update.error
    assert admins_user.state()["users"]["dana"]["password_sha256"] == sha256("A new Passw0rd!")


def test_accounts_made_before_the_records_keep_their_user_but_a_taken_over_one_gets_nothing(make_user):
    migration = importlib.import_module("accounts.migrations.0017_record_owned_users")
    make_user("alice", on_yunohost=True)  # made by the lane
    make_user("erin", on_yunohost=True)  # imported: no user.create
    make_user("eve", on_yunohost=True)  # took over an admin's user
    make_user("fay", status=User.Status.PROVISIONING)  # still waiting for its user
    for username, status, output in (
        ("alice", "succeeded", '{"username": "alice"}'),
        ("eve", "succeeded", '{"note": "The user already existed on YunoHost: nothing was changed."}'),
        ("fay", "pending", ""),
    ):
        Operation.objects.create(
            kind="user.create",
            subject=f"user:{username}",
            sequence=1,
            status=status,
            args={"username": username},
            output=output,
            attempts=1 if status == "succeeded" else 0,
        )

    migration.record(apps, None)
    migration.record(apps, None)  # run twice: nothing doubled

    records = set(OwnedObject.objects.values_list("kind", "name", "state"))
    assert records == {("user", "alice", "created"), ("user", "erin", "created"), ("user", "fay", "intended")}
