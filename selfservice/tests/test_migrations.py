"""The EmailChange model moved from accounts to this app, its table kept: a database made before
the move upgrades in place, its rows (pending and confirmed changes) and the permissions granted
on the model included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.models import User
from selfservice import services
from selfservice.models import EmailChange

ACCOUNTS_BEFORE = ("accounts", "0024_loginsession_moved_out")
BEFORE = [ACCOUNTS_BEFORE, ("selfservice", None)]


@pytest.mark.django_db(transaction=True)
def test_email_changes_made_before_the_move_are_read_and_used_after_it(default_tier):
    now = timezone.now()
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(ACCOUNTS_BEFORE).apps
        users = old.get_model("accounts", "User").objects
        alice = users.create(username="alice", email="alice@example.org", display_name="Alice", tier_id=default_tier.pk)
        changes = old.get_model("accounts", "EmailChange").objects
        pending = changes.create(
            user=alice,
            new_email="alice.new@example.net",
            old_email="alice@example.org",
            digest=EmailChange.digest_of("the-link-secret"),
            expires_at=now + timedelta(hours=1),
        )
        confirmed = changes.create(
            user=alice,
            new_email="alice@example.org",
            old_email="alice.before@example.org",
            expires_at=now - timedelta(days=1),
            confirmed_at=now - timedelta(days=1),
            undo_expires_at=now + timedelta(hours=2),
        )
        content_types = old.get_model("contenttypes", "ContentType").objects
        permissions = old.get_model("auth", "Permission").objects
        view = permissions.get(content_type__app_label="accounts", codename="view_emailchange")
        old.get_model("auth", "Group").objects.create(name="readers").permissions.add(view)
        # A process of the new code made the new content type already: the old one's grants
        # join its permissions.
        permissions.create(
            content_type=content_types.create(app_label="selfservice", model="emailchange"),
            codename="view_emailchange",
            name="Can view email change",
        )

        MigrationExecutor(connection).migrate(leaves)

        rows = EmailChange.objects.order_by("pk").values_list("pk", "user__username", "new_email", "old_email")
        assert list(rows) == [
            (pending.pk, "alice", "alice.new@example.net", "alice@example.org"),
            (confirmed.pk, "alice", "alice@example.org", "alice.before@example.org"),
        ]
        assert list(User.objects.get(username="alice").email_changes.order_by("pk")) == list(
            EmailChange.objects.order_by("pk")
        )
        # The pending change's link still works through the moved model and service.
        assert services.email_change_for_link(token="the-link-secret").pk == pending.pk
        assert not ContentType.objects.filter(app_label="accounts", model="emailchange").exists()
        (granted,) = Group.objects.get(name="readers").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("selfservice", "view_emailchange")
        assert sorted(
            Permission.objects.filter(content_type__app_label="selfservice").values_list("codename", flat=True)
        ) == [
            "add_emailchange",
            "change_emailchange",
            "delete_emailchange",
            "view_emailchange",
        ]
    finally:
        MigrationExecutor(connection).migrate(leaves)
