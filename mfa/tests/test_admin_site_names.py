"""The admin under the service's name and in words people read: its title and header come from
the site settings' service_name, every app and the libraries' models have human names (never
Django's "Django administration", never labels such as "OTP WebAuthn" or "Token Blacklist")."""

from __future__ import annotations

import re

import pytest
from django.apps import apps
from django.test import TestCase

from blahaj import site
from blahaj.models import SiteSettings
from conftest import verified_login

pytestmark = pytest.mark.django_db

PROJECT_APPS = (
    "accounts audit blahaj defences invitations legacy logins mfa notices provisioning publishing selfservice "
    "staff tiers websites"
).split()


@pytest.fixture
def root_client(client, make_user):
    verified_login(client, make_user("root", is_staff=True, is_superuser=True))
    return client


def _names(page: str) -> tuple[list[str], list[str]]:
    """The app captions and model rows of the admin index's app list."""
    app_list = page[page.index('id="content-main"') :]
    apps_shown = re.findall(r'<caption>\s*<a href="/admin/\w+/" class="section"[^>]*>([^<]+)</a>', app_list)
    models_shown = re.findall(r'<th scope="row" id="[\w-]+">\s*<a href="/admin/[\w/]+"[^>]*>([^<]+)</a>', app_list)
    return apps_shown, models_shown


def test_the_admin_is_titled_with_the_services_name(root_client):
    page = root_client.get("/admin/").content.decode()

    assert "<title>blahaj.land: staff overview | blahaj.land admin</title>" in page
    assert '<div id="site-name"><a href="/admin/">blahaj.land administration</a></div>' in page
    assert "<h1>blahaj.land: staff overview</h1>" in page
    assert "Django" not in re.sub(r"<script.*?</script>|csrfmiddlewaretoken", "", page, flags=re.S)


def test_a_new_service_name_reaches_the_admin_and_its_login_page(root_client, client):
    row = SiteSettings.objects.filter(pk=SiteSettings.SINGLETON).first() or SiteSettings()
    row.service_name = "Shark Club"
    with TestCase.captureOnCommitCallbacks(execute=True):
        site.site_settings_save(site_settings=row)

    page = root_client.get("/admin/accounts/user/").content.decode()
    assert '<a href="/admin/">Shark Club administration</a>' in page
    assert "| Shark Club admin</title>" in page
    root_client.logout()
    login = root_client.get("/admin/login/").content.decode()
    assert "Shark Club administration" in login and "Django administration" not in login


def test_every_app_and_model_on_the_index_has_a_human_name(root_client):
    apps_shown, models_shown = _names(root_client.get("/admin/").content.decode())

    assert {"Accounts", "Audit log", "Second factor", "Abuse defences", "Security keys", "Refresh tokens"} <= set(
        apps_shown
    ), apps_shown
    assert {"Issued refresh tokens", "Revoked refresh tokens", "Registered security keys", "Users"} <= set(
        models_shown
    ), models_shown
    raw = {"OTP WebAuthn", "Token Blacklist", "Blacklisted Tokens", "Outstanding Tokens", "WebAuthn credentials"}
    assert raw.isdisjoint(apps_shown + models_shown)
    # No app is left to the name Django derives from its label.
    assert all(name != name.lower() and "_" not in name for name in apps_shown), apps_shown


def test_every_app_of_the_project_names_itself():
    for label in PROJECT_APPS:
        config = apps.get_app_config(label)
        assert "verbose_name" in type(config).__dict__, f"{label}'s AppConfig has no verbose_name"
    assert apps.get_app_config("token_blacklist").verbose_name == "Refresh tokens"
    assert apps.get_app_config("django_otp_webauthn").verbose_name == "Security keys"


def test_the_app_page_and_its_breadcrumbs_use_the_human_names(root_client):
    page = root_client.get("/admin/token_blacklist/").content.decode()

    assert "<h1>Refresh tokens administration</h1>" in page
    assert "Issued refresh tokens" in page and "Revoked refresh tokens" in page
    assert "Token Blacklist" not in page
