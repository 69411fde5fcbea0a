"""The YunoHost server of the settings becomes the first `Server` row: its connection fields stay
empty, so they keep following the YUNOHOST_* settings (and the env file) as before. Every
operation and every record of what the lane made is on it; the operations still waiting take
their numbers in its line, in the order they were queued."""

from django.conf import settings
from django.db import migrations

ALIVE = ("intended", "created")
BATCH = 1000


def first_server(apps, schema_editor):
    Server = apps.get_model("provisioning", "Server")
    Operation = apps.get_model("provisioning", "Operation")
    OwnedObject = apps.get_model("provisioning", "OwnedObject")
    server, _ = Server.objects.get_or_create(
        name=settings.YUNOHOST_SERVER_NAME, defaults={"queue": "yunohost", "uses_settings": True}
    )
    Operation.objects.filter(server__isnull=True).update(server=server)
    OwnedObject.objects.filter(server__isnull=True).update(server=server)
    waiting = list(
        Operation.objects.filter(server=server, status__in=("pending", "running"), ticket__isnull=True)
        .order_by("id")
        .values_list("id", "status", "attempts", "busy_waits")
    )
    ticket = server.tickets
    rows = []
    for pk, status, attempts, busy_waits in waiting:
        ticket += 1
        never_ran = status == "pending" and attempts == 0 and busy_waits == 0
        rows.append(Operation(pk=pk, ticket=ticket, in_line=never_ran))
    Operation.objects.bulk_update(rows, ["ticket", "in_line"], batch_size=BATCH)
    alive = OwnedObject.objects.filter(server=server, state__in=ALIVE)
    server.tickets = ticket
    server.accounts = alive.filter(kind="user").count()
    server.sites = alive.filter(kind="app").count()
    server.save(update_fields=["tickets", "accounts", "sites"])


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0006_server")]

    operations = [migrations.RunPython(first_server, migrations.RunPython.noop)]
