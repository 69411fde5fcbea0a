"""The LoginSession model moved from accounts to this app, its table kept: a database made before
the move upgrades in place (its sessions still listed, ended ones still ended, the permissions
granted on the model kept), and downgrades back."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from logins import sessions
from logins.models import LoginSession

ACCOUNTS_BEFORE = ("accounts", "0023_legacy_routes_permission")
BEFORE = [ACCOUNTS_BEFORE, ("logins", None)]


@pytest.mark.django_db(transaction=True)
def test_sessions_made_before_the_move_are_read_after_it(user):
    laptop, phone = uuid.uuid4(), uuid.uuid4()
    ended_at = timezone.now() - timedelta(minutes=5)
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(ACCOUNTS_BEFORE).apps
        rows = old.get_model("accounts", "LoginSession").objects
        live = rows.create(
            public_id=laptop,
            user_id=user.pk,
            kind="api",
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
            client="Firefox on Linux",
        )
        ended = rows.create(public_id=phone, user_id=user.pk, kind="page", client="Safari on iOS", ended_at=ended_at)
        content_type = old.get_model("contenttypes", "ContentType").objects.get(
            app_label="accounts", model="loginsession"
        )
        view = old.get_model("auth", "Permission").objects.get(content_type=content_type, codename="view_loginsession")
        old.get_model("auth", "Group").objects.create(name="session readers").permissions.add(view)

        MigrationExecutor(connection).migrate(leaves)

        assert list(
            LoginSession.objects.order_by("pk").values_list("pk", "public_id", "kind", "ip", "client", "ended_at")
        ) == [
            (live.pk, laptop, LoginSession.Kind.API, "203.0.113.7", "Firefox on Linux", None),
            (ended.pk, phone, LoginSession.Kind.PAGE, None, "Safari on iOS", ended_at),
        ]
        assert [session.public_id for session in sessions.sessions_alive(user=user)] == [laptop]
        assert not ContentType.objects.filter(app_label="accounts", model="loginsession").exists()
        (granted,) = Group.objects.get(name="session readers").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("logins", "view_loginsession")
        user.groups.add(Group.objects.get(name="session readers"))
        assert type(user).objects.get(pk=user.pk).has_perm("logins.view_loginsession")

        # Backwards: the content type, and the grant with it, go back to accounts; the rows stay.
        MigrationExecutor(connection).migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(ACCOUNTS_BEFORE).apps
        assert old.get_model("accounts", "LoginSession").objects.count() == 2
        (granted,) = old.get_model("auth", "Group").objects.get(name="session readers").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("accounts", "view_loginsession")
    finally:
        MigrationExecutor(connection).migrate(leaves)
