"""What every app's admin shares: the admin of rows that only the services write, and the page
of an action that asks for more before it runs; the outbox's list and the site settings."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from blahaj import outbox, site
from blahaj.models import OutboxMessage, SiteSettings

F = TypeVar("F", bound=forms.Form)


def action_form(form_class: type[F], request: HttpRequest) -> F:
    """The form of an action that asks for more before it runs: empty when the action was just
    chosen in the list, bound once its page was sent (`apply`, see admin/action_form.html)."""
    return form_class(request.POST if "apply" in request.POST else None)


def action_form_page(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    template: str,
    action: str,
    title: str,
    submit: str,
    form: forms.Form,
    items: Iterable[tuple[Any, str]],
) -> TemplateResponse:
    """The page of an action that asks for more (`form`) before it runs on the selected rows:
    `items` (each row's primary key and how the page names it), the form, `submit`, and a way
    back to the list. `template` extends admin/action_form.html and says, in its `intro`
    block, what the action does."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "opts": model_admin.model._meta,
        "form": form,
        "items": list(items),
        "action": action,
        "submit": submit,
        "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, template, context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the services only: staff look, nobody edits here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """The outbox: emails, pings and follow-up tasks that committed changes queued. Waiting ones
    go out by themselves once the broker and a worker are there; failed ones named no task or
    were published OUTBOX_MAX_ATTEMPTS times without a worker taking them."""

    list_display = ["id", "task", "status", "attempts", "last_error", "created_at", "next_attempt_at", "sent_at"]
    list_filter = ["status", "task"]
    search_fields = ["task"]
    fields = ["task", "args", "status", "attempts", "last_error", "created_at", "due_at", "next_attempt_at", "sent_at"]
    actions = ["retry"]

    @admin.action(description=gettext_lazy("Publish the selected waiting or failed messages again now"))
    def retry(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        retried = sum(outbox.outbox_retry(message=message) for message in queryset.order_by("pk"))
        skipped = queryset.count() - retried
        if retried:
            self.message_user(
                request, _("Published %(count)s message(s) again.") % {"count": retried}, messages.SUCCESS
            )
        if skipped:
            self.message_user(
                request,
                _("Skipped %(count)s message(s) a worker had taken already.") % {"count": skipped},
                messages.WARNING,
            )


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    """One row, changed through the service (which clears the pages' cache); never added twice,
    never deleted."""

    fields = ["service_name", "contact_email", "signup_text", "approval_criteria"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not SiteSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: SiteSettings | None = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        # One row: the list is the form.
        if SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).exists():
            return HttpResponseRedirect(reverse("admin:blahaj_sitesettings_change", args=[SiteSettings.SINGLETON]))
        return HttpResponseRedirect(reverse("admin:blahaj_sitesettings_add"))

    def save_model(self, request: HttpRequest, obj: SiteSettings, form: Any, change: bool) -> None:
        site.site_settings_save(site_settings=obj)
