"""The websites API's bodies (docs/api.md §3). Input serializers only shape; the services judge."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from provisioning import selectors as lane_selectors
from provisioning.serializers import PlaceSerializer

from . import content, selectors
from .models import Website

GIT_URL_CAP = 500


class DeploySerializer(serializers.Serializer):
    commit = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    result = serializers.ChoiceField(choices=["ok", "failed", "running"], allow_null=True)
    log_tail = serializers.CharField(allow_null=True, help_text="The last 200 lines of the clone, build and upload.")


class WebsiteCreateSerializer(StrictSerializer):
    domain = serializers.CharField(max_length=253)
    kind = serializers.ChoiceField(choices=Website.Kind.choices, default=Website.Kind.SFTP)
    git_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=GIT_URL_CAP)


class TokenSerializer(StrictSerializer):
    token = serializers.CharField(max_length=200)


class VerificationSerializer(serializers.Serializer):
    record = serializers.CharField(help_text="The TXT record's name.")
    value = serializers.CharField(help_text="The value it must hold.")


class StepSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # a field named label: DRF's metaclass takes it off the class
    state = serializers.ChoiceField(choices=["waiting", "pending", "running", "done", "failed"])
    error = serializers.CharField(required=False)


class WebsiteSerializer(serializers.ModelSerializer):
    owner = serializers.CharField(source="owner.username", read_only=True)
    # Empty for an SFTP site: the schema says "a URL or empty", as it does for the request.
    git_url = serializers.URLField(read_only=True, allow_blank=True)
    verification = serializers.SerializerMethodField()
    steps = serializers.SerializerMethodField()
    certificate_detail = serializers.SerializerMethodField()
    deploy = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField()
    provisioning = serializers.SerializerMethodField()

    class Meta:
        model = Website
        fields = [
            "id",
            "domain",
            "kind",
            "git_url",
            "status",
            "sftp_username",
            "verification",
            "created_at",
            "owner",
            "certificate",
            "certificate_detail",
            "failed_step",
            "steps",
            "suspended_at",
            "suspension_reason",
            "deploy",
            "webhook_url",
            "provisioning",
        ]
        read_only_fields = fields

    def get_verification(self, website: Website) -> dict[str, str] | None:
        if not website.is_custom_domain:
            return None
        return {"record": website.verification_record, "value": website.verification_token}

    def get_certificate_detail(self, website: Website) -> dict[str, Any] | None:
        return selectors.certificate_detail(website)

    @extend_schema_field(DeploySerializer)
    def get_deploy(self, website: Website) -> dict[str, Any]:
        return content.publisher().summary(website=website)

    @extend_schema_field(serializers.URLField(required=False, help_text="git and ssg sites only"))
    def get_webhook_url(self, website: Website) -> str | None:
        return content.publisher().webhook_url(website=website)

    def to_representation(self, instance: Website) -> dict[str, Any]:
        data = super().to_representation(instance)
        if data.get("webhook_url") is None:
            data.pop("webhook_url", None)  # an SFTP site has none
        return data

    @extend_schema_field(PlaceSerializer(allow_null=True))
    def get_provisioning(self, website: Website) -> dict[str, Any] | None:
        """The site's current step on its server: waiting (its place in line), running, done, failed."""
        place = lane_selectors.subject_place(subject=website.subject)
        return place.as_dict() if place is not None else None

    def get_steps(self, website: Website) -> list[dict[str, Any]]:
        request = self.context.get("request")
        staff = bool(request and request.user.is_staff)
        return selectors.website_steps(website, with_errors=staff)


class SuspendSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class VerifiedSerializer(serializers.Serializer):
    verified = serializers.BooleanField()
    record = serializers.CharField(required=False)
    value = serializers.CharField(required=False)
