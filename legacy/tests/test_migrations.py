"""The legacy routes' new names upgrade a database in place: the permission that opens
/create_user keeps every grant under its new codename, and the audit rows written through the
old front end's routes say `legacy` instead of `seed`. Each migration is run on rows made in the
state before it, then backwards."""

from __future__ import annotations

import importlib

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Q

from accounts.models import User
from audit.models import AuditEntry

renaming = importlib.import_module("accounts.migrations.0023_legacy_routes_permission")
OLD, NEW = "create_user_via_seed", "create_user_via_legacy_routes"
PERMISSION = [("accounts", "0023_legacy_routes_permission")]
# The state just before it, whatever number the accounts migration before it has.
BEFORE_PERMISSION = [dependency for dependency in renaming.Migration.dependencies if dependency[0] == "accounts"]
DOOR, BEFORE_DOOR = [("audit", "0003_legacy_door")], [("audit", "0002_append_only_trigger")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def _held(username: str) -> list[str]:
    """The create-user codenames the account holds, itself or through a group. Read through the
    permission table: between migrations the User model of today may have columns the table
    does not have yet."""
    grants = Permission.objects.filter(codename__in=[OLD, NEW])
    return sorted(
        set(
            grants.filter(Q(user__username=username) | Q(group__user__username=username)).values_list(
                "codename", flat=True
            )
        )
    )


def _codenames(holder) -> list[str]:
    return sorted(holder.permissions.values_list("codename", flat=True))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("both_rows", [False, True], ids=["renamed", "merged into a new row made meanwhile"])
def test_every_grant_of_the_create_user_permission_survives_its_new_name(make_user, both_rows):
    direct, member = make_user("frontend"), make_user("member")
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = _migrate(BEFORE_PERMISSION).loader.project_state(BEFORE_PERMISSION).apps
        HistoricalPermission = old_apps.get_model("auth", "Permission")
        HistoricalUser = old_apps.get_model("accounts", "User")
        old = HistoricalPermission.objects.get(content_type__app_label="accounts", codename=OLD)
        assert not HistoricalPermission.objects.filter(codename=NEW).exists()
        HistoricalUser.objects.get(pk=direct.pk).user_permissions.add(old)
        group = old_apps.get_model("auth", "Group").objects.create(name="front ends")
        group.permissions.add(old)
        HistoricalUser.objects.get(pk=member.pk).groups.add(group)
        if both_rows:  # as post_migrate makes it from today's models after a migrate backwards
            new = HistoricalPermission.objects.create(
                content_type_id=old.content_type_id, codename=NEW, name="Can call /create_user"
            )
            HistoricalUser.objects.get(pk=direct.pk).user_permissions.add(new)

        _migrate(PERMISSION)

        assert list(Permission.objects.filter(codename__in=[OLD, NEW]).values_list("codename", flat=True)) == [NEW]
        for username in ("frontend", "member"):
            assert _held(username) == [NEW], username
        assert list(Permission.objects.filter(user__username="frontend").values_list("codename", flat=True)) == [NEW]
        assert _codenames(Group.objects.get(name="front ends")) == [NEW]

        _migrate(BEFORE_PERMISSION)  # backwards: the old name, the same grants

        assert list(Permission.objects.filter(codename__in=[OLD, NEW]).values_list("codename", flat=True)) == [OLD]
        assert _codenames(Group.objects.get(name="front ends")) == [OLD]
        assert list(Permission.objects.filter(user__username="frontend").values_list("codename", flat=True)) == [OLD]
    finally:
        _migrate(leaves)
    assert User.objects.get(username="member").has_perm(f"accounts.{NEW}")


@pytest.mark.django_db(transaction=True)
def test_audit_rows_of_the_seed_door_say_legacy_and_stay_append_only():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        old_apps = _migrate(BEFORE_DOOR).loader.project_state(BEFORE_DOOR).apps
        Entry = old_apps.get_model("audit", "AuditEntry")
        for actor, door in (("signup_frontend", "seed"), ("carol", "api"), ("command:reconcile", "command")):
            Entry.objects.create(actor=actor, door=door, action="user.create", object=f"user:{actor}")

        _migrate(DOOR)

        doors = dict(AuditEntry.objects.values_list("actor", "door"))
        assert doors == {"signup_frontend": "legacy", "carol": "api", "command:reconcile": "command"}
        if connection.vendor == "postgresql":  # the trigger is back: no other UPDATE passes
            with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cur:
                cur.execute("UPDATE audit_auditentry SET door = 'api' WHERE door = 'legacy'")

        _migrate(BEFORE_DOOR)  # backwards: `seed` again

        assert dict(AuditEntry.objects.values_list("actor", "door"))["signup_frontend"] == "seed"
    finally:
        _migrate(leaves)
    assert dict(AuditEntry.objects.values_list("actor", "door"))["signup_frontend"] == "legacy"
