"""The Invitation model moved from accounts to this app, its table kept: a database made before
the move upgrades in place, its rows and the permissions granted on the model included."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from invitations.models import Invitation
from tiers.models import ReferralCode

ACCOUNTS_BEFORE = ("accounts", "0018_user_email_undeliverable")
BEFORE = [ACCOUNTS_BEFORE, ("invitations", None)]


@pytest.mark.django_db(transaction=True)
def test_an_invitation_made_before_the_move_is_read_after_it(user):
    code = ReferralCode.objects.create(code="INVITE-DANA", owner=user, max_uses=1, skips_approval=True)
    expires_at = timezone.now() + timedelta(days=14)
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(ACCOUNTS_BEFORE).apps
        made = old.get_model("accounts", "Invitation").objects.create(
            email="dana@example.org",
            note="Welcome!",
            inviter_id=user.pk,
            referral_code_id=code.pk,
            digest="d" * 64,
            expires_at=expires_at,
        )
        content_type = old.get_model("contenttypes", "ContentType").objects.get(
            app_label="accounts", model="invitation"
        )
        view = old.get_model("auth", "Permission").objects.get(content_type=content_type, codename="view_invitation")
        old.get_model("auth", "Group").objects.create(name="inviters").permissions.add(view)

        MigrationExecutor(connection).migrate(leaves)

        invitation = Invitation.objects.get()
        assert (invitation.pk, invitation.email, invitation.note, invitation.digest) == (
            made.pk,
            "dana@example.org",
            "Welcome!",
            "d" * 64,
        )
        assert invitation.inviter == user and invitation.referral_code == code and invitation.state == "pending"
        (granted,) = Group.objects.get(name="inviters").permissions.all()
        assert (granted.content_type.app_label, granted.codename) == ("invitations", "view_invitation")
        user.groups.add(Group.objects.get(name="inviters"))
        assert type(user).objects.get(pk=user.pk).has_perm("invitations.view_invitation")
    finally:
        MigrationExecutor(connection).migrate(leaves)
