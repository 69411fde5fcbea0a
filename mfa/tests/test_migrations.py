"""The second factor's devices moving from `accounts` to `mfa` (mfa 0001, accounts 0019): a
database made before the move keeps its rows, now read through mfa's models, and the permissions
on them (with the groups holding them) follow the content types."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from blahaj import crypto
from mfa import devices
from mfa.models import AuthenticatorApp, RecoveryCode, RecoveryCodes, recovery_code_digest

BEFORE = [("accounts", "0018_user_email_undeliverable"), ("mfa", None)]  # mfa's migrations unapplied
BEFORE_STATE = [("accounts", "0018_user_email_undeliverable")]
SECRET = "31323334353637383930313233343536373839"


@pytest.mark.django_db(transaction=True)
def test_rows_made_before_the_move_are_read_through_mfa_and_keep_their_grants(user):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE_STATE).apps
        old_app = old.get_model("accounts", "AuthenticatorApp").objects.create(
            user_id=user.pk, name="Phone", confirmed=True, encrypted_secret=crypto.encrypt(SECRET), last_t=7
        )
        old_codes = old.get_model("accounts", "RecoveryCodes").objects.create(
            user_id=user.pk, name="Recovery codes", confirmed=True
        )
        old.get_model("accounts", "RecoveryCode").objects.create(
            device=old_codes, digest=recovery_code_digest("abcd-efgh-ijkl-mnop")
        )
        # What an existing database has: the content types and permissions under `accounts`,
        # and a group granted one of them.
        content_type, _ = old.get_model("contenttypes", "ContentType").objects.get_or_create(
            app_label="accounts", model="authenticatorapp"
        )
        view, _ = old.get_model("auth", "Permission").objects.get_or_create(
            content_type=content_type, codename="view_authenticatorapp", defaults={"name": "Can view authenticator app"}
        )
        old.get_model("auth", "Group").objects.create(name="second-factor desk").permissions.add(view)

        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()

        app = AuthenticatorApp.objects.get()
        assert (app.pk, app.user_id, app.name, app.confirmed, app.last_t) == (old_app.pk, user.pk, "Phone", True, 7)
        assert app.bin_key.hex() == SECRET
        codes = RecoveryCodes.objects.get()
        assert codes.pk == old_codes.pk and codes.codes.count() == 1
        assert RecoveryCode.objects.get().device_id == old_codes.pk
        assert devices.has_second_factor(user) and devices.confirmed_totp(user) == app
        assert devices.check_code(user, "ABCD EFGH IJKL MNOP") == codes  # the code still works, once

        moved = ContentType.objects.get_for_model(AuthenticatorApp)
        assert (moved.pk, moved.app_label) == (content_type.pk, "mfa")
        assert not ContentType.objects.filter(app_label="accounts", model="authenticatorapp").exists()
        granted = Permission.objects.get(pk=view.pk)
        assert granted.content_type_id == moved.pk
        assert Group.objects.get(name="second-factor desk").permissions.get() == granted
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()


@pytest.mark.django_db(transaction=True)
def test_the_move_goes_back_too(user):
    executor = MigrationExecutor(connection)
    leaves = executor.loader.graph.leaf_nodes()
    app = AuthenticatorApp.objects.create(user=user, name="Phone", confirmed=True)
    content_type = ContentType.objects.get_for_model(AuthenticatorApp)
    try:
        executor.migrate(BEFORE)
        old = executor.loader.project_state(BEFORE_STATE).apps

        assert old.get_model("accounts", "AuthenticatorApp").objects.get().pk == app.pk
        back = old.get_model("contenttypes", "ContentType").objects.get(pk=content_type.pk)
        assert back.app_label == "accounts"
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(leaves)
        ContentType.objects.clear_cache()
    assert ContentType.objects.get(pk=content_type.pk).app_label == "mfa"
    assert AuthenticatorApp.objects.get().pk == app.pk
