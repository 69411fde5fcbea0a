"""django.contrib.admin's app, with the project's admin site as the default one: the staff's
second factor (accounts/admin_mfa.py). Named in INSTALLED_APPS instead of django.contrib.admin.
In a module of its own: accounts/apps.py must hold only the accounts app's config."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "accounts.admin_mfa.AdminSite"
