"""A member page's Django session lives only as long as its login session.

A page login (/account/login/) starts a LoginSession like a token login does and keeps its id
in the Django session. When that login session ends (the sessions page or API, logout-all, a
password change elsewhere, disabling), the browser is signed out on its next request; so is a
service account's, which has no member pages. Only
requests that carry such a session pay the one query; API calls and anonymous visitors don't.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from . import services

SESSION_KEY = "blahaj_login_session"


def member_session(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    def middleware(request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and session.session_key is not None:
            session_id = session.get(SESSION_KEY)
            user = request.user
            # A service account never holds a Django session (the page login refuses it, the
            # admin's wants staff); one that does anyway is signed out, whatever made it. A
            # session with no signed-in user costs no query here.
            if user.is_authenticated and (
                getattr(user, "is_service_account", False)
                or (session_id and not services.page_session_alive(user_id=user.pk, session_id=session_id))
            ):
                logout(request)
        return get_response(request)

    return middleware
