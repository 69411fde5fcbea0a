# The abuse defences' models move here from accounts: their tables keep their names, so this
# changes Django's state only, and the content types (with their permissions and the groups
# that hold them) follow the models.

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from blahaj.migration_helpers import content_types_mover

MODELS = ("networkblock", "emaildomainblock", "abusereport")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0018_user_email_undeliverable"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="NetworkBlock",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "network",
                            models.CharField(
                                help_text="An address or a CIDR range: 203.0.113.7, 203.0.113.0/24, 2001:db8::/32.",
                                max_length=49,
                                unique=True,
                            ),
                        ),
                        ("reason", models.CharField(blank=True, default="", help_text="For staff only.", max_length=200)),
                        ("expires_at", models.DateTimeField(blank=True, help_text="Empty: until removed.", null=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_networkblock",
                        "ordering": ["-created_at", "-id"],
                    },
                ),
                migrations.CreateModel(
                    name="EmailDomainBlock",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "domain",
                            models.CharField(
                                help_text="A domain (its subdomains too): throwaway.example. Also matched against mail servers.",
                                max_length=253,
                                unique=True,
                            ),
                        ),
                        ("reason", models.CharField(blank=True, default="", help_text="For staff only.", max_length=200)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                editable=False,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_emaildomainblock",
                        "ordering": ["domain"],
                    },
                ),
                migrations.CreateModel(
                    name="AbuseReport",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        (
                            "target",
                            models.CharField(
                                help_text="A site's address or a username, as the reporter wrote it.", max_length=253
                            ),
                        ),
                        (
                            "reason",
                            models.CharField(
                                choices=[
                                    ("spam", "Spam"),
                                    ("phishing", "Phishing or fraud"),
                                    ("malware", "Malware"),
                                    ("harassment", "Harassment or hate"),
                                    ("illegal", "Illegal content"),
                                    ("other", "Something else"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("details", models.TextField(max_length=3000)),
                        ("reply_to", models.EmailField(blank=True, default="", max_length=254)),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("resolved", "Resolved")], default="open", max_length=16
                            ),
                        ),
                        ("staff_note", models.TextField(blank=True, default="", max_length=3000)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                        ("resolved_at", models.DateTimeField(blank=True, editable=False, null=True)),
                        (
                            "assignee",
                            models.ForeignKey(
                                blank=True,
                                limit_choices_to={"is_staff": True},
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_abusereport",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["status", "-created_at"], name="abuse_report_status_created")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_mover("accounts", "defences", MODELS), content_types_mover("defences", "accounts", MODELS)
        ),
    ]
