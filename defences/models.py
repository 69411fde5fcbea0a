"""The abuse defences' rows (README, "Abuse defences"): blocked networks and email domains, and
abuse reports. Their tables keep the names they had in `accounts`, where they began."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def network_normalized(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValidationError(_("Give an address or a CIDR range, e.g. 203.0.113.7 or 2001:db8::/32.")) from None


class NetworkBlock(models.Model):
    """An address or range that may not sign up (README, "Abuse defences"), until it expires."""

    network = models.CharField(
        max_length=49,  # an IPv6 address with its /128, with room
        unique=True,
        help_text=gettext_lazy("An address or a CIDR range: 203.0.113.7, 203.0.113.0/24, 2001:db8::/32."),
    )
    reason = models.CharField(max_length=200, blank=True, default="", help_text=gettext_lazy("For staff only."))
    expires_at = models.DateTimeField(null=True, blank=True, help_text=gettext_lazy("Empty: until removed."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        db_table = "accounts_networkblock"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.network

    def clean(self) -> None:
        self.network = network_normalized(self.network)


class EmailDomainBlock(models.Model):
    """A mail domain that may not sign up; it also matches the domain's mail servers (MX), so a
    new throwaway domain served by a known throwaway mail host is caught too."""

    domain = models.CharField(
        max_length=253,
        unique=True,
        help_text=gettext_lazy("A domain (its subdomains too): throwaway.example. Also matched against mail servers."),
    )
    reason = models.CharField(max_length=200, blank=True, default="", help_text=gettext_lazy("For staff only."))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        db_table = "accounts_emaildomainblock"
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = domain_normalized(self.domain)


def domain_normalized(value: str) -> str:
    domain = value.strip().strip(".").lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(_("Give a domain name, e.g. throwaway.example."))
    return domain


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class AbuseReport(models.Model):
    """Someone tells staff about an account or a site (the public /abuse/ page or the API)."""

    class Reason(models.TextChoices):
        SPAM = "spam", gettext_lazy("Spam")
        PHISHING = "phishing", gettext_lazy("Phishing or fraud")
        MALWARE = "malware", gettext_lazy("Malware")
        HARASSMENT = "harassment", gettext_lazy("Harassment or hate")
        ILLEGAL = "illegal", gettext_lazy("Illegal content")
        OTHER = "other", gettext_lazy("Something else")

    class Status(models.TextChoices):
        OPEN = "open", gettext_lazy("Open")
        RESOLVED = "resolved", gettext_lazy("Resolved")

    target = models.CharField(
        max_length=253, help_text=gettext_lazy("A site's address or a username, as the reporter wrote it.")
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(max_length=3000)
    reply_to = models.EmailField(max_length=254, blank=True, default="")
    # Indexed with created_at: the staff list is "open reports, newest first".
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        limit_choices_to={"is_staff": True},
    )
    staff_note = models.TextField(max_length=3000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    resolved_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        db_table = "accounts_abusereport"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="abuse_report_status_created")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()}: {self.target}"
