"""Staff see each deploy (its reason, commit, result and log) in the admin; nobody edits one."""

from __future__ import annotations

from django.contrib import admin

from blahaj.admin import ReadOnlyAdmin

from .models import Deploy


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
