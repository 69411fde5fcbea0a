"""The live-record constraint leads with (kind, name): the look-ups by name (on every server) keep
their index instead of scanning it whole, as the line grows."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0008_operation_server_required")]

    operations = [
        migrations.RemoveConstraint(model_name="ownedobject", name="owned_object_alive_unique"),
        migrations.AddConstraint(
            model_name="ownedobject",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["intended", "created"]), models.Q(("name", ""), _negated=True)),
                fields=("kind", "name", "server"),
                name="owned_object_alive_unique",
            ),
        ),
    ]
