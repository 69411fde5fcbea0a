"""How a git or ssg website gets its content: the SFTP login it publishes through, the server's
pinned host key, the webhook that starts a deploy, and each deploy's record.

Secrets (the SFTP password, the webhook secret) are kept encrypted (blahaj.crypto); the
webhook's public id only names the URL.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from websites.models import Website


class Publication(models.Model):
    class Generator(models.TextChoices):
        AUTO = "auto", _("Chosen from the repository")
        NONE = "none", _("None: the repository is the site")
        HUGO = "hugo", _("Hugo")

    website = models.OneToOneField(Website, on_delete=models.CASCADE, related_name="publication")
    generator = models.CharField(max_length=8, choices=Generator.choices, default=Generator.AUTO)
    # The app's SFTP password, encrypted; its login is the site's app id.
    sftp_password = models.TextField(blank=True, editable=False)
    # The SFTP server's host key ("ssh-ed25519 AAAA..."), pinned: the one the sites pinned before,
    # or (the very first publish of all) the one the server showed.
    host_key = models.TextField(blank=True)
    webhook_id = models.CharField(max_length=32, unique=True)
    webhook_secret = models.TextField(blank=True, editable=False)
    # What the web root holds since the last publish: {path: [size, sha256]}.
    manifest = models.JSONField(default=dict, blank=True, editable=False)

    def __str__(self) -> str:
        return f"publication of {self.website}"


class Deploy(models.Model):
    class Result(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Published")
        FAILED = "failed", _("Failed")

    website = models.ForeignKey(Website, on_delete=models.CASCADE, related_name="deploys")
    reason = models.CharField(max_length=16, help_text=_("install, reset, pull, push or owner."))
    commit = models.CharField(max_length=64, blank=True)
    generator = models.CharField(max_length=8, blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Blank while it waits for a worker.
    result = models.CharField(max_length=8, choices=Result.choices, blank=True)
    log_tail = models.TextField(blank=True, help_text=_("The last lines of the clone, build and upload."))
    files_sent = models.PositiveIntegerField(default=0)
    files_removed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-queued_at", "-id"]
        indexes = [models.Index(fields=["website", "-queued_at"], name="deploy_website_latest")]

    def __str__(self) -> str:
        return f"deploy {self.pk} of {self.website}"
