from django.apps import AppConfig


class DefencesConfig(AppConfig):
    name = "defences"
    verbose_name = "Abuse defences"
    default_auto_field = "django.db.models.BigAutoField"
