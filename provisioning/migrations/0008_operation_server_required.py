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
    ]
