"""The audit log: a row for each staff action through every door (API, admin, legacy route,
command), refusals kept although their transaction rolled back, nothing for members; the
rows are append-only, read by staff in /api/audit/ and the admin, and pruned after
AUDIT_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

import audit
from accounts import services as account_services
from accounts.models import User
from audit import services
from audit.admin import AuditEntryAdmin
from audit.models import AppendOnly, AuditEntry
from audit.tasks import prune_audit_log
from conftest import PASSWORD, login, verified_login
from tiers.models import Tier

pytestmark = pytest.mark.django_db

AUDIT = "/api/audit/"
USERS = "/admin/accounts/user/"


def rows(**filters) -> list[tuple]:
    return list(
        AuditEntry.objects.filter(**filters).order_by("id").values_list("actor", "door", "action", "object", "result")
    )


@pytest.fixture
def gold(db):
    return Tier.objects.create(slug="gold", name="Gold", max_websites=5, mailbox_quota="5G")


# --- through each door ------------------------------------------------------------------------


def test_a_staff_action_through_the_api_is_a_row_with_who_where_and_when(staff_client, user, staff_user):
    before = timezone.now()

    response = staff_client.patch(f"/api/users/{user.username}", {"status": "disabled"}, format="json")

    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="user.disable")
    assert (entry.actor, entry.actor_id, entry.door, entry.object, entry.result) == (
        "carol",
        staff_user.pk,
        "api",
        "user:alice",
        "ok",
    )
    assert entry.ip == "127.0.0.1"
    assert entry.at >= before


def test_a_staff_action_through_the_admin_is_a_row(client, make_user, user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))
    erin = make_user("erin", status=User.Status.PENDING_APPROVAL)

    response = client.post(USERS, {"action": "approve_accounts", "_selected_action": [erin.pk]}, follow=True)

    assert response.status_code == 200
    assert rows(action="user.approve") == [("root", "admin", "user.approve", "user:erin", "ok")]


def test_the_site_settings_saved_in_the_admin_are_a_row(client, make_user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))
    form = {"service_name": "Shark Club", "contact_email": "", "signup_text": "", "approval_criteria": ""}

    assert client.post("/admin/blahaj/sitesettings/add/", form).status_code == 302

    assert rows(action="site_settings.update") == [("root", "admin", "site_settings.update", "site_settings", "ok")]


def test_a_refusal_in_the_admin_is_kept_although_its_transaction_rolled_back(client, make_user, user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))

    client.post(USERS, {"action": "approve_accounts", "_selected_action": [user.pk]}, follow=True)

    entry = AuditEntry.objects.get(action="user.approve")
    assert (entry.actor, entry.door, entry.object, entry.result) == ("root", "admin", "user:alice", "refused")
    assert entry.detail.startswith("invalid_status: ")


def test_create_user_through_the_legacy_route_is_a_row_of_the_legacy_door(service_account, default_tier):
    client = APIClient()
    tokens = client.post("/login", {"username": service_account.username, "password": PASSWORD}, format="json").json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    response = client.post(
        "/create_user",
        {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org", "discord_username": ""},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert rows(action="user.create") == [("signup_frontend", "legacy", "user.create", "user:dana", "ok")]
    assert AuditEntry.objects.get(action="user.create").detail == "tier starter"


def test_a_management_command_is_its_own_actor(settings, default_tier):
    settings.DEBUG = True

    call_command("ensure_demo_staff", stdout=StringIO())
    call_command("ensure_demo_staff", stdout=StringIO())

    assert rows() == [
        ("command:ensure_demo_staff", "command", "user.create", "user:demo_staff", "ok"),
        ("command:ensure_demo_staff", "command", "user.password.set", "user:demo_staff", "ok"),
    ]
    assert AuditEntry.objects.filter(actor_id__isnull=False).count() == 0


def test_a_refused_api_action_is_a_refused_row_and_nothing_else_changed(staff_client, make_user, gold):
    make_user("erin", tier=gold)

    response = staff_client.delete("/api/tiers/gold")

    assert response.status_code == 409
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.door, entry.action, entry.object, entry.result) == (
        "carol",
        "api",
        "tier.delete",
        "tier:gold",
        "refused",
    )
    assert entry.detail.startswith("tier_in_use: 1 user is on the tier")
    assert Tier.objects.filter(slug="gold").exists()


def test_a_successful_action_rolls_back_with_its_transaction(staff_user, gold):
    with audit.scope(door=audit.Door.API, user=staff_user), pytest.raises(RuntimeError), transaction.atomic():
        account_services.user_set_roles(user=staff_user, is_staff=True, is_superuser=True)
        assert AuditEntry.objects.filter(action="user.roles.set").exists()
        raise RuntimeError("the caller's transaction fails later")

    assert not AuditEntry.objects.exists()


def test_a_nested_refusal_is_one_row_named_after_the_outer_action(staff_user, user):
    with audit.scope(door=audit.Door.API, user=staff_user), pytest.raises(Exception, match="waiting for approval"):
        account_services.user_reject(user=user)

    assert rows() == [("carol", "api", "user.reject", "user:alice", "refused")]


def test_a_member_acting_on_their_own_account_is_not_a_staff_action(auth_client, user):
    response = auth_client.post("/api/user/logout-all")

    assert response.status_code in (200, 204), response.content
    assert not AuditEntry.objects.exists()


def test_a_request_that_records_nothing_costs_no_query_for_the_log(staff_client):
    with CaptureQueriesContext(connection) as queries:
        staff_client.get("/api/operations/")

    assert not any("audit" in query["sql"] for query in queries.captured_queries)


# --- what a row never holds ----------------------------------------------------------------


def test_no_password_or_secret_ever_reaches_a_row(staff_client, user, staff_user, django_capture_on_commit_callbacks):
    secret = "a very secret new password 42!"
    with audit.scope(door=audit.Door.ADMIN, user=staff_user):
        account_services.user_set_password(user=user, password=secret)
    staff_client.post(
        "/api/users",
        {"username": "dana", "display_name": "Dana", "email": "dana@example.org"},
        format="json",
    )
    staff_client.post(f"/api/users/{user.username}/send-reset")

    assert AuditEntry.objects.count() >= 2
    dana = User.objects.get(username="dana")
    for entry in AuditEntry.objects.all():
        text = " ".join(str(value) for value in entry.__dict__.values())
        assert secret not in text
        assert PASSWORD not in text
        assert user.password not in text and dana.password not in text


# --- append-only ----------------------------------------------------------------------------


def test_a_row_is_never_changed_nor_deleted_by_the_app(staff_user):
    with audit.scope(door=audit.Door.COMMAND, actor="command:test"):
        audit.record(action="tier.create", object="tier:x")
    entry = AuditEntry.objects.get()

    entry.result = "failed"
    with pytest.raises(AppendOnly):
        entry.save()
    with pytest.raises(AppendOnly):
        entry.delete()
    with pytest.raises(AppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(result="failed")
    with pytest.raises(AppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().result == "ok"


def test_the_admin_reads_and_searches_but_nobody_adds_changes_or_deletes(client, make_user, rf):
    root = make_user("root", is_staff=True, is_superuser=True)
    verified_login(client, root)
    with audit.scope(door=audit.Door.COMMAND, actor="command:test"):
        audit.record(action="tier.delete", object="tier:gold")
        audit.record(action="user.disable", object="user:alice", result="refused")
    entry = AuditEntry.objects.get(action="tier.delete")

    listing = client.get("/admin/audit/auditentry/?q=tier%3Agold")
    filtered = client.get("/admin/audit/auditentry/?result__exact=refused")
    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")

    assert listing.status_code == 200 and list(listing.context["cl"].result_list) == [entry]
    assert [e.action for e in filtered.context["cl"].result_list] == ["user.disable"]
    assert page.status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/change/", {"result": "failed"}).status_code == 403
    assert AuditEntry.objects.count() == 2
    request = rf.get("/admin/")
    request.user = root
    model_admin = AuditEntryAdmin(AuditEntry, None)  # type: ignore[arg-type]
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, entry)
    assert not model_admin.has_delete_permission(request, entry)


# --- /api/audit/ ------------------------------------------------------------------------------


@pytest.fixture
def log(staff_user, user):
    """Rows by two actors, three actions, over two days."""
    with audit.scope(door=audit.Door.API, user=staff_user):
        audit.record(action="user.tier.set", object="user:alice", detail="tier gold")
        audit.record(action="tier.delete", object="tier:gold", result="refused", detail="tier_in_use: ...")
    with audit.scope(door=audit.Door.LANE, actor="lane"):
        audit.record(action="lane.user.create", object="user:bob")
    # A row dated yesterday, written as such (rows are never changed).
    AuditEntry.objects.create(
        at=timezone.now() - timedelta(days=1),
        actor="carol",
        actor_id=staff_user.pk,
        door="api",
        action="user.disable",
        object="user:alice",
        ip="127.0.0.1",
    )


def test_staff_read_the_log_newest_first_with_the_contracts_fields(staff_client, log):
    response = staff_client.get(AUDIT)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert set(body["results"][0]) == {"id", "at", "actor", "door", "action", "object", "ip", "result", "detail"}
    assert [row["action"] for row in body["results"]] == [
        "lane.user.create",
        "tier.delete",
        "user.tier.set",
        "user.disable",
    ]


@pytest.mark.parametrize(
    ("query", "actions"),
    [
        ("actor=lane", ["lane.user.create"]),
        ("action=user.disable", ["user.disable"]),
        ("action=user.", ["user.tier.set", "user.disable"]),
        ("object=user:alice", ["user.tier.set", "user.disable"]),
        ("result=refused", ["tier.delete"]),
        ("door=lane", ["lane.user.create"]),
        ("actor=carol&action=user.", ["user.tier.set", "user.disable"]),
    ],
)
def test_the_log_filters(staff_client, log, query, actions):
    response = staff_client.get(f"{AUDIT}?{query}")

    assert response.status_code == 200
    assert [row["action"] for row in response.json()["results"]] == actions


def test_the_door_filter_reads_the_legacy_door_by_its_former_name_too(staff_client, log, staff_user):
    with audit.scope(door=audit.Door.LEGACY, user=staff_user):
        audit.record(action="user.create", object="user:dana", detail="tier starter")

    for door in ("legacy", "seed"):
        response = staff_client.get(AUDIT, {"door": door})

        assert response.status_code == 200, response.content
        assert [(row["door"], row["object"]) for row in response.json()["results"]] == [("legacy", "user:dana")]
    assert staff_client.get(AUDIT, {"door": "front"}).status_code == 400


def test_since_takes_an_iso_instant(staff_client, log):
    since = (timezone.now() - timedelta(hours=1)).isoformat()

    response = staff_client.get(AUDIT, {"since": since})

    assert [row["action"] for row in response.json()["results"]] == ["lane.user.create", "tier.delete", "user.tier.set"]


def test_a_bad_since_or_an_unknown_parameter_is_a_400_envelope(staff_client, log):
    bad = staff_client.get(AUDIT, {"since": "yesterday"})
    blank = staff_client.get(f"{AUDIT}?since=")
    unknown = staff_client.get(AUDIT, {"who": "carol"})

    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "since" in bad.json()["fields"]
    assert blank.status_code == 400 and "since" in blank.json()["fields"]
    assert unknown.status_code == 400 and "who" in unknown.json()["fields"]


def test_the_log_is_paginated(staff_client, settings, staff_user):
    with audit.scope(door=audit.Door.COMMAND, actor="command:test"):
        for number in range(55):
            audit.record(action="tier.create", object=f"tier:t{number}")

    first = staff_client.get(AUDIT).json()
    second = staff_client.get(AUDIT, {"page": 2}).json()

    assert first["count"] == 55 and len(first["results"]) == 50 and first["next"]
    assert len(second["results"]) == 5 and second["previous"]


def test_members_are_refused_and_anonymous_callers_must_sign_in(auth_client, log):
    assert auth_client.get(AUDIT).status_code == 403
    assert APIClient().get(AUDIT).status_code == 401


def test_one_row_is_read_by_id(staff_client, log):
    entry = AuditEntry.objects.get(action="tier.delete")

    response = staff_client.get(f"{AUDIT}{entry.pk}")

    assert response.status_code == 200
    assert response.json()["object"] == "tier:gold"


# --- pruning ----------------------------------------------------------------------------------


def _row_at(at) -> None:
    AuditEntry.objects.create(at=at, actor="system", door="task", action="tier.create", object="tier:x")


def test_the_beat_task_prunes_rows_older_than_the_retention_in_batches(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    for days in (400, 31, 31, 31, 29, 0):
        _row_at(now - timedelta(days=days))

    assert services.audit_prune(batch=2) == 4
    prune_audit_log.apply()

    assert sorted((now - at).days for at in AuditEntry.objects.values_list("at", flat=True)) == [0, 29]


@pytest.mark.postgres
def test_postgresql_refuses_changes_that_go_around_the_model(settings):
    settings.AUDIT_RETENTION_DAYS = 30
    now = timezone.now()
    _row_at(now - timedelta(days=40))
    _row_at(now)
    fresh = AuditEntry.objects.order_by("id").reverse()[0]
    assert AuditEntry._meta.db_table == "audit_auditentry"

    attempts: list[tuple[str, list[str | int]]] = [
        ("UPDATE audit_auditentry SET actor = %s WHERE id = %s", ["mallory", fresh.pk]),
        ("DELETE FROM audit_auditentry WHERE id = %s", [fresh.pk]),
        ("DELETE FROM audit_auditentry", []),  # the old row too: nothing was permitted
    ]
    for sql, params in attempts:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
            c.execute(sql, params)
    # The prune's permit reaches back to its cutoff only: a fresh row stays.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as c:
        c.execute("SELECT set_config('blahaj.audit_prune_before', %s, true)", [(now - timedelta(days=30)).isoformat()])
        c.execute("DELETE FROM audit_auditentry")
    assert AuditEntry.objects.count() == 2
    assert AuditEntry.objects.get(pk=fresh.pk).actor == "system"

    assert services.audit_prune() == 1  # the one way out still works
    with connection.cursor() as c:  # and its permit ended with its DELETE
        c.execute("SELECT current_setting('blahaj.audit_prune_before', true)")
        assert c.fetchone()[0] in (None, "")
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_the_prune_is_on_the_beat_schedule(settings):
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "audit.tasks.prune_audit_log" in schedule
    assert settings.AUDIT_RETENTION_DAYS == 365


def test_login_tokens_of_a_staff_member_carry_the_actor(api_client, staff_user, user):
    access = login(api_client, staff_user.username)["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")

    api_client.post(f"/api/users/{user.username}/send-reset")

    assert rows(action="user.password_reset.send") == [("carol", "api", "user.password_reset.send", "user:alice", "ok")]
