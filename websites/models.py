"""A member's website: what they asked for, where its provisioning stands, and its history.

A deleted site keeps its row (who had which domain, when) but frees its domain: the domain is
unique, case-insensitively, only among sites that are not deleted, and only those count
against the owner's tier.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Website(models.Model):
    class Kind(models.TextChoices):
        SFTP = "sftp", _("Files uploaded over SFTP")
        GIT = "git", _("Cloned from a git repository")
        SSG = "ssg", _("Built by a static site generator")

    class Status(models.TextChoices):
        PENDING_CONFIRMATION = "pending_confirmation", _("Pending confirmation")
        PENDING_VERIFICATION = "pending_verification", _("Pending domain verification")
        PROVISIONING = "provisioning", _("Provisioning")
        LIVE = "live", _("Live")
        FAILED = "failed", _("Failed")
        DELETING = "deleting", _("Deleting")
        DELETED = "deleted", _("Deleted")

    class Certificate(models.TextChoices):
        NONE = "none", _("None yet")
        PENDING = "pending", _("Pending")
        OK = "ok", _("OK")
        FAILING = "failing", _("Failing")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="websites")
    domain = models.CharField(max_length=253, help_text=_("Lower case; an IDN is stored as punycode."))
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.SFTP)
    git_url = models.URLField(max_length=500, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING_CONFIRMATION)
    # The step of the plan that failed (an operation kind) and YunoHost's message, for staff.
    failed_step = models.CharField(max_length=32, blank=True)
    error = models.TextField(blank=True)
    app_id = models.CharField(_("YunoHost app instance"), max_length=64, blank=True)
    sftp_username = models.CharField(max_length=64, blank=True)
    certificate = models.CharField(max_length=8, choices=Certificate.choices, default=Certificate.NONE)
    verification_token = models.CharField(max_length=64, editable=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    confirmation_token_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    confirmation_expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # An SFTP password waiting for its one email, encrypted (blahaj.crypto); wiped once sent.
    pending_password = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    live_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True, help_text=_("Last clone of a git or ssg site."))
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Suspended by staff: the site answers only to its owner and the admins on YunoHost; it keeps
    # its status (and still counts against the tier). `suspended_with_account` marks a suspension
    # that came from disabling the account: enabling the account lifts only those.
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspension_reason = models.TextField(blank=True)
    suspended_with_account = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("domain"), condition=~models.Q(status="deleted"), name="website_domain_unique_undeleted"
            ),
        ]
        indexes = [models.Index(fields=["owner", "status"], name="website_owner_status")]

    def __str__(self) -> str:
        return self.domain

    @property
    def subject(self) -> str:
        """The lane subject of the site's steps: they run in order, one after the other."""
        return f"site:{self.domain}"

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def is_custom_domain(self) -> bool:
        return not self.domain.endswith("." + settings.YUNOHOST_DOMAIN)

    @property
    def verification_record(self) -> str:
        return f"_blahaj-verify.{self.domain}"

    @property
    def url(self) -> str:
        return f"https://{self.domain}/"
