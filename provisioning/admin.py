from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from blahaj.admin import ReadOnlyAdmin
from blahaj.errors import ApplicationError, Conflict

from . import servers, services
from .models import Operation, OwnedObject, Server


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


class ServerForm(forms.ModelForm):
    """The YunoHost admin's credentials are typed here and stored encrypted; never shown back."""

    api_password_new = forms.CharField(
        label=gettext_lazy("API admin credentials"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy('"user:password" of the YunoHost admin the API backend logs in as; empty: unchanged.'),
    )

    class Meta:
        model = Server
        fields = ["name", *servers.EDITABLE]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].disabled = True  # the name is the lane's: its queue, its lock

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        candidate = Server(uses_settings=self.instance.uses_settings, api_password=self.instance.api_password)
        for name in servers.EDITABLE:
            setattr(candidate, name, data.get(name) or getattr(Server, name).field.get_default())
        if data.get("api_password_new"):
            candidate.api_password = data["api_password_new"]  # judged for presence only
        try:
            servers.judge(candidate)
        except ApplicationError as error:
            for field, problems in (error.fields or {}).items():
                self.add_error(field if field in self.fields else None, problems)
        return data


@admin.register(Server)
class ServerAdmin(admin.ModelAdmin):
    """The YunoHost servers: each has its own lane. Changes go through provisioning/servers.py."""

    form = ServerForm
    list_display = [
        "name",
        "main_domain",
        "backend",
        "state",
        "accounts",
        "capacity_accounts",
        "sites",
        "capacity_sites",
        "queue",
        "last_command_at",
    ]
    list_filter = ["state", "backend"]
    search_fields = ["name", "main_domain"]
    readonly_fields = ["queue", "accounts", "sites", "command_seconds", "last_command_at", "stuck_since"]
    actions = ["drain", "undrain"]

    def get_fields(self, request: HttpRequest, obj: Server | None = None) -> list[str | list[str] | tuple[str, ...]]:
        return ["name", *servers.EDITABLE, "api_password_new", *self.readonly_fields]

    def has_delete_permission(self, request: HttpRequest, obj: Server | None = None) -> bool:
        return False  # its operations and members keep naming it

    def save_model(self, request: HttpRequest, obj: Server, form: ServerForm, change: bool) -> None:
        values = {name: form.cleaned_data.get(name) for name in servers.EDITABLE}
        if form.cleaned_data.get("api_password_new"):
            values["api_password"] = form.cleaned_data["api_password_new"]
        if change:
            servers.server_update(server=obj, **values)
        else:
            obj.pk = servers.server_create(name=form.cleaned_data["name"], **values).pk

    def _set_state(self, request: HttpRequest, queryset: QuerySet[Server], state: str) -> None:
        for server in queryset:
            servers.server_set_state(server=server, state=state)
        count = queryset.count()
        self.message_user(
            request,
            ngettext("%(count)s server(s) now %(state)s.", "%(count)s server(s) now %(state)s.", count)
            % {"count": count, "state": state},
            messages.SUCCESS,
        )

    @admin.action(description=gettext_lazy("Drain: place no new member on the selected servers"))
    def drain(self, request: HttpRequest, queryset: QuerySet[Server]) -> None:
        self._set_state(request, queryset, Server.State.DRAINING)

    @admin.action(description=gettext_lazy("Undrain: the selected servers take new members again"))
    def undrain(self, request: HttpRequest, queryset: QuerySet[Server]) -> None:
        self._set_state(request, queryset, Server.State.ACTIVE)
