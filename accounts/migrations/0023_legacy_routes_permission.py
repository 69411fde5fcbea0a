"""The permission that opens /create_user is called `create_user_via_legacy_routes` (it was
`create_user_via_seed`): the model's option, and the Permission row itself, renamed in place so
that every grant (to an account, or to a group) keeps holding it.

Should both rows exist (a `migrate` to an earlier state made the new one from today's models),
the grants of the old row move to the new one and the old row goes. Backwards, the same the
other way round.
"""

from django.db import migrations

OLD = "create_user_via_seed"
NEW = "create_user_via_legacy_routes"


def _rename_permission(old: str, new: str):
    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        Permission = apps.get_model("auth", "Permission")
        user_type = ContentType.objects.filter(app_label="accounts", model="user").first()
        if user_type is None:
            return  # a new database: the permission is made after the migrations, with its new name
        current = Permission.objects.filter(content_type=user_type, codename=old).first()
        if current is None:
            return
        target = Permission.objects.filter(content_type=user_type, codename=new).first()
        if target is None:
            current.codename = new
            current.save(update_fields=["codename"])
            return
        Group = apps.get_model("auth", "Group")
        User = apps.get_model("accounts", "User")
        for through, owner in ((Group.permissions.through, "group_id"), (User.user_permissions.through, "user_id")):
            held = set(through.objects.filter(permission=target).values_list(owner, flat=True))
            through.objects.bulk_create(
                through(**{owner: owner_id, "permission_id": target.pk})
                for owner_id in through.objects.filter(permission=current).values_list(owner, flat=True)
                if owner_id not in held
            )
        current.delete()

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0022_notices_moved_out"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="user",
            options={"ordering": ["username"], "permissions": [(NEW, "Can call /create_user")]},
        ),
        migrations.RunPython(_rename_permission(OLD, NEW), _rename_permission(NEW, OLD), elidable=False),
    ]
