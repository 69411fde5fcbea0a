"""The login's API bodies and answers (docs/api.md §1), and the password field every door's
body uses."""

from __future__ import annotations

from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext as _
from rest_framework import serializers

from blahaj.schema import StatusSerializer
from blahaj.serializers import StrictSerializer
from provisioning.passwords import MAX_PASSWORD as PASSWORD_MAX


def _at_most(count: int) -> str:
    return _("Use at most %(count)s characters.") % {"count": count}


class PasswordField(serializers.CharField):
    """Never trimmed, and capped before anything hashes it (YunoHost's own limit)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", PASSWORD_MAX)
        kwargs.setdefault("style", {"input_type": "password"})
        kwargs.setdefault("write_only", True)
        kwargs.setdefault(
            "error_messages",
            {"max_length": lazy(_at_most, str)(PASSWORD_MAX)},
        )
        super().__init__(**kwargs)


class LoginSerializer(StrictSerializer):
    username = serializers.CharField(required=False, max_length=254)
    email = serializers.CharField(required=False, max_length=254)
    password = PasswordField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        identifier = attrs.get("username") or attrs.get("email")
        if not identifier:
            raise serializers.ValidationError({"username": [_("Give a username or an email.")]})
        attrs["identifier"] = identifier
        return attrs


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    access_expires_in = serializers.IntegerField(help_text="Seconds.")
    refresh = serializers.CharField()
    refresh_expires_in = serializers.IntegerField(help_text="Seconds.")


class RefreshInputSerializer(StrictSerializer):
    refresh = serializers.CharField(
        required=False,
        help_text="The refresh token, if it is not in the `Authorization: Bearer` header.",
    )


class RefreshOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    access_expires_in = serializers.IntegerField()
    refresh = serializers.CharField(required=False, help_text="Only with rotation on.")
    refresh_expires_in = serializers.IntegerField(required=False)


class StatusMessageSerializer(StatusSerializer):
    message = serializers.CharField()


# --- The login's answer when a second step is due (the step itself: mfa.serializers) ----------


class MFAChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField(help_text="Single use; for POST /api/user/login/mfa.")
    mfa_expires_in = serializers.IntegerField(help_text="Seconds.")
    methods = serializers.ListField(child=serializers.CharField())
