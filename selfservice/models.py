from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import OneTimeToken


class EmailChange(models.Model):
    """A member asked to use another address. The link to the new address confirms it
    (`digest`); once switched, the old address gets an undo link (`undo_digest`). Both are
    stored as SHA-256 only, made and mailed by the worker, single use and expiring."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField(max_length=254)
    old_email = models.EmailField(max_length=254)
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    undo_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    undo_expires_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    digest_of = staticmethod(OneTimeToken.digest_of)

    class Meta:
        # Made in the accounts app: the table keeps its name (and its rows).
        db_table = "accounts_emailchange"

    def __str__(self) -> str:
        return f"Email change of {self.user_id}"
