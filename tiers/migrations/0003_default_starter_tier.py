from django.db import migrations


def create_starter(apps, schema_editor):
    Tier = apps.get_model("tiers", "Tier")
    if not Tier.objects.filter(is_default=True).exists():
        Tier.objects.update_or_create(
            slug="starter",
            defaults={
                "name": "Starter",
                "max_websites": 1,
                "custom_domains": False,
                "mailbox_quota": "500M",
                "is_default": True,
                "description": "One website on a blahaj.land subdomain and a 500 MB mailbox.",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("tiers", "0002_referralcode")]

    operations = [migrations.RunPython(create_starter, migrations.RunPython.noop)]
