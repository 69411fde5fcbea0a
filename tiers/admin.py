from __future__ import annotations

from django.contrib import admin

from .models import ReferralCode, Tier


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "max_websites", "custom_domains", "mailbox_quota", "is_default"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ReferralCode)
class ReferralCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "tier", "uses", "max_uses", "expires_at", "owner", "is_active"]
    list_filter = ["is_active", "tier"]
    search_fields = ["code", "owner__username"]
    readonly_fields = ["uses", "created_at"]
    raw_id_fields = ["owner"]
