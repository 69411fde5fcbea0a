"""Every account that has, or is about to have, a YunoHost user is on the first server: the only
one there was. The others are placed when their YunoHost user is queued."""

import django.db.models.deletion
from django.db import migrations, models

ON_YUNOHOST = ("provisioning", "active", "provisioning_failed", "disabled")


def place_on_first_server(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Server = apps.get_model("provisioning", "Server")
    first = Server.objects.filter(uses_settings=True).order_by("id").first()
    if first is not None:
        placed = models.Q(status__in=ON_YUNOHOST) | models.Q(on_yunohost=True)
        User.objects.filter(placed, server__isnull=True).update(server=first)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0025_emailchange_moved_out"),
        ("provisioning", "0007_first_server"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="server",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="members",
                to="provisioning.server",
            ),
        ),
        migrations.RunPython(place_on_first_server, migrations.RunPython.noop),
    ]
