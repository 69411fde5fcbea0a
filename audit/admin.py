"""The audit log in the admin: staff read, search and filter it; nobody adds, changes or
deletes a row (superusers included)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from blahaj.admin import ReadOnlyAdmin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "door", "action", "object", "ip", "result", "detail"]
    list_filter = ["door", "result", ("at", admin.DateFieldListFilter)]
    search_fields = ["actor", "action", "object", "ip"]
    date_hierarchy = "at"
    ordering = ["-at", "-id"]
    actions = None
    list_per_page = 100

    class Media:
        css = {"all": ["audit/admin.css"]}  # readable at 1280 px wide

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in AuditEntry._meta.fields]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)
