"""The website services: one per action, used by the API, the legacy routes, the pages and the
admin alike. Keyword-only; each runs in one transaction, and what leaves the process (emails,
lane messages, notifications) is queued for after its commit."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
import notifications
from accounts.models import User
from blahaj.crypto import SecretUnreadable, decrypt
from blahaj.errors import ApplicationError, Conflict, Gone
from provisioning import services as lane_services
from provisioning.models import Operation

from . import content, dns, emails, lane, rules, selectors
from .models import Website

Status = Website.Status
# The states in which a site has (or is getting) something on YunoHost.
ON_YUNOHOST = (Status.PROVISIONING, Status.LIVE, Status.FAILED)
logger = logging.getLogger(__name__)

# The audit log's object for a service that takes `website=` (audit/recorder.py).
_SITE = audit.of("website", "website")


class TokenInvalid(ApplicationError):
    code = "token_invalid"
    message = gettext_lazy("This confirmation link is not valid.")  # a lazy translation


class TokenExpired(Gone):
    code = "token_expired"
    message = gettext_lazy("This confirmation link has expired: ask for the website again.")  # a lazy translation


class LimitReached(Conflict):
    code = "website_limit_reached"
    message = gettext_lazy("Your tier's website limit is reached.")  # a lazy translation


class DomainTaken(Conflict):
    code = "domain_taken"
    message = gettext_lazy("This domain is already taken.")  # a lazy translation


class DomainOnYunohost(Conflict):
    code = "domain_exists_on_yunohost"
    message = gettext_lazy(
        "This name is already in use on our server, outside the members' websites: choose another."
    )  # a lazy translation


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _kind(kind: str, git_url: str) -> tuple[str, str]:
    if kind not in Website.Kind.values:
        raise ApplicationError(
            _("Kind: choose sftp, git or ssg."), code="invalid", fields={"kind": [_("Not a valid kind.")]}
        )
    if kind == Website.Kind.SFTP:
        if git_url:
            raise rules.GitUrlInvalid(
                _("Git URL: an SFTP site takes no git URL."), fields={"git_url": [_("Not for an SFTP site.")]}
            )
        return kind, ""
    if not git_url:
        raise rules.GitUrlInvalid(
            _("Git URL: a git or ssg site needs one."), fields={"git_url": [_("This field is required.")]}
        )
    return kind, rules.git_url_check(git_url)


def website_request(*, owner: User, domain: str, kind: str = Website.Kind.SFTP, git_url: str = "") -> Website:
    """Record a site waiting for its owner's confirmation, and mail the confirmation link.

    The checks that need no lock come first (nothing is recorded for bad input); the tier's
    limits are then checked and the row inserted with the owner's row locked, so concurrent
    requests of one owner are counted one after the other.
    """
    domain = rules.domain_normalize(domain)
    kind, git_url = _kind(kind, git_url)
    _check_server(owner, domain)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=owner.pk)
        tier = locked.tier
        rules.domain_check_tier(domain, custom_domains=bool(tier and tier.custom_domains))
        if Website.objects.filter(domain__iexact=domain).exclude(status=Status.DELETED).exists():
            raise DomainTaken()
        if tier is None or selectors.websites_counted(owner_id=owner.pk) >= tier.max_websites:
            raise LimitReached()
        try:
            with transaction.atomic():
                website = Website.objects.create(
                    owner=locked,
                    domain=domain,
                    kind=kind,
                    git_url=git_url,
                    verification_token=secrets.token_urlsafe(24),
                )
        except IntegrityError:
            raise DomainTaken() from None
        if kind != Website.Kind.SFTP:
            content.publisher().created(website=website)  # its webhook URL, shown from now on
        emails.send_confirmation(website=website)
        notifications.website_requested(username=locked.username, domain=domain, kind=kind)
    return website


def _check_server(owner: User, domain: str) -> None:
    """A name YunoHost has that is none of our sites is someone else's (an admin's): refused.

    Asked before the transaction (no row is locked while YunoHost answers), after the cheap
    refusals; the lane asks again before `domain add`, which only ever adds a name it made.
    """
    rules.domain_check_tier(domain, custom_domains=bool(owner.tier and owner.tier.custom_domains))
    if Website.objects.filter(domain__iexact=domain).exclude(status=Status.DELETED).exists():
        raise DomainTaken()
    if lane_services.domain_on_yunohost(domain=domain, server_id=owner.server_id):  # the owner's server
        raise DomainOnYunohost()


def website_confirmation_issue(*, website: Website) -> str:
    """A new confirmation token (in the worker, right before the email is sent)."""
    token = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(seconds=settings.WEBSITES_CONFIRM_TOKEN_LIFETIME)
    Website.objects.filter(pk=website.pk).update(confirmation_token_hash=_hash(token), confirmation_expires_at=expires)
    return token


@transaction.atomic
def website_confirm(*, token: str, website_id: int | None = None) -> tuple[Website, bool]:
    """Confirm the site of this link (and of `website_id`, when the caller names one):
    (site, True) if it was confirmed already.

    Single use: the first use starts the site (verification for a custom domain, else
    provisioning); any later use changes nothing.
    """
    candidates = Website.objects.select_for_update().select_related("owner")
    if website_id is not None:
        candidates = candidates.filter(pk=website_id)
    website = candidates.filter(confirmation_token_hash=_hash(token)).first() if token else None
    if website is None or website.status == Status.DELETED:
        raise TokenInvalid()
    if website.confirmed_at is not None:
        return website, True
    if website.confirmation_expires_at is None or website.confirmation_expires_at < timezone.now():
        raise TokenExpired()
    website.confirmed_at = timezone.now()
    if website.is_custom_domain and website.verified_at is None:
        website.status = Status.PENDING_VERIFICATION
    else:
        website.status = Status.PROVISIONING
        lane.website_provision(website=website)
    website.save(update_fields=["confirmed_at", "status", "updated_at"])
    return website, False


def website_verify_domain(*, website: Website) -> bool:
    """Look for the TXT record `_blahaj-verify.<domain>` holding the site's token.

    Found: the domain is verified, and a confirmed site waiting for it starts provisioning.
    The look-up happens before the transaction: no row is locked while DNS answers. It is
    bounded and limited (websites/dns.py): raises VerificationRunning or VerificationBusy.
    """
    if not website.is_custom_domain:
        return True
    found = website.verification_token in dns.txt_values_now(website.verification_record)
    with transaction.atomic():
        locked = Website.objects.select_for_update().get(pk=website.pk)
        if found:
            locked.verified_at = locked.verified_at or timezone.now()
            if locked.status == Status.PENDING_VERIFICATION:
                locked.status = Status.PROVISIONING
                lane.website_provision(website=locked)
            locked.save(update_fields=["verified_at", "status", "updated_at"])
    website.refresh_from_db()
    return found


def websites_recheck_domains() -> list[str]:
    """Check every verified custom domain again; staff are told of each that stopped verifying.

    Its verification is withdrawn (the owner sees it and can verify again); the site stays up.
    """
    lost = []
    candidates = Website.objects.select_related("owner").filter(
        verified_at__isnull=False, status__in=[Status.LIVE, Status.PROVISIONING, Status.FAILED]
    )
    for website in candidates:
        if not website.is_custom_domain:
            continue
        if website.verification_token in dns.txt_values(website.verification_record):
            continue
        with transaction.atomic():
            Website.objects.filter(pk=website.pk).update(verified_at=None)
            notifications.domain_unverified(username=website.owner.username, domain=website.domain)
        lost.append(website.domain)
    return lost


def websites_git_pull() -> int:
    """The beat's pull, the fallback of the push webhooks: a deploy of each live git or ssg site
    whose repository moved, coalesced with any waiting one (a slow worker does not pile them up).
    Returns how many were asked for."""
    return content.publisher().pull()


@transaction.atomic
@audit.audited("website.delete", target=_SITE, detail=lambda _, site: site.domain)
def website_delete(*, website: Website) -> Website:
    """Delete the site: at once if nothing was made on YunoHost yet, else through the lane
    (app remove, then domain remove). Deleting a site being deleted changes nothing."""
    locked = Website.objects.select_for_update().select_related("owner").get(pk=website.pk)
    if locked.status in (Status.DELETING, Status.DELETED):
        return locked
    if locked.status in ON_YUNOHOST:
        locked.status = Status.DELETING
        locked.save(update_fields=["status", "updated_at"])
        lane.website_remove(website=locked)
    else:
        locked.status, locked.deleted_at = Status.DELETED, timezone.now()
        locked.save(update_fields=["status", "deleted_at", "updated_at"])
        emails.send_deleted(website=locked)
    return locked


@transaction.atomic
@audit.audited(
    "website.put_back",
    target=_SITE,
    detail=lambda kwargs, _: "domain missing" if kwargs["domain_missing"] else "app missing",
)
def website_put_back(*, website: Website, domain_missing: bool) -> Operation:
    """A live site whose domain (and so its app) or app YunoHost no longer lists, after a restore
    or a hand removal (`manage.py reconcile --fix`): provisioned again from the missing step; the
    lane's outcomes bring it back live. What our records said YunoHost had is closed first, so
    an object someone else made under the same name meanwhile is refused, never adopted.

    A site with a step waiting on the lane already is left to it: nothing new is queued."""
    locked = _live(website)
    if domain_missing:
        lane_services.owned_records_close(kind="domain", name=locked.domain)
    locked.status = Status.PROVISIONING
    locked.failed_step = locked.error = ""
    locked.save(update_fields=["status", "failed_step", "error", "updated_at"])
    return lane.website_put_back(website=locked, domain_missing=domain_missing)


def _live(website: Website) -> Website:
    locked = Website.objects.select_for_update().select_related("owner").get(pk=website.pk)
    if locked.status != Status.LIVE:
        raise Conflict(_("This can be done only to a site that is live."), code="website_not_live")
    return locked


def _not_suspended(website: Website) -> Website:
    if website.is_suspended:
        raise Conflict(_("This site is suspended: ask staff."), code="website_suspended")
    return website


def _waiting(website: Website, kind: str) -> Operation | None:
    """The site's step of `kind` that the lane has not started yet. The caller holds the site's
    row lock, so no second one can be queued meanwhile."""
    return (
        Operation.objects.filter(
            subject=website.subject, kind=kind, args__website_id=website.pk, status=Operation.Status.PENDING
        )
        .order_by("-sequence")
        .first()
    )


@transaction.atomic
@audit.audited("website.reset", target=_SITE)
def website_reset(*, website: Website) -> Operation:
    """Wipe the site's files back to the initial state (same SFTP login; a new password is mailed).

    A reset still waiting on the lane is the answer to another: nothing new is queued.
    """
    locked = _not_suspended(_live(website))
    return _waiting(locked, Operation.Kind.WEBAPP_RESET) or lane.website_reset(website=locked)


@transaction.atomic
@audit.audited("website.sftp_password.rotate", target=_SITE)
def website_sftp_password_rotate(*, website: Website) -> Operation:
    """Set a new, generated SFTP password and mail it once to the owner.

    A new password still waiting on the lane is the answer to another: nothing new is queued
    (that one is mailed when it is set).
    """
    locked = _live(website)
    if locked.kind != Website.Kind.SFTP or not locked.app_id:
        raise Conflict(_("This site has no SFTP access."), code="no_sftp")
    return _waiting(locked, Operation.Kind.APP_CONFIG_SET) or lane.website_set_sftp_password(website=locked)


def website_failed_operation(*, website: Website) -> Operation | None:
    return (
        Operation.objects.filter(subject=website.subject, args__website_id=website.pk, status=Operation.Status.FAILED)
        .order_by("-sequence")
        .first()
    )


@audit.audited("website.retry", target=_SITE, detail=lambda _, operation: f"operation {operation.pk}")
def website_retry(*, website: Website) -> Operation:
    """Staff: run the failed step again; the plan goes on from there."""
    operation = website_failed_operation(website=website)
    if operation is None or website.status != Status.FAILED:
        raise Conflict(_("This site has no failed step to retry."), code="not_failed")
    return lane_services.operation_retry(operation=operation)


# --- Suspension ---------------------------------------------------------------------------------

ACCOUNT_REASON = "Your account was suspended."


class WebsiteGone(Conflict):
    code = "website_deleted"
    message = gettext_lazy("This website was deleted.")  # a lazy translation


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(
            _("Reason: say why the site is suspended."),
            code="invalid",
            fields={"reason": [_("This field is required.")]},
        )
    return reason[:2000]


@audit.audited(
    "website.suspend",
    target=_SITE,
    detail=lambda kwargs, site: f"{site.domain}" + (" (with the account)" if kwargs.get("with_account") else ""),
)
def website_suspend(*, website: Website, reason: str, actor: User | None, with_account: bool = False) -> Website:
    """Staff: the site answers only to its owner and the admins on YunoHost (through the lane),
    and the owner is told why. It keeps its status and still counts against the tier.

    Suspending a suspended site changes nothing, except that a suspension that came with the
    account becomes the site's own (enabling the account no longer lifts it).
    """
    reason = _reason(reason)
    with transaction.atomic():
        locked = Website.objects.select_for_update().select_related("owner").get(pk=website.pk)
        if locked.status in (Status.DELETING, Status.DELETED):
            raise WebsiteGone()
        if locked.is_suspended:
            if locked.suspended_with_account and not with_account:
                locked.suspended_with_account, locked.suspension_reason = False, reason
                locked.save(update_fields=["suspended_with_account", "suspension_reason", "updated_at"])
            return locked
        locked.suspended_at, locked.suspension_reason = timezone.now(), reason
        locked.suspended_with_account = with_account
        locked.save(update_fields=["suspended_at", "suspension_reason", "suspended_with_account", "updated_at"])
        if locked.status in ON_YUNOHOST:
            # A site whose app is not installed yet gets this step again once it is (lane.app_installed).
            lane.website_access(website=locked, state=lane.SUSPENDED)
        emails.send_suspended(website=locked)
        logger.info(
            "Website %s suspended by %s", locked.domain, actor.username if actor else "the account's suspension"
        )
    return locked


@audit.audited("website.unsuspend", target=_SITE, detail=lambda _, site: site.domain)
def website_unsuspend(*, website: Website, actor: User | None) -> Website:
    """Undo `website_suspend`: the site is public again, and what the suspension allowed
    (admins, the owner) is taken back unless it was allowed before; the owner is told."""
    with transaction.atomic():
        locked = Website.objects.select_for_update().select_related("owner").get(pk=website.pk)
        if not locked.is_suspended:
            return locked
        locked.suspended_at, locked.suspension_reason, locked.suspended_with_account = None, "", False
        locked.save(update_fields=["suspended_at", "suspension_reason", "suspended_with_account", "updated_at"])
        if locked.status in ON_YUNOHOST:
            suspension = lane.last_suspension(website=locked)
            lane.website_access(website=locked, state=lane.PUBLIC, suspension=suspension.pk if suspension else None)
        if locked.status != Status.DELETED:
            emails.send_unsuspended(website=locked)
        logger.info("Website %s unsuspended by %s", locked.domain, actor.username if actor else "the account's return")
    return locked


def websites_suspend_with_account(*, user: User) -> int:
    """The account was disabled: each of its sites not suspended yet is, with the account."""
    sites = Website.objects.filter(owner_id=user.pk, suspended_at__isnull=True).exclude(
        status__in=[Status.DELETING, Status.DELETED]
    )
    for site in sites:
        website_suspend(website=site, reason=ACCOUNT_REASON, actor=None, with_account=True)
    return len(sites)


def websites_unsuspend_with_account(*, user: User) -> int:
    """The account is enabled again: the sites suspended with it come back; those suspended for
    themselves stay suspended."""
    sites = Website.objects.filter(owner_id=user.pk, suspended_at__isnull=False, suspended_with_account=True)
    for site in sites:
        website_unsuspend(website=site, actor=None)
    return len(sites)


# --- The account is being deleted ---------------------------------------------------------------


def websites_delete_with_account(*, user: User) -> bool:
    """The account's deletion is due (accounts.signals.user_erasing, in the finalizer's
    transaction): each of its sites not on its way out starts its deletion. True once every
    site is deleted; False while removals still run (or one failed: staff retry its step).

    Idempotent: a site being deleted, or whose deletion failed, is not queued again.
    """
    remaining = Website.objects.filter(owner_id=user.pk).exclude(status=Status.DELETED)
    all_gone = True
    for site in remaining:
        removal_failed = site.status == Status.FAILED and site.failed_step in lane.DELETE_KINDS
        if site.status != Status.DELETING and not removal_failed:
            site = website_delete(website=site)
        all_gone = all_gone and site.status == Status.DELETED
    return all_gone


# --- Emails (in the worker) -------------------------------------------------------------------


def website_email_deliver(*, kind: str, website_id: int) -> None:
    website = Website.objects.select_related("owner").filter(pk=website_id).first()
    if website is None or kind not in emails.KINDS:
        return
    extra: dict[str, Any] = {}
    if kind == emails.CONFIRMATION:
        if website.status != Status.PENDING_CONFIRMATION:
            return  # confirmed or deleted meanwhile
        extra["link"] = emails.confirmation_link(website_confirmation_issue(website=website))
    if kind == emails.SUSPENDED and not website.is_suspended:
        return  # lifted meanwhile: no reason left to tell
    if kind == emails.SFTP_PASSWORD:
        if not website.pending_password:
            return  # sent already
        try:
            extra["password"] = decrypt(website.pending_password)
        except SecretUnreadable:
            return
    emails.render(kind, website=website, **extra).send()
    if kind == emails.SFTP_PASSWORD:
        # Only this encrypted copy, and only if no newer password replaced it meanwhile.
        Website.objects.filter(pk=website.pk, pending_password=website.pending_password).update(pending_password="")
