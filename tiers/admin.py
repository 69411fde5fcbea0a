"""Tiers and referral codes in the admin: every write goes through tiers.services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from blahaj.errors import ApplicationError

from . import services
from .models import ReferralCode, Tier

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


TIER_FORM_FIELDS = [
    "slug",
    "name",
    "max_websites",
    "custom_domains",
    "mailbox_quota",
    "max_referral_codes",
    "description",
    "server",
]
CODE_FORM_FIELDS = ["code", "tier", "max_uses", "expires_at", "owner", "is_active", "skips_approval"]


class TierForm(forms.ModelForm):
    # Not the model field: the form can't set it by itself (the one-default constraint);
    # the service moves the flag when this is ticked.
    make_default = forms.BooleanField(
        required=False, label=gettext_lazy("Default tier"), help_text=gettext_lazy("New accounts get the default tier.")
    )

    class Meta:
        model = Tier
        fields = TIER_FORM_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["make_default"].initial = bool(self.instance.pk and self.instance.is_default)

    def clean_make_default(self) -> bool:
        value = self.cleaned_data["make_default"]
        if self.instance.pk and self.instance.is_default and not value:
            raise forms.ValidationError(
                _("There must always be a default tier: make another tier the default instead.")
            )
        return value


class _MemberCount(TypedDict):
    user_count: int


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    form = TierForm
    list_display = [
        "slug",
        "name",
        "max_websites",
        "custom_domains",
        "mailbox_quota",
        "max_referral_codes",
        "is_default",
        "user_count",
    ]
    list_filter = ["is_default", "custom_domains"]
    search_fields = ["slug", "name"]
    prepopulated_fields = {"slug": ["name"]}
    fields = [
        "slug",
        "name",
        "max_websites",
        "custom_domains",
        "mailbox_quota",
        "max_referral_codes",
        "make_default",
        "description",
        "server",
    ]
    actions = ["make_default"]

    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tier]:
        # The member count in the same query as the rows; a subquery rather than a join, so
        # the paginator's COUNT leaves it out instead of grouping every user.
        members = get_user_model().objects.filter(tier=OuterRef("pk")).order_by()
        counted = members.values("tier").annotate(n=Count("pk")).values("n")
        return super().get_queryset(request).annotate(user_count=Coalesce(Subquery(counted), 0))

    @admin.display(description=gettext_lazy("Users"), ordering="user_count")
    def user_count(self, obj: WithAnnotations[Tier, _MemberCount]) -> int:
        return obj.user_count

    def save_model(self, request: HttpRequest, obj: Tier, form: TierForm, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in TIER_FORM_FIELDS}
        if change:
            services.tier_update(tier=obj, data={**data, "is_default": form.cleaned_data["make_default"]})
        else:
            created = services.tier_create(**data, is_default=form.cleaned_data["make_default"])
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Tier) -> None:
        services.tier_delete(tier=obj)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # Refused before Django lists the protected rows: a tier may have thousands of users.
        tier = self.get_object(request, object_id)
        if tier is not None and (refusal := services.tier_delete_refusal(tier=tier)):
            self.message_user(request, refusal.message, messages.ERROR)
            return redirect("admin:tiers_tier_change", tier.pk)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request: HttpRequest) -> dict:
        # One tier at a time, through the delete page above (tiers are few).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Make the selected tier the default"))
    def make_default(self, request: HttpRequest, queryset: QuerySet[Tier]) -> None:
        if queryset.count() != 1:
            self.message_user(request, _("Select exactly one tier to make it the default."), messages.ERROR)
            return
        tier = services.tier_make_default(tier=queryset.get())
        self.message_user(request, _("%(tier)s is now the default tier.") % {"tier": tier.name}, messages.SUCCESS)


class ReferralCodeForm(forms.ModelForm):
    code = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{4,64}$",
        required=False,
        help_text=gettext_lazy("Leave empty to generate one."),
        error_messages={"invalid": gettext_lazy("A code is 4 to 64 letters, digits, '-' or '_'.")},
    )

    class Meta:
        model = ReferralCode
        fields = CODE_FORM_FIELDS


@admin.register(ReferralCode)
class ReferralCodeAdmin(admin.ModelAdmin):
    form = ReferralCodeForm
    list_display = [
        "code",
        "tier",
        "uses",
        "max_uses",
        "expires_at",
        "owner",
        "is_active",
        "skips_approval",
        "created_at",
    ]
    list_filter = ["is_active", "skips_approval", "tier"]
    search_fields = ["code", "owner__username"]
    list_select_related = ["tier", "owner"]
    readonly_fields = ["uses", "created_at"]
    raw_id_fields = ["owner"]
    actions = ["deactivate"]

    def save_model(self, request: HttpRequest, obj: ReferralCode, form: ReferralCodeForm, change: bool) -> None:
        data = {name: form.cleaned_data[name] for name in CODE_FORM_FIELDS}
        try:
            if change:
                services.referral_code_update(referral_code=obj, data=data)
            else:
                obj.pk = services.referral_code_create(**data).pk
        except ApplicationError as error:
            # Only a race gets here (the form checked the code is free): say so.
            self.message_user(request, error.message, messages.ERROR)

    def delete_model(self, request: HttpRequest, obj: ReferralCode) -> None:
        services.referral_code_delete(referral_code=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReferralCode]) -> None:
        for referral_code in queryset:
            services.referral_code_delete(referral_code=referral_code)

    @admin.action(description=gettext_lazy("Deactivate the selected codes"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ReferralCode]) -> None:
        count = services.referral_codes_deactivate(referral_codes=queryset)
        self.message_user(
            request,
            ngettext("Deactivated %(count)s referral code(s).", "Deactivated %(count)s referral code(s).", count)
            % {"count": count},
            messages.SUCCESS,
        )
