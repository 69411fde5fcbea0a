"""A member deletes their own account: the request (API and page), the cancel link, the
grace period, the finalizer and the username quarantine (README, "Deleting an account")."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from accounts import services
from accounts.models import OneTimeToken, User, UsernameQuarantine
from accounts.tests.conftest import link_path, link_token
from audit.models import AuditEntry
from blahaj.errors import NotFound
from conftest import PASSWORD, committed, login, verified_login
from deletion import services as deletion
from logins.models import LoginSession
from provisioning.models import Operation

pytestmark = pytest.mark.django_db

DELETE = "/api/user/delete"
CANCEL = "/api/user/delete/cancel"


@pytest.fixture
def member(api, user):
    """Alice, signed in through the API (a client that runs what each request queued)."""
    api.client.credentials(HTTP_AUTHORIZATION=f"Bearer {login(APIClient(), user.username)['access']}")
    return api


def _scheduled(mailoutbox):
    return [m for m in mailoutbox if m.subject == "Your blahaj.land account will be deleted"]


def _due(user: User) -> None:
    User.objects.filter(pk=user.pk).update(deletes_at=timezone.now() - timedelta(seconds=1))


# --- the request ---------------------------------------------------------------------------


def test_a_request_answers_202_with_when_cuts_every_token_and_mails_a_cancel_link(member, user, mailoutbox, settings):
    settings.ACCOUNTS_DELETE_GRACE = 3 * 86400
    before = timezone.now()

    response = member.post(DELETE, {"password": PASSWORD})

    assert response.status_code == 202, response.content
    assert set(response.json()) == {"deletes_at"}
    deletes_at = parse_datetime(response.json()["deletes_at"])
    assert deletes_at is not None and response.json()["deletes_at"].endswith("Z")
    assert before + timedelta(days=3) <= deletes_at <= timezone.now() + timedelta(days=3)
    user.refresh_from_db()
    assert user.deletes_at == deletes_at and user.deletion_requested_at is not None
    # The token that asked is dead, and so is every other.
    assert member.get("/api/user/me").status_code == 401
    [message] = _scheduled(mailoutbox)
    assert message.to == [user.email]
    assert "alice@blahaj.land" in message.body and "will be deleted on" in message.body
    assert "/account/delete/cancel/" in link_path(message)
    token = OneTimeToken.objects.get(user=user, purpose=OneTimeToken.Purpose.CANCEL_DELETION)
    assert token.expires_at == deletes_at  # the link works until the deletion
    assert link_token(message) not in token.digest


def test_a_wrong_password_is_400_and_counts_toward_the_login_lockout(member, user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3

    answers = [member.post(DELETE, {"password": "not the password"}) for _ in range(3)]

    assert [a.status_code for a in answers] == [400, 400, 400]
    assert answers[0].json() == {
        "error": "The password is not right.",
        "code": "invalid_credentials",
        "fields": {"password": ["The password is not right."]},
    }
    # The account's budget is spent: the right password waits too, at the API and at login.
    locked = member.post(DELETE, {"password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert "Retry-After" in locked
    assert (
        APIClient().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").status_code
        == 429
    )
    user.refresh_from_db()
    assert user.deletes_at is None


def test_the_request_needs_a_signed_in_caller_and_a_password(member, user):
    assert APIClient().post(DELETE, {"password": PASSWORD}, format="json").status_code == 401
    missing = member.post(DELETE, {})
    assert missing.status_code == 400 and "password" in missing.json()["fields"]
    assert User.objects.get(pk=user.pk).deletes_at is None


def test_a_second_request_while_pending_keeps_the_date_and_resends_the_link(user, tasks_inline, mailoutbox):
    with committed():
        first = deletion.user_request_deletion(user=user, password=PASSWORD)
    old_link = link_path(_scheduled(mailoutbox)[0])
    with committed():
        second = deletion.user_request_deletion(user=User.objects.get(pk=user.pk), password=PASSWORD)

    assert first == second
    assert len(_scheduled(mailoutbox)) == 2
    # Only the newest link works.
    web = Client()
    assert web.post(old_link).status_code == 400
    assert OneTimeToken.objects.filter(user=user, purpose=OneTimeToken.Purpose.CANCEL_DELETION).count() == 1


# --- the grace period ------------------------------------------------------------------------


def test_login_is_refused_with_a_clear_code_during_the_grace_period(member, user):
    assert member.post(DELETE, {"password": PASSWORD}, format="json").status_code == 202

    response = APIClient().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "deletion_pending"
    assert "cancel link we emailed you" in response.json()["error"]
    # A wrong password still answers as wrong: the state is told only to who knows the password.
    wrong = APIClient().post("/api/user/login", {"username": "alice", "password": "nope nope"}, format="json")
    assert wrong.status_code == 401


def test_a_refresh_token_stops_working_with_the_request(api_client, user, tasks_inline):
    pair = login(api_client, "alice")
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)

    response = api_client.post("/api/user/refresh", {"refresh": pair["refresh"]}, format="json")

    assert response.status_code == 401


# --- cancelling ------------------------------------------------------------------------------


def test_the_cancel_page_shows_a_button_and_only_its_post_cancels_once(member, user, mailoutbox):
    member.post(DELETE, {"password": PASSWORD})
    path = link_path(_scheduled(mailoutbox)[0])
    web = Client()

    shown = web.get(path)
    assert shown.status_code == 200
    assert b"Cancel the deletion" in shown.content and b"alice" in shown.content
    user.refresh_from_db()
    assert user.deletes_at is not None  # a GET changes nothing

    with committed():
        done = web.post(path)
    assert done.status_code == 200 and b"Your account stays" in done.content
    user.refresh_from_db()
    assert (user.deletes_at, user.deletion_requested_at) == (None, None)
    assert mailoutbox[-1].subject == "Your blahaj.land account stays"
    assert mailoutbox[-1].to == [user.email]
    # Back to normal: login works again.
    assert (
        APIClient().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json").status_code
        == 200
    )
    # The link is spent.
    again = web.post(path)
    assert again.status_code == 400 and b"This link is invalid" in again.content
    assert web.get(path).status_code == 400


def test_the_api_cancels_with_the_token_once(member, user, mailoutbox):
    member.post(DELETE, {"password": PASSWORD})
    token = link_token(_scheduled(mailoutbox)[0])

    first = APIClient().post(CANCEL, {"token": token}, format="json")
    second = APIClient().post(CANCEL, {"token": token}, format="json")

    assert first.status_code == 200 and first.json() == {"status": "success"}
    assert second.status_code == 400 and second.json()["code"] == "token_invalid"
    assert User.objects.get(pk=user.pk).deletes_at is None


def test_a_link_past_the_deletion_time_is_410(member, user, mailoutbox):
    member.post(DELETE, {"password": PASSWORD})
    message = _scheduled(mailoutbox)[0]
    _due(user)
    OneTimeToken.objects.filter(user=user).update(expires_at=timezone.now() - timedelta(seconds=1))

    page = Client().get(link_path(message))
    posted = Client().post(link_path(message))
    api = APIClient().post(CANCEL, {"token": link_token(message)}, format="json")

    assert page.status_code == 410 and b"This link has expired" in page.content
    assert posted.status_code == 410
    assert api.status_code == 410 and api.json()["code"] == "token_expired"
    assert User.objects.get(pk=user.pk).deletes_at is not None


def test_an_unknown_token_is_a_clear_400(db, default_tier):
    assert Client().get("/account/delete/cancel/nonsense/").status_code == 400
    response = APIClient().post(CANCEL, {"token": "nonsense"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "token_invalid"


# --- finalization ---------------------------------------------------------------------------


def test_the_finalizer_leaves_accounts_not_due_and_deletes_the_due_one(
    user, other_user, tasks_inline, mailoutbox, settings
):
    settings.ACCOUNTS_USERNAME_QUARANTINE = 30
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)
        deletion.user_request_deletion(user=other_user, password=PASSWORD)
    _due(user)

    with committed():
        summary = deletion.deletions_finalize()

    assert (summary.deleted, summary.waiting) == (["alice"], [])
    assert not User.objects.filter(username="alice").exists()
    assert User.objects.filter(username="bob").exists()
    quarantine = UsernameQuarantine.objects.get(username="alice")
    assert timedelta(days=29) < quarantine.reserved_until - timezone.now() <= timedelta(days=30)
    assert mailoutbox[-1].subject == "Your blahaj.land account was deleted"
    assert mailoutbox[-1].to == [user.email]
    # Run again: nothing left to do.
    assert deletion.deletions_finalize().deleted == []


def test_a_cancelled_deletion_is_never_finalized(user, tasks_inline):
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)
    _due(user)
    with committed():
        deletion.user_cancel_deletion_by_staff(user=User.objects.get(pk=user.pk))

    assert deletion.deletions_finalize().deleted == []
    assert User.objects.get(pk=user.pk).is_active


def test_finalizing_one_account_twice_queues_one_user_delete(user, tasks_inline, emulator_user):
    emulator_user(user)
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)
    _due(user)

    outcomes = [deletion.deletion_finalize(user_id=user.pk), deletion.deletion_finalize(user_id=user.pk)]

    assert outcomes == ["deleted", "skipped"]
    assert Operation.objects.filter(kind="user.delete", subject="user:alice").count() == 1


@pytest.fixture
def emulator_user(db):
    """Give an account the record of a YunoHost user (a succeeded `user create`)."""

    def make(user: User) -> Operation:
        return Operation.objects.create(
            kind="user.create",
            subject=f"user:{user.username}",
            sequence=1,
            status="succeeded",
            args={"username": user.username},
            user=user,
        )

    return make


def test_old_quarantine_rows_are_pruned(db, default_tier):
    UsernameQuarantine.objects.create(username="old", reserved_until=timezone.now() - timedelta(seconds=1))
    UsernameQuarantine.objects.create(username="fresh", reserved_until=timezone.now() + timedelta(days=1))

    deletion.deletions_finalize()

    assert list(UsernameQuarantine.objects.values_list("username", flat=True)) == ["fresh"]


# --- the username quarantine on every door ----------------------------------------------------


@pytest.fixture
def quarantined(db, default_tier):
    return UsernameQuarantine.objects.create(username="dana", reserved_until=timezone.now() + timedelta(days=5))


def test_register_refuses_a_quarantined_name_like_a_taken_one(api, quarantined, signup_body):
    response = api.post("/api/user/register", signup_body)

    assert response.status_code == 409
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}


def test_the_signup_page_refuses_a_quarantined_name(web, quarantined, signup_body):
    response = web.post("/signup/", {**signup_body, "password_confirm": signup_body["password"]})

    assert response.status_code == 400
    assert response.context["form"].errors["username"] == ["Username already taken"]
    assert not User.objects.filter(username="dana").exists()


def test_the_staff_api_refuses_a_quarantined_name(staff_client, quarantined):
    body = {"username": "dana", "display_name": "Dana", "email": "dana@example.org"}

    response = staff_client.post("/api/users/", body, format="json")

    assert response.status_code == 409 and response.json()["code"] == "username_taken"


def test_the_seed_create_user_refuses_a_quarantined_name_with_432(service_account, quarantined):
    client = APIClient()
    tokens = client.post("/login", {"username": "signup_frontend", "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    form = {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org"}

    response = client.post("/create_user", form, format="json")

    assert response.status_code == 432
    assert response.json() == {"error": "Username already taken", "code": "username_taken"}


def test_the_admin_add_form_refuses_a_quarantined_name(client, make_user, quarantined):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    response = client.post("/admin/accounts/user/add/", {"username": "dana", "display_name": "D", "email": "d@e.org"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"username": ["Username already taken"]}


def test_an_invited_sign_up_refuses_a_quarantined_name_and_keeps_the_invitation(
    api, staff_user, quarantined, mailoutbox
):
    tokens = login(APIClient(), "carol")
    staff = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    with committed():
        assert staff.post("/api/invitations/", {"email": "dana@example.org"}, format="json").status_code == 201
    token = parse_qs(urlsplit(re.findall(r"https?://\S+", mailoutbox[-1].body)[0]).query)["invite"][0]
    body = {"display_name": "Dana", "email": "dana@example.org", "password": PASSWORD, "invitation": token}

    refused = api.post("/api/user/register", {**body, "username": "dana"})
    accepted = api.post("/api/user/register", {**body, "username": "dana2"})

    assert refused.status_code == 409 and refused.json()["code"] == "username_taken"
    assert accepted.status_code == 201


def test_an_expired_quarantine_frees_the_name(api, signup_body, default_tier):
    UsernameQuarantine.objects.create(username="dana", reserved_until=timezone.now() - timedelta(seconds=1))

    assert api.post("/api/user/register", signup_body).status_code == 201


def test_a_staff_deletion_of_a_provisioned_account_quarantines_its_name(user, emulator_user):
    emulator_user(user)

    assert deletion.user_delete_by_staff(user=user) == "deleted"

    assert UsernameQuarantine.objects.filter(username="alice").exists()
    assert services.username_quarantined("alice")


def test_a_rejected_sign_up_leaves_its_name_free(make_user, tasks_inline):
    applicant = make_user("erin", status=User.Status.PENDING_APPROVAL)

    services.user_reject(user=applicant)

    assert not UsernameQuarantine.objects.exists()


# --- the page ---------------------------------------------------------------------------------


def test_the_page_needs_a_member_login(db, default_tier, settings):
    response = Client().get("/account/delete/")

    assert response.status_code == 302
    assert response["Location"].startswith(f"{settings.LOGIN_URL}?next=/account/delete/")
    assert settings.LOGIN_URL == "/account/login/"


def test_the_page_shows_a_wrong_password_next_to_the_field(client, user):
    client.force_login(user)

    response = client.post("/account/delete/", {"password": "wrong wrong"})

    assert response.status_code == 400
    assert response.context["form"].errors == {"password": ["The password is not right."]}
    assert User.objects.get(pk=user.pk).deletes_at is None


def test_the_page_is_csrf_protected(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    assert client.post("/account/delete/", {"password": PASSWORD}, format="json").status_code == 403
    assert User.objects.get(pk=user.pk).deletes_at is None


def test_the_page_schedules_the_deletion_and_ends_the_session(client, user, tasks_inline, mailoutbox):
    client.force_login(user)
    assert client.get("/account/delete/").status_code == 200

    with committed():
        response = client.post("/account/delete/", {"password": PASSWORD})

    assert response.status_code == 200
    assert b"Your account will be deleted" in response.content and b"cancels the deletion" in response.content
    assert User.objects.get(pk=user.pk).deletes_at is not None
    assert len(_scheduled(mailoutbox)) == 1
    assert client.get("/account/delete/").status_code == 302  # logged out


# --- the admin --------------------------------------------------------------------------------


def test_staff_see_pending_deletions_and_cancel_one(client, make_user, user, tasks_inline, mailoutbox):
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)
    make_user("bob")
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    listed = client.get("/admin/accounts/user/", {"deletes_at__isnull": "False"})
    assert listed.status_code == 200
    assert [u.username for u in listed.context["cl"].result_list] == ["alice"]

    with committed():
        done = client.post(
            "/admin/accounts/user/", {"action": "cancel_deletions", "_selected_action": [user.pk]}, follow=True
        )

    assert done.status_code == 200
    assert User.objects.get(pk=user.pk).deletes_at is None
    assert mailoutbox[-1].subject == "Your blahaj.land account stays"
    refused = client.post(
        "/admin/accounts/user/", {"action": "cancel_deletions", "_selected_action": [user.pk]}, follow=True
    )
    assert any("no deletion pending" in str(m) for m in refused.context["messages"])


# --- staff delete: the same erasure, due now ---------------------------------------------------


def test_a_staff_delete_of_a_pending_deletion_brings_it_forward_and_tells_the_owner(
    user, staff_client, tasks_inline, mailoutbox
):
    with committed():
        deletion.user_request_deletion(user=user, password=PASSWORD)

    with committed():
        response = staff_client.delete("/api/users/alice/")

    assert response.status_code == 202
    assert not User.objects.filter(username="alice").exists()
    assert UsernameQuarantine.objects.filter(username="alice").exists()
    assert mailoutbox[-1].subject == "Your blahaj.land account was deleted"  # the owner asked
    assert staff_client.delete("/api/users/alice/").status_code == 404


def test_a_staff_delete_shuts_the_account_out_at_once_even_while_it_waits(user, tasks_inline, monkeypatch):
    old = login(APIClient(), "alice")
    holder = APIClient(HTTP_AUTHORIZATION=f"Bearer {old['access']}")
    # Something the account owns is still being removed: the finalizer waits.
    monkeypatch.setattr(deletion, "deletion_finalize", lambda *, user_id: "waiting")

    with committed():
        assert deletion.user_delete_by_staff(user=user) == "waiting"

    pending = User.objects.get(pk=user.pk)
    assert pending.deletes_at is not None and pending.deletes_at <= timezone.now()
    assert pending.deletion_requested_at is None and not pending.is_active
    assert holder.get("/api/user/me").status_code == 401
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()
    refused = APIClient().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "deletion_pending"


def test_the_admin_says_whether_the_account_is_gone_or_its_deletion_under_way(client, make_user, user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))
    bob = make_user("bob")

    single = client.post(f"/admin/accounts/user/{user.pk}/delete/", {"post": "yes"}, follow=True)
    confirm = client.post("/admin/accounts/user/", {"action": "delete_selected", "_selected_action": [bob.pk]})
    bulk = client.post(
        "/admin/accounts/user/",
        {"action": "delete_selected", "_selected_action": [bob.pk], "post": "yes"},
        follow=True,
    )

    assert "Deleted alice" in single.content.decode()
    assert confirm.status_code == 200 and b"Are you sure" in confirm.content
    assert "Deleted bob" in bulk.content.decode()
    assert not User.objects.filter(username__in=["alice", "bob"]).exists()
    assert sorted(AuditEntry.objects.filter(action="user.delete").values_list("object", "actor", "door")) == [
        ("user:alice", "root", "admin"),
        ("user:bob", "root", "admin"),
    ]


def test_staff_cancelling_a_staff_delete_does_not_mail_the_owner(user, tasks_inline, mailoutbox, monkeypatch):
    monkeypatch.setattr(deletion, "deletion_finalize", lambda *, user_id: "waiting")
    deletion.user_delete_by_staff(user=user)

    with committed():
        deletion.user_cancel_deletion_by_staff(user=User.objects.get(pk=user.pk))

    assert User.objects.get(pk=user.pk).deletes_at is None
    assert not [m for m in mailoutbox if m.subject == "Your blahaj.land account stays"]


def test_a_staff_delete_of_an_account_erased_meanwhile_is_a_404_not_a_500(user, tasks_inline):
    stale = User.objects.get(pk=user.pk)
    deletion.user_delete_by_staff(user=user)

    with pytest.raises(NotFound):
        deletion.user_delete_by_staff(user=stale)
