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


class OwnedObject(models.Model):
    """A YunoHost domain, app or user this service made, recorded before the command that makes it.

    The lane changes, resets, removes or hands out credentials only for what a row here says
    it made: `intended` is written before the command runs (a worker that dies meanwhile leaves
    the proof of its attempt), `created` once YunoHost confirmed it, `removed` once it is gone.
    An app's id is known only after its install (nothing prints it): until then the row holds
    the ids `app list` showed before, and the new one is what appeared since at its domain and
    path.
    """

    class Kind(models.TextChoices):
        DOMAIN = "domain", "Domain"
        APP = "app", "App"
        USER = "user", "User"

    class State(models.TextChoices):
        INTENDED = "intended", "About to be made"
        CREATED = "created", "Made"
        REMOVED = "removed", "Removed"

    ALIVE = (State.INTENDED, State.CREATED)

    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The domain's name, the app's instance id ("" until the install that makes it ends), or the
    # user's name (a user's `domain` is its mail domain).
    name = models.CharField(max_length=253, blank=True)
    domain = models.CharField(max_length=253)
    path = models.CharField(max_length=255, default="/")
    state = models.CharField(max_length=16, choices=State.choices, default=State.INTENDED)
    # The operation that made it; a reset's install and a removal refer to the row, not to it.
    operation = models.ForeignKey(
        Operation, null=True, blank=True, on_delete=models.SET_NULL, related_name="owned_objects"
    )
    apps_before = models.JSONField(default=list, blank=True, help_text="App ids listed before the install.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            # One live record per YunoHost object: an instance id or a domain freed and made
            # again gets a new row, the old one stays as history.
            models.UniqueConstraint(
                fields=["kind", "name"],
                condition=models.Q(state__in=["intended", "created"]) & ~models.Q(name=""),
                name="owned_object_alive_unique",
            ),
        ]
        indexes = [
            # "What of ours is on this domain": every site step asks it.
            models.Index(fields=["domain", "kind", "state"], name="owned_object_domain"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name or '(installing)'} on {self.domain} ({self.state})"
