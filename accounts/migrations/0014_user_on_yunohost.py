from django.db import migrations, models


def mark_yunohost_users(apps, schema_editor):
    """Accounts that already have a YunoHost user: a succeeded `user create` of theirs, or
    imported from YunoHost (active, with no password of ours). Staff made with createsuperuser
    and service accounts have neither: their local hash keeps deciding."""
    User = apps.get_model("accounts", "User")
    Operation = apps.get_model("provisioning", "Operation")
    created = Operation.objects.filter(kind="user.create", status="succeeded").values_list("subject", flat=True)
    names = sorted({subject.removeprefix("user:") for subject in created})
    people = User.objects.filter(is_service_account=False)
    people.filter(status="active", password__startswith="!").update(on_yunohost=True)  # noqa: S106 - Django's unusable-password marker, no secret
    for start in range(0, len(names), 500):
        people.filter(username__in=names[start : start + 500]).update(on_yunohost=True)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_mfa_service_account"),
        ("provisioning", "0003_website_suspension"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="on_yunohost",
            field=models.BooleanField(default=False, editable=False, verbose_name="has a YunoHost user"),
        ),
        migrations.RunPython(mark_yunohost_users, migrations.RunPython.noop),
    ]
