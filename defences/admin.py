"""The abuse defences in the admin (README, "Abuse defences"): blocked networks and email domains, abuse reports. Writes go
through defences.services, like the staff API's."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import services
from .models import AbuseReport, EmailDomainBlock, NetworkBlock


class LiveFilter(admin.SimpleListFilter):
    title = gettext_lazy("state")
    parameter_name = "live"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", _("In force")), ("no", _("Expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        live = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
        if self.value() == "yes":
            return queryset.filter(live)
        if self.value() == "no":
            return queryset.exclude(live)
        return queryset


@admin.register(NetworkBlock)
class NetworkBlockAdmin(admin.ModelAdmin):
    list_display = ["network", "reason", "expires_at", "created_at", "created_by"]
    list_filter = [LiveFilter]
    search_fields = ["network", "reason"]
    fields = ["network", "reason", "expires_at"]

    def save_model(self, request: HttpRequest, obj: NetworkBlock, form: Any, change: bool) -> None:
        # The form's clean() has normalised and checked the network already.
        if change:
            services.network_block_update(block=obj, data=form.cleaned_data)
        else:
            actor = request.user if isinstance(request.user, get_user_model()) else None
            created = services.network_block_create(**form.cleaned_data, actor=actor)
            obj.pk = created.pk


@admin.register(EmailDomainBlock)
class EmailDomainBlockAdmin(admin.ModelAdmin):
    list_display = ["domain", "reason", "created_at", "created_by"]
    search_fields = ["domain", "reason"]
    fields = ["domain", "reason"]

    def save_model(self, request: HttpRequest, obj: EmailDomainBlock, form: Any, change: bool) -> None:
        if change:
            services.email_domain_block_update(block=obj, data=form.cleaned_data)
        else:
            actor = request.user if isinstance(request.user, get_user_model()) else None
            obj.pk = services.email_domain_block_create(**form.cleaned_data, actor=actor).pk


@admin.register(AbuseReport)
class AbuseReportAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "reason", "target", "status", "assignee"]
    list_filter = ["status", "reason", ("assignee", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["target", "details", "reply_to"]
    # The reporter's words are shown, never edited; Django's admin escapes them.
    readonly_fields = ["target", "reason", "details", "reply_to", "created_at", "resolved_at"]
    fields = [*readonly_fields, "status", "assignee", "staff_note"]
    actions = ["assign_to_me", "resolve"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # reports come from the public page and the API

    def save_model(self, request: HttpRequest, obj: AbuseReport, form: Any, change: bool) -> None:
        data = form.cleaned_data
        report = AbuseReport.objects.get(pk=obj.pk)
        services.abuse_report_update(
            report=report, assignee=data.get("assignee"), status=data.get("status"), staff_note=data.get("staff_note")
        )

    @admin.action(description=gettext_lazy("Assign to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[AbuseReport]) -> None:
        for report in queryset:
            services.abuse_report_update(report=report, assignee=request.user)

    @admin.action(description=gettext_lazy("Mark as resolved"))
    def resolve(self, request: HttpRequest, queryset: QuerySet[AbuseReport]) -> None:
        for report in queryset:
            services.abuse_report_update(report=report, status=AbuseReport.Status.RESOLVED)
