"""The SiteSettings model moved from accounts to blahaj, its table kept: a database made before
the move upgrades in place, its row and the permissions granted on the model included."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from blahaj import site
from blahaj.models import SiteSettings

BEFORE = [("accounts", "0018_user_email_undeliverable"), ("blahaj", "0001_outbox")]


@pytest.mark.django_db(transaction=True)
def test_the_settings_saved_before_the_move_are_read_after_it():
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        old.get_model("accounts", "SiteSettings").objects.create(
            pk=1, service_name="Shark Club", contact_email="help@shark.example", signup_text="*Hi*"
        )
        content_type = old.get_model("contenttypes", "ContentType").objects.get(
            app_label="accounts", model="sitesettings"
        )
        change = old.get_model("auth", "Permission").objects.get(
            content_type=content_type, codename="change_sitesettings"
        )
        old.get_model("auth", "Group").objects.create(name="editors").permissions.add(change)

        MigrationExecutor(connection).migrate(leaves)

        row = SiteSettings.objects.get()
        assert (row.pk, row.service_name, row.contact_email) == (1, "Shark Club", "help@shark.example")
        site.forget()
        assert site.current().signup_html == "<p><em>Hi</em></p>"
        (granted,) = Group.objects.get(name="editors").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("blahaj", "change_sitesettings")
    finally:
        MigrationExecutor(connection).migrate(leaves)
