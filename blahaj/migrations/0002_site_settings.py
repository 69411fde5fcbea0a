# The SiteSettings model moved from accounts to this app: its table (accounts_sitesettings) and
# row stay where they are; only Django's state and the content type (with its permissions) move.

from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover


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
            content_types_mover("accounts", "blahaj", ["sitesettings"]),
            content_types_mover("blahaj", "accounts", ["sitesettings"]),
        ),
    ]
