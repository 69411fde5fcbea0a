from django.apps import AppConfig


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = "Tiers and referrals"
    default_auto_field = "django.db.models.BigAutoField"
