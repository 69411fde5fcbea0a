"""The second factor's secrets out of plain text: django-otp's TOTP devices become
AuthenticatorApp rows (the hex key encrypted, blahaj.crypto), its static devices RecoveryCodes
sets whose codes are kept as SHA-256 only; then the old rows go.

Backwards: the authenticator apps go back to django-otp's TOTP devices (their secrets decrypted,
as they were before); recovery codes cannot (only their digests exist), so each such account
has to make new ones: the command prints how many."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django_otp.util import random_hex

from blahaj import crypto


def new_totp_secret():
    # The field's default as of this migration (the model, and this function, are mfa's now:
    # mfa.models.new_totp_secret); the rows this migration writes all give their secret.
    return crypto.encrypt(random_hex(20))


def _digest(token):
    # mfa.models.recovery_code_digest, as of this migration.
    return hashlib.sha256("".join(token.split()).replace("-", "").lower().encode()).hexdigest()


def move_to_own_devices(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    StaticDevice = apps.get_model("otp_static", "StaticDevice")
    StaticToken = apps.get_model("otp_static", "StaticToken")
    AuthenticatorApp = apps.get_model("accounts", "AuthenticatorApp")
    RecoveryCodes = apps.get_model("accounts", "RecoveryCodes")
    RecoveryCode = apps.get_model("accounts", "RecoveryCode")
    for old in TOTPDevice.objects.order_by("pk").iterator():
        new = AuthenticatorApp.objects.create(
            user_id=old.user_id,
            name=old.name,
            confirmed=old.confirmed,
            encrypted_secret=crypto.encrypt(old.key),
            step=old.step,
            t0=old.t0,
            digits=old.digits,
            tolerance=old.tolerance,
            drift=old.drift,
            last_t=old.last_t,
            throttling_failure_timestamp=old.throttling_failure_timestamp,
            throttling_failure_count=old.throttling_failure_count,
            last_used_at=old.last_used_at,
        )
        AuthenticatorApp.objects.filter(pk=new.pk).update(created_at=old.created_at)
    for old in StaticDevice.objects.order_by("pk").iterator():
        new = RecoveryCodes.objects.create(
            user_id=old.user_id,
            name=old.name,
            confirmed=old.confirmed,
            throttling_failure_timestamp=old.throttling_failure_timestamp,
            throttling_failure_count=old.throttling_failure_count,
            last_used_at=old.last_used_at,
        )
        RecoveryCodes.objects.filter(pk=new.pk).update(created_at=old.created_at)
        digests = sorted(
            {_digest(token) for token in StaticToken.objects.filter(device=old).values_list("token", flat=True)}
        )
        RecoveryCode.objects.bulk_create([RecoveryCode(device=new, digest=digest) for digest in digests])
    StaticDevice.objects.all().delete()  # and their tokens (cascade)
    TOTPDevice.objects.all().delete()


def move_back(apps, schema_editor):
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    AuthenticatorApp = apps.get_model("accounts", "AuthenticatorApp")
    RecoveryCodes = apps.get_model("accounts", "RecoveryCodes")
    unreadable = 0
    for new in AuthenticatorApp.objects.order_by("pk").iterator():
        try:
            key = crypto.decrypt(new.encrypted_secret)
        except crypto.SecretUnreadable:
            unreadable += 1
            continue
        old = TOTPDevice.objects.create(
            user_id=new.user_id,
            name=new.name,
            confirmed=new.confirmed,
            key=key,
            step=new.step,
            t0=new.t0,
            digits=new.digits,
            tolerance=new.tolerance,
            drift=new.drift,
            last_t=new.last_t,
            throttling_failure_timestamp=new.throttling_failure_timestamp,
            throttling_failure_count=new.throttling_failure_count,
            last_used_at=new.last_used_at,
        )
        TOTPDevice.objects.filter(pk=old.pk).update(created_at=new.created_at)
    lost = RecoveryCodes.objects.filter(confirmed=True).values("user_id").distinct().count()
    if unreadable or lost:
        print(  # noqa: T201 - a migration's word to the operator
            f"\n  {unreadable} authenticator app(s) could not be decrypted and were dropped; the recovery "
            f"codes of {lost} account(s) are stored as digests only and were dropped: those members make "
            "new ones (or set their app up again)."
        )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0015_user_search_trigram_index"),
        # Kept installed for this migration (settings.INSTALLED_APPS): it reads their rows.
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuthenticatorApp",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
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
                ("encrypted_secret", models.TextField(default=new_totp_secret, editable=False)),
                ("step", models.PositiveSmallIntegerField(default=30)),
                ("t0", models.BigIntegerField(default=0)),
                ("digits", models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)),
                ("tolerance", models.PositiveSmallIntegerField(default=1)),
                ("drift", models.SmallIntegerField(default=0)),
                ("last_t", models.BigIntegerField(default=-1)),
                (
                    "user",
                    models.ForeignKey(
                        related_name="authenticator_apps",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "authenticator app",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="RecoveryCodes",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
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
                        related_name="recovery_code_sets",
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "recovery code set",
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="RecoveryCode",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("digest", models.CharField(max_length=64)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "device",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="codes", to="accounts.recoverycodes"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("device", "digest"), name="recoverycode_device_digest")
                ],
            },
        ),
        migrations.RunPython(move_to_own_devices, move_back),
    ]
