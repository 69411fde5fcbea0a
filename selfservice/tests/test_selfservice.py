"""Members' self-service API (docs/api.md §1b): login sessions, change password, change email."""
# ruff: noqa: F811 - the lane's fixtures are imported by name, then requested as arguments

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts import services as account_services
from accounts import yunohost as accounts_lane
from accounts.models import User
from accounts.tasks import prune_sessions
from conftest import PASSWORD, CommittingAPIClient
from logins import sessions as login_sessions
from logins.models import LoginSession
from provisioning.models import Operation
from provisioning.tests.conftest import emulator, run_lane, sha256, signed_up, welcomes  # noqa: F401 - fixtures
from selfservice import services
from selfservice.models import EmailChange

from .conftest import STRONG, link_path

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1"
SESSIONS = "/api/user/sessions"


def _client(token: str | None = None) -> CommittingAPIClient:
    client = CommittingAPIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _login(username: str = "alice", password: str = PASSWORD, agent: str = FIREFOX, ip: str = "198.51.100.7") -> dict:
    response = _client().post(
        "/api/user/login",
        {"username": username, "password": password},
        format="json",
        HTTP_USER_AGENT=agent,
        REMOTE_ADDR=ip,
    )
    assert response.status_code == 200, response.content
    return response.json()


def _refused(response) -> None:
    assert (response.status_code, response.json()["code"]) == (401, "token_not_valid")


def _me(access: str):
    return _client(access).get("/api/user/me")


def _refresh(refresh: str):
    return _client(refresh).post("/api/user/refresh")


# --- sessions -------------------------------------------------------------------------------


def test_a_login_starts_a_session_its_tokens_carry(user):
    pair = _login()

    session = LoginSession.objects.get(user=user)
    assert (session.ip, session.user_agent, session.client) == ("198.51.100.7", FIREFOX, "Firefox on Linux")
    assert session.kind == LoginSession.Kind.API and session.ended_at is None
    assert RefreshToken(pair["refresh"])["sid"] == str(session.public_id)
    assert AccessToken(pair["access"])["sid"] == str(session.public_id)
    assert AccessToken(_refresh(pair["refresh"]).json()["access"])["sid"] == str(session.public_id)


def test_the_session_list_shows_the_callers_own_sessions_and_marks_the_current_one(user, other_user):
    laptop = _login()
    phone = _login(agent=PHONE, ip="2001:db8::1")
    _login("bob")

    response = _client(phone["access"]).get(SESSIONS)

    assert response.status_code == 200
    body = response.json()
    assert len(body) == 2
    assert set(body[0]) == {"id", "created_at", "last_used_at", "ip", "user_agent", "client", "current"}
    by_client = {row["client"]: row for row in body}
    assert by_client["Safari on iOS"]["current"] is True
    assert by_client["Safari on iOS"]["ip"] == "2001:db8::1"
    assert by_client["Firefox on Linux"]["current"] is False
    assert by_client["Firefox on Linux"]["id"] == AccessToken(laptop["access"])["sid"]


def test_the_session_list_needs_a_token(user):
    response = _client().get(SESSIONS)
    assert response.status_code == 401


def test_ending_a_session_kills_its_refresh_token_and_its_access_tokens_at_once(user):
    laptop, phone = _login(), _login(agent=PHONE)
    sid = AccessToken(laptop["access"])["sid"]
    assert _me(laptop["access"]).status_code == 200

    response = _client(phone["access"]).delete(f"{SESSIONS}/{sid}")

    assert (response.status_code, response.content) == (204, b"")
    _refused(_me(laptop["access"]))
    _refused(_refresh(laptop["refresh"]))
    assert LoginSession.objects.get(public_id=sid).ended_at is not None
    # The caller's own session lives on, and no longer lists the ended one.
    assert _me(phone["access"]).status_code == 200
    assert [row["current"] for row in _client(phone["access"]).get(SESSIONS).json()] == [True]


