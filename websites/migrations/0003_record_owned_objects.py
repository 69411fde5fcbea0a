"""Sites made before the lane recorded what it makes get their records, so they keep working.

The rule (docs/yunohost.md §11): a site on YunoHost (provisioning, live, failed or deleting)
owns its domain when its `domain.add` succeeded having made it, that is unless its first and
only attempt found the domain there already ("already existed"); it then also owns the app it
recorded (`app_id`). A site whose domain was there before it (an admin's, taken over) gets no
record: its next step on YunoHost is refused and staff see it.
"""

from django.db import migrations

ON_YUNOHOST = ("provisioning", "live", "failed", "deleting")


def record(apps, schema_editor):
    Website = apps.get_model("websites", "Website")
    Operation = apps.get_model("provisioning", "Operation")
    OwnedObject = apps.get_model("provisioning", "OwnedObject")
    alive = ("intended", "created")
    for site in Website.objects.filter(status__in=ON_YUNOHOST).order_by("id"):
        added = (
            Operation.objects.filter(kind="domain.add", status="succeeded", args__website_id=site.pk)
            .order_by("-sequence")
            .first()
        )
        if added is None or ("already existed" in added.output and added.attempts <= 1):
            continue
        if not OwnedObject.objects.filter(kind="domain", name=site.domain, state__in=alive).exists():
            OwnedObject.objects.create(
                kind="domain", name=site.domain, domain=site.domain, state="created", operation=added
            )
        if site.app_id and not OwnedObject.objects.filter(kind="app", name=site.app_id, state__in=alive).exists():
            OwnedObject.objects.create(
                kind="app", name=site.app_id, domain=site.domain, state="created", operation=added
            )


class Migration(migrations.Migration):
    dependencies = [
        ("websites", "0002_website_suspension"),
        ("provisioning", "0004_owned_object"),
    ]

    operations = [migrations.RunPython(record, migrations.RunPython.noop)]
