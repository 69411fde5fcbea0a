# The Invitation model moved to the invitations app (invitations 0001): accounts forgets it.
# State only: the table, accounts_invitation, is the invitations app's now.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0020_defences_moved_out"),
        ("invitations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Invitation")],
            database_operations=[],
        ),
    ]
