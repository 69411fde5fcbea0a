"""An account's YunoHost user: what accounts asks of the lane, and what the lane's answers do.

The lane (provisioning) runs commands and knows nothing of accounts. This module turns an
account change into lane operations (`account_create`, `account_set_password`,
`account_delete`); the services call these inside their own transaction. What a finished
`user.create` means to the account (active and welcomed, or failed) is in services/outcomes.py, wired to
the lane in `AccountsConfig.ready()`.
"""

from __future__ import annotations

import logging

from django.db import transaction

from blahaj.crypto import SecretUnreadable, decrypt, encrypt
from fleet import services as fleet
from provisioning import selectors as lane_selectors
from provisioning import services as lane
from provisioning.models import Operation, Server

from .models import User

logger = logging.getLogger(__name__)

Kind = Operation.Kind


def user_subject(username: str) -> str:
    return f"user:{username}"


def _yunohost_user_state(user: User) -> str:
    """ "none", "failed" (its creation failed for good) or "exists" (exists or will exist).

    An imported account (staff's `yunohost_import`) has a YunoHost user and no `user create`."""
    last = lane_selectors.operation_last(
        subject=user_subject(user.username), kinds=[Kind.USER_CREATE, Kind.USER_DELETE]
    )
    if last is None:
        return "exists" if user.on_yunohost else "none"
    if last.kind == Kind.USER_DELETE:
        return "none"
    return "failed" if last.status == Operation.Status.FAILED else "exists"


def _failed_creation(username: str) -> Operation:
    """The failed `user create` that puts the account in the "failed" state."""
    failed = lane_selectors.operation_last(subject=user_subject(username), kinds=[Kind.USER_CREATE])
    if failed is None:  # the "failed" state is read from this very operation
        raise AssertionError(f"{username} has no failed user creation")
    return failed


def _random_password() -> str:
    return lane.password_random()


def _signup_password(user: User) -> str:
    if not user.pending_password:
        # Created by staff: a random password; the owner sets theirs through a reset.
        return _random_password()
    try:
        return decrypt(user.pending_password)
    except SecretUnreadable:
        logger.warning(
            "The sign-up password of %s cannot be decrypted (DJANGO_SECRET_KEY changed); "
            "the account gets a random one and needs a password reset.",
            user.username,
        )
        return _random_password()


def _set_pending_password(user: User, value: str) -> None:
    # This one column only: nothing a cache or a token depends on changes with it.
    User.objects.filter(pk=user.pk).update(pending_password=value)
    user.pending_password = value


def _place(user: User) -> Server:
    """The account's server: the one it is on (staff chose it, or an earlier creation placed it),
    else the fleet's rule with its tier's pinned server (fleet/services.py). Every door that
    creates an account comes here: sign-up, the seed's /create_user, staff, invitations."""
    server = fleet.server_place(chosen=user.server, pinned_id=user.tier.server_id)
    if user.server_id != server.pk:
        User.objects.filter(pk=user.pk).update(server=server)
    user.server = server
    return server


@transaction.atomic
def account_create(*, user: User) -> Operation:
    """Place the account on a server and queue `user create` there, with the password chosen
    at sign-up."""
    server = _place(user)
    password = _signup_password(user)
    _set_pending_password(user, "")
    args = {
        "username": user.username,
        "fullname": user.display_name,
        "domain": server.domain,
        "mailbox_quota": user.tier.mailbox_quota,
    }
    operation = lane.operation_create(
        kind=Kind.USER_CREATE,
        subject=user_subject(user.username),
        args=args,
        secrets={"password": password},
        user=user,
        server=server,
    )
    # The record of our intent goes with the operation: a restored dump that holds one holds the
    # other (the lane still takes an existing user for ours only if it is what we asked for).
    lane.user_intend(username=user.username, domain=server.domain, operation=operation)
    return operation


_DONE_STATUSES = (User.Status.ACTIVE, User.Status.DISABLED)


