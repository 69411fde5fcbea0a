"""Who decides a password.

An active account has a YunoHost user, whose password the member can change in YunoHost's own
portal: YunoHost's answer (provisioning/passwords.py) decides, the local hash follows it. Every
other account is not on YunoHost yet: the local hash decides. (Whether a new password is good
enough is the accounts' rule: accounts/services/passwords.py.)"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from blahaj.errors import ServiceUnavailable
from provisioning import passwords as yunohost_passwords

from . import tokens

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger(__name__)


def password_matches(*, user: User, password: str) -> bool:
    """Whether `password` is the account's: the one place that decides (every login door, and
    the password a signed-in member gives again to change or delete something). YunoHost
    decides for an active account (`_password_ok`, below)."""
    return _password_ok(user, password)


# The name asked about for an unknown user: a valid one (an invalid name is refused before any
# request, which would be quicker); whatever YunoHost answers about it is ignored.
_NOBODY = "blahaj.unknown.member"


class YunohostUnreachable(ServiceUnavailable):
    code = "yunohost_unreachable"
    message = _(
        "We cannot check your password right now because the server is unreachable. Try again in a few minutes."
    )


def _yunohost_decides(username: str, password: str, *, probe: bool = False) -> bool | None:
    """YunoHost's answer, or None when the local hash decides (not asked, or unreachable)."""
    verdict = yunohost_passwords.check_password(username, password, probe=probe)
    if verdict is yunohost_passwords.Verdict.UNREACHABLE:
        if settings.YUNOHOST_PASSWORD_UNREACHABLE == "refuse":  # noqa: S105 - a setting's value, no secret
            raise YunohostUnreachable()
        logger.warning("YunoHost could not check a password; the local hash decides for %s", username)
        return None
    if verdict is yunohost_passwords.Verdict.UNDECIDED:
        return None
    return verdict is yunohost_passwords.Verdict.ACCEPTED


def _on_settings_server(user: User) -> bool:
    """Whether the account's YunoHost user is on the server YUNOHOST_PASSWORD_CHECK asks (the
    first one); a member on another server is judged by the local hash (docs/deploy.md, 6C)."""
    server = user.server if user.server_id is not None else None
    return server is None or server.uses_settings


def _password_ok(user: User, password: str) -> bool:
    local = user.check_password(password)
    if user.status != user.Status.ACTIVE or not user.on_yunohost or not _on_settings_server(user):
        # The local hash decides, but YunoHost is asked all the same (about nobody, the answer
        # ignored, an outage too): the time of an answer must not tell which accounts are on
        # YunoHost, nor which names exist (_unknown_user_check does the same work).
        yunohost_passwords.check_password(_NOBODY, password, probe=True)
        return local
    remote = _yunohost_decides(user.username, password)
    if remote is None:
        return local
    if remote and not local:
        user_adopt_yunohost_password(user=user, password=password)
    return remote


def _unknown_user_check(password: str) -> None:
    """The work of a known active user's check, for a name that has no account: a hash and a
    question to YunoHost, so that the time of an answer does not tell which names exist."""
    get_user_model()().set_password(password)
    _yunohost_decides(_NOBODY, password, probe=True)


@transaction.atomic
def user_adopt_yunohost_password(*, user: User, password: str) -> None:
    """The member changed their password on YunoHost: the local hash follows and every earlier
    token stops working. Nothing goes to the lane: YunoHost has this password already."""
    user.set_password(password)
    user.save(update_fields=["password", "tokens_valid_after"])
    tokens.user_saved(user, cutoff_moved=True)
