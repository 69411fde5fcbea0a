"""The move out of accounts upgrades a database in place: rows made by the old models are read
through the new ones, the tables keep their names, and the permissions (with the groups that
hold them) follow the models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from defences import services
from defences.models import AbuseReport, EmailDomainBlock, NetworkBlock

OLD_ACCOUNTS = ("accounts", "0018_user_email_undeliverable")
BEFORE = [OLD_ACCOUNTS, ("defences", None)]  # None: none of the app's migrations
MODELS = ("networkblock", "emaildomainblock", "abusereport")


def content_types(app_label: str) -> set[str]:
    return set(ContentType.objects.filter(app_label=app_label, model__in=MODELS).values_list("model", flat=True))


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_the_rows_the_tables_and_the_permissions(user, staff_user):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    expires = timezone.now() + timedelta(days=3)
    try:
        executor.migrate(BEFORE)
        ContentType.objects.clear_cache()
        assert content_types("accounts") == set(MODELS) and content_types("defences") == set()
        old = MigrationExecutor(connection).loader.project_state([OLD_ACCOUNTS]).apps
        old.get_model("accounts", "NetworkBlock").objects.create(
            network="203.0.113.0/24", reason="bot farm", expires_at=expires, created_by_id=user.pk
        )
        old.get_model("accounts", "EmailDomainBlock").objects.create(domain="throwaway.example", created_by_id=user.pk)
        old.get_model("accounts", "AbuseReport").objects.create(
            target="phish.example", reason="phishing", details="A fake bank.", assignee_id=staff_user.pk
        )
        moderators = Group.objects.create(name="moderators")
        moderators.permissions.add(
            Permission.objects.get(content_type__app_label="accounts", codename="change_abusereport")
        )
        staff_user.groups.add(moderators)

        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()

        block = NetworkBlock.objects.get()
        assert (block.network, block.reason, block.expires_at, block.created_by) == (
            "203.0.113.0/24",
            "bot farm",
            expires,
            user,
        )
        assert services.network_blocked(ip="203.0.113.9") and not services.network_blocked(ip="198.51.100.1")
        assert EmailDomainBlock.objects.get().domain == "throwaway.example"
        report = AbuseReport.objects.get()
        assert (report.target, report.status, report.assignee) == ("phish.example", "open", staff_user)
        assert [model._meta.db_table for model in (NetworkBlock, EmailDomainBlock, AbuseReport)] == [
            "accounts_networkblock",
            "accounts_emaildomainblock",
            "accounts_abusereport",
        ]
        assert content_types("defences") == set(MODELS) and content_types("accounts") == set()
        staff = type(staff_user).objects.get(pk=staff_user.pk)  # a fresh permission cache
        assert staff.has_perm("defences.change_abusereport")
        assert not staff.has_perm("defences.delete_abusereport")

        executor = MigrationExecutor(connection)
        executor.migrate(BEFORE)  # and back: the old models read the same rows
        ContentType.objects.clear_cache()
        old = MigrationExecutor(connection).loader.project_state([OLD_ACCOUNTS]).apps
        assert old.get_model("accounts", "AbuseReport").objects.get().target == "phish.example"
        assert content_types("accounts") == set(MODELS) and content_types("defences") == set()
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()