def account_place(*, user: User) -> lane_selectors.Place | None:
    """Where the account's creation on YunoHost stands (GET /api/user/me, the confirm page):
    waiting (with its place in line and when it should start), running, done or failed; None
    before it is queued (not confirmed or not approved yet)."""
    server = user.server
    if server is None:
        return None
    if user.status in _DONE_STATUSES:
        return lane_selectors.Place(state="done", server=server.name)
    operation = lane_selectors.operation_last(subject=user_subject(user.username), kinds=[Kind.USER_CREATE])
    if operation is None:
        return lane_selectors.Place(state="done" if user.on_yunohost else "waiting", server=server.name)
    return lane_selectors.operation_place(operation, server)


@transaction.atomic
def account_set_password(*, user: User, password: str) -> Operation | None:
    """Give YunoHost the new password, if the account has or will have a YunoHost user."""
    state = _yunohost_user_state(user)
    if state == "exists":
        return lane.operation_create(
            kind=Kind.USER_UPDATE,
            subject=user_subject(user.username),
            args={"username": user.username},
            secrets={"password": password},
            user=user,
        )
    if state == "failed":
        # A staff retry of the failed creation will use this password.
        failed = _failed_creation(user.username)
        lane.operation_replace_secrets(operation=failed, secrets={"password": password})
        if user.status == User.Status.PROVISIONING_FAILED and lane_selectors.password_refused(operation=failed):
            # YunoHost refused the sign-up password and its owner chose another: no staff needed.
            return lane.operation_retry(operation=failed)
    elif user.pending_password:
        # Not provisioned yet (awaiting confirmation or approval): provision with this one.
        _set_pending_password(user, encrypt(password))
    return None


def account_has_user(*, user: User) -> bool:
    """Whether the account has, will have, or failed to get a YunoHost user."""
    return _yunohost_user_state(user) != "none"


@transaction.atomic
def account_lock(*, user: User) -> Operation | None:
    """Shut a disabled account out of YunoHost: its password there becomes a random one
    nobody knows, so mail, SSO and SFTP logins stop (YunoHost has no "disabled" flag).

    Not a permission change: removing a user from `all_users` is refused by YunoHost and the
    per-app permissions would miss mail. A creation that failed gets the random password for a
    staff retry; an account not provisioned yet keeps its sign-up password (nothing to lock).
    """
    if _yunohost_user_state(user) == "none":
        return None
    return account_set_password(user=user, password=_random_password())


@transaction.atomic
def account_delete(*, user: User) -> Operation | None:
    """Queue `user delete` (with its home and mail) if a YunoHost user was ever asked for."""
    if user.pending_password:
        _set_pending_password(user, "")
    if _yunohost_user_state(user) == "none":
        return None
    return lane.operation_create(
        kind=Kind.USER_DELETE,
        subject=user_subject(user.username),
        args={"username": user.username, "purge": True},
        user=user,
    )


@transaction.atomic
def account_set_fullname(*, user: User) -> Operation | None:
    """Give YunoHost the new display name, if the account has or will have a YunoHost user."""
    state = _yunohost_user_state(user)
    if state == "failed":
        # A staff retry of the failed creation must create the user under the new name.
        lane.operation_update_args(operation=_failed_creation(user.username), args={"fullname": user.display_name})
        return None
    if state != "exists":
        return None  # nothing there yet: a creation queued later takes the name from the row
    return lane.operation_create(
        kind=Kind.USER_UPDATE,
        subject=user_subject(user.username),
        args={"username": user.username, "fullname": user.display_name},
        user=user,
    )


def accounts_set_quota(*, members: list[tuple[int, str]], quota: str) -> list[Operation]:
    """Queue `user update --mailbox-quota` for these (id, username) accounts, each on its
    server: one INSERT."""
    servers = dict(User.objects.filter(pk__in=[pk for pk, _ in members]).values_list("pk", "server_id"))
    return lane.operations_create_bulk(
        kind=Kind.USER_UPDATE,
        operations=[
            lane.NewOperation(
                subject=user_subject(username),
                args={"username": username, "mailbox_quota": quota},
                user_id=pk,
                server_id=servers.get(pk),
            )
            for pk, username in members
        ],
    )
