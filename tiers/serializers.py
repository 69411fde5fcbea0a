"""The tier and referral code resources (the HTTP contract, section 3)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from blahaj.serializers import StrictModelSerializer

from .models import ReferralCode, Tier


class TierSerializer(StrictModelSerializer):
    # Declared, not derived: the model's partial unique constraint and unique slug are the
    # service's to answer (409s), not a generated validator's (400s).
    slug = serializers.SlugField(max_length=50)
    is_default = serializers.BooleanField(required=False)

    class Meta:
        model = Tier
        fields = [
            "slug",
            "name",
            "max_websites",
            "custom_domains",
            "mailbox_quota",
            "is_default",
            "description",
            "max_referral_codes",
        ]


class ReferralCodeSerializer(StrictModelSerializer):
    code = serializers.RegexField(
        r"^[A-Za-z0-9_-]{4,64}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": _("A code is 4 to 64 letters, digits, '-' or '_'.")},
    )
    tier = serializers.SlugRelatedField(slug_field="slug", queryset=Tier.objects.all(), required=False, allow_null=True)
    owner = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = ReferralCode
        fields = [
            "code",
            "tier",
            "max_uses",
            "uses",
            "expires_at",
            "owner",
            "is_active",
            "skips_approval",
            "created_at",
        ]
        read_only_fields = ["uses", "created_at"]


class MemberReferralCodeSerializer(StrictModelSerializer):
    """What a member may choose for their own code: how often and how long it works."""

    class Meta:
        model = ReferralCode
        fields = ["max_uses", "expires_at"]
