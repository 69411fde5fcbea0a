"""The StaffNotice model moved from accounts to this app, its table kept: a database made before
the move upgrades in place, its rows and the permissions granted on the model included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from notices.models import StaffNotice

ACCOUNTS_BEFORE = ("accounts", "0018_user_email_undeliverable")
BEFORE = [ACCOUNTS_BEFORE, ("notices", None)]


@pytest.mark.django_db(transaction=True)
def test_notices_made_before_the_move_are_read_after_it():
    sent_at = timezone.now()
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(ACCOUNTS_BEFORE).apps
        notices = old.get_model("accounts", "StaffNotice").objects
        waiting = notices.create(kind="pending_request", text="dana waits for approval.")
        sent = notices.create(kind="email_undeliverable", text="alice bounced.", sent_at=sent_at)
        content_types = old.get_model("contenttypes", "ContentType").objects
        permissions = old.get_model("auth", "Permission").objects
        view = permissions.get(content_type__app_label="accounts", codename="view_staffnotice")
        old.get_model("auth", "Group").objects.create(name="readers").permissions.add(view)
        # A process of the new code made the new content type already: the old one's grants
        # join its permissions.
        permissions.create(
            content_type=content_types.create(app_label="notices", model="staffnotice"),
            codename="view_staffnotice",
            name="Can view staff notice",
        )

        MigrationExecutor(connection).migrate(leaves)

        assert list(StaffNotice.objects.values_list("pk", "kind", "text", "sent_at")) == [
            (waiting.pk, StaffNotice.Kind.PENDING_REQUEST, "dana waits for approval.", None),
            (sent.pk, StaffNotice.Kind.EMAIL_UNDELIVERABLE, "alice bounced.", sent_at),
        ]
        assert not ContentType.objects.filter(app_label="accounts", model="staffnotice").exists()
        (granted,) = Group.objects.get(name="readers").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("notices", "view_staffnotice")
        assert sorted(
            Permission.objects.filter(content_type__app_label="notices").values_list("codename", flat=True)
        ) == [
            "add_staffnotice",
            "change_staffnotice",
            "delete_staffnotice",
            "view_staffnotice",
        ]
    finally:
        MigrationExecutor(connection).migrate(leaves)
