"""Which language a request, a page or an email speaks (docs/i18n.md).

The order, for a request: the switcher's choice (Django's language cookie), else the
`Accept-Language` header, else the signed-in account's `language`, else English. Django's
LocaleMiddleware does the first two; `account_language` (a page session) and `prefer_account`
(the API's token authentication) do the third, only when the request named no language itself.
An email speaks its recipient's account language (`blahaj.mail.render`), whatever the request
that queued it. The API's `code` values and field names never change with the language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation


def codes() -> list[str]:
    """The languages the service speaks, e.g. ["en", "fr"]."""
    return [code for code, _ in settings.LANGUAGES]


def supported(code: str) -> str:
    """`code` if the service speaks it (a regional variant is taken as its language), else the default."""
    base = (code or "").lower().split("-")[0]
    return base if base in codes() else settings.LANGUAGE_CODE


def named_by_request(request: HttpRequest) -> bool:
    """Whether the request itself chose a language: the switcher's cookie or Accept-Language."""
    return bool(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or request.META.get("HTTP_ACCEPT_LANGUAGE"))


def prefer_account(request: Any, user: Any) -> None:
    """Speak `user`'s language for the rest of `request`, unless the request named one."""
    language = getattr(user, "language", "")
    django_request = getattr(request, "_request", request)  # a DRF request wraps Django's
    if language and not named_by_request(django_request):
        translation.activate(language)
        django_request.LANGUAGE_CODE = language


def account_language(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """A signed-in page session that named no language reads its account's (after the auth middleware)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            prefer_account(request, user)
        return get_response(request)

    return middleware


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Render what is inside in `language` (the default when it is empty or unknown)."""
    code = supported(language or "")
    with translation.override(code):
        yield code
