"""An invitation to sign up, by email (invitations/services.py)."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone


class Invitation(models.Model):
    """An email invitation to sign up: a referral whose code only its link can use.

    Like a one-time token, the link's secret is stored only as its SHA-256 (set by the worker
    that mails it, so the raw value never reaches the broker or the database) and is used once,
    by a conditional UPDATE. Who invited whom is recorded like any referral: the single-use
    `referral_code` (owned by the inviter) becomes the new account's `referral_code`.
    """

    email = models.EmailField(max_length=254)
    note = models.CharField(max_length=500, blank=True, default="")
    inviter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_sent"
    )
    referral_code = models.OneToOneField("tiers.ReferralCode", on_delete=models.PROTECT, related_name="invitation")
    # Unique index: the sign-up page looks an invitation up by its digest. Empty until mailed.
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    invitee = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation"
    )

    class Meta:
        # Made by the accounts app, where the model lived first: the table kept its name.
        db_table = "accounts_invitation"
        ordering = ["-created_at", "-id"]
        indexes = [
            # The member cap counts an inviter's pending invitations.
            models.Index(fields=["inviter", "used_at", "cancelled_at"], name="invitation_inviter_pending"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    @staticmethod
    def digest_of(raw: str) -> str:
        """The stored form of a link's secret: its SHA-256, in hex."""
        return hashlib.sha256(raw.encode()).hexdigest()

    @property
    def state(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        if self.used_at is not None:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"
