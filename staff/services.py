"""Staff administration: what only the staff API (`/api/users/`) and the staff's management
commands do. The services the admin shares with the staff API (creating, changing, disabling,
approving, rejecting an account) are the account's own, in accounts/services/."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

import audit
from accounts import services as account_services
from accounts.models import User
from accounts.services import email_in_use, user_judge
from accounts.validators import normalize_email
from blahaj.errors import ApplicationError
from provisioning import services as provisioning_services
from provisioning.models import Server

# --- An account's status, set by hand ---------------------------------------------------------


class InvalidStatusChange(ApplicationError):
    code = "invalid_status_change"
    message = gettext_lazy("Staff can disable an account, or make a disabled one active again; nothing else.")


def user_set_status(*, user: User, status: str) -> User:
    """The status staff may set by hand: disabled, or active for a disabled account."""
    if status == user.status:
        return user
    if status == User.Status.DISABLED:
        account_services.user_disable(user=user)
    elif status == User.Status.ACTIVE and user.status == User.Status.DISABLED:
        account_services.user_enable(user=user)
    else:
        raise InvalidStatusChange()
    return user


# --- Importing YunoHost's users -------------------------------------------------------------


class LaneBusy(ApplicationError):
    status_code = 503
    code = "lane_busy"
    message = gettext_lazy("The YunoHost lane stayed busy; try again in a moment.")


@dataclass
class ImportSummary:
    created: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # username: why


def _yunohost_users(server: Server | None) -> dict[str, dict[str, Any]]:
    """`user list`, read while holding the server's lane: no operation of ours runs there meanwhile."""
    try:
        users = provisioning_services.yunohost_users(server=server)
    except provisioning_services.YunohostReadFailed as error:
        raise ApplicationError(
            _("YunoHost could not list its users: %(error)s") % {"error": error}, code="yunohost_error"
        ) from None
    if users is None:
        raise LaneBusy()
    return users


def _imported_user(username: str, info: dict[str, Any], server: Server | None) -> User:
    # The recovery email is unknown to YunoHost: the account's own mailbox stands in for it
    # (a reset link then reaches the person through their blahaj.land mail).
    mail = info.get("mail") or f"{username}@{server.domain if server else settings.YUNOHOST_DOMAIN}"
    user = User(
        server=server,
        username=username,
        display_name=(info.get("fullname") or username).strip()[:30],
        email=normalize_email(mail),
        status=User.Status.ACTIVE,
        confirmed_at=timezone.now(),
        tier_id=User.objects.default_tier_id(),
        on_yunohost=True,
    )
    user_judge(user, fields=["username", "display_name", "email"])
    if conflict := email_in_use(user):
        raise conflict
    user.set_unusable_password()  # YunoHost has the password; a reset sets ours (and theirs)
    return user


@audit.audited(
    "user.import",
    target=lambda _, __: "yunohost",
    detail=lambda kwargs, summary: (
        ("dry run: " if kwargs.get("dry_run") else "")
        + f"created {len(summary.created)}, already there {len(summary.already_there)}, skipped {len(summary.skipped)}"
    ),
)
def users_import_from_yunohost(*, dry_run: bool = False, server: Server | None = None) -> ImportSummary:
    """Create, as active accounts on `server` (default: the first server), the YunoHost users
    it has that we have no account for. Idempotent."""
    summary = ImportSummary()
    known = set(User.objects.values_list("username", flat=True))
    server = server or provisioning_services.server_first()
    for username, info in sorted(_yunohost_users(server).items()):
        if username in known:
            summary.already_there.append(username)
            continue
        try:
            user = _imported_user(username, info, server)
            if not dry_run:
                with transaction.atomic():
                    user.save()
                    # Staff's word: from now on the service may change and delete this user.
                    provisioning_services.users_adopt(usernames=[username], server=server)
        except (ApplicationError, IntegrityError) as error:
            summary.skipped[username] = str(error.message) if isinstance(error, ApplicationError) else "already taken"
            continue
        summary.created.append(username)
    return summary
