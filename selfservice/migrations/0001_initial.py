# The EmailChange model moved from accounts to this app: its table (accounts_emailchange) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("accounts", "0024_loginsession_moved_out"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="EmailChange",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("new_email", models.EmailField(max_length=254)),
                        ("old_email", models.EmailField(max_length=254)),
                        ("digest", models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("expires_at", models.DateTimeField()),
                        ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                        ("undo_digest", models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
                        ("undo_expires_at", models.DateTimeField(blank=True, null=True)),
                        ("undone_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="email_changes",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_emailchange",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_mover("accounts", "selfservice", ["emailchange"]),
            content_types_mover("selfservice", "accounts", ["emailchange"]),
        ),
    ]
