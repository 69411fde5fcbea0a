"""Bodies of the staff user API, `/api/users/` (docs/api.md §3). Fields are listed one by one:
no password hash, pending password or token can ever appear."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from accounts.models import User
from blahaj.serializers import StrictSerializer, TextCap
from provisioning.models import Server
from tiers.models import Tier

_TEXT: TextCap = {"max_length": 254}
ORDERINGS = ["username", "-username", "date_joined", "-date_joined"]


class StaffUserSerializer(serializers.ModelSerializer):
    tier: serializers.SlugRelatedField[Tier] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    email_undeliverable = serializers.SerializerMethodField(
        help_text="null, or since when and why the ESP cannot deliver to the address (a bounce or a complaint)."
    )

    server = serializers.SerializerMethodField(
        help_text="The YunoHost server the account is on (null: not placed yet)."
    )

    def get_server(self, user: User) -> str | None:
        return user.server.name if user.server_id is not None and user.server is not None else None

    def get_email_undeliverable(self, user: User) -> dict[str, str] | None:
        if user.email_undeliverable_at is None:
            return None
        return {
            "since": serializers.DateTimeField().to_representation(user.email_undeliverable_at),
            "reason": user.email_undeliverable_reason,
        }

    class Meta:
        model = User
        fields = [
            "username",
            "display_name",
            "email",
            "discord_username",
            "tier",
            "status",
            "is_staff",
            "date_joined",
            "confirmed_at",
            "last_login",
            "signup_note",
            "terms_accepted_at",
            "terms_version",
            "deletes_at",
            "email_undeliverable",
            "server",
        ]
        read_only_fields = fields


class _TierField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": _("Unknown tier."), "invalid": _("Give a tier's slug.")}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="slug", queryset=Tier.objects.all(), **kwargs)


class StaffUserCreateSerializer(StrictSerializer):
    username = serializers.CharField(**_TEXT)
    display_name = serializers.CharField(**_TEXT)
    email = serializers.CharField(**_TEXT)
    discord_username = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="", **_TEXT)
    tier = _TierField(required=False, allow_null=True, default=None)
    server = serializers.SlugRelatedField(
        slug_field="name",
        queryset=Server.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The YunoHost server to create the account on; default: the placement rule.",
        error_messages={"does_not_exist": _("Unknown server."), "invalid": _("Give a server's name.")},
    )

    def validate_discord_username(self, value: str | None) -> str:
        return value or ""


class StaffUserUpdateSerializer(StrictSerializer):
    display_name = serializers.CharField(required=False, **_TEXT)
    email = serializers.CharField(required=False, **_TEXT)
    discord_username = serializers.CharField(required=False, allow_blank=True, **_TEXT)
    status = serializers.ChoiceField(choices=User.Status.choices, required=False)


class StaffUserFilterSerializer(StrictSerializer):
    search = serializers.CharField(required=False, allow_blank=True, max_length=100)
    status = serializers.ChoiceField(choices=User.Status.choices, required=False)
    tier = serializers.SlugField(required=False, max_length=50)
    ordering = serializers.ChoiceField(choices=ORDERINGS, required=False)

    def validate_tier(self, value: str) -> str:
        if not Tier.objects.filter(slug=value).exists():
            raise serializers.ValidationError(_("Unknown tier."))
        return value


class StaffUserTierSerializer(StrictSerializer):
    tier = _TierField()


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
