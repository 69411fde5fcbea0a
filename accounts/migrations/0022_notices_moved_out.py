# The StaffNotice model moved to the notices app (notices 0001) and SiteSettings to blahaj
# (blahaj 0002): accounts forgets them. State only: their tables keep their names and rows.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0021_invitations_moved_out"),
        ("blahaj", "0002_site_settings"),
        ("notices", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="StaffNotice"),
                migrations.DeleteModel(name="SiteSettings"),
            ],
            database_operations=[],
        ),
    ]
