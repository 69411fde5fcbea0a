"""The project's own rows: the outbox (blahaj/outbox.py) and the site settings (blahaj/site.py).

An outbox message is a task a committed change promised (an email, a Discord ping, a follow-up job),
written in the same transaction as the change. It is published after the commit and again by
the sweeper until a worker takes it, so a broker that is down delays it and never loses it.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class OutboxMessage(models.Model):
    class Status(models.TextChoices):
        WAITING = "waiting", gettext_lazy("Waiting for a worker")
        SENT = "sent", gettext_lazy("Taken by a worker")
        FAILED = "failed", gettext_lazy("Failed")

    # The Celery task's registered name and its positional arguments: ids and plain texts,
    # never a secret (a worker reads secrets from their own rows).
    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(default=timezone.now)
    # When the task may run (a countdown puts it later than created_at).
    due_at = models.DateTimeField(default=timezone.now)
    # When the sweeper publishes it (again) if no worker has taken it by then; none once it
    # is sent or has failed.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(
        default=0,
        help_text=gettext_lazy("Publications the broker accepted after the first one (the sweeper's, staff's)."),
    )
    last_error = models.CharField(max_length=300, blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)
    # The Celery task id of the publication a worker took: that message (and its own retries,
    # which keep the id) runs; any other copy is ignored.
    claimed_by = models.CharField(max_length=100, blank=True, default="", editable=False)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The sweeper: waiting messages due before now; the admin's list by status.
            models.Index(fields=["status", "next_attempt_at"], name="outbox_status_due"),
            # The prune: messages sent before a cut-off.
            models.Index(fields=["status", "sent_at"], name="outbox_status_sent"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.task}"


class SiteSettings(models.Model):
    """The words staff control: one row (pk 1), edited in the admin, read through
    blahaj.site (cached; the service that saves it clears the cache)."""

    SINGLETON = 1

    service_name = models.CharField(
        max_length=60, default="blahaj.land", help_text=gettext_lazy("In every page and email.")
    )
    contact_email = models.EmailField(blank=True, help_text=gettext_lazy("Shown in every page and email, if set."))
    signup_text = models.TextField(
        blank=True, max_length=3000, help_text=gettext_lazy("Above the sign-up form. Markdown: emphasis, links, lists.")
    )
    approval_criteria = models.TextField(
        blank=True,
        max_length=3000,
        help_text=gettext_lazy("Who gets an account (shown when approval is on). Markdown."),
    )

    class Meta:
        # Made by the accounts app, where the model lived first: the table kept its name.
        db_table = "accounts_sitesettings"
        verbose_name = verbose_name_plural = gettext_lazy("site settings")

    def __str__(self) -> str:
        return _("Site settings")
