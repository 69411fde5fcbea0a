"""YunoHost's own password policy (docs/yunohost.md §1.6), so that a password accepted here is one
``user create`` accepts too.

YunoHost (``src/utils/password.py``, the same in 11.2 and 12) refuses a password that

* is one of a few words (``SMALL_PWD_LIST``), or appears *inside* any line of its list of the
  100,000 most used passwords (``grep -q -F -f - <list>``: a substring search, case-sensitive);
* has fewer characters of each kind than the level of its ``security.password.user_strength``
  setting asks (``STRENGTH_LEVELS``; -1 turns both checks off).

``YunohostPasswordValidator`` applies the same rules as a Django password validator (in
``AUTH_PASSWORD_VALIDATORS``: sign-up, reset and change, on every door). The list is read from
``YUNOHOST_PASSWORD_LIST`` (plain or ``.gz``, as YunoHost ships it), once per process and again
when the file changes; without it the other rules still apply and a warning is logged once.
"""

from __future__ import annotations

import gzip
import logging
import os
import re
import secrets
import string
import threading
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

# The name it has always had (log filters and alerts use it), wherever the module lives.
logger = logging.getLogger("provisioning.password_policy")

SMALL_PWD_LIST = ["yunohost", "olinuxino", "olinux", "raspberry", "admin", "root", "test", "rpi"]
# Length, digits, lowercase, uppercase, others: what each level of the setting asks.
STRENGTH_LEVELS = [(8, 0, 0, 0, 0), (8, 1, 1, 1, 0), (8, 1, 1, 1, 1), (12, 1, 1, 1, 1)]
MESSAGES = {
    "password_listed": "This password is among the most used passwords in the world. "
    "Please choose something more unique.",
    "password_too_simple_1": "The password needs to be at least 8 characters long.",
    "password_too_simple_2": "The password needs to be at least 8 characters long and contain "
    "a digit, upper and lower characters.",
    "password_too_simple_3": "The password needs to be at least 8 characters long and contain "
    "a digit, upper, lower and special characters.",
    "password_too_simple_4": "The password needs to be at least 12 characters long and contain "
    "a digit, upper, lower and special characters.",
}
# What each level asks beyond 8 characters, for the help text.
_KINDS = {
    2: "a digit, an upper and a lower case letter",
    3: "a digit, an upper and a lower case letter, and another character",
    4: "at least 12 characters: a digit, an upper and a lower case letter, and another character",
}
# The English texts of those keys as `user create` words them (locales/en.json): the refusals
# a new password can fix.
_REFUSAL_RE = re.compile(
    r"This password is among the most used passwords|The password needs to be at least|"
    r"password_listed|password_too_simple_"
)

_lock = threading.Lock()
_loaded: dict[str, Any] = {"key": None, "text": ""}
_warned: set[str] = set()


def _list_file(path: str) -> tuple[str, bool] | None:
    if os.path.exists(path):
        return path, False
    if os.path.exists(path + ".gz"):
        return path + ".gz", True
    return None


def _list_text() -> str | None:
    """The list as one string (its lines joined by newlines), or None when it cannot be read."""
    path = settings.YUNOHOST_PASSWORD_LIST
    found = _list_file(path)
    try:
        if found is None:
            raise FileNotFoundError(path)
        name, packed = found
        key = (name, os.stat(name).st_mtime_ns)
        with _lock:
            if _loaded["key"] != key:
                with gzip.open(name, "rb") if packed else open(name, "rb") as f:
                    _loaded["text"] = f.read().decode("utf-8", "replace")
                _loaded["key"] = key
            return str(_loaded["text"])
    except OSError as e:
        if path not in _warned:
            _warned.add(path)
            logger.warning(
                "YunoHost's list of common passwords (%s) cannot be read (%s): only the length and "
                "character rules apply here, and YunoHost may still refuse a listed password.",
                path,
                type(e).__name__,
            )
        return None


def is_listed(password: str) -> bool:
    """Whether YunoHost calls this password "listed"."""
    if password in SMALL_PWD_LIST:
        return True
    text = _list_text()
    if not text:
        return False
    patterns = password.split("\n")  # grep -f: one fixed-string pattern per line of stdin
    if len(patterns) > 1 and patterns[-1] == "":
        patterns.pop()
    return any(pattern in text for pattern in patterns)


def strength_level(password: str) -> int:
    """The highest of YunoHost's levels this password meets (0 to 4)."""
    digits = sum(c in string.digits for c in password)
    lower = sum(c in string.ascii_lowercase for c in password)
    upper = sum(c in string.ascii_uppercase for c in password)
    counts = (len(password), digits, lower, upper, len(password) - digits - lower - upper)
    level = 0
    for index, needed in enumerate(STRENGTH_LEVELS):
        if any(count < need for count, need in zip(counts, needed, strict=True)):
            break
        level = index + 1
    return level


def refusal(password: str) -> str | None:
    """The key of YunoHost's refusal of this password (``password_listed``,
    ``password_too_simple_<level>``), or None when YunoHost accepts it."""
    required = int(settings.YUNOHOST_PASSWORD_STRENGTH)
    if required < 0:
        return None
    if is_listed(password):
        return "password_listed"
    if strength_level(password) < required:
        return f"password_too_simple_{required}"
    return None


def refused_password(error: str) -> bool:
    """Whether a failed ``user create``'s error is YunoHost refusing the password."""
    return bool(_REFUSAL_RE.search(error))


def random_password() -> str:
    """A password nobody knows that YunoHost accepts at any level: 32 random URL-safe characters
    and one of each kind (a random one could lack a digit or a symbol)."""
    kinds = [string.ascii_lowercase, string.ascii_uppercase, string.digits, "-_.~"]
    return secrets.token_urlsafe(24) + "".join(secrets.choice(kind) for kind in kinds)


class YunohostPasswordValidator:
    """Django's side of YunoHost's policy: refuse what ``user create`` would refuse."""

    def validate(self, password: str, user: Any = None) -> None:
        key = refusal(password)
        if key is not None:
            raise ValidationError(MESSAGES[key], code=key.rstrip("_1234"))

    def get_help_text(self) -> str:
        kinds = _KINDS.get(int(settings.YUNOHOST_PASSWORD_STRENGTH), "")
        listed = "It cannot be, or be part of, one of the most used passwords in the world."
        return f"It needs {kinds}. {listed}" if kinds else listed
