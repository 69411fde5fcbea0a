"""Bodies of the seed-compatible routes (docs/api.md §2): the seed's field names, shaped only.

The rules themselves are the services'; these trim what the front end sends and let the
services judge it. Caps are generous so nothing huge reaches a rule.
"""

from __future__ import annotations

from rest_framework import serializers

from blahaj.serializers import StrictSerializer, TextCap

from .serializers import PasswordField

_TEXT: TextCap = {"max_length": 254}


class SeedLoginSerializer(StrictSerializer):
    username = serializers.CharField(**_TEXT)
    password = PasswordField()


class SeedTokenPairSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    refresh_token = serializers.CharField()
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")


class SeedCreateUserSerializer(StrictSerializer):
    username = serializers.CharField(**_TEXT)
    display_name = serializers.CharField(**_TEXT)
    recovery_email = serializers.CharField(**_TEXT)
    # "" and null both mean "no Discord name" (the form's empty field).
    discord_username = serializers.CharField(required=False, allow_blank=True, allow_null=True, default="", **_TEXT)

    def validate(self, attrs: dict) -> dict:
        return {
            "username": attrs["username"],
            "display_name": attrs["display_name"],
            "email": attrs["recovery_email"],
            "discord_username": attrs.get("discord_username") or "",
        }


class SeedUsernameSerializer(StrictSerializer):
    username = serializers.CharField(**_TEXT)


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
