# The Invitation model moved from accounts to this app: its table (accounts_invitation) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("tiers", "0004_referral_limits"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Invitation",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("email", models.EmailField(max_length=254)),
                        ("note", models.CharField(blank=True, default="", max_length=500)),
                        ("digest", models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField()),
                        ("used_at", models.DateTimeField(blank=True, null=True)),
                        ("cancelled_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "invitee",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="invitation",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "inviter",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="invitations_sent",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "referral_code",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="invitation",
                                to="tiers.referralcode",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_invitation",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [
                            models.Index(fields=["inviter", "used_at", "cancelled_at"], name="invitation_inviter_pending")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_mover("accounts", "invitations", ["invitation"]),
            content_types_mover("invitations", "accounts", ["invitation"]),
        ),
    ]
