# The StaffNotice model moved from accounts to this app: its table (accounts_staffnotice) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import django.utils.timezone
from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="StaffNotice",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("pending_request", "Sign-up waiting for approval"),
                                    ("provisioning_failed", "Provisioning failed"),
                                    ("email_undeliverable", "Email address undeliverable"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("text", models.CharField(max_length=1000)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("sent_at", models.DateTimeField(blank=True, db_index=True, null=True)),
                    ],
                    options={
                        "db_table": "accounts_staffnotice",
                        "ordering": ["created_at", "id"],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_mover("accounts", "notices", ["staffnotice"]),
            content_types_mover("notices", "accounts", ["staffnotice"]),
        ),
    ]
