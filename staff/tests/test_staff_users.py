"""The staff user API, /api/users/ (the HTTP contract, docs/api.md §3)."""

from __future__ import annotations

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import selectors
from accounts import yunohost as lane
from accounts.models import OneTimeToken, User
from conftest import PASSWORD, committed, login
from factories import TierFactory
from provisioning.models import Operation

USERS = "/api/users/"
SECRET_KEYS = {"password", "pending_password", "access", "refresh", "token", "tokens_valid_after"}


@pytest.fixture
def gold(db):
    return TierFactory.create(slug="gold", max_websites=5, mailbox_quota="5G")


def usernames(response) -> list[str]:
    return [row["username"] for row in response.json()["results"]]


# --- who may ------------------------------------------------------------------------------


def test_a_members_token_gets_403(auth_client):
    for response in (
        auth_client.get(USERS),
        auth_client.get(f"{USERS}alice/"),
        auth_client.post(USERS, {"username": "x"}, format="json"),
        auth_client.post(f"{USERS}alice/send-reset"),
    ):
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


def test_without_a_token_it_is_401(api_client, db):
    response = api_client.get(USERS)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_an_unknown_username_is_404(staff_client):
    response = staff_client.get(f"{USERS}nobody/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- list and retrieve -------------------------------------------------------------------


def test_the_list_is_paginated_and_never_shows_a_secret(staff_client, user, other_user):
    response = staff_client.get(USERS)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert usernames(response) == ["alice", "bob", "carol"]
    assert body["results"][0] == {
        "username": "alice",
        "display_name": "Alice",
        "email": "alice@example.org",
        "discord_username": "",
        "tier": "starter",
        "status": "active",
        "is_staff": False,
        "date_joined": body["results"][0]["date_joined"],
        "confirmed_at": None,
        "last_login": None,
        "signup_note": "",
        "terms_accepted_at": None,
        "terms_version": "",
        "deletes_at": None,
        "email_undeliverable": None,
        "server": None,
    }
    assert not SECRET_KEYS & set(body["results"][0])


def test_retrieve_takes_usernames_with_dots(staff_client, make_user):
    make_user("dana.s")

    response = staff_client.get(f"{USERS}dana.s")

    assert response.status_code == 200
    assert response.json()["username"] == "dana.s"


def test_search_looks_in_username_display_name_email_and_discord(staff_client, make_user):
    make_user("amy", display_name="Amy Pond")
    make_user("rory", email="rory@pond.example")
    make_user("clara", discord_username="pondlife")
    make_user("river")

    response = staff_client.get(USERS, {"search": "POND"})

    assert usernames(response) == ["amy", "clara", "rory"]


@pytest.mark.postgres
def test_on_postgresql_the_search_reads_a_trigram_index(make_user):
    make_user("amy", display_name="Amy Pond")
    queryset = selectors.users_matching(User.objects.all(), "POND")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'accounts_user_search_trgm'")
        (definition,) = cursor.fetchone()
        # On a few rows the planner rightly prefers a scan (of the table, or of the username
        # index for the ordering, filtering every row): forbid both, to see that the search's own
        # SQL (LIKE '%term%' on search_text) is one the trigram index serves.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    plan = queryset.explain()

    assert "gin (search_text gin_trgm_ops)" in definition
    assert "accounts_user_search_trgm" in plan, plan
    assert [user.username for user in queryset] == ["amy"]


def test_filter_by_status_and_tier_and_order(staff_client, make_user, gold):
    make_user("amy", status=User.Status.PENDING_APPROVAL)
    make_user("ben", status=User.Status.PENDING_APPROVAL, tier=gold)
    make_user("cat", tier=gold)

    assert usernames(staff_client.get(USERS, {"status": "pending_approval"})) == ["amy", "ben"]
    assert usernames(staff_client.get(USERS, {"tier": "gold"})) == ["ben", "cat"]
    assert usernames(staff_client.get(USERS, {"status": "pending_approval", "tier": "gold"})) == ["ben"]
    assert usernames(staff_client.get(USERS, {"ordering": "-username"})) == ["cat", "carol", "ben", "amy"]
    assert usernames(staff_client.get(USERS, {"ordering": "-date_joined"}))[0] == "cat"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"status": "sleeping"}, "status"), ({"tier": "nope"}, "tier"), ({"ordering": "password"}, "ordering")],
)
def test_bad_filters_are_400(staff_client, params, field):
    response = staff_client.get(USERS, params)

    assert response.status_code == 400
    assert set(response.json()["fields"]) == {field}