def test_a_session_ended_by_the_caller_itself_ends_its_own_tokens(user):
    pair = _login()
    sid = AccessToken(pair["access"])["sid"]

    assert _client(pair["access"]).delete(f"{SESSIONS}/{sid}").status_code == 204

    _refused(_me(pair["access"]))


@pytest.mark.parametrize("which", ["other user's", "ended", "unknown", "not a uuid"])
def test_ending_a_session_that_is_not_a_live_one_of_the_caller_is_a_404(user, other_user, which):
    mine, bobs = _login(), _login("bob")
    ended = _login()
    assert _client(mine["access"]).delete(f"{SESSIONS}/{AccessToken(ended['access'])['sid']}").status_code == 204
    target = {
        "other user's": AccessToken(bobs["access"])["sid"],
        "ended": AccessToken(ended["access"])["sid"],
        "unknown": str(uuid.uuid4()),
        "not a uuid": "1",
    }[which]

    response = _client(mine["access"]).delete(f"{SESSIONS}/{target}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert _me(bobs["access"]).status_code == 200


def test_a_refresh_notes_the_use_at_most_once_a_minute(user):
    pair = _login()
    session = LoginSession.objects.get(user=user)
    first = session.last_used_at

    assert _refresh(pair["refresh"]).status_code == 200
    session.refresh_from_db()
    assert session.last_used_at == first  # within the minute: no write

    LoginSession.objects.filter(pk=session.pk).update(last_used_at=timezone.now() - timedelta(minutes=5))
    assert _refresh(pair["refresh"]).status_code == 200
    session.refresh_from_db()
    assert session.last_used_at > timezone.now() - timedelta(seconds=30)


def test_the_session_survives_refresh_rotation_and_ending_it_kills_the_rotated_token(user, settings):
    settings.JWT_ROTATE_REFRESH_TOKENS = True
    pair = _login()
    rotated = _refresh(pair["refresh"]).json()
    sid = RefreshToken(rotated["refresh"])["sid"]
    assert sid == AccessToken(pair["access"])["sid"]

    services.session_end(user=user, session_id=sid)

    _refused(_refresh(rotated["refresh"]))


def test_revoking_a_refresh_token_ends_its_session(user):
    pair = _login()

    assert _client(pair["refresh"]).delete("/api/user/revoke-refresh").status_code == 200

    assert LoginSession.objects.get(user=user).ended_at is not None
    _refused(_me(pair["access"]))


def test_logout_all_ends_every_session(user):
    first, second = _login(), _login(agent=PHONE)

    assert _client(first["access"]).post("/api/user/logout-all").status_code == 200

    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()
    _refused(_me(second["access"]))
    fresh = _login()
    assert [row["current"] for row in _client(fresh["access"]).get(SESSIONS).json()] == [True]


def test_a_password_reset_and_disabling_end_every_session(user):
    _login()
    account_services.user_set_password(user=user, password=STRONG)
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()
    _login(password=STRONG)
    account_services.user_disable(user=user)
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()


def test_the_seed_login_starts_a_session_too(user):
    response = _client().post(
        "/login", {"username": "alice", "password": PASSWORD}, format="json", HTTP_USER_AGENT=PHONE
    )

    assert response.status_code == 200
    sid = AccessToken(response.json()["access_token"])["sid"]
    assert LoginSession.objects.get(public_id=sid).client == "Safari on iOS"


def test_a_token_from_before_sessions_keeps_working_without_a_session(user):
    legacy = RefreshToken.for_user(user)  # no sid claim

    assert _me(str(legacy.access_token)).status_code == 200
    assert _refresh(str(legacy)).status_code == 200


def test_pruning_deletes_sessions_ended_long_ago_and_dead_email_changes(user, settings):
    settings.ACCOUNTS_SESSION_RETENTION = 3600
    old, recent, live = _login(), _login(), _login()
    long_ago = timezone.now() - timedelta(hours=2)
    LoginSession.objects.filter(public_id=AccessToken(old["access"])["sid"]).update(ended_at=long_ago)
    LoginSession.objects.filter(public_id=AccessToken(recent["access"])["sid"]).update(ended_at=timezone.now())
    stale = LoginSession.objects.create(user=user, last_used_at=timezone.now() - timedelta(days=3))
    EmailChange.objects.create(user=user, new_email="x@example.com", old_email=user.email, expires_at=long_ago)

    assert prune_sessions() == 3

    left = set(LoginSession.objects.values_list("public_id", flat=True))
    assert {str(sid) for sid in left} == {AccessToken(t["access"])["sid"] for t in (recent, live)}
    assert not LoginSession.objects.filter(pk=stale.pk).exists()
    assert not EmailChange.objects.exists()


@pytest.mark.parametrize(
    ("agent", "label"),
    [
        (FIREFOX, "Firefox on Linux"),
        (PHONE, "Safari on iOS"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge on Windows",
        ),
        ("curl/8.5.0", "curl"),
        ("MyScript/1.0", "MyScript"),
        ("", "Unknown client"),
    ],
)
def test_a_session_gets_a_readable_client_label(agent, label):
    assert login_sessions.client_label(agent) == label


def test_a_long_user_agent_is_truncated(user):
    _login(agent="x" * 5000)
    assert len(LoginSession.objects.get(user=user).user_agent) == login_sessions.USER_AGENT_MAX


# --- change password --------------------------------------------------------------------------

CHANGE_PASSWORD = "/api/user/change-password"


def test_changing_the_password_answers_fresh_tokens_and_ends_the_other_sessions(user, mailoutbox, tasks_inline):
    mine, other = _login(), _login(agent=PHONE)

    response = _client(mine["access"]).post(
        CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": STRONG}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"status", "access", "access_expires_in", "refresh", "refresh_expires_in"}
    assert body["status"] == "success"
    # Every token issued before the change dies (the caller's too); the fresh pair carries the
    # caller's session, which stays.
    _refused(_me(mine["access"]))
    _refused(_refresh(mine["refresh"]))
    _refused(_me(other["access"]))
    _refused(_refresh(other["refresh"]))
    assert AccessToken(body["access"])["sid"] == AccessToken(mine["access"])["sid"]
    assert _me(body["access"]).status_code == 200
    assert _refresh(body["refresh"]).status_code == 200
    assert [row["current"] for row in _client(body["access"]).get(SESSIONS).json()] == [True]
    user.refresh_from_db()
    assert user.check_password(STRONG)
    assert [(m.to, m.subject) for m in mailoutbox] == [(["alice@example.org"], "Your blahaj.land password was changed")]
    assert _login(password=STRONG)


def test_a_wrong_current_password_is_refused_and_counts_toward_the_login_lockout(user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 3
    pair = _login()
    client = _client(pair["access"])

    for _ in range(3):
        response = client.post(
            CHANGE_PASSWORD, {"current_password": "not-it-at-all", "new_password": STRONG}, format="json"
        )
        assert (response.status_code, response.json()["code"]) == (400, "invalid_credentials")
        assert "current_password" in response.json()["fields"]

    locked = client.post(CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": STRONG}, format="json")
    assert (locked.status_code, locked.json()["code"]) == (429, "too_many_attempts")
    login = _client().post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert (login.status_code, login.json()["code"]) == (429, "too_many_attempts")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_a_weak_new_password_is_refused_with_its_field(user):
    pair = _login()

    response = _client(pair["access"]).post(
        CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": "alice12345"}, format="json"
    )

    assert (response.status_code, response.json()["code"]) == (400, "password_too_weak")
    assert response.json()["fields"]["new_password"]
    assert _me(pair["access"]).status_code == 200  # nothing changed


@pytest.mark.parametrize(
    "body",
    [
        {"current_password": PASSWORD},
        {"new_password": STRONG},
        {"current_password": PASSWORD, "new_password": 12345678901},
    ],
)
def test_a_change_password_body_needs_both_passwords_as_strings(user, body):
    pair = _login()
    response = _client(pair["access"]).post(CHANGE_PASSWORD, body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")


def test_changing_the_password_needs_a_token(user):
    response = _client().post(CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": STRONG}, format="json")
    assert response.status_code == 401


def test_the_new_password_reaches_yunohost_through_the_lane(emulator, signed_up, welcomes):
    signed_up()
    accounts_lane.account_create(user=User.objects.get(username="alice"))
    run_lane()
    pair = _login()

    response = _client(pair["access"]).post(
        CHANGE_PASSWORD, {"current_password": PASSWORD, "new_password": STRONG}, format="json"
    )
    run_lane()

    assert response.status_code == 200
    update = Operation.objects.get(kind=Operation.Kind.USER_UPDATE, subject="user:alice")
    assert update.status == Operation.Status.SUCCEEDED
    assert update.args == {"username": "alice"}  # the password never sits in the arguments
    assert emulator.state()["users"]["alice"]["password_sha256"] == sha256(STRONG)


# --- change email -------------------------------------------------------------------------------

CHANGE_EMAIL = "/api/user/change-email"


def _ask(access: str, email: str = "alice.new@example.net", password: str = PASSWORD):
    return _client(access).post(CHANGE_EMAIL, {"email": email, "password": password}, format="json")


def test_asking_for_another_address_mails_a_link_to_it_and_changes_nothing_yet(user, mailoutbox, tasks_inline):
    pair = _login()

    response = _ask(pair["access"], email="  Alice.New@EXAMPLE.net ")

    assert (response.status_code, response.json()) == (202, {"status": "pending"})
    assert [m.to for m in mailoutbox] == [["Alice.New@example.net"]]
    assert link_path(mailoutbox[0]).startswith("/account/email/confirm/")
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    change = EmailChange.objects.get(user=user)
    assert change.digest and change.confirmed_at is None
    assert change.digest not in mailoutbox[0].body  # only the hash is stored


def test_the_confirmation_link_switches_the_address_on_post_only_and_tells_the_old_one(user, mailoutbox, tasks_inline):
    from django.test import Client

    pair = _login()
    _ask(pair["access"])
    page = link_path(mailoutbox[0])
    browser = Client()

    shown = browser.get(page)
    assert shown.status_code == 200 and b"alice.new@example.net" in shown.content
    user.refresh_from_db()
    assert user.email == "alice@example.org"  # a GET changes nothing

    with_commit = CommittingAPIClient()
    done = with_commit.post(page)
    assert done.status_code == 200 and b"is changed" in done.content
    user.refresh_from_db()
    assert user.email == "alice.new@example.net"
    assert [m.to for m in mailoutbox[1:]] == [["alice@example.org"]]
    assert link_path(mailoutbox[1]).startswith("/account/email/undo/")
    assert _me(pair["access"]).json()["email"] == "alice.new@example.net"
    again = browser.post(page)
    assert again.status_code == 400  # single use


def test_the_undo_link_restores_the_old_address_and_ends_every_session(user, mailoutbox, tasks_inline):
    pair = _login()
    _ask(pair["access"])
    CommittingAPIClient().post(link_path(mailoutbox[0]))
    undo = link_path(mailoutbox[1])

    assert CommittingAPIClient().get(undo).status_code == 200
    user.refresh_from_db()
    assert user.email == "alice.new@example.net"
    response = CommittingAPIClient().post(undo)

    assert response.status_code == 200 and b"old address is back" in response.content
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    _refused(_me(pair["access"]))
    _refused(_refresh(pair["refresh"]))
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()
    assert CommittingAPIClient().post(undo).status_code == 400


def test_the_email_change_emails_speak_the_accounts_language(user, mailoutbox, tasks_inline):
    User.objects.filter(pk=user.pk).update(language="fr")
    pair = _login()
    _ask(pair["access"])  # the request names no language: the account's is French anyway
    CommittingAPIClient().post(link_path(mailoutbox[0]), HTTP_ACCEPT_LANGUAGE="en")

    confirm, changed = mailoutbox
    assert confirm.to == ["alice.new@example.net"]
    assert confirm.subject == "Confirmez votre nouvelle adresse e-mail blahaj.land"
    assert confirm.extra_headers["Content-Language"] == "fr"
    assert confirm.body.startswith("Bonjour Alice,\n\nVous avez demandé à utiliser cette adresse")
    assert changed.to == ["alice@example.org"]
    assert changed.subject == "L’adresse e-mail de votre compte blahaj.land a été changée"
    assert "vient d’être changée en alice.new@example.net." in changed.body
    assert '<html lang="fr">' in changed.alternatives[0][0]


def test_an_address_another_account_uses_is_409_without_saying_whose(user, other_user, mailoutbox, tasks_inline):
    pair = _login()

    response = _ask(pair["access"], email="BOB@example.org")

    assert (response.status_code, response.json()["code"]) == (409, "email_taken")
    assert "bob" not in response.content.decode().lower().replace("bob@example.org", "")
    assert mailoutbox == []


def test_an_address_taken_before_the_link_is_opened_is_a_409_page_and_the_link_survives(
    user, make_user, mailoutbox, tasks_inline
):
    pair = _login()
    _ask(pair["access"])
    page = link_path(mailoutbox[0])
    squatter = make_user("dana", email="alice.new@example.net")

    response = CommittingAPIClient().post(page)

    assert response.status_code == 409
    user.refresh_from_db()
    assert user.email == "alice@example.org"
    squatter.delete()
    assert CommittingAPIClient().post(page).status_code == 200


def test_an_expired_confirmation_link_is_410(user, mailoutbox, tasks_inline):
    pair = _login()
    _ask(pair["access"])
    EmailChange.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert CommittingAPIClient().post(link_path(mailoutbox[0])).status_code == 410
    user.refresh_from_db()
    assert user.email == "alice@example.org"


def test_a_new_request_kills_the_older_link(user, mailoutbox, tasks_inline):
    pair = _login()
    _ask(pair["access"])
    _ask(pair["access"], email="alice.third@example.net")

    assert CommittingAPIClient().post(link_path(mailoutbox[0])).status_code == 400
    assert CommittingAPIClient().post(link_path(mailoutbox[1])).status_code == 200
    user.refresh_from_db()
    assert user.email == "alice.third@example.net"


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "alice.new@example.net", "password": "wrong-password-x"}, "invalid_credentials", "password"),
        ({"email": "not-an-address", "password": PASSWORD}, "invalid", "email"),
        ({"email": "alice@EXAMPLE.org", "password": PASSWORD}, "invalid", "email"),
        ({"email": "dana@mailinator.com", "password": PASSWORD}, "email_domain_blocked", None),
        ({"email": "alice.new@example.net"}, "invalid", "password"),
        ({"email": ["alice.new@example.net"], "password": PASSWORD}, "invalid", "email"),
    ],
)
def test_a_refused_email_change_says_why(user, mailoutbox, tasks_inline, body, code, field):
    pair = _login()

    response = _client(pair["access"]).post(CHANGE_EMAIL, body, format="json")

    assert (response.status_code, response.json()["code"]) == (400, code)
    if field:
        assert field in response.json()["fields"]
    assert mailoutbox == []
    assert not EmailChange.objects.exists()


def test_a_wrong_password_on_an_email_change_counts_toward_the_lockout(user, settings):
    settings.ACCOUNTS_LOGIN_MAX_FAILURES = 2
    pair = _login()
    for _ in range(2):
        assert _ask(pair["access"], password="wrong-password-x").status_code == 400

    response = _ask(pair["access"])

    assert (response.status_code, response.json()["code"]) == (429, "too_many_attempts")


def test_changing_the_email_needs_a_token(user):
    response = _client().post(CHANGE_EMAIL, {"email": "a@example.net", "password": PASSWORD}, format="json")
    assert response.status_code == 401
