"""Registration, confirmation and password reset: a sign-up becomes an account waiting for its
address to be confirmed, then (approval mode) for staff, then provisioning; a reset link sets a new
password."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

import audit
import notifications
from blahaj import crypto, outbox
from blahaj.errors import Conflict, Forbidden
from invitations import services as invitation_services
from languages import i18n
from logins.services import user_for_identifier
from notices import services as notice_services
from notices.models import StaffNotice
from provisioning import services as provisioning_services
from tiers.models import ReferralCode

from .. import emails
from ..models import OneTimeToken, User
from ..validators import normalize_email
from .lifecycle import user_begin_provisioning, user_set_password, username_quarantined
from .links import TokenInvalid, email_deliver, one_time_token_check, one_time_token_use
from .passwords import password_validation_errors
from .records import _USER, _user_move, user_save, validation_failed
from .terms import _terms_record
from .tiers import _referral_code_claim


def _validate_new_account(*, user: User, password: str) -> None:
    errors: dict[str, list[str]] = {}
    try:
        # Uniqueness is answered with 409 (below), not as a field error.
        user.full_clean(exclude=["password", "tier"], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        errors.update(error.message_dict)
    if password_errors := password_validation_errors(user=user, password=password):
        errors["password"] = password_errors
    if errors:
        raise validation_failed(errors)


def user_taken(user: User) -> Conflict | None:
    # A quarantined name (a deleted account's) is answered exactly like a taken one.
    if User.objects.filter(username=user.username).exists() or username_quarantined(user.username):
        return Conflict(_("Username already taken"), code="username_taken")
    if User.objects.filter(email__iexact=user.email).exists():
        return Conflict(_("Email already registered"), code="email_taken")
    return None


def _taken_on_yunohost(user: User) -> Conflict | None:
    """A name YunoHost has that no account here has is someone else's (an admin's user, made by
    hand): answered like a taken name, never handed out. Asked before any row is written; when
    YunoHost does not answer the sign-up goes on, and the lane's `user create` refuses a user it
    did not make (docs/yunohost.md §11.4)."""
    if provisioning_services.user_on_yunohost(username=user.username):
        return Conflict(_("Username already taken"), code="username_taken")
    return None


def user_register(
    *,
    username: str,
    display_name: str,
    email: str,
    password: str,
    discord_username: str = "",
    referral_code: str = "",
    accept_terms: bool = False,
    note: str = "",
    invitation: str = "",
    language: str | None = None,
) -> User:
    """Create a `pending_confirmation` account and mail its confirmation link.

    The password is stored hashed, and also encrypted (`pending_password`) until YunoHost
    has it: `yunohost user create` needs the clear text. With an `invitation` (the token of
    its link), the link has confirmed the address: no confirmation email, no approval, the
    account goes straight on to provisioning. `language` (default: the request's) is the one
    its emails speak.
    """
    if not settings.ACCOUNTS_REGISTRATION_OPEN:
        raise Forbidden(_("Registration is closed for now."), code="registration_closed")
    user = User(
        username=username,
        display_name=display_name,
        email=normalize_email(email),
        discord_username=discord_username,
        signup_note=note.strip(),
        language=i18n.supported(language or translation.get_language() or ""),
    )
    _validate_new_account(user=user, password=password)
    _terms_record(user, accepted=accept_terms)
    invited = invitation_services.invitation_for_signup(raw=invitation, email=user.email) if invitation else None
    if conflict := user_taken(user) or _taken_on_yunohost(user):
        raise conflict
    try:
        with transaction.atomic():
            if invited is not None:
                invitation_services.invitation_claim(invitation=invited)
                user.referral_code_id, user.tier_id = _referral_code_claim(invited.referral_code.code)
            elif referral_code:
                user.referral_code_id, user.tier_id = _referral_code_claim(referral_code, public=True)
            user.tier_id = user.tier_id or User.objects.default_tier_id()
            user.set_password(password)
            user.pending_password = crypto.encrypt(password)
            if invited is not None:
                user.confirmed_at = timezone.now()
            user.save()
            if invited is not None:
                user_begin_provisioning(user=user)
                invitation_services.invitation_accepted(invitation=invited, invitee=user)
            else:
                emails.send_confirmation(user=user)
    except IntegrityError:
        # Lost a race to a concurrent sign-up: its row is committed, so `user_taken` sees it.
        raise user_taken(user) or Conflict(_("Please try again."), code="conflict") from None
    return user


def _referral_skips_approval(user: User) -> bool:
    # Read now, not at sign-up: a code staff deactivated meanwhile no longer lets anyone in.
    return (
        user.referral_code_id is not None
        and ReferralCode.objects.filter(pk=user.referral_code_id, is_active=True, skips_approval=True).exists()
    )


@transaction.atomic
def user_confirm_email(*, token: str) -> User:
    """Use a confirmation token: on to approval, or straight to provisioning."""
    row = one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.CONFIRM)
    user = row.user
    if user.status != User.Status.PENDING_CONFIRMATION:
        raise TokenInvalid()
    one_time_token_use(row)
    user.confirmed_at = timezone.now()
    user_save(user, fields=["confirmed_at"])
    if settings.ACCOUNTS_REQUIRE_APPROVAL and not _referral_skips_approval(user):
        _user_move(user, from_statuses=(User.Status.PENDING_CONFIRMATION,), to=User.Status.PENDING_APPROVAL)
        notifications.signup_waiting(username=user.username, display_name=user.display_name, note=user.signup_note)
        notice_services.staff_notice_record(
            kind=StaffNotice.Kind.PENDING_REQUEST,
            text=f"{user.username} ({user.display_name}) waits for approval."
            + (f" Their note: {user.signup_note}" if user.signup_note else ""),
        )
    else:
        user_begin_provisioning(user=user)
    return user


@audit.audited("user.approve", target=_USER)
def user_approve(*, user: User) -> None:
    """Staff let a confirmed account in (approval mode): provisioning starts."""
    if user.status != User.Status.PENDING_APPROVAL:
        raise Conflict(_("Only an account waiting for approval can be approved."), code="invalid_status")
    user_begin_provisioning(user=user)
    emails.send_approved(user=user)


def user_request_confirmation(*, email: str) -> None:
    """Mail a new confirmation link if `email` belongs to an unconfirmed account.

    The request does no lookup at all: the worker does it. So a known and an unknown address
    cost the request the same work and get the same answer, byte for byte.
    """
    outbox.enqueue("accounts.tasks.resend_confirmation_to", email)


def user_request_password_reset(*, identifier: str) -> None:
    """Mail a reset link to the account with this email or username, if there is one.

    Like `user_request_confirmation`, the lookup happens in the worker.
    """
    outbox.enqueue("accounts.tasks.send_password_reset_to", identifier)


def user_confirmation_redeliver(*, email: str) -> None:
    """Worker side of `user_request_confirmation`."""
    user = User.objects.filter(email__iexact=normalize_email(email), status=User.Status.PENDING_CONFIRMATION).first()
    if user is not None:
        email_deliver(kind=emails.CONFIRMATION, user=user)


def user_password_reset_deliver(*, identifier: str) -> None:
    """Worker side of `user_request_password_reset`."""
    user = user_for_identifier(identifier)
    if user is not None and user.status != User.Status.DISABLED:
        email_deliver(kind=emails.PASSWORD_RESET, user=user)


def user_from_reset_token(*, token: str) -> User:
    """The account a reset link belongs to, without using the link (the form page's GET)."""
    return one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.RESET).user


@transaction.atomic
def user_confirm_password_reset(*, token: str, password: str) -> User:
    """Set the password chosen through a reset link.

    The token is used only once the password passes the policy, so a refused password
    leaves the link working. Every JWT of the user dies (`user_set_password`), so does every
    other reset link, and the user is told by email.
    """
    row = one_time_token_check(raw=token, purpose=OneTimeToken.Purpose.RESET)
    user = row.user
    if password_errors := password_validation_errors(user=user, password=password):
        raise validation_failed({"password": password_errors})
    one_time_token_use(row)
    user_set_password(user=user, password=password)
    OneTimeToken.objects.filter(user=user, purpose=OneTimeToken.Purpose.RESET).delete()
    if user.pending_password:
        # Not on YunoHost yet: the account must be created with the new password.
        user.pending_password = crypto.encrypt(password)
        user.save(update_fields=["pending_password"])
    emails.send_password_changed(user=user)
    return user
