"""The site settings in the admin: one row, changed through the service (which clears the
pages' cache); never added twice, never deleted."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from . import services
from .models import SiteSettings


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    fields = ["service_name", "contact_email", "signup_text", "approval_criteria"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not SiteSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: SiteSettings | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One row: the list is the form.
        if SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).exists():
            return HttpResponseRedirect(reverse("admin:accounts_sitesettings_change", args=[SiteSettings.SINGLETON]))
        return HttpResponseRedirect(reverse("admin:accounts_sitesettings_add"))

    def save_model(self, request: HttpRequest, obj: SiteSettings, form: Any, change: bool) -> None:
        services.site_settings_save(site_settings=obj)
