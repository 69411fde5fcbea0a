# The abuse defences' models now belong to the defences app (defences 0001): Django's state
# forgets them here, their tables stay as they are.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0019_mfa_moved_out"),
        ("defences", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="NetworkBlock"),
                migrations.DeleteModel(name="EmailDomainBlock"),
                migrations.DeleteModel(name="AbuseReport"),
            ],
            database_operations=[],
        ),
    ]
