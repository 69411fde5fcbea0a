# The StaffNotice model moved from accounts to this app: its table (accounts_staffnotice) and
# rows stay where they are; only Django's state and the content type (with its permissions) move.

import django.utils.timezone
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
            _content_types_mover("accounts", "notices", ["staffnotice"]),
            _content_types_mover("notices", "accounts", ["staffnotice"]),
        ),
    ]
