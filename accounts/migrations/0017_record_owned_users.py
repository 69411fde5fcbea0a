"""Accounts made before the lane recorded the YunoHost users it makes get their records, so
their password changes, quota updates and deletions keep working.

The rule (docs/yunohost.md §11.4): an account on YunoHost owns its user when its `user.create`
succeeded having made it, that is unless its first and only attempt found the user there already
("already existed": an admin's user, taken over), or when it has no `user.create` at all (staff
imported it with `manage.py yunohost_import`). A `user.create` still waiting or running gets the
record its own attempt would have written. A taken-over user gets no record: the account's next
step on YunoHost is refused and staff see it.
"""

from django.db import migrations

ALIVE = ("intended", "created")


def record(apps, schema_editor):
    User = apps.get_model("accounts", "User")
    Operation = apps.get_model("provisioning", "Operation")
    OwnedObject = apps.get_model("provisioning", "OwnedObject")
    owned = set(OwnedObject.objects.filter(kind="user", state__in=ALIVE).values_list("name", flat=True))
    new = []
    for username in User.objects.filter(on_yunohost=True).values_list("username", flat=True).iterator():
        created = (
            Operation.objects.filter(kind="user.create", subject=f"user:{username}", status="succeeded")
            .order_by("-sequence")
            .first()
        )
        if created is not None and "already existed" in created.output and created.attempts <= 1:
            continue
        if username not in owned:
            owned.add(username)
            new.append(OwnedObject(kind="user", name=username, domain="", state="created", operation=created))
    waiting = Operation.objects.filter(kind="user.create", status__in=("pending", "running")).order_by("sequence")
    for operation in waiting.iterator():
        username = str((operation.args or {}).get("username", ""))
        if username and username not in owned:
            owned.add(username)
            new.append(OwnedObject(kind="user", name=username, domain="", state="intended", operation=operation))
    OwnedObject.objects.bulk_create(new, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0016_mfa_devices_encrypted"),
        ("provisioning", "0005_owned_object_user"),
    ]

    operations = [migrations.RunPython(record, migrations.RunPython.noop)]
