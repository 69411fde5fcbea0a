from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj.admin import action_form, action_form_page
from blahaj.errors import ApplicationError

from . import services
from .models import Website

# Every column, read-only: a site changes through the actions (services), never by hand.
_FIELDS: list[str] = [
    "owner",
    "domain",
    "kind",
    "git_url",
    "status",
    "failed_step",
    "error",
    "app_id",
    "sftp_username",
    "certificate",
    "verification_token",
    "verified_at",
    "confirmed_at",
    "created_at",
    "live_at",
    "synced_at",
    "deleted_at",
    "suspended_at",
    "suspension_reason",
    "suspended_with_account",
]


class SuspendForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text=gettext_lazy("Mailed to the owner as it is written here."),
    )


@admin.register(Website)
class WebsiteAdmin(admin.ModelAdmin):
    """Websites, read-only: every change goes through the services (the actions below)."""

    list_display = ["domain", "owner", "kind", "status", "certificate", "failed_step", "created_at"]
    list_filter = ["status", "kind", "certificate", ("suspended_at", admin.EmptyFieldListFilter)]
    search_fields = ["domain", "owner__username", "owner__email"]
    list_select_related = ["owner"]
    ordering = ["-created_at"]
    fields = tuple(_FIELDS)
    readonly_fields = _FIELDS
    actions = ["retry", "delete_sites", "reset", "reverify", "suspend", "unsuspend"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Website | None = None) -> bool:
        return False  # deleting a site is the "delete" action: it removes it from YunoHost first

    def _each(
        self, request: HttpRequest, queryset: QuerySet[Website], verb: str, call: Callable[[Website], Any]
    ) -> None:
        done, refused = [], []
        for website in queryset:
            try:
                call(website)
                done.append(website.domain)
            except ApplicationError as error:
                refused.append(_("%(domain)s (%(error)s)") % {"domain": website.domain, "error": error.message})
        if done:
            self.message_user(
                request, _("%(done)s: %(sites)s.") % {"done": verb, "sites": ", ".join(done)}, messages.SUCCESS
            )
        if refused:
            self.message_user(request, _("Not done: %(sites)s") % {"sites": "; ".join(refused)}, messages.WARNING)

    @admin.action(description=gettext_lazy("Retry the failed step of the selected websites"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Website]) -> None:
        self._each(request, queryset, _("Failed step queued again"), lambda w: services.website_retry(website=w))

    @admin.action(description=gettext_lazy("Delete the selected websites (from YunoHost too)"))
    def delete_sites(self, request: HttpRequest, queryset: QuerySet[Website]) -> None:
        self._each(request, queryset, _("Deletion queued"), lambda w: services.website_delete(website=w))

    @admin.action(description=gettext_lazy("Reset the files of the selected websites"))
    def reset(self, request: HttpRequest, queryset: QuerySet[Website]) -> None:
        self._each(request, queryset, _("Reset queued"), lambda w: services.website_reset(website=w))

    @admin.action(description=gettext_lazy("Check the DNS verification of the selected websites again"))
    def reverify(self, request: HttpRequest, queryset: QuerySet[Website]) -> None:
        verified: list[str] = []
        missing: list[str] = []
        unchecked: list[str] = []
        for website in queryset:
            try:
                (verified if services.website_verify_domain(website=website) else missing).append(website.domain)
            except ApplicationError as error:  # the look-ups' limits (websites/dns.py)
                unchecked.append(_("%(domain)s (%(error)s)") % {"domain": website.domain, "error": error.message})
        if verified:
            self.message_user(request, _("Verified: %(sites)s.") % {"sites": ", ".join(verified)}, messages.SUCCESS)
        if missing:
            self.message_user(
                request, _("Record not found: %(sites)s.") % {"sites": ", ".join(missing)}, messages.WARNING
            )
        if unchecked:
            self.message_user(request, _("Not checked: %(sites)s") % {"sites": "; ".join(unchecked)}, messages.WARNING)

    @admin.action(description=gettext_lazy("Suspend the selected websites (owner and admins only), with a reason"))
    def suspend(self, request: HttpRequest, queryset: QuerySet[Website]) -> HttpResponse | None:
        form = action_form(SuspendForm, request)
        if form.is_valid():
            reason = form.cleaned_data["reason"]
            self._each(
                request,
                queryset,
                _("Suspended"),
                lambda w: services.website_suspend(website=w, reason=reason, actor=request.user),  # type: ignore[arg-type]
            )
            return None
        return action_form_page(
            self,
            request,
            template="admin/websites/website/suspend.html",
            action="suspend",
            title=_("Suspend websites"),
            submit=_("Suspend them"),
            form=form,
            items=(
                (website.pk, f"{website.domain} ({website.owner.username})")
                for website in queryset.select_related("owner").order_by("domain")
            ),
        )

    @admin.action(description=gettext_lazy("Lift the suspension of the selected websites"))
    def unsuspend(self, request: HttpRequest, queryset: QuerySet[Website]) -> None:
        self._each(
            request,
            queryset,
            _("Unsuspended"),
            lambda w: services.website_unsuspend(website=w, actor=request.user),  # type: ignore[arg-type]
        )
