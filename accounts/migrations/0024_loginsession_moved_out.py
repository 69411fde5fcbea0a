# The LoginSession model moved to the logins app (logins 0001): accounts forgets it. State only:
# its table keeps its name and rows.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0023_legacy_routes_permission"),
        ("logins", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="LoginSession"),
            ],
            database_operations=[],
        ),
    ]
