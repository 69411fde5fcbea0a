from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from tiers.models import Tier

from . import validators


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def default_tier_id(self) -> int:
        """The tier of an account created without one (`User.tier` is empty only in a form).
        There is always exactly one: a migration creates it and tiers.services keep it."""
        return Tier.objects.values_list("id", flat=True).get(is_default=True)

    def create_user(self, username: str, email: str, password: str | None = None, **fields: Any) -> User:
        if "tier" not in fields and "tier_id" not in fields:
            fields["tier_id"] = self.default_tier_id()
        user = self.model(username=username, email=validators.normalize_email(email), **fields)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user

    def create_superuser(self, username: str, email: str, password: str | None = None, **fields: Any) -> User:
        fields.setdefault("display_name", username)
        fields.update(is_staff=True, is_superuser=True, status=User.Status.ACTIVE)
        fields.setdefault("confirmed_at", timezone.now())
        return self.create_user(username, email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username=(username or "").lower())


# The managers user.authenticator_apps and user.recovery_code_sets come from the second factor's
# devices (mfa.models), django-otp devices: a package without types, which django-stubs cannot follow.
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    class Status(models.TextChoices):
        PENDING_CONFIRMATION = "pending_confirmation", gettext_lazy("Pending email confirmation")
        PENDING_APPROVAL = "pending_approval", gettext_lazy("Pending approval")
        PROVISIONING = "provisioning", gettext_lazy("Provisioning")
        ACTIVE = "active", gettext_lazy("Active")
        PROVISIONING_FAILED = "provisioning_failed", gettext_lazy("Provisioning failed")
        DISABLED = "disabled", pgettext_lazy("account status", "Disabled")

    username = models.CharField(
        max_length=30,
        unique=True,
        validators=[validators.validate_username],
        error_messages={"unique": gettext_lazy("Username already taken")},
    )
    display_name = models.CharField(max_length=30, validators=[validators.validate_display_name])
    email = models.EmailField(gettext_lazy("recovery email"), max_length=254)
    discord_username = models.CharField(max_length=32, blank=True, validators=[validators.validate_discord_username])
    tier = models.ForeignKey(
        "tiers.Tier",
        on_delete=models.PROTECT,
        related_name="users",
        blank=True,
        help_text=gettext_lazy("Empty: the default tier."),
    )
    # Indexed: the staff list filters by status, and the admin's sidebar counts by it.
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.PENDING_CONFIRMATION, db_index=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # Every token issued before this instant is dead (logout-all, password change, disable).
    tokens_valid_after = models.DateTimeField(null=True, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    is_staff = models.BooleanField(default=False)
    # Who referred whom: the code given at sign-up (its owner is the referrer).
    referral_code = models.ForeignKey(
        "tiers.ReferralCode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referred_users",
        editable=False,
    )
    # The password chosen at sign-up, encrypted, kept only until YunoHost has it.
    pending_password = models.TextField(blank=True, default="", editable=False)
    # What staff search in (selectors.users_matching), lower-cased once when the row is written:
    # one `LIKE '%term%'` over one column instead of UPPER() of four columns on every row, a
    # third of the time on 100,000 accounts (bench/admin.py). On PostgreSQL a trigram index
    # (migration 0015) serves it; SQLite scans.
    search_text = models.GeneratedField(
        expression=Lower(
            Concat(
                "username",
                Value(" "),
                "display_name",
                Value(" "),
                "email",
                Value(" "),
                "discord_username",
                output_field=models.TextField(),
            )
        ),
        output_field=models.TextField(),
        db_persist=True,
        editable=False,
    )
    # What the person accepted at sign-up (ACCOUNTS_TERMS_URL): when, and which version.
    terms_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    terms_version = models.CharField(max_length=64, blank=True, default="", editable=False)
    # A few words to the staff who approve the request (plain text, escaped wherever shown).
    signup_note = models.TextField(
        gettext_lazy("note to the admins"), max_length=500, blank=True, default="", editable=False
    )
    # The sign-up's mail-domain check could not finish (DNS down or slow): accepted, for staff to look at.
    email_domain_unverified = models.BooleanField(
        gettext_lazy("email domain not verified"),
        default=False,
        help_text=gettext_lazy("DNS failed while checking the domain at sign-up."),
    )
    # The ESP reported a hard bounce or a spam complaint for `email` (bounces/services.py): no
    # email goes to it until the member confirms another address (or staff clear it).
    email_undeliverable_at = models.DateTimeField(
        gettext_lazy("email undeliverable since"), null=True, blank=True, editable=False
    )
    email_undeliverable_reason = models.CharField(max_length=200, blank=True, default="", editable=False)
    # The owner asked to delete the account (README, "Deleting an account"): it is shut out
    # until `deletes_at`, when the beat's finalizer removes it; a cancel link undoes it until then.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Indexed: the finalizer takes the accounts whose moment has come.
    deletes_at = models.DateTimeField(
        gettext_lazy("deletion scheduled for"), null=True, blank=True, editable=False, db_index=True
    )
    # A program's account (the sign-up front end's, `manage.py create_service_account`): never on
    # YunoHost, never staff, refused everywhere but its own tokens and what its permissions open.
    is_service_account = models.BooleanField(default=False, editable=False)
    # The account has a YunoHost user (created through the lane, or imported from YunoHost): its
    # password is YunoHost's to decide (logins.passwords.password_matches), since the member may change
    # it in YunoHost's portal. False for accounts not provisioned yet, staff made with
    # createsuperuser and service accounts: their local hash decides.
    on_yunohost = models.BooleanField(gettext_lazy("has a YunoHost user"), default=False, editable=False)
    # The YunoHost server the account is on: chosen when its YunoHost user is first queued
    # (fleet/services.py, the placement rule), and never changed; its websites go there too.
    server = models.ForeignKey(
        "provisioning.Server", null=True, blank=True, on_delete=models.PROTECT, related_name="members", editable=False
    )

    # The language the member reads (docs/i18n.md): their emails, and their pages and API
    # sentences when a request names none. Set at sign-up from the page's language.
    language = models.CharField(max_length=8, choices=settings.LANGUAGES, default="en")

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        permissions = [("create_user_via_legacy_routes", gettext_lazy("Can call /create_user"))]
        indexes = [
            # The admin's changelist shows the newest accounts first.
            models.Index(fields=["date_joined", "id"], name="user_date_joined"),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="unique_email_ci",
                violation_error_message=gettext_lazy("Email already registered"),
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        if self.pk is not None:
            # Whoever changes a password logs out every session (saved with the password;
            # the services also tell every server process at once).
            self.revoke_tokens()

    def revoke_tokens(self) -> None:
        """Every token issued before now dies once this row is saved."""
        self.tokens_valid_after = timezone.now()

    # Django declares is_active a plain attribute; here the status machine decides it.
    # An account waiting for its deletion is shut out too (tokens, sessions, the admin).
    @property
    def is_active(self) -> bool:  # type: ignore[override]  # Django's auth and admin read this.
        return self.status != self.Status.DISABLED and self.deletes_at is None

    @property
    def deletion_pending(self) -> bool:
        return self.deletes_at is not None

    def clean(self) -> None:
        super().clean()
        self.email = validators.normalize_email(self.email)

    @property
    def mail_address(self) -> str:
        domain = self.server.domain if self.server_id is not None and self.server is not None else ""
        return f"{self.username}@{domain or settings.YUNOHOST_DOMAIN}"


class OneTimeToken(models.Model):
    """A link's secret (email confirmation, password reset), stored only as its SHA-256.

    The raw value exists in the worker that mails it and in the recipient's inbox; a
    database leak gives nobody a usable link. Single use: `used_at` is set by a
    conditional UPDATE, so of two concurrent uses exactly one wins.
    """

    class Purpose(models.TextChoices):
        CONFIRM = "confirm", gettext_lazy("Email confirmation")
        RESET = "reset", gettext_lazy("Password reset")
        CANCEL_DELETION = "cancel_deletion", gettext_lazy("Cancel an account deletion")
        MFA = "mfa", gettext_lazy("Login second step")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_tokens")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    # Unique index: every use looks a token up by its digest.
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            # Issuing a token deletes the user's older ones of the same purpose.
            models.Index(fields=["user", "purpose"], name="onetimetoken_user_purpose"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} for {self.user_id}"

    @staticmethod
    def digest_of(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    def is_expired(self, *, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or timezone.now())


class UsernameQuarantine(models.Model):
    """A deleted account's username, reserved until `reserved_until`
    (ACCOUNTS_USERNAME_QUARANTINE days) so nobody gets the mail still sent to its address.

    Every door that creates an account refuses it like a taken name (`services.registration.user_taken`); the
    deletion finalizer prunes the rows whose time is over.
    """

    username = models.CharField(max_length=30, unique=True)
    reserved_until = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["username"]
        verbose_name = gettext_lazy("quarantined username")

    def __str__(self) -> str:
        return self.username
