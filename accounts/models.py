from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
import uuid
from base64 import b32encode
from binascii import unhexlify
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import random_hex

from blahaj import crypto
from tiers.models import Tier

from . import validators

logger = logging.getLogger(__name__)


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


# The managers user.authenticator_apps and user.recovery_code_sets come from django-otp devices,
# a package without types, which django-stubs cannot follow.
class User(AbstractBaseUser, PermissionsMixin):  # type: ignore[django-manager-missing]
    class Status(models.TextChoices):
        PENDING_CONFIRMATION = "pending_confirmation", "Pending email confirmation"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        PROVISIONING = "provisioning", "Provisioning"
        ACTIVE = "active", "Active"
        PROVISIONING_FAILED = "provisioning_failed", "Provisioning failed"
        DISABLED = "disabled", "Disabled"

    username = models.CharField(
        max_length=30,
        unique=True,
        validators=[validators.validate_username],
        error_messages={"unique": "Username already taken"},
    )
    display_name = models.CharField(max_length=30, validators=[validators.validate_display_name])
    email = models.EmailField("recovery email", max_length=254)
    discord_username = models.CharField(max_length=32, blank=True, validators=[validators.validate_discord_username])
    tier = models.ForeignKey(
        "tiers.Tier",
        on_delete=models.PROTECT,
        related_name="users",
        blank=True,
        help_text="Empty: the default tier.",
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
    signup_note = models.TextField("note to the admins", max_length=500, blank=True, default="", editable=False)
    # The sign-up's mail-domain check could not finish (DNS down or slow): accepted, for staff to look at.
    email_domain_unverified = models.BooleanField(
        "email domain not verified", default=False, help_text="DNS failed while checking the domain at sign-up."
    )
    # The ESP reported a hard bounce or a spam complaint for `email` (accounts/bounces.py): no
    # email goes to it until the member confirms another address (or staff clear it).
    email_undeliverable_at = models.DateTimeField("email undeliverable since", null=True, blank=True, editable=False)
    email_undeliverable_reason = models.CharField(max_length=200, blank=True, default="", editable=False)
    # The owner asked to delete the account (README, "Deleting an account"): it is shut out
    # until `deletes_at`, when the beat's finalizer removes it; a cancel link undoes it until then.
    deletion_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Indexed: the finalizer takes the accounts whose moment has come.
    deletes_at = models.DateTimeField("deletion scheduled for", null=True, blank=True, editable=False, db_index=True)
    # A program's account (the sign-up front end's, `manage.py create_service_account`): never on
    # YunoHost, never staff, refused everywhere but its own tokens and what its permissions open.
    is_service_account = models.BooleanField(default=False, editable=False)
    # The account has a YunoHost user (created through the lane, or imported from YunoHost): its
    # password is YunoHost's to decide (services.password_matches), since the member may change
    # it in YunoHost's portal. False for accounts not provisioned yet, staff made with
    # createsuperuser and service accounts: their local hash decides.
    on_yunohost = models.BooleanField("has a YunoHost user", default=False, editable=False)
    # The YunoHost server the account is on: chosen when its YunoHost user is first queued
    # (provisioning/fleet.py, the placement rule), and never changed; its websites go there too.
    server = models.ForeignKey(
        "provisioning.Server", null=True, blank=True, on_delete=models.PROTECT, related_name="members", editable=False
    )

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["username"]
        permissions = [("create_user_via_seed", "Can call /create_user")]
        indexes = [
            # The admin's changelist shows the newest accounts first.
            models.Index(fields=["date_joined", "id"], name="user_date_joined"),
        ]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="unique_email_ci",
                violation_error_message="Email already registered",
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
        CONFIRM = "confirm", "Email confirmation"
        RESET = "reset", "Password reset"
        CANCEL_DELETION = "cancel_deletion", "Cancel an account deletion"
        MFA = "mfa", "Login second step"

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

    Every door that creates an account refuses it like a taken name (`services._taken`); the
    deletion finalizer prunes the rows whose time is over.
    """

    username = models.CharField(max_length=30, unique=True)
    reserved_until = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["username"]
        verbose_name = "quarantined username"

    def __str__(self) -> str:
        return self.username


class LoginSession(models.Model):
    """One login: a refresh token (and the access tokens minted from it, which copy its `sid`
    claim, through refresh rotations too) or a member page's browser session.

    Ending one (`ended_at`) is final: `services.session_end` also denies its `sid` in the cache
    and every process's revocation mirror, so its access tokens die at once without any query.
    """

    class Kind(models.TextChoices):
        API = "api", "API tokens"
        PAGE = "page", "Account pages"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.API)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # A readable label derived from the user agent ("Firefox on Linux").
    client = models.CharField(max_length=60, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["user", "ended_at"], name="loginsession_user_ended")]

    def __str__(self) -> str:
        return f"{self.client or 'Session'} of {self.user_id}"


class EmailChange(models.Model):
    """A member asked to use another address. The link to the new address confirms it
    (`digest`); once switched, the old address gets an undo link (`undo_digest`). Both are
    stored as SHA-256 only, made and mailed by the worker, single use and expiring."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
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

    def __str__(self) -> str:
        return f"Email change of {self.user_id}"


class Invitation(models.Model):
    """An email invitation to sign up: a referral whose code only its link can use.

    Like a OneTimeToken, the link's secret is stored only as its SHA-256 (set by the worker
    that mails it, so the raw value never reaches the broker or the database) and is used once,
    by a conditional UPDATE. Who invited whom is recorded like any referral: the single-use
    `referral_code` (owned by the inviter) becomes the new account's `referral_code`.
    """

    email = models.EmailField(max_length=254)
    note = models.CharField(max_length=500, blank=True, default="")
    inviter = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations_sent")
    referral_code = models.OneToOneField("tiers.ReferralCode", on_delete=models.PROTECT, related_name="invitation")
    # Unique index: the sign-up page looks an invitation up by its digest. Empty until mailed.
    digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    invitee = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitation")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The member cap counts an inviter's pending invitations.
            models.Index(fields=["inviter", "used_at", "cancelled_at"], name="invitation_inviter_pending"),
        ]

    def __str__(self) -> str:
        return f"Invitation for {self.email}"

    digest_of = staticmethod(OneTimeToken.digest_of)

    @property
    def state(self) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        if self.used_at is not None:
            return "used"
        if self.expires_at <= timezone.now():
            return "expired"
        return "pending"