def test_the_query_count_does_not_grow_with_the_page(staff_client, make_user, gold, django_assert_max_num_queries):
    staff_client.get(USERS)  # the staff member's auth cache is warm from now on
    with django_assert_max_num_queries(3) as few:
        assert staff_client.get(USERS).json()["count"] == 1
    for n in range(40):
        make_user(f"user{n}", **({"tier": gold} if n % 2 else {}))

    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(staff_client.get(USERS).json()["results"]) == 41


# --- create ------------------------------------------------------------------------------


def test_create_is_the_same_as_create_user(staff_client, gold, mailoutbox, django_capture_on_commit_callbacks):
    body = {"username": "dana", "display_name": "Dana Scully", "email": "dana@example.org", "tier": "gold"}

    with django_capture_on_commit_callbacks() as callbacks:
        response = staff_client.post(USERS, body, format="json")

    assert response.status_code == 201
    assert response.json()["username"] == "dana"
    assert response.json()["tier"] == "gold"
    assert response.json()["status"] == "provisioning"
    assert not SECRET_KEYS & set(response.json())
    assert Operation.objects.get(subject="user:dana").args["mailbox_quota"] == "5G"
    assert len(callbacks) == 3  # the cached user dropped, the lane's task, the choose-your-password email


def test_create_refuses_an_unknown_tier(staff_client):
    response = staff_client.post(
        USERS,
        {"username": "dana", "display_name": "Dana", "email": "dana@example.org", "tier": "platinum"},
        format="json",
    )

    assert response.status_code == 400
    assert response.json()["error"] == "Unknown tier."


@pytest.mark.parametrize(
    ("field", "value", "code"), [("username", "alice", "username_taken"), ("email", "Alice@example.org", "email_taken")]
)
def test_create_refuses_what_is_taken_with_409(staff_client, user, field, value, code):
    body = {"username": "dana", "display_name": "Dana", "email": "dana@example.org", field: value}

    response = staff_client.post(USERS, body, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == code


def test_staff_sign_ups_are_not_held_to_the_public_limit(staff_client):
    for n in range(8):  # the public limit is 5 per hour
        body = {"username": f"user{n}", "display_name": "New", "email": f"user{n}@example.org"}
        assert staff_client.post(USERS, body, format="json").status_code == 201


# --- partial update ----------------------------------------------------------------------


def test_patch_changes_the_profile(staff_client, user):
    response = staff_client.patch(
        f"{USERS}alice/",
        {"display_name": " Alice Liddell ", "email": "ALICE@Wonderland.example", "discord_username": "Alice.L"},
        format="json",
    )

    assert response.status_code == 200
    assert {k: response.json()[k] for k in ("display_name", "email", "discord_username")} == {
        "display_name": "Alice Liddell",
        "email": "ALICE@wonderland.example",
        "discord_username": "alice.l",
    }
    user.refresh_from_db()
    assert user.display_name == "Alice Liddell"


def test_a_display_name_change_goes_to_yunohost_once_the_account_is_there(staff_client, user):
    lane.account_create(user=user)

    staff_client.patch(f"{USERS}alice/", {"display_name": "Alice Liddell"}, format="json")

    update = Operation.objects.get(subject="user:alice", kind="user.update")
    assert update.args == {"username": "alice", "fullname": "Alice Liddell"}


def test_patch_revalidates_the_email(staff_client, user, other_user):
    bad = staff_client.patch(f"{USERS}alice/", {"email": "nope"}, format="json")
    taken = staff_client.patch(f"{USERS}alice/", {"email": "BOB@example.org"}, format="json")

    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"email"}
    assert taken.status_code == 409
    assert taken.json() == {"error": "Email already in use", "code": "email_taken"}
    user.refresh_from_db()
    assert user.email == "alice@example.org"


