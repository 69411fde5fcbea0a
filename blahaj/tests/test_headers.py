"""What every answer says about itself: the Bearer challenge on a 401, the security headers
and the Content-Security-Policy, the landing page."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.test import Client

from conftest import PASSWORD
from testing import ROOT

CHALLENGE = 'Bearer realm="api"'


# --- 401 and 403 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "code"),
    [
        ("get", "/api/user/me", {}, "not_authenticated"),
        ("get", "/api/user/me", {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, "token_not_valid"),
        ("post", "/api/user/logout-all", {"HTTP_AUTHORIZATION": "Basic YTpi"}, "not_authenticated"),
        ("post", "/api/user/refresh", {"HTTP_AUTHORIZATION": "Bearer not-a-token"}, "token_not_valid"),
        ("delete", "/api/user/revoke-refresh", {}, "token_not_valid"),
    ],
)
def test_a_401_names_the_bearer_scheme(api_client, db, method, path, headers, code):
    response = getattr(api_client, method)(path, **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json()["code"] == code


def test_wrong_credentials_are_a_401_with_the_challenge(api_client, user):
    response = api_client.post("/api/user/login", {"username": "alice", "password": "wrong"}, format="json")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == CHALLENGE
    assert response.json()["code"] == "invalid_credentials"


def test_a_signed_in_user_without_the_right_is_a_403_without_challenge(auth_client):
    response = auth_client.get("/api/operations/")

    assert response.status_code == 403
    assert "WWW-Authenticate" not in response
    assert response.json()["code"] == "permission_denied"


def test_a_refused_login_for_an_unconfirmed_account_is_a_403(api_client, user):
    user.status = type(user).Status.PENDING_CONFIRMATION
    user.save()

    response = api_client.post("/api/user/login", {"username": "alice", "password": PASSWORD}, format="json")

    assert response.status_code == 403
    assert response.json() == {
        "error": "Please confirm your email address first: we sent you a link.",
        "code": "email_unconfirmed",
    }
    assert "WWW-Authenticate" not in response


# --- security headers and the Content-Security-Policy --------------------------------------


def csp(response) -> dict[str, list[str]]:
    directives = [part.strip().split() for part in response["Content-Security-Policy"].split(";")]
    return {words[0]: words[1:] for words in directives if words}


@pytest.mark.parametrize("path", ["/", "/signup/", "/password-reset/", "/api/user/me", "/admin/login/"])
def test_every_page_has_the_security_headers(db, path):
    response = Client().get(path)

    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/static/site.css", "/static/api_docs.css"])
def test_static_files_have_the_security_headers_too(db, settings, path):
    settings.SECURE_HSTS_SECONDS = 600
    # WhiteNoise answers before the rest of the stack: the headers must not depend on it.
    response = Client().get(path, secure=True)
    response.close()  # a static file is streamed from an open file

    assert response.status_code == 200
    assert response["Strict-Transport-Security"].startswith("max-age=600")
    policy = csp(response)
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def scripts_and_styles(page: str) -> tuple[list[str], list[str], list[str]]:
    """The page's script sources, its inline scripts, and its stylesheet links."""
    sources = re.findall(r'<script[^>]*\ssrc="([^"]+)"', page)
    inline = [
        body for body in re.findall(r"<script(?![^>]*\ssrc=)[^>]*>(.*?)</script>", page, re.DOTALL) if body.strip()
    ]
    styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    return sources, inline, styles


@pytest.mark.parametrize("path", ["/", "/signup/", "/password-reset/", "/api/docs/", "/admin/login/"])
def test_pages_load_only_same_origin_files_the_policy_allows(db, path):
    client = Client()
    response = client.get(path)
    page = response.content.decode()
    sources, inline, styles = scripts_and_styles(page)

    assert response.status_code == 200
    assert inline == []  # script-src 'self' would block them
    assert "<style" not in page and " style=" not in page  # style-src 'self' likewise
    for url in sources + styles:
        assert not urlsplit(url).netloc, url  # same origin
        asset = client.get(url)
        asset.close()  # a static file is streamed from an open file
        assert asset.status_code == 200, url
        assert asset["Content-Type"].split(";")[0] in ("text/javascript", "application/javascript", "text/css")


def test_the_api_docs_start_up_script_is_served_as_a_script(db):
    client = Client()
    sources, _, _ = scripts_and_styles(client.get("/api/docs/").content.decode())
    start_up = next(url for url in sources if "script" in urlsplit(url).query)

    response = client.get(start_up.replace("&amp;", "&"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in response.content.decode()
    assert "SwaggerUIBundle" in response.content.decode()


def test_the_strength_hint_is_a_static_script(db):
    response = Client().get("/static/accounts/strength.js")
    body = response.getvalue()  # the joined streaming content
    response.close()

    assert response.status_code == 200
    assert b"/api/user/password-strength" in body


# --- the landing page ----------------------------------------------------------------------


def test_the_landing_page_links_sign_up_reset_abuse_docs_and_admin(db):
    response = Client().get("/")

    page = response.content.decode()
    assert response.status_code == 200
    for href in ("/signup/", "/password-reset/", "/abuse/", "/api/docs/", "/admin/"):
        assert f'href="{href}"' in page


# --- production settings -------------------------------------------------------------------

PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "x7-" + "k3Qp9vR2mZ8wL4tY6nB1cF5hJ0dG" * 3,
    "SITE_URL": "https://accounts.example.org",
    "DJANGO_ALLOWED_HOSTS": "accounts.example.org",
    # A copy of YunoHost's password list, as docs/deploy.md has the admin make (else a warning).
    "YUNOHOST_PASSWORD_LIST": str(ROOT / "yunohost_emulator" / "most-used-passwords.txt"),
}


def production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.pop("BLAHAJ_TESTING", None)
    return {**env, **PRODUCTION, **extra}


def test_check_deploy_has_no_warnings_in_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def production_setting(name: str, **env: str) -> str:
    code = f"import django; django.setup(); from django.conf import settings; print(repr(getattr(settings, {name!r}, None)))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**production_env(**env), "DJANGO_SETTINGS_MODULE": "blahaj.settings"},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_production_sends_hsts_and_secure_cookies():
    assert production_setting("SECURE_HSTS_SECONDS") == "31536000"
    assert production_setting("SECURE_HSTS_INCLUDE_SUBDOMAINS") == "True"
    assert production_setting("SECURE_HSTS_SECONDS", SECURE_HSTS_SECONDS="600") == "600"
    assert production_setting("SESSION_COOKIE_SECURE") == "True"
    assert production_setting("CSRF_COOKIE_SECURE") == "True"


def test_the_forwarded_proto_header_is_believed_only_behind_trusted_proxies():
    assert production_setting("SECURE_PROXY_SSL_HEADER") == "None"
    assert production_setting("SECURE_PROXY_SSL_HEADER", TRUSTED_PROXIES="1") == "('HTTP_X_FORWARDED_PROTO', 'https')"
