"""The second factor in the admin: read-only lists of the devices (never a secret, a code or a
digest) and a security key's removal (through the audited service). The user action that takes
a member's factor off is on the user admin (staff/admin.py), which calls this app's service.

django-otp's TOTP admin shows each device's secret (and a QR code of it): not registered (the
plugins stay installed for one migration only, settings.INSTALLED_APPS). django-otp-webauthn's
admin edits and deletes keys without the audit log: replaced by a read-only list whose one
action goes through the (audited) service. The admin site itself, with the staff's second
step: mfa/admin_site.py.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp_webauthn.models import WebAuthnAttestation, WebAuthnCredential, WebAuthnUserHandle

from blahaj.admin import ReadOnlyAdmin
from blahaj.errors import ApplicationError

from . import services
from .models import AuthenticatorApp, RecoveryCodes

for _model in (
    apps.get_model("otp_totp", "TOTPDevice"),
    apps.get_model("otp_static", "StaticDevice"),
    WebAuthnCredential,
    WebAuthnAttestation,
    WebAuthnUserHandle,
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(AuthenticatorApp)
class AuthenticatorAppAdmin(ReadOnlyAdmin):
    """Members' and staff's authenticator apps (TOTP): who, confirmed or still being set up, when
    added and last used. Never the secret. A lost one goes with the user action "Remove the
    second factor" (audited)."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    ordering = ["-id"]


@admin.register(RecoveryCodes)
class RecoveryCodesAdmin(ReadOnlyAdmin):
    """Each account's set of recovery codes: how many are left, when one was last used. Never
    the codes (only their SHA-256 is stored, and not shown either)."""

    list_display = ["user", "unused", "created_at", "last_used_at"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    fields = ["user", "unused", "created_at", "last_used_at"]
    ordering = ["-id"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[RecoveryCodes]:
        return (
            super().get_queryset(request).annotate(unused_count=Count("codes", filter=Q(codes__used_at__isnull=True)))
        )

    @admin.display(description=gettext_lazy("Unused codes"), ordering="unused_count")
    def unused(self, obj: RecoveryCodes) -> int:
        return int(getattr(obj, "unused_count", 0))


@admin.register(WebAuthnCredential)
class SecurityKeyAdmin(ReadOnlyAdmin):
    """Members' and staff's security keys (WebAuthn): who, which name, when added and last used.
    A lost key goes with the action (audited, `user.mfa.key.remove`)."""

    list_display = ["user", "name", "created_at", "last_used_at"]
    search_fields = ["user__username", "name"]
    list_select_related = ["user"]
    fields = ["user", "name", "created_at", "last_used_at"]
    actions = ["remove_keys"]

    @admin.action(description=gettext_lazy("Remove the selected security keys (e.g. one reported lost)"))
    def remove_keys(self, request: HttpRequest, queryset: QuerySet[WebAuthnCredential]) -> None:
        removed = 0
        for key in queryset.select_related("user").order_by("pk"):
            try:
                services.key_remove_by_staff(user=key.user, key_id=key.pk)
            except ApplicationError as error:
                self.message_user(request, f"{key.user.username}: {error.message}", messages.WARNING)
            else:
                removed += 1
        self.message_user(
            request,
            _("Removed %(count)s security key(s).") % {"count": removed},
            messages.SUCCESS if removed else messages.WARNING,
        )
