"""Staff see each deploy (its reason, commit, result and log) in the admin; nobody edits one.
A site's publication shows its webhook id and pinned host key; staff may choose its generator
(or clear the pinned key after a real change of the server's key). Its secrets never show."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from blahaj.admin import ReadOnlyAdmin

from .models import Deploy, Publication


@admin.register(Publication)
class PublicationAdmin(admin.ModelAdmin):
    list_display = ["website", "generator", "webhook_id"]
    list_filter = ["generator"]
    search_fields = ["website__domain"]
    list_select_related = ["website"]
    fields = ["website", "generator", "host_key", "webhook_id"]
    readonly_fields = ["website", "webhook_id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made with its site

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Deploy)
class DeployAdmin(ReadOnlyAdmin):
    list_display = ["id", "website", "reason", "result", "commit", "queued_at", "started_at", "finished_at"]
    list_filter = ["result", "reason"]
    search_fields = ["website__domain", "commit"]
    list_select_related = ["website"]
    fields = [
        "website",
        "reason",
        "generator",
        "commit",
        "result",
        "queued_at",
        "started_at",
        "finished_at",
        "files_sent",
        "files_removed",
        "log_tail",
    ]
