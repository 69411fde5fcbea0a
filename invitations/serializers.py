"""Bodies of `/api/invitations/` (who may invite: invitations.services.invitation_create)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.fields import empty

from blahaj.serializers import StrictSerializer
from tiers.models import Tier

from .models import Invitation


class _TierField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": _("Unknown tier."), "blank": _("Give a tier's slug, or null.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Tier.objects.all(), **kwargs)

    def run_validation(self, data: Any = empty) -> Any:
        # DRF reads "" as null for a related field; the schema says a slug or null.
        if data == "":
            self.fail("blank")
        return super().run_validation(data)


class InvitationCreateSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    tier = _TierField(required=False, allow_null=True, default=None)


class InvitationSerializer(serializers.ModelSerializer):
    inviter: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    invitee: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    tier: serializers.SlugRelatedField = serializers.SlugRelatedField(
        source="referral_code.tier", slug_field="slug", read_only=True, allow_null=True
    )
    state = serializers.ChoiceField(choices=["pending", "used", "cancelled", "expired"], read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "email",
            "note",
            "tier",
            "inviter",
            "invitee",
            "state",
            "created_at",
            "expires_at",
            "used_at",
            "cancelled_at",
        ]
        read_only_fields = fields
