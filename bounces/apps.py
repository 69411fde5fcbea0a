from __future__ import annotations

from django.apps import AppConfig


class BouncesConfig(AppConfig):
    name = "bounces"
    verbose_name = "Bounces and complaints"

    def ready(self) -> None:
        # Imported here, once the models are loaded: the usual place for an app's wiring.
        from anymail import signals as anymail_signals

        from . import services

        # The ESP's webhook, and no mail to such an address (the names they were connected under
        # in the accounts app).
        anymail_signals.tracking.connect(services.tracking_received, dispatch_uid="accounts.bounces.tracking")
        anymail_signals.pre_send.connect(services.before_send, dispatch_uid="accounts.bounces.pre_send")