def test_disabling_kills_every_token(staff_client, user, tokens):
    alice = APIClient(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert alice.get("/api/user/me").status_code == 200

    with committed():  # the revocation reaches every process once the change commits
        response = staff_client.patch(f"{USERS}alice/", {"status": "disabled"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "disabled"
    assert alice.get("/api/user/me").status_code == 401
    refreshed = APIClient().post("/api/user/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json() == {"error": "Token is invalid or expired.", "code": "token_not_valid"}


def test_enabling_gives_back_the_status_the_account_had(staff_client, user):
    operation = lane.account_create(user=user)
    Operation.objects.filter(pk=operation.pk).update(status=Operation.Status.SUCCEEDED)
    staff_client.patch(f"{USERS}alice/", {"status": "disabled"}, format="json")

    response = staff_client.patch(f"{USERS}alice/", {"status": "active"}, format="json")

    assert response.json()["status"] == "active"
    assert login(staff_client, "alice")["access"]


def test_enabling_an_account_whose_creation_is_still_queued_makes_it_provisioning(staff_client, user):
    lane.account_create(user=user)
    staff_client.patch(f"{USERS}alice/", {"status": "disabled"}, format="json")

    response = staff_client.patch(f"{USERS}alice/", {"status": "active"}, format="json")

    assert response.json()["status"] == "provisioning"


@pytest.mark.parametrize("target", ["provisioning", "pending_approval", "active"])
def test_other_status_changes_are_refused(staff_client, make_user, target):
    make_user("dana", status=User.Status.PENDING_CONFIRMATION)

    response = staff_client.patch(f"{USERS}dana/", {"status": target}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_status_change"
    assert User.objects.get(username="dana").status == User.Status.PENDING_CONFIRMATION


def test_put_and_username_changes_are_not_offered(staff_client, user):
    assert staff_client.put(f"{USERS}alice/", {"display_name": "X"}, format="json").status_code == 405
    response = staff_client.patch(f"{USERS}alice/", {"username": "mallory"}, format="json")
    assert response.json()["username"] == "alice"


# --- destroy and verbs --------------------------------------------------------------------


def test_destroy_queues_the_yunohost_deletion(staff_client, user):
    lane.account_create(user=user)

    response = staff_client.delete(f"{USERS}alice/")

    assert response.status_code == 202
    assert response.json() == {"status": "success"}
    assert not User.objects.filter(username="alice").exists()
    assert list(Operation.objects.filter(subject="user:alice").values_list("kind", flat=True).order_by("sequence")) == [
        "user.create",
        "user.delete",
    ]


def test_send_reset_mails_a_link(staff_client, user, mailoutbox, tasks_inline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(f"{USERS}alice/send-reset")

    assert response.status_code == 202
    assert response.json() == {"status": "success"}
    (message,) = mailoutbox
    assert message.to == ["alice@example.org"]
    assert OneTimeToken.objects.get(user=user).purpose == OneTimeToken.Purpose.RESET


def test_send_reset_refuses_a_disabled_account(staff_client, make_user):
    make_user("dana", status=User.Status.DISABLED)

    response = staff_client.post(f"{USERS}dana/send-reset")

    assert response.status_code == 409
    assert response.json()["code"] == "account_disabled"


def test_no_answer_carries_a_password(staff_client, make_user):
    from blahaj.crypto import encrypt

    make_user("dana", status=User.Status.PENDING_APPROVAL, pending_password=encrypt(PASSWORD))

    bodies = [
        staff_client.get(USERS).content,
        staff_client.get(f"{USERS}dana/").content,
        staff_client.patch(f"{USERS}dana/", {"display_name": "Dana"}, format="json").content,
        staff_client.post(f"{USERS}dana/approve").content,
    ]

    for body in bodies:
        assert b"pbkdf2" not in body and b"md5$" not in body and b"password" not in body
