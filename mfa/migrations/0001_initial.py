"""The second factor's devices move from `accounts` to this app: the models keep their tables
(accounts_authenticatorapp, accounts_recoverycodes, accounts_recoverycode), so only Django's
state changes (accounts 0019 drops them from accounts' state) and no row is touched; the
content types follow, so permissions on these models and the groups holding them stay.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import mfa.models
from blahaj.migration_helpers import content_types_mover

MODELS = ["authenticatorapp", "recoverycodes", "recoverycode"]


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuthenticatorApp",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(help_text="The human-readable name of this device.", max_length=64)),
                        ("confirmed", models.BooleanField(default=True, help_text="Is this device ready for use?")),
                        (
                            "throttling_failure_timestamp",
                            models.DateTimeField(
                                blank=True,
                                default=None,
                                help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                                null=True,
                            ),
                        ),
                        (
                            "throttling_failure_count",
                            models.PositiveIntegerField(default=0, help_text="Number of successive failed attempts."),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                auto_now_add=True,
                                help_text="The date and time when this device was initially created in the system.",
                                null=True,
                            ),
                        ),
                        (
                            "last_used_at",
                            models.DateTimeField(
                                blank=True, help_text="The most recent date and time this device was used.", null=True
                            ),
                        ),
                        ("encrypted_secret", models.TextField(default=mfa.models.new_totp_secret, editable=False)),
                        ("step", models.PositiveSmallIntegerField(default=30)),
                        ("t0", models.BigIntegerField(default=0)),
                        ("digits", models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                        ("tolerance", models.PositiveSmallIntegerField(default=1)),
                        ("drift", models.SmallIntegerField(default=0)),
                        ("last_t", models.BigIntegerField(default=-1)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="authenticator_apps",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "authenticator app",
                        "db_table": "accounts_authenticatorapp",
                        "abstract": False,
                    },
                ),
                migrations.CreateModel(
                    name="RecoveryCodes",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(help_text="The human-readable name of this device.", max_length=64)),
                        ("confirmed", models.BooleanField(default=True, help_text="Is this device ready for use?")),
                        (
                            "throttling_failure_timestamp",
                            models.DateTimeField(
                                blank=True,
                                default=None,
                                help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                                null=True,
                            ),
                        ),
                        (
                            "throttling_failure_count",
                            models.PositiveIntegerField(default=0, help_text="Number of successive failed attempts."),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                auto_now_add=True,
                                help_text="The date and time when this device was initially created in the system.",
                                null=True,
                            ),
                        ),
                        (
                            "last_used_at",
                            models.DateTimeField(
                                blank=True, help_text="The most recent date and time this device was used.", null=True
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="recovery_code_sets",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "recovery code set",
                        "db_table": "accounts_recoverycodes",
                        "abstract": False,
                    },
                ),
                migrations.CreateModel(
                    name="RecoveryCode",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("digest", models.CharField(max_length=64)),
                        ("used_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "device",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="codes",
                                to="mfa.recoverycodes",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_recoverycode",
                        "constraints": [
                            models.UniqueConstraint(fields=("device", "digest"), name="recoverycode_device_digest")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_mover("accounts", "mfa", MODELS), content_types_mover("mfa", "accounts", MODELS)),
    ]
