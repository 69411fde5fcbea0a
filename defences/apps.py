from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class DefencesConfig(AppConfig):
    name = "defences"
    verbose_name = gettext_lazy("Abuse defences")
    default_auto_field = "django.db.models.BigAutoField"
