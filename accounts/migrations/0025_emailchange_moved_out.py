# The EmailChange model moved to the selfservice app (selfservice 0001): accounts forgets it.
# State only: its table keeps its name and rows.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0024_loginsession_moved_out"),
        ("selfservice", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="EmailChange"),
            ],
            database_operations=[],
        ),
    ]
