"""Two installed apps as this project names them, each in INSTALLED_APPS instead of the
library's own (labels, models and migrations unchanged). In a module of their own: mfa/apps.py
must hold only the mfa app's config.

- django.contrib.admin's app, with the project's admin site as the default one: the staff's
  second factor and the service's name (mfa/admin_site.py);
- django-otp-webauthn's app, under a name people read in the admin (its own is "OTP WebAuthn").
"""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.translation import gettext_lazy as _
from django_otp_webauthn.apps import OtpWebauthnConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "mfa.admin_site.AdminSite"


class WebAuthnConfig(OtpWebauthnConfig):
    verbose_name = _("Security keys")
