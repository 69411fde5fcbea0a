"""Login sessions in the admin (logins/sessions.py): read-only, with the one thing
staff do to them, end them. Ending goes through `services.session_end_by_staff`, so the
session's tokens die at once on every server process and the action is audited."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.admin import ReadOnlyAdmin
from blahaj.errors import ApplicationError

from . import services
from .models import LoginSession


@admin.register(LoginSession)
class LoginSessionAdmin(ReadOnlyAdmin):
    list_display = ["user", "kind", "client", "ip", "created_at", "last_used_at", "ended_at"]
    list_filter = ["kind", ("ended_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__username", "ip"]
    list_select_related = ["user"]
    fields = readonly_fields = (
        "public_id",
        "user",
        "kind",
        "client",
        "user_agent",
        "ip",
        "created_at",
        "last_used_at",
        "ended_at",
    )
    ordering = ["-last_used_at", "-id"]
    show_full_result_count = False
    actions = ["end_sessions"]

    def has_end_permission(self, request: HttpRequest) -> bool:
        # Whoever may change accounts may log them out (as the user list's "Log out everywhere").
        return request.user.has_perm("accounts.change_user")

    @admin.action(
        description=gettext_lazy("End these sessions (their tokens stop working at once)"), permissions=["end"]
    )
    def end_sessions(self, request: HttpRequest, queryset: QuerySet[LoginSession]) -> None:
        ended = skipped = 0
        for session in queryset.select_related("user").order_by("pk"):
            if session.ended_at is not None:
                skipped += 1
                continue
            try:
                services.session_end_by_staff(session=session)
            except ApplicationError:
                skipped += 1  # ended meanwhile
            else:
                ended += 1
        text = _("Ended %(count)s session(s).") % {"count": ended}
        self.message_user(request, text, messages.SUCCESS if ended else messages.WARNING)
        if skipped:
            self.message_user(request, _("%(count)s session(s) had already ended.") % {"count": skipped}, messages.INFO)
