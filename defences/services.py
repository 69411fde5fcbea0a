"""The abuse defences (README, "Abuse defences"): what stands in front of the sign-up and the
abuse report (a proof-of-work challenge, blocked networks and email domains; the honeypot is the
forms' own, defences/forms.py), and the abuse reports staff work through.

The challenge is ALTCHA's (v1: find the number n with SHA-256(salt + n) = challenge, the salt
carrying its expiry, the whole signed with our HMAC key), computed by the visitor's browser:
no third party sees anything. A solved challenge is accepted once: its signature is remembered
in the cache until it expires.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs

import altcha
import disposable_email_domains
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
import notifications
from blahaj.errors import ApplicationError, Conflict
from blahaj.lookups import as_id

from . import mail_domains
from .models import AbuseReport, EmailDomainBlock, NetworkBlock, domain_normalized, network_normalized

if TYPE_CHECKING:
    from accounts.models import User

CHALLENGE_OFF = "off"
CHALLENGE_ALTCHA = "altcha"
_PAYLOAD_MAX = 2000
_ALGORITHM: Final = "SHA-256"  # what SubtleCrypto computes in every browser


class NetworkBlocked(ApplicationError):
    status_code = 403
    code = "network_blocked"
    message = gettext_lazy("Sign-ups from your network are blocked for now. If this is a mistake, write to the staff.")


class EmailDomainBlocked(ApplicationError):
    code = "email_domain_blocked"
    message = gettext_lazy("We do not accept sign-ups with addresses at this domain. Please use another email address.")


class ChallengeFailed(ApplicationError):
    code = "challenge_failed"
    message = gettext_lazy("The anti-robot check is missing, expired or wrong. Reload the page and try again.")


def _hmac_key() -> str:
    # Its own setting if given; otherwise derived from SECRET_KEY, so nothing else to configure.
    # The salt keeps the name of the module this began in: another would change the key.
    own: str = settings.SIGNUP_CHALLENGE_HMAC_KEY
    return own or salted_hmac("accounts.defences.challenge", "altcha", algorithm="sha256").hexdigest()


def challenge_create() -> dict[str, Any]:
    """A fresh challenge, as ALTCHA's widget and `accounts/altcha.js` read it."""
    expires = timezone.now() + timedelta(seconds=settings.SIGNUP_CHALLENGE_LIFETIME)
    options = altcha.ChallengeOptionsV1(
        algorithm=_ALGORITHM,
        hmac_key=_hmac_key(),
        max_number=settings.SIGNUP_CHALLENGE_MAX_NUMBER,
        expires=expires,
    )
    return dict(altcha.create_challenge_v1(options).to_dict())


def _decode(payload: str) -> dict[str, Any] | None:
    if not payload or len(payload) > _PAYLOAD_MAX:
        return None
    try:
        decoded = json.loads(base64.b64decode(payload, validate=True))
    except (binascii.Error, ValueError):
        return None
    fields = ("algorithm", "challenge", "salt", "signature")
    if not isinstance(decoded, dict) or not all(isinstance(decoded.get(name), str) for name in fields):
        return None
    number = decoded.get("number")
    if not isinstance(number, int) or isinstance(number, bool) or number < 0:
        return None
    if decoded["algorithm"] != _ALGORITHM:
        return None
    return decoded


def _expires_at(salt: str) -> int | None:
    query = salt.partition("?")[2]
    values = parse_qs(query).get("expires", [])
    # One expiry only: a salt with two could be read one way here and another by altcha.
    if len(values) != 1:
        return None
    return as_id(values[0])


def challenge_verify(*, payload: str) -> None:
    """Accept a solved challenge once, or raise ChallengeFailed (missing, wrong, expired, reused)."""
    decoded = _decode(payload)
    expires = _expires_at(decoded["salt"]) if decoded else None
    if decoded is None or expires is None or expires <= time.time():
        raise ChallengeFailed()
    solution = altcha.PayloadV1(
        algorithm=_ALGORITHM,
        challenge=decoded["challenge"],
        number=decoded["number"],
        salt=decoded["salt"],
        signature=decoded["signature"],
    )
    ok = altcha.verify_solution_v1(solution, _hmac_key(), check_expires=True)[0]
    if not ok:
        raise ChallengeFailed()
    # add() is atomic on Redis: of two requests with one solution, exactly one wins.
    remember = max(1, int(expires - time.time()) + 1)
    if not cache.add(f"signup-challenge:{decoded['signature']}", 1, timeout=remember):
        raise ChallengeFailed()


def challenge_required(*, api: bool) -> bool:
    if settings.SIGNUP_CHALLENGE == CHALLENGE_OFF:
        return False
    return bool(settings.SIGNUP_CHALLENGE_API) if api else True


def network_blocked(*, ip: str) -> bool:
    """Is `ip` in a block that has not expired? (A handful of rows: read them all.)"""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    live = NetworkBlock.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    for network in live.values_list("network", flat=True):
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except (ValueError, TypeError):  # a mixed family (v4 address, v6 range) or a bad row
            continue
    return False


def _network_value(network: str) -> str:
    try:
        return network_normalized(network)
    except ValidationError as error:
        raise ApplicationError(fields={"network": list(error.messages)}) from None


@audit.audited(
    "network_block.create",
    target=lambda kwargs, block: f"network_block:{block.network if block else kwargs['network']}",
)
def network_block_create(
    *, network: str, reason: str = "", expires_at: datetime | None = None, actor: User | None = None
) -> NetworkBlock:
    value = _network_value(network)
    if NetworkBlock.objects.filter(network=value).exists():
        raise Conflict(_("%(value)s is already blocked.") % {"value": value}, code="network_block_exists")
    return NetworkBlock.objects.create(network=value, reason=reason, expires_at=expires_at, created_by=actor)


