from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from blahaj.schema import (
    ErrorSerializer,  # noqa: F401 - the envelope, re-exported for the views' schemas
)
from provisioning.serializers import PlaceSerializer

from .models import User
from .yunohost import account_place

_DATETIME = serializers.DateTimeField()


class MeSerializer(serializers.Serializer):
    """The caller's account. The fields describe it for the schema; `to_representation`
    builds it directly, because /me is on every front end's hot path and DRF deep-copies
    and walks every declared field on each call (measured in bench/auth.py)."""

    username = serializers.CharField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    email = serializers.EmailField(read_only=True)
    discord_username = serializers.CharField(read_only=True)
    tier = serializers.CharField(source="tier.slug", read_only=True)
    status = serializers.ChoiceField(choices=User.Status.choices, read_only=True)
    date_joined = serializers.DateTimeField(read_only=True)
    email_undeliverable = serializers.BooleanField(
        read_only=True, help_text="The ESP reported a bounce or a complaint: ask the member for another address."
    )
    language = serializers.ChoiceField(
        choices=settings.LANGUAGES,
        read_only=True,
        help_text="The language the member reads: their emails, and sentences when a request names none.",
    )
    provisioning = PlaceSerializer(
        read_only=True, allow_null=True, help_text="The account's creation on YunoHost; null before it is queued."
    )

    def to_representation(self, user: User) -> dict:
        place = account_place(user=user)
        return {
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "discord_username": user.discord_username,
            "tier": user.tier.slug,
            "status": user.status,
            "date_joined": _DATETIME.to_representation(user.date_joined),
            "email_undeliverable": user.email_undeliverable_at is not None,
            "language": user.language,
            "provisioning": place.as_dict() if place is not None else None,
        }


class MeUpdateSerializer(serializers.Serializer):
    """What a member may change of their account here (PATCH /api/user/me)."""

    language = serializers.ChoiceField(choices=settings.LANGUAGES, help_text="`en` or `fr`.")
