from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tiers.signals import tier_limits_changed

        from . import receivers, schema  # noqa: F401 - schema registers the schema's JWT scheme

        tier_limits_changed.connect(receivers.tier_changed, dispatch_uid="accounts.tier_changed")
