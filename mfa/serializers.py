"""The second factor's API bodies (docs/api.md "Second factor")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from logins.serializers import PasswordField, TokenPairSerializer


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
            raise serializers.ValidationError({"code": [_("Give a current code or your password.")]})
        return attrs


class MFAStatusSerializer(serializers.Serializer):
    totp = serializers.BooleanField(help_text="An authenticator app is set up.")
    mandatory = serializers.BooleanField(help_text="Staff with STAFF_REQUIRE_MFA: it may not be turned off.")
    token_has_second_factor = serializers.BooleanField()
