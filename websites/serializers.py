"""The websites API's bodies (docs/api.md §3). Input serializers only shape; the services judge."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from blahaj.serializers import StrictSerializer
from provisioning import selectors as lane_selectors
from provisioning.serializers import PlaceSerializer
from publishing import selectors as publishing
from publishing.serializers import DeploySerializer

from . import selectors
from .models import Website

_GIT_URL_CAP = 500


class WebsiteCreateSerializer(StrictSerializer):
    domain = serializers.CharField(max_length=253)
    kind = serializers.ChoiceField(choices=Website.Kind.choices, default=Website.Kind.SFTP)
    git_url = serializers.CharField(required=False, allow_blank=True, default="", max_length=_GIT_URL_CAP)


class SeedCreateWebsiteSerializer(StrictSerializer):
    domain = serializers.CharField(max_length=253)
    git_url = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, default="", max_length=_GIT_URL_CAP
    )
    sftp_access = serializers.BooleanField(required=False, allow_null=True, default=None)
    ssg = serializers.BooleanField(required=False, default=False)
    username = serializers.CharField(required=False, max_length=254)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The seed's flags, as a kind: a git URL makes a git site (an SSG one with "ssg").
        git_url = attrs.get("git_url") or ""
        attrs["git_url"] = git_url
        attrs["kind"] = (Website.Kind.SSG if attrs.get("ssg") else Website.Kind.GIT) if git_url else Website.Kind.SFTP
        if attrs.get("ssg") and not git_url:
            raise serializers.ValidationError({"git_url": ["A static site generator site needs a git URL."]})
        return attrs


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
        return publishing.deploy_summary(website=website)

    @extend_schema_field(serializers.URLField(required=False, help_text="git and ssg sites only"))
    def get_webhook_url(self, website: Website) -> str | None:
        return publishing.webhook_url(website=website)

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
