from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TiersConfig(AppConfig):
    name = "tiers"
    verbose_name = _("Tiers and referrals")
    default_auto_field = "django.db.models.BigAutoField"
