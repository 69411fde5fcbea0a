"""The events staff hear of by email too, queued for the next digest (notices/services.py)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StaffNotice(models.Model):
    """An event staff hear of by email too (a pending request, a failed provisioning), queued
    here so that one digest per STAFF_DIGEST_WINDOW carries a burst of them."""

    class Kind(models.TextChoices):
        PENDING_REQUEST = "pending_request", _("Sign-up waiting for approval")
        PROVISIONING_FAILED = "provisioning_failed", _("Provisioning failed")
        EMAIL_UNDELIVERABLE = "email_undeliverable", _("Email address undeliverable")

    kind = models.CharField(max_length=32, choices=Kind.choices)
    text = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    # Indexed: the digest takes the rows not sent yet.
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        # Made by the accounts app, where the model lived first: the table kept its name.
        db_table = "accounts_staffnotice"
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:50]}"
