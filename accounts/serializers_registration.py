"""Bodies of the self-service endpoints (API.md §1). The input rules themselves are applied by
the services (accounts/validators.py, the password policy); these only shape the input."""

from __future__ import annotations

from rest_framework import serializers

from blahaj.serializers import StrictSerializer

from .serializers import PasswordField

# Generous caps so that nothing huge reaches the rules; the rules give the precise limits.
_TEXT = {"max_length": 254}


class EmailSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)


class EmailExistsSerializer(serializers.Serializer):
    exists = serializers.BooleanField()


class PasswordStrengthInputSerializer(StrictSerializer):
    # Not capped at 126 like PasswordField: a too-long password gets `strong: false` and says why.
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    username = serializers.CharField(required=False, allow_blank=True, **_TEXT)
    email = serializers.CharField(required=False, allow_blank=True, **_TEXT)
    display_name = serializers.CharField(required=False, allow_blank=True, **_TEXT)


class PasswordStrengthSerializer(serializers.Serializer):
    strong = serializers.BooleanField(help_text="Exactly: `register` would accept this password.")
    score = serializers.IntegerField(min_value=0, max_value=4, help_text="zxcvbn's score.")
    feedback = serializers.ListField(child=serializers.CharField())


class RegisterSerializer(StrictSerializer):
    username = serializers.CharField(**_TEXT)
    display_name = serializers.CharField(**_TEXT)
    email = serializers.CharField(**_TEXT)
    password = PasswordField()
    discord_username = serializers.CharField(required=False, allow_blank=True, default="", **_TEXT)
    referral_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)


class RequestResetSerializer(StrictSerializer):
    email = serializers.EmailField(required=False, max_length=254)
    username = serializers.CharField(required=False, max_length=254)

    def validate(self, attrs):
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError({"email": ["Give an email or a username."]})
        return {"identifier": identifier}


class ConfirmResetSerializer(StrictSerializer):
    token = serializers.CharField(max_length=128)
    password = PasswordField()
