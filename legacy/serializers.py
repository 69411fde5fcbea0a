"""Bodies of the legacy routes (docs/api.md §2): the old back end's field names, shaped only.

The rules themselves are the services'; these trim what the front end sends and let the
services judge it. Caps are generous so nothing huge reaches a rule. The classes keep their
`Seed` names: the OpenAPI document names its components after them.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from blahaj.serializers import StrictSerializer, TextCap
from logins.serializers import PasswordField
from websites.models import Website
from websites.serializers import GIT_URL_CAP

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


class SeedCreateWebsiteSerializer(StrictSerializer):
    domain = serializers.CharField(max_length=253)
    git_url = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", max_length=GIT_URL_CAP
    )
    sftp_access = serializers.BooleanField(required=False, allow_null=True, default=None)
    ssg = serializers.BooleanField(required=False, default=False)
    username = serializers.CharField(required=False, max_length=254)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The old back end's flags, as a kind: a git URL makes a git site (an SSG one with "ssg").
        git_url = attrs.get("git_url") or ""
        attrs["git_url"] = git_url
        attrs["kind"] = (Website.Kind.SSG if attrs.get("ssg") else Website.Kind.GIT) if git_url else Website.Kind.SFTP
        if attrs.get("ssg") and not git_url:
            raise serializers.ValidationError({"git_url": ["A static site generator site needs a git URL."]})
        return attrs


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()
