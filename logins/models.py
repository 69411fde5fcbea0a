"""A login session: the row behind every login's tokens, or a member page's browser session."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class LoginSession(models.Model):
    """One login: a refresh token (and the access tokens minted from it, which copy its `sid`
    claim, through refresh rotations too) or a member page's browser session.

    Ending one (`ended_at`) is final: `logins.sessions.session_end` also denies its `sid` in the
    cache and every process's revocation mirror, so its access tokens die at once without any query.
    """

    class Kind(models.TextChoices):
        API = "api", _("API tokens")
        PAGE = "page", _("Account pages")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="login_sessions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.API)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # A readable label derived from the user agent ("Firefox on Linux").
    client = models.CharField(max_length=60, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        # The table it had when the model was accounts': the rows never moved.
        db_table = "accounts_loginsession"
        indexes = [models.Index(fields=["user", "ended_at"], name="loginsession_user_ended")]

    def __str__(self) -> str:
        return f"{self.client or 'Session'} of {self.user_id}"
