# The SiteSettings model moved from accounts to this app: its table (accounts_sitesettings) and
# row stay where they are; only Django's state and the content type (with its permissions) move.

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

    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("blahaj", "0001_outbox"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SiteSettings",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        (
                            "service_name",
                            models.CharField(default="blahaj.land", help_text="In every page and email.", max_length=60),
                        ),
                        (
                            "contact_email",
                            models.EmailField(blank=True, help_text="Shown in every page and email, if set.", max_length=254),
                        ),
                        (
                            "signup_text",
                            models.TextField(
                                blank=True,
                                help_text="Above the sign-up form. Markdown: emphasis, links, lists.",
                                max_length=3000,
                            ),
                        ),
                        (
                            "approval_criteria",
                            models.TextField(
                                blank=True,
                                help_text="Who gets an account (shown when approval is on). Markdown.",
                                max_length=3000,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_sitesettings",
                        "verbose_name": "site settings",
                        "verbose_name_plural": "site settings",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            _content_types_mover("accounts", "blahaj", ["sitesettings"]),
            _content_types_mover("blahaj", "accounts", ["sitesettings"]),
        ),
    ]
