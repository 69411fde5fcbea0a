"""Invitations in the admin: send one (the add form), see them, cancel them. Every write goes
through invitations.services, like the API's: the form only asks whether the service would
accept its input."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.errors import ApplicationError
from tiers.models import Tier

from . import services
from .models import Invitation


class InvitationForm(forms.ModelForm):
    tier = forms.ModelChoiceField(
        Tier.objects.all(),
        required=False,
        label=gettext_lazy("Tier"),
        help_text=gettext_lazy("Empty: the default tier."),
    )

    class Meta:
        model = Invitation
        fields = ["email", "note"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            services.invitation_create_check(**self.service_arguments())
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
        return data

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "inviter": self.request_user,  # type: ignore[attr-defined]  # set by InvitationAdmin.get_form
            "email": data["email"],
            "note": data.get("note", ""),
            "tier": data.get("tier"),
        }


# The states in words (an invitation's `state` is a value the API answers as is).
STATE_LABELS = {
    "pending": gettext_lazy("pending"),
    "used": gettext_lazy("used"),
    "cancelled": gettext_lazy("cancelled"),
    "expired": gettext_lazy("expired"),
}


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    form = InvitationForm
    list_display = ["email", "inviter", "state", "invitee", "created_at", "expires_at"]
    list_select_related = ["inviter", "invitee"]
    search_fields = ["email", "inviter__username", "invitee__username"]
    ordering = ["-created_at"]
    readonly_fields = [
        "email",
        "note",
        "inviter",
        "invitee",
        "referral_code",
        "state",
        "created_at",
        "expires_at",
        "used_at",
        "cancelled_at",
    ]
    actions = ["cancel_invitations"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = super().get_form(request, obj, change, **kwargs)
        # The service needs the inviter: a subclass per request carries it.
        return type(form.__name__, (form,), {"request_user": request.user})

    def get_readonly_fields(self, request: HttpRequest, obj: Invitation | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Invitation | None = None) -> Any:
        return self.readonly_fields if obj is not None else ["email", "note", "tier"]

    def has_change_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False  # an invitation is sent, then used or cancelled (the action): never edited

    def has_delete_permission(self, request: HttpRequest, obj: Invitation | None = None) -> bool:
        return False  # cancelled, not deleted: a used one records who invited whom

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        created = services.invitation_create(**form.service_arguments())
        # The admin's log, message and redirect name the row the service made.
        for field in Invitation._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False

    @admin.display(description=gettext_lazy("State"))
    def state(self, obj: Invitation) -> str:
        return str(STATE_LABELS.get(obj.state, obj.state))

    @admin.action(description=gettext_lazy("Cancel the selected invitations"))
    def cancel_invitations(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        cancelled = 0
        for invitation in queryset:
            try:
                services.invitation_cancel(invitation=invitation)
                cancelled += 1
            except ApplicationError as error:
                self.message_user(request, f"{invitation.email}: {error.message}", messages.WARNING)
        self.message_user(request, _("Cancelled %(count)s invitation(s).") % {"count": cancelled}, messages.SUCCESS)
