import django.db.models.deletion
from django.db import migrations, models

import provisioning.models


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0007_first_server")]

    operations = [
        migrations.AlterField(
            model_name="operation",
            name="server",
            field=models.ForeignKey(
                default=provisioning.models.first_server_id,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="operations",
                to="provisioning.server",
            ),
        ),
        # An app's instance id is its server's own: "my_webapp" is the first one on every server.
        migrations.RemoveConstraint(model_name="ownedobject", name="owned_object_alive_unique"),
        migrations.AddConstraint(
            model_name="ownedobject",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state__in", ["intended", "created"]), models.Q(("name", ""), _negated=True)),
                fields=("server", "kind", "name"),
                name="owned_object_alive_unique",
            ),
        ),
    ]
