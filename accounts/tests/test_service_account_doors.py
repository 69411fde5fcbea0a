"""The sign-up front end's service account reaches `/login` and `/create_user` (and manages its
own tokens: docs/api.md §2) and nothing else, on every door: the member pages, the API, the
admin."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import PASSWORD, CommittingAPIClient
from logins.models import LoginSession

pytestmark = pytest.mark.django_db

LOGIN = "/account/login/"
MEMBER_PAGES = [
    "/account/",
    "/account/password/",
    "/account/email/",
    "/account/sessions/",
    "/account/mfa/",
    "/account/delete/",
]


def front_end_token() -> str:
    response = CommittingAPIClient().post(
        "/login", {"username": "signup_frontend", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def test_the_page_login_refuses_the_service_account(web, service_account):
    response = web.post(LOGIN, {"identifier": "signup_frontend", "password": PASSWORD})

    assert response.status_code == 403
    assert "A service account cannot sign in to the member pages" in response.content.decode()
    assert not LoginSession.objects.filter(user=service_account).exists()
    for path in MEMBER_PAGES:
        assert web.get(path)["Location"] == f"{LOGIN}?next={path}", path


def test_a_wrong_password_tells_nothing_about_the_account(web, service_account):
    response = web.post(LOGIN, {"identifier": "signup_frontend", "password": "not-the-password"})

    assert response.status_code == 401
    assert "service account" not in response.content.decode()


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_a_django_session_of_the_service_account_opens_no_member_page(service_account, path):
    client = Client()
    client.force_login(service_account)  # however it came by one

    response = client.get(path)

    assert (response.status_code, response["Location"]) == (302, f"{LOGIN}?next={path}")
    assert "_auth_user_id" not in client.session  # signed out


def test_the_admin_refuses_the_service_account(service_account):
    client = Client()

    response = client.post("/admin/login/", {"username": "signup_frontend", "password": PASSWORD})

    assert response.status_code == 200  # the login form again, with its error
    assert "_auth_user_id" not in client.session
    client.force_login(service_account)
    assert client.get("/admin/")["Location"].startswith("/admin/login/")
    assert client.get("/admin/accounts/user/")["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/users/"),
        ("get", "/api/tiers/"),
        ("get", "/api/websites/"),
        ("get", "/api/user/sessions"),
        ("post", "/api/user/change-password"),
        ("post", "/api/user/change-email"),
        ("post", "/api/user/delete"),
        ("post", "/api/user/mfa/totp"),
        ("get", "/api/audit/"),
        ("post", "/api/abuse-reports/"),
        ("post", "/create_website"),
    ],
)
def test_the_api_refuses_the_service_account_s_token(service_account, method, path):
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {front_end_token()}")

    response = getattr(client, method)(path, {}, format="json")

    assert response.status_code == 403, path
    assert response.json()["code"] == "service_account"


def test_the_service_account_still_creates_accounts(service_account, tasks_inline):
    client = CommittingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {front_end_token()}")

    response = client.post(
        "/create_user",
        {"username": "dana", "display_name": "Dana", "recovery_email": "dana@example.org", "discord_username": ""},
        format="json",
    )

    assert response.status_code == 201, response.content
