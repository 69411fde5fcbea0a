"""Input and output shapes of the members' self-service API (docs/api.md §1b)."""

from __future__ import annotations

from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from logins.models import LoginSession
from logins.serializers import PasswordField


class ChangePasswordSerializer(StrictSerializer):
    current_password = PasswordField()
    new_password = PasswordField()


class ChangePasswordResultSerializer(serializers.Serializer):
    status = serializers.CharField()
    access = serializers.CharField(required=False, help_text="A fresh access token of the caller's session.")
    access_expires_in = serializers.IntegerField(required=False)
    refresh = serializers.CharField(required=False, help_text="A fresh refresh token of the caller's session.")
    refresh_expires_in = serializers.IntegerField(required=False)


class ChangeEmailSerializer(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    password = PasswordField()


class SessionSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id", read_only=True)
    current = serializers.SerializerMethodField()

    class Meta:
        model = LoginSession
        fields = ["id", "created_at", "last_used_at", "ip", "user_agent", "client", "current"]

    def get_current(self, session: LoginSession) -> bool:
        return str(session.public_id) == self.context.get("current")
