# The LoginSession model moved from accounts to this app: its table (accounts_loginsession) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import uuid

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0023_legacy_routes_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LoginSession",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                        (
                            "kind",
                            models.CharField(
                                choices=[("api", "API tokens"), ("page", "Account pages")], default="api", max_length=8
                            ),
                        ),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_used_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("user_agent", models.CharField(blank=True, max_length=300)),
                        ("client", models.CharField(blank=True, max_length=60)),
                        ("ended_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="login_sessions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_loginsession",
                        "indexes": [models.Index(fields=["user", "ended_at"], name="loginsession_user_ended")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_mover("accounts", "logins", ["loginsession"]),
            content_types_mover("logins", "accounts", ["loginsession"]),
        ),
    ]
