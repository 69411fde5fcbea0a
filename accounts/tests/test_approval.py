"""Approval mode end to end (ACCOUNTS_REQUIRE_APPROVAL=true): a confirmed sign-up waits, staff
are pinged on Discord, staff list, approve or reject it, and the applicant hears either way."""

from __future__ import annotations

import pytest

import yunohost_emulator as emulator
from accounts.models import User
from conftest import PASSWORD, login
from provisioning.models import Operation
from provisioning.tests.conftest import sha256
from testing import running_fake_discord

from .conftest import link_path

USERS = "/api/users/"


@pytest.fixture
def fake_discord(settings):
    with running_fake_discord(settings) as fake:
        yield fake


@pytest.fixture
def waiting(settings, registered, web, fake_discord, mailoutbox):
    """Dana signed up and confirmed her email: she waits for approval."""
    settings.ACCOUNTS_REQUIRE_APPROVAL = True
    dana, confirmation = registered
    page = web.get(link_path(confirmation))
    assert page.status_code == 200
    mailoutbox.clear()
    dana.refresh_from_db()
    return dana


@pytest.fixture
def emulator_lane_off(monkeypatch):
    """The lane's task is not run (the test looks at the account, not at YunoHost)."""
    from provisioning import tasks

    monkeypatch.setattr(tasks.run_operation, "apply_async", lambda *args, **kwargs: None)


@pytest.fixture
def staff_api(api, staff_user):
    tokens = login(api.client, "carol")
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return api


def test_a_confirmed_sign_up_waits_and_staff_are_pinged(waiting, fake_discord):
    assert waiting.status == User.Status.PENDING_APPROVAL
    assert not Operation.objects.filter(subject="user:dana").exists()
    assert [entry["json"]["content"] for entry in fake_discord.received] == [
        "<@&987654321> [signup_waiting] dana (Dana Scully) confirmed their email and waits for approval."
    ]


def test_without_approval_mode_nobody_is_pinged_at_confirmation(registered, web, fake_discord, emulator_lane_off):
    _, confirmation = registered

    web.get(link_path(confirmation))

    assert User.objects.get(username="dana").status == User.Status.PROVISIONING
    assert fake_discord.received == []


def test_staff_list_who_waits(waiting, staff_api, user):
    response = staff_api.client.get(USERS, {"status": "pending_approval"})

    assert [row["username"] for row in response.json()["results"]] == ["dana"]


def test_approving_starts_provisioning_and_tells_the_applicant(waiting, staff_api, mailoutbox, emulator_lane_off):
    response = staff_api.post(f"{USERS}dana/approve")

    assert response.status_code == 202
    assert response.json()["status"] == "provisioning"
    assert Operation.objects.get(subject="user:dana").kind == "user.create"
    (message,) = mailoutbox
    assert message.to == ["dana@example.org"]
    assert message.subject == "Your blahaj.land account was approved"
    assert "dana@blahaj.land" in message.body
    assert "dana@blahaj.land" in message.alternatives[0][0]


def test_an_approved_account_is_created_on_yunohost_with_the_sign_up_password(waiting, staff_api, mailoutbox, settings):
    staff_api.post(f"{USERS}dana/approve")  # the lane's task runs in this process too

    assert User.objects.get(username="dana").status == User.Status.ACTIVE
    on_yunohost = emulator.read_state(settings.YUNOHOST_EMULATOR_STATE)["users"]["dana"]
    assert on_yunohost["password_sha256"] == sha256(PASSWORD)
    subjects = sorted(m.subject for m in mailoutbox)
    assert subjects == ["Your blahaj.land account is ready", "Your blahaj.land account was approved"]


def test_rejecting_deletes_the_sign_up_and_tells_the_applicant(waiting, staff_api, mailoutbox):
    response = staff_api.post(f"{USERS}dana/reject", {"reason": "We only take <b>friends</b> for now."})

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    assert not User.objects.filter(username="dana").exists()
    assert not Operation.objects.filter(subject="user:dana").exists()
    (message,) = mailoutbox
    assert message.to == ["dana@example.org"]
    assert message.subject == "Your blahaj.land sign-up"
    assert "Hi Dana Scully," in message.body
    assert "We only take <b>friends</b> for now." in message.body
    assert "&lt;b&gt;friends&lt;/b&gt;" in message.alternatives[0][0]


def test_a_rejected_applicant_may_sign_up_again(waiting, staff_api, api, signup_body):
    staff_api.post(f"{USERS}dana/reject")

    assert api.post("/api/user/register", signup_body).status_code == 201


@pytest.mark.parametrize("verb", ["approve", "reject"])
def test_only_a_waiting_account_can_be_approved_or_rejected(staff_api, user, verb, mailoutbox):
    response = staff_api.post(f"{USERS}alice/{verb}")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_status"
    assert User.objects.get(username="alice").status == User.Status.ACTIVE
    assert mailoutbox == []


def test_approving_twice_is_refused_the_second_time(waiting, staff_api, emulator_lane_off):
    assert staff_api.post(f"{USERS}dana/approve").status_code == 202

    second = staff_api.post(f"{USERS}dana/approve")

    assert second.status_code == 409
    assert second.json() == {"error": "Only an account waiting for approval can be approved.", "code": "invalid_status"}
    assert Operation.objects.filter(subject="user:dana").count() == 1


def test_members_cannot_approve(waiting, api, user):
    tokens = api.post("/api/user/login", {"username": "alice", "password": PASSWORD}).json()
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")

    refused = api.post(f"{USERS}dana/approve")
    assert refused.status_code == 403
    assert refused.json() == {
        "error": "You do not have permission to perform this action.",
        "code": "permission_denied",
    }
    assert User.objects.get(username="dana").status == User.Status.PENDING_APPROVAL
