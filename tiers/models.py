from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

QUOTA_VALIDATOR = RegexValidator(
    r"^(0|[1-9]\d*[bkMGT])$",
    _("A mailbox quota is 0 (no quota) or a whole number with a b/k/M/G/T unit, such as 500M."),
)


class Tier(models.Model):
    """What an account may have: websites, custom domains, mailbox size."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    max_websites = models.PositiveIntegerField(default=1)
    custom_domains = models.BooleanField(default=False)
    mailbox_quota = models.CharField(max_length=16, default="500M", validators=[QUOTA_VALIDATOR])
    is_default = models.BooleanField(default=False)
    description = models.TextField(blank=True)
    max_referral_codes = models.PositiveIntegerField(
        default=3, help_text=_("Active referral codes a member on this tier may create for themselves.")
    )
    server = models.ForeignKey(
        "provisioning.Server",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pinned_tiers",
        help_text=_("New members on this tier go to this server while it is active and has room."),
    )

    class Meta:
        ordering = ["slug"]
        constraints = [
            # At most one default tier; the services keep it at exactly one.
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="one_default_tier"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def get_default(cls) -> Tier:
        return cls.objects.get(is_default=True)


class ReferralCode(models.Model):
    """A code given at registration; it may put the new account on a tier."""

    code = models.CharField(max_length=64, unique=True)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.PROTECT)
    max_uses = models.PositiveIntegerField(null=True, blank=True, help_text=_("Empty: unlimited."))
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="referral_codes",
    )
    is_active = models.BooleanField(default=True)
    skips_approval = models.BooleanField(
        default=False, help_text=_("Accounts signed up with this code need no staff approval.")
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.code