class StaffNotice(models.Model):
    """An event staff hear of by email too (a pending request, a failed provisioning), queued
    here so that one digest per STAFF_DIGEST_WINDOW carries a burst of them."""

    class Kind(models.TextChoices):
        PENDING_REQUEST = "pending_request", "Sign-up waiting for approval"
        PROVISIONING_FAILED = "provisioning_failed", "Provisioning failed"
        EMAIL_UNDELIVERABLE = "email_undeliverable", "Email address undeliverable"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    text = models.CharField(max_length=1000)
    created_at = models.DateTimeField(default=timezone.now)
    # Indexed: the digest takes the rows not sent yet.
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.text[:50]}"


class SiteSettings(models.Model):
    """The words staff control: one row (pk 1), edited in the admin, read through
    accounts.site (cached; the service that saves it clears the cache)."""

    SINGLETON = 1

    service_name = models.CharField(max_length=60, default="blahaj.land", help_text="In every page and email.")
    contact_email = models.EmailField(blank=True, help_text="Shown in every page and email, if set.")
    signup_text = models.TextField(
        blank=True, max_length=3000, help_text="Above the sign-up form. Markdown: emphasis, links, lists."
    )
    approval_criteria = models.TextField(
        blank=True, max_length=3000, help_text="Who gets an account (shown when approval is on). Markdown."
    )

    class Meta:
        verbose_name = verbose_name_plural = "site settings"

    def __str__(self) -> str:
        return "Site settings"


def network_normalized(value: str) -> str:
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValidationError("Give an address or a CIDR range, e.g. 203.0.113.7 or 2001:db8::/32.") from None


