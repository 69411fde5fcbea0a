from django.apps import AppConfig


class WebsitesConfig(AppConfig):
    name = "websites"
    default_auto_field = "django.db.models.BigAutoField"