@audit.audited("network_block.update", target=lambda kwargs, _: f"network_block:{kwargs['block'].network}")
def network_block_update(*, block: NetworkBlock, data: dict[str, Any]) -> NetworkBlock:
    if "network" in data:
        value = _network_value(data["network"])
        if NetworkBlock.objects.filter(network=value).exclude(pk=block.pk).exists():
            raise Conflict(_("%(value)s is already blocked.") % {"value": value}, code="network_block_exists")
        block.network = value
    for name in ("reason", "expires_at"):
        if name in data:
            setattr(block, name, data[name])
    block.save()
    return block


def _parents(domain: str) -> list[str]:
    """`a.b.example` -> a.b.example, b.example, example: a block covers its subdomains."""
    labels = domain.split(".")
    return [".".join(labels[index:]) for index in range(len(labels))]


def _domain_of(email: str) -> str | None:
    try:
        return domain_normalized(email.rpartition("@")[2])
    except ValidationError:
        return None  # not an address: the registration's own validation says so


def email_domain_screen(*, email: str) -> bool:
    """Raise EmailDomainBlocked for a blocked, throwaway or mail-less domain, or one whose
    mail servers are blocked. False when the DNS could not answer: accept, and flag."""
    domain = _domain_of(email)
    if domain is None:
        return True
    names = _parents(domain)
    if any(name in disposable_email_domains.blocklist for name in names):
        raise EmailDomainBlocked()
    if EmailDomainBlock.objects.filter(domain__in=names).exists():
        raise EmailDomainBlocked()
    if not settings.SIGNUP_CHECK_MX:
        return True
    try:
        hosts = mail_domains.mail_hosts(domain)
    except mail_domains.DnsUnavailable:
        return False
    if not hosts:
        raise EmailDomainBlocked(_("This email domain cannot receive mail. Check the address, or use another one."))
    host_names = {name for host in hosts for name in _parents(host)}
    if EmailDomainBlock.objects.filter(domain__in=host_names).exists():
        raise EmailDomainBlocked()
    return True


def _domain_value(domain: str) -> str:
    try:
        return domain_normalized(domain)
    except ValidationError as error:
        raise ApplicationError(fields={"domain": list(error.messages)}) from None


@audit.audited(
    "email_domain_block.create",
    target=lambda kwargs, block: f"email_domain_block:{block.domain if block else kwargs['domain']}",
)
def email_domain_block_create(*, domain: str, reason: str = "", actor: User | None = None) -> EmailDomainBlock:
    value = _domain_value(domain)
    if EmailDomainBlock.objects.filter(domain=value).exists():
        raise Conflict(_("%(value)s is already blocked.") % {"value": value}, code="email_domain_block_exists")
    return EmailDomainBlock.objects.create(domain=value, reason=reason, created_by=actor)


@audit.audited("email_domain_block.update", target=lambda kwargs, _: f"email_domain_block:{kwargs['block'].domain}")
def email_domain_block_update(*, block: EmailDomainBlock, data: dict[str, Any]) -> EmailDomainBlock:
    if "domain" in data:
        value = _domain_value(data["domain"])
        if EmailDomainBlock.objects.filter(domain=value).exclude(pk=block.pk).exists():
            raise Conflict(_("%(value)s is already blocked.") % {"value": value}, code="email_domain_block_exists")
        block.domain = value
    if "reason" in data:
        block.reason = data["reason"]
    block.save()
    return block


# --- Abuse reports: anyone files one, staff are told on Discord, a staff member takes it and resolves it.

_UNSET = object()


def abuse_report_create(
    *, target: str, reason: str, details: str, reply_to: str = "", challenge: str | None, honeypot: str = ""
) -> AbuseReport | None:
    """File a report; None for a filled honeypot (answered like a success, nothing kept)."""
    if honeypot:
        return None
    if challenge is not None:
        challenge_verify(payload=challenge)
    with transaction.atomic():
        report = AbuseReport.objects.create(
            target=target.strip(), reason=reason, details=details.strip(), reply_to=reply_to.strip()
        )
        # Sent after commit (notifications.discord); every value the reporter typed is neutralised.
        with translation.override(settings.LANGUAGE_CODE):  # staff's channel reads one language
            reason_label = report.get_reason_display()
        notifications.abuse_reported(
            report_id=report.pk, reason=reason_label, target=report.target, details=report.details
        )
    return report


@audit.audited(
    "abuse_report.update",
    target=audit.of("abuse_report", "report"),
    detail=lambda kwargs, report: f"status {report.status}",
)
def abuse_report_update(
    *,
    report: AbuseReport,
    assignee: User | object | None = _UNSET,
    status: str | None = None,
    staff_note: str | None = None,
) -> AbuseReport:
    """Assign (a staff member, or None), resolve or reopen, and note."""
    user_model = get_user_model()
    fields = []
    if assignee is not _UNSET:
        if assignee is not None and not (isinstance(assignee, user_model) and assignee.is_staff):
            raise ApplicationError(fields={"assignee": [_("Reports are assigned to staff members.")]})
        report.assignee = assignee if isinstance(assignee, user_model) else None
        fields.append("assignee")
    if status is not None and status != report.status:
        report.status = status
        report.resolved_at = timezone.now() if status == AbuseReport.Status.RESOLVED else None
        fields += ["status", "resolved_at"]
    if staff_note is not None:
        report.staff_note = staff_note
        fields.append("staff_note")
    if fields:
        report.save(update_fields=fields)
    return report