class NetworkBlock(models.Model):
    """An address or range that may not sign up (README, "Abuse defences"), until it expires."""

    network = models.CharField(
        max_length=49,  # an IPv6 address with its /128, with room
        unique=True,
        help_text="An address or a CIDR range: 203.0.113.7, 203.0.113.0/24, 2001:db8::/32.",
    )
    reason = models.CharField(max_length=200, blank=True, default="", help_text="For staff only.")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: until removed.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
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
        help_text="A domain (its subdomains too): throwaway.example. Also matched against mail servers.",
    )
    reason = models.CharField(max_length=200, blank=True, default="", help_text="For staff only.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain

    def clean(self) -> None:
        self.domain = domain_normalized(self.domain)


def domain_normalized(value: str) -> str:
    domain = value.strip().strip(".").lower()
    labels = domain.split(".")
    if len(domain) > 253 or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValidationError("Give a domain name, e.g. throwaway.example.")
    return domain


_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


class AbuseReport(models.Model):
    """Someone tells staff about an account or a site (the public /abuse/ page or the API)."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        PHISHING = "phishing", "Phishing or fraud"
        MALWARE = "malware", "Malware"
        HARASSMENT = "harassment", "Harassment or hate"
        ILLEGAL = "illegal", "Illegal content"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    target = models.CharField(max_length=253, help_text="A site's address or a username, as the reporter wrote it.")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    details = models.TextField(max_length=3000)
    reply_to = models.EmailField(max_length=254, blank=True, default="")
    # Indexed with created_at: the staff list is "open reports, newest first".
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        User,
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
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"], name="abuse_report_status_created")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_reason_display()}: {self.target}"


# --- The second factor's devices (accounts/mfa.py uses them; nothing else should) -------------
# django-otp's own TOTP and static devices kept the TOTP secret and the recovery codes in plain
# text: whoever read a database dump could pass every staff member's second factor. These keep
# the secret encrypted (blahaj.crypto, a key derived from DJANGO_SECRET_KEY) and the recovery
# codes as SHA-256 only.


_THROTTLE_FIELDS = ["throttling_failure_timestamp", "throttling_failure_count"]


def new_totp_secret() -> str:
    """A fresh TOTP secret (20 random bytes, as django-otp's), encrypted."""
    return crypto.encrypt(random_hex(20))


class AuthenticatorApp(TimestampMixin, ThrottlingMixin, Device):
    """A TOTP device (RFC 6238) like django-otp's TOTPDevice (same defaults: 30 s steps from
    t0 0, 6 digits, one step of tolerance, drift, `last_t` replay protection), whose secret is
    stored only as a Fernet ciphertext of its hex form.

    A secret that no configured key decrypts (the secret key changed without its fallback)
    accepts no code: the member falls back to recovery codes, or staff remove the device.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="authenticator_apps")
    encrypted_secret = models.TextField(default=new_totp_secret, editable=False)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "authenticator app"

    @property
    def bin_key(self) -> bytes:
        """The secret (crypto.SecretUnreadable if no configured key opens it)."""
        return unhexlify(crypto.decrypt(self.encrypted_secret).encode())

    def secret_readable(self) -> bool:
        try:
            self.bin_key  # noqa: B018 - decrypting is the check
        except crypto.SecretUnreadable:
            return False
        return True

    def verify_token(self, token: Any) -> bool:
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        verified = False
        try:
            key = self.bin_key
        except crypto.SecretUnreadable:
            logger.warning(
                "The TOTP secret of user id %s cannot be decrypted with the current or a fallback "
                "secret key: the device accepts no code.",
                self.user_id,
            )
            key = None
        if key is not None and str(token).isascii() and str(token).isdigit():
            totp = TOTP(key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = bool(totp.verify(int(token), self.tolerance, self.last_t + 1))
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save(update_fields=[*_THROTTLE_FIELDS, "last_used_at", "last_t", "drift"])
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1))

    @property
    def config_url(self) -> str:
        """The otpauth:// URL an authenticator app scans (issuer from OTP_TOTP_ISSUER)."""
        label = str(self.user.get_username())
        params = urlencode(
            {"secret": b32encode(self.bin_key), "algorithm": "SHA1", "digits": self.digits, "period": self.step}
        )
        issuer = str(getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"


def recovery_code_digest(code: str) -> str:
    """The stored form of a recovery code: SHA-256 of its normalized form (no spaces or
    dashes, lower case). The codes are random (80 bits), so no salt is needed."""
    return hashlib.sha256("".join(code.split()).replace("-", "").lower().encode()).hexdigest()


class RecoveryCodes(TimestampMixin, ThrottlingMixin, Device):
    """An account's set of single-use recovery codes, as one django-otp device (what a session
    verified by a recovery code records). The codes are RecoveryCode rows: digests only."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_code_sets")

    class Meta(Device.Meta):
        verbose_name = "recovery code set"

    def get_throttle_factor(self) -> int:
        return int(getattr(settings, "OTP_STATIC_THROTTLE_FACTOR", 1))

    def verify_token(self, token: Any) -> bool:
        """Spend `token` if it is one of the set's unused codes: a conditional UPDATE, so of
        two requests with one code only one succeeds."""
        verify_allowed, _ = self.verify_is_allowed()
        if not verify_allowed:
            return False
        spent = RecoveryCode.objects.filter(
            device=self, digest=recovery_code_digest(str(token)), used_at__isnull=True
        ).update(used_at=timezone.now())
        if spent:
            self.throttle_reset(commit=False)
            self.set_last_used_timestamp(commit=False)
            self.save(update_fields=[*_THROTTLE_FIELDS, "last_used_at"])
        else:
            self.throttle_increment()
        return bool(spent)


class RecoveryCode(models.Model):
    """One recovery code of a set, as its SHA-256 (recovery_code_digest); `used_at` once spent."""

    device = models.ForeignKey(RecoveryCodes, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "digest"], name="recoverycode_device_digest")]

    def __str__(self) -> str:
        return f"Recovery code {self.pk} of set {self.device_id}"
