"""The YunoHost servers in the Django admin (/admin/provisioning/server/: the rows are the lane's)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from blahaj.errors import ApplicationError
from provisioning import servers
from provisioning.models import Server

from . import services


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
        fields = ["name", *services.EDITABLE]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["name"].disabled = True  # the name is the lane's: its queue, its lock

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        candidate = Server(uses_settings=self.instance.uses_settings, api_password=self.instance.api_password)
        for name in services.EDITABLE:
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
    """The YunoHost servers: each has its own lane. Changes go through fleet/services.py."""

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
        return ["name", *services.EDITABLE, "api_password_new", *self.readonly_fields]

    def has_delete_permission(self, request: HttpRequest, obj: Server | None = None) -> bool:
        return False  # its operations and members keep naming it

    def save_model(self, request: HttpRequest, obj: Server, form: ServerForm, change: bool) -> None:
        values = {name: form.cleaned_data.get(name) for name in services.EDITABLE}
        if form.cleaned_data.get("api_password_new"):
            values["api_password"] = form.cleaned_data["api_password_new"]
        if change:
            services.server_update(server=obj, **values)
        else:
            obj.pk = services.server_create(name=form.cleaned_data["name"], **values).pk

    def _set_state(self, request: HttpRequest, queryset: QuerySet[Server], state: str) -> None:
        for server in queryset:
            services.server_set_state(server=server, state=state)
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
