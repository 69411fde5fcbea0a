"""Bodies of the self-service endpoints (docs/api.md §1). The input rules themselves are applied by
the services (accounts/validators.py, the password policy); these only shape the input."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blahaj.serializers import StrictSerializer, TextCap
from logins.serializers import PasswordField

from .validators import DISPLAY_NAME_MAX, PASSWORD_MAX, PASSWORD_MIN

# Generous caps so that nothing huge reaches the rules; the rules give the precise limits.
_TEXT: TextCap = {"max_length": 254}


# The schema states the rules of accounts/validators.py; the services apply them (with their
# own sentences), so these fields only describe.
@extend_schema_field({"type": "string", "pattern": "^[a-z0-9_.]*[a-z0-9_][a-z0-9_.]*$", "maxLength": 30})
class UsernameField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": DISPLAY_NAME_MAX})
class DisplayNameField(serializers.CharField):
    pass


@extend_schema_field({"type": "string", "pattern": "^([a-z0-9_.]{2,32})?$"})
class DiscordUsernameField(serializers.CharField):
    pass


@extend_schema_field(
    {"type": "string", "format": "password", "minLength": PASSWORD_MIN, "maxLength": PASSWORD_MAX, "writeOnly": True}
)
class NewPasswordField(PasswordField):
    pass


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
    username = UsernameField(**_TEXT)
    display_name = DisplayNameField(**_TEXT)
    email = serializers.CharField(**_TEXT)
    password = NewPasswordField()
    discord_username = DiscordUsernameField(required=False, allow_blank=True, default="", **_TEXT)
    referral_code = serializers.CharField(required=False, allow_blank=True, default="", max_length=64)
    accept_terms = serializers.BooleanField(
        required=False, default=False, help_text="Required (true) when the service has terms of service."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="A note to the admins."
    )
    invitation = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=128,
        help_text="The token of an invitation link: the address is confirmed and approval skipped.",
    )
    challenge = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="A solved ALTCHA challenge (GET /api/user/challenge), base64 JSON; required "
        "when the service asks for it (challenge_failed otherwise).",
    )


class RequestResetSerializer(StrictSerializer):
    email = serializers.EmailField(required=False, max_length=254)
    username = serializers.CharField(required=False, max_length=254)

    def validate(self, attrs: dict) -> dict:
        identifier = attrs.get("email") or attrs.get("username")
        if not identifier:
            raise serializers.ValidationError({"email": [_("Give an email or a username.")]})
        return {"identifier": identifier}


class ConfirmResetSerializer(StrictSerializer):
    token = serializers.CharField(max_length=128)
    password = NewPasswordField()


class ChallengeSerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    challenge = serializers.CharField()
    maxNumber = serializers.IntegerField()  # ALTCHA's own field name
    salt = serializers.CharField()
    signature = serializers.CharField()
