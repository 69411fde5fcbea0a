"""Login sessions: one row per login (a refresh token's, or a member page's browser session).

The services start, touch and end them; nothing here is called by a view. Ending a session
marks the row (`ended_at`) and, where its tokens could still work, denies its `sid` in the
cache and every process's revocation mirror (logins/tokens.py): the hot path
(logins/authentication.py) never queries this table.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework_simplejwt.exceptions import InvalidToken

from blahaj.errors import NotFound

from . import tokens
from .models import LoginSession

if TYPE_CHECKING:
    from accounts.models import User

USER_AGENT_MAX = 300
# How often last_used_at may be written for one session: a refresh or a page view within a
# minute of the last write changes nothing.
TOUCH_SECONDS = 60

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chromium/", "Chromium"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
    ("python-requests/", "Python requests"),
    ("okhttp/", "Android app"),
)
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def client_label(user_agent: str) -> str:
    """A readable name for a User-Agent ("Firefox on Linux"); "Unknown client" otherwise."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return str(browser or system)
    word = re.match(r"[A-Za-z][A-Za-z0-9._-]{0,30}", user_agent.strip())
    return word.group(0) if word else "Unknown client"


def _lifetime(kind: str) -> timedelta:
    """How long an unused session of this kind can still work: a refresh token's lifetime,
    or a page session cookie's."""
    if kind == LoginSession.Kind.PAGE:
        return timedelta(seconds=settings.SESSION_COOKIE_AGE)
    return timedelta(seconds=tokens.lifetime_seconds(tokens.RefreshToken))


def session_start(*, user: User, kind: str, ip: str | None, user_agent: str) -> LoginSession:
    agent = (user_agent or "").replace("\x00", "")[:USER_AGENT_MAX]
    return LoginSession.objects.create(
        user=user,
        kind=kind,
        ip=ip or None,
        user_agent=agent,
        client=client_label(agent)[:60],
    )


def sessions_alive(*, user: User) -> QuerySet[LoginSession]:
    """The user's sessions that are not ended and could still be used, newest use first."""
    now = timezone.now()
    alive = LoginSession.objects.filter(user=user, ended_at__isnull=True).order_by("-last_used_at", "-id")
    return alive.filter(kind=LoginSession.Kind.API, last_used_at__gt=now - _lifetime(LoginSession.Kind.API)) | (
        alive.filter(kind=LoginSession.Kind.PAGE, last_used_at__gt=now - _lifetime(LoginSession.Kind.PAGE))
    )


def parse_id(session_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(session_id))
    except ValueError:
        return None


def session_check(*, session_id: str, user_id: int) -> None:
    """Refuse (InvalidToken) a session that ended or is not the user's; note the use (at
    most one write a minute)."""
    public_id = parse_id(session_id)
    if public_id is None:
        raise InvalidToken(_("Token is invalid or expired."))
    row = (
        LoginSession.objects.filter(public_id=public_id, user_id=user_id)
        .values_list("ended_at", "last_used_at")
        .first()
    )
    if row is None or row[0] is not None:
        raise InvalidToken(_("Token is invalid or expired."))
    now = timezone.now()
    if row[1] < now - timedelta(seconds=TOUCH_SECONDS):
        LoginSession.objects.filter(
            public_id=public_id, last_used_at__lt=now - timedelta(seconds=TOUCH_SECONDS)
        ).update(last_used_at=now)


def page_session_alive(*, session_id: str, user_id: int) -> bool:
    """Whether a member page's session still stands (and note its use); False once ended."""
    try:
        session_check(session_id=session_id, user_id=user_id)
    except InvalidToken:
        return False
    return True


def session_end(*, user: User, session_id: str) -> None:
    """End one of the user's live sessions: its refresh token and its access tokens die at
    once. Another user's session, or one that already ended, is a 404."""
    public_id = parse_id(session_id)
    ended = (
        public_id is not None
        and LoginSession.objects.filter(public_id=public_id, user=user, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
        > 0
    )
    if not ended:
        raise NotFound(_("No such session."))
    # In the caller's transaction: an unreachable cache raises (503) and rolls the end back,
    # rather than answer that tokens died which still work.
    tokens.deny_session(str(public_id))


def session_end_by_token(*, session_id: str | None) -> None:
    """The session of a revoked refresh token ends with it (no error if there is none)."""
    public_id = parse_id(session_id) if session_id else None
    if public_id is None:
        return
    if LoginSession.objects.filter(public_id=public_id, ended_at__isnull=True).update(ended_at=timezone.now()):
        tokens.deny_session(str(public_id))


def sessions_end_all(*, user: User, keep: str | None = None) -> None:
    """Mark every live session of the user ended but `keep`.

    Their tokens need no denial: every caller moves the user's token cut-off in the same
    transaction (logout-all, password changes and resets, disabling, an undone email change).
    """
    live = LoginSession.objects.filter(user=user, ended_at__isnull=True)
    keep_id = parse_id(keep) if keep else None
    if keep_id is not None:
        live = live.exclude(public_id=keep_id)
    live.update(ended_at=timezone.now())


def sessions_prune() -> int:
    """Delete sessions that ended (or went unused past their lifetime) more than
    ACCOUNTS_SESSION_RETENTION seconds ago; how many went."""
    now = timezone.now()
    keep = timedelta(seconds=settings.ACCOUNTS_SESSION_RETENTION)
    ended = LoginSession.objects.filter(ended_at__lt=now - keep)
    stale_api = LoginSession.objects.filter(
        kind=LoginSession.Kind.API, last_used_at__lt=now - keep - _lifetime(LoginSession.Kind.API)
    )
    stale_page = LoginSession.objects.filter(
        kind=LoginSession.Kind.PAGE, last_used_at__lt=now - keep - _lifetime(LoginSession.Kind.PAGE)
    )
    deleted, _ = (ended | stale_api | stale_page).delete()
    return deleted
