from __future__ import annotations

from typing import Any

from rest_framework import serializers

from blahaj.schema import ErrorSerializer  # noqa: F401 - the envelope, re-exported for the views' schemas
from blahaj.serializers import StrictSerializer
from provisioning.serializers import PlaceSerializer

from .models import User
from .validators import PASSWORD_MAX
from .yunohost import account_place


class PasswordField(serializers.CharField):
    """Never trimmed, and capped before anything hashes it (YunoHost's own limit)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("trim_whitespace", False)
        kwargs.setdefault("max_length", PASSWORD_MAX)
        kwargs.setdefault("style", {"input_type": "password"})
        kwargs.setdefault("write_only", True)
        kwargs.setdefault(
            "error_messages",
            {"max_length": f"Use at most {PASSWORD_MAX} characters."},
        )
        super().__init__(**kwargs)


class LoginSerializer(StrictSerializer):
    username = serializers.CharField(required=False, max_length=254)
    email = serializers.CharField(required=False, max_length=254)
    password = PasswordField()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        identifier = attrs.get("username") or attrs.get("email")
        if not identifier:
            raise serializers.ValidationError({"username": ["Give a username or an email."]})
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


class StatusSerializer(serializers.Serializer):
    status = serializers.CharField(default="success")


class StatusMessageSerializer(StatusSerializer):
    message = serializers.CharField()


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
            "provisioning": place.as_dict() if place is not None else None,
        }


# --- Second factor --------------------------------------------------------------------------


class MFAChallengeSerializer(serializers.Serializer):
    mfa_required = serializers.BooleanField()
    mfa_token = serializers.CharField(help_text="Single use; for POST /api/user/login/mfa.")
    mfa_expires_in = serializers.IntegerField(help_text="Seconds.")
    methods = serializers.ListField(child=serializers.CharField())


class MFACodeSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32, help_text="A TOTP code (6 digits) or a recovery code.")


class LoginMFASerializer(MFACodeSerializer):
    mfa_token = serializers.CharField(max_length=128)


class TOTPEnrolmentSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="Base32, for typing into an authenticator app.")
    otpauth_url = serializers.CharField()
    qr_svg = serializers.CharField(help_text="The otpauth URL as a QR code, an <svg> element.")


class RecoveryCodesSerializer(serializers.Serializer):
    recovery_codes = serializers.ListField(child=serializers.CharField(), help_text="Shown once; each works once.")


class TOTPConfirmedSerializer(RecoveryCodesSerializer, TokenPairSerializer):
    pass


class MFARemoveSerializer(StrictSerializer):
    code = serializers.CharField(max_length=32, required=False)
    password = PasswordField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("code") and not attrs.get("password"):
            raise serializers.ValidationError({"code": ["Give a current code or your password."]})
        return attrs


class MFAStatusSerializer(serializers.Serializer):
    totp = serializers.BooleanField(help_text="An authenticator app is set up.")
    mandatory = serializers.BooleanField(help_text="Staff with STAFF_REQUIRE_MFA: it may not be turned off.")
    token_has_second_factor = serializers.BooleanField()
