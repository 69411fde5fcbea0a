"""Login sessions in the admin (read-only, "End these sessions") and the user page's "Log out
everywhere" button: the tokens die at once, and the staff action is in the audit log."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from audit.models import AuditEntry
from conftest import committed, login, verified_login
from logins.models import LoginSession

SESSIONS = "/admin/logins/loginsession/"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def _signed_in(username: str = "alice", ip: str = "203.0.113.7") -> tuple[APIClient, dict]:
    """A member's API login from `ip` (its session row), and a client holding its access token."""
    client = APIClient(REMOTE_ADDR=ip, HTTP_USER_AGENT=FIREFOX)
    tokens = login(client, username)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    return client, tokens


def test_the_list_shows_who_from_where_and_searches_and_filters(admin_client, user, other_user):
    _signed_in("alice", "203.0.113.7")
    _signed_in("bob", "198.51.100.9")
    LoginSession.objects.filter(user=other_user).update(kind=LoginSession.Kind.PAGE)

    listing = admin_client.get(SESSIONS).content.decode()
    by_name = admin_client.get(SESSIONS, {"q": "alice"}).content.decode()
    by_ip = admin_client.get(SESSIONS, {"q": "198.51.100.9"}).content.decode()
    pages = admin_client.get(SESSIONS, {"kind__exact": "page"}).content.decode()
    ended = admin_client.get(SESSIONS, {"ended_at__isempty": "0"}).content.decode()

    assert "Firefox on Linux" in listing and "203.0.113.7" in listing and "198.51.100.9" in listing
    assert "203.0.113.7" in by_name and "198.51.100.9" not in by_name
    assert "198.51.100.9" in by_ip and "203.0.113.7" not in by_ip
    assert "198.51.100.9" in pages and "203.0.113.7" not in pages
    assert "203.0.113.7" not in ended


def test_sessions_are_read_only(admin_client, user):
    _signed_in()
    session = LoginSession.objects.get(user=user)

    assert admin_client.get(f"{SESSIONS}add/").status_code == 403
    page = admin_client.get(f"{SESSIONS}{session.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert admin_client.post(f"{SESSIONS}{session.pk}/change/", {"client": "x"}).status_code == 403
    assert admin_client.post(f"{SESSIONS}{session.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LoginSession.objects.get(pk=session.pk).client == "Firefox on Linux"


def test_ending_sessions_kills_their_tokens_at_once_and_is_audited(admin_client, user, other_user):
    alice, alice_tokens = _signed_in("alice")
    bob, _ = _signed_in("bob")
    session = LoginSession.objects.get(user=user)

    with committed():
        response = admin_client.post(
            SESSIONS, {"action": "end_sessions", "_selected_action": [session.pk]}, follow=True
        )

    assert "Ended 1 session(s)." in response.content.decode()
    assert alice.get("/api/user/me").status_code == 401
    refreshed = APIClient().post("/api/user/refresh", {"refresh": alice_tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert bob.get("/api/user/me").status_code == 200  # only the chosen session
    assert LoginSession.objects.get(pk=session.pk).ended_at is not None
    (row,) = AuditEntry.objects.filter(action="user.session.end")
    assert (row.actor, row.door, row.object, row.result) == ("admin", "admin", "user:alice", "ok")
    assert str(session.public_id) in row.detail

    again = admin_client.post(SESSIONS, {"action": "end_sessions", "_selected_action": [session.pk]}, follow=True)
    assert "1 session(s) had already ended." in again.content.decode()
    assert AuditEntry.objects.filter(action="user.session.end").count() == 1


def test_ending_sessions_needs_the_right_to_change_accounts(client, make_user, user):
    _signed_in()
    viewer = make_user("vera", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_loginsession"))
    verified_login(client, viewer)

    page = client.get(SESSIONS)

    assert page.status_code == 200 and b"alice" in page.content
    assert b"end_sessions" not in page.content
    client.post(SESSIONS, {"action": "end_sessions", "_selected_action": [LoginSession.objects.get().pk]})
    assert LoginSession.objects.get().ended_at is None


def test_the_user_page_logs_out_everywhere(admin_client, user):
    first, _ = _signed_in()
    second, _ = _signed_in()
    url = f"/admin/accounts/user/{user.pk}/logout-everywhere/"

    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert page.status_code == 200 and "Log out everywhere" in page.content.decode() and url in page.content.decode()
    assert admin_client.get(url).status_code == 403  # a GET changes nothing
    with committed():
        response = admin_client.post(url)

    assert response.status_code == 302 and response["Location"] == f"/admin/accounts/user/{user.pk}/change/"
    assert first.get("/api/user/me").status_code == 401 and second.get("/api/user/me").status_code == 401
    assert not LoginSession.objects.filter(user=user, ended_at__isnull=True).exists()
    (row,) = AuditEntry.objects.filter(action="user.tokens.revoke")
    assert (row.actor, row.door, row.object) == ("admin", "admin", "user:alice")


def test_logging_out_everywhere_needs_the_right_to_change_accounts(client, make_user, user):
    viewer = make_user("vera", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_user"))
    verified_login(client, viewer)
    member, _ = _signed_in()

    assert b"Log out everywhere" not in client.get(f"/admin/accounts/user/{user.pk}/change/").content
    assert client.post(f"/admin/accounts/user/{user.pk}/logout-everywhere/").status_code == 403
    assert member.get("/api/user/me").status_code == 200
