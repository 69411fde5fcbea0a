from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PasswordsConfig(AppConfig):
    # An app for its French catalogue (the policy's sentences and zxcvbn's hints); no models.
    name = "passwords"
    verbose_name = _("Password policy")
