"""The door of the old front end's routes is called `legacy` (it was `seed`): the choice, and
the rows already written with the old name.

Audit rows are append-only, and on PostgreSQL a trigger refuses every UPDATE (migration 0002).
This one rewrite runs with that trigger disabled, inside the migration's transaction: the
table stays locked until the commit, so no other UPDATE can slip through meanwhile, and a
failure rolls the trigger back to enabled with everything else. Backwards, `legacy` is `seed`
again.
"""

from django.db import migrations, models

DISABLE = "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_entry_append_only"
ENABLE = "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_entry_append_only"
REWRITE = "UPDATE audit_auditentry SET door = %s WHERE door = %s"


def _rename_door(old: str, new: str):
    def run(apps, schema_editor):
        postgresql = schema_editor.connection.vendor == "postgresql"
        with schema_editor.connection.cursor() as cursor:
            if postgresql:
                cursor.execute(DISABLE)
            cursor.execute(REWRITE, [new, old])
            if postgresql:
                cursor.execute(ENABLE)

    return run


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="door",
            field=models.CharField(
                choices=[
                    ("api", "API"),
                    ("legacy", "Legacy route"),
                    ("admin", "Admin"),
                    ("page", "Page"),
                    ("command", "Management command"),
                    ("task", "Task"),
                    ("lane", "YunoHost lane"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(_rename_door("seed", "legacy"), _rename_door("legacy", "seed"), elidable=False),
    ]
