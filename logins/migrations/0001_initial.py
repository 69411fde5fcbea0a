# The LoginSession model moved from accounts to this app: its table (accounts_loginsession) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import uuid

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

    return move


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
            _content_types_mover("accounts", "logins", ["loginsession"]),
            _content_types_mover("logins", "accounts", ["loginsession"]),
        ),
    ]
