# The EmailChange model moved from accounts to this app: its table (accounts_emailchange) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def _content_types_mover(from_label, to_label, models):
    """A RunPython function: the content types of `models` move from `from_label` to `to_label`,
    so that permissions, group grants and the admin's log follow the model (rows keep their ids)."""

    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        Permission = apps.get_model("auth", "Permission")
        db = schema_editor.connection.alias
        for model in models:
            old = ContentType.objects.using(db).filter(app_label=from_label, model=model).first()
            if old is None:
                continue  # a fresh database: post_migrate creates the new one
            new = ContentType.objects.using(db).filter(app_label=to_label, model=model).first()
            if new is None:
                old.app_label = to_label
                old.save(update_fields=["app_label"])
                continue
            # Both exist: the old one's permissions, with their grants, join the new one.
            for permission in Permission.objects.using(db).filter(content_type=old):
                twin = Permission.objects.using(db).filter(content_type=new, codename=permission.codename).first()
                if twin is None:
                    permission.content_type = new
                    permission.save(update_fields=["content_type"])
                    continue
                twin.group_set.add(*permission.group_set.all())
                twin.user_set.add(*permission.user_set.all())
                permission.delete()
            old.delete()
        ContentType.objects.clear_cache()

    return move


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
            _content_types_mover("accounts", "selfservice", ["emailchange"]),
            _content_types_mover("selfservice", "accounts", ["emailchange"]),
        ),
    ]
