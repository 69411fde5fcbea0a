"""django.contrib.admin's app, with the project's admin site as the default one: the staff's
second factor (mfa/admin_site.py). Named in INSTALLED_APPS instead of django.contrib.admin.
In a module of its own: mfa/apps.py must hold only the mfa app's config."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "mfa.admin_site.AdminSite"
