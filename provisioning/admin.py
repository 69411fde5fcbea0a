from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from blahaj.admin import ReadOnlyAdmin
from blahaj.errors import Conflict

from . import services
from .models import Operation, OwnedObject


@admin.register(Operation)
class OperationAdmin(admin.ModelAdmin):
    """The lane's log, read-only: rows change only through the runner and the retry action.

    `secret_args` is not among the fields: no page, list or export ever shows it.
    """

    list_display = ["id", "kind", "subject", "status", "attempts", "server", "user", "created_at", "finished_at"]
    list_select_related = ["user", "server"]
    list_filter = ["status", "kind", "server"]
    search_fields = ["subject"]
    ordering = ["-id"]
    # A tuple: the stubs give the two settings different list types, a tuple suits both.
    fields = readonly_fields = (
        "kind",
        "subject",
        "server",
        "sequence",
        "status",
        "attempts",
        "busy_waits",
        "user",
        "args",
        "created_at",
        "started_at",
        "heartbeat_at",
        "next_attempt_at",
        "finished_at",
        "error",
        "output",
    )
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Operation | None = None) -> bool:
        return False

    @admin.action(description=gettext_lazy("Retry the selected failed operations"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Operation]) -> None:
        retried = skipped = 0
        for operation in queryset:
            try:
                services.operation_retry(operation=operation)
                retried += 1
            except Conflict:
                skipped += 1
        if retried:
            self.message_user(
                request,
                ngettext("Queued %(count)s operation(s) again.", "Queued %(count)s operation(s) again.", retried)
                % {"count": retried},
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "Skipped %(count)s operation(s) that had not failed.",
                    "Skipped %(count)s operation(s) that had not failed.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(OwnedObject)
class OwnedObjectAdmin(ReadOnlyAdmin):
    """What the lane made on YunoHost, and so may change or remove: a domain or an app that is
    not here is someone else's."""

    list_display = ["id", "kind", "name", "domain", "state", "operation", "created_at", "updated_at"]
    list_filter = ["kind", "state"]
    search_fields = ["name", "domain"]
    ordering = ["-id"]
