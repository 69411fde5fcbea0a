"""The input rules of docs/api.md §6, in one place (a password's are the password policy's:
passwords/policy.py): what we accept, YunoHost accepts too.

Model fields, serializers, forms and the admin all use these functions, so no entry point
can let in a value that `yunohost user create` would refuse later.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from provisioning.passwords import MAX_PASSWORD

USERNAME_RE = re.compile(r"[a-z0-9_.]{1,30}")  # fullmatch: "$" would let "name\n" in
DISCORD_RE = re.compile(r"[a-z0-9_.]{2,32}")
DISPLAY_NAME_MAX = 30
DISPLAY_NAME_SEPARATORS = frozenset(" ,.'-")
PASSWORD_MIN = 10
# YunoHost refuses 127 characters and more (password_too_long): one number, the lane's.
PASSWORD_MAX = MAX_PASSWORD

# YunoHost refuses these: ADMIN_ALIASES (mail_unavailable), its group names (the LDAP cn
# check), and names of system users in /etc/passwd (system_username_exists), which include
# the services of a YunoHost server and one system user per installed app instance.
RESERVED_USERNAMES = frozenset(
    """
    root admin admins webmaster postmaster abuse all_users visitors
    daemon bin sys sync games man lp mail news uucp proxy www-data backup list irc gnats
    nobody nogroup systemd-network systemd-resolve systemd-timesync messagebus sshd
    postfix dovecot dovenull vmail opendkim rspamd _rspamd redis mysql postgres metronome
    slapd openldap nslcd avahi dnsmasq yunohost yunohost-api ssowat nginx php
    ssh.app sftp.app ssh sftp my_webapp hostmaster noreply no-reply support security
    info contact staff blahaj
    """.split()
)
_APP_INSTANCE_RE = re.compile(r"[a-z0-9_]+__[1-9][0-9]*")


def validate_username(value: str) -> None:
    if not USERNAME_RE.fullmatch(value or ""):
        raise ValidationError(_("Use 1 to 30 lower-case letters, digits, dots or underscores."), code="invalid")
    if not value.strip("."):
        # "." and ".." become paths on YunoHost (home and mail directories).
        raise ValidationError(_("A username needs at least one letter, digit or underscore."), code="invalid")
    if value in RESERVED_USERNAMES or _APP_INSTANCE_RE.fullmatch(value):
        raise ValidationError(_("This username is reserved."), code="reserved")


def is_valid_display_name(value: str) -> bool:
    """YunoHost's fullname pattern `^([^\\W_]{1,30}[ ,.'-]{0,3})+$`, checked in linear time.

    The regex's nested quantifiers backtrack exponentially on a near-miss; this is the same
    language: letters or digits (no underscore) first, then those or the separators, and no
    run of more than three separators.
    """
    if not value or not value[0].isalnum():
        return False
    run = 0
    for char in value:
        if char.isalnum():
            run = 0
        elif char in DISPLAY_NAME_SEPARATORS:
            run += 1
            if run > 3:
                return False
        else:
            return False
    return True


def validate_display_name(value: str) -> None:
    if len(value) > DISPLAY_NAME_MAX:
        raise ValidationError(_("Use at most %(max)s characters.") % {"max": DISPLAY_NAME_MAX}, code="max_length")
    if not is_valid_display_name(value):
        raise ValidationError(
            _("Use letters and digits, with single spaces, commas, dots, apostrophes or hyphens between them."),
            code="invalid",
        )


def validate_discord_username(value: str) -> None:
    if not DISCORD_RE.fullmatch(value) or ".." in value:
        raise ValidationError(
            _("A Discord username is 2 to 32 lower-case letters, digits, underscores or dots."),
            code="invalid",
        )


def normalize_email(value: str) -> str:
    """Strip, and lower-case the domain (the local part is the mailbox owner's business)."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}" if at else value
