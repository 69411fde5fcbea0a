"""The durable operation log: one row per YunoHost command, before anything runs it.

A row is the job itself (CONTRIBUTING.md): the runner claims it with a conditional UPDATE, so a
task delivered twice, or re-enqueued by the sweeper, runs the command at most once per claim.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Operation(models.Model):
    class Kind(models.TextChoices):
        USER_CREATE = "user.create", "Create a YunoHost user"
        USER_UPDATE = "user.update", "Update a YunoHost user"
        USER_DELETE = "user.delete", "Delete a YunoHost user"
        DOMAIN_ADD = "domain.add", "Add a domain"
        CERT_INSTALL = "cert.install", "Install a certificate"
        APP_INSTALL = "app.install", "Install an app"
        APP_REMOVE = "app.remove", "Remove an app"
        APP_CONFIG_SET = "app.config_set", "Change an app's configuration"
        DOMAIN_REMOVE = "domain.remove", "Remove a domain"
        WEBAPP_RESET = "webapp.reset", "Reset a web app to its initial state"
        GIT_SYNC = "webapp.git_sync", "Clone a site's git repository into its web root"
        WEBAPP_ACCESS = "webapp.access", "Make a site public, or open to its owner and the admins only"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    UNFINISHED = (Status.PENDING, Status.RUNNING)

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # What the operation acts on ("user:alice", "domain:alice.blahaj.land"). Operations of
    # one subject run in `sequence` order: a plan of steps.
    subject = models.CharField(max_length=255)
    sequence = models.PositiveIntegerField()
    # Everything the command needs, so a row runs even after its user row is gone. Secrets
    # never go here: they live encrypted in `secret_args` and are wiped when the row ends.
    args = models.JSONField(default=dict, blank=True)
    secret_args = models.TextField(blank=True, default="", editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # Real tries only: a busy YunoHost or a busy lane does not count.
    attempts = models.PositiveIntegerField(default=0)
    busy_waits = models.PositiveIntegerField(
        default=0, help_text="Times YunoHost answered that another command was running."
    )
    output = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="yunohost_operations",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            # Also the index of the subject-order queries: the claim's "no earlier unfinished
            # operation of this subject" and "the next pending operation of this subject".
            models.UniqueConstraint(fields=["subject", "sequence"], name="operation_subject_sequence"),
        ]
        indexes = [
            # The sweeper: pending operations due before a cut-off, running ones (few) whose
            # heartbeat is stale; and the staff list filtered by status.
            models.Index(fields=["status", "next_attempt_at"], name="operation_status_due"),
            # The staff list filtered by kind (and status).
            models.Index(fields=["kind", "status"], name="operation_kind_status"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.subject} ({self.status})"
